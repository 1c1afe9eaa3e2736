"""HubSpot's JSON error format, so SDK clients see the failures the real API produces."""

import json
import uuid
from dataclasses import dataclass, field

from starlette.responses import JSONResponse, Response

# Error body shape: https://developers.hubspot.com/docs/api/error-handling
# (status, message, correlationId, category, optional subCategory, context, errors, links).


def new_correlation_id() -> str:
    """A fresh correlation id, as HubSpot stamps on every error."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of an error's `errors` list (a property or input that failed)."""

    message: str
    code: str | None = None
    context: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The detail as HubSpot serialises it."""
        body: dict[str, object] = {"message": self.message}
        if self.code is not None:
            body["code"] = self.code
        if self.context:
            body["context"] = self.context
        return body


class HubSpotError(Exception):
    """A request failure that renders as one HubSpot error body with an HTTP status."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        context: dict[str, list[str]] | None = None,
        errors: list[ErrorDetail] | None = None,
        sub_category: str | None = None,
        problems: tuple["PropertyProblem", ...] = (),
    ) -> None:
        super().__init__(f"{status} {category}: {message}")
        self.problems = problems
        self.status = status
        self.category = category
        self.message = message
        self.context = context or {}
        self.errors = errors or []
        self.sub_category = sub_category

    def body(self, correlation_id: str) -> dict[str, object]:
        """The top-level error body (the SDKs' `Error` model)."""
        body: dict[str, object] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id,
            "category": self.category,
        }
        if self.sub_category is not None:
            body["subCategory"] = self.sub_category
        if self.context:
            body["context"] = self.context
        if self.errors:
            body["errors"] = [detail.to_json() for detail in self.errors]
        return body

    def standard_error(self) -> dict[str, object]:
        """The error as one entry of a 207 batch response (the SDKs' `StandardError` model)."""
        body: dict[str, object] = {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": self.context,
            "errors": [detail.to_json() for detail in self.errors],
            "links": {},
        }
        if self.sub_category is not None:
            body["subCategory"] = self.sub_category
        return body

    def response(self, headers: dict[str, str] | None = None) -> Response:
        """The error as an HTTP response."""
        return JSONResponse(self.body(new_correlation_id()), self.status, headers=headers)


@dataclass(frozen=True)
class PropertyProblem:
    """Why one property value in a write was refused."""

    name: str
    error: str
    message: str


def invalid_properties(problems: list[PropertyProblem]) -> HubSpotError:
    """The VALIDATION_ERROR HubSpot returns when property values fail validation.

    Real message shape: `Property values were not valid: [{"isValid":false,"message":...,
    "error":"PROPERTY_DOESNT_EXIST","name":"foo"}]` (seen in connector issue trackers).
    """
    listed = [
        {
            "isValid": False,
            "message": problem.message,
            "error": problem.error,
            "name": problem.name,
            "localizedErrorMessage": problem.message,
        }
        for problem in problems
    ]
    return HubSpotError(
        400,
        "VALIDATION_ERROR",
        f"Property values were not valid: {json.dumps(listed, separators=(',', ':'))}",
        context={"propertyName": [problem.name for problem in problems]},
        errors=[
            ErrorDetail(problem.message, problem.error, {"propertyName": [problem.name]})
            for problem in problems
        ],
        problems=tuple(problems),
    )


def validation_error(message: str, **context: list[str]) -> HubSpotError:
    """A 400 VALIDATION_ERROR for a malformed request."""
    return HubSpotError(400, "VALIDATION_ERROR", message, context=context)


def not_found(message: str, **context: list[str]) -> HubSpotError:
    """A 404 OBJECT_NOT_FOUND."""
    return HubSpotError(404, "OBJECT_NOT_FOUND", message, context=context)


def unauthenticated() -> HubSpotError:
    """The 401 HubSpot returns when no valid bearer token is presented."""
    return HubSpotError(
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
        "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    )

"""The one place HubSpot's HTTP failures become the worker's `CrmError` hierarchy.

Error body: https://developers.hubspot.com/docs/api/error-handling (`status`, `message`,
`correlationId`, `category`, and for 429 `policyName`). Only the status and those codes are
read; message text is carried along for people, never branched on.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.sync.base import (
    AuthFailed,
    BudgetExhausted,
    CrmError,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
)

CRM = "hubspot"
DAILY_POLICY = "DAILY"


@dataclass(frozen=True)
class ErrorBody:
    """What a HubSpot error response says, parsed leniently (proxies may send non-JSON)."""

    category: str
    message: str
    policy: str | None
    correlation_id: str | None
    properties: tuple[str, ...] = ()
    """Properties whose values were refused (`context.propertyName`, top level or per error)."""


def parse_error(status: int, text: str) -> ErrorBody:
    """Read HubSpot's JSON error body; anything else becomes a generic HTTP_<status> code."""
    try:
        raw: Any = json.loads(text) if text else {}
    except ValueError:
        raw = {}
    body: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    return ErrorBody(
        category=str(body.get("category") or f"HTTP_{status}"),
        message=str(body.get("message") or f"HTTP {status}"),
        policy=str(body["policyName"]) if body.get("policyName") else None,
        correlation_id=str(body["correlationId"]) if body.get("correlationId") else None,
        properties=_property_names(body),
    )


def _property_names(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The refused properties a VALIDATION_ERROR names in its `context` fields.

    CRM object APIs put "issues with malformed properties" in `context`
    (https://developers.hubspot.com/docs/api-reference/error-handling); the message text is
    for people and is not parsed.
    """
    contexts = [body.get("context")]
    errors = body.get("errors")
    if isinstance(errors, list):
        contexts += [error.get("context") for error in errors if isinstance(error, dict)]
    names: list[str] = []
    for context in contexts:
        found = context.get("propertyName") if isinstance(context, dict) else None
        if isinstance(found, list):
            names += [str(name) for name in found]
    return tuple(dict.fromkeys(names))


def translate(status: int, body: ErrorBody, retry_after: float | None) -> CrmError:
    """The `CrmError` for a final (not retried, or retries spent) HubSpot error response."""
    code = body.policy or body.category
    if status == 429:
        if body.policy == DAILY_POLICY:
            return BudgetExhausted(CRM, code, body.message)
        return RateLimited(CRM, code, body.message, retry_after)
    if status in (401, 403):
        return AuthFailed(CRM, code, body.message)
    if status == 404:
        return NotFound(CRM, code, body.message)
    if 400 <= status < 500:
        return Rejected(CRM, code, body.message, body.properties)
    return Unavailable(CRM, code, body.message)


def connection_failed(error: Exception) -> Unavailable:
    """The error for a request that got no HTTP response (reset, timeout, TLS failure)."""
    return Unavailable(CRM, type(error).__name__, "no response from HubSpot")

"""The org's HTTP surface: Starlette routes for login, the data API, and error responses.

Every data-API response carries `Sforce-Limit-Info` (REST API Developer Guide,
headers_api_usage.htm). Calls without a live session get 401 INVALID_SESSION_ID
(errorcodes.htm), which is what makes simple-salesforce log in again; calls past the daily
allocation get 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded." and are not counted.
"""

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from worker.sandbox.salesforce.auth import (
    OAuthError,
    login_envelope,
    token_response,
)
from worker.sandbox.salesforce.auth import login_fault as soap_login_fault
from worker.sandbox.salesforce.rest import ApiRequest, ApiResult, versions_body

if TYPE_CHECKING:
    from worker.sandbox.salesforce.org import SalesforceOrg

log = structlog.get_logger(__name__)

_VERSION = re.compile(r"^\d{2,3}\.\d$")
_DATA_METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT"]
_DAILY_LIMIT = "TotalRequests Limit exceeded."


def salesforce_error(
    status: int, error_code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """A response in Salesforce's JSON error format."""
    return JSONResponse(
        [{"message": message, "errorCode": error_code}], status_code=status, headers=headers
    )


OAUTH_ENDPOINT = "/services/oauth2/token"
SOAP_LOGIN_PREFIX = "/services/Soap/u/"
_OAUTH_FAULTS = {429: ("rate_limit_exceeded", "number of logins exceeded")}
_OAUTH_UNKNOWN = ("unknown_error", "retry your request")
"""OAuth error codes of the token endpoint (Salesforce Help, "OAuth 2.0 Authorization
Errors", remoteaccess_oauth_flow_errors.htm): `unknown_error` asks the client to retry."""
_SOAP_FAULTS = {429: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")}
_SOAP_UNAVAILABLE = (
    "SERVER_UNAVAILABLE",
    "Server temporarily unavailable, please try again later.",
)


def login_fault(path: str, status: int, headers: dict[str, str] | None = None) -> Response | None:
    """An injected fault on a login endpoint, in that endpoint's own format; None elsewhere.

    The token endpoint answers `{"error", "error_description"}` (never the REST error array,
    which OAuth clients cannot read); the SOAP login answers a LoginFault envelope.
    """
    if path == OAUTH_ENDPOINT:
        error, description = _OAUTH_FAULTS.get(status, _OAUTH_UNKNOWN)
        return JSONResponse(
            {"error": error, "error_description": description}, status_code=status, headers=headers
        )
    if path.startswith(SOAP_LOGIN_PREFIX):
        code, message = _SOAP_FAULTS.get(status, _SOAP_UNAVAILABLE)
        return Response(
            soap_login_fault(code, message),
            status_code=status,
            headers=headers,
            media_type="text/xml",
        )
    return None


def build_routes(org: "SalesforceOrg") -> list[BaseRoute]:
    """All Salesforce routes, under /services/."""

    async def oauth_token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        try:
            grant = org.authenticator.token(form, request.headers.get("authorization"))
        except OAuthError as error:
            log.info("salesforce.login_refused", flow=form.get("grant_type"), error=error.error)
            return JSONResponse(
                {"error": error.error, "error_description": error.description},
                status_code=error.status,
            )
        body = token_response(
            grant,
            instance_url=_instance_url(request),
            org_id=org.org_id,
            issued=org.clock.now(),
            signature_of=org.authenticator.signature,
        )
        return JSONResponse(body)

    async def soap_login(request: Request) -> Response:
        version = request.path_params["version"]
        try:
            grant = org.authenticator.soap_login(await request.body())
        except OAuthError as error:
            log.info("salesforce.login_refused", flow="soap", error=error.error)
            return Response(
                soap_login_fault(error.error, error.description),
                status_code=error.status,
                media_type="text/xml",
            )
        envelope = login_envelope(
            grant,
            instance_url=_instance_url(request),
            version=version,
            org_id=org.org_id,
            username=org.authenticator.credentials.username,
        )
        return Response(envelope, media_type="text/xml")

    async def versions(request: Request) -> Response:
        return JSONResponse(versions_body())

    async def data(request: Request) -> Response:
        version = request.path_params["version"]
        now = org.clock.now()
        limit_header = {"Sforce-Limit-Info": org.budget.header(now)}
        if not _VERSION.match(version):
            return salesforce_error(
                404, "NOT_FOUND", "The requested resource does not exist", limit_header
            )
        token = _bearer(request.headers.get("authorization"))
        user_id = org.sessions.user_for(token)
        if user_id is not None and not org.session_timeout.touch(token, now):
            org.sessions.end(token)
            user_id = None
        if user_id is None:
            return salesforce_error(
                401, "INVALID_SESSION_ID", "Session expired or invalid", limit_header
            )
        org.commit_due(now)
        if org.faults.strikes("salesforce", request.url.path, "daily_limit"):
            spent = {"Sforce-Limit-Info": f"api-usage={org.budget.limit}/{org.budget.limit}"}
            return salesforce_error(403, "REQUEST_LIMIT_EXCEEDED", _DAILY_LIMIT, spent)
        if not org.budget.try_spend(now):
            return salesforce_error(403, "REQUEST_LIMIT_EXCEEDED", _DAILY_LIMIT, limit_header)
        api_request = ApiRequest(
            method=request.method,
            path=request.path_params.get("path", ""),
            version=version,
            user_id=user_id,
            now=now,
            params=dict(request.query_params),
            headers={key.lower(): value for key, value in request.headers.items()},
            body=await request.body(),
        )
        result = org.rest.handle(api_request)
        request.state.records_in = result.records_in
        request.state.records_out = result.records_out
        return _to_response(result, {"Sforce-Limit-Info": org.budget.header(now)})

    return [
        Route(OAUTH_ENDPOINT, oauth_token, methods=["POST"]),
        Route("/services/Soap/u/{version}", soap_login, methods=["POST"]),
        Route("/services/Soap/u/{version}/{org_id}", soap_login, methods=["POST"]),
        Route("/services/data", versions, methods=["GET"]),
        Route("/services/data/", versions, methods=["GET"]),
        Route("/services/data/v{version}", data, methods=_DATA_METHODS),
        Route("/services/data/v{version}/{path:path}", data, methods=_DATA_METHODS),
    ]


def _to_response(result: ApiResult, headers: dict[str, str]) -> Response:
    merged = {**result.headers, **headers}
    if result.content is not None:
        return Response(
            result.content, status_code=result.status, headers=merged, media_type=result.media_type
        )
    if result.text is not None:
        return Response(
            result.text, status_code=result.status, headers=merged, media_type=result.media_type
        )
    if result.body is None:
        return Response(status_code=result.status, headers=merged)
    return Response(
        _dumps(result.body),
        status_code=result.status,
        headers=merged,
        media_type="application/json;charset=UTF-8",
    )


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _bearer(header: str | None) -> str:
    if not header:
        return ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() in {"bearer", "oauth"} else ""


def _instance_url(request: Request) -> str:
    """The org's instance URL: the scheme and host this request reached the sandbox on."""
    return f"{request.url.scheme}://{request.url.netloc}"

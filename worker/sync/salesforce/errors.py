"""Salesforce failures translated into the worker's `CrmError` hierarchy, in this one place.

REST API Developer Guide, "Status Codes and Error Responses" (errorcodes.htm): error bodies are a
JSON array of `{"message", "errorCode"}`. `REQUEST_LIMIT_EXCEEDED` (403) means either the rolling
24-hour allocation is spent or too many long-running requests run at once; the
`Sforce-Limit-Info` usage of the same response tells the two apart, so no message text is read.
"""

from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from worker.sync.base import (
    ApiUsage,
    AuthFailed,
    BudgetExhausted,
    CrmError,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
)

CRM = "salesforce"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
_SERVER_ERROR = 500
_TOO_MANY_REQUESTS = 429
LOGIN_MAY_PASS = frozenset({"unknown_error", "SERVER_UNAVAILABLE"})
"""Login refusals worth retrying: the OAuth token endpoint's `unknown_error` ("retry your
request", Salesforce Help, OAuth 2.0 Authorization Errors, remoteaccess_oauth_flow_errors.htm)
and the SOAP login's `SERVER_UNAVAILABLE` (SOAP API Developer Guide, ExceptionCode)."""
LOGIN_RATE_LIMITED = frozenset({"rate_limit_exceeded", "LOGIN_RATE_EXCEEDED"})
"""Too many logins for the user in the hour (Knowledge Article 000381578): back off."""


def _login_may_pass(code: object) -> bool:
    """A refused login that a retry may turn around: a server-side failure, not the credentials.

    simple-salesforce puts the OAuth `error` (or SOAP `exceptionCode`) in `code`, or the HTTP
    status when the body could not be read (a proxy's or load balancer's error page).
    """
    if isinstance(code, int):
        return code >= _SERVER_ERROR or code == _TOO_MANY_REQUESTS
    return code in LOGIN_MAY_PASS or code in LOGIN_RATE_LIMITED


def error_code(content: Any) -> str:
    """The `errorCode` of a Salesforce error body (a list of error objects), or "UNKNOWN"."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode") or content[0].get("statusCode") or "UNKNOWN")
    if isinstance(content, dict):
        return str(content.get("errorCode") or content.get("error") or "UNKNOWN")
    return "UNKNOWN"


def error_message(content: Any) -> str:
    """The human message of a Salesforce error body, without echoing the whole payload."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("message") or content.get("error_description") or "")
    return ""


def daily_limit_reached(usage: ApiUsage | None) -> bool:
    """True when the last reported usage shows the rolling 24-hour allocation spent.

    Without a usage report the daily limit is assumed, so a refusal never becomes a retry loop.
    """
    return usage is None or usage.used >= usage.limit


def is_transient(error: Exception, usage: ApiUsage | None) -> bool:
    """Whether a retry may succeed: connection failures, 5xx, 429, the concurrent-request limit."""
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(error, SalesforceAuthenticationFailed):
        return _login_may_pass(error.code)
    if isinstance(error, SalesforceRefusedRequest):
        return error_code(error.content) == REQUEST_LIMIT_EXCEEDED and not daily_limit_reached(
            usage
        )
    if isinstance(error, SalesforceError):
        return error.status >= _SERVER_ERROR or error.status == _TOO_MANY_REQUESTS
    return False


def is_refusal(error: Exception, usage: ApiUsage | None) -> bool:
    """Whether the org refused the request before running it (429, the concurrent-request
    limit), so sending it again cannot repeat what it does."""
    if isinstance(error, SalesforceRefusedRequest):
        return is_transient(error, usage)
    return isinstance(error, SalesforceError) and error.status == _TOO_MANY_REQUESTS


_BY_SDK_ERROR: tuple[tuple[type[SalesforceError], type[CrmError]], ...] = (
    (SalesforceExpiredSession, AuthFailed),
    (SalesforceResourceNotFound, NotFound),
    (SalesforceMalformedRequest, Rejected),
    (SalesforceMoreThanOneRecord, Rejected),
)


def _refusal(status: int, code: str, message: str, usage: ApiUsage | None) -> CrmError:
    if status == _TOO_MANY_REQUESTS:
        return RateLimited(CRM, code, message, retry_after=None)
    if code != REQUEST_LIMIT_EXCEEDED:
        return AuthFailed(CRM, code, message)
    if daily_limit_reached(usage):
        return BudgetExhausted(CRM, code, message)
    return RateLimited(CRM, code, message, retry_after=None)


def _without_error_body(error: Exception) -> CrmError:
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return Unavailable(CRM, type(error).__name__, "no answer from Salesforce")
    if isinstance(error, SalesforceAuthenticationFailed):
        message = error.content.decode(errors="replace")
        if error.code in LOGIN_RATE_LIMITED:
            return RateLimited(CRM, str(error.code), message, retry_after=None)
        if _login_may_pass(error.code):
            return Unavailable(CRM, str(error.code), message or "login failed; retry later")
        return AuthFailed(CRM, str(error.code), message)
    return CrmError(CRM, type(error).__name__, str(error))


def translate(error: Exception, usage: ApiUsage | None) -> CrmError:
    """The `CrmError` a simple-salesforce or requests failure stands for."""
    if not isinstance(error, SalesforceError) or isinstance(error, SalesforceAuthenticationFailed):
        return _without_error_body(error)
    code = error_code(error.content)
    message = error_message(error.content)
    if isinstance(error, SalesforceRefusedRequest) or error.status == _TOO_MANY_REQUESTS:
        return _refusal(error.status, code, message, usage)
    if error.status >= _SERVER_ERROR:
        return Unavailable(CRM, code if code != "UNKNOWN" else str(error.status), message)
    crm_error = next((c for s, c in _BY_SDK_ERROR if isinstance(error, s)), Rejected)
    return crm_error(CRM, code, message)

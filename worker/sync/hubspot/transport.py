"""HTTP for hubspot-api-client over an injected `requests.Session`: pacing, retries, budget.

The SDK's generated `ApiClient` sends every call through `rest_client.<METHOD>(url, ...)` and
reads `.status`, `.data` and headers from what it gets back. `SessionTransport` plays that role,
so the whole SDK (all object, association and property APIs) runs on a session that tests mock
with `responses` and the sandbox trusts through its CA, and so there is exactly one place that
paces, retries and translates errors.

Retries (urllib3's default `Retry` would skip POST, i.e. every search and batch call):
- 429 `TEN_SECONDLY_ROLLING`/`SECONDLY`: wait `Retry-After` if a proxy sent one, else the
  policy's interval (`X-HubSpot-RateLimit-Interval-Milliseconds`, 1 s for search), retry;
- 429 `DAILY`: raise `BudgetExhausted` at once (nothing helps before the daily reset);
- 5xx, resets and timeouts: back off and retry, but only requests that are safe to repeat
  (a TLS failure is not transient);
  a batch create that may have been applied is left to its caller, which checks what exists;
- anything else: translated and raised, never retried.
https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details
"""

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
import structlog

from worker import json_codec
from worker.sync.base import CrmError, Priority
from worker.sync.budget import API_CALLS, ApiBudget
from worker.sync.hubspot.errors import CRM, connection_failed, parse_error, translate
from worker.sync.hubspot.pacing import RollingWindow, SearchPace, Sleep
from worker.sync.retry import RetryPolicy

log = structlog.get_logger(__name__)

_SEARCH_PATH = re.compile(r"/search$")
_REPEATABLE_POST = re.compile(r"/(search|batch/read|batch/update|batch/upsert)$")
_POLICY_INTERVAL_S = {"SECONDLY": 1.0, "TEN_SECONDLY_ROLLING": 10.0}
_DEFAULT_INTERVAL_S = 10.0


class SdkResponse:
    """The response object the SDK's `ApiClient` expects from its REST client."""

    def __init__(self, response: requests.Response) -> None:
        self.status = response.status_code
        self.reason = response.reason
        self.data = response.content
        self._headers = response.headers

    def getheaders(self) -> Mapping[str, str]:
        """All response headers (case-insensitive mapping)."""
        return self._headers

    def getheader(self, name: str, default: str | None = None) -> str | None:
        """One response header."""
        return self._headers.get(name, default)


class SessionTransport:
    """Sends the SDK's requests through a `requests.Session`, paced, budgeted and retried."""

    def __init__(
        self,
        session: requests.Session,
        *,
        budget: ApiBudget,
        window: RollingWindow,
        search_pace: SearchPace,
        sleep: Sleep,
        retry: RetryPolicy | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.session = session
        self.budget = budget
        self.window = window
        self.search_pace = search_pace
        self.retry = retry or RetryPolicy()
        self.timeout_s = timeout_s
        self.requests_sent = 0
        self._sleep = sleep
        self._local = threading.local()

    @contextmanager
    def priority(self, priority: Priority) -> Iterator[None]:
        """Count the calls made inside the block against the budget share of `priority`."""
        previous = self._priority()
        self._local.priority = priority
        try:
            yield
        finally:
            self._local.priority = previous

    def _priority(self) -> Priority:
        found: Priority = getattr(self._local, "priority", Priority.NORMAL)
        return found

    def request(
        self,
        method: str,
        url: str,
        *,
        query_params: Sequence[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        post_params: Any = None,
        _preload_content: bool = True,
        _request_timeout: Any = None,
    ) -> SdkResponse:
        """Send one SDK request, retrying what is transient; raise a `CrmError` otherwise."""
        method = method.upper()
        path = urlsplit(url).path
        repeatable = method != "POST" or bool(_REPEATABLE_POST.search(path))
        is_search = bool(_SEARCH_PATH.search(path))
        data = None if body is None else _encoded(body)
        for attempt in range(1, self.retry.attempts + 1):
            self.budget.check(self._priority())
            self.requests_sent += 1
            try:
                with self._turn(is_search):
                    response = self.session.request(
                        method,
                        url,
                        params=[(key, _query_value(value)) for key, value in query_params or []],
                        data=data,
                        headers=dict(headers or {}),
                        timeout=self.timeout_s,
                    )
            except requests.exceptions.SSLError as error:
                raise connection_failed(error) from error
            except (requests.ConnectionError, requests.Timeout) as error:
                dropped = connection_failed(error)
                if not repeatable or attempt == self.retry.attempts:
                    raise dropped from error
                self._wait(dropped, method, path, attempt, self.retry.delay(attempt))
                continue
            self._observe(response)
            if response.status_code < 300:
                return SdkResponse(response)
            wait, failure = self._classify(response, repeatable, attempt)
            if wait is None:
                raise failure
            self._wait(failure, method, path, attempt, wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    @contextmanager
    def _turn(self, is_search: bool) -> Iterator[None]:
        """This call's place under the limits: a search holds its slot until answered."""
        if is_search:
            with self.search_pace.slot():
                yield
        else:
            self.window.acquire()
            yield

    def _classify(
        self, response: requests.Response, repeatable: bool, attempt: int
    ) -> tuple[float | None, CrmError]:
        """The wait before retrying `response`, or None when it must be raised as it is."""
        status = response.status_code
        retry_after = _retry_after(response)
        body = parse_error(status, response.text)
        if status == 429 and body.policy != "DAILY" and retry_after is None:
            # HubSpot's 429s name the policy and carry the window's headers, not Retry-After:
            # its interval is the wait (and what a caller that gives up reschedules by).
            retry_after = _interval_s(response, body.policy)
        failure = translate(status, body, retry_after)
        if attempt == self.retry.attempts:
            return None, failure
        if status == 429 and body.policy != "DAILY":
            return retry_after, failure
        if status >= 500 and repeatable:
            backoff = self.retry.delay(attempt)
            return (retry_after if retry_after is not None else backoff), failure
        return None, failure

    def _wait(self, failure: CrmError, method: str, path: str, attempt: int, wait: float) -> None:
        log.warning(
            "hubspot_retry",
            method=method,
            path=path,
            attempt=attempt,
            code=failure.code,
            wait_s=round(wait, 3),
        )
        self._sleep(wait)

    def _observe(self, response: requests.Response) -> None:
        API_CALLS.labels(CRM, str(response.status_code)).inc()
        headers = response.headers
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        if remaining is not None:
            self.window.observe(remaining)
        daily = _int_header(headers, "X-HubSpot-RateLimit-Daily")
        daily_remaining = _int_header(headers, "X-HubSpot-RateLimit-Daily-Remaining")
        if daily is not None and daily_remaining is not None:
            self.budget.observe(max(daily - daily_remaining, 0), daily)

    def GET(self, url: str, **kwargs: Any) -> SdkResponse:  # noqa: N802 - the SDK's names
        """GET, as the SDK's REST client interface names it."""
        return self.request("GET", url, **kwargs)

    def HEAD(self, url: str, **kwargs: Any) -> SdkResponse:  # noqa: N802
        """HEAD, as the SDK's REST client interface names it."""
        return self.request("HEAD", url, **kwargs)

    def OPTIONS(self, url: str, **kwargs: Any) -> SdkResponse:  # noqa: N802
        """OPTIONS, as the SDK's REST client interface names it."""
        return self.request("OPTIONS", url, **kwargs)

    def POST(self, url: str, **kwargs: Any) -> SdkResponse:  # noqa: N802
        """POST, as the SDK's REST client interface names it."""
        return self.request("POST", url, **kwargs)

    def PUT(self, url: str, **kwargs: Any) -> SdkResponse:  # noqa: N802
        """PUT, as the SDK's REST client interface names it."""
        return self.request("PUT", url, **kwargs)

    def PATCH(self, url: str, **kwargs: Any) -> SdkResponse:  # noqa: N802
        """PATCH, as the SDK's REST client interface names it."""
        return self.request("PATCH", url, **kwargs)

    def DELETE(self, url: str, **kwargs: Any) -> SdkResponse:  # noqa: N802
        """DELETE, as the SDK's REST client interface names it."""
        return self.request("DELETE", url, **kwargs)


def _encoded(body: Any) -> str | bytes:
    """The JSON of a request body; bytes are a body the caller encoded already (the SDK passes
    bytes through unchanged, where it would walk a large dict body item by item)."""
    return body if isinstance(body, bytes) else json_codec.dumps(body)


def _query_value(value: Any) -> Any:
    """Booleans as HubSpot documents them (`archived=true`), not Python's `True`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return None


def _interval_s(response: requests.Response, policy: str | None) -> float:
    interval_ms = _int_header(response.headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
    if interval_ms is not None and policy == "TEN_SECONDLY_ROLLING":
        return interval_ms / 1000
    return _POLICY_INTERVAL_S.get(policy or "", _DEFAULT_INTERVAL_S)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None

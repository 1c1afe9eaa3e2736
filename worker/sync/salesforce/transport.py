"""Every Salesforce call goes through here: budget check, usage reading, transient retries.

The usage of each response (`Sforce-Limit-Info: api-usage=used/limit`, REST API Developer Guide,
"Limit Info Header", headers_api_usage.htm) is read by a response hook on the injected
`requests.Session`, so error responses count as much as successes. Only failures that may pass
on their own are retried (connection errors, 5xx, the concurrent-request limit), with capped
exponential backoff; the daily limit stops the work instead. A request that is not idempotent
(a create) is retried only when the org refused it unrun: a dropped connection or a 5xx may
come after the org committed it, and the caller must find out what exists first.
"""

import re
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests
import structlog
from simple_salesforce.exceptions import SalesforceError

from worker.sync.base import Priority
from worker.sync.budget import API_CALLS, ApiBudget
from worker.sync.retry import RetryPolicy
from worker.sync.salesforce.errors import CRM, is_refusal, is_transient, translate

log = structlog.get_logger(__name__)

T = TypeVar("T")

_LIMIT_INFO = re.compile(r"(?:^|[;\s])api-usage=(\d+)/(\d+)")


def parse_limit_info(header: str) -> tuple[int, int] | None:
    """(used, limit) from a `Sforce-Limit-Info` header value, or None if it has no api-usage."""
    match = _LIMIT_INFO.search(header)
    return (int(match.group(1)), int(match.group(2))) if match else None


class Transport:
    """Runs SDK calls under the API budget, retrying only what is known to be transient."""

    def __init__(
        self,
        session: requests.Session,
        budget: ApiBudget,
        *,
        retry: RetryPolicy,
        sleep: Callable[[float], None],
    ) -> None:
        self.budget = budget
        self._retry = retry
        self._sleep = sleep
        self._retry_after: float | None = None
        self._reported_tenth = -1
        self.server_time: datetime | None = None
        """The org's clock as its last answer told it (the `Date` header)."""
        session.hooks["response"].append(self._observe)

    def _observe(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        API_CALLS.labels(CRM, str(response.status_code)).inc()
        header = response.headers.get("Sforce-Limit-Info")
        usage = parse_limit_info(header) if header else None
        if usage is not None:
            self.budget.observe(*usage)
            self._report(*usage)
        retry_after = response.headers.get("Retry-After")
        self._retry_after = float(retry_after) if retry_after and retry_after.isdigit() else None
        self.server_time = _http_date(response.headers.get("Date"))

    def _report(self, used: int, limit: int) -> None:
        if limit <= 0:
            return
        tenth = used * 10 // limit
        if tenth != self._reported_tenth:
            self._reported_tenth = tenth
            log.info("salesforce_api_usage", used=used, limit=limit, share=round(used / limit, 3))

    def call(
        self, operation: str, priority: Priority, fn: Callable[[], T], *, idempotent: bool = True
    ) -> T:
        """Run `fn` (one API request) once the budget allows it; retry transient failures."""
        attempt = 1
        while True:
            self.budget.check(priority)
            try:
                return fn()
            except (requests.RequestException, SalesforceError) as error:
                usage = self.budget.usage
                retryable = is_transient(error, usage) if idempotent else is_refusal(error, usage)
                if attempt >= self._retry.attempts or not retryable:
                    raise translate(error, usage) from error
                delay = self._retry_after or self._retry.delay(attempt)
                log.warning(
                    "salesforce_retry",
                    operation=operation,
                    attempt=attempt,
                    delay_s=delay,
                    error=type(error).__name__,
                )
                self._sleep(delay)
                attempt += 1


def _http_date(value: str | None) -> datetime | None:
    """An HTTP `Date` header as an aware datetime, or None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None

"""The API budget: keep CRM calls inside a configured share of the daily allocation (promise 8).

Each connector feeds it what the CRM reports (`Sforce-Limit-Info`, `X-HubSpot-RateLimit-Daily*`)
and asks it before every call. Non-essential work (pulls, roll-ups) stops at one share; essential
work (answer write-backs, detractor tasks) may go on to a higher one, so a busy day never costs
a detractor their follow-up.
"""

import threading

import structlog
from prometheus_client import Counter, Gauge

from worker.sync.base import ApiUsage, BudgetExhausted, Priority

log = structlog.get_logger(__name__)

API_CALLS = Counter("nps_crm_api_calls", "CRM API requests sent", ["crm", "status"])
API_USED = Gauge("nps_crm_api_calls_used", "API calls used in the CRM's daily window", ["crm"])
API_LIMIT = Gauge("nps_crm_api_calls_limit", "API calls allowed in the CRM's daily window", ["crm"])


class ApiBudget:
    """Tracks the CRM's reported daily usage and refuses calls past the configured shares."""

    def __init__(self, crm: str, normal_share: float = 0.5, essential_share: float = 0.8) -> None:
        if not 0 < normal_share <= essential_share <= 1:
            raise ValueError("budget shares must satisfy 0 < normal <= essential <= 1")
        self.crm = crm
        self._shares = {Priority.NORMAL: normal_share, Priority.ESSENTIAL: essential_share}
        self._usage: ApiUsage | None = None
        self._lock = threading.Lock()

    @property
    def usage(self) -> ApiUsage | None:
        """The last usage the CRM reported."""
        return self._usage

    def observe(self, used: int, limit: int) -> None:
        """Record usage as reported on a CRM response."""
        with self._lock:
            self._usage = ApiUsage(used=used, limit=limit)
        API_USED.labels(self.crm).set(used)
        API_LIMIT.labels(self.crm).set(limit)

    def check(self, priority: Priority, calls: int = 1) -> None:
        """Raise `BudgetExhausted` if `calls` more calls would pass the share for `priority`."""
        usage = self._usage
        if usage is None or usage.limit <= 0:
            return
        allowed = int(usage.limit * self._shares[priority])
        if usage.used + calls > allowed:
            log.warning(
                "api_budget_reached",
                crm=self.crm,
                priority=priority.value,
                used=usage.used,
                limit=usage.limit,
                allowed=allowed,
            )
            raise BudgetExhausted(
                self.crm,
                "BUDGET_SHARE_REACHED",
                f"{usage.used}/{usage.limit} calls used; {priority.value} work may use {allowed}",
            )

"""HubSpot's API rate limits: ten-secondly rolling, daily, and search requests per second.

Limits and headers: https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details
(private apps: 100-190 requests per 10 s and 250,000-1,000,000 a day by tier; search endpoints
5 requests per second per account and no `X-HubSpot-RateLimit-*` headers on their responses).
Windows run on real monotonic seconds passed in by the caller: SDK clients run in real time.
"""

import math
import threading
from collections import deque
from dataclasses import dataclass

TEN_SECONDS = 10.0
DAY = 86_400.0


@dataclass(frozen=True)
class RateLimits:
    """The portal's allowances; `enforce=False` counts calls but never refuses one."""

    per_ten_seconds: int = 190
    daily: int = 1_000_000
    search_per_second: int = 5
    enforce: bool = True


@dataclass(frozen=True)
class Exceeded:
    """A refused call: which policy refused it and when to come back."""

    policy: str  # "TEN_SECONDLY_ROLLING" | "DAILY" | "SECONDLY"
    retry_after_s: int


class RateLimiter:
    """Counts API calls in rolling windows and decides whether the next one may run."""

    def __init__(self, limits: RateLimits, started: float) -> None:
        self._lock = threading.Lock()
        self.limits = limits
        self._recent: deque[float] = deque()
        self._searches: deque[float] = deque()
        self._day_start = started
        self._daily_used = 0

    def configure(self, limits: RateLimits) -> None:
        """Change allowances (benchmarks tune the tier; fast tests switch enforcement off)."""
        with self._lock:
            self.limits = limits

    def take(self, now: float) -> Exceeded | None:
        """Count one ordinary API call at `now`, or say which limit refuses it."""
        with self._lock:
            self._expire(now)
            if self.limits.enforce:
                if self._daily_used >= self.limits.daily:
                    return Exceeded("DAILY", math.ceil(self._day_start + DAY - now))
                if len(self._recent) >= self.limits.per_ten_seconds:
                    wait = self._recent[0] + TEN_SECONDS - now
                    return Exceeded("TEN_SECONDLY_ROLLING", max(1, math.ceil(wait)))
            self._recent.append(now)
            self._daily_used += 1
            return None

    def take_search(self, now: float) -> Exceeded | None:
        """Count one search call at `now` (its own per-second limit, plus the daily count)."""
        with self._lock:
            self._expire(now)
            if self.limits.enforce:
                if self._daily_used >= self.limits.daily:
                    return Exceeded("DAILY", math.ceil(self._day_start + DAY - now))
                if len(self._searches) >= self.limits.search_per_second:
                    return Exceeded("SECONDLY", 1)
            self._searches.append(now)
            self._daily_used += 1
            return None

    def headers(self, now: float) -> dict[str, str]:
        """The `X-HubSpot-RateLimit-*` headers describing the windows at `now`."""
        with self._lock:
            self._expire(now)
            limits = self.limits
            return {
                "X-HubSpot-RateLimit-Daily": str(limits.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, limits.daily - self._daily_used)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(TEN_SECONDS * 1000)),
                "X-HubSpot-RateLimit-Max": str(limits.per_ten_seconds),
                "X-HubSpot-RateLimit-Remaining": str(
                    max(0, limits.per_ten_seconds - len(self._recent))
                ),
            }

    def _expire(self, now: float) -> None:
        while self._recent and self._recent[0] <= now - TEN_SECONDS:
            self._recent.popleft()
        while self._searches and self._searches[0] <= now - 1.0:
            self._searches.popleft()
        if now - self._day_start >= DAY:
            elapsed_days = math.floor((now - self._day_start) / DAY)
            self._day_start += elapsed_days * DAY
            self._daily_used = 0

"""The org's daily API request allocation, counted over a rolling 24 hours.

REST API Developer Guide, "Limits" (resources_limits.htm) and the `Sforce-Limit-Info`
response header (headers_api_usage.htm): `api-usage=used/max`. The window runs on the
sandbox clock, so simulated days release budget the way real days do.
"""

import threading
from collections import deque
from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)
_BUCKET = timedelta(minutes=1)


class ApiBudget:
    """Counts API calls in the trailing 24 hours and refuses calls beyond `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._buckets: deque[tuple[datetime, int]] = deque()
        self._total = 0

    def used(self, now: datetime) -> int:
        """Calls counted in the 24 hours before `now`."""
        with self._lock:
            self._expire(now)
            return self._total

    def try_spend(self, now: datetime) -> bool:
        """Count one call at `now`; False (nothing counted) when the allocation is spent."""
        with self._lock:
            self._expire(now)
            if self._total >= self.limit:
                return False
            bucket = now - timedelta(seconds=now.second, microseconds=now.microsecond)
            if self._buckets and self._buckets[-1][0] == bucket:
                self._buckets[-1] = (bucket, self._buckets[-1][1] + 1)
            else:
                self._buckets.append((bucket, 1))
            self._total += 1
            return True

    def header(self, now: datetime) -> str:
        """The `Sforce-Limit-Info` header value."""
        return f"api-usage={self.used(now)}/{self.limit}"

    def _expire(self, now: datetime) -> None:
        horizon = now - WINDOW + _BUCKET
        while self._buckets and self._buckets[0][0] < horizon:
            self._total -= self._buckets.popleft()[1]

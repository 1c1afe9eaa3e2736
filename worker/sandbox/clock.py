"""The sandbox's own time: settable and advanceable, so tests can live through days in seconds."""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Thread-safe settable clock; every timestamp the sandbox writes comes from here.

    Between explicit `set`/`advance` calls the clock runs at wall-clock speed from the last
    mark, so consecutive writes get increasing modstamps as they would in a real CRM.
    """

    def __init__(self, start: datetime, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._base = _require_aware(start)
        self._mark = monotonic()

    def now(self) -> datetime:
        """The current sandbox time (aware, UTC)."""
        with self._lock:
            return self._base + timedelta(seconds=self._monotonic() - self._mark)

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (backwards too: tests replay histories)."""
        aware = _require_aware(moment)
        with self._lock:
            self._base = aware
            self._mark = self._monotonic()

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"cannot advance the clock by a negative delta ({delta})")
        with self._lock:
            self._base = self._base + timedelta(seconds=self._monotonic() - self._mark) + delta
            self._mark = self._monotonic()
            return self._base


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"sandbox time must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)

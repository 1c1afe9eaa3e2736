"""Client-side pacing that keeps HubSpot calls under its limits instead of bouncing off them.

HubSpot counts private-app calls in a rolling ten-second window (100 or 190 by tier) and search
calls per second (about 5, with no rate headers on search responses):
https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details
"""

import threading
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RollingWindow:
    """At most `limit` calls in any rolling `interval_s` seconds; callers wait for a free slot.

    Other clients of the same portal spend the same allowance, so `observe` folds the remaining
    count HubSpot reports into the local log: it never lets us believe we have more room left
    than the server says. The window is held `guard` times longer than the server's, because
    calls reach it with jitter (at exactly 190 per 10 s, the sandbox benchmark drew one 429 in
    a thousand batch writes).
    """

    def __init__(
        self, limit: int, interval_s: float, clock: Clock, sleep: Sleep, guard: float = 1.02
    ) -> None:
        if limit <= 0 or interval_s <= 0 or guard < 1:
            raise ValueError("a rolling window needs a positive limit and interval, guard >= 1")
        self.limit = limit
        self.interval_s = interval_s * guard
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until one more call fits in the window, count it, and return the time waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._expire(now)
                if len(self._calls) < self.limit:
                    self._calls.append(now)
                    return waited
                wait = self._calls[0] + self.interval_s - now
            self._sleep(wait)
            waited += wait

    def observe(self, remaining: int) -> None:
        """Align with the server's count when it says fewer calls remain than we think."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            missing = (self.limit - len(self._calls)) - max(remaining, 0)
            for _ in range(missing):
                self._calls.append(now)

    def _expire(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - self.interval_s:
            self._calls.popleft()


class Spacing:
    """Evenly spaced calls at `rate` per second, for endpoints whose limit has no headers.

    Even spacing (rather than bursts up to the per-second count) keeps a rolling one-second
    window on the server side from seeing more than `rate` calls; the gaps are `guard` times
    longer than 1/rate because calls reach the server with jitter (at exactly 1/rate, a portal
    limit of 5 per second answered one search in seven with a 429 in the sandbox benchmark).
    """

    def __init__(self, rate: float, clock: Clock, sleep: Sleep, guard: float = 1.05) -> None:
        if rate <= 0 or guard < 1:
            raise ValueError("search pacing needs a positive rate and a guard of at least 1")
        self.gap_s = guard / rate
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until the next slot, claim it, and return the time waited."""
        with self._lock:
            now = self._clock()
            start = now if self._next is None else max(now, self._next)
            self._next = start + self.gap_s
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

"""Client-side pacing that keeps HubSpot calls under its limits instead of bouncing off them.

HubSpot counts private-app calls in a rolling ten-second window (100 or 190 by tier) and search
calls per second (5 per account, with no rate headers on search responses):
https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details
"""

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Clock = Callable[[], float]
Sleep = Callable[[float], None]

PORTAL_SEARCHES_PER_SECOND = 5
"""HubSpot's search limit per account (portal), shared by every app installed on it."""


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


class SearchPace:
    """Searches at `rate` a second exactly, never more than the portal allows, one at a time.

    HubSpot limits search per account (`PORTAL_SEARCHES_PER_SECOND`, every app of the portal
    together), counts a search when it arrives, and sends no rate headers with the answer. Two
    rules, both on our own clock:

    - at most `rate` sends in any rolling second (the configured share; reached, not undercut
      by a guessed margin);
    - a search leaves only when the `portal`-th search before it was answered a full second
      earlier. A search arrives between its send and its answer, so HubSpot then never holds
      `portal` of ours in one of its seconds, whatever the network's jitter (a fixed margin,
      such as the 5 % this replaced, holds only while the jitter stays under it).

    Searches go one at a time (`slot` holds a lock from the wait to the answer), so with `rate`
    below the portal's limit the second rule never waits: the answer of each search comes
    before the next send, and the `portal`-th search back left over a second earlier. At the
    portal's own rate it costs one answer's latency a second.
    """

    def __init__(
        self, rate: int, clock: Clock, sleep: Sleep, portal: int = PORTAL_SEARCHES_PER_SECOND
    ) -> None:
        if rate <= 0 or portal <= 0:
            raise ValueError("search pacing needs a positive rate and portal limit")
        self.rate = rate
        self.portal = max(portal, rate)  # only tests of an unlimited sandbox ask for more
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque(maxlen=self.rate)
        self._answered: deque[float] = deque(maxlen=self.portal)
        self._one_at_a_time = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Wait for the next search's turn, hold it while the search runs; yields the wait."""
        with self._one_at_a_time:
            waited = 0.0
            while (wait := self._wait_s(self._clock())) > 0:
                self._sleep(wait)
                waited += wait
            self._sent.append(self._clock())
            try:
                yield waited
            finally:
                self._answered.append(self._clock())

    def _wait_s(self, now: float) -> float:
        """How long before both rules let one more search leave at `now`."""
        wait = 0.0
        if len(self._sent) == self.rate:
            wait = self._sent[0] + 1.0 - now
        if len(self._answered) == self.portal:
            wait = max(wait, self._answered[0] + 1.0 - now)
        return wait

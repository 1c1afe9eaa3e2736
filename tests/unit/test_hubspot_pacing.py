"""Search pacing: the configured rate reached exactly, the portal's limit never exceeded.

HubSpot's side is the sandbox's own limiter (a rolling second per account, 429 `SECONDLY` past
the limit), fed with each search's arrival: anywhere between our send and our answer.
"""

import threading
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fake_time import FakeTime
from worker.sandbox.hubspot.limits import RateLimiter, RateLimits
from worker.sync.hubspot.pacing import PORTAL_SEARCHES_PER_SECOND, SearchPace


@dataclass(frozen=True)
class Call:
    """One search as it ran: answer latency, when HubSpot saw it (a share of the latency),
    and the worker's own time before the next one (storing the page)."""

    latency: float
    arrival_share: float
    work: float


def run(rate: int, calls: list[Call]) -> tuple[list[float], int, float]:
    """Searches through `SearchPace` against the portal's limiter: the send times, the
    portal's refusals, and the time the whole run took."""
    time = FakeTime()
    pace = SearchPace(rate, time.clock, time.sleep)
    portal = RateLimiter(RateLimits(search_per_second=PORTAL_SEARCHES_PER_SECOND), time.now)
    sends: list[float] = []
    refused = 0
    started = time.now
    for call in calls:
        with pace.slot():
            sends.append(time.now)
            arrival = time.now + call.latency * call.arrival_share
            refused += portal.take_search(arrival) is not None
            time.now += call.latency
        time.now += call.work
    return sends, refused, time.now - started


def most_in_one_second(sends: list[float]) -> int:
    """The largest number of sends within any half-open second [t, t + 1)."""
    return max(sum(1 for other in sends if start <= other < start + 1.0 - 1e-9) for start in sends)


calls = st.lists(
    st.builds(
        Call,
        latency=st.floats(0.0, 0.5),
        arrival_share=st.floats(0.0, 1.0),
        work=st.floats(0.0, 0.3),
    ),
    min_size=1,
    max_size=40,
)


class TestSearchPace:
    """`SearchPace` against HubSpot's per-second search limit."""

    @settings(max_examples=200, deadline=None)
    @given(rate=st.integers(1, PORTAL_SEARCHES_PER_SECOND), calls=calls)
    def test_the_portal_never_refuses_and_the_rate_holds(
        self, rate: int, calls: list[Call]
    ) -> None:
        """Whatever the latency and where in it HubSpot counts the search, no 429, and never
        more than `rate` sends in any second of ours."""
        sends, refused, _ = run(rate, calls)
        assert refused == 0
        assert most_in_one_second(sends) <= rate

    @pytest.mark.parametrize("rate", [1, 2, 3, 4])
    @pytest.mark.parametrize("latency", [0.0, 0.05, 0.15])
    def test_below_the_portal_limit_the_rate_is_reached(self, rate: int, latency: float) -> None:
        """40 searches at 4 a second take under 10 s when each search and its page take less
        than a quarter second: no margin lost to a guard (a 5 % one would take 10.2 s)."""
        each = min(latency + 0.05, 0.9 / rate)
        _, refused, took = run(rate, [Call(latency, 0.5, each - latency)] * 40)
        assert refused == 0
        assert took <= 39 / rate + each + 1e-9

    def test_at_the_portal_limit_one_latency_a_second_is_the_price(self) -> None:
        """At 5 a second (the whole portal), every fifth search waits for the answer of the
        fifth before it to be a second old: 5 searches per (1 s + one latency)."""
        sends, refused, _ = run(5, [Call(0.1, 1.0, 0.0)] * 11)
        assert refused == 0
        assert sends[5] == pytest.approx(sends[0] + 0.1 + 1.0)
        assert sends[10] == pytest.approx(sends[5] + 0.1 + 1.0)

    def test_a_search_waits_for_the_one_in_flight(self) -> None:
        """Searches go one at a time: a second thread's slot opens when the first closes."""
        time = FakeTime()
        pace = SearchPace(4, time.clock, time.sleep)
        order: list[str] = []

        def second() -> None:
            with pace.slot():
                order.append("second")

        with pace.slot():
            other = threading.Thread(target=second)
            other.start()
            other.join(0.2)
            assert other.is_alive()  # waiting at the slot
            order.append("first answered")
        other.join(5)
        assert order == ["first answered", "second"]

    @pytest.mark.parametrize(("rate", "portal"), [(0, 5), (4, 0)])
    def test_nonsense_limits_are_refused(self, rate: int, portal: int) -> None:
        """A rate or portal limit below one is a programming error, said at once."""
        time = FakeTime()
        with pytest.raises(ValueError, match="positive"):
            SearchPace(rate, time.clock, time.sleep, portal)

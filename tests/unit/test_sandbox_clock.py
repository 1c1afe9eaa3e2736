"""The sandbox clock: settable, advanceable, and running at wall speed between marks."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from worker.sandbox.clock import SandboxClock

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class FakeMonotonic:
    """A monotonic time source the test moves by hand."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


class TestSandboxClock:
    def test_now_starts_at_the_given_moment(self) -> None:
        """A fresh clock reads exactly its start while no real time has passed."""
        clock = SandboxClock(START, monotonic=FakeMonotonic())
        assert clock.now() == START

    def test_now_runs_at_wall_speed_between_marks(self) -> None:
        """Real seconds elapsed since the last mark are added, so writes get rising modstamps."""
        ticks = FakeMonotonic()
        clock = SandboxClock(START, monotonic=ticks)
        ticks.value += 2.5
        assert clock.now() == START + timedelta(seconds=2.5)

    def test_set_jumps_anywhere_and_restarts_the_mark(self) -> None:
        """`set` moves to any moment, backwards included, and elapsed time counts from there."""
        ticks = FakeMonotonic()
        clock = SandboxClock(START, monotonic=ticks)
        ticks.value += 100
        earlier = START - timedelta(days=3)
        clock.set(earlier)
        assert clock.now() == earlier
        ticks.value += 1
        assert clock.now() == earlier + timedelta(seconds=1)

    def test_advance_adds_the_delta_to_the_current_time(self) -> None:
        """`advance` keeps the elapsed real time and adds the delta on top."""
        ticks = FakeMonotonic()
        clock = SandboxClock(START, monotonic=ticks)
        ticks.value += 5
        moved = clock.advance(timedelta(days=30))
        assert moved == START + timedelta(days=30, seconds=5)
        assert clock.now() == moved

    def test_times_are_reported_in_utc(self) -> None:
        """A start given in another offset is read back as the same instant in UTC."""
        tokyo = timezone(timedelta(hours=9))
        clock = SandboxClock(datetime(2025, 3, 3, 18, 0, tzinfo=tokyo), monotonic=FakeMonotonic())
        assert clock.now() == START
        assert clock.now().tzinfo is UTC

    @pytest.mark.parametrize(
        "action",
        [
            pytest.param(lambda: SandboxClock(datetime(2025, 3, 3)), id="naive-start"),  # noqa: DTZ001
            pytest.param(
                lambda: SandboxClock(START).set(datetime(2025, 3, 3)),  # noqa: DTZ001
                id="naive-set",
            ),
            pytest.param(lambda: SandboxClock(START).advance(timedelta(-1)), id="negative-advance"),
        ],
    )
    def test_rejects_naive_times_and_going_backwards_by_advance(
        self, action: Callable[[], object]
    ) -> None:
        """Naive datetimes and negative advances are refused with a ValueError."""
        with pytest.raises(ValueError, match=r"naive|negative"):
            action()

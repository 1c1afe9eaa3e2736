"""A monotonic clock for pacing tests: it moves only when the code under test sleeps (or the
test moves it), so waits are asserted exactly and no test depends on the machine's speed."""

from dataclasses import dataclass, field


@dataclass
class FakeTime:
    """A monotonic clock that only moves when someone sleeps or a test moves it."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        """The current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock."""
        self.sleeps.append(seconds)
        self.now += seconds

"""NPS by slice (program, touchpoint, channel, language, month, week, account, segments, bands),
in one pass.

A slice with fewer answers than `segments.min_sample` keeps its count but gets no score:
a score from a handful of answers invites decisions the data cannot carry.
"""

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from worker.analytics import bands
from worker.analytics.dataset import Answer
from worker.analytics.nps import Comparison, Estimate, Tally, compare, estimate
from worker.analytics.values import NO_ACCOUNT
from worker.config import Config
from worker.domain import Category

Key = TypeVar("Key", bound=Hashable)

_INDEX = {Category.PROMOTER: 0, Category.PASSIVE: 1, Category.DETRACTOR: 2}


class Counts(Generic[Key]):
    """Category counts per key, filled in one pass and read out as tallies."""

    def __init__(self) -> None:
        self._counts: dict[Key, list[int]] = {}

    def add(self, key: Key, category: Category) -> None:
        """Count one answer of `category` under `key`."""
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0, 0, 0]
        counts[_INDEX[category]] += 1

    def tally(self, key: Key) -> Tally:
        """The counts under `key` (empty when nothing was counted)."""
        return Tally(*self._counts.get(key, (0, 0, 0)))

    def __iter__(self) -> Iterator[Key]:
        """Every key counted, in first-seen order."""
        return iter(self._counts)


TIME_DIMENSIONS = ("month", "week")
"""Dimensions whose slices are periods, listed oldest first."""


@dataclass(frozen=True, slots=True)
class Dimension:
    """A way to slice answers: its id (`touchpoint`, `segment.plan`) and the value of an answer.

    `order` ranks the values of a banded dimension (lowest band first); without it, periods
    are listed oldest first and other values by answer count, largest first.
    """

    id: str
    value: Callable[[Answer], str]
    order: Mapping[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Slice:
    """The answers of one dimension value; `estimate` is None below the minimum sample."""

    dimension: str
    value: str
    tally: Tally
    estimate: Estimate | None


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One period (month or week) of NPS, with its change from the previous scored period."""

    period: str
    tally: Tally
    estimate: Estimate | None
    change: Comparison | None


def dimensions(config: Config) -> tuple[Dimension, ...]:
    """The fixed dimensions, one per configured segment field, then tenure when configured."""
    fixed = (
        Dimension("touchpoint", lambda a: a.touchpoint),
        Dimension("program", lambda a: a.program),
        Dimension("channel", lambda a: a.channel),
        Dimension("language", lambda a: a.language),
        Dimension("month", lambda a: a.month),
        Dimension("week", lambda a: a.week),
        Dimension("account", lambda a: a.account or NO_ACCOUNT),
    )
    segments = config.segments
    banded = tuple(
        _segment(
            f"segment.{name}",
            name,
            bands.order(segments.bands[name]) if name in segments.bands else None,
        )
        for name in segments.fields
    )
    tenure = segments.tenure_months
    cohorts = (
        (_segment("tenure", "tenure", bands.order([float(m) for m in tenure])),) if tenure else ()
    )
    return fixed + banded + cohorts


def _segment(dimension: str, name: str, order: Mapping[str, int] | None) -> Dimension:
    return Dimension(dimension, lambda answer: answer.segments[name], order)


def scored(tally: Tally, min_sample: int) -> Estimate | None:
    """The estimate of `tally`, or None when it has fewer than `min_sample` answers."""
    return estimate(tally) if tally.n >= min_sample else None


def slice_answers(
    answers: Iterable[Answer], by: Sequence[Dimension], min_sample: int
) -> dict[str, tuple[Slice, ...]]:
    """Slices per dimension id: periods oldest first, bands lowest first, other values by
    answer count, largest first."""
    counts: Counts[tuple[str, str]] = Counts()
    for answer in answers:
        for dimension in by:
            counts.add((dimension.id, dimension.value(answer)), answer.category)
    result: dict[str, list[Slice]] = {dimension.id: [] for dimension in by}
    for key in counts:
        tally = counts.tally(key)
        result[key[0]].append(Slice(key[0], key[1], tally, scored(tally, min_sample)))
    return {dimension.id: _ordered(dimension, result[dimension.id]) for dimension in by}


def _ordered(dimension: Dimension, rows: list[Slice]) -> tuple[Slice, ...]:
    if dimension.id in TIME_DIMENSIONS:
        return tuple(sorted(rows, key=lambda s: s.value))
    if dimension.order is not None:
        rank = dimension.order
        return tuple(sorted(rows, key=lambda s: (rank.get(s.value, len(rank)), s.value)))
    return tuple(sorted(rows, key=lambda s: (-s.tally.n, s.value)))


def trend(periods: Sequence[Slice]) -> tuple[TrendPoint, ...]:
    """Period slices as a trend; each scored period is compared with the previous scored one."""
    points = []
    previous: Estimate | None = None
    for period in periods:
        change = None
        if period.estimate is not None:
            change = compare(previous, period.estimate) if previous is not None else None
            previous = period.estimate
        points.append(TrendPoint(period.value, period.tally, period.estimate, change))
    return tuple(points)


def distribution(answers: Iterable[Answer]) -> tuple[int, ...]:
    """How many answers gave each score, 0 to 10."""
    counts = [0] * 11
    for answer in answers:
        counts[answer.score] += 1
    return tuple(counts)

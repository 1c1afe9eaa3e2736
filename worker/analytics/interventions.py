"""Interventions: a change made on a date, and NPS in the weeks before it against after it.

Markers come from `analytics.interventions` in the config and from the store
(`nps-worker intervention add`). Before is the `intervention_window` up to the day, after the
same length from the day (cut at the report's end); the difference comes with its 95% interval
(independent samples). A marker can name one slice (`touchpoint: onboarding`): only answers in
that slice are counted.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.analytics.dataset import Answer
from worker.analytics.nps import Z_95, Comparison, Estimate, Tally, compare
from worker.analytics.slices import Counts, Dimension, scored
from worker.config import Config
from worker.store.models import Intervention


class UnknownSlice(ValueError):
    """An intervention names a slice dimension the report does not have (or has no label)."""


@dataclass(frozen=True, slots=True)
class MarkerSpec:
    """An intervention: what, when, and the one slice it targets (None: everyone)."""

    label: str
    on: dt.date
    dimension: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class BeforeAfter:
    """NPS before and after one intervention, and their difference with its 95% interval."""

    marker: MarkerSpec
    before: Tally
    after: Tally
    before_estimate: Estimate | None
    after_estimate: Estimate | None
    change: Comparison | None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% interval of after minus before, in points."""
        if self.change is None:
            return None
        half = Z_95 * self.change.standard_error
        return self.change.difference - half, self.change.difference + half


def markers(session: Session, config: Config) -> list[MarkerSpec]:
    """Every intervention, from the config and the store, oldest first."""
    found = [
        MarkerSpec(
            item.label,
            item.date,
            *next(iter(item.segment.items())) if item.segment else (None, None),
        )
        for item in config.analytics.interventions
    ]
    found += [
        MarkerSpec(row.label, row.happened_on, row.dimension, row.value)
        for row in session.scalars(select(Intervention))
    ]
    return sorted(found, key=lambda m: (m.on, m.label))


def check_slice(marker: MarkerSpec, dimensions: Mapping[str, Dimension]) -> None:
    """UnknownSlice unless the marker's dimension is one of the report's."""
    if marker.dimension is not None and marker.dimension not in dimensions:
        known = ", ".join(sorted(dimensions))
        raise UnknownSlice(
            f"intervention '{marker.label}': unknown slice '{marker.dimension}' (known: {known})"
        )


def before_after(
    answers: Sequence[Answer],
    marker: MarkerSpec,
    *,
    dimensions: Mapping[str, Dimension],
    window: dt.timedelta,
    until: dt.datetime,
    min_sample: int,
) -> BeforeAfter:
    """Tally the answers of the marker's slice in the window before its day and after it."""
    check_slice(marker, dimensions)
    start = dt.datetime.combine(marker.on, dt.time(), dt.UTC)
    chosen = dimensions[marker.dimension].value if marker.dimension else None
    counts: Counts[str] = Counts()
    for answer in answers:
        if chosen is not None and chosen(answer) != marker.value:
            continue
        if start - window <= answer.received_at < start:
            counts.add("before", answer.category)
        elif start <= answer.received_at < min(start + window, until):
            counts.add("after", answer.category)
    before, after = counts.tally("before"), counts.tally("after")
    before_estimate, after_estimate = scored(before, min_sample), scored(after, min_sample)
    change = (
        compare(before_estimate, after_estimate)
        if before_estimate is not None and after_estimate is not None
        else None
    )
    return BeforeAfter(marker, before, after, before_estimate, after_estimate, change)


def position(on: dt.date, periods: Sequence[str]) -> float | None:
    """Where `on` falls on a trend of months (YYYY-MM) or ISO weeks (YYYY-Www), in period
    units from the first period's middle; None outside the trend."""
    for index, period in enumerate(periods):
        start, end = _bounds(period)
        if start <= on < end:
            return index - 0.5 + (on - start).days / (end - start).days
    return None


def _bounds(period: str) -> tuple[dt.date, dt.date]:
    if "-W" in period:
        iso_year, week = period.split("-W")
        monday = dt.date.fromisocalendar(int(iso_year), int(week), 1)
        return monday, monday + dt.timedelta(days=7)
    year, month = (int(part) for part in period.split("-"))
    return dt.date(year, month, 1), dt.date(year + month // 12, month % 12 + 1, 1)


def add(
    session: Session,
    marker: MarkerSpec,
    *,
    dimensions: Mapping[str, Dimension],
    actor: str,
    now: dt.datetime,
) -> Intervention:
    """Store an intervention (`nps-worker intervention add`) after checking its slice."""
    check_slice(marker, dimensions)
    if not marker.label.strip():
        raise UnknownSlice("an intervention needs a label")
    row = Intervention(
        label=marker.label.strip()[:200],
        happened_on=marker.on,
        dimension=marker.dimension,
        value=marker.value,
        actor=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row

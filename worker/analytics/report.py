"""The outer-loop report as one value: built from the store, turned into plain data for output."""

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from worker.analytics import labels
from worker.analytics.dataset import Window, load
from worker.analytics.i18n import Language, Words
from worker.analytics.interventions import BeforeAfter, before_after, markers
from worker.analytics.items import ItemView, views
from worker.analytics.kpis import Kpi, ResponseRate, kpis, response_rates
from worker.analytics.nps import Tally
from worker.analytics.slices import (
    Slice,
    TrendPoint,
    dimensions,
    distribution,
    scored,
    slice_answers,
    trend,
)
from worker.analytics.themes import Theme, themes
from worker.config import Config


@dataclass(frozen=True, slots=True)
class Report:
    """Everything `nps-worker report` shows, in every format."""

    generated_at: datetime
    since: datetime | None
    until: datetime
    language: Language
    min_sample: int
    prior_weight: float
    overall: Slice
    distribution: tuple[int, ...]
    trend: tuple[TrendPoint, ...]
    weekly: tuple[TrendPoint, ...]
    slices: Mapping[str, tuple[Slice, ...]]
    themes: tuple[Theme, ...]
    tag_labels: Mapping[str, str]
    labels: Mapping[str, Mapping[str, str]]
    """Display names of slice values by dimension, where they differ from the value."""
    kpis: tuple[Kpi, ...]
    targets: Mapping[str, float]
    """Configured targets by KPI id (and `nps`)."""
    response_rates: tuple[ResponseRate, ...]
    backlog: tuple[ItemView, ...]
    interventions: tuple[BeforeAfter, ...]
    intervention_days: int
    banded: frozenset[str]
    """Dimensions whose values are bands, listed lowest first."""

    def label(self, dimension: str, value: str) -> str:
        """The display name of a slice value."""
        return self.labels.get(dimension, {}).get(value, value)


def build_report(
    session: Session, config: Config, window: Window, *, now: datetime, language: Language
) -> Report:
    """Read the store once and compute every figure of the period."""
    data = load(session, config, window)
    answers = data.in_window
    min_sample = config.segments.min_sample
    by = dimensions(config)
    slices = slice_answers(answers, by, min_sample)
    total = sum((s.tally for s in slices["touchpoint"]), Tally())
    settings = config.analytics
    targets = {
        name: value
        for name in ("nps", *(kpi.id for kpi in kpis(data, now)))
        if (value := settings.targets.of(name)) is not None
    }
    return Report(
        generated_at=now,
        since=window.since,
        until=window.until,
        language=language,
        min_sample=min_sample,
        prior_weight=settings.themes.prior_weight,
        overall=Slice("all", "all", total, scored(total, min_sample)),
        distribution=distribution(answers),
        trend=trend(slices["month"]),
        weekly=trend(slices["week"]),
        slices=slices,
        themes=themes(
            answers,
            tags=[tag.id for tag in config.tags],
            structural=set(settings.themes.structural),
            min_sample=min_sample,
            prior_weight=settings.themes.prior_weight,
            names=data.names,
            language=language,
        ),
        tag_labels=labels.tags(config, language),
        labels={
            dimension: labels.value_labels(config, dimension, [s.value for s in rows], language)
            for dimension, rows in slices.items()
        },
        kpis=kpis(data, now),
        targets=targets,
        response_rates=response_rates(data.sent),
        backlog=tuple(views(session)),
        interventions=tuple(
            before_after(
                data.answers,
                marker,
                dimensions={d.id: d for d in by},
                window=settings.intervention_window,
                until=window.until,
                min_sample=min_sample,
            )
            for marker in markers(session, config)
        ),
        intervention_days=settings.intervention_window.days,
        banded=frozenset(d.id for d in by if d.order is not None),
    )


def as_data(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data, with each KPI's name and definition in its language."""
    words = Words(report.language)
    data: dict[str, Any] = plain(report)
    data["kpis"] = [
        {
            **plain(kpi),
            "name": words(f"kpi.{kpi.id}"),
            "definition": words(f"def.{kpi.id}"),
        }
        for kpi in report.kpis
    ]
    return data


def plain(value: Any) -> Any:
    """Dataclasses, tallies, dates and sets as JSON values; an infinite z score as null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"n": value.n, **fields} if isinstance(value, Tally) else fields
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [plain(item) for item in value]
        return items if isinstance(value, list | tuple) else sorted(items)
    return value

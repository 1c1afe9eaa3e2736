"""The outer-loop report as one value: built from the store, turned into plain data for output."""

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from worker.analytics.dataset import Window, load
from worker.analytics.i18n import Language, Words
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
    slices: Mapping[str, tuple[Slice, ...]]
    themes: tuple[Theme, ...]
    tag_labels: Mapping[str, str]
    kpis: tuple[Kpi, ...]
    response_rates: tuple[ResponseRate, ...]


def build_report(
    session: Session, config: Config, window: Window, *, now: datetime, language: Language
) -> Report:
    """Read the store once and compute every figure of the period."""
    data = load(session, config, window)
    answers = data.in_window
    min_sample = config.segments.min_sample
    slices = slice_answers(answers, dimensions(config), min_sample)
    total = sum((s.tally for s in slices["touchpoint"]), Tally())
    return Report(
        generated_at=now,
        since=window.since,
        until=window.until,
        language=language,
        min_sample=min_sample,
        prior_weight=config.analytics.themes.prior_weight,
        overall=Slice("all", "all", total, scored(total, min_sample)),
        distribution=distribution(answers),
        trend=trend(slices["month"]),
        slices=slices,
        themes=themes(
            answers,
            tags=[tag.id for tag in config.tags],
            structural=set(config.analytics.themes.structural),
            min_sample=min_sample,
            prior_weight=config.analytics.themes.prior_weight,
            names=data.names,
            language=language,
        ),
        tag_labels={tag.id: _label(tag.labels, language, tag.id) for tag in config.tags},
        kpis=kpis(data, now),
        response_rates=response_rates(data.sent),
    )


def _label(labels: Mapping[str, str], language: str, fallback: str) -> str:
    return labels.get(language) or labels.get("en") or fallback


def as_data(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data, with each KPI's name and definition in its language."""
    words = Words(report.language)
    data: dict[str, Any] = _plain(report)
    data["kpis"] = [
        {
            **_plain(kpi),
            "name": words(f"kpi.{kpi.id}"),
            "definition": words(f"def.{kpi.id}"),
        }
        for kpi in report.kpis
    ]
    return data


def _plain(value: Any) -> Any:
    """Dataclasses, tallies and datetimes as JSON values; an infinite z score as null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"n": value.n, **fields} if isinstance(value, Tally) else fields
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value

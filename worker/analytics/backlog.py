"""The top themes as improvement backlog items: owner, due date, a measurable definition of done."""

import dataclasses
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from worker.analytics.i18n import Words
from worker.analytics.report import Report
from worker.analytics.themes import Theme, rank_key
from worker.config.analytics import AnalyticsConfig
from worker.csv_cells import dict_writer, safe_record


@dataclass(frozen=True, slots=True)
class BacklogItem:
    """One theme to work on; done when its detractor share reaches `target` (percent)."""

    rank: int
    theme: str
    title: str
    kind: str
    owner: str
    due: date
    metric: str
    baseline: float
    target: float
    focus: str | None
    priority: float
    mentions: int
    low_n: bool
    definition_of_done: str


def candidates(themes: Sequence[Theme]) -> list[Theme]:
    """Themes worth an item, in rank order: those detractors cite that cost NPS (priority
    above zero). A theme nobody complained about is never an item, however it ranks.

    When no cited theme costs NPS (a period where even the complaints come with good scores
    elsewhere), the themes detractors cite, most cited first: a backlog is never empty while
    detractors give reasons.
    """
    complained = [t for t in themes if t.detractors]
    costly = [t for t in complained if t.priority is not None and t.priority > 0]
    if costly:
        return costly
    return sorted(complained, key=lambda t: (-t.detractors, rank_key(t)))


def backlog(report: Report, settings: AnalyticsConfig) -> tuple[BacklogItem, ...]:
    """Items for the highest-ranked `candidates` of the report."""
    words = Words(report.language)
    plan = settings.backlog
    items = []
    for rank, theme in enumerate(candidates(report.themes)[: plan.size], start=1):
        kind = "structural" if theme.structural else "quick_fix"
        due = (
            report.generated_at + (plan.structural_due if theme.structural else plan.quick_fix_due)
        ).date()
        target = max(theme.detractor_share - plan.target_points, 0.0)
        title = report.tag_labels.get(theme.tag, theme.tag)
        where = words("done_where", touchpoint=theme.focus) if theme.focus else ""
        items.append(
            BacklogItem(
                rank=rank,
                theme=theme.tag,
                title=title,
                kind=kind,
                owner=settings.themes.owners.get(theme.tag, plan.default_owner),
                due=due,
                metric="detractor_share",
                baseline=round(theme.detractor_share, 1),
                target=round(target, 1),
                focus=theme.focus,
                priority=round(theme.priority or 0.0, 2),
                mentions=theme.mentions,
                low_n=theme.low_n,
                definition_of_done=words(
                    "done_when",
                    theme=title,
                    where=where,
                    target=target,
                    baseline=theme.detractor_share,
                    min=report.min_sample,
                    due=due.isoformat(),
                ),
            )
        )
    return tuple(items)


def render_backlog(items: Sequence[BacklogItem], fmt: str) -> str:
    """Items as CSV (one row each) or JSON (a list of objects)."""
    rows = [
        {f.name: getattr(item, f.name) for f in dataclasses.fields(BacklogItem)} for item in items
    ]
    for row in rows:
        row["due"] = row["due"].isoformat()
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    buffer = io.StringIO()
    writer = dict_writer(buffer, [f.name for f in dataclasses.fields(BacklogItem)])
    writer.writeheader()
    writer.writerows(safe_record(row) for row in rows)
    return buffer.getvalue()

"""Operating KPIs of the loop: response rate, follow-up SLA, speed and completion, action
completion (improvement backlog items), recovery.

Each KPI carries its numerator and denominator so a reader can check it; the definitions
printed in the report live in `worker.analytics.i18n` beside the other report text.
"""

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from worker.analytics.dataset import Answer, Dataset, FollowUpRow, ItemRow, SentCount, Window
from worker.domain import Category
from worker.store.models import FollowUpStatus

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Kpi:
    """One KPI: `value` in `unit` (None when nothing qualifies), over `count` cases."""

    id: str
    value: float | None
    unit: str
    count: int
    numerator: int | None = None


@dataclass(frozen=True, slots=True)
class ResponseRate:
    """Answered share of surveys sent in the period, for one program or channel ("" = all)."""

    program: str
    channel: str
    sent: int
    answered: int
    rate: float | None
    """Answered per 100 sent."""


def _response_rate(program: str, channel: str, sent: int, answered: int) -> ResponseRate:
    return ResponseRate(program, channel, sent, answered, 100 * answered / sent if sent else None)


def response_rates(sent: Iterable[SentCount]) -> tuple[ResponseRate, ...]:
    """Overall first, then by program, then by channel."""
    rows = list(sent)
    total = _response_rate("", "", sum(r.sent for r in rows), sum(r.answered for r in rows))
    by_program = _sum(rows, lambda r: (r.program, ""))
    by_channel = _sum(rows, lambda r: ("", r.channel))
    return (total, *by_program, *by_channel)


def _sum(
    rows: Sequence[SentCount], key: Callable[[SentCount], tuple[str, str]]
) -> list[ResponseRate]:
    totals: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        counts = totals.setdefault(key(row), [0, 0])
        counts[0] += row.sent
        counts[1] += row.answered
    return [
        _response_rate(p, c, sent, answered) for (p, c), (sent, answered) in sorted(totals.items())
    ]


def _rate(id_: str, numerator: int, denominator: int) -> Kpi:
    value = 100 * numerator / denominator if denominator else None
    return Kpi(id_, value, "%", denominator, numerator)


def _median_hours(id_: str, spans: Sequence[float]) -> Kpi:
    return Kpi(id_, statistics.median(spans) / HOUR if spans else None, "h", len(spans))


def followup_kpis(followups: Sequence[FollowUpRow], now: datetime) -> tuple[Kpi, ...]:
    """SLA compliance, median hours to first contact and to close, follow-up completion."""
    decided = [f for f in followups if f.first_contact_at is not None or f.due_at <= now]
    met = sum(
        1 for f in decided if f.first_contact_at is not None and f.first_contact_at <= f.due_at
    )
    to_contact = [
        (f.first_contact_at - f.answered_at).total_seconds()
        for f in followups
        if f.first_contact_at is not None
    ]
    to_close = [
        (f.closed_at - f.answered_at).total_seconds()
        for f in followups
        if f.status is FollowUpStatus.CLOSED and f.closed_at is not None
    ]
    closed = sum(1 for f in followups if f.status is FollowUpStatus.CLOSED)
    return (
        _rate("sla_compliance", met, len(decided)),
        _median_hours("time_to_first_contact", to_contact),
        _median_hours("time_to_close", to_close),
        _rate("followup_completion", closed, len(followups)),
    )


def action_completion(items: Sequence[ItemRow], window: Window) -> Kpi:
    """Improvement items (not dropped) created by the end of the window: the share done by then."""
    last_day = (window.until - timedelta(microseconds=1)).date()
    done = sum(1 for item in items if item.done_on is not None and item.done_on <= last_day)
    return _rate("action_completion", done, len(items))


def _resurveys(answers: Sequence[Answer], window: Window) -> list[tuple[Answer, Answer]]:
    """(previous, next) answer pairs of the same contact whose next answer is in the window."""
    last: dict[int, Answer] = {}
    pairs = []
    for answer in answers:
        previous = last.get(answer.contact_id)
        if previous is not None and answer.received_at in window:
            pairs.append((previous, answer))
        last[answer.contact_id] = answer
    return pairs


def loop_kpis(answers: Sequence[Answer], window: Window) -> tuple[Kpi, ...]:
    """Detractor recovery and theme recurrence, over re-surveyed contacts."""
    pairs = _resurveys(answers, window)
    recovering = [nxt for prev, nxt in pairs if prev.category is Category.DETRACTOR]
    moved_up = sum(1 for nxt in recovering if nxt.category is not Category.DETRACTOR)
    tagged = [(prev, nxt) for prev, nxt in pairs if prev.tags]
    recurring = sum(1 for prev, nxt in tagged if set(prev.tags) & set(nxt.tags))
    return (
        _rate("detractor_recovery", moved_up, len(recovering)),
        _rate("theme_recurrence", recurring, len(tagged)),
    )


def kpis(data: Dataset, now: datetime) -> tuple[Kpi, ...]:
    """Every headline KPI of the period, response rate first."""
    overall = response_rates(data.sent)[0]
    return (
        _rate("response_rate", overall.answered, overall.sent),
        *followup_kpis(data.followups, now),
        action_completion(data.items, data.window),
        *loop_kpis(data.answers, data.window),
    )

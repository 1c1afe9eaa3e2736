"""What the weekly review pack says: NPS this period against the last, with intervals; new and
rising themes; overdue follow-ups; KPIs against targets; backlog changes.

Built from the same report (`worker.analytics.report`) over the digest's period, so the numbers
match what `nps-worker report --since` shows for those days.
"""

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.analytics import labels
from worker.analytics.dataset import Answer, Window, load
from worker.analytics.i18n import Language
from worker.analytics.items import Change, ItemView, changes, views
from worker.analytics.nps import Comparison, Estimate, compare, estimate
from worker.analytics.report import Report, build_report
from worker.analytics.slices import Counts, Slice, TrendPoint, trend
from worker.config import Config
from worker.store.models import Account, Contact, FollowUp, FollowUpStatus, Response, Survey

HISTORY = 8
"""Periods drawn on the digest's trend chart."""
BASELINE = 4
"""Earlier periods a theme's share this period is compared with (new and rising themes)."""
LISTED = 5
"""Themes and follow-ups listed by name; the rest are counted."""


@dataclass(frozen=True, slots=True)
class ThemeMove:
    """A theme cited this period: its share now and over the baseline periods, in points."""

    tag: str
    label: str
    mentions: int
    share: float
    baseline_share: float

    @property
    def rise(self) -> float:
        """Share now minus share before, in points."""
        return self.share - self.baseline_share


@dataclass(frozen=True, slots=True)
class Overdue:
    """A follow-up past its due time with no first contact yet."""

    account: str | None
    program: str
    owner: str | None
    due_at: dt.datetime
    escalation_level: int


@dataclass(frozen=True, slots=True)
class Digest:
    """The review pack of the period ending at `until`, in one language."""

    language: Language
    until: dt.datetime
    since: dt.datetime
    previous_since: dt.datetime
    current: Estimate | None
    previous: Estimate | None
    change: Comparison | None
    trend: tuple[TrendPoint, ...]
    new_themes: tuple[ThemeMove, ...]
    rising_themes: tuple[ThemeMove, ...]
    overdue: tuple[Overdue, ...]
    overdue_total: int
    report: Report
    """The report over this period: KPIs, targets, labels, the backlog."""
    backlog_changes: tuple[Change, ...]
    overdue_items: tuple[ItemView, ...]
    link: str | None


def build_digest(
    session: Session, config: Config, *, until: dt.datetime, language: Language
) -> Digest:
    """The digest of the `digest.period` ending at `until`."""
    period = config.digest.period
    since, previous_since = until - period, until - 2 * period
    report = build_report(session, config, Window(since, until), now=until, language=language)
    history = load(session, config, Window(until - HISTORY * period, until)).in_window
    buckets = _buckets(history, until, period, HISTORY)
    current, previous = estimate(buckets[-1].tally), estimate(buckets[-2].tally)
    moves = _theme_moves(buckets_answers(history, until, period), config, language)
    overdue = _overdue(session, config, until, language)
    return Digest(
        language=language,
        until=until,
        since=since,
        previous_since=previous_since,
        current=current,
        previous=previous,
        change=compare(previous, current) if current and previous else None,
        trend=trend(buckets),
        new_themes=tuple(m for m in moves if m.baseline_share == 0)[:LISTED],
        rising_themes=tuple(
            sorted((m for m in moves if m.baseline_share > 0 and m.rise > 0), key=lambda m: -m.rise)
        )[:LISTED],
        overdue=tuple(overdue[:LISTED]),
        overdue_total=len(overdue),
        report=report,
        backlog_changes=tuple(changes(session, Window(since, until))),
        overdue_items=tuple(item for item in views(session) if item.overdue(until.date())),
        link=config.digest.link_url,
    )


def buckets_answers(
    answers: Sequence[Answer], until: dt.datetime, period: dt.timedelta
) -> list[list[Answer]]:
    """Answers per period, oldest first, the last ending at `until` (BASELINE + 1 periods)."""
    found: list[list[Answer]] = [[] for _ in range(BASELINE + 1)]
    for answer in answers:
        back = int((until - answer.received_at) / period)
        if 0 <= back <= BASELINE:
            found[BASELINE - back].append(answer)
    return found


def _buckets(
    answers: Sequence[Answer], until: dt.datetime, period: dt.timedelta, count: int
) -> list[Slice]:
    counts: Counts[int] = Counts()
    for answer in answers:
        back = int((until - answer.received_at) / period)
        if 0 <= back < count:
            counts.add(back, answer.category)
    slices = []
    for back in range(count - 1, -1, -1):
        start = (until - (back + 1) * period).date().isoformat()
        tally = counts.tally(back)
        slices.append(Slice("period", start, tally, estimate(tally)))
    return slices


def _theme_moves(
    periods: list[list[Answer]], config: Config, language: Language
) -> list[ThemeMove]:
    """Themes cited in the last period, most cited first, with their earlier share."""
    *before, now = periods
    cited_now = Counter(tag for answer in now for tag in answer.tags)
    earlier = [answer for group in before for answer in group]
    cited_before = Counter(tag for answer in earlier for tag in answer.tags)
    names = labels.tags(config, language)
    return [
        ThemeMove(
            tag,
            names.get(tag, tag),
            count,
            100 * count / len(now),
            100 * cited_before[tag] / len(earlier) if earlier else 0.0,
        )
        for tag, count in sorted(cited_now.items(), key=lambda item: (-item[1], item[0]))
    ]


def _overdue(
    session: Session, config: Config, now: dt.datetime, language: Language
) -> list[Overdue]:
    """Follow-ups past due with no first contact, oldest due first (as `status` counts them)."""
    programs = labels.programs(config, language)
    rows = session.execute(
        select(
            Account.name,
            Survey.program,
            FollowUp.owner_crm_id,
            FollowUp.due_at,
            FollowUp.escalation_level,
        )
        .join(Response, Response.id == FollowUp.response_id)
        .join(Survey, Survey.id == Response.survey_id)
        .join(Contact, Contact.id == Survey.contact_id)
        .outerjoin(Account, Account.id == Contact.account_id)
        .where(
            FollowUp.due_at < now,
            FollowUp.first_contact_at.is_(None),
            FollowUp.status.in_((FollowUpStatus.PENDING, FollowUpStatus.OPEN)),
        )
        .order_by(FollowUp.due_at, FollowUp.id)
    ).all()
    return [
        Overdue(account, programs.get(program, program), owner, due, level)
        for account, program, owner, due, level in rows
    ]

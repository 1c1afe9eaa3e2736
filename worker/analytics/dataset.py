"""Read what the outer loop needs from the store in a few set-based queries.

Answers are loaded once (human answers only: provisional scanner clicks are left out), with
the segment values of their contact and account resolved, so every later step is one pass
over plain rows in memory. Names of contacts are kept apart, only to scrub quoted comments.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from worker.analytics.bands import number_band, tenure_band
from worker.analytics.values import NOT_SET
from worker.config import Config
from worker.domain import Category
from worker.rules.values import as_datetime
from worker.store.models import (
    Account,
    BacklogItem,
    BacklogStatus,
    Contact,
    FollowUp,
    FollowUpStatus,
    Response,
    Survey,
)

__all__ = ["NOT_SET", "Answer", "Dataset", "Window", "load"]


@dataclass(frozen=True, slots=True)
class Window:
    """The reporting period: answers received in [since, until); `since` None means all time."""

    since: datetime | None
    until: datetime

    def __contains__(self, moment: datetime) -> bool:
        return (self.since is None or moment >= self.since) and moment < self.until


@dataclass(frozen=True, slots=True)
class Answer:
    """One human answer with everything it is sliced by."""

    response_id: int
    contact_id: int
    account: str | None
    account_crm_id: str | None
    program: str
    touchpoint: str
    channel: str
    language: str
    score: int
    category: Category
    tags: tuple[str, ...]
    comment: str | None
    received_at: datetime
    segments: Mapping[str, str]
    polarity: Mapping[str, str] = field(default_factory=dict)
    """Tag -> "praise" or "complaint"; a tag missing here has no known polarity."""

    @property
    def month(self) -> str:
        """The UTC calendar month the answer arrived in, as YYYY-MM."""
        return f"{self.received_at.year:04d}-{self.received_at.month:02d}"

    @property
    def week(self) -> str:
        """The ISO week (Monday to Sunday, UTC) the answer arrived in, as YYYY-Www."""
        year, week, _ = self.received_at.isocalendar()
        return f"{year:04d}-W{week:02d}"


@dataclass(frozen=True, slots=True)
class SentCount:
    """Surveys sent in the window for one (program, channel), and how many got a human answer."""

    program: str
    channel: str
    sent: int
    answered: int


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    """A loop-closing task opened in the window, with the answer time it responds to."""

    program: str
    status: FollowUpStatus
    answered_at: datetime
    due_at: datetime
    first_contact_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ItemRow:
    """An improvement backlog item as the action-completion KPI counts it."""

    status: BacklogStatus
    created_at: datetime
    done_on: date | None


@dataclass(frozen=True, slots=True)
class Dataset:
    """Everything a report is computed from.

    `answers` runs up to the window's end from the beginning of history, oldest first, so
    re-surveys in the window can be paired with earlier answers; `in_window` is the subset
    the period's figures use.
    """

    window: Window
    answers: tuple[Answer, ...]
    sent: tuple[SentCount, ...]
    followups: tuple[FollowUpRow, ...]
    names: Mapping[int, tuple[str, ...]]
    items: tuple[ItemRow, ...] = ()

    @property
    def in_window(self) -> tuple[Answer, ...]:
        """The answers received inside the reporting period."""
        return tuple(answer for answer in self.answers if answer.received_at in self.window)


def load(session: Session, config: Config, window: Window) -> Dataset:
    """Read answers, send counts, follow-ups and backlog items for `window` in six queries."""
    answered = (
        select(Survey.contact_id)
        .join(Response, Response.survey_id == Survey.id)
        .where(Response.provisional.is_(False), Response.received_at < window.until)
    )
    contacts = _contacts(session, config, answered)
    touchpoints = {name: program.touchpoint for name, program in config.programs.items()}
    query = (
        select(
            Response.id,
            Survey.contact_id,
            Survey.program,
            Survey.channel,
            Survey.language,
            Response.score,
            Response.category,
            Response.reason_tags,
            Response.reason_polarity,
            Response.comment,
            Response.received_at,
        )
        .join(Survey, Survey.id == Response.survey_id)
        .where(Response.provisional.is_(False), Response.received_at < window.until)
        .order_by(Response.received_at, Response.id)
    )
    tenure = config.segments.tenure_months
    answers = []
    for row in session.execute(query):
        known = contacts.get(row.contact_id)
        segments = dict(known.segments) if known else {}
        if tenure:
            since = known.customer_since if known else None
            segments["tenure"] = tenure_band(since, row.received_at, tenure)
        answers.append(
            Answer(
                response_id=row.id,
                contact_id=row.contact_id,
                account=known.account if known else None,
                account_crm_id=known.account_crm_id if known else None,
                program=row.program,
                touchpoint=touchpoints.get(row.program, row.program),
                channel=str(row.channel),
                language=row.language,
                score=row.score,
                category=Category(row.category),
                tags=tuple(dict.fromkeys(row.reason_tags or ())),
                comment=row.comment,
                received_at=row.received_at,
                segments=segments,
                polarity=dict(row.reason_polarity or {}),
            )
        )
    return Dataset(
        window=window,
        answers=tuple(answers),
        sent=_sent(session, window),
        followups=_followups(session, window),
        names={contact_id: known.names for contact_id, known in contacts.items()},
        items=_items(session, window),
    )


@dataclass(frozen=True, slots=True)
class _Known:
    """What an answer takes from its contact and the contact's account."""

    account: str | None
    account_crm_id: str | None
    segments: dict[str, str]
    names: tuple[str, ...]
    customer_since: datetime | None


def _contacts(session: Session, config: Config, answered: Select[Any]) -> dict[int, _Known]:
    """Account, segment values (banded where configured) and names of every contact who
    answered."""
    account_ids = select(Contact.account_id).where(Contact.id.in_(answered))
    accounts = {
        row.id: (row.name or row.crm_id, row.crm_id, _segments(row.fields), row.fields or {})
        for row in session.execute(
            select(Account.id, Account.crm_id, Account.name, Account.fields).where(
                Account.id.in_(account_ids)
            )
        )
    }
    segments = config.segments
    sources = [(name, *source.split(".", 1)) for name, source in segments.fields.items()]
    found: dict[int, _Known] = {}
    query = select(
        Contact.id, Contact.account_id, Contact.fields, Contact.first_name, Contact.last_name
    ).where(Contact.id.in_(answered))
    for row in session.execute(query):
        name, crm_id, account_segments, account_fields = accounts.get(
            row.account_id, (None, None, {}, {})
        )
        own = {"account": account_segments, "contact": _segments(row.fields)}
        values = {}
        for segment, record, source_field in sources:
            raw = own[record].get(segment, own[record].get(source_field))
            edges = segments.bands.get(segment)
            values[segment] = number_band(raw, edges) if edges else _label(raw)
        names = tuple(n for n in (row.first_name, row.last_name) if n and n.strip())
        since = as_datetime(account_fields.get("customer_since"))
        found[row.id] = _Known(name, crm_id, values, names, since)
    return found


def _segments(fields: Mapping[str, Any] | None) -> dict[str, Any]:
    """The mirrored segment values of a record.

    Salesforce mirrors key them by segment name, HubSpot mirrors by property name; the caller
    looks up both.
    """
    value = (fields or {}).get("segments")
    return dict(value) if isinstance(value, Mapping) else {}


def _label(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return NOT_SET
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _sent(session: Session, window: Window) -> tuple[SentCount, ...]:
    """Surveys sent in the window and those answered by a human, by program and channel."""
    human = and_(Response.survey_id == Survey.id, Response.provisional.is_(False))
    query = (
        select(Survey.program, Survey.channel, func.count(Survey.id), func.count(Response.id))
        .outerjoin(Response, human)
        .where(Survey.sent_at.is_not(None), Survey.sent_at < window.until)
        .group_by(Survey.program, Survey.channel)
        .order_by(Survey.program, Survey.channel)
    )
    if window.since is not None:
        query = query.where(Survey.sent_at >= window.since)
    return tuple(
        SentCount(program, str(channel), sent, answered)
        for program, channel, sent, answered in session.execute(query)
    )


def _followups(session: Session, window: Window) -> tuple[FollowUpRow, ...]:
    """Follow-ups opened in the window, cancelled ones left out."""
    query = (
        select(
            Survey.program,
            FollowUp.status,
            Response.received_at,
            FollowUp.due_at,
            FollowUp.first_contact_at,
            FollowUp.closed_at,
        )
        .join(Response, Response.id == FollowUp.response_id)
        .join(Survey, Survey.id == Response.survey_id)
        .where(FollowUp.status != FollowUpStatus.CANCELLED, FollowUp.created_at < window.until)
    )
    if window.since is not None:
        query = query.where(FollowUp.created_at >= window.since)
    return tuple(FollowUpRow(*row) for row in session.execute(query))


def _items(session: Session, window: Window) -> tuple[ItemRow, ...]:
    """Backlog items created before the window's end, dropped ones left out."""
    query = select(BacklogItem.status, BacklogItem.created_at, BacklogItem.done_on).where(
        BacklogItem.created_at < window.until, BacklogItem.status != BacklogStatus.DROPPED
    )
    return tuple(ItemRow(*row) for row in session.execute(query))

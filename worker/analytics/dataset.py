"""Read what the outer loop needs from the store in a few set-based queries.

Answers are loaded once (human answers only: provisional scanner clicks are left out), with
the segment values of their contact and account resolved, so every later step is one pass
over plain rows in memory. Names of contacts are kept apart, only to scrub quoted comments.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.domain import Category
from worker.store.models import Account, Contact, FollowUp, FollowUpStatus, Response, Survey

NOT_SET = "(not set)"
"""The slice value of an answer whose contact or account has no value for a segment field."""


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

    @property
    def in_window(self) -> tuple[Answer, ...]:
        """The answers received inside the reporting period."""
        return tuple(answer for answer in self.answers if answer.received_at in self.window)


def load(session: Session, config: Config, window: Window) -> Dataset:
    """Read answers, send counts and follow-ups for `window` in five queries."""
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
    answers = []
    for row in session.execute(query):
        account, segments, _ = contacts.get(row.contact_id, (None, {}, ()))
        answers.append(
            Answer(
                response_id=row.id,
                contact_id=row.contact_id,
                account=account,
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
        names={contact_id: names for contact_id, (_, _, names) in contacts.items()},
    )


def _contacts(
    session: Session, config: Config, answered: Select[Any]
) -> dict[int, tuple[str | None, dict[str, str], tuple[str, ...]]]:
    """Account name, segment values and personal names of every contact who answered."""
    account_ids = select(Contact.account_id).where(Contact.id.in_(answered))
    accounts = {
        row.id: (row.name or row.crm_id, _segments(row.fields))
        for row in session.execute(
            select(Account.id, Account.crm_id, Account.name, Account.fields).where(
                Account.id.in_(account_ids)
            )
        )
    }
    sources = [(name, *source.split(".", 1)) for name, source in config.segments.fields.items()]
    found: dict[int, tuple[str | None, dict[str, str], tuple[str, ...]]] = {}
    query = select(
        Contact.id, Contact.account_id, Contact.fields, Contact.first_name, Contact.last_name
    ).where(Contact.id.in_(answered))
    for row in session.execute(query):
        account_name, account_segments = accounts.get(row.account_id, (None, {}))
        own = {"account": account_segments, "contact": _segments(row.fields)}
        segments = {
            name: _label(own[record].get(name, own[record].get(field)))
            for name, record, field in sources
        }
        names = tuple(name for name in (row.first_name, row.last_name) if name and name.strip())
        found[row.id] = (account_name, segments, names)
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

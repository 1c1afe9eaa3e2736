"""One account's review pack (`report --account ID`): what a CSM brings to a quarterly review.

The account's NPS over time with intervals, every contact's answers (comments scrubbed of
phone numbers and addresses, as in the report), the themes they cite, and each follow-up with
its outcome: whether the customer was reached, the task closed, and what they answered next.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from worker.analytics import labels
from worker.analytics.dataset import Answer, Window, load
from worker.analytics.i18n import Language
from worker.analytics.nps import Estimate, Tally, estimate
from worker.analytics.polarity import Polarity, polarity
from worker.analytics.quotes import quotable
from worker.analytics.slices import Counts, Slice, TrendPoint, trend
from worker.config import Config
from worker.domain import Category
from worker.store.models import Account, Contact, FollowUp, FollowUpStatus, Response, Survey


class AccountNotFound(LookupError):
    """No account, or several, answer to the id or name given; the message says which."""


@dataclass(frozen=True, slots=True)
class AnswerLine:
    """One answer of one contact."""

    received_at: dt.datetime
    program: str
    score: int
    category: Category
    tags: tuple[str, ...]
    comment: str | None


@dataclass(frozen=True, slots=True)
class ContactAnswers:
    """A contact and their answers, newest first."""

    name: str
    answers: tuple[AnswerLine, ...]


@dataclass(frozen=True, slots=True)
class ThemeCount:
    """How often the account cites a theme, and in what spirit."""

    tag: str
    label: str
    mentions: int
    complaints: int
    praise: int


@dataclass(frozen=True, slots=True)
class FollowUpLine:
    """A follow-up task on one of the account's answers, and how it ended."""

    contact: str
    answered_at: dt.datetime
    score: int
    status: FollowUpStatus
    owner: str | None
    due_at: dt.datetime
    first_contact_at: dt.datetime | None
    closed_at: dt.datetime | None
    escalation_level: int
    next_score: int | None
    """The contact's next answer after this one, if any: did they recover?"""


@dataclass(frozen=True, slots=True)
class AccountPack:
    """Everything the account's review pack shows."""

    language: Language
    generated_at: dt.datetime
    name: str
    crm: str
    crm_id: str
    overall: Tally
    estimate: Estimate | None
    quarters: tuple[TrendPoint, ...]
    contacts: tuple[ContactAnswers, ...]
    themes: tuple[ThemeCount, ...]
    followups: tuple[FollowUpLine, ...]
    programs: dict[str, str]


def find_account(session: Session, wanted: str) -> Account:
    """The account whose CRM id is `wanted`, else the one whose name is (case-insensitive)."""
    found = session.scalars(select(Account).where(Account.crm_id == wanted)).all()
    if not found:
        found = session.scalars(
            select(Account).where(func.lower(Account.name) == wanted.strip().lower())
        ).all()
    if not found:
        raise AccountNotFound(f"no account with CRM id or name '{wanted}'")
    if len(found) > 1:
        ids = ", ".join(f"{a.crm}:{a.crm_id}" for a in found)
        raise AccountNotFound(f"'{wanted}' names {len(found)} accounts ({ids}); give a CRM id")
    return found[0]


def quarter(moment: dt.datetime) -> str:
    """`2026-Q1`."""
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def build_pack(
    session: Session,
    config: Config,
    wanted: str,
    window: Window,
    *,
    now: dt.datetime,
    language: Language,
) -> AccountPack:
    """The pack of the account `wanted` names, over `window`."""
    account = find_account(session, wanted)
    answers = [
        a for a in load(session, config, window).in_window if a.account_crm_id == account.crm_id
    ]
    by_quarter: Counts[str] = Counts()
    for answer in answers:
        by_quarter.add(quarter(answer.received_at), answer.category)
    quarters = sorted(by_quarter)
    slices = [
        Slice("quarter", q, by_quarter.tally(q), estimate(by_quarter.tally(q))) for q in quarters
    ]
    total = sum((s.tally for s in slices), Tally())
    names = _contact_names(session, account)
    programs = labels.programs(config, language)
    return AccountPack(
        language=language,
        generated_at=now,
        name=account.name or account.crm_id,
        crm=account.crm.value,
        crm_id=account.crm_id,
        overall=total,
        estimate=estimate(total),
        quarters=trend(slices),
        contacts=_by_contact(answers, names),
        themes=_themes(answers, config, language),
        followups=_followups(session, account, names, answers),
        programs=programs,
    )


def _contact_names(session: Session, account: Account) -> dict[int, str]:
    rows = session.execute(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.crm_id).where(
            or_(Contact.account_id == account.id, Contact.account_crm_id == account.crm_id)
        )
    ).all()
    return {
        row.id: " ".join(p for p in (row.first_name, row.last_name) if p) or row.crm_id
        for row in rows
    }


def _by_contact(answers: Sequence[Answer], names: dict[int, str]) -> tuple[ContactAnswers, ...]:
    grouped: dict[int, list[AnswerLine]] = defaultdict(list)
    for answer in answers:
        grouped[answer.contact_id].append(
            AnswerLine(
                answer.received_at,
                answer.program,
                answer.score,
                answer.category,
                answer.tags,
                quotable(answer.comment) if answer.comment and answer.comment.strip() else None,
            )
        )
    return tuple(
        ContactAnswers(names.get(contact, str(contact)), tuple(reversed(lines)))
        for contact, lines in sorted(grouped.items(), key=lambda item: -len(item[1]))
    )


def _themes(
    answers: Sequence[Answer], config: Config, language: Language
) -> tuple[ThemeCount, ...]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for answer in answers:
        for tag in answer.tags:
            said = polarity(answer.category, answer.polarity.get(tag))
            counts[tag][0] += 1
            counts[tag][1] += said is Polarity.COMPLAINT
            counts[tag][2] += said is Polarity.PRAISE
    names = labels.tags(config, language)
    return tuple(
        ThemeCount(tag, names.get(tag, tag), n, complaints, praise)
        for tag, (n, complaints, praise) in sorted(counts.items(), key=lambda i: (-i[1][0], i[0]))
    )


def _followups(
    session: Session, account: Account, names: dict[int, str], answers: Sequence[Answer]
) -> tuple[FollowUpLine, ...]:
    rows = session.execute(
        select(FollowUp, Response.received_at, Response.score, Survey.contact_id)
        .join(Response, Response.id == FollowUp.response_id)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Survey.contact_id.in_(list(names)))
        .order_by(Response.received_at.desc())
    ).all()
    later: dict[int, list[Answer]] = defaultdict(list)
    for answer in answers:
        later[answer.contact_id].append(answer)
    lines = []
    for followup, answered_at, score, contact_id in rows:
        following = [a for a in later[contact_id] if a.received_at > answered_at]
        lines.append(
            FollowUpLine(
                contact=names.get(contact_id, str(contact_id)),
                answered_at=answered_at,
                score=score,
                status=followup.status,
                owner=followup.owner_crm_id,
                due_at=followup.due_at,
                first_contact_at=followup.first_contact_at,
                closed_at=followup.closed_at,
                escalation_level=followup.escalation_level,
                next_score=following[0].score if following else None,
            )
        )
    return tuple(lines)

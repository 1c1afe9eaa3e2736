"""Write-back onto the contact: the latest answer and where its follow-up stands.

The values come from the store each time (never from the event that caused the write), so
whatever order answers, task updates and escalations arrive in, the CRM ends with the latest.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.domain import Category, ContactWriteback, FollowupStage
from worker.loop.followups import followup_stage
from worker.store.models import Contact, FollowUp, Response, Survey
from worker.sync.link import CrmLink
from worker.sync.outbox import enqueue_update

STAGES_PER_TRANSACTION = 200
"""Contacts re-written per transaction: one transaction each cost more than the work in it."""


def write_stages(
    sessions: sessionmaker[Session], link: CrmLink, contact_ids: Iterable[int], now: dt.datetime
) -> None:
    """Re-write the contacts whose follow-up moved (read back, overdue, escalated)."""
    ordered = sorted(set(contact_ids))
    for start in range(0, len(ordered), STAGES_PER_TRANSACTION):
        chunk = ordered[start : start + STAGES_PER_TRANSACTION]
        with sessions.begin() as session:
            contacts = session.scalars(select(Contact).where(Contact.id.in_(chunk)))
            answers = _latest_answers(session, chunk)
            for contact in sorted(contacts, key=lambda row: row.id):
                _write(session, link, contact, answers.get(contact.id), now)


class Latest(NamedTuple):
    """A contact's latest answer, its follow-up, and how many answers the contact gave."""

    response: Response
    followup: FollowUp | None
    answers: int


def _latest_answers(session: Session, contact_ids: Sequence[int]) -> dict[int, Latest]:
    """Each contact's latest answer, its follow-up and its answer count, for many contacts in
    one query."""
    rows = session.execute(
        select(Survey.contact_id, Response, FollowUp)
        .join(Survey, Survey.id == Response.survey_id)
        .outerjoin(FollowUp, FollowUp.response_id == Response.id)
        .where(Survey.contact_id.in_(contact_ids), Response.provisional.is_(False))
        .order_by(Survey.contact_id, Response.received_at.desc(), Response.id.desc())
    )
    latest: dict[int, Latest] = {}
    seen: dict[int, set[int]] = {}
    for contact_id, response, followup in rows:
        latest.setdefault(contact_id, Latest(response, followup, 0))
        seen.setdefault(contact_id, set()).add(response.id)
    return {
        contact_id: first._replace(answers=len(seen[contact_id]))
        for contact_id, first in latest.items()
    }


def write_contact(session: Session, link: CrmLink, contact: Contact, now: dt.datetime) -> None:
    """Write the contact's latest answer and its follow-up stage, unless the CRM has them."""
    _write(session, link, contact, _latest_answers(session, [contact.id]).get(contact.id), now)


def _write(
    session: Session,
    link: CrmLink,
    contact: Contact,
    latest: Latest | None,
    now: dt.datetime,
) -> None:
    if latest is None:
        return
    response, followup, answered = latest
    values = ContactWriteback(
        last_score=response.score,
        last_category=Category.of_score(response.score),
        last_comment=response.comment or "",
        reason_tags=tuple(response.reason_tags),
        praise_tags=_with_polarity(response, "praise"),
        complaint_tags=_with_polarity(response, "complaint"),
        last_response_at=response.received_at,
        followup_status=followup_stage(followup, now).value
        if followup
        else FollowupStage.NONE.value,
        survey_count=answered,
    )
    update = link.contact_update(
        contact.crm_id,
        values,
        (contact.fields or {}).get("crm_values", {}),
        f"contact:{contact.id}:{now.isoformat()}",
    )
    if update is not None:
        enqueue_update(session, link.name, update, essential=True, now=now)


def _with_polarity(response: Response, polarity: str) -> tuple[str, ...] | None:
    """The answer's tags presented with `polarity`; None (not written) for an answer handled
    before polarity was kept, so the CRM keeps what it has rather than an empty list."""
    known = response.reason_polarity or {}
    if response.reason_tags and not known:
        return None
    return tuple(tag for tag in response.reason_tags if known.get(tag) == polarity)

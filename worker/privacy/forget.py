"""Erasure on request (`nps-worker forget <email>`): the person's data goes, the statistics stay.

What the worker holds about the person is erased or cut loose: the mirror rows' address, names
and fields; answer comments; the payloads of CRM writes that name them (pending ones are
cancelled); event payloads; and every survey link (token ids are replaced, so no link resolves).
A suppression keyed by the address's hash keeps them from ever being surveyed again, and the
audit log records the erasure under that hash. Scores, categories and tags remain, unattributed
to any address. The CRM's own copy is the CRM's to erase: the next pull mirrors what it still
holds, and the suppression still applies.
"""

import re
import secrets
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from worker.privacy.audit import audit, email_subject
from worker.privacy.bulk import count_updated, not_empty
from worker.store.models import (
    Contact,
    CrmEvent,
    FollowUp,
    OutboxEntry,
    OutboxState,
    Response,
    Suppression,
    SuppressionReason,
    Survey,
    SurveyState,
)

log = structlog.get_logger(__name__)

CANCELLED = "cancelled: the person asked to be forgotten"
"""`last_error` of a pending CRM write dropped by an erasure."""

_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")
_OPEN = (SurveyState.PLANNED, SurveyState.SCHEDULED, SurveyState.SENT, SurveyState.REMINDED)
_UNSENT = (OutboxState.PENDING, OutboxState.IN_FLIGHT)


class InvalidAddress(ValueError):
    """What was given to forget is not an e-mail address."""

    def __init__(self) -> None:
        super().__init__("not an e-mail address (expected name@domain)")


@dataclass(frozen=True)
class Erasure:
    """What one erasure changed; `subject` is the audit subject (the address's hash)."""

    subject: str
    contacts: int
    surveys_revoked: int
    comments: int
    writes_cancelled: int
    writes_emptied: int
    event_payloads: int
    newly_suppressed: bool

    def __str__(self) -> str:
        suppressed = "suppressed" if self.newly_suppressed else "already suppressed"
        return (
            f"forgotten {self.subject}: {self.contacts} contact(s), {self.comments} comment(s),"
            f" {self.surveys_revoked} survey link(s) revoked, {self.writes_cancelled} pending"
            f" CRM write(s) cancelled, {self.writes_emptied} stored write(s) and"
            f" {self.event_payloads} event payload(s) emptied; address {suppressed}"
        )


def forget(
    session: Session,
    email: str,
    *,
    actor: str,
    contact_objects: Collection[str],
    now: datetime,
) -> Erasure:
    """Erase the person with `email`; the caller commits. Running it twice is harmless.

    `contact_objects` names the CRM contact object(s) (`Contact`, `contacts`), so queued writes
    to the person's CRM record are found among writes to other objects with the same id.
    """
    address = email.strip().lower()
    if not _ADDRESS.fullmatch(address):
        raise InvalidAddress
    contacts = list(session.scalars(select(Contact).where(Contact.email == address)))
    contact_ids = [contact.id for contact in contacts]
    surveys = list(session.scalars(select(Survey).where(Survey.contact_id.in_(contact_ids))))
    revoked = _revoke(surveys)
    comments, followup_ids = _erase_comments(session, [survey.id for survey in surveys])
    cancelled, emptied = _erase_writes(session, contacts, contact_objects, followup_ids)
    events = _empty_events(session, contact_ids)
    for contact in contacts:
        _anonymise(contact)
    newly = _suppress(session, address, now)
    erasure = Erasure(
        subject=email_subject(address),
        contacts=len(contacts),
        surveys_revoked=revoked,
        comments=comments,
        writes_cancelled=cancelled,
        writes_emptied=emptied,
        event_payloads=events,
        newly_suppressed=newly,
    )
    details = {key: value for key, value in asdict(erasure).items() if key != "subject"}
    audit(session, actor, "forget", erasure.subject, details=details, now=now)
    log.info("person_forgotten", **asdict(erasure))
    return erasure


def _revoke(surveys: list[Survey]) -> int:
    """Give every survey a fresh random token id, so no link already sent resolves."""
    for survey in surveys:
        survey.token_id = secrets.token_urlsafe(16)
        if survey.state in _OPEN:
            survey.state = SurveyState.SUPPRESSED
            survey.state_reason = "forgotten"
    return len(surveys)


def _erase_comments(session: Session, survey_ids: list[int]) -> tuple[int, list[int]]:
    responses = list(session.scalars(select(Response).where(Response.survey_id.in_(survey_ids))))
    erased = 0
    for response in responses:
        if response.comment is not None:
            response.comment = None
            erased += 1
    response_ids = [response.id for response in responses]
    followups = session.scalars(select(FollowUp.id).where(FollowUp.response_id.in_(response_ids)))
    return erased, list(followups)


def _erase_writes(
    session: Session,
    contacts: list[Contact],
    contact_objects: Collection[str],
    followup_ids: list[int],
) -> tuple[int, int]:
    """Cancel unsent writes about the person and empty every stored one; (cancelled, emptied)."""
    on_record = [
        (OutboxEntry.crm == contact.crm) & (OutboxEntry.record_crm_id == contact.crm_id)
        for contact in contacts
    ]
    about_person = or_(
        OutboxEntry.followup_id.in_(followup_ids),
        OutboxEntry.object.in_(contact_objects) & or_(False, *on_record),
    )
    entries = list(session.scalars(select(OutboxEntry).where(about_person)))
    cancelled = emptied = 0
    for entry in entries:
        if entry.state in _UNSENT:
            entry.state = OutboxState.FAILED
            entry.last_error = CANCELLED
            cancelled += 1
        if entry.fields:
            entry.fields = {}
            emptied += 1
    return cancelled, emptied


def _empty_events(session: Session, contact_ids: list[int]) -> int:
    statement = (
        update(CrmEvent)
        .where(CrmEvent.contact_id.in_(contact_ids), not_empty(CrmEvent.payload))
        .values(payload={})
    )
    return count_updated(session, statement)


def _anonymise(contact: Contact) -> None:
    contact.email = None
    contact.first_name = None
    contact.last_name = None
    contact.time_zone = None
    contact.fields = {}
    contact.opted_out = True


def _suppress(session: Session, address: str, now: datetime) -> bool:
    """Suppress the address's hash for good; True when it was not suppressed before."""
    key = Suppression.hash_email(address)
    existing = session.scalar(select(Suppression).where(Suppression.email_hash == key))
    if existing is not None:
        existing.reason = SuppressionReason.FORGOTTEN
        return False
    session.add(
        Suppression(
            email_hash=key, reason=SuppressionReason.FORGOTTEN, source="forget", created_at=now
        )
    )
    return True

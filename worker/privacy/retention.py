"""Retention: erase personal data past its configured age, keeping what statistics need.

Scores, categories, reason tags and dates stay, so NPS trends survive; comments, names,
addresses and the copies of them in sent CRM writes and old event payloads go. The scheduler
calls `apply_retention` daily; it works inside the caller's transaction and is idempotent.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from worker.config.privacy import RetentionConfig
from worker.privacy.audit import audit
from worker.privacy.bulk import count_updated, not_empty
from worker.store.models import Contact, CrmEvent, OutboxEntry, OutboxState, Response

log = structlog.get_logger(__name__)

ACTOR = "retention"
"""The audit actor of erasures done by the retention schedule."""

_FINISHED = (OutboxState.DONE, OutboxState.FAILED)


@dataclass(frozen=True)
class RetentionCounts:
    """Rows erased by one retention run, by kind."""

    comments: int = 0
    sent_writes: int = 0
    contacts: int = 0
    event_payloads: int = 0

    @property
    def total(self) -> int:
        """All rows changed."""
        return self.comments + self.sent_writes + self.contacts + self.event_payloads


def apply_retention(session: Session, retention: RetentionConfig, now: datetime) -> RetentionCounts:
    """Erase what `retention` says is too old at `now`; the caller commits.

    A run with nothing to erase changes nothing, so running it twice a day is harmless.
    """
    counts = RetentionCounts(
        comments=_erase_comments(session, _cutoff(now, retention.comments)),
        sent_writes=_empty_sent_writes(session, _cutoff(now, retention.comments)),
        contacts=_anonymise_deleted_contacts(session, _cutoff(now, retention.personal_fields)),
        event_payloads=_empty_event_payloads(session, _cutoff(now, retention.personal_fields)),
    )
    if counts.total:
        audit(session, ACTOR, "retention", "retention", details=asdict(counts), now=now)
    log.info("retention_applied", **asdict(counts))
    return counts


def _cutoff(now: datetime, age: timedelta | None) -> datetime | None:
    return None if age is None else now - age


def _erase_comments(session: Session, before: datetime | None) -> int:
    if before is None:
        return 0
    statement = (
        update(Response)
        .where(Response.received_at < before, Response.comment.is_not(None))
        .values(comment=None)
    )
    return count_updated(session, statement)


def _empty_sent_writes(session: Session, before: datetime | None) -> int:
    """Writes already made (or given up) carry comments and names in task bodies and fields."""
    if before is None:
        return 0
    statement = (
        update(OutboxEntry)
        .where(
            OutboxEntry.state.in_(_FINISHED),
            OutboxEntry.created_at < before,
            not_empty(OutboxEntry.fields),
        )
        .values(fields={})
    )
    return count_updated(session, statement)


def _anonymise_deleted_contacts(session: Session, before: datetime | None) -> int:
    """Contacts gone from the CRM that long ago; live ones are the CRM's to keep or erase."""
    if before is None:
        return 0
    statement = (
        update(Contact)
        .where(
            Contact.deleted.is_(True),
            Contact.synced_at < before,
            or_(
                Contact.email.is_not(None),
                Contact.first_name.is_not(None),
                Contact.last_name.is_not(None),
                Contact.time_zone.is_not(None),
                not_empty(Contact.fields),
            ),
        )
        .values(email=None, first_name=None, last_name=None, time_zone=None, fields={})
    )
    return count_updated(session, statement)


def _empty_event_payloads(session: Session, before: datetime | None) -> int:
    if before is None:
        return 0
    statement = (
        update(CrmEvent)
        .where(CrmEvent.created_at < before, not_empty(CrmEvent.payload))
        .values(payload={})
    )
    return count_updated(session, statement)

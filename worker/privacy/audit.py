"""The audit log of access to personal data: who did what to whose data, and when.

A subject names a person by a pseudonym (a hash or a CRM record id), never by the data itself,
so the log can be kept and shown without becoming a copy of what it protects.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from worker.store.models import AuditEntry, Suppression

EMAIL_SUBJECT_PREFIX = "email-sha256:"
"""Subjects naming a person by the hash of their address, as suppressions store it."""


class PersonalDataInAudit(ValueError):
    """An audit subject or detail holds an e-mail address, which the log must never store."""

    def __init__(self, where: str) -> None:
        super().__init__(f"audit {where} looks like an e-mail address; pass a pseudonym")


def email_subject(email: str) -> str:
    """The audit subject for the person with `email`: the same hash their suppression uses."""
    return EMAIL_SUBJECT_PREFIX + Suppression.hash_email(email)


def contact_subject(crm: str, crm_id: str) -> str:
    """The audit subject for a mirrored contact, by CRM record id."""
    return f"contact:{crm}:{crm_id}"


def audit(
    session: Session,
    actor: str,
    action: str,
    subject: str,
    *,
    details: Mapping[str, Any],
    now: datetime,
) -> AuditEntry:
    """Record that `actor` did `action` to `subject`'s personal data, in the caller's transaction.

    `actor` is who asked (a command and user, `web`, `scheduler`); `details` says what was
    touched (counts, fields, the command's options) and must not hold the data itself.
    """
    if "@" in subject:
        raise PersonalDataInAudit("subject")
    if any(isinstance(value, str) and "@" in value for value in details.values()):
        raise PersonalDataInAudit("details")
    entry = AuditEntry(at=now, actor=actor, action=action, subject=subject, details=dict(details))
    session.add(entry)
    session.flush()
    return entry

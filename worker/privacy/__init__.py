"""Privacy controls: retention of personal data, erasure on request, and the audit log."""

from worker.privacy.audit import audit, contact_subject, email_subject
from worker.privacy.forget import Erasure, InvalidAddress, forget
from worker.privacy.retention import RetentionCounts, apply_retention

__all__ = [
    "Erasure",
    "InvalidAddress",
    "RetentionCounts",
    "apply_retention",
    "audit",
    "contact_subject",
    "email_subject",
    "forget",
]

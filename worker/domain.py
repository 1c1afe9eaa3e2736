"""Plain value types the whole worker speaks, free of any CRM's field names."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

PROMOTER_MIN = 9
PASSIVE_MIN = 7


class Category(StrEnum):
    """NPS category of a 0-10 answer."""

    DETRACTOR = "detractor"
    PASSIVE = "passive"
    PROMOTER = "promoter"

    @classmethod
    def of_score(cls, score: int) -> "Category":
        """9-10 promote, 7-8 are passive, 0-6 detract (the standard NPS bands)."""
        if not 0 <= score <= 10:
            raise ValueError(f"NPS score must be 0-10, got {score}")
        if score >= PROMOTER_MIN:
            return cls.PROMOTER
        if score >= PASSIVE_MIN:
            return cls.PASSIVE
        return cls.DETRACTOR


class FollowupStage(StrEnum):
    """Where the follow-up on a contact's latest answer stands, as reps see it in the CRM.

    new (task queued) -> assigned (task in the CRM) -> contacted (rep started) -> closed;
    overdue when the SLA passed before first contact; none when the answer needs no task.
    """

    NONE = "none"
    NEW = "new"
    ASSIGNED = "assigned"
    CONTACTED = "contacted"
    CLOSED = "closed"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Account:
    """A customer account (Salesforce Account, HubSpot company) as mirrored locally.

    `crm_values` holds the current CRM values of the fields the worker writes back, so a
    write-back equal to them is skipped (promise 6) and our own writes are recognised.
    """

    crm: str
    crm_id: str
    name: str
    owner_id: str | None
    modified_at: datetime
    segments: Mapping[str, Any] = field(default_factory=dict)
    crm_values: Mapping[str, Any] = field(default_factory=dict)
    deleted: bool = False
    customer_since: datetime | None = None


@dataclass(frozen=True)
class Contact:
    """A person who may be surveyed (Salesforce Contact, HubSpot contact); see `Account`."""

    crm: str
    crm_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    account_crm_id: str | None
    owner_id: str | None
    language: str | None
    time_zone: str | None
    opted_out: bool
    modified_at: datetime
    segments: Mapping[str, Any] = field(default_factory=dict)
    crm_values: Mapping[str, Any] = field(default_factory=dict)
    deleted: bool = False


@dataclass(frozen=True)
class TriggerRecord:
    """A record of an object a program triggers on (case, ticket, deal, custom), as pulled.

    `values` holds the mapped trigger fields; rules compare them with the previous state to
    find conditions that became true.
    """

    crm: str
    object: str
    crm_id: str
    modified_at: datetime
    values: Mapping[str, Any]
    contact_crm_id: str | None
    account_crm_id: str | None
    deleted: bool = False


@dataclass(frozen=True)
class ContactWriteback:
    """What the worker writes onto a contact after an answer or a follow-up change.

    A field left as None is not written.
    """

    last_score: int | None = None
    last_category: Category | None = None
    last_comment: str | None = None
    reason_tags: tuple[str, ...] | None = None
    praise_tags: tuple[str, ...] | None = None
    """The reason tags the customer presents positively."""
    complaint_tags: tuple[str, ...] | None = None
    """The reason tags the customer complains of (or asks for)."""
    last_response_at: datetime | None = None
    followup_status: str | None = None
    survey_url: str | None = None
    survey_count: int | None = None
    """How many NPS surveys this contact has answered, over all programs."""


@dataclass(frozen=True)
class AccountRollup:
    """NPS roll-up written onto an account so reps see it where they work."""

    nps_score: float | None
    response_count: int
    promoters: int
    passives: int
    detractors: int
    last_response_at: datetime | None
    nps_trend: float | None = None
    """Account NPS now minus the NPS of the previous window, in points (None: no previous)."""

"""Plain values that cross the CRM boundary: pulled records, writes, tasks, field metadata.

`sync/` moves them over the wire and `mappers/` builds and reads them, so they live below both.
Field values travel under the CRM's own field names; `mappers/` translates them to the domain.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Cursor:
    """Where an incremental pull of one object stands: last modification time and id seen.

    The id breaks ties between records modified in the same instant, so a page boundary
    inside one timestamp loses nothing and repeats nothing.
    """

    modified_at: datetime | None = None
    last_id: str | None = None


@dataclass(frozen=True)
class CrmRecord:
    """One CRM record as pulled: raw field values under the CRM's names, plus associations."""

    object: str
    id: str
    modified_at: datetime
    fields: Mapping[str, Any]
    deleted: bool = False
    associations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """A batch of pulled records and the cursor to commit once they are stored (promise 7)."""

    records: Sequence[CrmRecord]
    cursor: Cursor


class Priority(StrEnum):
    """How a write counts against the API budget: essential writes may use a larger share."""

    ESSENTIAL = "essential"
    NORMAL = "normal"


@dataclass(frozen=True)
class FieldUpdate:
    """Set some fields on one existing record."""

    object: str
    record_id: str
    fields: Mapping[str, Any]
    dedup_key: str


class TaskPriority(StrEnum):
    """Task priority in domain terms; each connector maps it onto the CRM's picklist."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


@dataclass(frozen=True)
class TaskSpec:
    """A follow-up task to open in the CRM, idempotent by `dedup_key`."""

    dedup_key: str
    subject: str
    body: str
    due_at: datetime
    priority: TaskPriority
    owner_id: str | None
    contact_id: str | None
    account_id: str | None
    time_zone: str | None = None
    """The owner's zone: the day a date-only due field (Salesforce `ActivityDate`) shows."""


@dataclass(frozen=True)
class UserProfile:
    """An active CRM user as a task addresses them; None where the CRM does not say."""

    user_id: str
    first_name: str | None = None
    last_name: str | None = None
    language: str | None = None
    """A language code as the worker's templates are keyed (`en`, `ja`)."""
    time_zone: str | None = None
    """An IANA zone name (Salesforce `TimeZoneSidKey` values are IANA names)."""


@dataclass(frozen=True)
class NoteSpec:
    """A timeline note (e.g. one survey response) attached to a contact and its account."""

    dedup_key: str
    body: str
    at: datetime
    contact_id: str | None
    account_id: str | None
    subject: str | None = None
    """The timeline entry's title (e.g. "NPS 3 · Detractor"); None: the connector's default."""


@dataclass(frozen=True)
class RecordError:
    """Why the CRM refused one record, in the CRM's own code."""

    code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one write, matched to its request by `dedup_key`."""

    dedup_key: str
    crm_id: str | None = None
    error: RecordError | None = None
    modified_at: datetime | None = None
    """The record's modification time after the write, when the CRM says (HubSpot does)."""

    @property
    def ok(self) -> bool:
        """True when the CRM accepted the record."""
        return self.error is None


class TaskState(StrEnum):
    """Follow-up task state as the worker needs it, whatever the CRM's picklist says.

    IN_PROGRESS is a rep having started on the task: the follow-up counts as "contacted".
    """

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DELETED = "deleted"


@dataclass(frozen=True)
class TaskStatus:
    """A task's current state in the CRM, read back to close the inner loop."""

    task_id: str
    state: TaskState
    owner_id: str | None
    completed_at: datetime | None
    modified_at: datetime | None
    body: str | None = None
    """The task's description as the rep left it (outcome lines included)."""


class FieldType(StrEnum):
    """CRM field types normalised across vendors, for `check` and for value formatting."""

    STRING = "string"
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    MULTI_ENUM = "multi_enum"
    REFERENCE = "reference"
    URL = "url"
    EMAIL = "email"
    ID = "id"
    OTHER = "other"


@dataclass(frozen=True)
class FieldInfo:
    """What the CRM's metadata says about one field (and what the connected user may do)."""

    name: str
    type: FieldType
    updateable: bool
    options: tuple[str, ...] = ()
    length: int | None = None
    createable: bool = False


@dataclass(frozen=True)
class ApiUsage:
    """API calls used and allowed in the CRM's daily window, as last reported by the CRM."""

    used: int
    limit: int

    @property
    def share(self) -> float:
        """Fraction of the daily allocation spent (0 when the limit is unknown)."""
        return self.used / self.limit if self.limit else 0.0

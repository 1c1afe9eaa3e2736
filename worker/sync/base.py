"""The one small Protocol every CRM client implements, its plain value types, and its errors.

Everything above `sync/` (the cycle, the outbox drainer, `check`) talks to a CRM only through
`CrmClient`; paging, batching, rate limits and retries stay inside each implementation.
Field values travel under the CRM's own field names; `mappers/` translates them to the domain.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


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


@dataclass(frozen=True)
class NoteSpec:
    """A timeline note (e.g. one survey response) attached to a contact and its account."""

    dedup_key: str
    body: str
    at: datetime
    contact_id: str | None
    account_id: str | None


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

    @property
    def ok(self) -> bool:
        """True when the CRM accepted the record."""
        return self.error is None


class TaskState(StrEnum):
    """Follow-up task state as the worker needs it, whatever the CRM's picklist says."""

    OPEN = "open"
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
    """What the CRM's metadata says about one field."""

    name: str
    type: FieldType
    updateable: bool
    options: tuple[str, ...] = ()
    length: int | None = None


@dataclass(frozen=True)
class ApiUsage:
    """API calls used and allowed in the CRM's daily window, as last reported by the CRM."""

    used: int
    limit: int

    @property
    def share(self) -> float:
        """Fraction of the daily allocation spent (0 when the limit is unknown)."""
        return self.used / self.limit if self.limit else 0.0


class CrmClient(Protocol):
    """What the worker needs from a CRM; one implementation per vendor in `sync/`."""

    name: str

    def pull(self, object_name: str, fields: Sequence[str], since: Cursor) -> Iterator[Page]:
        """Records of `object_name` modified after `since`, oldest first, a page at a time."""
        ...

    def pull_deleted(self, object_name: str, since: Cursor) -> Iterator[Page]:
        """Records deleted or archived after `since` (`deleted=True`), oldest first."""
        ...

    def update(
        self, updates: Sequence[FieldUpdate], priority: Priority = Priority.NORMAL
    ) -> list[WriteResult]:
        """Apply field updates in as few batched calls as the CRM allows; one result each."""
        ...

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> list[WriteResult]:
        """Open follow-up tasks, never twice for the same `dedup_key`; one result each."""
        ...

    def create_notes(self, notes: Sequence[NoteSpec]) -> list[WriteResult]:
        """Attach response notes to contacts and accounts; one result each."""
        ...

    def task_statuses(self, task_ids: Sequence[str]) -> list[TaskStatus]:
        """Current state of the given tasks, in batched reads."""
        ...

    def describe(self, object_name: str) -> Mapping[str, FieldInfo]:
        """The CRM's field metadata for one object, by field name."""
        ...

    def usage(self) -> ApiUsage | None:
        """API usage as last reported by the CRM, or None before the first call."""
        ...


class CrmError(Exception):
    """A CRM call failed; carries the CRM's own error code."""

    def __init__(self, crm: str, code: str, message: str) -> None:
        super().__init__(f"{crm}: {code}: {message}")
        self.crm = crm
        self.code = code
        self.message = message


class RateLimited(CrmError):
    """The CRM asked us to slow down; retry after `retry_after` seconds."""

    def __init__(self, crm: str, code: str, message: str, retry_after: float | None) -> None:
        super().__init__(crm, code, message)
        self.retry_after = retry_after


class BudgetExhausted(CrmError):
    """The daily API allocation, or our configured share of it, is spent: stop until reset."""


class AuthFailed(CrmError):
    """Credentials were refused; no retry will help until an admin fixes them."""


class NotFound(CrmError):
    """The record or object does not exist (or is not visible to the integration user)."""


class Rejected(CrmError):
    """The CRM refused the request's content (validation); retrying the same body is futile."""


class Unavailable(CrmError):
    """The CRM did not answer usefully (5xx, timeout, connection reset) after our retries."""

"""The one small Protocol every CRM client implements, and its errors.

Everything above `sync/` (the cycle, the outbox drainer, `check`) talks to a CRM only through
`CrmClient`; paging, batching, rate limits and retries stay inside each implementation. The
plain values it speaks live in `worker.crm_types` and are re-exported here for its callers.
"""

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Protocol, runtime_checkable

from worker.crm_types import (
    ApiUsage,
    CrmRecord,
    Cursor,
    FieldInfo,
    FieldType,
    FieldUpdate,
    NoteSpec,
    Page,
    Priority,
    RecordError,
    TaskPriority,
    TaskSpec,
    TaskState,
    TaskStatus,
    UserProfile,
    WriteResult,
)

__all__ = [
    "ApiUsage",
    "ArchiveLister",
    "AuthFailed",
    "BudgetExhausted",
    "CrmClient",
    "CrmError",
    "CrmRecord",
    "Cursor",
    "FieldInfo",
    "FieldType",
    "FieldUpdate",
    "ForgetsDeletions",
    "NotFound",
    "NoteSpec",
    "Page",
    "Priority",
    "RateLimited",
    "RecordError",
    "Rejected",
    "TaskPriority",
    "TaskSpec",
    "TaskState",
    "TaskStatus",
    "Unavailable",
    "UserProfile",
    "WriteResult",
]


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

    def create_tasks(
        self, tasks: Sequence[TaskSpec], unsure: Collection[str] = ()
    ) -> list[WriteResult]:
        """Open follow-up tasks, never twice for the same `dedup_key`; one result each.

        `unsure` names the keys an earlier attempt may have created (its process died before
        the outcome was kept): what that attempt made counts even if a rep deleted it since.
        """
        ...

    def create_notes(
        self, notes: Sequence[NoteSpec], unsure: Collection[str] = ()
    ) -> list[WriteResult]:
        """Attach response notes to contacts and accounts; one result each (`unsure`: as for
        `create_tasks`)."""
        ...

    def task_statuses(self, task_ids: Sequence[str]) -> list[TaskStatus]:
        """Current state of the given tasks, in batched reads."""
        ...

    def managers(self) -> dict[str, str]:
        """Manager of each CRM user who has one (user id -> manager's user id), for escalation.

        Salesforce reads active users' `ManagerId`; HubSpot, whose owners have no manager,
        returns the config's `followup.managers`. Config entries win on both. Users without a
        manager are absent: the caller falls back to `followup.fallback_manager`.
        """
        ...

    def active_users(self) -> frozenset[str]:
        """Ids of the users who may own a task now (Salesforce active users, HubSpot owners
        not archived): the CRM refuses a task for anyone else."""
        ...

    def users(self) -> dict[str, UserProfile]:
        """The same users as `active_users`, by id, with the name, language and time zone
        their tasks are written in (Salesforce `User`; HubSpot owners carry names only)."""
        ...

    def describe(self, object_name: str) -> Mapping[str, FieldInfo]:
        """The CRM's field metadata for one object, by field name."""
        ...

    def usage(self) -> ApiUsage | None:
        """API usage as last reported by the CRM, or None before the first call."""
        ...


@runtime_checkable
class ArchiveLister(Protocol):
    """A CRM whose deletions `pull_deleted` finds only by listing its whole archive.

    HubSpot's list endpoint cannot filter archived records by date, so each listing costs
    ceil(archive / 100) calls however little changed. Such a client lists on a slow schedule
    (`archive_listing_every`) and checks by id, every cycle, only the records the loop is
    about to act on (`archived`): a cost that does not grow with the archive.
    """

    archive_listing_every: timedelta

    def archived(self, object_name: str, ids: Sequence[str]) -> list[str]:
        """Which of these records no longer exist (archived, merged away or deleted)."""
        ...


@runtime_checkable
class ForgetsDeletions(Protocol):
    """A CRM whose record of deletions reaches back only so far (Salesforce's recycle bin):
    deletions older than `deletion_horizon` can only be found by comparing live ids."""

    deletion_horizon: timedelta

    def live_ids(self, object_name: str) -> Iterator[Sequence[str]]:
        """The id of every live record of `object_name`, a page at a time."""
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
    """The CRM refused the request's content (validation); retrying the same body is futile.

    `fields` names the fields whose values the CRM refused, when it says (else empty).
    """

    def __init__(self, crm: str, code: str, message: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(crm, code, message)
        self.fields = fields


class Unavailable(CrmError):
    """The CRM did not answer usefully (5xx, timeout, connection reset) after our retries."""

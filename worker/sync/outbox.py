"""The outbox: CRM writes queued in the database and drained in full batches (promise 4).

A write is queued in the same transaction as the change that causes it (an answer, a follow-up),
so it is never lost; the drainer claims due rows, sends them through the `CrmClient` in as few
calls as the CRM allows, and records each row's outcome. Transient failures come back later
with exponential backoff; a record the CRM refuses is kept as `failed` with the CRM's own code,
never dropped silently.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from worker.store.mirror import MirrorKind, remember_written
from worker.store.models import Crm, FollowUp, FollowUpStatus, OutboxEntry, OutboxState
from worker.sync.base import (
    AuthFailed,
    BudgetExhausted,
    CrmClient,
    CrmError,
    FieldUpdate,
    NoteSpec,
    Priority,
    RateLimited,
    Rejected,
    TaskPriority,
    TaskSpec,
    WriteResult,
)

log = structlog.get_logger(__name__)

CLAIM = 2000
"""Rows claimed per round: a multiple of every CRM's batch size (200, 100)."""
CLAIM_TTL = timedelta(minutes=10)
"""A claim lapses after this, so rows of a drainer that died are sent again."""
MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
BUDGET_PAUSE = timedelta(hours=1)
TRANSIENT_RECORD_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "NOT_APPLIED"}
)
"""Per-record refusals that a later attempt can fix; any other per-record code is final.

`NOT_APPLIED`: the CRM refused a batch for another record's sake and did not apply this one."""


class Op(StrEnum):
    """Kinds of queued write."""

    UPDATE = "update"
    CREATE_TASK = "create_task"
    CREATE_NOTE = "create_note"


@dataclass
class DrainStats:
    """What one drain did."""

    sent: int = 0
    done: int = 0
    failed: int = 0
    retried: int = 0
    stopped_by: str | None = None


def enqueue(
    session: Session,
    crm: str,
    op: Op,
    object_name: str,
    *,
    record_id: str | None,
    fields: dict[str, Any],
    dedup_key: str,
    essential: bool,
    now: datetime,
    followup_id: int | None = None,
) -> bool:
    """Queue one write unless one with the same dedup key exists; True when queued."""
    exists = session.scalar(select(OutboxEntry.id).where(OutboxEntry.dedup_key == dedup_key))
    if exists is not None:
        return False
    session.add(
        OutboxEntry(
            crm=Crm(crm),
            object=object_name,
            record_crm_id=record_id,
            op=op.value,
            fields=fields,
            dedup_key=dedup_key,
            essential=essential,
            followup_id=followup_id,
            state=OutboxState.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    return True


def enqueue_update(
    session: Session, crm: str, update: FieldUpdate, *, essential: bool, now: datetime
) -> bool:
    """Queue a field update built by a mapper, merged into a pending one to the same record.

    Coalescing keeps one row (one record in a batch) per record however many changes arrive
    before the next drain; the newer value of a field wins.
    """
    if session.scalar(select(OutboxEntry.id).where(OutboxEntry.dedup_key == update.dedup_key)):
        return False
    pending = session.scalar(
        select(OutboxEntry).where(
            OutboxEntry.crm == Crm(crm),
            OutboxEntry.op == Op.UPDATE.value,
            OutboxEntry.object == update.object,
            OutboxEntry.record_crm_id == update.record_id,
            OutboxEntry.state == OutboxState.PENDING,
        )
    )
    if pending is not None:
        pending.fields = {**pending.fields, **update.fields}
        pending.essential = pending.essential or essential
        pending.next_attempt_at = min(pending.next_attempt_at, now)
        return True
    return enqueue(
        session,
        crm,
        Op.UPDATE,
        update.object,
        record_id=update.record_id,
        fields=dict(update.fields),
        dedup_key=update.dedup_key,
        essential=essential,
        now=now,
    )


def enqueue_after_task(
    session: Session, crm: str, update: FieldUpdate, *, followup_id: int, now: datetime
) -> bool:
    """Queue an update of a follow-up's task whose CRM id is not known yet (being created).

    The drain sends it once the task's create has linked the id to the follow-up; until then
    the row waits, without counting attempts.
    """
    return enqueue(
        session,
        crm,
        Op.UPDATE,
        update.object,
        record_id=None,
        fields=dict(update.fields),
        dedup_key=update.dedup_key,
        essential=True,
        now=now,
        followup_id=followup_id,
    )


def enqueue_task(
    session: Session, crm: str, task: TaskSpec, *, now: datetime, followup_id: int | None = None
) -> bool:
    """Queue a follow-up task; essential, since a detractor's follow-up must not wait."""
    fields = {
        "subject": task.subject,
        "body": task.body,
        "due_at": task.due_at.isoformat(),
        "priority": task.priority.value,
        "owner_id": task.owner_id,
        "contact_id": task.contact_id,
        "account_id": task.account_id,
        "time_zone": task.time_zone,
    }
    return enqueue(
        session,
        crm,
        Op.CREATE_TASK,
        "task",
        record_id=None,
        fields=fields,
        dedup_key=task.dedup_key,
        essential=True,
        now=now,
        followup_id=followup_id,
    )


def enqueue_note(session: Session, crm: str, note: NoteSpec, *, now: datetime) -> bool:
    """Queue a response note for the contact's timeline."""
    fields = {
        "body": note.body,
        "at": note.at.isoformat(),
        "contact_id": note.contact_id,
        "account_id": note.account_id,
        "subject": note.subject,
    }
    return enqueue(
        session,
        crm,
        Op.CREATE_NOTE,
        "note",
        record_id=None,
        fields=fields,
        dedup_key=note.dedup_key,
        essential=True,
        now=now,
    )


def _task(row: OutboxEntry) -> TaskSpec:
    f = row.fields
    return TaskSpec(
        dedup_key=row.dedup_key,
        subject=f["subject"],
        body=f["body"],
        due_at=datetime.fromisoformat(f["due_at"]),
        priority=TaskPriority(f["priority"]),
        owner_id=f["owner_id"],
        contact_id=f["contact_id"],
        account_id=f["account_id"],
        time_zone=f.get("time_zone"),
    )


def _note(row: OutboxEntry) -> NoteSpec:
    f = row.fields
    return NoteSpec(
        dedup_key=row.dedup_key,
        body=f["body"],
        at=datetime.fromisoformat(f["at"]),
        contact_id=f["contact_id"],
        account_id=f["account_id"],
        subject=f.get("subject"),
    )


def _send(
    client: CrmClient, op: str, essential: bool, rows: list[OutboxEntry], unsure: set[int]
) -> list[WriteResult]:
    """One group of rows through the client; the client batches to the CRM's limits.

    Creates of rows in `unsure` (ids) may have been made by an earlier attempt: the client
    counts what that attempt made, even if deleted since.
    """
    doubtful = [row.dedup_key for row in rows if row.id in unsure]
    if op == Op.UPDATE:
        updates = [
            FieldUpdate(row.object, row.record_crm_id or "", dict(row.fields), row.dedup_key)
            for row in rows
        ]
        priority = Priority.ESSENTIAL if essential else Priority.NORMAL
        return client.update(updates, priority)
    if op == Op.CREATE_TASK:
        return client.create_tasks([_task(row) for row in rows], unsure=doubtful)
    if op == Op.CREATE_NOTE:
        return client.create_notes([_note(row) for row in rows], unsure=doubtful)
    raise ValueError(f"outbox row has unknown op {op!r}")


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s doubling per attempt, at most six hours."""
    return min(BASE_BACKOFF * (1 << min(max(attempts - 1, 0), 16)), MAX_BACKOFF)


class Outbox:
    """Drains one CRM's queued writes through its client.

    `mirrored` names the CRM objects the mirror keeps, by kind ("contact", "account"): values
    the CRM confirms writing there become the mirror's last known values (promise 6).
    """

    def __init__(
        self,
        client: CrmClient,
        sessions: sessionmaker[Session],
        now: Callable[[], datetime],
        mirrored: Mapping[str, MirrorKind] | None = None,
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._now = now
        self._mirrored = dict(mirrored or {})

    def _claim(self) -> tuple[list[OutboxEntry], set[int]]:
        """Take due rows (and rows whose claim lapsed) for this drainer, oldest first; with
        the ids of those an earlier attempt may have applied (see `_unsure`)."""
        now = self._now()
        with self._sessions.begin() as session:
            rows = list(
                session.scalars(
                    select(OutboxEntry)
                    .where(
                        OutboxEntry.crm == Crm(self._client.name),
                        or_(
                            OutboxEntry.state == OutboxState.PENDING,
                            OutboxEntry.state == OutboxState.IN_FLIGHT,
                        ),
                        OutboxEntry.next_attempt_at <= now,
                    )
                    .order_by(OutboxEntry.id)
                    .limit(CLAIM)
                    .with_for_update(skip_locked=True)
                )
            )
            unsure = {row.id for row in rows if _unsure(row)}
            for row in rows:
                row.state = OutboxState.IN_FLIGHT
                row.next_attempt_at = now + CLAIM_TTL
        return rows, unsure

    def drain(self, max_rounds: int = 1000) -> DrainStats:
        """Send every due row, a claim at a time, until none is due or the CRM says stop."""
        stats = DrainStats()
        for _ in range(max_rounds):
            rows, unsure = self._claim()
            if not rows:
                break
            groups: dict[tuple[str, bool, str], list[OutboxEntry]] = {}
            for row in rows:
                groups.setdefault((row.op, row.essential, row.object), []).append(row)
            for (op, essential, _object), group in groups.items():
                if not self._drain_group(op, essential, group, unsure, stats):
                    self._release([r for r in rows if r.state == OutboxState.IN_FLIGHT])
                    return stats
        return stats

    def _drain_group(
        self,
        op: str,
        essential: bool,
        rows: list[OutboxEntry],
        unsure: set[int],
        stats: DrainStats,
    ) -> bool:
        """Send one group and record the outcome; False when draining must stop for now."""
        now = self._now()
        if op == Op.UPDATE:
            rows = self._with_task_ids(rows, now)
            if not rows:
                return True
        try:
            results = _send(self._client, op, essential, rows, unsure)
        except (RateLimited, BudgetExhausted, AuthFailed) as error:
            wait = error.retry_after if isinstance(error, RateLimited) else None
            delay = timedelta(seconds=wait) if wait else BUDGET_PAUSE
            self._reschedule(rows, now + delay, error)
            stats.retried += len(rows)
            stats.stopped_by = error.code
            log.warning("outbox_paused", crm=self._client.name, code=error.code, rows=len(rows))
            return False
        except Rejected as error:
            self._finish(rows, [], now, error)
            stats.failed += len(rows)
            return True
        except CrmError as error:
            self._retry(rows, now, error)
            stats.retried += len(rows)
            return True
        stats.sent += len(rows)
        self._finish(rows, results, now, None)
        for row in rows:
            if row.state == OutboxState.DONE:
                stats.done += 1
            elif row.state == OutboxState.FAILED:
                stats.failed += 1
            else:
                stats.retried += 1
        return True

    def _finish(
        self,
        rows: list[OutboxEntry],
        results: Sequence[WriteResult],
        now: datetime,
        request_error: Rejected | None,
    ) -> None:
        """Record each row's result; link created tasks to their follow-ups."""
        by_key = {result.dedup_key: result for result in results}
        # No flush before each mirror lookup: a query per row each flushing the batch so far
        # cost most of a drain; the lookups return the session's own (changed) rows anyway.
        with self._sessions.begin() as session, session.no_autoflush:
            loaded = _load(session, rows)
            for row in rows:
                current = loaded[row.id]
                current.attempts += 1
                result = by_key.get(row.dedup_key)
                if request_error is not None:
                    current.state = OutboxState.FAILED
                    current.last_error = f"{request_error.code}: {request_error.message}"
                elif result is None:
                    current.state = OutboxState.PENDING
                    current.next_attempt_at = now + backoff(current.attempts)
                    current.last_error = "NO_RESULT: the CRM returned no result for this record"
                elif result.error is None:
                    current.state = OutboxState.DONE
                    current.done_at = now
                    current.result_crm_id = result.crm_id
                    current.last_error = None
                    _link_followup(session, current, result.crm_id)
                    self._remember(session, current, result.modified_at or now)
                else:
                    error = result.error
                    fields = f" ({', '.join(error.fields)})" if error.fields else ""
                    current.last_error = f"{error.code}: {error.message}{fields}"
                    transient = error.code in TRANSIENT_RECORD_CODES
                    if transient and current.attempts < MAX_ATTEMPTS:
                        current.state = OutboxState.PENDING
                        current.next_attempt_at = now + backoff(current.attempts)
                    else:
                        current.state = OutboxState.FAILED
                        log.warning(
                            "outbox_record_refused",
                            crm=current.crm.value,
                            object=current.object,
                            record_id=current.record_crm_id,
                            code=error.code,
                        )
                row.state = current.state

    def _with_task_ids(self, rows: list[OutboxEntry], now: datetime) -> list[OutboxEntry]:
        """Rows ready to send: an update of a task still being created gets its id or waits.

        One whose task was refused for good can never apply and fails with it.
        """
        waiting = [row for row in rows if row.record_crm_id is None and row.followup_id]
        if not waiting:
            return rows
        ready = [row for row in rows if row not in waiting]
        with self._sessions.begin() as session:
            loaded = _load(session, waiting)
            for row in waiting:
                current = loaded[row.id]
                followup = session.get_one(FollowUp, current.followup_id)
                created = session.scalar(
                    select(OutboxEntry.state).where(
                        OutboxEntry.dedup_key == followup.dedup_key,
                        OutboxEntry.op == Op.CREATE_TASK.value,
                    )
                )
                if followup.crm_task_id is not None:
                    current.record_crm_id = followup.crm_task_id
                    row.record_crm_id = followup.crm_task_id
                    ready.append(row)
                    continue
                if created == OutboxState.FAILED:
                    current.state = OutboxState.FAILED
                    current.last_error = "TASK_NOT_CREATED: the task this update moves was refused"
                else:
                    current.state = OutboxState.PENDING
                    current.next_attempt_at = now + BASE_BACKOFF
                row.state = current.state
        return ready

    def _remember(self, session: Session, row: OutboxEntry, at: datetime) -> None:
        """A confirmed update of a mirrored record becomes its last known CRM values, as of
        `at` (when the CRM stamped it, else when it confirmed it)."""
        kind = self._mirrored.get(row.object)
        if row.op == Op.UPDATE and kind is not None and row.record_crm_id:
            values = dict(row.fields)
            remember_written(session, row.crm.value, kind, row.record_crm_id, values, at=at)

    def _retry(self, rows: list[OutboxEntry], now: datetime, error: CrmError) -> None:
        """A transient whole-request failure: back off per row, fail rows out of attempts."""
        with self._sessions.begin() as session:
            loaded = _load(session, rows)
            for row in rows:
                current = loaded[row.id]
                current.attempts += 1
                current.last_error = f"{error.code}: {error.message}"
                if current.attempts >= MAX_ATTEMPTS:
                    current.state = OutboxState.FAILED
                else:
                    current.state = OutboxState.PENDING
                    current.next_attempt_at = now + backoff(current.attempts)
                row.state = current.state

    def _reschedule(self, rows: list[OutboxEntry], at: datetime, error: CrmError) -> None:
        """The CRM said stop (rate, budget, auth): try again at `at`, not counted as an attempt."""
        with self._sessions.begin() as session:
            loaded = _load(session, rows)
            for row in rows:
                current = loaded[row.id]
                current.state = OutboxState.PENDING
                current.next_attempt_at = at
                current.last_error = f"{error.code}: {error.message}"
                row.state = current.state

    def _release(self, rows: list[OutboxEntry]) -> None:
        """Hand back rows claimed but not sent, due at once, without counting an attempt."""
        now = self._now()
        with self._sessions.begin() as session:
            loaded = _load(session, rows)
            for row in rows:
                current = loaded[row.id]
                if current.state == OutboxState.IN_FLIGHT:
                    current.state = OutboxState.PENDING
                    current.next_attempt_at = now


def _unsure(row: OutboxEntry) -> bool:
    """Whether an earlier attempt of this row may have been applied with its outcome unknown:
    its claim lapsed (the drainer died, perhaps after the CRM took the write), or an attempt
    ended without a kept result (an interrupted call, no result for it)."""
    return row.state == OutboxState.IN_FLIGHT or row.attempts > 0


def _load(session: Session, rows: Sequence[OutboxEntry]) -> dict[int, OutboxEntry]:
    """The rows again, in this session, with one query (a claim is up to 2,000 rows)."""
    ids = [row.id for row in rows]
    return {
        found.id: found
        for found in session.scalars(select(OutboxEntry).where(OutboxEntry.id.in_(ids)))
    }


def _link_followup(session: Session, row: OutboxEntry, crm_id: str | None) -> None:
    """A created follow-up task's CRM id goes onto its follow-up, which is now open."""
    if row.followup_id is None or crm_id is None:
        return
    followup = session.get_one(FollowUp, row.followup_id)
    followup.crm_task_id = crm_id
    if followup.status == FollowUpStatus.PENDING:
        followup.status = FollowUpStatus.OPEN

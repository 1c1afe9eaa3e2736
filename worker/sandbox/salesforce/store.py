"""The org's records: a table per sObject, system and derived fields, undo for rollbacks."""

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from worker.sandbox.salesforce.ids import IdFactory
from worker.sandbox.salesforce.schema import (
    CLOSED_CASE_STATUSES,
    CLOSED_STAGES,
    CLOSED_TASK_STATUSES,
    SCHEMA,
    SObjectDef,
    sobject_for_id,
)

Record = dict[str, Any]
_FIRST_CASE_NUMBER = 1000
RECYCLE_BIN = timedelta(days=15)
"""Deleted records stay in the recycle bin this long (Salesforce Help, "Recycle Bin"); queryAll
finds them only while they are there (resources_queryall.htm)."""
ARCHIVE_AFTER = timedelta(days=365)
"""Closed tasks due this long ago are archived (Object Reference, Task: IsArchived): `query`
no longer returns them, `queryAll` still does."""


def whole_second(moment: datetime) -> datetime:
    """Salesforce keeps datetimes to the second (API values always end in `.000`)."""
    return moment.replace(microsecond=0)


def _to_seconds(values: Record) -> Record:
    return {k: whole_second(v) if isinstance(v, datetime) else v for k, v in values.items()}


class RecordStore:
    """All records of the org, keyed by sObject and id; every write stamps the audit fields.

    Callers hold `lock` around any read-modify-write sequence; `savepoint()` lets a caller undo
    everything written since it began (allOrNone rollbacks).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.ids = IdFactory()
        self._tables: dict[str, dict[str, Record]] = {name: {} for name in SCHEMA}
        self._case_numbers = itertools.count(_FIRST_CASE_NUMBER)
        self._journal: list[tuple[str, str, Record | None]] = []
        self._savepoints = 0

    def table(self, sobject: str) -> dict[str, Record]:
        """The live records of one sObject, by id, in creation order (soft-deleted included)."""
        return self._tables[sobject]

    def find(self, record_id: str) -> tuple[SObjectDef, Record] | None:
        """The record with an 18-character id, whatever its type, if it exists."""
        definition = sobject_for_id(record_id)
        if definition is None:
            return None
        record = self._tables[definition.name].get(record_id)
        return None if record is None else (definition, record)

    def insert(self, sobject: str, values: Record, *, at: datetime, by: str | None) -> Record:
        """Store a new record from already-validated values; returns it with system fields set."""
        at = whole_second(at)
        values = _to_seconds(values)
        definition = SCHEMA[sobject]
        record: Record = {f.name: None for f in definition.fields}
        for field in definition.fields:
            if field.default_value is not None:
                record[field.name] = field.default_value
        record.update(values)
        record_id = self.ids.next_id(definition.key_prefix)
        record.update(
            Id=record_id,
            IsDeleted=False,
            CreatedDate=whole_second(values.get("CreatedDate", at)),
            CreatedById=by,
            LastModifiedDate=whole_second(values.get("LastModifiedDate", at)),
            LastModifiedById=by,
            SystemModstamp=whole_second(
                values.get("SystemModstamp") or values.get("LastModifiedDate") or at
            ),
        )
        if sobject == "Case":
            record["CaseNumber"] = f"{next(self._case_numbers):08d}"
        _derive(sobject, record, {}, at)
        self._remember(sobject, record_id, None)
        self._tables[sobject][record_id] = record
        return record

    def change(
        self, sobject: str, record: Record, values: Record, *, at: datetime, by: str | None
    ) -> None:
        """Apply already-validated values to a record and stamp it modified at `at`."""
        at = whole_second(at)
        values = _to_seconds(values)
        self._remember(sobject, record["Id"], record)
        before = dict(record)
        record.update(values)
        record.update(LastModifiedDate=at, SystemModstamp=at, LastModifiedById=by)
        _derive(sobject, record, before, at)

    def empty_recycle_bin(self) -> int:
        """Remove every deleted record for good, as an admin emptying the bin; how many."""
        with self.lock:
            gone = [
                (name, record_id)
                for name, table in self._tables.items()
                for record_id, record in table.items()
                if record["IsDeleted"]
            ]
            for name, record_id in gone:
                del self._tables[name][record_id]
            return len(gone)

    def soft_delete(self, sobject: str, record: Record, *, at: datetime, by: str | None) -> None:
        """Move a record to the recycle bin: queryAll still returns it, with IsDeleted true."""
        at = whole_second(at)
        self._remember(sobject, record["Id"], record)
        record.update(IsDeleted=True, LastModifiedDate=at, SystemModstamp=at, LastModifiedById=by)

    @contextmanager
    def savepoint(self) -> Iterator["Savepoint"]:
        """Collect undo information for writes made inside the block (nests)."""
        with self.lock:
            savepoint = Savepoint(self, len(self._journal))
            self._savepoints += 1
            try:
                yield savepoint
            finally:
                self._savepoints -= 1
                if self._savepoints == 0:
                    self._journal.clear()

    def _remember(self, sobject: str, record_id: str, record: Record | None) -> None:
        if self._savepoints:
            self._journal.append((sobject, record_id, None if record is None else dict(record)))

    def _undo_to(self, mark: int) -> None:
        while len(self._journal) > mark:
            sobject, record_id, previous = self._journal.pop()
            table = self._tables[sobject]
            if previous is None:
                del table[record_id]
            else:
                table[record_id].clear()
                table[record_id].update(previous)


class Savepoint:
    """A point in the store's history that a caller can roll back to."""

    def __init__(self, store: RecordStore, mark: int) -> None:
        self._store = store
        self._mark = mark

    def rollback(self) -> None:
        """Undo every write made since the savepoint began."""
        self._store._undo_to(self._mark)


def purged(record: Record, now: datetime) -> bool:
    """Whether a deleted record has left the recycle bin by `now` (gone for good)."""
    return bool(record["IsDeleted"]) and record["SystemModstamp"] < now - RECYCLE_BIN


def is_archived(sobject: str, record: Record, now: datetime) -> bool:
    """Whether a record is archived at `now`: a closed Task due (or created) a year ago."""
    if sobject != "Task" or not record["IsClosed"]:
        return False
    due = record["ActivityDate"] or record["CreatedDate"].date()
    return bool(due < (now - ARCHIVE_AFTER).date())


def _derive(sobject: str, record: Record, before: Record, at: datetime) -> None:
    """Recompute the read-only fields Salesforce maintains (Name, IsClosed, ClosedDate...)."""
    if sobject in {"Contact", "User"}:
        record["Name"] = " ".join(p for p in (record["FirstName"], record["LastName"]) if p)
    elif sobject == "Case":
        _derive_closed(
            record,
            before,
            closed_values=CLOSED_CASE_STATUSES,
            status_field="Status",
            closed_at_field="ClosedDate",
            at=at,
        )
    elif sobject == "Task":
        record["IsArchived"] = False
        _derive_closed(
            record,
            before,
            closed_values=CLOSED_TASK_STATUSES,
            status_field="Status",
            closed_at_field="CompletedDateTime",
            at=at,
        )
    elif sobject == "Opportunity":
        record["IsClosed"] = record["StageName"] in CLOSED_STAGES
        record["IsWon"] = record["StageName"] == "Closed Won"


def _derive_closed(
    record: Record,
    before: Record,
    *,
    closed_values: frozenset[str],
    status_field: str,
    closed_at_field: str,
    at: datetime,
) -> None:
    closed = record[status_field] in closed_values
    was_closed = bool(before.get("IsClosed"))
    record["IsClosed"] = closed
    if closed and not was_closed and record[closed_at_field] is None:
        record[closed_at_field] = at
    elif not closed:
        record[closed_at_field] = None

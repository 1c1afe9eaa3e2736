"""The local mirror of CRM records: batched upserts of pulled records, and pull watermarks."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from worker import domain
from worker.store.models import (
    Account,
    Contact,
    Crm,
    DeletionCheck,
    Response,
    Survey,
    SyncCursor,
    TriggerRecord,
)

Row = TypeVar("Row", Account, Contact, TriggerRecord)
MirrorKind = Literal["account", "contact", "trigger"]
"""Which mirror table a CRM object lands in."""
_IDS_PER_STATEMENT = 500


def read_cursor(session: Session, crm: str, object_name: str) -> tuple[datetime | None, str | None]:
    """The committed watermark and tie-break id of one object's pull (None, None before any)."""
    row = session.scalar(
        select(SyncCursor).where(SyncCursor.crm == Crm(crm), SyncCursor.object == object_name)
    )
    return (row.watermark, row.last_id) if row else (None, None)


def pulled_fields(session: Session, crm: str, object_name: str) -> frozenset[str] | None:
    """The fields the object's pull has asked for so far (None: never pulled, or not known)."""
    row = session.scalar(
        select(SyncCursor).where(SyncCursor.crm == Crm(crm), SyncCursor.object == object_name)
    )
    return frozenset(row.fields) if row is not None and row.fields is not None else None


def write_cursor(
    session: Session,
    crm: str,
    object_name: str,
    *,
    watermark: datetime,
    last_id: str | None,
    now: datetime,
    fields: Iterable[str] | None = None,
) -> None:
    """Move one object's watermark; call it in the transaction that stored what it covers."""
    row = session.scalar(
        select(SyncCursor).where(SyncCursor.crm == Crm(crm), SyncCursor.object == object_name)
    )
    if row is None:
        row = SyncCursor(crm=Crm(crm), object=object_name)
        session.add(row)
    row.watermark = watermark
    row.last_id = last_id
    row.updated_at = now
    if fields is not None:
        row.fields = sorted(fields)


def _existing(
    session: Session, model: type[Row], crm: str, crm_ids: Iterable[str], object_name: str = ""
) -> dict[str, Row]:
    """Rows already mirrored for these ids, by CRM id, in one query."""
    query = select(model).where(model.crm == Crm(crm), model.crm_id.in_(set(crm_ids)))
    if model is TriggerRecord:
        query = query.where(TriggerRecord.object == object_name)
    return {row.crm_id: row for row in session.scalars(query)}


WRITTEN_AT = "written_at"
"""Key of `fields`: when the CRM stamped the worker's last confirmed write-back (ISO 8601)."""


def _fields(
    known: dict[str, Any] | None, segments: Any, crm_values: Any, modified_at: datetime
) -> dict[str, Any]:
    """Segments as pulled; CRM values merged, since a pull may carry only some of them.

    A version from before the worker's last confirmed write (a search index shows a record as
    it was for a few moments after each write) keeps the written values: they are newer.
    """
    previous = (known or {}).get("crm_values", {})
    written_at = (known or {}).get(WRITTEN_AT)
    if written_at and modified_at < datetime.fromisoformat(written_at):
        crm_values = {}
    return {**(known or {}), "segments": dict(segments), "crm_values": {**previous, **crm_values}}


def _mirrored(
    session: Session, crm: str, kind: MirrorKind, crm_id: str
) -> Account | Contact | None:
    if kind == "account":
        return _existing(session, Account, crm, [crm_id]).get(crm_id)
    return _existing(session, Contact, crm, [crm_id]).get(crm_id)


def remember_written(
    session: Session,
    crm: str,
    kind: MirrorKind,
    crm_id: str,
    values: dict[str, Any],
    *,
    at: datetime,
) -> None:
    """Record values the CRM confirmed writing at `at`, so an equal write is never queued
    again, and an older version pulled later does not bring back the values they replaced."""
    row = _mirrored(session, crm, kind, crm_id)
    if row is not None:
        fields = dict(row.fields)
        previous = fields.get("crm_values", {})
        fields["crm_values"] = {**previous, **values}
        written_at = fields.get(WRITTEN_AT)
        if not written_at or datetime.fromisoformat(written_at) < at:
            fields[WRITTEN_AT] = at.isoformat()
        row.fields = fields


def known_values(session: Session, crm: str, kind: MirrorKind, crm_id: str) -> dict[str, Any]:
    """The last CRM values known for the write-back fields of one mirrored record."""
    row = _mirrored(session, crm, kind, crm_id)
    return dict(row.fields.get("crm_values", {})) if row is not None else {}


def _already_mirrored(row: Account | Contact | None, modified_at: datetime) -> bool:
    """Whether a pulled version is older than the one mirrored (a lagging search shows a
    record as it was for a few moments after each write): storing it would go back in time."""
    return (
        row is not None
        and not row.deleted
        and row.modified_at is not None
        and modified_at < row.modified_at
    )


def upsert_accounts(session: Session, accounts: Sequence[domain.Account], now: datetime) -> None:
    """Insert or update mirrored accounts from one pulled page."""
    if not accounts:
        return
    crm = accounts[0].crm
    known = _existing(session, Account, crm, (a.crm_id for a in accounts))
    for account in accounts:
        row = known.get(account.crm_id)
        if _already_mirrored(row, account.modified_at):
            continue
        if row is None:
            row = Account(crm=Crm(crm), crm_id=account.crm_id)
            session.add(row)
            known[account.crm_id] = row
        row.name = account.name
        row.owner_crm_id = account.owner_id
        row.fields = _fields(row.fields, account.segments, account.crm_values, account.modified_at)
        since = account.customer_since
        row.fields["customer_since"] = since.isoformat() if since else None
        row.modified_at = account.modified_at
        row.deleted = account.deleted
        row.synced_at = now


def mark_for_rollup(session: Session, account_ids: Iterable[int | None], now: datetime) -> None:
    """Mark accounts whose roll-up an answer or a contact's move just changed.

    Called in the transaction that made the change, so a cycle cut short before its roll-ups
    leaves the mark for the next one (promise 11); the roll-up clears it once queued.
    """
    ids = {account_id for account_id in account_ids if account_id is not None}
    if ids:
        session.execute(update(Account).where(Account.id.in_(ids)).values(rollup_due_at=now))


def upsert_contacts(session: Session, contacts: Sequence[domain.Contact], now: datetime) -> None:
    """Insert or update mirrored contacts, linking each to its mirrored account when known.

    A contact with answers that moves to another account takes its answers along: both
    accounts are marked for a new roll-up.
    """
    if not contacts:
        return
    crm = contacts[0].crm
    known = _existing(session, Contact, crm, (c.crm_id for c in contacts))
    account_ids = {c.account_crm_id for c in contacts if c.account_crm_id}
    accounts: dict[str, int] = dict(
        session.execute(
            select(Account.crm_id, Account.id).where(
                Account.crm == Crm(crm), Account.crm_id.in_(account_ids)
            )
        ).all()
    )
    moves: dict[int, tuple[int | None, int | None]] = {}
    for contact in contacts:
        row = known.get(contact.crm_id)
        if _already_mirrored(row, contact.modified_at):
            continue
        if row is None:
            row = Contact(crm=Crm(crm), crm_id=contact.crm_id)
            session.add(row)
            known[contact.crm_id] = row
        account_id = accounts.get(contact.account_crm_id or "")
        if row.id is not None and row.account_id != account_id:
            moves[row.id] = (row.account_id, account_id)
        row.email = contact.email.strip().lower() if contact.email else None
        row.first_name = contact.first_name
        row.last_name = contact.last_name
        row.account_crm_id = contact.account_crm_id
        row.account_id = account_id
        row.owner_crm_id = contact.owner_id
        row.language = contact.language
        row.time_zone = contact.time_zone
        row.opted_out = contact.opted_out
        row.fields = _fields(row.fields, contact.segments, contact.crm_values, contact.modified_at)
        row.modified_at = contact.modified_at
        row.deleted = contact.deleted
        row.synced_at = now
    if moves:
        answered = session.scalars(
            select(Survey.contact_id)
            .join(Response, Response.survey_id == Survey.id)
            .where(Survey.contact_id.in_(moves), Response.provisional.is_(False))
            .distinct()
        )
        mark_for_rollup(session, (a for c in answered for a in moves[c]), now)


def upsert_trigger_records(
    session: Session, records: Sequence[domain.TriggerRecord], now: datetime
) -> list[dict[str, Any] | None]:
    """Insert or update mirrored trigger-object records of one pulled page.

    Returns, per record, the values mirrored before this page (None for a record not seen
    before), so the caller can tell which conditions just became true.
    """
    if not records:
        return []
    crm, object_name = records[0].crm, records[0].object
    known = _existing(session, TriggerRecord, crm, (r.crm_id for r in records), object_name)
    previous: list[dict[str, Any] | None] = []
    for record in records:
        row = known.get(record.crm_id)
        previous.append(dict(row.values) if row is not None and not row.deleted else None)
        if row is None:
            row = TriggerRecord(crm=Crm(crm), object=object_name, crm_id=record.crm_id)
            session.add(row)
            known[record.crm_id] = row
        row.values = dict(record.values)
        row.contact_crm_id = record.contact_crm_id
        row.account_crm_id = record.account_crm_id
        row.modified_at = record.modified_at
        row.deleted = record.deleted
        row.synced_at = now
    return previous


def held_versions(
    session: Session, crm: str, kind: MirrorKind, object_name: str, crm_ids: Sequence[str]
) -> dict[str, datetime]:
    """The modification time of each live mirrored record among `crm_ids`, in one query."""
    model = _kind_model(kind)
    query = select(model.crm_id, model.modified_at).where(
        model.crm == Crm(crm), model.crm_id.in_(set(crm_ids)), model.deleted.is_(False)
    )
    if model is TriggerRecord:
        query = query.where(TriggerRecord.object == object_name)
    rows: list[tuple[str, datetime]] = [(row[0], row[1]) for row in session.execute(query)]
    return dict(rows)


def mark_deleted(
    session: Session,
    crm: str,
    kind: MirrorKind,
    object_name: str,
    *,
    crm_ids: Sequence[str],
    now: datetime,
) -> int:
    """Flag mirrored records deleted in the CRM; returns how many were known here."""
    rows: dict[str, Account] | dict[str, Contact] | dict[str, TriggerRecord]
    if kind == "account":
        rows = _existing(session, Account, crm, crm_ids)
    elif kind == "contact":
        rows = _existing(session, Contact, crm, crm_ids)
    else:
        rows = _existing(session, TriggerRecord, crm, crm_ids, object_name)
    for row in rows.values():
        row.deleted = True
        row.synced_at = now
    return len(rows)


def _kind_model(kind: MirrorKind) -> type[Account] | type[Contact] | type[TriggerRecord]:
    if kind == "account":
        return Account
    if kind == "contact":
        return Contact
    return TriggerRecord


def mark_missing_deleted(
    session: Session,
    crm: str,
    kind: MirrorKind,
    object_name: str,
    *,
    live_ids: set[str],
    now: datetime,
) -> int:
    """Flag deleted every live mirrored record whose id the CRM no longer has; how many."""
    model = _kind_model(kind)
    scope = [model.crm == Crm(crm), model.deleted.is_(False)]
    if model is TriggerRecord:
        scope.append(TriggerRecord.object == object_name)
    mirrored = session.scalars(select(model.crm_id).where(*scope))
    gone = [crm_id for crm_id in mirrored if crm_id not in live_ids]
    for start in range(0, len(gone), _IDS_PER_STATEMENT):
        chunk = gone[start : start + _IDS_PER_STATEMENT]
        session.execute(
            update(model)
            .where(*scope, model.crm_id.in_(chunk))
            .values(deleted=True, synced_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(gone)


def deletion_check(session: Session, crm: str, object_name: str) -> DeletionCheck | None:
    """When `object_name`'s deletions were last read (and reconciled), if ever."""
    return session.scalar(
        select(DeletionCheck).where(
            DeletionCheck.crm == Crm(crm), DeletionCheck.object == object_name
        )
    )


def record_deletion_check(
    session: Session,
    crm: str,
    object_name: str,
    *,
    checked_at: datetime,
    reconciled: int | None = None,
) -> None:
    """Note a complete read of deletions begun at `checked_at` (and a reconcile, if one ran)."""
    row = deletion_check(session, crm, object_name)
    if row is None:
        row = DeletionCheck(crm=Crm(crm), object=object_name)
        session.add(row)
    row.checked_at = checked_at
    if reconciled is not None:
        row.reconciled_at = checked_at
        row.reconciled = reconciled

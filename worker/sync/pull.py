"""Incremental pull into the local mirror, one transaction per page (promise 7).

Each page's records and the cursor that covers them commit together, so a crash between pages
resumes from the last stored page: nothing is lost, and nothing stored is fetched again.
A connector may read an overlap again on purpose (a look-back for late commits or index lag):
versions the mirror already holds are dropped before they are mapped, and counted.
Deletions: a CRM that forgets them after a while (`ForgetsDeletions`, Salesforce's recycle
bin) is read within that horizon; when the last complete read of an object's deletions is
older than the horizon (an outage, a worker stopped for weeks), the mirror is compared with
the CRM's live ids instead, and the records it no longer has are flagged deleted, loudly.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from worker import domain
from worker.store import mirror
from worker.store.mirror import MirrorKind
from worker.sync.base import CrmClient, CrmRecord, Cursor, ForgetsDeletions, Page
from worker.sync.deletions import DELETED_SUFFIX, Target, deletion_pages
from worker.sync.quarantine import unstorable_among

log = structlog.get_logger(__name__)

DomainRow = domain.Account | domain.Contact | domain.TriggerRecord


@dataclass(frozen=True)
class PullTarget:
    """One CRM object to mirror: which fields to ask for and how a record becomes a row.

    `as_trigger` also mirrors an account or contact as a trigger record, for programs that
    fire on the account or contact itself (e.g. onboarding status changed to Completed),
    from the same pull and cursor.
    """

    object_name: str
    kind: MirrorKind
    fields: Sequence[str]
    to_domain: Callable[[CrmRecord], DomainRow]
    as_trigger: Callable[[CrmRecord], domain.TriggerRecord] | None = None


@dataclass(frozen=True)
class TriggerChange:
    """A trigger record as just pulled, beside the values mirrored before (None: new to us)."""

    previous: Mapping[str, Any] | None
    record: domain.TriggerRecord


TriggerObserver = Callable[[Session, Sequence[TriggerChange], bool], None]
"""Called inside a page's transaction with its trigger changes and whether this is the
object's first sync, so events derived from them commit with the page (promises 2 and 7)."""


@dataclass
class PullStats:
    """What one object's pull did, for logs and `status`."""

    object_name: str
    pages: int = 0
    stored: int = 0
    repeated: int = 0
    unmappable: int = 0
    deleted: int = 0
    reconciled: int | None = None
    """Records found deleted by comparing ids, when the CRM's deletion horizon had passed."""


def _store(
    session: Session,
    rows: list[DomainRow],
    now: datetime,
    kind: MirrorKind,
    held: Mapping[str, mirror.Held],
) -> list[TriggerChange]:
    """Upsert a mapped page, with the rows of its own `kind` held before it (read once per
    page); the trigger records among it come back with their previous values."""
    accounts = [r for r in rows if isinstance(r, domain.Account)]
    mirror.upsert_accounts(session, accounts, now, held if kind == "account" else None)
    contacts = [r for r in rows if isinstance(r, domain.Contact)]
    mirror.upsert_contacts(session, contacts, now, held if kind == "contact" else None)
    triggers = [r for r in rows if isinstance(r, domain.TriggerRecord)]
    previous = mirror.upsert_trigger_records(
        session, triggers, now, held if kind == "trigger" else None
    )
    return [
        TriggerChange(before, record) for before, record in zip(previous, triggers, strict=True)
    ]


def _map(target: PullTarget, records: Sequence[CrmRecord], stats: PullStats) -> list[DomainRow]:
    """Map a page; a record the mapper or the store would refuse is quarantined, by id.

    The reason logged is the exception's type or the quarantine rule, never the field values,
    which may be personal data; the rest of the page is stored and the pull goes on.
    """
    rows: list[DomainRow] = []
    sources: list[CrmRecord] = []
    for record in records:
        try:
            mapped: list[DomainRow] = [target.to_domain(record)]
            if target.as_trigger is not None:
                mapped.append(target.as_trigger(record))
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
            _quarantine(record, f"mapper failed: {type(error).__name__}", stats)
            continue
        rows.extend(mapped)
        sources.extend([record] * len(mapped))
    refused: dict[int, tuple[CrmRecord, str]] = {}  # by the record's id(), its first reason
    for n, reason in unstorable_among(rows).items():
        refused.setdefault(id(sources[n]), (sources[n], reason))
    for record, reason in refused.values():
        _quarantine(record, reason, stats)
    return [row for row, source in zip(rows, sources, strict=True) if id(source) not in refused]


def _quarantine(record: CrmRecord, reason: str, stats: PullStats) -> None:
    stats.unmappable += 1
    log.warning("crm_record_quarantined", object=record.object, record_id=record.id, reason=reason)


def _commit_pages(
    sessions: sessionmaker[Session],
    crm: str,
    cursor_key: str,
    *,
    pages: Iterator[Page],
    apply: Callable[[Session, Page], None],
    now: Callable[[], datetime],
    fields: Sequence[str] | None = None,
) -> int:
    """Apply each page and move the cursor in the same transaction; returns pages committed."""
    count = 0
    for page in pages:
        with sessions.begin() as session:
            apply(session, page)
            if page.cursor.modified_at is not None:
                mirror.write_cursor(
                    session,
                    crm,
                    cursor_key,
                    watermark=page.cursor.modified_at,
                    last_id=page.cursor.last_id,
                    now=now(),
                    fields=fields,
                )
        count += 1
    return count


def pull_deletions(
    client: CrmClient,
    sessions: sessionmaker[Session],
    target: Target,
    now: Callable[[], datetime],
) -> tuple[int, int, int | None]:
    """Mark deleted the mirrored records this cycle's deletion pages name (see
    `worker.sync.deletions`), after reconciling by id if the CRM has forgotten deletions since
    the last check; returns the pages committed, the records known here, and how many the
    reconcile found (None when none was needed)."""
    object_name, kind = target
    deleted = 0
    checked_at = now()
    reconciled = _reconcile_if_forgotten(client, sessions, target, checked_at)

    def store_deletions(session: Session, page: Page) -> None:
        nonlocal deleted
        ids = [record.id for record in page.records]
        deleted += mirror.mark_deleted(
            session, client.name, kind, object_name, crm_ids=ids, now=now()
        )

    pages = _commit_pages(
        sessions,
        client.name,
        object_name + DELETED_SUFFIX,
        pages=deletion_pages(client, sessions, object_name, now()),
        apply=store_deletions,
        now=now,
    )
    with sessions.begin() as session:
        mirror.record_deletion_check(
            session, client.name, object_name, checked_at=checked_at, reconciled=reconciled
        )
    return pages, deleted, reconciled


def pull_into_mirror(
    client: CrmClient,
    sessions: sessionmaker[Session],
    target: PullTarget,
    now: Callable[[], datetime],
    *,
    observe: TriggerObserver | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> PullStats:
    """Pull one object's changes and deletions since the committed cursors into the mirror.

    `progress` hears (object, records stored so far) after each page, for a terminal display.
    """
    stats = PullStats(target.object_name)
    with sessions() as session:
        since = Cursor(*mirror.read_cursor(session, client.name, target.object_name))
        pulled = mirror.pulled_fields(session, client.name, target.object_name)
    new_fields = sorted(set(target.fields) - pulled) if pulled is not None else []
    if new_fields:
        # A field the config added (an audience, a segment) was never read for records that
        # have not changed since: read the whole object again, as on a first sync (no event
        # fires from what is merely read for the first time).
        log.info("pull_new_fields", crm=client.name, object=target.object_name, fields=new_fields)
        since = Cursor(None, None)
    first_sync = since.modified_at is None

    def store_changes(session: Session, page: Page) -> None:
        refused_before = stats.unmappable
        held = mirror.held_rows(
            session, client.name, target.kind, target.object_name, [r.id for r in page.records]
        )
        fresh = [
            record
            for record in page.records
            if new_fields or not mirror.holds_version(held.get(record.id), record.modified_at)
        ]
        stats.repeated += len(page.records) - len(fresh)
        changes = _store(session, _map(target, fresh, stats), now(), target.kind, held)
        if observe is not None and changes:
            observe(session, changes, first_sync)
        stats.stored += len(fresh) - (stats.unmappable - refused_before)
        if progress is not None:
            progress(target.object_name, stats.stored)

    stats.pages = _commit_pages(
        sessions,
        client.name,
        target.object_name,
        pages=client.pull(target.object_name, target.fields, since),
        apply=store_changes,
        now=now,
        fields=target.fields,
    )
    pages, stats.deleted, stats.reconciled = pull_deletions(
        client, sessions, (target.object_name, target.kind), now
    )
    stats.pages += pages
    log.info(
        "object_pulled",
        crm=client.name,
        object=target.object_name,
        pages=stats.pages,
        stored=stats.stored,
        repeated=stats.repeated,
        unmappable=stats.unmappable,
        deleted=stats.deleted,
        reconciled=stats.reconciled,
    )
    return stats


def _reconcile_if_forgotten(
    client: CrmClient, sessions: sessionmaker[Session], target: Target, now: datetime
) -> int | None:
    """Past the CRM's deletion horizon, flag what its live ids lack; None when not needed."""
    object_name, kind = target
    if not isinstance(client, ForgetsDeletions):
        return None
    with sessions() as session:
        check = mirror.deletion_check(session, client.name, object_name)
        last = check.checked_at if check is not None else None
    if last is None or now - last <= client.deletion_horizon:
        return None
    log.warning(
        "crm_deletion_horizon_passed",
        crm=client.name,
        object=object_name,
        last_checked=last.isoformat(),
        horizon_days=client.deletion_horizon.days,
    )
    live: set[str] = set()
    for ids in client.live_ids(object_name):
        live.update(ids)
    with sessions.begin() as session:
        gone = mirror.mark_missing_deleted(
            session, client.name, kind, object_name, live_ids=live, now=now
        )
    log.warning("crm_deletions_reconciled", crm=client.name, object=object_name, deleted=gone)
    return gone

"""Incremental pull into the local mirror, one transaction per page (promise 7).

Each page's records and the cursor that covers them commit together, so a crash between pages
resumes from the last stored page: nothing is lost, and nothing stored is fetched again.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from worker import domain
from worker.store import mirror
from worker.store.mirror import MirrorKind
from worker.sync.base import CrmClient, CrmRecord, Cursor, Page

log = structlog.get_logger(__name__)

DomainRow = domain.Account | domain.Contact | domain.TriggerRecord
DELETED_SUFFIX = "#deleted"


@dataclass(frozen=True)
class PullTarget:
    """One CRM object to mirror: which fields to ask for and how a record becomes a row."""

    object_name: str
    kind: MirrorKind
    fields: Sequence[str]
    to_domain: Callable[[CrmRecord], DomainRow]


@dataclass
class PullStats:
    """What one object's pull did, for logs and `status`."""

    object_name: str
    pages: int = 0
    stored: int = 0
    unmappable: int = 0
    deleted: int = 0


def _store(session: Session, kind: MirrorKind, rows: list[DomainRow], now: datetime) -> None:
    if kind == "account":
        mirror.upsert_accounts(session, [r for r in rows if isinstance(r, domain.Account)], now)
    elif kind == "contact":
        mirror.upsert_contacts(session, [r for r in rows if isinstance(r, domain.Contact)], now)
    else:
        triggers = [r for r in rows if isinstance(r, domain.TriggerRecord)]
        mirror.upsert_trigger_records(session, triggers, now)


def _map(target: PullTarget, records: Sequence[CrmRecord], stats: PullStats) -> list[DomainRow]:
    """Map a page; a record the mapper refuses is logged by id and field, never stored half."""
    rows: list[DomainRow] = []
    for record in records:
        try:
            rows.append(target.to_domain(record))
        except ValueError as error:
            stats.unmappable += 1
            log.warning(
                "crm_record_unmappable", object=record.object, record_id=record.id, error=str(error)
            )
    return rows


def _commit_pages(
    sessions: sessionmaker[Session],
    crm: str,
    cursor_key: str,
    *,
    pages: Iterator[Page],
    apply: Callable[[Session, Page], None],
    now: Callable[[], datetime],
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
                )
        count += 1
    return count


def pull_into_mirror(
    client: CrmClient,
    sessions: sessionmaker[Session],
    target: PullTarget,
    now: Callable[[], datetime],
) -> PullStats:
    """Pull one object's changes and deletions since the committed cursors into the mirror."""
    stats = PullStats(target.object_name)
    deleted_key = target.object_name + DELETED_SUFFIX
    with sessions() as session:
        since = Cursor(*mirror.read_cursor(session, client.name, target.object_name))
        deleted_since = Cursor(*mirror.read_cursor(session, client.name, deleted_key))

    def store_changes(session: Session, page: Page) -> None:
        rows = _map(target, page.records, stats)
        _store(session, target.kind, rows, now())
        stats.stored += len(rows)

    def store_deletions(session: Session, page: Page) -> None:
        ids = [record.id for record in page.records]
        stats.deleted += mirror.mark_deleted(
            session, client.name, target.kind, target.object_name, crm_ids=ids, now=now()
        )

    stats.pages = _commit_pages(
        sessions,
        client.name,
        target.object_name,
        pages=client.pull(target.object_name, target.fields, since),
        apply=store_changes,
        now=now,
    )
    stats.pages += _commit_pages(
        sessions,
        client.name,
        deleted_key,
        pages=client.pull_deleted(target.object_name, deleted_since),
        apply=store_deletions,
        now=now,
    )
    log.info(
        "object_pulled",
        crm=client.name,
        object=target.object_name,
        pages=stats.pages,
        stored=stats.stored,
        unmappable=stats.unmappable,
        deleted=stats.deleted,
    )
    return stats

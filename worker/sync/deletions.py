"""Records deleted in the CRM, found at a cost that does not grow with the CRM's archive.

Most CRMs list deletions since a time (`pull_deleted` after a cursor). HubSpot cannot: its
archive is listed whole, 100 records a call, so with 10,000 archived contacts and a cycle every
five minutes the listing alone would cost about 29,000 calls a day. For such a CRM
(`ArchiveLister`) the whole archive is listed on a slow schedule, and each cycle checks by id
only the records the loop is about to act on (`worker.store.in_play`): ceil(n / 100) calls.
"""

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from worker.store import mirror
from worker.store.in_play import in_play
from worker.sync.base import ArchiveLister, CrmClient, Cursor, Page

log = structlog.get_logger(__name__)

DELETED_SUFFIX = "#deleted"
LISTED_SUFFIX = "#archive_listed"
"""Cursor key suffixes: the newest deletion seen, and when the archive was last listed whole."""

Target = tuple[str, mirror.MirrorKind]
"""A mirrored CRM object: its name, and which mirror table holds it."""


def deletion_pages(
    client: CrmClient,
    sessions: sessionmaker[Session],
    object_name: str,
    now: datetime,
) -> Iterator[Page]:
    """The deletions to read this cycle: all since the cursor, or, from a CRM that can only list
    its whole archive, nothing until a listing is due. A listing read to its end is recorded."""
    with sessions() as session:
        since = Cursor(*mirror.read_cursor(session, client.name, object_name + DELETED_SUFFIX))
        listed_at, _ = mirror.read_cursor(session, client.name, object_name + LISTED_SUFFIX)
    if not isinstance(client, ArchiveLister):
        yield from client.pull_deleted(object_name, since)
        return
    if listed_at is not None and now - listed_at < client.archive_listing_every:
        return
    yield from client.pull_deleted(object_name, since)
    with sessions.begin() as session:
        mirror.write_cursor(
            session, client.name, object_name + LISTED_SUFFIX, watermark=now, last_id=None, now=now
        )
    log.info("archive_listed", crm=client.name, object=object_name)


def confirm_in_play(
    client: CrmClient,
    sessions: sessionmaker[Session],
    targets: Sequence[Target],
    now: Callable[[], datetime],
) -> int:
    """Mark deleted the records in play that the CRM no longer has (an `ArchiveLister` only:
    other CRMs report every deletion each cycle); returns how many."""
    if not isinstance(client, ArchiveLister):
        return 0
    found = 0
    for object_name, kind in targets:
        with sessions() as session:
            ids = in_play(session, client.name, kind, object_name)
        gone = client.archived(object_name, ids) if ids else []
        if gone:
            with sessions.begin() as session:
                found += mirror.mark_deleted(
                    session, client.name, kind, object_name, crm_ids=gone, now=now()
                )
    if found:
        log.info("deleted_in_play", crm=client.name, records=found)
    return found

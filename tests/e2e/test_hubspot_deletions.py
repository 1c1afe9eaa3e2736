"""HubSpot deletions at a cost that does not grow with the archive.

HubSpot lists archived records whole (the list endpoint cannot filter them by date). The
worker lists the archive once a day and, each cycle, checks by id only the records it is acting
on. Judged from the portal's request log and the worker's mirror.
"""

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.loop_harness import START, Company, company
from worker.sandbox.hubspot.objects import CONTACTS
from worker.sandbox.server import Sandbox
from worker.store.in_play import in_play
from worker.store.models import Contact

pytestmark = pytest.mark.e2e

LISTING = re.compile(r"^/crm/v3/objects/[a-z]+$")
"""GET on an object's collection: the list endpoint, which the worker uses for its archive."""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A HubSpot portal of 60 people with its rate limits off (the loop paces itself)."""
    running = Sandbox(seed=4, size=60, start=START, hubspot_rate_limits=False).start()
    try:
        yield running
    finally:
        running.stop()


def listings(whole: Company, since: int) -> int:
    """Archive listings (list calls) the worker made from the `since`-th request on."""
    entries = whole.sandbox.log.entries(crm="hubspot", method="GET")
    return sum(1 for entry in entries[since:] if LISTING.search(entry.path))


def archive(sandbox: Sandbox, crm_id: str) -> None:
    """Someone deletes the contact in HubSpot (archived for 90 days)."""
    portal = sandbox.hubspot
    with portal.lock:
        record = portal.store.get(CONTACTS, crm_id)
        assert record is not None
        portal.archive(CONTACTS, record, sandbox.clock.now())


def deleted(whole: Company, crm_id: str) -> bool:
    """Whether the worker's mirror has the contact as deleted."""
    with whole.store.sessions() as session:
        return session.scalars(select(Contact.deleted).where(Contact.crm_id == crm_id)).one()


def test_records_in_play_are_checked_each_cycle_and_the_archive_listed_daily(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A contact with an open follow-up, deleted in HubSpot, is seen deleted the next cycle
    without listing the archive; one the loop is not acting on waits for the daily listing."""
    with company("hubspot", sandbox, tmp_path) as whole:
        whole.run_days(3)
        whole.advance_to(whole.sandbox.clock.now() + dt.timedelta(hours=12))
        whole.cycle()  # over a day since Wednesday's listings: this cycle lists every object
        with whole.store.sessions() as session:
            acting_on = in_play(session, "hubspot", "contact", CONTACTS.name)
            idle = [
                crm_id
                for crm_id in session.scalars(
                    select(Contact.crm_id).where(Contact.deleted.is_(False))
                )
                if crm_id not in acting_on
            ]
        assert acting_on
        assert idle
        archive(sandbox, acting_on[0])
        archive(sandbox, idle[0])
        mark = len(sandbox.log.entries(crm="hubspot", method="GET"))
        whole.advance_to(whole.sandbox.clock.now() + dt.timedelta(hours=6))
        whole.cycle()
        assert deleted(whole, acting_on[0])
        assert not deleted(whole, idle[0])
        assert listings(whole, mark) == 0
        whole.advance_to(whole.sandbox.clock.now() + dt.timedelta(days=1))
        whole.cycle()
        assert deleted(whole, idle[0])
        assert listings(whole, mark) == len(whole.loop.links[0].targets)

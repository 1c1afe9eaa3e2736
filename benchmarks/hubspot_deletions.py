"""HubSpot deletion detection: API calls per day with a large archive, before and after.

    .venv/bin/python benchmarks/hubspot_deletions.py --archived 10000 --live 2000 --in-play 300

HubSpot's list endpoint cannot filter archived records by date, so finding deletions by listing
the archive costs ceil(archive / 100) calls however little changed. Before: that listing ran
every cycle. After (`worker.sync.deletions`): each cycle checks by id only the records the loop
is acting on, and the archive is listed once per `crm.hubspot.archive_listing_every` (24 h).

The sandbox runs in a child process with HubSpot's real rate limits (tier 190); `--archived`
of its contacts are archived before the worker first looks. The worker's store (SQLite, built by
the migrations) mirrors the live contacts through the production pull, and `--in-play` contacts
have a survey out (a tenth of them among the archived). "Before" lists the archive once and
multiplies its calls by the cycles in a day; "after" runs the production deletion step
(`confirm_in_play`, then `pull_deletions`) for a simulated day of cycles on an advancing clock
and counts every call it makes.
"""

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sandbox_process import SandboxProcess

from worker.sandbox.hubspot.objects import CONTACTS
from worker.sandbox.server import Sandbox
from worker.store import mirror
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade
from worker.store.models import Contact, Crm, Survey, SurveyChannel, SurveyState
from worker.sync.base import Cursor
from worker.sync.deletions import LISTED_SUFFIX, confirm_in_play
from worker.sync.endpoint import endpoint_session
from worker.sync.hubspot import HubSpotSettings, build_client
from worker.sync.pull import pull_deletions

TOKEN = "benchmark-token"  # noqa: S105 - the sandbox accepts any bearer token
DAY = timedelta(days=1)
TARGET = (CONTACTS.name, "contact")


class Prepared:
    """Child process: real rate limits at tier 190, and the first `archived` contacts archived."""

    def __init__(self, archived: int) -> None:
        self.archived = archived

    def __call__(self, sandbox: Sandbox) -> None:
        portal = sandbox.hubspot
        portal.set_rate_limits(tier=190)
        yesterday = sandbox.clock.now() - DAY
        with portal.lock:
            contacts = sorted(portal.store.all(CONTACTS), key=lambda record: int(record.id))
            for record in contacts[: self.archived]:
                portal.archive(CONTACTS, record, yesterday)
            portal.store.publish_all()


def statuses(sandbox: Sandbox) -> dict[int, int]:
    """Child process: HTTP statuses the portal answered."""
    return dict(Counter(entry.status for entry in sandbox.log.entries(crm="hubspot")))


class Calls:
    """Counts the worker's HubSpot calls by kind, from a response hook on its session."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """requests response hook."""
        path = response.request.path_url.split("?")[0]
        kind = "list" if path.rstrip("/").endswith("/contacts") else path.rsplit("/", 1)[-1]
        self.counts[kind] += 1

    def total(self) -> int:
        """Every call counted so far."""
        return sum(self.counts.values())


def bench(archived: int, live: int, in_play: int, cycle_minutes: int, seed: int) -> None:
    """Measure one listing (before) and a simulated day of the worker's deletion step (after)."""
    started = time.monotonic()
    child = SandboxProcess(
        statuses, Prepared(archived), size=archived + live, seed=seed, hubspot_rate_limits=True
    )
    with child, tempfile.TemporaryDirectory() as folder:
        print(f"sandbox: {archived + live:,} contacts, {archived:,} archived, up in", end=" ")
        print(f"{time.monotonic() - started:.0f}s")
        session = endpoint_session(child.base_url, child.ca_path)
        calls = Calls()
        session.hooks["response"].append(calls.hook)
        settings = HubSpotSettings(base_url=child.base_url, tier=190, search_per_second=4)
        client = build_client(settings, env={settings.token_env: TOKEN}, session=session)
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        sessions = session_factory(make_engine(url))
        listing = list(client.pull_deleted(CONTACTS.name, Cursor()))
        per_listing = calls.counts["list"]
        gone = [record.id for page in listing for record in page.records]
        live_ids = _live_ids(client, live)
        now = datetime.now(UTC).replace(microsecond=0)
        _mirror_in_play(sessions, live_ids[: in_play - in_play // 10], gone[: in_play // 10], now)
        cycles = int(DAY / timedelta(minutes=cycle_minutes))
        print(f"\narchive listing: {len(gone):,} archived contacts in {per_listing} calls")
        print(f"\n{'deletion detection':<34}{'calls/cycle':>12}{'calls/day':>11}")
        print(f"  {'before: list every cycle':<32}{per_listing:>12,}{per_listing * cycles:>11,}")
        with sessions.begin() as db:  # the archive was just listed, as on a first cycle
            key = CONTACTS.name + LISTED_SUFFIX
            mirror.write_cursor(db, "hubspot", key, watermark=now, last_id=None, now=now)
        before = Counter(calls.counts)
        found = 0
        tick = time.monotonic()
        for cycle in range(1, cycles + 1):
            moment = now + cycle * timedelta(minutes=cycle_minutes)
            found += confirm_in_play(client, sessions, [TARGET], lambda at=moment: at)
            pull_deletions(client, sessions, TARGET, lambda at=moment: at)
        spent = calls.counts - before
        day = sum(spent.values())
        print(f"  {'after: in play by id + daily list':<32}{day / cycles:>12.1f}{day:>11,}")
        print(f"    ({in_play} contacts in play, {found} of them found deleted by id;")
        print(f"     calls over the day by kind: {dict(spent)})")
        print(f"  simulated day ran in {time.monotonic() - tick:.0f}s of wall time")
        print(f"\nHTTP statuses seen by the portal: {child.stop()}")


def _live_ids(client: Any, count: int) -> list[str]:
    """Ids of up to `count` live contacts, read with the production pull (search)."""
    ids: list[str] = []
    for page in client.pull(CONTACTS.name, ("email",), Cursor()):
        ids.extend(record.id for record in page.records)
        if len(ids) >= count:
            break
    return ids[:count]


def _mirror_in_play(sessions: Any, live: list[str], archived: list[str], now: datetime) -> None:
    """Mirror the contacts and give each an open survey (sent, not answered yet)."""
    with sessions.begin() as session:
        for n, crm_id in enumerate([*live, *archived]):
            contact = Contact(
                crm=Crm.HUBSPOT,
                crm_id=crm_id,
                email=f"bench{n}@example.com",
                opted_out=False,
                fields={},
                modified_at=now - DAY,
                deleted=False,
                synced_at=now,
            )
            session.add(contact)
            session.flush()
            session.add(
                Survey(
                    program="relationship",
                    contact_id=contact.id,
                    token_id=f"bench-{n}",
                    state=SurveyState.SENT,
                    language="en",
                    channel=SurveyChannel.EMAIL,
                    planned_at=now,
                    scheduled_for=now,
                    sent_at=now,
                    reminder_count=0,
                )
            )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archived", type=int, default=10_000, help="archived contacts")
    parser.add_argument("--live", type=int, default=2_000, help="live contacts")
    parser.add_argument("--in-play", type=int, default=300, help="contacts with a survey out")
    parser.add_argument("--cycle-minutes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    bench(args.archived, args.live, args.in_play, args.cycle_minutes, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

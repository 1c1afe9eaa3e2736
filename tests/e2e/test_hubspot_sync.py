"""The HubSpot connector against the sandbox portal over real HTTPS, through the real SDK.

Big pulls past the search cap, 429/5xx/drop storms, kill-and-resume, idempotent task creation,
write-back without echo, and setup/check on a live property catalog.
"""

import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.sandbox import SandboxFactory
from tests.sandbox_session import sandbox_session
from worker.config import parse_config
from worker.domain import ContactWriteback
from worker.mappers.hubspot import (
    HubSpotMapping,
    contact_update,
    mapping_from_config,
    pull_properties,
    to_contact,
)
from worker.sandbox.faults import DateStyle, FaultRule
from worker.sandbox.hubspot.objects import CONTACTS
from worker.sandbox.server import DEFAULT_INDEX_LAG, Sandbox
from worker.store.models import OutboxEntry, OutboxState
from worker.sync.base import CrmRecord, Cursor, FieldUpdate, Page, TaskPriority, TaskSpec
from worker.sync.hubspot import (
    HubSpotClient,
    HubSpotSettings,
    RetryPolicy,
    build_client,
    check_properties,
    setup_properties,
)
from worker.sync.outbox import Outbox, enqueue_update

pytestmark = pytest.mark.e2e

TOKEN = "sandbox-token"
SEARCH = r"/crm/v3/objects/contacts/search$"
MAPPING = HubSpotMapping(contact_writeback={"last_score": "nps_last_score"})
FIELDS = pull_properties(MAPPING, "contacts")


@dataclass
class Waits:
    """A clock that jumps over the waits the client asks for, recording them, instead of sleeping.

    Used where the sandbox's own rate limits are off, so skipping a wait cannot cause a 429.
    """

    seconds: list[float] = field(default_factory=list)
    skipped: float = 0.0

    def clock(self) -> float:
        """Real monotonic time plus every wait skipped so far."""
        return time.monotonic() + self.skipped

    def sleep(self, seconds: float) -> None:
        """Record one wait and jump the clock over it."""
        self.seconds.append(seconds)
        self.skipped += seconds


def connect(
    sandbox: Sandbox,
    *,
    search_per_second: int = 1_000,
    sleep: Waits | None = None,
    retry: RetryPolicy | None = None,
    **overrides: object,
) -> HubSpotClient:
    """A connector pointed at the sandbox, built by the production factory."""
    settings = HubSpotSettings(
        base_url=sandbox.base_url, tier=190, search_per_second=search_per_second, **overrides
    )
    if sleep is None:
        return build_client(
            settings, env={settings.token_env: TOKEN}, session=sandbox_session(sandbox)
        )
    return build_client(
        settings,
        env={settings.token_env: TOKEN},
        session=sandbox_session(sandbox),
        clock=sleep.clock,
        sleep=sleep.sleep,
        retry=retry,
    )


def ids(pages: list[Page]) -> list[str]:
    """Every record id the pages hold, in order."""
    return [record.id for page in pages for record in page.records]


def contact_ids(sandbox: Sandbox) -> set[str]:
    """Ids of every live contact in the portal."""
    return {record["hs_object_id"] for record in sandbox.hubspot.records("contacts")}


INSTANT = datetime(2026, 1, 15, 8, 30, 0, 123_000, tzinfo=UTC)
INDEX_LAG = timedelta(seconds=DEFAULT_INDEX_LAG[1])
"""The longest a write takes to reach the sandbox's search."""


def clustered(sandbox: Sandbox, first: int, count: int) -> Sandbox:
    """Stamp `count` contacts (from the `first`-th by id) with one modification millisecond."""
    portal = sandbox.hubspot
    with portal.lock:
        records = sorted(portal.store.all(CONTACTS), key=lambda r: int(r.id))
        for record in records[first : first + count]:
            portal.update(CONTACTS, record, {}, INSTANT)
        portal.store.publish_all()  # a bulk update of long ago: search has long seen it
    return sandbox


class TestBigPull:
    """Pulling past the 10,000-result search cap, and resuming after a kill."""

    def test_25k_contacts_with_12k_in_one_instant(self, sandbox_factory: SandboxFactory) -> None:
        """Every contact arrives exactly once, no query pages past the cap, calls near the floor."""
        sandbox = sandbox_factory(size=25_000, seed=3, hubspot_rate_limits=False)
        clustered(sandbox, 5_000, 12_000)
        sandbox.log.clear()
        pages = list(connect(sandbox).pull("contacts", FIELDS, Cursor()))
        pulled = ids(pages)
        assert len(pulled) == len(set(pulled)) == 25_000
        assert set(pulled) == contact_ids(sandbox)
        searches = sandbox.log.entries(path_pattern=SEARCH)
        assert all(entry.status == 200 for entry in searches)
        assert len(searches) <= 1.05 * math.ceil(25_000 / 200) + 2
        assert any(page.cursor.modified_at == INSTANT and page.cursor.last_id for page in pages)

    def test_kill_inside_the_instant_and_resume(self, sandbox_factory: SandboxFactory) -> None:
        """Stop mid-instant (cursor carries an id), resume from the committed cursor: no loss."""
        sandbox = clustered(
            sandbox_factory(size=3_000, seed=4, hubspot_rate_limits=False), 500, 1_500
        )
        first: list[str] = []
        committed = Cursor()
        for page in connect(sandbox).pull("contacts", FIELDS, Cursor()):
            first.extend(record.id for record in page.records)
            committed = page.cursor
            if committed.modified_at == INSTANT and committed.last_id is not None:
                break
        assert committed.last_id is not None
        second = ids(list(connect(sandbox).pull("contacts", FIELDS, committed)))
        assert len(second) == len(set(second))
        assert set(first) | set(second) == contact_ids(sandbox)


class TestStorms:
    """429, 5xx and dropped connections on every HubSpot path."""

    def test_pull_and_write_through_a_storm(self, sandbox_factory: SandboxFactory) -> None:
        """Rate-limit and server-error storms cost retries (waits as HubSpot asks), not data."""
        sandbox = sandbox_factory(size=600, seed=11, hubspot_rate_limits=False)
        setup_properties(connect(sandbox), MAPPING)
        sandbox.faults.add(FaultRule("hubspot", r"^/crm/", "429", 0.35))
        sandbox.faults.add(FaultRule("hubspot", r"^/crm/", "503", 0.1))
        sandbox.faults.add(FaultRule("hubspot", r"^/crm/", "drop", 0.05))
        waits = Waits()
        client = connect(sandbox, sleep=waits, retry=RetryPolicy(attempts=14))
        pulled = ids(list(client.pull("contacts", FIELDS, Cursor())))
        assert sorted(pulled) == sorted(contact_ids(sandbox))
        updates = [FieldUpdate("contacts", cid, {"nps_last_score": "7"}, cid) for cid in pulled]
        assert all(result.ok for result in client.update(updates))
        due = datetime(2026, 2, 1, tzinfo=UTC)
        tasks = [
            TaskSpec(f"fu-{cid}", "Call", "NPS 2", due, TaskPriority.HIGH, None, cid, None)
            for cid in pulled[:40]
        ]
        first = client.create_tasks(tasks)
        sandbox.clock.advance(INDEX_LAG)  # a later call: search has seen the tasks made
        again = client.create_tasks(tasks)
        sandbox.faults.clear()
        assert all(result.ok for result in first)
        assert [r.crm_id for r in again] == [r.crm_id for r in first]
        made = [t for t in sandbox.hubspot.records("tasks") if t.get("nps_dedup_key")]
        assert len(made) == len({t["nps_dedup_key"] for t in made}) == 40
        assert all(sandbox.hubspot.record("contacts", c)["nps_last_score"] == "7" for c in pulled)
        statuses = [entry.status for entry in sandbox.log.entries(crm="hubspot")]
        assert statuses.count(429) > 0
        assert 10.0 in waits.seconds  # no Retry-After: the 429's rate-limit interval header

    def test_real_rate_limits_are_not_hit(self, sandbox_factory: SandboxFactory) -> None:
        """With the portal's limits on, client-side pacing keeps every response a 2xx."""
        sandbox = sandbox_factory(size=1_200, seed=5)
        client = connect(sandbox, search_per_second=4)
        pulled = ids(list(client.pull("contacts", FIELDS, Cursor())))
        updates = [FieldUpdate("contacts", cid, {"nps_last_score": "9"}, cid) for cid in pulled]
        assert all(result.ok for result in client.update(updates))
        assert {entry.status for entry in sandbox.log.entries(crm="hubspot")} <= {200, 201, 207}

    def test_the_whole_portal_search_rate_without_a_429(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """Configured at the portal's own 5 searches a second, the pull reads 2,000 contacts in
        10 searches (no search for an empty 11th page) and the portal refuses none of them."""
        sandbox = sandbox_factory(size=2_000, seed=5)
        client = connect(sandbox, search_per_second=5)
        pulled = ids(list(client.pull("contacts", FIELDS, Cursor())))
        searches = sandbox.log.entries(crm="hubspot", path_pattern=r"/search$")
        assert len(pulled) == 2_000
        assert [entry.status for entry in searches] == [200] * 10


class TestPacingWithoutRetryAfter:
    """HubSpot's 429s name the policy and carry the window's headers, never Retry-After."""

    def test_a_portal_allowing_less_than_configured_is_followed(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """The worker was told 190 calls per 10 s, the portal allows 100: the headers pull the
        worker's window down, every write lands, and refusals stay under HubSpot's 5 %."""
        waits = Waits()
        sandbox = sandbox_factory(size=300, seed=12)
        sandbox.hubspot.reset_rate_limits(waits.clock)  # the portal's windows on the same time
        sandbox.hubspot.set_rate_limits(tier=100)
        client = connect(sandbox, sleep=waits, search_per_second=4)
        targets = sorted(contact_ids(sandbox), key=int)[:250]
        for cid in targets:
            [result] = client.update([FieldUpdate("contacts", cid, {"nps_last_score": "6"}, cid)])
            assert result.ok, result.error
        entries = sandbox.log.entries(crm="hubspot")
        refused = [entry for entry in entries if entry.status == 429]
        assert len(entries) >= 250
        assert len(refused) <= 0.05 * len(entries)
        assert sum(waits.seconds) >= 10.0  # 250 calls at 100 per 10 s took waiting

    def test_a_storm_of_429s_reschedules_writes_by_the_policy_interval(
        self, sandbox: Sandbox, sessions: sessionmaker[Session]
    ) -> None:
        """Refused past the client's retries, the writes come back after the ten-second window
        the 429 names, not after the hour kept for an exhausted daily budget."""
        sandbox.faults.add(FaultRule("hubspot", r"/batch/update$", "429", 1.0, limit=3))
        client = connect(sandbox, sleep=Waits(), retry=RetryPolicy(attempts=2))
        now = sandbox.clock.now()
        with sessions.begin() as session:
            for cid in sorted(contact_ids(sandbox), key=int)[:5]:
                update = FieldUpdate("contacts", cid, {"nps_last_score": "3"}, f"u-{cid}")
                enqueue_update(session, "hubspot", update, essential=True, now=now)
        stats = Outbox(client, sessions, lambda: now).drain()
        assert stats.stopped_by == "TEN_SECONDLY_ROLLING"
        with sessions() as session:
            rows = list(session.scalars(select(OutboxEntry)))
        assert {row.state for row in rows} == {OutboxState.PENDING}
        assert {row.next_attempt_at - now for row in rows} == {timedelta(seconds=10)}
        assert {row.attempts for row in rows} == {0}


class TestWritebackLoop:
    """Write-backs land once, and our own writes do not come back as changes."""

    def test_no_echo_and_no_rewrite(self, sandbox: Sandbox) -> None:
        """After a write-back, the next pull maps to the same contacts and nothing is rewritten."""
        client = connect(sandbox)
        setup_properties(client, MAPPING)
        before = [r for p in client.pull("contacts", FIELDS, Cursor()) for r in p.records]
        writeback = ContactWriteback(last_score=4)
        updates = [
            u
            for record in before
            if (u := contact_update(record.id, writeback, record.fields, MAPPING, record.id))
        ]
        assert all(result.ok for result in client.update(updates))
        sandbox.clock.advance(INDEX_LAG)  # the next cycle: search has seen the write-backs
        cursor = max((r.modified_at for r in before), default=None)
        after = {
            r.id: r for p in client.pull("contacts", FIELDS, Cursor(cursor)) for r in p.records
        }
        assert set(after) == {record.id for record in before}
        assert [_domain(after[r.id]) for r in before] == [_domain(r) for r in before]
        sandbox.log.clear()
        rewrites = [
            contact_update(r.id, writeback, r.fields, MAPPING, r.id) for r in after.values()
        ]
        assert rewrites == [None] * len(after)
        assert client.update([u for u in rewrites if u is not None]) == []
        assert sandbox.log.count(crm="hubspot") == 0

    def test_archived_contacts_are_pulled_as_deletions(self, sandbox: Sandbox) -> None:
        """A contact archived in HubSpot comes back from `pull_deleted` after the cursor."""
        portal = sandbox.hubspot
        at = sandbox.clock.now()
        with portal.lock:
            victim = sorted(portal.store.all(CONTACTS), key=lambda r: int(r.id))[3]
            portal.archive(CONTACTS, victim, at)
        pages = list(connect(sandbox).pull_deleted("contacts", Cursor(at - timedelta(seconds=1))))
        assert [(r.id, r.deleted) for p in pages for r in p.records] == [(victim.id, True)]


class TestRefusedBatch:
    """HubSpot refuses a whole batch update for one bad value; the batch-mates still land."""

    def test_one_bad_value_delays_its_99_batch_mates_by_one_retry(self, sandbox: Sandbox) -> None:
        """A 400 for the batch, then one retry writes the 99; only the culprit is refused."""
        sent: list[tuple[int, list[str]]] = []

        def record(response: requests.Response, *args: object, **kwargs: object) -> None:
            if response.request.path_url.endswith("/batch/update"):
                body = json.loads(response.request.body or b"{}")
                sent.append((response.status_code, [item["id"] for item in body["inputs"]]))

        client = connect(sandbox)
        client.transport.session.hooks["response"].append(record)
        pulled = sorted(contact_ids(sandbox), key=int)[:50]
        portal = sandbox.hubspot
        extra = [
            portal.create(CONTACTS, {"email": f"p{n}@x.example"}, None, sandbox.clock.now())
            for n in range(50)
        ]
        targets = pulled + [record.id for record in extra]
        culprit = targets[37]
        updates = [
            FieldUpdate(
                "contacts",
                cid,
                {
                    "nps_last_score": str(n % 11),
                    "nps_last_category": "angry"
                    if cid == culprit
                    else ("detractor", "passive", "promoter")[n % 3],
                },
                cid,
            )
            for n, cid in enumerate(targets)
        ]
        results = client.update(updates)
        assert len(targets) == 100
        assert [r.dedup_key for r in results if not r.ok] == [culprit]
        assert all(
            portal.record("contacts", cid).get("nps_last_score")
            for cid in targets
            if cid != culprit
        )
        assert "nps_last_score" not in portal.record("contacts", culprit)
        assert sent[0] == (400, targets)
        tries = {cid: sum(cid in ids for _, ids in sent) for cid in targets}
        assert {cid: n for cid, n in tries.items() if n != 2} == {}
        assert all(status == 200 for status, ids in sent[1:] if culprit not in ids)


class TestServerDate:
    """The answer's `Date` bounds the cursor; a naive one is UTC and never fails a pull."""

    @pytest.mark.parametrize(
        "style",
        [
            pytest.param("minus_zero", id="minus-zero-zone"),
            pytest.param("doubled", id="proxy-doubled-header"),
        ],
    )
    def test_naive_date_is_read_as_utc(self, sandbox: Sandbox, style: DateStyle) -> None:
        """`-0000` and a doubled header parse to naive datetimes: the pull reads them as UTC."""
        sandbox.date_style = style
        lookback = timedelta(minutes=5)
        portal = sandbox.hubspot
        with portal.lock:
            newest = sorted(portal.store.all(CONTACTS), key=lambda r: int(r.id))[0]
            portal.update(CONTACTS, newest, {"firstname": "Datecheck"}, sandbox.clock.now())
        pages = list(connect(sandbox, lookback=lookback).pull("contacts", FIELDS, Cursor()))
        assert sorted(ids(pages), key=int) == sorted(contact_ids(sandbox), key=int)
        last = pages[-1].cursor.modified_at
        assert last is not None
        assert last.tzinfo is not None
        assert last <= sandbox.clock.now() - lookback


def _domain(record: CrmRecord) -> object:
    contact = to_contact(record, MAPPING)
    return (contact.email, contact.account_crm_id, contact.opted_out, contact.time_zone)


class TestSetupAndCheck:
    """`setup-crm` then `check` on the sandbox's live property catalog."""

    def test_setup_is_idempotent_and_check_is_clean(self, sandbox: Sandbox) -> None:
        """The config's mapping: setup creates what is missing once, then check finds nothing."""
        mapping = mapping_from_config(parse_config("crm:\n  kind: hubspot\n", "config.yaml", {}))
        client = connect(sandbox)
        created = setup_properties(client, mapping)
        assert "tasks.nps_dedup_key" in created
        assert setup_properties(client, mapping) == []
        assert check_properties(client, mapping) == []

"""The HubSpot connector's look-back against a sandbox whose search index lags its writes.

HubSpot search sees a change a few seconds after it is made. The connector never commits a
cursor later than the answer's `Date` minus the look-back, so a change that reached the index
late is still read by the next pull; and after a create that may have been applied, it waits
for search to catch up before looking for what the create made. The portal's lag runs on the
sandbox clock, which these tests move by hand (or by the client's own waits).
"""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.sandbox import SandboxFactory
from tests.sandbox_session import sandbox_session
from worker.mappers.hubspot import HubSpotMapping, pull_properties
from worker.sandbox.faults import FaultRule
from worker.sandbox.hubspot.objects import CONTACTS
from worker.sandbox.server import Sandbox
from worker.store.models import OutboxEntry, OutboxState
from worker.sync.base import Cursor, FieldUpdate, NoteSpec, Page, TaskPriority, TaskSpec
from worker.sync.hubspot import (
    HubSpotClient,
    HubSpotSettings,
    build_client,
    setup_properties,
)
from worker.sync.outbox import CLAIM_TTL, Outbox, enqueue_task

pytestmark = pytest.mark.e2e

TOKEN = "sandbox-token"
LAG_S = 1.0
FIELDS = pull_properties(
    HubSpotMapping(contact_writeback={"last_score": "nps_last_score"}), CONTACTS.name
)


class Ticks:
    """A hand-moved monotonic clock for the portal's index lag."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    """The monotonic time the portal's index lag runs on."""
    return Ticks()


@pytest.fixture
def lagging(sandbox_factory: SandboxFactory, ticks: Ticks) -> Sandbox:
    """A small sandbox whose clock moves with `ticks`; search sees each write LAG_S after it."""
    return sandbox_factory(
        size=40,
        seed=21,
        hubspot_rate_limits=False,
        hubspot_index_lag=(LAG_S, LAG_S),
        monotonic=ticks,
    )


def connect(sandbox: Sandbox, lookback: timedelta) -> HubSpotClient:
    """The connector, built by the production factory, pulling with `lookback`."""
    settings = HubSpotSettings(
        base_url=sandbox.base_url, tier=190, search_per_second=1_000, lookback=lookback
    )
    return build_client(settings, env={settings.token_env: TOKEN}, session=sandbox_session(sandbox))


def pull(client: HubSpotClient, since: Cursor) -> tuple[dict[str, dict[str, str]], Cursor]:
    """One pull of contacts from `since`: the fields read per id, and the cursor to commit."""
    pages: list[Page] = list(client.pull(CONTACTS.name, FIELDS, since))
    read = {record.id: dict(record.fields) for page in pages for record in page.records}
    return read, pages[-1].cursor if pages else since


class TestIndexLag:
    """Changes the index shows late are read by a later pull, thanks to the look-back."""

    def test_changes_hidden_by_the_lag_come_with_the_next_pull(
        self, lagging: Sandbox, ticks: Ticks
    ) -> None:
        """Write-backs invisible to the pull right after them arrive with the pull after the lag."""
        client = connect(lagging, timedelta(seconds=2 * LAG_S))
        first, committed = pull(client, Cursor())
        assert set(first) == set(lagging.hubspot.contact_ids())
        changed = sorted(first, key=int)[::4]
        updates = [FieldUpdate(CONTACTS.name, cid, {"nps_last_score": "7"}, cid) for cid in changed]
        assert all(result.ok for result in client.update(updates))
        right_after, committed = pull(client, committed)
        ticks.now += LAG_S
        after_lag, _ = pull(client, committed)
        assert not set(changed) & set(right_after)
        assert {cid: after_lag[cid]["nps_last_score"] for cid in changed} == dict.fromkeys(
            changed, "7"
        )

    @pytest.mark.parametrize(
        ("lookback", "caught"),
        [
            pytest.param(timedelta(0), False, id="no-look-back-skips-it"),
            pytest.param(timedelta(seconds=60), True, id="look-back-catches-it"),
        ],
    )
    def test_a_change_indexed_after_a_later_one(
        self, lagging: Sandbox, ticks: Ticks, lookback: timedelta, caught: bool
    ) -> None:
        """A change made 20 s ago but indexed after one made 10 s ago is read only with a look-back.

        The pull that sees the 10 s-old change moves the cursor past the 20 s-old one unless
        the look-back holds it back (a long transaction stamps a write before it is made).
        """
        portal = lagging.hubspot
        now = lagging.clock.now()
        client = connect(lagging, lookback)
        _, committed = pull(client, Cursor())
        assert committed.modified_at is not None
        assert committed.modified_at < now - timedelta(seconds=30)
        with portal.lock:
            early, late = sorted(portal.store.all(CONTACTS), key=lambda r: int(r.id))[2:4]
            portal.update(CONTACTS, late, {"nps_last_score": "8"}, now - timedelta(seconds=10))
        ticks.now += LAG_S
        with portal.lock:
            portal.update(CONTACTS, early, {"nps_last_score": "2"}, now - timedelta(seconds=20))
        seen, committed = pull(client, committed)
        assert late.id in seen
        assert early.id not in seen
        ticks.now += LAG_S
        again, _ = pull(client, committed)
        assert (early.id in again) is caught


class TestInterruptedCreates:
    """A create whose answer is lost is looked for after the lag, never made twice."""

    CREATES = r"/crm/v3/objects/(tasks|notes)/batch/create$"
    """Batch creates of tasks and notes; the first of each is applied and its answer lost."""

    def test_no_task_or_note_twice_under_the_default_lag(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """The first batch create of tasks and of notes is applied by the portal and its answer
        lost; with the default wait, the search after it finds all 20 records (each reaching
        search 1-15 s after it was made), so none is created again."""
        sandbox = sandbox_factory(size=40, seed=23, hubspot_rate_limits=False)
        settings = HubSpotSettings(base_url=sandbox.base_url, tier=190, search_per_second=1_000)

        def wait(seconds: float) -> None:
            """The world's time passes while the client waits."""
            sandbox.clock.advance(timedelta(seconds=seconds))

        session = sandbox_session(sandbox)
        client = build_client(
            settings, env={settings.token_env: TOKEN}, session=session, sleep=wait
        )
        setup_properties(client, HubSpotMapping())
        for kind in ("tasks", "notes"):
            path = f"/crm/v3/objects/{kind}/batch/create$"
            sandbox.faults.add(FaultRule("hubspot", path, "lost", 1.0, limit=1))
        contacts = sorted(sandbox.hubspot.contact_ids(), key=int)[:10]
        due = sandbox.clock.now() + timedelta(days=1)
        tasks = [
            TaskSpec(f"fu-{cid}", "Call", "NPS 2", due, TaskPriority.HIGH, None, cid, None)
            for cid in contacts
        ]
        notes = [NoteSpec(f"note-{cid}", "NPS 2", due, cid, None) for cid in contacts]
        made_tasks = client.create_tasks(tasks)
        made_notes = client.create_notes(notes)
        assert all(result.ok for result in [*made_tasks, *made_notes])
        creates = sandbox.log.entries(path_pattern=self.CREATES)
        assert [(entry.fault, entry.status) for entry in creates] == [("lost", 0), ("lost", 0)]
        for kind, prefix in (("tasks", "fu-"), ("notes", "note-")):
            keys = [
                record["nps_dedup_key"]
                for record in sandbox.hubspot.records(kind)
                if record.get("nps_dedup_key", "").startswith(prefix)
            ]
            assert sorted(keys) == sorted(f"{prefix}{cid}" for cid in contacts), kind


class Died(BaseException):
    """The drainer's process dies (like SystemExit: no `except Exception` stops it)."""


class TestCreatesOfADeadDrainer:
    """A drainer dies after HubSpot took its task create, before keeping the outcome; a fresh
    process re-sends the claimed row once the claim lapses. The task must stay one task."""

    KEY = "followup:46:escalation:1"

    def _client(self, sandbox: Sandbox) -> HubSpotClient:
        """A fresh process's client, whose waits pass on the portal's clock."""
        settings = HubSpotSettings(base_url=sandbox.base_url, tier=190, search_per_second=1_000)

        def wait(seconds: float) -> None:
            sandbox.clock.advance(timedelta(seconds=seconds))

        return build_client(
            settings,
            env={settings.token_env: TOKEN},
            session=sandbox_session(sandbox),
            sleep=wait,
        )

    def _die_after_create(
        self, sandbox: Sandbox, sessions: sessionmaker[Session], now: Callable[[], datetime]
    ) -> str:
        """Queue one escalation task and drain it with a process that dies once HubSpot made
        it; the id HubSpot gave the task."""
        client = self._client(sandbox)
        setup_properties(client, HubSpotMapping())
        contact = sorted(sandbox.hubspot.contact_ids(), key=int)[0]
        due = sandbox.clock.now() + timedelta(days=1)
        task = TaskSpec(self.KEY, "Escalated", "NPS 2", due, TaskPriority.HIGH, None, contact, None)
        with sessions.begin() as session:
            enqueue_task(session, "hubspot", task, now=now())
        made: list[str] = []
        create = client.create_tasks

        def create_and_die(*args: object, **kwargs: object) -> object:
            made.extend(result.crm_id or "" for result in create(*args, **kwargs))  # type: ignore[arg-type]
            raise Died

        client.create_tasks = create_and_die  # type: ignore[method-assign]
        with pytest.raises(Died):
            Outbox(client, sessions, now).drain()
        assert len(made) == 1
        assert made[0]
        return made[0]

    def _tasks(self, sandbox: Sandbox) -> list[dict[str, str]]:
        """The portal's tasks holding the key, deleted ones included."""
        return [
            task
            for task in sandbox.hubspot.records("tasks", archived=True)
            if task.get("nps_dedup_key") == self.KEY
        ]

    def _states(self, sessions: sessionmaker[Session]) -> list[OutboxState]:
        with sessions() as session:
            return list(session.scalars(select(OutboxEntry.state)))

    def test_a_task_a_rep_deleted_meanwhile_is_not_made_again(
        self, sandbox_factory: SandboxFactory, sessions: sessionmaker[Session]
    ) -> None:
        """Hours later a rep has deleted the task; search no longer shows it, but the restarted
        drainer finds it among the archived tasks and creates nothing."""
        sandbox = sandbox_factory(size=20, seed=31, hubspot_rate_limits=False)
        task_id = self._die_after_create(sandbox, sessions, sandbox.clock.now)
        sandbox.clock.advance(timedelta(hours=6))
        sandbox.hubspot.delete_task(task_id, sandbox.clock.now())
        sandbox.clock.advance(timedelta(hours=12))

        Outbox(self._client(sandbox), sessions, sandbox.clock.now).drain()

        assert [task["hs_object_id"] for task in self._tasks(sandbox)] == [task_id]
        assert self._states(sessions) == [OutboxState.DONE]

    def test_a_task_still_inside_the_index_lag_is_not_made_again(
        self, sandbox_factory: SandboxFactory, sessions: sessionmaker[Session]
    ) -> None:
        """The restarted process's clock is past the claim (a clock that jumped, a clock taken
        from elsewhere) while HubSpot's search has not indexed the task yet: the drainer waits
        out the lag on its own before it looks, and creates nothing."""
        sandbox = sandbox_factory(
            size=20, seed=31, hubspot_rate_limits=False, hubspot_index_lag=(15.0, 15.0)
        )
        task_id = self._die_after_create(sandbox, sessions, sandbox.clock.now)

        def ahead() -> datetime:
            return sandbox.clock.now() + CLAIM_TTL

        Outbox(self._client(sandbox), sessions, ahead).drain()

        assert [task["hs_object_id"] for task in self._tasks(sandbox)] == [task_id]
        assert self._states(sessions) == [OutboxState.DONE]

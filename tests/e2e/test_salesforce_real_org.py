"""The Salesforce connector against a sandbox org as strict as a real one (issue 14).

Each test is judged from the org's side (its records, its request log) and names the real-org
behaviour it stands for: a least-privilege integration user, late-committing transactions,
Bulk API 2.0 jobs that take time, fail and gzip their results, sessions that expire, a recycle
bin that forgets, the concurrent-request limit, and per-record failures inside collections.
"""

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from tests.e2e.crm_setup import ENV as CRM_ENV
from tests.e2e.crm_setup import contacts_target, crm_config
from tests.sandbox_session import sandbox_session
from worker.sandbox.faults import FaultRule
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS, client_for
from worker.sandbox.salesforce.client import admin_client_for
from worker.status import gather, render
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade
from worker.store.models import Contact, OutboxEntry, OutboxState
from worker.sync.base import Cursor, FieldUpdate, NoteSpec, Rejected, TaskPriority, TaskSpec
from worker.sync.factory import connect as connect_configured
from worker.sync.outbox import Outbox, enqueue_update
from worker.sync.pull import PullStats, pull_into_mirror
from worker.sync.salesforce import (
    ClientCredentialsAuth,
    RetryPolicy,
    SalesforceClient,
    SalesforceSettings,
    make_salesforce_client,
)

if TYPE_CHECKING:
    from worker.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

SandboxFactory = Callable[..., "Sandbox"]
MY_DOMAIN = "northstar-sandbox.my"
ENV = {"SF_KEY": DEFAULT_CREDENTIALS.consumer_key, "SF_SECRET": DEFAULT_CREDENTIALS.consumer_secret}
DEDUP = "NPS_Dedup_Key__c"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VIEW_ALL_DATA = """<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>View All Data</label>
    <userPermissions><enabled>true</enabled><name>ViewAllData</name></userPermissions>
</PermissionSet>
"""


def connect(
    sandbox: "Sandbox", *, sleep: Callable[[float], None] = lambda _s: None, **settings: object
) -> SalesforceClient:
    """A fresh client on the sandbox org; its pauses go to `sleep` (by default: none)."""
    options = {
        "auth": ClientCredentialsAuth("SF_KEY", "SF_SECRET", domain=MY_DOMAIN),
        "retry": RetryPolicy(attempts=4, first_delay_s=0.0),
        **settings,
    }
    return make_salesforce_client(
        SalesforceSettings(**options),  # type: ignore[arg-type]
        session=sandbox_session(sandbox),
        environ=ENV,
        sleep=sleep,
    )


def follow_ups(sandbox: "Sandbox", count: int, prefix: str = "followup") -> list[TaskSpec]:
    """One detractor follow-up task per contact, for the first `count` contacts."""
    due = datetime(2026, 1, 7, tzinfo=UTC)
    return [
        TaskSpec(
            dedup_key=f"{prefix}:{contact['Id']}",
            subject="Call back a detractor",
            body="Score 2: onboarding was slow.",
            due_at=due,
            priority=TaskPriority.HIGH,
            owner_id=contact["OwnerId"],
            contact_id=contact["Id"],
            account_id=contact["AccountId"],
        )
        for contact in sandbox.salesforce.records("Contact")[:count]
    ]


def tasks_by_key(sandbox: "Sandbox") -> Counter[str]:
    """How many Task records the org holds per dedup key."""
    return Counter(task[DEDUP] for task in sandbox.salesforce.records("Task") if task[DEDUP])


class TestLeastPrivilegeIntegrationUser:
    """Bugs 1 and 2: the worker runs as a "Minimum Access - API Only" user with the shipped
    permission set, and no more."""

    def test_tasks_and_notes_are_made_once_without_view_all_data(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """Tasks and notes are created (never upserted on the non-unique key), once each."""
        sandbox = sandbox_factory(size=300, seed=5)
        client = connect(sandbox)
        tasks = follow_ups(sandbox, 250)
        notes = [
            NoteSpec(f"note:{task.contact_id}", "Score 2", task.due_at, task.contact_id, None)
            for task in tasks
        ]

        first = client.create_tasks(tasks) + client.create_notes(notes)
        again = client.create_tasks(tasks) + client.create_notes(notes)

        assert all(result.ok for result in first), first[0].error
        assert [r.crm_id for r in again] == [r.crm_id for r in first]
        held = tasks_by_key(sandbox)
        assert set(held) == {t.dedup_key for t in tasks} | {n.dedup_key for n in notes}
        assert set(held.values()) == {1}

    @pytest.mark.parametrize("kind", ["lost", "500"])
    def test_an_interrupted_create_leaves_one_task_per_key(
        self, sandbox_factory: SandboxFactory, kind: str
    ) -> None:
        """The org commits the create and the answer is lost: no second task, no second note."""
        sandbox = sandbox_factory(size=100, seed=5)
        client = connect(sandbox)
        tasks = follow_ups(sandbox, 150)
        notes = [NoteSpec("note:1", "Score 9", tasks[0].due_at, tasks[0].contact_id, None)]
        created = r"/composite/sobjects$"
        if kind == "lost":
            sandbox.faults.add(FaultRule("salesforce", created, "lost", 1.0, limit=2))
            answered = client.create_tasks(tasks) + client.create_notes(notes)
            assert sandbox.log.count(path_pattern=created) == 2  # each lost once, then found
        else:
            sandbox.faults.add(FaultRule("salesforce", created, "500", 1.0, limit=1))
            answered = client.create_tasks(tasks)

        assert all(result.ok for result in answered)
        held = tasks_by_key(sandbox)
        assert set(held.values()) == {1}
        ids = {task["Id"] for task in sandbox.salesforce.records("Task")}
        assert {result.crm_id for result in answered} <= ids

    def test_the_org_refuses_a_non_unique_external_id_upsert_without_view_all_data(
        self, sandbox: "Sandbox"
    ) -> None:
        """REST upsert on an External ID that is not Unique needs View All Data."""
        sf = client_for(sandbox_session(sandbox))
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": "Task"}, "Subject": "x", DEDUP: "k-1"}],
        }
        path = f"composite/sobjects/Task/{DEDUP}"

        [refused] = sf.restful(path, method="PATCH", json=body)
        sandbox.salesforce.deploy_permission_set("View_All_Data", VIEW_ALL_DATA)
        sandbox.salesforce.assign_permission_set("View_All_Data")
        [accepted] = sf.restful(path, method="PATCH", json=body)

        assert refused["success"] is False
        assert refused["errors"][0]["statusCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
        assert accepted["success"] is True

    def test_a_minimum_access_user_cannot_read_or_write(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """Without the permission set the org hides objects (users stay readable to every
        user) and refuses writes."""
        sandbox = sandbox_factory(size=20, seed=3, salesforce_permission_sets=())
        sf = client_for(sandbox_session(sandbox))
        contact = sandbox.salesforce.records("Contact")[0]["Id"]

        with pytest.raises(SalesforceMalformedRequest) as query:
            sf.query("SELECT Id FROM Contact")
        results = sf.restful(
            "composite/sobjects",
            method="PATCH",
            json={"records": [{"attributes": {"type": "Contact"}, "id": contact, "Title": "x"}]},
        )
        with pytest.raises(SalesforceResourceNotFound):
            sf.Task.describe()
        user = sf.User.describe()

        assert query.value.content[0]["errorCode"] == "INVALID_TYPE"
        assert results[0]["errors"][0]["statusCode"] == "INVALID_TYPE"
        assert (user["queryable"], user["createable"]) == (True, False)

    def test_a_pull_by_a_minimum_access_user_fails_with_the_orgs_code(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """The connector reports what the org said; nothing is read as an empty org."""
        sandbox = sandbox_factory(size=20, seed=3, salesforce_permission_sets=())
        with pytest.raises(Rejected) as refused:
            list(connect(sandbox).pull("Contact", ("Email",), since=Cursor()))
        assert refused.value.code == "INVALID_TYPE"

    def test_an_admin_can_do_what_the_worker_may_not(self, sandbox: "Sandbox") -> None:
        """The test helper acts as the org's System Administrator: it may delete contacts."""
        admin = admin_client_for(sandbox_session(sandbox), sandbox.salesforce, sandbox.base_url)
        contact = sandbox.salesforce.records("Contact")[0]["Id"]
        worker = client_for(sandbox_session(sandbox))
        with pytest.raises(SalesforceMalformedRequest) as refused:
            worker.Contact.delete(contact)
        assert refused.value.content[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
        assert admin.Contact.delete(contact) == 204


def migrated_store(tmp_path: Path) -> sessionmaker[Session]:
    """A fresh SQLite store built by the migrations."""
    url = f"sqlite:///{tmp_path / 'nps.db'}"
    upgrade(url)
    return session_factory(make_engine(url))


class TestLateCommits:
    """Bug 3: a record a long transaction commits late carries a SystemModstamp older than
    records already read; the look-back reads it, and repeats cost no extra call."""

    def test_a_late_commit_behind_the_cursor_is_pulled(
        self, sandbox_factory: SandboxFactory, tmp_path: Path
    ) -> None:
        """Stamped before a record already read, visible only after that read: still mirrored."""
        sandbox = sandbox_factory(size=50, seed=9)
        sessions = migrated_store(tmp_path)
        config = crm_config("salesforce", sandbox.base_url, str(sandbox.ca_path))
        target = contacts_target(config)
        clock = sandbox.clock.now

        def pull() -> PullStats:
            client = connect_configured(config, env=CRM_ENV)
            return pull_into_mirror(client, sessions, target, now=clock)

        pull()
        late, early = [c["Id"] for c in sandbox.salesforce.records("Contact")[:2]]
        began = clock() + timedelta(seconds=5)
        sandbox.salesforce.commit_late(
            "Contact",
            late,
            {"Email": "late.commit@example.com"},
            started_at=began,
            visible_at=began + timedelta(minutes=2),
        )
        sandbox.clock.set(began + timedelta(seconds=30))
        sandbox.salesforce.update("Contact", early, {"Email": "early.commit@example.com"})
        sandbox.clock.set(began + timedelta(minutes=1))
        assert pull().stored == 1

        sandbox.clock.set(began + timedelta(minutes=3))
        second = pull()
        sandbox.log.clear()
        quiet = pull()

        assert _email(sessions, late) == "late.commit@example.com"
        assert _email(sessions, early) == "early.commit@example.com"
        assert (second.stored, second.repeated) == (1, 1)
        assert (quiet.stored, quiet.repeated) == (0, 2)
        assert sandbox.log.count(crm="salesforce", path_pattern=r"/query") == 2


def _email(sessions: sessionmaker[Session], crm_id: str) -> str | None:
    with sessions() as session:
        return session.scalar(select(Contact.email).where(Contact.crm_id == crm_id))


class TestBulkFirstSync:
    """Bug 4: Bulk API 2.0 jobs take time and can fail; results come gzip-compressed; a
    session can expire while a large first sync reads them."""

    SIZE = 5_000

    @staticmethod
    def first_sync(sandbox: "Sandbox", client: SalesforceClient) -> Counter[str]:
        """Pull every contact from the start; how often each id came back."""
        seen: Counter[str] = Counter()
        for page in client.pull("Contact", ("Email", "LastName"), Cursor()):
            seen.update(record.id for record in page.records)
        return seen

    def bulk_client(self, sandbox: "Sandbox", session: requests.Session) -> SalesforceClient:
        settings = SalesforceSettings(
            auth=ClientCredentialsAuth("SF_KEY", "SF_SECRET", domain=MY_DOMAIN),
            retry=RetryPolicy(attempts=4, first_delay_s=0.0),
            bulk_threshold=2_000,
            bulk_page_records=1_000,
            bulk_poll_s=0.0,
        )
        return make_salesforce_client(settings, session=session, environ=ENV, sleep=lambda _: None)

    def test_a_session_expiring_between_result_pages_is_renewed(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """Two hours pass (the org's session timeout) while the job's results are read."""
        sandbox = sandbox_factory(size=self.SIZE, seed=13)
        session = sandbox_session(sandbox)
        client = self.bulk_client(sandbox, session)
        pages_read: list[str] = []

        def hours_pass_after_the_first_page(response: requests.Response, **_: object) -> None:
            if response.request.path_url.split("?")[0].endswith("/results"):
                pages_read.append(response.request.path_url)
                if len(pages_read) == 1:
                    sandbox.clock.advance(timedelta(hours=3))

        session.hooks["response"].append(hours_pass_after_the_first_page)

        seen = self.first_sync(sandbox, client)

        assert set(seen) == {c["Id"] for c in sandbox.salesforce.records("Contact")}
        assert set(seen.values()) == {1}
        assert len(pages_read) > 2
        logins = sandbox.log.count(crm="salesforce", path_pattern=r"/oauth2/token$")
        refused = sandbox.log.entries(crm="salesforce", path_pattern=r"/results$")
        assert logins == 2
        assert [entry.status for entry in refused].count(401) == 1

    @pytest.mark.parametrize("kind", ["bulk_failed", "bulk_aborted"])
    def test_a_job_that_ends_failed_or_aborted_leaves_the_pull_to_rest(
        self, sandbox_factory: SandboxFactory, kind: str
    ) -> None:
        """The job gives nothing; REST paging carries on from its first page, nothing twice."""
        sandbox = sandbox_factory(size=self.SIZE, seed=13)
        sandbox.faults.add(FaultRule("salesforce", r"/jobs/query$", kind, 1.0))  # type: ignore[arg-type]
        client = self.bulk_client(sandbox, sandbox_session(sandbox))

        seen = self.first_sync(sandbox, client)

        assert set(seen) == {c["Id"] for c in sandbox.salesforce.records("Contact")}
        assert set(seen.values()) == {1}
        assert sandbox.log.count(crm="salesforce", path_pattern=r"/jobs/query$") == 1
        assert sandbox.log.count(crm="salesforce", path_pattern=r"/results$") == 0

    def test_jobs_in_progress_are_waited_for_and_results_read_gzipped(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """A job InProgress for several polls is waited for; every result page is gzip; the
        records (Japanese names included) equal a REST pull's."""
        sandbox = sandbox_factory(size=self.SIZE, seed=13, salesforce_bulk_polls=5)
        session = sandbox_session(sandbox)
        encodings: list[str | None] = []

        def note_encoding(response: requests.Response, **_: object) -> None:
            if response.request.path_url.split("?")[0].endswith("/results"):
                encodings.append(response.headers.get("Content-Encoding"))

        session.hooks["response"].append(note_encoding)
        through_bulk: dict[str, object] = {}
        for page in self.bulk_client(sandbox, session).pull("Contact", ("LastName",), Cursor()):
            through_bulk.update({r.id: r.fields["LastName"] for r in page.records})

        names = {c["Id"]: c["LastName"] for c in sandbox.salesforce.records("Contact")}
        assert through_bulk == names
        assert any(not str(name).isascii() for name in names.values())
        assert encodings
        assert set(encodings) == {"gzip"}
        polls = sandbox.log.count(crm="salesforce", path_pattern=r"/jobs/query/\w+$")
        assert polls == 5


class TestDeletionsPastTheRecycleBin:
    """Bug 5: queryAll sees deleted records while they are in the recycle bin (15 days); after
    a longer outage the mirror is reconciled by id, and the log and `status` say so."""

    def test_deletions_older_than_the_recycle_bin_are_found_by_id(
        self, sandbox_factory: SandboxFactory, tmp_path: Path
    ) -> None:
        """Three contacts deleted at the start of a three-week outage, one near its end."""
        sandbox = sandbox_factory(size=50, seed=9)
        sessions = migrated_store(tmp_path)
        config = crm_config("salesforce", sandbox.base_url, str(sandbox.ca_path))
        target = contacts_target(config)

        def pull() -> PullStats:
            client = connect_configured(config, env=CRM_ENV)
            return pull_into_mirror(client, sessions, target, now=sandbox.clock.now)

        pull()
        *early, late = [c["Id"] for c in sandbox.salesforce.records("Contact")[:4]]
        sandbox.clock.advance(timedelta(hours=1))
        for contact in early:
            sandbox.salesforce.delete("Contact", contact)
        sandbox.clock.advance(timedelta(days=20))
        sandbox.salesforce.delete("Contact", late)
        sandbox.clock.advance(timedelta(hours=1))

        with capture_logs() as logs:
            after_outage = pull()
        quiet = pull()

        assert _deleted(sessions) == {*early, late}
        assert after_outage.reconciled == 4
        assert quiet.reconciled is None
        events = [entry["event"] for entry in logs]
        assert "crm_deletion_horizon_passed" in events
        assert "crm_deletions_reconciled" in events
        with sessions() as session:
            lines = render(gather(session, config, sandbox.clock.now()))
        assert any("reconciled by id" in line for line in lines)
        assert any("salesforce Contact" in line and "4 record(s)" in line for line in lines)

    def test_within_the_recycle_bin_no_reconcile_is_needed(
        self, sandbox_factory: SandboxFactory, tmp_path: Path
    ) -> None:
        """A check 14 days after the last one reads deletions from queryAll alone: no id
        comparison, no warning, two queries."""
        sandbox = sandbox_factory(size=50, seed=9)
        sessions = migrated_store(tmp_path)
        config = crm_config("salesforce", sandbox.base_url, str(sandbox.ca_path))
        target = contacts_target(config)
        client = connect_configured(config, env=CRM_ENV)
        pull_into_mirror(client, sessions, target, now=sandbox.clock.now)
        gone = sandbox.salesforce.records("Contact")[0]["Id"]
        sandbox.salesforce.delete("Contact", gone)
        sandbox.clock.advance(timedelta(days=14))
        sandbox.log.clear()

        stats = pull_into_mirror(client, sessions, target, now=sandbox.clock.now)

        assert _deleted(sessions) == {gone}
        assert (stats.deleted, stats.reconciled) == (1, None)
        queries = sandbox.log.entries(crm="salesforce", path_pattern=r"/query")
        assert [entry.status for entry in queries].count(200) == 2


def _deleted(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(Contact.crm_id).where(Contact.deleted.is_(True))))


class TestLimitsAndRecordFaults:
    """Bug 6 and the org's own faults: the concurrent-request limit answers 403 and is waited
    out; the daily limit stops the work at once; inside a collection one record can be locked
    by another transaction, or deleted a moment before, without sinking the others."""

    @staticmethod
    def queue_scores(sessions: sessionmaker[Session], sandbox: "Sandbox", count: int) -> list[str]:
        """One write-back per contact for the first `count` contacts; their ids."""
        ids = [c["Id"] for c in sandbox.salesforce.records("Contact")[:count]]
        with sessions.begin() as session:
            for contact_id in ids:
                update = FieldUpdate("Contact", contact_id, {"NPS_Last_Score__c": 3}, contact_id)
                enqueue_update(session, "salesforce", update, essential=True, now=START)
        return ids

    def test_the_concurrent_request_limit_is_waited_out(
        self, sandbox_factory: SandboxFactory, tmp_path: Path
    ) -> None:
        """403 REQUEST_LIMIT_EXCEEDED while usage is far from the daily limit: back off, retry."""
        sandbox = sandbox_factory(size=300, seed=21)
        sessions = migrated_store(tmp_path)
        ids = self.queue_scores(sessions, sandbox, 300)
        sandbox.faults.add(FaultRule("salesforce", r"/composite", "403", 1.0, limit=2))
        sleeps: list[float] = []
        client = connect(sandbox, retry=RetryPolicy(attempts=4, first_delay_s=1.0))
        client._transport._sleep = sleeps.append

        stats = Outbox(client, sessions, lambda: START).drain()

        assert (stats.done, stats.failed, stats.stopped_by) == (300, 0, None)
        statuses = [e.status for e in sandbox.log.entries(path_pattern=r"/composite")]
        assert statuses == [403, 403, 200]
        assert sleeps == [1.0, 2.0]
        assert all(sandbox.salesforce.record(i)["NPS_Last_Score__c"] == 3 for i in ids)  # type: ignore[index]

    def test_the_daily_limit_stops_the_work_without_a_loop(
        self, sandbox_factory: SandboxFactory, tmp_path: Path
    ) -> None:
        """403 REQUEST_LIMIT_EXCEEDED with the allocation spent: one call, then nothing more."""
        sandbox = sandbox_factory(size=300, seed=21)
        sessions = migrated_store(tmp_path)
        self.queue_scores(sessions, sandbox, 300)
        sandbox.faults.add(FaultRule("salesforce", r"/composite", "daily_limit", 1.0))
        client = connect(sandbox)
        outbox = Outbox(client, sessions, lambda: START)

        first = outbox.drain()
        second = Outbox(client, sessions, lambda: START + timedelta(hours=2)).drain()

        assert first.stopped_by == "REQUEST_LIMIT_EXCEEDED"
        assert second.stopped_by == "BUDGET_SHARE_REACHED"
        assert sandbox.log.count(path_pattern=r"/composite") == 1
        with sessions() as session:
            states = set(session.scalars(select(OutboxEntry.state)))
        assert states == {OutboxState.PENDING}

    def test_a_locked_row_is_sent_again_and_a_deleted_one_fails_alone(
        self, sandbox_factory: SandboxFactory, tmp_path: Path
    ) -> None:
        """UNABLE_TO_LOCK_ROW comes back later and lands; ENTITY_IS_DELETED fails that record
        with the org's code; every other record lands the first time."""
        sandbox = sandbox_factory(size=300, seed=21)
        sessions = migrated_store(tmp_path)
        ids = self.queue_scores(sessions, sandbox, 300)
        collections = r"/composite/sobjects$"
        sandbox.faults.add(FaultRule("salesforce", collections, "lock_row", 1.0, limit=5))
        sandbox.faults.add(FaultRule("salesforce", collections, "entity_deleted", 1.0, limit=2))
        client = connect(sandbox)

        first = Outbox(client, sessions, lambda: START).drain()
        later = Outbox(client, sessions, lambda: START + timedelta(hours=1)).drain()

        deleted = [r["Id"] for r in sandbox.salesforce.records("Contact", include_deleted=True)]
        gone = {i for i in ids if (sandbox.salesforce.record(i) or {}).get("IsDeleted")}
        assert len(gone) == 2
        assert set(gone) <= set(deleted)
        assert (first.done, first.failed, first.retried) == (293, 2, 5)
        assert (later.done, later.failed) == (5, 0)
        with sessions() as session:
            refused = dict(
                session.execute(
                    select(OutboxEntry.record_crm_id, OutboxEntry.last_error).where(
                        OutboxEntry.state == OutboxState.FAILED
                    )
                ).all()
            )
        assert set(refused) == gone
        assert all(str(error).startswith("ENTITY_IS_DELETED") for error in refused.values())
        landed = [i for i in ids if i not in gone]
        assert all(sandbox.salesforce.record(i)["NPS_Last_Score__c"] == 3 for i in landed)  # type: ignore[index]

"""The Salesforce connector against the sandbox org: real simple-salesforce over HTTPS.

Sizes follow the issue (10,000 contacts with their accounts, cases and opportunities; 10,000
updates; 1,000 tasks). API calls are counted from the sandbox's request log and compared with
the floor of DESIGN.md section 11, computed from the org's actual record counts.
"""

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from tests.sandbox_session import sandbox_session
from worker.domain import Category, ContactWriteback
from worker.mappers.salesforce import (
    SalesforceMapping,
    contact_update,
    expected_fields,
    to_contact,
)
from worker.sandbox.faults import FaultRule
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.salesforce.client import admin_client_for
from worker.sync.base import (
    CrmRecord,
    Cursor,
    FieldUpdate,
    Page,
    Priority,
    TaskPriority,
    TaskSpec,
    Unavailable,
)
from worker.sync.salesforce import (
    ClientCredentialsAuth,
    RetryPolicy,
    SalesforceClient,
    SalesforceSettings,
    make_salesforce_client,
)
from worker.sync.salesforce.check import check_fields

if TYPE_CHECKING:
    from worker.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

SIZE = 10_000
PAGE = 2_000
MY_DOMAIN = "northstar-sandbox.my"
ENV = {"SF_KEY": DEFAULT_CREDENTIALS.consumer_key, "SF_SECRET": DEFAULT_CREDENTIALS.consumer_secret}
QUERY_PATHS = r"/services/data/v[\d.]+/query"
WRITE_PATHS = r"/services/data/v[\d.]+/composite"
MAPPING = SalesforceMapping()
MODIFIED_ANY = datetime(2000, 1, 1, tzinfo=UTC)
SandboxFactory = Callable[..., "Sandbox"]


def connect(
    sandbox: "Sandbox", attempts: int = 4, bulk_threshold: int | None = None
) -> SalesforceClient:
    """A fresh client (a fresh process, as far as the org can tell) on the sandbox."""
    settings = SalesforceSettings(
        auth=ClientCredentialsAuth("SF_KEY", "SF_SECRET", domain=MY_DOMAIN),
        retry=RetryPolicy(attempts=attempts, first_delay_s=0.0),
        bulk_threshold=bulk_threshold,
        bulk_page_records=3000,
        bulk_poll_s=0.05,
    )
    return make_salesforce_client(
        settings, session=sandbox_session(sandbox), environ=ENV, sleep=lambda _s: None
    )


@dataclass
class Mirror:
    """A stand-in for the store: each page's rows and its cursor commit together."""

    rows: dict[str, dict[str, CrmRecord]] = field(default_factory=dict)
    cursors: dict[str, Cursor] = field(default_factory=dict)
    inserts: Counter[str] = field(default_factory=Counter)

    def store(self, page: Page) -> None:
        """Store a page's records, then commit its cursor (promise 7)."""
        for record in page.records:
            self.rows.setdefault(record.object, {})[record.id] = record
            self.inserts[record.id] += 1
        self.cursors[page.records[0].object] = page.cursor

    def sync(self, client: SalesforceClient, object_name: str) -> None:
        """Pull one object from the committed cursor on."""
        fields = MAPPING.read_fields()[object_name]
        for page in client.pull(object_name, fields, self.cursors.get(object_name, Cursor())):
            self.store(page)


@pytest.fixture
def org(sandbox_factory: SandboxFactory) -> "Sandbox":
    """A sandbox org with 10,000 contacts and their accounts, cases and opportunities, none of
    them changed within the connector's look-back (an hour passes after the data is made)."""
    sandbox = sandbox_factory(size=SIZE, seed=11)
    sandbox.clock.advance(timedelta(hours=1))
    return sandbox


def api_calls(org: "Sandbox", path_pattern: str | None = None) -> int:
    """Salesforce requests the org's log holds (matching `path_pattern`, when given)."""
    return org.log.count(crm="salesforce", path_pattern=path_pattern)


def _floor(count: int, batch: int) -> int:
    return max(1, math.ceil(count / batch))


class TestPull:
    """Full and incremental pulls of every mapped object."""

    def test_full_pull_gets_every_record_at_the_call_floor(self, org: "Sandbox") -> None:
        """A first sync stores every record once, in ceil(N/2000) query calls per object."""
        client = connect(org)
        mirror = Mirror()
        org.log.clear()
        for sobject in MAPPING.read_fields():
            mirror.sync(client, sobject)
        floor = 0
        for sobject in MAPPING.read_fields():
            expected = {r["Id"] for r in org.salesforce.records(sobject)}
            assert set(mirror.rows[sobject]) == expected
            floor += _floor(len(expected), PAGE)
        assert len(mirror.rows["Contact"]) == SIZE
        assert max(mirror.inserts.values()) == 1
        assert api_calls(org, QUERY_PATHS) == floor

    def test_crash_half_way_resumes_without_loss_or_repeat(self, org: "Sandbox") -> None:
        """A process dying mid-pull resumes from the committed cursor: nothing lost or repeated."""
        mirror = Mirror()
        client = connect(org, attempts=2)
        fields = MAPPING.read_fields()["Contact"]
        with pytest.raises(Unavailable):  # noqa: PT012 - the crash happens between pages
            for number, page in enumerate(client.pull("Contact", fields, Cursor()), start=1):
                mirror.store(page)
                if number == 2:
                    org.faults.add(FaultRule("salesforce", QUERY_PATHS, "drop", 1.0))
        stored_before_crash = len(mirror.rows["Contact"])
        assert 0 < stored_before_crash < SIZE
        org.faults.clear()
        mirror.sync(connect(org), "Contact")
        assert len(mirror.rows["Contact"]) == SIZE
        assert set(mirror.inserts.values()) == {1}

    def test_bulk_first_sync_maps_like_rest(self, org: "Sandbox") -> None:
        """A first sync through Bulk API 2.0 yields the same contacts as one through REST."""
        through_rest, through_bulk = Mirror(), Mirror()
        through_rest.sync(connect(org), "Contact")
        org.log.clear()
        through_bulk.sync(connect(org, bulk_threshold=PAGE), "Contact")
        assert api_calls(org, r"/jobs/query/[^/]+/results") == math.ceil((SIZE - PAGE) / 3000)
        assert set(through_bulk.inserts.values()) == {1}
        assert through_bulk.cursors == through_rest.cursors
        for contact_id, record in through_rest.rows["Contact"].items():
            bulk_record = through_bulk.rows["Contact"][contact_id]
            assert to_contact(bulk_record, MAPPING.contact) == to_contact(record, MAPPING.contact)

    def test_changes_and_deletions_after_the_cursor(self, org: "Sandbox") -> None:
        """After a full pull only records changed since come back, and deletions via queryAll."""
        client = connect(org)
        mirror = Mirror()
        mirror.sync(client, "Contact")
        cursor = mirror.cursors["Contact"]
        changed_id, deleted_id = list(mirror.rows["Contact"])[10:12]
        org.salesforce.update("Contact", changed_id, {"Title": "VP Customer Success"})
        admin_client_for(sandbox_session(org), org.salesforce, org.base_url).Contact.delete(
            deleted_id
        )
        changed = [r for p in client.pull("Contact", ("Title",), cursor) for r in p.records]
        assert [r.id for r in changed] == [changed_id]
        assert changed[0].fields["Title"] == "VP Customer Success"
        deleted = [r for p in client.pull_deleted("Contact", cursor) for r in p.records]
        assert [(r.id, r.deleted) for r in deleted] == [(deleted_id, True)]


class TestWrites:
    """Write-backs in collections packed into composite calls, and tasks."""

    def test_ten_thousand_updates_at_the_composite_floor(self, org: "Sandbox") -> None:
        """10,000 contact updates take ceil(N/1000) calls and all land in the org."""
        client = connect(org)
        ids = [r["Id"] for r in org.salesforce.records("Contact")]
        answered = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        writeback = ContactWriteback(
            last_score=9, last_category=Category.PROMOTER, last_response_at=answered
        )
        updates = [contact_update(i, writeback, {}, MAPPING, f"resp:{i}") for i in ids]
        org.log.clear()
        results = client.update([u for u in updates if u], Priority.ESSENTIAL)
        assert all(r.ok for r in results)
        assert len(results) == SIZE
        assert api_calls(org, WRITE_PATHS) == _floor(SIZE, 1000)
        stored = org.salesforce.record(ids[-1])
        assert stored is not None
        assert stored["NPS_Last_Category__c"] == "Promoter"

    def test_own_writebacks_come_back_as_no_change(self, org: "Sandbox") -> None:
        """Our write-backs bump SystemModstamp, yet re-pulled contacts map to the same values."""
        client = connect(org)
        mirror = Mirror()
        mirror.sync(client, "Contact")
        before = {i: to_contact(r, MAPPING.contact) for i, r in mirror.rows["Contact"].items()}
        writeback = ContactWriteback(last_score=2, last_category=Category.DETRACTOR)
        ids = list(before)[:300]
        updates = [contact_update(i, writeback, {}, MAPPING, f"w:{i}") for i in ids]
        assert all(r.ok for r in client.update([u for u in updates if u]))
        echoes = [
            r
            for p in client.pull(
                "Contact", MAPPING.read_fields()["Contact"], mirror.cursors["Contact"]
            )
            for r in p.records
        ]
        assert {r.id for r in echoes} == set(ids)
        for echo in echoes:
            assert replace(to_contact(echo, MAPPING.contact), modified_at=MODIFIED_ANY) == replace(
                before[echo.id], modified_at=MODIFIED_ANY
            )

    def test_no_op_cycle_writes_nothing(self, org: "Sandbox") -> None:
        """Write-backs equal to what the org holds produce no update and no API call."""
        client = connect(org)
        mirror = Mirror()
        writeback = ContactWriteback(last_score=7, last_category=Category.PASSIVE)
        ids = [r["Id"] for r in org.salesforce.records("Contact")][:500]
        first = [contact_update(i, writeback, {}, MAPPING, f"a:{i}") for i in ids]
        assert all(r.ok for r in client.update([u for u in first if u]))
        fields = (*MAPPING.read_fields()["Contact"], "NPS_Last_Score__c", "NPS_Last_Category__c")
        for page in client.pull("Contact", fields, Cursor()):
            mirror.store(page)
        org.log.clear()
        again = [
            contact_update(i, writeback, mirror.rows["Contact"][i].fields, MAPPING, f"b:{i}")
            for i in ids
        ]
        assert [u for u in again if u] == []
        assert client.update([]) == []
        assert api_calls(org) == 0

    def test_per_record_failures_come_back_with_the_org_code(self, org: "Sandbox") -> None:
        """A value the org refuses fails that record only, with Salesforce's status code."""
        client = connect(org)
        good, bad = [r["Id"] for r in org.salesforce.records("Contact")][:2]
        results = client.update(
            [
                FieldUpdate("Contact", good, {"NPS_Last_Score__c": 4}, "good"),
                FieldUpdate("Contact", bad, {"NPS_Last_Category__c": "Ecstatic"}, "bad"),
            ]
        )
        assert results[0].ok
        assert results[1].error is not None
        assert results[1].error.code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"

    def test_transient_503s_are_retried_until_every_write_lands(self, org: "Sandbox") -> None:
        """With a third of write calls failing with 503, retries still deliver every update."""
        client = connect(org, attempts=8)
        ids = [r["Id"] for r in org.salesforce.records("Contact")][:2000]
        org.faults.add(FaultRule("salesforce", WRITE_PATHS, "503", 0.33))
        results = client.update(
            [FieldUpdate("Contact", i, {"NPS_Last_Score__c": 1}, i) for i in ids]
        )
        assert all(r.ok for r in results)

    def test_thousand_tasks_once_even_when_retried(self, org: "Sandbox") -> None:
        """1,000 tasks: one lookup call and one create call; sending them again opens none."""
        client = connect(org)
        contacts = org.salesforce.records("Contact")[:1000]
        due = datetime(2026, 1, 7, tzinfo=UTC) + timedelta(hours=36)
        tasks = [
            TaskSpec(
                dedup_key=f"followup:{c['Id']}",
                subject="Call back a detractor",
                body="Score 2: onboarding was slow.",
                due_at=due,
                priority=TaskPriority.HIGH,
                owner_id=c["OwnerId"],
                contact_id=c["Id"],
                account_id=c["AccountId"],
            )
            for c in contacts
        ]
        before = len(org.salesforce.records("Task"))
        org.log.clear()
        first = client.create_tasks(tasks)
        assert all(r.ok for r in first), first[0].error
        second = client.create_tasks(tasks)
        assert [r.crm_id for r in second] == [r.crm_id for r in first]
        assert len(org.salesforce.records("Task")) == before + 1000
        assert api_calls(org, WRITE_PATHS) == 3


def test_check_passes_on_an_org_with_the_fields(org: "Sandbox") -> None:
    """The default mapping matches the org's metadata, the task dedup field included."""
    assert check_fields(connect(org), expected_fields(MAPPING, "NPS_Dedup_Key__c")) == []

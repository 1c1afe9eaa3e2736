"""The time machine acting on the org: what users do shows up in SOQL with simulated stamps."""

from datetime import timedelta

import pytest
from simple_salesforce.api import Salesforce

from tests.sandbox_session import sandbox_session
from worker.sandbox.salesforce import client_for
from worker.sandbox.server import Sandbox


@pytest.fixture
def sf(sandbox: Sandbox) -> Salesforce:
    """A simple-salesforce client logged in to the default sandbox."""
    return client_for(sandbox_session(sandbox))


def _soql_time(sandbox: Sandbox, delta: timedelta = timedelta(0)) -> str:
    return (sandbox.clock.now() + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_activity_operations_are_stamped_with_the_simulated_moment(
    sf: Salesforce, sandbox: Sandbox
) -> None:
    """Closing a case, completing onboarding, starting and completing tasks, opening a case: each
    write carries `at` as its modstamp and the owner as its last modifier."""
    org = sandbox.salesforce
    at = sandbox.clock.now() + timedelta(days=2)
    case_id = org.open_case_ids()[0]
    org.close_case(case_id, at)
    contact_id = org.contact_ids()[0]
    new_case = org.open_case(contact_id, "Printer on fire", at)
    task = sf.Task.create({"Subject": "Call back", "WhoId": contact_id})["id"]
    assert [t.started for t in org.open_tasks() if t.id == task] == [False]
    started_at = at - timedelta(hours=5)
    org.start_task(task, started_at)
    started = org.record(task)
    assert started is not None
    assert (started["Status"], started["IsClosed"], started["SystemModstamp"]) == (
        "In Progress",
        False,
        started_at.replace(microsecond=0),
    )
    assert [t.started for t in org.open_tasks() if t.id == task] == [True]
    org.complete_task(task, at)
    account_id = org.records("Account")[0]["Id"]
    org.update("Account", account_id, {"Onboarding_Status__c": "In Progress"})
    assert account_id in org.onboarding_in_progress_account_ids()
    org.complete_onboarding(account_id, at)

    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    closed = sf.query(
        f"SELECT Id, IsClosed, ClosedDate FROM Case WHERE Id = '{case_id}' "  # noqa: S608 -- SOQL from values the test made
        f"AND SystemModstamp >= {stamp}"
    )["records"]
    assert closed[0]["IsClosed"] is True
    opened = org.record(new_case)
    assert opened is not None
    assert (opened["Status"], opened["CreatedDate"], opened["ContactId"]) == (
        "New",
        at.replace(microsecond=0),  # Salesforce keeps datetimes to the second
        contact_id,
    )
    assert opened["LastModifiedById"] == opened["OwnerId"]
    assert new_case in org.open_case_ids()
    assert task not in {t.id for t in org.open_tasks()}
    done = org.record(task)
    assert done is not None
    assert (done["Status"], done["CompletedDateTime"]) == ("Completed", at.replace(microsecond=0))
    account = org.record(account_id)
    assert account is not None
    assert (account["Onboarding_Status__c"], account["Onboarding_Completed_Date__c"]) == (
        "Completed",
        at.date(),
    )
    assert account_id not in org.onboarding_in_progress_account_ids()


def test_advancing_days_changes_records_an_incremental_pull_sees(
    sf: Salesforce, sandbox: Sandbox
) -> None:
    """After a simulated week, SOQL on SystemModstamp returns the records users touched."""
    watermark = _soql_time(sandbox)
    summary = sandbox.advance(timedelta(days=7))
    assert sum(summary.counts().values()) > 0
    changed = sf.query_all(
        f"SELECT Id FROM Case WHERE SystemModstamp > {watermark} ORDER BY SystemModstamp, Id"  # noqa: S608 -- SOQL from values the test made
    )
    assert changed["totalSize"] > 0
    future = _soql_time(sandbox, timedelta(minutes=1))
    assert sf.query(f"SELECT COUNT() FROM Case WHERE SystemModstamp > {future}")["totalSize"] == 0  # noqa: S608 -- SOQL from values the test made

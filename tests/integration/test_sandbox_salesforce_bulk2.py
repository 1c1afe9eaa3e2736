"""Bulk API 2.0 query jobs through simple-salesforce's `bulk2`: jobs, CSV pages, locators."""

import csv
import gzip
import io

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox_session import sandbox_session
from worker.sandbox.faults import FaultKind, FaultRule
from worker.sandbox.salesforce.client import admin_client_for
from worker.sandbox.server import Sandbox


@pytest.fixture
def sf(sandbox: Sandbox) -> Salesforce:
    """A simple-salesforce client acting as the default sandbox's System Administrator."""
    return admin_client_for(sandbox_session(sandbox), sandbox.salesforce, sandbox.base_url)


def _rows(page: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(page)))


def test_bulk_query_pages_csv_by_locator(sf: Salesforce, sandbox: Sandbox) -> None:
    """sf.bulk2 query returns every record as CSV pages of maxRecords, relationship columns
    dotted, datetimes in UTC."""
    pages = list(
        sf.bulk2.Contact.query(
            "SELECT Id, Account.Name, CreatedDate, HasOptedOutOfEmail FROM Contact ORDER BY Id",
            max_records=20,
            wait=0,
        )
    )
    rows = [row for page in pages for row in _rows(str(page))]
    assert [len(_rows(str(page))) for page in pages] == [20, 20, 10]
    assert list(rows[0]) == ["Id", "Account.Name", "CreatedDate", "HasOptedOutOfEmail"]
    contacts = sorted(sandbox.salesforce.records("Contact"), key=lambda c: c["Id"])
    assert [row["Id"] for row in rows] == [c["Id"] for c in contacts]
    assert rows[0]["CreatedDate"].endswith("Z")
    assert rows[0]["HasOptedOutOfEmail"] in {"true", "false"}


def test_bulk_query_all_includes_deleted(sf: Salesforce) -> None:
    """A queryAll job returns soft-deleted records too."""
    target = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    sf.Contact.delete(target)
    soql = "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true"
    assert _rows("".join(map(str, sf.bulk2.Contact.query(soql, wait=0)))) == []
    (row,) = _rows("".join(map(str, sf.bulk2.Contact.query_all(soql, wait=0))))
    assert row == {"Id": target, "IsDeleted": "true"}


def test_job_lifecycle(sf: Salesforce) -> None:
    """A job is created UploadComplete, runs InProgress for a while, then completes; no results
    before that; it can be deleted."""
    created = sf.restful(
        "jobs/query", method="POST", json={"operation": "query", "query": "SELECT Id FROM User"}
    )
    assert created["state"] == "UploadComplete"
    assert created["id"].startswith("750")
    assert (created["object"], created["contentType"]) == ("User", "CSV")
    with pytest.raises(SalesforceMalformedRequest) as early:
        sf.restful(f"jobs/query/{created['id']}/results")
    states = [sf.restful(f"jobs/query/{created['id']}")["state"] for _ in range(4)]
    assert states == ["InProgress", "InProgress", "JobComplete", "JobComplete"]
    assert early.value.content[0]["errorCode"] == "INVALIDJOBSTATE"
    assert sf.restful(f"jobs/query/{created['id']}", method="DELETE") is None


@pytest.mark.parametrize(
    ("kind", "state"), [("bulk_failed", "Failed"), ("bulk_aborted", "Aborted")]
)
def test_an_injected_fault_ends_a_job(
    sf: Salesforce, sandbox: Sandbox, kind: FaultKind, state: str
) -> None:
    """A fault rule makes the next job end Failed (with its reason) or Aborted."""
    sandbox.faults.add(FaultRule("salesforce", r"/jobs/query$", kind, 1.0, limit=1))
    job = sf.restful("jobs/query", method="POST", json={"query": "SELECT Id FROM Account"})
    states = [sf.restful(f"jobs/query/{job['id']}") for _ in range(3)]
    assert [info["state"] for info in states] == ["InProgress", "InProgress", state]
    assert ("errorMessage" in states[-1]) == (state == "Failed")


def test_results_are_gzipped_when_asked(sf: Salesforce, sandbox: Sandbox) -> None:
    """With Accept-Encoding: gzip the CSV comes compressed, and says so."""
    job = sf.restful("jobs/query", method="POST", json={"query": "SELECT Id, Name FROM Contact"})
    for _ in range(3):
        sf.restful(f"jobs/query/{job['id']}")
    url = f"{sf.base_url}jobs/query/{job['id']}/results"
    headers = {"Authorization": f"Bearer {sf.session_id}", "Accept": "text/csv"}
    session = sandbox_session(sandbox)
    zipped = session.get(url, headers={**headers, "Accept-Encoding": "gzip"}, stream=True)
    plain = session.get(url, headers={**headers, "Accept-Encoding": "identity"})
    raw = zipped.raw.read()
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(raw) == plain.content
    assert plain.headers["Content-Type"] == "text/csv; charset=UTF-8"


def test_aborted_job_has_no_results(sf: Salesforce) -> None:
    """An aborted job reports Aborted and refuses to serve results."""
    job = sf.restful("jobs/query", method="POST", json={"query": "SELECT Id FROM Account"})
    aborted = sf.restful(f"jobs/query/{job['id']}", method="PATCH", json={"state": "Aborted"})
    assert aborted["state"] == "Aborted"
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful(f"jobs/query/{job['id']}/results")


def test_bad_query_fails_job_creation(sf: Salesforce) -> None:
    """A query the org cannot run is refused when the job is created."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("jobs/query", method="POST", json={"query": "SELECT Nope FROM Contact"})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"

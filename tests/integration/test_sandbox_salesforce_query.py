"""SOQL over HTTPS: result shapes, paging through nextRecordsUrl, queryAll, and query errors."""

from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox_session import sandbox_session
from worker.sandbox.salesforce import client_for
from worker.sandbox.salesforce.client import admin_client_for
from worker.sandbox.server import Sandbox

PAGE = 2000


@pytest.fixture
def sf(sandbox: Sandbox) -> Salesforce:
    """A simple-salesforce client acting as the default sandbox's System Administrator."""
    return admin_client_for(sandbox_session(sandbox), sandbox.salesforce, sandbox.base_url)


def test_query_result_shape(sf: Salesforce, sandbox: Sandbox) -> None:
    """Records carry attributes first, then the selected fields; parents are nested records."""
    result = sf.query(
        "SELECT Id, Email, CreatedDate, Account.Name, Owner.Email FROM Contact "
        "WHERE AccountId != null ORDER BY CreatedDate, Id LIMIT 1"
    )
    assert (result["totalSize"], result["done"]) == (1, True)
    assert "nextRecordsUrl" not in result
    (record,) = result["records"]
    assert list(record) == ["attributes", "Id", "Email", "CreatedDate", "Account", "Owner"]
    assert record["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v{sf.sf_version}/sobjects/Contact/{record['Id']}",
    }
    assert len(record["Id"]) == 18
    assert record["Account"]["attributes"]["type"] == "Account"
    assert set(record["Account"]) == {"attributes", "Name"}
    assert record["Owner"]["attributes"]["type"] == "User"
    assert record["CreatedDate"].endswith("+0000")
    assert len(record["CreatedDate"]) == len("2026-11-23T10:00:00.000+0000")
    stored = sandbox.salesforce.record(record["Id"])
    assert stored is not None
    assert record["Email"] == stored["Email"]


def test_count_query(sf: Salesforce, sandbox: Sandbox) -> None:
    """SELECT COUNT() returns only totalSize, with no records."""
    result = sf.query("SELECT COUNT() FROM Contact WHERE HasOptedOutOfEmail = false")
    expected = sum(not c["HasOptedOutOfEmail"] for c in sandbox.salesforce.records("Contact"))
    assert result == {"totalSize": expected, "done": True, "records": []}


@pytest.fixture
def big_sf(sandbox_factory: Any) -> tuple[Sandbox, Salesforce]:
    """A sandbox with 4,100 contacts (three pages of 2,000) and a client on it."""
    sandbox = sandbox_factory(size=4100, seed=3)
    return sandbox, client_for(sandbox_session(sandbox))


def test_results_come_in_pages_of_2000(big_sf: tuple[Sandbox, Salesforce]) -> None:
    """A large result pages by 2,000 through nextRecordsUrl; query_all_iter walks every page."""
    sandbox, sf = big_sf
    first = sf.query("SELECT Id FROM Contact ORDER BY Id")
    assert (first["totalSize"], first["done"], len(first["records"])) == (4100, False, PAGE)
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{sf.sf_version}/query/01g")
    assert first["nextRecordsUrl"].endswith(f"-{PAGE}")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (second["done"], len(second["records"])) == (False, PAGE)
    third = sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert (third["done"], len(third["records"])) == (True, 100)
    assert "nextRecordsUrl" not in third
    ids = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM Contact ORDER BY Id")]
    assert ids == sorted(c["Id"] for c in sandbox.salesforce.records("Contact"))


@pytest.mark.parametrize(
    ("option", "page"),
    [
        pytest.param("batchSize=500", 500, id="honoured"),
        pytest.param("batchSize=50", 200, id="raised-to-minimum"),
        pytest.param("batchSize=9000", 2000, id="capped-at-maximum"),
    ],
)
def test_batch_size_header(big_sf: tuple[Sandbox, Salesforce], option: str, page: int) -> None:
    """Sforce-Query-Options: batchSize sets the page size within 200..2,000."""
    _, sf = big_sf
    result = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": option})
    assert len(result["records"]) == page


def test_query_all_includes_deleted_records(sf: Salesforce) -> None:
    """queryAll returns soft-deleted records with IsDeleted true; query does not."""
    target = sf.query("SELECT Id FROM Contact ORDER BY Id LIMIT 1")["records"][0]["Id"]
    sf.Contact.delete(target)
    soql = f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{target}'"  # noqa: S608 -- SOQL from values the test made
    assert sf.query(soql)["totalSize"] == 0
    (record,) = list(sf.query_all_iter(soql, include_deleted=True))
    assert record["IsDeleted"] is True


def test_writes_move_system_modstamp(sf: Salesforce, sandbox: Sandbox) -> None:
    """An update stamps SystemModstamp with the sandbox clock, so incremental pulls see it."""
    before = sandbox.clock.now()
    target = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    sf.Contact.update(target, {"Title": "Head of Ops"})
    watermark = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    changed = sf.query(
        f"SELECT Id, Title FROM Contact WHERE SystemModstamp >= {watermark} "  # noqa: S608 -- SOQL from values the test made
        "ORDER BY SystemModstamp, Id"
    )
    assert [r["Id"] for r in changed["records"]] == [target]


@pytest.mark.parametrize(
    ("soql", "error_code"),
    [
        pytest.param("SELECT Id FROM", "MALFORMED_QUERY", id="malformed"),
        pytest.param("SELECT Id, Bogus__c FROM Contact", "INVALID_FIELD", id="unknown-field"),
        pytest.param("SELECT Id FROM Bogus__c", "INVALID_TYPE", id="unknown-object"),
    ],
)
def test_query_errors(sf: Salesforce, soql: str, error_code: str) -> None:
    """Bad SOQL raises SalesforceMalformedRequest carrying Salesforce's error array."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)
    assert caught.value.status == 400
    (error,) = caught.value.content
    assert set(error) == {"message", "errorCode"}
    assert error["errorCode"] == error_code
    assert "ERROR at Row:1:Column:" in error["message"]


def test_unknown_query_locator(sf: Salesforce) -> None:
    """A nextRecordsUrl the org never issued is INVALID_QUERY_LOCATOR."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more(f"/services/data/v{sf.sf_version}/query/01g000000000000AAA-2000", True)
    assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"

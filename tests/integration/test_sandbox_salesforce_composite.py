"""sObject Collections and Composite over HTTPS: per-record results, allOrNone, references."""

from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.sandbox_session import sandbox_session
from worker.sandbox.salesforce.client import admin_client_for
from worker.sandbox.server import Sandbox

ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"


@pytest.fixture
def sf(sandbox: Sandbox) -> Salesforce:
    """A simple-salesforce client acting as the default sandbox's System Administrator."""
    return admin_client_for(sandbox_session(sandbox), sandbox.salesforce, sandbox.base_url)


def _contact_ids(sf: Salesforce, count: int) -> list[str]:
    result = sf.query(f"SELECT Id FROM Contact ORDER BY Id LIMIT {count}")  # noqa: S608 -- SOQL from values the test made
    return [record["Id"] for record in result["records"]]


def _update(record_id: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Contact"}, "id": record_id, **fields}


def test_collection_update_reports_each_record(sf: Salesforce, sandbox: Sandbox) -> None:
    """Without allOrNone, good records save and bad ones report their own errors, in order."""
    first, second, third = _contact_ids(sf, 3)
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                _update(first, NPS_Last_Score__c=10, NPS_Last_Category__c="Promoter"),
                _update(second, NPS_Last_Category__c="Fan"),
                _update(third, NPS_Reason_Tags__c="Support;Usability"),
            ]
        },
    )
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert results[1]["success"] is False
    assert results[1]["errors"] == [
        {
            "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "message": "NPS Last Category: bad value for restricted picklist field: Fan",
            "fields": ["NPS_Last_Category__c"],
        }
    ]
    assert results[2]["success"] is True
    stored = sandbox.salesforce.record(first)
    assert stored is not None
    assert stored["NPS_Last_Category__c"] == "Promoter"


def test_collection_all_or_none_rolls_back(sf: Salesforce, sandbox: Sandbox) -> None:
    """With allOrNone, one failure rolls every record back and the others say so."""
    first, second = _contact_ids(sf, 2)
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": True,
            "records": [_update(first, Title="Changed"), _update(second, Bogus__c=1)],
        },
    )
    assert results[0] == {
        "success": False,
        "errors": [
            {
                "statusCode": ROLLED_BACK,
                "message": "Record rolled back because not all records were valid and the "
                "request was using AllOrNone header",
                "fields": [],
            }
        ],
    }
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    stored = sandbox.salesforce.record(first)
    assert stored is not None
    assert stored["Title"] != "Changed"


@pytest.mark.parametrize(
    ("record", "status_code"),
    [
        pytest.param(
            {"attributes": {"type": "Contact"}, "Title": "x"}, "MISSING_ARGUMENT", id="no-id"
        ),
        pytest.param(_update("003xyz", Title="x"), "MALFORMED_ID", id="malformed-id"),
        pytest.param(_update("001000000000000AAA", Title="x"), "INVALID_ID_FIELD", id="foreign-id"),
        pytest.param(_update("003000000000000AAA", Title="x"), "INVALID_ID_FIELD", id="unknown-id"),
        pytest.param({"id": "003000000000000AAA", "Title": "x"}, "INVALID_TYPE", id="no-type"),
    ],
)
def test_collection_update_id_errors(
    sf: Salesforce, record: dict[str, Any], status_code: str
) -> None:
    """Records that do not name a live record of their type fail with the matching code."""
    (result,) = sf.restful("composite/sobjects", method="PATCH", json={"records": [record]})
    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == status_code


def test_collection_update_of_deleted_record(sf: Salesforce) -> None:
    """Updating a record in the recycle bin is ENTITY_IS_DELETED."""
    (target,) = _contact_ids(sf, 1)
    sf.Contact.delete(target)
    (result,) = sf.restful(
        "composite/sobjects", method="PATCH", json={"records": [_update(target, Title="x")]}
    )
    assert result["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_collection_create_tasks(sf: Salesforce, sandbox: Sandbox) -> None:
    """Collections POST creates records of mixed types and returns their new ids."""
    contact = sf.query("SELECT Id, AccountId, OwnerId FROM Contact LIMIT 1")["records"][0]
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {
                    "attributes": {"type": "Task"},
                    "Subject": "Call back detractor",
                    "WhoId": contact["Id"],
                    "WhatId": contact["AccountId"],
                    "OwnerId": contact["OwnerId"],
                    "ActivityDate": "2026-12-01",
                    "Priority": "High",
                },
                {"attributes": {"type": "Task"}, "Subject": "Bad", "Status": "Done"},
            ]
        },
    )
    assert results[0]["success"] is True
    assert results[0]["id"].startswith("00T")
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "message": "Status: bad value for restricted picklist field: Done",
                "fields": ["Status"],
            }
        ],
    }
    task = sandbox.salesforce.record(results[0]["id"])
    assert task is not None
    assert (task["Status"], task["IsClosed"]) == ("Not Started", False)


def test_collection_limit_is_200_records(sf: Salesforce) -> None:
    """More than 200 records in one collections call is refused as a whole."""
    records = [{"attributes": {"type": "Task"}, "Subject": f"t{i}"} for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_collection_counts_one_api_call(sf: Salesforce) -> None:
    """A 200-record collections call uses one call of the daily allocation."""
    ids = _contact_ids(sf, 50)
    before = sf.api_usage["api-usage"].used
    sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"records": [_update(i, Title="Buyer") for i in ids]},
    )
    assert sf.api_usage["api-usage"].used == before + 1


def _composite(sf: Salesforce, version: str, all_or_none: bool) -> Any:
    base = f"/services/data/v{version}"
    return sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": all_or_none,
            "collateSubrequests": False,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{base}/sobjects/Account",
                    "referenceId": "newAccount",
                    "body": {"Name": "Composite Co"},
                },
                {
                    "method": "POST",
                    "url": f"{base}/sobjects/Contact",
                    "referenceId": "newContact",
                    "body": {"LastName": "Ref", "AccountId": "@{newAccount.id}"},
                },
                {
                    "method": "GET",
                    "url": f"{base}/query?q=SELECT+Id,Account.Name+FROM+Contact+WHERE+Id='"
                    "@{newContact.id}'",
                    "referenceId": "check",
                },
                {
                    "method": "PATCH",
                    "url": f"{base}/sobjects/Contact/@{{newContact.id}}",
                    "referenceId": "bad",
                    "body": {"NPS_Last_Category__c": "Fan"},
                },
            ],
        },
    )


def test_composite_resolves_references(sf: Salesforce, sandbox: Sandbox) -> None:
    """Subrequests read earlier results through @{ref.path}; each reports its own outcome."""
    before, _ = sandbox.salesforce.api_usage()
    responses = _composite(sf, sf.sf_version, all_or_none=False)["compositeResponse"]
    assert sf.api_usage["api-usage"].used == before + 1
    assert [r["referenceId"] for r in responses] == ["newAccount", "newContact", "check", "bad"]
    assert [r["httpStatusCode"] for r in responses] == [201, 201, 200, 400]
    account_id = responses[0]["body"]["id"]
    assert responses[0]["httpHeaders"]["Location"].endswith(f"/sobjects/Account/{account_id}")
    assert responses[2]["body"]["records"][0]["Account"]["Name"] == "Composite Co"
    assert responses[3]["body"][0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sandbox.salesforce.record(account_id) is not None


def test_composite_all_or_none_rolls_back(sf: Salesforce, sandbox: Sandbox) -> None:
    """With allOrNone, the failing subrequest keeps its error and the others are rolled back."""
    accounts_before = len(sandbox.salesforce.records("Account"))
    responses = _composite(sf, sf.sf_version, all_or_none=True)["compositeResponse"]
    assert [r["httpStatusCode"] for r in responses] == [400, 400, 400, 400]
    assert [r["body"][0]["errorCode"] for r in responses] == [
        "PROCESSING_HALTED",
        "PROCESSING_HALTED",
        "PROCESSING_HALTED",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    ]
    assert len(sandbox.salesforce.records("Account")) == accounts_before


def test_composite_unresolvable_reference(sf: Salesforce) -> None:
    """A reference to a failed or unknown subrequest halts that subrequest only."""
    base = f"/services/data/v{sf.sf_version}"
    responses = sf.restful(
        "composite",
        method="POST",
        json={
            "compositeRequest": [
                {
                    "method": "GET",
                    "url": f"{base}/sobjects/Contact/@{{nope.id}}",
                    "referenceId": "a",
                },
                {"method": "GET", "url": f"{base}/limits", "referenceId": "b"},
            ]
        },
    )["compositeResponse"]
    assert responses[0]["httpStatusCode"] == 400
    assert responses[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert responses[1]["httpStatusCode"] == 200


@pytest.mark.parametrize(
    ("count", "url"),
    [
        pytest.param(26, "limits", id="too-many-subrequests"),
        pytest.param(6, "query?q=SELECT+Id+FROM+User", id="too-many-queries"),
    ],
)
def test_composite_limits(sf: Salesforce, count: int, url: str) -> None:
    """Composite takes at most 25 subrequests, at most 5 of them queries or collections."""
    base = f"/services/data/v{sf.sf_version}"
    subrequests = [
        {"method": "GET", "url": f"{base}/{url}", "referenceId": f"r{i}"} for i in range(count)
    ]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite", method="POST", json={"compositeRequest": subrequests})
    assert caught.value.status == 400


def _task(key: str | None, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": "Task"}, "Subject": "Follow up", **fields}
    if key is not None:
        record["NPS_Dedup_Key__c"] = key
    return record


def test_collection_upsert_creates_then_updates(sf: Salesforce, sandbox: Sandbox) -> None:
    """Upsert on an external id creates unknown keys and updates known ones, saying which."""
    path = "composite/sobjects/Task/NPS_Dedup_Key__c"
    first = sf.restful(path, method="PATCH", json={"records": [_task("k1"), _task("k2")]})
    assert [(r["success"], r["created"]) for r in first] == [(True, True), (True, True)]
    again = sf.restful(
        path, method="PATCH", json={"records": [_task("k1", Priority="High"), _task("k3")]}
    )
    assert [r["created"] for r in again] == [False, True]
    assert again[0]["id"] == first[0]["id"]
    updated = sandbox.salesforce.record(first[0]["id"])
    assert updated is not None
    assert updated["Priority"] == "High"


def test_collection_upsert_needs_the_key(sf: Salesforce) -> None:
    """A record without its external id value fails alone with MISSING_ARGUMENT."""
    (result,) = sf.restful(
        "composite/sobjects/Task/NPS_Dedup_Key__c", method="PATCH", json={"records": [_task(None)]}
    )
    assert result["errors"][0]["statusCode"] == "MISSING_ARGUMENT"


def test_collection_upsert_on_a_plain_field_is_refused(sf: Salesforce) -> None:
    """Upsert is only possible on an external id field."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(
            "composite/sobjects/Task/Subject", method="PATCH", json={"records": [_task("k")]}
        )
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_collection_upsert_matches_keys_case_insensitively(sf: Salesforce) -> None:
    """The dedup key is not case-sensitive: 'ABC' updates the record created as 'abc'."""
    path = "composite/sobjects/Task/NPS_Dedup_Key__c"
    (first,) = sf.restful(path, method="PATCH", json={"records": [_task("abc")]})
    (second,) = sf.restful(path, method="PATCH", json={"records": [_task("ABC")]})
    assert (second["id"], second["created"]) == (first["id"], False)


def test_collection_upsert_with_ambiguous_key(sf: Salesforce) -> None:
    """When two records share the key (the field is not unique), upsert refuses that record."""
    sf.Task.create(_task("twice"))
    sf.Task.create(_task("twice"))
    (result,) = sf.restful(
        "composite/sobjects/Task/NPS_Dedup_Key__c",
        method="PATCH",
        json={"records": [_task("twice")]},
    )
    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"

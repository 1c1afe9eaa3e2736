"""Describe and single-record CRUD over HTTPS, with writes validated against the metadata."""

from datetime import timedelta
from typing import Any

import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from tests.sandbox_session import sandbox_session
from worker.sandbox.salesforce.client import admin_client_for
from worker.sandbox.server import Sandbox


@pytest.fixture
def sf(sandbox: Sandbox) -> Salesforce:
    """A simple-salesforce client acting as the default sandbox's System Administrator."""
    return admin_client_for(sandbox_session(sandbox), sandbox.salesforce, sandbox.base_url)


def _field(describe: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in describe["fields"] if f["name"] == name)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("Id", {"type": "id", "createable": False, "updateable": False}, id="id"),
        pytest.param("Email", {"type": "email", "length": 80, "nillable": True}, id="email"),
        pytest.param(
            "LastName", {"type": "string", "nillable": False, "length": 80}, id="required"
        ),
        pytest.param(
            "AccountId",
            {"type": "reference", "referenceTo": ["Account"], "relationshipName": "Account"},
            id="reference",
        ),
        pytest.param(
            "HasOptedOutOfEmail", {"type": "boolean", "defaultValue": False}, id="boolean"
        ),
        pytest.param("NPS_Last_Score__c", {"type": "double", "custom": True}, id="custom-double"),
        pytest.param(
            "NPS_Last_Category__c",
            {"type": "picklist", "restrictedPicklist": True, "custom": True},
            id="restricted-picklist",
        ),
        pytest.param(
            "NPS_Reason_Tags__c", {"type": "textarea", "length": 4000}, id="long-text-tags"
        ),
        pytest.param(
            "NPS_Last_Comment__c", {"type": "textarea", "filterable": False}, id="long-text"
        ),
        pytest.param("NPS_Last_Response_At__c", {"type": "datetime"}, id="datetime"),
        pytest.param("NPS_Survey_URL__c", {"type": "url", "length": 255}, id="url"),
        pytest.param("SystemModstamp", {"type": "datetime", "updateable": False}, id="modstamp"),
        pytest.param("Name", {"calculated": True, "createable": False}, id="compound-name"),
    ],
)
def test_contact_describe_fields(sf: Salesforce, name: str, expected: dict[str, Any]) -> None:
    """Contact's describe lists standard and NPS custom fields with their metadata."""
    field = _field(sf.Contact.describe(), name)
    assert {key: field[key] for key in expected} == expected


def test_describe_picklist_values(sf: Salesforce) -> None:
    """Picklists list their values the way describe shows them."""
    category = _field(sf.Contact.describe(), "NPS_Last_Category__c")
    assert [v["value"] for v in category["picklistValues"]] == ["Promoter", "Passive", "Detractor"]
    assert set(category["picklistValues"][0]) == {
        "active",
        "defaultValue",
        "label",
        "validFor",
        "value",
    }


def test_global_describe_lists_the_objects(sf: Salesforce) -> None:
    """Describe Global lists every sObject with its key prefix and urls."""
    result = sf.describe()
    assert result is not None
    objects = {o["name"]: o for o in result["sobjects"]}
    assert {"Account", "Contact", "Case", "Opportunity", "User", "Task"} <= set(objects)
    assert objects["Contact"]["keyPrefix"] == "003"
    assert objects["Task"]["urls"]["describe"].endswith("/sobjects/Task/describe")


def test_create_get_update_delete(sf: Salesforce, sandbox: Sandbox) -> None:
    """A contact can be created, read, updated and deleted; the audit fields follow."""
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    created = sf.Contact.create(
        {"FirstName": "Mia", "LastName": "Sato", "Email": "mia@example.com", "AccountId": account}
    )
    assert created == {"id": created["id"], "success": True, "errors": []}
    record = sf.Contact.get(created["id"])
    assert record["attributes"]["type"] == "Contact"
    assert record["Name"] == "Mia Sato"
    assert record["OwnerId"] == sandbox.salesforce.admin_user_id
    assert record["CreatedDate"] == record["SystemModstamp"]
    sandbox.clock.advance(timedelta(hours=1))
    assert sf.Contact.update(created["id"], {"NPS_Last_Score__c": 9}) == 204
    updated = sf.Contact.get(created["id"])
    assert updated["NPS_Last_Score__c"] == 9.0
    assert updated["SystemModstamp"] > record["SystemModstamp"]
    assert updated["LastModifiedById"] == sandbox.salesforce.admin_user_id
    assert sf.Contact.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Contact.get(created["id"])
    assert caught.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_closing_a_case_sets_closed_fields(sf: Salesforce, sandbox: Sandbox) -> None:
    """Setting a case's Status to Closed makes IsClosed true and stamps ClosedDate."""
    case = sf.query("SELECT Id FROM Case WHERE IsClosed = false LIMIT 1")["records"][0]["Id"]
    sf.Case.update(case, {"Status": "Closed"})
    record = sf.Case.get(case)
    assert record["IsClosed"] is True
    assert record["ClosedDate"] == record["SystemModstamp"]


def test_get_selected_fields(sf: Salesforce) -> None:
    """GET sobjects/{type}/{id}?fields= returns only those fields."""
    contact = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    record = sf.restful(f"sobjects/Contact/{contact}", params={"fields": "Email,LastName"})
    assert list(record) == ["attributes", "Email", "LastName"]


@pytest.mark.parametrize(
    ("record_id", "error_code"),
    [
        pytest.param("003000000000000AAA", "NOT_FOUND", id="unknown-id"),
        pytest.param("not-an-id", "NOT_FOUND", id="malformed-id"),
    ],
)
def test_get_missing_record(sf: Salesforce, record_id: str, error_code: str) -> None:
    """Reading a record that does not exist is 404 NOT_FOUND."""
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Contact.get(record_id)
    assert caught.value.content[0]["errorCode"] == error_code


@pytest.mark.parametrize(
    ("fields", "error_code", "error_fields"),
    [
        pytest.param({"Bogus__c": 1}, "INVALID_FIELD", [], id="unknown-field"),
        pytest.param(
            {"NPS_Last_Category__c": "Fan"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["NPS_Last_Category__c"],
            id="restricted-picklist",
        ),
        pytest.param({"Title": "x" * 129}, "STRING_TOO_LONG", ["Title"], id="too-long"),
        pytest.param(
            {"NPS_Last_Score__c": "nine"},
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            ["NPS_Last_Score__c"],
            id="not-a-number",
        ),
        pytest.param(
            {"NPS_Last_Response_At__c": "yesterday"},
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            ["NPS_Last_Response_At__c"],
            id="not-a-datetime",
        ),
        pytest.param(
            {"HasOptedOutOfEmail": "maybe"},
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            ["HasOptedOutOfEmail"],
            id="not-a-boolean",
        ),
        pytest.param({"Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", ["Email"], id="bad-email"),
        pytest.param(
            {"SystemModstamp": "2026-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["SystemModstamp"],
            id="read-only",
        ),
        pytest.param({"LastName": None}, "REQUIRED_FIELD_MISSING", ["LastName"], id="required"),
        pytest.param({"AccountId": "001xyz"}, "MALFORMED_ID", ["AccountId"], id="malformed-ref"),
        pytest.param(
            {"AccountId": "003000000000000AAA"},
            "FIELD_INTEGRITY_EXCEPTION",
            ["AccountId"],
            id="wrong-type-ref",
        ),
        pytest.param(
            {"AccountId": "001000000000000AAA"},
            "INVALID_CROSS_REFERENCE_KEY",
            ["AccountId"],
            id="missing-ref",
        ),
        pytest.param(
            {"NPS_Last_Score__c": 123},
            "NUMBER_OUTSIDE_VALID_RANGE",
            ["NPS_Last_Score__c"],
            id="number-range",
        ),
    ],
)
def test_invalid_update_is_refused(
    sf: Salesforce, fields: dict[str, Any], error_code: str, error_fields: list[str]
) -> None:
    """An update that breaks the field metadata fails with 400 and Salesforce's error code."""
    contact = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Contact.update(contact, fields)
    (error,) = caught.value.content
    assert (error["errorCode"], error["fields"]) == (error_code, error_fields)
    assert error["message"]


def test_create_without_required_field(sf: Salesforce) -> None:
    """Creating a contact without LastName is REQUIRED_FIELD_MISSING."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Contact.create({"FirstName": "Nobody"})
    assert caught.value.content == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]


def test_unknown_sobject_type(sf: Salesforce) -> None:
    """An sObject the org does not have is 404 NOT_FOUND."""
    with pytest.raises(SalesforceResourceNotFound):
        sf.Bogus__c.describe()


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        pytest.param({"Subject": "s" * 255, "Description": "d" * 32_000}, None, id="at-limits"),
        pytest.param({"Subject": "s" * 256}, ["Subject"], id="subject-256"),
        pytest.param({"Subject": "s", "Description": "d" * 32_001}, ["Description"], id="body"),
    ],
)
def test_task_text_limits(
    sf: Salesforce, fields: dict[str, str], refused: list[str] | None
) -> None:
    """A Task's Subject holds 255 characters and its Description 32,000, as in a real org."""
    if refused is None:
        assert sf.Task.create(fields)["success"]
        return
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Task.create(fields)
    (error,) = caught.value.content
    assert (error["errorCode"], error["fields"]) == ("STRING_TOO_LONG", refused)

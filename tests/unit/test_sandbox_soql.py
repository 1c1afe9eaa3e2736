"""The sandbox's SOQL subset: what each query selects, in what order, and how bad ones fail."""

from datetime import UTC, datetime

import pytest

from worker.sandbox.clock import SandboxClock
from worker.sandbox.salesforce import SalesforceOrg
from worker.sandbox.salesforce.errors import SalesforceApiError

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def org() -> SalesforceOrg:
    """A small org: four accounts and three contacts with the values the table below probes."""
    org = SalesforceOrg(SandboxClock(NOW))
    acme = org.create(
        "Account",
        {
            "Name": "Acme Corp",
            "Industry": "Technology",
            "AnnualRevenue": 1000,
            "Renewal_Date__c": "2026-02-05",
            "Onboarding_Status__c": "Completed",
        },
    )
    beta = org.create(
        "Account",
        {
            "Name": "Beta Ltd",
            "Industry": "Banking",
            "AnnualRevenue": 5000,
            "Renewal_Date__c": "2026-01-31",
            "Onboarding_Status__c": "In Progress",
        },
    )
    org.create("Account", {"Name": "ceta KK", "Renewal_Date__c": "2025-12-01"})
    org.create(
        "Account", {"Name": "O'Brien & Sons", "Industry": "Technology", "AnnualRevenue": 300.5}
    )
    org.create(
        "Contact",
        {
            "FirstName": "Ann",
            "LastName": "Lee",
            "Email": "ann@acme.example",
            "AccountId": acme,
            "NPS_Last_Score__c": 9,
            "NPS_Last_Response_At__c": "2026-01-30T10:00:00Z",
        },
    )
    org.create(
        "Contact",
        {
            "FirstName": "Bob",
            "LastName": "Kim",
            "Email": "BOB@beta.example",
            "AccountId": beta,
            "NPS_Last_Score__c": 3,
            "NPS_Last_Response_At__c": "2026-01-31T01:00:00+09:00",
        },
    )
    org.create("Contact", {"FirstName": "Cy", "LastName": "Ito", "HasOptedOutOfEmail": True})
    return org


def names(org: SalesforceOrg, soql: str) -> list[str]:
    """The Name of each record a query returns, in result order."""
    compiled = org.engine.compile(soql, now=NOW)
    return [record["Name"] for record in org.engine.run(compiled, include_deleted=False)]


def error_of(org: SalesforceOrg, soql: str) -> SalesforceApiError:
    """The error a query is refused with."""
    with pytest.raises(SalesforceApiError) as caught:
        org.engine.compile(soql, now=NOW)
    return caught.value


ALL_ACCOUNTS = ["Acme Corp", "Beta Ltd", "ceta KK", "O'Brien & Sons"]


@pytest.mark.parametrize(
    ("soql", "expected"),
    [
        pytest.param(
            "SELECT Name FROM Account ORDER BY Name", ALL_ACCOUNTS, id="order-text-case-insensitive"
        ),
        pytest.param(
            "SELECT Name FROM Account ORDER BY Name DESC", ALL_ACCOUNTS[::-1], id="order-desc"
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Name = 'acme corp'",
            ["Acme Corp"],
            id="equals-case-insensitive",
        ),
        pytest.param(
            r"SELECT Name FROM Account WHERE Name LIKE 'O\'Brien%'",
            ["O'Brien & Sons"],
            id="like-escaped-quote",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Name LIKE '%TA%' ORDER BY Name",
            ["Beta Ltd", "ceta KK"],
            id="like-contains",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Name LIKE '_eta%' ORDER BY Name",
            ["Beta Ltd", "ceta KK"],
            id="like-single-char",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Industry = null", ["ceta KK"], id="equals-null"
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Industry != null ORDER BY Name",
            ["Acme Corp", "Beta Ltd", "O'Brien & Sons"],
            id="not-null",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Industry != 'Technology' ORDER BY Name",
            ["Beta Ltd", "ceta KK"],
            id="not-equals-keeps-nulls",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Industry <> 'Technology' ORDER BY Name",
            ["Beta Ltd", "ceta KK"],
            id="angle-not-equals",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Industry IN ('Technology', 'banking') ORDER BY Name",
            ["Acme Corp", "Beta Ltd", "O'Brien & Sons"],
            id="in",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Industry NOT IN ('Technology') ORDER BY Name",
            ["Beta Ltd", "ceta KK"],
            id="not-in-keeps-nulls",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE AnnualRevenue > 500 ORDER BY Name",
            ["Acme Corp", "Beta Ltd"],
            id="greater",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE AnnualRevenue <= 300.5",
            ["O'Brien & Sons"],
            id="less-or-equal-decimal",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE AnnualRevenue < 1000",
            ["O'Brien & Sons"],
            id="less-excludes-null",
        ),
        pytest.param(
            "SELECT Name FROM Account ORDER BY AnnualRevenue",
            ["ceta KK", "O'Brien & Sons", "Acme Corp", "Beta Ltd"],
            id="asc-nulls-first-default",
        ),
        pytest.param(
            "SELECT Name FROM Account ORDER BY AnnualRevenue DESC",
            ["Beta Ltd", "Acme Corp", "O'Brien & Sons", "ceta KK"],
            id="desc-nulls-last-default",
        ),
        pytest.param(
            "SELECT Name FROM Account ORDER BY AnnualRevenue ASC NULLS LAST",
            ["O'Brien & Sons", "Acme Corp", "Beta Ltd", "ceta KK"],
            id="nulls-last",
        ),
        pytest.param(
            "SELECT Name FROM Account ORDER BY Industry DESC NULLS FIRST, Name ASC",
            ["ceta KK", "Acme Corp", "O'Brien & Sons", "Beta Ltd"],
            id="multi-key",
        ),
        pytest.param(
            "SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1",
            ["Beta Ltd", "ceta KK"],
            id="limit-offset",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Renewal_Date__c = TODAY", ["Beta Ltd"], id="today"
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Renewal_Date__c > TODAY",
            ["Acme Corp"],
            id="after-today",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Renewal_Date__c = NEXT_N_DAYS:7",
            ["Acme Corp"],
            id="next-n-days-starts-tomorrow",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Renewal_Date__c = NEXT_N_DAYS:4",
            [],
            id="next-n-days-bound",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Renewal_Date__c = LAST_N_DAYS:30",
            ["Beta Ltd"],
            id="last-n-days-includes-today",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Renewal_Date__c = LAST_N_DAYS:61 ORDER BY Name",
            ["Beta Ltd", "ceta KK"],
            id="last-n-days-bound",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Renewal_Date__c < 2026-01-31",
            ["ceta KK"],
            id="date-literal",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE (Industry = 'Technology' AND AnnualRevenue > 500) "
            "OR Name = 'Beta Ltd' ORDER BY Name",
            ["Acme Corp", "Beta Ltd"],
            id="parentheses",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE NOT Industry = 'Technology' ORDER BY Name",
            ["Beta Ltd", "ceta KK"],
            id="not",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE NOT (Industry = 'Technology' OR Industry = null)",
            ["Beta Ltd"],
            id="not-group",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Onboarding_Status__c = 'In Progress'",
            ["Beta Ltd"],
            id="picklist",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE Account.Industry = 'Banking'",
            ["Bob Kim"],
            id="parent-field",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE Account.Name = null",
            ["Cy Ito"],
            id="missing-parent-is-null",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE Contact.LastName = 'Lee'",
            ["Ann Lee"],
            id="object-prefix",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE NPS_Last_Response_At__c > 2026-01-30T12:00:00Z",
            ["Bob Kim"],
            id="datetime-utc",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE NPS_Last_Response_At__c = 2026-01-30T19:00:00+09:00",
            ["Ann Lee"],
            id="datetime-offset",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE NPS_Last_Response_At__c = LAST_N_DAYS:1 ORDER BY Name",
            ["Ann Lee", "Bob Kim"],
            id="datetime-relative",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE NPS_Last_Response_At__c = TODAY",
            [],
            id="datetime-today-utc",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE HasOptedOutOfEmail = TRUE", ["Cy Ito"], id="boolean"
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE Email LIKE 'bob@%'",
            ["Bob Kim"],
            id="like-email-case-insensitive",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE NPS_Last_Score__c >= 9", ["Ann Lee"], id="number"
        ),
        pytest.param(
            "SELECT Name FROM Contact ORDER BY Account.Name DESC NULLS LAST",
            ["Bob Kim", "Ann Lee", "Cy Ito"],
            id="order-by-parent",
        ),
    ],
)
def test_query_selects(org: SalesforceOrg, soql: str, expected: list[str]) -> None:
    """Each query returns exactly the records SOQL's semantics select, in SOQL's order."""
    assert names(org, soql) == expected


@pytest.mark.parametrize(
    ("soql", "error_code", "fragment"),
    [
        pytest.param(
            "SELECT Name Account", "MALFORMED_QUERY", "unexpected token: 'Account'", id="no-from"
        ),
        pytest.param("SELECT Name FROM", "MALFORMED_QUERY", "unexpected token: <EOF>", id="eof"),
        pytest.param(
            "SELECT FROM Account", "MALFORMED_QUERY", "unexpected token: 'FROM'", id="no-fields"
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Name = 'a' AND Type = 'b' OR Type = 'c'",
            "MALFORMED_QUERY",
            "unexpected token: 'OR'",
            id="and-or-mixed",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Name = 'open",
            "MALFORMED_QUERY",
            "unexpected token",
            id="unterminated-string",
        ),
        pytest.param(
            "SELECT Name FROM Account LIMIT x",
            "MALFORMED_QUERY",
            "unexpected token: 'x'",
            id="bad-limit",
        ),
        pytest.param(
            "SELECT Name, name FROM Account",
            "MALFORMED_QUERY",
            "duplicate field selected",
            id="duplicate-field",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE CreatedDate > 2026-01-01T00:00:00.000Z",
            "MALFORMED_QUERY",
            "unexpected token",
            id="datetime-fraction",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE NPS_Reason_Tags__c INCLUDES ('Support')",
            "MALFORMED_QUERY",
            "unexpected token: 'INCLUDES'",
            id="includes-unsupported",
        ),
        pytest.param(
            "SELECT Name FROM Account GROUP BY Name",
            "MALFORMED_QUERY",
            "unexpected token: 'GROUP'",
            id="group-by",
        ),
        pytest.param(
            "SELECT Bogus__c FROM Account",
            "INVALID_FIELD",
            "No such column 'Bogus__c' on entity 'Account'",
            id="unknown-field",
        ),
        pytest.param(
            "SELECT Foo.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Foo'",
            id="unknown-relationship",
        ),
        pytest.param(
            "SELECT Name FROM Bogus",
            "INVALID_TYPE",
            "sObject type 'Bogus' is not supported",
            id="unknown-sobject",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE AnnualRevenue = '5'",
            "INVALID_FIELD",
            "must be of type double and should not be enclosed in quotes",
            id="quoted-number",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Name = 5",
            "INVALID_FIELD",
            "must be of type string and should be enclosed in quotes",
            id="unquoted-string",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Renewal_Date__c = 2026-01-01T00:00:00Z",
            "INVALID_FIELD",
            "must be of type date",
            id="datetime-on-date",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE CreatedDate > 2026-01-01",
            "INVALID_FIELD",
            "must be of type dateTime",
            id="date-on-datetime",
        ),
        pytest.param(
            "SELECT Name FROM Contact WHERE NPS_Last_Comment__c = 'x'",
            "INVALID_FIELD",
            "can not be filtered",
            id="long-text-filter",
        ),
        pytest.param(
            "SELECT Name FROM Contact ORDER BY NPS_Last_Comment__c",
            "INVALID_FIELD",
            "can not be sorted",
            id="long-text-sort",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE Id = 'abc'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: abc",
            id="malformed-id",
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE AnnualRevenue LIKE '5%'",
            "INVALID_FIELD",
            "LIKE",
            id="like-on-number",
        ),
    ],
)
def test_bad_query_is_refused(
    org: SalesforceOrg, soql: str, error_code: str, fragment: str
) -> None:
    """A query outside the grammar or the schema fails with Salesforce's code, as a 400."""
    error = error_of(org, soql)
    assert (error.status, error.error_code) == (400, error_code)
    assert fragment in error.message


def test_error_message_points_at_the_offending_token(org: SalesforceOrg) -> None:
    """Query errors carry Salesforce's caret, row and column lines before the reason."""
    error = error_of(org, "SELECT Id, Bogus FROM Contact")
    assert error.message.startswith(
        "\nSELECT Id, Bogus FROM Contact\n           ^\nERROR at Row:1:Column:12\nNo such column"
    )


def test_id_filters_accept_the_15_character_form(org: SalesforceOrg) -> None:
    """An Id literal matches whether written with 15 or 18 characters."""
    account_id = org.records("Account")[0]["Id"]
    for literal in (account_id, account_id[:15]):
        assert names(org, f"SELECT Name FROM Account WHERE Id = '{literal}'") == ["Acme Corp"]  # noqa: S608 -- SOQL from values the test made


def test_relationship_fields_render_nested(org: SalesforceOrg) -> None:
    """Selected parent fields come back as nested records with attributes, or null."""
    compiled = org.engine.compile(
        "SELECT Name, Account.Name, Account.Owner.Email FROM Contact ORDER BY Name", now=NOW
    )
    rendered = [
        org.engine.render(compiled, record, "59.0")
        for record in org.engine.run(compiled, include_deleted=False)
    ]
    ann = rendered[0]
    assert list(ann) == ["attributes", "Name", "Account"]
    assert ann["Account"]["attributes"]["type"] == "Account"
    assert ann["Account"]["Name"] == "Acme Corp"
    assert ann["Account"]["Owner"]["attributes"]["type"] == "User"
    assert rendered[2]["Account"] is None


def test_datetimes_render_like_salesforce(org: SalesforceOrg) -> None:
    """Datetimes come back in UTC with milliseconds and a +0000 offset."""
    compiled = org.engine.compile(
        "SELECT NPS_Last_Response_At__c FROM Contact WHERE LastName = 'Kim'", now=NOW
    )
    (record,) = org.engine.run(compiled, include_deleted=False)
    rendered = org.engine.render(compiled, record, "59.0")
    assert rendered["NPS_Last_Response_At__c"] == "2026-01-30T16:00:00.000+0000"

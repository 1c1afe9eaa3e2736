"""The Salesforce connector through the real simple-salesforce, with HTTP mocked by `responses`.

Request shapes follow the REST API Developer Guide: query/queryAll (resources_query.htm,
resources_queryall.htm), sObject Collections create and update
(resources_composite_sobjects_collections_create.htm, ..._update.htm), Composite
(resources_composite_composite.htm), the OAuth 2.0 token endpoint, and the error bodies of
errorcodes.htm.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from responses import matchers
from structlog.testing import capture_logs

from worker.config import ConfigError, parse_config
from worker.mappers.salesforce import SalesforceMapping, expected_fields
from worker.sync.base import (
    AuthFailed,
    BudgetExhausted,
    Cursor,
    FieldType,
    FieldUpdate,
    NoteSpec,
    Priority,
    RateLimited,
    TaskPriority,
    TaskSpec,
    TaskState,
    Unavailable,
    UserProfile,
)
from worker.sync.salesforce import (
    ClientCredentialsAuth,
    JwtBearerAuth,
    PasswordAuth,
    RetryPolicy,
    SalesforceClient,
    SalesforceSettings,
    make_salesforce_client,
)
from worker.sync.salesforce.check import check_fields
from worker.sync.salesforce.settings import settings_from_config

DOMAIN = "acme.my"
INSTANCE = "https://acme.my.salesforce.com"
TOKEN_URL = f"{INSTANCE}/services/oauth2/token"
API = f"{INSTANCE}/services/data/v59.0"
ENV = {"SF_KEY": "consumer-key", "SF_SECRET": "consumer-secret"}
LIMIT_HEADER = {"Sforce-Limit-Info": "api-usage=120/100000"}
AN_HOUR_LATER = {"Date": "Mon, 05 Jan 2026 11:00:00 GMT"}
"""The org's clock an hour after the records' stamps: no record is within the look-back."""


def _id(prefix: str, n: int) -> str:
    return f"{prefix}{n:012d}AAA"


def _stamp(second: int) -> str:
    return f"2026-01-05T10:00:{second:02d}.000+0000"


def _contact(n: int, second: int) -> dict[str, Any]:
    return {
        "attributes": {"type": "Contact", "url": f"/services/data/v59.0/sobjects/Contact/{n}"},
        "Id": _id("003", n),
        "SystemModstamp": _stamp(second),
        "Email": f"person{n}@example.com",
    }


FIRST_TOKEN = "00Dxx0000001gPL!AQ4AQFirst"


def _token(rsps: responses.RequestsMock, token: str = FIRST_TOKEN) -> None:
    rsps.post(TOKEN_URL, json={"access_token": token, "instance_url": INSTANCE})


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """Every HTTP call goes to registered responses; an unregistered one fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the client asked to sleep (nothing actually sleeps)."""
    return []


@pytest.fixture
def client(rsps: responses.RequestsMock, sleeps: list[float]) -> SalesforceClient:
    """A client logged in by the client-credentials flow against the mocked org."""
    _token(rsps)
    settings = SalesforceSettings(
        auth=ClientCredentialsAuth("SF_KEY", "SF_SECRET", domain=DOMAIN),
        retry=RetryPolicy(attempts=3, first_delay_s=0.5),
    )
    return make_salesforce_client(
        settings, session=requests.Session(), environ=ENV, sleep=sleeps.append
    )


def _body(call: Any) -> Any:
    return json.loads(call.request.body)


def _soql(call: Any) -> str:
    return parse_qs(urlsplit(call.request.url).query)["q"][0]


class TestAuth:
    """Each OAuth flow logs in with credentials read from the named environment variables."""

    def test_client_credentials_posts_basic_auth_to_my_domain(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """The client-credentials flow sends grant_type with the key pair as HTTP Basic auth."""
        login = rsps.calls[0].request
        assert login.url == TOKEN_URL
        assert parse_qs(login.body) == {"grant_type": ["client_credentials"]}
        assert login.headers["Authorization"].startswith("Basic ")

    def test_password_flow_uses_soap_login(self, rsps: responses.RequestsMock) -> None:
        """Username, password and token go to the SOAP login of the configured domain."""
        rsps.post(
            "https://login.salesforce.com/services/Soap/u/59.0",
            body=(
                '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
                f"<serverUrl>{INSTANCE}/services/Soap/u/59.0/00D</serverUrl>"
                "<sessionId>00Dxx0000001gPL!AQsoap</sessionId>"
                "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
            ),
        )
        settings = SalesforceSettings(auth=PasswordAuth("SF_USER", "SF_PASS", "SF_TOKEN"))
        environ = {"SF_USER": "int@acme.com", "SF_PASS": "pw", "SF_TOKEN": "tok"}
        client = make_salesforce_client(settings, session=requests.Session(), environ=environ)
        assert client.usage() is None
        body = rsps.calls[0].request.body
        assert "<n1:username>int@acme.com</n1:username>" in body
        assert "<n1:password>pwtok</n1:password>" in body

    def test_jwt_bearer_posts_a_signed_assertion(self, rsps: responses.RequestsMock) -> None:
        """The JWT bearer flow posts an RS256 assertion for the integration user."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        rsps.post(
            "https://login.salesforce.com/services/oauth2/token",
            json={"access_token": "00Dxx!jwt", "instance_url": INSTANCE},
        )
        settings = SalesforceSettings(auth=JwtBearerAuth("SF_USER", "SF_KEY", "SF_PEM"))
        environ = {"SF_USER": "int@acme.com", "SF_KEY": "key", "SF_PEM": pem}
        make_salesforce_client(settings, session=requests.Session(), environ=environ)
        form = parse_qs(rsps.calls[0].request.body)
        assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        assert form["assertion"][0].count(".") == 2

    def test_config_section_builds_the_named_flow(self, rsps: responses.RequestsMock) -> None:
        """`crm.salesforce` picks the flow, its variables, the domain, version and shares."""
        config = parse_config(
            "crm:\n  kind: salesforce\n  salesforce:\n    auth: {method: client_credentials}\n"
            "    domain: acme.my\n    api_version: 59.0\n"
            "    daily_budget_share: {non_essential: 0.4, essential: 0.9}\n",
            env={},
        )
        settings = settings_from_config(config.crm.salesforce)
        assert (settings.normal_share, settings.essential_share) == (0.4, 0.9)
        assert settings.bulk_threshold == 10_000
        _token(rsps)
        environ = {"SALESFORCE_CONSUMER_KEY": "k", "SALESFORCE_CONSUMER_SECRET": "s"}
        make_salesforce_client(settings, session=requests.Session(), environ=environ)
        assert rsps.calls[0].request.url == TOKEN_URL

    def test_missing_variable_is_named_without_calling(self, rsps: responses.RequestsMock) -> None:
        """A missing credential variable fails before any request, naming the variable."""
        settings = SalesforceSettings(auth=ClientCredentialsAuth("SF_KEY", "SF_NOPE", DOMAIN))
        with pytest.raises(ConfigError, match="SF_NOPE"):
            make_salesforce_client(settings, session=requests.Session(), environ=ENV)
        assert len(rsps.calls) == 0

    def test_refused_login_is_auth_failed(self, rsps: responses.RequestsMock) -> None:
        """A refused token request becomes AuthFailed with Salesforce's error code."""
        rsps.post(
            TOKEN_URL,
            status=400,
            json={"error": "invalid_client", "error_description": "invalid client credentials"},
        )
        settings = SalesforceSettings(auth=ClientCredentialsAuth("SF_KEY", "SF_SECRET", DOMAIN))
        with pytest.raises(AuthFailed) as raised:
            make_salesforce_client(settings, session=requests.Session(), environ=ENV)
        assert raised.value.code == "invalid_client"

    @pytest.mark.parametrize(
        "failure",
        [
            pytest.param(
                {"status": 503, "json": {"error": "unknown_error", "error_description": "retry"}},
                id="oauth-unknown-error",
            ),
            pytest.param({"status": 503, "body": "<html>Maintenance</html>"}, id="html-page"),
            pytest.param({"body": requests.ConnectionError("reset by peer")}, id="connection"),
        ],
    )
    def test_a_failed_login_is_retried_like_any_call(
        self, rsps: responses.RequestsMock, failure: dict[str, Any]
    ) -> None:
        """A token request that fails on the server's side (Salesforce's `unknown_error`, an
        error page, a dropped connection) is tried again after a backoff, then logs in."""
        rsps.post(TOKEN_URL, **failure)
        _token(rsps)
        sleeps: list[float] = []
        settings = SalesforceSettings(
            auth=ClientCredentialsAuth("SF_KEY", "SF_SECRET", DOMAIN),
            retry=RetryPolicy(attempts=3, first_delay_s=0.5),
        )
        make_salesforce_client(
            settings, session=requests.Session(), environ=ENV, sleep=sleeps.append
        )
        assert sleeps == [0.5]
        assert len(rsps.calls) == 2

    def test_a_login_failing_on_every_try_is_unavailable(
        self, rsps: responses.RequestsMock
    ) -> None:
        """Past the retries, an org whose login keeps failing on its side is Unavailable (not
        refused credentials: nobody needs to change them)."""
        for _ in range(3):
            rsps.post(
                TOKEN_URL,
                status=503,
                json={"error": "unknown_error", "error_description": "retry your request"},
            )
        settings = SalesforceSettings(
            auth=ClientCredentialsAuth("SF_KEY", "SF_SECRET", DOMAIN),
            retry=RetryPolicy(attempts=3, first_delay_s=0.5),
        )
        with pytest.raises(Unavailable) as raised:
            make_salesforce_client(
                settings, session=requests.Session(), environ=ENV, sleep=lambda _s: None
            )
        assert raised.value.code == "unknown_error"

    def test_a_deferred_login_happens_at_the_first_call(self, rsps: responses.RequestsMock) -> None:
        """The daemon's client logs in at its first call, so an unreachable org at start fails
        that call (a recorded cycle), not the construction."""
        settings = SalesforceSettings(auth=ClientCredentialsAuth("SF_KEY", "SF_SECRET", DOMAIN))
        client = make_salesforce_client(
            settings, session=requests.Session(), environ=ENV, defer_login=True
        )
        assert len(rsps.calls) == 0
        _token(rsps)
        rsps.get(f"{API}/query/", json={"done": True, "records": []})
        assert list(client.pull("Contact", ["Email"], Cursor())) == []
        assert rsps.calls[0].request.url == TOKEN_URL


class TestPull:
    """Incremental pulls: SOQL text, paging through nextRecordsUrl, and the cursor per page."""

    def test_first_sync_selects_mapped_fields_in_modstamp_order(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """Without a cursor the query has no filter, selects Id, SystemModstamp and the fields."""
        rsps.get(f"{API}/query/", json={"totalSize": 0, "done": True, "records": []})
        assert list(client.pull("Contact", ["Email", "AccountId", "Email"], Cursor())) == []
        assert _soql(rsps.calls[1]) == (
            "SELECT Id, SystemModstamp, Email, AccountId FROM Contact "
            "ORDER BY SystemModstamp ASC, Id ASC"
        )

    def test_cursor_filters_with_tie_break_on_id(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """A cursor becomes `> t OR (= t AND Id > last)`, so equal stamps are neither lost nor
        repeated."""
        rsps.get(f"{API}/query/", json={"totalSize": 0, "done": True, "records": []})
        cursor = Cursor(datetime(2026, 1, 5, 10, 0, 7, tzinfo=UTC), _id("003", 9))
        list(client.pull("Case", ["Status"], cursor))
        assert _soql(rsps.calls[1]) == (
            "SELECT Id, SystemModstamp, Status FROM Case WHERE (SystemModstamp > "
            "2026-01-05T10:00:07Z OR (SystemModstamp = 2026-01-05T10:00:07Z AND Id > "
            "'003000000000009AAA')) ORDER BY SystemModstamp ASC, Id ASC"
        )

    def test_pages_follow_next_records_url_and_carry_their_last_record(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """Each page yields its records and the cursor of its last record, to commit once stored."""
        next_url = "/services/data/v59.0/query/01gxx0000000001-2000"
        rsps.get(
            f"{API}/query/",
            json={
                "totalSize": 3,
                "done": False,
                "nextRecordsUrl": next_url,
                "records": [_contact(1, 1), _contact(2, 1)],
            },
            headers=LIMIT_HEADER | AN_HOUR_LATER,
        )
        rsps.get(
            f"{INSTANCE}{next_url}",
            json={"totalSize": 3, "done": True, "records": [_contact(3, 2)]},
        )
        pages = list(client.pull("Contact", ["Email"], Cursor()))
        assert [[r.id for r in p.records] for p in pages] == [
            [_id("003", 1), _id("003", 2)],
            [_id("003", 3)],
        ]
        assert pages[0].cursor == Cursor(datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC), _id("003", 2))
        assert pages[1].cursor.last_id == _id("003", 3)
        assert pages[0].records[0].fields["Email"] == "person1@example.com"
        assert "attributes" not in pages[0].records[0].fields
        assert client.usage() is not None

    @pytest.mark.parametrize(
        ("answered", "cursor"),
        [
            pytest.param(
                "Mon, 05 Jan 2026 10:03:00 GMT",
                Cursor(datetime(2026, 1, 5, 9, 57, 59, tzinfo=UTC), None),
                id="within-look-back",
            ),
            pytest.param(
                "Mon, 05 Jan 2026 10:05:03 GMT",
                Cursor(datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC), _id("003", 2)),
                id="past-look-back",
            ),
        ],
    )
    def test_the_cursor_claims_nothing_within_the_look_back_of_the_read(
        self, rsps: responses.RequestsMock, client: SalesforceClient, answered: str, cursor: Cursor
    ) -> None:
        """A record committed late may carry a stamp up to five minutes before the org's time
        of the read (its Date header): the cursor stops short of that window."""
        rsps.get(
            f"{API}/query/",
            json={"done": True, "records": [_contact(1, 1), _contact(2, 1)]},
            headers={"Date": answered},
        )
        [page] = client.pull("Contact", ["Email"], Cursor())
        assert page.cursor == cursor

    def test_records_at_or_before_the_cursor_are_not_repeated(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """Records the server returns again inside the cursor's second are dropped."""
        same_second = _contact(1, 7) | {"SystemModstamp": "2026-01-05T10:00:07.200+0000"}
        later = _contact(2, 7) | {"SystemModstamp": "2026-01-05T10:00:07.900+0000"}
        rsps.get(f"{API}/query/", json={"done": True, "records": [same_second, later]})
        cursor = Cursor(datetime(2026, 1, 5, 10, 0, 7, 500_000, tzinfo=UTC), _id("003", 5))
        pages = list(client.pull("Contact", ["Email"], cursor))
        assert [r.id for p in pages for r in p.records] == [_id("003", 2)]

    def test_deletions_come_from_query_all(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """Deleted records are read through queryAll with IsDeleted = true, flagged deleted."""
        rsps.get(
            f"{API}/queryAll/",
            json={"done": True, "records": [_contact(4, 3) | {"IsDeleted": True}]},
        )
        cursor = Cursor(datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC))
        pages = list(client.pull_deleted("Contact", cursor))
        assert _soql(rsps.calls[1]) == (
            "SELECT Id, SystemModstamp FROM Contact WHERE IsDeleted = true AND "
            "SystemModstamp > 2026-01-05T10:00:00Z ORDER BY SystemModstamp ASC, Id ASC"
        )
        assert pages[0].records[0].deleted


class TestBulkFirstSync:
    """A first sync above the threshold continues through a Bulk API 2.0 query job."""

    @pytest.fixture
    def bulk_client(self, rsps: responses.RequestsMock, sleeps: list[float]) -> SalesforceClient:
        """A client that switches to Bulk API 2.0 above 3 records, polling every 2 s."""
        _token(rsps)
        settings = SalesforceSettings(
            auth=ClientCredentialsAuth("SF_KEY", "SF_SECRET", domain=DOMAIN),
            bulk_threshold=3,
            bulk_page_records=2,
            bulk_poll_s=2,
        )
        return make_salesforce_client(
            settings, session=requests.Session(), environ=ENV, sleep=sleeps.append
        )

    def _first_page(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{API}/query/",
            json={
                "totalSize": 5,
                "done": False,
                "nextRecordsUrl": "/services/data/v59.0/query/01g-2",
                "records": [_contact(1, 1)],
            },
            headers=AN_HOUR_LATER,
        )

    def test_rest_page_then_bulk_job_pages(
        self, rsps: responses.RequestsMock, bulk_client: SalesforceClient, sleeps: list[float]
    ) -> None:
        """Page one comes from REST; the job selects the rest, unordered, after its cursor."""
        self._first_page(rsps)
        rsps.get(
            f"{API}/sobjects/Contact/describe",
            json={
                "fields": [
                    {"name": "Id", "type": "id"},
                    {"name": "SystemModstamp", "type": "datetime"},
                    {"name": "Email", "type": "email"},
                    {"name": "HasOptedOutOfEmail", "type": "boolean"},
                    {"name": "NPS_Last_Score__c", "type": "double"},
                ]
            },
        )
        rsps.post(f"{API}/jobs/query", json={"id": "750xx01", "state": "UploadComplete"})
        rsps.get(f"{API}/jobs/query/750xx01", json={"id": "750xx01", "state": "InProgress"})
        rsps.get(f"{API}/jobs/query/750xx01", json={"id": "750xx01", "state": "JobComplete"})
        header = "Id,SystemModstamp,Email,HasOptedOutOfEmail,NPS_Last_Score__c,Owner.Name\n"
        rsps.get(
            f"{API}/jobs/query/750xx01/results",
            body=header
            + f"{_id('003', 4)},2026-01-05T10:00:09.000Z,d@example.com,true,,Ken\n"
            + f"{_id('003', 2)},2026-01-05T10:00:03.000Z,b@example.com,false,7,Ken\n",
            headers={"Sforce-Locator": "MTAwMDA", "Sforce-NumberOfRecords": "2"},
            match=[matchers.query_param_matcher({"maxRecords": "2"})],
        )
        rsps.get(
            f"{API}/jobs/query/750xx01/results",
            body=header + f"{_id('003', 3)},2026-01-05T10:00:05.000Z,c@example.com,false,9,Ken\n",
            headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1"},
            match=[matchers.query_param_matcher({"maxRecords": "2", "locator": "MTAwMDA"})],
        )
        fields = ["Email", "HasOptedOutOfEmail", "NPS_Last_Score__c", "Owner.Name"]
        pages = list(bulk_client.pull("Contact", fields, Cursor()))
        rest_cursor = Cursor(datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC), _id("003", 1))
        assert [p.cursor for p in pages] == [
            rest_cursor,
            rest_cursor,
            Cursor(datetime(2026, 1, 5, 10, 0, 9, tzinfo=UTC), _id("003", 4)),
        ]
        job = _body(rsps.calls[3])
        assert job["operation"] == "query"
        assert job["query"] == (
            "SELECT Id, SystemModstamp, Email, HasOptedOutOfEmail, NPS_Last_Score__c, Owner.Name "
            "FROM Contact WHERE (SystemModstamp > 2026-01-05T10:00:01Z OR (SystemModstamp = "
            "2026-01-05T10:00:01Z AND Id > '003000000000001AAA'))"
        )
        first_bulk = pages[1].records[0].fields
        assert first_bulk["HasOptedOutOfEmail"] is True
        assert first_bulk["NPS_Last_Score__c"] is None
        assert first_bulk["SystemModstamp"] == "2026-01-05T10:00:09.000+0000"
        assert first_bulk["Owner"] == {"Name": "Ken"}
        assert pages[1].records[1].fields["NPS_Last_Score__c"] == 7.0
        assert sleeps == [2]

    @pytest.mark.parametrize("state", ["Failed", "Aborted"])
    def test_a_job_that_ends_failed_or_aborted_leaves_the_rest_to_rest(
        self, rsps: responses.RequestsMock, bulk_client: SalesforceClient, state: str
    ) -> None:
        """The job gave nothing: paging goes on through REST from page one, and says why."""
        self._first_page(rsps)
        rsps.get(f"{API}/sobjects/Contact/describe", json={"fields": []})
        rsps.post(f"{API}/jobs/query", json={"id": "750xx02", "state": "UploadComplete"})
        rsps.get(
            f"{API}/jobs/query/750xx02",
            json={"id": "750xx02", "state": state, "errorMessage": "query timed out"},
        )
        rsps.get(
            f"{INSTANCE}/services/data/v59.0/query/01g-2",
            json={"done": True, "records": [_contact(2, 2)]},
        )
        with capture_logs() as logs:
            pages = list(bulk_client.pull("Contact", ["Email"], Cursor()))
        assert [r.id for p in pages for r in p.records] == [_id("003", 1), _id("003", 2)]
        assert {"salesforce_bulk_job_ended", "salesforce_bulk_unavailable"} <= {
            entry["event"] for entry in logs
        }

    def test_org_without_bulk_api_keeps_paging_through_rest(
        self, rsps: responses.RequestsMock, bulk_client: SalesforceClient
    ) -> None:
        """A 404 on job creation falls back to the REST query's next page: nothing lost."""
        next_url = "/services/data/v59.0/query/01g-2"
        rsps.get(
            f"{API}/query/",
            json={
                "totalSize": 5,
                "done": False,
                "nextRecordsUrl": next_url,
                "records": [_contact(1, 1)],
            },
        )
        rsps.get(f"{API}/sobjects/Contact/describe", json={"fields": []})
        rsps.post(
            f"{API}/jobs/query",
            status=404,
            json=[{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
        )
        rsps.get(f"{INSTANCE}{next_url}", json={"done": True, "records": [_contact(2, 2)]})
        pages = list(bulk_client.pull("Contact", ["Email"], Cursor()))
        assert [r.id for p in pages for r in p.records] == [_id("003", 1), _id("003", 2)]

    def test_incremental_pulls_stay_on_rest(
        self, rsps: responses.RequestsMock, bulk_client: SalesforceClient
    ) -> None:
        """With a cursor, even a large result is paged through REST."""
        next_url = "/services/data/v59.0/query/01g-2"
        rsps.get(
            f"{API}/query/",
            json={
                "totalSize": 9,
                "done": False,
                "nextRecordsUrl": next_url,
                "records": [_contact(1, 1)],
            },
        )
        rsps.get(f"{INSTANCE}{next_url}", json={"done": True, "records": [_contact(2, 2)]})
        cursor = Cursor(datetime(2026, 1, 5, tzinfo=UTC), None)
        assert len(list(bulk_client.pull("Contact", ["Email"], cursor))) == 2


def _results(ids: list[str]) -> list[dict[str, Any]]:
    return [{"id": i, "success": True, "errors": []} for i in ids]


class TestUpdate:
    """Field updates batched into sObject Collections and Composite requests."""

    def test_one_collection_goes_direct_with_all_or_none_false(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """Up to 200 records of one type are one PATCH composite/sobjects, allOrNone false."""
        rsps.patch(
            f"{API}/composite/sobjects",
            json=_results([_id("003", 1), _id("003", 2)]),
        )
        updates = [
            FieldUpdate("Contact", _id("003", 1), {"NPS_Last_Score__c": 3}, "k1"),
            FieldUpdate(
                "Contact",
                _id("003", 2),
                {"NPS_Last_Response_At__c": datetime(2026, 1, 5, 9, 0, tzinfo=UTC)},
                "k2",
            ),
        ]
        results = client.update(updates, Priority.ESSENTIAL)
        assert [r.ok for r in results] == [True, True]
        assert _body(rsps.calls[1]) == {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Contact"}, "id": _id("003", 1), "NPS_Last_Score__c": 3},
                {
                    "attributes": {"type": "Contact"},
                    "id": _id("003", 2),
                    "NPS_Last_Response_At__c": "2026-01-05T09:00:00.000Z",
                },
            ],
        }

    def test_many_collections_share_composite_calls(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """1,250 updates over two objects take two Composite calls of at most five collections."""
        contacts = [_id("003", n) for n in range(1050)]
        accounts = [_id("001", n) for n in range(200)]

        def reply(request: Any) -> tuple[int, dict[str, str], str]:
            body = json.loads(request.body)
            sub = [
                {
                    "body": _results([r["id"] for r in s["body"]["records"]]),
                    "httpHeaders": {},
                    "httpStatusCode": 200,
                    "referenceId": s["referenceId"],
                }
                for s in body["compositeRequest"]
            ]
            return 200, {}, json.dumps({"compositeResponse": sub})

        rsps.add_callback(responses.POST, f"{API}/composite", callback=reply)
        updates = [FieldUpdate("Contact", i, {"NPS_Last_Score__c": 9}, i) for i in contacts]
        updates += [FieldUpdate("Account", i, {"NPS_Score__c": 40.0}, i) for i in accounts]
        results = client.update(updates)
        assert all(r.ok for r in results)
        assert [r.crm_id for r in results] == contacts + accounts
        first, second = _body(rsps.calls[1]), _body(rsps.calls[2])
        assert first["allOrNone"] is False
        assert [len(s["body"]["records"]) for s in first["compositeRequest"]] == [200] * 5
        assert [len(s["body"]["records"]) for s in second["compositeRequest"]] == [50, 200]
        subrequest = second["compositeRequest"][1]
        assert subrequest["method"] == "PATCH"
        assert subrequest["url"] == "/services/data/v59.0/composite/sobjects"
        assert subrequest["body"]["records"][0]["attributes"] == {"type": "Account"}
        assert len(rsps.calls) == 3

    def test_per_record_failures_are_returned_not_dropped(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """A refused record comes back with Salesforce's statusCode, message and fields."""
        rsps.patch(
            f"{API}/composite/sobjects",
            json=[
                {"id": _id("003", 1), "success": True, "errors": []},
                {
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            "message": "bad value for restricted picklist field: Happy",
                            "fields": ["NPS_Last_Category__c"],
                        }
                    ],
                },
            ],
        )
        results = client.update(
            [
                FieldUpdate("Contact", _id("003", 1), {"NPS_Last_Score__c": 10}, "ok"),
                FieldUpdate("Contact", _id("003", 2), {"NPS_Last_Category__c": "Happy"}, "bad"),
            ]
        )
        assert results[0].ok
        assert results[1].error is not None
        assert results[1].error.code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        assert results[1].error.fields == ("NPS_Last_Category__c",)

    def test_updates_of_one_record_merge_into_one_entry(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """Two updates of one contact become one record (later wins); both keys get a result."""
        rsps.patch(f"{API}/composite/sobjects", json=_results([_id("003", 1)]))
        results = client.update(
            [
                FieldUpdate("Contact", _id("003", 1), {"NPS_Last_Score__c": 3}, "a"),
                FieldUpdate("Contact", _id("003", 1), {"NPS_Last_Score__c": 4, "X__c": 1}, "b"),
            ]
        )
        assert [r.dedup_key for r in results] == ["a", "b"]
        assert _body(rsps.calls[1])["records"] == [
            {
                "attributes": {"type": "Contact"},
                "id": _id("003", 1),
                "NPS_Last_Score__c": 4,
                "X__c": 1,
            }
        ]

    def test_failed_composite_subrequest_fails_its_records_only(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """A subrequest answered with an error status marks its own records failed."""
        ok = {"body": _results([_id("003", 0)]), "httpStatusCode": 200, "referenceId": "c0"}
        bad = {
            "body": [{"errorCode": "INVALID_TYPE", "message": "sObject type 'Nope' not supported"}],
            "httpStatusCode": 400,
            "referenceId": "c1",
        }
        rsps.post(f"{API}/composite", json={"compositeResponse": [ok, bad]})
        results = client.update(
            [
                FieldUpdate("Contact", _id("003", 0), {"A__c": 1}, "good"),
                FieldUpdate("Nope", _id("a00", 0), {"A__c": 1}, "nope"),
            ]
        )
        assert results[0].ok
        assert results[1].error is not None
        assert results[1].error.code == "INVALID_TYPE"


class TestTasks:
    """Tasks and response notes: dedup keys looked up first, then only missing tasks created."""

    TASK = TaskSpec(
        dedup_key="followup:42",
        subject="Call back: NPS 3",
        body="Customer said onboarding was slow.",
        due_at=datetime(2026, 1, 6, 23, 30, tzinfo=UTC),
        priority=TaskPriority.HIGH,
        owner_id=_id("005", 1),
        contact_id=_id("003", 1),
        account_id=_id("001", 1),
    )
    CREATE = f"{API}/composite/sobjects"
    LOOKUP = f"{API}/queryAll/"

    @staticmethod
    def created(*ids: str) -> list[dict[str, Any]]:
        return [{"id": task_id, "success": True, "errors": []} for task_id in ids]

    def test_lookup_then_create(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """The key is looked up (queryAll); the task is created with POST, never upserted."""
        rsps.get(self.LOOKUP, json={"done": True, "totalSize": 0, "records": []})
        rsps.post(self.CREATE, json=self.created("00T000000000001AAA"))
        [result] = client.create_tasks([self.TASK])
        assert result.crm_id == "00T000000000001AAA"
        assert _soql(rsps.calls[1]) == (
            "SELECT Id, NPS_Dedup_Key__c FROM Task WHERE NPS_Dedup_Key__c IN ('followup:42')"
        )
        assert _body(rsps.calls[2]) == {
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": "Task"},
                    "Subject": "Call back: NPS 3",
                    "Description": "Customer said onboarding was slow.",
                    "ActivityDate": "2026-01-06",
                    "ReminderDateTime": "2026-01-06T23:30:00.000Z",
                    "IsReminderSet": True,
                    "Priority": "High",
                    "OwnerId": _id("005", 1),
                    "WhoId": _id("003", 1),
                    "WhatId": _id("001", 1),
                    "NPS_Dedup_Key__c": "followup:42",
                }
            ],
        }

    def test_a_task_the_org_holds_is_not_created_again(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """A retried batch whose task exists makes no create call and answers its id."""
        rsps.get(
            self.LOOKUP,
            json={
                "done": True,
                "records": [{"Id": "00T000000000009AAA", "NPS_Dedup_Key__c": "followup:42"}],
            },
        )
        [result] = client.create_tasks([self.TASK])
        assert result.crm_id == "00T000000000009AAA"
        assert [call.request.method for call in rsps.calls[1:]] == ["GET"]

    def test_keys_match_exactly_although_soql_ignores_case(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """SOQL's IN matches 'FOLLOWUP:42' for 'followup:42'; that other key makes no match."""
        rsps.get(
            self.LOOKUP,
            json={
                "done": True,
                "records": [{"Id": "00T000000000009AAA", "NPS_Dedup_Key__c": "FOLLOWUP:42"}],
            },
        )
        rsps.post(self.CREATE, json=self.created("00T000000000001AAA"))
        [result] = client.create_tasks([self.TASK])
        assert result.crm_id == "00T000000000001AAA"

    def test_an_interrupted_create_is_looked_up_before_it_is_sent_again(
        self, rsps: responses.RequestsMock, client: SalesforceClient, sleeps: list[float]
    ) -> None:
        """A 502 on create is ambiguous: the key is looked up again, and the task found there."""
        rsps.get(self.LOOKUP, json={"done": True, "records": []})
        rsps.post(
            self.CREATE,
            status=502,
            json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "upstream"}],
        )
        rsps.get(
            self.LOOKUP,
            json={
                "done": True,
                "records": [{"Id": "00T000000000001AAA", "NPS_Dedup_Key__c": "followup:42"}],
            },
        )
        [result] = client.create_tasks([self.TASK])
        assert result.crm_id == "00T000000000001AAA"
        assert [call.request.method for call in rsps.calls[1:]] == ["GET", "POST", "GET"]
        assert sleeps == [0.5]

    def test_a_dropped_create_is_not_sent_twice_when_it_landed(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """A connection lost during the create is not retried blindly either."""
        rsps.get(self.LOOKUP, json={"done": True, "records": []})
        rsps.post(self.CREATE, body=requests.ConnectionError("connection reset by peer"))
        rsps.get(
            self.LOOKUP,
            json={
                "done": True,
                "records": [{"Id": "00T000000000001AAA", "NPS_Dedup_Key__c": "followup:42"}],
            },
        )
        [result] = client.create_tasks([self.TASK])
        assert result.ok
        assert [call.request.method for call in rsps.calls[1:]] == ["GET", "POST", "GET"]

    def test_many_tasks_take_one_lookup_and_one_create_call(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """450 tasks: three lookups in one Composite call, three create collections in another."""

        def reply(request: Any) -> tuple[int, dict[str, str], str]:
            body = json.loads(request.body)
            sub = []
            for index, part in enumerate(body["compositeRequest"]):
                if part["method"] == "GET":
                    result: Any = {"done": True, "totalSize": 0, "records": []}
                else:
                    result = [
                        {"id": f"00T{index}{n:014d}", "success": True, "errors": []}
                        for n, _ in enumerate(part["body"]["records"])
                    ]
                sub.append(
                    {"body": result, "httpStatusCode": 200, "referenceId": part["referenceId"]}
                )
            return 200, {}, json.dumps({"compositeResponse": sub})

        rsps.add_callback(responses.POST, f"{API}/composite", callback=reply)
        due = datetime(2026, 1, 6, tzinfo=UTC)
        tasks = [
            TaskSpec(f"f:{n}", "s", "b", due, TaskPriority.NORMAL, None, _id("003", n), None)
            for n in range(450)
        ]
        assert all(r.ok for r in client.create_tasks(tasks))
        lookups = _body(rsps.calls[1])["compositeRequest"]
        assert [part["method"] for part in lookups] == ["GET", "GET", "GET"]
        assert all(part["url"].startswith("/services/data/v59.0/queryAll/?q=") for part in lookups)
        creates = _body(rsps.calls[2])["compositeRequest"]
        assert [len(part["body"]["records"]) for part in creates] == [200, 200, 50]
        assert {(part["method"], part["url"]) for part in creates} == {
            ("POST", "/services/data/v59.0/composite/sobjects")
        }
        assert len(rsps.calls) == 3

    def test_notes_are_completed_tasks(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """A response note is logged as a completed Task on the contact and account."""
        rsps.get(self.LOOKUP, json={"done": True, "records": []})
        rsps.post(self.CREATE, json=self.created("00T000000000002AAA"))
        note = NoteSpec(
            "response:7", "Score 9: great support", datetime(2026, 1, 5, tzinfo=UTC), "003a", None
        )
        client.create_notes([note])
        record = _body(rsps.calls[2])["records"][0]
        assert record["Status"] == "Completed"
        assert record["Subject"] == "NPS response"
        assert record["WhoId"] == "003a"
        assert record["NPS_Dedup_Key__c"] == "response:7"
        assert "WhatId" not in record

    def test_task_statuses_read_in_one_query(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """Task state comes from IsClosed; ids the org no longer returns are deleted."""
        rsps.get(
            f"{API}/query/",
            json={
                "done": True,
                "records": [
                    {
                        "Id": "00T000000000001AAA",
                        "SystemModstamp": _stamp(5),
                        "Status": "Completed",
                        "IsClosed": True,
                        "OwnerId": _id("005", 1),
                        "CompletedDateTime": _stamp(5),
                    },
                    {
                        "Id": "00T000000000002AAA",
                        "SystemModstamp": _stamp(1),
                        "Status": "Not Started",
                        "IsClosed": False,
                        "OwnerId": _id("005", 2),
                        "CompletedDateTime": None,
                    },
                    {
                        "Id": "00T000000000004AAA",
                        "SystemModstamp": _stamp(2),
                        "Status": "Waiting on someone else",
                        "IsClosed": False,
                        "OwnerId": _id("005", 2),
                        "CompletedDateTime": None,
                    },
                ],
            },
        )
        ids = [
            "00T000000000001AAA",
            "00T000000000002AAA",
            "00T000000000003AAA",
            "00T000000000004AAA",
        ]
        statuses = client.task_statuses(ids)
        assert [s.state for s in statuses] == [
            TaskState.COMPLETED,
            TaskState.OPEN,
            TaskState.DELETED,
            TaskState.IN_PROGRESS,
        ]
        assert statuses[0].completed_at == datetime(2026, 1, 5, 10, 0, 5, tzinfo=UTC)
        assert _soql(rsps.calls[1]) == (
            "SELECT Id, SystemModstamp, Status, IsClosed, OwnerId, CompletedDateTime, Description"
            " FROM Task "
            "WHERE Id IN ('00T000000000001AAA', '00T000000000002AAA', '00T000000000003AAA', "
            "'00T000000000004AAA')"
        )

    def test_managers_of_active_users(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """One query of active users; a manager outside it (inactive) and the VP drop out."""
        rep, lead, vp, gone = (_id("005", n) for n in (1, 2, 3, 4))
        users = [(rep, lead), (lead, vp), (vp, None), (_id("005", 5), gone)]
        rsps.get(
            f"{API}/query/",
            json={"done": True, "records": [{"Id": u, "ManagerId": m} for u, m in users]},
        )
        assert client.managers() == {rep: lead, lead: vp}
        assert _soql(rsps.calls[1]) == "SELECT Id, ManagerId FROM User WHERE IsActive = true"

    def test_active_users(self, rsps: responses.RequestsMock, client: SalesforceClient) -> None:
        """The users a task may go to, with their locale: one query, following its pages."""
        rsps.get(
            f"{API}/query/",
            json={
                "done": False,
                "nextRecordsUrl": "/services/data/v59.0/query/01g-2000",
                "records": [
                    {
                        "Id": _id("005", 1),
                        "FirstName": "健",
                        "LastName": "田中",
                        "LanguageLocaleKey": "ja",
                        "TimeZoneSidKey": "Asia/Tokyo",
                    }
                ],
            },
        )
        rsps.get(
            f"{API}/query/01g-2000",
            json={"done": True, "records": [{"Id": _id("005", 2), "LanguageLocaleKey": "en_US"}]},
        )
        users = client.users()
        assert users == {
            _id("005", 1): UserProfile(_id("005", 1), "健", "田中", "ja", "Asia/Tokyo"),
            _id("005", 2): UserProfile(_id("005", 2), None, None, "en", None),
        }
        assert _soql(rsps.calls[1]) == (
            "SELECT Id, FirstName, LastName, LanguageLocaleKey, TimeZoneSidKey FROM User"
            " WHERE IsActive = true"
        )


class TestFailures:
    """Session refresh, transient retries, the daily limit and the budget shares."""

    def test_expired_session_logs_in_again_and_repeats_the_call(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """A 401 INVALID_SESSION_ID triggers a new login and the same request with the new token."""
        rsps.get(
            f"{API}/query/",
            status=401,
            json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
        )
        _token(rsps, "00Dxx0000001gPL!AQ4AQSecond")
        rsps.get(f"{API}/query/", json={"done": True, "records": [_contact(1, 1)]})
        pages = list(client.pull("Contact", ["Email"], Cursor()))
        assert len(pages) == 1
        assert (
            rsps.calls[3].request.headers["Authorization"] == "Bearer 00Dxx0000001gPL!AQ4AQSecond"
        )

    def test_503_is_retried_with_backoff(
        self, rsps: responses.RequestsMock, client: SalesforceClient, sleeps: list[float]
    ) -> None:
        """A 503 is retried after a backoff; the same body is sent again."""
        unavailable = [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
        rsps.patch(f"{API}/composite/sobjects", status=503, json=unavailable)
        rsps.patch(f"{API}/composite/sobjects", json=_results([_id("003", 1)]))
        results = client.update([FieldUpdate("Contact", _id("003", 1), {"A__c": 1}, "k")])
        assert results[0].ok
        assert sleeps == [0.5]
        assert _body(rsps.calls[1]) == _body(rsps.calls[2])

    def test_persistent_5xx_becomes_unavailable(
        self, rsps: responses.RequestsMock, client: SalesforceClient, sleeps: list[float]
    ) -> None:
        """After the configured attempts a 5xx surfaces as Unavailable."""
        for _ in range(3):
            rsps.get(f"{API}/query/", status=500, json=[{"message": "x", "errorCode": "UNKNOWN"}])
        with pytest.raises(Unavailable):
            list(client.pull("Contact", ["Email"], Cursor()))
        assert sleeps == [0.5, 1.0]

    def test_connection_error_is_retried(
        self, rsps: responses.RequestsMock, client: SalesforceClient, sleeps: list[float]
    ) -> None:
        """A dropped connection is retried like a 5xx."""
        rsps.get(f"{API}/query/", body=requests.ConnectionError("reset by peer"))
        rsps.get(f"{API}/query/", json={"done": True, "records": []})
        list(client.pull("Contact", ["Email"], Cursor()))
        assert sleeps == [0.5]

    def test_daily_limit_stops_without_retrying(
        self, rsps: responses.RequestsMock, client: SalesforceClient, sleeps: list[float]
    ) -> None:
        """REQUEST_LIMIT_EXCEEDED with usage at the limit is BudgetExhausted, tried once."""
        rsps.get(
            f"{API}/query/",
            status=403,
            json=[
                {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
            ],
            headers={"Sforce-Limit-Info": "api-usage=100001/100000"},
        )
        with pytest.raises(BudgetExhausted):
            list(client.pull("Contact", ["Email"], Cursor()))
        assert sleeps == []

    def test_concurrent_request_limit_is_retried(
        self, rsps: responses.RequestsMock, client: SalesforceClient, sleeps: list[float]
    ) -> None:
        """REQUEST_LIMIT_EXCEEDED while the daily usage is low is the concurrency limit: retried."""
        rsps.get(
            f"{API}/query/",
            status=403,
            json=[
                {
                    "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
                    "errorCode": "REQUEST_LIMIT_EXCEEDED",
                }
            ],
            headers={"Sforce-Limit-Info": "api-usage=500/100000"},
        )
        rsps.get(f"{API}/query/", json={"done": True, "records": []})
        list(client.pull("Contact", ["Email"], Cursor()))
        assert sleeps == [0.5]

    def test_concurrency_limit_that_persists_is_rate_limited(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """When the concurrency limit outlasts the retries the caller gets RateLimited."""
        for _ in range(3):
            rsps.get(
                f"{API}/query/",
                status=403,
                json=[{"message": "busy", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
                headers={"Sforce-Limit-Info": "api-usage=500/100000"},
            )
        with pytest.raises(RateLimited):
            list(client.pull("Contact", ["Email"], Cursor()))

    def test_429_is_retried_then_rate_limited(
        self, rsps: responses.RequestsMock, client: SalesforceClient, sleeps: list[float]
    ) -> None:
        """A 429 is retried like a 5xx, honouring Retry-After, and surfaces as RateLimited."""
        for _ in range(3):
            rsps.get(
                f"{API}/query/",
                status=429,
                json=[{"message": "slow down", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
                headers={"Retry-After": "3"},
            )
        with pytest.raises(RateLimited):
            list(client.pull("Contact", ["Email"], Cursor()))
        assert sleeps == [3.0, 3.0]

    def test_budget_share_stops_normal_work_but_not_essential(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """Past 50% of the daily allocation pulls stop before any request; answers still go out."""
        rsps.get(
            f"{API}/query/",
            json={"done": True, "records": []},
            headers={"Sforce-Limit-Info": "api-usage=60000/100000"},
        )
        list(client.pull("Contact", ["Email"], Cursor()))
        with pytest.raises(BudgetExhausted):
            list(client.pull("Contact", ["Email"], Cursor()))
        rsps.patch(f"{API}/composite/sobjects", json=_results([_id("003", 1)]))
        client.update([FieldUpdate("Contact", _id("003", 1), {"A__c": 1}, "k")], Priority.ESSENTIAL)
        assert len(rsps.calls) == 3
        usage = client.usage()
        assert usage is not None
        assert (usage.used, usage.limit) == (60000, 100000)


class TestCheck:
    """`check` describes each mapped object and lists every field problem."""

    def test_describe_maps_salesforce_types(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """Describe results become FieldInfo with normalised types and picklist values."""
        rsps.get(
            f"{API}/sobjects/Contact/describe",
            json={
                "name": "Contact",
                "fields": [
                    {
                        "name": "NPS_Last_Score__c",
                        "type": "double",
                        "updateable": True,
                        "length": 0,
                    },
                    {
                        "name": "NPS_Last_Category__c",
                        "type": "picklist",
                        "updateable": True,
                        "length": 255,
                        "picklistValues": [{"value": "Promoter", "active": True}],
                    },
                    {"name": "Notes__c", "type": "textarea", "updateable": True, "length": 32768},
                ],
            },
        )
        fields = client.describe("Contact")
        assert fields["NPS_Last_Score__c"].type is FieldType.NUMBER
        assert fields["NPS_Last_Category__c"].options == ("Promoter",)
        assert fields["Notes__c"].type is FieldType.TEXT

    def test_check_lists_missing_objects_and_fields(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """An org without the custom fields gets one line per missing field, a 404 one per
        object."""
        mapping = SalesforceMapping()
        expected = expected_fields(mapping, "NPS_Dedup_Key__c")
        for sobject in expected:
            if sobject == "Opportunity":
                rsps.get(
                    f"{API}/sobjects/{sobject}/describe",
                    status=404,
                    json=[
                        {
                            "errorCode": "NOT_FOUND",
                            "message": "The requested resource does not exist",
                        }
                    ],
                )
            else:
                rsps.get(
                    f"{API}/sobjects/{sobject}/describe",
                    json={"fields": [{"name": "Id", "type": "id", "updateable": False}]},
                )
        problems = check_fields(client, expected)
        assert "Opportunity: object not found (or not visible to the integration user)" in problems
        unseen = ": missing, or not readable by the integration user"
        assert f"Contact.NPS_Last_Score__c{unseen}" in problems
        assert f"Task.NPS_Dedup_Key__c{unseen}" in problems

    def test_check_reads_the_users_rights_from_describe(
        self, rsps: responses.RequestsMock, client: SalesforceClient
    ) -> None:
        """describe's object flags are the connected user's: each right needed and not held."""
        rsps.get(
            f"{API}/sobjects/Task/describe",
            json={"name": "Task", "queryable": True, "createable": False, "updateable": False},
        )
        rsps.get(
            f"{API}/sobjects/Contact/describe",
            status=404,
            json=[{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
        )
        rights = {
            "Task": {"Read": "to read tasks", "Create": "to open tasks"},
            "Contact": {"Read": "to pull contacts", "Edit": "to write answers"},
        }
        assert check_fields(client, {}, rights) == [
            "Task: missing Create, to open tasks",
            "Contact: missing Read, to pull contacts",
            "Contact: missing Edit, to write answers",
        ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("api-usage=18/5000", (18, 5000), id="plain"),
        pytest.param(
            "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)",
            (25, 5000),
            id="with-per-app",
        ),
    ],
)
def test_limit_info_feeds_usage(
    rsps: responses.RequestsMock, client: SalesforceClient, header: str, expected: tuple[int, int]
) -> None:
    """Every response's Sforce-Limit-Info header updates the reported usage."""
    rsps.get(
        f"{API}/query/",
        json={"done": True, "records": []},
        headers={"Sforce-Limit-Info": header},
        match=[
            matchers.query_param_matcher(
                {"q": "SELECT Id, SystemModstamp FROM Account ORDER BY SystemModstamp ASC, Id ASC"}
            )
        ],
    )
    list(client.pull("Account", [], Cursor()))
    usage = client.usage()
    assert usage is not None
    assert (usage.used, usage.limit) == expected

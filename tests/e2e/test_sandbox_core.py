"""The sandbox core over real HTTPS: TLS and login routing, control endpoints, faults in each
CRM's own format, the request log, and the time machine living through a month."""

import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests
import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.objects.tasks import BatchInputSimplePublicObjectBatchInputForCreate
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from tests.fixtures.sandbox import SandboxFactory
from tests.sandbox_session import sandbox_session
from worker.sandbox.activity import ActivitySummary
from worker.sandbox.faults import FaultRule
from worker.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e

START = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
SF_QUERY = r"/services/data/v[\d.]+/query"


def _salesforce(sandbox: Sandbox) -> Salesforce:
    from worker.sandbox.salesforce import client_for

    return client_for(sandbox_session(sandbox))


def _hubspot(sandbox: Sandbox) -> HubSpot:
    from worker.sandbox.hubspot import client_for

    return client_for(sandbox.base_url, sandbox.ca_path)


def _control(sandbox: Sandbox, method: str, name: str, **kwargs: Any) -> requests.Response:
    return sandbox_session(sandbox).request(
        method, f"{sandbox.base_url}/_sandbox/{name}", timeout=10, **kwargs
    )


def _contacts_page(client: HubSpot) -> int:
    return len(client.crm.contacts.basic_api.get_page(limit=10).results)


class TestServer:
    def test_serves_tls_that_only_its_own_ca_vouches_for(self, sandbox: Sandbox) -> None:
        """The CA bundle verifies the server; the system trust store does not."""
        url = f"{sandbox.base_url}/_sandbox/clock"
        assert requests.get(url, verify=str(sandbox.ca_path), timeout=10).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url, verify=True, timeout=10)

    @pytest.mark.parametrize(
        "host",
        [
            pytest.param("login.salesforce.com", id="login"),
            pytest.param("test.salesforce.com", id="test"),
            pytest.param("acme.my.salesforce.com", id="my-domain"),
        ],
    )
    def test_session_routes_salesforce_hosts_to_the_sandbox(
        self, sandbox: Sandbox, host: str
    ) -> None:
        """simple-salesforce's login hosts reach the sandbox through `requests_session()`."""
        response = sandbox_session(sandbox).get(f"https://{host}/_sandbox/clock", timeout=10)
        assert response.status_code == 200
        assert "now" in response.json()

    def test_sandboxes_run_side_by_side_and_stop_cleanly(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """Two sandboxes get their own ports; a stopped one refuses connections."""
        first = sandbox_factory(size=10, seed=1)
        second = sandbox_factory(size=10, seed=2)
        assert first.port != second.port
        url = f"{first.base_url}/_sandbox/clock"
        session = sandbox_session(first)
        assert session.get(url, timeout=10).status_code == 200
        first.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(url, timeout=10)

    def test_start_at_a_given_moment(self, sandbox_factory: SandboxFactory) -> None:
        """`start` pins the sandbox clock, so a run's data and time are reproducible."""
        sandbox = sandbox_factory(size=10, seed=1, start=START)
        assert START <= sandbox.clock.now() < START + timedelta(minutes=1)
        assert all(p.created_at <= START for p in sandbox.world.people)

    def test_responses_are_dated_by_the_sandbox_clock(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """Each CRM's `Date` header tells the sandbox's time, as a real CRM tells its own."""
        sandbox = sandbox_factory(size=10, seed=1, start=START)
        session = sandbox_session(sandbox)
        for path in ("/crm/v3/owners", "/services/data/"):
            response = session.get(
                sandbox.base_url + path, headers={"Authorization": "Bearer x"}, timeout=10
            )
            dated = parsedate_to_datetime(response.headers["Date"])
            assert START <= dated < START + timedelta(minutes=1)


class TestControlEndpoints:
    def test_clock_is_read_and_set(self, sandbox: Sandbox) -> None:
        """GET reads the sandbox time; POST moves it to an ISO 8601 moment."""
        assert (
            _control(sandbox, "GET", "clock")
            .json()["now"]
            .startswith(str(sandbox.clock.now().year))
        )
        response = _control(sandbox, "POST", "clock", json={"now": "2030-01-01T00:00:00+09:00"})
        assert response.status_code == 200
        moment = datetime.fromisoformat(response.json()["now"])
        assert timedelta(0) <= moment - datetime(2029, 12, 31, 15, tzinfo=UTC) < timedelta(1)

    def test_advance_moves_the_clock_and_reports_activity(self, sandbox: Sandbox) -> None:
        """POST advance runs the time machine and returns the new time and what happened."""
        before = sandbox.clock.now()
        body = _control(sandbox, "POST", "advance", json={"days": 7, "hours": 12}).json()
        assert datetime.fromisoformat(body["now"]) - before >= timedelta(days=7, hours=12)
        activity = body["activity"]
        assert set(activity) == set(ActivitySummary().counts())
        assert all(isinstance(count, int) and count >= 0 for count in activity.values())
        assert activity["cases_closed"] > 0

    def test_faults_are_replaced_listed_and_cleared(self, sandbox: Sandbox) -> None:
        """POST sets the whole rule list (echoed back), GET lists it, an empty list clears it."""
        rule = {"crm": "hubspot", "path_pattern": "/search$", "kind": "503", "rate": 0.5}
        posted = _control(sandbox, "POST", "faults", json={"rules": [rule]}).json()
        assert posted["rules"] == [{**rule, "delay_s": 0.0, "limit": None}]
        assert _control(sandbox, "GET", "faults").json() == posted
        assert sandbox.faults.rules() == [FaultRule.from_dict(rule)]
        _control(sandbox, "POST", "faults", json={"rules": []})
        assert sandbox.faults.rules() == []

    def test_request_log_is_listed_and_filtered_without_itself(self, sandbox: Sandbox) -> None:
        """GET requests returns API calls (filterable), never the control calls themselves."""
        hubspot = _hubspot(sandbox)
        _contacts_page(hubspot)
        _contacts_page(hubspot)
        body = _control(sandbox, "GET", "requests", params={"crm": "hubspot"}).json()
        assert body["count"] == 2
        assert {entry["path"] for entry in body["requests"]} == {"/crm/v3/objects/contacts"}
        assert _control(sandbox, "GET", "requests", params={"crm": "salesforce"}).json() == {
            "count": 0,
            "requests": [],
        }

    @pytest.mark.parametrize(
        ("name", "body"),
        [
            pytest.param("clock", {"now": "yesterday"}, id="clock-not-iso"),
            pytest.param("clock", {"now": "2030-01-01T00:00:00"}, id="clock-naive"),
            pytest.param("clock", [1], id="clock-not-object"),
            pytest.param("advance", {}, id="advance-empty"),
            pytest.param("advance", {"weeks": 1}, id="advance-unknown-unit"),
            pytest.param("advance", {"days": -1}, id="advance-backwards"),
            pytest.param("advance", {"days": "1"}, id="advance-not-number"),
            pytest.param("faults", {"rule": {}}, id="faults-shape"),
            pytest.param("faults", {"rules": [{"kind": "418"}]}, id="faults-bad-rule"),
            pytest.param("faults", {"rules": ["500"]}, id="faults-not-object"),
        ],
    )
    def test_bad_control_requests_get_400_with_the_reason(
        self, sandbox: Sandbox, name: str, body: object
    ) -> None:
        """Malformed control requests are refused with a readable error and change nothing."""
        response = _control(sandbox, "POST", name, json=body)
        assert response.status_code == 400
        assert response.json()["error"]
        assert sandbox.faults.rules() == []


class TestFaults:
    def test_salesforce_fault_hits_every_matching_call_in_salesforce_format(
        self, sandbox: Sandbox
    ) -> None:
        """At rate 1.0 each SOQL query fails with Salesforce's error list; HubSpot is untouched."""
        salesforce, hubspot = _salesforce(sandbox), _hubspot(sandbox)
        sandbox.faults.add(FaultRule("salesforce", SF_QUERY, "503", 1.0))
        for _ in range(3):
            with pytest.raises(SalesforceError) as raised:
                salesforce.query("SELECT Id FROM Contact")
            errors: Any = raised.value.content
            assert raised.value.status == 503
            assert isinstance(errors, list)
            assert {"message", "errorCode"} <= set(errors[0])
        described: Any = salesforce.describe()
        assert described["sobjects"]
        assert _contacts_page(hubspot) == 10

    def test_hubspot_429_carries_the_ten_secondly_policy(self, sandbox: Sandbox) -> None:
        """An injected HubSpot 429 reads like HubSpot's own: policyName, no Retry-After."""
        hubspot = _hubspot(sandbox)
        sandbox.faults.add(FaultRule("hubspot", "/search$", "429", 1.0, delay_s=2))
        with pytest.raises(ContactsApiException) as raised:
            hubspot.crm.contacts.search_api.do_search(
                public_object_search_request=PublicObjectSearchRequest(limit=5)
            )
        assert raised.value.status == 429
        assert '"policyName":"TEN_SECONDLY_ROLLING"' in raised.value.body.replace(" ", "")
        assert "Retry-After" not in raised.value.headers
        assert _contacts_page(hubspot) == 10

    @pytest.mark.parametrize("status", [pytest.param(500, id="500"), pytest.param(503, id="503")])
    def test_hubspot_server_errors_use_hubspot_error_body(
        self, sandbox: Sandbox, status: int
    ) -> None:
        """5xx faults answer with HubSpot's status/message/correlationId/category body."""
        kind = str(status)
        sandbox.faults.add(FaultRule("hubspot", "/contacts", kind, 1.0))  # type: ignore[arg-type]
        session = sandbox_session(sandbox)
        response = session.get(f"{sandbox.base_url}/crm/v3/objects/contacts", timeout=10)
        assert response.status_code == status
        body = response.json()
        assert body["status"] == "error"
        assert {"message", "correlationId", "category"} <= set(body)

    def test_drop_closes_the_connection_without_a_response(self, sandbox: Sandbox) -> None:
        """A dropped request surfaces as a connection error in requests and in urllib3."""
        sandbox.faults.add(FaultRule(None, "/contacts|/query", "drop", 1.0))
        with pytest.raises(requests.ConnectionError):
            _salesforce(sandbox).query("SELECT Id FROM Contact")
        no_retry = HubSpot(
            access_token="sandbox-token",
            host=sandbox.base_url,
            ssl_ca_cert=str(sandbox.ca_path),
            retry=urllib3.Retry(total=0),
        )
        with pytest.raises(urllib3.exceptions.HTTPError):
            _contacts_page(no_retry)
        dropped = sandbox.log.entries(path_pattern="/contacts|/query")
        assert dropped
        assert {(entry.status, entry.fault) for entry in dropped} == {(0, "drop")}

    def test_slow_fault_delays_then_answers_normally(self, sandbox: Sandbox) -> None:
        """A slow request still succeeds, after at least the configured delay."""
        hubspot = _hubspot(sandbox)
        sandbox.faults.add(FaultRule("hubspot", "/contacts$", "slow", 1.0, delay_s=0.3))
        started = time.perf_counter()
        assert _contacts_page(hubspot) == 10
        assert time.perf_counter() - started >= 0.3
        (entry,) = sandbox.log.entries(crm="hubspot")
        assert entry.status == 200
        assert entry.fault == "slow"
        assert entry.duration_ms >= 300

    def test_partial_rate_is_reproducible_per_seed(self, sandbox_factory: SandboxFactory) -> None:
        """The same seed fails the same calls of the same sequence; roughly at the given rate."""

        def statuses(seed: int) -> list[int]:
            sandbox = sandbox_factory(size=10, seed=seed, hubspot_rate_limits=False)
            sandbox.faults.add(FaultRule("hubspot", "/contacts$", "500", 0.4))
            session = sandbox_session(sandbox)
            session.headers["Authorization"] = "Bearer sandbox-token"
            url = f"{sandbox.base_url}/crm/v3/objects/contacts"
            return [session.get(url, timeout=10).status_code for _ in range(40)]

        first = statuses(5)
        assert first == statuses(5)
        assert 6 <= first.count(500) <= 26
        assert set(first) == {200, 500}


class TestRequestLog:
    def test_counts_every_sdk_call_with_outcome_and_volume(self, sandbox: Sandbox) -> None:
        """Each SDK call is one entry with its CRM, method, path, status and records returned."""
        salesforce, hubspot = _salesforce(sandbox), _hubspot(sandbox)
        logins = len(sandbox.log)
        salesforce.query("SELECT Id FROM Contact LIMIT 7")
        _contacts_page(hubspot)
        hubspot.crm.contacts.search_api.do_search(
            public_object_search_request=PublicObjectSearchRequest(limit=3)
        )
        entries = sandbox.log.entries()[logins:]
        assert [(e.crm, e.method, e.status) for e in entries] == [
            ("salesforce", "GET", 200),
            ("hubspot", "GET", 200),
            ("hubspot", "POST", 200),
        ]
        assert [e.records_out for e in entries] == [7, 10, 3]
        assert sandbox.log.count(crm="hubspot", path_pattern="/search$") == 1
        assert all(e.duration_ms > 0 for e in entries)

    def test_entries_are_stamped_with_sandbox_time(self, sandbox: Sandbox) -> None:
        """The log's `at` is the sandbox clock, so it follows the time machine."""
        hubspot = _hubspot(sandbox)
        sandbox.clock.set(START)
        _contacts_page(hubspot)
        sandbox.advance(timedelta(days=3))
        _contacts_page(hubspot)
        first, second = sandbox.log.entries(crm="hubspot")
        assert START <= first.at < START + timedelta(minutes=1)
        assert second.at - first.at >= timedelta(days=3)


class TestTimeMachine:
    def test_clock_setting_dates_what_the_crms_write(self, sandbox: Sandbox) -> None:
        """A record created after the clock is set carries the sandbox time, not wall time."""
        sandbox.clock.set(START)
        hubspot = _hubspot(sandbox)
        created = hubspot.crm.objects.tasks.basic_api.create(
            simple_public_object_input_for_create={
                "properties": {"hs_timestamp": "2025-06-03T09:00:00Z", "hs_task_subject": "Call"}
            }
        )
        assert START <= created.created_at < START + timedelta(minutes=1)

    def test_thirty_days_at_a_thousand_contacts_in_under_a_minute(
        self, sandbox_factory: SandboxFactory
    ) -> None:
        """Living through 30 days closes cases, completes onboarding and tasks in both CRMs,
        and every change carries a time inside the simulated month."""
        started = time.perf_counter()
        sandbox = sandbox_factory(size=1_000, seed=7, start=START)
        salesforce, hubspot = _salesforce(sandbox), _hubspot(sandbox)

        sf_contacts = salesforce.query("SELECT Id, AccountId FROM Contact LIMIT 20")["records"]
        task_api: Any = salesforce.Task
        sf_tasks = [
            task_api.create(
                {
                    "Subject": "Follow up on NPS answer",
                    "WhoId": contact["Id"],
                    "WhatId": contact["AccountId"],
                    "ActivityDate": "2025-06-04",
                    "Status": "Not Started",
                    "Priority": "High",
                }
            )["id"]
            for contact in sf_contacts
        ]
        hs_tasks = [
            task.id
            for task in hubspot.crm.objects.tasks.batch_api.create(
                BatchInputSimplePublicObjectBatchInputForCreate(
                    inputs=[
                        {
                            "properties": {
                                "hs_timestamp": "2025-06-04T09:00:00Z",
                                "hs_task_subject": "Follow up on NPS answer",
                                "hs_task_status": "NOT_STARTED",
                                "hs_task_priority": "HIGH",
                            }
                        }
                        for _ in range(20)
                    ]
                )
            ).results
        ]
        sf_open_cases = _ids(salesforce, "SELECT Id FROM Case WHERE IsClosed = false")
        sf_onboarding = _ids(
            salesforce, "SELECT Id FROM Account WHERE Onboarding_Status__c = 'In Progress'"
        )
        assert sf_open_cases
        assert sf_onboarding

        total = ActivitySummary()
        for _ in range(30):
            total += sandbox.advance(timedelta(days=1))
        end = START + timedelta(days=30)
        assert end <= sandbox.clock.now() < end + timedelta(minutes=1)
        assert total.cases_closed > 0
        assert total.onboardings_completed > 0
        assert total.tasks_started >= total.tasks_completed > 0

        closed = salesforce.query_all("SELECT Id, SystemModstamp FROM Case WHERE IsClosed = true")[
            "records"
        ]
        closed_now = [r for r in closed if r["Id"] in sf_open_cases]
        assert closed_now
        assert all(START < _sf_time(r["SystemModstamp"]) <= end for r in closed_now)
        completed = _ids(
            salesforce, "SELECT Id FROM Account WHERE Onboarding_Status__c = 'Completed'"
        )
        assert completed & sf_onboarding
        done = _ids(salesforce, "SELECT Id FROM Task WHERE Status = 'Completed'")
        assert done & set(sf_tasks)

        hs_done = hubspot.crm.objects.tasks.batch_api.read(
            {"inputs": [{"id": task_id} for task_id in hs_tasks], "properties": ["hs_task_status"]}
        ).results
        assert any(task.properties["hs_task_status"] == "COMPLETED" for task in hs_done)
        assert all(START < task.updated_at <= end for task in hs_done)
        since = str(int(START.timestamp() * 1000))
        hs_closed = hubspot.crm.tickets.search_api.do_search(
            public_object_search_request=_changed_since("hs_pipeline_stage", "4", since)
        )
        assert hs_closed.total > 0
        hs_onboarded = hubspot.crm.companies.search_api.do_search(
            public_object_search_request=_changed_since("onboarding_status", "Completed", since)
        )
        assert hs_onboarded.total > 0
        elapsed = time.perf_counter() - started
        assert elapsed < 60, f"30 simulated days took {elapsed:.1f}s"


def _changed_since(name: str, value: str, since_ms: str) -> dict[str, Any]:
    """A HubSpot search body: `name` equals `value` and modified after `since_ms`."""
    return {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": name, "operator": "EQ", "value": value},
                    {"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": since_ms},
                ]
            }
        ],
        "limit": 1,
    }


def _ids(client: Salesforce, soql: str) -> set[str]:
    return {record["Id"] for record in client.query_all(soql)["records"]}


def _sf_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


class TestCommand:
    def test_sandbox_command_serves_until_sigterm(self) -> None:
        """`nps-worker sandbox` prints where it serves and its CA, and exits 0 on SIGTERM."""
        command = [sys.executable, "-c", "from worker.cli import main; raise SystemExit(main())"]
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [*command, "sandbox", "--port", "0", "--size", "20", "--seed", "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            lines = []
            for line in process.stdout:
                lines.append(line)
                if line.startswith("Stop with"):
                    break
            text = "".join(lines)
            base_url = re.search(r"at (https://127\.0\.0\.1:\d+)", text)
            ca_path = re.search(r"CA bundle to trust:\s+(\S+)", text)
            assert base_url
            assert ca_path
            clock = requests.get(
                f"{base_url.group(1)}/_sandbox/clock", verify=ca_path.group(1), timeout=10
            )
            assert clock.status_code == 200
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
            assert "stopped" in process.stdout.read()
        finally:
            process.kill()
            process.wait()


class TestDeterminism:
    def test_same_seed_and_start_replay_the_same_month(self) -> None:
        """Two sandboxes with one seed and start live through identical activity."""
        runs = [Sandbox(seed=4, size=300, start=START) for _ in range(2)]
        months = [[run.advance(timedelta(days=1)) for _ in range(30)] for run in runs]
        assert months[0] == months[1]
        assert sum(day.cases_closed for day in months[0]) > 0

"""The HubSpot connector through hubspot-api-client, HTTP mocked with `responses`.

Request bodies are asserted against HubSpot's documented shapes: the CRM search guide
(https://developers.hubspot.com/docs/api/crm/search) and the published OpenAPI specs in
HubSpot/HubSpot-public-api-spec-collection (PublicApiSpecs/CRM/Contacts/.../v3/contacts.json:
`PublicObjectSearchRequest`, `Filter` {propertyName, operator, value|values},
`BatchInputSimplePublicObjectBatchInput` {inputs: [{id, properties}]},
`SimplePublicObjectBatchInputForCreate` {properties, associations: [{to: {id}, types:
[{associationCategory, associationTypeId}]}], objectWriteTraceId}; Associations v4
`BatchInputPublicFetchAssociationsBatchRequest` {inputs: [{id, after?}]}; Properties v3
`PropertyCreate` {name, label, type, fieldType, groupName, options}).
"""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from tests.fake_time import FakeTime
from worker.config import ConfigError
from worker.mappers.hubspot import HubSpotMapping
from worker.sync.base import (
    AuthFailed,
    BudgetExhausted,
    Cursor,
    FieldType,
    FieldUpdate,
    NoteSpec,
    Page,
    Priority,
    RateLimited,
    Rejected,
    TaskPriority,
    TaskSpec,
    TaskState,
    Unavailable,
)
from worker.sync.hubspot import HubSpotClient, HubSpotSettings, build_client, setup_properties
from worker.sync.hubspot.client import STORE_BATCH
from worker.sync.hubspot.windows import epoch_ms

API = "https://api.hubapi.com"
TOKEN = "pat-na1-test-token"
SEARCH_CONTACTS = f"{API}/crm/v3/objects/contacts/search"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = {"Date": format_datetime(T0 + timedelta(days=1), usegmt=True)}


@pytest.fixture
def fake() -> FakeTime:
    """A fresh fake clock."""
    return FakeTime()


@pytest.fixture
def mocked() -> Any:
    """`responses` active for the test; unmatched requests fail loudly."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_client(fake: FakeTime, **overrides: Any) -> HubSpotClient:
    """A client on the real API host with a fake clock, built by the one factory."""
    settings = HubSpotSettings(**overrides)
    return build_client(
        settings,
        env={settings.token_env: TOKEN},
        session=requests.Session(),
        clock=fake.clock,
        sleep=fake.sleep,
    )


def sent(call: Any) -> Any:
    """The JSON body one recorded request sent."""
    return json.loads(call.request.body)


def iso(moment: datetime) -> str:
    """HubSpot's datetime format in responses."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def result(
    record_id: int, modified: datetime, prop: str = "lastmodifieddate", **values: Any
) -> Any:
    """One search result as HubSpot returns it."""
    return {
        "id": str(record_id),
        "properties": {"hs_object_id": str(record_id), prop: iso(modified), **values},
        "createdAt": "2025-01-01T00:00:00.000Z",
        "updatedAt": iso(modified),
        "archived": False,
    }


def searched(results: list[Any], total: int | None = None) -> dict[str, Any]:
    """A search answer: `paging.next` only when the query matched more than this page."""
    total = len(results) if total is None else total
    body: dict[str, Any] = {"total": total, "results": results}
    if total > len(results):
        body["paging"] = {"next": {"after": str(len(results))}}
    return body


def batch(results: list[Any], errors: list[Any] | None = None) -> dict[str, Any]:
    """A batch response body (`BatchResponseSimplePublicObject[WithErrors]`)."""
    payload: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": "2026-01-01T00:00:00.000Z",
        "completedAt": "2026-01-01T00:00:00.100Z",
    }
    if errors:
        payload["errors"] = errors
        payload["numErrors"] = len(errors)
    return payload


def error(category: str, message: str, **extra: Any) -> dict[str, Any]:
    """HubSpot's error body (https://developers.hubspot.com/docs/api/error-handling)."""
    return {
        "status": "error",
        "message": message,
        "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
        "category": category,
        **extra,
    }


class TestFactory:
    """One factory builds the SDK client: token from the named env var, our session inside."""

    def test_missing_token_is_a_config_error(self, fake: FakeTime) -> None:
        """No token in the environment: a config error naming the variable."""
        with pytest.raises(ConfigError, match="NPS_HS_TOKEN"):
            build_client(HubSpotSettings(token_env="NPS_HS_TOKEN"), env={})

    def test_bearer_token_and_host(self, fake: FakeTime, mocked: Any) -> None:
        """Requests go to the configured host with the private-app token as bearer."""
        mocked.post(
            "https://sandbox.test/crm/v3/objects/contacts/search", json={"total": 0, "results": []}
        )
        client = make_client(fake, base_url="https://sandbox.test")
        assert list(client.pull("contacts", ["email"], Cursor())) == []
        assert mocked.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


class TestPull:
    """Incremental pulls through CRM search."""

    def test_search_request_shape(self, fake: FakeTime, mocked: Any) -> None:
        """Filter `lastmodifieddate >= cursor`, ascending sort, mapped properties, 200 a page."""
        mocked.post(SEARCH_CONTACTS, json={"total": 1, "results": [result(7, T0, email="a@x")]})
        client = make_client(fake, lookback=timedelta(minutes=5))
        pages = list(client.pull("contacts", ["email", "firstname"], Cursor(T0)))
        assert sent(mocked.calls[0]) == {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "lastmodifieddate",
                            "operator": "GTE",
                            "value": epoch_ms(T0),
                        }
                    ]
                }
            ],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "properties": ["email", "firstname", "lastmodifieddate"],
            "limit": 200,
        }
        [page] = pages
        assert [(r.id, r.modified_at, r.fields["email"]) for r in page.records] == [
            ("7", T0, "a@x")
        ]
        assert page.cursor == Cursor(T0)

    def test_other_objects_use_hs_lastmodifieddate(self, fake: FakeTime, mocked: Any) -> None:
        """Companies, tickets and deals sort on `hs_lastmodifieddate`."""
        mocked.post(f"{API}/crm/v3/objects/companies/search", json={"total": 0, "results": []})
        list(make_client(fake).pull("companies", ["name"], Cursor()))
        request = sent(mocked.calls[0])
        assert request["filterGroups"] == []
        assert request["sorts"] == [
            {"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}
        ]

    def test_full_pages_continue_by_key_and_drop_the_overlap(
        self, fake: FakeTime, mocked: Any
    ) -> None:
        """After a full page the next query starts at its last time, minus the ids read there."""
        first = [result(100 + n, T0 + timedelta(seconds=n)) for n in range(200)]
        second = [first[-1], result(999, T0 + timedelta(seconds=500))]
        mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched(first, total=201))
        mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched(second))
        pages = list(make_client(fake).pull("contacts", [], Cursor()))
        last = epoch_ms(T0 + timedelta(seconds=199))
        assert sent(mocked.calls[1])["filterGroups"] == [
            {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": last}]},
            {
                "filters": [
                    {"propertyName": "lastmodifieddate", "operator": "EQ", "value": last},
                    {"propertyName": "hs_object_id", "operator": "NOT_IN", "values": ["299"]},
                ]
            },
        ]
        assert [len(page.records) for page in pages] == [201]  # one store batch
        assert pages[-1].cursor == Cursor(T0 + timedelta(seconds=500))
        assert all("after" not in sent(call) for call in mocked.calls)

    def test_one_instant_fuller_than_a_page_is_read_by_id(
        self, fake: FakeTime, mocked: Any
    ) -> None:
        """A page all at one millisecond: that instant is read by id, then time resumes."""
        same = [result(1000 + n, T0) for n in range(200)]
        by_id = [result(1200 + n, T0) for n in range(50)]
        mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched(same, total=250))
        mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched(same, total=250))
        mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched(by_id))
        mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched([]))
        pages = list(make_client(fake).pull("contacts", [], Cursor()))
        second, third, fourth = (sent(call) for call in mocked.calls[1:4])
        assert second["filterGroups"][0]["filters"] == [
            {"propertyName": "lastmodifieddate", "operator": "EQ", "value": epoch_ms(T0)},
            {"propertyName": "hs_object_id", "operator": "GT", "value": "0"},
        ]
        assert second["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        assert third["filterGroups"][0]["filters"][1]["value"] == "1199"
        assert fourth["filterGroups"][0]["filters"] == [
            {
                "propertyName": "lastmodifieddate",
                "operator": "GTE",
                "value": epoch_ms(T0 + timedelta(milliseconds=1)),
            }
        ]
        ids = [record.id for page in pages for record in page.records]
        assert sorted(ids, key=int) == [str(1000 + n) for n in range(250)]
        assert pages[-1].cursor == Cursor(T0, "1249")

    def test_a_full_last_page_ends_the_pull(self, fake: FakeTime, mocked: Any) -> None:
        """Exactly 400 records: two searches, none for an empty third page, since the second
        answer carries no `paging.next`."""
        records = [result(100 + n, T0 + timedelta(seconds=n)) for n in range(400)]
        mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched(records[:200], total=400))
        mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched(records[200:]))
        mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched([]))
        pages = list(make_client(fake).pull("contacts", [], Cursor()))
        assert [len(page.records) for page in pages] == [400]
        assert len(mocked.calls) == 2

    def test_search_pages_are_joined_into_store_batches(self, fake: FakeTime, mocked: Any) -> None:
        """Ten searches (nine of 200, then 1) come out as pages of 1,800 and 1, each with the
        cursor of its last search: the store's per-page work is paid per batch."""
        assert STORE_BATCH == 1800
        records = [result(100 + n, T0 + timedelta(seconds=n)) for n in range(1801)]
        for start in range(0, 1801, 200):
            chunk = records[start : start + 200]
            mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched(chunk, total=1801 - start))
        pages = list(make_client(fake).pull("contacts", [], Cursor()))
        assert [len(page.records) for page in pages] == [1800, 1]
        assert pages[0].cursor == Cursor(T0 + timedelta(seconds=1799))
        assert [r.id for p in pages for r in p.records] == [str(100 + n) for n in range(1801)]
        assert len(mocked.calls) == 10

    def test_pages_read_before_an_error_come_out_first(self, fake: FakeTime, mocked: Any) -> None:
        """A search failing mid-batch: the pages read before it are handed over (and stored
        with their cursor), then the error is raised."""
        records = [result(100 + n, T0 + timedelta(seconds=n)) for n in range(200)]
        mocked.post(SEARCH_CONTACTS, headers=LATER, json=searched(records, total=400))
        mocked.post(SEARCH_CONTACTS, status=400, json=error("VALIDATION_ERROR", "no"))
        pages = make_client(fake).pull("contacts", [], Cursor())
        handed: list[Page] = [next(pages)]
        with pytest.raises(Rejected):
            next(pages)
        assert [len(page.records) for page in handed] == [200]

    def test_cursor_stops_short_of_what_the_index_may_lag(
        self, fake: FakeTime, mocked: Any
    ) -> None:
        """Records changed within the look-back before the answer's `Date` are not yet
        claimed: the committed cursor stays at `Date - lookback` so the next pull re-reads them."""
        answered = T0 + timedelta(minutes=2)
        mocked.post(
            SEARCH_CONTACTS,
            headers={"Date": format_datetime(answered, usegmt=True)},
            json={"total": 2, "results": [result(1, T0 - timedelta(hours=1)), result(2, T0)]},
        )
        [page] = list(
            make_client(fake, lookback=timedelta(minutes=5)).pull("contacts", [], Cursor())
        )
        assert [r.id for r in page.records] == ["1", "2"]
        assert page.cursor == Cursor(answered - timedelta(minutes=5))

    def test_ticket_associations_read_in_one_batch(self, fake: FakeTime, mocked: Any) -> None:
        """Ticket -> contact links come from one v4 batch read for the pulled page."""
        tickets = f"{API}/crm/v3/objects/tickets/search"
        mocked.post(
            tickets,
            json={
                "total": 2,
                "results": [
                    result(1, T0, "hs_lastmodifieddate", hs_pipeline_stage="4"),
                    result(2, T0 + timedelta(seconds=1), "hs_lastmodifieddate"),
                ],
            },
        )
        mocked.post(
            f"{API}/crm/v4/associations/tickets/contacts/batch/read",
            json={
                "status": "COMPLETE",
                "results": [
                    {
                        "from": {"id": "1"},
                        "to": [
                            {
                                "toObjectId": 501,
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": 16, "label": None}
                                ],
                            }
                        ],
                    }
                ],
                "startedAt": "2026-01-01T00:00:00.000Z",
                "completedAt": "2026-01-01T00:00:00.100Z",
            },
        )
        client = make_client(fake, associations={"tickets": ("contacts",)})
        [page] = list(client.pull("tickets", ["hs_pipeline_stage"], Cursor()))
        assert sent(mocked.calls[1]) == {"inputs": [{"id": "1"}, {"id": "2"}]}
        assert [r.associations for r in page.records] == [{"contacts": ("501",)}, {"contacts": ()}]

    def test_archived_records(self, fake: FakeTime, mocked: Any) -> None:
        """Deletions come from the archived list, those after the cursor only, oldest first."""
        url = f"{API}/crm/v3/objects/contacts"

        def archived(record_id: int, at: datetime) -> dict[str, Any]:
            return {**result(record_id, at), "archived": True, "archivedAt": iso(at)}

        mocked.get(
            url,
            json={
                "results": [
                    archived(5, T0 + timedelta(hours=2)),
                    archived(4, T0 - timedelta(hours=1)),
                ],
                "paging": {"next": {"after": "5"}},
            },
        )
        mocked.get(url, json={"results": [archived(6, T0 + timedelta(hours=1))]})
        pages = list(make_client(fake).pull_deleted("contacts", Cursor(T0)))
        first = mocked.calls[0].request
        assert first.params == {
            "limit": "100",
            "archived": "true",
            "properties": "lastmodifieddate",
        }
        assert mocked.calls[1].request.params["after"] == "5"
        [page] = pages
        assert [(r.id, r.deleted) for r in page.records] == [("6", True), ("5", True)]
        assert page.cursor == Cursor(T0 + timedelta(hours=2), "5")


class TestUpdate:
    """Batched property updates."""

    URL = f"{API}/crm/v3/objects/contacts/batch/update"

    def test_batches_of_100_with_merged_records(self, fake: FakeTime, mocked: Any) -> None:
        """250 records take three calls; two updates of one record are merged into one input."""
        updates = [
            FieldUpdate("contacts", str(n), {"nps_last_score": "9"}, f"k{n}") for n in range(250)
        ]
        updates.append(FieldUpdate("contacts", "0", {"nps_last_comment": "ok"}, "k0b"))

        def echo(request: Any) -> tuple[int, dict[str, str], str]:
            inputs = json.loads(request.body)["inputs"]
            results = [{"id": i["id"], "properties": i["properties"]} for i in inputs]
            return 200, {}, json.dumps(batch([{**r, **_times()} for r in results]))

        mocked.add_callback(responses.POST, self.URL, callback=echo)
        results = make_client(fake).update(updates, Priority.ESSENTIAL)
        assert [len(sent(call)["inputs"]) for call in mocked.calls] == [100, 100, 50]
        assert sent(mocked.calls[0])["inputs"][0] == {
            "id": "0",
            "properties": {"nps_last_score": "9", "nps_last_comment": "ok"},
        }
        assert [r.dedup_key for r in results] == [u.dedup_key for u in updates]
        assert all(r.ok for r in results)

    def test_partial_errors_are_per_record(self, fake: FakeTime, mocked: Any) -> None:
        """A 207 marks only the records its errors name."""
        mocked.post(
            self.URL,
            status=207,
            json=batch(
                [{"id": "1", "properties": {}, **_times()}],
                [
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "Could not get some CONTACT objects",
                        "context": {"ids": ["2"]},
                    }
                ],
            ),
        )
        results = make_client(fake).update(
            [
                FieldUpdate("contacts", "1", {"a": "1"}, "k1"),
                FieldUpdate("contacts", "2", {"a": "1"}, "k2"),
            ]
        )
        assert results[0].ok
        assert results[1].error is not None
        assert results[1].error.code == "OBJECT_NOT_FOUND"

    def test_rejected_batch_is_split_to_find_the_bad_record(
        self, fake: FakeTime, mocked: Any
    ) -> None:
        """A 400 for the whole batch: halves are retried until the invalid record is isolated."""

        def validate(request: Any) -> tuple[int, dict[str, str], str]:
            inputs = json.loads(request.body)["inputs"]
            if any(i["properties"].get("nps_last_score") == "eleven" for i in inputs):
                return (
                    400,
                    {},
                    json.dumps(error("VALIDATION_ERROR", "Property values were not valid")),
                )
            return (
                200,
                {},
                json.dumps(batch([{"id": i["id"], "properties": {}, **_times()} for i in inputs])),
            )

        mocked.add_callback(responses.POST, self.URL, callback=validate)
        updates = [
            FieldUpdate("contacts", str(n), {"nps_last_score": "9"}, f"k{n}") for n in range(4)
        ]
        updates[2] = FieldUpdate("contacts", "2", {"nps_last_score": "eleven"}, "k2")
        results = make_client(fake).update(updates)
        assert [r.ok for r in results] == [True, True, False, True]
        assert results[2].error is not None
        assert results[2].error.code == "VALIDATION_ERROR"
        assert results[2].error.fields == ("nps_last_score",)


def _times() -> dict[str, str]:
    return {"createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"}


class TestTasksAndNotes:
    """Follow-up tasks and response notes, created once per dedup key."""

    SEARCH = f"{API}/crm/v3/objects/tasks/search"
    CREATE = f"{API}/crm/v3/objects/tasks/batch/create"
    TASK = TaskSpec("fu-1", "Call back", "Scored 3", T0, TaskPriority.HIGH, "77", "10", "20")

    def created(self, key: str, task_id: str) -> dict[str, Any]:
        """One created task in a batch/create response."""
        return {"id": task_id, "properties": {"nps_dedup_key": key}, **_times()}

    def test_lookup_then_create_with_associations(self, fake: FakeTime, mocked: Any) -> None:
        """The dedup key is looked up first; the create carries owner, due time and links."""
        mocked.post(self.SEARCH, json={"total": 0, "results": []})
        mocked.post(self.CREATE, status=201, json=batch([self.created("fu-1", "9001")]))
        [outcome] = make_client(fake).create_tasks([self.TASK])
        assert outcome.crm_id == "9001"
        assert sent(mocked.calls[0])["filterGroups"] == [
            {"filters": [{"propertyName": "nps_dedup_key", "operator": "IN", "values": ["fu-1"]}]}
        ]
        [item] = sent(mocked.calls[1])["inputs"]
        assert item["objectWriteTraceId"] == "fu-1"
        assert item["properties"]["hs_timestamp"] == "2026-03-01T12:00:00.000Z"
        assert item["properties"]["hubspot_owner_id"] == "77"
        assert item["properties"]["hs_task_priority"] == "HIGH"
        assert item["associations"] == [
            {
                "to": {"id": "10"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
            },
            {
                "to": {"id": "20"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
            },
        ]

    def test_existing_task_is_not_created_again(self, fake: FakeTime, mocked: Any) -> None:
        """A retried batch whose task exists makes no create call."""
        mocked.post(
            self.SEARCH,
            json={"total": 1, "results": [self.created("fu-1", "9001")]},
        )
        [outcome] = make_client(fake).create_tasks([self.TASK])
        assert outcome.crm_id == "9001"
        assert [call.request.url for call in mocked.calls] == [self.SEARCH]

    def test_interrupted_create_is_checked_before_retrying(
        self, fake: FakeTime, mocked: Any
    ) -> None:
        """A 502 on create is ambiguous: wait out index lag, look up again, do not double."""
        mocked.post(self.SEARCH, json={"total": 0, "results": []})
        mocked.post(self.CREATE, status=502, json=error("BAD_GATEWAY", "upstream"))
        mocked.post(self.SEARCH, json={"total": 1, "results": [self.created("fu-1", "9001")]})
        [outcome] = make_client(fake, index_wait_s=5.0).create_tasks([self.TASK])
        assert outcome.crm_id == "9001"
        assert [call.request.url for call in mocked.calls] == [
            self.SEARCH,
            self.CREATE,
            self.SEARCH,
        ]
        assert fake.sleeps == [5.0]

    def test_notes_link_contact_and_company(self, fake: FakeTime, mocked: Any) -> None:
        """A response note is created with the note association types (202, 190)."""
        mocked.post(f"{API}/crm/v3/objects/notes/search", json={"total": 0, "results": []})
        mocked.post(
            f"{API}/crm/v3/objects/notes/batch/create",
            status=201,
            json=batch([{"id": "77", "properties": {"nps_dedup_key": "r-1"}, **_times()}]),
        )
        note = NoteSpec("r-1", "NPS 3: slow support", T0, "10", "20")
        [outcome] = make_client(fake).create_notes([note])
        assert outcome.crm_id == "77"
        [item] = sent(mocked.calls[1])["inputs"]
        assert item["properties"]["hs_note_body"] == "NPS 3: slow support"
        assert [a["types"][0]["associationTypeId"] for a in item["associations"]] == [202, 190]

    def test_task_statuses_by_batch_read(self, fake: FakeTime, mocked: Any) -> None:
        """Statuses come from one batch read; a task HubSpot no longer has is deleted."""
        mocked.post(
            f"{API}/crm/v3/objects/tasks/batch/read",
            status=207,
            json=batch(
                [
                    {
                        "id": "1",
                        "properties": {
                            "hs_task_status": "COMPLETED",
                            "hubspot_owner_id": "77",
                            "hs_task_completion_date": "2026-03-02T09:00:00.000Z",
                        },
                        **_times(),
                    },
                    {
                        "id": "3",
                        "properties": {"hs_task_status": "WAITING", "hubspot_owner_id": "77"},
                        **_times(),
                    },
                ],
                [
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "gone",
                        "context": {"ids": ["2"]},
                    }
                ],
            ),
        )
        statuses = make_client(fake).task_statuses(["1", "2", "3"])
        assert sent(mocked.calls[0]) == {
            "properties": [
                "hs_task_status",
                "hubspot_owner_id",
                "hs_task_completion_date",
                "hs_lastmodifieddate",
                "hs_task_body",
            ],
            "inputs": [{"id": "1"}, {"id": "2"}, {"id": "3"}],
        }
        assert [s.state for s in statuses] == [
            TaskState.COMPLETED,
            TaskState.DELETED,
            TaskState.IN_PROGRESS,
        ]
        assert statuses[0].completed_at == datetime(2026, 3, 2, 9, tzinfo=UTC)


class TestRetries:
    """Transient failures are retried as HubSpot asks; everything else is raised at once."""

    def test_ten_secondly_429_waits_retry_after(self, fake: FakeTime, mocked: Any) -> None:
        """A TEN_SECONDLY_ROLLING 429 is retried after Retry-After seconds."""
        url = f"{API}/crm/v3/objects/contacts/batch/update"
        mocked.post(
            url,
            status=429,
            headers={"Retry-After": "3"},
            json=error("RATE_LIMITS", "ten secondly", policyName="TEN_SECONDLY_ROLLING"),
        )
        mocked.post(url, json=batch([{"id": "1", "properties": {}, **_times()}]))
        [outcome] = make_client(fake).update([FieldUpdate("contacts", "1", {"a": "b"}, "k")])
        assert outcome.ok
        assert 3.0 in fake.sleeps
        assert len(mocked.calls) == 2

    def test_search_429_without_header_waits_its_interval(
        self, fake: FakeTime, mocked: Any
    ) -> None:
        """A SECONDLY search 429 without Retry-After waits one second."""
        mocked.post(
            SEARCH_CONTACTS,
            status=429,
            json=error("RATE_LIMITS", "secondly", policyName="SECONDLY"),
        )
        mocked.post(SEARCH_CONTACTS, json={"total": 0, "results": []})
        list(make_client(fake).pull("contacts", [], Cursor()))
        assert 1.0 in fake.sleeps

    def test_daily_429_stops_without_retrying(self, fake: FakeTime, mocked: Any) -> None:
        """The daily limit is final until reset: BudgetExhausted, one call only."""
        mocked.post(
            SEARCH_CONTACTS, status=429, json=error("RATE_LIMITS", "daily", policyName="DAILY")
        )
        with pytest.raises(BudgetExhausted):
            list(make_client(fake).pull("contacts", [], Cursor()))
        assert len(mocked.calls) == 1

    def test_server_errors_back_off_then_give_up(self, fake: FakeTime, mocked: Any) -> None:
        """5xx is retried with growing waits, then raised as Unavailable."""
        mocked.post(SEARCH_CONTACTS, status=503, json=error("SERVICE_UNAVAILABLE", "down"))
        with pytest.raises(Unavailable):
            list(make_client(fake).pull("contacts", [], Cursor()))
        assert len(mocked.calls) == 8
        backoffs = [s for s in fake.sleeps if s >= 0.5]
        assert backoffs == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]

    @pytest.mark.parametrize(
        ("status", "category", "raised"),
        [
            pytest.param(400, "VALIDATION_ERROR", Rejected, id="400"),
            pytest.param(401, "INVALID_AUTHENTICATION", AuthFailed, id="401"),
            pytest.param(403, "MISSING_SCOPES", AuthFailed, id="403"),
        ],
    )
    def test_client_errors_are_not_retried(
        self, fake: FakeTime, mocked: Any, status: int, category: str, raised: type[Exception]
    ) -> None:
        """4xx other than 429 is translated once, carrying HubSpot's category as the code."""
        mocked.post(SEARCH_CONTACTS, status=status, json=error(category, "no"))
        with pytest.raises(raised) as caught:
            list(make_client(fake).pull("contacts", [], Cursor()))
        assert getattr(caught.value, "code", None) == category
        assert len(mocked.calls) == 1

    def test_retries_exhausted_on_429_raise_rate_limited(self, fake: FakeTime, mocked: Any) -> None:
        """A storm longer than the retry budget ends as RateLimited with the wait asked for."""
        mocked.post(
            SEARCH_CONTACTS,
            status=429,
            headers={"Retry-After": "2"},
            json=error("RATE_LIMITS", "x", policyName="TEN_SECONDLY_ROLLING"),
        )
        with pytest.raises(RateLimited) as caught:
            list(make_client(fake).pull("contacts", [], Cursor()))
        assert caught.value.retry_after == 2.0


class TestPacingAndBudget:
    """Staying under limits instead of bouncing off them."""

    def test_remaining_header_paces_the_next_call(self, fake: FakeTime, mocked: Any) -> None:
        """`X-HubSpot-RateLimit-Remaining: 0` makes the next call wait for the window."""
        url = f"{API}/crm/v3/objects/tasks/batch/read"
        headers = {
            "X-HubSpot-RateLimit-Remaining": "0",
            "X-HubSpot-RateLimit-Max": "100",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
        mocked.post(url, headers=headers, json=batch([]))
        client = make_client(fake)
        client.task_statuses(["1"])
        client.task_statuses(["2"])
        assert fake.sleeps == [pytest.approx(10.2)]  # the window, 2% longer for jitter

    def test_searches_keep_to_the_configured_rate(self, fake: FakeTime, mocked: Any) -> None:
        """Four searches a second, not one more and no margin under it (no rate headers)."""
        mocked.post(SEARCH_CONTACTS, json={"total": 0, "results": []})
        client = make_client(fake, search_per_second=4)
        for _ in range(9):
            list(client.pull("contacts", [], Cursor()))
        assert [round(s, 4) for s in fake.sleeps if s > 0] == [1.0, 1.0]

    def test_daily_headers_feed_the_budget(self, fake: FakeTime, mocked: Any) -> None:
        """Daily usage headers are observed; normal work stops at its share."""
        url = f"{API}/crm/v3/objects/tasks/batch/read"
        mocked.post(
            url,
            headers={
                "X-HubSpot-RateLimit-Daily": "1000",
                "X-HubSpot-RateLimit-Daily-Remaining": "400",
            },
            json=batch([]),
        )
        client = make_client(fake, normal_share=0.5)
        client.task_statuses(["1"])
        usage = client.usage()
        assert usage is not None
        assert (usage.used, usage.limit) == (600, 1000)
        with pytest.raises(BudgetExhausted):
            client.task_statuses(["2"])
        assert len(mocked.calls) == 1


class TestOwners:
    """Who may own a task: the owners HubSpot lists as active."""

    def test_active_users_are_the_owners_not_archived(self, fake: FakeTime, mocked: Any) -> None:
        """`GET /crm/v3/owners` without archived owners, every page followed."""
        owner = {"email": "rep@example.com", "type": "PERSON", "archived": False}
        mocked.get(
            f"{API}/crm/v3/owners/",
            json={
                "results": [{**owner, "id": "101"}],
                "paging": {"next": {"after": "1", "link": f"{API}/crm/v3/owners/?after=1"}},
            },
        )
        mocked.get(f"{API}/crm/v3/owners/", json={"results": [{**owner, "id": "102"}]})
        client = make_client(fake)

        assert client.active_users() == {"101", "102"}
        first, second = (parse_qs(urlsplit(c.request.url).query) for c in mocked.calls)
        assert (first["archived"], first["limit"]) == (["false"], ["100"])
        assert second["after"] == ["1"]


class TestMetadata:
    """`check` reads property definitions; `setup-crm` creates what is missing."""

    def definition(self, name: str, type_: str, field_type: str, **extra: Any) -> dict[str, Any]:
        """One property definition as the properties API returns it."""
        return {
            "name": name,
            "label": name,
            "type": type_,
            "fieldType": field_type,
            "groupName": "nps",
            "description": "",
            "options": extra.pop("options", []),
            "modificationMetadata": {
                "archivable": True,
                "readOnlyDefinition": False,
                "readOnlyValue": extra.pop("read_only", False),
            },
            **extra,
        }

    def test_describe(self, fake: FakeTime, mocked: Any) -> None:
        """Property definitions become field infos with normalised types."""
        mocked.get(
            f"{API}/crm/v3/properties/contacts",
            json={
                "results": [
                    self.definition(
                        "nps_reason_tags",
                        "enumeration",
                        "checkbox",
                        options=[
                            {
                                "label": "Support",
                                "value": "support",
                                "displayOrder": 0,
                                "hidden": False,
                            }
                        ],
                    ),
                    self.definition("hs_object_id", "number", "number", read_only=True),
                ]
            },
        )
        described = make_client(fake).describe("contacts")
        assert described["nps_reason_tags"].type == FieldType.MULTI_ENUM
        assert described["nps_reason_tags"].options == ("support",)
        assert described["hs_object_id"].updateable is False

    def test_setup_creates_group_and_missing_properties_only(
        self, fake: FakeTime, mocked: Any
    ) -> None:
        """Setup creates the group where absent and each missing property, with type+fieldType."""
        mapping = HubSpotMapping(
            contact_writeback={"last_score": "nps_last_score", "last_category": "nps_last_category"}
        )
        for kind in ("contacts", "tasks", "notes"):
            groups = [{"name": "nps", "label": "NPS", "displayOrder": 1, "archived": False}]
            mocked.get(
                f"{API}/crm/v3/properties/{kind}/groups",
                json={"results": groups if kind == "contacts" else []},
            )
            mocked.post(
                f"{API}/crm/v3/properties/{kind}/groups",
                status=201,
                json={"name": "nps", "label": "NPS", "displayOrder": -1, "archived": False},
            )
            existing = (
                [self.definition("nps_last_score", "number", "number")]
                if kind == "contacts"
                else []
            )
            mocked.get(f"{API}/crm/v3/properties/{kind}", json={"results": existing})
            mocked.post(
                f"{API}/crm/v3/properties/{kind}",
                status=201,
                json=self.definition("x", "string", "text"),
            )
        created = setup_properties(make_client(fake), mapping)
        assert created == [
            "tasks.nps (group)",
            "notes.nps (group)",
            "contacts.nps_last_category",
            "tasks.nps_dedup_key",
            "notes.nps_dedup_key",
        ]
        posts = [call for call in mocked.calls if call.request.method == "POST"]
        category = next(sent(c) for c in posts if sent(c).get("name") == "nps_last_category")
        assert category == {
            "name": "nps_last_category",
            "label": "Last NPS category",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "nps",
            "options": [
                {"label": "Promoter", "value": "promoter", "displayOrder": 0, "hidden": False},
                {"label": "Passive", "value": "passive", "displayOrder": 1, "hidden": False},
                {"label": "Detractor", "value": "detractor", "displayOrder": 2, "hidden": False},
            ],
        }
        group = next(sent(c) for c in posts if c.request.url.endswith("/groups"))
        assert group == {"name": "nps", "label": "NPS", "displayOrder": -1}

    def test_setup_adds_missing_enum_options_keeping_existing(
        self, fake: FakeTime, mocked: Any
    ) -> None:
        """A taxonomy tag missing from the multi-select is added by PATCH; old options stay."""
        mapping = HubSpotMapping(
            contact_writeback={"reason_tags": "nps_reason_tags"},
            reason_tags=(("support", "Support"), ("price_contract", "Price / contract")),
        )
        support = {"label": "Support", "value": "support", "displayOrder": 0, "hidden": False}
        tags = self.definition("nps_reason_tags", "enumeration", "checkbox", options=[support])
        for kind in ("contacts", "tasks", "notes"):
            mocked.get(
                f"{API}/crm/v3/properties/{kind}/groups",
                json={"results": [{"name": "nps", "label": "NPS", "displayOrder": 1}]},
            )
            dedup = self.definition("nps_dedup_key", "string", "text")
            mocked.get(
                f"{API}/crm/v3/properties/{kind}",
                json={"results": [tags if kind == "contacts" else dedup]},
            )
        mocked.get(f"{API}/crm/v3/properties/contacts/nps_reason_tags", json=tags)
        mocked.patch(f"{API}/crm/v3/properties/contacts/nps_reason_tags", json=tags)
        created = setup_properties(make_client(fake), mapping)
        assert created == ["contacts.nps_reason_tags options: price_contract"]
        patch = next(c for c in mocked.calls if c.request.method == "PATCH")
        assert sent(patch) == {
            "options": [
                support,
                {
                    "label": "Price / contract",
                    "value": "price_contract",
                    "displayOrder": 1,
                    "hidden": False,
                },
            ]
        }

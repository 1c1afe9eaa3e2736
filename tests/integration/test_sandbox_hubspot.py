"""Contract tests: the real hubspot-api-client against the sandbox HubSpot portal over TLS."""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

import pytest
from hubspot import HubSpot
from urllib3.util.retry import Retry

from worker.config import parse_config
from worker.mappers.hubspot import mapping_from_config, required_properties
from worker.sandbox.hubspot import client_for
from worker.sandbox.hubspot.objects import CONTACTS
from worker.sandbox.hubspot.plan import execute
from worker.sandbox.hubspot.search import parse_query, scan
from worker.sandbox.hubspot.timefmt import epoch_ms, iso_ms, parse_instant
from worker.sandbox.server import Sandbox

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
HAS_EMAIL = {"propertyName": "email", "operator": "HAS_PROPERTY"}


class FakeMonotonic:
    """A hand-moved monotonic clock, so rate-limit windows are tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def client(sandbox: Sandbox, access_token: str = "sandbox-token") -> HubSpot:  # noqa: S107
    """An SDK client with client-side validation on: every reply must fit its models.

    urllib3's default Retry honours Retry-After on 429s (sleeping); these tests look at the
    429 itself, so retries are off.
    """
    sdk = client_for(sandbox.base_url, sandbox.ca_path, access_token)
    sdk.config["client_side_validation"] = True
    sdk.config["retry"] = Retry(total=0)
    return sdk


@pytest.fixture
def served(sandbox_factory: Any) -> Sandbox:
    """A 50-person sandbox with HubSpot rate limits off."""
    return cast(Sandbox, sandbox_factory(size=50, seed=7, start=START, hubspot_rate_limits=False))


@pytest.fixture
def instant(sandbox_factory: Any) -> Sandbox:
    """`served` with no search-index lag: for comparing indexed searches with full scans."""
    return cast(
        Sandbox,
        sandbox_factory(
            size=50, seed=7, start=START, hubspot_rate_limits=False, hubspot_index_lag=(0, 0)
        ),
    )


@pytest.fixture
def hs(served: Sandbox) -> HubSpot:
    """A strict SDK client for `served`."""
    return client(served)


@pytest.fixture
def ticks() -> FakeMonotonic:
    """The monotonic time rate-limited portals run on."""
    return FakeMonotonic()


@pytest.fixture
def limited(sandbox_factory: Any, ticks: FakeMonotonic) -> Any:
    """Build a sandbox whose HubSpot limits are enforced with given allowances on `ticks`."""

    def build(**limits: Any) -> Sandbox:
        sandbox = cast(Sandbox, sandbox_factory(size=50, seed=7, start=START))
        sandbox.hubspot.reset_rate_limits(ticks)
        sandbox.hubspot.set_rate_limits(**limits)
        return sandbox

    return build


@pytest.fixture
def bare() -> Iterator[Sandbox]:
    """A sandbox whose HubSpot portal has no NPS properties yet (what `setup-crm` creates)."""
    sandbox = Sandbox(
        size=50, seed=7, start=START, hubspot_rate_limits=False, hubspot_nps_properties=False
    )
    with sandbox:
        yield sandbox


def error_body(exc: Any) -> dict[str, Any]:
    """The JSON body of an SDK ApiException."""
    return dict(json.loads(exc.body))


def contact_ids(sandbox: Sandbox) -> list[str]:
    """Ids of every live contact."""
    return sandbox.hubspot.contact_ids()


class TestObjectsList:
    """GET /crm/v3/objects/{object}: paging, properties, archived."""

    def test_pages_through_every_contact_once(self, served: Sandbox, hs: HubSpot) -> None:
        """Following paging.next.after visits every contact exactly once, 20 at a time."""
        seen: list[str] = []
        after = None
        while True:
            page = hs.crm.contacts.basic_api.get_page(limit=20, after=after)
            seen.extend(result.id for result in page.results)
            if page.paging is None:
                break
            assert page.paging.next.link.startswith(served.base_url)
            after = page.paging.next.after
        assert sorted(seen) == sorted(contact_ids(served))
        assert len(seen) == len(set(seen)) == 50

    @pytest.mark.parametrize(
        ("object_name", "requested", "expected"),
        [
            pytest.param(
                "contacts",
                ["email"],
                {"email", "hs_object_id", "createdate", "lastmodifieddate"},
                id="contacts",
            ),
            pytest.param(
                "companies",
                ["domain", "nope"],
                {"domain", "hs_object_id", "createdate", "hs_lastmodifieddate"},
                id="companies-unknown-dropped",
            ),
            pytest.param(
                "tickets",
                ["hs_pipeline_stage"],
                {"hs_pipeline_stage", "hs_object_id", "createdate", "hs_lastmodifieddate"},
                id="tickets",
            ),
            pytest.param(
                "deals",
                ["dealstage", "amount"],
                {"dealstage", "amount", "hs_object_id", "createdate", "hs_lastmodifieddate"},
                id="deals",
            ),
        ],
    )
    def test_returns_only_requested_and_system_properties(
        self, hs: HubSpot, object_name: str, requested: list[str], expected: set[str]
    ) -> None:
        """`properties` limits each record to those names plus id, create and modified dates."""
        api = getattr(hs.crm, object_name).basic_api
        page = api.get_page(limit=3, properties=requested)
        assert page.results
        for result in page.results:
            assert set(result.properties) == expected
            assert result.properties["hs_object_id"] == result.id
            assert result.id.isdigit()

    def test_default_properties_and_iso_timestamps(self, hs: HubSpot) -> None:
        """Without `properties` a contact carries HubSpot's defaults, dates as ISO with ms + Z."""
        result = hs.crm.contacts.basic_api.get_page(limit=1).results[0]
        assert set(result.properties) == {
            "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname",
        }  # fmt: skip
        stamp = result.properties["lastmodifieddate"]
        assert stamp.endswith("Z")
        assert len(stamp) == len("2025-03-03T09:00:00.000Z")

    def test_limit_over_100_is_rejected(self, hs: HubSpot) -> None:
        """A page larger than 100 is a 400 VALIDATION_ERROR."""
        from hubspot.crm.contacts import ApiException

        with pytest.raises(ApiException) as caught:
            hs.crm.contacts.basic_api.get_page(limit=101)
        assert caught.value.status == 400
        assert error_body(caught.value)["category"] == "VALIDATION_ERROR"

    def test_archived_lists_only_archived(self, hs: HubSpot, served: Sandbox) -> None:
        """Archived records leave the default list and appear with archived=true."""
        victim = contact_ids(served)[0]
        hs.crm.contacts.basic_api.archive(victim)
        live = hs.crm.contacts.basic_api.get_page(limit=100).results
        archived = hs.crm.contacts.basic_api.get_page(limit=100, archived=True).results
        assert victim not in {result.id for result in live}
        assert [result.id for result in archived] == [victim]
        assert archived[0].archived is True
        assert archived[0].archived_at is not None


class TestObjectsSingle:
    """Get, create, update and archive of one record."""

    def test_get_by_id_and_by_email(self, hs: HubSpot, served: Sandbox) -> None:
        """A contact is found by id and by its unique email with idProperty=email."""
        contact = next(r for r in served.hubspot.records("contacts") if r.get("email"))
        by_id = hs.crm.contacts.basic_api.get_by_id(contact["hs_object_id"])
        by_email = hs.crm.contacts.basic_api.get_by_id(contact["email"], id_property="email")
        assert by_id.id == by_email.id == contact["hs_object_id"]

    def test_missing_record_is_404(self, hs: HubSpot) -> None:
        """An unknown id is a 404 with category OBJECT_NOT_FOUND and a correlation id."""
        from hubspot.crm.contacts import ApiException

        with pytest.raises(ApiException) as caught:
            hs.crm.contacts.basic_api.get_by_id("999999999")
        body = error_body(caught.value)
        assert caught.value.status == 404
        assert body["category"] == "OBJECT_NOT_FOUND"
        assert body["status"] == "error"
        assert body["correlationId"]

    def test_create_update_archive(self, hs: HubSpot, served: Sandbox) -> None:
        """Create returns the written values; update bumps both modified dates; archive hides."""
        from hubspot.crm.contacts import ApiException

        served.hubspot.clock.set(START + timedelta(days=3))
        created = hs.crm.contacts.basic_api.create(
            {"properties": {"email": "new@example.com", "nps_last_score": "9"}}
        )
        assert created.properties["email"] == "new@example.com"
        assert created.properties["nps_last_score"] == "9"
        served.hubspot.clock.set(START + timedelta(days=5))
        updated = hs.crm.contacts.basic_api.update(
            created.id, {"properties": {"nps_last_category": "promoter"}}
        )
        modified = parse_instant(updated.properties["lastmodifieddate"])
        assert START + timedelta(days=5) <= modified < START + timedelta(days=5, minutes=1)
        stored = served.hubspot.record("contacts", created.id)
        assert stored["hs_lastmodifieddate"] == stored["lastmodifieddate"]
        assert updated.updated_at > created.updated_at
        hs.crm.contacts.basic_api.archive(created.id)
        with pytest.raises(ApiException):
            hs.crm.contacts.basic_api.get_by_id(created.id)
        assert hs.crm.contacts.basic_api.get_by_id(created.id, archived=True).archived

    @pytest.mark.parametrize(
        ("properties", "error"),
        [
            pytest.param({"no_such_field": "x"}, "PROPERTY_DOESNT_EXIST", id="unknown-property"),
            pytest.param({"nps_last_category": "fan"}, "INVALID_OPTION", id="bad-option"),
            pytest.param({"nps_last_score": "nine"}, "INVALID_LONG", id="bad-number"),
            pytest.param({"nps_last_response_at": "soon"}, "INVALID_DATE", id="bad-datetime"),
            pytest.param({"nps_reason_tags": "support;vibes"}, "INVALID_OPTION", id="bad-multi"),
            pytest.param({"lastmodifieddate": "0"}, "READ_ONLY_VALUE", id="read-only"),
        ],
    )
    def test_invalid_values_are_rejected(
        self, hs: HubSpot, served: Sandbox, properties: dict[str, str], error: str
    ) -> None:
        """A bad value is a 400 VALIDATION_ERROR naming the property and HubSpot's error code."""
        from hubspot.crm.contacts import ApiException

        with pytest.raises(ApiException) as caught:
            hs.crm.contacts.basic_api.update(contact_ids(served)[0], {"properties": properties})
        body = error_body(caught.value)
        assert caught.value.status == 400
        assert body["category"] == "VALIDATION_ERROR"
        assert body["message"].startswith("Property values were not valid: ")
        assert body["errors"][0]["code"] == error

    def test_values_are_normalised(self, hs: HubSpot, served: Sandbox) -> None:
        """Datetimes written as epoch ms read back as ISO; multi-select keeps `;`-joined values."""
        at = datetime(2025, 2, 1, 12, 30, tzinfo=UTC)
        hs.crm.contacts.basic_api.update(
            contact_ids(served)[0],
            {
                "properties": {
                    "nps_last_response_at": str(epoch_ms(at)),
                    "nps_reason_tags": "support;usability",
                }
            },
        )
        stored = served.hubspot.record("contacts", contact_ids(served)[0])
        assert stored["nps_last_response_at"] == iso_ms(at)
        assert stored["nps_reason_tags"] == "support;usability"


class TestBatch:
    """batch/read, batch/create, batch/update and batch/archive."""

    def test_read_with_properties_and_missing_ids(self, hs: HubSpot, served: Sandbox) -> None:
        """Missing ids come back as one OBJECT_NOT_FOUND error in a 207 next to the found ones."""
        ids = contact_ids(served)[:3]
        result = hs.crm.contacts.batch_api.read(
            {"inputs": [{"id": i} for i in [*ids, "424242"]], "properties": ["hs_language"]}
        )
        assert result.status == "COMPLETE"
        assert sorted(r.id for r in result.results) == sorted(ids)
        assert all("hs_language" in r.properties for r in result.results)
        assert result.num_errors == 1
        assert result.errors[0].category == "OBJECT_NOT_FOUND"
        assert result.errors[0].context == {"ids": ["424242"]}

    def test_read_by_email(self, hs: HubSpot, served: Sandbox) -> None:
        """idProperty=email reads contacts by their email address."""
        emails = [r["email"] for r in served.hubspot.records("contacts") if r.get("email")][:2]
        result = hs.crm.contacts.batch_api.read(
            {"inputs": [{"id": e} for e in emails], "idProperty": "email", "properties": ["email"]}
        )
        assert sorted(r.properties["email"] for r in result.results) == sorted(emails)

    def test_traced_create_reports_per_input_errors(self, hs: HubSpot, served: Sandbox) -> None:
        """With an `objectWriteTraceId` on every input, a batch create is multi-status: good
        inputs are created, a bad one comes back in a 207 naming its trace id."""
        created = hs.crm.companies.batch_api.create(
            {
                "inputs": [
                    {
                        "properties": {"name": "Acme", "nps_promoters": "3"},
                        "objectWriteTraceId": "a",
                    },
                    {
                        "properties": {"name": "Bad", "onboarding_status": "Maybe"},
                        "objectWriteTraceId": "b",
                    },
                ]
            }
        )
        assert [r.properties["name"] for r in created.results] == ["Acme"]
        assert created.num_errors == 1
        assert created.errors[0].category == "VALIDATION_ERROR"
        assert created.errors[0].errors[0].code == "INVALID_OPTION"
        assert created.errors[0].context == {"objectWriteTraceId": ["b"]}

    @pytest.mark.parametrize(
        "write",
        [
            pytest.param("create", id="untraced-create"),
            pytest.param("update", id="update"),
        ],
    )
    def test_one_bad_value_refuses_the_whole_batch(
        self, hs: HubSpot, served: Sandbox, write: str
    ) -> None:
        """A bad value in one input is a 400 VALIDATION_ERROR for all; nothing is written."""
        from hubspot.crm.companies import ApiException

        target = served.hubspot.records("companies")[0]["hs_object_id"]
        before = {r["hs_object_id"]: dict(r) for r in served.hubspot.records("companies")}
        good = {"nps_account_score": "40"}
        bad = {"onboarding_status": "Maybe"}
        inputs = (
            [{"properties": {"name": "Acme", **good}}, {"properties": {"name": "Bad", **bad}}]
            if write == "create"
            else [{"id": target, "properties": good}, {"id": target, "properties": bad}]
        )
        with pytest.raises(ApiException) as caught:
            getattr(hs.crm.companies.batch_api, write)({"inputs": inputs})
        body = error_body(caught.value)
        assert caught.value.status == 400
        assert body["category"] == "VALIDATION_ERROR"
        assert body["context"] == {"propertyName": ["onboarding_status"]}
        assert {r["hs_object_id"]: dict(r) for r in served.hubspot.records("companies")} == before

    def test_update_of_a_missing_record_is_reported_per_input(
        self, hs: HubSpot, served: Sandbox
    ) -> None:
        """Valid values for a record that does not exist: the others are applied (207)."""
        target = served.hubspot.records("companies")[0]["hs_object_id"]
        updated = hs.crm.companies.batch_api.update(
            {
                "inputs": [
                    {"id": target, "properties": {"nps_account_score": "40"}},
                    {"id": "31337", "properties": {"nps_account_score": "1"}},
                ]
            }
        )
        assert [r.properties["nps_account_score"] for r in updated.results] == ["40"]
        assert [e.category for e in updated.errors] == ["OBJECT_NOT_FOUND"]

    def test_clean_update_is_200_without_errors(self, hs: HubSpot, served: Sandbox) -> None:
        """A batch whose inputs all succeed is a plain BatchResponseSimplePublicObject."""
        ids = contact_ids(served)[:2]
        data, status, _ = hs.crm.contacts.batch_api.update_with_http_info(
            {"inputs": [{"id": i, "properties": {"nps_followup_status": "assigned"}} for i in ids]}
        )
        assert status == 200
        assert type(data).__name__ == "BatchResponseSimplePublicObject"
        assert data.started_at <= data.completed_at

    def test_more_than_100_inputs_is_400(self, hs: HubSpot, served: Sandbox) -> None:
        """A batch of 101 inputs is refused whole with VALIDATION_ERROR."""
        from hubspot.crm.contacts import ApiException

        inputs = [{"id": contact_ids(served)[0], "properties": {}}] * 101
        with pytest.raises(ApiException) as caught:
            hs.crm.contacts.batch_api.update({"inputs": inputs})
        assert caught.value.status == 400
        assert error_body(caught.value)["category"] == "VALIDATION_ERROR"

    def test_archive(self, hs: HubSpot, served: Sandbox) -> None:
        """batch/archive removes records from reads."""
        ids = contact_ids(served)[:2]
        hs.crm.contacts.batch_api.archive({"inputs": [{"id": i} for i in ids]})
        assert not set(ids) & set(contact_ids(served))


class TestSearch:
    """POST /crm/v3/objects/{object}/search."""

    @pytest.mark.parametrize(
        ("filters", "predicate"),
        [
            pytest.param(
                [{"propertyName": "hs_language", "operator": "EQ", "value": "ja"}],
                lambda r: r.get("hs_language") == "ja",
                id="eq",
            ),
            pytest.param(
                [{"propertyName": "hs_language", "operator": "NEQ", "value": "ja"}],
                lambda r: r.get("hs_language") != "ja",
                id="neq",
            ),
            pytest.param(
                [{"propertyName": "email", "operator": "NOT_HAS_PROPERTY"}],
                lambda r: not r.get("email"),
                id="not-has-property",
            ),
            pytest.param(
                [{"propertyName": "hs_email_optout", "operator": "IN", "values": ["true"]}],
                lambda r: r.get("hs_email_optout") == "true",
                id="in",
            ),
            pytest.param(
                [
                    {
                        "propertyName": "createdate",
                        "operator": "GTE",
                        "value": str(epoch_ms(START - timedelta(days=365))),
                    }
                ],
                lambda r: parse_instant(r["createdate"]) >= START - timedelta(days=365),
                id="gte-epoch-ms",
            ),
            pytest.param(
                [
                    {
                        "propertyName": "lastmodifieddate",
                        "operator": "BETWEEN",
                        "value": iso_ms(START - timedelta(days=90)),
                        "highValue": iso_ms(START),
                    }
                ],
                lambda r: (
                    START - timedelta(days=90) <= parse_instant(r["lastmodifieddate"]) <= START
                ),
                id="between-iso",
            ),
        ],
    )
    def test_filters_match_the_stored_records(
        self, hs: HubSpot, served: Sandbox, filters: list[dict[str, Any]], predicate: Any
    ) -> None:
        """Each operator selects exactly the records whose stored values satisfy it."""
        expected = {r["hs_object_id"] for r in served.hubspot.records("contacts") if predicate(r)}
        result = hs.crm.contacts.search_api.do_search(
            {"filterGroups": [{"filters": filters}], "limit": 200}
        )
        assert result.total == len(expected)
        assert {r.id for r in result.results} == expected

    def test_filter_groups_are_ored(self, hs: HubSpot, served: Sandbox) -> None:
        """Two filter groups return the union of their matches."""
        records = served.hubspot.records("contacts")
        ja = {r["hs_object_id"] for r in records if r.get("hs_language") == "ja"}
        out = {r["hs_object_id"] for r in records if r.get("hs_email_optout") == "true"}
        result = hs.crm.contacts.search_api.do_search(
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "hs_language", "operator": "EQ", "value": "ja"}]},
                    {
                        "filters": [
                            {"propertyName": "hs_email_optout", "operator": "EQ", "value": "true"}
                        ]
                    },
                ],
                "limit": 200,
            }
        )
        assert {r.id for r in result.results} == ja | out

    def test_sorts_and_pages_by_modification_date(self, hs: HubSpot) -> None:
        """Sorted by lastmodifieddate, pages of 20 follow `after` and cover the total once."""
        seen: list[tuple[str, str]] = []
        after = None
        while True:
            body: dict[str, Any] = {
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "properties": ["lastmodifieddate"],
                "limit": 20,
            }
            if after is not None:
                body["after"] = after
            page = hs.crm.contacts.search_api.do_search(body)
            seen.extend((r.properties["lastmodifieddate"], r.id) for r in page.results)
            if page.paging is None:
                break
            after = page.paging.next.after
        assert len(seen) == page.total == 50
        stamps = [parse_instant(stamp) for stamp, _ in seen]
        assert stamps == sorted(stamps)

    def test_write_back_shows_up_in_a_modified_since_search(
        self, hs: HubSpot, served: Sandbox
    ) -> None:
        """Our own write bumps the modification date, so a since-last-sync search finds it."""
        served.hubspot.clock.set(START + timedelta(days=1))
        target = contact_ids(served)[5]
        hs.crm.contacts.batch_api.update(
            {"inputs": [{"id": target, "properties": {"nps_last_score": "3"}}]}
        )
        served.clock.advance(timedelta(seconds=15))  # past the search index's lag
        result = hs.crm.contacts.search_api.do_search(
            {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "lastmodifieddate",
                                "operator": "GTE",
                                "value": str(epoch_ms(START + timedelta(hours=12))),
                            }
                        ]
                    }
                ]
            }
        )
        assert [r.id for r in result.results] == [target]

    @pytest.mark.parametrize(
        ("after", "limit", "status"),
        [
            pytest.param("9800", 200, 200, id="last-allowed-page"),
            pytest.param("9900", 101, 400, id="crosses-10k"),
            pytest.param("10000", 1, 400, id="past-10k"),
        ],
    )
    def test_ten_thousand_result_cap(
        self, hs: HubSpot, after: str, limit: int, status: int
    ) -> None:
        """A page reaching past the 10,000th result is a 400, whatever the total."""
        from hubspot.crm.contacts import ApiException

        body = {"after": after, "limit": limit}
        if status == 200:
            _, got, _ = hs.crm.contacts.search_api.do_search_with_http_info(body)
            assert got == 200
            return
        with pytest.raises(ApiException) as caught:
            hs.crm.contacts.search_api.do_search(body)
        assert caught.value.status == 400
        assert error_body(caught.value)["category"] == "VALIDATION_ERROR"

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"limit": 201}, id="limit-over-200"),
            pytest.param(
                {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE"}]}]},
                id="unknown-operator",
            ),
            pytest.param(
                {"filters": [{"propertyName": "x", "operator": "EQ", "value": 1}]},
                id="unknown-property",
            ),
            pytest.param(
                {"filterGroups": [{"filters": [HAS_EMAIL]}] * 6},
                id="six-groups",
            ),
            pytest.param({"sorts": ["createdate", "email"]}, id="two-sorts"),
        ],
    )  # fmt: skip
    def test_malformed_searches_are_400(self, hs: HubSpot, body: dict[str, Any]) -> None:
        """Requests outside the search limits are refused with VALIDATION_ERROR."""
        from hubspot.crm.contacts import ApiException

        with pytest.raises(ApiException) as caught:
            hs.crm.contacts.search_api.do_search(body)
        assert caught.value.status == 400


STAMP = START - timedelta(days=2)  # one instant shared by many contacts, as after a bulk update
TICK = timedelta(milliseconds=1)
Body = Callable[[list[str]], dict[str, Any]]


def _by(name: str, direction: str = "ASCENDING") -> list[dict[str, str]]:
    return [{"propertyName": name, "direction": direction}]


def _where(name: str, operator: str, value: str, **more: Any) -> dict[str, Any]:
    return {"propertyName": name, "operator": operator, "value": value, **more}


class TestSearchIndexes:
    """Searches answered from sorted indexes give exactly what reading every record gives."""

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(
                lambda ids: {"sorts": _by("lastmodifieddate"), "limit": 10, "after": 20},
                id="first-pull-page",
            ),
            pytest.param(
                lambda ids: {
                    "filterGroups": [
                        {"filters": [_where("lastmodifieddate", "GTE", str(epoch_ms(STAMP)))]}
                    ],
                    "sorts": _by("lastmodifieddate"),
                    "limit": 200,
                },
                id="keyset-from-an-instant",
            ),
            pytest.param(
                lambda ids: {
                    "filterGroups": [
                        {"filters": [_where("lastmodifieddate", "GT", iso_ms(STAMP))]},
                        {
                            "filters": [
                                _where("lastmodifieddate", "EQ", str(epoch_ms(STAMP))),
                                {
                                    "propertyName": "hs_object_id",
                                    "operator": "NOT_IN",
                                    "values": ids[:3],
                                },
                            ]
                        },
                    ],
                    "sorts": _by("lastmodifieddate"),
                    "limit": 200,
                },
                id="keyset-past-ids-read-in-the-instant",
            ),
            pytest.param(
                lambda ids: {
                    "filterGroups": [
                        {
                            "filters": [
                                _where("lastmodifieddate", "EQ", str(epoch_ms(STAMP))),
                                _where("hs_object_id", "GT", ids[4]),
                            ]
                        }
                    ],
                    "sorts": _by("hs_object_id"),
                    "limit": 5,
                },
                id="one-instant-by-id",
            ),
            pytest.param(
                lambda ids: {
                    "sorts": _by("lastmodifieddate", "DESCENDING"), "limit": 7, "after": 3
                },
                id="descending-through-ties",
            ),
            pytest.param(
                lambda ids: {"sorts": _by("nps_last_score"), "limit": 10, "after": 15},
                id="sparse-sort-reaches-records-without-a-value",
            ),
            pytest.param(
                lambda ids: {"sorts": _by("nps_last_score", "DESCENDING"), "limit": 20},
                id="sparse-sort-descending",
            ),
            pytest.param(
                lambda ids: {
                    "filterGroups": [
                        {"filters": [{"propertyName": "hs_object_id", "operator": "IN",
                                      "values": [*ids[5:9], ids[31], "1"]}]}
                    ],
                },
                id="ids-in-a-list-archived-and-unknown-left-out",
            ),
            pytest.param(
                lambda ids: {
                    "filterGroups": [
                        {
                            "filters": [
                                _where("lastmodifieddate", "BETWEEN", str(epoch_ms(STAMP)),
                                       highValue=iso_ms(STAMP + TICK)),
                                _where("nps_last_score", "GTE", "5"),
                            ]
                        },
                        {"filters": [_where("hs_language", "EQ", "JA")]},
                    ],
                    "sorts": _by("createdate", "DESCENDING"),
                    "limit": 50,
                },
                id="groups-read-from-different-indexes",
            ),
            pytest.param(
                lambda ids: {
                    "filterGroups": [{"filters": [HAS_EMAIL]}],
                    "sorts": _by("lastmodifieddate"),
                    "limit": 30,
                },
                id="unindexable-group-scans",
            ),
        ],
    )  # fmt: skip
    def test_indexed_answer_equals_a_full_scan(self, instant: Sandbox, body: Body) -> None:
        """Same page, total and next `after` as the scan, with indexes kept through writes."""
        portal = instant.hubspot
        known = partial(portal.prop, CONTACTS)
        with portal.lock:
            records = sorted(portal.store.all(CONTACTS), key=lambda record: int(record.id))
            ids = [record.id for record in records]
            execute(portal.store, CONTACTS, parse_query(body(ids), known), known, ())
            for n, record in enumerate(records[:30]):
                values = {"nps_last_score": str(n % 11)} if n % 3 else {}
                portal.update(CONTACTS, record, values, STAMP + TICK * (n % 5 == 0))
            portal.archive(CONTACTS, records[31], STAMP)
            portal.create(CONTACTS, {"email": "new@example.com"}, None, STAMP)
            query = parse_query(body(ids), known)
            expected = scan(portal.store.all(CONTACTS), query, known, ())
            got = execute(portal.store, CONTACTS, query, known, ())
        assert [r.id for r in got[0]] == [r.id for r in expected[0]]
        assert got[1:] == expected[1:]
        assert expected[0], "each shape selects something"


LAG_S = 0.3


@pytest.fixture
def lagging(sandbox_factory: Any, ticks: FakeMonotonic) -> Sandbox:
    """A sandbox whose clock moves only with `ticks`; search sees writes LAG_S after them."""
    return cast(
        Sandbox,
        sandbox_factory(
            size=50,
            seed=7,
            start=START,
            hubspot_rate_limits=False,
            hubspot_index_lag=(LAG_S, LAG_S),
            monotonic=ticks,
        ),
    )


def _found(sdk: HubSpot, body: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Search results: id to returned properties."""
    result = sdk.crm.contacts.search_api.do_search({**body, "limit": 200})
    assert result.total == len(result.results)
    return {r.id: r.properties for r in result.results}


def _named(value: str) -> dict[str, Any]:
    return {"filterGroups": [{"filters": [_where("firstname", "EQ", value)]}]}


LAGGED_SEARCHES = [
    pytest.param(_named, id="indexed-filter"),
    pytest.param(lambda value: {"query": value}, id="full-scan-query"),
]


class TestIndexLag:
    """Search sees a write only after the index lag; reads by id see it at once."""

    @pytest.mark.parametrize("search", LAGGED_SEARCHES)
    def test_update_reaches_search_after_the_lag(
        self, lagging: Sandbox, ticks: FakeMonotonic, search: Callable[[str], dict[str, Any]]
    ) -> None:
        """Until the lag passes, search finds the old value and not the new; GET sees the new."""
        sdk = client(lagging)
        target = contact_ids(lagging)[4]
        old = sdk.crm.contacts.basic_api.get_by_id(target, properties=["firstname"])
        old_name = old.properties["firstname"]
        assert old_name
        assert target in _found(sdk, search(old_name))
        sdk.crm.contacts.basic_api.update(target, {"properties": {"firstname": "Zebulonlag"}})
        by_id = sdk.crm.contacts.basic_api.get_by_id(target, properties=["firstname"])
        read = sdk.crm.contacts.batch_api.read(
            {"inputs": [{"id": target}], "properties": ["firstname"]}
        )
        assert by_id.properties["firstname"] == "Zebulonlag"
        assert read.results[0].properties["firstname"] == "Zebulonlag"
        ticks.now += LAG_S - 0.01
        assert target not in _found(sdk, search("Zebulonlag"))
        assert _found(sdk, search(old_name))[target]["firstname"] == old_name
        ticks.now += 0.02
        assert _found(sdk, search("Zebulonlag"))[target]["firstname"] == "Zebulonlag"
        assert target not in _found(sdk, search(old_name))

    def test_create_update_archive_arrive_in_order(
        self, lagging: Sandbox, ticks: FakeMonotonic
    ) -> None:
        """Writes within one lag reach search one by one, each version after its own lag."""
        sdk = client(lagging)
        everyone = sdk.crm.contacts.search_api.do_search({"limit": 1}).total
        created_at = ticks.now
        created = sdk.crm.contacts.basic_api.create({"properties": {"firstname": "Firstlag"}})
        ticks.now += LAG_S / 2
        sdk.crm.contacts.basic_api.update(created.id, {"properties": {"firstname": "Secondlag"}})
        steps: list[tuple[set[str], set[str], int]] = []
        for moment in (LAG_S * 0.9, LAG_S * 1.4, LAG_S * 1.6):
            ticks.now = created_at + moment
            steps.append(
                (
                    set(_found(sdk, _named("Firstlag"))),
                    set(_found(sdk, _named("Secondlag"))),
                    sdk.crm.contacts.search_api.do_search({"limit": 1}).total,
                )
            )
        sdk.crm.contacts.basic_api.archive(created.id)
        still = set(_found(sdk, _named("Secondlag")))
        ticks.now += LAG_S
        gone = set(_found(sdk, _named("Secondlag")))
        assert steps == [
            (set(), set(), everyone),
            ({created.id}, set(), everyone + 1),
            (set(), {created.id}, everyone + 1),
        ]
        assert (still, gone) == ({created.id}, set())


class TestRateLimits:
    """Ten-secondly, daily and search-per-second limits (on a hand-moved monotonic clock)."""

    def test_ten_secondly_limit_headers_and_429(self, limited: Any, ticks: FakeMonotonic) -> None:
        """Headers count down; past the tier comes a 429 TEN_SECONDLY_ROLLING, with the rate-limit
        headers and no Retry-After (HubSpot documents none)."""
        from hubspot.crm.contacts import ApiException

        hs = client(limited(tier=3))
        remaining = []
        for _ in range(3):
            _, _, headers = hs.crm.contacts.basic_api.get_page_with_http_info(limit=1)
            remaining.append(headers["X-HubSpot-RateLimit-Remaining"])
            assert headers["X-HubSpot-RateLimit-Max"] == "3"
            assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
            assert headers["X-HubSpot-RateLimit-Daily"] == "1000000"
        assert remaining == ["2", "1", "0"]
        with pytest.raises(ApiException) as caught:
            hs.crm.contacts.basic_api.get_page(limit=1)
        body = error_body(caught.value)
        assert caught.value.status == 429
        assert body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert body["errorType"] == "RATE_LIMIT"
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert "Retry-After" not in caught.value.headers
        assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
        ticks.now += 10
        assert hs.crm.contacts.basic_api.get_page(limit=1).results

    def test_daily_limit(self, limited: Any) -> None:
        """Past the daily allowance every call is a 429 with policyName DAILY."""
        from hubspot.crm.contacts import ApiException

        hs = client(limited(daily_limit=2))
        hs.crm.contacts.basic_api.get_page(limit=1)
        _, _, headers = hs.crm.contacts.basic_api.get_page_with_http_info(limit=1)
        assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
        with pytest.raises(ApiException) as caught:
            hs.crm.contacts.basic_api.get_page(limit=1)
        assert error_body(caught.value)["policyName"] == "DAILY"

    def test_search_has_its_own_per_second_limit_and_no_headers(
        self, limited: Any, ticks: FakeMonotonic
    ) -> None:
        """Search replies carry no rate headers; the 6th search in a second is a 429 SECONDLY."""
        from hubspot.crm.contacts import ApiException

        hs = client(limited(search_per_second=5))
        for _ in range(5):
            _, _, headers = hs.crm.contacts.search_api.do_search_with_http_info({"limit": 1})
            assert not [name for name in headers if name.lower().startswith("x-hubspot-ratelimit")]
        with pytest.raises(ApiException) as caught:
            hs.crm.contacts.search_api.do_search({"limit": 1})
        assert caught.value.status == 429
        assert error_body(caught.value)["policyName"] == "SECONDLY"
        assert hs.crm.contacts.basic_api.get_page(limit=1).results  # other calls unaffected
        ticks.now += 1
        assert hs.crm.contacts.search_api.do_search({"limit": 1}).results

    def test_limits_can_be_retuned_while_running(self, limited: Any) -> None:
        """set_rate_limits changes the tier a running portal enforces and reports."""
        sandbox = limited()
        sandbox.hubspot.set_rate_limits(tier=100, daily_limit=250_000)
        _, _, headers = client(sandbox).crm.contacts.basic_api.get_page_with_http_info(limit=1)
        assert headers["X-HubSpot-RateLimit-Max"] == "100"
        assert headers["X-HubSpot-RateLimit-Daily"] == "250000"


class TestAuthAndFaults:
    """Authentication and the error bodies the core's fault injector asks for."""

    def test_missing_or_unknown_token_is_401(self, served: Sandbox) -> None:
        """No bearer token, or one the portal does not know, is 401 INVALID_AUTHENTICATION."""
        from hubspot.crm.contacts import ApiException

        served.hubspot.access_tokens = frozenset({"pat-good"})
        for sdk in (client(served, access_token=""), client(served, access_token="pat-bad")):
            with pytest.raises(ApiException) as caught:
                sdk.crm.contacts.basic_api.get_page()
            assert caught.value.status == 401
            assert error_body(caught.value)["category"] == "INVALID_AUTHENTICATION"
        assert client(served, access_token="pat-good").crm.contacts.basic_api.get_page().results

    @pytest.mark.parametrize(
        ("status", "field", "value"),
        [
            pytest.param(429, "policyName", "TEN_SECONDLY_ROLLING", id="429"),
            pytest.param(500, "category", "INTERNAL_ERROR", id="500"),
            pytest.param(503, "category", "SERVICE_UNAVAILABLE", id="503"),
        ],
    )
    def test_error_response_for_injected_faults(
        self, served: Sandbox, status: int, field: str, value: str
    ) -> None:
        """Injected faults render in HubSpot's format; Retry-After on 5xx when given, never on
        a 429 (which carries the rate-limit headers instead)."""
        response = served.hubspot.error_response(status, retry_after_s=7)
        body = json.loads(bytes(response.body))
        assert response.status_code == status
        assert body["status"] == "error"
        assert body["correlationId"]
        assert body[field] == value
        assert response.headers.get("Retry-After") == (None if status == 429 else "7")
        assert ("X-HubSpot-RateLimit-Max" in response.headers) == (status == 429)


class TestProperties:
    """The properties API and the NPS property group."""

    def test_nps_properties_preinstalled_by_default(self, hs: HubSpot) -> None:
        """The default portal has the NPS group and the mapped NPS properties with their types."""
        props = {p.name: p for p in hs.crm.properties.core_api.get_all("contacts").results}
        assert props["nps_reason_tags"].type == "enumeration"
        assert props["nps_reason_tags"].field_type == "checkbox"
        assert props["nps_last_response_at"].type == "datetime"
        assert props["nps_last_score"].group_name == "nps"
        companies = {p.name for p in hs.crm.properties.core_api.get_all("companies").results}
        assert {"nps_account_score", "nps_promoters", "nps_detractors"} <= companies
        groups = {g.name for g in hs.crm.properties.groups_api.get_all("contacts").results}
        assert "nps" in groups

    def test_setup_creates_group_and_properties(self, bare: Sandbox) -> None:
        """Without preinstalled NPS fields, writes fail until the group and property are created."""
        from hubspot.crm.contacts import ApiException as ContactsError
        from hubspot.crm.properties import ApiException as PropertiesError

        hs = client(bare)
        contact = contact_ids(bare)[0]
        with pytest.raises(ContactsError):
            hs.crm.contacts.basic_api.update(contact, {"properties": {"nps_last_score": "7"}})
        spec = {
            "name": "nps_last_score",
            "label": "Last NPS score",
            "type": "number",
            "fieldType": "number",
            "groupName": "nps",
        }
        with pytest.raises(PropertiesError) as missing_group:
            hs.crm.properties.core_api.create("contacts", spec)
        assert missing_group.value.status == 400
        group = hs.crm.properties.groups_api.create("contacts", {"name": "nps", "label": "NPS"})
        assert group.name == "nps"
        created = hs.crm.properties.core_api.create("contacts", spec)
        assert (created.name, created.hubspot_defined) == ("nps_last_score", False)
        assert hs.crm.properties.core_api.get_by_name("contacts", "nps_last_score").type == "number"
        with pytest.raises(PropertiesError) as duplicate:
            hs.crm.properties.core_api.create("contacts", spec)
        assert duplicate.value.status == 409
        assert error_body(duplicate.value)["category"] == "OBJECT_ALREADY_EXISTS"
        hs.crm.contacts.basic_api.update(contact, {"properties": {"nps_last_score": "7"}})
        assert bare.hubspot.record("contacts", contact)["nps_last_score"] == "7"

    def test_preinstalled_nps_properties_are_what_setup_creates(self, hs: HubSpot) -> None:
        """The default config's contact and company properties, with its labels and options."""
        mapping = mapping_from_config(parse_config("crm:\n  kind: hubspot\n", "config.yaml", {}))
        wanted = {
            (spec.object, spec.name): (spec.label, spec.type, spec.field_type, spec.options)
            for spec in required_properties(mapping)
            if spec.object in {"contacts", "companies"}
        }
        found = {
            (name, prop.name): (
                prop.label,
                prop.type,
                prop.field_type,
                tuple((option.value, option.label) for option in prop.options),
            )
            for name in ("contacts", "companies")
            for prop in hs.crm.properties.core_api.get_all(name).results
            if prop.group_name == "nps"
        }
        assert found == wanted

    def test_update_replaces_options_and_keeps_what_was_not_sent(
        self, hs: HubSpot, served: Sandbox
    ) -> None:
        """PATCH overwrites only the fields sent; a new option can then be written."""
        from hubspot.crm.properties import OptionInput, PropertyUpdate

        api = hs.crm.properties.core_api
        before = api.get_by_name("contacts", "nps_reason_tags")
        options = [
            OptionInput(label=o.label, value=o.value, display_order=o.display_order, hidden=False)
            for o in before.options
        ]
        options.append(OptionInput(label="Security", value="security", display_order=99))
        served.hubspot.clock.set(START + timedelta(days=1))
        updated = api.update("contacts", "nps_reason_tags", PropertyUpdate(options=options))
        assert [o.value for o in updated.options] == [
            *(o.value for o in before.options),
            "security",
        ]
        kept = ("label", "type", "field_type", "group_name", "description", "hubspot_defined")
        assert [getattr(updated, key) for key in kept] == [getattr(before, key) for key in kept]
        assert updated.updated_at >= START + timedelta(days=1) > before.updated_at
        assert api.get_by_name("contacts", "nps_reason_tags").options == updated.options
        contact = contact_ids(served)[0]
        hs.crm.contacts.basic_api.update(
            contact, {"properties": {"nps_reason_tags": "security;support"}}
        )
        assert served.hubspot.record("contacts", contact)["nps_reason_tags"] == "security;support"
        relabelled = api.update(
            "contacts", "nps_reason_tags", PropertyUpdate(label="Reasons", options=options[:2])
        )
        assert relabelled.label == "Reasons"
        assert [o.value for o in relabelled.options] == [o.value for o in before.options[:2]]

    def test_type_changes_only_while_no_record_holds_a_value(
        self, hs: HubSpot, served: Sandbox
    ) -> None:
        """An unused property can change type; one with values cannot (400)."""
        from hubspot.crm.properties import ApiException, PropertyUpdate

        api = hs.crm.properties.core_api
        changed = api.update(
            "contacts", "nps_survey_url", PropertyUpdate(type="number", field_type="number")
        )
        assert (changed.type, changed.field_type) == ("number", "number")
        contact = contact_ids(served)[0]
        hs.crm.contacts.basic_api.update(contact, {"properties": {"nps_last_comment": "Great"}})
        with pytest.raises(ApiException) as caught:
            api.update("contacts", "nps_last_comment", PropertyUpdate(type="number"))
        assert caught.value.status == 400
        assert error_body(caught.value)["category"] == "VALIDATION_ERROR"
        assert api.get_by_name("contacts", "nps_last_comment").type == "string"

    @pytest.mark.parametrize(
        ("name", "update", "status"),
        [
            pytest.param("nps_nope", {"label": "X"}, 404, id="unknown-property"),
            pytest.param("email", {"label": "E-mail"}, 400, id="hubspot-defined-is-read-only"),
            pytest.param(
                "nps_last_category", {"options": []}, 400, id="enumeration-without-options"
            ),
            pytest.param("nps_last_score", {"group_name": "nope"}, 400, id="unknown-group"),
        ],
    )  # fmt: skip
    def test_update_errors(
        self, hs: HubSpot, name: str, update: dict[str, Any], status: int
    ) -> None:
        """Updates the portal cannot apply are refused and change nothing."""
        from hubspot.crm.properties import ApiException, PropertyUpdate

        api = hs.crm.properties.core_api
        with pytest.raises(ApiException) as caught:
            api.update("contacts", name, PropertyUpdate(**update))
        assert caught.value.status == status
        if status == 400:
            assert error_body(caught.value)["category"] == "VALIDATION_ERROR"
            found = api.get_by_name("contacts", name)
            assert found.updated_at == found.created_at

    def test_create_needs_the_required_fields(self, hs: HubSpot) -> None:
        """A property without type/fieldType/groupName is a 400 naming what is missing."""
        from hubspot.crm.properties import ApiException

        with pytest.raises(ApiException) as caught:
            hs.crm.properties.core_api.create(
                "contacts", {"name": "x", "label": "X", "type": "string", "fieldType": "text",
                             "groupName": ""}
            )  # fmt: skip
        assert caught.value.status == 400
        assert "groupName" in error_body(caught.value)["message"]


class TestAssociations:
    """Associations v4 and inline associations on create."""

    def test_contacts_have_primary_company(self, hs: HubSpot, served: Sandbox) -> None:
        """batch/read gives each contact's company with Primary (1) and unlabelled (279) types."""
        ids = contact_ids(served)[:3]
        result = hs.crm.associations.v4.batch_api.get_page(
            "contacts", "companies", {"inputs": [{"id": i} for i in ids]}
        )
        assert sorted(r._from.id for r in result.results) == sorted(ids)
        for item in result.results:
            (company,) = item.to
            assert sorted(t.type_id for t in company.association_types) == [1, 279]
            assert {t.label for t in company.association_types} == {"Primary", None}
            assert served.hubspot.associated_ids("companies", company.to_object_id, "contacts")

    def test_no_associations_is_a_207_error(self, hs: HubSpot, served: Sandbox) -> None:
        """An id with no associations is reported in errors, not silently dropped."""
        result = hs.crm.associations.v4.batch_api.get_page(
            "contacts", "tasks", {"inputs": [{"id": contact_ids(served)[0]}]}
        )
        assert result.results == []
        assert result.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"

    def test_create_labelled_and_default(self, hs: HubSpot, served: Sandbox) -> None:
        """batch/create and batch/associate/default link records in both directions."""
        company = served.hubspot.records("companies")[0]["hs_object_id"]
        contact = contact_ids(served)[0]
        created = hs.crm.associations.v4.batch_api.create(
            "companies",
            "contacts",
            {
                "inputs": [
                    {
                        "from": {"id": company},
                        "to": {"id": contact},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 2}
                        ],
                    }
                ]
            },
        )
        assert created.results[0].labels == ["Primary"]
        assert created.results[0].from_object_type_id == "0-2"
        default = hs.crm.associations.v4.batch_api.create_default(
            "contacts", "companies", {"inputs": [{"from": {"id": contact}, "to": {"id": company}}]}
        )
        assert default.results[0].association_spec.association_type_id == 279
        assert contact in served.hubspot.associated_ids("companies", company, "contacts")

    @pytest.mark.parametrize(
        ("from_type", "to_type", "type_ids"),
        [
            pytest.param("contacts", "companies", {1, 279}, id="contact-company"),
            pytest.param("companies", "contacts", {2, 280}, id="company-contact"),
            pytest.param("tickets", "contacts", {16}, id="ticket-contact"),
            pytest.param("contacts", "tickets", {15}, id="contact-ticket"),
            pytest.param("deals", "companies", {5, 341}, id="deal-company"),
            pytest.param("tasks", "contacts", {204}, id="task-contact"),
            pytest.param("tasks", "companies", {192}, id="task-company"),
            pytest.param("notes", "contacts", {202}, id="note-contact"),
            pytest.param("notes", "companies", {190}, id="note-company"),
        ],
    )
    def test_labels_list_hubspot_defined_types(
        self, hs: HubSpot, from_type: str, to_type: str, type_ids: set[int]
    ) -> None:
        """The labels endpoint lists HubSpot's default type ids for each pair."""
        result = hs.crm.associations.v4.schema.definitions_api.get_all(from_type, to_type)
        assert {t.type_id for t in result.results} == type_ids
        assert {t.category for t in result.results} == {"HUBSPOT_DEFINED"}


class TestEngagements:
    """Tasks and notes through client.crm.objects.*."""

    def test_task_with_inline_association_then_started_and_completed(
        self, hs: HubSpot, served: Sandbox
    ) -> None:
        """A task created with an inline contact association is open until a rep starts it
        (IN_PROGRESS) and then completes it."""
        contact = contact_ids(served)[0]
        task = hs.crm.objects.tasks.basic_api.create(
            {
                "properties": {
                    "hs_timestamp": iso_ms(START + timedelta(days=1)),
                    "hs_task_subject": "Call back detractor",
                    "hs_task_status": "NOT_STARTED",
                    "hs_task_priority": "HIGH",
                    "hubspot_owner_id": served.hubspot.record("contacts", contact)[
                        "hubspot_owner_id"
                    ],
                },
                "associations": [
                    {
                        "to": {"id": contact},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}
                        ],
                    }
                ],
            }
        )
        assert served.hubspot.associated_ids("contacts", contact, "tasks") == [task.id]
        assert [(t.id, t.started) for t in served.hubspot.open_tasks()] == [(task.id, False)]
        served.hubspot.start_task(task.id, START + timedelta(days=1))
        started = hs.crm.objects.tasks.basic_api.get_by_id(task.id, properties=["hs_task_status"])
        assert started.properties["hs_task_status"] == "IN_PROGRESS"
        assert [(t.id, t.started) for t in served.hubspot.open_tasks()] == [(task.id, True)]
        served.hubspot.complete_task(task.id, START + timedelta(days=2))
        read = hs.crm.objects.tasks.basic_api.get_by_id(
            task.id, properties=["hs_task_status", "hs_task_completion_date"]
        )
        assert read.properties["hs_task_status"] == "COMPLETED"
        assert read.properties["hs_lastmodifieddate"] == iso_ms(START + timedelta(days=2))
        assert served.hubspot.open_tasks() == []

    def test_task_needs_a_timestamp(self, hs: HubSpot) -> None:
        """hs_timestamp is required on a task."""
        from hubspot.crm.objects.tasks import ApiException

        with pytest.raises(ApiException) as caught:
            hs.crm.objects.tasks.basic_api.create({"properties": {"hs_task_subject": "x"}})
        assert caught.value.status == 400

    def test_note_on_a_company(self, hs: HubSpot, served: Sandbox) -> None:
        """A note can be created against a company with type 190."""
        company = served.hubspot.records("companies")[0]["hs_object_id"]
        note = hs.crm.objects.notes.basic_api.create(
            {
                "properties": {
                    "hs_timestamp": iso_ms(START),
                    "hs_note_body": "NPS 3: slow support",
                },
                "associations": [
                    {
                        "to": {"id": company},
                        "types": [
                            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}
                        ],
                    }
                ],
            }
        )
        assert served.hubspot.associated_ids("companies", company, "notes") == [note.id]


class TestOwners:
    """GET /crm/v3/owners."""

    def test_owners_come_from_world_users(self, hs: HubSpot) -> None:
        """Owners list with email, names, userId and a team; one is found by id and by email."""
        page = hs.crm.owners.owners_api.get_page(limit=500)
        assert page.results
        first = page.results[0]
        assert first.email
        assert first.first_name
        assert first.last_name
        assert first.user_id > 0
        assert first.teams[0].primary
        assert hs.crm.owners.owners_api.get_by_id(first.id).email == first.email
        assert [o.id for o in hs.crm.owners.owners_api.get_page(email=first.email).results] == [
            first.id
        ]

    def test_records_point_at_owners(self, hs: HubSpot, served: Sandbox) -> None:
        """Every company's hubspot_owner_id is an existing owner."""
        owners = {o.id for o in hs.crm.owners.owners_api.get_page(limit=500).results}
        companies = served.hubspot.records("companies")
        assert companies
        assert {c["hubspot_owner_id"] for c in companies} <= owners

    def test_an_archived_owner_is_listed_apart_and_gets_no_task(
        self, hs: HubSpot, served: Sandbox
    ) -> None:
        """A deactivated user's owner leaves the default list for `archived=true`, and a task
        assigned to it is refused as an invalid option (its records keep the owner id)."""
        from hubspot.crm.objects.tasks import ApiException

        contact = contact_ids(served)[0]
        owner = served.hubspot.record("contacts", contact)["hubspot_owner_id"]
        served.hubspot.archive_owner(owner)

        active = {o.id for o in hs.crm.owners.owners_api.get_page(limit=500).results}
        archived = hs.crm.owners.owners_api.get_page(limit=500, archived=True).results
        assert owner not in active
        assert [o.id for o in archived] == [owner]
        assert served.hubspot.record("contacts", contact)["hubspot_owner_id"] == owner
        with pytest.raises(ApiException) as caught:
            hs.crm.objects.tasks.basic_api.create(
                {
                    "properties": {
                        "hs_timestamp": iso_ms(START + timedelta(days=1)),
                        "hs_task_subject": "Call back detractor",
                        "hubspot_owner_id": owner,
                    }
                }
            )
        assert caught.value.status == 400
        assert "INVALID_OPTION" in str(caught.value.body)


class TestActivity:
    """The time machine's ActivityTarget operations, observed through the API."""

    def test_close_and_open_cases(self, hs: HubSpot, served: Sandbox) -> None:
        """Closing moves a ticket to stage 4 with closed_date; opening adds an associated ticket."""
        at = START + timedelta(hours=5)
        ticket = served.hubspot.open_case_ids()[0]
        served.hubspot.close_case(ticket, at)
        read = hs.crm.tickets.basic_api.get_by_id(ticket, properties=["closed_date"])
        assert read.properties["closed_date"] == iso_ms(at)
        assert read.properties["hs_lastmodifieddate"] == iso_ms(at)
        assert ticket not in served.hubspot.open_case_ids()
        contact = contact_ids(served)[0]
        opened = served.hubspot.open_case(contact, "Export is broken", at)
        assert opened in served.hubspot.open_case_ids()
        assert served.hubspot.associated_ids("tickets", opened, "contacts") == [contact]

    def test_complete_onboarding(self, hs: HubSpot, served: Sandbox) -> None:
        """Completing onboarding sets the status and stamps the modification date at `at`."""
        at = START + timedelta(days=2)
        company = served.hubspot.records("companies")[0]["hs_object_id"]
        hs.crm.companies.basic_api.update(
            company, {"properties": {"onboarding_status": "In Progress"}}
        )
        assert company in served.hubspot.onboarding_in_progress_account_ids()
        served.hubspot.complete_onboarding(company, at)
        read = hs.crm.companies.basic_api.get_by_id(company, properties=["onboarding_status"])
        assert read.properties["onboarding_status"] == "Completed"
        assert read.properties["hs_lastmodifieddate"] == iso_ms(at)
        assert company not in served.hubspot.onboarding_in_progress_account_ids()

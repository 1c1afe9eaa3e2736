"""Fault rules, the seeded injector that applies them, and the request log."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from worker.sandbox.faults import FaultInjector, FaultRule, RequestLog, RequestLogEntry, crm_of_path

QUERY = "/services/data/v59.0/query"
SEARCH = "/crm/v3/objects/contacts/search"


def _entry(crm: str, method: str, path: str, status: int = 200) -> RequestLogEntry:
    at = datetime(2025, 6, 2, tzinfo=UTC)
    return RequestLogEntry(at, crm, method, path, status, 0, 0, 1.0)


class TestCrmOfPath:
    @pytest.mark.parametrize(
        ("path", "crm"),
        [
            pytest.param(QUERY, "salesforce", id="rest"),
            pytest.param("/services/oauth2/token", "salesforce", id="oauth"),
            pytest.param(SEARCH, "hubspot", id="crm-v3"),
            pytest.param("/oauth/v1/token", "hubspot", id="hubspot-oauth"),
        ],
    )
    def test_salesforce_owns_services_and_hubspot_the_rest(self, path: str, crm: str) -> None:
        """Requests under /services/ are Salesforce's; everything else is HubSpot's."""
        assert crm_of_path(path) == crm


class TestFaultRule:
    @pytest.mark.parametrize(
        ("data", "message"),
        [
            pytest.param({"path_pattern": "x", "kind": "418", "rate": 1}, "kind", id="kind"),
            pytest.param({"path_pattern": "x", "kind": "500", "rate": 1.5}, "rate", id="rate"),
            pytest.param({"path_pattern": "(", "kind": "500", "rate": 1}, "regex", id="regex"),
            pytest.param(
                {"crm": "zendesk", "path_pattern": "x", "kind": "500", "rate": 1}, "crm", id="crm"
            ),
            pytest.param(
                {"path_pattern": "x", "kind": "slow", "rate": 1, "delay_s": -1}, "delay", id="delay"
            ),
            pytest.param(
                {"path_pattern": "x", "kind": "500", "rate": 1, "limit": 0}, "limit", id="limit"
            ),
            pytest.param({"path_pattern": "x", "kind": "500"}, "missing", id="missing"),
            pytest.param(
                {"path_pattern": "x", "kind": "500", "rate": 1, "often": 2}, "unknown", id="extra"
            ),
            pytest.param({"path_pattern": "x", "kind": "500", "rate": "1"}, "number", id="type"),
            pytest.param(
                {"crm": "hubspot", "path_pattern": "x", "kind": "403", "rate": 1},
                "salesforce",
                id="salesforce-only-kind",
            ),
            pytest.param(
                {"path_pattern": "x", "kind": "lock_row", "rate": 1}, "salesforce", id="any-crm"
            ),
        ],
    )
    def test_invalid_rules_are_refused_with_the_reason(
        self, data: Mapping[str, Any], message: str
    ) -> None:
        """A bad rule raises a ValueError that names what is wrong."""
        with pytest.raises(ValueError, match=message):
            FaultRule.from_dict(data)

    def test_round_trips_through_its_json_shape(self) -> None:
        """`to_dict` and `from_dict` are inverse, so control endpoints echo rules exactly."""
        rule = FaultRule("hubspot", "/search$", "429", 0.25, delay_s=2.0, limit=3)
        assert FaultRule.from_dict(rule.to_dict()) == rule

    @pytest.mark.parametrize(
        ("crm", "path", "matches"),
        [
            pytest.param("salesforce", QUERY, True, id="same-crm-matching-path"),
            pytest.param("hubspot", QUERY, False, id="other-crm"),
            pytest.param("salesforce", "/services/data/v59.0/sobjects", False, id="other-path"),
        ],
    )
    def test_matches_by_crm_and_path_regex(self, crm: str, path: str, matches: bool) -> None:
        """A rule applies to its CRM (or all when null) and paths its regex finds."""
        assert FaultRule("salesforce", r"/query$", "500", 1.0).matches(crm, path) is matches
        assert FaultRule(None, r"/query$", "500", 1.0).matches("hubspot", QUERY)


class TestFaultInjector:
    def test_rate_one_hits_every_matching_request_and_nothing_else(self) -> None:
        """At rate 1.0 each matching request gets the fault; other paths never do."""
        faults = FaultInjector(seed=1)
        faults.add(FaultRule("salesforce", "/query", "503", 1.0))
        assert all(faults.pick("salesforce", QUERY) is not None for _ in range(100))
        assert all(faults.pick("hubspot", SEARCH) is None for _ in range(100))

    def test_rate_zero_never_fires(self) -> None:
        """A rule at rate 0 is inert."""
        faults = FaultInjector(seed=1)
        faults.add(FaultRule(None, ".", "500", 0.0))
        assert all(faults.pick("hubspot", SEARCH) is None for _ in range(100))

    def test_partial_rate_is_seeded_and_close_to_the_rate(self) -> None:
        """A 30 % rule fails about 30 % of requests, the same ones for the same seed."""

        def draws(seed: int) -> list[bool]:
            faults = FaultInjector(seed)
            faults.add(FaultRule(None, ".", "429", 0.3))
            return [faults.pick("hubspot", SEARCH) is not None for _ in range(2_000)]

        assert draws(9) == draws(9)
        assert draws(9) != draws(10)
        assert 0.25 <= sum(draws(9)) / 2_000 <= 0.35

    def test_limit_stops_a_rule_after_that_many_faults(self) -> None:
        """A limited rule fires its count and then lets requests through."""
        faults = FaultInjector(seed=1)
        faults.add(FaultRule(None, ".", "500", 1.0, limit=3))
        fired = [faults.pick("salesforce", QUERY) is not None for _ in range(5)]
        assert fired == [True, True, True, False, False]

    def test_first_rule_that_fires_wins_and_clear_removes_all(self) -> None:
        """Rules are tried in order; `clear` leaves no rule behind."""
        faults = FaultInjector(seed=1)
        faults.add(FaultRule(None, "/query", "drop", 1.0))
        faults.add(FaultRule(None, ".", "500", 1.0))
        assert faults.pick("salesforce", QUERY) == faults.rules()[0]
        assert faults.pick("hubspot", SEARCH) == faults.rules()[1]
        faults.clear()
        assert faults.rules() == []
        assert faults.pick("salesforce", QUERY) is None

    def test_effects_strike_inside_requests_and_never_at_the_door(self) -> None:
        """Per-record and per-job kinds are the org's to apply (`strikes`); `pick` skips them."""
        faults = FaultInjector(seed=1)
        faults.add(FaultRule("salesforce", "/composite", "lock_row", 1.0, limit=2))
        path = "/services/data/v59.0/composite/sobjects"
        assert faults.pick("salesforce", path) is None
        assert [faults.strikes("salesforce", path, "lock_row") for _ in range(3)] == [
            True,
            True,
            False,
        ]
        assert not faults.strikes("salesforce", path, "entity_deleted")


class TestRequestLog:
    def test_counts_requests_by_crm_method_and_path(self) -> None:
        """Filters combine; methods compare case-insensitively; paths by regex search."""
        requests = RequestLog()
        requests.append(_entry("salesforce", "GET", QUERY))
        requests.append(_entry("salesforce", "PATCH", "/services/data/v59.0/composite/sobjects"))
        requests.append(_entry("hubspot", "POST", SEARCH))
        assert len(requests) == 3
        assert requests.count(crm="salesforce") == 2
        assert requests.count(method="post") == 1
        assert requests.count(crm="salesforce", path_pattern="composite") == 1
        assert [e.path for e in requests.entries(crm="hubspot")] == [SEARCH]

    def test_clear_forgets_everything(self) -> None:
        """After `clear` the log counts from zero."""
        requests = RequestLog()
        requests.append(_entry("hubspot", "POST", SEARCH))
        requests.clear()
        assert requests.count() == 0

    def test_entries_serialise_with_iso_times(self) -> None:
        """The control endpoint's shape has every field, the time in ISO 8601."""
        data = _entry("hubspot", "POST", SEARCH, status=429).to_dict()
        assert data["at"] == "2025-06-02T00:00:00+00:00"
        assert data["status"] == 429
        assert data["fault"] is None

"""Task dedup-key lookups: SOQL literals, query sizes, exact matching."""

import pytest

from worker.sync.salesforce.dedup import (
    KEYS_PER_QUERY,
    MAX_KEY_CHARACTERS,
    composite_lookup,
    found,
    lookup_queries,
    string_literal,
)


@pytest.mark.parametrize(
    ("key", "literal"),
    [
        pytest.param("followup:42", "'followup:42'", id="plain"),
        pytest.param("o'brien", r"'o\'brien'", id="quote"),
        pytest.param("a\\b", r"'a\\b'", id="backslash"),
        pytest.param("line\nbreak", r"'line\nbreak'", id="newline"),
    ],
)
def test_keys_are_escaped_as_soql_strings(key: str, literal: str) -> None:
    """Quotes, backslashes and control characters are escaped, so a key cannot end the query."""
    assert string_literal(key) == literal


def test_queries_hold_at_most_200_keys_and_stay_short() -> None:
    """1,000 short keys take five queries; long keys take more, each below the size bound."""
    short = lookup_queries("Task", "NPS_Dedup_Key__c", [f"k:{n}" for n in range(1000)])
    long = lookup_queries("Task", "NPS_Dedup_Key__c", [f"{'x' * 76}:{n}" for n in range(300)])
    assert len(short) == 1000 // KEYS_PER_QUERY
    assert short[0].startswith(
        "SELECT Id, NPS_Dedup_Key__c FROM Task WHERE NPS_Dedup_Key__c IN ('k:0', "
    )
    assert len(long) > 2
    assert all(len(query) < MAX_KEY_CHARACTERS + 100 for query in long)


def test_the_composite_runs_each_query_through_query_all() -> None:
    """Deleted and archived tasks still count: each subrequest is a queryAll GET."""
    body = composite_lookup(["SELECT Id FROM Task"], "59.0")
    [part] = body["compositeRequest"]
    assert part["method"] == "GET"
    assert part["url"] == "/services/data/v59.0/queryAll/?q=SELECT%20Id%20FROM%20Task"


def test_found_matches_keys_exactly_and_keeps_the_first_record() -> None:
    """SOQL ignores case; the worker's keys do not. A key held twice answers its first task."""
    records = [
        {"Id": "00T1", "NPS_Dedup_Key__c": "FU:1"},
        {"Id": "00T2", "NPS_Dedup_Key__c": "fu:1"},
        {"Id": "00T3", "NPS_Dedup_Key__c": "fu:1"},
    ]
    assert found(records, "NPS_Dedup_Key__c", {"fu:1", "fu:2"}) == {"fu:1": "00T2"}

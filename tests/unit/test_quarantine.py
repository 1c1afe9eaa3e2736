"""A mapped page is judged whole, and the rows it refuses are the ones a row-by-row walk refuses."""

from datetime import UTC, datetime
from typing import Any

import pytest

from worker.domain import Account, Contact, TriggerRecord
from worker.sync.quarantine import unstorable, unstorable_among

AT = datetime(2026, 5, 1, tzinfo=UTC)


def contact(n: int, **changes: Any) -> Contact:
    values: dict[str, Any] = {
        "crm": "hubspot",
        "crm_id": str(n),
        "email": f"person{n}@example.com",
        "first_name": "花子" if n % 2 else "Ann",
        "last_name": "Lee",
        "account_crm_id": "77",
        "owner_id": "9",
        "language": "ja",
        "time_zone": "Asia/Tokyo",
        "opted_out": False,
        "modified_at": AT,
        "segments": {"tier": "gold", "seats": 12, "ratio": 0.5},
        "crm_values": {"nps_last_score": None, "nps_last_category": "promoter"},
    }
    return Contact(**{**values, **changes})


ACCOUNT = Account("hubspot", "77", "株式会社テスト", "9", AT, {"industry": "Retail"})
TICKET = TriggerRecord("hubspot", "tickets", "5", AT, {"hs_pipeline_stage": "4"}, "1", "77")


def test_a_clean_page_refuses_nothing() -> None:
    page = [contact(n) for n in range(50)] + [ACCOUNT, TICKET]
    assert unstorable_among(page) == {}
    assert not any(map(unstorable, page))


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param({"email": "a" * 400 + "@example.com"}, "email longer than 320", id="long"),
        pytest.param({"first_name": "Ta\x00ro"}, "NUL character in first_name", id="nul"),
        pytest.param({"last_name": "\ud800"}, "lone surrogate", id="surrogate"),
        pytest.param({"segments": {"tier\x00": "gold"}}, "segments:", id="nul-key"),
        pytest.param({"segments": {"size": float("nan")}}, "JSON cannot hold", id="nan"),
        pytest.param({"crm_values": {"a": {"b": [1]}}}, None, id="nested-but-storable"),
        pytest.param({"segments": {1: "one"}}, "key that is not storable", id="int-key"),
    ],
)
def test_the_rows_refused_are_those_the_row_walk_refuses(
    bad: dict[str, Any], reason: str | None
) -> None:
    page = [ACCOUNT, contact(1), contact(2, **bad), TICKET, contact(3)]
    refused = unstorable_among(page)
    assert refused == {n: r for n, row in enumerate(page) if (r := unstorable(row)) is not None}
    if reason is None:
        assert refused == {}
    else:
        assert list(refused) == [2]
        assert reason in refused[2]


def test_every_bad_row_of_a_page_is_named() -> None:
    page = [contact(1, email="x" * 321), contact(2), contact(3, language="\x00")]
    assert sorted(unstorable_among(page)) == [0, 2]


def test_something_else_than_a_domain_row_is_refused() -> None:
    assert unstorable_among([contact(1), {"crm_id": "1"}]) == {1: "mapper returned dict"}

"""Fuzzing CRM records through mappers and the pull: malformed records are quarantined, by id."""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from tests.fuzz import examples
from tests.fuzz.crm_inputs import check_pull, pages
from worker.crm_types import CrmRecord
from worker.store.models import Account, Contact


@settings(
    max_examples=examples(ci=100),  # a database round trip each: 100 per backend in CI
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(page=pages())
def test_any_page_is_stored_or_quarantined(
    sessions: sessionmaker[Session], page: tuple[str, list[CrmRecord]]
) -> None:
    """No record makes the pull raise; the cursor moves past the page either way."""
    check_pull(sessions, *page)


AT = datetime(2026, 5, 1, tzinfo=UTC)
EMAIL = "x@example.com"


@pytest.mark.parametrize(
    ("key", "fields", "reason"),
    [
        pytest.param(
            "salesforce:Contact", {"Email": "a" * 400 + "@example.com"}, "email longer than 320",
            id="long-email",
        ),
        pytest.param(
            "salesforce:Contact", {"Email": EMAIL, "FirstName": "Ta\x00ro"},
            "NUL character in first_name", id="nul",
        ),
        pytest.param(
            "hubspot:contacts", {"email": EMAIL, "lastname": "\ud800"}, "lone surrogate",
            id="surrogate",
        ),
        pytest.param(
            "salesforce:Account", {"Name": "Acme", "Industry": float("nan")},
            "a number JSON cannot hold", id="nan",
        ),
        pytest.param(
            "salesforce:Contact", {"Email": EMAIL, "AccountId": "0" * 65},
            "account_crm_id longer than 64", id="long-id",
        ),
    ],
)  # fmt: skip
def test_found_by_fuzzing(
    sessions: sessionmaker[Session], key: str, fields: dict[str, object], reason: str
) -> None:
    """Values PostgreSQL refused, failing the whole page on every cycle: now quarantined."""
    object_name = key.split(":")[1]
    bad = CrmRecord(object_name, "003BAD", AT, fields)
    good = CrmRecord(object_name, "003GOOD", AT, {"Name": "Good", "Email": EMAIL})
    with capture_logs() as logs:
        check_pull(sessions, key, [bad, good])
    quarantined = [entry for entry in logs if entry["event"] == "crm_record_quarantined"]
    assert [entry["record_id"] for entry in quarantined] == ["003BAD"]
    assert reason in quarantined[0]["reason"]
    assert all(str(value) not in str(quarantined) for value in fields.values())
    model = Account if "ccount" in object_name or object_name == "companies" else Contact
    with sessions() as session:
        assert list(session.scalars(select(model.crm_id))) == ["003GOOD"]

"""The sandbox portal refuses a property value longer than HubSpot stores (65,536 characters)."""

from datetime import UTC, datetime

import pytest

from worker.sandbox.hubspot.catalog import default_catalogs
from worker.sandbox.hubspot.errors import PropertyProblem

CATALOGS = default_catalogs(datetime(2026, 1, 1, tzinfo=UTC), with_nps=True)


@pytest.mark.parametrize(
    ("length", "refused"),
    [pytest.param(65_536, False, id="at-limit"), pytest.param(65_537, True, id="over")],
)
def test_task_body_length(length: int, refused: bool) -> None:
    """A task body of 65,536 characters is kept; one more is INVALID_STRING_LENGTH."""
    found = CATALOGS["tasks"].properties["hs_task_body"].normalize("x" * length)
    assert isinstance(found, PropertyProblem) is refused
    if isinstance(found, PropertyProblem):
        assert (found.name, found.error) == ("hs_task_body", "INVALID_STRING_LENGTH")

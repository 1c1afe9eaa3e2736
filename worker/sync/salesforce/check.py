"""`nps-worker check` for Salesforce: describe every mapped object, list each field problem."""

from collections.abc import Mapping

from worker.mappers.salesforce import FieldExpectation, field_problems
from worker.sync.base import CrmClient, FieldInfo, NotFound


def check_fields(
    client: CrmClient, expected: Mapping[str, Mapping[str, FieldExpectation]]
) -> list[str]:
    """Describe each object `expected` names (one call each) and report every mismatch."""
    described: dict[str, Mapping[str, FieldInfo] | None] = {}
    for sobject in expected:
        try:
            described[sobject] = client.describe(sobject)
        except NotFound:
            described[sobject] = None
    return field_problems(expected, described)

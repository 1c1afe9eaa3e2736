"""`nps-worker check` for Salesforce: what the connected user may do, against what the worker needs.

The user's effective access is read from describe, which answers for the running user
(resources_sobject_describe.htm; DescribeSObjectResult queryable/createable/updateable, and
each field's createable/updateable; a field the user may not read is left out). The
permission objects (ObjectPermissions, FieldPermissions) would say more, but reading them
takes "View Setup and Configuration" (Object Reference, ObjectPermissions), which a
least-privilege integration user does not have. An object the user may not read describes
as NOT_FOUND, so its fields cannot be judged: each right the worker needs on it is named.
"""

import dataclasses
from collections.abc import Mapping

from worker.mappers.salesforce import (
    CREATE,
    EDIT,
    READ,
    FieldExpectation,
    field_problems,
    value_problems,
)
from worker.sync.base import FieldInfo, NotFound
from worker.sync.salesforce.client import SalesforceClient
from worker.sync.salesforce.metadata import ObjectInfo

_CUSTOM = "__c"


def check_fields(
    client: SalesforceClient,
    expected: Mapping[str, Mapping[str, FieldExpectation]],
    rights: Mapping[str, Mapping[str, str]] | None = None,
    compared: Mapping[str, Mapping[str, frozenset[str]]] | None = None,
) -> list[str]:
    """Describe each object once and name every missing right, field, or mismatch.

    `rights` maps object -> right ("Read", "Create", "Edit") -> what the worker needs it for;
    `compared` maps object -> field -> the values rules compare it with (picklists must have
    them).
    """
    needed = rights or {}
    problems: list[str] = []
    described: dict[str, Mapping[str, FieldInfo] | None] = {}
    judged: dict[str, Mapping[str, FieldExpectation]] = {}
    for sobject in dict.fromkeys([*needed, *expected]):
        wants = needed.get(sobject, {})
        try:
            info = client.describe_object(sobject)
        except NotFound:
            problems.extend(_unreadable(sobject, wants))
            continue
        problems.extend(_missing_rights(info, wants))
        if info.queryable:
            described[sobject] = info.fields
            judged[sobject] = _within_object_rights(expected.get(sobject, {}), info)
    return problems + field_problems(judged, described) + value_problems(compared or {}, described)


def _unreadable(sobject: str, wants: Mapping[str, str]) -> list[str]:
    """An object the user cannot see: every right the worker needs on it is missing."""
    if not wants:
        return [f"{sobject}: object not found (or not visible to the integration user)"]
    if sobject.endswith(_CUSTOM):
        return [f"{sobject}: object not found, or missing {READ}"]
    return [f"{sobject}: missing {right}, {why}" for right, why in wants.items()]


def _within_object_rights(
    wanted: Mapping[str, FieldExpectation], info: ObjectInfo
) -> dict[str, FieldExpectation]:
    """Field expectations minus what a missing object right already explains: without Create
    on the object no field is createable, and that is one missing right, not one per field."""
    return {
        name: dataclasses.replace(
            expectation,
            createable=expectation.createable and info.createable,
            updateable=expectation.updateable and info.updateable,
        )
        for name, expectation in wanted.items()
    }


def _missing_rights(info: ObjectInfo, wants: Mapping[str, str]) -> list[str]:
    granted = {READ: info.queryable, CREATE: info.createable, EDIT: info.updateable}
    return [
        f"{info.name}: missing {right}, {why}"
        for right, why in wants.items()
        if not granted.get(right, True)
    ]

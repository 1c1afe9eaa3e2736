"""Validated record writes: what the org checks before it saves, and the errors it reports.

Checks and codes follow the SOAP API Developer Guide's StatusCode list
(sforce_api_calls_concepts_core_data_objects.htm#statuscode) and the messages the REST API
returns for them: the writing user's object and field permissions (`permissions.Access`),
unknown fields, read-only fields, types, lengths, restricted picklists, required fields,
malformed or foreign ids, deleted records, records given to an inactive owner
(`INACTIVE_OWNER_OR_USER`).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from worker.sandbox.salesforce.errors import FieldRejected, RecordError
from worker.sandbox.salesforce.ids import normalize_id
from worker.sandbox.salesforce.permissions import UNRESTRICTED, Access
from worker.sandbox.salesforce.schema import FieldDef, SObjectDef, sobject_for_id
from worker.sandbox.salesforce.store import Record, RecordStore
from worker.sandbox.salesforce.values import coerce

_IGNORED_KEYS = frozenset({"attributes"})
_NO_ACCESS = "insufficient access rights on object id"


class RecordRejected(Exception):
    """A record-level failure: the SaveResult errors of one record."""

    def __init__(self, errors: list[RecordError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


class Writer:
    """Creates, updates and deletes records the way the REST API does, validating each write."""

    def __init__(self, store: RecordStore) -> None:
        self._store = store

    def create(
        self,
        definition: SObjectDef,
        body: Mapping[str, Any],
        *,
        at: datetime,
        user_id: str,
        access: Access = UNRESTRICTED,
    ) -> Record:
        """Insert one record from a request body; raises RecordRejected with its errors."""
        if not access.on(definition).create:
            raise RecordRejected([RecordError("INSUFFICIENT_ACCESS_OR_READONLY", _NO_ACCESS)])
        if any(key.lower() == "id" for key in body):
            raise RecordRejected(
                [
                    RecordError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        "cannot specify Id in an insert call",
                        ("Id",),
                    )
                ]
            )
        values = self._values(definition, body, creating=True, access=access)
        if definition.field("OwnerId") is not None and values.get("OwnerId") is None:
            values["OwnerId"] = user_id
        missing = [
            f.name for f in definition.fields if f.required and values.get(f.name) in (None, "")
        ]
        if missing:
            raise RecordRejected(
                [
                    RecordError(
                        "REQUIRED_FIELD_MISSING",
                        f"Required fields are missing: [{', '.join(missing)}]",
                        tuple(missing),
                    )
                ]
            )
        return self._store.insert(definition.name, values, at=at, by=user_id)

    def update(
        self,
        definition: SObjectDef,
        record_id: Any,
        body: Mapping[str, Any],
        *,
        at: datetime,
        user_id: str,
        access: Access = UNRESTRICTED,
    ) -> Record:
        """Apply a request body to an existing record; raises RecordRejected with its errors."""
        record = self.existing(definition, record_id)
        if not access.on(definition).edit:
            raise RecordRejected([RecordError("INSUFFICIENT_ACCESS_OR_READONLY", _NO_ACCESS)])
        values = self._values(definition, body, creating=False, access=access)
        cleared = [
            name
            for name, value in values.items()
            if value is None and not definition.by_lower[name.lower()].nillable
        ]
        if cleared:
            raise RecordRejected(
                [
                    RecordError(
                        "REQUIRED_FIELD_MISSING",
                        f"Required fields are missing: [{', '.join(cleared)}]",
                        tuple(cleared),
                    )
                ]
            )
        self._store.change(definition.name, record, values, at=at, by=user_id)
        return record

    def delete(
        self,
        definition: SObjectDef,
        record_id: Any,
        *,
        at: datetime,
        user_id: str,
        access: Access = UNRESTRICTED,
    ) -> None:
        """Soft-delete a record (recycle bin); raises RecordRejected with its errors."""
        if not definition.deletable:
            raise RecordRejected(
                [RecordError("INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted")]
            )
        record = self.existing(definition, record_id)
        if not access.on(definition).delete:
            raise RecordRejected([RecordError("INSUFFICIENT_ACCESS_OR_READONLY", _NO_ACCESS)])
        self._store.soft_delete(definition.name, record, at=at, by=user_id)

    def existing(self, definition: SObjectDef, record_id: Any) -> Record:
        """The live record an update or delete names; raises RecordRejected when there is none."""
        if record_id in (None, ""):
            raise RecordRejected(
                [RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ("Id",))]
            )
        normalized = normalize_id(record_id) if isinstance(record_id, str) else None
        if normalized is None:
            raise RecordRejected(
                [RecordError("MALFORMED_ID", f"malformed id {record_id}", ("Id",))]
            )
        if normalized[:3] != definition.key_prefix:
            raise RecordRejected(
                [
                    RecordError(
                        "INVALID_ID_FIELD",
                        f"{definition.label} ID: id value of incorrect type: {record_id}",
                        ("Id",),
                    )
                ]
            )
        record = self._store.table(definition.name).get(normalized)
        if record is None:
            raise RecordRejected([RecordError("INVALID_ID_FIELD", "invalid record id", ("Id",))])
        if record["IsDeleted"]:
            raise RecordRejected([RecordError("ENTITY_IS_DELETED", "entity is deleted")])
        return record

    def _values(
        self, definition: SObjectDef, body: Mapping[str, Any], *, creating: bool, access: Access
    ) -> Record:
        errors: list[RecordError] = []
        read_only: list[str] = []
        values: Record = {}
        for key, raw in body.items():
            if key in _IGNORED_KEYS or (not creating and key.lower() == "id"):
                continue
            field = access.field(definition, key)
            if field is None:
                errors.append(
                    RecordError(
                        "INVALID_FIELD",
                        f"No such column '{key}' on sobject of type {definition.name}",
                    )
                )
                continue
            if not access.may_write(definition, field, creating=creating):
                read_only.append(field.name)
                continue
            try:
                values[field.name] = self._coerce(field, raw)
            except FieldRejected as rejected:
                errors.append(rejected.error)
        if read_only:
            errors.append(
                RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
                    "security settings of this field and verify that it is read/write for your "
                    "profile or permission set.",
                    tuple(read_only),
                )
            )
        if errors:
            raise RecordRejected(errors)
        return values

    def _coerce(self, field: FieldDef, raw: Any) -> Any:
        value = coerce(field, raw)
        if field.type != "reference" or value is None:
            return value
        normalized = normalize_id(value)
        target = sobject_for_id(normalized) if normalized else None
        if normalized is None:
            raise FieldRejected(
                RecordError(
                    "MALFORMED_ID",
                    f"{field.label}: id value of incorrect type: {value}",
                    (field.name,),
                )
            )
        if target is None or target.name not in field.reference_to:
            raise FieldRejected(
                RecordError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{field.label}: id value of incorrect type: {value}",
                    (field.name,),
                )
            )
        found = self._store.table(target.name).get(normalized)
        if found is None or found["IsDeleted"]:
            raise FieldRejected(
                RecordError(
                    "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", (field.name,)
                )
            )
        if field.name == "OwnerId" and target.name == "User" and not found.get("IsActive", True):
            raise FieldRejected(
                RecordError(
                    "INACTIVE_OWNER_OR_USER",
                    f"operation performed with inactive user [{normalized}] as owner",
                    (field.name,),
                )
            )
        return normalized

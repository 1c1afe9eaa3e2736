"""sObject Collections: create, update or upsert up to 200 records in one call.

REST API Developer Guide, "sObject Collections" (resources_composite_sobjects_collections.htm,
..._create.htm, ..._update.htm, ..._upsert.htm): one SaveResult per record, in request order
(UpsertResults add `created`); `allOrNone` defaults to false; with it, any failure rolls back
every record and the others report ALL_OR_NONE_OPERATION_ROLLED_BACK. More than 200 records:
400 EXCEEDED_ID_LIMIT. Upsert matches records of the URL's sObject on its external id field;
an upsert the org refuses for the user's permissions fails every record with
INSUFFICIENT_ACCESS_OR_READONLY. Injected faults act per record, as other users' work would:
"lock_row" (another transaction holds the record: UNABLE_TO_LOCK_ROW, the record unchanged)
and "entity_deleted" (someone deleted the record a moment before: ENTITY_IS_DELETED).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from worker.sandbox.salesforce.errors import RecordError, SalesforceApiError
from worker.sandbox.salesforce.permissions import Access
from worker.sandbox.salesforce.schema import FieldDef, SObjectDef
from worker.sandbox.salesforce.store import Record, RecordStore
from worker.sandbox.salesforce.writes import RecordRejected, Writer

MAX_RECORDS = 200
ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)


@dataclass(frozen=True)
class Upsert:
    """Upsert mode: match records of one sObject on one of its external id fields.

    `refused` is why the running user may not upsert on that field at all, if they may not.
    """

    definition: SObjectDef
    field: FieldDef
    refused: str | None = None


Mode = Literal["create", "update"] | Upsert
Strike = Callable[[str], bool]
"""Whether an injected per-record fault of a kind hits the record at hand."""


def _never(_kind: str) -> bool:
    return False


def save_records(
    store: RecordStore,
    writer: Writer,
    body: Any,
    *,
    mode: Mode,
    at: datetime,
    user_id: str,
    access: Access,
    strikes: Strike = _never,
    force_all_or_none: bool = False,
) -> list[dict[str, Any]]:
    """Run one collections request body in `mode`; returns the SaveResult list."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SalesforceApiError(
            400, "JSON_PARSER_ERROR", "The request body must be an object with a records array"
        )
    records: list[Any] = body["records"]
    if len(records) > MAX_RECORDS:
        raise SalesforceApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    all_or_none = force_all_or_none or body.get("allOrNone") is True
    with store.lock, store.savepoint() as savepoint:
        index = _external_index(store, mode) if isinstance(mode, Upsert) else {}
        results = [
            _save_one(
                writer,
                raw,
                mode=mode,
                at=at,
                user_id=user_id,
                access=access,
                strikes=strikes,
                index=index,
            )
            for raw in records
        ]
        if all_or_none and not all(result["success"] for result in results):
            savepoint.rollback()
            results = [_rolled_back(result) for result in results]
    return results


def _external_index(store: RecordStore, upsert: Upsert) -> dict[Any, list[Record]]:
    """Live records of the upsert's sObject by external id, built once per request."""
    index: dict[Any, list[Record]] = {}
    for record in store.table(upsert.definition.name).values():
        value = record[upsert.field.name]
        if value not in (None, "") and not record["IsDeleted"]:
            index.setdefault(_key(value), []).append(record)
    return index


def _save_one(
    writer: Writer,
    raw: Any,
    *,
    mode: Mode,
    at: datetime,
    user_id: str,
    access: Access,
    strikes: Strike,
    index: dict[Any, list[Record]],
) -> dict[str, Any]:
    record_id = _id_of(raw) if mode == "update" else None
    created: bool | None = None
    try:
        definition = _type_of(raw, access)
        if mode == "update":
            _struck(writer, definition, record_id, strikes, at=at)
        if mode == "create":
            saved = writer.create(definition, raw, at=at, user_id=user_id, access=access)
        elif mode == "update":
            saved = writer.update(definition, record_id, raw, at=at, user_id=user_id, access=access)
        else:
            saved, created = _upsert_one(
                writer, raw, definition, mode, at=at, user_id=user_id, access=access, index=index
            )
    except RecordRejected as rejected:
        result: dict[str, Any] = {
            "success": False,
            "errors": [e.as_save_error() for e in rejected.errors],
        }
        if record_id is not None:
            result = {"id": record_id, **result}
        return result
    result = {"id": saved["Id"], "success": True, "errors": []}
    if created is not None:
        result["created"] = created
    return result


def _struck(
    writer: Writer, definition: SObjectDef, record_id: Any, strikes: Strike, *, at: datetime
) -> None:
    """Apply the injected per-record faults that hit this update, as other users' work would."""
    if strikes("lock_row"):
        raise RecordRejected(
            [
                RecordError(
                    "UNABLE_TO_LOCK_ROW",
                    f"unable to obtain exclusive access to this record or 1 records: {record_id}",
                )
            ]
        )
    if strikes("entity_deleted"):
        try:
            record = writer.existing(definition, record_id)
            writer.delete(definition, record_id, at=at, user_id=record["OwnerId"] or "")
        except RecordRejected:
            pass  # not a live record: the write fails on its own


def _upsert_one(
    writer: Writer,
    raw: dict[str, Any],
    definition: SObjectDef,
    upsert: Upsert,
    *,
    at: datetime,
    user_id: str,
    access: Access,
    index: dict[Any, list[Record]],
) -> tuple[Record, bool]:
    if upsert.refused is not None:
        raise RecordRejected(
            [RecordError("INSUFFICIENT_ACCESS_OR_READONLY", upsert.refused, (upsert.field.name,))]
        )
    if definition is not upsert.definition:
        raise RecordRejected(
            [
                RecordError(
                    "INVALID_TYPE",
                    f"sObject type '{definition.name}' does not match the upsert's "
                    f"'{upsert.definition.name}'",
                )
            ]
        )
    name = upsert.field.name
    key = next((v for k, v in raw.items() if k.lower() == name.lower()), None)
    if key in (None, ""):
        raise RecordRejected([RecordError("MISSING_ARGUMENT", f"{name} not specified")])
    matches = [record for record in index.get(_key(key), []) if not record["IsDeleted"]]
    if len(matches) > 1:
        ids = ", ".join(record["Id"] for record in matches)
        raise RecordRejected(
            [
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{upsert.field.label}: more than one record found for external id field: "
                    f"[{ids}]",
                    (name,),
                )
            ]
        )
    if matches:
        updated = writer.update(
            definition, matches[0]["Id"], raw, at=at, user_id=user_id, access=access
        )
        return updated, False
    created = writer.create(definition, raw, at=at, user_id=user_id, access=access)
    index.setdefault(_key(key), []).append(created)
    return created, True


def _key(value: Any) -> Any:
    """External ids match case-insensitively (the field is deployed with caseSensitive false)."""
    return value.casefold() if isinstance(value, str) else value


def _rolled_back(result: dict[str, Any]) -> dict[str, Any]:
    if not result["success"]:
        return result
    return {"success": False, "errors": [ROLLED_BACK.as_save_error()]}


def _type_of(raw: Any, access: Access) -> SObjectDef:
    attributes = raw.get("attributes") if isinstance(raw, dict) else None
    type_name = attributes.get("type") if isinstance(attributes, dict) else None
    definition = access.sobject(type_name) if isinstance(type_name, str) else None
    if definition is None:
        raise RecordRejected(
            [
                RecordError(
                    "INVALID_TYPE",
                    "Must send a concrete entity type."
                    if type_name is None
                    else f"sObject type '{type_name}' is not supported.",
                )
            ]
        )
    return definition


def _id_of(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return None
    return next((value for key, value in raw.items() if key.lower() == "id"), None)

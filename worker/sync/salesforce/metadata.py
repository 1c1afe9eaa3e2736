"""Field metadata from Salesforce describe results, in the worker's vendor-neutral terms.

Types are the `type` values of DescribeFieldResult (SOAP API Developer Guide,
"describeSObjects", Field; "Primitive Data Types" and "Field Types" in the Object Reference).
Describe answers for the connected user: DescribeSObjectResult's queryable, createable and
updateable, and each field's createable and updateable, say what this user may do, and a
field the user may not read is left out.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.sync.base import FieldInfo, FieldType

LONG_TEXT_OVER = 255

_TYPES: Mapping[str, FieldType] = {
    "string": FieldType.STRING,
    "combobox": FieldType.STRING,
    "phone": FieldType.STRING,
    "encryptedstring": FieldType.STRING,
    "textarea": FieldType.TEXT,
    "double": FieldType.NUMBER,
    "currency": FieldType.NUMBER,
    "percent": FieldType.NUMBER,
    "int": FieldType.NUMBER,
    "long": FieldType.NUMBER,
    "boolean": FieldType.BOOLEAN,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
    "picklist": FieldType.ENUM,
    "multipicklist": FieldType.MULTI_ENUM,
    "reference": FieldType.REFERENCE,
    "url": FieldType.URL,
    "email": FieldType.EMAIL,
    "id": FieldType.ID,
}


def field_info(raw: Mapping[str, Any]) -> FieldInfo:
    """One describe `fields[]` entry as `FieldInfo`."""
    kind = str(raw.get("type", ""))
    length = int(raw.get("length") or 0) or None
    field_type = _TYPES.get(kind, FieldType.OTHER)
    if field_type is FieldType.STRING and length and length > LONG_TEXT_OVER:
        field_type = FieldType.TEXT
    options = tuple(
        str(p["value"]) for p in raw.get("picklistValues") or () if p.get("active", True)
    )
    return FieldInfo(
        name=str(raw["name"]),
        type=field_type,
        updateable=bool(raw.get("updateable")),
        options=options,
        length=length,
        createable=bool(raw.get("createable")),
    )


def fields_of(describe: Mapping[str, Any]) -> dict[str, FieldInfo]:
    """All fields of an sObject describe result, by API name."""
    infos = (field_info(raw) for raw in describe.get("fields", ()))
    return {info.name: info for info in infos}


@dataclass(frozen=True)
class ObjectInfo:
    """One sObject as the connected user sees it: what they may do with it, and its fields."""

    name: str
    queryable: bool
    createable: bool
    updateable: bool
    fields: Mapping[str, FieldInfo]


def object_info(describe: Mapping[str, Any]) -> ObjectInfo:
    """An sObject describe result as `ObjectInfo`."""
    return ObjectInfo(
        name=str(describe.get("name", "")),
        queryable=bool(describe.get("queryable", True)),
        createable=bool(describe.get("createable")),
        updateable=bool(describe.get("updateable")),
        fields=fields_of(describe),
    )

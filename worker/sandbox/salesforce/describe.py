"""Describe results: what `sobjects/` and `sobjects/{type}/describe` return.

Shapes from the REST API Developer Guide, "Describe Global" (resources_describeGlobal.htm) and
"sObject Describe" (resources_sobject_describe.htm); field attributes from DescribeFieldResult
(SOAP API Developer Guide, sforce_api_calls_describesobjects_describesobjectresult.htm).
Describe answers for the running user: objects they cannot read are not listed, fields they
cannot see are left out, and createable/updateable say what this user may do.
"""

from typing import Any

from worker.sandbox.salesforce.permissions import Access
from worker.sandbox.salesforce.schema import NUMBER_TYPES, SCHEMA, TEXT_TYPES, FieldDef, SObjectDef

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "int": "xsd:int",
}
_SOAP_TYPES.update(dict.fromkeys(NUMBER_TYPES - {"int"}, "xsd:double"))
_SOAP_TYPES.update(dict.fromkeys(TEXT_TYPES, "xsd:string"))
_UTF8_BYTES_PER_CHAR = 3


def sobject_urls(definition: SObjectDef, version: str) -> dict[str, str]:
    """The `urls` map of an sObject's describe entries."""
    base = f"/services/data/v{version}/sobjects/{definition.name}"
    return {
        "sobject": base,
        "describe": f"{base}/describe",
        "rowTemplate": f"{base}/{{ID}}",
    }


def _summary(definition: SObjectDef, version: str, access: Access) -> dict[str, Any]:
    allowed = access.on(definition)
    return {
        "name": definition.name,
        "label": definition.label,
        "labelPlural": definition.label_plural,
        "keyPrefix": definition.key_prefix,
        "custom": definition.custom,
        "createable": allowed.create,
        "updateable": allowed.edit,
        "deletable": definition.deletable and allowed.delete,
        "queryable": allowed.read,
        "retrieveable": True,
        "searchable": True,
        "layoutable": True,
        "replicateable": True,
        "triggerable": True,
        "undeletable": definition.deletable,
        "urls": sobject_urls(definition, version),
    }


def describe_global(version: str, access: Access) -> dict[str, Any]:
    """The Describe Global body: every sObject of the org the user may read."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [
            _summary(definition, version, access)
            for definition in SCHEMA.values()
            if access.readable(definition)
        ],
    }


def describe_basic(definition: SObjectDef, version: str, access: Access) -> dict[str, Any]:
    """The sObject Basic Information body (`GET sobjects/{type}`)."""
    return {"objectDescribe": _summary(definition, version, access), "recentItems": []}


def describe_sobject(definition: SObjectDef, version: str, access: Access) -> dict[str, Any]:
    """The full sObject Describe body, with the fields the user sees."""
    return {
        **_summary(definition, version, access),
        "fields": [
            describe_field(
                field,
                createable=access.may_write(definition, field, creating=True),
                updateable=access.may_write(definition, field, creating=False),
            )
            for field in definition.fields
            if access.sees(definition, field)
        ],
        "childRelationships": [],
        "recordTypeInfos": [],
    }


def describe_field(field: FieldDef, *, createable: bool, updateable: bool) -> dict[str, Any]:
    """One DescribeFieldResult, with what the running user may do with the field."""
    is_text = field.type in TEXT_TYPES or field.type in {"id", "reference"}
    return {
        "aggregatable": field.filterable,
        "autoNumber": field.name == "CaseNumber",
        "byteLength": field.length * _UTF8_BYTES_PER_CHAR if is_text else 0,
        "calculated": field.calculated,
        "createable": createable,
        "custom": field.custom,
        "defaultValue": field.default_value,
        "defaultedOnCreate": field.defaulted_on_create,
        "digits": 0,
        "externalId": field.external_id,
        "filterable": field.filterable,
        "groupable": field.filterable and field.type not in NUMBER_TYPES,
        "idLookup": field.name == "Id" or field.external_id,
        "label": field.label,
        "length": field.length if is_text else 0,
        "name": field.name,
        "nameField": field.name_field,
        "nillable": field.nillable,
        "picklistValues": [
            {
                "active": True,
                "defaultValue": value == field.default_value,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in field.picklist
        ],
        "precision": field.precision if field.type in NUMBER_TYPES else 0,
        "referenceTo": list(field.reference_to),
        "relationshipName": field.relationship_name,
        "restrictedPicklist": field.restricted,
        "scale": field.scale if field.type in NUMBER_TYPES else 0,
        "soapType": _SOAP_TYPES[field.type],
        "sortable": field.filterable,
        "type": field.type,
        "unique": field.unique,
        "updateable": updateable,
    }

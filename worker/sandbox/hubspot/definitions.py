"""Creating property and group definitions through the properties API, with its checks."""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from worker.sandbox.hubspot.errors import HubSpotError, validation_error
from worker.sandbox.hubspot.properties import (
    FIELD_TYPES,
    PROPERTY_TYPES,
    Option,
    PropertyCatalog,
    PropertyDef,
    PropertyGroup,
)

# POST /crm/v3/properties/{objectType} needs name, label, type, fieldType and groupName
# (PropertyCreate); a taken name is 409 OBJECT_ALREADY_EXISTS.
# https://developers.hubspot.com/docs/api/crm/properties
_REQUIRED = ("name", "label", "type", "fieldType", "groupName")


def new_property(catalog: PropertyCatalog, body: dict[str, object], at: datetime) -> PropertyDef:
    """A custom property from a create request, or the error HubSpot gives for it."""
    missing = [key for key in _REQUIRED if not body.get(key)]
    if missing:
        raise validation_error(
            f"Missing required fields: {', '.join(missing)}", missingFields=missing
        )
    name, type_, field_type = str(body["name"]), str(body["type"]), str(body["fieldType"])
    group = str(body["groupName"])
    if name in catalog.properties:
        raise HubSpotError(
            409,
            "OBJECT_ALREADY_EXISTS",
            f"A property named '{name}' already exists.",
            context={"name": [name]},
        )
    if type_ not in PROPERTY_TYPES:
        raise validation_error(f"Unknown property type {type_!r}.", type=[type_])
    if field_type not in FIELD_TYPES:
        raise validation_error(f"Unknown fieldType {field_type!r}.", fieldType=[field_type])
    if group not in catalog.groups:
        raise validation_error(f"Property group {group!r} does not exist.", groupName=[group])
    options = _options(body.get("options"))
    if type_ == "enumeration" and not options:
        raise validation_error(f"Enumeration property {name!r} needs options.", name=[name])
    return PropertyDef(
        name,
        str(body["label"]),
        type_,
        field_type,
        group,
        at,
        options,
        description=str(body.get("description") or ""),
        hubspot_defined=False,
        display_order=int(str(body.get("displayOrder", -1))),
        has_unique_value=bool(body.get("hasUniqueValue", False)),
        form_field=bool(body.get("formField", False)),
    )


def updated_property(
    catalog: PropertyCatalog,
    prop: PropertyDef,
    body: dict[str, object],
    at: datetime,
    in_use: Callable[[], bool],
) -> PropertyDef:
    """A property changed by an update request (only the fields sent), or the error for it.

    PATCH /crm/v3/properties/{objectType}/{propertyName} takes a PropertyUpdate: "Perform a
    partial update of a property identified by {propertyName}. Provided fields will be
    overwritten." (properties OpenAPI spec in HubSpot/HubSpot-public-api-spec-collection;
    https://developers.hubspot.com/docs/api/crm/properties). So `options`, when sent,
    replaces the whole option list. `in_use` says whether any record holds a value (asked
    only when the type changes).
    """
    if prop.hubspot_defined:
        # Our catalog marks HubSpot-defined properties `readOnlyDefinition` (properties.py).
        raise validation_error(
            f"{prop.name} is a HubSpot-defined property; its definition is read-only.",
            name=[prop.name],
        )
    type_ = str(body.get("type") or prop.type)
    field_type = str(body.get("fieldType") or prop.field_type)
    group = str(body.get("groupName") or prop.group_name)
    if type_ not in PROPERTY_TYPES:
        raise validation_error(f"Unknown property type {type_!r}.", type=[type_])
    if field_type not in FIELD_TYPES:
        raise validation_error(f"Unknown fieldType {field_type!r}.", fieldType=[field_type])
    if group not in catalog.groups:
        raise validation_error(f"Property group {group!r} does not exist.", groupName=[group])
    if type_ != prop.type and in_use():
        raise validation_error(
            f"Cannot change the type of {prop.name} from {prop.type} to {type_}: "
            "records hold values for it.",
            type=[type_],
        )
    options = _options(body["options"]) if "options" in body else prop.options
    if type_ == "enumeration" and not options:
        raise validation_error(
            f"Enumeration property {prop.name!r} needs options.", name=[prop.name]
        )
    label = body.get("label", prop.label)
    if not label:
        raise validation_error(f"Property {prop.name!r} needs a label.", label=[""])
    return replace(
        prop,
        label=str(label),
        type=type_,
        field_type=field_type,
        group_name=group,
        options=options if type_ == "enumeration" else (),
        description=str(body.get("description", prop.description) or ""),
        display_order=int(str(body.get("displayOrder", prop.display_order))),
        form_field=bool(body.get("formField", prop.form_field)),
        hidden=bool(body.get("hidden", prop.hidden)),
        updated_at=at,
    )


def _options(raw: object) -> tuple[Option, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise validation_error("`options` must be a list.")
    options = []
    for order, item in enumerate(raw):
        if not isinstance(item, dict) or "value" not in item or "label" not in item:
            raise validation_error("Each option needs `label` and `value`.")
        options.append(
            Option(
                str(item["label"]),
                str(item["value"]),
                int(str(item.get("displayOrder", order))),
                bool(item.get("hidden", False)),
            )
        )
    return tuple(options)


def new_group(catalog: PropertyCatalog, body: dict[str, object]) -> PropertyGroup:
    """A property group from a create request (name and label required; 409 when taken)."""
    name, label = body.get("name"), body.get("label")
    if not name or not label:
        raise validation_error("A property group needs `name` and `label`.")
    if str(name) in catalog.groups:
        raise HubSpotError(
            409,
            "OBJECT_ALREADY_EXISTS",
            f"A property group named '{name}' already exists.",
            context={"name": [str(name)]},
        )
    return PropertyGroup(str(name), str(label), int(str(body.get("displayOrder", -1))))

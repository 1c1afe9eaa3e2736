"""Creating property and group definitions through the properties API, with its checks."""

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

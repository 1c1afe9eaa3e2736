"""Property definitions and the validation HubSpot applies to every written value."""

from dataclasses import dataclass, field, replace
from datetime import datetime

from worker.sandbox.hubspot.errors import PropertyProblem
from worker.sandbox.hubspot.timefmt import iso_date, iso_ms, parse_instant

# Property model: https://developers.hubspot.com/docs/api/crm/properties
# (type: string | number | date | datetime | enumeration | bool; fieldType: text, textarea,
# number, date, select, radio, checkbox, booleancheckbox, ...).
PROPERTY_TYPES = frozenset({"string", "number", "date", "datetime", "enumeration", "bool"})
FIELD_TYPES = frozenset(
    {
        "textarea",
        "text",
        "date",
        "file",
        "number",
        "select",
        "radio",
        "checkbox",
        "booleancheckbox",
        "calculation_equation",
        "phonenumber",
        "html",
    }
)


@dataclass(frozen=True)
class Option:
    """One allowed value of an enumeration property."""

    label: str
    value: str
    display_order: int = 0
    hidden: bool = False

    def to_json(self) -> dict[str, object]:
        """The option as the properties API returns it."""
        return {
            "label": self.label,
            "value": self.value,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
        }


@dataclass(frozen=True)
class PropertyDef:
    """One property of one object type, as the properties API describes it."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    created_at: datetime
    options: tuple[Option, ...] = ()
    description: str = ""
    hubspot_defined: bool = True
    read_only: bool = False
    display_order: int = -1
    has_unique_value: bool = False
    form_field: bool = False
    updated_at: datetime | None = None
    archived: bool = False
    hidden: bool = False

    @property
    def multi_valued(self) -> bool:
        """Whether values are `;`-joined lists (multiple checkboxes)."""
        return self.type == "enumeration" and self.field_type == "checkbox"

    def with_options(self, options: tuple[Option, ...]) -> "PropertyDef":
        """A copy with a different option list (owners, pipelines loaded later)."""
        return replace(self, options=options)

    def to_json(self) -> dict[str, object]:
        """The definition as `GET /crm/v3/properties/{object}` returns it."""
        body: dict[str, object] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [option.to_json() for option in self.options],
            "displayOrder": self.display_order,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "hubspotDefined": self.hubspot_defined,
            "formField": self.form_field,
            "archived": self.archived,
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.updated_at or self.created_at),
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
        }
        return body

    def normalize(self, raw: object) -> str | PropertyProblem:
        """The stored form of a written value, or the problem HubSpot reports for it.

        HubSpot takes every value as a string (numbers and booleans are also accepted as JSON
        scalars) and an empty string clears the property.
        """
        if self.read_only:
            return self._problem("READ_ONLY_VALUE", f"{self.name} is a read only property")
        if raw is None:
            return ""
        text = _as_text(raw)
        if text == "":
            return ""
        if len(text) > MAX_VALUE_LENGTH:
            return self._problem(
                "INVALID_STRING_LENGTH",
                f"{self.name} has {len(text)} characters; at most {MAX_VALUE_LENGTH} are allowed",
            )
        normalizer = _NORMALIZERS.get(self.type, _keep)
        return normalizer(self, text)

    def _problem(self, error: str, message: str) -> PropertyProblem:
        return PropertyProblem(self.name, error, message)


MAX_VALUE_LENGTH = 65_536
"""HubSpot stores at most 65,536 characters in one property value (multi-line text, rich text,
task bodies); a longer one is refused, not cut."""


def _as_text(raw: object) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def _keep(prop: PropertyDef, text: str) -> str | PropertyProblem:
    return text


def _number(prop: PropertyDef, text: str) -> str | PropertyProblem:
    try:
        float(text)
    except ValueError:
        return prop._problem("INVALID_LONG", f"{text} was not a valid number.")
    return text.strip()


def _datetime(prop: PropertyDef, text: str) -> str | PropertyProblem:
    try:
        return iso_ms(parse_instant(text))
    except ValueError:
        return prop._problem(
            "INVALID_DATE", f"{text} was not a valid long or an ISO 8601 formatted datetime."
        )


def _date(prop: PropertyDef, text: str) -> str | PropertyProblem:
    try:
        moment = parse_instant(text)
    except ValueError:
        return prop._problem("INVALID_DATE", f"{text} was not a valid date.")
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        return prop._problem(
            "INVALID_DATE", f"{text} is at {moment.time()} UTC; dates must be at midnight UTC."
        )
    return iso_date(moment.date())


def _bool(prop: PropertyDef, text: str) -> str | PropertyProblem:
    lowered = text.strip().lower()
    if lowered not in {"true", "false"}:
        return prop._problem("INVALID_BOOLEAN", f"{text} was not a valid boolean.")
    return lowered


def _enumeration(prop: PropertyDef, text: str) -> str | PropertyProblem:
    allowed = {option.value for option in prop.options}
    values = text.split(";") if prop.multi_valued else [text]
    for value in values:
        if value not in allowed:
            return prop._problem(
                "INVALID_OPTION",
                f"{value} was not one of the allowed options: {sorted(allowed)}",
            )
    return text


_NORMALIZERS = {
    "number": _number,
    "datetime": _datetime,
    "date": _date,
    "bool": _bool,
    "enumeration": _enumeration,
}


@dataclass(frozen=True)
class PropertyGroup:
    """A named group that properties are filed under (e.g. "nps")."""

    name: str
    label: str
    display_order: int = -1
    archived: bool = False

    def to_json(self) -> dict[str, object]:
        """The group as `GET /crm/v3/properties/{object}/groups` returns it."""
        return {
            "name": self.name,
            "label": self.label,
            "displayOrder": self.display_order,
            "archived": self.archived,
        }


@dataclass
class PropertyCatalog:
    """Property and group definitions of one object type."""

    properties: dict[str, PropertyDef] = field(default_factory=dict)
    groups: dict[str, PropertyGroup] = field(default_factory=dict)

    def add(self, prop: PropertyDef) -> None:
        """Define (or redefine) a property."""
        self.properties[prop.name] = prop

    def add_group(self, group: PropertyGroup) -> None:
        """Define (or redefine) a group."""
        self.groups[group.name] = group

"""The CRM object types the emulator serves, with their ids, names and system properties."""

from dataclasses import dataclass

from worker.sandbox.hubspot.errors import HubSpotError


@dataclass(frozen=True)
class ObjectType:
    """One HubSpot object type (contacts, companies, ...) and its naming conventions."""

    name: str  # plural path name, e.g. "contacts"
    type_id: str  # e.g. "0-1": https://developers.hubspot.com/docs/api/crm/understanding-the-crm
    singular: str
    created_property: str
    modified_property: str
    default_properties: tuple[str, ...]  # returned when a read names no properties

    @property
    def upper(self) -> str:
        """The upper-case name HubSpot uses in error messages ("CONTACT")."""
        return self.singular.upper()

    @property
    def always_returned(self) -> tuple[str, ...]:
        """Properties returned with every read, whatever was requested."""
        return ("hs_object_id", self.created_property, self.modified_property)


# Default returned properties per object: https://developers.hubspot.com/docs/api/crm/search
# ("Searchable CRM objects and engagements" tables). Contacts carry `lastmodifieddate`, the
# other objects `hs_lastmodifieddate`; engagements use `hs_createdate`.
CONTACTS = ObjectType(
    "contacts",
    "0-1",
    "contact",
    "createdate",
    "lastmodifieddate",
    ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
)
COMPANIES = ObjectType(
    "companies",
    "0-2",
    "company",
    "createdate",
    "hs_lastmodifieddate",
    ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
)
DEALS = ObjectType(
    "deals",
    "0-3",
    "deal",
    "createdate",
    "hs_lastmodifieddate",
    (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
)
TICKETS = ObjectType(
    "tickets",
    "0-5",
    "ticket",
    "createdate",
    "hs_lastmodifieddate",
    (
        "content",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_priority",
        "subject",
    ),
)
TASKS = ObjectType(
    "tasks",
    "0-27",
    "task",
    "hs_createdate",
    "hs_lastmodifieddate",
    ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
)
NOTES = ObjectType(
    "notes",
    "0-46",
    "note",
    "hs_createdate",
    "hs_lastmodifieddate",
    ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
)

ALL_TYPES: tuple[ObjectType, ...] = (CONTACTS, COMPANIES, DEALS, TICKETS, TASKS, NOTES)

_BY_ALIAS: dict[str, ObjectType] = {}
for _object_type in ALL_TYPES:
    for _alias in (_object_type.name, _object_type.singular, _object_type.type_id):
        _BY_ALIAS[_alias] = _object_type


def object_type(alias: str) -> ObjectType:
    """The object type named by a path segment ("contacts", "contact" or "0-1")."""
    found = _BY_ALIAS.get(alias.lower())
    if found is None:
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"Unable to infer object type from: {alias}",
            context={"objectType": [alias]},
        )
    return found

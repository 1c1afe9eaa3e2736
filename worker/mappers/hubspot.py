"""Pure translation between HubSpot records/properties and the worker's domain values.

Property names come from the config (`crm.hubspot`, `writeback`, `segments`, `tags`), gathered
once into a `HubSpotMapping`; nothing below names a mapped property itself. HubSpot-defined
engagement properties (tasks, notes) and association type ids are API facts, cited where used.
Value formats: https://developers.hubspot.com/docs/api/crm/properties (every value is a string;
datetimes ISO 8601 or epoch ms; multi-select options joined by `;`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from worker.config import Config
from worker.crm_types import (
    CrmRecord,
    FieldInfo,
    FieldType,
    FieldUpdate,
    NoteSpec,
    TaskPriority,
    TaskSpec,
    TaskState,
    TaskStatus,
)
from worker.domain import (
    Account,
    AccountRollup,
    Contact,
    ContactWriteback,
    FollowupStage,
    TriggerRecord,
)

CRM = "hubspot"
CONTACTS = "contacts"
COMPANIES = "companies"
TASKS = "tasks"
NOTES = "notes"

# Default association type ids (HUBSPOT_DEFINED):
# https://developers.hubspot.com/docs/api/crm/associations#association-type-id-values
TASK_TO_CONTACT = 204
TASK_TO_COMPANY = 192
NOTE_TO_CONTACT = 202
NOTE_TO_COMPANY = 190

# Task properties: https://developers.hubspot.com/docs/api/crm/tasks
_TASK_PRIORITY = {TaskPriority.LOW: "LOW", TaskPriority.NORMAL: "MEDIUM", TaskPriority.HIGH: "HIGH"}
TASK_OWNER = "hubspot_owner_id"
TASK_READ_PROPERTIES = (
    "hs_task_status",
    TASK_OWNER,
    "hs_task_completion_date",
    "hs_lastmodifieddate",
    "hs_task_body",
)
# hs_task_status values a rep sets once work has begun (NOT_STARTED stays open; DEFERRED is put
# aside untouched): the follow-up reads them as "contacted".
_STARTED_TASK_STATUSES = frozenset({"IN_PROGRESS", "WAITING"})

FOLLOWUP_STATUSES = tuple(stage.value for stage in FollowupStage)
"""The follow-up status options: the stages the loop writes (`worker.loop.followups`)."""
CATEGORIES = ("promoter", "passive", "detractor")


@dataclass(frozen=True)
class PropertySpec:
    """A custom property the mapping writes, as `setup-crm` creates it and `check` expects it."""

    object: str
    name: str
    label: str
    type: str  # HubSpot `type`: string | number | datetime | enumeration | bool
    field_type: str  # HubSpot `fieldType`: text | textarea | number | date | select | checkbox
    options: tuple[tuple[str, str], ...] = ()  # (value, label)

    @property
    def kind(self) -> FieldType:
        """The normalised type `check` compares with what the portal describes."""
        return field_type_of(self.type, self.field_type)


@dataclass(frozen=True)
class TriggerMapping:
    """A trigger object's mapped properties and how its records lead to a contact and company.

    With no `contact_property`/`account_property` the link is read from associations.
    """

    properties: tuple[str, ...] = ()
    contact_property: str | None = None
    account_property: str | None = None


@dataclass(frozen=True)
class HubSpotMapping:
    """Every HubSpot property name the worker reads or writes, from the config."""

    company_name: str = "name"
    company_owner: str | None = "hubspot_owner_id"
    company_customer_since: str | None = "createdate"
    contact_email: str = "email"
    contact_first_name: str | None = "firstname"
    contact_last_name: str | None = "lastname"
    contact_company: str = "associatedcompanyid"
    contact_owner: str | None = "hubspot_owner_id"
    contact_opted_out: str | None = "hs_email_optout"
    contact_language: str | None = "hs_language"
    contact_time_zone: str | None = "hs_timezone"
    company_segments: tuple[str, ...] = ()
    contact_segments: tuple[str, ...] = ()
    triggers: Mapping[str, TriggerMapping] = field(default_factory=dict)
    contact_writeback: Mapping[str, str] = field(default_factory=dict)
    account_writeback: Mapping[str, str] = field(default_factory=dict)
    property_group: str = "nps"
    reason_tags: tuple[tuple[str, str], ...] = ()
    dedup_property: str = "nps_dedup_key"


def mapping_from_config(config: Config) -> HubSpotMapping:
    """The mapping the config describes (defaults filled in by the config loader)."""
    hubspot = config.crm.hubspot
    segments = config.segments.fields.values()
    return HubSpotMapping(
        company_name=hubspot.account.name,
        company_owner=hubspot.account.owner,
        company_customer_since=hubspot.account.customer_since,
        contact_email=hubspot.contact.email,
        contact_first_name=hubspot.contact.first_name,
        contact_last_name=hubspot.contact.last_name,
        contact_company=hubspot.contact.account,
        contact_owner=hubspot.contact.owner,
        contact_opted_out=hubspot.contact.opted_out,
        contact_language=hubspot.contact.language,
        contact_time_zone=hubspot.contact.time_zone,
        company_segments=tuple(s.split(".", 1)[1] for s in segments if s.startswith("account.")),
        contact_segments=tuple(s.split(".", 1)[1] for s in segments if s.startswith("contact.")),
        triggers={
            name: TriggerMapping(trigger.fields, trigger.contact_field, trigger.account_field)
            for name, trigger in hubspot.triggers.items()
        },
        contact_writeback={
            attr: prop for attr, prop in config.writeback.contact.model_dump().items() if prop
        },
        account_writeback={
            attr: prop for attr, prop in config.writeback.account.model_dump().items() if prop
        },
        property_group=config.writeback.property_group,
        reason_tags=tuple((tag.id, next(iter(tag.labels.values()))) for tag in config.tags),
    )


def pull_properties(mapping: HubSpotMapping, object_name: str) -> tuple[str, ...]:
    """The properties to request when pulling `object_name`: mapped ones only.

    Contacts and companies include the write-back properties, so the mirror knows the last
    value written and equal values are never written again (promise 6).
    """
    if object_name == CONTACTS:
        wanted: list[str | None] = [
            mapping.contact_email,
            mapping.contact_first_name,
            mapping.contact_last_name,
            mapping.contact_company,
            mapping.contact_owner,
            mapping.contact_opted_out,
            mapping.contact_language,
            mapping.contact_time_zone,
            *mapping.contact_segments,
            *mapping.contact_writeback.values(),
        ]
    elif object_name == COMPANIES:
        wanted = [
            mapping.company_name,
            mapping.company_owner,
            mapping.company_customer_since,
            *mapping.company_segments,
            *mapping.account_writeback.values(),
        ]
    else:
        trigger = mapping.triggers[object_name]
        wanted = [*trigger.properties, trigger.contact_property, trigger.account_property]
    return tuple(dict.fromkeys(name for name in wanted if name))


def associations_to_read(mapping: HubSpotMapping, object_name: str) -> tuple[str, ...]:
    """Object types whose associations a pull of `object_name` must read in batches."""
    trigger = mapping.triggers.get(object_name)
    if trigger is None:
        return ()
    wanted = []
    if trigger.contact_property is None:
        wanted.append(CONTACTS)
    if trigger.account_property is None:
        wanted.append(COMPANIES)
    return tuple(wanted)


def to_account(record: CrmRecord, mapping: HubSpotMapping) -> Account:
    """A pulled company as a domain account."""
    values = record.fields
    return Account(
        crm=CRM,
        crm_id=record.id,
        name=_text(values.get(mapping.company_name)) or "",
        owner_id=_optional(values, mapping.company_owner),
        modified_at=record.modified_at,
        segments={name: values.get(name) for name in mapping.company_segments},
        crm_values={name: values.get(name) for name in mapping.account_writeback.values()},
        deleted=record.deleted,
        customer_since=(
            parse_instant(values.get(mapping.company_customer_since))
            if mapping.company_customer_since
            else None
        ),
    )


def to_contact(record: CrmRecord, mapping: HubSpotMapping) -> Contact:
    """A pulled contact as a domain contact (opt-out from the mapped opt-out property)."""
    values = record.fields
    company = _optional(values, mapping.contact_company)
    if company is None:
        company = _first(record.associations.get(COMPANIES, ()))
    return Contact(
        crm=CRM,
        crm_id=record.id,
        email=_optional(values, mapping.contact_email),
        first_name=_optional(values, mapping.contact_first_name),
        last_name=_optional(values, mapping.contact_last_name),
        account_crm_id=company,
        owner_id=_optional(values, mapping.contact_owner),
        language=_optional(values, mapping.contact_language),
        time_zone=iana_zone(_optional(values, mapping.contact_time_zone)),
        opted_out=parse_bool(values.get(mapping.contact_opted_out or "")),
        modified_at=record.modified_at,
        segments={name: values.get(name) for name in mapping.contact_segments},
        crm_values={name: values.get(name) for name in mapping.contact_writeback.values()},
        deleted=record.deleted,
    )


def to_trigger(record: CrmRecord, mapping: HubSpotMapping) -> TriggerRecord:
    """A pulled ticket, deal or custom object record as a trigger record."""
    trigger = mapping.triggers[record.object]
    values = record.fields
    contact = _optional(values, trigger.contact_property)
    account = _optional(values, trigger.account_property)
    return TriggerRecord(
        crm=CRM,
        object=record.object,
        crm_id=record.id,
        modified_at=record.modified_at,
        values={name: values.get(name) for name in trigger.properties},
        contact_crm_id=contact or _first(record.associations.get(CONTACTS, ())),
        account_crm_id=account or _first(record.associations.get(COMPANIES, ())),
        deleted=record.deleted,
    )


@lru_cache(maxsize=1024)
def iana_zone(value: str | None) -> str | None:
    """HubSpot's `hs_timezone` option value as an IANA zone ("asia_slash_tokyo" -> Asia/Tokyo).

    Cached: a portal's contacts share a few dozen zones, and every pulled contact asks.
    """
    if not value or "_slash_" not in value:
        return value
    parts = value.split("_slash_")
    return "/".join("_".join(word.capitalize() for word in part.split("_")) for part in parts)


def parse_bool(value: Any) -> bool:
    """HubSpot booleans arrive as "true"/"false" strings (or empty when never set)."""
    return str(value).strip().lower() == "true" if value is not None else False


def parse_instant(value: Any) -> datetime | None:
    """A HubSpot datetime value (ISO 8601 or epoch milliseconds) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text)  # reads a trailing "Z" since Python 3.11
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_instant(moment: datetime) -> str:
    """An aware datetime as HubSpot's ISO 8601 UTC form with milliseconds."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# What each write-back attribute is, to format it and to compare it with the last known value.
_CONTACT_KINDS: dict[str, FieldType] = {
    "last_score": FieldType.NUMBER,
    "last_category": FieldType.ENUM,
    "last_comment": FieldType.TEXT,
    "reason_tags": FieldType.MULTI_ENUM,
    "praise_tags": FieldType.MULTI_ENUM,
    "complaint_tags": FieldType.MULTI_ENUM,
    "last_response_at": FieldType.DATETIME,
    "followup_status": FieldType.ENUM,
    "survey_url": FieldType.STRING,
    "survey_count": FieldType.NUMBER,
}
_ACCOUNT_KINDS: dict[str, FieldType] = {
    "nps_score": FieldType.NUMBER,
    "response_count": FieldType.NUMBER,
    "promoters": FieldType.NUMBER,
    "passives": FieldType.NUMBER,
    "detractors": FieldType.NUMBER,
    "last_response_at": FieldType.DATETIME,
    "nps_trend": FieldType.NUMBER,
}


def format_value(value: Any) -> str:
    """A domain value as the string HubSpot stores."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, float):
        return f"{round(value, 1):g}"
    if isinstance(value, tuple | list):
        return ";".join(str(item) for item in value)
    return str(value)


def same_value(kind: FieldType, written: str, known: Any) -> bool:
    """Whether `written` equals the last known value of a property of `kind`."""
    if known is None:
        return written == ""
    known_text = str(known)
    try:
        if kind == FieldType.NUMBER:
            return float(written) == float(known_text)
        if kind == FieldType.DATETIME:
            return parse_instant(written) == parse_instant(known_text)
    except ValueError:
        return False
    if kind == FieldType.MULTI_ENUM:
        return set(filter(None, written.split(";"))) == set(filter(None, known_text.split(";")))
    return written == known_text


def _changed(
    values: Mapping[str, Any],
    names: Mapping[str, str],
    kinds: Mapping[str, FieldType],
    last_known: Mapping[str, Any],
) -> dict[str, str]:
    changed: dict[str, str] = {}
    for attr, value in values.items():
        prop = names.get(attr)
        if prop is None or value is None:
            continue
        written = format_value(value)
        if not same_value(kinds[attr], written, last_known.get(prop)):
            changed[prop] = written
    return changed


def contact_update(
    contact_id: str,
    writeback: ContactWriteback,
    last_known: Mapping[str, Any],
    mapping: HubSpotMapping,
    dedup_key: str,
) -> FieldUpdate | None:
    """The property update for a contact write-back, or None when nothing would change."""
    values = {attr: getattr(writeback, attr) for attr in _CONTACT_KINDS}
    changed = _changed(values, mapping.contact_writeback, _CONTACT_KINDS, last_known)
    if not changed:
        return None
    return FieldUpdate(CONTACTS, contact_id, changed, dedup_key)


def account_update(
    company_id: str,
    rollup: AccountRollup,
    last_known: Mapping[str, Any],
    mapping: HubSpotMapping,
    dedup_key: str,
) -> FieldUpdate | None:
    """The property update for a company roll-up, or None when nothing would change.

    A score, trend or last answer time the window no longer has is cleared (an empty string
    clears a property, CRM API "Update a record") when the company still shows one.
    """
    values = {attr: getattr(rollup, attr) for attr in _ACCOUNT_KINDS}
    changed = _changed(values, mapping.account_writeback, _ACCOUNT_KINDS, last_known)
    for attr, value in values.items():
        prop = mapping.account_writeback.get(attr)
        if prop is not None and value is None and last_known.get(prop) not in (None, ""):
            changed[prop] = ""
    if not changed:
        return None
    return FieldUpdate(COMPANIES, company_id, changed, dedup_key)


def _associations(
    contact_id: str | None, company_id: str | None, to_contact: int, to_company: int
) -> list[dict[str, Any]]:
    links = [(contact_id, to_contact), (company_id, to_company)]
    return [
        {
            "to": {"id": target},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
        }
        for target, type_id in links
        if target
    ]


def task_input(task: TaskSpec, dedup_property: str) -> dict[str, Any]:
    """A `batch/create` input for one follow-up task, associated with contact and company."""
    properties = {
        "hs_timestamp": format_instant(task.due_at),
        "hs_task_subject": task.subject,
        "hs_task_body": task.body,
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": _TASK_PRIORITY[task.priority],
        "hs_task_type": "TODO",
        dedup_property: task.dedup_key,
    }
    if task.owner_id:
        properties[TASK_OWNER] = task.owner_id
    return {
        "properties": properties,
        "associations": _associations(
            task.contact_id, task.account_id, TASK_TO_CONTACT, TASK_TO_COMPANY
        ),
    }


def task_owner_update(task_id: str, owner_id: str, dedup_key: str) -> FieldUpdate:
    """Reassign a follow-up task to another owner (escalation, owner left), via the outbox."""
    return FieldUpdate(TASKS, task_id, {TASK_OWNER: owner_id}, dedup_key)


def note_input(note: NoteSpec, dedup_property: str) -> dict[str, Any]:
    """A `batch/create` input for one response note, associated with contact and company."""
    return {
        "properties": {
            "hs_timestamp": format_instant(note.at),
            "hs_note_body": f"{note.subject}\n{note.body}" if note.subject else note.body,
            dedup_property: note.dedup_key,
        },
        "associations": _associations(
            note.contact_id, note.account_id, NOTE_TO_CONTACT, NOTE_TO_COMPANY
        ),
    }


def task_state(status: str | None) -> TaskState:
    """`hs_task_status` as the worker's task state."""
    if status == "COMPLETED":
        return TaskState.COMPLETED
    if status in _STARTED_TASK_STATUSES:
        return TaskState.IN_PROGRESS
    return TaskState.OPEN


def task_status(task_id: str, properties: Mapping[str, Any]) -> TaskStatus:
    """A task read back from HubSpot as the worker's task status."""
    return TaskStatus(
        task_id=task_id,
        state=task_state(properties.get("hs_task_status")),
        owner_id=properties.get(TASK_OWNER) or None,
        completed_at=parse_instant(properties.get("hs_task_completion_date")),
        modified_at=parse_instant(properties.get("hs_lastmodifieddate")),
        body=properties.get("hs_task_body"),
    )


def field_type_of(type_: str, field_type: str) -> FieldType:
    """HubSpot's (`type`, `fieldType`) pair as a normalised field type."""
    if type_ == "enumeration":
        if field_type == "checkbox":
            return FieldType.MULTI_ENUM
        if field_type == "booleancheckbox":
            return FieldType.BOOLEAN
        return FieldType.ENUM
    if type_ == "string":
        return FieldType.TEXT if field_type in ("textarea", "html") else FieldType.STRING
    simple = {
        "number": FieldType.NUMBER,
        "bool": FieldType.BOOLEAN,
        "date": FieldType.DATE,
        "datetime": FieldType.DATETIME,
    }
    return simple.get(type_, FieldType.OTHER)


def field_info(definition: Mapping[str, Any]) -> FieldInfo:
    """One property definition from the properties API as field metadata."""
    metadata = definition.get("modificationMetadata") or {}
    return FieldInfo(
        name=str(definition["name"]),
        type=field_type_of(str(definition.get("type")), str(definition.get("fieldType"))),
        updateable=not metadata.get("readOnlyValue", False) and not definition.get("calculated"),
        options=tuple(str(option["value"]) for option in definition.get("options") or ()),
    )


_CONTACT_SPECS: dict[str, tuple[str, str, str]] = {
    "last_score": ("Last NPS score", "number", "number"),
    "last_category": ("Last NPS category", "enumeration", "select"),
    "last_comment": ("Last NPS comment", "string", "textarea"),
    "reason_tags": ("NPS reason tags", "enumeration", "checkbox"),
    "praise_tags": ("NPS reasons praised", "enumeration", "checkbox"),
    "complaint_tags": ("NPS reasons complained of", "enumeration", "checkbox"),
    "last_response_at": ("Last NPS response at", "datetime", "date"),
    "followup_status": ("NPS follow-up status", "enumeration", "select"),
    "survey_url": ("NPS survey URL", "string", "text"),
    "survey_count": ("NPS surveys answered", "number", "number"),
}
_ACCOUNT_SPECS: dict[str, tuple[str, str, str]] = {
    "nps_score": ("Account NPS", "number", "number"),
    "response_count": ("NPS responses", "number", "number"),
    "promoters": ("NPS promoters", "number", "number"),
    "passives": ("NPS passives", "number", "number"),
    "detractors": ("NPS detractors", "number", "number"),
    "last_response_at": ("Last NPS response at", "datetime", "date"),
    "nps_trend": ("Account NPS trend", "number", "number"),
}


def required_properties(mapping: HubSpotMapping) -> list[PropertySpec]:
    """Every custom property the mapping writes, with the type and options it needs."""
    options = {
        "last_category": tuple((value, value.capitalize()) for value in CATEGORIES),
        "reason_tags": mapping.reason_tags,
        "praise_tags": mapping.reason_tags,
        "complaint_tags": mapping.reason_tags,
        "followup_status": tuple((value, value.capitalize()) for value in FOLLOWUP_STATUSES),
    }
    specs = [
        PropertySpec(CONTACTS, prop, *_CONTACT_SPECS[attr], options.get(attr, ()))
        for attr, prop in mapping.contact_writeback.items()
    ]
    specs += [
        PropertySpec(COMPANIES, prop, *_ACCOUNT_SPECS[attr])
        for attr, prop in mapping.account_writeback.items()
    ]
    specs += [
        PropertySpec(kind, mapping.dedup_property, "NPS worker key", "string", "text")
        for kind in (TASKS, NOTES)
    ]
    return specs


def read_properties(mapping: HubSpotMapping) -> dict[str, tuple[str, ...]]:
    """Properties the worker reads, by object, which must exist (but need not be writable)."""
    written = {spec.name for spec in required_properties(mapping)}
    objects = [CONTACTS, COMPANIES, *mapping.triggers]
    return {
        name: tuple(prop for prop in pull_properties(mapping, name) if prop not in written)
        for name in objects
    }


def field_problems(
    mapping: HubSpotMapping, described: Mapping[str, Mapping[str, FieldInfo]]
) -> list[str]:
    """What `check` reports: mapped properties missing, read-only or of the wrong type."""
    problems: list[str] = []
    for object_name, names in read_properties(mapping).items():
        fields = described.get(object_name, {})
        problems += [
            f"{object_name}.{name}: property does not exist" for name in names if name not in fields
        ]
    for spec in required_properties(mapping):
        found = described.get(spec.object, {}).get(spec.name)
        label = f"{spec.object}.{spec.name}"
        if found is None:
            problems.append(f"{label}: property does not exist (nps-worker setup-crm creates it)")
            continue
        missing = [value for value, _ in spec.options if value not in found.options]
        if found.type != spec.kind:
            problems.append(f"{label}: is {found.type.value}, the mapping needs {spec.kind.value}")
        elif missing:
            problems.append(f"{label}: options missing: {', '.join(missing)}")
        if not found.updateable:
            problems.append(f"{label}: property is read-only")
    return problems


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text or None


def _optional(values: Mapping[str, Any], name: str | None) -> str | None:
    return _text(values.get(name)) if name else None


def _first(ids: Sequence[str]) -> str | None:
    return ids[0] if ids else None

"""Salesforce records to domain values and domain write-backs to Salesforce field updates.

Pure: dicts and dataclasses in, dataclasses out. Field API names come from `SalesforceMapping`
(built from the config); the defaults are the fields the `salesforce/` metadata source creates.
A write-back value equal to the last value known in the mirror is not written (promise 6).
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from worker.config import Config
from worker.crm_types import CrmRecord, FieldInfo, FieldType, FieldUpdate, TaskState
from worker.domain import (
    Account,
    AccountRollup,
    Category,
    Contact,
    ContactWriteback,
    FollowupStage,
    TriggerRecord,
)

CRM = "salesforce"
ACCOUNT = "Account"
CONTACT = "Contact"
FOLLOWUP_LABELS = {
    FollowupStage.NONE.value: "Not Needed",
    FollowupStage.NEW.value: "New",
    FollowupStage.ASSIGNED.value: "Assigned",
    FollowupStage.CONTACTED.value: "Contacted",
    FollowupStage.CLOSED.value: "Closed",
    FollowupStage.OVERDUE.value: "Overdue",
}
"""Picklist values of NPS_Followup_Status__c for each follow-up stage (salesforce/ metadata)."""
TASK = "Task"
TASK_OWNER = "OwnerId"
# Open Task statuses that mean no work has begun: the default picklist's first value, the "Open"
# many orgs rename it to, and "Deferred" (put aside untouched, as HubSpot's DEFERRED). Any other
# open status ("In Progress", "Waiting on someone else", an org's own) is a rep at work.
NOT_STARTED_TASK_STATUSES = frozenset({"Not Started", "Open", "Deferred"})


@dataclass(frozen=True)
class AccountFields:
    """Account fields read into the mirror; `segments` maps a segment name to its field."""

    object: str = ACCOUNT
    name: str = "Name"
    owner: str | None = "OwnerId"
    customer_since: str | None = "CreatedDate"
    segments: Mapping[str, str] = field(
        default_factory=lambda: {
            "plan": "Plan__c",
            "industry": "Industry",
            "country": "BillingCountry",
            "arr": "ARR__c",
        }
    )

    def read(self) -> tuple[str, ...]:
        """Every field a pull of accounts selects."""
        return _unique(
            (self.name, *_given(self.owner, self.customer_since), *self.segments.values())
        )


@dataclass(frozen=True)
class ContactFields:
    """Contact fields read into the mirror; None for a field the org does not have."""

    object: str = CONTACT
    email: str = "Email"
    first_name: str | None = "FirstName"
    last_name: str | None = "LastName"
    account: str = "AccountId"
    owner: str | None = "OwnerId"
    opted_out: str | None = "HasOptedOutOfEmail"
    language: str | None = "Language__c"
    time_zone: str | None = "Time_Zone__c"
    segments: Mapping[str, str] = field(default_factory=lambda: {"title": "Title"})

    def read(self) -> tuple[str, ...]:
        """Every field a pull of contacts selects."""
        optional = (self.first_name, self.last_name, self.owner, self.opted_out)
        localisation = (self.language, self.time_zone)
        return _unique(
            (
                self.email,
                self.account,
                *_given(*optional, *localisation),
                *self.segments.values(),
            )
        )


@dataclass(frozen=True)
class TriggerFields:
    """An object a program triggers on (Case, Opportunity, a custom object) and its fields."""

    object: str
    fields: tuple[str, ...]
    contact: str | None = "ContactId"
    account: str | None = "AccountId"

    def read(self) -> tuple[str, ...]:
        """Every field a pull of this object selects."""
        return _unique((*self.fields, *_given(self.contact, self.account)))


@dataclass(frozen=True)
class ContactWritebackFields:
    """Where each `ContactWriteback` value goes on the Contact; None: not written."""

    last_score: str | None = "NPS_Last_Score__c"
    last_category: str | None = "NPS_Last_Category__c"
    last_comment: str | None = "NPS_Last_Comment__c"
    reason_tags: str | None = "NPS_Reason_Tags__c"
    praise_tags: str | None = "NPS_Praise_Tags__c"
    complaint_tags: str | None = "NPS_Complaint_Tags__c"
    last_response_at: str | None = "NPS_Last_Response_At__c"
    followup_status: str | None = "NPS_Followup_Status__c"
    survey_url: str | None = "NPS_Survey_URL__c"
    survey_count: str | None = "NPS_Survey_Count__c"


@dataclass(frozen=True)
class AccountRollupFields:
    """Where each `AccountRollup` value goes on the Account; None: not written."""

    nps_score: str | None = "NPS_Score__c"
    response_count: str | None = "NPS_Response_Count__c"
    promoters: str | None = "NPS_Promoters__c"
    passives: str | None = "NPS_Passives__c"
    detractors: str | None = "NPS_Detractors__c"
    last_response_at: str | None = "NPS_Last_Response_At__c"
    nps_trend: str | None = "NPS_Trend__c"


def _default_triggers() -> tuple[TriggerFields, ...]:
    return (
        TriggerFields("Case", ("Status", "Subject", "Priority", "ClosedDate", "OwnerId")),
        TriggerFields(
            "Opportunity",
            ("StageName", "Type", "CloseDate", "Amount", "Renewal_Date__c", "OwnerId"),
            contact=None,
        ),
    )


@dataclass(frozen=True)
class SalesforceMapping:
    """The whole Salesforce field mapping: what is read, what is written, and how it is spelt."""

    account: AccountFields = field(default_factory=AccountFields)
    contact: ContactFields = field(default_factory=ContactFields)
    triggers: tuple[TriggerFields, ...] = field(default_factory=_default_triggers)
    contact_writeback: ContactWritebackFields = field(default_factory=ContactWritebackFields)
    account_rollup: AccountRollupFields = field(default_factory=AccountRollupFields)
    category_labels: Mapping[Category, str] = field(
        default_factory=lambda: {c: c.value.capitalize() for c in Category}
    )
    tags_separator: str = ";"

    def read_fields(self) -> dict[str, tuple[str, ...]]:
        """Fields to select, by object: accounts, contacts and every trigger object."""
        objects = {
            self.account.object: self.account.read(),
            self.contact.object: self.contact.read(),
        }
        for trigger in self.triggers:
            objects[trigger.object] = _unique((*objects.get(trigger.object, ()), *trigger.read()))
        return objects


def mapping_from_config(
    config: Config, program_fields: Mapping[str, Iterable[str]] | None = None
) -> SalesforceMapping:
    """The mapping the config describes: `crm.salesforce`, `segments` and `writeback`.

    `program_fields` names, by object, the fields programs and audiences test; they are read
    too. On the account or contact object they form a trigger mapping of that object itself.
    """
    crm = config.crm.salesforce
    account_object, contact_object = crm.account.object, crm.contact.object
    segments: dict[str, dict[str, str]] = {"account": {}, "contact": {}}
    for name, source in config.segments.fields.items():
        record, field_name = source.split(".", 1)
        segments[record][name] = field_name
    triggers = {
        name: TriggerFields(name, tuple(t.fields), contact=t.contact_field, account=t.account_field)
        for name, t in crm.triggers.items()
    }
    own_links = {
        account_object: (None, "Id"),
        contact_object: ("Id", crm.contact.account),
    }
    for sobject, names in (program_fields or {}).items():
        known = triggers.get(sobject)
        contact, account = own_links.get(sobject, (None, None))
        if known is not None:
            triggers[sobject] = TriggerFields(
                sobject, _unique((*known.fields, *names)), known.contact, known.account
            )
        else:
            triggers[sobject] = TriggerFields(sobject, _unique(names), contact, account)
    writeback, rollup = config.writeback.contact, config.writeback.account
    return SalesforceMapping(
        account=AccountFields(
            object=account_object,
            name=crm.account.name,
            owner=crm.account.owner,
            customer_since=crm.account.customer_since,
            segments=segments["account"],
        ),
        contact=ContactFields(
            object=contact_object,
            email=crm.contact.email,
            first_name=crm.contact.first_name,
            last_name=crm.contact.last_name,
            account=crm.contact.account,
            owner=crm.contact.owner,
            opted_out=crm.contact.opted_out,
            language=crm.contact.language,
            time_zone=crm.contact.time_zone,
            segments=segments["contact"],
        ),
        triggers=tuple(triggers.values()),
        contact_writeback=ContactWritebackFields(
            last_score=writeback.last_score,
            last_category=writeback.last_category,
            last_comment=writeback.last_comment,
            reason_tags=writeback.reason_tags,
            praise_tags=writeback.praise_tags,
            complaint_tags=writeback.complaint_tags,
            last_response_at=writeback.last_response_at,
            followup_status=writeback.followup_status,
            survey_url=writeback.survey_url,
            survey_count=writeback.survey_count,
        ),
        account_rollup=AccountRollupFields(
            nps_score=rollup.nps_score,
            response_count=rollup.response_count,
            promoters=rollup.promoters,
            passives=rollup.passives,
            detractors=rollup.detractors,
            last_response_at=rollup.last_response_at,
            nps_trend=rollup.nps_trend,
        ),
    )


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _given(*names: str | None) -> tuple[str, ...]:
    return tuple(name for name in names if name)


def _value(raw: Mapping[str, Any], path: str) -> Any:
    """A field value; a dotted path walks relationship objects (`Owner.Email`)."""
    if "." not in path:  # most fields: one look-up, no split (this runs per field and record)
        return raw.get(path)
    value: Any = raw
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _text(raw: Mapping[str, Any], path: str | None) -> str | None:
    value = _value(raw, path) if path else None
    return None if value in (None, "") else str(value)


def to_account(record: CrmRecord, mapping: AccountFields) -> Account:
    """A pulled Account as the domain `Account`."""
    raw = record.fields
    return Account(
        crm=CRM,
        crm_id=record.id,
        name=_text(raw, mapping.name) or "",
        owner_id=_text(raw, mapping.owner),
        modified_at=record.modified_at,
        segments={name: _value(raw, path) for name, path in mapping.segments.items()},
        deleted=record.deleted,
        customer_since=(
            _as_datetime(_value(raw, mapping.customer_since)) if mapping.customer_since else None
        ),
    )


def to_contact(record: CrmRecord, mapping: ContactFields) -> Contact:
    """A pulled Contact as the domain `Contact` (opt-out from `HasOptedOutOfEmail` by default)."""
    raw = record.fields
    return Contact(
        crm=CRM,
        crm_id=record.id,
        email=_text(raw, mapping.email),
        first_name=_text(raw, mapping.first_name),
        last_name=_text(raw, mapping.last_name),
        account_crm_id=_text(raw, mapping.account),
        owner_id=_text(raw, mapping.owner),
        language=_text(raw, mapping.language),
        time_zone=_text(raw, mapping.time_zone),
        opted_out=bool(_value(raw, mapping.opted_out)) if mapping.opted_out else False,
        modified_at=record.modified_at,
        segments={name: _value(raw, path) for name, path in mapping.segments.items()},
        deleted=record.deleted,
    )


def to_trigger(record: CrmRecord, mapping: TriggerFields) -> TriggerRecord:
    """A pulled record of a trigger object as the domain `TriggerRecord`."""
    raw = record.fields
    return TriggerRecord(
        crm=CRM,
        object=record.object,
        crm_id=record.id,
        modified_at=record.modified_at,
        values={name: _value(raw, name) for name in mapping.fields},
        contact_crm_id=_text(raw, mapping.contact),
        account_crm_id=_text(raw, mapping.account),
        deleted=record.deleted,
    )


def contact_update(
    contact_id: str,
    writeback: ContactWriteback,
    known: Mapping[str, Any],
    mapping: SalesforceMapping,
    dedup_key: str,
) -> FieldUpdate | None:
    """The Contact fields to write for `writeback`, minus values `known` already holds."""
    target = mapping.contact_writeback
    category = writeback.last_category
    separator = mapping.tags_separator
    values: dict[str | None, Any] = {
        target.last_score: writeback.last_score,
        target.last_category: mapping.category_labels[category] if category else None,
        target.last_comment: writeback.last_comment,
        target.reason_tags: _joined(writeback.reason_tags, separator),
        target.praise_tags: _joined(writeback.praise_tags, separator),
        target.complaint_tags: _joined(writeback.complaint_tags, separator),
        target.last_response_at: writeback.last_response_at,
        target.followup_status: FOLLOWUP_LABELS.get(writeback.followup_status or "")
        if writeback.followup_status
        else None,
        target.survey_url: writeback.survey_url,
        target.survey_count: writeback.survey_count,
    }
    return _update(
        mapping.contact.object,
        contact_id,
        values,
        known,
        dedup_key=dedup_key,
        tag_lists={
            name: separator
            for name in (target.reason_tags, target.praise_tags, target.complaint_tags)
            if name
        },
    )


def _joined(tags: tuple[str, ...] | None, separator: str) -> str | None:
    """A tag list as one separated text; None (not written) when unknown."""
    return separator.join(tags) if tags is not None else None


def account_update(
    account_id: str,
    rollup: AccountRollup,
    known: Mapping[str, Any],
    mapping: SalesforceMapping,
    dedup_key: str,
) -> FieldUpdate | None:
    """The Account roll-up fields to write, minus values `known` already holds.

    Counts are always written (zero is a value). A score, trend or last answer time the window
    no longer has is cleared (null, REST API Developer Guide "Update a Record": null empties a
    field) when the account still shows one, so an account left without answers shows none.
    """
    target = mapping.account_rollup
    values: dict[str | None, Any] = {
        target.nps_score: rollup.nps_score,
        target.response_count: rollup.response_count,
        target.promoters: rollup.promoters,
        target.passives: rollup.passives,
        target.detractors: rollup.detractors,
        target.last_response_at: rollup.last_response_at,
        target.nps_trend: rollup.nps_trend,
    }
    cleared = {
        name: None
        for name, value in values.items()
        if name is not None and value is None and known.get(name) is not None
    }
    update = _update(mapping.account.object, account_id, values, known, dedup_key=dedup_key)
    if not cleared:
        return update
    fields = {**(update.fields if update else {}), **cleared}
    return FieldUpdate(
        object=mapping.account.object, record_id=account_id, fields=fields, dedup_key=dedup_key
    )


def task_owner_update(task_id: str, owner_id: str, dedup_key: str) -> FieldUpdate:
    """Reassign a follow-up Task to another user (escalation, owner left), via the outbox."""
    return FieldUpdate(
        object=TASK, record_id=task_id, fields={TASK_OWNER: owner_id}, dedup_key=dedup_key
    )


def task_state(status: str | None, closed: bool) -> TaskState:
    """A Task's `Status` and `IsClosed` as the worker's task state.

    `IsClosed` decides completion, whatever the org calls its closed statuses; an open Task whose
    status is not a not-started one has been picked up by a rep, which the follow-up reads as
    "contacted".
    """
    if closed:
        return TaskState.COMPLETED
    if status is None or status in NOT_STARTED_TASK_STATUSES:
        return TaskState.OPEN
    return TaskState.IN_PROGRESS


def _update(
    sobject: str,
    record_id: str,
    values: Mapping[str | None, Any],
    known: Mapping[str, Any],
    *,
    dedup_key: str,
    tag_lists: Mapping[str, str] | None = None,
) -> FieldUpdate | None:
    """`tag_lists` names the fields holding separated lists, with their separator."""
    lists = tag_lists or {}
    changed = {
        name: value
        for name, value in values.items()
        if name is not None
        and value is not None
        and not same_value(value, known.get(name), separator=lists.get(name))
    }
    if not changed:
        return None
    fields = {name: _wire(value) for name, value in changed.items()}
    return FieldUpdate(object=sobject, record_id=record_id, fields=fields, dedup_key=dedup_key)


def _wire(value: Any) -> Any:
    """A value as Salesforce's JSON takes it, so a queued write can be stored as JSON."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return value


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = value.replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 as the API writes it
            text = f"{text[:-2]}:{text[-2:]}"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


def same_value(new: Any, known: Any, *, separator: str | None = None) -> bool:
    """Whether writing `new` over `known` would change nothing Salesforce stores.

    Numbers compare by value (7 == 7.0), datetimes to the second (Salesforce's precision),
    and, given a `separator`, separated lists as sets; an empty list is what an empty field
    reads back as (Salesforce stores an empty text as null).
    """
    if known is None:
        return separator is not None and new == ""
    if isinstance(new, bool) or isinstance(known, bool):
        return new is known
    if isinstance(new, int | float):
        return isinstance(known, int | float) and math.isclose(new, known, abs_tol=1e-9)
    if isinstance(new, datetime):
        old = _as_datetime(known)
        return old is not None and _seconds(new) == _seconds(old)
    if separator and isinstance(new, str) and isinstance(known, str):
        return _tags(new, separator) == _tags(known, separator)
    return bool(new == known)


def _seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _tags(text: str, separator: str) -> frozenset[str]:
    return frozenset(t.strip() for t in text.split(separator) if t.strip())


@dataclass(frozen=True)
class FieldExpectation:
    """What the mapping needs of one CRM field: acceptable types, and whether it is written
    (on existing records: updateable; on records the worker creates: createable)."""

    types: frozenset[FieldType] | None = None
    updateable: bool = False
    createable: bool = False


_TEXTUAL = frozenset({FieldType.STRING, FieldType.TEXT})
_WRITEBACK_TYPES: Mapping[str, frozenset[FieldType]] = {
    "last_score": frozenset({FieldType.NUMBER}),
    "last_category": frozenset({FieldType.ENUM, *_TEXTUAL}),
    "last_comment": _TEXTUAL,
    "reason_tags": frozenset({FieldType.MULTI_ENUM, *_TEXTUAL}),
    "praise_tags": frozenset({FieldType.MULTI_ENUM, *_TEXTUAL}),
    "complaint_tags": frozenset({FieldType.MULTI_ENUM, *_TEXTUAL}),
    "last_response_at": frozenset({FieldType.DATETIME}),
    "followup_status": frozenset({FieldType.ENUM, *_TEXTUAL}),
    "survey_url": frozenset({FieldType.URL, *_TEXTUAL}),
    "survey_count": frozenset({FieldType.NUMBER}),
}
_ROLLUP_TYPES: Mapping[str, frozenset[FieldType]] = {
    "nps_score": frozenset({FieldType.NUMBER}),
    "response_count": frozenset({FieldType.NUMBER}),
    "promoters": frozenset({FieldType.NUMBER}),
    "passives": frozenset({FieldType.NUMBER}),
    "detractors": frozenset({FieldType.NUMBER}),
    "last_response_at": frozenset({FieldType.DATETIME}),
    "nps_trend": frozenset({FieldType.NUMBER}),
}
_REFERENCE = frozenset({FieldType.REFERENCE, FieldType.ID})


def expected_fields(
    mapping: SalesforceMapping, task_dedup_field: str
) -> dict[str, dict[str, FieldExpectation]]:
    """Every mapped field by object, with the type and access the worker relies on."""
    expected: dict[str, dict[str, FieldExpectation]] = {}
    for sobject, names in mapping.read_fields().items():
        expected[sobject] = {name.split(".")[0]: FieldExpectation() for name in names}
    contact = expected[mapping.contact.object]
    if mapping.contact.opted_out:
        contact[mapping.contact.opted_out] = FieldExpectation(frozenset({FieldType.BOOLEAN}))
    contact[mapping.contact.email] = FieldExpectation(frozenset({FieldType.EMAIL, *_TEXTUAL}))
    contact[mapping.contact.account] = FieldExpectation(_REFERENCE)
    for attribute, types in _WRITEBACK_TYPES.items():
        name = getattr(mapping.contact_writeback, attribute)
        if name:
            contact[name] = FieldExpectation(types, updateable=True)
    for attribute, types in _ROLLUP_TYPES.items():
        name = getattr(mapping.account_rollup, attribute)
        if name:
            expected[mapping.account.object][name] = FieldExpectation(types, updateable=True)
    created = FieldExpectation(createable=True)
    expected[TASK] = dict.fromkeys(TASK_CREATED_FIELDS, created)
    expected[TASK][TASK_OWNER] = FieldExpectation(_REFERENCE, updateable=True, createable=True)
    expected[TASK][task_dedup_field] = FieldExpectation(_TEXTUAL, createable=True)
    return expected


TASK_CREATED_FIELDS = (
    "Subject",
    "Description",
    "ActivityDate",
    "ReminderDateTime",
    "IsReminderSet",
    "Priority",
    "Status",
    "WhoId",
    "WhatId",
)
"""Task fields the worker sets when it opens a follow-up task or logs an answer."""
READ, CREATE, EDIT = "Read", "Create", "Edit"
USER = "User"


def required_rights(mapping: SalesforceMapping) -> dict[str, dict[str, str]]:
    """The object permissions the worker needs, by object: right -> what it is needed for."""
    rights: dict[str, dict[str, str]] = {
        name: {READ: f"to pull {name} records"} for name in mapping.read_fields()
    }
    if any(vars(mapping.contact_writeback).values()):
        rights[mapping.contact.object][EDIT] = "to write answers back onto contacts"
    if any(vars(mapping.account_rollup).values()):
        rights[mapping.account.object][EDIT] = "to write NPS roll-ups onto accounts"
    rights[USER] = {
        READ: "to find the managers escalations go to, and each task owner's name, language"
        " and time zone"
    }
    rights[TASK] = {
        READ: "to read follow-up tasks back",
        CREATE: "to open follow-up tasks and log answers; granted by the Edit Tasks permission",
        EDIT: "to reassign escalated tasks; granted by the Edit Tasks permission",
    }
    return rights


def field_problems(
    expected: Mapping[str, Mapping[str, FieldExpectation]],
    described: Mapping[str, Mapping[str, FieldInfo] | None],
) -> list[str]:
    """One readable line per mapped field that is missing, read-only, or of the wrong type.

    `described` holds each object's describe result, or None when the object does not exist.
    """
    problems: list[str] = []
    for sobject, wanted in expected.items():
        infos = described.get(sobject)
        if infos is None:
            problems.append(f"{sobject}: object not found (or not visible to the integration user)")
            continue
        by_lower = {name.lower(): info for name, info in infos.items()}
        for name, expectation in wanted.items():
            info = by_lower.get(name.lower())
            where = f"{sobject}.{name}"
            if info is None:
                problems.append(f"{where}: missing, or not readable by the integration user")
                continue
            if expectation.types is not None and info.type not in expectation.types:
                allowed = " or ".join(sorted(t.value for t in expectation.types))
                problems.append(f"{where}: is {info.type.value}, expected {allowed}")
            if expectation.updateable and not info.updateable:
                problems.append(f"{where}: not updateable by the integration user")
            if expectation.createable and not info.createable:
                problems.append(f"{where}: not createable by the integration user")
    return problems


LISTED_OPTIONS = 10
"""Picklist values named in a value problem, at most."""


def value_problems(
    compared: Mapping[str, Mapping[str, frozenset[str]]],
    described: Mapping[str, Mapping[str, FieldInfo] | None],
) -> list[str]:
    """One line per value a rule compares a picklist field with that the picklist lacks: such
    a condition can never hold (a value from another org, a typo, a renamed value)."""
    problems: list[str] = []
    for sobject, fields in compared.items():
        infos = described.get(sobject) or {}
        by_lower = {name.lower(): info for name, info in infos.items()}
        for name, values in fields.items():
            info = by_lower.get(name.lower())
            if info is None or info.type is not FieldType.ENUM or not info.options:
                continue
            unknown = sorted(values - set(info.options))
            if not unknown:
                continue
            shown = ", ".join(info.options[:LISTED_OPTIONS])
            more = ", ..." if len(info.options) > LISTED_OPTIONS else ""
            problems.append(
                f"{sobject}.{info.name}: {', '.join(repr(v) for v in unknown)} is not a value of"
                f" its picklist ({shown}{more}); a condition comparing with it never holds"
            )
    return problems

"""The emulated org's metadata: which sObjects and fields exist, with the attributes describe shows.

Field attributes follow the DescribeFieldResult reference (SOAP API Developer Guide,
sforce_api_calls_describesobjects_describesobjectresult.htm#field); types are the REST
`type` values (string, email, boolean, double, currency, date, datetime, picklist,
reference, textarea, url, id). Standard field lengths are the ones in the
Object Reference for Salesforce (Account, Contact, Case, Opportunity, User, Task).
Standard picklists carry the values a new org ships with in their standard value sets
(Metadata API, "StandardValueSet Names and Standard Picklist Fields": AccountType, CaseOrigin,
CaseType, CaseReason, CasePriority, CaseStatus, OpportunityType, OpportunityStage, TaskStatus,
TaskPriority), so a config that names a value no real org has matches nothing here either.
"""

from dataclasses import dataclass, field
from typing import Any

TEXT_TYPES = frozenset({"string", "email", "picklist", "textarea", "url", "combobox"})
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})
LONG_TEXT_THRESHOLD = 255


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, with the metadata writes are validated against."""

    name: str
    label: str
    type: str
    length: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    custom: bool = False
    defaulted_on_create: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default_value: str | bool | None = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    precision: int = 0
    scale: int = 0
    calculated: bool = False
    name_field: bool = False
    external_id: bool = False
    unique: bool = False

    @property
    def filterable(self) -> bool:
        """Long text areas cannot appear in WHERE or ORDER BY (SOQL "Filtering on Text Area")."""
        return not (self.type == "textarea" and self.length > LONG_TEXT_THRESHOLD)

    @property
    def required(self) -> bool:
        """Whether a create must supply a value (createable, not nillable, no default)."""
        return self.createable and not self.nillable and not self.defaulted_on_create


@dataclass(frozen=True)
class SObjectDef:
    """One sObject type: key prefix, labels and fields."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[FieldDef, ...]
    custom: bool = False
    deletable: bool = True
    by_lower: dict[str, FieldDef] = field(init=False, repr=False, compare=False)
    relationships: dict[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_lower", {f.name.lower(): f for f in self.fields})
        object.__setattr__(
            self,
            "relationships",
            {f.relationship_name.lower(): f for f in self.fields if f.relationship_name},
        )

    def field(self, name: str) -> FieldDef | None:
        """The field called `name` (field names are case-insensitive), if it exists."""
        return self.by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is `name` (e.g. 'Owner' → OwnerId)."""
        return self.relationships.get(name.lower())


def _system_fields() -> tuple[FieldDef, ...]:
    def system(name: str, label: str, type_: str, **extra: Any) -> FieldDef:
        return FieldDef(
            name,
            label,
            type_,
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
            **extra,
        )

    user = ("User",)
    return (
        system("Id", "Record ID", "id", length=18),
        system("IsDeleted", "Deleted", "boolean"),
        system("CreatedDate", "Created Date", "datetime"),
        system(
            "CreatedById",
            "Created By ID",
            "reference",
            length=18,
            reference_to=user,
            relationship_name="CreatedBy",
        ),
        system("LastModifiedDate", "Last Modified Date", "datetime"),
        system(
            "LastModifiedById",
            "Last Modified By ID",
            "reference",
            length=18,
            reference_to=user,
            relationship_name="LastModifiedBy",
        ),
        system("SystemModstamp", "System Modstamp", "datetime"),
    )


def _text(name: str, label: str, length: int, **extra: Any) -> FieldDef:
    return FieldDef(name, label, "string", length=length, **extra)


def _picklist(
    name: str, label: str, values: tuple[str, ...], *, restricted: bool = False, **extra: Any
) -> FieldDef:
    return FieldDef(
        name, label, "picklist", length=255, picklist=values, restricted=restricted, **extra
    )


def _reference(
    name: str, label: str, targets: tuple[str, ...], relationship: str, **extra: Any
) -> FieldDef:
    return FieldDef(
        name,
        label,
        "reference",
        length=18,
        reference_to=targets,
        relationship_name=relationship,
        **extra,
    )


def _owner() -> FieldDef:
    return _reference(
        "OwnerId", "Owner ID", ("User",), "Owner", nillable=False, defaulted_on_create=True
    )


def _number(
    name: str,
    label: str,
    kind: str = "double",
    *,
    custom: bool = False,
    precision: int = 18,
    scale: int = 2,
) -> FieldDef:
    return FieldDef(name, label, kind, custom=custom, precision=precision, scale=scale)


def _calculated(name: str, label: str, type_: str, length: int = 0, **extra: Any) -> FieldDef:
    return FieldDef(
        name,
        label,
        type_,
        length=length,
        createable=False,
        updateable=False,
        calculated=True,
        **extra,
    )


ONBOARDING_STATUSES = ("Not Started", "In Progress", "Completed")
ACCOUNT_TYPES = (
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
)
CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CASE_PRIORITIES = ("High", "Medium", "Low")
CASE_ORIGINS = ("Phone", "Email", "Web")
CASE_TYPES = ("Mechanical", "Electrical", "Electronic", "Structural", "Other")
CASE_REASONS = (
    "Installation",
    "Equipment Complexity",
    "Performance",
    "Breakdown",
    "Equipment Design",
    "Feedback",
    "Other",
)
OPPORTUNITY_TYPES = (
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
    "New Customer",
)
CLOSED_CASE_STATUSES = frozenset({"Closed"})
OPPORTUNITY_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation",
    "Closed Won",
    "Closed Lost",
)
CLOSED_STAGES = frozenset({"Closed Won", "Closed Lost"})
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
CLOSED_TASK_STATUSES = frozenset({"Completed"})
USER_TIME_ZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Australia/Sydney",
)
"""A few of the org's `TimeZoneSidKey` values (the real picklist holds every IANA zone it
supports); a value outside it is refused like any restricted picklist."""
NPS_CATEGORIES = ("Promoter", "Passive", "Detractor")
FOLLOWUP_STATUSES = ("Not Needed", "New", "Assigned", "Contacted", "Closed", "Overdue")
INDUSTRIES = (
    "Agriculture",
    "Banking",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Finance",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Other",
)


def _account() -> SObjectDef:
    return SObjectDef(
        "Account",
        "Account",
        "Accounts",
        "001",
        (
            *_system_fields(),
            _text("Name", "Account Name", 255, nillable=False, name_field=True),
            _picklist("Type", "Account Type", ACCOUNT_TYPES),
            _picklist("Industry", "Industry", INDUSTRIES),
            _number("AnnualRevenue", "Annual Revenue", "currency"),
            _text("BillingCountry", "Billing Country", 80),
            FieldDef("Website", "Website", "url", length=255),
            _owner(),
            _picklist("Plan__c", "Plan", ("Starter", "Growth", "Enterprise"), custom=True),
            _number("ARR__c", "ARR", "currency", custom=True),
            _picklist(
                "Onboarding_Status__c",
                "Onboarding Status",
                ONBOARDING_STATUSES,
                restricted=True,
                custom=True,
            ),
            FieldDef(
                "Onboarding_Completed_Date__c", "Onboarding Completed Date", "date", custom=True
            ),
            FieldDef("Renewal_Date__c", "Renewal Date", "date", custom=True),
            _number("NPS_Score__c", "NPS Score", custom=True, precision=5, scale=1),
            _number(
                "NPS_Response_Count__c", "NPS Response Count", custom=True, precision=9, scale=0
            ),
            _number("NPS_Promoters__c", "NPS Promoters", custom=True, precision=9, scale=0),
            _number("NPS_Passives__c", "NPS Passives", custom=True, precision=9, scale=0),
            _number("NPS_Detractors__c", "NPS Detractors", custom=True, precision=9, scale=0),
            FieldDef("NPS_Last_Response_At__c", "NPS Last Response At", "datetime", custom=True),
            _number("NPS_Trend__c", "NPS Trend", custom=True, precision=4, scale=1),
        ),
    )


def _contact() -> SObjectDef:
    return SObjectDef(
        "Contact",
        "Contact",
        "Contacts",
        "003",
        (
            *_system_fields(),
            _text("FirstName", "First Name", 40),
            _text("LastName", "Last Name", 80, nillable=False),
            _calculated("Name", "Full Name", "string", 121, name_field=True),
            FieldDef("Email", "Email", "email", length=80),
            _reference("AccountId", "Account ID", ("Account",), "Account"),
            _owner(),
            _text("Title", "Title", 128),
            FieldDef(
                "HasOptedOutOfEmail",
                "Email Opt Out",
                "boolean",
                nillable=False,
                defaulted_on_create=True,
                default_value=False,
            ),
            _picklist("Language__c", "Language", ("en", "ja"), custom=True),
            _text("Time_Zone__c", "Time Zone", 64, custom=True),
            _number("NPS_Last_Score__c", "NPS Last Score", custom=True, precision=2, scale=0),
            _picklist(
                "NPS_Last_Category__c",
                "NPS Last Category",
                NPS_CATEGORIES,
                restricted=True,
                custom=True,
            ),
            FieldDef(
                "NPS_Last_Comment__c", "NPS Last Comment", "textarea", length=32768, custom=True
            ),
            FieldDef("NPS_Reason_Tags__c", "NPS Reason Tags", "textarea", length=4000, custom=True),
            FieldDef("NPS_Praise_Tags__c", "NPS Praise Tags", "textarea", length=4000, custom=True),
            FieldDef(
                "NPS_Complaint_Tags__c", "NPS Complaint Tags", "textarea", length=4000, custom=True
            ),
            FieldDef("NPS_Last_Response_At__c", "NPS Last Response At", "datetime", custom=True),
            _picklist(
                "NPS_Followup_Status__c", "NPS Follow-up Status", FOLLOWUP_STATUSES, custom=True
            ),
            FieldDef("NPS_Survey_URL__c", "NPS Survey URL", "url", length=255, custom=True),
            _number("NPS_Survey_Count__c", "NPS Survey Count", custom=True, precision=4, scale=0),
        ),
    )


def _case() -> SObjectDef:
    return SObjectDef(
        "Case",
        "Case",
        "Cases",
        "500",
        (
            *_system_fields(),
            _calculated("CaseNumber", "Case Number", "string", 30, name_field=True, nillable=False),
            _text("Subject", "Subject", 255),
            _picklist(
                "Status",
                "Status",
                CASE_STATUSES,
                restricted=True,
                defaulted_on_create=True,
                default_value="New",
            ),
            _picklist(
                "Priority",
                "Priority",
                CASE_PRIORITIES,
                defaulted_on_create=True,
                default_value="Medium",
            ),
            _picklist("Origin", "Case Origin", CASE_ORIGINS),
            _picklist("Type", "Case Type", CASE_TYPES),
            _picklist("Reason", "Case Reason", CASE_REASONS),
            _reference("ContactId", "Contact ID", ("Contact",), "Contact"),
            _reference("AccountId", "Account ID", ("Account",), "Account"),
            _owner(),
            _calculated("IsClosed", "Closed", "boolean", nillable=False),
            _calculated("ClosedDate", "Closed Date", "datetime"),
        ),
    )


def _opportunity() -> SObjectDef:
    return SObjectDef(
        "Opportunity",
        "Opportunity",
        "Opportunities",
        "006",
        (
            *_system_fields(),
            _text("Name", "Name", 120, nillable=False, name_field=True),
            _picklist("StageName", "Stage", OPPORTUNITY_STAGES, restricted=True, nillable=False),
            _number("Amount", "Amount", "currency"),
            FieldDef("CloseDate", "Close Date", "date", nillable=False),
            _reference("AccountId", "Account ID", ("Account",), "Account"),
            # The primary contact role's contact (API 46.0+): set on create, then read-only.
            _reference("ContactId", "Contact ID", ("Contact",), "Contact", updateable=False),
            _owner(),
            _picklist("Type", "Opportunity Type", OPPORTUNITY_TYPES),
            _calculated("IsClosed", "Closed", "boolean", nillable=False),
            _calculated("IsWon", "Won", "boolean", nillable=False),
            FieldDef("Renewal_Date__c", "Renewal Date", "date", custom=True),
        ),
    )


def _user() -> SObjectDef:
    return SObjectDef(
        "User",
        "User",
        "Users",
        "005",
        (
            *_system_fields(),
            _text("Username", "Username", 80, nillable=False),
            _text("FirstName", "First Name", 40),
            _text("LastName", "Last Name", 80, nillable=False),
            _calculated("Name", "Full Name", "string", 121, name_field=True),
            FieldDef("Email", "Email", "email", length=128, nillable=False),
            _reference("ManagerId", "Manager ID", ("User",), "Manager"),
            _text("Title", "Title", 80),
            FieldDef(
                "IsActive",
                "Active",
                "boolean",
                nillable=False,
                defaulted_on_create=True,
                default_value=True,
            ),
            _picklist(
                "LanguageLocaleKey",
                "Language",
                ("en_US", "ja"),
                restricted=True,
                defaulted_on_create=True,
                default_value="en_US",
                nillable=False,
            ),
            _picklist(
                "TimeZoneSidKey",
                "Time Zone",
                USER_TIME_ZONES,
                restricted=True,
                defaulted_on_create=True,
                default_value="America/Los_Angeles",
                nillable=False,
            ),
        ),
        deletable=False,
    )


def _task() -> SObjectDef:
    return SObjectDef(
        "Task",
        "Task",
        "Tasks",
        "00T",
        (
            *_system_fields(),
            FieldDef("Subject", "Subject", "combobox", length=255, name_field=True),
            FieldDef("Description", "Description", "textarea", length=32000),
            _reference("WhoId", "Name ID", ("Contact",), "Who"),
            _reference("WhatId", "Related To ID", ("Account", "Opportunity", "Case"), "What"),
            _owner(),
            FieldDef("ActivityDate", "Due Date Only", "date"),
            FieldDef("ReminderDateTime", "Reminder Date/Time", "datetime"),
            FieldDef(
                "IsReminderSet",
                "Reminder Set",
                "boolean",
                nillable=False,
                defaulted_on_create=True,
                default_value=False,
            ),
            _picklist(
                "Priority",
                "Priority",
                ("High", "Normal", "Low"),
                restricted=True,
                nillable=False,
                defaulted_on_create=True,
                default_value="Normal",
            ),
            _picklist(
                "Status",
                "Status",
                TASK_STATUSES,
                restricted=True,
                nillable=False,
                defaulted_on_create=True,
                default_value="Not Started",
            ),
            _calculated("IsClosed", "Closed", "boolean", nillable=False),
            _calculated("CompletedDateTime", "Completed Date/Time", "datetime"),
            # Set by the org, not by writes: see `store.is_archived`.
            _calculated("IsArchived", "Archived", "boolean", nillable=False),
            # Deployed from salesforce/ as a non-unique External ID (an index, not a constraint).
            _text("NPS_Dedup_Key__c", "NPS Dedup Key", 80, custom=True, external_id=True),
        ),
    )


SCHEMA: dict[str, SObjectDef] = {
    definition.name: definition
    for definition in (_account(), _contact(), _case(), _opportunity(), _user(), _task())
}
_BY_LOWER = {name.lower(): definition for name, definition in SCHEMA.items()}
_BY_PREFIX = {definition.key_prefix: definition for definition in SCHEMA.values()}


def sobject(name: str) -> SObjectDef | None:
    """The sObject type called `name` (case-insensitive), if the org has it."""
    return _BY_LOWER.get(name.lower())


def sobject_for_id(record_id: str) -> SObjectDef | None:
    """The sObject type an id belongs to, from its 3-character key prefix."""
    return _BY_PREFIX.get(record_id[:3])

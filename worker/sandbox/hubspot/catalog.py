"""The property definitions a fresh portal has: HubSpot's defaults, our custom fields, NPS."""

from datetime import datetime

from worker.config.defaults import writeback_defaults
from worker.config.tags import default_taxonomy
from worker.domain import FollowupStage
from worker.sandbox.hubspot.objects import (
    ALL_TYPES,
    COMPANIES,
    CONTACTS,
    DEALS,
    NOTES,
    TASKS,
    TICKETS,
)
from worker.sandbox.hubspot.properties import Option, PropertyCatalog, PropertyDef, PropertyGroup

# Internal names of HubSpot's default properties:
# https://knowledge.hubspot.com/properties/hubspots-default-contact-properties (and the company,
# deal, ticket pages); engagements: https://developers.hubspot.com/docs/api/crm/tasks and /notes.

TICKET_PIPELINE = "0"
# Default ticket pipeline "Support Pipeline" (id "0"): stages 1 New, 2 Waiting on contact,
# 3 Waiting on us, 4 Closed. https://developers.hubspot.com/docs/api/crm/pipelines
TICKET_STAGES: tuple[tuple[str, str], ...] = (
    ("1", "New"),
    ("2", "Waiting on contact"),
    ("3", "Waiting on us"),
    ("4", "Closed"),
)
TICKET_CLOSED_STAGE = "4"
DEAL_PIPELINE = "default"
# Default deal pipeline "Sales Pipeline" stage ids.
DEAL_STAGES: tuple[tuple[str, str], ...] = (
    ("appointmentscheduled", "Appointment Scheduled"),
    ("qualifiedtobuy", "Qualified To Buy"),
    ("presentationscheduled", "Presentation Scheduled"),
    ("decisionmakerboughtin", "Decision Maker Bought-In"),
    ("contractsent", "Contract Sent"),
    ("closedwon", "Closed Won"),
    ("closedlost", "Closed Lost"),
)
TASK_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")
TASK_PRIORITIES = ("NONE", "LOW", "MEDIUM", "HIGH")
TASK_TYPES = ("TODO", "CALL", "EMAIL", "LINKED_IN", "MEETING")
TICKET_PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")
LANGUAGES: tuple[tuple[str, str], ...] = (
    ("en", "English"),
    ("ja", "Japanese"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
)
ONBOARDING_STATUSES = ("Not Started", "In Progress", "Completed")
PLANS = ("Starter", "Growth", "Enterprise")

# The NPS properties a portal has once `nps-worker setup-crm` ran with the default config: names
# from the config's write-back defaults, reason-tag options from its default taxonomy (first
# label of each tag), and the category and follow-up options the values and labels the
# connector's setup writes (worker/mappers/hubspot.py, `required_properties`).
NPS_GROUP = PropertyGroup("nps", "NPS", 10)
NPS_CATEGORIES: tuple[tuple[str, str], ...] = tuple(
    (value, value.capitalize()) for value in ("promoter", "passive", "detractor")
)
NPS_REASON_TAGS: tuple[tuple[str, str], ...] = tuple(
    (tag.id, next(iter(tag.labels.values()))) for tag in default_taxonomy()
)
NPS_FOLLOWUP_STATUSES: tuple[tuple[str, str], ...] = tuple(
    (stage.value, stage.value.capitalize()) for stage in FollowupStage
)


def _options(pairs: tuple[tuple[str, str], ...]) -> tuple[Option, ...]:
    return tuple(Option(label, value, order) for order, (value, label) in enumerate(pairs))


def _same(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((value, value) for value in values)


def _timezone_value(iana: str) -> str:
    """HubSpot's option value for an IANA zone ("America/New_York" -> "america_slash_new_york")."""
    return iana.lower().replace("/", "_slash_")


def timezone_option(iana: str) -> Option:
    """The `hs_timezone` option for an IANA zone."""
    return Option(iana, _timezone_value(iana))


def timezone_value(iana: str) -> str:
    """The stored `hs_timezone` value for an IANA zone."""
    return _timezone_value(iana)


_TIMEZONES = ("America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Tokyo", "UTC")


def _system(created_at: datetime, modified: str, created: str, group: str) -> list[PropertyDef]:
    return [
        PropertyDef(
            "hs_object_id",
            "Record ID",
            "number",
            "number",
            group,
            created_at,
            read_only=True,
            has_unique_value=True,
        ),
        PropertyDef(created, "Create Date", "datetime", "date", group, created_at, read_only=True),
        PropertyDef(
            modified, "Last Modified Date", "datetime", "date", group, created_at, read_only=True
        ),
        PropertyDef("hubspot_owner_id", "Owner", "enumeration", "select", group, created_at),
    ]


def _contact(created_at: datetime) -> list[PropertyDef]:
    return [
        *_system(created_at, "lastmodifieddate", "createdate", "contactinformation"),
        PropertyDef(
            "hs_lastmodifieddate",
            "Object last modified date/time",
            "datetime",
            "date",
            "contactinformation",
            created_at,
            read_only=True,
        ),
        PropertyDef(
            "email",
            "Email",
            "string",
            "text",
            "contactinformation",
            created_at,
            has_unique_value=True,
            form_field=True,
        ),
        PropertyDef(
            "firstname",
            "First Name",
            "string",
            "text",
            "contactinformation",
            created_at,
            form_field=True,
        ),
        PropertyDef(
            "lastname",
            "Last Name",
            "string",
            "text",
            "contactinformation",
            created_at,
            form_field=True,
        ),
        PropertyDef("jobtitle", "Job Title", "string", "text", "contactinformation", created_at),
        PropertyDef(
            "associatedcompanyid",
            "Primary Associated Company ID",
            "number",
            "number",
            "contactinformation",
            created_at,
        ),
        PropertyDef(
            "hs_language",
            "Preferred language",
            "enumeration",
            "select",
            "contactinformation",
            created_at,
            _options(LANGUAGES),
        ),
        PropertyDef(
            "hs_timezone",
            "Time Zone",
            "enumeration",
            "select",
            "contactinformation",
            created_at,
            tuple(timezone_option(zone) for zone in _TIMEZONES),
        ),
        PropertyDef(
            "hs_email_optout",
            "Unsubscribed from all email",
            "enumeration",
            "booleancheckbox",
            "emailinformation",
            created_at,
            _options((("true", "True"), ("false", "False"))),
        ),
    ]


def _company(created_at: datetime) -> list[PropertyDef]:
    return [
        *_system(created_at, "hs_lastmodifieddate", "createdate", "companyinformation"),
        PropertyDef("name", "Company name", "string", "text", "companyinformation", created_at),
        PropertyDef(
            "domain", "Company Domain Name", "string", "text", "companyinformation", created_at
        ),
        PropertyDef("industry", "Industry", "string", "text", "companyinformation", created_at),
        PropertyDef(
            "country", "Country/Region", "string", "text", "companyinformation", created_at
        ),
        PropertyDef(
            "annualrevenue", "Annual Revenue", "number", "number", "companyinformation", created_at
        ),
        PropertyDef(
            "plan",
            "Plan",
            "enumeration",
            "select",
            "companyinformation",
            created_at,
            _options(_same(PLANS)),
            hubspot_defined=False,
        ),
        PropertyDef(
            "onboarding_status",
            "Onboarding status",
            "enumeration",
            "select",
            "companyinformation",
            created_at,
            _options(_same(ONBOARDING_STATUSES)),
            hubspot_defined=False,
        ),
        PropertyDef(
            "onboarding_completed_at",
            "Onboarding completed at",
            "datetime",
            "date",
            "companyinformation",
            created_at,
            hubspot_defined=False,
        ),
        PropertyDef(
            "renewal_date",
            "Renewal date",
            "date",
            "date",
            "companyinformation",
            created_at,
            hubspot_defined=False,
        ),
    ]


def _ticket(created_at: datetime) -> list[PropertyDef]:
    return [
        *_system(created_at, "hs_lastmodifieddate", "createdate", "ticketinformation"),
        PropertyDef("subject", "Ticket name", "string", "text", "ticketinformation", created_at),
        PropertyDef(
            "content", "Ticket description", "string", "textarea", "ticketinformation", created_at
        ),
        PropertyDef(
            "hs_pipeline",
            "Pipeline",
            "enumeration",
            "select",
            "ticketinformation",
            created_at,
            _options(((TICKET_PIPELINE, "Support Pipeline"),)),
        ),
        PropertyDef(
            "hs_pipeline_stage",
            "Ticket status",
            "enumeration",
            "select",
            "ticketinformation",
            created_at,
            _options(TICKET_STAGES),
        ),
        PropertyDef(
            "hs_ticket_priority",
            "Priority",
            "enumeration",
            "select",
            "ticketinformation",
            created_at,
            _options(_same(TICKET_PRIORITIES)),
        ),
        PropertyDef(
            "hs_ticket_category",
            "Category",
            "enumeration",
            "checkbox",
            "ticketinformation",
            created_at,
            _options(
                (
                    ("PRODUCT_ISSUE", "Product issue"),
                    ("BILLING_ISSUE", "Billing issue"),
                    ("GENERAL_INQUIRY", "General inquiry"),
                )
            ),
        ),
        PropertyDef(
            "closed_date", "Close date", "datetime", "date", "ticketinformation", created_at
        ),
    ]


def _deal(created_at: datetime) -> list[PropertyDef]:
    return [
        *_system(created_at, "hs_lastmodifieddate", "createdate", "dealinformation"),
        PropertyDef("dealname", "Deal Name", "string", "text", "dealinformation", created_at),
        PropertyDef(
            "dealstage",
            "Deal Stage",
            "enumeration",
            "radio",
            "dealinformation",
            created_at,
            _options(DEAL_STAGES),
        ),
        PropertyDef(
            "pipeline",
            "Pipeline",
            "enumeration",
            "select",
            "dealinformation",
            created_at,
            _options(((DEAL_PIPELINE, "Sales Pipeline"),)),
        ),
        PropertyDef("amount", "Amount", "number", "number", "dealinformation", created_at),
        PropertyDef("closedate", "Close Date", "datetime", "date", "dealinformation", created_at),
        PropertyDef(
            "renewal_date",
            "Renewal date",
            "date",
            "date",
            "dealinformation",
            created_at,
            hubspot_defined=False,
        ),
    ]


def _engagement(created_at: datetime) -> list[PropertyDef]:
    return [
        *_system(created_at, "hs_lastmodifieddate", "hs_createdate", "engagement"),
        PropertyDef("hs_timestamp", "Activity date", "datetime", "date", "engagement", created_at),
    ]


def _task(created_at: datetime) -> list[PropertyDef]:
    return [
        *_engagement(created_at),
        PropertyDef("hs_task_subject", "Task Title", "string", "text", "task", created_at),
        PropertyDef("hs_task_body", "Notes", "string", "html", "task", created_at),
        PropertyDef(
            "hs_task_status",
            "Task Status",
            "enumeration",
            "select",
            "task",
            created_at,
            _options(_same(TASK_STATUSES)),
        ),
        PropertyDef(
            "hs_task_priority",
            "Priority",
            "enumeration",
            "select",
            "task",
            created_at,
            _options(_same(TASK_PRIORITIES)),
        ),
        PropertyDef(
            "hs_task_type",
            "Task Type",
            "enumeration",
            "select",
            "task",
            created_at,
            _options(_same(TASK_TYPES)),
        ),
        PropertyDef(
            "hs_task_completion_date",
            "Completed at",
            "datetime",
            "date",
            "task",
            created_at,
            read_only=True,
        ),
    ]


def _note(created_at: datetime) -> list[PropertyDef]:
    return [
        *_engagement(created_at),
        PropertyDef("hs_note_body", "Note body", "string", "html", "note", created_at),
    ]


# Per write-back attribute of the config (`writeback.contact` / `writeback.account`): label,
# type, fieldType and options; the property names are the config's HubSpot defaults.
_NPS_CONTACT: dict[str, tuple[str, str, str, tuple[tuple[str, str], ...]]] = {
    "last_score": ("Last NPS score", "number", "number", ()),
    "last_category": ("Last NPS category", "enumeration", "select", NPS_CATEGORIES),
    "last_comment": ("Last NPS comment", "string", "textarea", ()),
    "reason_tags": ("NPS reason tags", "enumeration", "checkbox", NPS_REASON_TAGS),
    "praise_tags": ("NPS reasons praised", "enumeration", "checkbox", NPS_REASON_TAGS),
    "complaint_tags": ("NPS reasons complained of", "enumeration", "checkbox", NPS_REASON_TAGS),
    "last_response_at": ("Last NPS response at", "datetime", "date", ()),
    "followup_status": ("NPS follow-up status", "enumeration", "select", NPS_FOLLOWUP_STATUSES),
    "survey_url": ("NPS survey URL", "string", "text", ()),
    "survey_count": ("NPS surveys answered", "number", "number", ()),
}
_NPS_ACCOUNT: dict[str, tuple[str, str, str, tuple[tuple[str, str], ...]]] = {
    "nps_score": ("Account NPS", "number", "number", ()),
    "response_count": ("NPS responses", "number", "number", ()),
    "promoters": ("NPS promoters", "number", "number", ()),
    "passives": ("NPS passives", "number", "number", ()),
    "detractors": ("NPS detractors", "number", "number", ()),
    "last_response_at": ("Last NPS response at", "datetime", "date", ()),
    "nps_trend": ("Account NPS trend", "number", "number", ()),
}


def nps_properties(object_name: str, created_at: datetime) -> list[PropertyDef]:
    """The NPS properties the default field mapping writes, for contacts and companies."""
    sections = {CONTACTS.name: ("contact", _NPS_CONTACT), COMPANIES.name: ("account", _NPS_ACCOUNT)}
    if object_name not in sections:
        return []
    section, specs = sections[object_name]
    names = writeback_defaults("hubspot")[section]
    return [
        PropertyDef(
            names[attribute],
            label,
            type_,
            field_type,
            NPS_GROUP.name,
            created_at,
            _options(options),
            hubspot_defined=False,
        )
        for attribute, (label, type_, field_type, options) in specs.items()
    ]


_BUILDERS = {
    CONTACTS.name: _contact,
    COMPANIES.name: _company,
    TICKETS.name: _ticket,
    DEALS.name: _deal,
    TASKS.name: _task,
    NOTES.name: _note,
}
_GROUPS: dict[str, tuple[PropertyGroup, ...]] = {
    CONTACTS.name: (
        PropertyGroup("contactinformation", "Contact information", 0),
        PropertyGroup("emailinformation", "Email information", 1),
    ),
    COMPANIES.name: (PropertyGroup("companyinformation", "Company information", 0),),
    TICKETS.name: (PropertyGroup("ticketinformation", "Ticket information", 0),),
    DEALS.name: (PropertyGroup("dealinformation", "Deal information", 0),),
    TASKS.name: (
        PropertyGroup("task", "Task information", 0),
        PropertyGroup("engagement", "Engagement information", 1),
    ),
    NOTES.name: (
        PropertyGroup("note", "Note information", 0),
        PropertyGroup("engagement", "Engagement information", 1),
    ),
}


def default_catalogs(created_at: datetime, *, with_nps: bool) -> dict[str, PropertyCatalog]:
    """The property catalog of every object type in a new portal."""
    catalogs: dict[str, PropertyCatalog] = {}
    for object_type in ALL_TYPES:
        catalog = PropertyCatalog()
        for group in _GROUPS[object_type.name]:
            catalog.add_group(group)
        for prop in _BUILDERS[object_type.name](created_at):
            catalog.add(prop)
        if with_nps:
            extra = nps_properties(object_type.name, created_at)
            if extra:
                catalog.add_group(NPS_GROUP)
            for prop in extra:
                catalog.add(prop)
        catalogs[object_type.name] = catalog
    return catalogs

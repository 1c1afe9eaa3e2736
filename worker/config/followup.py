"""Closing the loop: follow-up tasks, owners, SLAs, escalation tiers and promoter asks."""

import datetime as dt
import difflib
import re
import string
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

import jinja2
from pydantic import AfterValidator, Field, PlainSerializer, PlainValidator, model_validator

from worker.config.base import Section
from worker.config.conditions import AudienceCondition, Condition, ObjectFilter
from worker.config.errors import invalid
from worker.config.values import (
    Duration,
    FieldName,
    HttpUrl,
    Identifier,
    LanguageCode,
    PositiveDuration,
    TimeOfDay,
    TimeZoneName,
    duration_between,
)

_USER_ID = re.compile(r"[A-Za-z0-9]{15}|[A-Za-z0-9]{18}|\d{1,12}")
_ROLES = ("account_owner", "contact_owner", "manager")
Role = Literal["account_owner", "contact_owner", "manager", "user"]


@dataclass(frozen=True, slots=True)
class Person:
    """Who gets a task or a notification: a role resolved per record, or one CRM user id."""

    role: Role
    user_id: str | None = None

    def __str__(self) -> str:
        return self.user_id if self.user_id is not None else self.role


def _person(roles: tuple[str, ...]) -> PlainValidator:
    def parse(value: Any) -> Person:
        if isinstance(value, Person):
            return value
        text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if text in roles:
            return Person(role=cast(Role, text))
        if _USER_ID.fullmatch(text):
            return Person(role="user", user_id=text)
        close = difflib.get_close_matches(text, roles, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise invalid(f"unknown person {value!r}{hint} (use {', '.join(roles)} or a CRM user id)")

    return PlainValidator(parse)


_as_text = PlainSerializer(str, return_type=str)

Owner = Annotated[Person, _person(("account_owner", "contact_owner")), _as_text]
"""A task owner: `account_owner`, `contact_owner` or a CRM user id."""

Recipient = Annotated[Person, _person(_ROLES), _as_text]
"""Who an escalation notifies: `manager` (of the task owner), an owner role or a user id."""


def _user_id(value: Any) -> str:
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not _USER_ID.fullmatch(text):
        raise invalid(
            f"invalid CRM user id {value!r} (a Salesforce user id of 18 characters"
            " or a HubSpot owner id in digits)"
        )
    return text


UserId = Annotated[str, PlainValidator(_user_id)]
"""One CRM user: a Salesforce User id or a HubSpot owner id (YAML may read it as a number)."""


def _template(text: str) -> str:
    try:
        jinja2.Environment(autoescape=True).parse(text)
    except jinja2.TemplateSyntaxError as error:
        raise invalid(f"invalid template: {error.message}") from None
    return text


Template = Annotated[str, Field(min_length=1), AfterValidator(_template)]
"""A Jinja2 template over `contact`, `account`, `response` and `program`."""

Sla = Annotated[PositiveDuration, duration_between("1h", "14d")]
"""Time from the response to the task's due time."""


class TaskRule(Section):
    """The CRM task created for a response of one category.

    Without `subject` or `body` the task is written by the worker in the owner's language: the
    moment and its link, the context for the call, the due time in the owner's time zone and
    the guided response with its outcome lines (see `rules/task_brief.py`). A template given
    here replaces that text (one language, RevOps' own).
    """

    enabled: bool = True
    subject: Template | None = None
    body: Template | None = None
    priority: Literal["low", "normal", "high"] = "high"
    sla: Sla = dt.timedelta(hours=24)
    business_hours: bool = False
    """Count `sla` in working hours only (see `followup.business_hours`)."""


class DetractorTaskRule(TaskRule):
    """Detractor task: always on, with the guided recovery steps."""


class PassiveTaskRule(TaskRule):
    """Passive task: off unless enabled, normal priority, two days."""

    enabled: bool = False
    priority: Literal["low", "normal", "high"] = "normal"
    sla: Sla = dt.timedelta(hours=48)


class PromoterTaskRule(TaskRule):
    """Promoter task (thank-you call): off unless enabled, low priority, two days."""

    enabled: bool = False
    priority: Literal["low", "normal", "high"] = "low"
    sla: Sla = dt.timedelta(hours=48)


class EscalationTier(Section):
    """Notify someone when a task is overdue by `after`, or at once when `when` matches."""

    level: int = Field(ge=1, le=9)
    after: PositiveDuration | None = None
    when: AudienceCondition | None = None
    severity: tuple[Identifier, ...] = ()
    """Only for responses in these severity bands (empty: any)."""
    notify: Recipient
    action: Literal["task", "reassign"] = "task"
    """`task`: a second task for the person notified; `reassign`: move the task to them."""

    @model_validator(mode="after")
    def _has_reason(self) -> "EscalationTier":
        if self.after is None and self.when is None and not self.severity:
            raise invalid("an escalation tier needs 'after', 'when' or 'severity'", "level")
        return self


class SeverityBand(Section):
    """A named score range (e.g. 0-4 = severe) that escalation tiers and templates can use."""

    name: Identifier
    min_score: int = Field(ge=0, le=10)
    max_score: int = Field(ge=0, le=10)
    priority: Literal["low", "normal", "high"] | None = None
    sla: Sla | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "SeverityBand":
        if self.min_score > self.max_score:
            raise invalid("min_score is above max_score", "max_score")
        return self


def _default_bands() -> tuple[SeverityBand, ...]:
    return (
        SeverityBand(name="severe", min_score=0, max_score=4),
        SeverityBand(name="moderate", min_score=5, max_score=6),
    )


def _default_owner_chain() -> tuple[Person, ...]:
    return (Person(role="account_owner"), Person(role="contact_owner"))


def _default_escalation() -> tuple[EscalationTier, ...]:
    return (EscalationTier(level=1, after=dt.timedelta(hours=24), notify=Person(role="manager")),)


def _increasing_levels(tiers: tuple[EscalationTier, ...]) -> tuple[EscalationTier, ...]:
    for index in range(1, len(tiers)):
        if tiers[index].level <= tiers[index - 1].level:
            raise invalid("levels must increase down the list", index, "level")
    return tiers


Escalation = Annotated[tuple[EscalationTier, ...], AfterValidator(_increasing_levels)]


class DetractorFollowup(Section):
    """Detractors (0 to 6): a task for every one (promise 5), escalated when ignored or big."""

    task: DetractorTaskRule = Field(default_factory=DetractorTaskRule)
    owner: tuple[Owner, ...] = Field(default_factory=_default_owner_chain, min_length=1)
    escalation: Escalation = Field(default_factory=_default_escalation)
    severity: tuple[SeverityBand, ...] = Field(default_factory=_default_bands)

    @model_validator(mode="after")
    def _task_required(self) -> "DetractorFollowup":
        if not self.task.enabled:
            raise invalid("every detractor gets a follow-up task; it cannot be disabled", "task")
        names = [band.name for band in self.severity]
        for index, band in enumerate(self.severity):
            if band.max_score > 6:
                raise invalid("detractor scores are 0 to 6", "severity", index, "max_score")
            if any(
                other.min_score <= band.max_score and band.min_score <= other.max_score
                for other in self.severity[:index]
            ):
                raise invalid("score ranges overlap", "severity", index, "min_score")
        for index, tier in enumerate(self.escalation):
            for name in tier.severity:
                if name not in names:
                    raise invalid(
                        f"unknown severity '{name}' (bands: {', '.join(names) or 'none'})",
                        "escalation",
                        index,
                        "severity",
                    )
        return self


class PassiveFollowup(Section):
    """Passives (7 and 8): optional task."""

    task: PassiveTaskRule = Field(default_factory=PassiveTaskRule)
    owner: tuple[Owner, ...] = Field(default_factory=_default_owner_chain, min_length=1)
    escalation: Escalation = ()


class PromoterAsk(Section):
    """Ask a promoter for a referral or a review when the score and the account qualify."""

    kind: Literal["referral", "review"]
    min_score: int = Field(9, ge=9, le=10)
    when: AudienceCondition = Field(default_factory=Condition)
    url: HttpUrl | None = None
    min_tenure: Duration | None = None
    """Only when the account has been a customer at least this long."""
    no_high_priority_case_within: Duration | None = None
    """Only when no high-priority case was open at the account within this long."""
    not_asked_within: Duration = dt.timedelta(days=180)
    """Never ask the same contact for this kind of favour twice within this long."""

    @model_validator(mode="after")
    def _review_has_url(self) -> "PromoterAsk":
        if self.kind == "review" and self.url is None:
            raise invalid("a review ask needs the review site's url", "kind")
        return self


class PromoterFollowup(Section):
    """Promoters (9 and 10): optional task and asks."""

    task: PromoterTaskRule = Field(default_factory=PromoterTaskRule)
    owner: tuple[Owner, ...] = Field(default_factory=_default_owner_chain, min_length=1)
    escalation: Escalation = ()
    asks: tuple[PromoterAsk, ...] = ()


class BusinessHours(Section):
    """Working hours SLAs are counted in when a task rule sets `business_hours: true`."""

    start: TimeOfDay = dt.time(9, 0)
    end: TimeOfDay = dt.time(18, 0)
    time_zone: TimeZoneName = "UTC"
    weekdays_only: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> "BusinessHours":
        if self.start >= self.end:
            raise invalid("end must be later than start on the same day", "end")
        return self


NON_RESPONSE_BODY = (
    "{{ contact.name }} ({{ contact.role }}) did not answer the {{ program }} survey sent"
    " {{ survey.sent_at }}. Reach out before the renewal."
)


class NonResponseAlert(Section):
    """A task for the account owner when a key contact leaves a pre-renewal survey unanswered."""

    enabled: bool = False
    programs: tuple[Identifier, ...] = ()
    key_contacts: AudienceCondition = Field(default_factory=Condition)
    role_field: str | None = None
    """Contact field shown as the contact's role in the task (e.g. Title)."""
    subject: Template = "No NPS answer from {{ contact.name }} before renewal"
    body: Template = NON_RESPONSE_BODY
    priority: Literal["low", "normal", "high"] = "normal"
    sla: Sla = dt.timedelta(hours=72)
    owner: tuple[Owner, ...] = Field(
        default_factory=lambda: (Person(role="account_owner"),), min_length=1
    )

    @model_validator(mode="after")
    def _has_programs(self) -> "NonResponseAlert":
        if self.enabled and not self.programs:
            raise invalid(
                "name the programs whose surveys count (e.g. renewal_upcoming)", "programs"
            )
        return self


class CaseSignal(Section):
    """Which mirrored records are high-priority cases (a promoter is not asked right after one)."""

    object: FieldName
    when: ObjectFilter


class ComplaintFollowup(Section):
    """A passive's or promoter's answer that complains clearly gets a task too (the detractor's
    text, "with a complaint" in its subject), since a complaint deserves an answer whatever
    the score."""

    enabled: bool = False
    tags: tuple[Identifier, ...] = ()
    """Reason tags that count when the comment complains of them (empty: any tag)."""
    keywords: dict[LanguageCode, tuple[str, ...]] = Field(default_factory=dict)
    """Words or phrases that count wherever they appear in the comment, per language."""
    sla: Sla = dt.timedelta(hours=48)
    priority: Literal["low", "normal", "high"] = "normal"


class ReasonRoute(Section):
    """Send the task of an answer complaining of these tags to a department's owner or queue
    (pricing -> account manager, quality -> support lead)."""

    tags: tuple[Identifier, ...] = Field(min_length=1)
    owner: tuple[Owner, ...] = Field(min_length=1)
    """Owner chain: roles, user ids, or a Salesforce queue id (00G…, always taken as active)."""


class RepSettings(Section):
    """One task owner's language and time zone, where the CRM does not say or says wrong."""

    language: LanguageCode | None = None
    time_zone: TimeZoneName | None = None


def _record_url(text: str) -> str:
    unknown = {name for _, name, _, _ in string.Formatter().parse(text) if name} - {"object", "id"}
    if unknown:
        raise invalid(f"unknown placeholder {{{sorted(unknown)[0]}}} (use {{object}} and {{id}})")
    if not text.startswith("https://"):
        raise invalid("record_url must start with https://")
    return text


RecordUrl = Annotated[str, AfterValidator(_record_url)]


class FollowupConfig(Section):
    """Follow-up rules per NPS category."""

    detractor: DetractorFollowup = Field(default_factory=DetractorFollowup)
    passive: PassiveFollowup = Field(default_factory=PassiveFollowup)
    promoter: PromoterFollowup = Field(default_factory=PromoterFollowup)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    non_response: NonResponseAlert = Field(default_factory=NonResponseAlert)
    managers: dict[UserId, UserId] = Field(default_factory=dict)
    """Task owner -> their manager, for `notify: manager`. HubSpot owners carry no manager, so
    on HubSpot this is the only source; on Salesforce entries override `User.ManagerId`."""
    fallback_manager: UserId | None = None
    """Who an escalation reaches when the person its tier names is not found (the task owner
    has no manager, the account no owner); without it, the account owner. Each stand-in is
    logged and counted by `status`."""
    high_priority_cases: CaseSignal | None = None
    """Cases that count for `no_high_priority_case_within` (default per CRM kind)."""
    complaints: ComplaintFollowup = Field(default_factory=ComplaintFollowup)
    routes: tuple[ReasonRoute, ...] = ()
    """First route whose tags the answer complains of (or, with no complaint, names) picks
    the task's owner chain instead of the category's."""
    reps: dict[UserId, RepSettings] = Field(default_factory=dict)
    """Per task owner: the language and time zone of their tasks, over what the CRM says
    (Salesforce `User.LanguageLocaleKey` / `TimeZoneSidKey`; HubSpot owners carry neither)."""
    rep_language: LanguageCode = "en"
    """Tasks' language for an owner neither the CRM nor `reps` gives one."""
    rep_time_zone: TimeZoneName = "UTC"
    """Due times' zone for an owner neither the CRM nor `reps` gives one."""
    record_url: RecordUrl | None = None
    """Link to a CRM record in tasks, with `{object}` and `{id}`, e.g.
    https://acme.lightning.force.com/lightning/r/{object}/{id}/view or
    https://app.hubspot.com/contacts/123456/record/{object}/{id}; without it the task names
    the record by its id."""

    def conditions(self) -> list[Condition]:
        """Every `contact.X` / `account.X` condition of the rules, so sync reads those fields."""
        found: list[Condition] = [self.non_response.key_contacts]
        for rules in (self.detractor, self.passive, self.promoter):
            found.extend(tier.when for tier in rules.escalation if tier.when is not None)
        found.extend(ask.when for ask in self.promoter.asks)
        return found

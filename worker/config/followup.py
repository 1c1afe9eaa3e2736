"""Closing the loop: follow-up tasks, owners, SLAs, escalation tiers and promoter asks."""

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

import jinja2
from pydantic import AfterValidator, Field, PlainSerializer, PlainValidator, model_validator

from worker.config.base import Section
from worker.config.conditions import AudienceCondition, Condition
from worker.config.errors import invalid
from worker.config.values import HttpUrl, PositiveDuration, duration_between

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
    """The CRM task created for a response of one category."""

    enabled: bool = True
    subject: Template = "NPS {{ response.category }} ({{ response.score }}): {{ contact.name }}"
    body: Template = "{{ response.comment }}\n\nReasons: {{ response.tags | join(', ') }}"
    priority: Literal["low", "normal", "high"] = "high"
    sla: Sla = dt.timedelta(hours=24)


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
    notify: Recipient

    @model_validator(mode="after")
    def _has_reason(self) -> "EscalationTier":
        if self.after is None and self.when is None:
            raise invalid("an escalation tier needs 'after', 'when' or both", "level")
        return self


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

    task: TaskRule = Field(default_factory=TaskRule)
    owner: tuple[Owner, ...] = Field(default_factory=_default_owner_chain, min_length=1)
    escalation: Escalation = Field(default_factory=_default_escalation)

    @model_validator(mode="after")
    def _task_required(self) -> "DetractorFollowup":
        if not self.task.enabled:
            raise invalid("every detractor gets a follow-up task; it cannot be disabled", "task")
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


class FollowupConfig(Section):
    """Follow-up rules per NPS category."""

    detractor: DetractorFollowup = Field(default_factory=DetractorFollowup)
    passive: PassiveFollowup = Field(default_factory=PassiveFollowup)
    promoter: PromoterFollowup = Field(default_factory=PromoterFollowup)

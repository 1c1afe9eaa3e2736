"""Closing the loop: the task a response earns, its owner and due time, escalations, promoter asks.

Pure: the response, the contact, its account and a few facts from the store in; plans out. The
cycle turns a `TaskPlan` into one CRM task (promise 5: its `dedup_key` is per response).
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from worker.config.conditions import Condition
from worker.config.followup import (
    DetractorFollowup,
    EscalationTier,
    FollowupConfig,
    PassiveFollowup,
    Person,
    PromoterAsk,
    PromoterFollowup,
    SeverityBand,
    TaskRule,
)
from worker.config.values import format_duration
from worker.domain import Account, Category, Contact
from worker.rules.calendar import add_business_hours
from worker.rules.conditions import evaluate
from worker.rules.eligibility import Check
from worker.rules.task_brief import (
    CallContext,
    Rep,
    TaskFacts,
    customer_of,
    rep_for,
    task_body,
    task_subject,
)
from worker.rules.task_texts import person_name

Priority = Literal["low", "normal", "high"]
QUEUE_PREFIX = "00G"
"""Salesforce queue (Group) ids: a task may be owned by a queue, which is never "inactive"."""
_TEMPLATES = SandboxedEnvironment(autoescape=False)


@dataclass(frozen=True, slots=True)
class ResponseFacts:
    """An answer as follow-up rules see it; `key` identifies it (e.g. the response id)."""

    key: str
    program: str
    score: int
    received_at: dt.datetime
    comment: str | None = None
    tags: tuple[str, ...] = ()
    summary: str | None = None
    polarity: Mapping[str, str] = field(default_factory=dict)
    """Tag -> praise / complaint / neutral, as the tagger read the comment."""


@dataclass(frozen=True, slots=True)
class FollowupContext:
    """Store facts the rules need: field values, managers, cases, past asks, tenure."""

    values: Mapping[str, Any] = field(default_factory=dict)
    managers: Mapping[str, str] = field(default_factory=dict)
    high_priority_cases: Sequence[dt.datetime] = ()
    last_asks: Mapping[str, dt.datetime] = field(default_factory=dict)
    customer_since: dt.datetime | None = None
    active_users: frozenset[str] | None = None
    """Users who may own a task now (None: not known, every user is taken as active)."""
    call: CallContext = field(default_factory=CallContext)
    """What the task tells the rep around the answer (moment, history, account, users)."""


@dataclass(frozen=True, slots=True)
class TaskPlan:
    """One CRM task to create, written for its owner (`rep`)."""

    dedup_key: str
    subject: str
    body: str
    owner_id: str | None
    owner_source: str
    due_at: dt.datetime
    priority: Priority
    rep: Rep | None = None
    facts: TaskFacts | None = None
    """What the body states, for alerts that tell the same in another language."""
    chain: tuple[tuple[Person, str | None], ...] = ()


Fallback = Literal["fallback_manager", "account_owner", "nobody"]
"""Who an escalation reaches when the person its tier names cannot be resolved."""


@dataclass(frozen=True, slots=True)
class Escalation:
    """Notify `notify_id` (None: nobody resolvable) and raise the follow-up to `level`.

    `fallback` says who stood in when the tier's person was not found (None: found).
    """

    level: int
    notify: str
    notify_id: str | None
    reason: str
    fallback: Fallback | None = None


@dataclass(frozen=True, slots=True)
class AskDecision:
    """Whether a promoter is asked for a referral or a review, with every condition checked."""

    kind: str
    granted: bool
    url: str | None
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class FollowupPlan:
    """Everything one response sets in motion."""

    response_key: str
    category: Category
    severity: str | None
    task: TaskPlan | None
    escalations: tuple[Escalation, ...]
    asks: tuple[AskDecision, ...]


@dataclass(frozen=True, slots=True)
class FollowupFacts:
    """An open follow-up as stored: where its escalation stands."""

    response: ResponseFacts
    level: int
    due_at: dt.datetime
    status: Literal["open", "overdue", "done", "cancelled"]
    owner_id: str | None


Rules = DetractorFollowup | PassiveFollowup | PromoterFollowup


def rules_for(category: Category, config: FollowupConfig) -> Rules:
    """The follow-up section of a category."""
    if category is Category.DETRACTOR:
        return config.detractor
    return config.passive if category is Category.PASSIVE else config.promoter


def severity_of(score: int, rules: Rules) -> SeverityBand | None:
    """The detractor severity band the score falls in, if any."""
    bands = rules.severity if isinstance(rules, DetractorFollowup) else ()
    return next((b for b in bands if b.min_score <= score <= b.max_score), None)


def plan_followup(
    response: ResponseFacts,
    contact: Contact,
    account: Account | None,
    context: FollowupContext,
    config: FollowupConfig,
    *,
    now: dt.datetime,
) -> FollowupPlan:
    """The task, the escalation due at once (the highest matching tier), and promoter asks."""
    category = Category.of_score(response.score)
    rules = rules_for(category, config)
    band = severity_of(response.score, rules)
    complaint = category is not Category.DETRACTOR and is_complaint(response, config)
    task = None
    if rules.task.enabled or complaint:
        task = _task(
            response,
            contact,
            account,
            rules=rules,
            band=band,
            config=config,
            context=context,
            complaint=complaint,
        )
    escalations = tuple(
        _escalation(
            tier,
            owner_id=task.owner_id if task else None,
            contact=contact,
            account=account,
            context=context,
            reason="at once",
            fallback_manager=config.fallback_manager,
        )
        for tier in rules.escalation
        if tier.after is None and _tier_applies(tier, band, context.values)
    )
    asks: tuple[AskDecision, ...] = ()
    if isinstance(rules, PromoterFollowup):
        asks = tuple(_ask(ask, response, context, now) for ask in rules.asks)
    return FollowupPlan(
        response.key, category, band.name if band else None, task, escalations[-1:], asks
    )


def next_escalation(
    followup: FollowupFacts,
    contact: Contact,
    account: Account | None,
    context: FollowupContext,
    config: FollowupConfig,
    *,
    now: dt.datetime,
) -> Escalation | None:
    """The highest tier above the current level that applies now, or None.

    A tier applies when its severity and `when` match and, if it has `after`, the task is still
    open that long past its due time. Jumping straight to the highest sends one notice, not many.
    """
    if followup.status in ("done", "cancelled"):
        return None
    rules = rules_for(Category.of_score(followup.response.score), config)
    band = severity_of(followup.response.score, rules)
    due = [
        tier
        for tier in rules.escalation
        if tier.level > followup.level
        and _tier_applies(tier, band, context.values)
        and (tier.after is None or now >= followup.due_at + tier.after)
    ]
    if not due:
        return None
    tier = due[-1]
    reason = (
        f"open {format_duration(now - followup.due_at)} past due"
        if tier.after is not None
        else "matches at once"
    )
    return _escalation(
        tier,
        owner_id=followup.owner_id,
        contact=contact,
        account=account,
        context=context,
        reason=reason,
        fallback_manager=config.fallback_manager,
    )


def is_complaint(response: ResponseFacts, config: FollowupConfig) -> bool:
    """True when the comment clearly complains: of a listed tag (any tag when none are
    listed), or in one of the listed words, in any configured language."""
    rule = config.complaints
    if not rule.enabled:
        return False
    complained = {tag for tag, way in response.polarity.items() if way == "complaint"}
    if complained & set(rule.tags or complained):
        return True
    text = (response.comment or "").casefold()
    return any(word.casefold() in text for words in rule.keywords.values() for word in words)


def routed_owner(response: ResponseFacts, config: FollowupConfig) -> tuple[Person, ...] | None:
    """The owner chain of the first route whose tags the answer complains of (or names, when
    it complains of none)."""
    complained = {tag for tag, way in response.polarity.items() if way == "complaint"}
    named = complained or set(response.tags)
    return next((route.owner for route in config.routes if named & set(route.tags)), None)


def render(template: str, variables: Mapping[str, Any]) -> str:
    """A config template rendered in a sandbox (RevOps' text, never trusted code)."""
    return _compiled(template).render(**variables).strip()


@lru_cache(maxsize=256)
def _compiled(template: str) -> Template:
    """Compiling a template cost more than rendering it; the config's few are compiled once."""
    return _TEMPLATES.from_string(template)


def template_variables(contact: Contact, account: Account | None, **extra: Any) -> dict[str, Any]:
    """`contact`, `account` and whatever else a template may use."""
    name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    return {
        "contact": {
            "name": name or "(no name)",
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "crm_id": contact.crm_id,
            **contact.segments,
        },
        "account": {
            "name": account.name if account else None,
            "crm_id": account.crm_id if account else None,
            **(account.segments if account else {}),
        },
        **extra,
    }


def resolve_owner(
    chain: Sequence[Person],
    contact: Contact,
    account: Account | None,
    active: frozenset[str] | None = None,
) -> tuple[str | None, str]:
    """The first owner the chain finds who is an active user, and which link found it.

    An inactive user (a rep who left) is skipped: the CRM would refuse the task.
    """
    for person in chain:
        found = {
            "account_owner": account.owner_id if account else None,
            "contact_owner": contact.owner_id,
            "user": person.user_id,
        }.get(person.role)
        if found and (active is None or found in active or found.startswith(QUEUE_PREFIX)):
            return found, str(person)
    return None, "nobody active in the chain; the CRM's default owner"


def due_time(
    start: dt.datetime, sla: dt.timedelta, rule: TaskRule, config: FollowupConfig
) -> dt.datetime:
    """`start` + SLA, in business hours when the rule asks for it."""
    if rule.business_hours:
        return add_business_hours(start, sla, config.business_hours)
    return start + sla


def _task(
    response: ResponseFacts,
    contact: Contact,
    account: Account | None,
    *,
    rules: Rules,
    band: SeverityBand | None,
    config: FollowupConfig,
    context: FollowupContext,
    complaint: bool = False,
) -> TaskPlan:
    """The task in its owner's language and zone; RevOps' templates, when set, win. A task
    only a complaint earns takes `followup.complaints`' SLA and priority; a reason route
    picks the owner chain."""
    owners = routed_owner(response, config) or rules.owner
    owner_id, source = resolve_owner(owners, contact, account, context.active_users)
    sla = band.sla if band and band.sla else rules.task.sla
    priority = band.priority if band and band.priority else rules.task.priority
    if complaint and not rules.task.enabled:
        sla, priority = config.complaints.sla, config.complaints.priority
    due_at = due_time(response.received_at, sla, rules.task, config)
    call = context.call
    rep = rep_for(owner_id, call.users, config)
    customer = customer_of(contact, account, rep.language)
    facts = TaskFacts(
        score=response.score,
        received_at=response.received_at,
        program=response.program,
        comment=response.comment,
        tags=response.tags,
        severity=band.name if band else None,
        due_at=due_at,
        sla=sla,
    )
    chain = [
        (person, _chain_name(person, contact, account, call, rep.language)) for person in owners
    ]
    variables = template_variables(
        contact,
        account,
        response={
            "score": response.score,
            "category": Category.of_score(response.score).value,
            "comment": response.comment or "",
            "tags": list(response.tags),
            "summary": response.summary or "",
            "severity": band.name if band else None,
        },
        program=response.program,
    )
    subject = (
        render(rules.task.subject, variables)
        if rules.task.subject
        else task_subject(response.score, customer, due_at, rep, complaint=complaint)
    )
    body = (
        render(rules.task.body, variables)
        if rules.task.body
        else task_body(facts, customer, rep, call, chain)
    )
    return TaskPlan(
        dedup_key=f"followup:{response.key}",
        subject=subject,
        body=body,
        owner_id=owner_id,
        owner_source=source,
        due_at=due_at,
        priority=priority,
        rep=rep,
        facts=facts,
        chain=tuple(chain),
    )


def _chain_name(
    person: Person, contact: Contact, account: Account | None, call: CallContext, language: str
) -> str | None:
    """The name of the user a link of the owner chain points at, when the CRM gave it."""
    user_id = {
        "account_owner": account.owner_id if account else None,
        "contact_owner": contact.owner_id,
        "user": person.user_id,
    }.get(person.role)
    profile = call.users.get(user_id or "")
    if profile is None:
        return None
    return person_name(profile.first_name, profile.last_name, language)


def _tier_applies(
    tier: EscalationTier, band: SeverityBand | None, values: Mapping[str, Any]
) -> bool:
    if tier.severity and (band is None or band.name not in tier.severity):
        return False
    return tier.when is None or evaluate(tier.when, values).passed


def _escalation(
    tier: EscalationTier,
    *,
    owner_id: str | None,
    contact: Contact,
    account: Account | None,
    context: FollowupContext,
    reason: str,
    fallback_manager: str | None,
) -> Escalation:
    """The tier's person; else `followup.fallback_manager`; else the account owner; else nobody.

    An escalation must reach someone who sees it: a task without an owner sits unseen.
    """
    person = tier.notify
    account_owner = account.owner_id if account else None
    notify_id = {
        "manager": context.managers.get(owner_id or ""),
        "account_owner": account_owner,
        "contact_owner": contact.owner_id,
        "user": person.user_id,
    }[person.role]
    if notify_id:
        return Escalation(tier.level, str(person), notify_id, reason)
    if fallback_manager:
        return Escalation(tier.level, str(person), fallback_manager, reason, "fallback_manager")
    if account_owner:
        return Escalation(tier.level, str(person), account_owner, reason, "account_owner")
    return Escalation(tier.level, str(person), None, reason, "nobody")


def _ask(
    ask: PromoterAsk, response: ResponseFacts, context: FollowupContext, now: dt.datetime
) -> AskDecision:
    checks = [
        Check(
            "score", response.score >= ask.min_score, f"score {response.score} >= {ask.min_score}"
        )
    ]
    if ask.when != Condition():
        result = evaluate(ask.when, context.values)
        shown = "; ".join(item.detail for item in result.clauses)
        checks.append(Check("condition", result.passed, shown))
    if ask.min_tenure is not None:
        since = context.customer_since
        ok = since is not None and now - since >= ask.min_tenure
        checks.append(
            Check(
                "tenure",
                ok,
                f"customer since {since:%Y-%m-%d}" if since else "customer since unknown",
            )
        )
    if ask.no_high_priority_case_within is not None:
        window = ask.no_high_priority_case_within
        recent = [at for at in context.high_priority_cases if now - at < window]
        detail = f"{len(recent)} high-priority cases within {format_duration(window)}"
        checks.append(Check("recent_case", not recent, detail))
    last = context.last_asks.get(ask.kind)
    ok = last is None or now - last >= ask.not_asked_within
    shown = f"last asked {last:%Y-%m-%d}" if last else "never asked"
    checks.append(Check("asked_recently", ok, shown))
    return AskDecision(ask.kind, all(c.passed for c in checks), ask.url, tuple(checks))

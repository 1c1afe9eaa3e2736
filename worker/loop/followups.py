"""The inner loop after the task exists: status read back from the CRM, SLAs and escalation.

A follow-up moves new -> assigned -> contacted -> closed as the rep works the CRM task; the
worker only reads that back. When the SLA passes before first contact, the next escalation tier
opens a task for the person it names (manager, account owner, a user) and the follow-up shows
as overdue on the contact.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker import domain
from worker.config import Config
from worker.domain import Category, FollowupStage
from worker.loop import view
from worker.loop.chat_alerts import queue_alerts
from worker.notify.message import ChatMessage
from worker.rules.conditions import holds
from worker.rules.followup import (
    Escalation,
    FollowupContext,
    FollowupFacts,
    ResponseFacts,
    next_escalation,
    rules_for,
)
from worker.rules.task_brief import (
    CallContext,
    Rep,
    customer_of,
    escalation_reason,
    escalation_text,
    read_outcomes,
    rep_for,
)
from worker.rules.task_texts import person_name
from worker.store.models import (
    Contact,
    FollowUp,
    FollowUpStatus,
    OutboxEntry,
    OutboxState,
    Response,
    Survey,
    TriggerRecord,
)
from worker.sync.base import AuthFailed, TaskPriority, TaskSpec, TaskState, UserProfile
from worker.sync.link import CrmLink
from worker.sync.outbox import Op, enqueue_after_task, enqueue_task, enqueue_update

log = structlog.get_logger(__name__)

STATUS_BATCH = 100
"""Task ids per status read: HubSpot's batch read size, and well inside a SOQL IN list."""
OPEN = (FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS)


@dataclass(frozen=True)
class EscalatedAnswer:
    """The answer an escalation is about, as its task tells it."""

    score: int
    comment: str | None
    contact: domain.Contact
    account: domain.Account | None
    call: CallContext
    config: Config
    program: str
    values: Mapping[str, Any]


@dataclass
class FollowupStats:
    """What reading back and SLA checks did in one cycle."""

    contacted: int = 0
    closed: int = 0
    cancelled: int = 0
    escalated: int = 0
    reassigned: int = 0
    """Tasks a person gave to another owner in the CRM (the follow-up now names them)."""


def followup_context(
    session: Session,
    config: Config,
    contact: domain.Contact,
    account: domain.Account | None,
    managers: Mapping[str, str],
    *,
    active_users: frozenset[str] | None = None,
    call: CallContext | None = None,
    values: Mapping[str, Any] | None = None,
) -> FollowupContext:
    """What the follow-up rules read from the store about a contact and its account.

    Past promoter asks are the ask tasks queued for this contact (see `ask_key`), so
    `not_asked_within` holds across answers. `active_users`, when known, are the users a task
    may go to (the CRM's own list). `values`: the contact's and account's audience values,
    when the caller has read them already.
    """
    if values is None:
        values = view.values_for(session, config, contact, account)
    return FollowupContext(
        values=values,
        managers=managers,
        high_priority_cases=_high_priority_cases(session, config, account),
        last_asks=_last_asks(session, config, contact),
        customer_since=account.customer_since if account else None,
        active_users=active_users,
        call=call or CallContext(),
    )


def _high_priority_cases(
    session: Session, config: Config, account: domain.Account | None
) -> list[dt.datetime]:
    """When the account's high-priority cases last changed (open or closed), newest first."""
    signal = config.followup.high_priority_cases
    if signal is None or account is None:
        return []
    rows = session.execute(
        select(TriggerRecord.values, TriggerRecord.modified_at).where(
            TriggerRecord.crm == account.crm,
            TriggerRecord.object == signal.object,
            TriggerRecord.account_crm_id == account.crm_id,
        )
    )
    return sorted((at for values, at in rows if holds(signal.when, values)), reverse=True)


def ask_key(kind: str, contact_id: int, response_id: str) -> str:
    """The dedup key of a promoter ask's task: one per kind, contact (row id) and response."""
    return f"ask:{kind}:{contact_id}:{response_id}"


def _last_asks(session: Session, config: Config, contact: domain.Contact) -> dict[str, dt.datetime]:
    """When each configured kind of promoter ask was last queued for this contact.

    The keys its asks can have are built from its responses (`ask_key`) and read through the
    outbox's unique index. Matching the keys by pattern read the whole outbox, which keeps a
    row for every CRM write ever queued, once for every answer handled.
    """
    kinds = {ask.kind for ask in config.followup.promoter.asks}
    if not kinds:
        return {}
    answered = session.execute(
        select(Contact.id, Response.id)
        .join(Survey, Survey.contact_id == Contact.id)
        .join(Response, Response.survey_id == Survey.id)
        .where(Contact.crm == contact.crm, Contact.crm_id == contact.crm_id)
    )
    keys = {
        ask_key(kind, contact_id, str(response_id)): kind
        for contact_id, response_id in answered
        for kind in kinds
    }
    asks: dict[str, dt.datetime] = {}
    if not keys:
        return asks
    queued = session.execute(
        select(OutboxEntry.dedup_key, OutboxEntry.created_at).where(OutboxEntry.dedup_key.in_(keys))
    )
    for key, at in queued:
        kind = keys[key]
        if kind not in asks or at > asks[kind]:
            asks[kind] = at
    return asks


def response_facts(response: Response, survey: Survey) -> ResponseFacts:
    """An answer as the follow-up rules see it.

    Its time is when it became final: a click made final days later keeps the click's time on
    the CRM, but its follow-up's SLA starts when the worker could first act on it.
    """
    return ResponseFacts(
        key=str(response.id),
        program=survey.program,
        score=response.score,
        received_at=max(response.received_at, response.confirmed_at or response.received_at),
        comment=response.comment,
        tags=tuple(response.reason_tags),
        summary=response.comment_summary,
        polarity=dict(response.reason_polarity or {}),
    )


def followup_stage(followup: FollowUp, now: dt.datetime) -> FollowupStage:
    """The stage reps see in the CRM for a follow-up."""
    if followup.status == FollowUpStatus.CLOSED:
        return FollowupStage.CLOSED
    if followup.status == FollowUpStatus.CANCELLED:
        return FollowupStage.CLOSED
    if followup.status == FollowUpStatus.IN_PROGRESS or followup.first_contact_at is not None:
        return FollowupStage.CONTACTED
    if followup.due_at <= now or followup.escalation_level > 0:
        return FollowupStage.OVERDUE
    if followup.status == FollowUpStatus.OPEN:
        return FollowupStage.ASSIGNED
    return FollowupStage.NEW


def read_task_status(
    sessions: sessionmaker[Session], link: CrmLink, now: dt.datetime
) -> tuple[FollowupStats, set[int]]:
    """Read open tasks back from the CRM; returns stats and the contacts whose stage may move.

    Every contact with an open task counts as touched, not only those whose task changed: a
    task the last drain created moved its contact from new to assigned with no CRM change to
    read. Re-writing an unchanged stage queues nothing (the mirror knows the CRM's value).
    """
    stats = FollowupStats()
    with sessions() as session:
        rows = session.execute(
            select(FollowUp.crm_task_id, FollowUp.id, Survey.contact_id)
            .join(Response, Response.id == FollowUp.response_id)
            .join(Survey, Survey.id == Response.survey_id)
            .where(
                FollowUp.crm == link.name,
                FollowUp.status.in_(OPEN),
                FollowUp.crm_task_id.is_not(None),
            )
        ).all()
    open_tasks = {task_id: followup_id for task_id, followup_id, _ in rows}
    touched = {contact_id for _, _, contact_id in rows}
    task_ids = sorted(task_id for task_id in open_tasks if task_id)
    for start in range(0, len(task_ids), STATUS_BATCH):
        statuses = link.client.task_statuses(task_ids[start : start + STATUS_BATCH])
        with sessions.begin() as session:
            wanted = {open_tasks[s.task_id] for s in statuses if s.task_id in open_tasks}
            loaded = session.scalars(select(FollowUp).where(FollowUp.id.in_(wanted)))
            followups = {followup.id: followup for followup in loaded}  # one query a batch
            for status in statuses:
                followup = followups.get(open_tasks.get(status.task_id, -1))
                if followup is None:
                    continue
                moved = _apply(followup, status.state, status.completed_at, status.modified_at, now)
                _read_outcomes(followup, status.body)
                if moved is not None:
                    setattr(stats, moved, getattr(stats, moved) + 1)
                stats.reassigned += _adopt_owner(session, followup, status.owner_id)
    return stats, touched


def _read_outcomes(followup: FollowUp, body: str | None) -> None:
    """Keep what the rep wrote on the outcome lines (apology, facts, expectations, interim
    measure, permanent fix), so the report can tell which steps were done."""
    found = read_outcomes(body)
    if found and found != {int(k): v for k, v in (followup.outcomes or {}).items()}:
        followup.outcomes = {str(step): text for step, text in found.items()}


def _adopt_owner(session: Session, followup: FollowUp, owner_id: str | None) -> int:
    """A task someone gave to another owner in the CRM: the follow-up follows (1), unless the
    worker's own move of it is still queued (0), so escalation asks the right manager."""
    if (
        not owner_id
        or owner_id == followup.owner_crm_id
        or followup.status == FollowUpStatus.CANCELLED
    ):
        return 0
    moving = session.scalar(
        select(OutboxEntry.id).where(
            OutboxEntry.dedup_key.like(f"{followup.dedup_key}:escalation:%"),
            OutboxEntry.op == Op.UPDATE.value,
            OutboxEntry.state.in_((OutboxState.PENDING, OutboxState.IN_FLIGHT)),
        )
    )
    if moving is not None:
        return 0
    followup.owner_crm_id = owner_id
    return 1


def _apply(
    followup: FollowUp,
    state: TaskState,
    completed_at: dt.datetime | None,
    modified_at: dt.datetime | None,
    now: dt.datetime,
) -> str | None:
    """Move the follow-up to what the task says; the name of the move, or None."""
    seen = modified_at or now
    if state == TaskState.COMPLETED:
        followup.status = FollowUpStatus.CLOSED
        followup.closed_at = completed_at or seen
        followup.first_contact_at = followup.first_contact_at or followup.closed_at
        return "closed"
    if state == TaskState.DELETED:
        followup.status = FollowUpStatus.CANCELLED
        followup.closed_at = seen
        return "cancelled"
    if state.value == "in_progress" and followup.status != FollowUpStatus.IN_PROGRESS:
        followup.status = FollowUpStatus.IN_PROGRESS
        followup.first_contact_at = followup.first_contact_at or seen
        return "contacted"
    return None


def check_slas(
    sessions: sessionmaker[Session],
    config: Config,
    link: CrmLink,
    now: dt.datetime,
    managers: Mapping[str, str],
) -> tuple[int, set[int]]:
    """Escalate follow-ups whose next tier is due; returns how many and the contacts touched.

    The CRM's users (names and languages for the escalation's text) are read once, and only
    when something escalates.
    """
    escalated = 0
    touched: set[int] = set()
    known: list[Mapping[str, UserProfile]] = []
    with sessions() as session:
        ids = list(
            session.scalars(
                select(FollowUp.id).where(
                    FollowUp.crm == link.name,
                    FollowUp.status.in_((FollowUpStatus.PENDING, *OPEN)),
                    FollowUp.first_contact_at.is_(None),
                    FollowUp.due_at <= now,
                )
            )
        )
    for followup_id in ids:
        with sessions.begin() as session:
            followup = session.get_one(FollowUp, followup_id)
            response = session.get_one(Response, followup.response_id)
            survey = session.get_one(Survey, response.survey_id)
            contact_row = session.get_one(Contact, survey.contact_id)
            contact = view.contact_of(contact_row)
            account_row = view.account_for(session, contact)
            account = view.account_of(account_row) if account_row else None
            facts = FollowupFacts(
                response=response_facts(response, survey),
                level=followup.escalation_level,
                due_at=followup.due_at,
                status="overdue",
                owner_id=followup.owner_crm_id,
            )
            context = followup_context(session, config, contact, account, managers)
            escalation = next_escalation(facts, contact, account, context, config.followup, now=now)
            touched.add(contact_row.id)
            if escalation is None:
                continue
            if not known:
                known.append(_users(link))
            users = known[0]
            open_escalation(
                session,
                link,
                followup,
                escalation,
                answer=EscalatedAnswer(
                    response.score,
                    response.comment,
                    contact,
                    account,
                    CallContext(users=users),
                    config,
                    survey.program,
                    context.values,
                ),
                contact=contact_row,
                action=tier_action(config, response.score, escalation.level),
                now=now,
            )
            escalated += 1
    return escalated, touched


def _users(link: CrmLink) -> Mapping[str, UserProfile]:
    """The CRM's users by id; none when the integration may not read them (ids are shown)."""
    try:
        return link.client.users()
    except AuthFailed as error:
        log.warning("users_unreadable", crm=link.name, code=error.code)
        return {}


def tier_action(config: Config, score: int, level: int) -> str:
    """What the escalation tier of `level` does for an answer of `score`: task or reassign."""
    tiers = rules_for(Category.of_score(score), config.followup).escalation
    return next((tier.action for tier in tiers if tier.level == level), "task")


def open_escalation(
    session: Session,
    link: CrmLink,
    followup: FollowUp,
    escalation: Escalation,
    *,
    answer: EscalatedAnswer,
    contact: Contact,
    action: str,
    now: dt.datetime,
) -> None:
    """The new level, and a task for the escalation's person or the task moved to them.

    One of either per follow-up and level (dedup keys), however often the check runs, and
    whether or not the task exists in the CRM yet: a task still queued is moved before it is
    created, so a detractor keeps one task (promise 5). An escalation that reached a fallback
    person, or nobody, is logged and kept on the follow-up for `status`.
    """
    followup.escalation_level = escalation.level
    followup.escalated_at = now
    followup.escalation_fallback = escalation.fallback
    _report_fallback(followup, escalation)
    key = f"{followup.dedup_key}:escalation:{escalation.level}"
    if action == "reassign" and escalation.notify_id:
        _reassign(session, link, followup, escalation.notify_id, key=key, now=now)
        log.info("followup_reassigned", followup_id=followup.id, level=escalation.level)
        return
    if action == "reassign":
        return  # nobody to move it to: the task stays with its owner, `status` shows it
    log.info(
        "followup_escalated",
        followup_id=followup.id,
        level=escalation.level,
        notify=escalation.notify,
        reason=escalation.reason,
    )
    due_at = now + dt.timedelta(hours=24)
    users = answer.call.users
    reader = rep_for(escalation.notify_id, users, answer.config.followup)
    overdue = now - followup.due_at if escalation.reason != "at once" else None
    if overdue is not None and overdue <= dt.timedelta(0):
        overdue = None

    def written(language: str) -> tuple[str, str]:
        owner = users.get(followup.owner_crm_id or "")
        return escalation_text(
            level=escalation.level,
            score=answer.score,
            comment=answer.comment,
            customer=customer_of(answer.contact, answer.account, language),
            reader=Rep(reader.user_id, reader.name, language, reader.time_zone),
            notify=escalation.notify,
            reason=escalation_reason(overdue, language),
            owner_name=person_name(owner.first_name, owner.last_name, language)
            if owner
            else followup.owner_crm_id,
            original_due=followup.due_at,
            due_at=due_at,
        )

    def compose(language: str) -> ChatMessage:
        title, lines = written(language)
        moment = answer.call.moment
        return ChatMessage(title, tuple(lines.splitlines()), moment.url if moment else None)

    subject, body = written(reader.language)
    queue_alerts(
        session,
        answer.config,
        kind="escalation" if overdue is None else "sla_breach",
        key=key,
        program=answer.program,
        values=answer.values,
        compose=compose,
        now=now,
    )
    enqueue_task(
        session,
        link.name,
        TaskSpec(
            dedup_key=key,
            subject=subject,
            body=body,
            due_at=due_at,
            priority=TaskPriority.HIGH,
            owner_id=escalation.notify_id,
            contact_id=contact.crm_id,
            account_id=contact.account_crm_id,
            time_zone=reader.time_zone,
        ),
        now=now,
    )


def _report_fallback(followup: FollowUp, escalation: Escalation) -> None:
    """Say when an escalation could not reach the person its tier names (never silently)."""
    if escalation.fallback is None:
        return
    log.warning(
        "escalation_unowned" if escalation.fallback == "nobody" else "escalation_fallback",
        followup_id=followup.id,
        level=escalation.level,
        notify=escalation.notify,
        fallback=escalation.fallback,
    )


def _reassign(
    session: Session,
    link: CrmLink,
    followup: FollowUp,
    owner_id: str,
    *,
    key: str,
    now: dt.datetime,
) -> None:
    """Move the follow-up's task to `owner_id`, whether or not the CRM has created it yet.

    A task whose create was never sent is created with the new owner; one being created (sent,
    outcome unknown) gets an owner update that waits for its id (`Outbox` fills it in).
    """
    followup.owner_crm_id = owner_id
    update = link.task_owner_update(followup.crm_task_id or "", owner_id, key)
    if followup.crm_task_id:
        enqueue_update(session, link.name, update, essential=True, now=now)
        return
    queued = session.scalar(
        select(OutboxEntry).where(
            OutboxEntry.dedup_key == followup.dedup_key, OutboxEntry.op == Op.CREATE_TASK.value
        )
    )
    if queued is not None and queued.state == OutboxState.PENDING and queued.attempts == 0:
        queued.fields = {**queued.fields, "owner_id": owner_id}
        return
    enqueue_after_task(session, link.name, update, followup_id=followup.id, now=now)

"""Take in answers: tags, write-back onto the contact, a response note, and the follow-up task.

Each response is handled in one transaction: its final tags, the CRM writes it causes (queued in
the outbox), its follow-up row and the mark asking for its account's roll-up commit together
with `handled_version`, so a crash handles it again from the start and the outbox's dedup keys
keep every write single (promises 4 and 5); a cycle cut short after it still leaves the mark.
An answer changed later (a new version) is handled again; its follow-up task is not duplicated.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.domain import Category
from worker.loop import view
from worker.loop.call_context import call_context
from worker.loop.chat_alerts import queue_alerts
from worker.loop.followups import (
    EscalatedAnswer,
    ask_key,
    followup_context,
    open_escalation,
    response_facts,
    tier_action,
)
from worker.loop.writeback import write_contact
from worker.notify.message import ChatMessage
from worker.rules.followup import FollowupPlan, TaskPlan, plan_followup
from worker.rules.tagging import Tagger
from worker.rules.task_brief import (
    CallContext,
    Rep,
    brief_lines,
    customer_of,
    note_body,
    note_subject,
    rep_for,
    task_subject,
)
from worker.store.mirror import mark_for_rollup
from worker.store.models import (
    Account,
    Contact,
    FollowUp,
    FollowUpStatus,
    Response,
    Survey,
)
from worker.sync.base import AuthFailed, NoteSpec, TaskPriority, TaskSpec, UserProfile
from worker.sync.link import CrmLink
from worker.sync.outbox import enqueue_note, enqueue_task

log = structlog.get_logger(__name__)

BATCH = 200


@dataclass
class AnswerStats:
    """What handling answers did in one cycle."""

    handled: int = 0
    tasks: int = 0
    escalated: int = 0
    asks: int = 0


def handle_answers(
    sessions: sessionmaker[Session],
    config: Config,
    link: CrmLink,
    now: dt.datetime,
    managers: Mapping[str, str],
) -> AnswerStats:
    """Handle every final answer of this CRM's contacts not handled in its current version.

    The CRM's active users are read once, before the first answer: tasks go to active owners
    only (an inactive one is skipped down the owner chain).
    """
    stats = AnswerStats()
    tagger = Tagger(config.tags, learned=config.tagging.learned)
    users: dict[str, UserProfile] | None = None
    read_active = False
    while True:
        with sessions() as session:
            ids = list(
                session.scalars(
                    select(Response.id)
                    .join(Survey, Survey.id == Response.survey_id)
                    .join(Contact, Contact.id == Survey.contact_id)
                    .where(
                        Contact.crm == link.name,
                        Response.provisional.is_(False),
                        Response.version > Response.handled_version,
                    )
                    .order_by(Response.received_at, Response.id)
                    .limit(BATCH)
                )
            )
        if not ids:
            return stats
        if not read_active:
            users, read_active = _users(link), True
        for response_id in ids:
            with sessions.begin() as session:
                _handle(
                    session,
                    config,
                    link,
                    tagger,
                    response_id,
                    now=now,
                    managers=managers,
                    users=users,
                    stats=stats,
                )


def _users(link: CrmLink) -> dict[str, UserProfile] | None:
    """The CRM's active users with names and locales, or None (all taken as active) when the
    integration may not read them (a HubSpot private app without the
    `crm.objects.owners.read` scope): answers are still handled, and a task the CRM then
    refuses shows in `status`."""
    try:
        return link.client.users()
    except AuthFailed as error:
        log.warning("active_users_unreadable", crm=link.name, code=error.code)
        return None


@dataclass(frozen=True)
class _Answer:
    """One response being handled, with everything around it, inside its transaction."""

    session: Session
    link: CrmLink
    now: dt.datetime
    response: Response
    survey: Survey
    contact: Contact
    account: Account | None
    active: frozenset[str] | None
    """The CRM's users who may own a task now (None: not known)."""


def _handle(
    session: Session,
    config: Config,
    link: CrmLink,
    tagger: Tagger,
    response_id: int,
    *,
    now: dt.datetime,
    managers: Mapping[str, str],
    users: Mapping[str, UserProfile] | None,
    stats: AnswerStats,
) -> None:
    response, survey, contact_row, account_row = _rows(session, response_id)
    tagged = tagger.tag(
        response.comment, survey.language, response.chosen_tags, score=response.score
    )
    response.reason_tags = list(tagged.tags)
    response.reason_polarity = {tag: str(tagged.polarity_of(tag)) for tag in tagged.tags}
    response.comment_summary = tagged.summary or None
    contact = view.contact_of(contact_row)
    account = view.account_of(account_row) if account_row else None
    active = frozenset(users) if users is not None else None
    answer = _Answer(session, link, now, response, survey, contact_row, account_row, active)
    facts = response_facts(response, survey)
    values = view.values_for(session, config, contact, account)
    call = call_context(
        session,
        config,
        response,
        survey,
        account=account_row,
        values=values,
        users=users or {},
        now=now,
    )
    context = followup_context(
        session, config, contact, account, managers, active_users=active, call=call, values=values
    )
    followup = session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
    if followup is None and response.followup_wanted:
        plan = plan_followup(facts, contact, account, context, config.followup, now=now)
        followup = _open_followup(answer, plan)
        stats.tasks += followup is not None
        if followup is not None and plan.category is Category.DETRACTOR and plan.task:
            _alert(answer, config, plan.task, values, call)
        if followup is not None and plan.escalations and plan.task is not None:
            open_escalation(
                session,
                link,
                followup,
                plan.escalations[-1],
                answer=EscalatedAnswer(
                    response.score,
                    response.comment,
                    contact,
                    account,
                    call,
                    config,
                    survey.program,
                    values,
                ),
                contact=contact_row,
                action=tier_action(config, response.score, plan.escalations[-1].level),
                now=now,
            )
            stats.escalated += 1
        stats.asks += _ask(answer, plan)
    owner = contact_row.owner_crm_id or (account_row.owner_crm_id if account_row else None)
    _note(answer, call, rep_for(owner, users or {}, config.followup).language)
    write_contact(session, link, contact_row, now)
    response.handled_version = response.version
    mark_for_rollup(session, [contact_row.account_id], now)
    stats.handled += 1


def _rows(session: Session, response_id: int) -> tuple[Response, Survey, Contact, Account | None]:
    """The response, its survey, its contact and the contact's mirrored account (as
    `view.account_for` finds it), in one query: every answer of a cycle asks."""
    found = session.execute(
        select(Response, Survey, Contact, Account)
        .join(Survey, Survey.id == Response.survey_id)
        .join(Contact, Contact.id == Survey.contact_id)
        .outerjoin(
            Account,
            (Account.crm == Contact.crm) & (Account.crm_id == Contact.account_crm_id),
        )
        .where(Response.id == response_id)
    ).one()
    response, survey, contact, account = found.tuple()
    return response, survey, contact, account


def _open_followup(answer: _Answer, plan: FollowupPlan) -> FollowUp | None:
    """The follow-up row and its queued CRM task (promise 5: one per response, by key)."""
    task = plan.task
    if task is None:
        return None
    contact, account = answer.contact, answer.account
    followup = FollowUp(
        response_id=answer.response.id,
        dedup_key=task.dedup_key,
        crm=contact.crm,
        owner_crm_id=task.owner_id,
        status=FollowUpStatus.PENDING,
        due_at=task.due_at,
        escalation_level=0,
        created_at=answer.now,
    )
    answer.session.add(followup)
    answer.session.flush()
    enqueue_task(
        answer.session,
        answer.link.name,
        TaskSpec(
            dedup_key=task.dedup_key,
            subject=task.subject,
            body=task.body,
            due_at=task.due_at,
            priority=TaskPriority(task.priority),
            owner_id=task.owner_id,
            contact_id=contact.crm_id,
            account_id=account.crm_id if account else contact.account_crm_id,
            time_zone=task.rep.time_zone if task.rep else None,
        ),
        now=answer.now,
        followup_id=followup.id,
    )
    return followup


def _alert(
    answer: _Answer,
    config: Config,
    task: TaskPlan,
    values: Mapping[str, Any],
    call: CallContext,
) -> None:
    """Queue the detractor's chat alerts: the task's facts and context, in each chat's language."""
    facts, rep = task.facts, task.rep
    if facts is None or rep is None:
        return
    contact, account = view.contact_of(answer.contact), answer.account
    domain_account = view.account_of(account) if account else None

    def compose(language: str) -> ChatMessage:
        reader = Rep(rep.user_id, rep.name, language, rep.time_zone)
        customer = customer_of(contact, domain_account, language)
        lines = brief_lines(facts, customer, reader, call, task.chain)
        title = task_subject(facts.score, customer, facts.due_at, reader)
        link = call.moment.url if call.moment else None
        return ChatMessage(title, tuple(line for line in lines if line), link)

    queue_alerts(
        answer.session,
        config,
        kind="detractor",
        key=task.dedup_key,
        program=answer.survey.program,
        values=values,
        compose=compose,
        now=answer.now,
    )


def _ask(answer: _Answer, plan: FollowupPlan) -> int:
    """A promoter ask granted by its conditions becomes a task for the contact's owner (or,
    when that user is inactive, the account's; else the CRM's default owner)."""
    contact, account = answer.contact, answer.account
    owners = (contact.owner_crm_id, account.owner_crm_id if account else None)
    active = answer.active
    owner = next((u for u in owners if u and (active is None or u in active)), None)
    asked = 0
    for ask in plan.asks:
        if not ask.granted:
            continue
        where = f" ({ask.url})" if ask.url else ""
        enqueue_task(
            answer.session,
            answer.link.name,
            TaskSpec(
                dedup_key=ask_key(ask.kind, contact.id, plan.response_key),
                subject=f"NPS promoter: ask for a {ask.kind}",
                body=f"This promoter qualifies for a {ask.kind} ask{where}.",
                due_at=answer.now + dt.timedelta(days=7),
                priority=TaskPriority.LOW,
                owner_id=owner,
                contact_id=contact.crm_id,
                account_id=contact.account_crm_id,
            ),
            now=answer.now,
        )
        asked += 1
    return asked


def _note(answer: _Answer, call: CallContext, language: str) -> None:
    """The answer as a timeline note on the contact: response history inside the CRM, its
    subject the score at a glance ("NPS 3 · Detractor") in the owner's language.

    One note per response (its key); a later change of the answer updates the contact's
    fields, while the note keeps the answer as first given.
    """
    response, contact, account = answer.response, answer.contact, answer.account
    body = note_body(
        response.score,
        answer.survey.program,
        response.reason_tags,
        response.comment,
        call=call,
        language=language,
    )
    enqueue_note(
        answer.session,
        answer.link.name,
        NoteSpec(
            dedup_key=f"note:response:{response.id}",
            body=body,
            at=response.received_at,
            contact_id=contact.crm_id,
            account_id=account.crm_id if account else contact.account_crm_id,
            subject=note_subject(response.score, language),
        ),
        now=answer.now,
    )

"""`nps-worker explain`: why a contact was or was not surveyed, and what happened after.

Everything is read from the store: the events considered for the contact, each eligibility
decision with all of its checks, the surveys, answers and follow-ups, and the CRM writes still
pending or refused. The contact is shown by CRM id and masked address only, and every look is
recorded in the audit log, since it reads a person's data.
"""

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.loop.followups import followup_stage
from worker.privacy import audit, contact_subject
from worker.privacy.command import contact_objects
from worker.readout import mask_email, when
from worker.rules.eligibility import Check, Eligibility
from worker.rules.explain import render
from worker.store.models import (
    Account,
    Contact,
    CrmEvent,
    DecisionOutcome,
    FollowUp,
    OutboxEntry,
    OutboxState,
    Response,
    ResponseVersion,
    Suppression,
    Survey,
    SurveyDecision,
    SurveyState,
)
from worker.surveys.dispatch import RESENDING, SENDING, UNKNOWN

INDENT = "    "


class NothingFound(LookupError):
    """No contact or account in the local mirror matches what the operator asked about."""

    def __init__(self, who: str) -> None:
        super().__init__(
            f"explain: no contact or account with e-mail or CRM id {who!r} in the local mirror"
            " (the mirror is filled by `nps-worker sync`)"
        )


def explain(
    session: Session, config: Config, who: str, now: dt.datetime, *, actor: str = "cli"
) -> list[str]:
    """The story of the contacts an e-mail or CRM id names (or of an account's contacts).

    Raises `NothingFound` when neither a contact nor an account matches. Each contact or
    account shown is audited in the caller's transaction.
    """
    query = who.strip()
    by_email = "@" in query
    key = Contact.email == query.lower() if by_email else Contact.crm_id == query
    contacts = list(session.scalars(select(Contact).where(key).order_by(Contact.crm, Contact.id)))
    accounts = (
        []
        if by_email
        else list(
            session.scalars(
                select(Account).where(Account.crm_id == query).order_by(Account.crm, Account.id)
            )
        )
    )
    if not contacts and not accounts:
        raise NothingFound(query)
    blocks = [_account(session, account, now, actor) for account in accounts]
    for contact in contacts:
        blocks.append(
            _contact(
                session, config, contact, now, actor=actor, query="email" if by_email else "id"
            )
        )
    return [line for block in blocks for line in ("", *block)][1:]


def _account(session: Session, account: Account, now: dt.datetime, actor: str) -> list[str]:
    """One line per contact of the account: enough to pick whom to explain next."""
    contacts = list(
        session.scalars(
            select(Contact)
            .where(Contact.crm == account.crm, Contact.account_crm_id == account.crm_id)
            .order_by(Contact.crm_id)
        )
    )
    name = f" {account.name!r}" if account.name else ""
    lines = [f"account {account.crm.value} {account.crm_id}{name}: {len(contacts)} contact(s)"]
    for contact in contacts:
        flags = "".join(
            text
            for text, on in ((", opted out", contact.opted_out), (", deleted", contact.deleted))
            if on
        )
        lines.append(
            f"{INDENT}{contact.crm_id} {mask_email(contact.email)}: {_latest(session, contact)}"
            f"{flags}"
        )
    if contacts:
        lines.append(f"{INDENT}(run `nps-worker explain <contact id>` for one contact's story)")
    subject = f"account:{account.crm.value}:{account.crm_id}"
    audit(session, actor, "explain", subject, details={"contacts": len(contacts)}, now=now)
    return lines


def _latest(session: Session, contact: Contact) -> str:
    """The contact's last survey and its score, else the last verdict that kept it from one."""
    survey = session.scalars(
        select(Survey).where(Survey.contact_id == contact.id).order_by(Survey.id.desc())
    ).first()
    if survey is None:
        decision = session.scalars(
            select(SurveyDecision)
            .where(SurveyDecision.contact_id == contact.id)
            .order_by(SurveyDecision.id.desc())
        ).first()
        if decision is None:
            return "never considered for a survey"
        verdict = "refused" if decision.outcome == DecisionOutcome.REFUSE else "deferred"
        return (
            f"not surveyed: {decision.program} {verdict}"
            f" ({decision.reason_code or '-'}) {when(decision.decided_at)}"
        )
    text = f"last survey {survey.program} {survey.state.value} ({when(survey.scheduled_for)})"
    response = session.scalar(select(Response).where(Response.survey_id == survey.id))
    if response is not None:
        text += f", score {response.score} ({response.category.value})"
    return text


def _contact(
    session: Session, config: Config, contact: Contact, now: dt.datetime, *, actor: str, query: str
) -> list[str]:
    lines = [_contact_head(contact)]
    lines.extend(_contact_state(session, contact))
    surveys = list(
        session.scalars(select(Survey).where(Survey.contact_id == contact.id).order_by(Survey.id))
    )
    decisions = list(
        session.scalars(
            select(SurveyDecision)
            .where(SurveyDecision.contact_id == contact.id)
            .order_by(SurveyDecision.id)
        )
    )
    events = _events(session, contact, surveys, decisions)
    if not events and not surveys:
        lines.append(f"{INDENT}no event has been considered for this contact yet")
    followup_ids: list[int] = []
    for event in events:
        lines.append(_event_line(event))
        for decision in (d for d in decisions if d.crm_event_id == event.id):
            lines.extend(_decision(decision, event, contact, surveys))
        for survey in (s for s in surveys if s.crm_event_id == event.id):
            lines.extend(_survey(session, survey, now, followup_ids))
    loose = [survey for survey in surveys if survey.crm_event_id is None]
    if loose:
        lines.append("surveys without a CRM event:")
        for survey in loose:
            lines.extend(_survey(session, survey, now, followup_ids))
    lines.extend(_writes(session, config, contact, followup_ids))
    audit(
        session,
        actor,
        "explain",
        contact_subject(contact.crm.value, contact.crm_id),
        details={"by": query, "events": len(events), "surveys": len(surveys)},
        now=now,
    )
    return lines


def _contact_head(contact: Contact) -> str:
    account = f", account {contact.account_crm_id}" if contact.account_crm_id else ""
    language = f", language {contact.language}" if contact.language else ""
    deleted = " (deleted in the CRM)" if contact.deleted else ""
    return (
        f"contact {contact.crm.value} {contact.crm_id} {mask_email(contact.email)}"
        f"{account}{language}{deleted}"
    )


def _contact_state(session: Session, contact: Contact) -> list[str]:
    """Opt-out in the CRM and local suppression: the two reasons a contact is never surveyed."""
    lines = [f"{INDENT}opted out in the CRM: {'yes' if contact.opted_out else 'no'}"]
    suppression = (
        session.scalar(
            select(Suppression).where(
                Suppression.email_hash == Suppression.hash_email(contact.email)
            )
        )
        if contact.email
        else None
    )
    if suppression is None:
        lines.append(f"{INDENT}suppressed locally: no")
    else:
        lines.append(
            f"{INDENT}suppressed locally: yes ({suppression.reason.value} via"
            f" {suppression.source}, {when(suppression.created_at)})"
        )
    return lines


def _events(
    session: Session,
    contact: Contact,
    surveys: Sequence[Survey],
    decisions: Sequence[SurveyDecision],
) -> list[CrmEvent]:
    """Events planned for the contact, plus those still waiting to be planned that name it."""
    linked = {s.crm_event_id for s in surveys} | {d.crm_event_id for d in decisions}
    linked.discard(None)
    rows = session.scalars(
        select(CrmEvent)
        .where(
            or_(
                CrmEvent.contact_id == contact.id,
                CrmEvent.id.in_(linked),
                (CrmEvent.crm == contact.crm) & CrmEvent.planned_at.is_(None),
            )
        )
        .order_by(CrmEvent.occurred_at, CrmEvent.id)
    )
    return [
        event
        for event in rows
        if event.contact_id == contact.id
        or event.id in linked
        or (event.payload or {}).get("contact_crm_id") == contact.crm_id
    ]


def _event_line(event: CrmEvent) -> str:
    if event.planned_at is not None:
        planned = f"planned {when(event.planned_at)}"
    else:
        planned = f"waiting to be planned at {when(event.fire_at or event.occurred_at)}"
    return (
        f"event {event.dedup_key}: program {event.program or '-'}, {event.kind} on"
        f" {event.object} {event.record_crm_id} at {when(event.occurred_at)}, {planned}"
    )


def _decision(
    decision: SurveyDecision, event: CrmEvent, contact: Contact, surveys: Sequence[Survey]
) -> list[str]:
    """The stored verdict with every check, in the rules' own words."""
    survey = next((s for s in surveys if s.id == decision.survey_id), None)
    verdict = Eligibility(
        program=decision.program,
        dedup_key=event.dedup_key,
        contact_crm_id=contact.crm_id,
        outcome=decision.outcome.value,
        send_at=survey.scheduled_for if survey is not None else None,
        reason_code=decision.reason_code,
        checks=tuple(
            Check(str(c.get("code")), bool(c.get("passed")), str(c.get("detail", "")))
            for c in decision.checks
        ),
    )
    lines = render(verdict)
    lines[0] += f" (decided {when(decision.decided_at)})"
    return [INDENT + line for line in lines]


_HANDOVER_LINES = {
    SENDING: "possibly not delivered: the worker stopped while handing it over"
    " (unless it is being sent right now); after survey.delivery.grace it is re-sent once"
    " with the same Message-ID, or reported",
    RESENDING: "possibly not delivered: being re-sent after a crash, or the worker stopped"
    " during the re-send too; after survey.delivery.grace it is re-sent again (a few times"
    " at most), or reported",
    UNKNOWN: "delivery unknown: a crash cut its hand-over off; reported, never sent again",
}
"""What explain says about a send whose outcome is not (yet) recorded."""


def _survey(
    session: Session, survey: Survey, now: dt.datetime, followup_ids: list[int]
) -> list[str]:
    """The survey's life, then its answer and the follow-up on it."""
    reminders = f" ({survey.reminder_count} reminder(s))" if survey.reminder_count else ""
    lines = [
        f"{INDENT}survey {survey.id} ({survey.program}): {survey.state.value},"
        f" by {survey.channel.value} in {survey.language}",
        f"{INDENT * 2}scheduled {when(survey.scheduled_for)}, sent {when(survey.sent_at)},"
        f" reminded {when(survey.reminded_at)}{reminders}, answered {when(survey.answered_at)},"
        f" expires {when(survey.expires_at)}",
    ]
    started = survey.state in (SurveyState.SENT, SurveyState.REMINDED)
    if started and survey.state_reason in _HANDOVER_LINES:
        lines.append(f"{INDENT * 2}{_HANDOVER_LINES[survey.state_reason]}")
    elif survey.state_reason:
        lines.append(f"{INDENT * 2}reason: {survey.state_reason}")
    response = session.scalar(select(Response).where(Response.survey_id == survey.id))
    if response is not None:
        lines.extend(_answer(session, response))
        followup = session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
        if followup is not None:
            followup_ids.append(followup.id)
            lines.append(_followup(followup, now))
    return lines


def _answer(session: Session, response: Response) -> list[str]:
    versions = session.scalars(
        select(ResponseVersion.id).where(ResponseVersion.response_id == response.id)
    ).all()
    kind = "provisional (no human signal yet)" if response.provisional else "final"
    polarity = response.reason_polarity or {}
    tags = (
        ", ".join(
            f"{tag} ({polarity[tag]})" if tag in polarity else tag for tag in response.reason_tags
        )
        or "none"
    )
    if response.comment_summary:
        comment = f"comment: {response.comment_summary}"
    elif response.comment:
        comment = f"comment of {len(response.comment)} characters"
    else:
        comment = "no comment"
    return [
        f"{INDENT * 2}answer {response.score} ({response.category.value}), {kind},"
        f" {len(versions)} version(s), via {response.source.value},"
        f" received {when(response.received_at)}",
        f"{INDENT * 3}tags: {tags}; {comment}",
    ]


def _followup(followup: FollowUp, now: dt.datetime) -> str:
    stage = followup_stage(followup, now).value
    return (
        f"{INDENT * 2}follow-up {stage} (task {followup.crm_task_id or 'not created yet'},"
        f" {followup.status.value}): owner {followup.owner_crm_id or 'unassigned'},"
        f" due {when(followup.due_at)}, first contact {when(followup.first_contact_at)},"
        f" closed {when(followup.closed_at)}, escalation level {followup.escalation_level}"
    )


def _writes(
    session: Session, config: Config, contact: Contact, followup_ids: Sequence[int]
) -> list[str]:
    """CRM writes about the contact not yet applied: pending, in flight, or refused."""
    objects = contact_objects(config)
    rows = session.scalars(
        select(OutboxEntry)
        .where(
            OutboxEntry.crm == contact.crm,
            OutboxEntry.state != OutboxState.DONE,
            or_(
                OutboxEntry.record_crm_id == contact.crm_id,
                OutboxEntry.record_crm_id.is_(None),
                OutboxEntry.followup_id.in_(followup_ids),
            ),
        )
        .order_by(OutboxEntry.id)
    )
    about = [
        row
        for row in rows
        if (row.record_crm_id == contact.crm_id and row.object in objects)
        or row.followup_id in followup_ids
        or (row.fields or {}).get("contact_id") == contact.crm_id
    ]
    if not about:
        return ["CRM writes: none pending or failed"]
    lines = ["CRM writes not yet applied:"]
    for row in about:
        target = f"{row.object} {row.record_crm_id}" if row.record_crm_id else row.object
        fields = ", ".join(sorted(row.fields or {}))
        if row.state == OutboxState.FAILED:
            progress = f"refused after {row.attempts} attempt(s): {row.last_error or '-'}"
        else:
            error = f", last error {row.last_error}" if row.last_error else ""
            progress = f"{row.attempts} attempt(s), next {when(row.next_attempt_at)}{error}"
        lines.append(f"{INDENT}{row.state.value} {row.op} {target} [{fields}]: {progress}")
    return lines

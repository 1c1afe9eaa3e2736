"""Survey plan: each due event becomes a scheduled survey or a refusal with its reason.

Planning runs in the replica holding the scheduler lease. Each event is planned in its own
transaction: the history read, the eligibility verdict and the new survey commit together, so
a crash re-plans the event from scratch and the `(program, crm_event_id)` constraint keeps a
second survey out (promise 2). Every verdict is stored with all its checks for `explain`.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import structlog
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.config.programs import DateOffsetTrigger, RecordChangeTrigger
from worker.loop import view
from worker.loop.events import store_events
from worker.rules.eligibility import (
    Eligibility,
    PastSurvey,
    Situation,
    check_eligibility,
    survey_timeline,
)
from worker.rules.triggers import EventCandidate, TriggerDecision, expand_contacts
from worker.store.models import (
    Contact,
    CrmEvent,
    DecisionOutcome,
    Suppression,
    Survey,
    SurveyChannel,
    SurveyDecision,
    SurveyState,
)
from worker.surveys.render import pick_language
from worker.surveys.tokens import new_token_id

log = structlog.get_logger(__name__)

BATCH = 200
"""Events planned per query round; each event still commits on its own."""

CHANNELS = {
    "email": SurveyChannel.EMAIL,
    "crm_field": SurveyChannel.CRM,
    "webhook": SurveyChannel.WEBHOOK,
}
LIVE_STATES = (
    SurveyState.PLANNED,
    SurveyState.SCHEDULED,
    SurveyState.SENT,
    SurveyState.REMINDED,
    SurveyState.ANSWERED,
    SurveyState.EXPIRED,
)
"""States of surveys that went out, or will."""


def _counts_against_throttles() -> ColumnElement[bool]:
    """A survey that went out or will: every delivered invitation counts, whatever became of
    it later (an unsubscribe suppresses the reminders of a survey already delivered)."""
    return or_(Survey.state.in_(LIVE_STATES), Survey.sent_at.is_not(None))


@dataclass
class PlanStats:
    """What one planning pass decided."""

    scheduled: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    events: int = 0


def plan_due_events(
    sessions: sessionmaker[Session], config: Config, crm: str, now: dt.datetime
) -> PlanStats:
    """Plan every stored event of `crm` whose fire time has come and that is not planned yet."""
    stats = PlanStats()
    done: set[int] = set()
    while True:
        with sessions() as session:
            ids = list(
                session.scalars(
                    select(CrmEvent.id)
                    .where(
                        CrmEvent.crm == crm,
                        CrmEvent.planned_at.is_(None),
                        or_(CrmEvent.fire_at.is_(None), CrmEvent.fire_at <= now),
                        CrmEvent.id.not_in(done) if done else CrmEvent.id.is_not(None),
                    )
                    .order_by(CrmEvent.fire_at, CrmEvent.id)
                    .limit(BATCH)
                )
            )
        if not ids:
            return stats
        for event_id in ids:
            with sessions.begin() as session:
                _plan_event(session, config, event_id, now, stats)
            done.add(event_id)


def _plan_event(
    session: Session, config: Config, event_id: int, now: dt.datetime, stats: PlanStats
) -> None:
    event = session.get(CrmEvent, event_id, with_for_update=True)
    if event is None or event.planned_at is not None:
        return
    stats.events += 1
    program = config.programs.get(event.program or "")
    if program is None or not program.enabled:
        event.planned_at = now
        log.info("event_dropped", program=event.program, reason="program removed or disabled")
        return
    candidate = _candidate(event, config)
    if candidate.contact_selector is not None:
        _expand(session, config, event, candidate, now)
        event.planned_at = now
        return
    contact_row = view.contacts_by_crm_id(
        session, event.crm.value, [candidate.contact_crm_id or ""]
    ).get(candidate.contact_crm_id or "")
    verdict = _judge(session, config, candidate, contact_row, now)
    survey = _schedule(session, config, event, contact_row=contact_row, verdict=verdict, now=now)
    _record(session, event, contact_row=contact_row, verdict=verdict, survey=survey, now=now)
    event.contact_id = contact_row.id if contact_row else None
    event.account_id = contact_row.account_id if contact_row else None
    event.planned_at = now
    if survey is not None:
        stats.scheduled += 1
    else:
        stats.refused[verdict.reason_code or "refused"] += 1


def _candidate(event: CrmEvent, config: Config) -> EventCandidate:
    """The rules' view of a stored event."""
    payload = dict(event.payload or {})
    contact_crm_id = payload.pop("contact_crm_id", None)
    account_crm_id = payload.pop("account_crm_id", None)
    per_account = payload.pop("account_contacts", False)
    trigger = config.programs[event.program or ""].trigger
    selector = None
    if (
        per_account
        and contact_crm_id is None
        and isinstance(trigger, RecordChangeTrigger | DateOffsetTrigger)
    ):
        selector = trigger.contact.account_contacts
    return EventCandidate(
        dedup_key=event.dedup_key,
        program=event.program or "",
        kind=event.kind,  # type: ignore[arg-type]
        object=event.object,
        record_crm_id=event.record_crm_id,
        contact_crm_id=contact_crm_id,
        account_crm_id=account_crm_id,
        occurred_at=event.occurred_at,
        fire_at=event.fire_at or event.occurred_at,
        contact_selector=selector,
        payload=payload,
    )


def _expand(
    session: Session, config: Config, event: CrmEvent, candidate: EventCandidate, now: dt.datetime
) -> None:
    """An account-level event becomes one child event per matching contact of the account."""
    crm = event.crm.value
    rows = list(
        session.scalars(
            select(Contact).where(
                Contact.crm == crm, Contact.account_crm_id == candidate.account_crm_id
            )
        )
    )
    contacts = [view.contact_of(row) for row in rows]
    accounts = {
        crm_id: view.account_of(row)
        for crm_id, row in view.accounts_by_crm_id(
            session, crm, [candidate.account_crm_id or ""]
        ).items()
    }
    _, contact_object = view.record_objects(config)
    values = view.record_values(session, crm, contact_object, [c.crm_id for c in contacts])
    children = expand_contacts(candidate, contacts, accounts, values)
    decisions = [
        TriggerDecision(
            child.program, child.kind, child.object, child.record_crm_id, "fired", "", child
        )
        for child in children
    ]
    store_events(session, crm, decisions, now)


def _judge(
    session: Session,
    config: Config,
    candidate: EventCandidate,
    contact_row: Contact | None,
    now: dt.datetime,
) -> Eligibility:
    program = config.programs[candidate.program]
    if contact_row is None:
        return check_eligibility(
            candidate, None, None, Situation(), program=program, survey=config.survey, now=now
        )
    contact = view.contact_of(contact_row)
    account_row = view.account_for(session, contact)
    account = view.account_of(account_row) if account_row else None
    situation = Situation(
        history=_history(session, contact_row),
        account_surveys=_account_surveys(session, contact_row.account_id, now, config),
        suppressed=_suppressed(session, contact.email),
        scheduled_per_day=_scheduled_per_day(session, now),
        values=view.values_for(session, config, contact, account),
    )
    return check_eligibility(
        candidate, contact, account, situation, program=program, survey=config.survey, now=now
    )


def _history(session: Session, contact: Contact) -> list[PastSurvey]:
    """Every survey of the person that went out or will, from any program (promise 1).

    The person is the contact and every other mirrored contact with the same address: CRMs
    hold duplicates, and a person counts once however many records they have.
    """
    people = [Survey.contact_id == contact.id]
    if contact.email:
        same_address = select(Contact.id).where(Contact.email == contact.email)
        people.append(Survey.contact_id.in_(same_address))
    rows = session.execute(
        select(Survey.program, Survey.sent_at, Survey.scheduled_for, Survey.answered_at).where(
            or_(*people), _counts_against_throttles()
        )
    )
    return [
        PastSurvey(program, sent_at or scheduled_for, answered_at is not None)
        for program, sent_at, scheduled_for, answered_at in rows
    ]


def _account_surveys(
    session: Session, account_id: int | None, now: dt.datetime, config: Config
) -> list[dt.datetime]:
    """Send times of surveys to anyone at the account, near enough to matter for its cap."""
    if account_id is None:
        return []
    horizon = config.survey.account_cap.per + dt.timedelta(days=30)
    rows = session.execute(
        select(Survey.sent_at, Survey.scheduled_for)
        .join(Contact, Contact.id == Survey.contact_id)
        .where(
            Contact.account_id == account_id,
            _counts_against_throttles(),
            Survey.scheduled_for >= now - horizon,
        )
    )
    return [sent_at or scheduled_for for sent_at, scheduled_for in rows]


def _suppressed(session: Session, email: str | None) -> bool:
    if not email:
        return False
    digest = Suppression.hash_email(email)
    return (
        session.scalar(select(Suppression.id).where(Suppression.email_hash == digest)) is not None
    )


def _moment(session: Session, config: Config, event: CrmEvent) -> dict[str, str | None]:
    """What the invitation names: the program's touchpoint and the record's title (a case's
    subject), read from the mirror when the survey is planned."""
    program = config.programs.get(event.program or "")
    active = config.crm.salesforce if config.crm.kind == "salesforce" else config.crm.hubspot
    trigger = active.triggers.get(event.object)
    title = None
    if trigger is not None and trigger.title is not None:
        values = view.record_values(session, event.crm.value, event.object, [event.record_crm_id])
        found = values.get(event.record_crm_id, {}).get(trigger.title)
        title = str(found)[:200] if found else None
    return {"touchpoint": program.touchpoint if program else None, "title": title}


def _scheduled_per_day(session: Session, now: dt.datetime) -> dict[dt.date, int]:
    """Invitations per UTC day from today on, for the daily cap."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = session.execute(
        select(Survey.scheduled_for).where(
            Survey.scheduled_for >= start,
            _counts_against_throttles(),
        )
    )
    return dict(Counter(scheduled_for.date() for (scheduled_for,) in rows))


def _schedule(
    session: Session,
    config: Config,
    event: CrmEvent,
    *,
    contact_row: Contact | None,
    verdict: Eligibility,
    now: dt.datetime,
) -> Survey | None:
    """A scheduled survey for a `send` or `defer` verdict; None for a refusal."""
    if verdict.outcome == "refuse" or verdict.send_at is None or contact_row is None:
        return None
    timeline = survey_timeline(verdict.send_at, config.survey)
    event.payload = {**(event.payload or {}), "moment": _moment(session, config, event)}
    survey = Survey(
        program=verdict.program,
        contact_id=contact_row.id,
        crm_event_id=event.id,
        token_id=new_token_id(),
        state=SurveyState.SCHEDULED,
        language=pick_language(
            contact_row.language, config.survey.languages, config.survey.default_language
        ),
        channel=CHANNELS[config.survey.channel],
        planned_at=now,
        scheduled_for=verdict.send_at,
        expires_at=timeline.expires_at,
        reminder_count=0,
    )
    session.add(survey)
    session.flush()
    return survey


def _record(
    session: Session,
    event: CrmEvent,
    *,
    contact_row: Contact | None,
    verdict: Eligibility,
    survey: Survey | None,
    now: dt.datetime,
) -> None:
    session.add(
        SurveyDecision(
            program=verdict.program,
            crm_event_id=event.id,
            contact_id=contact_row.id if contact_row else None,
            outcome=DecisionOutcome(verdict.outcome),
            reason_code=verdict.reason_code,
            checks=[
                {"code": check.code, "passed": check.passed, "detail": check.detail}
                for check in verdict.checks
            ],
            survey_id=survey.id if survey else None,
            decided_at=now,
        )
    )

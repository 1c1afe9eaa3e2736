"""Non-response alerts: a key contact let a pre-renewal survey expire, so the owner hears of it.

Surveys that expired within the look-back are judged each cycle; the task's dedup key
(`nonresponse:{survey}`) keeps it to one per survey however often they are judged.
"""

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.loop import view
from worker.rules.alerts import SentSurvey, non_response_alerts
from worker.store.models import Contact, Survey, SurveyState
from worker.sync.base import TaskPriority, TaskSpec
from worker.sync.link import CrmLink
from worker.sync.outbox import enqueue_task

LOOK_BACK = dt.timedelta(days=7)
"""How long after expiry a survey is still judged (a worker down for days catches up)."""


def alert_non_responses(
    sessions: sessionmaker[Session], config: Config, link: CrmLink, now: dt.datetime
) -> int:
    """Queue a task per expired survey of a key contact in the configured programs."""
    rule = config.followup.non_response
    if not rule.enabled:
        return 0
    with sessions.begin() as session:
        rows = session.execute(
            select(Survey, Contact)
            .join(Contact, Contact.id == Survey.contact_id)
            .where(
                Contact.crm == link.name,
                Survey.program.in_(rule.programs),
                Survey.state == SurveyState.EXPIRED,
                Survey.expires_at >= now - LOOK_BACK,
                Survey.sent_at.is_not(None),
            )
        ).all()
        if not rows:
            return 0
        surveys = [
            SentSurvey(
                key=str(survey.id),
                program=survey.program,
                contact_crm_id=contact.crm_id,
                sent_at=survey.sent_at or survey.scheduled_for,
                expires_at=survey.expires_at or now,
                answered=survey.answered_at is not None,
            )
            for survey, contact in rows
        ]
        contacts = {contact.crm_id: view.contact_of(contact) for _, contact in rows}
        accounts = {
            crm_id: view.account_of(row)
            for crm_id, row in view.accounts_by_crm_id(
                session, link.name, (c.account_crm_id or "" for c in contacts.values())
            ).items()
        }
        values = {
            crm_id: view.values_for(
                session, config, contact, accounts.get(contact.account_crm_id or "")
            )
            for crm_id, contact in contacts.items()
        }
        recipient = {survey.key: contacts[survey.contact_crm_id] for survey in surveys}
        plans = non_response_alerts(surveys, contacts, accounts, values, config.followup, now=now)
        for plan in plans:
            contact = recipient[plan.dedup_key.split(":", 1)[1]]
            enqueue_task(
                session,
                link.name,
                TaskSpec(
                    dedup_key=plan.dedup_key,
                    subject=plan.subject,
                    body=plan.body,
                    due_at=plan.due_at,
                    priority=TaskPriority(plan.priority),
                    owner_id=plan.owner_id,
                    contact_id=contact.crm_id,
                    account_id=contact.account_crm_id,
                ),
                now=now,
            )
    return len(plans)

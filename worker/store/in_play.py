"""The mirrored records the loop is about to act on: whose deletion in the CRM matters now.

A contact with an event waiting to be planned, a survey not yet answered or ended, or a
follow-up still open; the accounts of those contacts and of waiting events; the trigger records
of waiting events. Checking these each cycle (rather than the whole CRM) keeps deletion
detection's cost proportional to the work in hand, not to the size of the CRM's archive.
"""

from sqlalchemy import Select, select, union
from sqlalchemy.orm import Session

from worker.store.mirror import MirrorKind
from worker.store.models import (
    Account,
    Contact,
    Crm,
    CrmEvent,
    FollowUp,
    FollowUpStatus,
    Response,
    Survey,
    SurveyState,
    TriggerRecord,
)

OPEN_SURVEYS = (SurveyState.PLANNED, SurveyState.SCHEDULED, SurveyState.SENT, SurveyState.REMINDED)
OPEN_FOLLOWUPS = (FollowUpStatus.PENDING, FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS)


def in_play(session: Session, crm: str, kind: MirrorKind, object_name: str) -> list[str]:
    """CRM ids of live mirrored records of `object_name` that the loop is acting on."""
    waiting = select(CrmEvent).where(CrmEvent.crm == Crm(crm), CrmEvent.planned_at.is_(None))
    if kind == "trigger":
        query = select(TriggerRecord.crm_id).where(
            TriggerRecord.crm == Crm(crm),
            TriggerRecord.object == object_name,
            TriggerRecord.deleted.is_(False),
            TriggerRecord.crm_id.in_(
                waiting.where(CrmEvent.object == object_name).with_only_columns(
                    CrmEvent.record_crm_id
                )
            ),
        )
        return sorted(session.scalars(query))
    contacts = _contacts_in_play(crm, waiting)
    if kind == "contact":
        query = select(Contact.crm_id).where(Contact.id.in_(contacts), Contact.deleted.is_(False))
        return sorted(session.scalars(query))
    accounts = union(
        select(Contact.account_id).where(Contact.id.in_(contacts)),
        waiting.with_only_columns(CrmEvent.account_id),
    ).subquery()
    query = (
        select(Account.crm_id)
        .join(accounts, Account.id == accounts.c.account_id)
        .where(Account.crm == Crm(crm), Account.deleted.is_(False))
    )
    return sorted(session.scalars(query))


def _contacts_in_play(crm: str, waiting: Select[CrmEvent]) -> Select[int]:
    """Store ids of this CRM's contacts with a waiting event, an open survey or follow-up."""
    open_followups = (
        select(Survey.contact_id)
        .join(Response, Response.survey_id == Survey.id)
        .join(FollowUp, FollowUp.response_id == Response.id)
        .where(FollowUp.status.in_(OPEN_FOLLOWUPS), FollowUp.crm == Crm(crm))
    )
    # The contacts joined to the union of the three small id sets: three INs joined by OR,
    # or a filter on the CRM beside one IN, had SQLite scan every mirrored contact instead.
    in_hand = union(
        waiting.with_only_columns(CrmEvent.contact_id),
        select(Survey.contact_id).where(Survey.state.in_(OPEN_SURVEYS)),
        open_followups,
    ).subquery()
    return (
        select(Contact.id)
        .join(in_hand, Contact.id == in_hand.c.contact_id)
        .where(Contact.crm == Crm(crm))
    )

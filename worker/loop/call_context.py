"""What a follow-up task tells the rep around an answer, read from the store.

The moment (the case or ticket the survey asked about, with its title and a link), the program's
touchpoint, the contact's earlier answers, the account's NPS and trend, ARR and renewal date
where segments map them, tag labels, and the CRM's users for names and languages.
"""

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.crm_types import UserProfile
from worker.loop.rollups import answers_by_account, rollup_of
from worker.rules.task_brief import CallContext, Moment, PastAnswer
from worker.store.models import Account, CrmEvent, Response, Survey, TriggerRecord

EARLIER = 5
"""Earlier answers a task lists (newest first)."""
ARR_SEGMENTS = ("arr", "annual_revenue")
RENEWAL_SEGMENTS = ("renewal", "renewal_date")
"""Segment names whose field the task shows as ARR / renewal date, where the config maps one."""


def call_context(
    session: Session,
    config: Config,
    response: Response,
    survey: Survey,
    *,
    account: Account | None,
    values: Mapping[str, object],
    users: Mapping[str, UserProfile],
    now: dt.datetime,
) -> CallContext:
    """Everything around `response` a rep wants before the call; `values` are the contact's
    and account's `contact.X` / `account.X` values."""
    program = config.programs.get(survey.program)
    earlier = session.execute(
        select(Response.received_at, Response.score)
        .where(
            Response.survey_id.in_(select(Survey.id).where(Survey.contact_id == survey.contact_id)),
            Response.provisional.is_(False),
            Response.received_at < response.received_at,
        )
        .order_by(Response.received_at.desc())
        .limit(EARLIER)
    ).all()
    count = session.scalar(
        select(func.count(Response.id))
        .join(Survey, Survey.id == Response.survey_id)
        .where(Survey.contact_id == survey.contact_id, Response.provisional.is_(False))
    )
    nps = trend = None
    if account is not None:
        window = config.writeback.account_window
        answers = answers_by_account(session, [account.id], now - 2 * window)
        rollup = rollup_of(answers.get(account.id, []), now, window)
        nps, trend = rollup.nps_score, rollup.nps_trend
    return CallContext(
        moment=_moment(session, config, survey),
        touchpoint=program.touchpoint if program else None,
        earlier=tuple(PastAnswer(at, score) for at, score in earlier),
        answer_count=count or 1,
        account_nps=nps,
        account_trend=trend,
        arr=_segment(config, values, ARR_SEGMENTS),
        renewal=_segment(config, values, RENEWAL_SEGMENTS),
        tag_labels={tag.id: dict(tag.labels) for tag in config.tags},
        polarity=dict(response.reason_polarity or {}),
        users=users,
    )


def record_url(config: Config, object_name: str, record_id: str) -> str | None:
    """A link to a CRM record: `followup.record_url`, else the org's My Domain on Salesforce."""
    pattern = config.followup.record_url
    if pattern:
        return pattern.format(object=object_name, id=record_id)
    domain = config.crm.salesforce.domain
    if config.crm.kind == "salesforce" and domain not in ("login", "test"):
        return f"https://{domain}.salesforce.com/{record_id}"
    return None


def _moment(session: Session, config: Config, survey: Survey) -> Moment | None:
    if survey.crm_event_id is None:
        return None
    event = session.get(CrmEvent, survey.crm_event_id)
    if event is None:
        return None
    active = config.crm.salesforce if config.crm.kind == "salesforce" else config.crm.hubspot
    trigger = active.triggers.get(event.object)
    if trigger is None:
        return None
    values = session.scalar(
        select(TriggerRecord.values).where(
            TriggerRecord.crm == event.crm,
            TriggerRecord.object == event.object,
            TriggerRecord.crm_id == event.record_crm_id,
        )
    )
    title = (values or {}).get(trigger.title) if trigger.title else None
    return Moment(
        event.object,
        event.record_crm_id,
        str(title) if title else None,
        record_url(config, event.object, event.record_crm_id),
    )


def _segment(config: Config, values: Mapping[str, object], names: tuple[str, ...]) -> object:
    """A mapped segment's value: mirrored under the segment's name (`account.arr`), or read
    from its field (`account.AnnualRevenue`) when a rule tests that field too."""
    for name in names:
        source = config.segments.fields.get(name)
        if source is None:
            continue
        record = source.split(".", 1)[0]
        for key in (f"{record}.{name}", source):
            if values.get(key) not in (None, ""):
                return values[key]
    return None

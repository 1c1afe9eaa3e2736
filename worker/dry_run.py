"""What `nps-worker sync --once --dry-run` prints: the plan a cycle made, before it is undone.

The dry run runs a real cycle (no dispatch, no outbox drain) inside a transaction it rolls
back. Before the cycle, `marks` records the highest id of each table the cycle adds to; rows
above a mark are "new in this run". `describe_plan` is then called with a session on the same
connection, so it sees the cycle's uncommitted rows: the surveys that would go out, the
candidates refused by reason, and every CRM write waiting in the outbox.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Mapped, Session

from worker.readout import clip, mask_email, when
from worker.store.models import (
    Contact,
    CrmEvent,
    DecisionOutcome,
    OutboxEntry,
    OutboxState,
    Survey,
    SurveyDecision,
    SurveyState,
)

EXAMPLES = 5
"""Refused candidates shown per reason; the rest are counted."""
INDENT = "    "


@dataclass(frozen=True)
class IdMarks:
    """The highest id of each table before the run; rows above it were added by the run."""

    events: int
    decisions: int
    surveys: int
    outbox: int


def marks(session: Session) -> IdMarks:
    """Take the marks; call it before the cycle, on the connection the cycle will use."""

    def highest(column: Mapped[int]) -> int:
        return session.scalar(select(func.coalesce(func.max(column), 0))) or 0

    return IdMarks(
        events=highest(CrmEvent.id),
        decisions=highest(SurveyDecision.id),
        surveys=highest(Survey.id),
        outbox=highest(OutboxEntry.id),
    )


def describe_plan(session: Session, since_id_marks: IdMarks, now: dt.datetime) -> list[str]:
    """Every survey the run would send, every refusal by reason, every CRM write queued."""
    surveys = _surveys(session, since_id_marks, now)
    refusals = _refusals(session, since_id_marks)
    nothing = len(surveys) == 1 and len(refusals) == 1
    return [
        *_events(session, since_id_marks),
        *surveys,
        *refusals,
        *(why_nothing(session, since_id_marks, now) if nothing else []),
        *_writes(session, since_id_marks),
    ]


def why_nothing(session: Session, marks: IdMarks, now: dt.datetime) -> list[str]:
    """Why a run planned no survey and refused none: a newcomer's first question."""
    waiting = session.execute(
        select(func.count(), func.min(CrmEvent.fire_at)).where(
            CrmEvent.planned_at.is_(None), CrmEvent.fire_at > now
        )
    ).one()
    lines = [f"nothing planned at {when(now)} / 計画されたアンケートはありません, because:"]
    if waiting[0]:
        lines.append(
            f"{INDENT}{waiting[0]} event(s) wait for their time, the first at {when(waiting[1])}"
            " (a delay, a date offset or a schedule window) / 予定時刻待ちのイベントがあります"
        )
    if marks.events == 0:
        lines.append(
            f"{INDENT}this was the first sync: changes older than survey.backfill_window fire"
            " nothing (promise 3); changes from now on do / 初回同期では過去の変更は対象外です"
        )
    elif not waiting[0]:
        lines.append(
            f"{INDENT}no program's condition became true since the last cycle, and no"
            " schedule or date offset came due / 条件を満たした変更がありません"
        )
    return lines


def _events(session: Session, marks: IdMarks) -> list[str]:
    rows = session.execute(
        select(CrmEvent.program, func.count())
        .where(CrmEvent.id > marks.events)
        .group_by(CrmEvent.program)
        .order_by(CrmEvent.program)
    ).all()
    total = sum(count for _, count in rows)
    lines = [f"new events: {total}"]
    lines.extend(f"{INDENT}{program or '-'}: {count}" for program, count in rows)
    return lines


def _surveys(session: Session, marks: IdMarks, now: dt.datetime) -> list[str]:
    """Surveys planned in this run, and earlier ones whose send time has come."""
    rows = session.execute(
        select(Survey, Contact)
        .join(Contact, Contact.id == Survey.contact_id)
        .where(
            Survey.state.in_((SurveyState.PLANNED, SurveyState.SCHEDULED)),
            (Survey.id > marks.surveys) | (Survey.scheduled_for <= now),
        )
        .order_by(Survey.scheduled_for, Survey.id)
    ).all()
    lines = [f"surveys that would go out: {len(rows)}"]
    for survey, contact in rows:
        origin = "" if survey.id > marks.surveys else " (planned earlier, due now)"
        lines.append(
            f"{INDENT}{survey.program}: {contact.crm.value} {contact.crm_id}"
            f" {mask_email(contact.email)} at {when(survey.scheduled_for)}"
            f" by {survey.channel.value} in {survey.language}{origin}"
        )
    return lines


def _refusals(session: Session, marks: IdMarks) -> list[str]:
    """Candidates refused in this run, grouped by the first check they failed."""
    rows = session.execute(
        select(SurveyDecision, CrmEvent.dedup_key, Contact.crm_id)
        .join(CrmEvent, CrmEvent.id == SurveyDecision.crm_event_id)
        .outerjoin(Contact, Contact.id == SurveyDecision.contact_id)
        .where(
            SurveyDecision.id > marks.decisions,
            SurveyDecision.outcome == DecisionOutcome.REFUSE,
        )
        .order_by(SurveyDecision.id)
    ).all()
    by_reason: defaultdict[str, list[str]] = defaultdict(list)
    for decision, dedup_key, contact_crm_id in rows:
        by_reason[decision.reason_code or "refused"].append(
            f"{decision.program} for {contact_crm_id or '(contact not in the mirror)'}"
            f" (event {dedup_key})"
        )
    lines = [f"refused: {len(rows)}"]
    for reason, examples in sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0])):
        lines.append(f"{INDENT}{reason}: {len(examples)}")
        lines.extend(f"{INDENT * 2}{example}" for example in examples[:EXAMPLES])
        if len(examples) > EXAMPLES:
            lines.append(f"{INDENT * 2}... and {len(examples) - EXAMPLES} more")
    return lines


def _writes(session: Session, marks: IdMarks) -> list[str]:
    """Every pending CRM write: the run queued or merged into them, and a real run sends them."""
    rows = session.scalars(
        select(OutboxEntry)
        .where(OutboxEntry.state == OutboxState.PENDING)
        .order_by(OutboxEntry.crm, OutboxEntry.object, OutboxEntry.id)
    ).all()
    lines = [f"CRM writes that would be made: {len(rows)}"]
    for row in rows:
        target = f"{row.object} {row.record_crm_id}" if row.record_crm_id else f"new {row.object}"
        fields = ", ".join(f"{key}={clip(value)}" for key, value in sorted(row.fields.items()))
        queued = "" if row.id > marks.outbox else " (queued earlier)"
        lines.append(f"{INDENT}{row.crm.value} {row.op} {target}: {fields}{queued}")
    return lines

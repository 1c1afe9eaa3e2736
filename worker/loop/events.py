"""Source events: trigger decisions from the rules, stored once each by their dedup key.

Record-change events are found while a page is pulled (inside its transaction, so the event
and the mirror state it came from commit together); date-offset and scheduled events are found
by scanning the mirror each cycle. A `crm_events` row per dedup key makes each fire once
(promise 2): a second sighting, a restart or another replica finds the row and adds nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.config.programs import (
    DateOffsetTrigger,
    RecordChangeTrigger,
    RecoveryTrigger,
    ScheduleTrigger,
)
from worker.loop.view import contact_of, record_of
from worker.rules.triggers import (
    ClosedFollowup,
    EventCandidate,
    TriggerDecision,
    date_offset_events,
    record_change_events,
    recovery_events,
    schedule_events,
)
from worker.store.models import (
    Contact,
    Crm,
    CrmEvent,
    FollowUp,
    FollowUpStatus,
    ProgramRun,
    Response,
    Survey,
    TriggerRecord,
)
from worker.sync.pull import TriggerChange

log = structlog.get_logger(__name__)


@dataclass
class EventStats:
    """Events found and stored in one cycle, by program, plus trigger refusals by reason."""

    fired: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)

    def count(self, decisions: Sequence[TriggerDecision], stored: int) -> None:
        """Tally what a trigger made of some records."""
        for decision in decisions:
            if decision.event is None and decision.reason_code not in ("not_matched", "not_yet"):
                self.refused[decision.reason_code] = self.refused.get(decision.reason_code, 0) + 1
        if stored:
            program = decisions[0].program
            self.fired[program] = self.fired.get(program, 0) + stored


def store_events(
    session: Session, crm: str, decisions: Sequence[TriggerDecision], now: datetime
) -> int:
    """Insert the fired events not stored before; returns how many are new."""
    events = [d.event for d in decisions if d.event is not None]
    if not events:
        return 0
    keys = {event.dedup_key for event in events}
    known = set(session.scalars(select(CrmEvent.dedup_key).where(CrmEvent.dedup_key.in_(keys))))
    new = 0
    for event in events:
        if event.dedup_key in known:
            continue
        known.add(event.dedup_key)
        session.add(_row(crm, event, now))
        new += 1
    return new


def _row(crm: str, event: EventCandidate, now: datetime) -> CrmEvent:
    payload = dict(event.payload)
    payload["contact_crm_id"] = event.contact_crm_id
    payload["account_crm_id"] = event.account_crm_id
    if event.contact_selector is not None:
        payload["account_contacts"] = True
    return CrmEvent(
        crm=Crm(crm),
        object=event.object,
        record_crm_id=event.record_crm_id,
        kind=event.kind,
        program=event.program,
        dedup_key=event.dedup_key,
        occurred_at=event.occurred_at,
        fire_at=event.fire_at,
        payload=payload,
        created_at=now,
    )


@dataclass
class RecordChangeObserver:
    """The pull's observer: record-change programs judge each changed record of their object."""

    config: Config
    crm: str
    now: datetime
    stats: EventStats

    def __call__(
        self, session: Session, changes: Sequence[TriggerChange], first_sync: bool
    ) -> None:
        """Store the events of one pulled page, in the page's transaction."""
        for name, program in self.config.programs.items():
            trigger = program.trigger
            if not program.enabled or not isinstance(trigger, RecordChangeTrigger):
                continue
            decisions = [
                decision
                for change in changes
                if change.record.object == trigger.object
                for decision in record_change_events(
                    name,
                    program,
                    change.previous,
                    change.record,
                    first_sync=first_sync,
                    now=self.now,
                    backfill_window=self.config.survey.backfill_window,
                )
            ]
            if decisions:
                self.stats.count(decisions, store_events(session, self.crm, decisions, self.now))


def scan_date_offsets(
    session: Session, config: Config, crm: str, now: datetime, stats: EventStats
) -> None:
    """Judge every mirrored record of each date-offset program's object against the clock."""
    for name, program in config.programs.items():
        trigger = program.trigger
        if not program.enabled or not isinstance(trigger, DateOffsetTrigger):
            continue
        rows = session.scalars(
            select(TriggerRecord).where(
                TriggerRecord.crm == crm,
                TriggerRecord.object == trigger.object,
                TriggerRecord.deleted.is_(False),
            )
        )
        decisions = [
            decision
            for row in rows
            for decision in date_offset_events(
                name,
                program,
                record_of(row),
                now=now,
                backfill_window=config.survey.backfill_window,
            )
        ]
        if decisions:
            stats.count(decisions, store_events(session, crm, decisions, now))


RECOVERY_LOOK_BACK = timedelta(days=7)
"""Follow-ups closed this long before the last scan are still considered (a worker down for
days catches up); the dedup key keeps each check-in single."""


def scan_recoveries(
    session: Session, config: Config, crm: str, now: datetime, stats: EventStats
) -> None:
    """A check-in event for each follow-up closed since the last scans (recovery programs)."""
    for name, program in config.programs.items():
        trigger = program.trigger
        if not program.enabled or not isinstance(trigger, RecoveryTrigger):
            continue
        rows = session.execute(
            select(FollowUp.id, Response.category, FollowUp.closed_at, Contact)
            .join(Response, Response.id == FollowUp.response_id)
            .join(Survey, Survey.id == Response.survey_id)
            .join(Contact, Contact.id == Survey.contact_id)
            .where(
                FollowUp.crm == crm,
                FollowUp.status == FollowUpStatus.CLOSED,
                FollowUp.closed_at >= now - RECOVERY_LOOK_BACK,
                Survey.program != name,
            )
        ).all()
        closed = [
            ClosedFollowup(
                str(followup_id),
                getattr(category, "value", str(category)),
                closed_at,
                contact.crm_id,
                contact.account_crm_id,
            )
            for followup_id, category, closed_at, contact in rows
            if closed_at is not None
        ]
        decisions = recovery_events(name, program, closed)
        if decisions:
            stats.count(decisions, store_events(session, crm, decisions, now))


def scan_schedules(
    session: Session, config: Config, crm: str, now: datetime, stats: EventStats
) -> None:
    """Fire each scheduled program's latest due period once, for every live contact."""
    for name, program in config.programs.items():
        trigger = program.trigger
        if not program.enabled or not isinstance(trigger, ScheduleTrigger):
            continue
        run = session.get(ProgramRun, name)
        contacts = [
            contact_of(row)
            for row in session.scalars(
                select(Contact).where(Contact.crm == crm, Contact.deleted.is_(False))
            )
        ]
        decisions = schedule_events(
            name,
            program,
            contacts,
            last_run=run.last_fire_at if run else None,
            now=now,
            backfill_window=config.survey.backfill_window,
        )
        if not decisions:
            continue
        stats.count(decisions, store_events(session, crm, decisions, now))
        period = max(d.event.occurred_at for d in decisions if d.event is not None)
        if run is None:
            session.add(ProgramRun(program=name, last_fire_at=period))
        else:
            run.last_fire_at = period
        log.info("schedule_fired", program=name, contacts=len(decisions))

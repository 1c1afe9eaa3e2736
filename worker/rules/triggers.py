"""Turning mirrored records and the clock into survey event candidates, once per source event.

Dedup keys (promise 2), decided here and stable across restarts:
- record change: `{program}:{object}:{record}` -- ONE survey per record and program, ever. A case
  closed, reopened and closed again does not fire again: the customer already had their say.
- date offset: `{program}:{object}:{record}:{date}` -- a moved renewal date fires again, once,
  for the new date only.
- schedule: `{program}:schedule:{period fire time}:{contact}` -- one per period and contact.
Candidates for `account_contacts` programs name no contact yet; `expand_contacts` makes one per
matching contact, appending `:{contact}` to the key.
"""

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from apscheduler.triggers.cron import CronTrigger

from worker.config.conditions import Condition
from worker.config.programs import ContactPath, DateOffsetTrigger, Program, RecordChangeTrigger
from worker.config.values import crontab
from worker.domain import Account, Contact, TriggerRecord
from worker.rules.conditions import ConditionResult, evaluate, qualified
from worker.rules.values import as_datetime

Kind = Literal["record_change", "date_offset", "schedule", "recovery"]
_MAX_PERIODS = 100_000


@dataclass(frozen=True, slots=True)
class EventCandidate:
    """A source event that fired for a program: what, for whom, when it happened and when to send.

    `contact_selector` is set (and `contact_crm_id` None) when the program surveys the matching
    contacts of the record's account; see `expand_contacts`.
    """

    dedup_key: str
    program: str
    kind: Kind
    object: str
    record_crm_id: str
    contact_crm_id: str | None
    account_crm_id: str | None
    occurred_at: dt.datetime
    fire_at: dt.datetime
    contact_selector: Condition | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TriggerDecision:
    """What a trigger made of one record (or one contact for a schedule): an event or a refusal.

    `reason_code` is `fired` or a stable refusal code: `deleted`, `not_matched`, `first_sync`,
    `before_backfill_window`, `no_date`, `not_yet`, `no_contact`.
    """

    program: str
    kind: Kind
    object: str
    record_crm_id: str
    reason_code: str
    detail: str
    event: EventCandidate | None = None
    condition: ConditionResult | None = None
    next_check_at: dt.datetime | None = None

    @property
    def fired(self) -> bool:
        """Whether an event came out."""
        return self.event is not None


def record_change_events(
    program_id: str,
    program: Program,
    previous_values: Mapping[str, Any] | None,
    record: TriggerRecord,
    *,
    first_sync: bool,
    now: dt.datetime,
    backfill_window: dt.timedelta,
) -> list[TriggerDecision]:
    """Fire when the record starts to satisfy `when` (false before, or unseen; true now)."""
    trigger = program.trigger
    assert isinstance(trigger, RecordChangeTrigger), "record_change program expected"
    refuse = _refusal(program_id, "record_change", record)
    if record.deleted:
        return [refuse("deleted", "the record is deleted in the CRM")]
    result = evaluate(trigger.when, record.values, previous_values)
    if previous_values is not None and evaluate(trigger.when, previous_values).passed:
        return [refuse("not_matched", "the condition already held before", result)]
    if not result.passed:
        return [refuse("not_matched", "the condition does not hold", result)]
    occurred = record.modified_at
    if first_sync:
        return [refuse("first_sync", "first sync: existing records never fire (promise 3)", result)]
    if occurred < now - backfill_window:
        return [refuse("before_backfill_window", f"changed at {occurred:%Y-%m-%d %H:%M}Z", result)]
    event = _event(
        f"{program_id}:{record.object}:{record.crm_id}",
        record,
        trigger.contact,
        program_id=program_id,
        kind="record_change",
        occurred=occurred,
        fire_at=occurred + trigger.delay,
    )
    return [_decide(program_id, "record_change", record, event, result)]


def date_offset_events(
    program_id: str,
    program: Program,
    record: TriggerRecord,
    *,
    now: dt.datetime,
    backfill_window: dt.timedelta,
) -> list[TriggerDecision]:
    """Fire at the record's date plus offset, if that moment is inside the backfill window."""
    trigger = program.trigger
    assert isinstance(trigger, DateOffsetTrigger), "date_offset program expected"
    refuse = _refusal(program_id, "date_offset", record)
    if record.deleted:
        return [refuse("deleted", "the record is deleted in the CRM")]
    result = evaluate(trigger.when, record.values)
    if not result.passed:
        return [refuse("not_matched", "the record filter does not hold", result)]
    raw = record.values.get(trigger.field)
    day = as_datetime(raw)
    if day is None:
        return [refuse("no_date", f"{trigger.field} holds no date ({raw!r})", result)]
    fire_at = day + trigger.offset
    if fire_at > now:
        decision = refuse("not_yet", f"fires at {fire_at:%Y-%m-%d %H:%M}Z", result)
        return [replace(decision, next_check_at=fire_at)]
    if fire_at < now - backfill_window:
        return [refuse("before_backfill_window", f"was due {fire_at:%Y-%m-%d %H:%M}Z", result)]
    event = _event(
        f"{program_id}:{record.object}:{record.crm_id}:{day:%Y-%m-%dT%H:%M}",
        record,
        trigger.contact,
        program_id=program_id,
        kind="date_offset",
        occurred=fire_at,
        fire_at=fire_at,
        payload={"date": day.isoformat()},
    )
    return [_decide(program_id, "date_offset", record, event, result)]


def schedule_events(
    program_id: str,
    program: Program,
    contacts: Sequence[Contact],
    *,
    last_run: dt.datetime | None,
    now: dt.datetime,
    backfill_window: dt.timedelta,
) -> list[TriggerDecision]:
    """One event per contact for the latest cron period due since `last_run`.

    Only the most recent period fires, and only when it lies within the backfill window: a worker
    that was down for two periods sends one survey, not two, and a first run (`last_run` None)
    fires the current period if it began less than `backfill_window` ago. Send times are spread
    over the trigger's `window` by a hash of the contact id, so they are stable across runs.
    """
    trigger = program.trigger
    assert trigger.kind == "schedule", "schedule program expected"
    since = now - backfill_window
    if last_run is not None:
        since = max(since, last_run + dt.timedelta(microseconds=1))
    period = _latest_fire_time(crontab(trigger.cron, trigger.time_zone), since, now)
    if period is None:
        return []
    decisions = []
    for contact in contacts:
        spread = _spread(f"{program_id}:{contact.crm_id}", trigger.window)
        stamp = period.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
        event = EventCandidate(
            dedup_key=f"{program_id}:schedule:{stamp}:{contact.crm_id}",
            program=program_id,
            kind="schedule",
            object="schedule",
            record_crm_id=stamp,
            contact_crm_id=contact.crm_id,
            account_crm_id=contact.account_crm_id,
            occurred_at=period,
            fire_at=period + spread,
            payload={"period": stamp},
        )
        decisions.append(
            TriggerDecision(
                program_id, "schedule", "schedule", stamp, "fired", f"period {stamp}", event
            )
        )
    return decisions


@dataclass(frozen=True, slots=True)
class ClosedFollowup:
    """A follow-up whose task was closed, as the recovery trigger sees it."""

    key: str
    category: str
    closed_at: dt.datetime
    contact_crm_id: str
    account_crm_id: str | None


def recovery_events(
    program_id: str, program: Program, closed: Sequence[ClosedFollowup]
) -> list[TriggerDecision]:
    """A check-in `after` each closed follow-up of the trigger's categories, once per follow-up
    (its dedup key names the follow-up); the send waits for `fire_at`."""
    trigger = program.trigger
    assert trigger.kind == "recovery", "recovery program expected"
    decisions = []
    for followup in closed:
        if followup.category not in trigger.categories:
            continue
        event = EventCandidate(
            dedup_key=f"{program_id}:recovery:{followup.key}",
            program=program_id,
            kind="recovery",
            object="followup",
            record_crm_id=followup.key,
            contact_crm_id=followup.contact_crm_id,
            account_crm_id=followup.account_crm_id,
            occurred_at=followup.closed_at,
            fire_at=followup.closed_at + trigger.after,
            payload={"recovery_of": followup.key},
        )
        decisions.append(
            TriggerDecision(
                program_id,
                "recovery",
                "followup",
                followup.key,
                "fired",
                f"check-in at {event.fire_at:%Y-%m-%d %H:%M}Z",
                event,
            )
        )
    return decisions


def expand_contacts(
    event: EventCandidate,
    contacts: Sequence[Contact],
    accounts: Mapping[str, Account],
    values: Mapping[str, Mapping[str, Any]],
) -> list[EventCandidate]:
    """One event per contact of the event's account matching its selector (by `contact.X`).

    `values` holds each contact's field values by contact id (`account.X` comes from the account's
    segments). An event that already names its contact is returned as is.
    """
    if event.contact_selector is None:
        return [event]
    chosen = []
    for contact in sorted(contacts, key=lambda c: c.crm_id):
        if contact.deleted or contact.account_crm_id != event.account_crm_id:
            continue
        account = accounts.get(contact.account_crm_id or "")
        fields = qualified(values.get(contact.crm_id, {}), account.segments if account else None)
        if evaluate(event.contact_selector, fields).passed:
            chosen.append(
                replace(
                    event,
                    dedup_key=f"{event.dedup_key}:{contact.crm_id}",
                    contact_crm_id=contact.crm_id,
                    contact_selector=None,
                )
            )
    return chosen


def _latest_fire_time(
    cron: CronTrigger, since: dt.datetime, now: dt.datetime
) -> dt.datetime | None:
    latest = None
    fire: dt.datetime | None = cron.get_next_fire_time(None, since)
    for _ in range(_MAX_PERIODS):
        if fire is None or fire > now:
            break
        latest = fire
        fire = cron.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
    return None if latest is None else latest.astimezone(dt.UTC)


def _spread(seed: str, window: dt.timedelta) -> dt.timedelta:
    seconds = int(window.total_seconds())
    if seconds <= 0:
        return dt.timedelta(0)
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    return dt.timedelta(seconds=digest % seconds)


def _event(
    key: str,
    record: TriggerRecord,
    path: ContactPath,
    *,
    program_id: str,
    kind: Kind,
    occurred: dt.datetime,
    fire_at: dt.datetime,
    payload: Mapping[str, Any] | None = None,
) -> EventCandidate:
    contact = record.contact_crm_id
    if path.field is not None:
        raw = record.values.get(path.field)
        contact = str(raw) if raw not in (None, "") else None
    if path.account_contacts is not None:
        contact = None
    return EventCandidate(
        dedup_key=key,
        program=program_id,
        kind=kind,
        object=record.object,
        record_crm_id=record.crm_id,
        contact_crm_id=contact,
        account_crm_id=record.account_crm_id,
        occurred_at=occurred,
        fire_at=fire_at,
        contact_selector=path.account_contacts,
        payload=dict(payload or {}),
    )


def _decide(
    program_id: str,
    kind: Kind,
    record: TriggerRecord,
    event: EventCandidate,
    result: ConditionResult,
) -> TriggerDecision:
    if event.contact_crm_id is None and event.contact_selector is None:
        return _refusal(program_id, kind, record)(
            "no_contact", "the record points to no contact", result
        )
    return TriggerDecision(
        program_id,
        kind,
        record.object,
        record.crm_id,
        "fired",
        f"fires at {event.fire_at:%Y-%m-%d %H:%M}Z",
        event,
        result,
    )


def _refusal(program_id: str, kind: Kind, record: TriggerRecord) -> Callable[..., TriggerDecision]:
    """A builder of refusals about this record: `(code, detail, condition=None)`."""

    def refuse(code: str, detail: str, result: ConditionResult | None = None) -> TriggerDecision:
        return TriggerDecision(
            program_id, kind, record.object, record.crm_id, code, detail, None, result
        )

    return refuse

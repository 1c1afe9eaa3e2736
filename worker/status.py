"""`nps-worker status`: is the worker healthy, and what is waiting on whom.

Read from the store alone, so it works beside a running daemon and from any replica: the last
cycle per CRM and the API budget it left (a failing CRM with its failures in a row and the next
try), the daily work (late or not), the outbox by state with every write the CRM refused,
surveys by state and every send whose delivery a crash left unknown, follow-ups past their SLA
with no first contact, open follow-ups whose escalation reached a stand-in (or nobody), the
scheduler lease, and each object whose deletions had to be reconciled by id (the CRM had
forgotten some of them). `Status.healthy` is what the exit code tells a health check: the last
cycle of every CRM ended well, no write was refused, no open survey's delivery is unknown (a
crash cut its hand-over off), the daily work is not late, and no open follow-up's escalation
reached nobody.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.health import CrmHealth, DailyState, crm_health, crms_seen, daily_state
from worker.readout import when
from worker.store.lease import SCHEDULER
from worker.store.models import (
    ChatAlert,
    CycleRun,
    DeletionCheck,
    FollowUp,
    FollowUpStatus,
    Lease,
    OutboxEntry,
    OutboxState,
    Survey,
    SurveyState,
)
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.dispatch import UNKNOWN, unknown_deliveries
from worker.surveys.render import message_id

LISTED = 20
"""Failed writes and overdue follow-ups listed one by one; the rest are counted."""
INDENT = "    "
HEADLINE = (
    ("pulled", ("pulled",)),
    ("events", ("events", "fired")),
    ("scheduled", ("plan", "scheduled")),
    ("refused", ("plan", "refused")),
    ("answers", ("answers", "handled")),
    ("tasks", ("answers", "tasks")),
    ("written", ("drain", "done")),
    ("failed_writes", ("drain", "failed")),
)
"""The cycle numbers `status` shows, and where each sits in `CycleRun.stats`."""


@dataclass(frozen=True)
class CrmCycle:
    """The last finished cycle step of one CRM, and a running one if any."""

    crm: str
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    outcome: str = "never"
    error: str | None = None
    headline: dict[str, int] = field(default_factory=dict)
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    cycle_started_at: dt.datetime | None = None
    """When the whole cycle began (its steps are recorded apart)."""
    api_used: int | None = None
    api_limit: int | None = None
    api_share: float | None = None
    running_since: dt.datetime | None = None
    failures_in_a_row: int = 0
    retry_at: dt.datetime | None = None
    """When the daemon tries a failing CRM again (backoff)."""


@dataclass(frozen=True)
class FailedWrite:
    """A write the CRM refused, kept with the CRM's own error."""

    crm: str
    object: str
    record_id: str | None
    op: str
    attempts: int
    error: str | None


@dataclass(frozen=True)
class UnknownDelivery:
    """A send whose outcome a crash left unknown: what it was and what happens to it."""

    survey_id: int
    kind: str
    message_id: str
    since: dt.datetime | None
    next_step: str


@dataclass(frozen=True)
class OverdueFollowUp:
    """A follow-up whose SLA passed before anyone contacted the customer."""

    crm: str
    task_id: str | None
    owner: str | None
    due_at: dt.datetime
    escalation_level: int


@dataclass(frozen=True)
class Reconciled:
    """An object whose deletions were found by comparing ids: the CRM's record of deletions no
    longer reached back to the previous check (an outage longer than the recycle bin)."""

    crm: str
    object: str
    at: dt.datetime
    deleted: int


@dataclass(frozen=True)
class Status:
    """Everything `status` reports, as of `now`."""

    now: dt.datetime
    cycles: list[CrmCycle]
    outbox: dict[str, int]
    failed_writes: list[FailedWrite]
    failed_total: int
    surveys: dict[str, int]
    unknown_deliveries: list[UnknownDelivery]
    unknown_total: int
    overdue: list[OverdueFollowUp]
    overdue_total: int
    lease_holder: str | None
    daily: DailyState
    daily_at: str
    """`scheduler.daily_at`, HH:MM UTC."""
    escalation_fallbacks: dict[str, int] = field(default_factory=dict)
    """Open follow-ups whose last escalation reached a stand-in, by who: `fallback_manager`,
    `account_owner`, or `nobody` (an escalation no one sees)."""
    reconciled: list[Reconciled] = field(default_factory=list)
    chat_alerts: dict[str, int] = field(default_factory=dict)
    """Chat alerts by state: pending, sent, failed (given up)."""

    @property
    def healthy(self) -> bool:
        """True unless a CRM's last cycle failed, the CRM refused a write, a delivery is unknown,
        daily work is late, or an open follow-up's escalation reached nobody."""
        return (
            self.failed_total == 0
            and self.unknown_total == 0
            and all(c.outcome != "failed" for c in self.cycles)
            and not self.daily.late
            and not self.escalation_fallbacks.get("nobody")
        )

    def as_json(self) -> dict[str, Any]:
        """The same facts as a JSON-ready document, `healthy` included."""
        document = _jsonable(asdict(self))
        document["healthy"] = self.healthy
        return dict(document)


def gather(session: Session, config: Config, now: dt.datetime) -> Status:
    """Read the worker's state from the store."""
    outbox = _counts(session, OutboxEntry.state)
    failed = list(
        session.scalars(
            select(OutboxEntry)
            .where(OutboxEntry.state == OutboxState.FAILED)
            .order_by(OutboxEntry.id.desc())
            .limit(LISTED)
        )
    )
    overdue_where = (
        FollowUp.due_at < now,
        FollowUp.first_contact_at.is_(None),
        FollowUp.status.in_((FollowUpStatus.PENDING, FollowUpStatus.OPEN)),
    )
    overdue = list(
        session.scalars(
            select(FollowUp).where(*overdue_where).order_by(FollowUp.due_at).limit(LISTED)
        )
    )
    lease = session.get(Lease, SCHEDULER)
    return Status(
        now=now,
        cycles=_cycles(session, config),
        outbox=outbox,
        failed_writes=[
            FailedWrite(
                row.crm.value, row.object, row.record_crm_id, row.op, row.attempts, row.last_error
            )
            for row in failed
        ],
        failed_total=outbox.get(OutboxState.FAILED.value, 0),
        surveys=_counts(session, Survey.state),
        unknown_deliveries=_unknown(session, config, now),
        unknown_total=session.scalar(
            select(func.count(Survey.id)).where(unknown_deliveries(config.survey, now))
        )
        or 0,
        overdue=[
            OverdueFollowUp(
                row.crm.value, row.crm_task_id, row.owner_crm_id, row.due_at, row.escalation_level
            )
            for row in overdue
        ],
        overdue_total=session.scalar(select(func.count(FollowUp.id)).where(*overdue_where)) or 0,
        lease_holder=lease.holder if lease is not None and lease.expires_at > now else None,
        daily=daily_state(session, now, config.scheduler.daily_at),
        daily_at=config.scheduler.daily_at.strftime("%H:%M"),
        escalation_fallbacks=_escalation_fallbacks(session),
        chat_alerts=_counts(session, ChatAlert.state),
        reconciled=[
            Reconciled(row.crm.value, row.object, row.reconciled_at, row.reconciled or 0)
            for row in session.scalars(
                select(DeletionCheck)
                .where(DeletionCheck.reconciled_at.is_not(None))
                .order_by(DeletionCheck.reconciled_at.desc())
                .limit(LISTED)
            )
            if row.reconciled_at is not None
        ],
    )


def _escalation_fallbacks(session: Session) -> dict[str, int]:
    """Open follow-ups by who their last escalation reached instead of the person named."""
    rows = session.execute(
        select(FollowUp.escalation_fallback, func.count())
        .where(
            FollowUp.escalation_fallback.is_not(None),
            FollowUp.status.in_(
                (FollowUpStatus.PENDING, FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS)
            ),
        )
        .group_by(FollowUp.escalation_fallback)
    )
    return {str(who): count for who, count in rows}


def status(session: Session, config: Config, now: dt.datetime) -> list[str]:
    """The status as lines for a terminal."""
    return render(gather(session, config, now))


def render(state: Status) -> list[str]:
    """Readable lines for a gathered status, the verdict first."""
    lines = [f"status at {when(state.now)}: {'healthy' if state.healthy else 'NEEDS ATTENTION'}"]
    for cycle in state.cycles:
        lines.extend(_cycle_lines(cycle))
    lines.append(f"outbox: {_by_state(state.outbox, [s.value for s in OutboxState])}")
    if state.failed_writes:
        lines.append(f"writes the CRM refused ({state.failed_total}, newest first):")
        lines.extend(
            f"{INDENT}{w.crm} {w.op} {w.object} {w.record_id or '(new record)'}:"
            f" {w.error or 'no error recorded'} ({w.attempts} attempt(s))"
            for w in state.failed_writes
        )
        lines.extend(_more(state.failed_total, len(state.failed_writes)))
    lines.append(f"surveys: {_by_state(state.surveys, [s.value for s in SurveyState])}")
    if state.unknown_total:
        lines.append(
            f"{INDENT}{state.unknown_total} send(s) whose delivery is unknown: the worker stopped"
            " while handing them over (check the relay's log for the Message-ID)"
        )
        lines.extend(
            f"{INDENT * 2}survey {u.survey_id} {u.kind} {u.message_id}"
            f" since {when(u.since)}: {u.next_step}"
            for u in state.unknown_deliveries
        )
        lines.extend(_more(state.unknown_total, len(state.unknown_deliveries)))
    lines.append(f"follow-ups overdue (due passed, no first contact): {state.overdue_total}")
    lines.extend(
        f"{INDENT}{f.crm} task {f.task_id or '(not created yet)'}, owner {f.owner or 'unassigned'},"
        f" due {when(f.due_at)} ({_ago(state.now - f.due_at)} ago),"
        f" escalation level {f.escalation_level}"
        for f in state.overdue
    )
    lines.extend(_more(state.overdue_total, len(state.overdue)))
    lines.extend(_daily_lines(state.daily, state.daily_at))
    lines.extend(_fallback_lines(state.escalation_fallbacks))
    if state.chat_alerts:
        lines.append(f"chat alerts: {_by_state(state.chat_alerts, ['pending', 'sent', 'failed'])}")
        if state.chat_alerts.get("failed"):
            lines.append(
                f"{INDENT}failed alerts were given up after alerts.max_attempts or refused by"
                " the chat (a removed webhook): check notify's webhook URLs"
            )
    if state.reconciled:
        lines.append(
            "deletions reconciled by id (the CRM no longer listed deletions back to the"
            " previous check):"
        )
        lines.extend(
            f"{INDENT}{r.crm} {r.object} at {when(r.at)}: {r.deleted} record(s) found deleted"
            for r in state.reconciled
        )
    lines.append(f"scheduler lease: {state.lease_holder or 'not held by any replica'}")
    return lines


FALLBACK_LABELS = (
    ("fallback_manager", "to followup.fallback_manager"),
    ("account_owner", "to the account owner"),
    ("nobody", "to nobody: unowned, set followup.fallback_manager or followup.managers"),
)


def _fallback_lines(counts: Mapping[str, int]) -> list[str]:
    """Open follow-ups whose escalation could not reach the person its tier names."""
    if not counts:
        return []
    total = sum(counts.values())
    return [
        f"escalations that did not reach the person named ({total} open follow-ups):",
        *(f"{INDENT}{counts[who]} {label}" for who, label in FALLBACK_LABELS if counts.get(who)),
    ]


def _daily_lines(daily: DailyState, daily_at: str) -> list[str]:
    head = "daily work (account roll-ups, retention):"
    last = f"last ran well at {when(daily.last_ok_at)}" if daily.last_ok_at else "never ran"
    if daily.late:
        lines = [f"{head} LATE, due {when(daily.due_at)}; {last}"]
    elif daily.last_ok_at is None:
        lines = [f"{head} not run yet (due daily at {daily_at} UTC)"]
    else:
        lines = [f"{head} {last}"]
    if daily.outcome == "failed":
        started = when(daily.last_started_at)
        lines.append(f"{INDENT}the last run, at {started}, failed: {daily.error}")
    return lines


def _unknown(session: Session, config: Config, now: dt.datetime) -> list[UnknownDelivery]:
    """The sends listed as unknown, oldest first, with what the worker will do about each."""
    survey_config = config.survey
    rows = session.scalars(
        select(Survey)
        .where(unknown_deliveries(survey_config, now))
        .order_by(Survey.id)
        .limit(LISTED)
    )
    listed = []
    for row in rows:
        invitation = row.state == SurveyState.SENT
        kind = SendKind.INVITATION if invitation else SendKind.REMINDER
        number = 0 if invitation else row.reminder_count
        since = row.sent_at if invitation else row.reminded_at
        send = Delivery(
            survey_id=row.id,
            token_id=row.token_id,
            program=row.program,
            kind=kind,
            number=number,
            language=row.language,
            expires_at=row.expires_at or now,
            email=None,
            first_name=None,
            last_name=None,
            time_zone=None,
            crm="",
            crm_id="",
        )
        if row.state_reason == UNKNOWN:
            step = "reported, never sent again (cleared by an answer or a reminder, or at expiry)"
        elif survey_config.delivery.after_crash == "resend":
            grace = _ago(survey_config.delivery.grace)
            step = f"sent once more with the same Message-ID {grace} after it began"
        else:
            step = "will be reported, not sent again (survey.delivery.after_crash: report)"
        listed.append(
            UnknownDelivery(row.id, kind.value, message_id(send, survey_config), since, step)
        )
    return listed


def _cycles(session: Session, config: Config) -> list[CrmCycle]:
    """The configured CRM first (even before its first cycle), then any other seen in the log."""
    shares = {
        "salesforce": config.crm.salesforce.daily_budget_share.non_essential,
        "hubspot": config.crm.hubspot.daily_budget_share.non_essential,
    }
    every = config.scheduler.cycle_every
    return [
        _cycle(session, crm, shares.get(crm), crm_health(session, crm, every))
        for crm in crms_seen(session, [config.crm.kind])
    ]


def _cycle(session: Session, crm: str, share: float | None, health: CrmHealth) -> CrmCycle:
    finished = session.scalars(
        select(CycleRun)
        .where(CycleRun.crm == crm, CycleRun.finished_at.is_not(None))
        .order_by(CycleRun.started_at.desc(), CycleRun.id.desc())
    ).first()
    running = session.scalars(
        select(CycleRun.started_at)
        .where(CycleRun.crm == crm, CycleRun.finished_at.is_(None))
        .order_by(CycleRun.started_at.desc())
    ).first()
    running_since = (
        running if finished is None or (running and running > finished.started_at) else None
    )
    if finished is None:
        return CrmCycle(crm, running_since=running_since)
    stats = finished.stats or {}
    usage = stats.get("api_usage") or {}
    return CrmCycle(
        crm=crm,
        started_at=finished.started_at,
        finished_at=finished.finished_at,
        outcome=finished.outcome,
        error=finished.error,
        headline={name: _total(stats, path) for name, path in HEADLINE},
        refused_by_reason=_reasons(stats),
        cycle_started_at=_instant(stats.get("cycle_started_at")),
        api_used=usage.get("used"),
        api_limit=usage.get("limit"),
        api_share=share,
        running_since=running_since,
        failures_in_a_row=health.failures,
        retry_at=health.retry_at,
    )


def _cycle_lines(cycle: CrmCycle) -> list[str]:
    if cycle.started_at is None:
        head = f"{cycle.crm}: no cycle has finished yet"
    else:
        began = cycle.cycle_started_at or cycle.started_at
        took = (cycle.finished_at or cycle.started_at) - began
        head = (
            f"{cycle.crm}: last cycle {cycle.outcome} at {when(cycle.finished_at)}"
            f" (took {_ago(took)})"
        )
    lines = [head]
    if cycle.running_since is not None:
        lines.append(
            f"{INDENT}a cycle started {when(cycle.running_since)} has not finished"
            " (still running, or the worker stopped during it)"
        )
    if cycle.error:
        lines.append(f"{INDENT}error: {cycle.error}")
    if cycle.failures_in_a_row:
        retry = f"; the daemon tries again at {when(cycle.retry_at)}" if cycle.retry_at else ""
        lines.append(f"{INDENT}{cycle.failures_in_a_row} failed cycle step(s) in a row{retry}")
    if cycle.headline:
        lines.append(
            INDENT
            + ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in cycle.headline.items())
        )
    if cycle.refused_by_reason:
        lines.append(
            f"{INDENT}refused by reason: "
            + ", ".join(f"{reason} {n}" for reason, n in cycle.refused_by_reason.items())
        )
    if cycle.api_used is not None and cycle.api_limit:
        lines.append(
            f"{INDENT}API budget: {cycle.api_used} of {cycle.api_limit} daily calls used"
            f" ({cycle.api_used / cycle.api_limit:.2%}"
            + (f"; the worker may use {cycle.api_share:.0%})" if cycle.api_share else ")")
        )
    elif cycle.started_at is not None:
        lines.append(f"{INDENT}API budget: not reported by the CRM in that cycle")
    return lines


def _counts(session: Session, column: Any) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).group_by(column))
    return {getattr(state, "value", str(state)): count for state, count in rows}


def _by_state(counts: Mapping[str, int], order: list[str]) -> str:
    return ", ".join(f"{state} {counts[state]}" for state in order if counts.get(state)) or "empty"


def _reasons(stats: Mapping[str, Any]) -> dict[str, int]:
    """Refusals per reason, most first (rows written before the Counter fix hold none)."""
    plan = stats.get("plan")
    refused = plan.get("refused") if isinstance(plan, Mapping) else None
    if not isinstance(refused, Mapping):
        return {}
    counts = {str(k): v for k, v in refused.items() if isinstance(v, int) and "(" not in str(k)}
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _instant(text: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if isinstance(text, str) else None


def _total(stats: Mapping[str, Any], path: tuple[str, ...]) -> int:
    """A number in the stored stats; a dict of counts (per object, per reason) is summed."""
    value: Any = stats
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if isinstance(value, Mapping):
        return sum(v for v in value.values() if isinstance(v, int))
    return value if isinstance(value, int) else 0


def _more(total: int, shown: int) -> list[str]:
    return [f"{INDENT}... and {total - shown} more"] if total > shown else []


def _ago(span: dt.timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value

"""One cycle of the closed loop, start to end (DESIGN.md section 2).

For each configured CRM: pull changes into the mirror (record-change events are found page by
page, in the page's transaction) -> date-offset and scheduled events -> survey plan -> (once
for all CRMs) dispatch due surveys and reminders -> take in answers: tags, write-back, note and
follow-up task -> read task status back -> SLA checks and escalations -> account roll-ups ->
drain the outbox in full batches. Every step is idempotent: a cycle cut short anywhere is
finished by the next one, and running two cycles over the same state changes nothing more.
"""

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from functools import partial
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.loop.alerts import alert_non_responses
from worker.loop.answers import AnswerStats, handle_answers
from worker.loop.events import (
    EventStats,
    RecordChangeObserver,
    scan_date_offsets,
    scan_recoveries,
    scan_schedules,
)
from worker.loop.followups import FollowupStats, check_slas, read_task_status
from worker.loop.planning import PlanStats, plan_due_events
from worker.loop.rollups import write_rollups
from worker.loop.writeback import write_stages
from worker.store.models import CycleRun, SurveyChannel
from worker.surveys.channels import Channel
from worker.surveys.dispatch import DispatchStats, dispatch_due
from worker.surveys.web.answers import finalize_provisional
from worker.sync.base import ApiUsage, CrmError
from worker.sync.deletions import confirm_in_play
from worker.sync.link import CrmLink
from worker.sync.outbox import DrainStats, Outbox
from worker.sync.pull import PullStats, pull_into_mirror

log = structlog.get_logger(__name__)


@dataclass
class CrmReport:
    """What one cycle did for one CRM."""

    crm: str
    cycle_started_at: dt.datetime | None = None
    """When the cycle began: its steps are recorded apart, `status` shows the whole."""
    pulled: dict[str, int] = field(default_factory=dict)
    deleted_in_play: int = 0
    """Records the loop was acting on, found deleted by id (CRMs that list their archive)."""
    events: EventStats = field(default_factory=EventStats)
    plan: PlanStats = field(default_factory=PlanStats)
    answers: AnswerStats = field(default_factory=AnswerStats)
    followups: FollowupStats = field(default_factory=FollowupStats)
    rollups: int = 0
    alerts: int = 0
    drain: DrainStats = field(default_factory=DrainStats)
    error: str | None = None
    api_usage: ApiUsage | None = None
    """The CRM's daily API usage as last reported in this cycle, for `status`."""


@dataclass
class CycleReport:
    """What one cycle did: per CRM, and the dispatch shared by all of them."""

    started_at: dt.datetime
    crms: list[CrmReport] = field(default_factory=list)
    dispatch: DispatchStats = field(default_factory=DispatchStats)
    finalized: int = 0

    @property
    def ok(self) -> bool:
        """Whether every CRM's part of the cycle ran to the end."""
        return all(report.error is None for report in self.crms)


@dataclass
class Loop:
    """Everything a cycle works with; built once per process by `worker.runtime`.

    `config` holds what all CRMs share (survey, tags, database); each link carries the config
    of its own CRM (programs, follow-up, write-back), the same object when there is one CRM.
    """

    config: Config
    sessions: sessionmaker[Session]
    links: Sequence[CrmLink]
    channels: Mapping[SurveyChannel, Channel]
    clock: Callable[[], dt.datetime]
    dry_run: bool = False
    """Plan and queue, but send nothing: no e-mail, no CRM write (`sync --dry-run`)."""
    progress: Callable[[str, int], None] | None = None
    """Told (object, records so far) after each pulled page: the terminal's progress line."""
    managers: dict[str, dict[str, str]] = field(default_factory=dict)


def run_cycle(loop: Loop, crms: Collection[str] | None = None) -> CycleReport:
    """Run one cycle over every configured CRM (or those named in `crms`); a CRM that fails
    does not stop the others, nor the dispatch."""
    report = CycleReport(started_at=loop.clock())
    log.info("cycle_started", started_at=report.started_at.isoformat())
    for link in loop.links:
        if crms is not None and link.name not in crms:
            continue
        crm = CrmReport(link.name, cycle_started_at=report.started_at)
        report.crms.append(crm)
        _recorded(loop, link, crm, partial(_intake, loop, link, crm))
    if not loop.dry_run:
        report.dispatch, report.finalized = dispatch(loop)
    by_name = {link.name: link for link in loop.links}
    for crm in report.crms:
        link = by_name[crm.crm]
        if crm.error is None:
            _recorded(loop, link, crm, partial(_close_loop, loop, link, crm))
    log.info("cycle_done", **summary(report))
    return report


def dispatch(loop: Loop) -> tuple[DispatchStats, int]:
    """Send due invitations and reminders; settle provisional answers that look human."""
    sent = dispatch_due(
        loop.sessions, loop.config.survey, loop.channels, loop.clock(), clock=loop.clock
    )
    with loop.sessions.begin() as session:
        finalized = finalize_provisional(session, loop.config, loop.clock())
    return sent, finalized


def _intake(loop: Loop, link: CrmLink, report: CrmReport) -> None:
    """Pull, find events, plan surveys."""
    now = loop.clock()
    observer = RecordChangeObserver(link.config, link.name, now, report.events)
    for target in link.targets:
        stats: PullStats = pull_into_mirror(
            link.client, loop.sessions, target, loop.clock, observe=observer, progress=loop.progress
        )
        report.pulled[target.object_name] = stats.stored
    with loop.sessions.begin() as session:
        scan_date_offsets(session, link.config, link.name, now, report.events)
        scan_schedules(session, link.config, link.name, now, report.events)
        scan_recoveries(session, link.config, link.name, now, report.events)
    in_play = [(target.object_name, target.kind) for target in link.targets]
    report.deleted_in_play = confirm_in_play(link.client, loop.sessions, in_play, loop.clock)
    report.plan = plan_due_events(loop.sessions, link.config, link.name, now)


def _close_loop(loop: Loop, link: CrmLink, report: CrmReport) -> None:
    """Answers, task status, SLAs, roll-ups, then every queued write to the CRM."""
    now = loop.clock()
    managers = _managers(loop, link)
    report.answers = handle_answers(loop.sessions, link.config, link, now, managers)
    report.followups, touched = read_task_status(loop.sessions, link, now)
    escalated, overdue = check_slas(loop.sessions, link.config, link, now, managers)
    report.followups.escalated = escalated
    write_stages(loop.sessions, link, touched | overdue, now)
    report.alerts = alert_non_responses(loop.sessions, link.config, link, now)
    report.rollups = write_rollups(loop.sessions, link, now, link.config.writeback.account_window)
    if not loop.dry_run:
        report.drain = drain(loop, link)


def drain(loop: Loop, link: CrmLink) -> DrainStats:
    """Send every due queued write of one CRM in full batches."""
    mirrored = {target.object_name: target.kind for target in link.targets[:2]}
    return Outbox(link.client, loop.sessions, loop.clock, mirrored=mirrored).drain()


def _managers(loop: Loop, link: CrmLink) -> dict[str, str]:
    """Task owner -> manager, read once per process and CRM (escalation to `manager`)."""
    if link.name not in loop.managers:
        loop.managers[link.name] = dict(link.client.managers())
    return loop.managers[link.name]


def _recorded(loop: Loop, link: CrmLink, report: CrmReport, step: Callable[[], None]) -> None:
    """Run a step and keep a `cycle_runs` row of it; a failure is recorded, not raised.

    The row is committed before the step starts (a crash leaves it "running"), and whatever
    the step fails on — the CRM's login included, since clients log in at their first call —
    ends it "failed" with the error, so `status` never reports an older cycle as the last.
    """
    started = loop.clock()
    with loop.sessions.begin() as session:
        run = CycleRun(crm=report.crm, started_at=started, outcome="running", stats={})
        session.add(run)
    try:
        step()
    except CrmError as error:
        report.error = f"{error.code}: {error.message}"
        log.warning("cycle_crm_failed", crm=report.crm, code=error.code)
    except Exception as error:  # a bug or an unforeseen failure: recorded, then logged in full
        report.error = f"{type(error).__name__}: unexpected failure (the log has the details)"
        log.exception("cycle_step_failed", crm=report.crm)
    report.api_usage = link.client.usage()
    with loop.sessions.begin() as session:
        row = session.get_one(CycleRun, run.id)
        row.finished_at = loop.clock()
        row.outcome = "failed" if report.error else "ok"
        row.error = report.error
        row.stats = report_stats(report)


def summary(report: CycleReport) -> dict[str, Any]:
    """The cycle's headline numbers, for the log line and `status`."""
    return {
        "started_at": report.started_at.isoformat(),
        "crms": [crm.crm for crm in report.crms],
        "pulled": sum(sum(crm.pulled.values()) for crm in report.crms),
        "events": sum(sum(crm.events.fired.values()) for crm in report.crms),
        "scheduled": sum(crm.plan.scheduled for crm in report.crms),
        "refused": sum(sum(crm.plan.refused.values()) for crm in report.crms),
        "sent": report.dispatch.sent,
        "reminded": report.dispatch.reminded,
        "answers": sum(crm.answers.handled for crm in report.crms),
        "tasks": sum(crm.answers.tasks for crm in report.crms),
        "written": sum(crm.drain.done for crm in report.crms),
        "failed_writes": sum(crm.drain.failed for crm in report.crms),
        "ok": report.ok,
    }


def report_stats(report: CrmReport) -> dict[str, Any]:
    """A CRM's cycle report as the JSON kept in `cycle_runs.stats` for `status`."""
    stats: dict[str, Any] = _jsonable(report)
    return stats


def _jsonable(value: Any) -> Any:
    """Stats as JSON: not `dataclasses.asdict`, which rebuilds a Counter from (key, count)
    pairs and so counts the reasons instead of the refusals."""
    if is_dataclass(value) and not isinstance(value, type):
        return {item.name: _jsonable(getattr(value, item.name)) for item in fields(value)}
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, set):
        return sorted(_jsonable(item) for item in value)
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value

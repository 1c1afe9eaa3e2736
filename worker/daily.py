"""The daily work: every account's roll-up (windows slide past old answers) and data retention.

`nps-worker run` runs it at `scheduler.daily_at` UTC, and at start or after a cycle when a
run was missed; `sync --once` runs it when it is due, so a deployment that runs `sync --once`
from cron keeps it without another entry. Each run is recorded in `job_runs`, and `status`
reports the work late (the worker unhealthy) when its last good run is older than the last
time it was due by more than `health.LATE_AFTER` (promise 11). It works on the store alone (roll-ups
are queued in the outbox), so a CRM outage does not hold it up.
"""

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import structlog

from worker.health import DAILY, is_due
from worker.loop.rollups import write_rollups
from worker.privacy import RetentionCounts, apply_retention
from worker.store import jobs

if TYPE_CHECKING:
    from worker.cycle import Loop

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DailyReport:
    """What one run of the daily work did."""

    rollups: int
    """Account roll-up writes queued."""
    retention: RetentionCounts


def run_daily(loop: "Loop") -> DailyReport:
    """Queue every account's roll-up and apply retention now; the run is recorded."""
    now = loop.clock()
    jobs.record_start(loop.sessions, DAILY, now)
    try:
        queued = sum(
            write_rollups(
                loop.sessions,
                link,
                now,
                link.config.writeback.account_window,
                every_account=True,
            )
            for link in loop.links
        )
        with loop.sessions.begin() as session:
            counts = apply_retention(session, loop.config.privacy.retention, now)
    except Exception as error:
        jobs.record_end(
            loop.sessions, DAILY, loop.clock(), error=f"{type(error).__name__}: see the log"
        )
        raise
    report = DailyReport(queued, counts)
    jobs.record_end(
        loop.sessions,
        DAILY,
        loop.clock(),
        stats={"rollups": queued, "retention": asdict(counts)},
    )
    log.info("daily_done", rollups=queued, retention=asdict(counts))
    return report


def run_daily_if_due(loop: "Loop") -> DailyReport | None:
    """Run the daily work when no good run started since it was last due; None otherwise."""
    with loop.sessions() as session:
        due = is_due(session, loop.clock(), loop.config.scheduler.daily_at)
    return run_daily(loop) if due else None

"""How the worker is doing, read from the store: each CRM's failures in a row, its last error
and when the daemon tries it again; whether the daily work is late.

A CRM that cannot be reached (an outage, a refused login) never stops the daemon: its cycle
steps are recorded as failed and tried again after a backoff that doubles with each failure
in a row, from `scheduler.cycle_every` up to an hour. The scheduler, `status`, `/readyz` and
`/metrics` all read the same rows through `crm_health`, in any replica. The daily work
(`worker.daily`) is late when its last good run is older than the last time it was due by more
than `LATE_AFTER` (promise 11).
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from worker.store import jobs
from worker.store.models import CycleRun

BACKOFF_MAX = dt.timedelta(hours=1)
"""The longest wait between two tries of a failing CRM (unless cycles are rarer anyway)."""
LOOKBACK = 64
"""Cycle steps read to count failures in a row; beyond it the count stops growing."""
FAILED = "failed"
DAILY = "daily"
"""The daily work's name in `job_runs`."""
LATE_AFTER = dt.timedelta(hours=2)
"""How long after its time the daily work may still be missing before `status` says late."""


@dataclass(frozen=True)
class CrmHealth:
    """One CRM's recent cycles: failures since the last good step, and the next try."""

    crm: str
    failures: int = 0
    """Cycle steps that failed in a row, newest first (0: the last one ended well)."""
    last_error: str | None = None
    last_ok_at: dt.datetime | None = None
    failing_since: dt.datetime | None = None
    retry_at: dt.datetime | None = None
    """When the daemon tries this CRM again (None: at its normal pace)."""

    @property
    def up(self) -> bool:
        """Whether the CRM's last cycle step ended well (or none ran yet)."""
        return self.failures == 0


def backoff(failures: int, every: dt.timedelta) -> dt.timedelta:
    """The wait before trying a CRM again after `failures` failed steps in a row.

    The cycle interval, doubling with each failure, capped at an hour (or at the interval,
    when cycles are rarer than that).
    """
    if failures <= 0:
        return dt.timedelta(0)
    cap = max(every, BACKOFF_MAX)
    wait: dt.timedelta = every * 2 ** min(failures - 1, 16)
    return min(wait, cap)


def crm_health(session: Session, crm: str, every: dt.timedelta) -> CrmHealth:
    """The health of `crm` as its finished cycle steps tell it."""
    rows = session.execute(
        select(CycleRun.outcome, CycleRun.error, CycleRun.started_at, CycleRun.finished_at)
        .where(CycleRun.crm == crm, CycleRun.finished_at.is_not(None))
        .order_by(CycleRun.started_at.desc(), CycleRun.id.desc())
        .limit(LOOKBACK)
    ).all()
    failed: list[tuple[str | None, dt.datetime, dt.datetime]] = []
    last_ok_at = None
    for outcome, error, started_at, finished_at in rows:
        if outcome != FAILED:
            last_ok_at = finished_at
            break
        failed.append((error, started_at, finished_at or started_at))
    if not failed:
        return CrmHealth(crm, last_ok_at=last_ok_at)
    newest_error, _, newest_end = failed[0]
    return CrmHealth(
        crm,
        failures=len(failed),
        last_error=newest_error,
        last_ok_at=last_ok_at,
        failing_since=failed[-1][1],
        retry_at=newest_end + backoff(len(failed), every),
    )


def crms_seen(session: Session, configured: list[str]) -> list[str]:
    """The configured CRMs first, then any other the cycle log names."""
    seen = set(session.scalars(select(CycleRun.crm).distinct()))
    return [*configured, *sorted(seen - set(configured))]


@dataclass(frozen=True)
class DailyState:
    """Where the daily work stands at `now`, for `status`, `/readyz` and `/metrics`."""

    due_at: dt.datetime
    """The last time it was due (today's `daily_at`, or yesterday's before that hour)."""
    last_started_at: dt.datetime | None
    last_ok_at: dt.datetime | None
    outcome: str
    """`ok`, `failed` or `running` for the last run; `never` before the first."""
    error: str | None
    late: bool


def due_at(now: dt.datetime, at: dt.time) -> dt.datetime:
    """The last moment at or before `now` when the daily work was due (`at` is UTC)."""
    utc = now.astimezone(dt.UTC)
    today = dt.datetime.combine(utc.date(), at, tzinfo=dt.UTC)
    return today if today <= utc else today - dt.timedelta(days=1)


def is_due(session: Session, now: dt.datetime, at: dt.time) -> bool:
    """Whether no good run started since the work was last due."""
    row = jobs.last_run(session, DAILY)
    return row is None or row.last_ok_at is None or row.last_ok_at < due_at(now, at)


def daily_state(session: Session, now: dt.datetime, at: dt.time) -> DailyState:
    """The daily work's last run, and whether it is late.

    Late: missed since it was due more than `LATE_AFTER` ago, by a worker that had run before
    then (a fresh install is not late before its first day).
    """
    due = due_at(now, at)
    row = jobs.last_run(session, DAILY)
    missed = row is None or row.last_ok_at is None or row.last_ok_at < due
    if row is None:
        first_cycle = session.scalar(select(func.min(CycleRun.started_at)))
        live = first_cycle is not None and first_cycle < due
    else:
        live = True
    return DailyState(
        due_at=due,
        last_started_at=row.started_at if row else None,
        last_ok_at=row.last_ok_at if row else None,
        outcome=row.outcome if row else "never",
        error=row.error if row else None,
        late=missed and live and now - due > LATE_AFTER,
    )


def health_lines(
    session: Session, crms: list[str], every: dt.timedelta, now: dt.datetime, daily_at: dt.time
) -> list[str]:
    """One line per CRM and one for the daily work: what `/readyz` shows under its verdict."""
    lines = []
    for crm in crms_seen(session, crms):
        health = crm_health(session, crm, every)
        if health.up:
            last = _at(health.last_ok_at) if health.last_ok_at else "none yet"
            lines.append(f"{crm}: ok (last good cycle step {last})")
            continue
        retry = _at(health.retry_at) if health.retry_at else "-"
        lines.append(
            f"{crm}: failing, {health.failures} cycle step(s) in a row since"
            f" {_at(health.failing_since)}: {health.last_error}; next try {retry}"
        )
    daily = daily_state(session, now, daily_at)
    last = _at(daily.last_ok_at) if daily.last_ok_at else "never"
    verdict = f"late (due {_at(daily.due_at)})" if daily.late else "on time"
    lines.append(f"daily work: {verdict}, last ran well {last}")
    return lines


def _at(moment: dt.datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

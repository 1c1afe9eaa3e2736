"""The last run of each scheduled job (`job_runs`): started, how it ended, the last good one."""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from worker.store.models import JobRun

RUNNING = "running"
OK = "ok"
FAILED = "failed"


def last_run(session: Session, name: str) -> JobRun | None:
    """The job's last recorded run, if it ever ran."""
    return session.get(JobRun, name)


def record_start(sessions: sessionmaker[Session], name: str, now: datetime) -> None:
    """A run of `name` begins: committed at once, so a run that dies shows as unfinished."""
    with sessions.begin() as session:
        row = session.get(JobRun, name)
        if row is None:
            row = JobRun(name=name, stats={})
            session.add(row)
        row.started_at = now
        row.finished_at = None
        row.outcome = RUNNING
        row.error = None


def record_end(
    sessions: sessionmaker[Session],
    name: str,
    now: datetime,
    *,
    error: str | None = None,
    stats: dict[str, Any] | None = None,
) -> None:
    """The run begun last ends, well or with `error`; a good run becomes the last good one."""
    with sessions.begin() as session:
        row = session.get_one(JobRun, name)
        row.finished_at = now
        row.outcome = FAILED if error else OK
        row.error = error
        if error is None:
            row.last_ok_at = row.started_at
            row.stats = dict(stats or {})

"""Bodies of the loop's commands: `sync --once [--dry-run]` and `run` (the daemon).

Both build the loop with `worker.runtime`, so a manual sync runs exactly what the daemon runs,
the daily work included when it is due (cron deployments need nothing else). A manual sync
takes the scheduler lease for its duration: while a daemon is planning, a second planner would
only wait for locks, so it refuses instead, says who holds the lease, and exits 1.
`run --web-only` serves the answer page without the scheduler: replicas behind a load balancer.
"""

import datetime as dt
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import structlog
from rich.console import Console
from rich.status import Status
from sqlalchemy.orm import sessionmaker

from worker.config import Config
from worker.cycle import CycleReport, Loop, run_cycle, summary
from worker.daily import DailyReport, run_daily_if_due
from worker.notify.alerts import send_alerts
from worker.runtime import Store, build_loop, freeze_long_lived, open_store, serving, utc_now
from worker.scheduler import Daemon, stop_on_signal
from worker.store import lease

log = structlog.get_logger(__name__)
INDENT = "    "
Clock = Callable[[], dt.datetime]


class LeaseHeld(Exception):
    """Another process runs the scheduler; a manual sync would compete with it."""


def sync_once(
    config: Config,
    *,
    dry_run: bool,
    others: Sequence[Config] = (),
    env: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
) -> int:
    """One cycle now; with `dry_run`, print the plan and change nothing. Returns the exit code.

    `clock` is the loop's (the sandbox CRM's, when it is one); the lease keeps the wall clock,
    which the daemon that might hold it shares.
    """
    store = open_store(config)
    holder = f"sync-once:{os.getpid()}"
    now = utc_now()
    if not dry_run and not lease.acquire(
        store.sessions, lease.SCHEDULER, holder, now=now, ttl=dt.timedelta(hours=1)
    ):
        refusal = _lease_held(lease.holding(store.sessions, lease.SCHEDULER, now=now))
        store.engine.dispose()
        raise LeaseHeld(refusal)
    try:
        if dry_run:
            return _dry_run(config, store, others, env, clock)
        loop = build_loop(config, store, env=env, others=others, clock=clock)
        with _progress_line() as loop.progress:
            report, daily = one_sync(loop)
        print("\n".join(cycle_lines(summary(report), report)))
        if daily is not None:
            erased = daily.retention
            print(
                f"daily work: account roll-ups queued {daily.rollups}; retention erased"
                f" {erased.comments} comments, {erased.sent_writes} sent writes,"
                f" {erased.contacts} contacts, {erased.event_payloads} event payloads"
            )
        if any(link.config.alerts.rules for link in loop.links):
            alerts = send_alerts(store.sessions, config, clock(), env=env)
            print(
                f"chat alerts: sent {alerts.sent} in {alerts.messages} message(s),"
                f" waiting {alerts.deferred}, given up {alerts.failed}"
            )
        return 0 if report.ok else 1
    finally:
        if not dry_run:
            lease.release(store.sessions, lease.SCHEDULER, holder, now=utc_now())
        store.engine.dispose()


def one_sync(loop: Loop) -> tuple[CycleReport, DailyReport | None]:
    """What `sync --once` does: one cycle, then the daily work if it is due."""
    report = run_cycle(loop)
    return report, run_daily_if_due(loop)


def _lease_held(held: tuple[str, dt.datetime] | None) -> str:
    """Why `sync --once` did not run, and what to do about it."""
    if held is None:  # released between our attempt and this look
        return "sync --once did not run: another process had just taken the scheduler lease"
    holder, until = held
    who = "another `sync --once`" if holder.startswith("sync-once:") else "a running daemon"
    return (
        f"sync --once did not run: {who} ({holder}) holds the scheduler lease until"
        f" {until:%Y-%m-%d %H:%M:%S} UTC and runs the cycles; a second one would only"
        " compete with it. Let it work, or stop it first."
    )


@contextmanager
def _progress_line() -> Iterator[Callable[[str, int], None] | None]:
    """On a terminal, one live line of records pulled so far; elsewhere nothing."""
    if not sys.stdout.isatty():
        yield None
        return
    with Status("pulling", console=Console()) as status:

        def show(object_name: str, records: int) -> None:
            status.update(f"pulling {object_name}: {records:,} records")

        yield show


def cycle_lines(numbers: Mapping[str, Any], report: CycleReport) -> list[str]:
    """The cycle's numbers as sentences, and each CRM's error (not a dict's repr)."""
    outcome = "ok" if numbers["ok"] else "FAILED"
    lines = [
        f"cycle {outcome} / サイクル{'完了' if numbers['ok'] else '失敗'}:"
        f" {', '.join(numbers['crms'])} at {numbers['started_at'][:16].replace('T', ' ')}Z",
        f"{INDENT}pulled {numbers['pulled']} records, {numbers['events']} new events",
        f"{INDENT}surveys: {numbers['scheduled']} planned, {numbers['refused']} refused,"
        f" {numbers['sent']} sent, {numbers['reminded']} reminders",
        f"{INDENT}answers: {numbers['answers']} handled, {numbers['tasks']} follow-up tasks",
        f"{INDENT}CRM writes: {numbers['written']} made, {numbers['failed_writes']} refused",
    ]
    lines.extend(f"{INDENT}{crm.crm}: {crm.error}" for crm in report.crms if crm.error)
    return lines


def _dry_run(
    config: Config,
    store: Store,
    others: Sequence[Config],
    env: Mapping[str, str] | None,
    clock: Clock,
) -> int:
    """The cycle inside one transaction that is rolled back: plan printed, nothing kept or sent."""
    from worker.dry_run import describe_plan, marks

    with store.engine.connect() as connection:
        outer = connection.begin()
        sessions = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        with sessions() as session:
            before = marks(session)
        loop = build_loop(
            config, Store(store.engine, sessions, store.url), env=env, others=others, clock=clock
        )
        loop.dry_run = True
        report = run_cycle(loop)
        with sessions() as session:
            for line in describe_plan(session, before, loop.clock()):
                print(line)
        outer.rollback()
    print("dry run: nothing was sent, written to the CRM, or kept in the database")
    return 0 if report.ok else 1


def run_daemon(
    config: Config,
    *,
    others: Sequence[Config] = (),
    env: Mapping[str, str] | None = None,
    web_only: bool = False,
) -> int:
    """Serve the web app and run the scheduled jobs until SIGTERM or SIGINT.

    The CRMs are logged in at their first cycle, not here: an unreachable CRM is a failed
    cycle, tried again with backoff, while the answer page keeps serving. `web_only` serves the
    page alone: no scheduler lease, no cycles, no CRM calls.
    """
    store = open_store(config)
    loop = None if web_only else build_loop(config, store, env=env, others=others)
    freeze_long_lived()
    with serving(config, store, env=env):
        if loop is None:
            log.info("web_only", host=config.server.host, port=config.server.port)
            stopping = threading.Event()
            stop_on_signal(stopping)
            stopping.wait()
        else:
            Daemon(loop).run_forever()
    store.engine.dispose()
    return 0

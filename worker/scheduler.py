"""The daemon: APScheduler jobs in the replica holding the scheduler lease, the web app in all.

Jobs (none overlaps itself; runs missed while busy or down are coalesced into one):
- lease: every lease_ttl/3, take or renew the scheduler lease; only the holder runs the others;
- cycle: every `scheduler.cycle_every`, one whole cycle per CRM (`worker.cycle.run_cycle`); a
  CRM whose last cycles failed (unreachable, login refused) is tried again after a backoff
  (`worker.health`), and the daily work follows when it was missed;
- dispatch: every `scheduler.dispatch_every`, due invitations and reminders, scanner answers;
- daily: at `scheduler.daily_at` UTC (and at once on start when a run was missed), full account
  roll-ups and data retention (`worker.daily`);
- digest: on `digest.cron` when the digest is enabled, the weekly review pack (once per time);
- alerts: every 15 s when `alerts` has rules, queued chat alerts posted (`worker.notify.alerts`),
  outside the jobs' lock, so a slow chat never holds a cycle up.
The interval jobs first run at start; the daily and digest jobs at their next time, never paused.
SIGTERM or SIGINT lets the running job finish its step, releases the lease and stops the web app.
"""

import datetime as dt
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from types import FrameType

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from worker.config.values import crontab
from worker.cycle import Loop, dispatch, run_cycle, summary
from worker.daily import run_daily_if_due
from worker.digest.send import send_due
from worker.health import crm_health, is_due
from worker.notify.alerts import send_alerts
from worker.notify.sender import Chats
from worker.store import lease
from worker.surveys.mail import make_transport

log = structlog.get_logger(__name__)

ALERTS_EVERY = 15
"""Seconds between runs of the alerts job: alerts reach the chat within a quarter minute."""


class Daemon:
    """The scheduled jobs of one replica; `run_forever` blocks until told to stop."""

    def __init__(self, loop: Loop, *, holder: str | None = None) -> None:
        self.loop = loop
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leader = False
        self.stopping = threading.Event()
        self._work = threading.Lock()
        self._chats: Chats | None = None
        self.scheduler = BackgroundScheduler(
            timezone=dt.UTC,
            executors={"default": ThreadPoolExecutor(max_workers=3)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )

    def start(self) -> None:
        """Take the lease if free, then schedule the jobs (the scheduler runs in threads)."""
        settings = self.loop.config.scheduler
        self.renew_lease()
        jobs: list[tuple[str, Callable[[], None], IntervalTrigger | CronTrigger]] = [
            ("lease", self.renew_lease, IntervalTrigger(seconds=_seconds(settings.lease_ttl) / 3)),
            (
                "cycle",
                self._leading(self.cycle),
                IntervalTrigger(seconds=_seconds(settings.cycle_every)),
            ),
            (
                "dispatch",
                self._leading(self.dispatch),
                IntervalTrigger(seconds=_seconds(settings.dispatch_every)),
            ),
            (
                "daily",
                self._leading(self.daily),
                CronTrigger(
                    hour=settings.daily_at.hour, minute=settings.daily_at.minute, timezone=dt.UTC
                ),
            ),
        ]
        now = dt.datetime.now(dt.UTC)
        with self.loop.sessions() as session:
            daily_missed = is_due(session, self.loop.clock(), settings.daily_at)
        for name, job, trigger in jobs:
            first: dict[str, dt.datetime] = {}
            if name != "daily" or daily_missed:
                first["next_run_time"] = now
            self.scheduler.add_job(job, trigger, id=name, name=name, **first)
        if any(link.config.alerts.rules for link in self.loop.links):
            self.scheduler.add_job(
                self.alerts, IntervalTrigger(seconds=ALERTS_EVERY), id="alerts", name="alerts"
            )
        digest = self.loop.config.digest
        if digest.enabled:
            self.scheduler.add_job(
                self._leading(self.digest),
                crontab(digest.cron, digest.time_zone),
                id="digest",
                name="digest",
            )
        self.scheduler.start()
        runs = {name: at.isoformat() if at else None for name, at in self.next_runs().items()}
        log.info("daemon_started", holder=self.holder, leader=self.leader, next_runs=runs)

    def next_runs(self) -> dict[str, dt.datetime | None]:
        """When each job runs next (None: paused, which no job ever should be)."""
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def stop(self) -> None:
        """Finish the running step, then release the lease so another replica takes over now."""
        self.stopping.set()
        self.scheduler.shutdown(wait=True)
        if self.leader:
            lease.release(self.loop.sessions, lease.SCHEDULER, self.holder, now=self.loop.clock())
            self.leader = False
        log.info("daemon_stopped", holder=self.holder)

    def run_forever(self) -> None:
        """Start, wait for SIGTERM or SIGINT, stop cleanly."""
        stop_on_signal(self.stopping)
        self.start()
        self.stopping.wait()
        self.stop()

    def renew_lease(self) -> None:
        """Take or keep the scheduler lease; lose leadership when someone else holds it."""
        ttl = self.loop.config.scheduler.lease_ttl
        held = lease.acquire(
            self.loop.sessions, lease.SCHEDULER, self.holder, now=self.loop.clock(), ttl=ttl
        )
        if held != self.leader:
            log.info("scheduler_lease", holder=self.holder, held=held)
        self.leader = held

    def cycle(self) -> None:
        """One whole cycle over every CRM not waiting out a backoff, then missed daily work."""
        now = self.loop.clock()
        every = self.loop.config.scheduler.cycle_every
        waiting: dict[str, dt.datetime] = {}
        with self.loop.sessions() as session:
            for link in self.loop.links:
                health = crm_health(session, link.name, every)
                if health.retry_at is not None and health.retry_at > now:
                    waiting[link.name] = health.retry_at
        for crm, retry_at in waiting.items():
            log.info("cycle_crm_backoff", crm=crm, retry_at=retry_at.isoformat())
        ready = [link.name for link in self.loop.links if link.name not in waiting]
        log.info("cycle_done", **summary(run_cycle(self.loop, ready)))
        run_daily_if_due(self.loop)

    def dispatch(self) -> None:
        """Send what is due now."""
        sent, finalized = dispatch(self.loop)
        if sent.sent or sent.reminded or finalized:
            log.info("dispatched", sent=sent.sent, reminded=sent.reminded, finalized=finalized)

    def alerts(self) -> None:
        """Post the chat alerts that are due, in the lease holder only; failures stay queued."""
        if not self.leader or self.stopping.is_set():
            return
        try:
            stats = send_alerts(self.loop.sessions, self.loop.config, self.loop.clock())
        except Exception:  # a failed run is logged; the alerts wait for the next one
            log.exception("job_failed", job="alerts")
            return
        if stats.sent or stats.failed or stats.deferred:
            log.info("chat_alerts", sent=stats.sent, deferred=stats.deferred, failed=stats.failed)

    def daily(self) -> None:
        """Roll-ups of every account (windows slide) and data retention, unless done already."""
        run_daily_if_due(self.loop)

    def digest(self) -> None:
        """The weekly review pack that fell due: e-mailed and posted to chat, once."""
        config = self.loop.config
        if self._chats is None and config.notify.webhooks():
            self._chats = Chats(config.notify)  # posts go on in its thread; the job returns
        send_due(
            self.loop.sessions,
            config,
            now=self.loop.clock(),
            transport=make_transport(config.survey.mail),
            chats=self._chats,
        )

    def _leading(self, job: Callable[[], None]) -> Callable[[], None]:
        """Run `job` only while this replica holds the lease and is not stopping.

        Jobs take turns (one lock): a cycle and a dispatch never write the store at once,
        which SQLite could refuse and which would make logs hard to read.
        """

        def run() -> None:
            if not self.leader or self.stopping.is_set():
                return
            with self._work:
                if self.stopping.is_set():
                    return
                try:
                    job()
                except Exception:  # a failed run is logged; the next one tries again
                    log.exception("job_failed", job=job.__name__)

        run.__name__ = job.__name__
        return run


def stop_on_signal(stopping: threading.Event) -> None:
    """Set `stopping` on SIGTERM or SIGINT (a container stop, Ctrl-C)."""

    def ask_to_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("daemon_signal", signal=signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)


def _seconds(span: dt.timedelta) -> float:
    return span.total_seconds()

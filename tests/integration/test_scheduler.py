"""The daemon's jobs in the real APScheduler, under a frozen clock, and their bodies as plain
callables: the daily work runs at its time (never paused), a missed run happens at start, and
a CRM that cannot be reached is tried again after a growing backoff."""

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config, parse_config
from worker.cycle import Loop
from worker.health import DAILY
from worker.mappers import salesforce as sf
from worker.scheduler import Daemon
from worker.store import jobs
from worker.store.models import CycleRun, JobRun
from worker.sync.base import ApiUsage, Cursor, Page, Unavailable
from worker.sync.link import CrmLink
from worker.sync.pull import PullTarget

MONDAY_2AM = dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC)
WAIT_S = 60.0
"""Generous: how long the test waits for a job thread to record its run (a busy machine)."""


def _config(cycle_every: str = "1d") -> Config:
    return parse_config(
        "crm: {kind: salesforce}\n"
        f"scheduler: {{daily_at: '03:00', cycle_every: {cycle_every}, dispatch_every: 1h}}\n"
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _loop(sessions: sessionmaker[Session], links: Sequence[CrmLink] = (), **config: Any) -> Loop:
    return Loop(_config(**config), sessions, links, {}, _now)


def _last_daily(sessions: sessionmaker[Session]) -> dt.datetime | None:
    with sessions() as session:
        row = session.get(JobRun, DAILY)
        return row.last_ok_at if row else None


def _daily_ran_at(sessions: sessionmaker[Session], at: dt.datetime) -> None:
    jobs.record_start(sessions, DAILY, at)
    jobs.record_end(sessions, DAILY, at)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"waited {WAIT_S:.0f}s for {what}")


@pytest.fixture
def daemon_of() -> Iterator[Callable[[Loop], Daemon]]:
    """Daemons built by the test, stopped at its end."""
    started: list[Daemon] = []

    def build(loop: Loop) -> Daemon:
        daemon = Daemon(loop, holder="test-replica")
        started.append(daemon)
        return daemon

    yield build
    for daemon in started:
        if daemon.scheduler.running:
            daemon.stop()


class TestDailyJob:
    """The daily work in the scheduler: on time, and caught up after a missed run."""

    def test_runs_when_its_time_comes(
        self, sessions: sessionmaker[Session], daemon_of: Callable[[Loop], Daemon]
    ) -> None:
        """Scheduled for today's 03:00 (not paused); at 03:00 the scheduler runs it."""
        with time_machine.travel(MONDAY_2AM, tick=False) as clock:
            _daily_ran_at(sessions, MONDAY_2AM - dt.timedelta(hours=23))
            daemon = daemon_of(_loop(sessions))
            daemon.start()
            assert daemon.next_runs()["daily"] == MONDAY_2AM.replace(hour=3)

            three = MONDAY_2AM.replace(hour=3, second=1)
            clock.move_to(three)
            daemon.scheduler.wakeup()
            _wait_for(lambda: _last_daily(sessions) == three, "the daily job at 03:00")
            assert daemon.next_runs()["daily"] == three.replace(second=0) + dt.timedelta(days=1)

    def test_a_missed_run_happens_at_start(
        self, sessions: sessionmaker[Session], daemon_of: Callable[[Loop], Daemon]
    ) -> None:
        """A daemon that was down at 03:00 yesterday and today does the work as it starts."""
        with time_machine.travel(MONDAY_2AM.replace(hour=9), tick=False):
            _daily_ran_at(sessions, MONDAY_2AM - dt.timedelta(days=2))
            daemon = daemon_of(_loop(sessions))
            daemon.start()

            _wait_for(lambda: _last_daily(sessions) == _now(), "the missed daily work")


class Unreachable:
    """A CRM whose every call fails as an unreachable one does, counting the calls."""

    name = "salesforce"

    def __init__(self) -> None:
        self.calls = 0

    def pull(self, object_name: str, fields: Sequence[str], since: Cursor) -> Iterator[Page]:
        self.calls += 1
        raise Unavailable(self.name, "ConnectionError", "no answer from Salesforce")

    def usage(self) -> ApiUsage | None:
        return None


def _unreachable_link(client: Unreachable) -> CrmLink:
    def nothing(*_args: Any) -> None:
        return None

    target = PullTarget("Account", "account", ("Name",), lambda record: record)  # type: ignore[arg-type]
    return CrmLink(client, (target,), nothing, nothing, sf.task_owner_update, _config())  # type: ignore[arg-type]


class TestBackoff:
    """The cycle job's body: an unreachable CRM is recorded failed and retried ever later."""

    def test_failed_cycles_are_retried_with_a_growing_backoff(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """Five-minute cycles: after one failure the next try waits 5 min, after two 10 min."""
        client = Unreachable()
        daemon = Daemon(_loop(sessions, [_unreachable_link(client)], cycle_every="5m"))
        start = MONDAY_2AM
        tries = []
        with time_machine.travel(start, tick=False) as clock:
            for minutes in (0, 1, 4, 6, 10, 15, 17):
                clock.move_to(start + dt.timedelta(minutes=minutes, seconds=1))
                before = client.calls
                daemon.cycle()
                tries.append((minutes, client.calls > before))

        assert tries == [
            (0, True),
            (1, False),
            (4, False),
            (6, True),
            (10, False),
            (15, False),
            (17, True),
        ]
        with sessions() as session:
            failed = session.scalar(
                select(func.count()).select_from(CycleRun).where(CycleRun.outcome == "failed")
            )
        assert failed == 3

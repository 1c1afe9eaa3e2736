"""One process of the chaos run (benchmarks/chaos.py): a worker, the web endpoint, or a migration.

    chaos_worker.py worker CONFIG HOLDER   cycles of the production loop while holding the lease
    chaos_worker.py web CONFIG             the response web app (uvicorn) until killed
    chaos_worker.py migrate URL            `worker.store.migrate.upgrade` (to be killed midway)

Every process lives in the sandbox's time: its clock reads `GET /_sandbox/clock` (at most every
`CLOCK_REFRESH_S`, running on with the monotonic clock in between), so the harness can move
weeks past in minutes. The scheduler lease is taken and renewed as the Daemon does, but on the
wall clock with a short ttl: a lease is about a process being alive, and a killed leader's
successor should take over in seconds, not after hours of simulated time.

A worker tells the harness what it is doing as JSON lines on stdout: `phase` (pull, dispatch,
drain, tasks) when it reaches a CRM call or a send, `cycle_start`/`cycle_done` around each cycle,
`lease` when its leadership changes. The CRM client and channels are wrapped only to announce
those phases; every call goes through to the production objects unchanged. Secrets come from
the environment the harness passes; logs (warnings and up) go to stderr.
"""

import datetime as dt
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from worker.config import Config, load_config
from worker.cycle import run_cycle, summary
from worker.logs import configure_logging
from worker.runtime import build_loop, open_store, serving
from worker.store import lease
from worker.store.migrate import upgrade
from worker.surveys.channels import Channel
from worker.surveys.delivery import Delivery
from worker.sync.base import CrmClient
from worker.sync.endpoint import endpoint_session
from worker.sync.factory import connect
from worker.sync.link import link

log = structlog.get_logger(__name__)

CLOCK_REFRESH_S = 0.1
"""How stale a process's view of the sandbox clock may get after the harness moves it."""
LEASE_TTL_S = 2.0
"""Wall-clock lease ttl: a killed leader is replaced this long after its last renewal."""
IDLE_S = 0.05


def say(event: str, **fields: Any) -> None:
    """One line for the harness."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class SandboxTime:
    """The sandbox's clock as seen from another process, through its control API."""

    def __init__(self, base_url: str, ca_path: str) -> None:
        self._url = f"{base_url}/_sandbox/clock"
        self._http = endpoint_session(base_url, Path(ca_path))
        self._lock = threading.Lock()
        self._read_at = -1e9
        self._then = dt.datetime.fromtimestamp(0, dt.UTC)

    def __call__(self) -> dt.datetime:
        """Now in the sandbox (never more than CLOCK_REFRESH_S stale)."""
        with self._lock:
            elapsed = time.monotonic() - self._read_at
            if elapsed > CLOCK_REFRESH_S:
                reply = self._http.get(self._url, timeout=10)
                reply.raise_for_status()
                self._then = dt.datetime.fromisoformat(reply.json()["now"])
                self._read_at, elapsed = time.monotonic(), 0.0
            return self._then + dt.timedelta(seconds=elapsed)


class AnnouncedClient:
    """A CRM client that announces which part of the cycle each call belongs to."""

    def __init__(self, client: CrmClient) -> None:
        self._client = client
        self.name = client.name

    def pull(self, object_name: str, fields: Sequence[str], since: Any) -> Iterator[Any]:
        """Pages of changed records (announced per request)."""
        say("phase", phase="pull")
        for page in self._client.pull(object_name, fields, since):
            say("phase", phase="pull")
            yield page

    def pull_deleted(self, object_name: str, since: Any) -> Iterator[Any]:
        """Pages of deleted records."""
        say("phase", phase="pull")
        for page in self._client.pull_deleted(object_name, since):
            say("phase", phase="pull")
            yield page

    def update(self, *args: Any, **kwargs: Any) -> Any:
        """Field updates (the outbox drain)."""
        say("phase", phase="drain")
        return self._client.update(*args, **kwargs)

    def create_tasks(self, *args: Any, **kwargs: Any) -> Any:
        """Follow-up tasks (the outbox drain)."""
        say("phase", phase="drain")
        return self._client.create_tasks(*args, **kwargs)

    def create_notes(self, *args: Any, **kwargs: Any) -> Any:
        """Response notes (the outbox drain)."""
        say("phase", phase="drain")
        return self._client.create_notes(*args, **kwargs)

    def task_statuses(self, *args: Any, **kwargs: Any) -> Any:
        """Task status read-back."""
        say("phase", phase="tasks")
        return self._client.task_statuses(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class AnnouncedChannel:
    """A survey channel that announces each send before handing it over."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def deliver(self, session: Any, delivery: Delivery, now: dt.datetime) -> None:
        """Send one invitation or reminder."""
        say("phase", phase="dispatch")
        self._channel.deliver(session, delivery, now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)


class Leadership:
    """The scheduler lease, renewed in a thread like the Daemon's lease job."""

    def __init__(self, config: Config, store_sessions: Any, holder: str) -> None:
        self._sessions = store_sessions
        self._holder = holder
        self.held = False
        self._thread = threading.Thread(target=self._renew_forever, name="lease", daemon=True)

    def start(self) -> None:
        """Take the lease if free, then keep renewing it every third of its ttl."""
        self.renew()
        self._thread.start()

    def renew(self) -> None:
        """Take or keep the lease; announce a change of leadership."""
        try:
            held = lease.acquire(
                self._sessions,
                lease.SCHEDULER,
                self._holder,
                now=dt.datetime.now(dt.UTC),
                ttl=dt.timedelta(seconds=LEASE_TTL_S),
            )
        except Exception as error:  # noqa: BLE001 - a failed renewal is reported, then retried
            say("lease_error", error=type(error).__name__)
            held = False
        if held != self.held:
            say("lease", held=held)
        self.held = held

    def _renew_forever(self) -> None:
        while True:
            time.sleep(LEASE_TTL_S / 3)
            self.renew()


def run_worker(config_path: Path, holder: str, env: Mapping[str, str]) -> None:
    """While holding the lease, a cycle whenever `scheduler.cycle_every` of sandbox time passed."""
    config = load_config(config_path, env=env)
    clock = SandboxTime(env["CHAOS_SANDBOX_URL"], env["CHAOS_SANDBOX_CA"])
    store = open_store(config)
    say("phase", phase="connect")
    links = [link(config, AnnouncedClient(connect(config, env)))]
    loop = build_loop(config, store, env=env, clock=clock, links=links)
    loop.channels = {kind: AnnouncedChannel(channel) for kind, channel in loop.channels.items()}  # type: ignore[misc]
    leadership = Leadership(config, store.sessions, holder)
    leadership.start()
    last_start: dt.datetime | None = None
    say("ready")
    while True:
        now = clock()
        due = last_start is None or now - last_start >= config.scheduler.cycle_every
        if not (leadership.held and due):
            time.sleep(IDLE_S)
            continue
        last_start = now
        say("cycle_start", at=now.isoformat())
        try:
            report = run_cycle(loop)
        except Exception as error:
            log.exception("job_failed", job="cycle")
            say("cycle_done", at=now.isoformat(), ok=False, exception=type(error).__name__)
            continue
        say("cycle_done", at=now.isoformat(), **summary(report))


def run_web(config_path: Path, env: Mapping[str, str]) -> None:
    """The response web app on the configured port, in the sandbox's time, until killed."""
    config = load_config(config_path, env=env)
    clock = SandboxTime(env["CHAOS_SANDBOX_URL"], env["CHAOS_SANDBOX_CA"])
    store = open_store(config)
    with serving(config, store, env=env, clock=clock):
        say("ready")
        threading.Event().wait()


def main(argv: Sequence[str]) -> None:
    """Dispatch on the role named first."""
    configure_logging("WARNING", "json")
    env = dict(os.environ)
    role, *rest = argv
    if role == "worker":
        run_worker(Path(rest[0]), rest[1], env)
    elif role == "web":
        run_web(Path(rest[0]), env)
    elif role == "migrate":
        say("migrating")
        started = time.monotonic()
        upgrade(rest[0])
        say("migrated", seconds=time.monotonic() - started)
    else:
        raise SystemExit(f"unknown role {role!r}: worker, web or migrate")


if __name__ == "__main__":
    main(sys.argv[1:])

"""One process of the chaos run (benchmarks/chaos.py): `nps-worker run`, or a migration.

    chaos_worker.py run CONFIG     `nps-worker run --config CONFIG`, living in the sandbox's time
    chaos_worker.py status CONFIG  `nps-worker status --format json --config CONFIG`, likewise
    chaos_worker.py migrate URL    `worker.store.migrate.upgrade` (to be killed midway)

`run` is the production command itself (`worker.cli.main(["run", ...])`): the daemon's
scheduled cycles and dispatch, and the answer web endpoint, in one process, as a container
runs it. The only thing added is time: the process's clock (`time.time`, `datetime.now`)
follows the sandbox's clock (`GET /_sandbox/clock`), so the harness can move weeks past in
minutes. time-machine shifts the process's wall clock when the sandbox's jumps, and wakes
APScheduler, whose next job would otherwise wait out the old interval in real seconds.
Monotonic clocks (timeouts, asyncio) are left alone.

The harness learns what the process does from its logs (JSON on stderr, as in a container):
`listening`, `object_pulled`, `dispatch_done`, `cycle_done`, `scheduler_lease`.
"""

import datetime as dt
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import time_machine
from apscheduler.schedulers.background import BackgroundScheduler

from worker.store.migrate import upgrade
from worker.sync.endpoint import endpoint_session

FOLLOW_EVERY_S = 0.05
"""How often the process looks at the sandbox clock."""
JUMP_S = 0.5
"""A difference larger than this is a jump of the sandbox clock, followed at once."""


class SandboxTime:
    """The sandbox's clock, read through its control API."""

    def __init__(self, base_url: str, ca_path: str) -> None:
        self._url = f"{base_url}/_sandbox/clock"
        self._http = endpoint_session(base_url, Path(ca_path))

    def now(self) -> dt.datetime:
        """Now in the sandbox."""
        reply = self._http.get(self._url, timeout=10)
        reply.raise_for_status()
        return dt.datetime.fromisoformat(reply.json()["now"])


def follow(sandbox: SandboxTime) -> None:
    """From now on this process's wall clock is the sandbox's; jumps wake the scheduler."""
    traveller = time_machine.travel(sandbox.now(), tick=True).start()
    schedulers: list[BackgroundScheduler] = []
    start = BackgroundScheduler.start

    def remembered(self: BackgroundScheduler, *args: Any, **kwargs: Any) -> None:
        schedulers.append(self)
        start(self, *args, **kwargs)

    BackgroundScheduler.start = remembered  # type: ignore[method-assign]

    def keep_up() -> None:
        while True:
            time.sleep(FOLLOW_EVERY_S)
            try:
                there = sandbox.now()
            except Exception:  # noqa: BLE001, S112 - the sandbox stopping ends the run anyway
                continue
            if (there - dt.datetime.now(dt.UTC)).total_seconds() > JUMP_S:
                traveller.move_to(there)
                for scheduler in schedulers:
                    scheduler.wakeup()

    threading.Thread(target=keep_up, name="sandbox-time", daemon=True).start()


def main(argv: Sequence[str]) -> None:
    """Dispatch on the role named first."""
    role, *rest = argv
    if role == "run":
        from worker.cli import main as cli

        follow(SandboxTime(os.environ["CHAOS_SANDBOX_URL"], os.environ["CHAOS_SANDBOX_CA"]))
        raise SystemExit(cli(["run", "--config", rest[0]]))
    if role == "status":
        from worker.cli import main as cli

        follow(SandboxTime(os.environ["CHAOS_SANDBOX_URL"], os.environ["CHAOS_SANDBOX_CA"]))
        raise SystemExit(cli(["status", "--format", "json", "--config", rest[0]]))
    if role == "migrate":
        sys.stdout.write('{"event": "migrating"}\n')
        sys.stdout.flush()
        started = time.monotonic()
        upgrade(rest[0])
        sys.stdout.write(f'{{"event": "migrated", "seconds": {time.monotonic() - started}}}\n')
        sys.stdout.flush()
        return
    raise SystemExit(f"unknown role {role!r}: run, status or migrate")


if __name__ == "__main__":
    main(sys.argv[1:])

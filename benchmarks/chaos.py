"""The chaos run: `nps-worker run` over simulated weeks while the CRM fails and it is SIGKILLed.

    .venv/bin/python benchmarks/chaos.py --contacts 2000 --kills 50 --seed 7
    .venv/bin/python benchmarks/chaos.py --replicas 2 --backend postgres --contacts 500 --kills 20

Processes: the sandbox CRM (a child process, `--fault-rate` of its Salesforce API calls failing
as 429, 500, 503, slow answers or dropped connections) and `--replicas` copies of the
production command `nps-worker run` (benchmarks/chaos_worker.py): scheduled cycles, dispatch
and the answer web endpoint in one process, living in the sandbox's time. E-mail goes over
SMTP to a capture server here; simulated people read it and answer through the web endpoint
of the process being killed, retrying when it is down, as a person reloads a page.

The harness moves the sandbox clock (`--cycles-per-day` steps in office hours, then to the next
morning), waits for a cycle that started after each move (moving the clock one cycle interval
on whenever every process sits waiting on a timer instead), and SIGKILLs a `run` process
`--kills` times in all: while it pulls (after its log says an object was pulled), while it
sends (inside the SMTP transaction, before the capture answers 250: the message arrived, the
sender cannot know), after its dispatch (answers, task status, CRM writes), or at random. The
victim is restarted at once (a replica after a pause) and takes the scheduler lease over once
the dead one's lapses. Before that, `nps-worker migrate` is killed midway on fresh databases and
must then upgrade to head. At the end faults stop, the clock moves past the delivery grace
period, and clean cycles recover.

Every promise is judged from outside the worker (DESIGN.md section 5):
- the mail received, against the invitations and reminders the worker marked as sent: right
  after each kill, how many marked-sent messages never arrived and how many sends the store
  shows cut off mid hand-over (at most one per kill; with replicas, a send a live one finishes
  within the worker's hand-over limit is its own, not the victim's), and at the end none
  (re-sent after the grace period); a Message-ID received once more for each kill that left a
  send of it unknown, each copy a grace period after the one before, and never otherwise;
  never two invitations of different surveys to one address within the interval;
- the CRM's records, by contact (an address may have several records): follow-up tasks and
  response notes per address against the answers people were thanked for, and each address's
  last score on its contact;
- what the people were thanked for (200), against what the store and the CRM hold;
- `nps-worker status` at the end: healthy (exit 0).
The exit code is 0 only when every promise held. What is observed from outside (mail,
people, the CRM's records, the store's claims) and the judging live in chaos_outside.py.
"""

import argparse
import contextlib
import json
import os
import random
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any
from uuid import uuid4

import requests
from chaos_outside import (
    AfterKills,
    Ledger,
    MailCapture,
    People,
    crm_state,
    free_port,
    repeats,
    store_engine,
    verify,
)
from sandbox_process import SandboxProcess
from sqlalchemy import create_engine, select, text

from worker.config import load_config
from worker.config.programs import RecoveryTrigger
from worker.demo.run import PROGRAMS, REP_HABITS, START
from worker.logs import configure_logging
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.store.engine import normalise_url
from worker.store.migrate import current_revision, head_revision, upgrade
from worker.store.models import OutboxEntry, OutboxState, Response
from worker.surveys.tokens import TokenSigner
from worker.sync.endpoint import endpoint_session

WORKER = Path(__file__).with_name("chaos_worker.py")
POSTGRES_SERVER = os.environ.get(
    "NPS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FAULT_KINDS = ("429", "500", "503", "slow", "drop")
KILL_TARGETS = ("pull", "dispatch", "close", "any")
LEADER_SHARE = 0.75
"""Among replicas, how often the victim is the one holding the lease (else any of them)."""
STEP_TIMEOUT_S = 180.0
"""A step whose cycle has not finished after this long is a hang, reported as a failure."""
LEASE_TTL = timedelta(seconds=15)
CYCLE_EVERY = timedelta(minutes=1)
TRAPPED = "sending (inside SMTP DATA)"
SETTLE_S = 0.5
NUDGE_AFTER_S = 1.0
"""A board this long quiet while a cycle is awaited: the daemon waits on a timer, not work."""
MAX_NUDGES = 5
"""Nudges in one step at most (each one cycle interval of sandbox time)."""
"""After a kill, how long other replicas get to finish a message they were handing over."""

CONFIG = """\
database:
  url: {database}
crm:
  kind: salesforce
  endpoint: {endpoint}
  ca_bundle: {ca_bundle}
  salesforce:
    domain: {my_domain}
    auth: {{method: client_credentials}}
survey:
  company_name: Chaos Analytics
  sender: {{address: nps@chaos.example, name: Chaos Customer Success}}
  base_url: http://127.0.0.1:{public_port}
  mail:
    transport: smtp
    smtp: {{host: 127.0.0.1, port: {smtp_port}, tls: none, timeout: 5s}}
  delivery: {{after_crash: {after_crash}, grace: 15m}}
server:
  host: 127.0.0.1
  port: {web_port}
  public_base_url: http://127.0.0.1:{public_port}
  rate_limit: {{per_minute: 100000, burst: 100000}}
  metrics: {{port: 0}}
scheduler:
  cycle_every: {cycle_every}s
  dispatch_every: 10s
  lease_ttl: {lease_ttl}s
logging: {{level: info, format: json}}
programs:
{programs}
  relationship:
    touchpoint: relationship
    trigger: {{schedule: {{cron: "0 10 * * wed", window: 4h}}}}
"""
"""The demo's event programs and a weekly relationship survey of everyone eligible (a burst
of mail to kill senders in)."""


# --- the sandbox child's summary -----------------------------------------------------------


def quiet(_sandbox: Sandbox) -> None:
    """Child process: warnings only, on stderr (stdout is the summary's)."""
    configure_logging("WARNING", "json")


# --- processes and what they say -----------------------------------------------------------


@dataclass
class Said:
    """One line a process wrote (a JSON log line), with when the harness read it."""

    at: float
    process: "Process"
    event: dict[str, Any]


class Board:
    """Everything every process said, in order, with a condition to wait on.

    Also written to `board.jsonl` in the run's folder, for reading a run afterwards.
    """

    def __init__(self, folder: Path) -> None:
        self.lines: list[Said] = []
        self.changed = threading.Condition()
        self._file = (folder / "board.jsonl").open("a", encoding="utf-8")
        self._began = time.monotonic()

    def post(self, said: Said) -> None:
        """Record a line and wake the waiters."""
        with self.changed:
            self.lines.append(said)
            entry = {"t": round(said.at - self._began, 3), "p": said.process.name, **said.event}
            self._file.write(json.dumps(entry, default=str) + "\n")
            self.changed.notify_all()

    def note(self, event: str, **fields: Any) -> None:
        """A line of the harness's own (a step, a kill), in the file only."""
        with self.changed:
            entry = {"t": round(time.monotonic() - self._began, 3), "p": "harness"}
            self._file.write(json.dumps({**entry, "event": event, **fields}, default=str) + "\n")

    def close(self) -> None:
        """Flush the file."""
        self._file.close()

    def quiet_for(self) -> float:
        """Seconds since any process last said something."""
        with self.changed:
            last = self.lines[-1].at if self.lines else self._began
        return time.monotonic() - last

    def seen(self, match: Callable[[Said], bool], since: int) -> bool:
        """Whether a line after `since` matches."""
        with self.changed:
            return any(match(said) for said in self.lines[since:])

    def mark(self) -> int:
        """A position: `wait` looks only at lines after it."""
        with self.changed:
            return len(self.lines)

    def wait(self, match: Callable[[Said], bool], since: int, timeout: float) -> Said | None:
        """The first line after `since` that matches, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for said in self.lines[since:]:
                    if match(said):
                        return said
                since = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)


class Process:
    """A chaos_worker.py child; every JSON line it writes goes to the board and a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.killed_at: float | None = None
        self.trapped = False
        """Killed by a trap inside SMTP DATA (not a crash)."""
        self.phase = "starting"
        self.leader = False
        self.cpu_seconds = 0.0
        """CPU the process had used when it was killed (user and system)."""
        self._log = (logs / f"{name}.log").open("a", encoding="utf-8")
        self.popen = subprocess.Popen(  # noqa: S603 - this interpreter, this repo's script
            [sys.executable, str(WORKER), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )

    def listen(self, board: Board) -> None:
        """Read the child's lines onto the board until it exits (in threads)."""

        def read(stream: IO[str]) -> None:
            for line in stream:
                self._log.write(line)
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(event, dict):
                    continue
                self._track(event)
                board.post(Said(time.monotonic(), self, event))
            self._log.flush()

        for stream in (self.popen.stdout, self.popen.stderr):
            assert stream is not None
            threading.Thread(target=read, args=(stream,), daemon=True).start()

    def _track(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "object_pulled":
            self.phase = "pull"
        elif kind == "dispatch_done":
            self.phase = "close"
        elif kind == "cycle_done":
            self.phase = "idle"
        elif kind == "daemon_started":
            self.phase = "idle"
            self.leader = bool(event.get("leader"))
        elif kind == "scheduler_lease":
            self.leader = bool(event.get("held"))

    def alive(self) -> bool:
        """Whether the child still runs."""
        return self.popen.poll() is None

    def kill(self) -> str:
        """SIGKILL; returns what it was doing (pull, close, idle, ...)."""
        where = self.phase
        if self.alive():
            self.cpu_seconds = _cpu_seconds(self.popen.pid)
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)
        self.killed_at = time.monotonic()
        self.leader = False
        return where

    def stop(self) -> None:
        """End the child if it still runs."""
        if self.alive():
            self.kill()


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a live process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _began(said: Said, after: datetime) -> bool:
    """A cycle that started at or after `after` (its `cycle_started` line) in a process that
    still runs (a killed one's cycle will never finish)."""
    if said.event.get("event") != "cycle_started" or not said.process.alive():
        return False
    return (_stamp(said.event, "started_at") or after) >= after


def _stamp(event: dict[str, Any], key: str = "timestamp") -> datetime | None:
    value = event.get(key)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


# --- the run -------------------------------------------------------------------------------


@dataclass
class Tally:
    """What happened during the run."""

    steps: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    crashes: int = 0
    migration_kills: list[str] = field(default_factory=list)
    hangs: int = 0
    after_kills: AfterKills = field(default_factory=AfterKills)
    traps_unsprung: int = 0
    """Kills aimed at a send for which no mail came before the run ended."""
    not_made: int = 0
    """Kills not made because a trap had killed the victim while the harness aimed."""
    nudges: int = 0
    """Times the clock moved one cycle interval on because every process sat waiting."""


class Run:
    """The harness: owns the processes, the sandbox handle and the simulated clock."""

    def __init__(self, args: argparse.Namespace, folder: Path, database: str) -> None:
        self.args = args
        self.folder = folder
        self.database = database
        self.random = random.Random(f"chaos:{args.seed}")  # noqa: S311 - a simulation
        self.board = Board(folder)
        self.tally = Tally()
        self.workers: dict[str, Process] = {}
        self.spawned: list[Process] = []
        self.env: dict[str, str] = {}
        self.configs: dict[str, Path] = {}
        self.control = requests.Session()
        self.base_url = ""
        self.people: People | None = None
        self.capture: MailCapture | None = None
        self.ledger: Ledger | None = None
        self._missing: set[str] = set()
        self._traps: Counter[str] = Counter()
        """Kills aimed at a send, armed and not yet sprung, by slot."""
        self._trap_lock = threading.Lock()
        self._unknown: set[tuple[str, int]] = set()
        self._awaited: tuple[datetime, int] = (START, 0)
        self._nudged = 0

    # The sandbox's control API.

    def advance_to(self, moment: datetime) -> datetime:
        """Move the sandbox clock forward to `moment`; returns the time it reached."""
        now = self.clock()
        if moment <= now:
            return now
        seconds = (moment - now).total_seconds()
        reply = self.control.post(f"{self.base_url}/_sandbox/advance", json={"seconds": seconds})
        reply.raise_for_status()
        return datetime.fromisoformat(reply.json()["now"])

    def clock(self) -> datetime:
        """The sandbox's now."""
        reply = self.control.get(f"{self.base_url}/_sandbox/clock", timeout=10)
        return datetime.fromisoformat(reply.json()["now"])

    def faults(self, rate: float) -> None:
        """`rate` of the Salesforce API calls fail, spread evenly over the fault kinds."""
        rules = [
            {
                "crm": "salesforce",
                "path_pattern": "^/services/data/",
                "kind": kind,
                "rate": rate / len(FAULT_KINDS),
                "delay_s": 0.5 if kind == "slow" else 0,
            }
            for kind in FAULT_KINDS
            if rate > 0
        ]
        reply = self.control.post(f"{self.base_url}/_sandbox/faults", json={"rules": rules})
        reply.raise_for_status()

    # Processes.

    def start_worker(self, slot: str) -> Process:
        """(Re)start `nps-worker run` in one slot and wait until its daemon has started."""
        mark = self.board.mark()
        process = Process(slot, ["run", str(self.configs[slot])], self.env, self.folder)
        self.spawned.append(process)
        self.workers[slot] = process
        process.listen(self.board)
        ready = self.board.wait(
            lambda said: said.process is process and said.event.get("event") == "daemon_started",
            mark,
            120,
        )
        if ready is None:
            raise SystemExit(f"{slot} did not start; see {self.folder / (slot + '.log')}")
        return process

    def take_over(self) -> None:
        """After a kill: let the dead holder's lease lapse, then let the next cycle come due."""
        if any(worker.leader and worker.alive() for worker in self.workers.values()):
            return
        mark = self.board.mark()
        self.advance_to(self.clock() + LEASE_TTL + timedelta(seconds=1))
        self.board.wait(
            lambda said: (
                said.event.get("event") == "scheduler_lease" and bool(said.event.get("held"))
            ),
            mark,
            30,
        )
        self.advance_to(self.clock() + CYCLE_EVERY + timedelta(seconds=1))

    def kill_one(self) -> None:
        """SIGKILL one `run` at a chosen or a random moment; restart it; count the unknown.

        A kill aimed at a send is a trap: it springs inside the next SMTP DATA, whenever that
        comes, while the steps go on (`revive` restarts the victim).
        """
        leaders = sorted(slot for slot, worker in self.workers.items() if worker.leader)
        pool = leaders if leaders and self.random.random() < LEADER_SHARE else sorted(self.workers)
        slot = self.random.choice(pool)
        target = self.random.choice(self.args.kill_at)
        if target == "dispatch":
            self._arm(slot)
            self.board.note("armed", slot=slot)
            return
        victim = self.workers[slot]
        where = self._kill_at(victim, target)
        if victim.trapped:
            self.tally.kills[TRAPPED] += 1
            self.tally.not_made += 1
            self.board.note("kill", victim=victim.name, target="dispatch", where=TRAPPED)
        elif where is None:
            self.tally.crashes += 1
        else:
            self.tally.kills[where] += 1
            self.board.note("kill", victim=victim.name, target=target, where=where)
        self._restart(slot)

    def _arm(self, slot: str) -> None:
        """Kill the process of `slot` inside its next SMTP DATA (after the message arrived)."""
        assert self.capture is not None
        with self._trap_lock:
            self._traps[slot] += 1
            if self._traps[slot] == 1:
                self.capture.trap(slot, partial(self._spring, slot))

    def _spring(self, slot: str) -> None:
        """In the SMTP server's thread, mid-DATA: SIGKILL the sender; arm the next trap.

        A sender already dead (restarting) is not a kill: the trap waits for the next DATA.
        """
        victim = self.workers[slot]
        killed = victim.alive()
        if killed:
            victim.trapped = True
            victim.kill()
        assert self.capture is not None
        with self._trap_lock:
            self._traps[slot] -= killed
            if self._traps[slot]:
                self.capture.trap(slot, partial(self._spring, slot))

    def _restart(self, slot: str) -> None:
        """After a kill: count what it left unknown, start the slot again, hand the lease on."""
        time.sleep(SETTLE_S)
        self._count_unknown(self.workers[slot])
        if len(self.workers) > 1:
            time.sleep(self.random.uniform(0.5, 3.0))
        self.start_worker(slot)
        self.take_over()

    def _kill_at(self, victim: Process, target: str) -> str | None:
        """Kill `victim` at `target`; where it was, or None if it had died on its own."""
        if not victim.alive():
            return None
        mark = self.board.mark()
        if target == "any":
            time.sleep(self.random.uniform(0.0, 0.6))
            return victim.kill()
        event = "object_pulled" if target == "pull" else "dispatch_done"
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline:
            if self.board.wait(
                lambda said: said.process is victim and said.event.get("event") == event,
                mark,
                NUDGE_AFTER_S / 2,
            ):
                break
            self.nudge_if_idle()
        time.sleep(self.random.uniform(0.0, 0.1 if target == "pull" else 0.3))
        return victim.kill()

    def _count_unknown(self, victim: Process) -> None:
        """After a kill: marked-sent messages the mail server never got, and sends the store
        shows cut off mid hand-over; each new since the last kill.

        With other replicas alive, a send one of them is handing over right now is theirs, not
        the victim's: only what is still unknown once a live hand-over would have ended (the
        store's own `handover_limit`, polled) counts. The board notes both views.
        """
        assert self.ledger is not None
        assert self.capture is not None
        missing = set(self.ledger.marked_sent()) - self.capture.received_ids()
        unknown = self.ledger.handing_over()
        first_missing, first_unknown = missing - self._missing, unknown - self._unknown
        others = [p for p in self.workers.values() if p is not victim and p.alive()]
        deadline = time.monotonic() + self.ledger.handover_limit.total_seconds()
        while (
            others
            and max(len(missing - self._missing), len(unknown - self._unknown)) > 1
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
            missing &= set(self.ledger.marked_sent()) - self.capture.received_ids()
            unknown &= self.ledger.handing_over()
        seen = self.tally.after_kills
        new_missing, new_unknown = missing - self._missing, unknown - self._unknown
        seen.missing.append(len(new_missing))
        seen.unknown.append(len(new_unknown))
        seen.ever.update(new_missing | {message_id for message_id, _ in new_unknown})
        self.board.note(
            "unknown_after_kill",
            victim=victim.name,
            missing=sorted(new_missing),
            unknown=sorted(new_unknown),
            first_missing=sorted(first_missing),
            first_unknown=sorted(first_unknown),
        )
        self._missing, self._unknown = missing, unknown

    def revive(self) -> None:
        """Restart any `run` a trap killed mid-send, or that died on its own (a crash)."""
        for slot, process in list(self.workers.items()):
            if process.alive():
                continue
            if process.trapped:
                self.tally.kills[TRAPPED] += 1
                self.board.note("kill", victim=process.name, target="dispatch", where=TRAPPED)
            else:
                self.tally.crashes += 1
                process.killed_at = time.monotonic()
            self._restart(slot)

    def wait_for_cycle(self, after: datetime, since: int, *, ok: bool = False) -> bool:
        """Wait for a cycle that started at or after `after` (sandbox time) to finish.

        Until one has started, a quiet board means the daemon waits out an interval in real
        seconds: the clock is nudged on by one cycle interval (`nudge_if_idle`).
        """
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while time.monotonic() < deadline:
            found = self.board.wait(
                lambda said: (
                    said.event.get("event") == "cycle_done"
                    and said.event.get("logger") == "worker.cycle"
                    and (_stamp(said.event, "started_at") or after) >= after
                    and (said.event.get("ok") or not ok)
                ),
                since,
                NUDGE_AFTER_S / 2,
            )
            if found is not None:
                return True
            self.nudge_if_idle()
            self.revive()
        self.tally.hangs += 1
        return False

    def expect_cycle(self, after: datetime, since: int) -> None:
        """From now on the harness awaits a cycle started at or after `after` (sandbox time),
        looking at the board from `since`: what `nudge_if_idle` goes by."""
        self._awaited = (after, since)
        self._nudged = 0

    def nudge_if_idle(self) -> None:
        """While the awaited cycle has not started and no process has said anything for a
        while, move the clock one cycle interval on: the daemon's next cycle comes due now
        instead of after its interval in real seconds.

        A quiet board may also be silent work (daily roll-ups): each nudge of a step waits
        twice as long as the one before, and a step has at most MAX_NUDGES (minutes of
        sandbox time, well inside the delivery grace period).
        """
        after, since = self._awaited
        if self._nudged >= MAX_NUDGES or self.board.seen(lambda s: _began(s, after), since):
            return
        if self.board.quiet_for() < NUDGE_AFTER_S * 2**self._nudged:
            return
        self.advance_to(self.clock() + CYCLE_EVERY + timedelta(seconds=1))
        self._nudged += 1
        self.tally.nudges += 1
        self.board.note("nudge")

    def step(self, moment: datetime, kills: int) -> None:
        """One step: move the clock, kill as planned, wait for a cycle of the new time."""
        since = self.board.mark()
        now = self.advance_to(moment)
        self.expect_cycle(now, since)
        self.board.note("step", now=now.isoformat(), kills=kills)
        for _ in range(kills):
            self.kill_one()
        self.wait_for_cycle(now, since)
        self.tally.steps += 1

    # The phases of the run.

    def kill_migrations(self, url: str, attempts: int = 3) -> None:
        """Kill `migrate` midway on fresh databases, then upgrade each: it must reach head."""
        whole = self.migrate(url, kill_after=None)
        for attempt in range(attempts):
            fresh = self.fresh_database(f"mig{attempt}")
            after = self.random.uniform(0.05, 0.95) * whole
            self.migrate(fresh, kill_after=after)
            left_at = current_revision(fresh) or "none"
            upgrade(fresh)
            reached = "head" if current_revision(fresh) == head_revision() else "not head"
            self.tally.migration_kills.append(
                f"killed {after * 1000:.0f} ms into a {whole * 1000:.0f} ms upgrade:"
                f" left at revision {left_at}, re-run reached {reached}"
            )
            self.drop_database(fresh)

    def migrate(self, url: str, *, kill_after: float | None) -> float:
        """Run the migrate child; SIGKILL it `kill_after` seconds after it starts upgrading."""
        mark = self.board.mark()
        process = Process(f"migrate-{uuid4().hex[:6]}", ["migrate", url], self.env, self.folder)
        process.listen(self.board)
        begun = self.board.wait(
            lambda said: said.process is process and said.event.get("event") == "migrating",
            mark,
            120,
        )
        if begun is None:
            raise SystemExit(f"the migration did not start; see {self.folder}/{process.name}.log")
        if kill_after is not None:
            time.sleep(kill_after)
            process.stop()
            return kill_after
        done = self.board.wait(
            lambda said: said.process is process and said.event.get("event") == "migrated",
            mark,
            300,
        )
        if done is None:
            raise SystemExit(f"the migration did not finish; see {self.folder}")
        return float(done.event["seconds"])

    def fresh_database(self, label: str) -> str:
        """A new empty database of the run's backend."""
        if self.args.backend == "sqlite":
            return f"sqlite:///{self.folder / f'{label}.db'}"
        return create_postgres(f"nps_chaos_{label}_{uuid4().hex[:8]}")

    def drop_database(self, url: str) -> None:
        """Drop a PostgreSQL database made by `fresh_database` (SQLite files go with the folder)."""
        if self.args.backend == "postgres":
            drop_postgres(normalise_url(url).database or "")

    def write_configs(self, sandbox: SandboxProcess, capture: MailCapture) -> None:
        """One config per replica (each serves the answer page on its own port)."""
        ports = [free_port() for _ in range(self.args.replicas)]
        for index, port in enumerate(ports):
            slot = f"run-{index + 1}"
            path = self.folder / f"{slot}.yaml"
            path.write_text(
                CONFIG.format(
                    database=self.database,
                    endpoint=sandbox.base_url,
                    ca_bundle=sandbox.ca_path,
                    my_domain=SANDBOX_MY_DOMAIN,
                    smtp_port=capture.port(slot),
                    after_crash=self.args.after_crash,
                    web_port=port,
                    public_port=ports[0],
                    cycle_every=int(CYCLE_EVERY.total_seconds()),
                    lease_ttl=int(LEASE_TTL.total_seconds()),
                    programs=PROGRAMS["salesforce"],
                ),
                encoding="utf-8",
            )
            self.configs[slot] = path

    def main(self, sandbox: SandboxProcess, capture: MailCapture) -> None:
        """Everything between the sandbox starting and stopping."""
        args = self.args
        self.base_url = sandbox.base_url
        self.control = endpoint_session(sandbox.base_url, sandbox.ca_path)
        self.capture = capture
        secret = secrets.token_urlsafe(32)
        self.env = {
            **os.environ,
            "SALESFORCE_CONSUMER_KEY": DEFAULT_CREDENTIALS.consumer_key,
            "SALESFORCE_CONSUMER_SECRET": DEFAULT_CREDENTIALS.consumer_secret,
            "NPS_TOKEN_SECRET": secret,
            "CHAOS_SANDBOX_URL": sandbox.base_url,
            "CHAOS_SANDBOX_CA": str(sandbox.ca_path),
        }
        self.write_configs(sandbox, capture)
        self.ledger = Ledger(self.database, self.configs["run-1"])
        self.kill_migrations(self.database)
        people = People(capture, TokenSigner(secret), args.seed)
        self.people = people
        people.start()
        for replica in range(args.replicas):
            self.start_worker(f"run-{replica + 1}")
        self.expect_cycle(START, 0)
        self.wait_for_cycle(START, 0)
        self.faults(args.fault_rate)
        offsets = [timedelta(hours=8 * n / args.cycles_per_day) for n in range(args.cycles_per_day)]
        steps = args.days * len(offsets)
        plan = Counter(self.random.randrange(steps) for _ in range(args.kills))
        index = 0
        for day in range(args.days):
            morning = START + timedelta(days=day + 1)
            for offset in offsets:
                self.step(morning + offset, plan[index])
                index += 1
            if (day + 1) % 7 == 0 or day + 1 == args.days:
                print(
                    f"  day {day + 1}: {self.tally.steps} steps,"
                    f" {sum(self.tally.kills.values())} kills,"
                    f" {len(capture.messages)} mails, {len(people.acknowledged)} answers",
                    flush=True,
                )
        self.recover(people)
        people.stop()
        for process in self.workers.values():
            process.stop()

    def recover(self, people: People) -> None:
        """Traps off, faults off; past the grace period; clean cycles until all is settled."""
        assert self.capture is not None
        with self._trap_lock:
            self.tally.traps_unsprung = sum(self._traps.values())
            self._traps.clear()
            for slot in self.configs:
                self.capture.trap(slot, None)
        self.revive()
        self.faults(0.0)
        people.settle()
        for _ in range(12):
            since = self.board.mark()
            now = self.advance_to(self.clock() + timedelta(hours=1))
            self.expect_cycle(now, since)
            self.revive()
            self.wait_for_cycle(now, since, ok=True)
            people.settle()
            if self.settled():
                return

    def settled(self) -> bool:
        """No write pending, every answer handled, every marked-sent message arrived."""
        assert self.ledger is not None
        assert self.capture is not None
        with store_engine(self.database) as engine, engine.connect() as connection:
            pending = connection.execute(
                select(OutboxEntry.id).where(
                    OutboxEntry.state.in_((OutboxState.PENDING, OutboxState.IN_FLIGHT))
                )
            ).first()
            unhandled = connection.execute(
                select(Response.id).where(
                    Response.provisional.is_(False), Response.version > Response.handled_version
                )
            ).first()
        missing = set(self.ledger.marked_sent()) - self.capture.received_ids()
        return pending is None and unhandled is None and not missing

    def status(self) -> tuple[int, dict[str, Any]]:
        """`nps-worker status --format json` on the run's store, living in the sandbox's time as
        the workers did (the daily work is due by that clock): exit code and document."""
        completed = subprocess.run(  # noqa: S603 - this interpreter, our own worker script
            [sys.executable, str(WORKER), "status", str(self.configs["run-1"])],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        try:
            document = json.loads(completed.stdout)
        except json.JSONDecodeError:
            document = {}
        return completed.returncode, document

    def exceptions(self) -> Counter[str]:
        """Jobs that ended in an exception (the daemon logs them and runs the next), by job."""
        return Counter(
            str(said.event.get("job"))
            for said in self.board.lines
            if said.event.get("event") == "job_failed"
        )

    def cycles(self) -> tuple[int, int]:
        """Cycles finished, and of those the ones that ended with a CRM failure."""
        done = [
            said
            for said in self.board.lines
            if said.event.get("event") == "cycle_done"
            and said.event.get("logger") == "worker.cycle"
        ]
        return len(done), sum(1 for said in done if not said.event.get("ok"))

    def handovers(self) -> int:
        """How often the scheduler lease went to another process than the one holding it."""
        holder, moves = "", 0
        for said in self.board.lines:
            if said.event.get("event") == "scheduler_lease" and said.event.get("held"):
                name = f"{said.process.name}:{id(said.process)}"
                moves += bool(holder) and name != holder
                holder = name
        return moves


# --- databases ------------------------------------------------------------------------------


def create_postgres(name: str) -> str:
    """CREATE DATABASE on the test server; returns its URL."""
    admin = create_engine(normalise_url(POSTGRES_SERVER), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return normalise_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)


def drop_postgres(name: str) -> None:
    """DROP DATABASE ... WITH (FORCE)."""
    admin = create_engine(normalise_url(POSTGRES_SERVER), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- entry ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--replicas", type=int, default=1, choices=(1, 2, 3))
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--cycles-per-day", type=int, default=3)
    parser.add_argument("--after-crash", choices=("resend", "report"), default="resend")
    parser.add_argument(
        "--kill-at",
        nargs="+",
        choices=KILL_TARGETS,
        default=list(KILL_TARGETS),
        help="moments to aim kills at (default: all, chosen at random)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (logs, db)")
    args = parser.parse_args(argv)
    if args.replicas > 1 and args.backend != "postgres":
        parser.error("--replicas 2 or 3 needs --backend postgres (one SQLite writer process)")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole chaos run; returns the summary."""
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            folder = args.keep
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nps-chaos-")))
        if args.backend == "sqlite":
            database = f"sqlite:///{folder / 'chaos.db'}"
        else:
            database = create_postgres(f"nps_chaos_{uuid4().hex[:10]}")
            stack.callback(drop_postgres, normalise_url(database).database or "")
        harness = Run(args, folder, database)
        capture = stack.enter_context(
            MailCapture([f"run-{replica + 1}" for replica in range(args.replicas)])
        )
        sandbox = stack.enter_context(
            SandboxProcess(
                crm_state,
                quiet,
                seed=args.seed,
                size=args.contacts,
                start=START,
                task_habits=REP_HABITS,
            )
        )
        try:
            harness.main(sandbox, capture)
        finally:
            harness.board.close()
            for process in harness.spawned:
                process.stop()
        code, document = harness.status()
        crm = sandbox.stop()
        done, failed = harness.cycles()
        assert harness.ledger is not None
        config = load_config(harness.configs["run-1"], env={})
        numbers = verify(
            database,
            crm,
            mails=capture.messages,
            ledger=harness.ledger,
            kills=harness.tally.after_kills,
            acknowledged=harness.people.acknowledged if harness.people else [],
            signer=TokenSigner(harness.env["NPS_TOKEN_SECRET"]),
            min_interval=config.survey.min_interval,
            grace=config.survey.delivery.grace,
            check_ins=frozenset(
                name
                for name, program in config.programs.items()
                if isinstance(program.trigger, RecoveryTrigger)
            ),
        )
        _, doubled = repeats(
            capture.messages, harness.tally.after_kills.ever, config.survey.delivery.grace
        )
    if args.after_crash == "report":
        # Never twice: a send a kill cut off stays unknown, reported by `status` by design.
        numbers["not arrived, reported (never re-sent)"] = numbers.pop("lost_messages_after_grace")
    tally = harness.tally
    people = harness.people
    healthy_name = (
        "unhealthy_status_at_the_end"
        if args.after_crash == "resend"
        else "status unhealthy at the end"
    )
    return {
        "run": {
            "contacts": args.contacts,
            "days": args.days,
            "replicas": args.replicas,
            "backend": args.backend,
            "fault rate": args.fault_rate,
            "after crash": args.after_crash,
            "seed": args.seed,
            "wall seconds": round(time.monotonic() - started, 1),
            **_cpu(harness),
        },
        "chaos": {
            "steps": tally.steps,
            "cycles finished": done,
            "cycles ended by a CRM failure": failed,
            "kills survived": sum(tally.kills.values()),
            "kills aimed at a send, no mail came": tally.traps_unsprung,
            "kills not made (a trap was first)": tally.not_made,
            **{f"killed {where}": count for where, count in sorted(tally.kills.items())},
            "lease handovers": harness.handovers(),
            "clock nudges (cycle due at once)": tally.nudges,
            "crashes (died unasked)": tally.crashes,
            **{
                f"jobs failed: {name}": count
                for name, count in sorted(harness.exceptions().items())
            },
            "faults injected": sum(crm["faults"].values()),
            **{f"fault {kind}": count for kind, count in sorted(crm["faults"].items())},
            "CRM API calls": crm["requests"],
            "answers retried by people": people.retries if people else 0,
            "answers given up by people": people.gave_up if people else 0,
            **{
                f"answer attempts failed: {why}": count
                for why, count in sorted((people.failures if people else Counter()).items())
            },
            "migrations killed": len(tally.migration_kills),
        },
        "promises": {
            **numbers,
            "steps_without_cycle": tally.hangs,
            "status exit code at the end": code,
            healthy_name: int(code != 0),
            "status unknown deliveries": int(document.get("unknown_total", -1)),
        },
        "migrations": tally.migration_kills,
        "duplicates": {
            message_id_: {
                "dates": [date.isoformat() for date in dates],
                "kills that left it unknown": tally.after_kills.ever[message_id_],
            }
            for message_id_, dates in doubled.items()
        },
    }


def _cpu(harness: Run) -> dict[str, float]:
    """CPU seconds of the run: the `run` processes (read as each was killed or stopped), the
    rest (harness, its SMTP capture and people, the sandbox, migrations, status), and in all;
    on a machine to itself the wall time would come close to all of it over its cores."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    workers = sum(
        process.cpu_seconds for process in harness.spawned if process.name.startswith("run-")
    )
    return {
        "CPU s, run processes": round(workers, 1),
        "CPU s, harness, sandbox and the rest": round(total - workers, 1),
        "CPU s, all processes": round(total, 1),
    }


BROKEN_PREFIXES = ("dup", "lost", "pending", "failed", "steps", "unhealthy")


def broken(summary: dict[str, Any]) -> list[str]:
    """The promises the run saw broken: every dup_/lost_/pending_/failed_ count must be 0."""
    bad = [
        f"{name} = {value}"
        for name, value in summary["promises"].items()
        if name.split("_")[0] in BROKEN_PREFIXES and value
    ]
    bad += [outcome for outcome in summary["migrations"] if not outcome.endswith("reached head")]
    return bad


def print_table(summary: dict[str, Any]) -> None:
    """The summary as a table a reader can compare across runs."""
    for section in ("run", "chaos", "promises"):
        print(f"{section}:")
        for name, value in summary[section].items():
            print(f"  {name:<40} {value}")
    print("migrations killed midway:")
    for outcome in summary["migrations"]:
        print(f"  {outcome}")
    for message_id_, seen in summary["duplicates"].items():
        print(f"duplicate {message_id_}: {seen}")


def main() -> None:
    """Run, print the table and a one-line verdict; exit 1 when a promise was broken."""
    args = parse_args()
    configure_logging("WARNING", "json")
    summary = run(args)
    print_table(summary)
    problems = broken(summary)
    print("CHAOS-SUMMARY " + json.dumps(summary, ensure_ascii=False))
    if problems:
        print("RESULT: BROKEN: " + "; ".join(problems))
        raise SystemExit(1)
    print("RESULT: every promise held")


if __name__ == "__main__":
    main()

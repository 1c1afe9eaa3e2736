"""The chaos run: the loop over simulated weeks while the CRM fails and workers are SIGKILLed.

    .venv/bin/python benchmarks/chaos.py --contacts 10000 --days 30 --kills 200 --seed 7
    .venv/bin/python benchmarks/chaos.py --replicas 3 --backend postgres --contacts 2000 --kills 40

Processes: the sandbox CRM (a child process, with `--fault-rate` of its Salesforce API calls
failing as 429, 500, 503, slow answers or dropped connections), the response web app under
uvicorn, and `--replicas` workers (benchmarks/chaos_worker.py) running the production cycle
while holding the scheduler lease, all in the sandbox's time. E-mail goes over SMTP to a
capture server here, which sees every message handed over, duplicates included; simulated
people answer it through the web app, and every answer thanked with a 200 is recorded.

The harness moves the sandbox clock (`--cycles-per-day` steps in office hours, then to the next
morning), waits for a cycle that started after each move, and SIGKILLs a worker `--kills` times
in all: at a moment it announces (mid-pull, mid-dispatch, mid-outbox drain) or at random; a lone
worker is restarted at once, a replica after a pause while the others take the lease over.
Before that, `nps-worker migrate` is killed midway on a fresh database and must then upgrade
to head. At the end faults are switched off, clean cycles recover, and the table compares what
was promised (DESIGN.md section 5) with what the database, the mail and the CRM hold. The exit
code is 0 only when every promise held.
"""

import argparse
import contextlib
import email
import json
import os
import queue
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import requests
from aiosmtpd.controller import Controller
from sandbox_process import SandboxProcess
from sqlalchemy import create_engine, select, text

from worker.demo.comments import COMMENTS
from worker.demo.respondents import BROWSER, FORM_TOKEN, SCORE_LINK
from worker.demo.run import PROGRAMS, REP_HABITS, START
from worker.logs import configure_logging
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.store.engine import make_engine, normalise_url
from worker.store.migrate import current_revision, head_revision, upgrade
from worker.store.models import Contact, FollowUp, OutboxEntry, OutboxState, Response, Survey
from worker.surveys.tokens import Purpose, TokenRejected, TokenSigner
from worker.sync.endpoint import endpoint_session

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("chaos_worker.py")
POSTGRES_SERVER = os.environ.get(
    "NPS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEDUP_FIELD = "NPS_Dedup_Key__c"
LAST_SCORE = "NPS_Last_Score__c"
FAULT_KINDS = ("429", "500", "503", "slow", "drop")
KILL_TARGETS = ("pull", "dispatch", "drain", "any")
LEADER_SHARE = 0.75
"""Among replicas, how often the victim is the one holding the lease (else any of them)."""
ANSWER_RATE = 0.5
COMMENT_RATE = 0.6
STEP_TIMEOUT_S = 180.0
"""A step whose cycle has not finished after this long is a hang, reported as a failure."""

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
  mail:
    transport: smtp
    smtp: {{host: 127.0.0.1, port: {smtp_port}, tls: none}}
server:
  host: 127.0.0.1
  port: {web_port}
  public_base_url: http://127.0.0.1:{web_port}
  rate_limit: {{per_minute: 100000, burst: 100000}}
  metrics: {{port: 0}}
scheduler:
  cycle_every: 1h
programs:
{programs}
"""


# --- the sandbox child's summary -----------------------------------------------------------


def quiet(_sandbox: Sandbox) -> None:
    """Child process: warnings only, on stderr (stdout is the summary's)."""
    configure_logging("WARNING", "json")


def crm_state(sandbox: Sandbox) -> dict[str, Any]:
    """Child process: what the CRM holds at the end (contacts' scores, tasks) and the faults."""
    contacts = {
        record["Id"]: record.get(LAST_SCORE) for record in sandbox.salesforce.records("Contact")
    }
    keys = Counter(
        str(record.get(DEDUP_FIELD))
        for record in sandbox.salesforce.records("Task")
        if record.get(DEDUP_FIELD)
    )
    faults = Counter(entry.fault for entry in sandbox.log.entries() if entry.fault)
    return {
        "contacts": contacts,
        "task_keys": dict(keys),
        "faults": dict(faults),
        "requests": len(sandbox.log),
    }


# --- processes and what they say -----------------------------------------------------------


@dataclass
class Said:
    """One line a process printed, with when the harness read it."""

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
            self._file.write(json.dumps(entry) + "\n")
            self.changed.notify_all()

    def note(self, event: str, **fields: Any) -> None:
        """A line of the harness's own (a step, a kill), in the file only."""
        with self.changed:
            entry = {"t": round(time.monotonic() - self._began, 3), "p": "harness"}
            self._file.write(json.dumps({**entry, "event": event, **fields}) + "\n")

    def close(self) -> None:
        """Flush the file."""
        self._file.close()

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
    """A chaos_worker.py child; its stdout lines go to the board, its stderr to a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.killed_at: float | None = None
        self.last_phase = "standby"
        self.in_cycle = False
        self.leader = False
        with (logs / f"{name}.log").open("ab") as stderr:
            self.popen = subprocess.Popen(  # noqa: S603 - this interpreter, this repo's script
                [sys.executable, str(WORKER), *args],
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                text=True,
            )

    def listen(self, board: Board) -> None:
        """Read the child's lines onto the board until it exits (in a thread)."""

        def read() -> None:
            assert self.popen.stdout is not None
            for line in self.popen.stdout:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                kind = event.get("event")
                if kind == "phase":
                    self.last_phase = str(event["phase"])
                elif kind == "ready":
                    self.last_phase = "standby"
                elif kind == "lease":
                    self.leader = bool(event["held"])
                elif kind in ("cycle_start", "cycle_done"):
                    self.in_cycle = kind == "cycle_start"
                    self.last_phase = "idle" if kind == "cycle_done" else "cycle"
                board.post(Said(time.monotonic(), self, event))

        threading.Thread(target=read, name=f"read-{self.name}", daemon=True).start()

    def alive(self) -> bool:
        """Whether the child still runs."""
        return self.popen.poll() is None

    def kill(self) -> str:
        """SIGKILL; returns where it was: pull, dispatch, drain, tasks, idle, standby, ..."""
        where = self.last_phase
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)
        self.killed_at = time.monotonic()
        return where

    def stop(self) -> None:
        """End the child if it still runs."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=30)
            self.killed_at = time.monotonic()


# --- mail and people -----------------------------------------------------------------------


class MailCapture:
    """An SMTP server that keeps every message handed to it (duplicates too)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.inbox: queue.Queue[Message] = queue.Queue()
        self._controller = Controller(self, hostname="127.0.0.1", port=_free_port())

    @property
    def port(self) -> int:
        """Where the workers send mail."""
        return int(self._controller.port)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        """Keep the message, put it in the people's inbox."""
        message = email.message_from_bytes(envelope.content)
        self.messages.append(message)
        self.inbox.put(message)
        return "250 OK"

    def __enter__(self) -> "MailCapture":
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()


@dataclass
class Acknowledged:
    """An answer the web app thanked for (200)."""

    token_id: str
    score: int
    email: str


class People:
    """Simulated people reading captured mail and answering some of it through the web app."""

    def __init__(self, capture: MailCapture, signer: TokenSigner, seed: int) -> None:
        self._capture = capture
        self._signer = signer
        self._random = random.Random(f"people:{seed}")  # noqa: S311 - a simulation
        self._http = requests.Session()
        self._answered: set[str] = set()
        self.acknowledged: list[Acknowledged] = []
        self.refused = 0
        self.busy = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="people", daemon=True)

    def start(self) -> None:
        """Answer mail as it arrives, in a thread."""
        self._thread.start()

    def settle(self, timeout: float = 120.0) -> None:
        """Wait until every message so far has been read."""
        deadline = time.monotonic() + timeout
        while (not self._capture.inbox.empty() or self.busy.is_set()) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop reading."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._capture.inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            self.busy.set()
            try:
                self._read(message)
            except requests.RequestException:
                self.refused += 1
            finally:
                self.busy.clear()

    def _read(self, message: Message) -> None:
        links = {int(score): url for url, score in SCORE_LINK.findall(_plain_text(message))}
        if len(links) != 11 or self._random.random() > ANSWER_RATE:
            return
        token = links[0].split("?")[0].rsplit("/", 1)[-1]
        sent = parsedate_to_datetime(str(message["Date"]))
        try:
            token_id = self._signer.verify(token, Purpose.ANSWER, sent).token_id
        except TokenRejected:
            return
        if token_id in self._answered:
            return
        score = self._random.choice((0, 2, 4, 5, 6, 7, 8, 9, 9, 10, 10))
        shown = self._http.get(links[score], headers={"User-Agent": BROWSER}, timeout=30)
        found = FORM_TOKEN.search(shown.text)
        if shown.status_code != 200 or found is None:
            self.refused += 1
            return
        mood = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        language = "ja" if str(message.get("Content-Language", "")).startswith("ja") else "en"
        form = {"score": str(score), "form": found.group(1)}
        if self._random.random() < COMMENT_RATE:
            form["comment"] = self._random.choice(COMMENTS[language][mood])
        posted = self._http.post(
            links[0].split("?")[0], data=form, headers={"User-Agent": BROWSER}, timeout=30
        )
        if posted.status_code == 200:
            self._answered.add(token_id)
            self.acknowledged.append(Acknowledged(token_id, score, str(message["To"])))
        else:
            self.refused += 1


def _plain_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


# --- the run -------------------------------------------------------------------------------


@dataclass
class Tally:
    """What happened during the run."""

    steps: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    crashes: int = 0
    migration_kills: list[str] = field(default_factory=list)
    hangs: int = 0


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
        self.config_path = folder / "config.yaml"
        self.control = requests.Session()
        self.base_url = ""
        self.people: People | None = None

    # The sandbox's control API.

    def advance_to(self, moment: datetime) -> datetime:
        """Move the sandbox clock forward to `moment`; returns the time it reached.

        Any clock read after this returns is at or past the returned time, so a cycle that
        starts later says so with its start time.
        """
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

    def spawn(self, name: str, *args: str) -> Process:
        """Start a chaos_worker.py child and wait until it says it is ready."""
        mark = self.board.mark()
        process = Process(name, list(args), self.env, self.folder)
        self.spawned.append(process)
        process.listen(self.board)
        ready = self.board.wait(
            lambda said: said.process is process and said.event["event"] == "ready", mark, 120
        )
        if ready is None:
            raise SystemExit(f"{name} did not start; see {self.folder / (name + '.log')}")
        return process

    def start_worker(self, slot: str) -> None:
        """(Re)start the worker of one slot; its lease holder name is the slot's."""
        self.workers[slot] = self.spawn(slot, "worker", str(self.config_path), slot)

    def kill_one(self) -> None:
        """SIGKILL one worker at a chosen or a random moment; restart it (later, for replicas)."""
        leaders = sorted(slot for slot, worker in self.workers.items() if worker.leader)
        pool = leaders if leaders and self.random.random() < LEADER_SHARE else sorted(self.workers)
        slot = self.random.choice(pool)
        victim = self.workers[slot]
        target = self.random.choice(KILL_TARGETS)
        mark = self.board.mark()
        if target == "any":
            time.sleep(self.random.uniform(0.0, 0.6))
        else:
            self.board.wait(
                lambda said: (
                    said.process is victim
                    and (said.event.get("phase") == target or said.event["event"] == "cycle_done")
                ),
                mark,
                10.0,
            )
            time.sleep(self.random.uniform(0.0, 0.02))
        if not victim.alive():
            self.tally.crashes += 1
        else:
            where = victim.kill()
            self.tally.kills[where] += 1
            self.board.note("kill", victim=victim.name, target=target, where=where)
        if len(self.workers) > 1:
            time.sleep(self.random.uniform(0.5, 3.0))
        self.start_worker(slot)

    def revive(self) -> None:
        """Restart any worker that died on its own (counted as a crash)."""
        for slot, process in list(self.workers.items()):
            if not process.alive():
                self.tally.crashes += 1
                process.killed_at = time.monotonic()
                self.start_worker(slot)

    def wait_for_cycle(self, after: datetime, since: int, *, ok: bool = False) -> bool:
        """Wait for a cycle that started at or after `after` (sandbox time) to finish.

        Only lines after board position `since` count (taken before the clock moved).
        """
        mark = since
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while time.monotonic() < deadline:
            found = self.board.wait(
                lambda said: (
                    said.event["event"] == "cycle_done"
                    and datetime.fromisoformat(said.event["at"]) >= after
                    and (said.event["ok"] or not ok)
                ),
                mark,
                1.0,
            )
            if found is not None:
                return True
            mark = self.board.mark()
            self.revive()
        self.tally.hangs += 1
        return False

    def step(self, moment: datetime, kills: int) -> None:
        """One step: move the clock, kill as planned, wait for a cycle of the new time."""
        since = self.board.mark()
        now = self.advance_to(moment)
        self.board.note("step", now=now.isoformat(), kills=kills)
        for _ in range(kills):
            self.kill_one()
        self.wait_for_cycle(now, since)
        self.tally.steps += 1

    # The phases of the run.

    def kill_migrations(self, url: str, attempts: int = 3) -> None:
        """Kill `migrate` midway on fresh databases, then upgrade each: it must reach head.

        A first, whole run on the run's own database measures how long the upgrade takes;
        each kill then lands at a random point of that span after the child says it started.
        """
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
            lambda said: said.process is process and said.event["event"] == "migrating", mark, 120
        )
        if begun is None:
            raise SystemExit(f"the migration did not start; see {self.folder}/{process.name}.log")
        if kill_after is not None:
            time.sleep(kill_after)
            process.stop()
            return kill_after
        done = self.board.wait(
            lambda said: said.process is process and said.event["event"] == "migrated", mark, 300
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

    def main(self, sandbox: SandboxProcess, capture: MailCapture, web_port: int) -> None:
        """Everything between the sandbox starting and stopping."""
        args = self.args
        self.base_url = sandbox.base_url
        self.control = endpoint_session(sandbox.base_url, sandbox.ca_path)
        secret = secrets.token_urlsafe(32)
        self.env = {
            **os.environ,
            "SALESFORCE_CONSUMER_KEY": DEFAULT_CREDENTIALS.consumer_key,
            "SALESFORCE_CONSUMER_SECRET": DEFAULT_CREDENTIALS.consumer_secret,
            "NPS_TOKEN_SECRET": secret,
            "CHAOS_SANDBOX_URL": sandbox.base_url,
            "CHAOS_SANDBOX_CA": str(sandbox.ca_path),
        }
        self.config_path.write_text(
            CONFIG.format(
                database=self.database,
                endpoint=sandbox.base_url,
                ca_bundle=sandbox.ca_path,
                my_domain=SANDBOX_MY_DOMAIN,
                smtp_port=capture.port,
                web_port=web_port,
                programs=PROGRAMS["salesforce"],
            ),
            encoding="utf-8",
        )
        self.kill_migrations(self.database)
        web = self.spawn("web", "web", str(self.config_path))
        people = People(capture, TokenSigner(secret), args.seed)
        self.people = people
        people.start()
        for replica in range(args.replicas):
            self.start_worker(f"worker-{replica + 1}")
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
        for process in [*self.workers.values(), web]:
            process.stop()

    def recover(self, people: "People") -> None:
        """Faults off; clean cycles until every answer is in and the outbox is empty."""
        self.faults(0.0)
        people.settle()
        for _ in range(12):
            since = self.board.mark()
            now = self.advance_to(self.clock() + timedelta(hours=1))
            self.revive()
            self.wait_for_cycle(now, since, ok=True)
            people.settle()
            if self.pending_writes() == 0 and self.unhandled_answers() == 0:
                return

    def pending_writes(self) -> int:
        """Outbox rows not yet written (pending or in flight)."""
        with _engine(self.database) as engine, engine.connect() as connection:
            rows = connection.execute(
                select(OutboxEntry.state).where(
                    OutboxEntry.state.in_((OutboxState.PENDING, OutboxState.IN_FLIGHT))
                )
            ).all()
        return len(rows)

    def unhandled_answers(self) -> int:
        """Final answers whose write-back and follow-up are not queued yet."""
        with _engine(self.database) as engine, engine.connect() as connection:
            rows = connection.execute(
                select(Response.id).where(
                    Response.provisional.is_(False), Response.version > Response.handled_version
                )
            ).all()
        return len(rows)

    def exceptions(self) -> Counter[str]:
        """Cycles that ended in an exception (the Daemon logs them and runs the next), by type."""
        return Counter(
            str(said.event["exception"])
            for said in self.board.lines
            if said.event["event"] == "cycle_done" and "exception" in said.event
        )

    def cycles(self) -> tuple[int, int, int]:
        """Cycles finished, cycles cut short by a kill, and cycles of two processes overlapping.

        A process runs its cycles one after the other, so a cycle that starts before the
        latest end among the cycles started earlier overlaps one of another process.
        """
        spans: list[tuple[float, float]] = []
        started: dict[int, tuple[float, Process]] = {}
        for said in self.board.lines:
            key = id(said.process)
            if said.event["event"] == "cycle_start":
                started[key] = (said.at, said.process)
            elif said.event["event"] == "cycle_done" and key in started:
                spans.append((started.pop(key)[0], said.at))
        done = len(spans)
        spans += [(at, process.killed_at or time.monotonic()) for at, process in started.values()]
        overlaps, latest_end = 0, float("-inf")
        for start, end in sorted(spans):
            overlaps += start < latest_end
            latest_end = max(latest_end, end)
        return done, len(started), overlaps

    def handovers(self) -> int:
        """How often the lease went to another replica's slot than the one holding it before."""
        holder, moves = "", 0
        for said in self.board.lines:
            if said.event["event"] == "lease" and said.event["held"]:
                moves += bool(holder) and said.process.name != holder
                holder = said.process.name
        return moves


@contextlib.contextmanager
def _engine(url: str) -> Iterator[Any]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


# --- checking the promises ------------------------------------------------------------------


def verify(
    database: str,
    crm: dict[str, Any],
    *,
    mails: list[Message],
    acknowledged: list[Acknowledged],
    signer: TokenSigner,
    min_interval: timedelta,
) -> dict[str, int]:
    """The numbers of the summary; every `dup_*`, `lost_*` and `pending_*` must be 0."""
    with _engine(database) as engine, engine.connect() as connection:
        surveys = connection.execute(
            select(
                Survey.id,
                Survey.program,
                Survey.crm_event_id,
                Survey.contact_id,
                Survey.token_id,
                Survey.sent_at,
            )
        ).all()
        responses = connection.execute(
            select(
                Response.id,
                Response.score,
                Survey.token_id,
                Survey.contact_id,
                Response.received_at,
            )
            .join(Survey, Survey.id == Response.survey_id)
            .where(Response.provisional.is_(False))
        ).all()
        followups = connection.execute(select(FollowUp.dedup_key, FollowUp.response_id)).all()
        contacts = dict(connection.execute(select(Contact.id, Contact.crm_id)).all())
        outbox = Counter(
            str(state) for (state,) in connection.execute(select(OutboxEntry.state)).all()
        )
    numbers: dict[str, int] = {}
    sent = [row for row in surveys if row.sent_at is not None]
    numbers["surveys sent"] = len(sent)
    numbers["mails handed over"] = len(mails)
    ids = Counter(str(message["Message-ID"]) for message in mails)
    numbers["dup_mails_one_message_id"] = sum(count - 1 for count in ids.values())
    numbers["dup_surveys_per_program_event"] = sum(
        count - 1
        for count in Counter(
            (row.program, row.crm_event_id) for row in surveys if row.crm_event_id is not None
        ).values()
    )
    by_contact: dict[int, list[datetime]] = defaultdict(list)
    for row in sent:
        by_contact[row.contact_id].append(row.sent_at)
    numbers["dup_surveys_in_min_interval"] = sum(
        1
        for times in by_contact.values()
        for first, second in zip(sorted(times), sorted(times)[1:], strict=False)
        if second - first < min_interval
    )
    numbers["dup_invitations_in_mail"] = _mail_duplicates(mails, signer, min_interval)
    stored = {row.token_id: row for row in responses}
    numbers["answers acknowledged"] = len(acknowledged)
    numbers["answers stored"] = sum(1 for answer in acknowledged if answer.token_id in stored)
    numbers["lost_answers_store"] = sum(
        1
        for answer in acknowledged
        if answer.token_id not in stored or stored[answer.token_id].score != answer.score
    )
    latest: dict[int, Any] = {}
    for row in sorted(responses, key=lambda row: (row.received_at, row.id)):
        latest[row.contact_id] = row
    keys: dict[str, int] = crm["task_keys"]
    in_crm = 0
    for answer in acknowledged:
        row = stored.get(answer.token_id)
        if row is None:
            continue
        shown = crm["contacts"].get(contacts[row.contact_id])
        has_note = keys.get(f"note:response:{row.id}", 0) == 1
        if has_note and shown is not None and int(shown) == latest[row.contact_id].score:
            in_crm += 1
    numbers["answers written to CRM"] = in_crm
    numbers["lost_answers_crm"] = numbers["answers stored"] - in_crm
    detractors = [row for row in responses if row.score <= 6]
    numbers["detractor answers"] = len(detractors)
    tasks_per = Counter(keys.get(f"followup:{row.id}", 0) for row in detractors)
    numbers["detractors with 1 task"] = tasks_per[1]
    numbers["lost_detractor_tasks"] = sum(count for tasks, count in tasks_per.items() if tasks == 0)
    numbers["dup_tasks"] = sum(count - 1 for count in keys.values() if count > 1)
    numbers["lost_followup_tasks"] = sum(1 for key, _ in followups if keys.get(key, 0) != 1)
    numbers["pending_writes"] = (
        outbox[OutboxState.PENDING.value] + outbox[OutboxState.IN_FLIGHT.value]
    )
    numbers["failed_writes"] = outbox[OutboxState.FAILED.value]
    numbers["writes done"] = outbox[OutboxState.DONE.value]
    return numbers


def _mail_duplicates(mails: list[Message], signer: TokenSigner, min_interval: timedelta) -> int:
    """Two invitations of different surveys to one address within the minimum interval."""
    first_seen: dict[str, datetime] = {}
    address_of: dict[str, str] = {}
    for message in mails:
        found = SCORE_LINK.search(_plain_text(message))
        if found is None:
            continue
        token = found.group(1).rsplit("/", 1)[-1]
        at = parsedate_to_datetime(str(message["Date"]))
        try:
            token_id = signer.verify(token, Purpose.ANSWER, at).token_id
        except TokenRejected:
            continue
        first_seen.setdefault(token_id, at)
        address_of[token_id] = str(message["To"]).lower()
    by_address: dict[str, list[datetime]] = defaultdict(list)
    for token_id, at in first_seen.items():
        by_address[address_of[token_id]].append(at)
    return sum(
        1
        for times in by_address.values()
        for first, second in zip(sorted(times), sorted(times)[1:], strict=False)
        if second - first < min_interval
    )


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
        capture = stack.enter_context(MailCapture())
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
            harness.main(sandbox, capture, _free_port())
        finally:
            harness.board.close()
            for process in harness.spawned:
                process.stop()
        crm = sandbox.stop()
        done, cut, overlaps = harness.cycles()
        numbers = verify(
            database,
            crm,
            mails=capture.messages,
            acknowledged=harness.people.acknowledged if harness.people else [],
            signer=TokenSigner(harness.env["NPS_TOKEN_SECRET"]),
            min_interval=timedelta(days=90),
        )
    tally = harness.tally
    return {
        "run": {
            "contacts": args.contacts,
            "days": args.days,
            "replicas": args.replicas,
            "backend": args.backend,
            "fault rate": args.fault_rate,
            "seed": args.seed,
            "wall seconds": round(time.monotonic() - started, 1),
        },
        "chaos": {
            "steps": tally.steps,
            "cycles finished": done,
            "cycles cut by a kill": cut,
            "kills survived": sum(tally.kills.values()),
            **{f"killed {where}": count for where, count in sorted(tally.kills.items())},
            "lease handovers": harness.handovers(),
            "crashes (died unasked)": tally.crashes,
            **{
                f"cycles failed: {name}": count
                for name, count in sorted(harness.exceptions().items())
            },
            "faults injected": sum(crm["faults"].values()),
            **{f"fault {kind}": count for kind, count in sorted(crm["faults"].items())},
            "CRM API calls": crm["requests"],
            "migrations killed": len(tally.migration_kills),
        },
        "promises": {
            **numbers,
            "dup_overlapping_cycles": overlaps,
            "steps_without_cycle": tally.hangs,
        },
        "migrations": tally.migration_kills,
    }


def broken(summary: dict[str, Any]) -> list[str]:
    """The promises the run saw broken: every dup_/lost_/pending_/failed_ count must be 0."""
    bad = [
        f"{name} = {value}"
        for name, value in summary["promises"].items()
        if name.split("_")[0] in ("dup", "lost", "pending", "failed", "steps") and value
    ]
    bad += [outcome for outcome in summary["migrations"] if not outcome.endswith("reached head")]
    return bad


def print_table(summary: dict[str, Any]) -> None:
    """The summary as a table a reader can compare across runs."""
    for section in ("run", "chaos", "promises"):
        print(f"{section}:")
        for name, value in summary[section].items():
            print(f"  {name:<32} {value}")
    print("migrations killed midway:")
    for outcome in summary["migrations"]:
        print(f"  {outcome}")


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

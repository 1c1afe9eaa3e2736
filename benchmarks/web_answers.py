"""Answers per second through the real web app, each one durably stored before it is counted.

The app runs in a child process exactly as `nps-worker run --web-only` serves it (`run_daemon`:
`open_store`, `serving`, uvicorn in its thread, the default config but for the rate limit and
the metrics port). Client processes (`--clients`, asyncio httpx over keep-alive connections)
open each page, then all submit its answer form together with `--concurrency` people in all.
After the run the database must hold every answer the client was thanked for.

CPU is counted apart for each side of the submit phase: the server process's own (from
/proc), the client processes', and on PostgreSQL the database backends serving the app. On a
shared machine the CPU seconds per answer are the stable figure; answers/s and latencies depend
on what else runs. Exit status 1 when any submit failed or an answer is missing.

    python benchmarks/web_answers.py --backend sqlite --answers 2000 --concurrency 16
    python benchmarks/web_answers.py --backend postgres --answers 2000 --concurrency 16
"""

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from threading import BrokenBarrierError
from uuid import uuid4

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from worker.store.engine import make_engine, normalise_url, session_factory
from worker.store.migrate import upgrade
from worker.store.models import Contact, Crm, Response, Survey, SurveyChannel, SurveyState
from worker.surveys.tokens import Purpose, TokenSigner, new_token_id

ROOT = Path(__file__).resolve().parents[1]
SECRET = "benchmark-secret-" + "b" * 32
POSTGRES_SERVER = os.environ.get(
    "NPS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TICKS = os.sysconf("SC_CLK_TCK")


def serve(url: str, port: int) -> None:
    """Child process: `nps-worker run --web-only` on `url`, port `port`, rate limit aside."""
    from worker.commands import run_daemon
    from worker.config import load_config
    from worker.logs import configure_logging

    config = load_config(ROOT / "config.example.yaml", env={"DATABASE_URL": url})
    limit = {"per_minute": 100_000, "burst": 100_000}
    server = config.server.model_copy(
        update={
            "port": port,
            "rate_limit": config.server.rate_limit.model_copy(update=limit),
            "metrics": config.server.metrics.model_copy(update={"port": 0}),
        }
    )
    config = config.model_copy(update={"server": server})
    configure_logging("WARNING", config.logging.format)
    run_daemon(config, env={config.survey.token_secret_env: SECRET}, web_only=True)


def _database(backend: str, folder: Path) -> tuple[str, str | None]:
    """A fresh database URL, and the PostgreSQL database name to drop afterwards."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", None
    name = f"nps_bench_{uuid4().hex[:10]}"
    admin = create_engine(normalise_url(POSTGRES_SERVER), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = normalise_url(POSTGRES_SERVER).set(database=name)
    return url.render_as_string(hide_password=False), name


def _drop(name: str) -> None:
    admin = create_engine(normalise_url(POSTGRES_SERVER), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _seed(url: str, count: int, now: datetime) -> list[str]:
    """`count` sent surveys; returns their answer tokens."""
    signer = TokenSigner(SECRET)
    engine = make_engine(url)
    tokens = []
    with session_factory(engine)() as session, session.begin():
        contacts = [
            Contact(crm=Crm.SALESFORCE, crm_id=f"003B{n:010d}", modified_at=now, synced_at=now)
            for n in range(count)
        ]
        session.add_all(contacts)
        session.flush()
        for contact in contacts:
            token_id = new_token_id()
            session.add(
                Survey(
                    program="benchmark",
                    contact_id=contact.id,
                    token_id=token_id,
                    state=SurveyState.SENT,
                    language="en",
                    channel=SurveyChannel.EMAIL,
                    planned_at=now,
                    scheduled_for=now,
                    sent_at=now - timedelta(hours=1),
                    expires_at=now + timedelta(days=14),
                )
            )
            tokens.append(signer.issue(token_id, Purpose.ANSWER, now + timedelta(days=14)))
    engine.dispose()
    return tokens


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class ClientRun:
    """What one client process saw during the submits."""

    began: float
    ended: float
    cpu: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)


async def _pages(client: httpx.AsyncClient, tokens: list[str]) -> list[str]:
    """Open each page as its person would; returns the form tokens the pages carry."""
    forms = []
    for token in tokens:
        page = await client.get(f"/s/{token}")
        found = re.search(r'name="form" value="([^"]+)"', page.text)
        if page.status_code != 200 or found is None:
            raise SystemExit(f"page failed: {page.status_code}")
        forms.append(found.group(1))
    return forms


async def _submit_all(base: str, tokens: list[str], people: int, ready: Barrier) -> ClientRun:
    limits = httpx.Limits(max_connections=people, max_keepalive_connections=people)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        for pair in zip(tokens, await _pages(client, tokens), strict=True):
            queue.put_nowait(pair)
        ready.wait()
        run = ClientRun(began=time.monotonic(), ended=0.0, cpu=time.process_time())

        async def person() -> None:
            while not queue.empty():
                token, form = queue.get_nowait()
                body = {"score": "9", "tags": "support", "comment": "benchmark", "form": form}
                started = time.perf_counter()
                try:
                    answer = await client.post(f"/s/{token}", data=body)
                except httpx.TransportError as error:
                    run.statuses[type(error).__name__] += 1
                    continue
                run.latencies.append(time.perf_counter() - started)
                thanked = answer.status_code == 200 and "Thank you" in answer.text
                run.statuses["ok" if thanked else str(answer.status_code)] += 1

        await asyncio.gather(*(person() for _ in range(people)))
        run.ended = time.monotonic()
        run.cpu = time.process_time() - run.cpu
        return run


def _client(base: str, tokens: list[str], people: int, ready: Barrier, out: Queue) -> None:
    """One client process: its share of the people, submitting its share of the answers
    once every client has opened its pages. A failure breaks the barrier and is reported."""
    try:
        out.put(asyncio.run(_submit_all(base, tokens, people, ready)))
    except BaseException as error:
        ready.abort()
        out.put(f"client failed: {error!r}")
        raise


def _wait_for(base: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the app process died (exit code {child.returncode})")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the app did not become ready")


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving database `name`, sampled in a thread
    (pooled connections that close meanwhile are counted up to their last sample)."""

    def __init__(self, name: str | None) -> None:
        self._name = name
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "BackendCpu":
        if self._name is not None:
            self._engine = create_engine(normalise_url(POSTGRES_SERVER))
            self._sample(initial=True)
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._name is not None:
            self._stop.set()
            self._thread.join()
            self._sample(initial=False)
            self._engine.dispose()

    @property
    def seconds(self) -> float | None:
        """CPU the backends spent between enter and exit; None on SQLite."""
        if self._name is None:
            return None
        return sum(last - self._first.get(pid, 0.0) for pid, last in self._last.items())

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self._sample(initial=False)

    def _sample(self, *, initial: bool) -> None:
        with self._engine.connect() as connection:
            pids = connection.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                {"name": self._name},
            ).all()
        for pid in pids:
            try:
                spent = _cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError):
                continue
            if initial:
                self._first[pid] = spent
            self._last[pid] = spent


def _shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


def _drive(
    base: str, tokens: list[str], concurrency: int, *, clients: int, server_pid: int, db: str | None
) -> tuple[list[ClientRun], float, float | None]:
    """Run the client processes; returns their runs, the server's and the backends' CPU."""
    context = get_context("spawn")
    ready = context.Barrier(clients + 1, timeout=600)
    out: Queue = context.Queue()
    workers, at = [], 0
    for share, people in zip(
        _shares(len(tokens), clients), _shares(concurrency, clients), strict=True
    ):
        process = context.Process(
            target=_client, args=(base, tokens[at : at + share], people, ready, out)
        )
        process.start()
        workers.append(process)
        at += share
    try:
        ready.wait()
    except BrokenBarrierError:
        raise SystemExit(out.get(timeout=10)) from None
    server_before = _cpu_seconds(server_pid)
    with BackendCpu(db) as backends:
        runs = [out.get(timeout=600) for _ in workers]
    server = _cpu_seconds(server_pid) - server_before
    for process in workers:
        process.join()
    failed = [run for run in runs if isinstance(run, str)]
    if failed:
        raise SystemExit(failed[0])
    return [run for run in runs if isinstance(run, ClientRun)], server, backends.seconds


def _errors(statuses: Counter[str]) -> str:
    failed = {status: n for status, n in statuses.items() if status != "ok"}
    return ",".join(f"{status}:{n}" for status, n in sorted(failed.items())) or "0"


def main() -> None:
    """Parse arguments, run the benchmark, print one result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    clients = max(1, min(args.clients, args.concurrency))
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        url, dropped = _database(args.backend, Path(folder))
        try:
            upgrade(url)
            tokens = _seed(url, args.answers, now)
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            child = subprocess.Popen(  # noqa: S603 - this interpreter, this script
                [sys.executable, __file__, "--serve", url, str(port)]
            )
            try:
                _wait_for(base, child)
                runs, server_cpu, db_cpu = _drive(
                    base,
                    tokens,
                    args.concurrency,
                    clients=clients,
                    server_pid=child.pid,
                    db=dropped,
                )
            finally:
                child.terminate()
                child.wait(timeout=10)
            engine = make_engine(url)
            with engine.connect() as connection:
                stored = connection.scalar(
                    select(func.count())
                    .select_from(Response)
                    .where(Response.provisional.is_(False))
                )
            engine.dispose()
        finally:
            if dropped:
                _drop(dropped)
    latencies = [latency for run in runs for latency in run.latencies]
    statuses: Counter[str] = sum((run.statuses for run in runs), Counter())
    seconds = max(run.ended for run in runs) - min(run.began for run in runs)
    client_cpu = sum(run.cpu for run in runs)
    cuts = statistics.quantiles(latencies, n=100)
    backend = make_url(url).get_backend_name()
    db = "-" if db_cpu is None else f"{db_cpu:.2f}"
    per_answer = 1000 * server_cpu / args.answers
    print(
        f"{'backend':<10} {'answers':>8} {'conc':>5} {'clients':>7} {'answers/s':>10}"
        f" {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>8} {'server CPU s':>12}"
        f" {'ms/answer':>9} {'client CPU s':>12} {'db CPU s':>8}"
    )
    print(
        f"{backend:<10} {args.answers:>8} {args.concurrency:>5} {clients:>7}"
        f" {args.answers / seconds:>10.1f} {cuts[49] * 1000:>8.1f} {cuts[94] * 1000:>8.1f}"
        f" {cuts[98] * 1000:>8.1f} {_errors(statuses):>8} {server_cpu:>12.2f} {per_answer:>9.2f}"
        f" {client_cpu:>12.2f} {db:>8}   stored {stored}/{args.answers}"
    )
    if statuses["ok"] != args.answers or stored != args.answers:
        raise SystemExit(f"{statuses['ok']} thanked, {stored} of {args.answers} stored")


if __name__ == "__main__":
    main()

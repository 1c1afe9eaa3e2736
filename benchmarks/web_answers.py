"""Answers per second through the real web app, each one durably stored before it is counted.

The app runs under uvicorn in a child process (as `nps-worker run` serves it); an asyncio httpx
client drives it on loopback with C concurrent people, each submitting one answer form (the
POST the thank-you page depends on). After the run, the database must hold every answer.

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
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from worker.config import load_config
from worker.config.sections import RateLimit
from worker.store.engine import make_engine, normalise_url, session_factory
from worker.store.migrate import upgrade
from worker.store.models import Contact, Crm, Response, Survey, SurveyChannel, SurveyState
from worker.surveys.tokens import Purpose, TokenSigner, new_token_id

ROOT = Path(__file__).resolve().parents[1]
SECRET = "benchmark-secret-" + "b" * 32
POSTGRES_SERVER = os.environ.get(
    "NPS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def serve(url: str, port: int) -> None:
    """Child process: the web app on `url`, on 127.0.0.1:`port`, rate limit out of the way."""
    import uvicorn

    from worker.surveys.web.app import create_app

    config = load_config(ROOT / "config.example.yaml", env={})
    server = config.server.model_copy(
        update={"rate_limit": RateLimit(per_minute=100_000, burst=100_000)}
    )
    config = config.model_copy(update={"server": server})
    app = create_app(
        config, session_factory(make_engine(url)), TokenSigner(SECRET), lambda: datetime.now(UTC)
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


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


async def _drive(base: str, tokens: list[str], concurrency: int) -> tuple[float, list[float]]:
    """Open each page, then submit it; returns wall time of the submits and their latencies."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        forms = []
        for token in tokens:
            page = await client.get(f"/s/{token}")
            found = re.search(r'name="form" value="([^"]+)"', page.text)
            if page.status_code != 200 or found is None:
                raise SystemExit(f"page failed: {page.status_code}")
            forms.append(found.group(1))
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        for pair in zip(tokens, forms, strict=True):
            queue.put_nowait(pair)
        latencies: list[float] = []

        async def person() -> None:
            while not queue.empty():
                token, form = queue.get_nowait()
                body = {"score": "9", "tags": "support", "comment": "benchmark", "form": form}
                started = time.perf_counter()
                answer = await client.post(f"/s/{token}", data=body)
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200 or "Thank you" not in answer.text:
                    raise SystemExit(f"answer failed: {answer.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(person() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def _wait_for(base: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
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


def main() -> None:
    """Parse arguments, run the benchmark, print one result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
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
                seconds, latencies = asyncio.run(_drive(base, tokens, args.concurrency))
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
    if stored != args.answers:
        raise SystemExit(f"only {stored} of {args.answers} answers were stored")
    cuts = statistics.quantiles(latencies, n=100)
    backend = make_url(url).get_backend_name()
    print(
        f"{'backend':<10} {'answers':>8} {'conc':>5} {'answers/s':>10} {'p50 ms':>8} {'p99 ms':>8}"
    )
    print(
        f"{backend:<10} {args.answers:>8} {args.concurrency:>5} {args.answers / seconds:>10.1f}"
        f" {cuts[49] * 1000:>8.1f} {cuts[98] * 1000:>8.1f}   stored {stored}/{args.answers}"
    )


if __name__ == "__main__":
    main()

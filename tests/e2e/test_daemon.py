"""`nps-worker run` as admins run it: a process that serves, cycles, and stops cleanly.

The daemon runs as a real subprocess against the sandbox; replicas share one PostgreSQL
database, and killing the lease holder hands the scheduler to the other replica. A CRM that is
down never takes the answer page down; a web-only replica only serves; `sync --once` from cron
runs the daily work when due and refuses to compete with a running daemon.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from tests.e2e.crm_setup import ENV
from tests.fixtures.db import _postgres_databases
from worker.cli import main
from worker.health import DAILY
from worker.sandbox.faults import FaultRule
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.store.engine import make_engine, session_factory
from worker.store.lease import SCHEDULER
from worker.store.migrate import upgrade
from worker.store.models import CycleRun, JobRun, Lease

pytestmark = pytest.mark.e2e

TOKEN_SECRET = "daemon-test-token-secret-0123456789abcdef"
LEASE_TTL_S = 15


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(path: Path, sandbox: Sandbox, db_url: str, port: int, metrics_port: int = 0) -> Path:
    path.write_text(
        f"""\
database: {{url: "{db_url}"}}
crm:
  kind: salesforce
  endpoint: {sandbox.base_url}
  ca_bundle: {sandbox.ca_path}
  salesforce: {{domain: {SANDBOX_MY_DOMAIN}, auth: {{method: client_credentials}}}}
survey:
  mail: {{transport: directory, directory: {{path: {path.parent / "mail"}}}}}
server:
  host: 127.0.0.1
  port: {port}
  public_base_url: "http://127.0.0.1:{port}"
  metrics: {{port: {metrics_port}}}
scheduler: {{cycle_every: 1m, dispatch_every: 30s, lease_ttl: {LEASE_TTL_S}s}}
logging: {{format: json}}
""",
        encoding="utf-8",
    )
    return path


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


class Replica:
    """One `nps-worker run` process."""

    def __init__(self, config: Path, port: int, *options: str) -> None:
        self.port = port
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [
                sys.executable,
                "-c",
                "from worker.cli import main; raise SystemExit(main())",
                "run",
                "--config",
                str(config),
                *options,
            ],
            env={**os.environ, **ENV, "NPS_TOKEN_SECRET": TOKEN_SECRET},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> int:
        """SIGTERM and the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:
        if replica.process.poll() is None:
            replica.kill()


def test_run_serves_cycles_and_stops_cleanly_on_sigterm(
    sandbox: Sandbox, db_url: str, tmp_path: Path, replicas: list[Replica]
) -> None:
    """Health and readiness answer, a cycle runs, SIGTERM exits 0 and frees the lease."""
    upgrade(db_url)
    port = _free_port()
    replica = Replica(_config(tmp_path / "config.yaml", sandbox, db_url, port), port)
    replicas.append(replica)
    engine = make_engine(db_url)
    sessions = session_factory(engine)

    def cycles() -> int:
        with sessions() as session:
            return (
                session.scalar(
                    select(func.count()).select_from(CycleRun).where(CycleRun.outcome == "ok")
                )
                or 0
            )

    _wait(lambda: _healthy(port), 60, "/healthz")
    assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    _wait(lambda: cycles() >= 1, 60, "a completed cycle")

    assert replica.stop() == 0
    with sessions() as session:
        held = session.get(Lease, SCHEDULER)
        assert held is not None
        assert held.expires_at <= datetime.now(UTC)
    engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database: replicas share one server, which SQLite cannot be."""
    server = _postgres_databases()
    url = server.create()
    yield url
    server.drop(url)
    server.close()


@pytest.mark.postgres
def test_replicas_share_one_scheduler_and_take_over_when_the_holder_dies(
    sandbox: Sandbox, postgres_url: str, tmp_path: Path, replicas: list[Replica]
) -> None:
    """Two replicas on one PostgreSQL: one lease holder; SIGKILL it and the other takes over."""
    db_url = postgres_url
    upgrade(db_url)
    for index in range(2):
        port = _free_port()
        folder = tmp_path / f"replica-{index}"
        folder.mkdir()
        replicas.append(Replica(_config(folder / "config.yaml", sandbox, db_url, port), port))
    engine = make_engine(db_url)
    sessions = session_factory(engine)

    def holder() -> str | None:
        with sessions() as session:
            lease = session.get(Lease, SCHEDULER)
            return lease.holder if lease and lease.expires_at > datetime.now(UTC) else None

    for replica in replicas:
        _wait(lambda replica=replica: _healthy(replica.port), 60, "both replicas serving")
    _wait(lambda: holder() is not None, 30, "a lease holder")
    first = holder()
    assert first is not None
    leader = next(r for r in replicas if f":{r.process.pid}:" in first)
    follower = next(r for r in replicas if r is not leader)

    leader.kill()
    _wait(
        lambda: (holder() or "").find(f":{follower.process.pid}:") >= 0,
        LEASE_TTL_S * 3,
        "the surviving replica to take the lease",
    )
    assert _healthy(follower.port)
    assert follower.stop() == 0
    engine.dispose()


def _cycles(db_url: str, outcome: str) -> int:
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            return (
                session.scalar(
                    select(func.count()).select_from(CycleRun).where(CycleRun.outcome == outcome)
                )
                or 0
            )
    finally:
        engine.dispose()


def _get(port: int, path: str) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}{path}", timeout=10)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's credentials and the token secret, as the command line reads them."""
    for name, value in {**ENV, "NPS_TOKEN_SECRET": TOKEN_SECRET}.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("cli_env")
def test_run_keeps_serving_while_salesforce_is_unreachable(
    sandbox: Sandbox,
    db_url: str,
    tmp_path: Path,
    replicas: list[Replica],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Salesforce answers nothing useful from the start, its login included: the daemon stays
    up and serves, records the failed cycle, and says so in /readyz, /metrics and `status`."""
    sandbox.faults.add(FaultRule("salesforce", r"^/services/", "503", 1.0))
    upgrade(db_url)
    port, metrics_port = _free_port(), _free_port()
    config = _config(tmp_path / "config.yaml", sandbox, db_url, port, metrics_port)
    replica = Replica(config, port)
    replicas.append(replica)

    _wait(lambda: _healthy(port), 60, "/healthz")
    _wait(lambda: _cycles(db_url, "failed") >= 1, 90, "a failed cycle on record")

    assert replica.process.poll() is None, "the daemon exited"
    ready = _get(port, "/readyz")
    assert ready.status_code == 200
    assert "salesforce: failing" in ready.text
    assert 'nps_crm_up{crm="salesforce"} 0.0' in _get(metrics_port, "/metrics").text
    assert main(["status", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "salesforce: last cycle failed" in out
    assert "unknown_error: retry your request" in out
    assert replica.stop() == 0


def test_a_web_only_replica_serves_and_never_schedules(
    sandbox: Sandbox, db_url: str, tmp_path: Path, replicas: list[Replica]
) -> None:
    """`run --web-only` serves the answer page and its probes; it takes no scheduler lease,
    runs no cycle and never calls the CRM."""
    upgrade(db_url)
    port = _free_port()
    replica = Replica(_config(tmp_path / "config.yaml", sandbox, db_url, port), port, "--web-only")
    replicas.append(replica)

    _wait(lambda: _healthy(port), 60, "/healthz")
    assert _get(port, "/readyz").status_code == 200
    refused = _get(port, "/s/not-a-token")  # the answer page's own refusal of a bad link
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert replica.stop() == 0

    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        assert session.get(Lease, SCHEDULER) is None
        assert session.scalar(select(func.count()).select_from(CycleRun)) == 0
    engine.dispose()
    assert len(sandbox.log) == 0


@pytest.mark.usefixtures("cli_env")
def test_sync_once_refuses_while_a_daemon_holds_the_lease(
    sandbox: Sandbox,
    db_url: str,
    tmp_path: Path,
    replicas: list[Replica],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cron `sync --once` beside a running daemon exits 1 and says who holds the lease and
    that it did not run, instead of competing with the daemon."""
    upgrade(db_url)
    port = _free_port()
    config = _config(tmp_path / "config.yaml", sandbox, db_url, port)
    replicas.append(Replica(config, port))
    engine = make_engine(db_url)

    def holder() -> str | None:
        with session_factory(engine)() as session:
            lease = session.get(Lease, SCHEDULER)
            return lease.holder if lease and lease.expires_at > datetime.now(UTC) else None

    _wait(lambda: holder() is not None, 60, "the daemon's lease")
    assert main(["sync", "--once", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"sync --once did not run: a running daemon ({holder()}) holds the scheduler" in err
    engine.dispose()


@pytest.mark.usefixtures("cli_env")
def test_sync_once_runs_the_daily_work_when_it_is_due(
    sandbox: Sandbox, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cron deployments run only `sync --once`: its first run does the daily work (due since
    03:00 UTC, never run), records it, and the next run that day does not repeat it."""
    upgrade(db_url)
    config = _config(tmp_path / "config.yaml", sandbox, db_url, _free_port())

    assert main(["sync", "--once", "--config", str(config)]) == 0
    first = capsys.readouterr().out
    assert main(["sync", "--once", "--config", str(config)]) == 0
    second = capsys.readouterr().out

    assert "daily work: account roll-ups queued" in first
    assert "daily work:" not in second
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        run = session.get(JobRun, DAILY)
        assert run is not None
        assert run.outcome == "ok"
    engine.dispose()

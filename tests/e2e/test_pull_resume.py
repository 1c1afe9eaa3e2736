"""A worker killed mid-pull resumes from the store's committed cursor: nothing lost or repeated.

Both CRMs, each through the production path: config with `crm.endpoint` -> `factory.connect`
-> the connector -> `pull_into_mirror` -> the migrated store (promise 7).
"""

import multiprocessing as mp
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.crm_setup import ENV, contacts_target, crm_config, live_contacts
from tests.fixtures.sandbox import SandboxFactory
from worker.sandbox.faults import FaultRule
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade
from worker.store.models import Contact
from worker.sync.factory import connect
from worker.sync.pull import pull_into_mirror

pytestmark = pytest.mark.e2e

SIZE = 3_000
PAGE_PATH = {"salesforce": r"/services/data/v[\d.]+/query", "hubspot": r"/search$"}
PAGE_SIZE = {"salesforce": 2_000, "hubspot": 200}


def _now() -> datetime:
    return datetime.now(UTC)


def pull_until_killed(kind: str, db_url: str, base_url: str, ca_path: str) -> None:
    """Body of the worker process the test kills."""
    config = crm_config(kind, base_url, ca_path)
    client = connect(config, env=ENV)
    pull_into_mirror(
        client, session_factory(make_engine(db_url)), contacts_target(config), now=_now
    )


def _stored(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Contact.crm_id)))


@pytest.mark.parametrize("kind", ["salesforce", "hubspot"])
def test_killed_worker_resumes_without_loss_or_repeat(
    kind: str, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """SIGKILL after a few pages; the next pull stores exactly what was missing, once."""
    sandbox = sandbox_factory(size=SIZE, seed=5, hubspot_rate_limits=False)
    db_url = f"sqlite:///{tmp_path / 'nps.db'}"
    upgrade(db_url)
    sessions = session_factory(make_engine(db_url))
    sandbox.faults.add(FaultRule(kind, PAGE_PATH[kind], "slow", 1.0, delay_s=0.2))
    worker = mp.get_context("spawn").Process(
        target=pull_until_killed, args=(kind, db_url, sandbox.base_url, str(sandbox.ca_path))
    )
    worker.start()
    deadline = time.monotonic() + 60
    while len(_stored(sessions)) < PAGE_SIZE[kind] and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.kill()
    worker.join(timeout=10)
    assert worker.exitcode == -signal.SIGKILL
    before = len(_stored(sessions))
    assert 0 < before < SIZE
    sandbox.faults.clear()

    config = crm_config(kind, sandbox.base_url, str(sandbox.ca_path))
    resumed = pull_into_mirror(
        connect(config, env=ENV), sessions, contacts_target(config), now=_now
    )

    assert set(_stored(sessions)) == live_contacts(sandbox, kind)
    if kind == "salesforce":
        assert resumed.stored == SIZE - before  # strict (SystemModstamp, Id) cursor
    else:
        assert resumed.stored >= SIZE - before  # HubSpot re-reads its look-back overlap

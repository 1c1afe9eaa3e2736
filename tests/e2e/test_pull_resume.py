"""A worker killed mid-pull resumes from the store's committed cursor: nothing lost or repeated.

Both CRMs, each through the production path: config with `crm.endpoint` -> `factory.connect`
-> the connector -> `pull_into_mirror` -> the migrated store (promise 7).
"""

import multiprocessing as mp
import signal
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.sandbox import SandboxFactory
from worker.config import Config, parse_config
from worker.mappers import hubspot as hubspot_mapping
from worker.mappers import salesforce as salesforce_mapping
from worker.sandbox.faults import FaultRule
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade
from worker.store.models import Contact
from worker.sync.factory import connect
from worker.sync.pull import PullTarget, pull_into_mirror

pytestmark = pytest.mark.e2e

SIZE = 3_000
ENV = {
    "SALESFORCE_CONSUMER_KEY": DEFAULT_CREDENTIALS.consumer_key,
    "SALESFORCE_CONSUMER_SECRET": DEFAULT_CREDENTIALS.consumer_secret,
    "HUBSPOT_ACCESS_TOKEN": "sandbox-token",
}
PAGE_PATH = {"salesforce": r"/services/data/v[\d.]+/query", "hubspot": r"/search$"}
PAGE_SIZE = {"salesforce": 2_000, "hubspot": 200}


def _config(kind: str, base_url: str, ca_path: str) -> Config:
    return parse_config(
        f"crm:\n  kind: {kind}\n  endpoint: {base_url}\n  ca_bundle: {ca_path}\n"
        f"  salesforce:\n    domain: {SANDBOX_MY_DOMAIN}\n"
        "    auth: {method: client_credentials}\n",
        env=ENV,
    )


def _contacts(config: Config) -> PullTarget:
    """The contact pull as the config maps it."""
    if config.crm.kind == "salesforce":
        sf = salesforce_mapping.mapping_from_config(config)
        fields = sf.read_fields()[sf.contact.object]
        to_contact = partial(salesforce_mapping.to_contact, mapping=sf.contact)
        return PullTarget(sf.contact.object, "contact", fields, to_contact)
    hs = hubspot_mapping.mapping_from_config(config)
    fields = hubspot_mapping.pull_properties(hs, "contacts")
    return PullTarget(
        "contacts", "contact", fields, partial(hubspot_mapping.to_contact, mapping=hs)
    )


def _now() -> datetime:
    return datetime.now(UTC)


def pull_until_killed(kind: str, db_url: str, base_url: str, ca_path: str) -> None:
    """Body of the worker process the test kills."""
    config = _config(kind, base_url, ca_path)
    client = connect(config, env=ENV)
    pull_into_mirror(client, session_factory(make_engine(db_url)), _contacts(config), now=_now)


def _stored(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Contact.crm_id)))


def _live_contacts(sandbox: Sandbox, kind: str) -> set[str]:
    if kind == "salesforce":
        return {record["Id"] for record in sandbox.salesforce.records("Contact")}
    return {record["hs_object_id"] for record in sandbox.hubspot.records("contacts")}


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

    config = _config(kind, sandbox.base_url, str(sandbox.ca_path))
    resumed = pull_into_mirror(connect(config, env=ENV), sessions, _contacts(config), now=_now)

    assert set(_stored(sessions)) == _live_contacts(sandbox, kind)
    if kind == "salesforce":
        assert resumed.stored == SIZE - before  # strict (SystemModstamp, Id) cursor
    else:
        assert resumed.stored >= SIZE - before  # HubSpot re-reads its look-back overlap

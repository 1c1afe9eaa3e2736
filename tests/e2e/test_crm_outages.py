"""Logins that fail and CRMs that are down, through the production wiring.

A login is retried like any call; when the CRM stays down, even as the worker starts, the
cycle is recorded as failed and `status`, `/readyz` and `/metrics` say so while the answer page
keeps serving; when the CRM comes back the next cycle repairs everything.
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.loop_harness import START, Company, company, environment
from worker.cycle import run_cycle
from worker.runtime import build_loop
from worker.sandbox.faults import FaultRule
from worker.sandbox.server import Sandbox
from worker.status import Status, gather

pytestmark = pytest.mark.e2e

TOKEN_ENDPOINT = r"^/services/oauth2/token$"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A small company on the sandbox CRM."""
    running = Sandbox(seed=4, size=30, start=START, hubspot_rate_limits=False).start()
    yield running
    running.stop()


def test_a_login_that_fails_once_is_retried_like_any_call(sandbox: Sandbox, tmp_path: Path) -> None:
    """Every session expires and the token endpoint then fails once (503, Salesforce's OAuth
    `unknown_error`): the SDK's new login is retried and the cycle ends well."""
    with company("salesforce", sandbox, tmp_path) as whole:
        assert whole.cycle().ok
        sandbox.salesforce.expire_sessions()
        sandbox.faults.add(FaultRule("salesforce", TOKEN_ENDPOINT, "503", 1.0, limit=1))

        report = whole.cycle()

        assert report.ok, report.crms[0].error
        logins = sandbox.log.entries(crm="salesforce", path_pattern="oauth2/token")
        assert [entry.status for entry in logins[-2:]] == [503, 200]


def _status(whole: Company) -> Status:
    with whole.store.sessions() as session:
        return gather(session, whole.config, whole.sandbox.clock.now())


def _probe(whole: Company, path: str) -> requests.Response:
    port = whole.metrics_port if path == "/metrics" else whole.config.server.port
    return requests.get(f"http://127.0.0.1:{port}{path}", timeout=10)


def test_a_crm_down_at_start_is_a_failed_cycle_that_status_shows(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """After a good cycle the worker restarts while Salesforce is down, its login included.
    Building the loop does not fail; the cycle is recorded failed with the CRM's error, so
    `status` is unhealthy (not the previous good cycle), `/readyz` stays ready with the detail
    and `/metrics` shows the CRM down. Once Salesforce is back, the next cycle ends well."""
    with company("salesforce", sandbox, tmp_path) as whole:
        assert whole.cycle().ok
        assert _status(whole).healthy
        sandbox.faults.add(FaultRule("salesforce", r"^/services/", "503", 1.0))

        restarted = build_loop(
            whole.config, whole.store, env=environment(), clock=sandbox.clock.now
        )
        failed = run_cycle(restarted)

        assert failed.crms[0].error == "unknown_error: retry your request"
        state = _status(whole)
        assert not state.healthy
        assert (state.cycles[0].outcome, state.cycles[0].error) == (
            "failed",
            "unknown_error: retry your request",
        )
        assert state.cycles[0].failures_in_a_row == 1
        assert state.cycles[0].retry_at is not None
        ready = _probe(whole, "/readyz")
        assert ready.status_code == 200
        assert "salesforce: failing, 1 cycle step(s) in a row" in ready.text
        assert 'nps_crm_up{crm="salesforce"} 0.0' in _probe(whole, "/metrics").text

        sandbox.faults.clear()
        sandbox.advance(dt.timedelta(minutes=10))
        assert run_cycle(restarted).ok
        assert _status(whole).healthy
        assert "salesforce: ok" in _probe(whole, "/readyz").text
        assert 'nps_crm_up{crm="salesforce"} 1.0' in _probe(whole, "/metrics").text

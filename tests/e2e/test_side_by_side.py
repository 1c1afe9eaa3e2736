"""Salesforce for sales and HubSpot for marketing, served by one worker side by side.

The sandbox's two CRMs hold the same people; a case closed in Salesforce and the same ticket
closed in HubSpot fire two programs for one person, and the shared rules survey them once.
"""

import datetime as dt
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.crm_setup import ENV
from worker.config import load_config
from worker.config.errors import ConfigError
from worker.config.side_by_side import load_other_crms
from worker.cycle import run_cycle
from worker.runtime import build_loop, open_store
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.store.migrate import upgrade
from worker.store.models import Contact, DecisionOutcome, Survey, SurveyDecision

pytestmark = pytest.mark.e2e
START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
SECRETS = {**ENV, "NPS_TOKEN_SECRET": "side-by-side-token-secret-0123456789abcdef"}


def _write(folder: Path, sandbox: Sandbox) -> Path:
    common = f"  endpoint: {sandbox.base_url}\n  ca_bundle: {sandbox.ca_path}\n"
    (folder / "hubspot.yaml").write_text(
        "crm:\n  kind: hubspot\n" + common + "programs:\n"
        "  ticket_closed:\n    touchpoint: support\n"
        "    trigger:\n      record_change:\n"
        '        {object: tickets, when: {hs_pipeline_stage: {changed_to: "4"}}}\n',
        encoding="utf-8",
    )
    main = folder / "config.yaml"
    main.write_text(
        f"database: {{url: 'sqlite:///{folder / 'nps.db'}'}}\n"
        "crm:\n  kind: salesforce\n"
        + common
        + f"  salesforce: {{domain: {SANDBOX_MY_DOMAIN}, auth: {{method: client_credentials}}}}\n"
        f"survey: {{mail: {{transport: directory, directory: {{path: {folder / 'mail'}}}}}}}\n"
        "programs:\n  case_closed:\n    touchpoint: support\n"
        "    trigger: {record_change: {object: Case, when: {Status: {changed_to: Closed}}}}\n"
        "other_crms: [hubspot.yaml]\n",
        encoding="utf-8",
    )
    return main


def test_two_crms_side_by_side_survey_each_person_once(
    sandbox_factory: object, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(size=80, seed=4, start=START, hubspot_rate_limits=False)  # type: ignore[operator]
    path = _write(tmp_path, sandbox)
    config = load_config(path, SECRETS)
    others = load_other_crms(config, path, SECRETS)
    upgrade(config.database.url.get_secret_value())
    store = open_store(config)
    loop = build_loop(config, store, env=SECRETS, clock=sandbox.clock.now, others=others)
    assert [link.name for link in loop.links] == ["salesforce", "hubspot"]

    for _ in range(12):
        report = run_cycle(loop)
        assert report.ok, [crm.error for crm in report.crms]
        sandbox.advance(dt.timedelta(days=1))

    with store.sessions() as session:
        rows = session.execute(
            select(Contact.crm, Contact.email, Survey.program, Survey.scheduled_for).join(
                Survey, Survey.contact_id == Contact.id
            )
        ).all()
        refusals = session.scalars(
            select(SurveyDecision.reason_code).where(
                SurveyDecision.outcome == DecisionOutcome.REFUSE
            )
        ).all()
    assert {crm.value for crm, *_ in rows} == {"salesforce", "hubspot"}
    by_person: dict[str, list[dt.datetime]] = {}
    for _crm, email, _program, at in rows:
        by_person.setdefault(email, []).append(at)
    for times in by_person.values():
        times.sort()
        assert all(b - a >= config.survey.min_interval for a, b in pairwise(times))
    assert "min_interval" in refusals, "the same person closing in both CRMs must be refused once"
    store.engine.dispose()


def test_a_program_name_used_twice_is_refused(tmp_path: Path, sandbox: Sandbox) -> None:
    path = _write(tmp_path, sandbox)
    text = (tmp_path / "hubspot.yaml").read_text(encoding="utf-8")
    (tmp_path / "hubspot.yaml").write_text(text.replace("ticket_closed", "case_closed"), "utf-8")
    config = load_config(path, SECRETS)
    with pytest.raises(ConfigError) as raised:
        load_other_crms(config, path, SECRETS)
    issue = raised.value.errors[0]
    assert issue.path == "programs.case_closed"
    assert issue.file.endswith("hubspot.yaml")

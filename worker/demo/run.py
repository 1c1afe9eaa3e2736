"""The demo: a seeded company in the sandbox CRM, a few simulated weeks of the loop, a summary.

Everything runs the production path: the real simple-salesforce / hubspot-api-client talk HTTP
to the sandbox, the store is a SQLite file, e-mail is written as `.eml` files, and simulated
people answer through the real response web app. Only the clock is simulated.
"""

import datetime as dt
import secrets
import shutil
import socket
from pathlib import Path

from worker.analytics import command as report
from worker.config import Config, parse_config
from worker.cycle import run_cycle
from worker.demo.respondents import Respondents
from worker.demo.summary import Totals, print_summary
from worker.runtime import build_loop, open_store, serving
from worker.sandbox.activity import TaskHabits
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.store.migrate import upgrade
from worker.sync.factory import set_up_fields
from worker.sync.hubspot import HubSpotClient

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
"""A Monday morning: the first cycle is the first sync (nothing fires, promise 3)."""
REP_HABITS = TaskHabits(start_per_day=0.8, complete_per_day=0.5, ignored_share=0.15)
"""A CS team that picks most follow-ups up within a day; some sit untouched (holidays)."""
CYCLE_TIMES = (dt.timedelta(hours=0), dt.timedelta(hours=6))
"""Cycles per simulated day, after 09:00 UTC: morning and afternoon."""

DEMO_CONFIG = """\
database:
  url: sqlite:///{out}/nps.db
crm:
  kind: {kind}
  endpoint: {endpoint}
  ca_bundle: {ca_bundle}
  salesforce:
    domain: {my_domain}
    auth: {{method: client_credentials}}
survey:
  company_name: Acme Analytics
  sender: {{address: nps@acme-analytics.example, name: Acme Customer Success}}
  mail:
    transport: directory
    directory: {{path: {out}/mail}}
server:
  host: 127.0.0.1
  port: {port}
  public_base_url: http://127.0.0.1:{port}
  rate_limit: {{per_minute: 100000, burst: 100000}}  # every simulated person shares one address
  metrics: {{port: 0}}  # any free port: several demos (and tests) may run at once
segments:
  min_sample: 10  # a demo company answers little; the default (30) would hide most slices
programs:
{programs}
"""

PROGRAMS = {
    "salesforce": """\
  support_case_closed:
    touchpoint: support
    trigger: {record_change: {object: Case, when: {Status: {changed_to: Closed}}, delay: 2h}}
  onboarding_completed:
    touchpoint: onboarding
    trigger:
      record_change:
        object: Account
        when: {Onboarding_Status__c: {changed_to: Completed}}
        contact: {account_contacts: {}}
""",
    "hubspot": """\
  support_ticket_closed:
    touchpoint: support
    trigger:
      record_change: {object: tickets, when: {hs_pipeline_stage: {changed_to: "4"}}, delay: 2h}
""",
}


def run_demo(*, days: int, size: int, seed: int, out: Path, kind: str) -> int:
    """Run the demo and print what happened; returns the exit code."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    sandbox = Sandbox(seed=seed, size=size, start=START, task_habits=REP_HABITS).start()
    try:
        env = _environment()
        config = _config(sandbox, out, kind, env)
        upgrade(config.database.url.get_secret_value())
        store = open_store(config)
        loop = build_loop(config, store, env=env, clock=sandbox.clock.now)
        for crm_link in loop.links:
            if isinstance(crm_link.client, HubSpotClient):  # what `nps-worker setup-crm` does
                set_up_fields(config, crm_link.client)
        respondents = Respondents(out / "mail", seed)
        totals = Totals()
        print(
            f"Demo: {kind} sandbox with {size} contacts, {days} simulated days from"
            f" {START:%Y-%m-%d}; store {out / 'nps.db'}"
        )
        with serving(config, store, env=env, clock=sandbox.clock.now):
            for day in range(days):
                day_start = sandbox.clock.now()
                for offset in CYCLE_TIMES:
                    _advance_to(sandbox, day_start + offset)
                    totals.add(run_cycle(loop))
                    respondents.read_new_mail()
                _advance_to(sandbox, day_start + dt.timedelta(days=1))
                if (day + 1) % 7 == 0:
                    print(f"  week {(day + 1) // 7} done: {totals.progress()}")
            totals.add(run_cycle(loop))
        now = sandbox.clock.now()
        write_reports(config, out, now)
        print_summary(config, store.sessions, totals, respondents.tally, out=out, now=now)
        store.engine.dispose()
        return 0 if totals.ok else 1
    finally:
        sandbox.stop()


def write_reports(config: Config, out: Path, now: dt.datetime) -> None:
    """The outer-loop report as self-contained HTML, in English and Japanese."""
    for language in ("en", "ja"):
        report.run(
            config,
            period=report.window(None, None, now),
            fmt="html",
            language=language,
            out=out / f"report-{language}.html",
            backlog_path=out / "backlog.csv" if language == "en" else None,
            now=now,
        )


def _advance_to(sandbox: Sandbox, moment: dt.datetime) -> None:
    """Move the simulated clock to `moment` (it also ticks with real time, so never back)."""
    ahead = moment - sandbox.clock.now()
    if ahead > dt.timedelta(0):
        sandbox.advance(ahead)


def _environment() -> dict[str, str]:
    """Sandbox credentials and a fresh token secret, never written anywhere."""
    return {
        "SALESFORCE_CONSUMER_KEY": DEFAULT_CREDENTIALS.consumer_key,
        "SALESFORCE_CONSUMER_SECRET": DEFAULT_CREDENTIALS.consumer_secret,
        "HUBSPOT_ACCESS_TOKEN": "sandbox-token",
        "NPS_TOKEN_SECRET": secrets.token_urlsafe(32),
    }


def _config(sandbox: Sandbox, out: Path, kind: str, env: dict[str, str]) -> Config:
    text = DEMO_CONFIG.format(
        out=out.resolve(),
        kind=kind,
        endpoint=sandbox.base_url,
        ca_bundle=sandbox.ca_path,
        my_domain=SANDBOX_MY_DOMAIN,
        port=_free_port(),
        programs=PROGRAMS[kind],
    )
    (out / "config.yaml").write_text(text, encoding="utf-8")
    return parse_config(text, str(out / "config.yaml"), env)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

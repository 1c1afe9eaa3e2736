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

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from worker.analytics import command as report
from worker.backlog.command import close_item, export_items
from worker.backlog.said_did import recipients
from worker.config import Config, parse_config
from worker.cycle import run_cycle
from worker.demo.respondents import Respondents
from worker.demo.summary import Totals, print_summary
from worker.demo.task_samples import hubspot_reps, write_task_samples
from worker.digest.command import preview
from worker.digest.send import send_due
from worker.runtime import Store, build_loop, open_store, serving
from worker.sandbox.activity import TaskHabits
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.store.migrate import upgrade
from worker.store.models import (
    Account,
    BacklogItem,
    BacklogStatus,
    Contact,
    Response,
    Survey,
)
from worker.surveys.mail import make_transport
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
    contact: {{language: Language__c, time_zone: Time_Zone__c}}  # the org's own fields
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
{segments}
  bands: {{arr: [50000, 200000, 1000000]}}
  tenure_months: [12, 36, 60]
analytics:
  targets: {{nps: 20, response_rate: 40, sla_compliance: 90, followup_completion: 80,
             action_completion: 50, time_to_first_contact: 24}}
  interventions:
    - {{date: 2026-03-16, label: Support playbook revamped (faster first reply)}}
  intervention_window: 14d
followup:
{followup}
digest:
  enabled: true
  cron: "0 8 * * 1"  # Monday 08:00 UTC
  to:
    - revops@acme-analytics.example
    - {{address: cs-tokyo@acme-analytics.example, language: ja}}
  link_url: https://intranet.acme-analytics.example/nps/weekly
programs:
{programs}
"""

SEGMENTS = {
    "salesforce": "  fields: {industry: account.Industry, country: account.BillingCountry,"
    " arr: account.AnnualRevenue}",
    "hubspot": "  fields: {industry: account.industry, country: account.country,"
    " arr: account.annualrevenue}",
}
CLOSE_ON_DAY = 21
"""The day RevOps marks the top backlog item done and tells the customers who raised it."""
CLOSING_NOTE = (
    "Shipped in the March release; the release notes list every change."
    " / 3 月のリリースで対応しました。変更点はリリースノートをご覧ください。"
)
"""What changed, as RevOps writes it (one note for every customer, so in both languages)."""

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
  recovery_checkin:
    touchpoint: recovery
    trigger: {recovery: {after: 7d}}
""",
    "hubspot": """\
  support_ticket_closed:
    touchpoint: support
    trigger:
      record_change: {object: tickets, when: {hs_pipeline_stage: {changed_to: "4"}}, delay: 2h}
  renewal_upcoming:
    touchpoint: renewal
    trigger: {date_offset: {object: deals, field: renewal_date, offset: -60d}}
  renewal_won:
    touchpoint: renewal
    trigger:
      record_change: {object: deals, when: {dealstage: {changed_to: closedwon}}, delay: 1d}
  recovery_checkin:
    touchpoint: recovery
    trigger: {recovery: {after: 7d}}
""",
}


def run_demo(*, days: int, size: int, seed: int, out: Path, kind: str) -> int:
    """Run the demo and print what happened; returns the exit code."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    # The clock moves only when the demo moves it: were it to tick with real seconds too, a
    # reminder due at a cycle's boundary would go out in one run and not in the next.
    sandbox = Sandbox(
        seed=seed, size=size, start=START, task_habits=REP_HABITS, monotonic=lambda: 0.0
    ).start()
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
        transport = make_transport(config.survey.mail, env)
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
                    totals.digest(
                        send_due(
                            store.sessions,
                            config,
                            now=sandbox.clock.now(),
                            after=START,
                            transport=transport,
                            chats=None,
                        )
                    )
                if day == CLOSE_ON_DAY:
                    totals.told += _close_top_item(store, config, sandbox.clock.now(), env)
                _advance_to(sandbox, day_start + dt.timedelta(days=1))
                if (day + 1) % 7 == 0:
                    print(f"  week {(day + 1) // 7} done: {totals.progress()}")
            totals.add(run_cycle(loop))
            totals.digest(
                send_due(
                    store.sessions,
                    config,
                    now=sandbox.clock.now(),
                    after=START,
                    transport=transport,
                    chats=None,
                )
            )
        now = sandbox.clock.now()
        write_reports(config, out, now)
        print_summary(config, store.sessions, totals, respondents.tally, out=out, now=now)
        for path in write_task_samples(sandbox, kind, out):
            print(f"  a follow-up task as the CRM stores it: {path}")
        store.engine.dispose()
        return 0 if totals.ok else 1
    finally:
        sandbox.stop()


def write_reports(config: Config, out: Path, now: dt.datetime) -> None:
    """The outer-loop report and the top account's review pack as self-contained HTML, and
    the latest digest as a page, in English and Japanese; the stored backlog as CSV."""
    store = open_store(config)
    try:
        (out / "backlog.csv").write_text(export_items(store.sessions), encoding="utf-8")
        with store.sessions() as session:
            account = _busiest_account(session)
    finally:
        store.engine.dispose()
    for language in ("en", "ja"):
        report.run(
            config,
            period=report.window(None, None, now),
            fmt="html",
            language=language,
            out=out / f"report-{language}.html",
            backlog_path=None,
            now=now,
        )
        if account is not None:
            report.run(
                config,
                period=report.window(None, None, now),
                fmt="html",
                language=language,
                out=out / f"account-{language}.html",
                backlog_path=None,
                account=account,
                now=now,
            )
    preview(config, out, now=now)


def _busiest_account(session: Session) -> str | None:
    """The CRM id of the account with most answers."""
    return session.scalar(
        select(Account.crm_id)
        .join(Contact, Contact.account_id == Account.id)
        .join(Survey, Survey.contact_id == Contact.id)
        .join(Response, Response.survey_id == Survey.id)
        .group_by(Account.crm_id)
        .order_by(func.count(Response.id).desc(), Account.crm_id)
    )


def _close_top_item(store: Store, config: Config, now: dt.datetime, env: dict[str, str]) -> int:
    """RevOps ships the open backlog item the most customers complained about (the oldest of
    equals), marks it done and tells them; returns mails sent."""
    with store.sessions() as session:
        items = session.scalars(
            select(BacklogItem)
            .where(BacklogItem.status == BacklogStatus.OPEN)
            .order_by(BacklogItem.id)
        ).all()
        first = max(items, key=lambda item: len(recipients(session, config, item)), default=None)
        first_id = first.id if first is not None else None
    if first_id is None:
        return 0
    lines = close_item(
        store.sessions,
        config,
        first_id,
        note=CLOSING_NOTE,
        dropped=False,
        notify=True,
        now=now,
        actor="demo-revops",
        env=env,
    )
    print(f"  RevOps closed backlog item {lines[0].split(':')[0]}; {lines[-1]}")
    return int(lines[-1].split()[1])


def _advance_to(sandbox: Sandbox, moment: dt.datetime) -> None:
    """Move the simulated clock to `moment` (never back)."""
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
        segments=SEGMENTS[kind],
        followup=_followup(sandbox, kind),
    )
    (out / "config.yaml").write_text(text, encoding="utf-8")
    return parse_config(text, str(out / "config.yaml"), env)


def _followup(sandbox: Sandbox, kind: str) -> str:
    """Record links in tasks; on HubSpot, whose owners carry no language, the Japanese reps."""
    if kind == "salesforce":
        return "  record_url: https://acme-analytics.lightning.force.com/lightning/r/{object}/{id}/view"
    reps = ", ".join(
        f'"{owner}": {{language: {rep["language"]}, time_zone: {rep["time_zone"]}}}'
        for owner, rep in hubspot_reps(sandbox).items()
    )
    return (
        "  record_url: https://app.hubspot.com/contacts/1234567/record/{object}/{id}\n"
        f"  reps: {{{reps}}}"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

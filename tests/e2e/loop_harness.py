"""A simulated company for the promise tests: sandbox CRM, store, the production loop, people.

Everything goes through the production wiring (`build_loop`, `run_cycle`, the response web app
via `serving`); three things are the test's own: the clock (the sandbox's), the pause between
CRM retries (virtual, so backoff and pacing cost no wall time), and the mail transport, which
keeps every message handed to it so a second send of one Message-ID is visible (the directory
transport would overwrite it). People answer every invitation, once, with a score fixed by
their address, through the real web endpoint; some unsubscribe in one click instead.
"""

import dataclasses
import datetime as dt
import hashlib
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from tests.e2e.crm_setup import ENV
from worker.config import Config, parse_config
from worker.cycle import CycleReport, Loop, run_cycle
from worker.mappers import salesforce as salesforce_mapping
from worker.runtime import Store, build_loop, open_store, serving, signer_of
from worker.sandbox.clock import SandboxClock
from worker.sandbox.faults import RequestLogEntry
from worker.sandbox.hubspot.objects import object_type
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.store.migrate import upgrade
from worker.store.models import Contact, Survey, SurveyChannel
from worker.surveys.channels import EmailChannel
from worker.surveys.render import Templates
from worker.surveys.tokens import Purpose, TokenRejected, TokenSigner
from worker.sync import hubspot, salesforce
from worker.sync.base import CrmClient
from worker.sync.endpoint import endpoint_session
from worker.sync.factory import set_up_fields
from worker.sync.link import link

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
"""A Monday, 09:00 UTC: the first cycle is the first sync."""
CYCLES_PER_DAY = (dt.timedelta(hours=0), dt.timedelta(hours=6))
"""Cycle times after each day's 09:00 UTC."""
KINDS = ("salesforce", "hubspot")

PROGRAMS: dict[str, dict[str, str]] = {
    "salesforce": {
        "case_closed": """\
  case_closed:
    touchpoint: support
    trigger: {record_change: {object: Case, when: {Status: {changed_to: Closed}}, delay: 2h}}
""",
        "onboarding_completed": """\
  onboarding_completed:
    touchpoint: onboarding
    trigger:
      record_change:
        object: Account
        when: {Onboarding_Status__c: {changed_to: Completed}}
        contact: {account_contacts: {}}
""",
    },
    "hubspot": {
        "case_closed": """\
  case_closed:
    touchpoint: support
    trigger:
      record_change: {object: tickets, when: {hs_pipeline_stage: {changed_to: "4"}}, delay: 2h}
""",
        "onboarding_completed": """\
  onboarding_completed:
    touchpoint: onboarding
    trigger:
      record_change:
        object: companies
        when: {onboarding_status: {changed_to: Completed}}
        contact: {account_contacts: {}}
""",
        "renewal_won": """\
  renewal_won:
    touchpoint: renewal
    trigger: {record_change: {object: deals, when: {dealstage: {changed_to: closedwon}}}}
""",
    },
}
WEEKLY = """\
  relationship_weekly:
    touchpoint: relationship
    trigger: {schedule: {cron: "0 10 * * wed", window: 4h}}
"""
"""Everyone, every Wednesday: collides with the other programs inside the minimum interval.

The weekday is named: APScheduler's `from_crontab` reads a number as 0 = Monday, not Sunday."""

CONFIG = """\
database:
  url: {database_url}
crm:
  kind: {kind}
  endpoint: {endpoint}
  ca_bundle: {ca_bundle}
  salesforce:
    domain: {my_domain}
    auth: {{method: client_credentials}}
  hubspot:
    search_per_second: 5
survey:
  company_name: Acme Analytics
  sender: {{address: nps@acme-analytics.example, name: Acme Customer Success}}
  min_interval: {min_interval}
  expiry: 7d
  account_cap: {account_cap}
{survey_extra}  mail:
    transport: directory
    directory: {{path: {out}/mail}}
server:
  host: 127.0.0.1
  port: {port}
  public_base_url: http://127.0.0.1:{port}
  rate_limit: {{per_minute: 100000, burst: 100000}}  # every simulated person comes from 127.0.0.1
  metrics: {{port: 0}}  # any free port: tests run side by side
programs:
{programs}
{extra}{followup}"""

SCORE_LINK = re.compile(r"(https?://\S+/s/[A-Za-z0-9._-]+)\?score=(\d+)")
FORM_TOKEN = re.compile(r'name="form" value="([^"]+)"')
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126 Safari/537.36"
DEDUP_FIELD = {"salesforce": "NPS_Dedup_Key__c", "hubspot": "nps_dedup_key"}
TASK_OBJECT = {"salesforce": "Task", "hubspot": "tasks"}
READ_PATH = re.compile(r"/query|/search$|/batch/read$|/oauth2/|/describe|/properties|/owners")
"""Requests that only read, whatever their method (HubSpot searches and batch reads POST)."""


def config_for(
    kind: str,
    sandbox: Sandbox,
    out: Path,
    *,
    database_url: str,
    programs: tuple[str, ...] = ("case_closed", "onboarding_completed", "weekly"),
    min_interval: str = "7d",
    followup: str = "",
    tuning: "Tuning | None" = None,
    port: int | None = None,
) -> Config:
    """A worker config on the sandbox CRM of `kind` with the named programs (and a `followup`
    section, as YAML text, when given; the web app on `port`, or a free one)."""
    texts = [WEEKLY if name == "weekly" else PROGRAMS[kind][name] for name in programs]
    tuned = tuning or Tuning()
    text = CONFIG.format(
        database_url=database_url,
        kind=kind,
        endpoint=sandbox.base_url,
        ca_bundle=sandbox.ca_path,
        my_domain=SANDBOX_MY_DOMAIN,
        min_interval=min_interval,
        out=out,
        port=port or free_port(),
        programs="".join(texts).rstrip("\n"),
        followup=followup,
        account_cap=tuned.account_cap,
        survey_extra="".join(f"  {line}\n" for line in tuned.survey),
        extra="".join(f"{line}\n" for line in tuned.sections),
    )
    return parse_config(text, str(out / "config.yaml"), environment())


@dataclass(frozen=True)
class Tuning:
    """What a test changes in the config: the account cap, `survey` keys, whole sections."""

    account_cap: str = "{enabled: false}"
    survey: tuple[str, ...] = ()
    """Lines under `survey:`, e.g. `provisional_after: 12h`."""
    sections: tuple[str, ...] = ()
    """Top-level lines, e.g. `writeback: {account_window: 14d}`."""


def environment() -> dict[str, str]:
    """Sandbox credentials and a token secret."""
    return {**ENV, "NPS_TOKEN_SECRET": "loop-promises-" + "s" * 32}


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class VirtualPause:
    """The CRM clients' clock and sleep: a pause moves the clock instead of waiting.

    The CRM's world waits along: a pause moves the sandbox's clock too, so what the CRM does
    with time while the worker waits (its search index catching up) happens in that pause.
    """

    def __init__(self, world: SandboxClock) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._world = world

    def clock(self) -> float:
        """Monotonic seconds, including every pause taken."""
        with self._lock:
            return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        """Pass `seconds` at once."""
        with self._lock:
            self._offset += max(seconds, 0.0)
        self._world.advance(dt.timedelta(seconds=max(seconds, 0.0)))


def connect_fast(config: Config, sandbox: Sandbox) -> CrmClient:
    """The client as `worker.sync.factory.connect` builds the daemon's (logged in at its first
    call), with retries and pacing on virtual time."""
    pause = VirtualPause(sandbox.clock)
    session = endpoint_session(config.crm.endpoint, Path(config.crm.ca_bundle or ""))
    env = environment()
    if config.crm.kind == "salesforce":
        settings = salesforce.settings_from_config(config.crm.salesforce, config.followup.managers)
        return salesforce.make_salesforce_client(
            settings, session=session, environ=env, sleep=pause.sleep, defer_login=True
        )
    settings_hs = hubspot.settings_from_config(config, base_url=config.crm.endpoint or "")
    return hubspot.build_client(
        settings_hs, env=env, session=session, clock=pause.clock, sleep=pause.sleep
    )


class MailRecorder:
    """A mail transport that keeps every message handed over, with its time (thread-safe)."""

    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: list[tuple[dt.datetime, EmailMessage]] = []

    def send(self, message: EmailMessage) -> None:
        """Keep the message as sent."""
        with self._lock:
            self._sent.append((self._clock(), message))

    def sent(self, start: int = 0) -> list[tuple[dt.datetime, EmailMessage]]:
        """(when, message) of each send, from the `start`-th on."""
        with self._lock:
            return self._sent[start:]

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID was sent."""
        return Counter(str(message["Message-ID"]) for _, message in self.sent())


def detractor_heavy(address: str) -> int:
    """A stable score per address, a bit over half of them detractors (0-6)."""
    return hashlib.sha256(address.encode()).digest()[0] % 11


@dataclass(frozen=True)
class Acknowledged:
    """An answer the web app confirmed to the respondent."""

    token_id: str
    address: str
    score: int
    at: dt.datetime


@dataclass
class People:
    """Answer each invitation once through the web endpoint; unsubscribe when told to."""

    mail: MailRecorder
    signer: TokenSigner
    clock: Callable[[], dt.datetime]
    score_of: Callable[[str], int] = detractor_heavy
    unsubscribes: Callable[[str], bool] = lambda _address: False
    comment_of: Callable[[str], str | None] = lambda _address: None
    """The comment a person adds to their score (None: none)."""
    acknowledged: list[Acknowledged] = field(default_factory=list)
    unsubscribed: dict[str, dt.datetime] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """Answers the web app did not take."""
    dead_links: list[str] = field(default_factory=list)
    """Mails whose links no longer worked when read (read at once, so sent too late)."""
    _read: int = 0
    _answered: set[str] = field(default_factory=set)
    _http: requests.Session = field(default_factory=requests.Session)

    def read_new_mail(self) -> None:
        """Open each message not read yet, oldest first."""
        new = self.mail.sent(self._read)
        self._read += len(new)
        for _, message in new:
            self._open(message)

    def _open(self, message: Message) -> None:
        address = str(message["To"])
        links = {int(score): url for url, score in SCORE_LINK.findall(plain_text(message))}
        if len(links) != 11:
            return
        page = links[0].split("?")[0]
        try:
            claims = self.signer.verify(page.rsplit("/", 1)[1], Purpose.ANSWER, self.clock())
        except TokenRejected as rejected:
            self.dead_links.append(f"{message['Message-ID']}: {rejected.reason}")
            return
        token_id = claims.token_id
        if token_id in self._answered or address in self.unsubscribed:
            return
        if self.unsubscribes(address):
            self._unsubscribe(message, address)
            return
        score = self.score_of(address)
        shown = self._http.get(links[score], headers={"User-Agent": BROWSER}, timeout=10)
        form = FORM_TOKEN.search(shown.text)
        if shown.status_code != 200 or form is None:
            self.problems.append(f"GET {shown.status_code}: {shown.text[:300]}")
            return
        fields = {"score": str(score), "form": form.group(1)}
        comment = self.comment_of(address)
        if comment:
            fields["comment"] = comment
        posted = self._http.post(
            page,
            data=fields,
            headers={"User-Agent": BROWSER},
            timeout=10,
        )
        if posted.status_code != 200:
            self.problems.append(f"POST {posted.status_code}: {posted.text[:300]}")
            return
        self._answered.add(token_id)
        self.acknowledged.append(Acknowledged(token_id, address, score, self.clock()))

    def _unsubscribe(self, message: Message, address: str) -> None:
        """The mail client's one-click unsubscribe (RFC 8058)."""
        header = str(message.get("List-Unsubscribe", ""))
        url = next(part.strip("<> ") for part in header.split(",") if "http" in part)
        answer = self._http.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)
        if answer.status_code < 300:
            self.unsubscribed[address] = self.clock()


def plain_text(message: Message) -> str:
    """The text/plain part of a message."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


@dataclass
class Company:
    """The running whole: sandbox CRM, store, loop, web app, mail and people."""

    kind: str
    sandbox: Sandbox
    config: Config
    store: Store
    mail: MailRecorder
    people: People
    loop: Loop
    metrics_port: int | None = None
    """Where the web app's `/metrics` listener answers (`server.metrics`)."""
    reports: list[CycleReport] = field(default_factory=list)

    def restart(self) -> None:
        """A new process: fresh engine, fresh login, fresh loop (what a crash leaves is kept)."""
        self.store.engine.dispose()
        self.store = open_store(self.config)
        self.loop = wired_loop(self.config, self.store, self.mail, self.sandbox)

    def cycle(self) -> CycleReport:
        """One cycle, then people read their mail."""
        report = run_cycle(self.loop)
        self.reports.append(report)
        self.people.read_new_mail()
        return report

    def advance_to(self, moment: dt.datetime) -> None:
        """Move the sandbox clock (and what people do in the CRM) up to `moment`."""
        ahead = moment - self.sandbox.clock.now()
        if ahead > dt.timedelta(0):
            self.sandbox.advance(ahead)

    def run_days(self, days: int, *, cycle: Callable[[], object] | None = None) -> None:
        """`days` simulated days of two cycles each, from the current day's 09:00 UTC."""
        run = cycle or self.cycle
        for _ in range(days):
            day_start = self.sandbox.clock.now().replace(hour=9, minute=0, second=0, microsecond=0)
            for offset in CYCLES_PER_DAY:
                self.advance_to(day_start + offset)
                run()
            self.advance_to(day_start + dt.timedelta(days=1))

    def settle(self, cycles: int = 3) -> None:
        """A few cycles with the CRM clock standing still (apart from real seconds)."""
        for _ in range(cycles):
            self.cycle()

    def writes(self, start: int = 0) -> list[RequestLogEntry]:
        """CRM requests that change data, from the `start`-th logged request on."""
        return [
            entry
            for entry in self.sandbox.log.entries()[start:]
            if entry.method != "GET" and not READ_PATH.search(entry.path)
        ]

    def crm_tasks(self) -> Counter[str]:
        """Tasks the CRM was given, by their dedup key (tasks without one are people's own);
        HubSpot tasks a rep deleted count too: they were made once."""
        records: Sequence[Mapping[str, Any]] = (
            self.sandbox.salesforce.records("Task")
            if self.kind == "salesforce"
            else self.sandbox.hubspot.records("tasks", archived=True)
        )
        field_name = DEDUP_FIELD[self.kind]
        return Counter(str(r[field_name]) for r in records if r.get(field_name))

    def crm_stage(self, stage: str) -> str:
        """How the CRM's follow-up status field spells a follow-up stage."""
        if self.kind == "salesforce":
            return salesforce_mapping.FOLLOWUP_LABELS[stage]
        return stage

    def crm_contact(self, crm_id: str) -> Mapping[str, Any]:
        """The contact's values as the CRM holds them now."""
        if self.kind == "salesforce":
            record = self.sandbox.salesforce.record(crm_id)
            assert record is not None, crm_id
            return record
        return self.sandbox.hubspot.record("contacts", crm_id)

    def crm_records(self, kind: str) -> list[Mapping[str, Any]]:
        """The CRM's live accounts or contacts (`kind`: "account" or "contact") as it holds them,
        each with its id under `Id`."""
        if self.kind == "salesforce":
            return self.sandbox.salesforce.records("Account" if kind == "account" else "Contact")
        objects = "companies" if kind == "account" else "contacts"
        return [
            {**record, "Id": record["hs_object_id"]}
            for record in self.sandbox.hubspot.records(objects)
        ]

    def account_of(self, contact: Mapping[str, Any]) -> str | None:
        """The CRM id of the account a CRM contact belongs to now."""
        value = contact.get("AccountId" if self.kind == "salesforce" else "associatedcompanyid")
        return str(value) if value else None

    def move_contact(self, crm_id: str, account_crm_id: str) -> None:
        """A rep moves the contact to another account in the CRM."""
        if self.kind == "salesforce":
            self.sandbox.salesforce.update("Contact", crm_id, {"AccountId": account_crm_id})
            return
        self._hubspot_update("contacts", crm_id, {"associatedcompanyid": account_crm_id})

    def _hubspot_update(self, object_name: str, crm_id: str, values: dict[str, str]) -> None:
        portal = self.sandbox.hubspot
        with portal.lock:
            kind = object_type(object_name)
            record = portal.store.get(kind, crm_id)
            assert record is not None, crm_id
            portal.store.update(kind, record, values, self.sandbox.clock.now())

    def opt_out(self, crm_id: str) -> None:
        """The contact ticks "email opt out" in the CRM."""
        if self.kind == "salesforce":
            self.sandbox.salesforce.update("Contact", crm_id, {"HasOptedOutOfEmail": True})
            return
        self._hubspot_update("contacts", crm_id, {"hs_email_optout": "true"})

    def contacts(self) -> dict[int, Contact]:
        """The mirror's contacts by store id."""
        with self.store.sessions() as session:
            return {row.id: row for row in session.scalars(select(Contact))}

    def surveys(self) -> list[Survey]:
        """Every survey row."""
        with self.store.sessions() as session:
            return list(session.scalars(select(Survey).order_by(Survey.id)))


def wired_loop(config: Config, store: Store, mail: MailRecorder, sandbox: Sandbox) -> Loop:
    """`build_loop` on a fresh login, the e-mail channel's transport being `mail`."""
    loop = build_loop(
        config,
        store,
        env=environment(),
        clock=sandbox.clock.now,
        links=[link(config, connect_fast(config, sandbox))],
    )
    channel = EmailChannel(
        config.survey,
        signer_of(config, environment()),
        Templates.from_config(config.survey),
        mail,
    )
    return dataclasses.replace(loop, channels={SurveyChannel.EMAIL: channel})


@contextmanager
def company(
    kind: str,
    sandbox: Sandbox,
    out: Path,
    *,
    database_url: str | None = None,
    programs: tuple[str, ...] = ("case_closed", "onboarding_completed", "weekly"),
    min_interval: str = "7d",
    unsubscribes: Callable[[str], bool] = lambda _address: False,
    followup: str = "",
    tuning: Tuning | None = None,
    comment_of: Callable[[str], str | None] = lambda _address: None,
) -> Iterator[Company]:
    """A migrated store, the loop and the web app running on `sandbox`, people reading mail."""
    url = database_url or f"sqlite:///{out / 'nps.db'}"
    config = config_for(
        kind,
        sandbox,
        out,
        database_url=url,
        programs=programs,
        min_interval=min_interval,
        followup=followup,
        tuning=tuning,
    )
    upgrade(url)
    if kind == "hubspot":
        client = connect_fast(config, sandbox)
        assert isinstance(client, hubspot.HubSpotClient)
        set_up_fields(config, client)  # `nps-worker setup-crm`: the task and note dedup keys
    store = open_store(config)
    mail = MailRecorder(sandbox.clock.now)
    people = People(
        mail,
        signer_of(config, environment()),
        sandbox.clock.now,
        unsubscribes=unsubscribes,
        comment_of=comment_of,
    )
    with ExitStack() as stack:
        listeners = stack.enter_context(
            serving(config, store, env=environment(), clock=sandbox.clock.now)
        )
        built = Company(
            kind,
            sandbox,
            config,
            store,
            mail,
            people,
            wired_loop(config, store, mail, sandbox),
            metrics_port=listeners.metrics_port,
        )
        try:
            yield built
        finally:
            built.store.engine.dispose()

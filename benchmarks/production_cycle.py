"""The production cycle (`worker.cycle.run_cycle`) on a sandbox CRM: worker CPU, wall, waits, RSS.

Shared by `salesforce_cycle.py` and `hubspot_cycle.py`: nothing of the loop is copied here. The
worker is built as the daemon builds it (`parse_config`, `migrate`, `open_store`, `build_loop`)
with the default config (bulk threshold 10,000 included) and record-change programs on cases
and opportunities (deals), so accounts, contacts, cases and opportunities are pulled; events,
planning, dispatch, answers, roll-ups and the outbox all run. The sandbox serves from a child
process, so CPU seconds and peak RSS are the worker process's alone.

Cycles, `--cycle-every` apart on the sandbox's clock: `full` (the first sync), `echo` (the
cycle after it: what the first one wrote comes back), `steady` (1 % of the contacts changed in
the CRM just before) and `no-op`. Per cycle: worker CPU seconds (`time.process_time`), wall
seconds, seconds waiting on the CRM (inside HTTP calls, plus the client's pauses), CRM calls
and peak RSS so far.
"""

import dataclasses
import math
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import requests
from sandbox_process import Prepare, SandboxProcess
from sqlalchemy import create_engine, func, select, text

from worker.config import Config, parse_config
from worker.cycle import CycleReport, Loop, run_cycle
from worker.logs import configure_logging
from worker.runtime import Store, build_loop, freeze_long_lived, open_store
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.store.engine import normalise_url
from worker.store.migrate import upgrade
from worker.store.models import Contact, FollowUp, FollowUpStatus
from worker.surveys.import_command import import_command
from worker.sync import hubspot, salesforce
from worker.sync.base import CrmClient, FieldUpdate, Priority
from worker.sync.endpoint import endpoint_session
from worker.sync.factory import set_up_fields
from worker.sync.link import link

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENV = {
    "SALESFORCE_CONSUMER_KEY": DEFAULT_CREDENTIALS.consumer_key,
    "SALESFORCE_CONSUMER_SECRET": DEFAULT_CREDENTIALS.consumer_secret,
    "HUBSPOT_ACCESS_TOKEN": "benchmark-token",
    "NPS_TOKEN_SECRET": "benchmark-" + "s" * 32,
}
PROGRAMS = {
    "salesforce": """\
  case_closed:
    touchpoint: support
    trigger: {record_change: {object: Case, when: {Status: {changed_to: Closed}}, delay: 2h}}
  renewal_won:
    touchpoint: renewal
    trigger: {record_change: {object: Opportunity, when: {StageName: {changed_to: Closed Won}}}}
""",
    "hubspot": """\
  case_closed:
    touchpoint: support
    trigger:
      record_change: {object: tickets, when: {hs_pipeline_stage: {changed_to: "4"}}, delay: 2h}
  renewal_won:
    touchpoint: renewal
    trigger: {record_change: {object: deals, when: {dealstage: {changed_to: closedwon}}}}
""",
}
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
survey:
  company_name: Acme Analytics
  sender: {{address: nps@acme-analytics.example, name: Acme Customer Success}}
  mail:
    transport: directory
    directory: {{path: {out}/mail}}
server:
  public_base_url: https://nps.acme-analytics.example
programs:
{programs}"""
CHANGED_FIELD = {"salesforce": ("Contact", "FirstName"), "hubspot": ("contacts", "firstname")}
CYCLES = ("full", "answers", "echo", "steady", "no-op")


def kind_of(request: requests.PreparedRequest) -> str:
    """`pull` (queries, Bulk API jobs, searches), `write` (Composite, batches) or `other`."""
    path = (request.path_url or "").split("?")[0]
    if path.endswith("/search") or "/query" in path or "/jobs/" in path:
        return "pull"
    if path.endswith("/batch/read"):
        return "other"
    if "/composite" in path or "/batch/" in path:
        return "write"
    return "other"


@dataclass
class Waits:
    """Wall seconds the worker spent waiting on the CRM: in HTTP calls and in its pauses."""

    calls: int = 0
    seconds: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)

    def wrap(self, session: requests.Session) -> None:
        """Time every request the session sends."""
        send = session.send

        def timed(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            started = time.perf_counter()
            try:
                return send(request, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1
                self.kinds[kind_of(request)] += 1

        session.send = timed  # type: ignore[method-assign]

    def sleep(self, seconds: float) -> None:
        """The client's pause (pacing, Bulk API polls), counted as waiting."""
        started = time.perf_counter()
        time.sleep(max(seconds, 0.0))
        self.seconds += time.perf_counter() - started


@dataclass
class CycleRow:
    """One cycle's figures."""

    cycle: str
    pulled: int
    cpu_s: float
    wall_s: float
    crm_wait_s: float
    pull_s: float
    """Wall seconds from the cycle's start to its last pulled page stored."""
    calls: int
    pull_calls: int
    written: int
    peak_rss_mb: float
    pulled_by_object: dict[str, int]
    open_tasks: int = 0
    """Open follow-ups whose task status the cycle reads back."""
    floor: "ReadFloor | None" = None


REST_PAGE = 2000
"""Salesforce REST query page (the default batch size)."""
BULK_PAGE = 50_000
"""Records per Bulk API 2.0 results call (`bulk_page_records`)."""
BULK_THRESHOLD = 10_000
SEARCH_PAGE = 200
"""HubSpot CRM search page."""
STATUS_BATCH = 100
"""Task ids per status read (`worker.loop.followups.STATUS_BATCH`)."""


@dataclass(frozen=True)
class ReadFloor:
    """The fewest pull-kind calls (queries, bulk jobs, searches) a cycle could make, by part."""

    changes: int
    deletions: int
    tasks: int

    @property
    def total(self) -> int:
        """All of them."""
        return self.changes + self.deletions + self.tasks


def read_floor(kind: str, cycle: str, pulled: dict[str, int], open_tasks: int) -> ReadFloor:
    """The true minimum of a cycle's reads, from what it pulled and the tasks open before it.

    Every object's changes are read each cycle (one call even when nothing changed), a page per
    REST_PAGE records, or on a first sync above the bulk threshold one REST page, the job's
    creation, one status poll and a results call per BULK_PAGE records. Salesforce's deletions
    are one queryAll per object and cycle; HubSpot's (an archive listing on a slow schedule,
    the in-play checks by id) are batch reads, not searches, so not counted here. Open tasks
    are read back STATUS_BATCH at a time. Reads that are not pull work stay above the floor:
    the managers query a process makes once (the first cycle) and the look-up that keeps task
    creation idempotent (the cycle that writes answers back).
    """
    changes = 0
    for n in pulled.values():
        if kind == "hubspot":
            changes += max(1, math.ceil(n / SEARCH_PAGE))
        elif cycle == "full" and n > BULK_THRESHOLD:
            changes += 3 + max(1, math.ceil((n - REST_PAGE) / BULK_PAGE))
        else:
            changes += max(1, math.ceil(n / REST_PAGE))
    deletions = len(pulled) if kind == "salesforce" else 0
    return ReadFloor(changes, deletions, math.ceil(open_tasks / STATUS_BATCH))


def peak_rss_mb() -> float:
    """Peak resident set of this (the worker's) process so far."""
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1024 / 1024


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, migrated database URL (a PostgreSQL database is dropped afterwards)."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'nps.db'}"
        upgrade(url)
        yield url
        return
    server = normalise_url(os.environ.get("NPS_TEST_DATABASE_URL", POSTGRES_SERVER))
    name = f"nps_cycle_{uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def config_for(kind: str, base_url: str, ca_path: Path, url: str, out: Path) -> Config:
    """The default config on the sandbox CRM, with programs on cases and opportunities."""
    body = CONFIG.format(
        database_url=url,
        kind=kind,
        endpoint=base_url,
        ca_bundle=ca_path,
        my_domain=SANDBOX_MY_DOMAIN,
        out=out,
        programs=PROGRAMS[kind].rstrip("\n"),
    )
    return parse_config(body, str(out / "config.yaml"), ENV)


def client_for(config: Config, waits: Waits) -> CrmClient:
    """The client as `worker.sync.factory.connect` builds the daemon's, its waits timed."""
    session = endpoint_session(config.crm.endpoint, Path(config.crm.ca_bundle or ""))
    waits.wrap(session)
    if config.crm.kind == "salesforce":
        settings = salesforce.settings_from_config(config.crm.salesforce, config.followup.managers)
        return salesforce.make_salesforce_client(
            settings, session=session, environ=ENV, sleep=waits.sleep, defer_login=True
        )
    hs_settings = hubspot.settings_from_config(config, base_url=config.crm.endpoint or "")
    return hubspot.build_client(hs_settings, env=ENV, session=session, sleep=waits.sleep)


class SandboxClock:
    """The loop's clock: the sandbox's time, read once per cycle, running on with the wall."""

    def __init__(self, base_url: str, session: requests.Session) -> None:
        self._url = f"{base_url}/_sandbox/clock"
        self._session = session
        self._base = self._read()
        self._at = time.monotonic()

    def _read(self) -> datetime:
        return datetime.fromisoformat(self._session.get(self._url).json()["now"])

    def now(self) -> datetime:
        """The sandbox's time now."""
        return self._base + timedelta(seconds=time.monotonic() - self._at)

    def move(self, by: timedelta) -> None:
        """Let `by` pass on the sandbox's clock (nothing else happens meanwhile)."""
        moment = self._read() + by
        self._session.post(self._url, json={"now": moment.isoformat()})
        self._base, self._at = self._read(), time.monotonic()


def change_contacts(client: CrmClient, kind: str, chosen: list[str]) -> int:
    """Someone edits the `chosen` contacts in the CRM (outside the measured cycle)."""
    object_name, field = CHANGED_FIELD[kind]
    updates = [
        FieldUpdate(object_name, crm_id, {field: f"Changed{n}"}, f"bench-change:{crm_id}")
        for n, crm_id in enumerate(chosen)
    ]
    failed = [r for r in client.update(updates, Priority.ESSENTIAL) if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} edits failed, first: {failed[0].error}")
    return len(chosen)


def score_of(crm_id: str) -> int:
    """A deterministic answer: about half promoters, 30 % passives, 20 % detractors."""
    bucket = sum(crm_id.encode()) * 7919 % 100
    if bucket < 50:
        return 9 + bucket % 2
    if bucket < 80:
        return 7 + bucket % 2
    return bucket % 7


def import_answers(config: Config, chosen: list[str], now: datetime, out: Path) -> int:
    """`nps-worker import` of answers from the `chosen` contacts (a score from the id), so
    the next cycle writes them back, opens a task per detractor and rolls accounts up."""
    path = out / f"answers-{uuid4().hex[:6]}.csv"
    lines = ["crm id,date,score"]
    lines += [f"{crm_id},{now:%Y-%m-%d},{score_of(crm_id)}" for crm_id in chosen]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_command(config, path, dry_run=False, now=now)
    if result.issues:
        raise SystemExit(f"answers not imported: {result.issues[0]}")
    return len(chosen)


def run(
    kind: str,
    size: int,
    *,
    backend: str = "sqlite",
    seed: int = 11,
    cycle_every: timedelta = timedelta(minutes=5),
    prepare: Prepare | None = None,
    summarise: Callable[[Sandbox], Any] = repr,
    answered: float = 0.01,
    changed: float = 0.01,
) -> tuple[list[CycleRow], Any]:
    """The four cycles on a fresh sandbox and database; rows and the sandbox's summary."""
    configure_logging("INFO", "json")  # as the daemon logs, on stderr
    options: dict[str, Any] = {"size": size, "seed": seed}
    with (
        tempfile.TemporaryDirectory(prefix="nps-cycle-") as folder,
        SandboxProcess(summarise, prepare or _unchanged, **options) as sandbox,
        database(backend, Path(folder)) as url,
    ):
        out = Path(folder)
        config = config_for(kind, sandbox.base_url, sandbox.ca_path, url, out)
        waits = Waits()
        client = client_for(config, waits)
        if isinstance(client, hubspot.HubSpotClient):
            set_up_fields(config, client)  # `nps-worker setup-crm`
        store = open_store(config)
        clock = SandboxClock(sandbox.base_url, endpoint_session(sandbox.base_url, sandbox.ca_path))
        loop = build_loop(config, store, env=ENV, clock=clock.now, links=[link(config, client)])
        freeze_long_lived()  # as `run_daemon` does once its loop is built
        rows = []
        for cycle in CYCLES:
            if cycle == "answers":
                import_answers(config, _spread_contacts(store, answered), clock.now(), out)
            if cycle == "steady":
                change_contacts(client, kind, _spread_contacts(store, changed))
            if cycle != "full":
                clock.move(cycle_every)  # edits reach HubSpot's search "after a few moments"
            rows.append(_measured(kind, cycle, loop, waits, _open_tasks(store)))
        store.engine.dispose()
        return rows, sandbox.stop()


def _spread_contacts(store: Store, share: float) -> list[str]:
    """CRM ids of `share` of the mirrored contacts, evenly spread over the id order; streamed,
    so the benchmark's own list of every id does not count in the worker's peak RSS."""
    with store.sessions() as session:
        total = session.scalar(select(func.count(Contact.id))) or 0
        count = max(1, math.ceil(total * share))
        step = max(1, total // count)
        ids = session.scalars(
            select(Contact.crm_id).order_by(Contact.crm_id).execution_options(yield_per=5000)
        )
        return [crm_id for n, crm_id in enumerate(ids) if n % step == 0][:count]


def _open_tasks(store: Store) -> int:
    """Open follow-ups with a CRM task: the task statuses a cycle reads back."""
    with store.sessions() as session:
        return (
            session.scalar(
                select(func.count(FollowUp.id)).where(
                    FollowUp.status.in_((FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS)),
                    FollowUp.crm_task_id.is_not(None),
                )
            )
            or 0
        )


def _unchanged(_sandbox: Sandbox) -> None:
    """No preparation beyond the options."""


def _measured(kind: str, cycle: str, loop: Loop, waits: Waits, open_tasks: int) -> CycleRow:
    calls, waited, pulls = waits.calls, waits.seconds, waits.kinds["pull"]
    cpu, wall = time.process_time(), time.perf_counter()
    paged = [wall]

    def progress(_object: str, _stored: int) -> None:
        paged.append(time.perf_counter())

    report: CycleReport = run_cycle(dataclasses.replace(loop, progress=progress))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    failed = [crm.error for crm in report.crms if crm.error]
    if failed:
        raise SystemExit(f"the {cycle} cycle failed: {failed[0]}")
    pulled = {name: n for crm in report.crms for name, n in crm.pulled.items()}
    return CycleRow(
        cycle=cycle,
        pulled=sum(sum(crm.pulled.values()) for crm in report.crms),
        cpu_s=cpu,
        wall_s=wall,
        pull_s=paged[-1] - paged[0],
        crm_wait_s=waits.seconds - waited,
        calls=waits.calls - calls,
        pull_calls=waits.kinds["pull"] - pulls,
        written=sum(crm.drain.done for crm in report.crms),
        peak_rss_mb=peak_rss_mb(),
        pulled_by_object=pulled,
        open_tasks=open_tasks,
        floor=read_floor(kind, cycle, pulled, open_tasks),
    )


HEADER = (
    f"{'N':>7} {'db':<8} {'cycle':<6} {'pulled':>7} {'calls':>6} {'written':>7} "
    f"{'cpu s':>7} {'wall s':>7} {'crm s':>7} {'peak MB':>8}"
)


def print_rows(size: int, backend: str, rows: list[CycleRow]) -> None:
    """One line per cycle, under HEADER."""
    for row in rows:
        print(
            f"{size:>7} {backend:<8} {row.cycle:<6} {row.pulled:>7} {row.calls:>6} "
            f"{row.written:>7} {row.cpu_s:>7.2f} {row.wall_s:>7.2f} {row.crm_wait_s:>7.2f} "
            f"{row.peak_rss_mb:>8.1f}",
            flush=True,
        )


FLOOR_HEADER = (
    f"{'cycle':<7} {'N':>7} {'db':<8} {'reads':>6} {'floor':>6}   "
    "floor = changes + deletions + task statuses"
)


def print_floors(size: int, backend: str, rows: list[CycleRow]) -> None:
    """The reads each cycle made beside their true minimum (see `read_floor`), under
    FLOOR_HEADER: the echo cycle and the deletion queries counted."""
    for row in rows:
        if row.floor is None:
            continue
        floor = row.floor
        print(
            f"{row.cycle:<7} {size:>7} {backend:<8} {row.pull_calls:>6} {floor.total:>6}   "
            f"{floor.changes} + {floor.deletions} + {floor.tasks}"
            f" ({row.open_tasks} open tasks)",
            flush=True,
        )

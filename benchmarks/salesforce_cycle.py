"""Salesforce connector cycles against the sandbox: API calls next to the floor, time, memory.

    .venv/bin/python benchmarks/salesforce_cycle.py --size 10000 --size 100000

Per size, three cycles run through the real client, `--cycle-every` apart on the sandbox's
clock: a full cycle (first pull of accounts, contacts, cases and opportunities, through Bulk API
2.0 for objects above `--bulk-threshold`, then one answer write-back per contact and one
follow-up task per detractor, about a fifth), the echo cycle after it (our own writes come
back: pulled, compared, nothing written), and a no-op cycle.
The floor (DESIGN.md section 11): pull sum(ceil(n/2000)) per object, at least one query per
object; write ceil(N/1000) per kind of write with Composite, ceil(N/200) with plain sObject
Collections; task dedup-key lookups ceil(N/1000) (five queries per Composite call).
The look-back (`crm.salesforce.lookback`) re-reads what changed within it before the previous
read: `again` counts those records, `extra` the pull calls they cost beyond the records that
were new.
The sandbox runs in a child process, so the peak RSS printed is the worker's alone; calls are
counted by a response hook on the client's session and checked against the sandbox's log.
"""

import argparse
import json
import math
import resource
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from sandbox_process import SandboxProcess

from worker.domain import Category, ContactWriteback
from worker.mappers.salesforce import SalesforceMapping, contact_update
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.server import Sandbox
from worker.sync.base import Cursor, FieldUpdate, Priority, TaskPriority, TaskSpec
from worker.sync.endpoint import endpoint_session
from worker.sync.salesforce import (
    ClientCredentialsAuth,
    SalesforceClient,
    SalesforceSettings,
    make_salesforce_client,
)

PULL_PAGE = 2000
LOOKUPS_PER_CALL = 1000
COMPOSITE_RECORDS = 1000
COLLECTION_RECORDS = 200
MY_DOMAIN = "benchmark.my"
MAPPING = SalesforceMapping()
WRITTEN = tuple(
    name
    for name in (
        MAPPING.contact_writeback.last_score,
        MAPPING.contact_writeback.last_category,
        MAPPING.contact_writeback.last_response_at,
    )
    if name
)


def salesforce_calls(sandbox: Sandbox) -> int:
    """Child process: the Salesforce calls the sandbox logged."""
    return sandbox.log.count(crm="salesforce")


@dataclass
class CallCounter:
    """Counts the client's HTTP responses: a hook on its session, independent of its code.

    Pulls are queries and Bulk API 2.0 jobs; lookups read task dedup keys (a query of Task, or
    a Composite call of queries); writes are the Composite and sObject Collections writes.
    """

    pulls: int = 0
    lookups: int = 0
    writes: int = 0
    other: int = 0

    def __call__(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        path = response.request.path_url
        if path.startswith("/_sandbox/"):
            return
        if "/query" in path and "+FROM+Task+" in path:
            self.lookups += 1
        elif "/query" in path or "/jobs/" in path:
            self.pulls += 1
        elif "/composite" in path and _reads_only(response.request.body):
            self.lookups += 1
        elif "/composite" in path:
            self.writes += 1
        else:
            self.other += 1

    def total(self) -> int:
        """Every response seen."""
        return self.pulls + self.lookups + self.writes + self.other


def _reads_only(body: bytes | str | None) -> bool:
    """A Composite request whose subrequests are all GETs (queries)."""
    parts = json.loads(body or "{}").get("compositeRequest", [])
    return bool(parts) and all(part.get("method") == "GET" for part in parts)


@dataclass
class Row:
    """One cycle's measurements."""

    cycle: str
    pulled: int
    again: int
    pull_calls: int
    pull_floor: int
    extra: int
    written: int
    tasks: int
    write_calls: int
    seconds: float
    peak_rss_mb: float

    @property
    def write_floor(self) -> int:
        """ceil(N/1000) per kind of write: five collections of 200 per Composite call, plus
        ceil(N/1000) for the tasks' dedup-key lookups (five queries per Composite call)."""
        return (
            math.ceil(self.written / COMPOSITE_RECORDS)
            + math.ceil(self.tasks / COMPOSITE_RECORDS)
            + math.ceil(self.tasks / LOOKUPS_PER_CALL)
        )

    @property
    def plain_floor(self) -> int:
        """ceil(N/200) per kind of write: one sObject Collections call per 200 records."""
        return math.ceil(self.written / COLLECTION_RECORDS) + math.ceil(
            self.tasks / COLLECTION_RECORDS
        )

    @property
    def ratio(self) -> float:
        """Calls made over the floor (1.00 is the floor)."""
        floor = self.pull_floor + self.write_floor
        return (self.pull_calls + self.write_calls) / floor if floor else 1.0


class Mirror:
    """The worker's local copy, reduced to what a cycle compares: cursors and known values."""

    def __init__(self) -> None:
        self.cursors: dict[str, Cursor] = {}
        self.known: dict[str, dict[str, dict[str, Any]]] = {}
        self.versions: dict[str, dict[str, datetime]] = {}
        self.followed_up: set[str] = set()

    def pull(self, client: SalesforceClient) -> tuple[int, int, int, int]:
        """Pull every mapped object from its cursor.

        Returns (records, records read again, floor calls, extra calls of the look-back).
        """
        pulled = again = floor = extra = 0
        for sobject, fields in MAPPING.read_fields().items():
            selected = (*fields, *WRITTEN) if sobject == "Contact" else fields
            rows = self.known.setdefault(sobject, {})
            versions = self.versions.setdefault(sobject, {})
            count = repeated = 0
            for page in client.pull(sobject, selected, self.cursors.get(sobject, Cursor())):
                for record in page.records:
                    repeated += versions.get(record.id) == record.modified_at
                    versions[record.id] = record.modified_at
                    rows[record.id] = dict(record.fields)
                count += len(page.records)
                self.cursors[sobject] = page.cursor
            pulled += count
            again += repeated
            floor += max(1, math.ceil(count / PULL_PAGE))
            extra += max(1, math.ceil(count / PULL_PAGE)) - max(
                1, math.ceil((count - repeated) / PULL_PAGE)
            )
        return pulled, again, floor, extra

    def writebacks(self, answered: datetime) -> list[FieldUpdate]:
        """One answer per contact (a score derived from its id), minus values already held."""
        updates = []
        for contact_id, known in self.known.get("Contact", {}).items():
            score = _score(contact_id)
            writeback = ContactWriteback(
                last_score=score,
                last_category=Category.of_score(score),
                last_response_at=answered,
            )
            update = contact_update(contact_id, writeback, known, MAPPING, f"bench:{contact_id}")
            if update is not None:
                updates.append(update)
        return updates

    def followups(self, answered: datetime) -> list[TaskSpec]:
        """A task for each detractor answer not followed up yet."""
        tasks = []
        for contact_id, known in self.known.get("Contact", {}).items():
            detractor = Category.of_score(_score(contact_id)) is Category.DETRACTOR
            if not detractor or contact_id in self.followed_up:
                continue
            tasks.append(
                TaskSpec(
                    dedup_key=f"followup:{contact_id}",
                    subject="Call back: NPS detractor",
                    body="Benchmark follow-up.",
                    due_at=answered,
                    priority=TaskPriority.HIGH,
                    owner_id=known.get("OwnerId"),
                    contact_id=contact_id,
                    account_id=known.get("AccountId"),
                )
            )
        return tasks


def _score(contact_id: str) -> int:
    """A deterministic answer: about half promoters, a third passives, a fifth detractors."""
    bucket = sum(contact_id.encode()) * 7919 % 100
    if bucket < 50:
        return 9 + bucket % 2
    if bucket < 80:
        return 7 + bucket % 2
    return bucket % 7


def _peak_rss_mb() -> float:
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / scale / 1024


def run(
    size: int, seed: int, *, bulk_threshold: int, cycle_every: timedelta
) -> tuple[list[Row], int, int]:
    """Run the three cycles on a fresh sandbox; returns rows and (client, sandbox) call totals."""
    with SandboxProcess(salesforce_calls, size=size, seed=seed) as sandbox:
        session = endpoint_session(sandbox.base_url, sandbox.ca_path)
        environ = {
            "SF_KEY": DEFAULT_CREDENTIALS.consumer_key,
            "SF_SECRET": DEFAULT_CREDENTIALS.consumer_secret,
        }
        counter = CallCounter()
        session.hooks["response"].append(counter)
        settings = SalesforceSettings(
            auth=ClientCredentialsAuth("SF_KEY", "SF_SECRET", MY_DOMAIN),
            bulk_threshold=bulk_threshold,
            bulk_poll_s=0.2,
        )
        client = make_salesforce_client(settings, session=session, environ=environ)
        mirror = Mirror()
        answered = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        rows = []
        for cycle in ("full", "echo", "no-op"):
            if cycle != "full":
                _move_clock(session, sandbox.base_url, cycle_every)
            before = (counter.pulls, counter.lookups + counter.writes)
            started = time.perf_counter()
            pulled, again, floor, extra = mirror.pull(client)
            updates = mirror.writebacks(answered)
            results = client.update(updates, Priority.ESSENTIAL) if updates else []
            failed = [r for r in results if not r.ok]
            if failed:
                raise SystemExit(f"{len(failed)} writes failed, first: {failed[0].error}")
            for update in updates:
                mirror.known["Contact"][update.record_id].update(update.fields)
            tasks = mirror.followups(answered)
            opened = client.create_tasks(tasks) if tasks else []
            failed = [r for r in opened if not r.ok]
            if failed:
                raise SystemExit(f"{len(failed)} tasks failed, first: {failed[0].error}")
            mirror.followed_up.update(t.contact_id for t in tasks if t.contact_id)
            rows.append(
                Row(
                    cycle=cycle,
                    pulled=pulled,
                    again=again,
                    pull_calls=counter.pulls - before[0],
                    pull_floor=floor,
                    extra=extra,
                    written=len(updates),
                    tasks=len(tasks),
                    write_calls=counter.lookups + counter.writes - before[1],
                    seconds=time.perf_counter() - started,
                    peak_rss_mb=_peak_rss_mb(),
                )
            )
        logged = int(sandbox.stop())
        return rows, counter.total(), logged


def _move_clock(session: requests.Session, base_url: str, by: timedelta) -> None:
    """Let `by` pass on the sandbox's clock between cycles (nothing else happens meanwhile)."""
    now = datetime.fromisoformat(session.get(f"{base_url}/_sandbox/clock").json()["now"])
    session.post(f"{base_url}/_sandbox/clock", json={"now": (now + by).isoformat()})


def main(argv: list[str] | None = None) -> int:
    """Print one table per size."""
    parser = argparse.ArgumentParser(description="Salesforce connector cycles on the sandbox.")
    parser.add_argument(
        "--size", type=int, action="append", help="contacts (repeatable; default 1000)"
    )
    parser.add_argument("--seed", type=int, default=11, help="sandbox data seed")
    parser.add_argument(
        "--bulk-threshold",
        type=int,
        default=10_000,
        help="records above which a first pull uses Bulk API 2.0 (the config default)",
    )
    parser.add_argument(
        "--cycle-every",
        type=float,
        default=5.0,
        help="minutes between cycles on the sandbox clock (the scheduler default: 5)",
    )
    args = parser.parse_args(argv)
    header = (
        f"{'N':>7} {'cycle':<6} {'pulled':>7} {'again':>6} {'pull':>5} {'floor':>5} "
        f"{'extra':>5} {'updates':>7} {'tasks':>6} {'write':>5} {'floor':>5} {'no-comp':>7} "
        f"{'ratio':>5} {'wall s':>7} {'peak MB':>8}"
    )
    for size in args.size or [1000]:
        rows, seen, logged = run(
            size,
            args.seed,
            bulk_threshold=args.bulk_threshold,
            cycle_every=timedelta(minutes=args.cycle_every),
        )
        print(header)
        for row in rows:
            print(
                f"{size:>7} {row.cycle:<6} {row.pulled:>7} {row.again:>6} {row.pull_calls:>5} "
                f"{row.pull_floor:>5} {row.extra:>5} {row.written:>7} {row.tasks:>6} "
                f"{row.write_calls:>5} {row.write_floor:>5} {row.plain_floor:>7} "
                f"{row.ratio:>5.2f} {row.seconds:>7.2f} {row.peak_rss_mb:>8.1f}"
            )
        print(f"{'':>7} calls seen by the client {seen}, logged by the sandbox {logged}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""HubSpot connector cycles against the sandbox with its real rate limits: calls, time, memory.

    .venv/bin/python benchmarks/hubspot_cycle.py --size 10000 --size 100000

Per size, three cycles run through the real client: a full cycle (first pull of companies and
contacts, then one answer write-back per contact), the echo cycle after it (our own writes
bumped `lastmodifieddate`, so those contacts come back: pulled, compared, nothing written), and
a no-op cycle. Floors (DESIGN.md section 11): pull ceil(n/200) search pages per object (at
least one), write ceil(N/100) batch updates. The pull's ceiling is what the search limit
allows: 200 records x the portal's searches per second (5), and x the client's configured pace.
Each later cycle starts once the look-back has passed (`--lookback`, default 16 s here: the
sandbox's search sees a write up to 15 s after it, as HubSpot's "after a few moments"; the
config's default is 5 minutes, and real cycles are further apart than that): a pull re-reads
what changed within the look-back before the previous read (search-index lag).
The sandbox runs in a child process, so the peak RSS printed is the worker's alone; calls are
counted by a response hook on the client's session.
"""

import argparse
import math
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sandbox_process import SandboxProcess

from worker.domain import Category, ContactWriteback
from worker.mappers.hubspot import HubSpotMapping, contact_update, pull_properties
from worker.sandbox.server import Sandbox
from worker.sync.base import CrmRecord, Cursor, FieldUpdate, Priority
from worker.sync.endpoint import endpoint_session
from worker.sync.hubspot import HubSpotClient, HubSpotSettings, build_client, setup_properties

PAGE = 200
BATCH = 100
PORTAL_SEARCHES_PER_SECOND = 5
TOKEN = "benchmark-token"  # noqa: S105 - the sandbox accepts any bearer token
MAPPING = HubSpotMapping(
    contact_writeback={
        "last_score": "nps_last_score",
        "last_category": "nps_last_category",
        "last_response_at": "nps_last_response_at",
    }
)
OBJECTS = ("companies", "contacts")
ANSWERED_AT = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


class RateLimited:
    """Child process: switch the portal's real rate limits on at the benchmark's tier."""

    def __init__(self, tier: int) -> None:
        self.tier = tier

    def __call__(self, sandbox: Sandbox) -> None:
        sandbox.hubspot.set_rate_limits(
            tier=self.tier, search_per_second=PORTAL_SEARCHES_PER_SECOND
        )


def portal_summary(sandbox: Sandbox) -> tuple[dict[int, int], float]:
    """Child process: HTTP statuses the portal answered, and its mean time per search."""
    entries = sandbox.log.entries(crm="hubspot")
    searches = [entry.duration_ms for entry in entries if entry.path.endswith("/search")]
    statuses = Counter(entry.status for entry in entries)
    return dict(statuses), sum(searches) / max(len(searches), 1)


@dataclass
class Phase:
    """Calls and time of one part of a cycle."""

    calls: int
    floor: int
    seconds: float
    records: int = 0


class CallCounter:
    """Counts HTTP responses by kind of call (search / batch write / other) on a session."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """requests response hook."""
        path = response.request.path_url.split("?")[0]
        kind = "search" if path.endswith("/search") else "write" if "/batch/" in path else "other"
        self.counts[kind] += 1


@contextmanager
def measured(counter: CallCounter, kind: str, out: dict[str, float]) -> Iterator[None]:
    """Time a block and count the calls of one kind it made."""
    before = counter.counts[kind]
    start = time.monotonic()
    yield
    out["seconds"] = time.monotonic() - start
    out["calls"] = counter.counts[kind] - before


def writeback_for(record: CrmRecord) -> ContactWriteback:
    """A deterministic answer per contact."""
    score = int(record.id) % 11
    return ContactWriteback(
        last_score=score, last_category=Category.of_score(score), last_response_at=ANSWERED_AT
    )


def run_cycle(
    client: HubSpotClient,
    counter: CallCounter,
    cursors: dict[str, Cursor],
    mirror: dict[str, dict[str, Any]],
) -> dict[str, Phase]:
    """Pull every object from its cursor, then write back what differs from the mirror."""
    phases: dict[str, Phase] = {}
    for name in OBJECTS:
        stats: dict[str, float] = {}
        pulled = 0
        with measured(counter, "search", stats):
            for page in client.pull(name, pull_properties(MAPPING, name), cursors[name]):
                pulled += len(page.records)
                if name == "contacts":
                    for record in page.records:
                        mirror[record.id] = dict(record.fields)
                cursors[name] = page.cursor
        floor = max(1, math.ceil(pulled / PAGE))
        phases[f"pull {name}"] = Phase(int(stats["calls"]), floor, stats["seconds"], pulled)
    updates: list[FieldUpdate] = []
    for record_id, fields in mirror.items():
        record = CrmRecord("contacts", record_id, ANSWERED_AT, fields)
        update = contact_update(record_id, writeback_for(record), fields, MAPPING, record_id)
        if update is not None:
            updates.append(update)
    stats = {}
    with measured(counter, "write", stats):
        results = client.update(updates, Priority.ESSENTIAL)
    failed = [result for result in results if not result.ok]
    if failed:
        raise SystemExit(f"{len(failed)} write-backs failed, e.g. {failed[0]}")
    for update in updates:
        mirror[update.record_id].update(update.fields)
    writes_floor = math.ceil(len(updates) / BATCH)
    phases["write contacts"] = Phase(
        int(stats["calls"]), writes_floor, stats["seconds"], len(updates)
    )
    return phases


def report(size: int, name: str, phases: dict[str, Phase], search_rate: float) -> None:
    """Print one cycle's table."""
    print(f"\n{name} (N={size:,})")
    print(f"  {'phase':<18}{'records':>9}{'calls':>8}{'floor':>7}{'ratio':>7}{'seconds':>9}")
    for label, phase in phases.items():
        ratio = f"{phase.calls / phase.floor:.3f}" if phase.floor else "-"
        print(
            f"  {label:<18}{phase.records:>9,}{phase.calls:>8}{phase.floor:>7}{ratio:>7}"
            f"{phase.seconds:>9.1f}"
        )
    pull = phases["pull contacts"]
    if pull.records >= PAGE and pull.seconds > 0:
        rate = pull.records / pull.seconds
        portal = PORTAL_SEARCHES_PER_SECOND * PAGE
        paced = search_rate * PAGE
        print(
            f"  contacts pulled at {rate:,.0f} records/s = {rate / portal:.0%} of the portal's "
            f"search ceiling ({portal:,}/s), {rate / paced:.0%} of the configured pace "
            f"({paced:,.0f}/s)"
        )


def bench(size: int, seed: int, tier: int, search_rate: float, lookback_s: float) -> None:
    """Run the three cycles for one size against a fresh sandbox in a child process."""
    started = time.monotonic()
    sandbox = SandboxProcess(
        portal_summary, RateLimited(tier), size=size, seed=seed, hubspot_rate_limits=True
    )
    with sandbox:
        _bench(
            sandbox,
            started=started,
            size=size,
            tier=tier,
            search_rate=search_rate,
            lookback_s=lookback_s,
        )


def _bench(
    sandbox: SandboxProcess,
    *,
    started: float,
    size: int,
    tier: int,
    search_rate: float,
    lookback_s: float,
) -> None:
    base_url = sandbox.base_url
    print(f"\nsandbox with {size:,} contacts up in {time.monotonic() - started:.1f}s at {base_url}")
    session = endpoint_session(base_url, sandbox.ca_path)
    counter = CallCounter()
    session.hooks["response"].append(counter.hook)
    settings = HubSpotSettings(
        base_url=base_url,
        tier=tier,
        search_per_second=search_rate,
        lookback=timedelta(seconds=lookback_s),
    )
    client = build_client(settings, env={settings.token_env: TOKEN}, session=session)
    setup_properties(client, MAPPING)
    cursors = {name: Cursor() for name in OBJECTS}
    mirror: dict[str, dict[str, Any]] = {}
    for name in ("full cycle", "echo cycle (after our writes)", "no-op cycle"):
        if name != "full cycle":
            print(f"\n  (waiting {lookback_s + 1:.0f}s: past the look-back, as real cycles are)")
            time.sleep(lookback_s + 1)
        cycle_start = time.monotonic()
        phases = run_cycle(client, counter, cursors, mirror)
        report(size, name, phases, search_rate)
        print(f"  wall time {time.monotonic() - cycle_start:.1f}s")
    statuses, search_ms = sandbox.stop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n  HTTP statuses seen by the portal: {statuses}")
    print(
        f"  sandbox time per search {search_ms:.0f} ms: a keyset pull (each query starts where "
        f"the last page ended) is capped at {1000 / max(search_ms, 1):.1f} searches/s by it"
    )
    print(f"  worker peak RSS {peak_mb:,.0f} MB (sandbox excluded: separate process)")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, action="append", help="contacts (repeatable)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tier", type=int, default=190, choices=(100, 190))
    parser.add_argument("--search-rate", type=float, default=4.0, help="client searches/second")
    parser.add_argument(
        "--lookback",
        type=float,
        default=16.0,
        help="seconds of search-index look-back (config default 300; the no-op cycle waits it out)",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    for size in args.size or [1_000]:
        bench(size, args.seed, args.tier, args.search_rate, args.lookback)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The production cycle on the HubSpot sandbox, with the portal's real rate limits.

    .venv/bin/python benchmarks/hubspot_cycle.py --size 10000 --size 100000 --backend sqlite

Each size runs `worker.cycle.run_cycle` (see `production_cycle.py`: the daemon's wiring and
the default config, `crm.hubspot.search_per_second` 4 included) over companies, contacts,
tickets and deals: the first sync, the cycle after imported answers, the echo cycle, a steady
cycle with 1 % of the contacts changed, and a no-op cycle. The sandbox enforces the portal's
limits strictly (5 searches in any rolling second, the default tier's 100 calls per rolling
10 s; a 429 past either). The first sync's pull rate is printed against its ceilings: 200
records per search times the configured searches per second, and times the portal's limit;
beside it the searches against their floor (one per 200 records of each object, the last page
of each partial), the worker's CPU seconds and calls, and the 429s of the whole run. A pull of
no more searches than the configured rate fits in one second's allowance, so its rate (CI's
small size) is above the ceiling and says nothing about pacing.
"""

import argparse
import math
from datetime import timedelta

from production_cycle import FLOOR_HEADER, HEADER, CycleRow, print_floors, print_rows, run

from worker.config.crm import HubSpotConfig
from worker.sandbox.server import Sandbox

PAGE = 200
PORTAL_SEARCHES_PER_SECOND = 5


class RateLimited:
    """Child process: the portal's real limits at the config's default tier."""

    def __call__(self, sandbox: Sandbox) -> None:
        sandbox.hubspot.set_rate_limits(
            tier=HubSpotConfig().tier, search_per_second=PORTAL_SEARCHES_PER_SECOND
        )


def refusals(sandbox: Sandbox) -> int:
    """Child process: the 429s the portal answered over the whole run."""
    return sum(entry.status == 429 for entry in sandbox.log.entries(crm="hubspot"))


def pull_rate(size: int, row: CycleRow, refused: int) -> str:
    """The first sync's pull rate against the configured and the portal's search ceilings."""
    configured = HubSpotConfig().search_per_second * PAGE
    portal = PORTAL_SEARCHES_PER_SECOND * PAGE
    rate = row.pulled / row.pull_s if row.pull_s > 0 else 0.0
    floor = sum(max(1, math.ceil(n / PAGE)) for n in row.pulled_by_object.values())
    burst = row.pull_calls <= HubSpotConfig().search_per_second
    return (
        f"{size:>7} pulled {row.pulled:,} records in {row.pull_s:.1f} s: {rate:,.0f} records/s"
        f" = {rate / configured:.1%} of the configured ceiling ({configured:,}/s"
        f"{'; a pull this small fits in one second of it' if burst else ''}),"
        f" {rate / portal:.1%} of the portal's ({portal:,}/s); {row.pull_calls} searches"
        f" (floor {floor}), {row.calls} calls, worker CPU {row.cpu_s:.2f} s;"
        f" 429s in the run: {refused}"
    )


def main(argv: list[str] | None = None) -> int:
    """Print one table per size and database."""
    parser = argparse.ArgumentParser(description="The production cycle on the HubSpot sandbox.")
    parser.add_argument("--size", type=int, action="append", help="contacts (repeatable)")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres"), action="append", help="database (repeatable)"
    )
    parser.add_argument("--seed", type=int, default=7, help="sandbox data seed")
    parser.add_argument(
        "--cycle-every", type=float, default=5.0, help="minutes between cycles (sandbox clock)"
    )
    args = parser.parse_args(argv)
    rates = []
    print(HEADER)
    done = []
    for size in args.size or [1000]:
        for backend in args.backend or ["sqlite"]:
            rows, refused = run(
                "hubspot",
                size,
                backend=backend,
                seed=args.seed,
                cycle_every=timedelta(minutes=args.cycle_every),
                prepare=RateLimited(),
                summarise=refusals,
            )
            print_rows(size, backend, rows)
            done.append((size, backend, rows))
            rates.append(pull_rate(size, rows[0], refused))
    print("\n".join(rates))
    print(f"\nCRM searches per cycle beside their floor\n{FLOOR_HEADER}")
    for size, backend, rows in done:
        print_floors(size, backend, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The production cycle on the Salesforce sandbox: worker CPU, wall, CRM waits, peak RSS.

    .venv/bin/python benchmarks/salesforce_cycle.py --size 10000 --size 100000 --backend sqlite

Each size runs `worker.cycle.run_cycle` (see `production_cycle.py`: the daemon's wiring, the
default config, bulk threshold 10,000) four times: the first sync, the echo cycle after it, a
steady cycle with 1 % of the contacts changed, and a no-op cycle.
"""

import argparse
from datetime import timedelta

from production_cycle import FLOOR_HEADER, HEADER, print_floors, print_rows, run


def main(argv: list[str] | None = None) -> int:
    """Print one table per size and database."""
    parser = argparse.ArgumentParser(description="The production cycle on the Salesforce sandbox.")
    parser.add_argument("--size", type=int, action="append", help="contacts (repeatable)")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres"), action="append", help="database (repeatable)"
    )
    parser.add_argument("--seed", type=int, default=11, help="sandbox data seed")
    parser.add_argument(
        "--cycle-every", type=float, default=5.0, help="minutes between cycles (sandbox clock)"
    )
    args = parser.parse_args(argv)
    print(HEADER)
    done = []
    for size in args.size or [1000]:
        for backend in args.backend or ["sqlite"]:
            rows, _ = run(
                "salesforce",
                size,
                backend=backend,
                seed=args.seed,
                cycle_every=timedelta(minutes=args.cycle_every),
            )
            print_rows(size, backend, rows)
            done.append((size, backend, rows))
    print(f"\nCRM reads per cycle beside their floor\n{FLOOR_HEADER}")
    for size, backend, rows in done:
        print_floors(size, backend, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

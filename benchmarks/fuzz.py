"""The long fuzz campaign: every target for `--examples` inputs, then a table of what ran.

    .venv/bin/python benchmarks/fuzz.py --examples 100000 [--target config|crm|web] [--database URL]

CI runs the same properties with a few hundred examples (tests/unit/test_fuzz_config.py,
tests/integration/test_fuzz_crm.py); a failure here is shrunk, printed, and exits 1.
"""

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings

from tests.fuzz.config_inputs import check_config, config_texts, environments
from tests.fuzz.crm_inputs import check_pull, pages
from tests.fuzz.web_inputs import Attack, attacks, check_attack
from tests.integration.web_support import Harness
from worker.crm_types import CrmRecord
from worker.logs import configure_logging
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def config_campaign(examples: int, calls: list[int]) -> None:
    """parse_config on mutated, token-soup and raw texts."""

    @_settings(examples)
    @given(text=config_texts, env=environments)
    def run(text: str, env: dict[str, str]) -> None:
        calls[0] += 1
        check_config(text, env)

    run()


def crm_campaign(examples: int, calls: list[int], database: str | None) -> None:
    """Pages of malformed CRM records through mappers, quarantine and the store."""
    with TemporaryDirectory() as directory:
        url = database or f"sqlite:///{Path(directory) / 'fuzz.db'}"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)

        @_settings(examples)
        @given(page=pages())
        def run(page: tuple[str, list[CrmRecord]]) -> None:
            calls[0] += 1
            check_pull(sessions, *page)

        try:
            run()
        finally:
            engine.dispose()


def web_campaign(examples: int, calls: list[int]) -> None:
    """Malformed requests of every kind against the response app on a SQLite store."""
    with TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'fuzz.db'}"
        upgrade(url)
        engine = make_engine(url)
        web = Harness(session_factory(engine))
        link = web.survey()

        @_settings(examples)
        @given(attack=attacks())
        def run(attack: Attack) -> None:
            calls[0] += 1
            check_attack(web, link, attack)

        try:
            run()
        finally:
            engine.dispose()


def main() -> int:
    """Run the chosen targets and print inputs, failures and time per target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--target", choices=["config", "crm", "web"], action="append")
    parser.add_argument("--database", help="store URL for the crm target (default: SQLite file)")
    args = parser.parse_args()
    configure_logging(level="ERROR")
    campaigns: dict[str, Callable[[int, list[int]], None]] = {
        "config": config_campaign,
        "crm": lambda examples, calls: crm_campaign(examples, calls, args.database),
        "web": web_campaign,
    }
    failed = False
    print(f"{'target':<8} {'inputs':>9} {'failures':>9} {'seconds':>9} {'inputs/s':>9}")
    for name in args.target or list(campaigns):
        calls = [0]
        started = time.monotonic()
        failures = 0
        try:
            campaigns[name](args.examples, calls)
        except Exception as error:  # noqa: BLE001 (the campaign reports any failure and goes on)
            failures = 1
            failed = True
            print(f"{name}: FAILED", file=sys.stderr)
            traceback.print_exception(error, file=sys.stderr)
        elapsed = time.monotonic() - started
        rate = calls[0] / elapsed if elapsed else 0.0
        print(f"{name:<8} {calls[0]:>9} {failures:>9} {elapsed:>9.1f} {rate:>9.1f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

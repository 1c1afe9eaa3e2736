"""The long fuzz campaign: every target for `--examples` inputs, then a table of what ran.

    .venv/bin/python benchmarks/fuzz.py --examples 100000 [--target config|crm|web|form|hook|import]
        [--database URL]

Targets: the config loader (`config`), CRM pages through the pull (`crm`), requests without
credentials (`web`), and past the door (tests/fuzz/answer_inputs.py): the answer form with its
page's form token (`form`), signed webhook documents (`hook`), CSV files given to the import
(`import`). Every target but `config` uses a store of its own: a SQLite file, or with
`--database postgresql+psycopg://postgres@127.0.0.1:5432/postgres` a database created on that
server for the target and dropped after it. CI runs the same properties with a few dozen to a
few hundred examples (tests/unit/test_fuzz_config.py, tests/integration/test_fuzz_crm.py,
test_web_fuzz.py, test_fuzz_answers.py); a failure here is shrunk, printed, and exits 1.
"""

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings
from sqlalchemy import create_engine, text

from tests.fuzz.answer_inputs import (
    ADDRESS,
    check_form,
    check_hook,
    check_import,
    csv_files,
    form_fields,
    hook_documents,
    mirrored,
)
from tests.fuzz.config_inputs import check_config, config_texts, environments
from tests.fuzz.crm_inputs import check_pull, pages
from tests.fuzz.web_inputs import Attack, attacks, check_attack
from tests.integration.web_support import NOW, Harness, web_config
from worker.config.sections import DatabaseConfig
from worker.crm_types import CrmRecord
from worker.logs import configure_logging
from worker.store.engine import make_engine, normalise_url, session_factory
from worker.store.migrate import upgrade
from worker.surveys.webhook_import import webhook_importer


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
    with _store(database) as (_, web):

        @_settings(examples)
        @given(page=pages())
        def run(page: tuple[str, list[CrmRecord]]) -> None:
            calls[0] += 1
            check_pull(web.sessions, *page)

        run()


@contextmanager
def _database(server: str | None, directory: str) -> Iterator[str]:
    """A new database for one target: a SQLite file, or one created on the PostgreSQL `server`."""
    if server is None:
        yield f"sqlite:///{Path(directory) / 'fuzz.db'}"
        return
    admin = create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    name = f"nps_fuzz_{uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield normalise_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _store(server: str | None) -> Iterator[tuple[str, Harness]]:
    """A migrated store of its own, and the app over it with the signed import on."""
    with TemporaryDirectory() as directory, _database(server, directory) as url:
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        config = web_config()
        try:
            yield url, Harness(sessions, import_handler=webhook_importer(sessions, config))
        finally:
            engine.dispose()


def web_campaign(examples: int, calls: list[int], database: str | None) -> None:
    """Malformed requests of every kind against the response app, without credentials."""
    with _store(database) as (_, web):
        link = web.survey()

        @_settings(examples)
        @given(attack=attacks())
        def run(attack: Attack) -> None:
            calls[0] += 1
            check_attack(web, link, attack)

        run()


def form_campaign(examples: int, calls: list[int], database: str | None) -> None:
    """The answer form posted with its page's own form token."""
    with _store(database) as (_, web):
        link = web.survey(email=ADDRESS)
        tags = tuple(tag.id for tag in web.config.tags)

        @_settings(examples)
        @given(fields=form_fields(tags))
        def run(fields: dict[str, object]) -> None:
            calls[0] += 1
            check_form(web, link, fields)

        run()


def hook_campaign(examples: int, calls: list[int], database: str | None) -> None:
    """Webhook documents with a valid signature."""
    with _store(database) as (_, web):
        web.survey(email=ADDRESS)
        who = mirrored(web.sessions)

        @_settings(examples)
        @given(document=hook_documents(who, NOW))
        def run(document: object) -> None:
            calls[0] += 1
            check_hook(web, document)

        run()


def import_campaign(examples: int, calls: list[int], database: str | None) -> None:
    """CSV files given to the import."""
    with _store(database) as (url, web), TemporaryDirectory() as folder:
        web.survey(email=ADDRESS)
        who = mirrored(web.sessions)
        config = web.config.model_copy(update={"database": DatabaseConfig(url=url)})

        @_settings(examples)
        @given(data=csv_files(who, NOW))
        def run(data: bytes) -> None:
            calls[0] += 1
            check_import(config, web.sessions, Path(folder), data, NOW)

        run()


def main() -> int:
    """Run the chosen targets and print inputs, failures and time per target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument(
        "--target", choices=["config", "crm", "web", "form", "hook", "import"], action="append"
    )
    parser.add_argument("--database", help="store URL (default: a SQLite file per target)")
    args = parser.parse_args()
    configure_logging(level="ERROR")
    campaigns: dict[str, Callable[[int, list[int]], None]] = {
        "config": config_campaign,
        "crm": lambda examples, calls: crm_campaign(examples, calls, args.database),
        "web": lambda examples, calls: web_campaign(examples, calls, args.database),
        "form": lambda examples, calls: form_campaign(examples, calls, args.database),
        "hook": lambda examples, calls: hook_campaign(examples, calls, args.database),
        "import": lambda examples, calls: import_campaign(examples, calls, args.database),
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

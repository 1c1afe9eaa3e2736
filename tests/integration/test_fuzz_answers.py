"""Fuzzing every way an answer comes in, past the door: never a 5xx, stored as sent or not at all.

The answer form with its page's form token, webhook documents with a valid signature, CSV
files given to the import; on SQLite and PostgreSQL. The inputs and checks are shared with the
long campaign (`benchmarks/fuzz.py --target form hook import`).
"""

from collections.abc import Iterator
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from tests.fuzz import examples
from tests.fuzz.answer_inputs import (
    ADDRESS,
    Mirrored,
    check_form,
    check_hook,
    check_import,
    csv_files,
    form_fields,
    hook_documents,
    mirrored,
)
from tests.integration.web_support import NOW, Harness, Link, web_config
from worker.config import Config
from worker.config.sections import DatabaseConfig
from worker.store.engine import session_factory
from worker.surveys.webhook_import import webhook_importer

FUZZ = settings(
    max_examples=examples(ci=60),  # a few database round trips each, per backend
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
CONFIG = web_config()
TAGS = tuple(tag.id for tag in CONFIG.tags)


@pytest.fixture(scope="module")
def web(engine: Engine) -> Harness:
    """The app with the signed import on; one store for the module (SQLite and PostgreSQL)."""
    sessions = session_factory(engine)
    return Harness(sessions, import_handler=webhook_importer(sessions, CONFIG))


@pytest.fixture(scope="module")
def link(web: Harness) -> Link:
    """The survey of ADDRESS every form example answers."""
    return web.survey(email=ADDRESS)


@pytest.fixture(scope="module")
def who(web: Harness, link: Link) -> Mirrored:
    """ADDRESS's mirrored contact, which well-formed imports name."""
    return mirrored(web.sessions)


@pytest.fixture(scope="module")
def importing(migrated_url: str) -> Config:
    """The config `import` runs with: the module's store."""
    return CONFIG.model_copy(update={"database": DatabaseConfig(url=migrated_url)})


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """Where the fuzzed files are written."""
    with TemporaryDirectory() as directory:
        yield Path(directory)


@FUZZ
@given(fields=form_fields(TAGS))
def test_the_form_stores_what_was_sent_or_nothing(
    web: Harness, link: Link, fields: dict[str, Any]
) -> None:
    """With a valid form token: 200 and exactly the answer sent, or a 4xx and no change."""
    check_form(web, link, fields)


@FUZZ
@given(data=st.data())
def test_signed_webhook_documents_are_imported_or_refused(
    web: Harness, who: Mirrored, data: st.DataObject
) -> None:
    """With a valid signature: never a 5xx; a refused batch imports nothing."""
    check_hook(web, data.draw(hook_documents(who, NOW)))


@FUZZ
@given(data=st.data())
def test_any_csv_file_is_imported_or_located(
    web: Harness, who: Mirrored, importing: Config, folder: Path, data: st.DataObject
) -> None:
    """No exception; every refused row is named by file and line; stored answers are clean."""
    check_import(importing, web.sessions, folder, data.draw(csv_files(who, NOW)), NOW)

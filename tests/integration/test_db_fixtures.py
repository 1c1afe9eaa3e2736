"""The database fixtures hand every test the state it asks for, however the last test left it.

PostgreSQL databases are recycled between tests (tests/fixtures/db.py): these tests prove that a
recycled database is indistinguishable from a new one, and that one a test changed is not reused.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from tests.fixtures.db import PostgresDatabases, SqliteDatabases
from worker.store.engine import make_engine
from worker.store.migrate import current_revision, head_revision, upgrade
from worker.store.models import Suppression, SuppressionReason

Databases = SqliteDatabases | PostgresDatabases
NOW = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def opened() -> Iterator[list[Engine]]:
    """Engines a test opens; disposed at teardown."""
    engines: list[Engine] = []
    yield engines
    for engine in engines:
        engine.dispose()


def _suppress(engine: Engine, address: str) -> int:
    with Session(engine) as session, session.begin():
        row = Suppression(
            email_hash=Suppression.hash_email(address),
            reason=SuppressionReason.MANUAL,
            source="test",
            created_at=NOW,
        )
        session.add(row)
        session.flush()
        return row.id


def _reused(databases: Databases) -> bool:
    """Whether a returned database is handed out again: PostgreSQL's are, SQLite files not."""
    return isinstance(databases, PostgresDatabases)


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.scalars(select(Suppression)).all())


class TestMigrated:
    def test_next_database_has_no_rows_and_restarted_ids(
        self, databases: Databases, opened: list[Engine]
    ) -> None:
        """Rows and sequence progress of one test never reach the next one."""
        first_url = databases.create_migrated()
        first = make_engine(first_url)
        opened.append(first)
        first_id = _suppress(first, "ann@example.com")
        _suppress(first, "bob@example.com")
        first.dispose()
        databases.recycle(first_url)

        url = databases.create_migrated()
        assert (url == first_url) is _reused(databases)
        second = make_engine(url)
        opened.append(second)
        assert current_revision(url) == head_revision()
        assert _count(second) == 0
        assert _suppress(second, "ann@example.com") == first_id
        second.dispose()
        databases.recycle(url)

    def test_a_left_open_transaction_does_not_block_the_next_test(
        self, databases: Databases, opened: list[Engine]
    ) -> None:
        """A connection holding locks when the test ends is closed, its work discarded."""
        url = databases.create_migrated()
        engine = make_engine(url)
        opened.append(engine)
        connection = engine.connect()
        connection.execute(
            text(
                "INSERT INTO suppressions (email_hash, reason, source, created_at)"
                " VALUES ('h', 'manual', 'test', :now)"
            ),
            {"now": NOW},
        )
        databases.recycle(url)
        connection.invalidate()

        following = databases.create_migrated()
        assert (following == url) is _reused(databases)
        engine = make_engine(following)
        opened.append(engine)
        assert _count(engine) == 0
        engine.dispose()
        databases.recycle(following)

    def test_a_changed_schema_is_not_handed_out_again(
        self, databases: Databases, opened: list[Engine]
    ) -> None:
        """A test that alters the schema leaves the next test the migrations' schema."""
        url = databases.create_migrated()
        engine = make_engine(url)
        opened.append(engine)
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE suppressions ADD COLUMN note VARCHAR(10)"))
        engine.dispose()
        databases.recycle(url)

        following = databases.create_migrated()
        assert following != url
        engine = make_engine(following)
        opened.append(engine)
        columns = {column["name"] for column in inspect(engine).get_columns("suppressions")}
        assert "note" not in columns
        engine.dispose()
        databases.recycle(following)


class TestEmpty:
    def test_next_database_has_no_schema(self, databases: Databases, opened: list[Engine]) -> None:
        """A database a test migrated comes back with no tables and no revision."""
        url = databases.create_empty()
        upgrade(url)
        databases.recycle(url)

        following = databases.create_empty()
        assert (following == url) is _reused(databases)
        engine = make_engine(following)
        opened.append(engine)
        assert current_revision(following) is None
        assert inspect(engine).get_table_names() == []
        engine.dispose()
        upgrade(following)
        assert current_revision(following) == head_revision()
        databases.recycle(following)

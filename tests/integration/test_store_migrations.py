"""The Alembic migrations: they build, tear down and rebuild the schema the models describe."""

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, Engine, inspect, text

from worker.store.engine import make_engine
from worker.store.migrate import (
    ForeignKeyViolationError,
    check_foreign_keys,
    current_revision,
    downgrade,
    head_revision,
    migration_connection,
    script_location,
    upgrade,
)
from worker.store.models import Base

REPO = Path(__file__).resolve().parents[2]


def _tables(engine: Engine) -> set[str]:
    """Names of the tables in the database, Alembic's bookkeeping table excluded."""
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


class TestUpgrade:
    """upgrade(), downgrade() and current_revision() on an empty database."""

    def test_upgrade_from_empty_reaches_head(self, db_url: str) -> None:
        """A never-migrated database reports no revision, and head after one upgrade."""
        assert current_revision(db_url) is None

        upgrade(db_url)

        assert current_revision(db_url) == head_revision()
        engine = make_engine(db_url)
        try:
            assert _tables(engine) == set(Base.metadata.tables)
        finally:
            engine.dispose()

    def test_downgrade_to_base_and_up_again(self, db_url: str) -> None:
        """Downgrading to base drops every table, and upgrading again rebuilds them all."""
        upgrade(db_url)
        downgrade(db_url, "base")
        engine = make_engine(db_url)
        try:
            assert current_revision(db_url) is None
            assert _tables(engine) == set()

            upgrade(db_url)

            assert current_revision(db_url) == head_revision()
            assert _tables(engine) == set(Base.metadata.tables)
        finally:
            engine.dispose()

    def test_upgrade_at_head_changes_nothing(self, migrated_url: str) -> None:
        """Running the upgrade again (every `nps-worker migrate` after the first) is a no-op."""
        upgrade(migrated_url)

        assert current_revision(migrated_url) == head_revision()

    def test_migrations_are_found_in_the_source_tree(self) -> None:
        """Running from a checkout, the scripts come from <repo>/migrations."""
        location = script_location()

        assert location == REPO / "migrations"
        assert any((location / "versions").glob("0001_*.py"))

    def test_migrations_are_found_in_an_installed_wheel(self, tmp_path: Path) -> None:
        """Installed from the wheel (migrations/ packed as worker/_migrations), upgrade works."""
        site = tmp_path / "site-packages"
        shutil.copytree(
            REPO / "worker", site / "worker", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copytree(REPO / "migrations", site / "worker" / "_migrations")
        url = f"sqlite:///{tmp_path / 'installed.db'}"
        script = (
            "from worker.store import migrate; "
            f"migrate.upgrade({url!r}); "
            f"print(migrate.script_location(), migrate.current_revision({url!r}))"
        )

        completed = subprocess.run(  # noqa: S603 (fixed interpreter and script)
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(site)},
            capture_output=True,
            text=True,
            check=True,
        )

        last_line = completed.stdout.splitlines()[-1]
        assert last_line.split() == [str(site / "worker" / "_migrations"), head_revision()]


class TestModelsMatchMigrations:
    """The models and the migrated schema describe the same database."""

    def test_autogenerate_finds_no_difference(self, engine: Engine) -> None:
        """Alembic's comparison of models and migrated database finds nothing to migrate."""
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)

        assert differences == []

    @pytest.mark.parametrize("table", sorted(Base.metadata.tables))
    def test_check_constraints_match(self, engine: Engine, table: str) -> None:
        """Each table carries the CHECK constraints the models declare, under the same names.

        Autogenerate does not compare CHECK constraints, so this test does.
        """
        declared = {
            constraint.name
            for constraint in Base.metadata.tables[table].constraints
            if isinstance(constraint, CheckConstraint)
        }

        reflected = {check["name"] for check in inspect(engine).get_check_constraints(table)}

        assert reflected == declared


class TestSqliteForeignKeysDuringMigrations:
    """SQLite migrations run with foreign keys off, then are checked before they commit."""

    @pytest.fixture
    def sqlite_url(self, tmp_path: Path) -> str:
        """A fresh SQLite database at head."""
        url = f"sqlite:///{tmp_path / 'store.db'}"
        upgrade(url)
        return url

    def test_dangling_foreign_key_fails_the_migration(self, sqlite_url: str) -> None:
        """A row left pointing at a missing parent is reported, naming its table."""
        now = datetime(2025, 1, 1, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S")
        with migration_connection(sqlite_url) as connection, connection.begin():
            connection.execute(
                text(
                    "INSERT INTO contacts (crm, crm_id, account_id, opted_out, fields,"
                    " modified_at, deleted, synced_at)"
                    " VALUES ('hubspot', '1', 999, 0, '{}', :now, 0, :now)"
                ),
                {"now": now},
            )

            with pytest.raises(ForeignKeyViolationError, match="contacts"):
                check_foreign_keys(connection)

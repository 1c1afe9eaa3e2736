"""Schema upgrades through Alembic's Python API, with no alembic.ini needed at run time."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from worker.store.engine import make_engine, normalise_url

log = structlog.get_logger(__name__)

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_SCRIPT_LOCATIONS = (
    _PACKAGE_DIR / "_migrations",  # wheel: pyproject force-includes migrations/ here
    _PACKAGE_DIR.parent / "migrations",  # source tree
)


class MigrationsNotFoundError(FileNotFoundError):
    """Neither the installed nor the source-tree copy of the Alembic scripts exists."""

    def __init__(self) -> None:
        searched = ", ".join(str(path) for path in _SCRIPT_LOCATIONS)
        super().__init__(f"Alembic migrations not found; looked in {searched}")


class ForeignKeyViolationError(RuntimeError):
    """A SQLite migration left rows that point at missing parents; it was rolled back."""

    def __init__(self, tables: list[str]) -> None:
        super().__init__(
            f"migration left dangling foreign keys in {', '.join(sorted(set(tables)))}"
        )


def script_location() -> Path:
    """The directory holding env.py and versions/, installed or in the source tree."""
    for path in _SCRIPT_LOCATIONS:
        if (path / "env.py").is_file():
            return path
    raise MigrationsNotFoundError


def alembic_config(url: str) -> Config:
    """An Alembic config built in code; env.py reads the database URL from its attributes."""
    config = Config()
    config.set_main_option("script_location", str(script_location()).replace("%", "%%"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)
    log.info("store.upgraded", backend=normalise_url(url).get_backend_name(), revision=revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` back to ``revision`` (``base`` drops every table)."""
    command.downgrade(alembic_config(url), revision)
    log.info("store.downgraded", backend=normalise_url(url).get_backend_name(), revision=revision)


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision the installed code knows, to tell whether a database is behind."""
    return ScriptDirectory(str(script_location())).get_current_head()


@contextmanager
def migration_connection(url: str) -> Iterator[Connection]:
    """A connection for running migrations; on SQLite, foreign keys are enforced only at the end.

    SQLite rebuilds a table to alter it (batch mode), and dropping a referenced table with
    foreign keys on would cascade or fail; so enforcement is switched off for the connection,
    as SQLite's own ALTER TABLE procedure prescribes, and :func:`check_foreign_keys` verifies
    the result before the migration commits.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                    "PRAGMA foreign_keys=OFF"
                )
            yield connection
    finally:
        engine.dispose()


def check_foreign_keys(connection: Connection) -> None:
    """Fail the running SQLite migration when it left rows pointing at missing parents."""
    if connection.dialect.name != "sqlite":
        return
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if violations:
        raise ForeignKeyViolationError([str(row[0]) for row in violations])

"""Engines and sessions for the two supported stores: embedded SQLite and PostgreSQL."""

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 5_000
"""How long a SQLite writer waits for another one before failing with "database is locked"."""

SQLITE_CACHE_KIB = 16_384
"""Page cache of each SQLite connection, KiB (SQLite's default: 2 MiB). A first sync inserts
into the contacts' four B-tree indexes for every contact, at random places; past a few tens of
thousands of contacts they no longer fit in 2 MiB, and every insert read pages back from the
file: 40 µs a contact at 100k, against 25 with the indexes in memory. The cache is per
connection and a cycle uses several, so it is also most of the worker's peak memory: measured
on HubSpot first syncs, 16 MiB costs no CPU at 100k against 32 MiB and about 2 % at 300k, and
takes 30 MB off the peak after imported answers (212 MB at 100k instead of 243); 8 MiB cost
7 % CPU at 300k. A connection's cache holds only pages it read: the web app's stay small."""

POOL_SIZE = 20
"""Connections an engine keeps open for reuse: the web app's store threads (8 reading, up to 8
writing, see `worker.surveys.web.app`) and the daemon's own work (cycle, lease, dispatch).
Below what the app uses at once, every connection past it was opened and closed per request
(on PostgreSQL a new backend process each time: a fifth of the answers at 16 concurrent people
paid for one)."""

POOL_OVERFLOW = 10
"""Connections opened past `POOL_SIZE` in a burst, closed again when returned."""

READ_ONLY = "nps_read_only"
"""Execution option of an engine whose transactions only read (see `reading`)."""


class UnsupportedDatabaseError(ValueError):
    """The database URL names a backend the worker does not support."""

    def __init__(self, backend: str) -> None:
        super().__init__(
            f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://USER@HOST/DB"
        )


def normalise_url(url: str) -> URL:
    """Parse a database URL, routing every PostgreSQL spelling through psycopg 3."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in {"postgres", "postgresql"}:
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise UnsupportedDatabaseError(parsed.drivername)


def make_engine(url: str) -> Engine:
    """Build an engine for ``url``: SQLite in WAL mode with foreign keys, or PostgreSQL.

    Bound parameters are left out of error messages (`hide_parameters`): they hold comments,
    names and addresses, and a database error's message ends up in a logged traceback.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    engine = create_engine(
        parsed,
        pool_pre_ping=True,
        hide_parameters=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
    )
    event.listen(engine, "connect", _plan_every_execution)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` that keep loaded values readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def reading(sessions: sessionmaker[Session]) -> Session:
    """A session of `sessions` for a transaction that only reads.

    On SQLite it begins DEFERRED: it reads the last committed state (WAL) without taking the
    write lock, so a page view or `status` never waits behind a cycle's write transaction.
    A write attempted in it may fail with "database is locked"; writers use `sessions()`.
    On PostgreSQL reads never wait for writers anyway; the session is an ordinary one.
    """
    bind = sessions.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
        return sessions(bind=bind.execution_options(**{READ_ONLY: True}))
    return sessions()


def _plan_every_execution(dbapi_connection: Any, _record: Any) -> None:
    """PostgreSQL plans each execution of a prepared statement for its own values.

    psycopg prepares a statement on the server from its fifth execution, and PostgreSQL may
    then keep one generic plan for it. A first sync's look-ups by CRM id start on an empty
    table (and without ANALYZE, which a server with autovacuum off never runs): the generic
    plan chosen then scanned the whole table for each page later on, 1.5 s a page at 90k
    contacts, and the pull waited on the database instead of the CRM. A plan made for the
    values at hand uses the unique index however the table grew since.
    """
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


def _sqlite_engine(url: URL) -> Engine:
    """SQLite engine whose transactions, savepoints and DDL behave as on PostgreSQL."""
    database = url.database or ""
    in_memory = database in {"", ":memory:"} or url.query.get("mode") == "memory"
    if not in_memory:
        Path(database.removeprefix("file:")).parent.mkdir(parents=True, exist_ok=True)
    pool = {} if in_memory else {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    engine = create_engine(url, hide_parameters=True, **pool)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings; sqlite3's own implicit BEGIN is turned off."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    """Open every transaction explicitly, so reads, savepoints and DDL join it.

    A transaction that may write begins IMMEDIATE: it takes the write lock at the start,
    waiting up to the busy timeout for it. A deferred BEGIN reads first and asks for the lock
    at the first write; in WAL mode, if another connection committed in between, that upgrade
    fails at once with "database is locked" (the busy timeout does not apply), so a cycle's
    planning transaction failed whenever the web app took an answer or the daemon renewed its
    lease meanwhile. A transaction opened through `reading` only reads: it begins DEFERRED
    and never waits for the write lock.
    """
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

"""SQLite transactions under a concurrent writer (found by the chaos run, benchmarks/chaos.py).

A cycle's transaction reads, then writes; meanwhile the web app or the lease renewal commits
a write of its own. That must make the cycle wait its turn, never fail with "database is locked".
"""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from worker.store import lease
from worker.store.engine import make_engine, reading, session_factory
from worker.store.migrate import upgrade
from worker.store.models import Lease

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class TestReadThenWriteTransaction:
    """A transaction that reads first and writes later, with another writer in between."""

    def test_a_writer_committing_meanwhile_makes_it_wait_not_fail(self, tmp_path: Path) -> None:
        """Both transactions commit: the second writer waits for the first, in turn."""
        url = f"sqlite:///{tmp_path / 'store.db'}"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        other_done = threading.Event()
        failures: list[BaseException] = []

        def renew_lease() -> None:
            try:
                lease.acquire(sessions, "other", "replica-2", now=NOW, ttl=timedelta(seconds=60))
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                failures.append(error)
            other_done.set()

        with sessions.begin() as session:
            before = session.scalar(select(func.count()).select_from(Lease))
            writer = threading.Thread(target=renew_lease)
            writer.start()
            other_done.wait(timeout=0.5)
            session.add(Lease(name="cycle", holder="replica-1", acquired_at=NOW, expires_at=NOW))
        writer.join(timeout=10)
        with sessions() as session:
            after = session.scalar(select(func.count()).select_from(Lease))
        engine.dispose()
        assert failures == []
        assert (before, after) == (0, 2)


class TestReadsBesideAWriter:
    """Reads do not take the write lock: page views and `status` go on while a cycle writes."""

    def test_a_read_transaction_does_not_wait_for_the_write_lock(self, tmp_path: Path) -> None:
        """A writer holds the lock (a long planning transaction); a reader reads at once."""
        url = f"sqlite:///{tmp_path / 'store.db'}"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        try:
            with sessions.begin() as writer:
                writer.add(Lease(name="cycle", holder="replica-1", acquired_at=NOW, expires_at=NOW))
                writer.flush()
                with reading(sessions) as reader:
                    seen = reader.scalar(select(func.count()).select_from(Lease))
        finally:
            engine.dispose()
        assert seen == 0, "the reader sees the last committed state"

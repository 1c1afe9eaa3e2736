"""Counting the SQLite virtual machine's instructions: a query's cost that does not depend on
the machine's speed or load, for tests that a look-up stays by key as a table grows."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

STEP = 100
"""SQLite instructions between two calls of the progress handler. SQLite counts them afresh
for each statement: one that runs fewer is not counted at all (pass `step=1` to count all)."""


@contextmanager
def sqlite_steps(session: Session, step: int = STEP) -> Iterator[list[int]]:
    """SQLite instructions run inside the block, in units of `step` (read `[0]` after it)."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    raw.set_progress_handler(count, step)
    try:
        yield steps
    finally:
        raw.set_progress_handler(None, step)

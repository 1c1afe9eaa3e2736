"""Queuing a record's update costs that record's rows, not every write waiting to be sent.

An update is merged into the pending one of its record (`enqueue_update`), so the pending row
is looked up for every answer's write-back. A cycle that handles many answers queues all their
writes before the drain sends them: were the look-up to read every pending row, the cycle would
cost the square of its answers. Measured as the SQLite virtual machine's instructions
(`tests.sqlite_steps`), which do not depend on the machine's speed.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from tests.sqlite_steps import sqlite_steps
from worker.crm_types import FieldUpdate
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade
from worker.store.models import Crm, OutboxEntry, OutboxState
from worker.sync.outbox import Op, enqueue_update

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
RECORD = "1001"


def _store(tmp_path: Path, waiting: int) -> sessionmaker[Session]:
    """A pending update of RECORD beside `waiting` pending updates of other records."""
    url = f"sqlite:///{tmp_path / f'outbox-{waiting}.db'}"
    upgrade(url)
    sessions = session_factory(make_engine(url))
    with sessions.begin() as session:
        session.execute(
            insert(OutboxEntry),
            [
                {
                    "crm": Crm.HUBSPOT,
                    "object": "contacts",
                    "record_crm_id": record,
                    "op": Op.UPDATE.value,
                    "fields": {"nps_last_score": "3"},
                    "dedup_key": f"contact:{record}:2026-11-30T09:00:00+00:00",
                    "essential": True,
                    "state": OutboxState.PENDING,
                    "attempts": 0,
                    "next_attempt_at": NOW - timedelta(minutes=5),
                    "created_at": NOW - timedelta(minutes=5),
                }
                for record in [RECORD, *(f"9{n:06d}" for n in range(waiting))]
            ],
        )
    return sessions


def _cost(sessions: sessionmaker[Session]) -> int:
    """Instructions to queue one more update of RECORD; checks it merged into the pending one."""
    update = FieldUpdate("contacts", RECORD, {"nps_last_score": "9"}, f"contact:{RECORD}:now")
    with sessions.begin() as session, sqlite_steps(session, step=1) as steps:
        assert enqueue_update(session, "hubspot", update, essential=True, now=NOW)
        session.flush()
    with sessions() as session:
        rows = session.scalars(select(OutboxEntry).where(OutboxEntry.record_crm_id == RECORD))
        assert [row.fields for row in rows] == [{"nps_last_score": "9"}]
    return steps[0]


def test_a_records_pending_update_is_found_by_its_record(tmp_path: Path) -> None:
    few = _cost(_store(tmp_path, 200))
    many = _cost(_store(tmp_path, 4000))
    assert many <= 2 * few + 10, f"{few} -> {many} ({many / max(few, 1):.1f} times)"

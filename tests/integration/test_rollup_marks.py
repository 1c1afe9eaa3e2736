"""Roll-up marks (promise 11): a queued roll-up clears its account's mark, and only that mark."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from worker.config import parse_config
from worker.domain import AccountRollup
from worker.loop.rollups import _write_batch, write_rollups
from worker.mappers import salesforce as sf
from worker.store.models import Account, Crm, OutboxEntry
from worker.sync.base import FieldUpdate
from worker.sync.link import CrmLink

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)
MARKED = NOW - timedelta(minutes=5)
WINDOW = timedelta(days=90)


class Client:
    name = "salesforce"


def _accounts(session: Session, count: int) -> None:
    for n in range(count):
        session.add(
            Account(
                crm=Crm.SALESFORCE,
                crm_id=f"001{n:04d}",
                name=f"Account {n}",
                fields={},
                modified_at=NOW,
                deleted=False,
                synced_at=NOW,
                rollup_due_at=MARKED if n % 2 == 0 else None,
            )
        )


def _link(account_update: Any) -> CrmLink:
    def nothing(*_args: Any) -> None:
        return None

    config = parse_config("crm: {kind: salesforce}\n")
    return CrmLink(Client(), (), nothing, account_update, sf.task_owner_update, config)  # type: ignore[arg-type]


def _write(account_id: str, _rollup: AccountRollup, _known: Any, key: str) -> FieldUpdate:
    return FieldUpdate("Account", account_id, {"NPS_Responses__c": 0}, key)


def test_every_marked_account_is_queued_and_unmarked(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _accounts(session, 1200)  # more than one batch of accounts
    queued = write_rollups(sessions, _link(_write), NOW, WINDOW)
    with sessions() as session:
        still = session.scalars(select(Account.id).where(Account.rollup_due_at.is_not(None)))
        assert list(still) == []
        written = set(session.scalars(select(OutboxEntry.record_crm_id)))
    assert queued == 600
    assert written == {f"001{n:04d}" for n in range(0, 1200, 2)}


def test_a_mark_set_while_the_batch_runs_stays_for_the_next_run(
    sessions: sessionmaker[Session],
) -> None:
    """An answer taken in while a roll-up is computed marks its account again (newer time):
    that roll-up may have missed it, so the account must stay marked. (On PostgreSQL the
    answer commits from another transaction; here it is written in the batch's own, which
    the compare-and-set sees the same way.)"""
    with sessions.begin() as session:
        _accounts(session, 4)
        ids = list(session.scalars(select(Account.id).order_by(Account.id)))
    newer = NOW + timedelta(seconds=1)
    with sessions.begin() as session:

        def answered_meanwhile(account_id: str, *args: Any) -> FieldUpdate:
            if account_id == "0010002":
                session.execute(
                    update(Account).where(Account.crm_id == account_id).values(rollup_due_at=newer)
                )
            return _write(account_id, *args)

        _write_batch(session, _link(answered_meanwhile), ids, NOW, WINDOW)
    with sessions() as session:
        marked = session.execute(
            select(Account.crm_id, Account.rollup_due_at).where(Account.rollup_due_at.is_not(None))
        ).all()
    assert marked == [("0010002", newer)]

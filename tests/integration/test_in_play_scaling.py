"""Look-ups in the mirror cost the work in hand, not the size of the mirror.

Which records are in play is asked per object every cycle (HubSpot's deletion check), and a
pulled page's mirrored rows are read by id on every page: a query that walks every mirrored
contact makes the cycle grow with the CRM. Measured as the SQLite virtual machine's
instructions, which do not depend on the machine's speed or load.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.sqlite_steps import sqlite_steps
from worker import domain
from worker.store import mirror
from worker.store.engine import make_engine, session_factory
from worker.store.in_play import in_play
from worker.store.migrate import upgrade
from worker.store.models import Contact, Survey, SurveyChannel, SurveyState
from worker.surveys.tokens import new_token_id

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _mirror(tmp_path: Path, contacts: int) -> sessionmaker[Session]:
    """A mirror of `contacts` contacts over 20 accounts, one of them with a survey open."""
    url = f"sqlite:///{tmp_path / f'mirror-{contacts}.db'}"
    upgrade(url)
    sessions = session_factory(make_engine(url))
    with sessions.begin() as session:
        accounts = [
            domain.Account(
                crm="hubspot", crm_id=str(n), name=f"Account {n}", owner_id=None, modified_at=NOW
            )
            for n in range(20)
        ]
        mirror.upsert_accounts(session, accounts, NOW)
        people = [
            domain.Contact(
                crm="hubspot",
                crm_id=str(1000 + n),
                email=f"person{n}@example.com",
                first_name=None,
                last_name=None,
                account_crm_id=str(n % 20),
                owner_id=None,
                language="en",
                time_zone=None,
                opted_out=False,
                modified_at=NOW,
            )
            for n in range(contacts)
        ]
        mirror.upsert_contacts(session, people, NOW)
        surveyed = session.scalar(select(Contact.id).where(Contact.crm_id == "1007"))
        assert surveyed is not None
        session.add(
            Survey(
                program="relationship",
                contact_id=surveyed,
                token_id=new_token_id(),
                state=SurveyState.SENT,
                language="en",
                channel=SurveyChannel.EMAIL,
                planned_at=NOW - timedelta(days=1),
                scheduled_for=NOW - timedelta(days=1),
                expires_at=NOW + timedelta(days=14),
            )
        )
    return sessions


def _cost(sessions: sessionmaker[Session], kind: mirror.MirrorKind, object_name: str) -> int:
    with sessions() as session, sqlite_steps(session) as steps:
        found = in_play(session, "hubspot", kind, object_name)
    assert found == (["1007"] if kind == "contact" else ["7"])
    return steps[0]


def test_records_in_play_are_found_without_walking_the_mirror(tmp_path: Path) -> None:
    small, large = _mirror(tmp_path, 200), _mirror(tmp_path, 4000)
    checks: tuple[tuple[mirror.MirrorKind, str], ...] = (
        ("contact", "contacts"),
        ("account", "companies"),
    )
    for kind, object_name in checks:
        few, many = _cost(small, kind, object_name), _cost(large, kind, object_name)
        assert many <= 2 * few + 10, f"{kind}: {few} -> {many} ({many / max(few, 1):.1f} times)"


def _held_cost(sessions: sessionmaker[Session], crm_ids: list[str]) -> int:
    with sessions() as session, sqlite_steps(session) as steps:
        held = mirror.held_rows(session, "hubspot", "contact", "contacts", crm_ids)
    assert sorted(held) == sorted(crm_ids)
    return steps[0]


def test_a_pages_mirrored_rows_are_read_by_key(tmp_path: Path) -> None:
    """The ids go to the database as one JSON array (`mirror._one_of`); the unique index is
    still searched for each, whatever the mirror holds."""
    small, large = _mirror(tmp_path, 200), _mirror(tmp_path, 4000)
    page = [str(1000 + n) for n in range(0, 200, 4)]
    few, many = _held_cost(small, page), _held_cost(large, page)
    assert many <= 2 * few + 10, f"{few} -> {many} ({many / max(few, 1):.1f} times)"

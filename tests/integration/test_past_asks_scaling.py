"""Reading a contact's past promoter asks costs its own answers, not the size of the outbox.

The outbox keeps a row for every CRM write ever queued (retention empties their fields, never
the rows), and the past asks are read for every answer handled. Measured as the SQLite virtual
machine's instructions (`tests.sqlite_steps`), which do not depend on the machine's speed.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from tests.sqlite_steps import sqlite_steps
from worker.config import parse_config
from worker.domain import Category
from worker.loop.followups import ask_key, followup_context
from worker.loop.view import contact_of
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade
from worker.store.models import (
    Contact,
    Crm,
    OutboxEntry,
    OutboxState,
    Response,
    ResponseSource,
    Survey,
    SurveyChannel,
    SurveyState,
)

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
CONFIG = parse_config(
    "crm: {kind: hubspot}\n"
    "followup:\n"
    "  promoter:\n"
    "    asks:\n"
    "      - {kind: review, url: 'https://reviews.example.com/acme'}\n"
    "      - {kind: referral}\n"
)


def _store(tmp_path: Path, writes: int) -> tuple[sessionmaker[Session], Contact]:
    """One answered contact asked for a review once, beside `writes` other queued CRM writes."""
    url = f"sqlite:///{tmp_path / f'outbox-{writes}.db'}"
    upgrade(url)
    sessions = session_factory(make_engine(url))
    with sessions.begin() as session:
        contact = Contact(
            crm=Crm.HUBSPOT,
            crm_id="1001",
            email="a@example.com",
            opted_out=False,
            fields={},
            modified_at=NOW,
            deleted=False,
            synced_at=NOW,
        )
        session.add(contact)
        session.flush()
        survey = Survey(
            program="relationship",
            contact_id=contact.id,
            token_id="tok",
            state=SurveyState.ANSWERED,
            language="en",
            channel=SurveyChannel.EMAIL,
            planned_at=NOW - timedelta(days=9),
            scheduled_for=NOW - timedelta(days=9),
            sent_at=NOW - timedelta(days=9),
            expires_at=NOW + timedelta(days=5),
            reminder_count=0,
        )
        session.add(survey)
        session.flush()
        response = Response(
            survey_id=survey.id,
            score=10,
            category=Category.PROMOTER,
            reason_tags=[],
            provisional=False,
            source=ResponseSource.WEB,
            received_at=NOW - timedelta(days=8),
            version=1,
            handled_version=1,
        )
        session.add(response)
        session.flush()
        keys = [ask_key("review", contact.id, str(response.id))]
        keys += [f"contact:{n}:2026-11-01T00:00:00+00:00" for n in range(writes)]
        session.execute(
            insert(OutboxEntry),
            [
                {
                    "crm": Crm.HUBSPOT,
                    "object": "contacts",
                    "record_crm_id": str(n),
                    "op": "update",
                    "fields": {},
                    "dedup_key": key,
                    "essential": True,
                    "state": OutboxState.DONE,
                    "attempts": 1,
                    "next_attempt_at": NOW - timedelta(days=7),
                    "created_at": NOW - timedelta(days=7),
                }
                for n, key in enumerate(keys)
            ],
        )
    with sessions() as session:
        asked = session.scalars(select(Contact).where(Contact.crm_id == "1001")).one()
    return sessions, asked


def _cost(sessions: sessionmaker[Session], contact: Contact) -> int:
    with sessions() as session, sqlite_steps(session, step=1) as steps:
        context = followup_context(session, CONFIG, contact_of(contact), None, {}, values={})
    assert context.last_asks == {"review": NOW - timedelta(days=7)}
    return steps[0]


def test_past_asks_are_read_by_key_whatever_the_outbox_holds(tmp_path: Path) -> None:
    few = _cost(*_store(tmp_path, 200))
    many = _cost(*_store(tmp_path, 4000))
    assert many <= 2 * few + 10, f"{few} -> {many} ({many / max(few, 1):.1f} times)"

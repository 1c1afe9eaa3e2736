"""The store on SQLite and PostgreSQL: aware timestamps, JSON, enums and the promise constraints."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import pytest
from sqlalchemy import exc, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from worker import domain
from worker.store import mirror
from worker.store.engine import (
    SQLITE_CACHE_KIB,
    UnsupportedDatabaseError,
    make_engine,
    normalise_url,
    session_factory,
)
from worker.store.models import (
    Account,
    Category,
    Contact,
    Crm,
    CrmEvent,
    FollowUp,
    FollowUpStatus,
    OutboxEntry,
    OutboxState,
    Response,
    ResponseSource,
    Suppression,
    Survey,
    SurveyChannel,
    SurveyState,
    SyncCursor,
)
from worker.store.types import NaiveDatetimeError

NOW = datetime(2025, 3, 14, 9, 30, 15, 123456, tzinfo=UTC)
TOKYO = timezone(timedelta(hours=9))
T = TypeVar("T")

FIELDS: dict[str, Any] = {
    "segment": {"region": "APAC", "tier": 2},
    "Industry": "製造業",
    "nps_score__c": None,
    "tags": ["onboarding", "support"],
    "arr": 12000.5,
}


def _saved(session: Session, row: T) -> T:
    """``row`` added and flushed, so it has its id."""
    session.add(row)
    session.flush()
    return row


def _contact(crm_id: str = "003A") -> Contact:
    """A contact with only the required columns."""
    return Contact(crm=Crm.SALESFORCE, crm_id=crm_id, modified_at=NOW, synced_at=NOW)


def _event(dedup_key: str = "sf:Case:500A:closed") -> CrmEvent:
    """A closed-case event."""
    return CrmEvent(
        crm=Crm.SALESFORCE,
        object="Case",
        record_crm_id="500A",
        kind="changed_to",
        dedup_key=dedup_key,
        occurred_at=NOW,
        created_at=NOW,
    )


def _survey(contact: Contact, event: CrmEvent | None) -> Survey:
    """A planned survey of a stored ``contact``, with a fresh token id."""
    return Survey(
        program="case_closed",
        contact_id=contact.id,
        crm_event_id=event.id if event else None,
        token_id=uuid4().hex,
        state=SurveyState.PLANNED,
        language="en",
        channel=SurveyChannel.EMAIL,
        planned_at=NOW,
        scheduled_for=NOW,
    )


def _response(survey: Survey, score: int = 3, category: Category = Category.DETRACTOR) -> Response:
    """A web answer to a stored ``survey``."""
    return Response(
        survey_id=survey.id,
        score=score,
        category=category,
        source=ResponseSource.WEB,
        received_at=NOW,
    )


def _followup(response: Response, dedup_key: str) -> FollowUp:
    """A pending follow-up of a stored ``response``."""
    return FollowUp(
        response_id=response.id,
        dedup_key=dedup_key,
        crm=Crm.SALESFORCE,
        status=FollowUpStatus.PENDING,
        due_at=NOW + timedelta(hours=24),
        created_at=NOW,
    )


def _outbox(dedup_key: str) -> OutboxEntry:
    """A pending HubSpot contact update."""
    return OutboxEntry(
        crm=Crm.HUBSPOT,
        object="contacts",
        record_crm_id="101",
        op="update",
        fields={"nps_score": 9},
        dedup_key=dedup_key,
        state=OutboxState.PENDING,
        next_attempt_at=NOW,
        created_at=NOW,
    )


def _cursor() -> SyncCursor:
    """The HubSpot contacts watermark."""
    return SyncCursor(crm=Crm.HUBSPOT, object="contacts", watermark=NOW, updated_at=NOW)


def _duplicate_event(session: Session) -> None:
    """The same CRM change seen twice."""
    _saved(session, _event("sf:Case:500A:closed"))
    session.add(_event("sf:Case:500A:closed"))


def _duplicate_survey(session: Session) -> None:
    """A second survey of one program for one source event (promise 2)."""
    contact, event = _saved(session, _contact()), _saved(session, _event())
    _saved(session, _survey(contact, event))
    session.add(_survey(contact, event))


def _duplicate_followup(session: Session) -> None:
    """A second follow-up for one response (promise 5)."""
    survey = _saved(session, _survey(_saved(session, _contact()), None))
    response = _saved(session, _response(survey))
    _saved(session, _followup(response, "followup:1"))
    session.add(_followup(response, "followup:2"))


def _duplicate_outbox(session: Session) -> None:
    """A CRM write queued twice."""
    _saved(session, _outbox("hubspot:contacts:101:nps"))
    session.add(_outbox("hubspot:contacts:101:nps"))


def _duplicate_contact(session: Session) -> None:
    """Two mirror rows for one CRM record."""
    _saved(session, _contact("003A"))
    session.add(_contact("003A"))


def _duplicate_cursor(session: Session) -> None:
    """Two watermarks for one CRM object."""
    _saved(session, _cursor())
    session.add(_cursor())


class TestUniqueConstraints:
    """The database itself refuses the duplicates the promises rule out."""

    @pytest.mark.parametrize(
        "make_duplicate",
        [
            pytest.param(_duplicate_event, id="crm_events.dedup_key"),
            pytest.param(_duplicate_survey, id="surveys.program+crm_event_id"),
            pytest.param(_duplicate_followup, id="followups.response_id"),
            pytest.param(_duplicate_outbox, id="outbox.dedup_key"),
            pytest.param(_duplicate_contact, id="contacts.crm+crm_id"),
            pytest.param(_duplicate_cursor, id="sync_cursors.crm+object"),
        ],
    )
    def test_duplicate_is_rejected(
        self, session: Session, make_duplicate: Callable[[Session], None]
    ) -> None:
        """Writing the second row raises IntegrityError, whichever replica or restart writes it."""
        make_duplicate(session)

        with pytest.raises(exc.IntegrityError):
            session.flush()

    def test_surveys_without_source_event_do_not_collide(self, session: Session) -> None:
        """Scheduled programs (no source event) may survey many contacts: NULLs are distinct."""
        first = _saved(session, _survey(_saved(session, _contact("003A")), None))
        second = _saved(session, _survey(_saved(session, _contact("003B")), None))

        assert session.scalar(select(func.count()).select_from(Survey)) == 2
        assert first.crm_event_id is second.crm_event_id is None


class TestCheckConstraints:
    """Scores and categories that cannot be right never reach the table."""

    @pytest.mark.parametrize(
        ("score", "category"),
        [
            pytest.param(11, Category.PROMOTER, id="score-above-10"),
            pytest.param(-1, Category.DETRACTOR, id="score-below-0"),
            pytest.param(9, Category.DETRACTOR, id="category-contradicts-score"),
            pytest.param(6, Category.PASSIVE, id="passive-boundary"),
        ],
    )
    def test_impossible_answer_is_rejected(
        self, session: Session, score: int, category: Category
    ) -> None:
        """An out-of-range score, or a category that does not match it, raises IntegrityError."""
        survey = _saved(session, _survey(_saved(session, _contact()), None))
        session.add(_response(survey, score, category))

        with pytest.raises(exc.IntegrityError):
            session.flush()

    def test_foreign_keys_are_enforced(self, session: Session) -> None:
        """A contact pointing at a missing account is refused, on SQLite too."""
        session.add(
            Contact(crm=Crm.HUBSPOT, crm_id="1", account_id=999, modified_at=NOW, synced_at=NOW)
        )

        with pytest.raises(exc.IntegrityError):
            session.flush()


class TestTimestamps:
    """Timestamps go in aware and come out aware UTC, on every backend."""

    def test_aware_datetime_round_trips_as_utc(self, session: Session) -> None:
        """A Tokyo-time value comes back as the same instant, in UTC, with microseconds."""
        tokyo_time = NOW.astimezone(TOKYO)
        contact = Contact(crm=Crm.HUBSPOT, crm_id="1", modified_at=tokyo_time, synced_at=tokyo_time)
        session.add(contact)
        session.commit()
        session.expire_all()

        stored = session.get_one(Contact, contact.id)

        assert stored.modified_at == NOW
        assert stored.modified_at.tzinfo is UTC

    def test_order_follows_instants_not_local_clock(self, session: Session) -> None:
        """Values written in different offsets sort by the instant they denote."""
        earlier_in_tokyo = (NOW - timedelta(hours=1)).astimezone(TOKYO)
        later_in_utc = NOW
        for crm_id, at in [("late", later_in_utc), ("early", earlier_in_tokyo)]:
            session.add(Contact(crm=Crm.HUBSPOT, crm_id=crm_id, modified_at=at, synced_at=at))
        session.flush()

        ordered = session.scalars(
            select(Contact.crm_id)
            .where(Contact.modified_at >= NOW - timedelta(hours=2))
            .order_by(Contact.modified_at)
        ).all()

        assert ordered == ["early", "late"]

    def test_naive_datetime_is_rejected(self, session: Session) -> None:
        """A naive value raises an error that says a timezone-aware datetime is needed."""
        naive = NOW.replace(tzinfo=None)
        session.add(Contact(crm=Crm.HUBSPOT, crm_id="1", modified_at=naive, synced_at=NOW))

        with pytest.raises(exc.StatementError) as raised:
            session.flush()

        assert isinstance(raised.value.orig, NaiveDatetimeError)
        assert "timezone-aware" in str(raised.value.orig)

    @pytest.mark.parametrize("offset", [UTC, TOKYO], ids=["utc", "tokyo"])
    def test_bulk_upsert_stores_the_instant_as_the_orm_does(
        self, session: Session, offset: timezone
    ) -> None:
        """The pull's bulk statement writes a timestamp in any zone as the same instant; it
        orders among values the ORM wrote and reads back as aware UTC."""
        pulled = domain.Contact(
            "hubspot", "bulk", None, None, None, None, None, None, None, False,
            modified_at=NOW.astimezone(offset),
        )  # fmt: skip
        session.add(Contact(crm=Crm.HUBSPOT, crm_id="orm", modified_at=NOW, synced_at=NOW))
        mirror.upsert_contacts(session, [pulled], (NOW - timedelta(seconds=1)).astimezone(offset))
        session.flush()

        rows = session.execute(
            select(Contact.crm_id, Contact.modified_at).order_by(Contact.synced_at)
        ).all()

        assert [tuple(row) for row in rows] == [("bulk", NOW), ("orm", NOW)]
        assert rows[0].modified_at.tzinfo is UTC

    def test_bulk_upsert_refuses_a_naive_timestamp(self, session: Session) -> None:
        """A naive value never reaches the table through the bulk statement either."""
        pulled = domain.Contact(
            "hubspot", "naive", None, None, None, None, None, None, None, False,
            modified_at=NOW.replace(tzinfo=None),
        )  # fmt: skip

        with pytest.raises(NaiveDatetimeError, match="timezone-aware"):
            mirror.upsert_contacts(session, [pulled], NOW)


class TestJsonColumns:
    """JSON columns keep nested, non-ASCII values and notice in-place changes."""

    def test_round_trip(self, session: Session) -> None:
        """What is written is what is read back."""
        account = Account(
            crm=Crm.SALESFORCE, crm_id="001A", fields=FIELDS, modified_at=NOW, synced_at=NOW
        )
        session.add(account)
        session.commit()
        session.expire_all()

        assert session.get_one(Account, account.id).fields == FIELDS

    def test_in_place_change_is_saved(self, session: Session) -> None:
        """Setting one key of a loaded JSON object is persisted without reassigning the dict."""
        contact = _saved(session, _contact())
        session.commit()

        contact.fields["nps_score__c"] = 9
        session.commit()
        session.expire_all()

        assert session.get_one(Contact, contact.id).fields == {"nps_score__c": 9}


class TestEnumColumns:
    """State columns read back as the enum members code compares against."""

    def test_state_reads_back_as_enum_member(self, session: Session) -> None:
        """A stored survey state comes back as a SurveyState, not a bare string."""
        survey = _saved(session, _survey(_saved(session, _contact()), None))
        survey.state = SurveyState.SENT
        session.commit()
        session.expire_all()

        assert session.get_one(Survey, survey.id).state is SurveyState.SENT

    def test_unknown_value_is_rejected_by_the_database(self, session: Session) -> None:
        """A state written around the ORM that is not a known value fails the CHECK."""
        survey = _saved(session, _survey(_saved(session, _contact()), None))

        with pytest.raises(exc.IntegrityError):
            session.execute(
                text("UPDATE surveys SET state = 'lost' WHERE id = :id"), {"id": survey.id}
            )


class TestSuppressionHash:
    """Suppressions are keyed by a hash that does not depend on how the address was typed."""

    @pytest.mark.parametrize(
        "spelling",
        [
            pytest.param("ana@example.com", id="canonical"),
            pytest.param("Ana@Example.COM", id="mixed-case"),
            pytest.param("  ana@example.com\n", id="surrounding-space"),
        ],
    )
    def test_spellings_share_one_hash(self, spelling: str) -> None:
        """Case and surrounding whitespace do not change the key."""
        assert Suppression.hash_email(spelling) == Suppression.hash_email("ana@example.com")

    def test_hash_does_not_contain_the_address(self) -> None:
        """The stored key is a 64-character hex digest, not the address."""
        key = Suppression.hash_email("ana@example.com")

        assert len(key) == 64
        assert "ana" not in key


class TestSqliteEngine:
    """make_engine() on SQLite files: WAL, foreign keys, parent directories."""

    def test_file_database_uses_wal(self, tmp_path: Path) -> None:
        """A file database is switched to write-ahead logging, so readers do not block writers."""
        engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
        try:
            with engine.connect() as connection:
                mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
                foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
                cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        finally:
            engine.dispose()

        assert mode == "wal"
        assert foreign_keys == 1
        assert cache == -SQLITE_CACHE_KIB  # a first sync's indexes fit (not SQLite's 2 MiB)

    def test_missing_parent_directory_is_created(self, tmp_path: Path) -> None:
        """A database path under directories that do not exist yet still opens."""
        path = tmp_path / "data" / "nested" / "nps.db"
        engine = make_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("CREATE TABLE probe (id INTEGER)")
        finally:
            engine.dispose()

        assert path.is_file()

    def test_rolled_back_savepoint_keeps_the_outer_transaction(self, tmp_path: Path) -> None:
        """Savepoints nest inside real transactions on SQLite, as on PostgreSQL."""
        engine = make_engine(f"sqlite:///{tmp_path / 'nested.db'}")
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE probe (id INTEGER)")
            make_session = session_factory(engine)
            with make_session() as session:
                session.execute(text("INSERT INTO probe VALUES (1)"))
                nested = session.begin_nested()
                session.execute(text("INSERT INTO probe VALUES (2)"))
                nested.rollback()
                session.commit()
            with engine.connect() as connection:
                ids = connection.exec_driver_sql("SELECT id FROM probe").scalars().all()
        finally:
            engine.dispose()

        assert ids == [1]


class TestUrlNormalisation:
    """Database URLs as admins write them reach the right driver."""

    @pytest.mark.parametrize(
        ("url", "driver"),
        [
            pytest.param("postgres://u@db/nps", "postgresql+psycopg", id="postgres-scheme"),
            pytest.param("postgresql://u@db/nps", "postgresql+psycopg", id="postgresql-scheme"),
            pytest.param("postgresql+psycopg2://u@db/nps", "postgresql+psycopg", id="psycopg2"),
            pytest.param("postgresql+psycopg://u@db/nps", "postgresql+psycopg", id="psycopg"),
            pytest.param("sqlite:///data/nps.db", "sqlite", id="sqlite-file"),
        ],
    )
    def test_driver(self, url: str, driver: str) -> None:
        """Every PostgreSQL spelling goes through psycopg 3; SQLite stays as given."""
        assert normalise_url(url).drivername == driver

    def test_password_survives_normalisation(self) -> None:
        """Credentials in the URL are kept intact (and special characters stay escaped)."""
        url = normalise_url("postgres://nps:p%40ss@db:5432/nps")

        assert url.password == "p@ss"
        assert url.host == "db"

    def test_unsupported_backend_is_named(self) -> None:
        """A MySQL URL is refused with a message naming the backend and the accepted forms."""
        with pytest.raises(UnsupportedDatabaseError, match="mysql"):
            normalise_url("mysql://u@db/nps")


class TestPlansFollowTheTable:
    """A first sync's look-ups by CRM id start on an empty table and go on as it grows."""

    def test_each_execution_is_planned_for_its_values(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """PostgreSQL never settles on one generic plan for a look-up psycopg prepared.

        A generic plan chosen while the table was empty scanned the whole table for every page
        later (1.5 s a page at 90k contacts); a plan per execution keeps using the index.
        """
        if sessions.kw["bind"].dialect.name != "postgresql":
            pytest.skip("PostgreSQL's plan cache; SQLite plans every statement it prepares")
        ids = [f"c{n}" for n in range(500)]
        with sessions() as session:
            for _ in range(12):  # psycopg prepares from the 5th, PostgreSQL weighs a generic
                mirror.held_rows(session, "hubspot", "contact", "contacts", ids)  # from the 6th
            generic, custom = session.execute(
                text(
                    "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)"
                    " FROM pg_prepared_statements WHERE statement LIKE '%FROM contacts%'"
                )
            ).one()

        assert int(generic) == 0  # without the setting: 2 generic plans after 5 custom ones
        assert int(custom) > 5

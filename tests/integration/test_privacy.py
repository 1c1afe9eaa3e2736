"""Privacy controls on SQLite and PostgreSQL: retention, erasure on request, the audit log."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.config.privacy import RetentionConfig
from worker.domain import Category
from worker.privacy import (
    InvalidAddress,
    apply_retention,
    audit,
    contact_subject,
    email_subject,
    forget,
)
from worker.privacy.audit import PersonalDataInAudit
from worker.privacy.forget import CANCELLED
from worker.store.models import (
    AuditEntry,
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
    SuppressionReason,
    Survey,
    SurveyChannel,
    SurveyState,
)

NOW = datetime(2027, 6, 1, 3, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=800)
RECENT = NOW - timedelta(days=10)
ADDRESS = "hanako.sato@example.co.jp"
CONTACT_OBJECTS = frozenset({"Contact", "contacts"})
TWO_YEARS = RetentionConfig(comments=timedelta(days=730), personal_fields=timedelta(days=730))


@dataclass
class Person:
    """A contact with one answered survey, a follow-up, queued writes and an event."""

    contact: Contact
    survey: Survey
    open_survey: Survey
    response: Response
    task_write: OutboxEntry
    contact_write: OutboxEntry
    sent_write: OutboxEntry
    event: CrmEvent


def _person(
    session: Session, crm_id: str, email: str | None, at: datetime, *, deleted: bool = False
) -> Person:
    """Everything the worker holds about one person, created at `at`."""
    contact = Contact(
        crm=Crm.SALESFORCE,
        crm_id=crm_id,
        email=email,
        first_name="Hanako",
        last_name="Sato",
        time_zone="Asia/Tokyo",
        fields={"Title": "CTO", "NPS_Last_Comment__c": "slow support"},
        modified_at=at,
        synced_at=at,
        deleted=deleted,
    )
    session.add(contact)
    session.flush()
    event = CrmEvent(
        crm=Crm.SALESFORCE,
        object="Case",
        record_crm_id=f"500{crm_id}",
        kind="record_change",
        dedup_key=f"case-closed:{crm_id}",
        occurred_at=at,
        payload={"Subject": "Hanako cannot log in"},
        contact_id=contact.id,
        created_at=at,
    )
    session.add(event)
    session.flush()
    survey = _survey(contact, f"tok-{crm_id}", SurveyState.ANSWERED, at, event.id)
    open_survey = _survey(contact, f"open-{crm_id}", SurveyState.SENT, at, None)
    session.add_all([survey, open_survey])
    session.flush()
    response = Response(
        survey_id=survey.id,
        score=3,
        category=Category.DETRACTOR,
        comment="Support was slow; call me on 090-1234-5678",
        reason_tags=["support"],
        source=ResponseSource.WEB,
        received_at=at,
    )
    session.add(response)
    session.flush()
    followup = FollowUp(
        response_id=response.id,
        dedup_key=f"fu-{crm_id}",
        crm=Crm.SALESFORCE,
        status=FollowUpStatus.PENDING,
        due_at=at + timedelta(days=1),
        created_at=at,
    )
    session.add(followup)
    session.flush()
    task_write = _write(
        f"task-{crm_id}", "Task", None, OutboxState.PENDING, at, followup=followup.id
    )
    contact_write = _write(
        f"cw-{crm_id}", "Contact", crm_id, OutboxState.PENDING, at, followup=None
    )
    sent_write = _write(f"sent-{crm_id}", "Contact", crm_id, OutboxState.DONE, at, followup=None)
    session.add_all([task_write, contact_write, sent_write])
    session.flush()
    return Person(
        contact, survey, open_survey, response, task_write, contact_write, sent_write, event
    )


def _survey(
    contact: Contact, token: str, state: SurveyState, at: datetime, event_id: int | None
) -> Survey:
    return Survey(
        program="support_case_closed",
        contact_id=contact.id,
        crm_event_id=event_id,
        token_id=token,
        state=state,
        language="ja",
        channel=SurveyChannel.EMAIL,
        planned_at=at,
        scheduled_for=at,
        sent_at=at,
        expires_at=at + timedelta(days=14),
    )


def _write(
    key: str,
    sobject: str,
    record_id: str | None,
    state: OutboxState,
    at: datetime,
    *,
    followup: int | None,
) -> OutboxEntry:
    return OutboxEntry(
        crm=Crm.SALESFORCE,
        object=sobject,
        record_crm_id=record_id,
        op="create" if record_id is None else "update",
        fields={"Description": "Hanako Sato: Support was slow"},
        dedup_key=key,
        followup_id=followup,
        state=state,
        next_attempt_at=at,
        created_at=at,
    )


def _refresh(session: Session, *rows: object) -> None:
    for row in rows:
        session.refresh(row)


class TestAudit:
    """The audit helper other modules call when they touch personal data."""

    def test_records_a_pseudonymous_entry(self, session: Session) -> None:
        """An entry names the subject by hash or record id, with who, what and when."""
        entry = audit(
            session,
            "cli:explain",
            "explain",
            contact_subject("salesforce", "003X"),
            details={"fields": ["email", "surveys"]},
            now=NOW,
        )
        stored = session.scalars(select(AuditEntry).where(AuditEntry.id == entry.id)).one()
        assert (stored.actor, stored.action, stored.subject) == (
            "cli:explain",
            "explain",
            "contact:salesforce:003X",
        )
        assert stored.at == NOW
        assert stored.details == {"fields": ["email", "surveys"]}

    def test_email_subject_is_the_suppression_hash(self) -> None:
        """The same person is the same subject however the address is typed."""
        subject = email_subject(" Hanako.Sato@Example.co.jp ")
        assert subject == "email-sha256:" + Suppression.hash_email(ADDRESS)
        assert "@" not in subject

    @pytest.mark.parametrize(
        ("subject", "details"),
        [
            pytest.param(ADDRESS, {}, id="address-as-subject"),
            pytest.param("report", {"recipient": ADDRESS}, id="address-in-details"),
        ],
    )
    def test_refuses_an_address(
        self, session: Session, subject: str, details: dict[str, str]
    ) -> None:
        """An address never reaches the log, even by a caller's mistake."""
        with pytest.raises(PersonalDataInAudit):
            audit(session, "cli", "report", subject, details=details, now=NOW)


class TestForget:
    """`forget`: the person's data is erased, the statistics stay, and they stay suppressed."""

    def test_erases_personal_data_and_keeps_the_score(self, session: Session) -> None:
        """Mirror row, comment, links, writes and event payload lose everything personal."""
        person = _person(session, "003A", ADDRESS, RECENT)
        other = _person(session, "003B", "someone.else@example.com", RECENT)

        erasure = forget(
            session,
            "Hanako.Sato@example.co.jp",
            actor="cli",
            contact_objects=CONTACT_OBJECTS,
            now=NOW,
        )

        _refresh(session, *vars(person).values())
        contact = person.contact
        assert (contact.email, contact.first_name, contact.last_name, contact.time_zone) == (
            None,
            None,
            None,
            None,
        )
        assert contact.fields == {}
        assert contact.opted_out is True
        assert person.response.comment is None
        assert (person.response.score, person.response.category) == (3, Category.DETRACTOR)
        assert person.response.reason_tags == ["support"]
        assert person.survey.token_id != "tok-003A"
        assert person.open_survey.token_id != "open-003A"
        assert person.survey.state == SurveyState.ANSWERED
        assert person.open_survey.state == SurveyState.SUPPRESSED
        for write in (person.task_write, person.contact_write):
            assert (write.state, write.last_error, write.fields) == (
                OutboxState.FAILED,
                CANCELLED,
                {},
            )
        assert (person.sent_write.state, person.sent_write.fields) == (OutboxState.DONE, {})
        assert person.event.payload == {}
        assert erasure.contacts == 1
        assert erasure.comments == 1
        assert erasure.surveys_revoked == 2
        assert (erasure.writes_cancelled, erasure.writes_emptied) == (2, 3)
        assert erasure.event_payloads == 1
        assert erasure.newly_suppressed

        _refresh(session, *vars(other).values())
        assert other.contact.email == "someone.else@example.com"
        assert other.response.comment is not None
        assert other.contact_write.state == OutboxState.PENDING
        assert other.event.payload != {}

    def test_suppresses_and_audits_under_the_hash(self, session: Session) -> None:
        """A suppression and an audit entry name the person only by the address's hash."""
        _person(session, "003A", ADDRESS, RECENT)
        erasure = forget(
            session, ADDRESS, actor="cli:dpo", contact_objects=CONTACT_OBJECTS, now=NOW
        )

        suppression = session.scalars(
            select(Suppression).where(Suppression.email_hash == Suppression.hash_email(ADDRESS))
        ).one()
        assert suppression.reason == SuppressionReason.FORGOTTEN
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "forget")).one()
        assert entry.subject == erasure.subject == email_subject(ADDRESS)
        assert entry.actor == "cli:dpo"
        assert entry.details["comments"] == 1
        assert ADDRESS not in repr(entry.details)

    def test_unknown_person_is_still_suppressed(self, session: Session) -> None:
        """An address the worker never saw is suppressed, so a later import cannot survey it."""
        erasure = forget(session, ADDRESS, actor="cli", contact_objects=CONTACT_OBJECTS, now=NOW)
        assert (erasure.contacts, erasure.newly_suppressed) == (0, True)
        assert session.scalar(select(Suppression.reason)) == SuppressionReason.FORGOTTEN

    def test_twice_is_harmless(self, session: Session) -> None:
        """A repeated request finds nothing left and turns an unsubscribe into a forget."""
        session.add(
            Suppression(
                email_hash=Suppression.hash_email(ADDRESS),
                reason=SuppressionReason.UNSUBSCRIBED,
                source="web",
                created_at=OLD,
            )
        )
        _person(session, "003A", ADDRESS, RECENT)
        forget(session, ADDRESS, actor="cli", contact_objects=CONTACT_OBJECTS, now=NOW)
        again = forget(session, ADDRESS, actor="cli", contact_objects=CONTACT_OBJECTS, now=NOW)
        assert (again.contacts, again.comments, again.writes_cancelled) == (0, 0, 0)
        assert not again.newly_suppressed
        assert session.scalar(select(Suppression.reason)) == SuppressionReason.FORGOTTEN

    @pytest.mark.parametrize(
        "given",
        [
            pytest.param("", id="empty"),
            pytest.param("hanako", id="no-at"),
            pytest.param("a@b@c", id="two-ats"),
            pytest.param("han ako@example.com", id="space"),
        ],
    )
    def test_refuses_what_is_not_an_address(self, session: Session, given: str) -> None:
        """A typo does not silently suppress a wrong hash."""
        with pytest.raises(InvalidAddress):
            forget(session, given, actor="cli", contact_objects=CONTACT_OBJECTS, now=NOW)


class TestRetention:
    """`apply_retention`: old comments and personal fields go; scores, tags and dates stay."""

    def test_erases_only_what_is_past_its_age(self, session: Session) -> None:
        """Old comments, sent writes, long-deleted contacts and old events; recent ones stay."""
        old = _person(session, "003OLD", "old@example.com", OLD, deleted=True)
        live = _person(session, "003LIVE", "live@example.com", OLD)
        recent = _person(session, "003NEW", "new@example.com", RECENT, deleted=True)

        counts = apply_retention(session, TWO_YEARS, NOW)

        _refresh(session, *vars(old).values(), *vars(live).values(), *vars(recent).values())
        assert old.response.comment is None
        assert (old.response.score, old.response.reason_tags) == (3, ["support"])
        assert old.response.received_at == OLD
        assert old.sent_write.fields == {}
        assert old.contact_write.fields != {}, "an unsent write keeps its payload"
        assert (old.contact.email, old.contact.first_name, old.contact.fields) == (None, None, {})
        assert old.event.payload == {}
        assert live.contact.email == "live@example.com", "live contacts are the CRM's to keep"
        assert live.response.comment is None
        assert recent.response.comment is not None
        assert recent.contact.email == "new@example.com"
        assert recent.sent_write.fields != {}
        assert recent.event.payload != {}
        assert (counts.comments, counts.sent_writes, counts.contacts, counts.event_payloads) == (
            2,
            2,
            1,
            2,
        )
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "retention")).one()
        assert entry.details["comments"] == 2

    def test_second_run_changes_nothing(self, session: Session) -> None:
        """Idempotent: erased rows are not counted again, and no audit entry is added."""
        _person(session, "003OLD", "old@example.com", OLD, deleted=True)
        apply_retention(session, TWO_YEARS, NOW)
        again = apply_retention(session, TWO_YEARS, NOW + timedelta(days=1))
        assert again.total == 0
        assert len(session.scalars(select(AuditEntry)).all()) == 1

    def test_null_keeps_everything(self, session: Session) -> None:
        """With both ages null, nothing is ever erased."""
        person = _person(session, "003OLD", "old@example.com", OLD, deleted=True)
        counts = apply_retention(session, RetentionConfig(comments=None, personal_fields=None), NOW)
        _refresh(session, person.response, person.contact)
        assert counts.total == 0
        assert person.response.comment is not None
        assert person.contact.email == "old@example.com"

"""Planning in the store: events become scheduled surveys or refusals, with every check kept."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config, parse_config
from worker.loop.planning import plan_due_events
from worker.store.models import (
    Account,
    Contact,
    Crm,
    CrmEvent,
    Survey,
    SurveyChannel,
    SurveyDecision,
    SurveyState,
)

NOW = datetime(2026, 5, 5, 10, tzinfo=UTC)  # a Tuesday, inside sending hours


def _config() -> Config:
    return parse_config(
        "crm: {kind: salesforce}\n"
        "survey: {quiet_hours: {enabled: false}}\n"
        "programs:\n"
        "  support_case_closed:\n"
        "    touchpoint: support\n"
        "    trigger: {record_change: {object: Case, when: {Status: {changed_to: Closed}}}}\n"
        "  onboarding_completed:\n"
        "    touchpoint: onboarding\n"
        "    trigger:\n"
        "      record_change:\n"
        "        object: Account\n"
        "        when: {Onboarding_Status__c: {changed_to: Completed}}\n"
        "        contact: {account_contacts: {}}\n"
    )


def _contact(
    session: Session, crm_id: str, email: str | None, account: Account | None = None
) -> Contact:
    row = Contact(
        crm=Crm.SALESFORCE,
        crm_id=crm_id,
        email=email,
        opted_out=False,
        fields={},
        account_id=account.id if account else None,
        account_crm_id=account.crm_id if account else None,
        modified_at=NOW,
        deleted=False,
        synced_at=NOW,
    )
    session.add(row)
    session.flush()
    return row


def _event(session: Session, program: str, key: str, payload: dict[str, object]) -> None:
    session.add(
        CrmEvent(
            crm=Crm.SALESFORCE,
            object="Case",
            record_crm_id=key,
            kind="record_change",
            program=program,
            dedup_key=f"{program}:{key}",
            occurred_at=NOW,
            fire_at=NOW,
            payload=payload,
            created_at=NOW,
        )
    )


def _decisions(sessions: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with sessions() as session:
        rows = session.scalars(select(SurveyDecision).order_by(SurveyDecision.id))
        return [(row.outcome.value, row.reason_code) for row in rows]


def test_an_eligible_contact_gets_one_scheduled_survey(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _contact(session, "003A", "ann@example.com")
        _event(session, "support_case_closed", "500A", {"contact_crm_id": "003A"})

    stats = plan_due_events(sessions, _config(), "salesforce", NOW)
    plan_due_events(sessions, _config(), "salesforce", NOW)

    assert (stats.events, stats.scheduled) == (1, 1)
    with sessions() as session:
        surveys = session.scalars(select(Survey)).all()
        assert [(s.program, s.state, s.scheduled_for) for s in surveys] == [
            ("support_case_closed", SurveyState.SCHEDULED, NOW)
        ]
    assert _decisions(sessions) == [("send", None)]


def test_a_duplicate_contact_with_the_same_address_counts_as_the_same_person(
    sessions: sessionmaker[Session],
) -> None:
    """CRMs hold duplicates: a survey to one record blocks the other for the interval."""
    with sessions.begin() as session:
        first = _contact(session, "003A", "ann@example.com")
        _contact(session, "003B", "ann@example.com")
        session.add(
            Survey(
                program="support_case_closed",
                contact_id=first.id,
                token_id="t1",
                state=SurveyState.SENT,
                language="en",
                channel=SurveyChannel.EMAIL,
                planned_at=NOW - timedelta(days=10),
                scheduled_for=NOW - timedelta(days=10),
                sent_at=NOW - timedelta(days=10),
                reminder_count=0,
            )
        )
        _event(session, "support_case_closed", "500B", {"contact_crm_id": "003B"})

    stats = plan_due_events(sessions, _config(), "salesforce", NOW)

    assert stats.scheduled == 0
    assert _decisions(sessions) == [("refuse", "min_interval")]


def test_account_level_events_expand_to_each_contact_once(
    sessions: sessionmaker[Session],
) -> None:
    """An onboarding event surveys the account's contacts, each once, and then stops."""
    with sessions.begin() as session:
        account = Account(
            crm=Crm.SALESFORCE,
            crm_id="001A",
            name="Acme",
            fields={},
            modified_at=NOW,
            deleted=False,
            synced_at=NOW,
        )
        session.add(account)
        session.flush()
        _contact(session, "003A", "ann@example.com", account)
        _contact(session, "003B", "bob@example.com", account)
        _contact(session, "003C", None, account)
        _event(
            session,
            "onboarding_completed",
            "001A",
            {"contact_crm_id": None, "account_crm_id": "001A", "account_contacts": True},
        )

    plan_due_events(sessions, _config(), "salesforce", NOW)
    plan_due_events(sessions, _config(), "salesforce", NOW)

    with sessions() as session:
        events = session.scalars(select(CrmEvent).order_by(CrmEvent.id)).all()
        assert len(events) == 4
        assert all(event.planned_at is not None for event in events)
        scheduled = session.scalars(select(Survey)).all()
        assert len(scheduled) == 2
    outcomes = sorted(_decisions(sessions), key=str)
    assert outcomes == [("refuse", "no_email"), ("send", None), ("send", None)]


def test_a_delivered_invitation_counts_against_the_account_cap_whatever_became_of_it(
    sessions: sessionmaker[Session],
) -> None:
    """Cap 1 per 7 days: an invitation delivered two days ago whose survey was later suppressed
    (the person unsubscribed at the reminder) still fills the account's cap."""
    config = parse_config(
        "crm: {kind: salesforce}\n"
        "survey: {quiet_hours: {enabled: false}, account_cap: {count: 1, per: 7d}}\n"
        "programs:\n"
        "  support_case_closed:\n"
        "    touchpoint: support\n"
        "    trigger: {record_change: {object: Case, when: {Status: {changed_to: Closed}}}}\n"
    )
    with sessions.begin() as session:
        account = Account(
            crm=Crm.SALESFORCE,
            crm_id="001A",
            name="Acme",
            fields={},
            modified_at=NOW,
            deleted=False,
            synced_at=NOW,
        )
        session.add(account)
        session.flush()
        gone = _contact(session, "003A", "ann@example.com", account)
        _contact(session, "003B", "bob@example.com", account)
        session.add(
            Survey(
                program="support_case_closed",
                contact_id=gone.id,
                token_id="t1",
                state=SurveyState.SUPPRESSED,
                state_reason="unsubscribed",
                language="en",
                channel=SurveyChannel.EMAIL,
                planned_at=NOW - timedelta(days=2),
                scheduled_for=NOW - timedelta(days=2),
                sent_at=NOW - timedelta(days=2),
                reminder_count=0,
            )
        )
        _event(session, "support_case_closed", "500B", {"contact_crm_id": "003B"})

    stats = plan_due_events(sessions, config, "salesforce", NOW)

    assert stats.scheduled == 0
    assert _decisions(sessions) == [("refuse", "account_cap")]

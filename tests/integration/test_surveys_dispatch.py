"""Dispatch on SQLite and PostgreSQL: what is due goes out once; the rest gets a reason."""

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.config.survey import SurveyConfig
from worker.store.models import (
    Contact,
    Crm,
    Suppression,
    SuppressionReason,
    Survey,
    SurveyChannel,
    SurveyState,
)
from worker.surveys.channels import DeliveryFailed
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.dispatch import dispatch_due
from worker.surveys.tokens import new_token_id

# Monday 10:00 UTC: outside quiet hours in UTC.
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
CONFIG = SurveyConfig(reminders={"count": 2, "after": "3d"}, expiry="14d")


@dataclass
class FakeEmail:
    """An e-mail channel that records sends, or fails with `failure`."""

    kind: ClassVar[SurveyChannel] = SurveyChannel.EMAIL
    in_transaction: ClassVar[bool] = False
    sends_reminders: ClassVar[bool] = True
    failure: DeliveryFailed | None = None
    sent: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, session: Session, delivery: Delivery, now: datetime) -> None:
        if self.failure is not None:
            raise self.failure
        with self.lock:
            self.sent.append(delivery)


def _contact(session: Session, number: int, **values: object) -> Contact:
    fields: dict[str, object] = {
        "crm": Crm.SALESFORCE,
        "crm_id": f"003{number:015d}",
        "email": f"person{number}@example.com",
        "first_name": "Pat",
        "modified_at": NOW,
        "synced_at": NOW,
    } | values
    contact = Contact(**fields)
    session.add(contact)
    session.flush()
    return contact


def _survey(session: Session, contact: Contact, **values: object) -> Survey:
    fields: dict[str, object] = {
        "program": "support",
        "contact_id": contact.id,
        "token_id": new_token_id(),
        "state": SurveyState.SCHEDULED,
        "language": "en",
        "channel": SurveyChannel.EMAIL,
        "planned_at": NOW - timedelta(days=1),
        "scheduled_for": NOW - timedelta(minutes=5),
        "expires_at": NOW + timedelta(days=14),
    } | values
    survey = Survey(**fields)
    session.add(survey)
    session.flush()
    return survey


def _states(sessions: sessionmaker[Session]) -> dict[str, tuple[SurveyState, str | None]]:
    with sessions() as session:
        rows = session.execute(select(Survey.program, Survey.state, Survey.state_reason)).all()
    return {program: (state, reason) for program, state, reason in rows}


def _dispatch(
    sessions: sessionmaker[Session],
    channel: FakeEmail,
    now: datetime = NOW,
    config: SurveyConfig = CONFIG,
) -> None:
    dispatch_due(sessions, config, {SurveyChannel.EMAIL: channel}, now, batch_size=3)


def test_due_invitations_go_out_once(sessions: sessionmaker[Session]) -> None:
    """Due surveys are sent and marked; future ones wait; a second run sends nothing more."""
    with sessions() as session, session.begin():
        for number in range(5):
            _survey(session, _contact(session, number), program=f"due{number}")
        _survey(
            session, _contact(session, 9), program="later", scheduled_for=NOW + timedelta(hours=1)
        )
    channel = FakeEmail()
    _dispatch(sessions, channel)
    _dispatch(sessions, channel)
    assert sorted(d.program for d in channel.sent) == [f"due{n}" for n in range(5)]
    states = _states(sessions)
    assert states.pop("later") == (SurveyState.SCHEDULED, None)
    assert set(states.values()) == {(SurveyState.SENT, None)}
    assert all(d.kind is SendKind.INVITATION and d.number == 0 for d in channel.sent)


@pytest.mark.parametrize(
    ("contact_values", "suppressed", "reason"),
    [
        pytest.param({"opted_out": True}, False, "opted_out", id="opted-out"),
        pytest.param({"deleted": True}, False, "contact_deleted", id="deleted"),
        pytest.param({"email": None}, False, "no_email", id="no-email"),
        pytest.param({}, True, "unsubscribed", id="unsubscribed"),
    ],
)
def test_suppressed_right_before_sending(
    sessions: sessionmaker[Session],
    contact_values: dict[str, object],
    suppressed: bool,
    reason: str,
) -> None:
    """What changed since planning stops the send, with the reason recorded."""
    with sessions() as session, session.begin():
        contact = _contact(session, 1, **contact_values)
        _survey(session, contact, program="p")
        if suppressed:
            session.add(
                Suppression(
                    email_hash=Suppression.hash_email("Person1@Example.com "),
                    reason=SuppressionReason.UNSUBSCRIBED,
                    source="web",
                    created_at=NOW,
                )
            )
    channel = FakeEmail()
    _dispatch(sessions, channel)
    assert channel.sent == []
    assert _states(sessions)["p"] == (SurveyState.SUPPRESSED, reason)


def test_reminders_follow_count_and_timing(sessions: sessionmaker[Session]) -> None:
    """Reminders go 3 days apart, at most `count`, never to answered or expired surveys."""
    with sessions() as session, session.begin():
        sent = {"state": SurveyState.SENT, "sent_at": NOW - timedelta(days=3, minutes=1)}
        _survey(session, _contact(session, 1), program="due", **sent)
        _survey(
            session,
            _contact(session, 2),
            program="early",
            state=SurveyState.SENT,
            sent_at=NOW - timedelta(days=2),
        )
        _survey(
            session,
            _contact(session, 3),
            program="answered",
            **sent,
            answered_at=NOW - timedelta(days=1),
        )
        _survey(session, _contact(session, 4), program="expiring", **sent, expires_at=NOW)
    channel = FakeEmail()
    _dispatch(sessions, channel)
    assert [(d.program, d.kind, d.number) for d in channel.sent] == [("due", SendKind.REMINDER, 1)]
    for days in (1, 3, 4, 7, 10):
        _dispatch(sessions, channel, NOW + timedelta(days=days, minutes=1))
    assert [(d.program, d.number) for d in channel.sent] == [
        ("due", 1),
        ("early", 1),
        ("due", 2),
        ("early", 2),
    ]
    with sessions() as session:
        due = session.scalars(select(Survey).where(Survey.program == "due")).one()
    assert (due.state, due.reminder_count) == (SurveyState.REMINDED, 2)
    assert _states(sessions)["expiring"] == (SurveyState.EXPIRED, "not_answered")
    assert _states(sessions)["answered"][0] is SurveyState.SENT


def test_expiry_and_quiet_hours(sessions: sessionmaker[Session]) -> None:
    """Unanswered surveys expire; a late invitation in the contact's night waits for morning."""
    with sessions() as session, session.begin():
        _survey(
            session,
            _contact(session, 1),
            program="old",
            state=SurveyState.SENT,
            expires_at=NOW - timedelta(seconds=1),
        )
        _survey(session, _contact(session, 2, time_zone="Asia/Tokyo"), program="tokyo")
    channel = FakeEmail()
    # 10:00 UTC is 19:00 in Tokyo; at 11:30 UTC it is 20:30 there: quiet until 08:00.
    _dispatch(sessions, channel, NOW + timedelta(hours=1, minutes=30))
    assert channel.sent == []
    states = _states(sessions)
    assert states["old"] == (SurveyState.EXPIRED, "not_answered")
    assert states["tokyo"] == (SurveyState.SCHEDULED, None)
    with sessions() as session:
        tokyo = session.scalars(select(Survey).where(Survey.program == "tokyo")).one()
    assert tokyo.scheduled_for == datetime(2025, 6, 2, 23, 0, tzinfo=UTC)
    _dispatch(sessions, channel, datetime(2025, 6, 2, 23, 0, tzinfo=UTC))
    assert [d.program for d in channel.sent] == ["tokyo"]


def test_transport_down_reschedules_without_sending(sessions: sessionmaker[Session]) -> None:
    """A failure that certainly did not deliver puts the send back; the rest is not tried."""
    with sessions() as session, session.begin():
        for number in range(4):
            _survey(session, _contact(session, number), program=f"p{number}")
    _dispatch(sessions, FakeEmail(failure=DeliveryFailed("cannot connect", retryable=True)))
    retried = (SurveyState.SCHEDULED, "retry: cannot connect")
    untried = (SurveyState.SCHEDULED, None)
    assert sorted(_states(sessions).values(), key=str) == [retried, untried, untried, untried]
    channel = FakeEmail()
    _dispatch(sessions, channel, NOW + timedelta(minutes=16))
    assert len(channel.sent) == 4


def test_final_failure_is_recorded(sessions: sessionmaker[Session]) -> None:
    """A refused recipient marks the survey failed with the reason; it is never retried."""
    with sessions() as session, session.begin():
        _survey(session, _contact(session, 1), program="p")
    _dispatch(
        sessions, FakeEmail(failure=DeliveryFailed("recipient refused: [550]", retryable=False))
    )
    assert _states(sessions)["p"] == (SurveyState.FAILED, "recipient refused: [550]")


def test_concurrent_dispatchers_never_double_send(sessions: sessionmaker[Session]) -> None:
    """Four dispatchers on one database send each of 60 surveys exactly once.

    PostgreSQL: replicas claim with SKIP LOCKED; SQLite: threads of one process take turns
    (every writing transaction begins IMMEDIATE).
    """
    with sessions() as session, session.begin():
        for number in range(60):
            _survey(session, _contact(session, number), program=f"p{number}")
    channel = FakeEmail()
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        dispatch_due(sessions, CONFIG, {SurveyChannel.EMAIL: channel}, NOW, batch_size=5)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    programs = [d.program for d in channel.sent]
    assert sorted(programs) == sorted(f"p{n}" for n in range(60))
    assert set(_states(sessions).values()) == {(SurveyState.SENT, None)}


@dataclass
class SlowRelay(FakeEmail):
    """Each hand-over takes ten minutes of the clock; after the third, another replica's
    dispatch runs (its `resolve_unknown` re-sends what is in hand-over past the grace)."""

    sessions: sessionmaker[Session] | None = None
    clock: list[datetime] = field(default_factory=lambda: [NOW])
    other_ran: bool = False

    def now(self) -> datetime:
        return self.clock[0]

    def deliver(self, session: Session, delivery: Delivery, now: datetime) -> None:
        super().deliver(session, delivery, now)
        self.clock[0] += timedelta(minutes=10)
        if len(self.sent) == 3 and not self.other_ran:
            self.other_ran = True
            assert self.sessions is not None
            channels = {SurveyChannel.EMAIL: self}
            dispatch_due(self.sessions, CONFIG, channels, self.now(), clock=self.now)


def test_a_long_run_stamps_each_send_so_another_replica_never_resends_it(
    sessions: sessionmaker[Session],
) -> None:
    """A run whose sends take ten minutes each: every send is stamped with its own claim, so a
    replica dispatching 30 minutes in (past the 15-minute grace) sees nothing cut off."""
    with sessions() as session, session.begin():
        for number in range(5):
            _survey(session, _contact(session, number), program=f"p{number}")
    relay = SlowRelay(sessions=sessions)
    dispatch_due(sessions, CONFIG, {SurveyChannel.EMAIL: relay}, NOW, clock=relay.now)
    assert sorted(d.program for d in relay.sent) == [f"p{n}" for n in range(5)]
    with sessions() as session:
        stamps = session.scalars(select(Survey.sent_at).order_by(Survey.sent_at)).all()
    assert stamps == [NOW + timedelta(minutes=10 * n) for n in range(5)]

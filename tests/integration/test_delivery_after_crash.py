"""A crash while sending: at most one message's fate unknown, resolved after a grace period.

DESIGN.md promise 10 (issue 16, item 1). A crash is the channel raising something no code
catches while it holds the message: the process stops there, as under SIGKILL, with the
send committed as started and its outcome never recorded. `Crashing` can do that before the
relay took the message or after (the mail arrived, nobody knows).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.cli import main
from worker.config import Config, load_config
from worker.config.survey import QuietHours, SurveyConfig
from worker.status import gather
from worker.store.models import Contact, Crm, Survey, SurveyChannel, SurveyState
from worker.surveys.channels import DeliveryFailed
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.dispatch import MAX_RESENDS, RESENDING, SENDING, UNKNOWN, dispatch_due
from worker.surveys.tokens import new_token_id

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
"""Monday 10:00 UTC: outside quiet hours."""
SURVEY = SurveyConfig(reminders={"count": 1, "after": "3d"}, expiry="14d")
GRACE = SURVEY.delivery.grace


class Crash(BaseException):
    """The process dies here: nothing after this line of the dispatcher runs."""


@dataclass
class Crashing:
    """An e-mail channel that keeps what it is handed (the relay) and dies on the n-th send."""

    kind: ClassVar[SurveyChannel] = SurveyChannel.EMAIL
    in_transaction: ClassVar[bool] = False
    sends_reminders: ClassVar[bool] = True
    crash_on: int | None = None
    after_relay: bool = True
    """Die after the relay took the message (it arrives) rather than before."""
    failure: DeliveryFailed | None = None
    received: list[Delivery] = field(default_factory=list)
    handed: int = 0

    def deliver(self, session: Session, delivery: Delivery, now: datetime) -> None:
        """Hand the message over (or fail, or die)."""
        self.handed += 1
        dies = self.handed == self.crash_on
        if dies and not self.after_relay:
            raise Crash
        if self.failure is not None:
            raise self.failure
        self.received.append(delivery)
        if dies:
            raise Crash

    def message_ids(self) -> list[str]:
        """The Message-ID part each received send carries (stable per send)."""
        return [delivery.delivery_id for delivery in self.received]


def _due(sessions: sessionmaker[Session], count: int, now: datetime = NOW) -> None:
    with sessions() as session, session.begin():
        for number in range(count):
            contact = Contact(
                crm=Crm.SALESFORCE,
                crm_id=f"003{number:015d}",
                email=f"person{number}@example.com",
                modified_at=now,
                synced_at=now,
            )
            session.add(contact)
            session.flush()
            session.add(
                Survey(
                    program=f"p{number}",
                    contact_id=contact.id,
                    token_id=new_token_id(),
                    state=SurveyState.SCHEDULED,
                    language="en",
                    channel=SurveyChannel.EMAIL,
                    planned_at=now - timedelta(days=1),
                    scheduled_for=now - timedelta(minutes=5),
                    expires_at=now + timedelta(days=14),
                )
            )


def _dispatch(
    sessions: sessionmaker[Session],
    channel: Crashing,
    now: datetime,
    survey: SurveyConfig = SURVEY,
) -> None:
    dispatch_due(sessions, survey, {SurveyChannel.EMAIL: channel}, now, batch_size=3)


def _crash(sessions: sessionmaker[Session], channel: Crashing, now: datetime = NOW) -> None:
    with pytest.raises(Crash):
        _dispatch(sessions, channel, now)


def _states(sessions: sessionmaker[Session]) -> list[tuple[SurveyState, str | None]]:
    with sessions() as session:
        rows = session.execute(select(Survey.state, Survey.state_reason).order_by(Survey.id))
        return [(state, reason) for state, reason in rows]


def _config(survey: SurveyConfig = SURVEY) -> Config:
    return load_config(EXAMPLE, env={}).model_copy(update={"survey": survey})


def _healthy(sessions: sessionmaker[Session], now: datetime, survey: SurveyConfig = SURVEY) -> bool:
    with sessions() as session:
        return gather(session, _config(survey), now).healthy


def test_a_crash_while_sending_leaves_one_fate_unknown(sessions: sessionmaker[Session]) -> None:
    """Five due; the process dies handing over the second: one sent, one unknown, three due."""
    _due(sessions, 5)

    _crash(sessions, Crashing(crash_on=2))

    assert _states(sessions) == [
        (SurveyState.SENT, None),
        (SurveyState.SENT, SENDING),
        *[(SurveyState.SCHEDULED, None)] * 3,
    ]


@pytest.mark.parametrize("after_relay", [True, False], ids=["arrived", "never-left"])
def test_the_unknown_send_goes_again_once_after_the_grace_period(
    sessions: sessionmaker[Session], after_relay: bool
) -> None:
    """Same Message-ID, one more copy at most, only after the grace; then nothing more."""
    _due(sessions, 1)
    relay = Crashing(crash_on=1, after_relay=after_relay)
    _crash(sessions, relay)
    first = relay.message_ids()

    _dispatch(sessions, relay, NOW + GRACE - timedelta(seconds=1))
    early = relay.message_ids()
    _dispatch(sessions, relay, NOW + GRACE + timedelta(seconds=1))
    _dispatch(sessions, relay, NOW + timedelta(hours=2))

    assert early == first, "nothing is re-sent within the grace period"
    assert len(relay.message_ids()) == len(first) + 1
    assert len(set(relay.message_ids())) == 1, "the re-send carries the same Message-ID"
    assert relay.received[-1].kind is SendKind.INVITATION
    assert _states(sessions) == [(SurveyState.SENT, None)]


def test_never_twice_reports_instead(sessions: sessionmaker[Session]) -> None:
    """`after_crash: report`: never sent again; `delivery unknown` stays visible."""
    survey = SURVEY.model_copy(
        update={"delivery": SURVEY.delivery.model_copy(update={"after_crash": "report"})}
    )
    _due(sessions, 1)
    relay = Crashing(crash_on=1)
    _crash(sessions, relay)

    _dispatch(sessions, relay, NOW + GRACE + timedelta(seconds=1), survey)
    _dispatch(sessions, relay, NOW + timedelta(days=1), survey)

    assert len(relay.received) == 1
    assert _states(sessions) == [(SurveyState.SENT, UNKNOWN)]
    assert not _healthy(sessions, NOW + timedelta(days=1), survey)


def test_status_is_unhealthy_while_a_delivery_is_unknown(
    sessions: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From the moment no live hand-over can still be running until the re-send went out."""
    _due(sessions, 2)
    relay = Crashing(crash_on=1)
    _crash(sessions, relay)
    in_flight = NOW + SURVEY.handover_limit - timedelta(seconds=1)
    cut_off = NOW + SURVEY.handover_limit + timedelta(seconds=1)

    assert _healthy(sessions, in_flight), "a send may take this long: not yet unknown"
    assert not _healthy(sessions, cut_off)
    _dispatch(sessions, relay, NOW + GRACE + timedelta(seconds=1))
    assert _healthy(sessions, NOW + GRACE + timedelta(seconds=2))


def test_the_status_command_exits_1_and_names_the_message(
    sessions: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`nps-worker status` on the store a crashed worker left: exit 1, the Message-ID listed."""
    moment = datetime.now(UTC) - SURVEY.handover_limit - timedelta(minutes=1)
    _due(sessions, 1, moment)
    relay = Crashing(crash_on=1)
    anytime = SURVEY.model_copy(update={"quiet_hours": QuietHours(enabled=False)})
    with pytest.raises(Crash):
        _dispatch(sessions, relay, moment, anytime)
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {{url: '{url}'}}\ncrm: {{kind: salesforce}}\n", "utf-8")
    capsys.readouterr()

    code = main(["status", "--config", str(config)])

    out = capsys.readouterr().out
    assert code == 1
    assert "NEEDS ATTENTION" in out
    assert f"<nps.{relay.received[0].delivery_id}@example.com>" in out


def test_each_crash_gets_its_resend_until_the_message_looks_like_the_cause(
    sessions: sessionmaker[Session],
) -> None:
    """A crash during a re-send is a crash like any other: one more copy after the grace.

    A send cut off MAX_RESENDS + 1 times is reported instead: it may be what kills the worker.
    """
    _due(sessions, 1)
    relay = Crashing(crash_on=1)
    _crash(sessions, relay)
    moment = NOW
    for attempt in range(2, MAX_RESENDS + 2):
        relay.crash_on = attempt
        moment += GRACE + timedelta(seconds=1)
        _crash(sessions, relay, moment)
        assert _states(sessions) == [(SurveyState.SENT, RESENDING)]

    _dispatch(sessions, relay, moment + GRACE + timedelta(seconds=1))
    _dispatch(sessions, relay, moment + timedelta(days=1))

    assert len(relay.received) == MAX_RESENDS + 1, "one copy per crash, no more"
    assert len(set(relay.message_ids())) == 1
    assert _states(sessions) == [(SurveyState.SENT, UNKNOWN)]


def test_a_resend_cut_off_once_goes_again_and_ends_known(sessions: sessionmaker[Session]) -> None:
    """Two crashes on one message, then a clean run: three copies at most, delivery known."""
    _due(sessions, 1)
    relay = Crashing(crash_on=1)
    _crash(sessions, relay)
    relay.crash_on = 2
    _crash(sessions, relay, NOW + GRACE + timedelta(seconds=1))

    _dispatch(sessions, relay, NOW + 3 * GRACE)

    assert len(relay.received) == 3
    assert _states(sessions) == [(SurveyState.SENT, None)]
    assert _healthy(sessions, NOW + 3 * GRACE + timedelta(seconds=1))


def test_a_resend_the_relay_refuses_for_now_waits_another_grace(
    sessions: sessionmaker[Session],
) -> None:
    """The relay is down at the re-send: certainly not sent, so it is tried again later."""
    _due(sessions, 1)
    relay = Crashing(crash_on=1, after_relay=False)
    _crash(sessions, relay)
    relay.failure = DeliveryFailed("cannot connect", retryable=True)
    resend_at = NOW + GRACE + timedelta(seconds=1)
    _dispatch(sessions, relay, resend_at)
    assert _states(sessions) == [(SurveyState.SENT, SENDING)]

    relay.failure = None
    _dispatch(sessions, relay, resend_at + GRACE - timedelta(seconds=1))
    assert relay.received == []
    _dispatch(sessions, relay, resend_at + GRACE + timedelta(seconds=1))

    assert len(relay.received) == 1
    assert _states(sessions) == [(SurveyState.SENT, None)]


def test_an_unknown_reminder_goes_again_as_the_same_reminder(
    sessions: sessionmaker[Session],
) -> None:
    """The reminder's own Message-ID, not the invitation's."""
    _due(sessions, 1)
    relay = Crashing()
    _dispatch(sessions, relay, NOW)
    relay.crash_on = 2
    later = NOW + timedelta(days=3, minutes=1)
    _crash(sessions, relay, later)

    _dispatch(sessions, relay, later + GRACE + timedelta(seconds=1))

    assert [(d.kind, d.number) for d in relay.received] == [
        (SendKind.INVITATION, 0),
        (SendKind.REMINDER, 1),
        (SendKind.REMINDER, 1),
    ]
    assert len(set(relay.message_ids())) == 2
    assert _states(sessions) == [(SurveyState.REMINDED, None)]

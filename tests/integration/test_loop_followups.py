"""The inner loop in the store: task status read back, SLA escalation (task or reassign), alerts."""

# ruff: noqa: RUF001 - Japanese outcome text

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config, parse_config
from worker.domain import Category
from worker.loop.alerts import alert_non_responses
from worker.loop.answers import handle_answers
from worker.loop.followups import check_slas, read_task_status
from worker.mappers import salesforce as sf
from worker.store.models import (
    Contact,
    Crm,
    FollowUp,
    FollowUpStatus,
    OutboxEntry,
    Response,
    ResponseSource,
    Survey,
    SurveyChannel,
    SurveyState,
)
from worker.sync.base import AuthFailed, TaskState, TaskStatus, UserProfile
from worker.sync.link import CrmLink

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)


class FakeClient:
    """The two calls the inner loop makes, answered from a table."""

    name = "salesforce"

    def __init__(self, states: dict[str, TaskState] | None = None) -> None:
        self.states = states or {}
        self.body: str | None = None

    def task_statuses(self, task_ids: Sequence[str]) -> list[TaskStatus]:
        return [
            TaskStatus(
                task_id,
                self.states[task_id],
                "005OWNER",
                NOW,
                NOW - timedelta(hours=2),
                self.body,
            )
            for task_id in task_ids
            if task_id in self.states
        ]

    def managers(self) -> dict[str, str]:
        return {"005OWNER": "005MANAGER"}

    def users(self) -> dict[str, UserProfile]:
        return {
            user: UserProfile(user, "Kim", user[3:].title(), "en", "UTC")
            for user in ("005OWNER", "005MANAGER")
        }


def _link(client: FakeClient) -> CrmLink:
    def nothing(*_args: Any) -> None:
        return None

    return CrmLink(client, (), nothing, nothing, sf.task_owner_update, _config())  # type: ignore[arg-type]


def _config(action: str = "task", non_response: bool = False) -> Config:
    alert = (
        "  non_response: {enabled: true, programs: [renewal_upcoming]}\n" if non_response else ""
    )
    return parse_config(
        "crm: {kind: salesforce}\n"
        "followup:\n"
        "  detractor:\n"
        "    escalation:\n"
        f"      - {{level: 1, after: 24h, notify: manager, action: {action}}}\n" + alert
    )


def _answered(
    session: Session,
    *,
    state: SurveyState = SurveyState.ANSWERED,
    program: str = "support",
) -> tuple[Contact, Survey]:
    contact = Contact(
        crm=Crm.SALESFORCE,
        crm_id="003A",
        email="a@example.com",
        opted_out=False,
        owner_crm_id="005OWNER",
        fields={},
        modified_at=NOW,
        deleted=False,
        synced_at=NOW,
    )
    session.add(contact)
    session.flush()
    survey = Survey(
        program=program,
        contact_id=contact.id,
        token_id="tok",
        state=state,
        language="en",
        channel=SurveyChannel.EMAIL,
        planned_at=NOW - timedelta(days=20),
        scheduled_for=NOW - timedelta(days=20),
        sent_at=NOW - timedelta(days=20),
        expires_at=NOW - timedelta(days=6),
        reminder_count=0,
    )
    session.add(survey)
    session.flush()
    return contact, survey


def _followup(sessions: sessionmaker[Session], *, due: datetime) -> int:
    with sessions.begin() as session:
        _, survey = _answered(session)
        response = Response(
            survey_id=survey.id,
            score=2,
            category=Category.DETRACTOR,
            reason_tags=[],
            provisional=False,
            source=ResponseSource.WEB,
            received_at=due - timedelta(hours=24),
            version=1,
            handled_version=1,
        )
        session.add(response)
        session.flush()
        followup = FollowUp(
            response_id=response.id,
            dedup_key=f"followup:{response.id}",
            crm=Crm.SALESFORCE,
            crm_task_id="00T000000000001AAA",
            owner_crm_id="005OWNER",
            status=FollowUpStatus.OPEN,
            due_at=due,
            escalation_level=0,
            created_at=due - timedelta(hours=24),
        )
        session.add(followup)
        session.flush()
        return followup.id


def _outbox(sessions: sessionmaker[Session]) -> list[OutboxEntry]:
    with sessions() as session:
        return list(session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


def test_overdue_task_escalates_to_the_owners_manager_once(
    sessions: sessionmaker[Session],
) -> None:
    """24 h past due with no contact: a second task for the manager, and only one."""
    followup_id = _followup(sessions, due=NOW - timedelta(hours=25))
    link = _link(FakeClient())
    for _ in range(2):
        _, touched = check_slas(sessions, _config(), link, NOW, {"005OWNER": "005MANAGER"})
    rows = _outbox(sessions)
    assert [(row.op, row.fields["owner_id"]) for row in rows] == [("create_task", "005MANAGER")]
    with sessions() as session:
        followup = session.get_one(FollowUp, followup_id)
        assert followup.escalation_level == 1
        assert followup.owner_crm_id == "005OWNER"
    assert touched


def test_reassign_moves_the_task_to_the_manager(sessions: sessionmaker[Session]) -> None:
    """`action: reassign` updates the task's owner instead of opening a second task."""
    followup_id = _followup(sessions, due=NOW - timedelta(hours=25))
    check_slas(sessions, _config("reassign"), _link(FakeClient()), NOW, {"005OWNER": "005MANAGER"})
    rows = _outbox(sessions)
    assert [(row.op, row.object, row.record_crm_id, dict(row.fields)) for row in rows] == [
        ("update", "Task", "00T000000000001AAA", {"OwnerId": "005MANAGER"})
    ]
    with sessions() as session:
        assert session.get_one(FollowUp, followup_id).owner_crm_id == "005MANAGER"


def test_not_yet_overdue_waits(sessions: sessionmaker[Session]) -> None:
    _followup(sessions, due=NOW - timedelta(hours=1))
    escalated, _ = check_slas(sessions, _config(), _link(FakeClient()), NOW, {})
    assert escalated == 0
    assert _outbox(sessions) == []


def test_task_status_moves_the_followup_to_contacted_then_closed(
    sessions: sessionmaker[Session],
) -> None:
    followup_id = _followup(sessions, due=NOW + timedelta(hours=20))
    client = FakeClient({"00T000000000001AAA": TaskState.IN_PROGRESS})
    stats, touched = read_task_status(sessions, _link(client), NOW)
    assert (stats.contacted, stats.closed, len(touched)) == (1, 0, 1)
    with sessions() as session:
        followup = session.get_one(FollowUp, followup_id)
        assert followup.status == FollowUpStatus.IN_PROGRESS
        assert followup.first_contact_at == NOW - timedelta(hours=2)
    client.states["00T000000000001AAA"] = TaskState.COMPLETED
    stats, _ = read_task_status(sessions, _link(client), NOW)
    assert stats.closed == 1
    with sessions() as session:
        followup = session.get_one(FollowUp, followup_id)
        assert (followup.status, followup.closed_at) == (FollowUpStatus.CLOSED, NOW)
        assert followup.first_contact_at == NOW - timedelta(hours=2)


def test_outcomes_the_rep_writes_are_read_back(sessions: sessionmaker[Session]) -> None:
    """The outcome lines filled in on the task (in either language) are kept by step."""
    followup_id = _followup(sessions, due=NOW + timedelta(hours=20))
    client = FakeClient({"00T000000000001AAA": TaskState.IN_PROGRESS})
    client.body = (
        "Guided response\n...\n[1] Apology: called, said sorry\n[2] Facts:\n"
        "[3] 期待：来週までに改善案を提示\n[4] Interim measure:\n[5] Permanent fix: BUG-42"
    )
    read_task_status(sessions, _link(client), NOW)
    with sessions() as session:
        assert session.get_one(FollowUp, followup_id).outcomes == {
            "1": "called, said sorry",
            "3": "来週までに改善案を提示",
            "5": "BUG-42",
        }


def test_expired_renewal_survey_alerts_the_account_owner_once(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        _answered(session, state=SurveyState.EXPIRED, program="renewal_upcoming")
    config = _config(non_response=True)
    assert alert_non_responses(sessions, config, _link(FakeClient()), NOW) == 1
    alert_non_responses(sessions, config, _link(FakeClient()), NOW)
    rows = _outbox(sessions)
    assert len(rows) == 1
    assert rows[0].op == "create_task"
    assert rows[0].dedup_key.startswith("nonresponse:")


def _response(session: Session, survey: Survey, score: int = 10) -> Response:
    response = Response(
        survey_id=survey.id,
        score=score,
        category=Category.of_score(score),
        reason_tags=[],
        provisional=False,
        source=ResponseSource.WEB,
        received_at=NOW - timedelta(days=20),
        version=1,
        handled_version=1,
    )
    session.add(response)
    session.flush()
    return response


ASKS = (
    "crm: {kind: salesforce}\n"
    "followup:\n"
    "  promoter:\n"
    "    asks:\n"
    "      - {kind: review, url: 'https://reviews.example.com/acme'}\n"
    "      - {kind: referral}\n"
)


def test_past_asks_come_from_the_queued_ask_tasks(sessions: sessionmaker[Session]) -> None:
    """`not_asked_within` needs the last ask per kind: read from this contact's ask tasks."""
    from worker.loop import view
    from worker.loop.followups import ask_key, followup_context
    from worker.sync.outbox import Op, enqueue

    with sessions.begin() as session:
        contact, survey = _answered(session)
        first = _response(session, survey)
        later = Survey(**{**_survey_values(survey), "token_id": "tok2"})
        session.add(later)
        session.flush()
        second = _response(session, later)
        other = Contact(
            crm=Crm.SALESFORCE,
            crm_id="003B",
            email="b@example.com",
            opted_out=False,
            fields={},
            modified_at=NOW,
            deleted=False,
            synced_at=NOW,
        )
        session.add(other)
        session.flush()
        theirs = Survey(**{**_survey_values(survey), "token_id": "tok3", "contact_id": other.id})
        session.add(theirs)
        session.flush()
        their_answer = _response(session, theirs)
        for key, at in (
            (ask_key("review", contact.id, str(first.id)), NOW - timedelta(days=10)),
            (ask_key("review", contact.id, str(second.id)), NOW - timedelta(days=3)),
            (ask_key("referral", contact.id, str(first.id)), NOW - timedelta(days=5)),
            (ask_key("review", other.id, str(their_answer.id)), NOW),
            (f"task:{contact.id}:{first.id}", NOW),
        ):
            enqueue(
                session,
                "salesforce",
                Op.CREATE_TASK,
                "task",
                record_id=None,
                fields={},
                dedup_key=key,
                essential=True,
                now=at,
            )
    config = parse_config(ASKS)
    with sessions() as session:
        context = followup_context(session, config, view.contact_of(contact), None, {})
    assert context.last_asks == {
        "review": NOW - timedelta(days=3),
        "referral": NOW - timedelta(days=5),
    }


def test_a_promoter_is_asked_once_within_the_interval(sessions: sessionmaker[Session]) -> None:
    """Two promoter answers a week apart: the ask task the first queued (`ask_key`) is found
    again when the second is handled (`_last_asks`), so the second asks nothing."""
    with sessions.begin() as session:
        _, survey = _answered(session)
        first = _response(session, survey)
        first.handled_version = 0
    handle_answers(sessions, parse_config(ASKS), _link(FakeClient()), NOW, {})
    with sessions.begin() as session:
        later = Survey(**{**_survey_values(survey), "token_id": "tok2"})
        session.add(later)
        session.flush()
        _response(session, later).handled_version = 0
    handle_answers(sessions, parse_config(ASKS), _link(FakeClient()), NOW + timedelta(days=7), {})
    asks = [row.dedup_key for row in _outbox(sessions) if row.dedup_key.startswith("ask:")]
    assert sorted(asks) == [
        f"ask:{kind}:{survey.contact_id}:{first.id}" for kind in ("referral", "review")
    ]


def _survey_values(survey: Survey) -> dict[str, object]:
    names = ("program", "contact_id", "state", "language", "channel", "planned_at")
    names += ("scheduled_for", "sent_at", "expires_at", "reminder_count")
    return {name: getattr(survey, name) for name in names}


def test_customer_since_is_mirrored_and_kept_by_later_writes(
    sessions: sessionmaker[Session],
) -> None:
    """Promoter asks' tenure reads the account's customer-since date from the mirror."""
    from worker import domain
    from worker.loop import view
    from worker.loop.followups import followup_context
    from worker.store import mirror
    from worker.store.models import Account

    since = NOW - timedelta(days=400)
    account = domain.Account("salesforce", "001A", "Acme", "005OWNER", NOW, customer_since=since)
    with sessions.begin() as session:
        mirror.upsert_accounts(session, [account], NOW)
    with sessions.begin() as session:
        mirror.remember_written(
            session, "salesforce", "account", "001A", {"NPS_Score__c": 10}, at=NOW
        )
    with sessions() as session:
        row = session.scalars(select(Account)).one()
        mirrored = view.account_of(row)
        contact, _ = _answered(session)
        context = followup_context(session, _config(), view.contact_of(contact), mirrored, {})
        session.rollback()
    assert mirrored.customer_since == since
    assert context.customer_since == since


class OwnersHidden(FakeClient):
    """A HubSpot private app without the owners scope: the owners list is refused."""

    def users(self) -> dict[str, UserProfile]:
        raise AuthFailed("hubspot", "MISSING_SCOPES", "needs crm.objects.owners.read")


class OwnerLeft(FakeClient):
    """The contact's owner is no longer an active user."""

    def users(self) -> dict[str, UserProfile]:
        return {"005OTHER": UserProfile("005OTHER")}


@pytest.mark.parametrize(
    ("client", "owner"),
    [
        pytest.param(OwnersHidden(), "005OWNER", id="activity-unreadable-owner-kept"),
        pytest.param(OwnerLeft(), None, id="owner-left-crm-default"),
    ],
)
def test_the_task_owner_follows_the_crms_active_users(
    sessions: sessionmaker[Session], client: FakeClient, owner: str | None
) -> None:
    """A detractor's task goes to the first active user of the chain; when the CRM will not
    say who is active, the answer is still handled and the chain taken as it stands."""
    with sessions.begin() as session:
        _, survey = _answered(session)
        session.add(
            Response(
                survey_id=survey.id,
                score=2,
                category=Category.DETRACTOR,
                reason_tags=[],
                provisional=False,
                source=ResponseSource.WEB,
                received_at=NOW,
                version=1,
                handled_version=0,
            )
        )

    stats = handle_answers(sessions, _config(), _link(client), NOW, {})

    assert (stats.handled, stats.tasks) == (1, 1)
    with sessions() as session:
        task = session.scalars(
            select(OutboxEntry).where(OutboxEntry.dedup_key.like("followup:%"))
        ).one()
        assert task.fields["owner_id"] == owner

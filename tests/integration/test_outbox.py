"""The outbox: queued CRM writes survive failures and reach the CRM in batches (promise 4)."""

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.store.models import (
    Category,
    Contact,
    Crm,
    FollowUp,
    FollowUpStatus,
    OutboxEntry,
    OutboxState,
    Response,
    ResponseSource,
    Survey,
    SurveyChannel,
    SurveyState,
)
from worker.sync import outbox
from worker.sync.base import (
    FieldUpdate,
    NoteSpec,
    Priority,
    RateLimited,
    RecordError,
    TaskPriority,
    TaskSpec,
    Unavailable,
    WriteResult,
)

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


class RecordingCrm:
    """A CRM double that records every call and answers from a script."""

    name = "salesforce"

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, RecordError] = {}
        self.raise_next: list[Exception] = []

    def _answer(self, kind: str, keys: list[str]) -> list[WriteResult]:
        self.calls.append((kind, keys))
        if self.raise_next:
            raise self.raise_next.pop(0)
        return [
            WriteResult(key, None, self.refuse[key])
            if key in self.refuse
            else WriteResult(key, f"id-{key}")
            for key in keys
        ]

    def update(self, updates: Sequence[FieldUpdate], priority: Priority) -> list[WriteResult]:
        """Answer one update call for all the updates given."""
        return self._answer(f"update:{priority.value}", [u.dedup_key for u in updates])

    def create_tasks(
        self, tasks: Sequence[TaskSpec], unsure: Collection[str] = ()
    ) -> list[WriteResult]:
        """Answer one task-creation call."""
        return self._answer("tasks", [t.dedup_key for t in tasks])

    def create_notes(
        self, notes: Sequence[NoteSpec], unsure: Collection[str] = ()
    ) -> list[WriteResult]:
        """Answer one note-creation call."""
        return self._answer("notes", [n.dedup_key for n in notes])


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _queue_updates(sessions: sessionmaker[Session], count: int, *, essential: bool) -> None:
    # Distinct records and dedup keys: no lookup of enqueue_update needs the rows queued before
    # it, so they are flushed once, at commit, rather than one INSERT round trip per lookup.
    with sessions.begin() as session, session.no_autoflush:
        for i in range(count):
            update = FieldUpdate("Contact", f"003{i:015d}", {"NPS_Last_Score__c": 3}, f"u{i}")
            outbox.enqueue_update(session, "salesforce", update, essential=essential, now=NOW)


def _rows(sessions: sessionmaker[Session]) -> list[OutboxEntry]:
    with sessions() as session:
        return list(session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


class TestDrain:
    """Batches, outcomes per record, and what happens when the CRM pushes back."""

    def test_everything_due_goes_out_in_few_calls(self, sessions: sessionmaker[Session]) -> None:
        """2,500 queued updates go out in two claims, each one client call; all are done."""
        _queue_updates(sessions, 2500, essential=False)
        crm = RecordingCrm()

        stats = outbox.Outbox(crm, sessions, Clock()).drain()

        assert [(kind, len(keys)) for kind, keys in crm.calls] == [
            ("update:normal", 2000),
            ("update:normal", 500),
        ]
        assert (stats.sent, stats.done, stats.failed) == (2500, 2500, 0)
        assert {row.state for row in _rows(sessions)} == {OutboxState.DONE}

    def test_a_refused_record_is_kept_with_the_crm_code(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A per-record refusal is stored on its row as failed; its batch-mates are done."""
        _queue_updates(sessions, 3, essential=True)
        crm = RecordingCrm()
        crm.refuse["u1"] = RecordError("INVALID_FIELD", "No such column", ("NPS_Last_Score__c",))

        stats = outbox.Outbox(crm, sessions, Clock()).drain()

        rows = _rows(sessions)
        assert [row.state for row in rows] == [
            OutboxState.DONE,
            OutboxState.FAILED,
            OutboxState.DONE,
        ]
        assert rows[1].last_error == "INVALID_FIELD: No such column (NPS_Last_Score__c)"
        assert (stats.done, stats.failed) == (2, 1)
        assert crm.calls[0][0] == "update:essential"

    def test_a_record_not_applied_for_a_batch_mates_sake_is_retried(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """HubSpot fails a whole batch for one bad input: the others come back later, not lost."""
        _queue_updates(sessions, 2, essential=True)
        crm = RecordingCrm()
        crm.refuse["u0"] = RecordError("NOT_APPLIED", "HubSpot returned no result")
        crm.refuse["u1"] = RecordError("VALIDATION_ERROR", "Property values were not valid")

        stats = outbox.Outbox(crm, sessions, Clock()).drain()

        rows = _rows(sessions)
        assert [row.state for row in rows] == [OutboxState.PENDING, OutboxState.FAILED]
        assert rows[0].next_attempt_at > NOW
        assert (stats.failed, stats.retried) == (1, 1)

    def test_rate_limit_pauses_without_spending_an_attempt(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A 429 puts rows back for `retry_after`, stops the drain, and counts no attempt."""
        _queue_updates(sessions, 2, essential=True)
        crm = RecordingCrm()
        crm.raise_next.append(RateLimited("salesforce", "429", "slow down", retry_after=90))
        clock = Clock()

        stats = outbox.Outbox(crm, sessions, clock).drain()

        assert stats.stopped_by == "429"
        rows = _rows(sessions)
        assert {(r.state, r.attempts) for r in rows} == {(OutboxState.PENDING, 0)}
        assert {r.next_attempt_at for r in rows} == {NOW + timedelta(seconds=90)}

        clock.now = NOW + timedelta(seconds=90)
        outbox.Outbox(crm, sessions, clock).drain()
        assert {r.state for r in _rows(sessions)} == {OutboxState.DONE}

    def test_outage_backs_off_and_finally_fails_visibly(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """5xx: backoff doubles; after the last attempt the row is failed, not lost."""
        _queue_updates(sessions, 1, essential=True)
        crm = RecordingCrm()
        clock = Clock()
        waits = []
        for _ in range(outbox.MAX_ATTEMPTS):
            crm.raise_next.append(Unavailable("salesforce", "503", "down"))
            outbox.Outbox(crm, sessions, clock).drain()
            (row,) = _rows(sessions)
            waits.append(row.next_attempt_at - clock.now)
            clock.now = row.next_attempt_at

        (row,) = _rows(sessions)
        assert row.state == OutboxState.FAILED
        assert row.attempts == outbox.MAX_ATTEMPTS
        assert row.last_error == "503: down"
        assert waits[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]

    def test_rows_of_a_dead_drainer_are_sent_after_the_claim_lapses(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """Rows claimed by a drainer that died are not stuck: they go out once the claim lapses."""
        _queue_updates(sessions, 2, essential=True)
        clock = Clock()
        outbox.Outbox(RecordingCrm(), sessions, clock)._claim()  # the drainer dies here

        crm = RecordingCrm()
        outbox.Outbox(crm, sessions, clock).drain()
        assert crm.calls == []

        clock.now = NOW + outbox.CLAIM_TTL
        outbox.Outbox(crm, sessions, clock).drain()
        assert [len(keys) for _, keys in crm.calls] == [2]

    def test_a_write_is_queued_once_per_dedup_key(self, sessions: sessionmaker[Session]) -> None:
        """Queuing the same write twice (a retried request) leaves one row."""
        update = FieldUpdate("Contact", "003A", {"NPS_Last_Score__c": 9}, "answer-1")
        with sessions.begin() as session:
            first = outbox.enqueue_update(session, "salesforce", update, essential=True, now=NOW)
            again = outbox.enqueue_update(session, "salesforce", update, essential=True, now=NOW)

        assert (first, again) == (True, False)
        assert len(_rows(sessions)) == 1

    def test_pending_updates_to_one_record_coalesce(self, sessions: sessionmaker[Session]) -> None:
        """Two changes before a drain become one write with the newer value of each field."""
        first = FieldUpdate("Contact", "003A", {"NPS_Last_Score__c": 3, "A__c": 1}, "answer-1")
        second = FieldUpdate("Contact", "003A", {"NPS_Last_Score__c": 9}, "answer-2")
        other = FieldUpdate("Contact", "003B", {"NPS_Last_Score__c": 5}, "answer-3")
        with sessions.begin() as session:
            for update in (first, second, other):
                outbox.enqueue_update(session, "salesforce", update, essential=True, now=NOW)

        rows = {row.record_crm_id: dict(row.fields) for row in _rows(sessions)}
        assert rows == {
            "003A": {"NPS_Last_Score__c": 9, "A__c": 1},
            "003B": {"NPS_Last_Score__c": 5},
        }


def _followup(session: Session) -> FollowUp:
    contact = Contact(
        crm=Crm.SALESFORCE,
        crm_id="003A",
        email="a@example.com",
        opted_out=False,
        fields={},
        modified_at=NOW,
        deleted=False,
        synced_at=NOW,
    )
    survey = Survey(
        program="support",
        token_id="tok",
        state=SurveyState.ANSWERED,
        language="en",
        channel=SurveyChannel.EMAIL,
        planned_at=NOW,
        scheduled_for=NOW,
        reminder_count=0,
    )
    session.add(contact)
    session.flush()
    survey.contact_id = contact.id
    session.add(survey)
    session.flush()
    response = Response(
        survey_id=survey.id,
        score=2,
        category=Category.DETRACTOR,
        reason_tags=[],
        provisional=False,
        source=ResponseSource.WEB,
        received_at=NOW,
    )
    session.add(response)
    session.flush()
    followup = FollowUp(
        response_id=response.id,
        dedup_key="followup-1",
        crm=Crm.SALESFORCE,
        status=FollowUpStatus.PENDING,
        due_at=NOW + timedelta(hours=24),
        escalation_level=0,
        created_at=NOW,
    )
    session.add(followup)
    session.flush()
    return followup


def test_created_task_opens_its_followup(sessions: sessionmaker[Session]) -> None:
    """When the detractor task is created, its CRM id lands on the follow-up, now open."""
    task = TaskSpec(
        "followup-1",
        "Call back",
        "Score 2",
        NOW + timedelta(hours=24),
        TaskPriority.HIGH,
        "005OWNER",
        "003A",
        None,
    )
    with sessions.begin() as session:
        followup_id = _followup(session).id
        outbox.enqueue_task(session, "salesforce", task, now=NOW, followup_id=followup_id)

    outbox.Outbox(RecordingCrm(), sessions, Clock()).drain()

    with sessions() as session:
        followup = session.get_one(FollowUp, followup_id)
        assert (followup.crm_task_id, followup.status) == ("id-followup-1", FollowUpStatus.OPEN)


class TestUpdateOfATaskBeingCreated:
    """An owner update queued before its task has a CRM id waits for it, then carries it."""

    TASK = TaskSpec(
        "followup-1",
        "Call back",
        "Score 2",
        NOW + timedelta(hours=24),
        TaskPriority.HIGH,
        "005OWNER",
        "003A",
        None,
    )

    def _queue(self, sessions: sessionmaker[Session]) -> int:
        with sessions.begin() as session:
            followup_id = _followup(session).id
            outbox.enqueue_task(session, "salesforce", self.TASK, now=NOW, followup_id=followup_id)
            move = FieldUpdate("Task", "", {"OwnerId": "005BOSS"}, "followup-1:escalation:1")
            outbox.enqueue_after_task(session, "salesforce", move, followup_id=followup_id, now=NOW)
        return followup_id

    def test_it_is_sent_with_the_id_the_create_linked(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """Create and update in one drain: the update names the task just created."""
        self._queue(sessions)
        crm = RecordingCrm()
        sent: list[FieldUpdate] = []
        original = crm.update

        def update(updates: Sequence[FieldUpdate], priority: Priority) -> list[WriteResult]:
            sent.extend(updates)
            return original(updates, priority)

        crm.update = update  # type: ignore[method-assign]
        outbox.Outbox(crm, sessions, Clock()).drain()
        assert [(u.record_id, dict(u.fields)) for u in sent] == [
            ("id-followup-1", {"OwnerId": "005BOSS"})
        ]
        assert {row.state for row in _rows(sessions)} == {OutboxState.DONE}

    def test_it_waits_while_the_create_is_retried_and_fails_with_it(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """The create fails transiently: the update waits, uncounted; refused: it fails too."""
        self._queue(sessions)
        crm = RecordingCrm()
        crm.raise_next.append(Unavailable("salesforce", "503", "down"))
        clock = Clock()
        outbox.Outbox(crm, sessions, clock).drain()
        create, move = _rows(sessions)
        assert (create.state, move.state, move.attempts) == (
            OutboxState.PENDING,
            OutboxState.PENDING,
            0,
        )
        assert [kind for kind, _ in crm.calls] == ["tasks"]
        crm.refuse["followup-1"] = RecordError("INVALID_CROSS_REFERENCE_KEY", "no such owner")
        clock.now = NOW + timedelta(hours=1)
        outbox.Outbox(crm, sessions, clock).drain()
        create, move = _rows(sessions)
        assert (create.state, move.state) == (OutboxState.FAILED, OutboxState.FAILED)
        assert move.last_error is not None
        assert move.last_error.startswith("TASK_NOT_CREATED")

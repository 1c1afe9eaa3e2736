"""`explain`, `status` and the dry-run plan, read from a store populated row by row.

Each test builds the state a few cycles would have left (events, decisions with their checks,
surveys, answers, follow-ups, outbox rows, cycle runs, the lease) and asserts the lines an
operator reads, on SQLite and PostgreSQL.
"""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.cli import main
from worker.config import Config, load_config
from worker.cycle import CrmReport, report_stats
from worker.domain import Category
from worker.dry_run import describe_plan, marks
from worker.explain import NothingFound, explain
from worker.health import DAILY
from worker.readout import clip, mask_email
from worker.status import gather, render, status
from worker.store import jobs
from worker.store.engine import make_engine, session_factory
from worker.store.lease import SCHEDULER
from worker.store.migrate import upgrade
from worker.store.models import (
    Account,
    AuditEntry,
    Contact,
    Crm,
    CrmEvent,
    CycleRun,
    DecisionOutcome,
    FollowUp,
    FollowUpStatus,
    Lease,
    OutboxEntry,
    OutboxState,
    Response,
    ResponseSource,
    ResponseVersion,
    Suppression,
    SuppressionReason,
    Survey,
    SurveyChannel,
    SurveyDecision,
    SurveyState,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=5)
JANE = "Jane.Doe@Example.com"
BOB = "bob.stone@example.com"
T1 = timedelta(minutes=1)
PASSED = [
    {"code": "no_email", "passed": True, "detail": "has an e-mail address"},
    {"code": "opted_out", "passed": True, "detail": "not opted out in the CRM"},
    {"code": "min_interval", "passed": True, "detail": "no survey within 90d"},
]
OPTED_OUT = [
    {"code": "no_email", "passed": True, "detail": "has an e-mail address"},
    {"code": "opted_out", "passed": False, "detail": "opted out in the CRM"},
    {"code": "min_interval", "passed": True, "detail": "no survey within 90d"},
]


@pytest.fixture(scope="module")
def config() -> Config:
    """The documented example configuration (Salesforce)."""
    return load_config(EXAMPLE, env={})


def _contact(session: Session, crm_id: str, email: str | None, **extra: object) -> Contact:
    row = Contact(
        crm=Crm.SALESFORCE,
        crm_id=crm_id,
        email=email.lower() if email else None,
        first_name="Secret",
        last_name="Person",
        modified_at=T0,
        synced_at=T0,
        **extra,
    )
    session.add(row)
    session.flush()
    return row


def _event(
    session: Session,
    key: str,
    contact: Contact | None,
    *,
    planned: bool = True,
    fire_at: datetime = T0 + timedelta(hours=2),
) -> CrmEvent:
    row = CrmEvent(
        crm=Crm.SALESFORCE,
        object="Case",
        record_crm_id=key,
        kind="record_change",
        dedup_key=f"support_case_closed:Case:{key}",
        occurred_at=T0,
        payload={"contact_crm_id": contact.crm_id if contact else None},
        contact_id=contact.id if contact and planned else None,
        created_at=T0,
        program="support_case_closed",
        fire_at=fire_at,
        planned_at=T0 + timedelta(hours=2) if planned else None,
    )
    session.add(row)
    session.flush()
    return row


def _survey(session: Session, contact: Contact, event: CrmEvent | None, **extra: object) -> Survey:
    values: dict[str, object] = {
        "program": "support_case_closed",
        "token_id": f"tok-{contact.crm_id}-{event.id if event else 0}",
        "state": SurveyState.SCHEDULED,
        "language": "en",
        "channel": SurveyChannel.EMAIL,
        "planned_at": T0,
        "scheduled_for": T0 + timedelta(hours=2),
        **extra,
    }
    row = Survey(contact_id=contact.id, crm_event_id=event.id if event else None, **values)
    session.add(row)
    session.flush()
    return row


def _decision(
    session: Session,
    event: CrmEvent,
    contact: Contact | None,
    outcome: DecisionOutcome,
    checks: list[dict[str, object]],
    *,
    reason: str | None = None,
    survey: Survey | None = None,
) -> None:
    session.add(
        SurveyDecision(
            program="support_case_closed",
            crm_event_id=event.id,
            contact_id=contact.id if contact else None,
            outcome=outcome,
            reason_code=reason,
            checks=checks,
            survey_id=survey.id if survey else None,
            decided_at=T0 + timedelta(hours=2),
        )
    )


def _write(session: Session, key: str, state: OutboxState, **extra: object) -> None:
    values: dict[str, object] = {
        "object": "Contact",
        "op": "update",
        "fields": {},
        "attempts": 0,
        **extra,
    }
    session.add(
        OutboxEntry(
            crm=Crm.SALESFORCE,
            dedup_key=key,
            state=state,
            next_attempt_at=NOW,
            created_at=T0,
            **values,
        )
    )


def _cycle(
    session: Session, started: datetime, outcome: str, error: str | None = None, **stats: object
) -> None:
    session.add(
        CycleRun(
            crm="salesforce",
            started_at=started,
            finished_at=started + timedelta(seconds=42),
            outcome=outcome,
            error=error,
            stats=stats,
        )
    )


@pytest.fixture
def world(session: Session) -> Session:
    """Jane answered as a detractor; Bob opted out; the last cycle failed; a write was refused."""
    account = Account(
        crm=Crm.SALESFORCE, crm_id="001A", name="Northwind", modified_at=T0, synced_at=T0
    )
    session.add(account)
    session.flush()
    jane = _contact(
        session, "003A", JANE, account_id=account.id, account_crm_id="001A", language="en"
    )
    bob = _contact(session, "003B", BOB, account_crm_id="001A", opted_out=True)
    session.add(
        Suppression(
            email_hash=Suppression.hash_email(BOB),
            reason=SuppressionReason.UNSUBSCRIBED,
            source="web",
            created_at=T0,
        )
    )
    case = _event(session, "500A", jane)
    survey = _survey(
        session,
        jane,
        case,
        state=SurveyState.ANSWERED,
        sent_at=T0 + timedelta(hours=2),
        reminded_at=T0 + timedelta(days=3),
        reminder_count=1,
        answered_at=T0 + timedelta(days=3, hours=1),
        expires_at=T0 + timedelta(days=14),
    )
    _decision(session, case, jane, DecisionOutcome.SEND, PASSED, survey=survey)
    response = Response(
        survey_id=survey.id,
        score=3,
        category=Category.DETRACTOR,
        comment="Support took a week to reply to my ticket.",
        comment_summary="slow support replies",
        reason_tags=["support"],
        source=ResponseSource.WEB,
        received_at=T0 + timedelta(days=3, hours=1),
        version=2,
    )
    session.add(response)
    session.flush()
    for version in (1, 2):
        session.add(
            ResponseVersion(
                response_id=response.id,
                version=version,
                score=3,
                provisional=version == 1,
                source=ResponseSource.WEB,
                received_at=T0,
            )
        )
    followup = FollowUp(
        response_id=response.id,
        dedup_key="followup:1",
        crm=Crm.SALESFORCE,
        crm_task_id="00T1",
        owner_crm_id="005OWNER",
        status=FollowUpStatus.OPEN,
        due_at=NOW - timedelta(days=1),
        escalation_level=1,
        created_at=T0,
    )
    session.add(followup)
    session.flush()
    _event(session, "500L", jane, planned=False, fire_at=NOW + timedelta(hours=3))
    refused = _event(session, "500B", bob)
    _decision(session, refused, bob, DecisionOutcome.REFUSE, OPTED_OUT, reason="opted_out")
    crashed = _contact(session, "003C", "carl@example.com")
    _survey(session, crashed, None, state=SurveyState.SENT, state_reason="sending", sent_at=T0)
    _write(
        session,
        "w-failed",
        OutboxState.FAILED,
        record_crm_id="003A",
        fields={"NPS_Score__c": 3},
        attempts=3,
        last_error="INVALID_FIELD: No such column 'NPS_Score__c'",
    )
    _write(
        session,
        "w-task",
        OutboxState.PENDING,
        object="task",
        op="create_task",
        fields={"subject": "Call back", "contact_id": "003A"},
        followup_id=followup.id,
    )
    _write(session, "w-done", OutboxState.DONE, record_crm_id="003A", fields={"X": 1})
    _write(session, "w-other", OutboxState.PENDING, record_crm_id="003Z", fields={"X": 1})
    _cycle(session, NOW - timedelta(hours=2), "ok", api_usage={"used": 1200, "limit": 15000})
    _cycle(
        session,
        NOW - timedelta(hours=1),
        "failed",
        "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.",
        pulled={"Contact": 3, "Case": 2},
        plan={"scheduled": 1, "refused": {"opted_out": 1}},
        api_usage={"used": 9000, "limit": 15000},
    )
    session.add(Lease(name=SCHEDULER, holder="host-1:42", acquired_at=NOW, expires_at=NOW + T1))
    session.flush()
    return session


class TestExplain:
    """What `explain` shows about a contact, an address or an account."""

    @pytest.mark.parametrize(
        ("who", "expected"),
        [
            pytest.param(
                JANE,
                [
                    "contact salesforce 003A j***@example.com, account 001A, language en",
                    "    opted out in the CRM: no",
                    "    suppressed locally: no",
                    "event support_case_closed:Case:500A: program support_case_closed,"
                    " record_change on Case 500A at 2026-03-05 12:00Z, planned 2026-03-05 14:00Z",
                    "    survey support_case_closed for 003A: send at 2026-03-05 14:00Z"
                    " (decided 2026-03-05 14:00Z)",
                    "        + opted_out: not opted out in the CRM",
                    "    survey N (support_case_closed): answered, by email in en",
                    "        scheduled 2026-03-05 14:00Z, sent 2026-03-05 14:00Z, reminded"
                    " 2026-03-08 12:00Z (1 reminder(s)), answered 2026-03-08 13:00Z,"
                    " expires 2026-03-19 12:00Z",
                    "        answer 3 (detractor), final, 2 version(s), via web,"
                    " received 2026-03-08 13:00Z",
                    "            tags: support; comment: slow support replies",
                    "        follow-up overdue (task 00T1, open): owner 005OWNER,"
                    " due 2026-03-09 12:00Z, first contact -, closed -, escalation level 1",
                    "event support_case_closed:Case:500L: program support_case_closed,"
                    " record_change on Case 500L at 2026-03-05 12:00Z,"
                    " waiting to be planned at 2026-03-10 15:00Z",
                    "CRM writes not yet applied:",
                    "    failed update Contact 003A [NPS_Score__c]: refused after 3 attempt(s):"
                    " INVALID_FIELD: No such column 'NPS_Score__c'",
                    "    pending create_task task [contact_id, subject]: 0 attempt(s),"
                    " next 2026-03-10 12:00Z",
                ],
                id="by-address-any-case",
            ),
            pytest.param(
                "003B",
                [
                    "contact salesforce 003B b***@example.com, account 001A",
                    "    opted out in the CRM: yes",
                    "    suppressed locally: yes (unsubscribed via web, 2026-03-05 12:00Z)",
                    "    survey support_case_closed for 003B: refused (opted_out)"
                    " (decided 2026-03-05 14:00Z)",
                    "        + no_email: has an e-mail address",
                    "        - opted_out: opted out in the CRM",
                    "        + min_interval: no survey within 90d",
                    "CRM writes: none pending or failed",
                ],
                id="refused-by-crm-id",
            ),
            pytest.param(
                "001A",
                [
                    "account salesforce 001A 'Northwind': 2 contact(s)",
                    "    003A j***@example.com: last survey support_case_closed answered"
                    " (2026-03-05 14:00Z), score 3 (detractor)",
                    "    003B b***@example.com: not surveyed: support_case_closed refused"
                    " (opted_out) 2026-03-05 14:00Z, opted out",
                ],
                id="account-lists-its-contacts",
            ),
            pytest.param(
                "003C",
                [
                    "surveys without a CRM event:",
                    "    survey N (support_case_closed): sent, by email in en",
                    "        possibly not delivered: the worker stopped while handing it over"
                    " (unless it is being sent right now); after survey.delivery.grace it is"
                    " re-sent once with the same Message-ID, or reported",
                ],
                id="crash-during-send",
            ),
        ],
    )
    def test_lines(self, world: Session, config: Config, who: str, expected: list[str]) -> None:
        """Each expected line appears, in order; the full address and name never do."""
        lines = [
            re.sub(r"survey \d+ \(", "survey N (", line)
            for line in explain(world, config, who, NOW)
        ]

        positions = [lines.index(line) for line in expected]
        assert positions == sorted(positions)
        text = "\n".join(lines).lower()
        assert JANE.lower() not in text
        assert BOB not in text
        assert "secret" not in text

    def test_other_contacts_writes_are_not_shown(self, world: Session, config: Config) -> None:
        """A pending write to another record is not part of Jane's story, nor a done one."""
        text = "\n".join(explain(world, config, "003A", NOW))

        assert "003Z" not in text
        assert "[X]" not in text

    def test_each_look_is_audited_by_pseudonym(self, world: Session, config: Config) -> None:
        """The audit log names the contact by CRM id and how it was found, never by address."""
        explain(world, config, f"  {JANE} ", NOW, actor="ops:alice")

        entry = world.scalars(select(AuditEntry)).one()
        assert (entry.actor, entry.action, entry.subject) == (
            "ops:alice",
            "explain",
            "contact:salesforce:003A",
        )
        assert entry.details == {"by": "email", "events": 2, "surveys": 1}

    @pytest.mark.parametrize("who", [pytest.param("nobody@example.com", id="address"), "003X"])
    def test_nothing_found(self, world: Session, config: Config, who: str) -> None:
        """An unknown address or id is an error naming it; nothing is audited."""
        with pytest.raises(NothingFound, match=who):
            explain(world, config, who, NOW)
        assert world.scalars(select(AuditEntry)).all() == []


class TestStatus:
    """What `status` reports, and when it calls the worker unhealthy."""

    def test_lines(self, world: Session, config: Config) -> None:
        """The failed cycle, budget, refused write, undelivered survey, overdue task and lease."""
        lines = [
            re.sub(r"survey \d+ invitation", "survey N invitation", line)
            for line in status(world, config, NOW)
        ]

        assert lines == [
            "status at 2026-03-10 12:00Z: NEEDS ATTENTION",
            "salesforce: last cycle failed at 2026-03-10 11:00Z (took 42s)",
            "    error: REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.",
            "    1 failed cycle step(s) in a row; the daemon tries again at 2026-03-10 11:05Z",
            "    pulled 5, events 0, scheduled 1, refused 1, answers 0, tasks 0, written 0,"
            " failed writes 0",
            "    refused by reason: opted_out 1",
            "    API budget: 9000 of 15000 daily calls used (60.00%; the worker may use 50%)",
            "outbox: pending 2, done 1, failed 1",
            "writes the CRM refused (1, newest first):",
            "    salesforce update Contact 003A: INVALID_FIELD: No such column 'NPS_Score__c'"
            " (3 attempt(s))",
            "surveys: sent 1, answered 1",
            "    1 send(s) whose delivery is unknown: the worker stopped while handing them"
            " over (check the relay's log for the Message-ID)",
            "        survey N invitation <nps.754626c81f42f68beda0e933f53e69d5@example.com>"
            " since 2026-03-05 12:00Z: sent once more with the same Message-ID 15m after it"
            " began",
            "follow-ups overdue (due passed, no first contact): 1",
            "    salesforce task 00T1, owner 005OWNER, due 2026-03-09 12:00Z (24h ago),"
            " escalation level 1",
            "daily work (account roll-ups, retention): not run yet (due daily at 03:00 UTC)",
            "scheduler lease: host-1:42",
        ]

    def test_refusals_counted_and_the_whole_cycle_timed(
        self, session: Session, config: Config
    ) -> None:
        """641 refusals for 2 reasons read 641 with the breakdown; a cycle whose steps were
        recorded apart took from its first step's start to its last step's end."""
        report = CrmReport("salesforce", cycle_started_at=NOW - timedelta(seconds=30))
        report.plan.refused.update({"not_in_audience": 600, "min_interval": 41})
        session.add(
            CycleRun(
                crm="salesforce",
                started_at=NOW - timedelta(seconds=2),
                finished_at=NOW,
                outcome="ok",
                stats=report_stats(report),
            )
        )
        session.flush()
        lines = status(session, config, NOW)
        assert "salesforce: last cycle ok at 2026-03-10 12:00Z (took 30s)" in lines
        assert (
            "    pulled 0, events 0, scheduled 0, refused 641, answers 0, tasks 0, written 0,"
            " failed writes 0" in lines
        )
        assert "    refused by reason: not_in_audience 600, min_interval 41" in lines

    def test_healthy_when_last_cycle_ok_and_nothing_refused(
        self, session: Session, config: Config
    ) -> None:
        """A failure followed by a good cycle is healthy; an expired lease is nobody's."""
        _cycle(session, NOW - timedelta(hours=2), "failed", "UNAVAILABLE: 503")
        _cycle(session, NOW - timedelta(hours=1), "ok")
        session.add(CycleRun(crm="salesforce", started_at=NOW, outcome="running", stats={}))
        session.add(Lease(name=SCHEDULER, holder="gone", acquired_at=T0, expires_at=T0 + T1))
        session.flush()

        state = gather(session, config, NOW)
        lines = render(state)

        assert state.healthy
        assert lines[0] == "status at 2026-03-10 12:00Z: healthy"
        assert "    a cycle started 2026-03-10 12:00Z has not finished" in lines[2]
        assert "    API budget: not reported by the CRM in that cycle" in lines
        assert lines[-1] == "scheduler lease: not held by any replica"

    @pytest.mark.parametrize(
        ("fallback", "line", "healthy"),
        [
            pytest.param("account_owner", "    1 to the account owner", True, id="stand-in"),
            pytest.param(
                "nobody",
                "    1 to nobody: unowned, set followup.fallback_manager or followup.managers",
                False,
                id="unowned",
            ),
        ],
    )
    def test_escalations_that_missed_the_person_named(
        self, world: Session, config: Config, fallback: str, line: str, healthy: bool
    ) -> None:
        """Open follow-ups whose escalation reached a stand-in are counted; nobody is unhealthy."""
        for row in world.scalars(select(CycleRun)):
            row.outcome, row.error = "ok", None
        for entry in world.scalars(select(OutboxEntry)):
            entry.state = OutboxState.DONE
        for survey in world.scalars(select(Survey).where(Survey.state_reason == "sending")):
            survey.state_reason = None  # the crashed hand-over resolved: no delivery unknown
        followup = world.scalars(select(FollowUp)).one()
        followup.escalation_fallback = fallback
        world.flush()

        state = gather(world, config, NOW)
        lines = render(state)

        assert state.escalation_fallbacks == {fallback: 1}
        assert state.healthy is healthy
        assert lines[lines.index(line) - 1].startswith("escalations that did not reach the person")

    def test_empty_store(self, session: Session, config: Config) -> None:
        """Before the first cycle: the configured CRM is listed, nothing is wrong."""
        lines = status(session, config, NOW)

        assert lines[1:3] == ["salesforce: no cycle has finished yet", "outbox: empty"]
        assert lines[0].endswith("healthy")

    def test_json(self, world: Session, config: Config) -> None:
        """The JSON document carries the same facts and the verdict."""
        document = json.loads(json.dumps(gather(world, config, NOW).as_json()))

        assert document["healthy"] is False
        assert document["cycles"][0]["api_used"] == 9000
        assert document["failed_writes"][0]["error"].startswith("INVALID_FIELD")
        assert document["overdue"][0]["due_at"] == "2026-03-09T12:00:00+00:00"
        assert document["surveys"] == {"sent": 1, "answered": 1}


class TestDryRunPlan:
    """What `sync --dry-run` prints from the rows a cycle added."""

    def test_new_surveys_refusals_and_writes(self, world: Session) -> None:
        """Rows above the marks are this run's; pending writes are all listed with their fields."""
        before = marks(world)
        contacts = [_contact(world, f"003N{i}", f"person{i}@example.com") for i in range(8)]
        for i, contact in enumerate(contacts[:7]):
            event = _event(world, f"600{i}", contact)
            _decision(world, event, contact, DecisionOutcome.REFUSE, PASSED, reason="min_interval")
        event = _event(world, "6007", contacts[7])
        survey = _survey(world, contacts[7], event, scheduled_for=NOW + timedelta(hours=1))
        _decision(world, event, contacts[7], DecisionOutcome.SEND, PASSED, survey=survey)
        _write(
            world,
            "w-new",
            OutboxState.PENDING,
            record_crm_id="003N7",
            fields={"NPS_Comment__c": "A very long comment that goes on and on about things"},
        )
        world.flush()

        lines = describe_plan(world, before, NOW)

        assert lines == [
            "new events: 8",
            "    support_case_closed: 8",
            "surveys that would go out: 1",
            "    support_case_closed: salesforce 003N7 p***@example.com at 2026-03-10 13:00Z"
            " by email in en",
            "refused: 7",
            "    min_interval: 7",
            "        support_case_closed for 003N0 (event support_case_closed:Case:6000)",
            "        support_case_closed for 003N1 (event support_case_closed:Case:6001)",
            "        support_case_closed for 003N2 (event support_case_closed:Case:6002)",
            "        support_case_closed for 003N3 (event support_case_closed:Case:6003)",
            "        support_case_closed for 003N4 (event support_case_closed:Case:6004)",
            "        ... and 2 more",
            "CRM writes that would be made: 3",
            "    salesforce update Contact 003Z: X=1 (queued earlier)",
            "    salesforce update Contact 003N7:"
            " NPS_Comment__c='A very long comment that goes on and on…'",
            "    salesforce create_task new task: contact_id='003A', subject='Call back'"
            " (queued earlier)",
        ]

    def test_nothing_new(self, world: Session) -> None:
        """A run that adds nothing says so and why, and still lists what earlier runs queued."""
        lines = describe_plan(world, marks(world), NOW)

        assert lines[:6] == [
            "new events: 0",
            "surveys that would go out: 0",
            "refused: 0",
            "nothing planned at 2026-03-10 12:00Z / 計画されたアンケートはありません, because:",
            "    1 event(s) wait for their time, the first at 2026-03-10 15:00Z (a delay, a date"
            " offset or a schedule window) / 予定時刻待ちのイベントがあります",
            "CRM writes that would be made: 2",
        ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("jane@example.com", "j***@example.com", id="address"),
        pytest.param(None, "(no e-mail)", id="none"),
        pytest.param("@example.com", "***", id="no-local-part"),
    ],
)
def test_mask_email(value: str | None, shown: str) -> None:
    """Only the first letter and the domain of an address are shown."""
    assert mask_email(value) == shown


def test_clip_masks_addresses_in_write_fields() -> None:
    """A field value that is an address is masked in the dry-run listing."""
    assert clip("jane@example.com") == "j***@example.com"
    assert clip(3) == "3"


class TestCommands:
    """Exit codes and output of `nps-worker explain` and `status`, ids being per database."""

    def test_explain_and_status(
        self, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """explain exits 0 when found and 1 when not; status exits 1 while the daily work is
        late (cycles ran months ago, the daily work never) or a write is refused."""
        upgrade(db_url)
        engine = make_engine(db_url)
        with session_factory(engine).begin() as session:
            _contact(session, "003A", JANE)
            _cycle(session, NOW - timedelta(hours=1), "ok")
        config = tmp_path / "config.yaml"
        config.write_text(f"database:\n  url: {db_url}\ncrm:\n  kind: salesforce\n", "utf-8")
        args = ["--config", str(config)]

        assert main(["explain", JANE, *args]) == 0
        out = capsys.readouterr().out
        assert "contact salesforce 003A j***@example.com\n" in out

        assert main(["explain", "003X", *args]) == 1
        assert "no contact or account with e-mail or CRM id '003X'" in capsys.readouterr().err

        assert main(["status", *args]) == 1
        assert "daily work (account roll-ups, retention): LATE" in capsys.readouterr().out
        sessions = session_factory(engine)
        jobs.record_start(sessions, DAILY, datetime.now(UTC))
        jobs.record_end(sessions, DAILY, datetime.now(UTC))

        assert main(["status", *args]) == 0
        assert "status at 2" in capsys.readouterr().out

        with session_factory(engine).begin() as session:
            _write(session, "w", OutboxState.FAILED, record_crm_id="003A", last_error="E: no")
        assert main(["status", "--format", "json", *args]) == 1
        assert json.loads(capsys.readouterr().out)["failed_total"] == 1
        engine.dispose()

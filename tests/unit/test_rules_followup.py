"""Follow-up rules: task, owner chain, SLA, severity, escalation tiers, asks, non-response."""

import datetime as dt
from typing import Any

import pytest

from worker.config.followup import FollowupConfig
from worker.domain import Account, Contact
from worker.rules.alerts import SentSurvey, non_response_alerts
from worker.rules.followup import (
    FollowupContext,
    FollowupFacts,
    ResponseFacts,
    next_escalation,
    plan_followup,
)

NOW = dt.datetime(2025, 6, 10, 3, 0, tzinfo=dt.UTC)  # Tuesday
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
CONTACT = Contact(
    crm="salesforce",
    crm_id="003A",
    email="a@example.com",
    first_name="Aiko",
    last_name="Sato",
    account_crm_id="001A",
    owner_id="005C",
    language="ja",
    time_zone=None,
    opted_out=False,
    modified_at=NOW,
)
ACCOUNT = Account(crm="salesforce", crm_id="001A", name="Acme", owner_id="005O", modified_at=NOW)
CONFIG = FollowupConfig.model_validate(
    {
        "detractor": {
            "owner": ["account_owner", "contact_owner", "00G000000000001"],
            "escalation": [
                {"level": 1, "after": "24h", "notify": "manager"},
                {
                    "level": 2,
                    "severity": ["severe"],
                    "when": {"account.ARR": {"gte": 1000000}},
                    "notify": "005000000000009",
                },
                {"level": 3, "after": "72h", "notify": "005000000000009"},
            ],
            "severity": [
                {"name": "severe", "min_score": 0, "max_score": 4, "sla": "8h"},
                {"name": "moderate", "min_score": 5, "max_score": 6},
            ],
        },
        "passive": {"task": {"enabled": True, "business_hours": True}},
        "promoter": {
            "asks": [
                {"kind": "review", "url": "https://g2.example.com/r", "not_asked_within": "90d"},
                {
                    "kind": "referral",
                    "min_score": 10,
                    "when": {"account.ARR": {"gte": 50000}},
                    "min_tenure": "180d",
                    "no_high_priority_case_within": "30d",
                },
            ]
        },
        "business_hours": {"start": "09:00", "end": "18:00", "time_zone": "Asia/Tokyo"},
        "non_response": {
            "enabled": True,
            "programs": ["renewal"],
            "key_contacts": {"contact.Title": {"in": ["CEO", "CFO"]}},
            "role_field": "Title",
        },
    }
)


def response(score: int, comment: str = "Too slow", **extra: Any) -> ResponseFacts:
    """A response of program `support` received at NOW."""
    return ResponseFacts(
        key="r1",
        program="support",
        score=score,
        received_at=NOW,
        comment=comment,
        tags=("quality",),
        **extra,
    )


def plan(score: int, context: FollowupContext | None = None, **people: Any) -> Any:
    """The follow-up plan for a response with this score."""
    return plan_followup(
        response(score),
        people.get("contact", CONTACT),
        people.get("account", ACCOUNT),
        context or FollowupContext(),
        CONFIG,
        now=NOW,
    )


TASKS = [
    pytest.param(3, "severe", "005O", NOW + 8 * HOUR, "high", id="severe-detractor-band-sla"),
    pytest.param(6, "moderate", "005O", NOW + 24 * HOUR, "high", id="moderate-detractor"),
    # Tuesday 12:00 Tokyo + 48 working hours: 6 + 9 x 4 (Wed-Fri, Mon) + 6 = next Tuesday 15:00
    pytest.param(
        7,
        None,
        "005O",
        dt.datetime(2025, 6, 17, 6, 0, tzinfo=dt.UTC),
        "normal",
        id="passive-business-hours",
    ),
]


class TestTask:
    """Category, severity, owner chain and SLA make the task."""

    @pytest.mark.parametrize(("score", "severity", "owner", "due", "priority"), TASKS)
    def test_task(
        self, score: int, severity: str | None, owner: str, due: dt.datetime, priority: str
    ) -> None:
        """The task carries the resolved owner, the due time and the priority."""
        result = plan(score)
        assert result.severity == severity
        assert result.task is not None
        assert (result.task.owner_id, result.task.due_at, result.task.priority) == (
            owner,
            due,
            priority,
        )

    def test_promoter_without_task(self) -> None:
        """Promoter tasks are off by default."""
        assert plan(9).task is None

    @pytest.mark.parametrize(
        ("account", "contact_owner", "owner", "source"),
        [
            pytest.param(ACCOUNT, "005C", "005O", "account_owner", id="account-owner"),
            pytest.param(None, "005C", "005C", "contact_owner", id="contact-owner"),
            pytest.param(None, None, "00G000000000001", "00G000000000001", id="fallback-queue"),
        ],
    )
    def test_owner_chain(
        self, account: Account | None, contact_owner: str | None, owner: str, source: str
    ) -> None:
        """The first link of the chain that resolves owns the task."""
        contact = Contact(**{**CONTACT.__dict__, "owner_id": contact_owner})
        task = plan(2, account=account, contact=contact).task
        assert (task.owner_id, task.owner_source) == (owner, source)

    @pytest.mark.parametrize(
        ("active", "owner", "source"),
        [
            pytest.param({"005O", "005C"}, "005O", "account_owner", id="all-active"),
            pytest.param({"005C"}, "005C", "contact_owner", id="account-owner-left"),
            pytest.param(
                {"00G000000000001"}, "00G000000000001", "00G000000000001", id="both-owners-left"
            ),
            pytest.param(None, "005O", "account_owner", id="activity-unknown"),
        ],
    )
    def test_owner_chain_skips_inactive_users(
        self, active: set[str] | None, owner: str, source: str
    ) -> None:
        """An owner who is not an active user (a rep who left) is skipped down the chain: the
        CRM would refuse the task (INACTIVE_OWNER_OR_USER)."""
        context = FollowupContext(active_users=None if active is None else frozenset(active))
        task = plan(2, context).task
        assert (task.owner_id, task.owner_source) == (owner, source)

    def test_nobody_active_in_the_chain_leaves_the_default_owner(self) -> None:
        """With nobody active in the chain the task has no owner: the CRM's default applies."""
        contact = Contact(**{**CONTACT.__dict__, "owner_id": None})
        no_fallback = FollowupConfig.model_validate({"detractor": {"owner": ["account_owner"]}})
        task = plan_followup(
            response(2),
            contact,
            ACCOUNT,
            FollowupContext(active_users=frozenset()),
            no_fallback,
            now=NOW,
        ).task
        assert task is not None
        assert task.owner_id is None

    def test_default_body_has_the_guided_response(self) -> None:
        """The default detractor body walks the owner through the five recovery steps."""
        task = plan_followup(
            response(2), CONTACT, ACCOUNT, FollowupContext(), FollowupConfig(), now=NOW
        ).task
        assert task is not None
        assert task.subject == "NPS 2 · Detractor: Aiko Sato, Acme · due Wed 2025-06-11 03:00 UTC"
        for step in (
            "Apologise and show empathy",
            "Confirm the facts",
            "Confirm expectations",
            "Interim measure",
            "Permanent fix",
        ):
            assert step in task.body
        assert "Too slow" in task.body
        assert "(severe)" in task.body
        assert task.dedup_key == "followup:r1"


ESCALATION = [
    pytest.param(2, {"account.ARR": 2000000}, 2, id="severe-big-account-at-once"),
    pytest.param(5, {"account.ARR": 2000000}, None, id="moderate-big-account-waits"),
    pytest.param(2, {"account.ARR": 1000}, None, id="severe-small-account-waits"),
]


class TestEscalation:
    """Tiers by severity, account value and SLA breach."""

    @pytest.mark.parametrize(("score", "values", "level"), ESCALATION)
    def test_at_once(self, score: int, values: dict[str, Any], level: int | None) -> None:
        """Big accounts with severe scores go to the executive tier immediately."""
        result = plan(score, FollowupContext(values=values))
        assert [e.level for e in result.escalations] == ([level] if level else [])

    @pytest.mark.parametrize(
        ("level", "overdue", "status", "expected"),
        [
            pytest.param(0, 23 * HOUR, "open", None, id="not-yet-overdue-enough"),
            pytest.param(0, 25 * HOUR, "overdue", 1, id="manager-after-24h"),
            pytest.param(1, 25 * HOUR, "overdue", None, id="already-at-manager"),
            pytest.param(0, 80 * HOUR, "overdue", 3, id="jumps-to-highest"),
            pytest.param(0, 80 * HOUR, "done", None, id="done-never-escalates"),
        ],
    )
    def test_sla_breach(
        self, level: int, overdue: dt.timedelta, status: Any, expected: int | None
    ) -> None:
        """An open task past due by a tier's `after` escalates to that tier, highest first."""
        facts = FollowupFacts(response(5), level, NOW - overdue, status, "005O")
        result = next_escalation(
            facts, CONTACT, ACCOUNT, FollowupContext(managers={"005O": "005M"}), CONFIG, now=NOW
        )
        assert (result.level if result else None) == expected
        if result is not None and result.level == 1:
            assert result.notify_id == "005M"

    @pytest.mark.parametrize(
        ("managers", "fallback", "account", "expected"),
        [
            pytest.param({"005O": "005M"}, "005F", ACCOUNT, ("005M", None), id="manager-found"),
            pytest.param({}, "005F", ACCOUNT, ("005F", "fallback_manager"), id="fallback"),
            pytest.param({}, None, ACCOUNT, ("005O", "account_owner"), id="account-owner"),
            pytest.param({}, None, None, (None, "nobody"), id="nobody"),
        ],
    )
    def test_who_a_manager_escalation_reaches(
        self,
        managers: dict[str, str],
        fallback: str | None,
        account: Account | None,
        expected: tuple[str | None, str | None],
    ) -> None:
        """The owner's manager; else `fallback_manager`; else the account owner; else nobody."""
        config = CONFIG.model_copy(update={"fallback_manager": fallback})
        facts = FollowupFacts(response(5), 0, NOW - 25 * HOUR, "overdue", "005O")
        result = next_escalation(
            facts, CONTACT, account, FollowupContext(managers=managers), config, now=NOW
        )
        assert result is not None
        assert (result.notify_id, result.fallback) == expected


ASKS = [
    pytest.param(9, {}, {"review": True, "referral": False}, id="nine-review-only"),
    pytest.param(10, {}, {"review": True, "referral": True}, id="ten-both"),
    pytest.param(
        10,
        {"last_asks": {"review": NOW - 30 * DAY}},
        {"review": False, "referral": True},
        id="asked-recently",
    ),
    pytest.param(
        10,
        {"high_priority_cases": [NOW - 10 * DAY]},
        {"review": True, "referral": False},
        id="recent-high-priority-case",
    ),
    pytest.param(
        10, {"customer_since": NOW - 30 * DAY}, {"review": True, "referral": False}, id="too-new"
    ),
    pytest.param(
        10,
        {"values": {"account.ARR": 100}},
        {"review": True, "referral": False},
        id="small-account",
    ),
]


class TestPromoterAsks:
    """Asks only when every condition holds."""

    @pytest.mark.parametrize(("score", "facts", "granted"), ASKS)
    def test_asks(self, score: int, facts: dict[str, Any], granted: dict[str, bool]) -> None:
        """Each ask says yes or no, with its checks."""
        context = FollowupContext(
            **{"values": {"account.ARR": 90000}, "customer_since": NOW - 400 * DAY, **facts}
        )
        assert {a.kind: a.granted for a in plan(score, context).asks} == granted


class TestNonResponse:
    """Key contacts who ignore a pre-renewal survey get the account owner a task."""

    @pytest.mark.parametrize(
        ("title", "program", "answered", "expires", "count"),
        [
            pytest.param("CEO", "renewal", False, NOW - DAY, 1, id="alert"),
            pytest.param("CEO", "renewal", True, NOW - DAY, 0, id="answered"),
            pytest.param("CEO", "renewal", False, NOW + DAY, 0, id="not-expired"),
            pytest.param("Intern", "renewal", False, NOW - DAY, 0, id="not-key-contact"),
            pytest.param("CEO", "support", False, NOW - DAY, 0, id="other-program"),
        ],
    )
    def test_alert(
        self, title: str, program: str, answered: bool, expires: dt.datetime, count: int
    ) -> None:
        """Only expired, unanswered surveys of listed programs to key contacts alert."""
        survey = SentSurvey("s1", program, "003A", NOW - 15 * DAY, expires, answered)
        plans = non_response_alerts(
            [survey],
            {"003A": CONTACT},
            {"001A": ACCOUNT},
            {"003A": {"contact.Title": title}},
            CONFIG,
            now=NOW,
        )
        assert len(plans) == count
        if plans:
            assert plans[0].owner_id == "005O"
            assert plans[0].dedup_key == "nonresponse:s1"
            assert "Aiko Sato (CEO)" in plans[0].body

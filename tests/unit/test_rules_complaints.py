"""Complaints whatever the score open a follow-up; reason routes pick the task's owner."""

import datetime as dt
from typing import Any

import pytest

from worker.config.followup import FollowupConfig
from worker.domain import Account, Contact
from worker.rules.followup import FollowupContext, ResponseFacts, plan_followup

NOW = dt.datetime(2026, 3, 10, 5, 0, tzinfo=dt.UTC)
CONTACT = Contact(
    crm="salesforce",
    crm_id="003A",
    email="a@example.com",
    first_name="Jane",
    last_name="Doe",
    account_crm_id="001A",
    owner_id="005000000000CON",
    language="en",
    time_zone=None,
    opted_out=False,
    modified_at=NOW,
)
ACCOUNT = Account(
    crm="salesforce", crm_id="001A", name="Acme", owner_id="005000000000ACC", modified_at=NOW
)
CONFIG = FollowupConfig.model_validate(
    {
        "complaints": {
            "enabled": True,
            "tags": ["support", "price_contract"],
            "keywords": {"en": ["cancel our contract"], "ja": ["解約"]},
        },
        "routes": [
            {"tags": ["price_contract"], "owner": ["account_owner"]},
            {"tags": ["quality"], "owner": ["00G000000000QUE"]},
        ],
        "detractor": {"owner": ["contact_owner"]},
    }
)


def _answer(score: int, comment: str, polarity: dict[str, str]) -> ResponseFacts:
    return ResponseFacts(
        key="r1",
        program="support",
        score=score,
        received_at=NOW,
        comment=comment,
        tags=tuple(polarity),
        polarity=polarity,
    )


def _plan(answer: ResponseFacts, config: FollowupConfig = CONFIG, **context: Any) -> Any:
    return plan_followup(answer, CONTACT, ACCOUNT, FollowupContext(**context), config, now=NOW).task


@pytest.mark.parametrize(
    ("score", "comment", "polarity", "opens"),
    [
        pytest.param(8, "Support never replied", {"support": "complaint"}, True, id="tag"),
        pytest.param(9, "Great support", {"support": "praise"}, False, id="praise"),
        pytest.param(7, "Slow UI", {"usability": "complaint"}, False, id="unlisted-tag"),
        pytest.param(9, "We may cancel our contract", {}, True, id="keyword-en"),
        pytest.param(8, "来月解約を検討しています", {}, True, id="keyword-ja"),
    ],
)
def test_a_complaint_opens_a_followup_whatever_the_score(
    score: int, comment: str, polarity: dict[str, str], opens: bool
) -> None:
    """A passive or promoter complaining of a listed tag, or in a listed word, gets a task."""
    task = _plan(_answer(score, comment, polarity))
    assert (task is not None) == opens
    if task is not None:
        assert "with a complaint" in task.subject
        assert task.due_at == NOW + dt.timedelta(hours=48)
        assert "1. Apologise and show empathy" in task.body


def test_complaints_are_off_by_default() -> None:
    """Without `followup.complaints.enabled` a passive's complaint opens nothing."""
    assert (
        _plan(_answer(8, "Support never replied", {"support": "complaint"}), FollowupConfig())
        is None
    )


@pytest.mark.parametrize(
    ("polarity", "owner"),
    [
        pytest.param(
            {"price_contract": "complaint"}, "005000000000ACC", id="pricing-account-manager"
        ),
        pytest.param({"quality": "complaint"}, "00G000000000QUE", id="quality-support-queue"),
        pytest.param({"usability": "complaint"}, "005000000000CON", id="no-route-category-chain"),
    ],
)
def test_routes_send_the_task_by_reason(polarity: dict[str, str], owner: str) -> None:
    """The first route whose tag the answer complains of owns the task; a queue id is taken
    as active even though it is no user."""
    task = _plan(
        _answer(3, "x", polarity), active_users=frozenset({"005000000000CON", "005000000000ACC"})
    )
    assert task is not None
    assert task.owner_id == owner

"""Recovery check-ins: one survey N days after a follow-up closed, through the minimum interval
once, so detractor recovery becomes measurable."""

import datetime as dt

import pytest

from tests.unit.test_rules_eligibility import ACCOUNT, CONTACT, NOW
from worker.config.programs import Program
from worker.config.survey import SurveyConfig
from worker.rules.eligibility import PastSurvey, Situation, check_eligibility
from worker.rules.triggers import ClosedFollowup, recovery_events

DAY = dt.timedelta(days=1)
RECOVERY = Program.model_validate(
    {"touchpoint": "recovery", "trigger": {"recovery": {"after": "14d"}}}
)


def _closed(category: str, key: str = "41") -> ClosedFollowup:
    return ClosedFollowup(key, category, NOW - 14 * DAY, "003A", "001A")


def test_a_closed_detractor_followup_fires_one_check_in_after_n_days() -> None:
    """Detractor follow-ups fire (keyed by the follow-up), others do not by default."""
    decisions = recovery_events(
        "checkin", RECOVERY, [_closed("detractor"), _closed("passive", "42")]
    )
    [decision] = decisions
    assert decision.event is not None
    assert decision.event.dedup_key == "checkin:recovery:41"
    assert decision.event.fire_at == NOW
    assert decision.event.contact_crm_id == "003A"


@pytest.mark.parametrize(
    ("history", "passes"),
    [
        pytest.param([PastSurvey("support", NOW - 20 * DAY, True)], True, id="through-interval"),
        pytest.param(
            [PastSurvey("support", NOW - 40 * DAY), PastSurvey("checkin", NOW - 20 * DAY)],
            False,
            id="only-once",
        ),
    ],
)
def test_the_check_in_passes_the_minimum_interval_once(
    history: list[PastSurvey], passes: bool
) -> None:
    """A survey 20 days ago does not stop the check-in; an earlier check-in within the
    interval does."""
    [decision] = recovery_events("checkin", RECOVERY, [_closed("detractor")])
    assert decision.event is not None
    result = check_eligibility(
        decision.event,
        CONTACT,
        ACCOUNT,
        Situation(history=history),
        program=RECOVERY,
        survey=SurveyConfig(),
        now=NOW,
    )
    check = next(c for c in result.checks if c.code == "min_interval")
    assert check.passed is passes
    assert (result.reason_code == "min_interval") is not passes

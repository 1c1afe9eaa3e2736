"""Decision records render to the lines `explain` and `sync --dry-run` print."""

import datetime as dt

import pytest

from worker.config.followup import FollowupConfig
from worker.config.programs import Program
from worker.config.survey import SurveyConfig
from worker.config.tags import default_taxonomy
from worker.domain import Account, Contact, TriggerRecord
from worker.rules.eligibility import Situation, check_eligibility
from worker.rules.explain import render
from worker.rules.followup import FollowupContext, ResponseFacts, plan_followup
from worker.rules.tagging import Tagger
from worker.rules.triggers import record_change_events

NOW = dt.datetime(2025, 6, 10, 3, 0, tzinfo=dt.UTC)
PROGRAM = Program.model_validate(
    {
        "touchpoint": "support",
        "trigger": {
            "record_change": {
                "object": "Case",
                "when": {"Status": {"changed_to": "Closed"}},
                "delay": "2h",
            }
        },
    }
)
CONTACT = Contact(
    crm="salesforce",
    crm_id="003A",
    email="a@example.com",
    first_name="Aiko",
    last_name="Sato",
    account_crm_id="001A",
    owner_id=None,
    language="en",
    time_zone="UTC",
    opted_out=True,
    modified_at=NOW,
)
ACCOUNT = Account(crm="salesforce", crm_id="001A", name="Acme", owner_id="005O", modified_at=NOW)
RECORD = TriggerRecord(
    crm="salesforce",
    object="Case",
    crm_id="500A",
    modified_at=NOW,
    values={"Status": "Closed"},
    contact_crm_id="003A",
    account_crm_id="001A",
)


def test_trigger_and_refusal_lines() -> None:
    """A fired trigger shows its event and clauses; a refused survey shows each check."""
    (decision,) = record_change_events(
        "closed",
        PROGRAM,
        {"Status": "Open"},
        RECORD,
        first_sync=False,
        now=NOW,
        backfill_window=dt.timedelta(7),
    )
    assert render(decision) == [
        "trigger closed (record_change) on Case 500A: fired - fires at 2025-06-10 05:00Z",
        "    event closed:Case:500A for 003A, fire at 2025-06-10 05:00Z",
        "    + Status changed_to 'Closed': was 'Open', now 'Closed' -> yes",
    ]
    assert decision.event is not None
    verdict = check_eligibility(
        decision.event,
        CONTACT,
        ACCOUNT,
        Situation(),
        program=PROGRAM,
        survey=SurveyConfig(),
        now=NOW,
    )
    lines = render(verdict)
    assert lines[0] == "survey closed for 003A: refused (opted_out)"
    assert "    - opted_out: not opted out in the CRM" in lines
    assert "    + no_email: has an e-mail address" in lines


def test_followup_and_tags_lines() -> None:
    """A detractor plan shows the task with owner and due time; tags show what matched."""
    tags = Tagger(default_taxonomy()).tag("Support never replied.", "en")
    plan = plan_followup(
        ResponseFacts("r1", "closed", 3, NOW, "Support never replied.", tags.tags),
        CONTACT,
        ACCOUNT,
        FollowupContext(),
        FollowupConfig(),
        now=NOW,
    )
    assert render(plan) == [
        "follow-up for response r1: detractor, severe",
        "    task followup:r1: 'NPS 3 · Detractor: Aiko Sato, Acme · due Wed 2025-06-11"
        " 03:00 UTC', high priority, owner 005O (account_owner), due 2025-06-11 03:00Z",
    ]
    assert render(tags) == [
        "tags: support (complaint)",
        "    from the comment: support ('support'), support ('never replied')",
    ]


def test_unknown_record_is_an_error() -> None:
    """Rendering something that is not a decision fails loudly."""
    with pytest.raises(TypeError, match="no text form for int"):
        render(3)

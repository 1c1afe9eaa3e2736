"""Properties over any sequence of events and answers: promise 1 and promise 2 hold in planning."""

import datetime as dt
import itertools
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from worker.config.programs import Program
from worker.config.survey import SurveyConfig
from worker.domain import Account, Contact, TriggerRecord
from worker.rules.eligibility import PastSurvey, Situation, check_eligibility
from worker.rules.triggers import record_change_events

START = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)
SURVEY = SurveyConfig.model_validate({"daily_cap": 3, "account_cap": {"count": 2, "per": "7d"}})
PROGRAMS = {
    name: Program.model_validate(
        {
            "touchpoint": name,
            "min_interval": interval,
            "trigger": {
                "record_change": {
                    "object": "Case",
                    "when": {"Status": {"changed_to": "Closed"}},
                    "delay": "2h",
                }
            },
        }
    )
    for name, interval in (("support", None), ("renewal", "180d"))
}
STATUSES = st.sampled_from(["New", "Open", "Closed", "Reopened"])
CONTACTS = [
    Contact(
        crm="salesforce",
        crm_id=f"003{n}",
        email=f"c{n}@example.com",
        first_name=None,
        last_name=None,
        account_crm_id=f"001{n % 2}",
        owner_id=None,
        language="en",
        time_zone=("Asia/Tokyo", "America/New_York", None)[n % 3],
        opted_out=False,
        modified_at=START,
    )
    for n in range(4)
]
ACCOUNTS = {
    f"001{n}": Account(
        crm="salesforce", crm_id=f"001{n}", name="A", owner_id=None, modified_at=START
    )
    for n in range(2)
}

# One observation: (record index, contact index, program, new status, hours since last, answered)
OBSERVATION = st.tuples(
    st.integers(0, 5),
    st.integers(0, 3),
    st.sampled_from(sorted(PROGRAMS)),
    STATUSES,
    st.integers(0, 24 * 60),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(OBSERVATION, max_size=60))
def test_planning_keeps_promises(observations: list[tuple[int, int, str, str, int, bool]]) -> None:
    """Feed every observation through triggers and eligibility, as the cycle would.

    No contact is planned twice within the global minimum interval (nor within a program's
    own interval), and each (program, record) source event is planned at most once.
    """
    now = START
    state: dict[tuple[str, int], dict[str, str]] = {}
    history: dict[str, list[PastSurvey]] = defaultdict(list)
    account_sends: dict[str, list[dt.datetime]] = defaultdict(list)
    per_day: dict[dt.date, int] = defaultdict(int)
    planned_keys: list[str] = []
    for index, person, program_id, status, hours, answered in observations:
        now += dt.timedelta(hours=hours)
        contact = CONTACTS[person]
        previous = state.get((program_id, index))
        values = {"Status": status}
        state[(program_id, index)] = values
        record = TriggerRecord(
            crm="salesforce",
            object="Case",
            crm_id=f"500{index}",
            modified_at=now,
            values=values,
            contact_crm_id=contact.crm_id,
            account_crm_id=contact.account_crm_id,
        )
        decisions = record_change_events(
            program_id,
            PROGRAMS[program_id],
            previous,
            record,
            first_sync=False,
            now=now,
            backfill_window=WEEK,
        )
        for decision in decisions:
            event = decision.event
            if event is None or event.dedup_key in planned_keys:
                continue  # the store's unique dedup key: a known event is never planned again
            account = ACCOUNTS[contact.account_crm_id or ""]
            verdict = check_eligibility(
                event,
                contact,
                account,
                Situation(
                    history=list(history[contact.crm_id]),
                    account_surveys=list(account_sends[account.crm_id]),
                    scheduled_per_day=dict(per_day),
                ),
                program=PROGRAMS[program_id],
                survey=SURVEY,
                now=now,
            )
            if verdict.outcome == "refuse":
                continue
            assert verdict.send_at is not None
            planned_keys.append(event.dedup_key)
            history[contact.crm_id].append(PastSurvey(program_id, verdict.send_at, answered))
            account_sends[account.crm_id].append(verdict.send_at)
            per_day[verdict.send_at.date()] += 1

    assert len(planned_keys) == len(set(planned_keys))
    assert all(count <= SURVEY.daily_cap for count in per_day.values())
    for past in history.values():
        times = sorted(item.at for item in past)
        assert all(b - a >= SURVEY.min_interval for a, b in itertools.pairwise(times))
    for sends in account_sends.values():
        times = sorted(sends)
        assert all(
            sum(1 for t in times if abs(t - at) < SURVEY.account_cap.per)
            <= SURVEY.account_cap.count
            for at in times
        )


@settings(max_examples=200, deadline=None)
@given(st.lists(STATUSES, min_size=1, max_size=30), st.booleans())
def test_one_key_per_record(statuses: list[str], seen_first: bool) -> None:
    """However a case's status moves, every firing of it carries the same dedup key."""
    program = PROGRAMS["support"]
    previous = {"Status": "New"} if seen_first else None
    keys = set()
    now = START
    for status in statuses:
        now += dt.timedelta(hours=1)
        record = TriggerRecord(
            crm="salesforce",
            object="Case",
            crm_id="500X",
            modified_at=now,
            values={"Status": status},
            contact_crm_id="003X",
            account_crm_id=None,
        )
        for decision in record_change_events(
            "support", program, previous, record, first_sync=False, now=now, backfill_window=WEEK
        ):
            if decision.event is not None:
                keys.add(decision.event.dedup_key)
        previous = {"Status": status}
    assert keys <= {"support:Case:500X"}

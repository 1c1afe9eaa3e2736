"""Triggers: record change, date offset and schedule, with backfill guard and stable dedup keys."""

import datetime as dt
from typing import Any

import pytest

from worker.config.programs import Program
from worker.domain import Account, Contact, TriggerRecord
from worker.rules.triggers import (
    date_offset_events,
    expand_contacts,
    record_change_events,
    schedule_events,
)

NOW = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)


def program(trigger: dict[str, Any], **extra: Any) -> Program:
    """A program with the given `{kind: {...}}` trigger."""
    return Program.model_validate({"touchpoint": "t", "trigger": trigger, **extra})


def record(values: dict[str, Any], *, modified: dt.datetime = NOW, **extra: Any) -> TriggerRecord:
    """A Case record linked to contact 003A and account 001A."""
    fields: dict[str, Any] = {
        "crm": "salesforce",
        "object": "Case",
        "crm_id": "500A",
        "modified_at": modified,
        "values": values,
        "contact_crm_id": "003A",
        "account_crm_id": "001A",
    }
    fields.update(extra)
    return TriggerRecord(**fields)


def contact(crm_id: str, account: str = "001A") -> Contact:
    """A contact at `account`."""
    return Contact(
        crm="salesforce",
        crm_id=crm_id,
        email=f"{crm_id}@example.com",
        first_name="A",
        last_name="B",
        account_crm_id=account,
        owner_id=None,
        language="en",
        time_zone=None,
        opted_out=False,
        modified_at=NOW,
    )


CLOSED = program(
    {
        "record_change": {
            "object": "Case",
            "when": {"Status": {"changed_to": "Closed"}},
            "delay": "2h",
        }
    }
)

RECORD_CHANGE = [
    pytest.param({"Status": "Open"}, {"Status": "Closed"}, {}, "fired", id="open-to-closed"),
    pytest.param(None, {"Status": "Closed"}, {}, "fired", id="new-record-already-closed"),
    pytest.param({"Status": "Closed"}, {"Status": "Closed"}, {}, "not_matched", id="was-closed"),
    pytest.param({"Status": "New"}, {"Status": "Open"}, {}, "not_matched", id="not-closed"),
    pytest.param(
        {"Status": "Open"},
        {"Status": "Closed"},
        {"first_sync": True},
        "first_sync",
        id="first-sync",
    ),
    pytest.param(
        {"Status": "Open"},
        {"Status": "Closed"},
        {"modified": NOW - 2 * WEEK},
        "before_backfill_window",
        id="older-than-backfill",
    ),
    pytest.param(
        {"Status": "Open"}, {"Status": "Closed"}, {"deleted": True}, "deleted", id="deleted"
    ),
    pytest.param(
        {"Status": "Open"},
        {"Status": "Closed"},
        {"contact_crm_id": None},
        "no_contact",
        id="no-contact",
    ),
]


class TestRecordChange:
    """A record fires when its condition becomes true, once, inside the backfill window."""

    @pytest.mark.parametrize(("before", "after", "options", "code"), RECORD_CHANGE)
    def test_decision(
        self,
        before: dict[str, Any] | None,
        after: dict[str, Any],
        options: dict[str, Any],
        code: str,
    ) -> None:
        """The decision code says what happened and why."""
        first_sync = options.pop("first_sync", False)
        decisions = record_change_events(
            "closed",
            CLOSED,
            before,
            record(after, **options),
            first_sync=first_sync,
            now=NOW,
            backfill_window=WEEK,
        )
        assert [d.reason_code for d in decisions] == [code]
        assert decisions[0].fired is (code == "fired")

    def test_event_fields(self) -> None:
        """Fire time is the change plus the delay; the key is one per case, ever."""
        changed = NOW - dt.timedelta(hours=1)
        (decision,) = record_change_events(
            "closed",
            CLOSED,
            {"Status": "Open"},
            record({"Status": "Closed"}, modified=changed),
            first_sync=False,
            now=NOW,
            backfill_window=WEEK,
        )
        event = decision.event
        assert event is not None
        assert (event.dedup_key, event.contact_crm_id, event.account_crm_id) == (
            "closed:Case:500A",
            "003A",
            "001A",
        )
        assert (event.occurred_at, event.fire_at) == (changed, changed + dt.timedelta(hours=2))

    def test_reclosed_case_has_the_same_key(self) -> None:
        """Closed, reopened, closed again: the same dedup key, so the store keeps one survey."""
        keys = set()
        for before in ({"Status": "Open"}, {"Status": "Reopened"}):
            (decision,) = record_change_events(
                "closed",
                CLOSED,
                before,
                record({"Status": "Closed"}),
                first_sync=False,
                now=NOW,
                backfill_window=WEEK,
            )
            assert decision.event is not None
            keys.add(decision.event.dedup_key)
        assert keys == {"closed:Case:500A"}

    def test_contact_field_path(self) -> None:
        """`contact.field` reads the contact id from the record."""
        p = program(
            {
                "record_change": {
                    "object": "Case",
                    "when": {"Status": "Closed"},
                    "contact": {"field": "Requester__c"},
                }
            }
        )
        (decision,) = record_change_events(
            "p",
            p,
            {"Status": "Open"},
            record({"Status": "Closed", "Requester__c": "003Z"}),
            first_sync=False,
            now=NOW,
            backfill_window=WEEK,
        )
        assert decision.event is not None
        assert decision.event.contact_crm_id == "003Z"


class TestAccountContacts:
    """`account_contacts` surveys every matching contact of the record's account, once each."""

    def test_expand(self) -> None:
        """One event per matching contact of the same account, keyed per contact."""
        p = program(
            {
                "record_change": {
                    "object": "Account",
                    "when": {"Stage": {"changed_to": "Live"}},
                    "contact": {"account_contacts": {"contact.Role": "Admin"}},
                }
            }
        )
        (decision,) = record_change_events(
            "p",
            p,
            {"Stage": "Setup"},
            record({"Stage": "Live"}, contact_crm_id=None),
            first_sync=False,
            now=NOW,
            backfill_window=WEEK,
        )
        assert decision.event is not None
        people = [contact("003A"), contact("003B"), contact("003C", account="001Z")]
        values = {"003A": {"Role": "Admin"}, "003B": {"Role": "User"}, "003C": {"Role": "Admin"}}
        account = Account(crm="salesforce", crm_id="001A", name="A", owner_id=None, modified_at=NOW)
        events = expand_contacts(decision.event, people, {"001A": account}, values)
        assert [(e.contact_crm_id, e.dedup_key) for e in events] == [("003A", "p:Case:500A:003A")]


RENEWAL = program(
    {
        "date_offset": {
            "object": "Opportunity",
            "field": "Renewal__c",
            "offset": "-30d",
            "when": {"Type": "Renewal"},
        }
    }
)

DATE_OFFSET = [
    pytest.param({"Type": "Renewal", "Renewal__c": "2025-07-10"}, "fired", id="due-today"),
    pytest.param({"Type": "Renewal", "Renewal__c": "2025-07-05"}, "fired", id="due-5-days-ago"),
    pytest.param({"Type": "Renewal", "Renewal__c": "2025-08-01"}, "not_yet", id="not-yet"),
    pytest.param(
        {"Type": "Renewal", "Renewal__c": "2025-06-20"}, "before_backfill_window", id="too-old"
    ),
    pytest.param({"Type": "New", "Renewal__c": "2025-07-10"}, "not_matched", id="filtered-out"),
    pytest.param({"Type": "Renewal", "Renewal__c": None}, "no_date", id="no-date"),
]


class TestDateOffset:
    """Fires once per record and date, when date + offset has come, inside the backfill window."""

    @pytest.mark.parametrize(("values", "code"), DATE_OFFSET)
    def test_decision(self, values: dict[str, Any], code: str) -> None:
        """The decision code says what happened."""
        decisions = date_offset_events(
            "renewal", RENEWAL, record(values), now=NOW, backfill_window=WEEK
        )
        assert [d.reason_code for d in decisions] == [code]

    def test_not_yet_says_when(self) -> None:
        """A future fire time is handed back so the cycle can look again then."""
        (decision,) = date_offset_events(
            "renewal",
            RENEWAL,
            record({"Type": "Renewal", "Renewal__c": "2025-08-01"}),
            now=NOW,
            backfill_window=WEEK,
        )
        assert decision.next_check_at == dt.datetime(2025, 7, 2, tzinfo=dt.UTC)

    def test_moved_date_gets_a_new_key(self) -> None:
        """The same date keeps its key; a moved renewal date fires again under a new key."""
        keys = []
        for day in ("2025-07-10", "2025-07-10", "2025-07-12"):
            (decision,) = date_offset_events(
                "renewal",
                RENEWAL,
                record({"Type": "Renewal", "Renewal__c": day}),
                now=NOW + dt.timedelta(days=2),
                backfill_window=WEEK,
            )
            assert decision.event is not None
            keys.append(decision.event.dedup_key)
        assert keys[0] == keys[1] != keys[2]


QUARTERLY = program(
    {"schedule": {"cron": "0 9 1 1,4,7,10 *", "time_zone": "Asia/Tokyo", "window": "3d"}}
)
PERIOD = dt.datetime(2025, 7, 1, 0, 0, tzinfo=dt.UTC)  # 09:00 in Tokyo

SCHEDULE = [
    pytest.param(None, PERIOD + dt.timedelta(hours=1), 1, id="first-run-recent-period"),
    pytest.param(None, PERIOD + 2 * WEEK, 0, id="first-run-period-too-old"),
    pytest.param(PERIOD - dt.timedelta(days=1), PERIOD + dt.timedelta(days=1), 1, id="due"),
    pytest.param(PERIOD, PERIOD + dt.timedelta(days=1), 0, id="already-run"),
    pytest.param(
        PERIOD - dt.timedelta(days=200),
        PERIOD + dt.timedelta(hours=1),
        1,
        id="missed-periods-fire-once",
    ),
    pytest.param(PERIOD - dt.timedelta(days=2), PERIOD - dt.timedelta(days=1), 0, id="no-period"),
]


class TestSchedule:
    """The latest cron period within the backfill window fires once per contact."""

    @pytest.mark.parametrize(("last_run", "now", "periods"), SCHEDULE)
    def test_periods(self, last_run: dt.datetime | None, now: dt.datetime, periods: int) -> None:
        """At most one period fires per run, one event per contact."""
        decisions = schedule_events(
            "q",
            QUARTERLY,
            [contact("003A"), contact("003B")],
            last_run=last_run,
            now=now,
            backfill_window=WEEK,
        )
        assert len(decisions) == 2 * periods
        assert all(d.event and d.event.occurred_at == PERIOD for d in decisions)

    def test_spread_is_stable_and_inside_the_window(self) -> None:
        """Each contact's send time is within 3 days of the period and the same every run."""
        people = [contact(f"003{n:03d}") for n in range(50)]
        runs = [
            schedule_events(
                "q",
                QUARTERLY,
                people,
                last_run=None,
                now=PERIOD + dt.timedelta(hours=hours),
                backfill_window=WEEK,
            )
            for hours in (1, 5)
        ]
        fire = [[d.event.fire_at for d in run if d.event] for run in runs]
        assert fire[0] == fire[1]
        assert all(PERIOD <= at < PERIOD + dt.timedelta(days=3) for at in fire[0])
        assert len(set(fire[0])) > 40
        keys = {d.event.dedup_key for d in runs[0] if d.event}
        assert "q:schedule:2025-07-01T00:00Z:003000" in keys

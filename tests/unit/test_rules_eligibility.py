"""Eligibility: each rule in order, with stable refusal codes, send times and the timeline."""

import dataclasses
import datetime as dt
from typing import Any

import pytest

from worker.config.programs import Program
from worker.config.survey import SurveyConfig
from worker.domain import Account, Contact
from worker.rules.eligibility import PastSurvey, Situation, check_eligibility, survey_timeline
from worker.rules.triggers import EventCandidate

NOW = dt.datetime(2025, 6, 10, 3, 0, tzinfo=dt.UTC)  # Tuesday 12:00 in Tokyo, 03:00 UTC
DAY = dt.timedelta(days=1)
SURVEY = SurveyConfig()
PROGRAM = Program.model_validate(
    {
        "touchpoint": "support",
        "trigger": {"record_change": {"object": "Case", "when": {"Status": "Closed"}}},
        "audience": {"account.Type": "Customer"},
        "exclude": [{"account.Status": "Churned"}],
        "min_interval": "180d",
    }
)
CONTACT = Contact(
    crm="salesforce",
    crm_id="003A",
    email="a@example.com",
    first_name="A",
    last_name="B",
    account_crm_id="001A",
    owner_id="005C",
    language="ja",
    time_zone="Asia/Tokyo",
    opted_out=False,
    modified_at=NOW,
)
ACCOUNT = Account(crm="salesforce", crm_id="001A", name="Acme", owner_id="005O", modified_at=NOW)
VALUES = {"account.Type": "Customer", "account.Status": "Active"}


def candidate(fire_at: dt.datetime = NOW, key: str = "p:Case:500A") -> EventCandidate:
    """A candidate of program `p` for CONTACT."""
    return EventCandidate(
        dedup_key=key,
        program="p",
        kind="record_change",
        object="Case",
        record_crm_id="500A",
        contact_crm_id="003A",
        account_crm_id="001A",
        occurred_at=fire_at,
        fire_at=fire_at,
    )


RULES = [
    pytest.param({"contact": None}, {}, "contact_missing", id="contact-missing"),
    pytest.param(
        {"contact": dataclasses.replace(CONTACT, email=None)}, {}, "no_email", id="no-email"
    ),
    pytest.param(
        {"contact": dataclasses.replace(CONTACT, email=" ")}, {}, "no_email", id="blank-email"
    ),
    pytest.param(
        {"contact": dataclasses.replace(CONTACT, opted_out=True)}, {}, "opted_out", id="opted-out"
    ),
    pytest.param({}, {"suppressed": True}, "unsubscribed", id="unsubscribed"),
    pytest.param(
        {}, {"values": {**VALUES, "account.Type": "Partner"}}, "not_in_audience", id="audience"
    ),
    pytest.param(
        {}, {"values": {**VALUES, "account.Status": "Churned"}}, "excluded", id="excluded"
    ),
    pytest.param(
        {}, {"history": [PastSurvey("other", NOW - 30 * DAY)]}, "min_interval", id="global-interval"
    ),
    pytest.param(
        {},
        {"history": [PastSurvey("other", NOW + 30 * DAY)]},
        "min_interval",
        id="global-interval-planned-later",
    ),
    pytest.param(
        {},
        {"history": [PastSurvey("p", NOW - 120 * DAY)]},
        "program_interval",
        id="program-interval",
    ),
    pytest.param({}, {"account_surveys": [NOW - DAY] * 5}, "account_cap", id="account-cap"),
    pytest.param(
        {"program": PROGRAM.model_copy(update={"sample": 0.01})},
        {},
        "sampled_out",
        id="sampled-out",
    ),
    pytest.param(
        {}, {"history": [PastSurvey("other", NOW - 91 * DAY)]}, None, id="interval-passed"
    ),
    pytest.param({}, {"account_surveys": [NOW - 8 * DAY] * 9}, None, id="cap-window-passed"),
    pytest.param({}, {}, None, id="eligible"),
]


class TestRules:
    """Each rule refuses with its own code; the first failure is the reason."""

    @pytest.mark.parametrize(("args", "facts", "code"), RULES)
    def test_reason(self, args: dict[str, Any], facts: dict[str, Any], code: str | None) -> None:
        """The refusal code (or none) matches the rule that applies."""
        result = check_eligibility(
            candidate(),
            args.get("contact", CONTACT),
            ACCOUNT,
            Situation(**{"values": VALUES, **facts}),
            program=args.get("program", PROGRAM),
            survey=SURVEY,
            now=NOW,
        )
        assert result.reason_code == code
        assert (result.outcome == "refuse") is (code is not None)

    def test_every_check_is_reported_in_order(self) -> None:
        """Explain sees each rule, passed or failed, in a fixed order."""
        result = check_eligibility(
            candidate(),
            CONTACT,
            ACCOUNT,
            Situation(values=VALUES),
            program=PROGRAM,
            survey=SURVEY,
            now=NOW,
        )
        assert [c.code for c in result.checks] == [
            "no_email",
            "opted_out",
            "unsubscribed",
            "not_in_audience",
            "excluded",
            "quiet_hours",
            "daily_cap",
            "min_interval",
            "program_interval",
            "account_cap",
            "sampled_out",
        ]
        assert result.outcome == "send"
        assert result.send_at == NOW


TIMING = [
    pytest.param(NOW, {}, NOW, id="now-in-office-hours"),
    pytest.param(NOW + dt.timedelta(hours=2), {}, NOW + dt.timedelta(hours=2), id="delay"),
    pytest.param(
        dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC),
        {},  # 21:00 Tokyo
        dt.datetime(2025, 6, 10, 23, 0, tzinfo=dt.UTC),
        id="quiet-evening-to-8am",
    ),
    pytest.param(
        dt.datetime(2025, 6, 13, 12, 0, tzinfo=dt.UTC),
        {},  # Friday 21:00 Tokyo
        dt.datetime(2025, 6, 15, 23, 0, tzinfo=dt.UTC),
        id="friday-night-to-monday",
    ),
    pytest.param(
        NOW,
        {"scheduled_per_day": {NOW.date(): 1000}},
        dt.datetime(2025, 6, 11, 0, 0, tzinfo=dt.UTC),
        id="daily-cap-overflow-next-day",
    ),
]


class TestSendTime:
    """Delay, quiet hours, business days and the daily cap in the contact's time zone."""

    @pytest.mark.parametrize(("fire_at", "facts", "send_at"), TIMING)
    def test_send_at(
        self, fire_at: dt.datetime, facts: dict[str, Any], send_at: dt.datetime
    ) -> None:
        """The survey goes at the first allowed moment; later than now means `defer`."""
        result = check_eligibility(
            candidate(fire_at),
            CONTACT,
            ACCOUNT,
            Situation(values=VALUES, **facts),
            program=PROGRAM,
            survey=SURVEY,
            now=NOW,
        )
        assert result.send_at == send_at
        assert result.outcome == ("send" if send_at <= NOW else "defer")

    def test_holiday(self) -> None:
        """A configured holiday is skipped like a weekend."""
        survey = SurveyConfig.model_validate({"quiet_hours": {"holidays": ["2025-06-11"]}})
        late = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
        result = check_eligibility(
            candidate(late),
            CONTACT,
            ACCOUNT,
            Situation(values=VALUES),
            program=PROGRAM,
            survey=survey,
            now=NOW,
        )
        assert result.send_at == dt.datetime(2025, 6, 11, 23, 0, tzinfo=dt.UTC)

    def test_daily_cap_full_for_a_month(self) -> None:
        """A cap that never frees up refuses rather than planning forever."""
        full = {NOW.date() + n * DAY: 1000 for n in range(40)}
        result = check_eligibility(
            candidate(),
            CONTACT,
            ACCOUNT,
            Situation(values=VALUES, scheduled_per_day=full),
            program=PROGRAM,
            survey=SURVEY,
            now=NOW,
        )
        assert result.reason_code == "daily_cap"

    def test_timeline(self) -> None:
        """Reminders every `after`, expiry after `expiry`, from the send time."""
        survey = SurveyConfig.model_validate({"reminders": {"count": 2, "after": "3d"}})
        timeline = survey_timeline(NOW, survey)
        assert timeline.reminders == (NOW + 3 * DAY, NOW + 6 * DAY)
        assert timeline.expires_at == NOW + 14 * DAY

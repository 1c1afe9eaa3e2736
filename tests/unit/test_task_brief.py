"""Follow-up tasks as reps read them: moment, context, due time, guided response, language."""

# ruff: noqa: RUF001 - Japanese text uses full-width punctuation

import datetime as dt

import pytest

from worker.config.followup import FollowupConfig
from worker.crm_types import UserProfile
from worker.domain import Account, Contact
from worker.rules.followup import FollowupContext, ResponseFacts, plan_followup
from worker.rules.task_brief import (
    CallContext,
    Moment,
    PastAnswer,
    escalation_text,
    note_subject,
    read_outcomes,
    rep_for,
)
from worker.rules.task_texts import person_name

NOW = dt.datetime(2026, 3, 10, 5, 0, tzinfo=dt.UTC)
EN_REP = UserProfile("005000000000EN1", "Dana", "Brooks", "en", "America/New_York")
JA_REP = UserProfile("005000000000JA1", "健", "田中", "ja", "Asia/Tokyo")
CALL = CallContext(
    moment=Moment("Case", "500A", "Export times out", "https://acme.my.salesforce.com/500A"),
    touchpoint="support",
    earlier=(PastAnswer(dt.datetime(2025, 11, 2, tzinfo=dt.UTC), 8),),
    answer_count=2,
    account_nps=12.5,
    account_trend=-8.0,
    arr=120000,
    renewal="2026-06-30",
    tag_labels={"support": {"en": "Support", "ja": "サポート"}},
    polarity={"support": "complaint"},
    users={"005000000000EN1": EN_REP, "005000000000JA1": JA_REP},
)
ANSWER = ResponseFacts(
    key="r7",
    program="support_case_closed",
    score=3,
    received_at=NOW,
    comment="Nobody called back",
    tags=("support",),
)


def _task(owner: str, first: str, last: str, config: FollowupConfig | None = None) -> str:
    contact = Contact(
        crm="salesforce",
        crm_id="003A",
        email="a@example.com",
        first_name=first,
        last_name=last,
        account_crm_id="001A",
        owner_id=None,
        language=None,
        time_zone=None,
        opted_out=False,
        modified_at=NOW,
    )
    account = Account(crm="salesforce", crm_id="001A", name="Acme", owner_id=owner, modified_at=NOW)
    plan = plan_followup(
        ANSWER, contact, account, FollowupContext(call=CALL), config or FollowupConfig(), now=NOW
    )
    assert plan.task is not None
    return f"{plan.task.subject}\n---\n{plan.task.body}"


class TestTaskText:
    """The task a detractor earns, in its owner's language and time zone."""

    def test_english_rep(self) -> None:
        """An English rep reads the moment with its link, the context, a due time in New
        York, reason labels, the owner chain by name and the five steps with outcome lines."""
        task = _task("005000000000EN1", "Jane", "Doe")
        assert task.startswith("NPS 3 · Detractor: Jane Doe, Acme · due Wed 2026-03-11 01:00 EDT")
        for part in (
            'About: Case "Export times out" https://acme.my.salesforce.com/500A',
            "Program: support_case_closed (touchpoint: support)",
            "Due: Wed 2026-03-11 01:00 EDT (24 h SLA)",
            "Owner: Dana Brooks · chain: account owner (Dana Brooks) → contact owner",
            "Reasons: Support (complaint)",
            "Earlier answers: 8 (2025-11-01)",
            "Answers in all: 2",
            "Account NPS: +12.5 (trend -8.0 against the previous window)",
            "ARR: 120,000",
            "Renewal: 2026-06-30",
            "1. Apologise and show empathy",
            "5. Permanent fix",
            "[5] Permanent fix:",
        ):
            assert part in task
        assert "support_case_closed" in task
        assert "\nReasons: support" not in task

    def test_japanese_rep(self) -> None:
        """A Japanese rep (LanguageLocaleKey ja) reads Japanese, names family name first,
        the customer with 様, the due time in JST."""
        task = _task("005000000000JA1", "愛子", "佐藤")
        assert task.startswith(
            "NPS 3・批判者：佐藤 愛子 様（Acme）・期限 2026-03-11（水）14:00 JST"
        )
        for part in (
            "対象：Case「Export times out」",
            "担当：田中 健",
            "理由：サポート（不満）",
            "取引先の NPS：+12.5",
            "1. お詫びと共感",
            "[4] 暫定対応：",
        ):
            assert part in task

    def test_config_overrides_the_crm_language(self) -> None:
        """`followup.reps` sets an owner's language where the CRM says otherwise."""
        config = FollowupConfig.model_validate(
            {"reps": {"005000000000EN1": {"language": "ja", "time_zone": "Asia/Tokyo"}}}
        )
        task = _task("005000000000EN1", "Jane", "Doe", config)
        assert "批判者" in task
        assert "担当：Brooks Dana" in task

    def test_revops_template_wins(self) -> None:
        """A template in the config replaces the built-in text."""
        config = FollowupConfig.model_validate(
            {"detractor": {"task": {"subject": "Call {{ contact.name }}", "body": "x"}}}
        )
        assert _task("005000000000EN1", "Jane", "Doe", config) == "Call Jane Doe\n---\nx"

    def test_an_unknown_rep_gets_the_defaults(self) -> None:
        """An owner the CRM does not describe gets `rep_language` and `rep_time_zone`."""
        config = FollowupConfig.model_validate(
            {"rep_language": "ja", "rep_time_zone": "Asia/Tokyo"}
        )
        rep = rep_for("005000000000XX1", {}, config)
        assert (rep.language, rep.time_zone, rep.name) == ("ja", "Asia/Tokyo", None)


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        pytest.param("en", "NPS 3 · Detractor", id="en"),
        pytest.param("ja", "NPS 3・批判者", id="ja"),
    ],
)
def test_history_subject_shows_the_score(language: str, subject: str) -> None:
    """The timeline entry's subject carries the score and category."""
    assert note_subject(3, language) == subject


@pytest.mark.parametrize(
    ("first", "last", "language", "shown"),
    [
        pytest.param("Aiko", "Sato", "en", "Aiko Sato", id="romanised-in-english"),
        pytest.param("Aiko", "Sato", "ja", "Sato Aiko", id="romanised-in-japanese"),
        pytest.param("愛子", "佐藤", "en", "佐藤 愛子", id="kanji-in-english"),
        pytest.param(None, "Doe", "en", "Doe", id="last-only"),
    ],
)
def test_name_order(first: str | None, last: str, language: str, shown: str) -> None:
    """Japanese names are written family name first."""
    assert person_name(first, last, language) == shown


class TestOutcomes:
    """The outcome lines a rep fills in are read back by step."""

    @pytest.mark.parametrize("owner", ["005000000000EN1", "005000000000JA1"])
    def test_filled_lines_are_read(self, owner: str) -> None:
        """What follows each colon is the step's outcome; empty lines are left out."""
        body = _task(owner, "Jane", "Doe").split("\n---\n", 1)[1]
        assert read_outcomes(body) == {}
        lines = body.splitlines()
        lines[-5] += " Called, apologised"
        lines[-2] += " Daily export split in two"
        assert read_outcomes("\n".join(lines)) == {
            1: "Called, apologised",
            4: "Daily export split in two",
        }


def test_escalation_names_customer_comment_and_owner() -> None:
    """An escalation task carries the customer, the comment and the original owner by name."""
    reader = rep_for("005000000000JA1", CALL.users, FollowupConfig())
    subject, body = escalation_text(
        level=1,
        score=3,
        comment="Nobody called back",
        customer="Jane Doe 様（Acme）",
        reader=reader,
        notify="manager",
        reason="期限を 24 h 過ぎても未対応",
        owner_name="Brooks Dana",
        original_due=NOW,
        due_at=NOW + dt.timedelta(hours=24),
    )
    assert subject == "エスカレーション（レベル 1）：NPS 3・批判者：Jane Doe 様（Acme）"
    assert "お客様：Jane Doe 様（Acme）" in body
    assert "コメント：Nobody called back" in body
    assert "元のタスクの担当は Brooks Dana です" in body
    assert "マネージャー" in body

"""The answer rules shared by the page, the webhook and the import, as a table."""

from datetime import UTC, datetime

import pytest

from worker.surveys import answer_fields
from worker.surveys.answer_fields import FieldError

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class TestScore:
    """0 to 10 in ASCII digits; `7.0` only where spreadsheets write it."""

    @pytest.mark.parametrize(
        ("raw", "decimal_zero", "expected"),
        [
            pytest.param("0", False, 0, id="zero"),
            pytest.param(" 10 ", False, 10, id="spaces"),
            pytest.param("07", False, 7, id="leading-zero"),
            pytest.param("7.0", True, 7, id="spreadsheet-float"),
            pytest.param("7.00", True, 7, id="spreadsheet-float-2"),
        ],
    )
    def test_accepted(self, raw: str, decimal_zero: bool, expected: int) -> None:
        """Whole numbers as people and spreadsheets write them."""
        assert answer_fields.score("score", raw, decimal_zero=decimal_zero) == expected

    @pytest.mark.parametrize(
        ("raw", "decimal_zero", "code"),
        [
            pytest.param("", False, "missing", id="empty"),
            pytest.param("11", False, "invalid", id="eleven"),
            pytest.param("-1", False, "invalid", id="negative"),
            pytest.param("7.0", False, "invalid", id="float-on-the-page"),
            pytest.param("7.5", True, "invalid", id="fraction"),
            pytest.param("7.", True, "invalid", id="dot"),
            pytest.param("\uff17", True, "invalid", id="fullwidth"),
            pytest.param("\u0667", True, "invalid", id="arabic-indic"),
            pytest.param("\u00b2", True, "invalid", id="superscript"),
            pytest.param("100", True, "invalid", id="three-digits"),
        ],
    )
    def test_refused(self, raw: str, decimal_zero: bool, code: str) -> None:
        """Anything else names the field and says why."""
        with pytest.raises(FieldError) as refused:
            answer_fields.score("score", raw, decimal_zero=decimal_zero)
        assert (refused.value.field, refused.value.code) == ("score", code)

    def test_a_foreign_digit_gets_a_hint(self) -> None:
        """Full-width digits (Japanese input) are told to use 0-9."""
        with pytest.raises(FieldError, match="use the digits 0-9"):
            answer_fields.score("score", "\uff19")


class TestComment:
    """Trimmed, line ends normalised, bounded, no control characters."""

    def test_line_ends_and_blank(self) -> None:
        """CR LF and lone CR become LF; an empty comment is none."""
        assert answer_fields.comment("comment", " a\r\nb\rc\td ") == "a\nb\nc\td"
        assert answer_fields.comment("comment", "  \n ") is None

    @pytest.mark.parametrize(
        ("raw", "code"),
        [
            pytest.param("a\x00b", "control_characters", id="nul"),
            pytest.param("a\x1bb", "control_characters", id="escape"),
            pytest.param("a\x7fb", "control_characters", id="delete"),
            pytest.param("a\x85b", "control_characters", id="c1"),
            pytest.param("a\ud800b", "control_characters", id="lone-surrogate"),
            pytest.param("x" * 4_001, "too_long", id="too-long"),
        ],
    )
    def test_refused(self, raw: str, code: str) -> None:
        """What the store or a reader cannot take."""
        with pytest.raises(FieldError) as refused:
            answer_fields.comment("comment", raw)
        assert refused.value.code == code

    def test_the_longest_comment_and_every_script_pass(self) -> None:
        """4,000 characters; Japanese, emoji, right-to-left text are comments like any other."""
        text = ("満足 😀 שלום " * 400)[:4_000]
        assert answer_fields.comment("comment", text) == text.strip()


class TestDate:
    """Between the first NPS survey and now."""

    @pytest.mark.parametrize(
        ("moment", "code"),
        [
            pytest.param(datetime(2026, 3, 3, tzinfo=UTC), "future", id="tomorrow"),
            pytest.param(datetime(26, 3, 1, tzinfo=UTC), "too_early", id="two-digit-year"),
            pytest.param(datetime(2003, 11, 30, tzinfo=UTC), "too_early", id="before-nps"),
        ],
    )
    def test_refused(self, moment: datetime, code: str) -> None:
        """A date nobody could have answered on."""
        with pytest.raises(FieldError) as refused:
            answer_fields.answered_at("date", moment, NOW)
        assert refused.value.code == code

    def test_now_and_the_first_day_pass(self) -> None:
        """The bounds themselves are dates an answer can have."""
        assert answer_fields.answered_at("date", NOW, NOW) == NOW
        first = answer_fields.EARLIEST_ANSWER
        assert answer_fields.answered_at("date", first, NOW) == first


class TestIdentifiers:
    """Addresses, CRM ids and programs: one line, bounded."""

    def test_email_is_lower_cased_and_must_look_like_one(self) -> None:
        """`x@y`; no spaces; the mirror's case."""
        assert answer_fields.email("email", " Ann@Example.COM ") == "ann@example.com"
        for bad in ("ann", "@example.com", "ann@", "a nn@example.com"):
            with pytest.raises(FieldError):
                answer_fields.email("email", bad)

    def test_crm_id_bounded_by_the_column(self) -> None:
        """64 characters at most, no tabs or line breaks."""
        assert answer_fields.crm_id("crm_id", "0" * 64) == "0" * 64
        for bad in ("0" * 65, "003\tabc", "003\nabc"):
            with pytest.raises(FieldError):
                answer_fields.crm_id("crm_id", bad)

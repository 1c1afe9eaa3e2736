"""Quoted comments carry no e-mail address, phone number or the author's name."""

import pytest

from worker.analytics.quotes import MAX_QUOTE, quotable


@pytest.mark.parametrize(
    ("comment", "names", "expected"),
    [
        pytest.param("Slow support.", (), "Slow support.", id="clean"),
        pytest.param("Mail me: emma.sato@example.com", (), "Mail me: [redacted]", id="email"),
        pytest.param(
            "Call me at +81 3-1234-5678.", (), "Call me at [redacted].", id="phone-before-period"
        ),
        pytest.param("電話 03-1234-5678 まで", (), "電話 [redacted] まで", id="japanese-phone"),
        pytest.param(
            "Thanks, Emma Sato (emma@x.io)",
            ("Emma", "Sato"),
            "Thanks, [redacted] [redacted] ([redacted])",
            id="names-and-email",
        ),
        pytest.param("Al also said", ("Al",), "[redacted] also said", id="whole-words-only"),
        pytest.param("佐藤です。遅い", ("佐藤",), "[redacted]です。遅い", id="japanese-name"),
        pytest.param("  many\n\nlines  ", (), "many lines", id="whitespace-folded"),
    ],
)
def test_quotable(comment: str, names: tuple[str, ...], expected: str) -> None:
    """Personal data is replaced by [redacted]; the rest of the comment stays readable."""
    assert quotable(comment, names) == expected


def test_long_comments_are_cut_at_a_word() -> None:
    """A quote never exceeds the cap and ends with an ellipsis when cut."""
    quote = quotable("word " * 200)
    assert len(quote) <= MAX_QUOTE + 1
    assert quote.endswith("word…")

"""Reading the answer form, form tokens, the rate limiter and the client address."""

from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import pytest

from worker.surveys.tokens import Purpose, TokenSigner
from worker.surveys.web.forms import FormError, FormTokens, parse_answer, parse_urlencoded
from worker.surveys.web.ratelimit import TokenBucketLimiter, client_address
from worker.surveys.web.texts import TEXTS_DIRECTORY, texts_for

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TAGS = ("feature_value", "usability", "support")


@pytest.mark.parametrize(
    ("body", "score", "tags", "comment"),
    [
        pytest.param(b"score=9", 9, (), None, id="score-only"),
        pytest.param(
            b"score=0&tags=support&tags=usability",
            0,
            ("usability", "support"),
            None,
            id="tags-in-taxonomy-order",
        ),
        pytest.param(b"score=10&comment=+%E3%81%82+", 10, (), "\u3042", id="trimmed-japanese"),
        pytest.param(
            b"score=7&tags=support&tags=support", 7, ("support",), None, id="duplicate-tag"
        ),
    ],
)
def test_parse_answer(body: bytes, score: int, tags: tuple[str, ...], comment: str | None) -> None:
    """Valid forms become answers."""
    answer = parse_answer(parse_urlencoded(body), TAGS)

    assert (answer.score, answer.chosen_tags, answer.comment) == (score, tags, comment)


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        pytest.param(b"", "score", "missing", id="no-score"),
        pytest.param(b"score=11", "score", "invalid", id="eleven"),
        pytest.param(b"score=%EF%BC%99", "score", "invalid", id="fullwidth-digit"),
        pytest.param(b"score=1&score=2", "score", "repeated", id="two-scores"),
        pytest.param(b"score=1&tags=pricing", "tags", "unknown", id="unknown-tag"),
        pytest.param(b"score=1&comment=" + b"x" * 4001, "comment", "too_long", id="long-comment"),
        pytest.param(b"score=1&comment=a%00b", "comment", "control_characters", id="nul"),
        pytest.param(b"score=1&comment=%ff", "body", "malformed", id="not-utf8"),
        pytest.param(b"&".join([b"a=1"] * 65), "body", "malformed", id="too-many-fields"),
    ],
)
def test_parse_answer_refuses(body: bytes, field: str, code: str) -> None:
    """Bad fields are named, with what is wrong."""
    with pytest.raises(FormError) as refused:
        parse_answer(parse_urlencoded(body), TAGS)

    assert (refused.value.field, refused.value.code) == (field, code)


class TestFormTokens:
    """Signed form tokens are bound to one link and expire."""

    forms = FormTokens(TokenSigner("k" * 40))

    def test_round_trip_returns_the_version(self) -> None:
        """A token checks on its own link and says which answer version the page showed."""
        token = self.forms.issue(Purpose.ANSWER, "abc", 3, NOW)

        assert self.forms.check(token, Purpose.ANSWER, "abc", NOW) == 3

    @pytest.mark.parametrize(
        ("token_id", "purpose", "later", "code"),
        [
            pytest.param("other", Purpose.ANSWER, timedelta(0), "other_link", id="other-link"),
            pytest.param("abc", Purpose.UNSUBSCRIBE, timedelta(0), "bad_signature", id="purpose"),
            pytest.param("abc", Purpose.ANSWER, timedelta(hours=25), "expired", id="expired"),
        ],
    )
    def test_refused(self, token_id: str, purpose: Purpose, later: timedelta, code: str) -> None:
        """Another link, another purpose, or a day later: refused."""
        token = self.forms.issue(Purpose.ANSWER, "abc", 0, NOW)

        with pytest.raises(FormError, match=code):
            self.forms.check(token, purpose, token_id, NOW + later)

    def test_a_link_token_is_not_a_form_token(self) -> None:
        """The survey link's own token cannot stand in for a form token."""
        link = self.forms.signer.issue("abc", Purpose.ANSWER, NOW + timedelta(days=1))

        with pytest.raises(FormError, match="other_link"):
            self.forms.check(link, Purpose.ANSWER, "abc", NOW)


def test_token_bucket() -> None:
    """A burst passes, then one request per refill interval; keys are independent."""
    clock = [0.0]
    limiter = TokenBucketLimiter(per_minute=60, burst=2, monotonic=lambda: clock[0])

    results = [limiter.take("a") for _ in range(3)]
    clock[0] += 0.5
    half = limiter.take("a")
    clock[0] += 0.5

    assert results[:2] == [None, None]
    assert results[2] == pytest.approx(1.0)
    assert half == pytest.approx(0.5)
    assert limiter.take("a") is None
    assert limiter.take("b") is None


PROXIES = (ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        pytest.param("203.0.113.9", "198.51.100.1", "203.0.113.9", id="untrusted-peer"),
        pytest.param("10.0.0.2", "198.51.100.1", "198.51.100.1", id="via-proxy"),
        pytest.param(
            "10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.3", "198.51.100.1", id="spoofed-left"
        ),
        pytest.param("10.0.0.2", "garbage", "10.0.0.2", id="garbage"),
        pytest.param("10.0.0.2", None, "10.0.0.2", id="no-header"),
        pytest.param(None, None, "unknown", id="no-peer"),
    ],
)
def test_client_address(peer: str | None, header: str | None, expected: str) -> None:
    """X-Forwarded-For is read right to left, and only from trusted proxies."""
    assert client_address(peer, header, PROXIES) == expected


def test_every_language_has_every_text() -> None:
    """The Japanese texts have the same keys as the English ones."""
    languages = sorted(path.stem for path in TEXTS_DIRECTORY.glob("*.json"))

    assert languages == ["en", "ja"]
    assert set(texts_for("ja")) == set(texts_for("en"))
    assert texts_for("fr") is texts_for("en")

"""Survey e-mails: links, both languages, both parts, headers, and replaceable templates."""

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from worker.config import ConfigError
from worker.config.survey import SurveyConfig
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.links import answer_url, unsubscribe_url
from worker.surveys.render import Templates, pick_language, render_invitation, render_reminder
from worker.surveys.tokens import Purpose, TokenSigner

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
SIGNER = TokenSigner("s" * 32)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PAGE_TEXTS = Path(__file__).resolve().parents[2] / "worker" / "surveys" / "web" / "texts"
SURVEY = SurveyConfig(company_name="Acme Cloud", base_url="https://nps.example.com")


def _delivery(
    kind: SendKind = SendKind.INVITATION, language: str = "en", number: int = 0
) -> Delivery:
    return Delivery(
        survey_id=7,
        token_id="tok-7",
        program="support_case_closed",
        kind=kind,
        number=number,
        language=language,
        expires_at=NOW + timedelta(days=14),
        email="hanako@example.jp",
        first_name="Hanako",
        last_name="Yamada",
        time_zone="Asia/Tokyo",
        crm="salesforce",
        crm_id="003000000000001AAA",
    )


def _render(kind: SendKind, language: str, survey: SurveyConfig = SURVEY) -> EmailMessage:
    templates = Templates.from_config(survey)
    render = render_invitation if kind is SendKind.INVITATION else render_reminder
    number = 0 if kind is SendKind.INVITATION else 1
    return render(templates, survey, SIGNER, _delivery(kind, language, number), NOW)


def _parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert isinstance(plain, EmailMessage)
    assert isinstance(html, EmailMessage)
    return plain.get_content(), html.get_content()


class TestLinks:
    """The URL scheme the web app serves."""

    @pytest.mark.parametrize(
        ("base", "score", "expected"),
        [
            pytest.param("https://x.io", None, "https://x.io/s/T", id="page"),
            pytest.param("https://x.io/", 0, "https://x.io/s/T?score=0", id="zero-trailing-slash"),
            pytest.param("https://x.io/nps", 10, "https://x.io/nps/s/T?score=10", id="path-ten"),
        ],
    )
    def test_answer_url(self, base: str, score: int | None, expected: str) -> None:
        """Score buttons carry the score as a query parameter on the answer page."""
        assert answer_url(base, "T", score) == expected

    @pytest.mark.parametrize("score", [-1, 11, True])
    def test_answer_url_refuses_scores_off_the_scale(self, score: int) -> None:
        """Only 0..10 make a link."""
        with pytest.raises(ValueError, match=r"0\.\.10"):
            answer_url("https://x.io", "T", score)

    def test_unsubscribe_url(self) -> None:
        """Unsubscribe pages live under /u/."""
        assert unsubscribe_url("https://x.io/", "T") == "https://x.io/u/T"


class TestPickLanguage:
    """The contact's language, matched loosely, else the default."""

    @pytest.mark.parametrize(
        ("wanted", "expected"),
        [
            pytest.param("ja", "ja", id="exact"),
            pytest.param("ja-JP", "ja", id="region"),
            pytest.param("JA_jp", "ja", id="case-underscore"),
            pytest.param("de", "en", id="unsupported"),
            pytest.param(None, "en", id="unknown"),
        ],
    )
    def test_pick(self, wanted: str | None, expected: str) -> None:
        """Regions and case do not matter; unsupported languages fall back."""
        assert pick_language(wanted, ("en", "ja"), "en") == expected


@pytest.mark.parametrize("kind", list(SendKind), ids=lambda kind: kind.value)
@pytest.mark.parametrize("language", ["en", "ja"])
class TestRenderedMail:
    """Every kind and language carries the same working links and headers."""

    def test_eleven_score_links_verify(self, kind: SendKind, language: str) -> None:
        """Both parts hold the 0..10 links; each token verifies as this survey's answer token."""
        plain, html = _parts(_render(kind, language))
        for part in (plain, html):
            links = re.findall(r"https://nps\.example\.com/s/([^?\s\"]+)\?score=(\d+)", part)
            assert [int(score) for _, score in links] == list(range(11))
            for token, _ in links:
                claims = SIGNER.verify(token, Purpose.ANSWER, NOW)
                assert claims.token_id == "tok-7"
                assert claims.expires_at == NOW + timedelta(days=14)

    def test_headers(self, kind: SendKind, language: str) -> None:
        """One-click unsubscribe per RFC 8058, a sender from config, a stable Message-ID."""
        message = _render(kind, language)
        header = message["List-Unsubscribe"]
        token = re.fullmatch(r"<https://nps\.example\.com/u/(\S+)>", header)
        assert token is not None
        assert SIGNER.verify(token.group(1), Purpose.UNSUBSCRIBE, NOW + timedelta(days=300))
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["From"] == "Customer Success <nps@example.com>"
        assert message["To"] == "hanako@example.jp"
        assert message["Content-Language"] == language
        assert message["Message-ID"] == _render(kind, language)["Message-ID"]
        assert message["Message-ID"].endswith("@example.com>")
        assert b"List-Unsubscribe: <https://nps.example.com/u/" in message.as_bytes()

    def test_question_names_the_company(self, kind: SendKind, language: str) -> None:
        """The question, subject and unsubscribe link are in the contact's language."""
        plain, html = _parts(_render(kind, language))
        subject = _render(kind, language)["Subject"]
        question = {
            "en": "How likely are you to recommend Acme Cloud to a friend or colleague?",
            "ja": "Acme Cloudを友人や同僚に薦める可能性はどのくらいありますか？",  # noqa: RUF001 (Japanese punctuation)
        }[language]
        page = json.loads(
            (PAGE_TEXTS / f"{language}.json").read_text(encoding="utf-8")
        )  # the answer page's own endpoint labels: mail and page say the same
        for part in (plain, html):
            assert question in part
            assert f"0 = {page['low']}" in part
            assert f"10 = {page['high']}" in part
        assert "Acme Cloud" in subject
        assert "/u/" in html
        assert "class=" not in html
        assert "<img" not in html


def test_a_hidden_honeypot_link_catches_scanners_not_people() -> None:
    """The HTML carries one hidden `?score=hp` link; the text part, which people read, none."""
    text, html = _parts(_render(SendKind.INVITATION, "en"))
    hidden = re.findall(r'<a href="([^"]+\?score=hp)"[^>]*display:none', html)
    assert len(hidden) == 1
    assert "score=hp" not in text


def test_reminder_and_invitation_have_distinct_message_ids() -> None:
    """A reminder is another message; a re-send of the same one is recognisably the same."""
    invitation = _render(SendKind.INVITATION, "en")
    reminder = _render(SendKind.REMINDER, "en")
    assert invitation["Message-ID"] != reminder["Message-ID"]
    assert "tok-7" not in invitation["Message-ID"]


def test_no_company_name_asks_about_us() -> None:
    """Without survey.company_name the question still reads naturally."""
    plain, _ = _parts(_render(SendKind.INVITATION, "en", SurveyConfig()))
    assert "How likely are you to recommend us to a friend or colleague?" in plain


def test_html_is_escaped() -> None:
    """A first name from the CRM cannot inject markup."""
    survey = SurveyConfig(company_name="<b>Acme</b>")
    _, html = _parts(_render(SendKind.INVITATION, "en", survey))
    assert "&lt;b&gt;Acme&lt;/b&gt;" in html


def test_save_artifacts() -> None:
    """One rendered invitation per language, for a look in a browser (tests/artifacts/)."""
    ARTIFACTS.mkdir(exist_ok=True)
    for language in ("en", "ja"):
        _, html = _parts(_render(SendKind.INVITATION, language))
        (ARTIFACTS / f"invitation.{language}.html").write_text(html, encoding="utf-8")
    assert (ARTIFACTS / "invitation.ja.html").stat().st_size > 1000


class TestTemplateCheck:
    """RevOps' templates are checked at `check` time, with the file and line."""

    def test_built_in_templates_pass(self) -> None:
        """Every built-in template loads and renders."""
        Templates.from_config(SURVEY).check()

    def test_override_is_used(self, tmp_path: Path) -> None:
        """A file in templates_dir replaces the built-in one of the same name only."""
        (tmp_path / "en").mkdir()
        (tmp_path / "en" / "invitation.subject").write_text("Quick question from {{ company }}")
        survey = SurveyConfig(company_name="Acme", templates_dir=str(tmp_path))
        message = _render(SendKind.INVITATION, "en", survey)
        assert message["Subject"] == "Quick question from Acme"
        assert "How likely" in _parts(message)[0]

    @pytest.mark.parametrize(
        ("content", "line", "message"),
        [
            pytest.param("{% extends 'layout.html' %}\n{% block x %}", 2, "block", id="syntax"),
            pytest.param("{{ compnay }}", 0, "'compnay' is undefined", id="undefined"),
        ],
    )
    def test_broken_template_is_located(
        self, tmp_path: Path, content: str, line: int, message: str
    ) -> None:
        """Syntax errors carry the template's line; unknown variables name the variable."""
        (tmp_path / "ja").mkdir()
        (tmp_path / "ja" / "reminder.html").write_text(content)
        templates = Templates.from_config(SurveyConfig(templates_dir=str(tmp_path)))
        with pytest.raises(ConfigError) as raised:
            templates.check()
        (issue,) = raised.value.errors
        assert issue.path == "survey.templates_dir"
        assert issue.line == line
        assert message in issue.message
        assert "reminder.html" in str(issue)

    def test_missing_language_is_reported(self) -> None:
        """A language without templates is named, with the setting that asks for it."""
        templates = Templates(None, ("en", "de"))
        with pytest.raises(ConfigError) as raised:
            templates.check()
        assert len(raised.value.errors) == 6
        assert "no template 'de/invitation.subject'" in str(raised.value)

    def test_missing_folder(self, tmp_path: Path) -> None:
        """A templates_dir that does not exist is an error, not a silent fallback."""
        templates = Templates.from_config(SurveyConfig(templates_dir=str(tmp_path / "nope")))
        with pytest.raises(ConfigError, match="folder not found"):
            templates.check()


class TestMoment:
    """The invitation names the moment it asks about, in the contact's language."""

    @pytest.mark.parametrize(
        ("touchpoint", "title", "language", "said"),
        [
            pytest.param(
                "support",
                "Export times out",
                "en",
                "your opinion on your support case “Export times out”",
                id="support-en",
            ),
            pytest.param(
                "support",
                "Export times out",
                "ja",
                "サポートケース「Export times out」について、ご意見",
                id="support-ja",
            ),
            pytest.param(
                "onboarding", None, "en", "your opinion on your first 30 days with us", id="onb"
            ),
            pytest.param(
                "onboarding", None, "ja", "ご利用開始からの最初の 30 日間について", id="onb-ja"
            ),
            pytest.param("relationship", None, "en", "We would value your opinion. It", id="none"),
        ],
    )
    def test_both_parts_name_the_moment(
        self, touchpoint: str, title: str | None, language: str, said: str
    ) -> None:
        """Plain text and HTML both say which moment the survey is about."""
        delivery = dataclasses.replace(
            _delivery(language=language), touchpoint=touchpoint, moment_title=title
        )
        message = render_invitation(Templates.from_config(SURVEY), SURVEY, SIGNER, delivery, NOW)
        plain, html = _parts(message)
        assert said in plain
        assert said in html

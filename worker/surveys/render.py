"""Survey e-mails from Jinja2 templates: HTML and plain-text parts, subject and list headers.

Templates are looked up first in `survey.templates_dir` (RevOps' replacements), then among the
built-in ones in `worker/surveys/templates/`; each language has `<lang>/<kind>.subject`,
`<lang>/<kind>.html` and `<lang>/<kind>.txt` for kind `invitation` and `reminder`.
`Templates.check()` loads and test-renders every one, so a missing or broken template is a
located error at `nps-worker check`, not a failed send days later.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)

from worker.config.errors import ConfigError, ConfigIssue
from worker.config.survey import SurveyConfig
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.links import SCORES, answer_url, honeypot_url, unsubscribe_url
from worker.surveys.moments import moment_phrase
from worker.surveys.tokens import Purpose, TokenSigner

UNSUBSCRIBE_LIFETIME = timedelta(days=365)
"""Unsubscribe links keep working long after the survey expires: a year past its expiry."""

PARTS = ("subject", "html", "txt")
"""The files each (language, kind) needs."""

_KEY = "survey.templates_dir"

MAIL_POLICY = default_policy.clone(refold_source="none")
"""Headers set raw stay as written: a long List-Unsubscribe URL must stay one plain word, which
default folding would turn into an RFC 2047 encoded word that mail clients ignore."""


@dataclass(frozen=True, slots=True)
class ScoreButton:
    """One of the eleven score links of the e-mail."""

    score: int
    url: str


def pick_language(wanted: str | None, languages: tuple[str, ...], default: str) -> str:
    """The configured language closest to `wanted` (`ja-JP`, `ja_JP` -> `ja`), else `default`."""
    if not wanted:
        return default
    tag = wanted.strip().replace("_", "-")
    by_lower = {language.lower(): language for language in languages}
    for candidate in (tag.lower(), tag.split("-")[0].lower()):
        if candidate in by_lower:
            return by_lower[candidate]
    return default


class Templates:
    """The e-mail templates in use: RevOps' folder first, the built-in ones behind it."""

    def __init__(self, directory: Path | None, languages: tuple[str, ...]) -> None:
        self.directory = directory
        self.languages = languages
        loaders: list[Any] = [PackageLoader("worker.surveys", "templates")]
        if directory is not None:
            loaders.insert(0, FileSystemLoader(directory))
        self._env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=False,
        )

    @classmethod
    def from_config(cls, survey: SurveyConfig) -> "Templates":
        """The templates `survey` asks for."""
        directory = Path(survey.templates_dir) if survey.templates_dir else None
        return cls(directory, survey.languages)

    def render(self, language: str, kind: SendKind, part: str, context: Mapping[str, Any]) -> str:
        """One part of one kind of mail in one language."""
        return self._env.get_template(f"{language}/{kind.value}.{part}").render(context)

    def check(self) -> None:
        """Load and test-render every template; raises ConfigError naming each bad one."""
        if self.directory is not None and not self.directory.is_dir():
            issue = ConfigIssue(str(self.directory), 0, 0, _KEY, "folder not found")
            raise ConfigError([issue])
        context = sample_context()
        found = (
            self._problem(language, kind, part, context) for language, kind, part in self._names()
        )
        issues = [issue for issue in found if issue is not None]
        if issues:
            raise ConfigError(issues)

    def _names(self) -> Iterator[tuple[str, SendKind, str]]:
        for language in self.languages:
            for kind in SendKind:
                for part in PARTS:
                    yield language, kind, part

    def _problem(
        self, language: str, kind: SendKind, part: str, context: Mapping[str, Any]
    ) -> ConfigIssue | None:
        name = f"{language}/{kind.value}.{part}"
        where = str(self.directory) if self.directory else "built-in templates"
        try:
            self.render(language, kind, part, context)
        except TemplateNotFound as error:
            missing = error.name or name
            needed = f" (needed for '{language}' in survey.languages)"
            return ConfigIssue(where, 0, 0, _KEY, f"no template '{missing}'{needed}")
        except TemplateSyntaxError as error:
            return ConfigIssue(error.filename or name, error.lineno, 0, _KEY, error.message or "")
        except TemplateError as error:
            return ConfigIssue(self._file(name), 0, 0, _KEY, f"{name}: {error.message}")
        return None

    def _file(self, name: str) -> str:
        if self.directory is not None and (self.directory / name).is_file():
            return str(self.directory / name)
        return name


def sample_context() -> dict[str, Any]:
    """A context with every variable templates may use, for test renders and previews."""
    base = "https://nps.example.com"
    return {
        "lang": "en",
        "subject": "Subject",
        "company": "Example Corp",
        "sender_name": "Customer Success",
        "first_name": "Alex",
        "last_name": "Doe",
        "scores": [ScoreButton(score, answer_url(base, "token", score)) for score in SCORES],
        "page_url": answer_url(base, "token"),
        "unsubscribe_url": unsubscribe_url(base, "token"),
        "honeypot_url": honeypot_url(base, "token"),
        "expires_on": "June 30, 2025",
        "reminder_number": 1,
        "moment": "your support case “Export times out”",
    }


def render_invitation(
    templates: Templates,
    survey: SurveyConfig,
    signer: TokenSigner,
    delivery: Delivery,
    now: datetime,
) -> EmailMessage:
    """The invitation e-mail for `delivery`, with links signed by `signer`."""
    if delivery.kind is not SendKind.INVITATION:
        raise ValueError(f"render_invitation got a {delivery.kind} delivery")
    return _render(templates, survey, signer, delivery, now)


def render_reminder(
    templates: Templates,
    survey: SurveyConfig,
    signer: TokenSigner,
    delivery: Delivery,
    now: datetime,
) -> EmailMessage:
    """The n-th reminder e-mail for `delivery` (n = `delivery.number`)."""
    if delivery.kind is not SendKind.REMINDER:
        raise ValueError(f"render_reminder got a {delivery.kind} delivery")
    return _render(templates, survey, signer, delivery, now)


def message_id(delivery: Delivery, survey: SurveyConfig) -> str:
    """The Message-ID of a send: the same on a re-send, so duplicates are recognisable."""
    domain = survey.sender.address.rpartition("@")[2]
    return f"<nps.{delivery.delivery_id}@{domain}>"


def _render(
    templates: Templates,
    survey: SurveyConfig,
    signer: TokenSigner,
    delivery: Delivery,
    now: datetime,
) -> EmailMessage:
    if not delivery.email:
        raise ValueError("a survey e-mail needs an address")
    language = pick_language(delivery.language, survey.languages, survey.default_language)
    answer_token = signer.issue(delivery.token_id, Purpose.ANSWER, delivery.expires_at)
    stop_token = signer.issue(
        delivery.token_id, Purpose.UNSUBSCRIBE, delivery.expires_at + UNSUBSCRIBE_LIFETIME
    )
    stop_url = unsubscribe_url(survey.base_url, stop_token)
    context: dict[str, Any] = {
        "lang": language,
        "company": survey.company_name,
        "sender_name": survey.sender.name,
        "first_name": delivery.first_name,
        "last_name": delivery.last_name,
        "scores": [
            ScoreButton(score, answer_url(survey.base_url, answer_token, score)) for score in SCORES
        ],
        "page_url": answer_url(survey.base_url, answer_token),
        "unsubscribe_url": stop_url,
        "honeypot_url": honeypot_url(survey.base_url, answer_token),
        "expires_on": _date_text(delivery, survey, language),
        "reminder_number": delivery.number,
        "moment": moment_phrase(delivery.touchpoint, delivery.moment_title, language),
    }
    subject = " ".join(templates.render(language, delivery.kind, "subject", context).split())
    context["subject"] = subject
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = formataddr((survey.sender.name, survey.sender.address))
    message["To"] = delivery.email
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = message_id(delivery, survey)
    message.set_raw("List-Unsubscribe", f"<{stop_url}>")
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(templates.render(language, delivery.kind, "txt", context))
    message.add_alternative(
        templates.render(language, delivery.kind, "html", context), subtype="html"
    )
    # Set after the parts: making the message multipart moves Content-* headers into a part.
    message["Content-Language"] = language
    return message


def _date_text(delivery: Delivery, survey: SurveyConfig, language: str) -> str:
    """The expiry date as the person reads it, in their own time zone."""
    try:
        zone = ZoneInfo(delivery.time_zone or survey.quiet_hours.default_time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(survey.quiet_hours.default_time_zone)
    day = delivery.expires_at.astimezone(zone).date()
    if language == "ja":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day:%B} {day.day}, {day.year}"

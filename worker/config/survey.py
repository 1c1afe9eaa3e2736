"""How surveys go out: links, sender, languages, throttles, timing, channel and mail transport."""

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from worker.config.base import Section
from worker.config.errors import invalid
from worker.config.values import (
    Duration,
    EmailAddress,
    EnvVarName,
    HttpUrl,
    LanguageCode,
    PositiveDuration,
    TimeOfDay,
    TimeZoneName,
    duration_between,
)


class Sender(Section):
    """The From of survey e-mails."""

    address: EmailAddress = "nps@example.com"
    name: str = Field("Customer Success", min_length=1, max_length=100)


class Reminders(Section):
    """Reminders sent to contacts who have not answered yet."""

    count: int = Field(1, ge=0, le=3)
    after: PositiveDuration = dt.timedelta(days=3)


class QuietHours(Section):
    """When not to send, in the contact's own time zone (or `default_time_zone` when unknown)."""

    enabled: bool = True
    start: TimeOfDay = dt.time(20, 0)
    end: TimeOfDay = dt.time(8, 0)
    weekdays_only: bool = True
    default_time_zone: TimeZoneName = "UTC"

    @model_validator(mode="after")
    def _window_not_empty(self) -> "QuietHours":
        if self.enabled and self.start == self.end:
            raise invalid("start and end are equal; set enabled: false for no quiet hours", "end")
        return self


class SmtpTransport(Section):
    """Send through an SMTP relay; credentials by environment variable name."""

    host: str = Field("localhost", min_length=1)
    port: int = Field(587, ge=1, le=65535)
    username_env: EnvVarName | None = None
    password_env: EnvVarName | None = None
    starttls: bool = True


class DirectoryTransport(Section):
    """Write each message as an .eml file into a folder (demo, tests, hand-off to another MTA)."""

    path: str = Field("./out/mail", min_length=1)


class MailConfig(Section):
    """The mail transport in use (`transport`), and the settings of each transport."""

    transport: Literal["smtp", "directory"] = "directory"
    smtp: SmtpTransport = Field(default_factory=SmtpTransport)
    directory: DirectoryTransport = Field(default_factory=DirectoryTransport)

    @property
    def active(self) -> SmtpTransport | DirectoryTransport:
        """Settings of the transport `transport` names."""
        return self.smtp if self.transport == "smtp" else self.directory


class Webhook(Section):
    """Where the webhook channel posts survey invitations, signed with a shared secret."""

    url: HttpUrl | None = None
    secret_env: EnvVarName = "NPS_WEBHOOK_SECRET"  # noqa: S105 (a variable name, not a secret)


class SurveyConfig(Section):
    """Survey delivery rules; `min_interval` is the global per-contact throttle (promise 1)."""

    base_url: HttpUrl = "http://localhost:8080"
    sender: Sender = Field(default_factory=Sender)
    languages: tuple[LanguageCode, ...] = Field(("en", "ja"), min_length=1)
    default_language: LanguageCode = "en"
    min_interval: Duration = dt.timedelta(days=90)
    reminders: Reminders = Field(default_factory=Reminders)
    expiry: Annotated[PositiveDuration, duration_between("1h", "90d")] = dt.timedelta(days=14)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    daily_cap: int = Field(1000, ge=1)
    channel: Literal["email", "crm_field", "webhook"] = "email"
    mail: MailConfig = Field(default_factory=MailConfig)
    webhook: Webhook = Field(default_factory=Webhook)
    token_secret_env: EnvVarName = "NPS_TOKEN_SECRET"  # noqa: S105 (a variable name, not a secret)
    backfill_window: Duration = dt.timedelta(days=7)

    @model_validator(mode="after")
    def _consistent(self) -> "SurveyConfig":
        if len(set(self.languages)) != len(self.languages):
            raise invalid("languages are listed twice", "languages")
        if self.default_language not in self.languages:
            raise invalid(
                f"'{self.default_language}' is not in languages ({', '.join(self.languages)})",
                "default_language",
            )
        if self.channel == "webhook" and self.webhook.url is None:
            raise invalid("channel webhook needs webhook.url", "channel")
        if self.reminders.count and self.reminders.after * self.reminders.count >= self.expiry:
            raise invalid("reminders must all go out before the survey expires", "reminders")
        return self

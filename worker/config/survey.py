"""How surveys go out: links, sender, languages, throttles, timing, channel and mail transport."""

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

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
    format_duration,
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
    holidays: tuple[dt.date, ...] = ()
    """Dates (YYYY-MM-DD) on which nothing is sent, like weekends with `weekdays_only`."""

    @model_validator(mode="after")
    def _window_not_empty(self) -> "QuietHours":
        if self.enabled and self.start == self.end:
            raise invalid("start and end are equal; set enabled: false for no quiet hours", "end")
        return self


class AccountCap(Section):
    """At most `count` surveys per account within `per`, across programs (B2B accounts)."""

    enabled: bool = True
    count: int = Field(5, ge=1)
    per: PositiveDuration = dt.timedelta(days=7)


class SmtpTransport(Section):
    """Send through an SMTP relay; credentials by environment variable name."""

    host: str = Field("localhost", min_length=1)
    port: int = Field(587, ge=1, le=65535)
    username_env: EnvVarName | None = None
    password_env: EnvVarName | None = None
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    """`starttls` upgrades a plain connection (port 587), `implicit` is TLS from the start (465)."""
    timeout: Annotated[PositiveDuration, duration_between("1s", "5m")] = dt.timedelta(seconds=30)


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
    timeout: Annotated[PositiveDuration, duration_between("1s", "2m")] = dt.timedelta(seconds=10)
    retries: int = Field(3, ge=0, le=10)
    """Further attempts after a 5xx answer, timeout or connection failure, with backoff."""


class DeliveryAfterCrash(Section):
    """What happens to a send whose fate a crash left unknown (DESIGN.md promise 10).

    Dispatch claims and commits one message at a time, so a crash (SIGKILL, power loss)
    leaves at most one message handed to the transport without its outcome recorded. After
    `grace`, `resend` sends it once more with the same Message-ID (and webhook
    Idempotency-Key), so receivers that deduplicate drop it if the first one did arrive:
    nothing is lost. `report` never sends it again and reports it in `status`: nothing is sent
    twice. Either way `status` is unhealthy while a delivery is unknown.
    """

    after_crash: Literal["resend", "report"] = "resend"
    grace: Annotated[PositiveDuration, duration_between("5s", "1d")] = dt.timedelta(minutes=15)
    """How long a hand-over may be in progress before its outcome counts as unknown."""


def _at_least_a_day(value: dt.timedelta) -> dt.timedelta:
    """The global throttle (promise 1) below a day would survey a contact again every cycle."""
    if value < dt.timedelta(days=1):
        raise invalid(
            f"{format_duration(value)} is under a day and would let a contact be surveyed"
            " again every cycle; use at least 1d (default 90d)"
        )
    return value


class SurveyConfig(Section):
    """Survey delivery rules; `min_interval` is the global per-contact throttle (promise 1)."""

    base_url: HttpUrl = "http://localhost:8080"
    sender: Sender = Field(default_factory=Sender)
    company_name: str | None = Field(None, min_length=1, max_length=100)
    """Named in the survey question; without it the mail asks about "us"."""
    templates_dir: str | None = Field(None, min_length=1)
    """A folder of Jinja2 templates replacing the built-in ones of the same name."""
    languages: tuple[LanguageCode, ...] = Field(("en", "ja"), min_length=1)
    default_language: LanguageCode = "en"
    min_interval: Annotated[Duration, AfterValidator(_at_least_a_day)] = dt.timedelta(days=90)
    reminders: Reminders = Field(default_factory=Reminders)
    expiry: Annotated[PositiveDuration, duration_between("1h", "90d")] = dt.timedelta(days=14)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    daily_cap: int = Field(1000, ge=1)
    account_cap: AccountCap = Field(default_factory=AccountCap)
    channel: Literal["email", "crm_field", "webhook"] = "email"
    mail: MailConfig = Field(default_factory=MailConfig)
    webhook: Webhook = Field(default_factory=Webhook)
    delivery: DeliveryAfterCrash = Field(default_factory=DeliveryAfterCrash)
    token_secret_env: EnvVarName = "NPS_TOKEN_SECRET"  # noqa: S105 (a variable name, not a secret)
    backfill_window: Duration = dt.timedelta(days=7)
    provisional_after: Annotated[PositiveDuration, duration_between("1m", "30d")] = dt.timedelta(
        hours=24
    )
    """A score from an e-mail button that nobody confirms counts after this, unless a scanner."""

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
        if self.delivery.grace < self.handover_limit:
            raise invalid(
                f"must be at least {int(self.handover_limit.total_seconds())}s, the longest a"
                " live hand-over can take with these transport timeouts (else a slow send"
                " would be taken for a crashed one)",
                "delivery",
                "grace",
            )
        return self

    @property
    def handover_limit(self) -> dt.timedelta:
        """The longest one send can be in the transport's hands before it certainly ended.

        SMTP: five exchanges bounded by the timeout (connect, EHLO/STARTTLS, login, envelope,
        data); webhook: every attempt's timeout and the backoffs between them (as
        `worker.surveys.channels.WebhookChannel` paces them); a folder write or a CRM field
        write: a minute. A send older than this with no recorded outcome was cut
        off by a crash.
        """
        if self.channel == "webhook":
            attempts = self.webhook.retries + 1
            backoff = sum(min(30.0, 2.0**n) for n in range(attempts - 1))
            return self.webhook.timeout * attempts + dt.timedelta(seconds=backoff)
        if self.channel == "email" and self.mail.transport == "smtp":
            return self.mail.smtp.timeout * 5
        return dt.timedelta(minutes=1)

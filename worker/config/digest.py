"""The weekly review pack (`digest`) and the chat webhooks it and alerts post to (`notify`)."""

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from worker.config.base import Section
from worker.config.errors import invalid
from worker.config.values import (
    EmailAddress,
    EnvVarName,
    HttpUrl,
    LanguageCode,
    PositiveDuration,
    TimeZoneName,
    check_cron,
    duration_between,
)


class Recipient(Section):
    """One person (or list) the digest is e-mailed to, in their language."""

    address: EmailAddress
    language: LanguageCode = "en"


def _recipient(value: Any) -> Any:
    """A bare address is a recipient in English."""
    return {"address": value} if isinstance(value, str) else value


class DigestConfig(Section):
    """A scheduled e-mail of the week's NPS, themes, follow-ups, KPIs and backlog changes."""

    enabled: bool = False
    cron: str = "0 8 * * 1"
    """When it goes out (five-field crontab, read in `time_zone`); default Monday 08:00."""
    time_zone: TimeZoneName = "UTC"
    to: tuple[Recipient, ...] = ()
    """Addresses, each a plain address (English) or `{address: ..., language: ja}`."""
    period: Annotated[PositiveDuration, duration_between("1d", "31d")] = dt.timedelta(days=7)
    """The digest compares the last `period` with the one before it."""
    link_url: HttpUrl | None = None
    """Where the full report is published (intranet, BI page): linked from the chat summary."""
    chat_language: Literal["en", "ja"] = "en"
    """Language of the summary posted to the chats in `notify`."""
    plan_backlog: bool = True
    """Before each digest, store backlog items for top themes that have none (`backlog plan`)."""

    @field_validator("to", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [_recipient(item) for item in value]
        return value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        try:
            check_cron(value, "UTC")
        except ValueError as error:
            raise invalid(str(error)) from None
        return value

    @model_validator(mode="after")
    def _someone_to_tell(self) -> "DigestConfig":
        if self.enabled and not self.to:
            raise invalid("an enabled digest needs at least one address", "to")
        return self


class ChatWebhook(Section):
    """An incoming-webhook URL, read from the environment variable named here (a secret)."""

    webhook_env: EnvVarName | None = None
    """Env var NAME holding the webhook URL; null: not used."""


class NotifyConfig(Section):
    """Chat channels (Slack and Microsoft Teams incoming webhooks) summaries are posted to."""

    slack: ChatWebhook = Field(default_factory=ChatWebhook)
    teams: ChatWebhook = Field(default_factory=ChatWebhook)
    timeout: Annotated[PositiveDuration, duration_between("1s", "1m")] = dt.timedelta(seconds=10)
    retries: int = Field(3, ge=0, le=10)
    """Further attempts after a 429, 5xx, timeout or connection failure, with backoff."""

    def webhooks(self) -> Mapping[str, str]:
        """Chat kind -> the env var naming its URL, for the chats in use."""
        return {
            kind: hook.webhook_env
            for kind, hook in (("slack", self.slack), ("teams", self.teams))
            if hook.webhook_env is not None
        }

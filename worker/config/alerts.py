"""Chat alerts (`alerts`): detractors, escalations and SLA breaches posted to Slack and Teams.

The webhooks themselves are `notify.slack` / `notify.teams` (URLs from environment variables).
Each rule says which events of which programs and accounts/contacts go to which chats, in which
language; alerts wait in the store and are posted in batches under a rate limit, retried on
failure, by their own job (never inside the cycle).
"""

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from worker.config.base import Section
from worker.config.conditions import AudienceCondition, Condition
from worker.config.values import Identifier, LanguageCode, PositiveDuration, duration_between

AlertKind = Literal["detractor", "escalation", "sla_breach"]
Chat = Literal["slack", "teams"]


class AlertRule(Section):
    """Which events go to which chats: per program and per contact/account segment."""

    on: tuple[AlertKind, ...] = ("detractor", "escalation", "sla_breach")
    programs: tuple[Identifier, ...] = ()
    """Only answers to these programs (empty: every program)."""
    when: AudienceCondition = Field(default_factory=Condition)
    """Only contacts/accounts matching this (e.g. `account.Plan__c: Enterprise`)."""
    chats: tuple[Chat, ...] = ("slack", "teams")
    """Chats among those `notify` configures."""
    language: LanguageCode = "en"


class AlertsConfig(Section):
    """Chat alerts; off unless rules are listed."""

    rules: tuple[AlertRule, ...] = ()
    per_minute: int = Field(20, ge=1, le=600)
    """Messages per chat per minute at most (Slack takes about one a second per webhook)."""
    batch: int = Field(10, ge=1, le=50)
    """Alerts per message when several are due for one chat at once."""
    retry_after: Annotated[PositiveDuration, duration_between("1s", "1h")] = dt.timedelta(minutes=1)
    """First wait after a failed post; doubled for each further failure."""
    max_attempts: int = Field(8, ge=1, le=50)
    """Posts of one alert before it is given up and counted by `status`."""

    def conditions(self) -> list[Condition]:
        """Every rule's `when`, so sync reads the fields they test."""
        return [rule.when for rule in self.rules]

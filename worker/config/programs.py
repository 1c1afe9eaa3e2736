"""Survey programs: named triggers with their audience, exclusions and throttles."""

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from worker.config.base import Section, one_of
from worker.config.conditions import AudienceCondition, Condition, ObjectFilter, RecordCondition
from worker.config.errors import invalid
from worker.config.values import (
    Duration,
    FieldName,
    PositiveDuration,
    SignedDuration,
    TimeZoneName,
    check_cron,
    duration_between,
)


class ContactPath(Section):
    """Who is surveyed for a trigger record: the contact a field points to, or account contacts.

    Neither key: the contact the CRM mapping links to the record (`crm.<kind>.triggers`).
    """

    field: FieldName | None = None
    account_contacts: AudienceCondition | None = None

    @model_validator(mode="after")
    def _one_path(self) -> "ContactPath":
        if self.field is not None and self.account_contacts is not None:
            raise invalid("set either 'field' or 'account_contacts', not both", "account_contacts")
        return self


class RecordChangeTrigger(Section):
    """Fire when a record of `object` starts to satisfy `when` (e.g. Case Status -> Closed)."""

    internal_keys = frozenset({"kind"})
    kind: Literal["record_change"] = "record_change"
    object: FieldName
    when: RecordCondition
    delay: Annotated[Duration, duration_between("0s", "30d")] = dt.timedelta(0)
    contact: ContactPath = Field(default_factory=ContactPath)


class DateOffsetTrigger(Section):
    """Fire at a record's date field plus `offset` (e.g. renewal date -30d)."""

    internal_keys = frozenset({"kind"})
    kind: Literal["date_offset"] = "date_offset"
    object: FieldName
    field: FieldName
    offset: Annotated[SignedDuration, duration_between("-365d", "365d")]
    when: ObjectFilter = Field(default_factory=Condition)
    contact: ContactPath = Field(default_factory=ContactPath)


class ScheduleTrigger(Section):
    """Fire on a cron schedule for everyone in the program's audience (relationship NPS)."""

    internal_keys = frozenset({"kind"})
    kind: Literal["schedule"] = "schedule"
    cron: str
    time_zone: TimeZoneName = "UTC"
    window: Annotated[Duration, duration_between("0s", "30d")] = dt.timedelta(0)
    """Send times are spread evenly over this long after each cron fire time."""

    @model_validator(mode="after")
    def _valid_cron(self) -> "ScheduleTrigger":
        try:
            check_cron(self.cron, self.time_zone)
        except ValueError as error:
            raise invalid(str(error), "cron") from None
        return self


class RecoveryTrigger(Section):
    """A check-in `after` a follow-up of these categories was closed, so recovery is measured.

    The check-in may come inside the global minimum interval, once per follow-up: the
    interval protects people from repeated asks, and this one closes the loop with them.
    """

    internal_keys = frozenset({"kind"})
    kind: Literal["recovery"] = "recovery"
    after: Annotated[PositiveDuration, duration_between("1d", "90d")] = dt.timedelta(days=14)
    categories: tuple[Literal["detractor", "passive", "promoter"], ...] = ("detractor",)


Trigger = Annotated[
    RecordChangeTrigger | DateOffsetTrigger | ScheduleTrigger | RecoveryTrigger,
    Field(discriminator="kind"),
    one_of("record_change", "date_offset", "schedule", "recovery"),
]
"""Exactly one trigger: `{record_change: {...}}`, `{date_offset: {...}}`, `{schedule: {...}}`
or `{recovery: {...}}`."""


class Program(Section):
    """One survey program; `touchpoint` labels its responses for analytics."""

    enabled: bool = True
    touchpoint: str = Field(min_length=1, max_length=60)
    trigger: Trigger
    audience: AudienceCondition = Field(default_factory=Condition)
    exclude: tuple[AudienceCondition, ...] = ()
    min_interval: Duration | None = None
    sample: float = Field(100.0, gt=0, le=100)
    """Percentage of eligible candidates surveyed, chosen by a stable hash of the event."""

"""The small sections: database, server, logging, segments and CRM write-back fields."""

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, IPvAnyNetwork, SecretStr, model_validator

from worker.config.base import Section
from worker.config.errors import invalid
from worker.config.values import (
    Duration,
    EnvVarName,
    FieldName,
    HttpUrl,
    Identifier,
    TimeOfDay,
    duration_between,
    pattern,
)

_DATABASE_SCHEMES = re.compile(r"(sqlite|postgresql(\+psycopg)?)://.*", re.DOTALL)


def _database_url(value: Any) -> Any:
    if isinstance(value, str) and not _DATABASE_SCHEMES.fullmatch(value):
        scheme = value.split("://", 1)[0] if "://" in value else "none"
        raise invalid(
            f"unsupported database URL scheme '{scheme}' "
            "(use sqlite:///path or postgresql+psycopg://user@host/db)"
        )
    return value


class DatabaseConfig(Section):
    """Where state lives; the URL may hold a password, so it is kept secret in reprs."""

    url: Annotated[SecretStr, BeforeValidator(_database_url)] = SecretStr("sqlite:///./data/nps.db")


class RateLimit(Section):
    """Per client IP: a bucket of `burst` requests refilled at `per_minute`; over it, 429."""

    per_minute: int = Field(60, ge=1, le=100_000)
    burst: int = Field(20, ge=1, le=100_000)


class MetricsListener(Section):
    """Where Prometheus scrapes `/metrics`: a listener of its own, apart from the answer pages.

    The answer port is public (its address is in every survey mail); metrics describe the
    worker's traffic and failures, so they stay on loopback unless the operator opens them.
    """

    host: str = Field("127.0.0.1", min_length=1)
    port: int | None = Field(9464, ge=0, le=65535)
    """0: any free port (the one taken is logged); null: no metrics listener."""


class ServerConfig(Section):
    """The web endpoint that serves survey pages and receives answers."""

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8080, ge=1, le=65535)
    public_base_url: HttpUrl = "http://localhost:8080"
    trusted_proxies: tuple[IPvAnyNetwork, ...] = ()
    """Proxies whose X-Forwarded-For names the client; from anyone else the header is ignored."""
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    max_body_bytes: int = Field(16_384, ge=1_024, le=1_048_576)
    """Larger request bodies are refused with 413 before they are read."""
    hooks_secret_env: EnvVarName = "NPS_HOOKS_SECRET"  # noqa: S105 (a variable name, not a secret)
    """Env var NAME of the HMAC secret that signs `POST /hooks/answers` imports."""
    metrics: MetricsListener = Field(default_factory=MetricsListener)

    @model_validator(mode="after")
    def _apart(self) -> "ServerConfig":
        if self.metrics.port and self.metrics.port == self.port:
            raise invalid(f"must differ from server.port ({self.port})", "metrics", "port")
        return self


class SchedulerConfig(Section):
    """How often the daemon's jobs run (`nps-worker run`)."""

    cycle_every: Annotated[Duration, duration_between("1m", "1d")] = dt.timedelta(minutes=5)
    """A whole cycle per CRM: pull, plan, answers, task status, SLAs, write-backs."""
    dispatch_every: Annotated[Duration, duration_between("10s", "1h")] = dt.timedelta(minutes=1)
    """Due invitations and reminders go out, and link-scanner answers settle."""
    daily_at: TimeOfDay = dt.time(3, 0)
    """UTC time of the daily job: full account roll-ups and data retention."""
    lease_ttl: Annotated[Duration, duration_between("15s", "10m")] = dt.timedelta(seconds=60)
    """A replica that stops renewing the scheduler lease loses it after this long."""


class LoggingConfig(Section):
    """Log verbosity and rendering (`auto`: JSON when not on a terminal)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


SegmentSource = Annotated[
    str,
    pattern(
        r"(account|contact)\.[A-Za-z][A-Za-z0-9_]*",
        "segment source",
        "account.<Field> or contact.<Field>, e.g. account.Industry",
    ),
]
"""A CRM field to slice by, named with its record: `account.Industry`, `contact.Region__c`."""


Edges = Annotated[tuple[float, ...], Field(min_length=1, max_length=20)]
"""Ascending band limits: `[10000, 100000]` makes three bands (below 10k, 10k to 100k, above)."""


class SegmentsConfig(Section):
    """Fields analytics slices NPS by, and the smallest sample a slice is reported for."""

    fields: dict[Identifier, SegmentSource] = Field(default_factory=dict)
    min_sample: int = Field(30, ge=1)
    bands: dict[Identifier, Edges] = Field(default_factory=dict)
    """Numeric segment fields (e.g. ARR) sliced by ranges instead of by each value."""
    tenure_months: Annotated[tuple[int, ...], Field(max_length=20)] = ()
    """Tenure cohorts: months since the account's customer-since date at the answer, e.g.
    [6, 12, 24]; empty: no tenure slice."""

    @model_validator(mode="after")
    def _bands_are_segments(self) -> "SegmentsConfig":
        for name, edges in self.bands.items():
            if name not in self.fields:
                raise invalid(f"'{name}' is not one of segments.fields", "bands", name)
            if list(edges) != sorted(set(edges)):
                raise invalid("band limits must be ascending and distinct", "bands", name)
        months = self.tenure_months
        if list(months) != sorted(set(months)) or any(m <= 0 for m in months):
            raise invalid("months must be positive, ascending and distinct", "tenure_months")
        return self


class ContactWriteback(Section):
    """CRM field per value written on the contact after each response (null: not written)."""

    last_score: FieldName | None = None
    last_category: FieldName | None = None
    last_comment: FieldName | None = None
    reason_tags: FieldName | None = None
    praise_tags: FieldName | None = None
    """Reason tags the latest answer praises (same ids as `reason_tags`)."""
    complaint_tags: FieldName | None = None
    """Reason tags the latest answer complains of."""
    last_response_at: FieldName | None = None
    followup_status: FieldName | None = None
    survey_url: FieldName | None = None
    survey_count: FieldName | None = None
    """Number of NPS surveys the contact has answered."""


class AccountWriteback(Section):
    """CRM field per NPS roll-up written on the account (null: not written)."""

    nps_score: FieldName | None = None
    response_count: FieldName | None = None
    promoters: FieldName | None = None
    passives: FieldName | None = None
    detractors: FieldName | None = None
    last_response_at: FieldName | None = None
    nps_trend: FieldName | None = None
    """Account NPS now minus the previous window's, in points."""


class WritebackConfig(Section):
    """What the worker writes back to the CRM; defaults depend on `crm.kind`."""

    contact: ContactWriteback = Field(default_factory=ContactWriteback)
    account: AccountWriteback = Field(default_factory=AccountWriteback)
    property_group: Identifier = "nps"
    account_window: Annotated[Duration, duration_between("7d", "730d")] = dt.timedelta(days=180)
    """Account roll-ups count each contact's latest answer within this trailing window."""

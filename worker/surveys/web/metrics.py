"""Prometheus metrics of the web app, in a registry of its own (one per app instance), and the
worker's health as the store tells it (each CRM up or failing, the daily work late or not)."""

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.health import crm_health, crms_seen, daily_state

log = structlog.get_logger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds; an answer page should come back well under 100 ms."""


@dataclass
class WebMetrics:
    """Counters and the latency histogram `/metrics` exposes."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.answers = Counter(
            "nps_web_answers",
            "Answers received, by outcome (answered, updated, unchanged, provisional, honeypot).",
            ["outcome"],
            registry=self.registry,
        )
        self.rejected_tokens = Counter(
            "nps_web_rejected_tokens",
            "Links refused, by reason (malformed, bad_signature, expired, unknown, closed).",
            ["reason"],
            registry=self.registry,
        )
        self.rejected_forms = Counter(
            "nps_web_rejected_forms",
            "Posted forms refused, by field.",
            ["field"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "nps_web_rate_limited", "Requests refused with 429.", registry=self.registry
        )
        self.unsubscribes = Counter(
            "nps_web_unsubscribes",
            "Unsubscribe requests, by method (form, one_click).",
            ["method"],
            registry=self.registry,
        )
        self.hooks = Counter(
            "nps_web_hook_requests",
            "Signed import requests, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.store_failures = Counter(
            "nps_web_store_failures",
            "Requests answered 503 because the store could not commit.",
            registry=self.registry,
        )
        self.latency = Histogram(
            "nps_web_request_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)


class HealthCollector(Collector):
    """Gauges read from the store at each scrape, so every replica reports the same health.

    `nps_crm_up` is 0 while a CRM's cycles fail (an outage, a refused login), with the failures
    in a row and the last good cycle's time beside it; `nps_daily_late` is 1 when the daily
    work (roll-ups, retention) missed its time.
    """

    def __init__(
        self, sessions: sessionmaker[Session], config: Config, clock: Callable[[], dt.datetime]
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        """The health gauges; none when the store cannot be read (`/readyz` says so)."""
        up = GaugeMetricFamily(
            "nps_crm_up", "1 unless the CRM's last cycle step failed.", labels=["crm"]
        )
        failures = GaugeMetricFamily(
            "nps_crm_failed_cycles_in_a_row",
            "Cycle steps of the CRM failed in a row.",
            labels=["crm"],
        )
        last_ok = GaugeMetricFamily(
            "nps_crm_last_ok_cycle_timestamp_seconds",
            "When the CRM's last good cycle step finished (Unix time).",
            labels=["crm"],
        )
        late = GaugeMetricFamily("nps_daily_late", "1 when the daily work missed its time.")
        daily_ok = GaugeMetricFamily(
            "nps_daily_last_ok_timestamp_seconds",
            "When the last good run of the daily work started (Unix time).",
        )
        scheduler = self._config.scheduler
        try:
            with self._sessions() as session:
                for crm in crms_seen(session, [self._config.crm.kind]):
                    health = crm_health(session, crm, scheduler.cycle_every)
                    up.add_metric([crm], 1 if health.up else 0)
                    failures.add_metric([crm], health.failures)
                    if health.last_ok_at is not None:
                        last_ok.add_metric([crm], health.last_ok_at.timestamp())
                daily = daily_state(session, self._clock(), scheduler.daily_at)
        except SQLAlchemyError:
            log.warning("health_metrics_unavailable")
            return
        late.add_metric([], 1 if daily.late else 0)
        if daily.last_ok_at is not None:
            daily_ok.add_metric([], daily.last_ok_at.timestamp())
        yield from (up, failures, last_ok, late, daily_ok)

"""Prometheus metrics of the web app, in a registry of its own (one per app instance)."""

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

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

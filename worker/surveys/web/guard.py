"""The outermost layer: rate limit, security headers and latency on every response.

Written as plain ASGI rather than Starlette's BaseHTTPMiddleware, which costs a task and a
stream copy per request on the answer path the benchmark measures.
"""

import math
import time
from collections.abc import Callable, Sequence
from ipaddress import IPv4Network, IPv6Network

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.surveys.web.metrics import WebMetrics
from worker.surveys.web.pages import Pages
from worker.surveys.web.ratelimit import TokenBucketLimiter, client_address

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes come from the platform, often all from one address: never limited."""

HSTS_MAX_AGE = 31_536_000
"""One year, sent only when the public URL is https."""


def route_of(path: str) -> str:
    """The route label of a path for the latency histogram (never the token itself)."""
    if path.startswith("/s/"):
        return "seen" if path.endswith("/seen") else "answer"
    if path.startswith("/u/"):
        return "unsubscribe"
    if path.startswith("/hooks/"):
        return "hooks"
    if path in UNLIMITED_PATHS:
        return path.lstrip("/")
    return "other"


class Guard:
    """Wraps the app: 429 over the per-IP rate, strict headers, a latency observation."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        pages: Pages,
        metrics: WebMetrics,
        limiter: TokenBucketLimiter,
        trusted_proxies: Sequence[IPv4Network | IPv6Network],
        https: bool,
        default_language: str,
        monotonic: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._app = app
        self._pages = pages
        self._metrics = metrics
        self._limiter = limiter
        self._trusted = trusted_proxies
        self._default_language = default_language
        self._monotonic = monotonic
        headers = [
            (b"content-security-policy", pages.content_security_policy.encode("ascii")),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
            (b"cache-control", b"no-store"),
        ]
        if https:
            headers.append((b"strict-transport-security", f"max-age={HSTS_MAX_AGE}".encode()))
        self._headers = headers
        self._names = {name for name, _ in headers}

    @property
    def metrics(self) -> WebMetrics:
        """The counters this app updates, for the metrics listener (`create_metrics_app`)."""
        return self._metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request through the limit, adding the headers to whatever is sent."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = self._monotonic()
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k not in self._names]
                message["headers"] = kept + self._headers
            await send(message)

        try:
            retry_after = None if path in UNLIMITED_PATHS else self._limit(scope)
            if retry_after is not None:
                self._metrics.rate_limited.inc()
                page = self._pages.message(
                    "too_many",
                    self._default_language,
                    429,
                    {"Retry-After": str(max(1, math.ceil(retry_after)))},
                )
                await page(scope, receive, send_with_headers)
                return
            await self._app(scope, receive, send_with_headers)
        finally:
            self._metrics.latency.labels(route_of(path)).observe(self._monotonic() - started)

    def _limit(self, scope: Scope) -> float | None:
        client = scope.get("client")
        peer = client[0] if client else None
        forwarded = None
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
                break
        return self._limiter.take(client_address(peer, forwarded, self._trusted))

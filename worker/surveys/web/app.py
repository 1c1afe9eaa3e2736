"""`create_app`: the response web app as one Starlette application, served by uvicorn;
`create_metrics_app`: its Prometheus metrics, served on a listener of their own."""

import os
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

from alembic.runtime.migration import MigrationContext
from anyio import CapacityLimiter
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from worker.config import Config
from worker.config.credentials import read_secret
from worker.health import health_lines
from worker.store.engine import reading
from worker.store.migrate import head_revision
from worker.surveys.tokens import TokenSigner
from worker.surveys.web.answer_routes import AnswerRoutes
from worker.surveys.web.context import ImportHandler, PageError, WebContext
from worker.surveys.web.forms import FormTokens
from worker.surveys.web.guard import Guard
from worker.surveys.web.hooks import HookRoutes
from worker.surveys.web.loop_metrics import LoopCollector
from worker.surveys.web.metrics import HealthCollector, WebMetrics
from worker.surveys.web.pages import Pages
from worker.surveys.web.ratelimit import TokenBucketLimiter
from worker.surveys.web.unsubscribe_routes import UnsubscribeRoutes

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"

READING_THREADS = 8
"""Threads reading the store at once (page views, probes); requests past them wait their turn."""

WRITING_THREADS = 8
"""Threads writing at once (answers, clicks, unsubscribes, imports); on SQLite they take turns.

Together with `READING_THREADS` within the engine's pool (`worker.store.engine.POOL_SIZE`), so
no request opens a connection of its own. Few threads also contend less for the GIL: with a
thread per concurrent person (16 of Starlette's default 40) the answer benchmark's p99 on
PostgreSQL was 175-200 ms against 136-141 ms with 8, for the same CPU per answer.
"""


def create_app(
    config: Config,
    session_factory: sessionmaker[Session],
    signer: TokenSigner,
    clock: Callable[[], datetime],
    import_handler: ImportHandler | None = None,
    *,
    env: Mapping[str, str] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> Guard:
    """The web app: answer pages, unsubscribe, signed imports (when a handler is given), probes.

    Its counters are `Guard.metrics`; `/metrics` is not served here (see `create_metrics_app`).

    `clock` tells the time tokens and answers are judged by (the sandbox clock in the demo);
    `monotonic` paces the rate limiter. With `import_handler`, the secret named by
    `server.hooks_secret_env` must be set in `env` (default: the process environment).
    """
    metrics = WebMetrics()
    metrics.registry.register(HealthCollector(session_factory, config, clock))
    metrics.registry.register(LoopCollector(session_factory, config, clock))
    pages = Pages(brand=config.survey.company_name)
    web = WebContext(
        config=config,
        sessions=session_factory,
        signer=signer,
        clock=clock,
        pages=pages,
        metrics=metrics,
        forms=FormTokens(signer),
        readers=CapacityLimiter(READING_THREADS),
        writers=CapacityLimiter(WRITING_THREADS),
        write_gate=_write_gate(session_factory),
    )
    answers = AnswerRoutes(web)
    unsubscribes = UnsubscribeRoutes(web)
    routes = [
        Route("/healthz", _healthz, methods=["GET"]),
        Route("/readyz", _readiness(web), methods=["GET"]),
        Route("/s/{token}", answers.page, methods=["GET"]),
        Route("/s/{token}", answers.submit, methods=["POST"]),
        Route("/s/{token}/seen", answers.seen, methods=["POST"]),
        Route("/u/{token}", unsubscribes.page, methods=["GET"]),
        Route("/u/{token}", unsubscribes.submit, methods=["POST"]),
    ]
    if import_handler is not None:
        variable = config.server.hooks_secret_env
        secret = read_secret(variable, os.environ if env is None else env).get_secret_value()
        hooks = HookRoutes(web, import_handler, secret.encode("utf-8"))
        routes.append(Route("/hooks/answers", hooks.answers, methods=["POST"]))

    def page_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, PageError)
        return pages.message(error.kind, error.language, error.status)

    def http_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        kind = "not_found" if error.status_code == 404 else "unsupported"
        return pages.message(kind, config.survey.default_language, error.status_code)

    app = Starlette(
        routes=routes,
        exception_handlers={PageError: page_error, HTTPException: http_error},
    )
    return Guard(
        app,
        pages=pages,
        metrics=metrics,
        limiter=TokenBucketLimiter(
            config.server.rate_limit.per_minute, config.server.rate_limit.burst, monotonic
        ),
        trusted_proxies=config.server.trusted_proxies,
        https=config.survey.base_url.startswith("https://"),
        default_language=config.survey.default_language,
    )


def _write_gate(sessions: sessionmaker[Session]) -> AbstractContextManager[object]:
    """A lock serialising this process's write transactions on SQLite; none on PostgreSQL."""
    bind = sessions.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
        return threading.Lock()
    return nullcontext()


async def _healthz(_request: Request) -> Response:
    """The process is alive and serving."""
    return PlainTextResponse("ok")


def _readiness(web: WebContext) -> Callable[[Request], object]:
    head = head_revision()
    crms: list[str] = [web.config.crm.kind]
    scheduler = web.config.scheduler

    def check() -> tuple[str | None, list[str]]:
        try:
            with reading(web.sessions) as session:
                current = MigrationContext.configure(session.connection()).get_current_revision()
                if current != head:
                    return f"database at revision {current}, code at {head}", []
                detail = health_lines(
                    session, crms, scheduler.cycle_every, web.clock(), scheduler.daily_at
                )
        except SQLAlchemyError:
            return "database unreachable", []
        return None, [f"database: at revision {head}", *detail]

    async def readyz(_request: Request) -> Response:
        """Ready when the database answers and is migrated to the code's head revision.

        Below the verdict, one line per CRM (ok, or failing since when, with the last error and
        the next try) and one for the daily work. A CRM outage leaves the replica ready: the
        answer page it serves does not need the CRM.
        """
        problem, detail = await web.read(check)
        if problem is None:
            return PlainTextResponse("\n".join(["ready", *detail]))
        return PlainTextResponse(f"not ready: {problem}", status_code=503)

    return readyz


def create_metrics_app(metrics: WebMetrics) -> Starlette:
    """`GET /metrics` alone: the scrape endpoint, for a listener apart from the answer pages."""

    async def exposition(_request: Request) -> Response:
        """Prometheus scrape endpoint."""
        return Response(metrics.exposition(), media_type=PROMETHEUS_TEXT)

    return Starlette(routes=[Route("/metrics", exposition, methods=["GET"])])

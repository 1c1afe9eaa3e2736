"""What every handler needs: config, store, signer, clock, pages, metrics; and shared steps."""

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import structlog
from anyio import CapacityLimiter, to_thread
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from worker.config import Config
from worker.store.engine import reading
from worker.store.models import Survey
from worker.surveys.tokens import Claims, Purpose, TokenRejected, TokenSigner
from worker.surveys.web.forms import FormTokens
from worker.surveys.web.metrics import WebMetrics
from worker.surveys.web.pages import Pages

T = TypeVar("T")

log = structlog.get_logger(__name__)

ImportHandler = Callable[[Any, datetime], Mapping[str, Any]]
"""Imports answers from a verified webhook document at `now`; ValueError for a bad document."""


class RefusedDocument(ValueError):
    """A webhook document that breaks the answer rules: `problems` names each item and field."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

_REJECTED_STATUS = {"malformed": (400, "invalid"), "expired": (410, "expired")}
"""How a refused token is answered; any other reason (bad signature) is a 403."""


class PageError(Exception):
    """Stop handling and answer with the plain page `kind` (see texts) and HTTP `status`."""

    def __init__(self, kind: str, status: int, language: str) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.language = language


@dataclass(frozen=True)
class WebContext:
    """The collaborators of the web app, built once by `create_app`."""

    config: Config
    sessions: sessionmaker[Session]
    signer: TokenSigner
    clock: Callable[[], datetime]
    pages: Pages
    metrics: WebMetrics
    forms: FormTokens
    readers: CapacityLimiter
    """Threads for store work that only reads (page views, probes)."""
    writers: CapacityLimiter
    """Threads for store work that writes."""
    write_gate: AbstractContextManager[object]
    """Held around each write transaction: a lock on SQLite (one writer at a time), else none."""

    @property
    def default_language(self) -> str:
        """The language of pages shown before the survey (and its language) is known."""
        return self.config.survey.default_language

    def verify(self, token: str, purpose: Purpose, now: datetime) -> Claims:
        """The claims of a link's token; a refused one becomes a 4xx page and a metric."""
        try:
            return self.signer.verify(token, purpose, now)
        except TokenRejected as rejected:
            self.metrics.rejected_tokens.labels(rejected.reason).inc()
            status, kind = _REJECTED_STATUS.get(rejected.reason, (403, "invalid"))
            raise PageError(kind, status, self.default_language) from None

    def survey_or_404(self, survey: Survey | None) -> Survey:
        """The survey a valid token names; a token of a deleted survey gets a 404 page."""
        if survey is None:
            self.metrics.rejected_tokens.labels("unknown").inc()
            raise PageError("not_found", 404, self.default_language)
        return survey

    def closed(self, survey: Survey) -> PageError:
        """The page for a survey that takes no more answers."""
        self.metrics.rejected_tokens.labels("closed").inc()
        return PageError("expired", 410, survey.language)

    async def read(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in a reading thread: the event loop never waits on the store."""
        return await to_thread.run_sync(partial(work, *args), limiter=self.readers)

    async def write(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in a writing thread; readers have threads of their own, so a page view
        never queues behind writes."""
        return await to_thread.run_sync(partial(work, *args), limiter=self.writers)

    def transaction(
        self, work: Callable[[Session], T], language: str | None = None, *, write: bool = True
    ) -> T:
        """Run `work` in one committed transaction; a store failure becomes a 503 page.

        With `write=False` the transaction only reads and, on SQLite, does not wait for the
        write lock (`worker.store.engine.reading`): a page view is never queued behind a cycle.
        Called in a thread of `read` or `write`, as the transaction does.

        The commit happens before this returns, so whatever the caller answers next (the
        thank-you page) is only said about data that is durable (promise 4). On SQLite, this
        process's writers queue on a lock first: SQLite's own busy wait is unfair under load
        (a writer can starve past the busy timeout), a lock's waiters do not time out, and the
        lock hands over from thread to thread without a trip through the event loop.
        """
        gate = self.write_gate if write else nullcontext()
        try:
            with gate:
                session = self.sessions() if write else reading(self.sessions)
                with session, session.begin():
                    return work(session)
        except SQLAlchemyError as error:
            self.metrics.store_failures.inc()
            log.warning("web.store_failed", error=type(error).__name__)
            raise PageError("busy", 503, language or self.default_language) from None


async def read_body(request: Request, limit: int, language: str) -> bytes:
    """The request body, refused with 413 past `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PageError("too_large", 413, language)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PageError("too_large", 413, language)
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    """The request's media type, lower-cased, without parameters."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_form(request: Request, language: str) -> None:
    """Refuse anything but a URL-encoded form with 415."""
    if media_type(request) != FORM_CONTENT_TYPE:
        raise PageError("unsupported", 415, language)

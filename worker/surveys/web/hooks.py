"""`POST /hooks/answers`: answers collected elsewhere, signed by the sender, handed to the import.

The sender signs `<timestamp>.<raw body>` with HMAC-SHA256 and a shared secret:
`X-NPS-Timestamp: <unix seconds>` and `X-NPS-Signature: sha256=<hex>`. Signing the timestamp
with the body means a captured request cannot be replayed later with a fresh timestamp; one
replayed within the tolerance imports nothing new, since imports are deduplicated.
"""

import hashlib
import hmac
import json
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from worker.surveys.web.context import ImportHandler, RefusedDocument, WebContext, read_body

TOLERANCE = timedelta(minutes=5)
"""How far the signed timestamp may be from our clock."""


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The `X-NPS-Signature` value of `body` sent at `timestamp`."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class HookRoutes:
    """The signed import endpoint."""

    def __init__(self, web: WebContext, handler: ImportHandler, secret: bytes) -> None:
        self._web = web
        self._handler = handler
        self._secret = secret

    def _refuse(
        self, outcome: str, status: int, error: str, problems: list[str] | None = None
    ) -> Response:
        self._web.metrics.hooks.labels(outcome).inc()
        body: dict[str, object] = {"error": error}
        if problems is not None:
            body["refused"] = problems
        return JSONResponse(body, status_code=status)

    def _unsigned(self, request: Request, body: bytes, now: float) -> tuple[str, int, str] | None:
        """Why the request's signature is not acceptable, or None when it is."""
        timestamp = request.headers.get("x-nps-timestamp", "")
        given = request.headers.get("x-nps-signature", "")
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            return ("unsigned", 401, "X-NPS-Timestamp must be unix seconds")
        if abs(now - int(timestamp)) > TOLERANCE.total_seconds():
            return ("stale", 401, "X-NPS-Timestamp is more than 5 minutes off")
        expected = signature(self._secret, timestamp, body).encode("ascii")
        if not hmac.compare_digest(expected, given.encode("utf-8", "replace")):
            return ("bad_signature", 401, "X-NPS-Signature does not match")
        return None

    async def answers(self, request: Request) -> Response:
        """Verify the signature and the timestamp, then import the JSON document."""
        web = self._web
        now = web.clock()
        body = await read_body(request, web.config.server.max_body_bytes, web.default_language)
        problem = self._unsigned(request, body, now.timestamp())
        if problem is not None:
            return self._refuse(*problem)
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return self._refuse("malformed", 400, "the body is not JSON")
        try:
            result = await web.write(self._handler, document, now)
        except RefusedDocument as error:
            return self._refuse("rejected", 422, str(error), error.problems)
        except ValueError as error:
            return self._refuse("rejected", 422, str(error))
        except SQLAlchemyError:
            web.metrics.store_failures.inc()
            return self._refuse("store_failed", 503, "the store is unavailable; retry later")
        web.metrics.hooks.labels("imported").inc()
        return JSONResponse(dict(result))

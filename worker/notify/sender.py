"""Posting JSON to chat webhooks from a background thread: the caller never waits on a chat.

`post` queues and returns at once. One worker thread sends in order; a 429 waits as long as
`Retry-After` says (Slack allows about one message a second per webhook:
https://api.slack.com/docs/rate-limits), a 5xx, a timeout or a dropped connection is retried
with exponential backoff, anything else is given up and logged. Webhook URLs carry their secret
in the path, so they are never logged: a post is named by its chat kind.
"""

import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import structlog

from worker.config.credentials import read_secret
from worker.config.digest import NotifyConfig
from worker.notify.message import ChatMessage
from worker.notify.slack import slack_payload
from worker.notify.teams import teams_payload

log = structlog.get_logger(__name__)

FORMATTERS = {"slack": slack_payload, "teams": teams_payload}
"""Chat kind -> the function shaping a message for it."""

MAX_RETRY_AFTER = 60.0
"""A longer `Retry-After` is cut to this, so one busy chat cannot hold the queue for hours."""


@dataclass
class Delivered:
    """Posts handed over and posts given up, by chat kind."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Post:
    kind: str
    url: str
    payload: Mapping[str, Any]


class WebhookSender:
    """A queue of webhook posts and the thread that sends them."""

    def __init__(
        self,
        *,
        timeout: float,
        retries: int,
        backoff: float = 1.0,
        session: requests.Session | None = None,
    ) -> None:
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._http = session or requests.Session()
        self._queue: queue.Queue[_Post | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.delivered = Delivered()

    def post(self, kind: str, url: str, payload: Mapping[str, Any]) -> None:
        """Queue one post; returns at once."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
                self._thread.start()
        self._queue.put(_Post(kind, url, payload))

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the queue to empty; True when it did."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def close(self, timeout: float) -> None:
        """Send what is queued (for up to `timeout` seconds), then stop the thread."""
        self.flush(timeout)
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=max(timeout, 1.0))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._send(item)
            finally:
                self._queue.task_done()

    def _send(self, post: _Post) -> None:
        for attempt in range(self._retries + 1):
            delay = self._attempt(post, attempt)
            if delay is None:
                return
            if attempt == self._retries or self._stopping.wait(delay):
                break
        self.delivered.failed[post.kind] = self.delivered.failed.get(post.kind, 0) + 1
        log.warning("webhook_given_up", chat=post.kind, attempts=attempt + 1)

    def _attempt(self, post: _Post, attempt: int) -> float | None:
        """Post once; None when done (sent, or refused for good), else the wait before a retry."""
        backoff = self._backoff * 2.0**attempt
        try:
            answer = self._http.post(post.url, json=post.payload, timeout=self._timeout)
        except requests.RequestException as error:
            log.info(
                "webhook_retry", chat=post.kind, attempt=attempt + 1, error=type(error).__name__
            )
            return backoff
        if answer.status_code < 300:
            self.delivered.sent[post.kind] = self.delivered.sent.get(post.kind, 0) + 1
            log.info("webhook_sent", chat=post.kind, status=answer.status_code)
            return None
        if answer.status_code == 429 or answer.status_code >= 500:
            log.info(
                "webhook_retry", chat=post.kind, attempt=attempt + 1, status=answer.status_code
            )
            return _retry_after(answer.headers.get("Retry-After"), backoff)
        self.delivered.failed[post.kind] = self.delivered.failed.get(post.kind, 0) + 1
        log.warning("webhook_refused", chat=post.kind, status=answer.status_code)
        return None


def _retry_after(header: str | None, default: float) -> float:
    try:
        return min(max(float(header), 0.0), MAX_RETRY_AFTER) if header else default
    except ValueError:
        return default


class Chats:
    """The chats `notify` configures, their URLs read from the environment, one sender."""

    def __init__(
        self,
        settings: NotifyConfig,
        env: Mapping[str, str] | None = None,
        sender: WebhookSender | None = None,
    ) -> None:
        self.urls = {
            kind: read_secret(variable, env).get_secret_value()
            for kind, variable in settings.webhooks().items()
        }
        self.sender = sender or WebhookSender(
            timeout=settings.timeout.total_seconds(), retries=settings.retries
        )

    def send(self, message: ChatMessage) -> list[str]:
        """Queue `message` to every configured chat; returns their kinds."""
        for kind, url in self.urls.items():
            self.sender.post(kind, url, FORMATTERS[kind](message))
        return list(self.urls)

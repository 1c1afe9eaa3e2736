"""Post queued chat alerts: batched per chat, under a per-minute limit, retried from the store.

Runs as its own job, never inside the cycle, so a slow or broken chat costs the loop nothing.
Each call posts what is due: per chat, up to `alerts.per_minute` messages in any minute (the
messages already posted in the last minute count), each carrying up to `alerts.batch` alerts.
A 429 waits as long as `Retry-After` says; a 5xx, a timeout or a dropped connection waits
`alerts.retry_after`, doubled per failure; after `alerts.max_attempts` posts, or on any other
refusal (a 404: the webhook was removed), the alert is given up (`failed`) and `status` counts
it. Webhook URLs carry their secret in the path, so they are never logged.
"""

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import requests
import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.config.credentials import read_secret
from worker.notify.message import ChatMessage
from worker.notify.sender import FORMATTERS
from worker.store.models import ChatAlert

log = structlog.get_logger(__name__)

MINUTE = dt.timedelta(minutes=1)
MAX_RETRY_AFTER = dt.timedelta(hours=1)
BATCH_TITLE = {"en": "{count} NPS alerts", "ja": "NPS アラート {count} 件"}


@dataclass
class AlertStats:
    """What one run posted, deferred and gave up, counted in alerts (not messages)."""

    sent: int = 0
    messages: int = 0
    deferred: int = 0
    failed: int = 0
    by_chat: dict[str, int] = field(default_factory=dict)


def send_alerts(
    sessions: sessionmaker[Session],
    config: Config,
    now: dt.datetime,
    *,
    env: Mapping[str, str] | None = None,
    http: requests.Session | None = None,
) -> AlertStats:
    """Post every chat's due alerts, within its limit; returns what happened."""
    stats = AlertStats()
    urls = {
        chat: read_secret(variable, env).get_secret_value()
        for chat, variable in config.notify.webhooks().items()
    }
    client = http or requests.Session()
    for chat, url in urls.items():
        budget = config.alerts.per_minute - _posted_last_minute(sessions, chat, now)
        while budget > 0:
            with sessions.begin() as session:
                due = list(
                    session.scalars(
                        select(ChatAlert)
                        .where(
                            ChatAlert.chat == chat,
                            ChatAlert.state == "pending",
                            ChatAlert.next_attempt_at <= now,
                        )
                        .order_by(ChatAlert.id)
                        .limit(config.alerts.batch)
                    )
                )
                if not due or not _post(client, config, chat, url, due, now, stats):
                    break
            budget -= 1
    return stats


def _posted_last_minute(sessions: sessionmaker[Session], chat: str, now: dt.datetime) -> int:
    """Messages posted to `chat` in the last minute: the alerts of one post share `post_id`."""
    with sessions() as session:
        found = session.scalar(
            select(func.count(func.distinct(ChatAlert.post_id))).where(
                ChatAlert.chat == chat, ChatAlert.sent_at > now - MINUTE
            )
        )
    return int(found or 0)


def batch_message(alerts: Sequence[ChatAlert]) -> ChatMessage:
    """One alert as it is; several as one message, each alert a paragraph."""
    first = alerts[0].message
    if len(alerts) == 1:
        return ChatMessage(first["title"], tuple(first["lines"]), first.get("link"))
    language = str(first.get("language") or "en")
    title = BATCH_TITLE.get(language, BATCH_TITLE["en"]).format(count=len(alerts))
    paragraphs = tuple(
        "\n".join([alert.message["title"], *alert.message["lines"]])
        + (f"\n{alert.message['link']}" if alert.message.get("link") else "")
        for alert in alerts
    )
    return ChatMessage(title, paragraphs)


def _post(  # noqa: PLR0917 - one post's whole setting, private to this module
    client: requests.Session,
    config: Config,
    chat: str,
    url: str,
    due: list[ChatAlert],
    now: dt.datetime,
    stats: AlertStats,
) -> bool:
    """Post one message of `due` alerts and record the outcome on them; True when posted."""
    payload = FORMATTERS[chat](batch_message(due))
    wait: dt.timedelta | None
    try:
        answer = client.post(url, json=payload, timeout=config.notify.timeout.total_seconds())
    except requests.RequestException as error:
        status, error_text, wait = None, type(error).__name__, None
    else:
        status, error_text = answer.status_code, f"HTTP {answer.status_code}"
        wait = _retry_after(answer.headers.get("Retry-After")) if status == 429 else None
    if status is not None and status < 300:
        post_id = str(uuid.uuid4())
        for alert in due:
            alert.state, alert.sent_at, alert.last_error = "sent", now, None
            alert.post_id = post_id
            alert.attempts += 1
        stats.sent += len(due)
        stats.messages += 1
        stats.by_chat[chat] = stats.by_chat.get(chat, 0) + len(due)
        log.info("chat_alerts_sent", chat=chat, alerts=len(due))
        return True
    transient = status is None or status == 429 or status >= 500
    for alert in due:
        alert.attempts += 1
        alert.last_error = error_text
        if not transient or alert.attempts >= config.alerts.max_attempts:
            alert.state = "failed"
            stats.failed += 1
            continue
        backoff = config.alerts.retry_after * 2 ** (alert.attempts - 1)
        alert.next_attempt_at = now + min(wait or backoff, MAX_RETRY_AFTER)
        stats.deferred += 1
    log.warning("chat_alerts_not_sent", chat=chat, alerts=len(due), error=error_text)
    return False


def _retry_after(header: str | None) -> dt.timedelta | None:
    try:
        return dt.timedelta(seconds=max(float(header), 0.0)) if header else None
    except ValueError:
        return None

"""Queue chat alerts in the transaction of the event that causes them (an answer handled, an
escalation opened): the cycle never talks to a chat; `notify/alerts.py` posts them later."""

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.config.alerts import AlertKind
from worker.notify.message import ChatMessage
from worker.rules.alert_rules import alert_targets
from worker.store.models import ChatAlert

Compose = Callable[[str], ChatMessage]
"""Language -> the alert's message in it."""


def queue_alerts(
    session: Session,
    config: Config,
    *,
    kind: AlertKind,
    key: str,
    program: str,
    values: Mapping[str, Any],
    compose: Compose,
    now: dt.datetime,
) -> int:
    """One row per chat a rule sends this event to (once per `key` and chat); how many."""
    targets = alert_targets(config.alerts, kind, program, values)
    if not targets:
        return 0
    keys = {chat: f"{kind}:{key}:{chat}" for chat, _ in targets}
    known = set(
        session.scalars(select(ChatAlert.dedup_key).where(ChatAlert.dedup_key.in_(keys.values())))
    )
    queued = 0
    for chat, language in targets:
        if keys[chat] in known:
            continue
        message = compose(language)
        session.add(
            ChatAlert(
                chat=chat,
                kind=kind,
                dedup_key=keys[chat],
                message={
                    "title": message.title,
                    "lines": list(message.lines),
                    "link": message.link,
                    "language": language,
                },
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        queued += 1
    return queued

"""Which chats hear of an event: the first `alerts` rule matching its kind, program and segment,
per chat. Pure: the event's facts in, (chat, language) pairs out."""

from collections.abc import Mapping
from typing import Any

from worker.config.alerts import AlertKind, AlertsConfig
from worker.rules.conditions import evaluate


def alert_targets(
    config: AlertsConfig, kind: AlertKind, program: str, values: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(chat, language) for each chat a rule sends this event to; one language per chat."""
    targets: dict[str, str] = {}
    for rule in config.rules:
        if kind not in rule.on or (rule.programs and program not in rule.programs):
            continue
        if not evaluate(rule.when, values).passed:
            continue
        for chat in rule.chats:
            targets.setdefault(chat, rule.language)
    return sorted(targets.items())

"""The signed `/hooks/answers` endpoint's work: a JSON batch of answers collected elsewhere.

The body is `{"answers": [{"email" or "crm_id", "date", "score", "comment", "program",
"tags"}, ...]}`, the same fields as the CSV import, checked by the same rules and deduplicated
the same way. A batch with an item that breaks a rule is refused whole (`RefusedDocument`,
answered 422) naming each such item and field (`webhook:<n>: <field>: <reason>`): the sender
fixes it and sends the batch again, and nothing was half imported. Items whose contact is not
mirrored are only named in the reply (they may match after the next sync).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.store.models import ResponseSource
from worker.surveys.import_command import tag_lookup
from worker.surveys.imports import AnswerRow, RowIssue, import_answers, parse_record
from worker.surveys.web.context import ImportHandler, RefusedDocument

MAX_ITEMS = 1000
FIELDS = ("email", "crm_id", "date", "score", "comment", "program", "touchpoint", "tags")
"""The fields an item may carry; others are ignored."""


def webhook_importer(sessions: sessionmaker[Session], config: Config) -> ImportHandler:
    """The handler `create_app` calls with the verified JSON document and the time."""
    tags = tag_lookup(config.tags)

    def handle(document: Any, now: datetime) -> Mapping[str, Any]:
        items = document.get("answers") if isinstance(document, dict) else None
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise ValueError(f'expected {{"answers": [...]}} with at most {MAX_ITEMS} items')
        rows: list[AnswerRow] = []
        issues: list[RowIssue] = []
        for line, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                issues.append(RowIssue("webhook", line, 0, "an answer is a JSON object"))
                continue
            texts, problem = _texts(item)
            parsed = problem or parse_record(
                texts, where="webhook", line=line, now=now, tag_ids=tags
            )
            if isinstance(parsed, AnswerRow):
                rows.append(parsed)
            elif isinstance(parsed, str):
                issues.append(RowIssue("webhook", line, 0, parsed))
            else:
                issues.append(parsed)
        if issues:
            raise RefusedDocument(
                f"{len(issues)} of {len(items)} answers break a rule; nothing was imported",
                [str(issue) for issue in issues],
            )
        with sessions.begin() as session:
            result = import_answers(
                session,
                rows,
                now,
                ResponseSource.WEBHOOK,
                where="webhook",
                default_language=config.survey.default_language,
            )
        return {
            "imported": result.imported,
            "duplicates": result.duplicates,
            "refused": [str(issue) for issue in result.issues],
        }

    return handle


def _texts(item: Mapping[Any, Any]) -> tuple[dict[str, str | None], str | None]:
    """Field values as the CSV import reads them (text; tags as a list joined with `;`),
    or the field whose JSON type no answer field has."""
    values: dict[str, str | None] = {}
    for key in FIELDS:
        value = item.get(key)
        if key == "tags" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            values[key] = ";".join(value)
        elif value is None or isinstance(value, str):
            values[key] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            values[key] = str(value)
        else:
            return values, f"{key}: a {type(value).__name__} is not a value of this field"
    return values, None

"""The signed `/hooks/answers` endpoint's work: a JSON batch of answers collected elsewhere.

The body is `{"answers": [{"email" or "crm_id", "date", "score", "comment", "program",
"tags"}, ...]}`, the same fields as the CSV import, deduplicated the same way; the reply counts
what was imported and names each item that was not (`webhook:<n>: <field>: <reason>`).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.store.models import ResponseSource
from worker.surveys.import_command import tag_lookup
from worker.surveys.imports import AnswerRow, RowIssue, import_answers, parse_record
from worker.surveys.web.context import ImportHandler

MAX_ITEMS = 1000


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
            parsed = parse_record(_texts(item), where="webhook", line=line, tag_ids=tags)
            if isinstance(parsed, AnswerRow):
                rows.append(parsed)
            else:
                issues.append(parsed)
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
            "refused": [str(issue) for issue in (*issues, *result.issues)],
        }

    return handle


def _texts(item: Mapping[Any, Any]) -> dict[str, str | None]:
    """Field values as the CSV import reads them: text, lists of tags joined with `;`."""
    values: dict[str, str | None] = {}
    for key, value in item.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, list):
            values[key] = ";".join(str(part) for part in value)
        elif value is None or isinstance(value, str | int | float):
            values[key] = None if value is None else str(value)
    return values

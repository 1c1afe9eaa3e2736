"""`nps-worker import FILE.csv [--dry-run]`: read the file, import the answers, report."""

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from worker.config import Config
from worker.config.tags import Tag
from worker.store.engine import make_engine, session_factory
from worker.store.models import ResponseSource
from worker.surveys.imports import ImportResult, import_answers, read_csv


def tag_lookup(tags: Iterable[Tag]) -> dict[str, str]:
    """Lower-cased tag ids and labels (every language) -> tag id, for the `tags` column."""
    lookup: dict[str, str] = {}
    for tag in tags:
        lookup[tag.id.lower()] = tag.id
        for label in tag.labels.values():
            lookup[label.strip().lower()] = tag.id
    return lookup


def import_command(
    config: Config, path: Path, *, dry_run: bool, now: datetime, follow_up: bool = False
) -> ImportResult:
    """Import the answers in `path`; with `dry_run` report what would happen and keep nothing.

    History opens no follow-up task unless `follow_up`; then each task's SLA starts now.
    """
    rows, issues = read_csv(path, tag_lookup(config.tags), now=now)
    engine = make_engine(config.database.url.get_secret_value())
    try:
        with session_factory(engine)() as session, session.begin():
            result = import_answers(
                session,
                rows,
                now,
                ResponseSource.IMPORT,
                where=str(path),
                default_language=config.survey.default_language,
                follow_up=follow_up,
            )
            if dry_run:
                session.rollback()
    finally:
        engine.dispose()
    result.issues = sorted([*issues, *result.issues], key=lambda issue: issue.line)
    return result

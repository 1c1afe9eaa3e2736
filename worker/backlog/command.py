"""`nps-worker backlog`: list, plan, assign, start, close (and tell customers), import, export.

Each function takes the config and what the command line gave, does its work in one
transaction, and returns the lines to print; bad input raises `BacklogError` (exit 2).
"""

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from worker.analytics import labels
from worker.analytics.items import views
from worker.analytics.report import plain
from worker.backlog import csv_io
from worker.backlog.items import BacklogError, assign, get, plan_from_store, set_status
from worker.backlog.said_did import Told, tell_customers
from worker.config import Config
from worker.runtime import signer_of
from worker.store.models import BacklogStatus
from worker.surveys.mail import make_transport


def list_items(
    sessions: sessionmaker[Session],
    config: Config,
    *,
    statuses: list[BacklogStatus],
    fmt: str,
    today: dt.date,
) -> str:
    """The items as a text table, CSV or JSON."""
    with sessions() as session:
        items = views(session, statuses)
    if fmt == "csv":
        return csv_io.export_csv(items)
    if fmt == "json":
        return json.dumps([plain(item) for item in items], ensure_ascii=False, indent=2) + "\n"
    names = labels.tags(config, "en")
    lines = [f"{'#':>4}  {'theme':<22} {'owner':<20} {'due':<10}  {'status':<11} answers"]
    for item in items:
        late = "  overdue" if item.overdue(today) else ""
        done = f" {item.done_on}" if item.done_on else ""
        lines.append(
            f"{item.id:>4}  {names.get(item.theme, item.theme)[:22]:<22} {item.owner[:20]:<20}"
            f" {item.due_on}  {item.status.value + done:<11} {item.answers}{late}"
        )
    if not items:
        lines.append("(no items; `nps-worker backlog plan` stores the top-ranked themes)")
    return "\n".join(lines) + "\n"


def plan_items(
    sessions: sessionmaker[Session], config: Config, *, now: dt.datetime, actor: str
) -> list[str]:
    """Store items for the top themes without one; say what was created."""
    with sessions.begin() as session:
        created = plan_from_store(session, config, now=now, actor=actor)
        lines = [
            f"created #{item.id}: {item.theme}, owner {item.owner}, due {item.due_on}"
            for item in created
        ]
    window = config.analytics.backlog.plan_window.days
    return lines or [
        f"no new items: the top themes of the last {window} days already have active items,"
        " or no theme was cited"
    ]


def assign_item(
    sessions: sessionmaker[Session],
    item_id: int,
    owner: str,
    *,
    due_on: dt.date | None,
    now: dt.datetime,
    actor: str,
) -> str:
    """Give an item an owner (and a due date)."""
    with sessions.begin() as session:
        item = assign(session, item_id, owner, due_on=due_on, now=now, actor=actor)
        return f"#{item.id} {item.theme}: owner {item.owner}, due {item.due_on}"


def start_item(
    sessions: sessionmaker[Session], item_id: int, *, now: dt.datetime, actor: str
) -> str:
    """Mark an item in progress."""
    with sessions.begin() as session:
        item = set_status(session, item_id, BacklogStatus.IN_PROGRESS, now=now, actor=actor)
        return f"#{item.id} {item.theme}: in progress"


def close_item(
    sessions: sessionmaker[Session],
    config: Config,
    item_id: int,
    *,
    note: str | None,
    dropped: bool,
    notify: bool,
    now: dt.datetime,
    actor: str,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Mark an item done (or dropped); with `notify`, tell the customers who complained."""
    if dropped and notify:
        raise BacklogError("a dropped item changed nothing to tell customers about")
    status = BacklogStatus.DROPPED if dropped else BacklogStatus.DONE
    with sessions.begin() as session:
        item = get(session, item_id)
        if item.status is status:
            raise BacklogError(f"backlog item {item_id} is already {status.value}")
        if note is not None:
            item.note = note
        set_status(session, item_id, status, now=now, actor=actor)
        theme = item.theme
    lines = [f"#{item_id} {theme}: {status.value} on {now.date()}"]
    if notify:
        told = _tell(sessions, config, item_id, now=now, env=env)
        lines.append(f"told {told.sent} customers (not sent: {told.failed})")
    return lines


def _tell(
    sessions: sessionmaker[Session],
    config: Config,
    item_id: int,
    *,
    now: dt.datetime,
    env: Mapping[str, str] | None,
) -> Told:
    def theme_label(tag: str, language: str) -> str:
        return labels.tags(config, "ja" if language == "ja" else "en").get(tag, tag)

    return tell_customers(
        sessions,
        config,
        item_id,
        transport=make_transport(config.survey.mail, env),
        signer=signer_of(config, env),
        theme_label=theme_label,
        now=now,
    )


def import_items(
    sessions: sessionmaker[Session],
    config: Config,
    path: Path,
    *,
    dry_run: bool,
    now: dt.datetime,
    actor: str,
) -> csv_io.ImportResult:
    """Apply a CSV file; nothing is changed when any row has a problem (or with `dry_run`)."""
    rows, issues = csv_io.parse(path.read_bytes(), str(path), [tag.id for tag in config.tags])
    if issues:
        return csv_io.ImportResult(issues=issues)
    with sessions() as session:
        result = csv_io.apply(session, rows, str(path), now=now, actor=actor)
        if result.issues or dry_run:
            session.rollback()
        else:
            session.commit()
    return result


def export_items(sessions: sessionmaker[Session]) -> str:
    """Every item as formula-safe CSV."""
    with sessions() as session:
        return csv_io.export_csv(views(session))

"""The backlog as CSV: exported for a planning sheet, imported back (new items and changes).

Export and import use the same columns, so a file exported, edited in a spreadsheet and
imported applies the edits. Text cells go through `worker.csv_cells` both ways (formula
injection). An import is checked whole first: one bad cell and nothing is changed, with every
problem named by file, line and column.
"""

import csv
import datetime as dt
import io
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from worker.analytics.items import ACTIVE, ItemView
from worker.backlog.items import (
    BacklogError,
    get,
    record,
    refuse_second_active,
    set_status,
)
from worker.csv_cells import restore, safe_row
from worker.store.models import BacklogItem, BacklogStatus
from worker.surveys.imports import RowIssue, decode

COLUMNS = (
    "id",
    "theme",
    "owner",
    "due_on",
    "status",
    "done_on",
    "baseline",
    "target",
    "note",
    "answers",
)
"""Export columns; an import reads `id`, `theme`, `owner`, `due_on`, `status`, `done_on`, `note`."""

_REQUIRED_NEW = ("theme", "owner", "due_on")

Problem = Callable[[str, str], None]
"""Records that a row's named column has the given problem."""


def export_csv(items: Sequence[ItemView]) -> str:
    """One row per item, formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow(
            safe_row(
                [
                    item.id,
                    item.theme,
                    item.owner,
                    item.due_on.isoformat(),
                    item.status.value,
                    item.done_on.isoformat() if item.done_on else "",
                    "" if item.baseline is None else item.baseline,
                    "" if item.target is None else item.target,
                    item.note or "",
                    item.answers,
                ]
            )
        )
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One checked row: an existing item's id (None: a new item) and the values given."""

    line: int
    item_id: int | None
    theme: str | None
    owner: str | None
    due_on: dt.date | None
    status: BacklogStatus | None
    done_on: dt.date | None
    note: str | None


@dataclass
class ImportResult:
    """What an import did, or (with issues) why it did nothing."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    issues: list[RowIssue] = field(default_factory=list)


def parse(
    data: bytes, where: str, themes: Collection[str]
) -> tuple[list[ImportRow], list[RowIssue]]:
    """Rows of an import file, and every problem found, each located."""
    text, issue = decode(data, where)
    if issue is not None:
        return [], [issue]
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip().lstrip("\ufeff").lower() for cell in next(reader, [])]
    unknown = [name for name in header if name and name not in COLUMNS]
    if ("id" not in header and "theme" not in header) or unknown:
        known = ", ".join(COLUMNS)
        message = (
            f"unknown column '{unknown[0]}' (known: {known})"
            if unknown
            else f"no 'id' or 'theme' column (known: {known})"
        )
        return [], [RowIssue(where, 1, 0, message)]
    rows: list[ImportRow] = []
    issues: list[RowIssue] = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        values = {
            name: restore(cells[i].strip()) if i < len(cells) else ""
            for i, name in enumerate(header)
        }
        rows.append(_row(number, values, themes, _reporter(issues, where, number, header)))
    return rows, issues


def _reporter(issues: list[RowIssue], where: str, line: int, header: list[str]) -> Problem:
    def problem(name: str, message: str) -> None:
        issues.append(RowIssue(where, line, header.index(name) + 1, message))

    return problem


def _row(line: int, values: dict[str, str], themes: Collection[str], problem: Problem) -> ImportRow:
    item_id = None
    if values.get("id"):
        try:
            item_id = int(values["id"])
        except ValueError:
            problem("id", f"id '{values['id']}' is not a number (leave it empty for a new item)")
    if item_id is None:
        for name in _REQUIRED_NEW:
            if name in values and not values[name]:
                problem(name, f"a new item needs a {name}")
            elif name not in values:
                problem("theme" if "theme" in values else "id", f"a new item needs a {name} column")
    theme = values.get("theme") or None
    if theme is not None and theme not in themes:
        problem("theme", f"unknown theme '{theme}' (known: {', '.join(sorted(themes))})")
    status = None
    if values.get("status"):
        try:
            status = BacklogStatus(values["status"].lower().replace(" ", "_"))
        except ValueError:
            choices = ", ".join(s.value for s in BacklogStatus)
            problem("status", f"unknown status '{values['status']}' (use {choices})")
    return ImportRow(
        line=line,
        item_id=item_id,
        theme=theme,
        owner=values.get("owner") or None,
        due_on=_date(values, "due_on", problem),
        status=status,
        done_on=_date(values, "done_on", problem),
        note=values.get("note") or None,
    )


def _date(values: dict[str, str], name: str, problem: Problem) -> dt.date | None:
    text = values.get(name)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        problem(name, f"invalid date '{text}' (use YYYY-MM-DD)")
        return None


def apply(
    session: Session, rows: Sequence[ImportRow], where: str, *, now: dt.datetime, actor: str
) -> ImportResult:
    """Create and update items from checked rows; an unknown id or a second active item per
    theme is an issue, and then the caller rolls everything back."""
    result = ImportResult()
    for row in rows:
        try:
            if row.item_id is None:
                _create(session, row, now=now, actor=actor)
                result.created += 1
            elif _update(session, row, now=now, actor=actor):
                result.updated += 1
            else:
                result.unchanged += 1
        except BacklogError as error:
            result.issues.append(RowIssue(where, row.line, 0, str(error)))
    return result


def _create(session: Session, row: ImportRow, *, now: dt.datetime, actor: str) -> None:
    if row.theme is None or row.owner is None or row.due_on is None:
        raise BacklogError("a new item needs a theme, an owner and a due date")
    status = row.status or BacklogStatus.OPEN
    if status in ACTIVE:
        refuse_second_active(session, row.theme)
    item = BacklogItem(
        theme=row.theme,
        owner=row.owner,
        due_on=row.due_on,
        status=status,
        done_on=(row.done_on or now.date()) if status is BacklogStatus.DONE else None,
        note=row.note,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    record(session, item, "created", actor=actor, now=now, line=row.line, status=status.value)


def _update(session: Session, row: ImportRow, *, now: dt.datetime, actor: str) -> bool:
    assert row.item_id is not None, "checked by parse"
    item = get(session, row.item_id)
    if row.theme is not None and row.theme != item.theme:
        raise BacklogError(f"backlog item {item.id} is about '{item.theme}', not '{row.theme}'")
    changed: dict[str, str] = {}
    if row.owner is not None and row.owner != item.owner:
        changed["owner"] = item.owner = row.owner
    if row.due_on is not None and row.due_on != item.due_on:
        item.due_on = row.due_on
        changed["due_on"] = row.due_on.isoformat()
    if row.note is not None and row.note != item.note:
        changed["note"] = item.note = row.note
    if changed:
        item.updated_at = now
        record(session, item, "imported", actor=actor, now=now, line=row.line, **changed)
    status_changed = row.status is not None and row.status != item.status
    if status_changed and row.status is not None:
        set_status(session, item.id, row.status, now=now, actor=actor, done_on=row.done_on)
    elif (
        row.done_on is not None
        and item.status is BacklogStatus.DONE
        and row.done_on != item.done_on
    ):
        item.done_on = row.done_on
        record(
            session,
            item,
            "imported",
            actor=actor,
            now=now,
            line=row.line,
            done_on=row.done_on.isoformat(),
        )
        changed["done_on"] = row.done_on.isoformat()
    return bool(changed) or status_changed

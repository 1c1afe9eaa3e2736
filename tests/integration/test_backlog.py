"""The improvement backlog in the store: planned from the ranking, moved, exported and imported,
counted by the action-completion KPI, shown in the report, driven by `nps-worker backlog`."""

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests import analytics_reference as ref
from tests.integration.outer_loop_data import NOW, account, answer, config, contact
from worker.analytics.dataset import Window
from worker.analytics.render import render_html
from worker.analytics.report import build_report
from worker.backlog import csv_io
from worker.backlog.command import export_items, import_items
from worker.backlog.items import BacklogError, assign, plan_from_store, set_status
from worker.cli import main
from worker.store.models import BacklogEvent, BacklogItem, BacklogLink, BacklogStatus

SETTINGS = "analytics:\n  themes: {owners: {quality: Engineering}}\n"


def _history(session: Session) -> None:
    """Outages: three detractors cite quality; features are praised by many promoters."""
    acme = account(session, "Acme")
    for day in range(3):
        who = contact(session, acme, f"d{day}@acme.example")
        answer(session, who, 2, ["quality"], at=NOW - dt.timedelta(days=10 + day))
    for day in range(12):
        who = contact(session, acme, f"p{day}@acme.example")
        answer(session, who, 10, ["feature_value"], at=NOW - dt.timedelta(days=5 + day))
    for day in range(6):
        who = contact(session, acme, f"n{day}@acme.example")
        answer(session, who, 8, [], at=NOW - dt.timedelta(days=4 + day))


def test_plan_stores_rare_costly_themes_once_and_links_their_answers(
    sessions: sessionmaker[Session],
) -> None:
    """Three outage complaints (below the minimum sample) become an item with owner, due date,
    baseline and target; a second plan adds nothing but links a new complaint."""
    settings = config(SETTINGS)
    with sessions.begin() as session:
        _history(session)
    with sessions.begin() as session:
        created = plan_from_store(session, settings, now=NOW, actor="test")
    assert [item.theme for item in created] == ["quality"]
    with sessions() as session:
        item = session.scalars(select(BacklogItem)).one()
        assert item.owner == "Engineering"
        assert item.due_on == (NOW + settings.analytics.backlog.quick_fix_due).date()
        assert (item.baseline, item.target) == (100.0, 95.0)
        assert item.status is BacklogStatus.OPEN
        assert len(session.scalars(select(BacklogLink)).all()) == 3
    with sessions.begin() as session:
        who = contact(session, None, "late@acme.example")
        answer(session, who, 1, ["quality"], at=NOW - dt.timedelta(hours=1))
    with sessions.begin() as session:
        assert plan_from_store(session, settings, now=NOW, actor="test") == []
    with sessions() as session:
        assert len(session.scalars(select(BacklogItem)).all()) == 1
        assert len(session.scalars(select(BacklogLink)).all()) == 4


def test_an_item_moves_and_each_move_is_recorded(sessions: sessionmaker[Session]) -> None:
    """assign -> in progress -> done (with a done date); a done item cannot be assigned, and a
    theme never has two active items."""
    settings = config(SETTINGS)
    with sessions.begin() as session:
        _history(session)
        (item,) = plan_from_store(session, settings, now=NOW, actor="test")
        item_id = item.id
    later = NOW + dt.timedelta(days=3)
    with sessions.begin() as session:
        assign(session, item_id, "SRE team", due_on=dt.date(2026, 4, 30), now=later, actor="pm")
        set_status(session, item_id, BacklogStatus.IN_PROGRESS, now=later, actor="pm")
        set_status(session, item_id, BacklogStatus.DONE, now=later, actor="pm")
    with sessions() as session:
        item = session.get(BacklogItem, item_id)
        assert item is not None
        assert (item.owner, item.due_on, item.done_on) == (
            "SRE team",
            dt.date(2026, 4, 30),
            later.date(),
        )
        actions = [
            e.action for e in session.scalars(select(BacklogEvent).order_by(BacklogEvent.id))
        ]
        assert actions == ["created", "assigned", "status", "status"]
    with sessions.begin() as session, pytest.raises(BacklogError, match="is done"):
        assign(session, item_id, "x", due_on=None, now=later, actor="pm")
    with sessions.begin() as session:
        (second,) = plan_from_store(session, settings, now=later, actor="test")
        second_id = second.id
    with sessions.begin() as session, pytest.raises(BacklogError, match="already has active"):
        set_status(session, item_id, BacklogStatus.OPEN, now=later, actor="pm")
    assert second_id != item_id


def test_export_is_formula_safe_and_imports_back_unchanged(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """An owner written as a formula leaves as text and comes back as written; a new row in the
    file becomes an item."""
    settings = config(SETTINGS)
    with sessions.begin() as session:
        _history(session)
        (item,) = plan_from_store(session, settings, now=NOW, actor="test")
        assign(session, item.id, '=HYPERLINK("http://evil")', due_on=None, now=NOW, actor="x")
    exported = export_items(sessions)
    rows = list(csv.reader(io.StringIO(exported)))
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    edited = exported + "new,support,Support Lead,2026-05-01,in_progress,,,,@weekly review,\n"
    edited = edited.replace("new,", ",", 1)
    path = tmp_path / "backlog.csv"
    path.write_text(edited, encoding="utf-8")
    result = import_items(sessions, settings, path, dry_run=False, now=NOW, actor="import")
    assert (result.created, result.updated, result.unchanged, result.issues) == (1, 0, 1, [])
    with sessions() as session:
        items = {i.theme: i for i in session.scalars(select(BacklogItem))}
    assert items["quality"].owner == '=HYPERLINK("http://evil")'
    assert items["support"].status is BacklogStatus.IN_PROGRESS
    assert items["support"].note == "@weekly review"


def test_a_bad_import_names_line_and_column_and_changes_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Unknown theme, bad date, unknown status: each named; no item is created."""
    path = tmp_path / "plan.csv"
    path.write_text(
        "id,theme,owner,due_on,status\n"
        ",support,Lead,2026-05-01,open\n"
        ",outages,Lead,2026-05-01,open\n"
        ",usability,Lead,next week,open\n"
        ",onboarding,Lead,2026-05-01,finished\n",
        encoding="utf-8",
    )
    result = import_items(sessions, config(), path, dry_run=False, now=NOW, actor="import")
    assert [str(issue) for issue in result.issues] == [
        f"{path}:3:2: unknown theme 'outages' (known: feature_value, integrations, onboarding,"
        " price_contract, quality, support, usability)",
        f"{path}:4:4: invalid date 'next week' (use YYYY-MM-DD)",
        f"{path}:5:5: unknown status 'finished' (use open, in_progress, done, dropped)",
    ]
    with sessions() as session:
        assert session.scalars(select(BacklogItem)).all() == []


def test_action_completion_counts_items_apart_from_follow_ups(
    sessions: sessionmaker[Session],
) -> None:
    """Two items, one done: 50 %, as the reference computes; follow-up completion stays its own."""
    settings = config(SETTINGS)
    with sessions.begin() as session:
        _history(session)
        who = contact(session, None, "x@acme.example")
        answer(session, who, 3, ["support"], at=NOW - dt.timedelta(days=2), followup=True)
        session.flush()
        items = plan_from_store(session, settings, now=NOW - dt.timedelta(days=1), actor="t")
        set_status(session, items[0].id, BacklogStatus.DONE, now=NOW, actor="t")
    with sessions() as session:
        report = build_report(
            session, settings, Window(None, NOW + dt.timedelta(days=1)), now=NOW, language="en"
        )
        expected = ref.action_completion(session, NOW + dt.timedelta(days=1))
    kpis = {kpi.id: kpi for kpi in report.kpis}
    assert len(items) == 2
    assert kpis["action_completion"].value == pytest.approx(expected)
    assert kpis["action_completion"].value == pytest.approx(50.0)
    assert kpis["followup_completion"].count == 1
    assert kpis["followup_completion"].value == pytest.approx(0.0)
    page = render_html(report)
    assert "Items in the backlog" in page
    assert "Quality / incidents" in page


def test_backlog_command(
    sessions: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """list, plan, assign, start, close, export, import through the CLI; bad input exits 2."""
    with sessions.begin() as session:
        _history(session)
        url = str(session.get_bind().url.render_as_string(hide_password=False))
    file = tmp_path / "config.yaml"
    file.write_text(f"database:\n  url: {url}\ncrm:\n  kind: salesforce\n", encoding="utf-8")
    base = ["--config", str(file)]
    with sessions.begin() as session:
        (item,) = plan_from_store(session, config(), now=NOW, actor="t")
        item_id = item.id
    assert main(["backlog", "plan", *base]) == 0
    assert "no new items" in capsys.readouterr().out
    assert main(["backlog", "list", *base]) == 0
    assert "Quality / incidents" in capsys.readouterr().out
    assert main(["backlog", "assign", str(item_id), "SRE", "--due", "2026-12-31", *base]) == 0
    assert main(["backlog", "start", str(item_id), *base]) == 0
    assert main(["backlog", "close", str(item_id), "--note", "fixed", *base]) == 0
    assert "done on" in capsys.readouterr().out
    assert main(["backlog", "close", str(item_id), *base]) == 2
    assert "already done" in capsys.readouterr().err
    assert main(["backlog", "assign", "999", "x", *base]) == 2
    assert "no backlog item 999" in capsys.readouterr().err
    out = tmp_path / "items.csv"
    assert main(["backlog", "export", "--out", str(out), *base]) == 0
    assert out.read_text(encoding="utf-8").splitlines()[0] == ",".join(csv_io.COLUMNS)
    assert main(["backlog", "import", str(out), "--dry-run", *base]) == 0
    assert main(["backlog", "list", "--format", "json", "--status", "done", *base]) == 0
    assert '"owner": "SRE"' in capsys.readouterr().out

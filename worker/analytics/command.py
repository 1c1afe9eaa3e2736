"""`nps-worker report`: parse the period, build the report, write it in the asked format."""

import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO

from rich.console import Console

from worker.analytics.account_pack import AccountNotFound, build_pack
from worker.analytics.account_render import (
    render_account_html,
    render_account_json,
    render_account_table,
)
from worker.analytics.backlog import backlog, render_backlog
from worker.analytics.dataset import Window
from worker.analytics.i18n import Language
from worker.analytics.render import render_csv, render_html, render_json, render_table
from worker.analytics.report import build_report
from worker.config import Config
from worker.store.engine import make_engine, reading, session_factory

FORMATS = ("table", "json", "csv", "html")


class ReportUsageError(ValueError):
    """A report option that cannot work: an empty period, a backlog file of unknown type."""


def window(since: date | None, until: date | None, now: datetime) -> Window:
    """Whole UTC days: from the start of `since` to the end of `until` (default: up to now)."""
    start = datetime.combine(since, time(), UTC) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), UTC) if until else now
    if start is not None and start >= end:
        raise ReportUsageError(
            f"--since {since} is not before the end of the period ({end.date()})"
        )
    return Window(start, end)


def backlog_format(path: Path) -> str:
    """`csv` or `json` from the backlog file's suffix."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("csv", "json"):
        raise ReportUsageError(f"{path}: the backlog file must end in .csv or .json")
    return suffix


def run(
    config: Config,
    *,
    period: Window,
    fmt: str,
    language: Language,
    out: Path | None,
    backlog_path: Path | None,
    now: datetime,
    account: str | None = None,
    stdout: TextIO | None = None,
) -> None:
    """Build the report of `period` and write it (and the backlog, when asked); with
    `account`, that account's review pack instead."""
    stdout = stdout or sys.stdout
    if account is not None:
        _account_pack(
            config, account, period, fmt=fmt, language=language, out=out, now=now, stdout=stdout
        )
        return
    engine = make_engine(config.database.url.get_secret_value())
    try:
        with reading(session_factory(engine)) as session:
            report = build_report(session, config, period, now=now, language=language)
    finally:
        engine.dispose()
    if backlog_path is not None:
        items = backlog(report, config.analytics)
        backlog_path.write_text(render_backlog(items, backlog_format(backlog_path)), "utf-8")
    if fmt == "table":
        target = out.open("w", encoding="utf-8") if out else stdout
        try:
            render_table(report, Console(file=target, width=120 if out else None))
        finally:
            if out:
                target.close()
        return
    if fmt == "html":
        text = render_html(report, backlog(report, config.analytics))
    else:
        text = {"json": render_json, "csv": render_csv}[fmt](report)
    if out is None:
        stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


def _account_pack(
    config: Config,
    account: str,
    period: Window,
    *,
    fmt: str,
    language: Language,
    out: Path | None,
    now: datetime,
    stdout: TextIO,
) -> None:
    if fmt == "csv":
        raise ReportUsageError("--account packs come as table, json or html, not csv")
    engine = make_engine(config.database.url.get_secret_value())
    try:
        with session_factory(engine)() as session:
            pack = build_pack(session, config, account, period, now=now, language=language)
    except AccountNotFound as error:
        raise ReportUsageError(str(error)) from None
    finally:
        engine.dispose()
    if fmt == "table":
        target = out.open("w", encoding="utf-8") if out else stdout
        try:
            render_account_table(pack, Console(file=target, width=120 if out else None))
        finally:
            if out:
                target.close()
        return
    text = render_account_html(pack, period) if fmt == "html" else render_account_json(pack)
    if out is None:
        stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")

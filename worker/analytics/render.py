"""The report as a terminal view (rich tables), CSV rows, JSON or a self-contained HTML page."""

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from rich.console import Console
from rich.table import Table

from worker.analytics import charts
from worker.analytics.cells import safe_cell, writer
from worker.analytics.i18n import Words
from worker.analytics.kpis import Kpi
from worker.analytics.nps import Estimate
from worker.analytics.report import Report, as_data

ACCOUNTS_SHOWN = 15
"""Accounts listed in the terminal and HTML views (largest first); JSON and CSV list all."""

_TEMPLATES = Path(__file__).with_name("templates")


def nps_text(estimate: Estimate | None, words: Words, min_sample: int) -> str:
    """`+12.3 [+8.1, +16.5]`, or the not-enough-answers mark."""
    if estimate is None:
        return words("hidden", min=min_sample)
    return f"{estimate.nps:+.1f} [{estimate.low:+.1f}, {estimate.high:+.1f}]"


def kpi_text(kpi: Kpi, words: Words) -> str:
    """`61.2%` or `19.8 h`; the em dash when nothing qualified."""
    if kpi.value is None:
        return words("none")
    if kpi.unit == "%":
        return f"{kpi.value:.1f}%"
    return f"{kpi.value:.1f} {words('unit.h')}"


def _period(report: Report, words: Words) -> str:
    start = report.since.date().isoformat() if report.since else words("all_time")
    last = (report.until - timedelta(microseconds=1)).date().isoformat()
    return words("range", start=start, until=last)


def _shown(report: Report, dimension: str) -> tuple[Any, ...]:
    rows = report.slices[dimension]
    return rows[:ACCOUNTS_SHOWN] if dimension == "account" else rows


def render_json(report: Report) -> str:
    """The full report as indented JSON (UTF-8 text, Japanese kept readable)."""
    return json.dumps(as_data(report), ensure_ascii=False, indent=2) + "\n"


def render_csv(report: Report) -> str:
    """Every figure as one tidy row: section, dimension, key, metric, value.

    Keys come from the CRM (account names, segment values): each text cell is made safe to
    open in a spreadsheet (`worker.analytics.cells`).
    """
    buffer = io.StringIO()
    rows = writer(buffer)
    rows.writerow(["section", "dimension", "key", "metric", "value"])
    rows.writerows([safe_cell(cell) for cell in row] for row in _csv_rows(report))
    return buffer.getvalue()


def _estimate_rows(
    section: str, dimension: str, key: str, n: int, estimate: Estimate | None
) -> Iterator[list[Any]]:
    yield [section, dimension, key, "n", n]
    for metric in ("nps", "low", "high", "standard_error", "promoter_share", "detractor_share"):
        value = getattr(estimate, metric) if estimate is not None else ""
        yield [section, dimension, key, metric, _number(value)]


def _number(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else "" if value is None else value


def _csv_rows(report: Report) -> Iterator[list[Any]]:
    yield from _estimate_rows(
        "overall", "all", "all", report.overall.tally.n, report.overall.estimate
    )
    for score, count in enumerate(report.distribution):
        yield ["distribution", "score", score, "count", count]
    for point in report.trend:
        yield from _estimate_rows("trend", "month", point.month, point.tally.n, point.estimate)
        if point.change is not None:
            yield ["trend", "month", point.month, "change", _number(point.change.difference)]
            yield ["trend", "month", point.month, "change_p_value", _number(point.change.p_value)]
    for dimension, rows in report.slices.items():
        for row in rows:
            yield from _estimate_rows("slice", dimension, row.value, row.tally.n, row.estimate)
    for theme in report.themes:
        for metric in ("mentions", "frequency", "detractor_share", "impact", "priority"):
            yield ["theme", "tag", theme.tag, metric, _number(getattr(theme, metric))]
        yield ["theme", "tag", theme.tag, "structural", theme.structural]
        for month in theme.trend:
            yield ["theme_trend", theme.tag, month.month, "share", _number(month.share)]
    for kpi in report.kpis:
        yield ["kpi", kpi.unit, kpi.id, "value", _number(kpi.value)]
        yield ["kpi", kpi.unit, kpi.id, "count", kpi.count]
    for rate in report.response_rates:
        dimension, key = ("channel", rate.channel) if rate.channel else ("program", rate.program)
        dimension, key = (dimension, key) if key else ("all", "all")
        yield ["response_rate", dimension, key, "sent", rate.sent]
        yield ["response_rate", dimension, key, "answered", rate.answered]
        yield ["response_rate", dimension, key, "rate", _number(rate.rate)]


def render_table(report: Report, console: Console) -> None:
    """Print the report as rich tables."""
    words = Words(report.language)
    overall = nps_text(report.overall.estimate, words, report.min_sample)
    console.print(f"[bold]{words('title')}[/bold]  {_period(report, words)}")
    console.print(f"{words('overall')}: [bold]{overall}[/bold]  n={report.overall.tally.n}")
    trend = Table(title=words("trend"))
    for column in ("dim.month", "n", "nps", "change"):
        trend.add_column(words(column))
    for point in report.trend:
        change = ""
        if point.change is not None:
            verdict = words("significant" if point.change.significant else "noise")
            change = f"{point.change.difference:+.1f} ({verdict})"
        trend.add_row(
            point.month,
            str(point.tally.n),
            nps_text(point.estimate, words, report.min_sample),
            change,
        )
    console.print(trend)
    for dimension in report.slices:
        if dimension == "month":
            continue
        table = Table(title=words.dimension(dimension))
        for column in ("value", "n", "nps"):
            table.add_column(words(column))
        for row in _shown(report, dimension):
            table.add_row(
                row.value, str(row.tally.n), nps_text(row.estimate, words, report.min_sample)
            )
        console.print(table)
    themes = Table(title=words("themes"), caption=words("themes_definition", min=report.min_sample))
    for column in ("theme", "kind", "mentions", "detractor_share", "impact", "priority"):
        themes.add_column(words(column))
    for theme in report.themes:
        themes.add_row(
            report.tag_labels.get(theme.tag, theme.tag),
            words("structural" if theme.structural else "quick_fix"),
            str(theme.mentions),
            f"{theme.detractor_share:.1f}%",
            words("none") if theme.impact is None else f"{theme.impact:+.1f}",
            words("none") if theme.priority is None else f"{theme.priority:+.2f}",
        )
    console.print(themes)
    kpis = Table(title=words("kpis"))
    for column in ("kpi", "value", "based_on", "definition"):
        kpis.add_column(words(column), overflow="fold")
    for kpi in report.kpis:
        kpis.add_row(
            words(f"kpi.{kpi.id}"), kpi_text(kpi, words), str(kpi.count), words(f"def.{kpi.id}")
        )
    console.print(kpis)


def render_html(report: Report) -> str:
    """One HTML page with inline CSS and SVG: no script, no font, no image from anywhere."""
    words = Words(report.language)
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"])
    )
    template = environment.get_template("report.html.j2")
    return template.render(
        r=report,
        t=words,
        period=_period(report, words),
        nps=lambda e: nps_text(e, words, report.min_sample),
        kpi_text=lambda k: kpi_text(k, words),
        shown=lambda d: _shown(report, d),
        trend_svg=_safe(charts.trend_chart(report.trend, words("trend"))),
        distribution_svg=_safe(
            charts.distribution_chart(report.distribution, words("distribution"))
        ),
        interval_svg=lambda e: _safe(charts.interval_bar(e, words("interval"))),
        sparkline=lambda m: _safe(charts.share_sparkline(m, words("theme_trend"))),
    )


def _safe(svg: str) -> Markup:
    """Mark chart SVG as safe: `charts` escapes every text it puts in."""
    return Markup(svg)  # noqa: S704 - see the docstring

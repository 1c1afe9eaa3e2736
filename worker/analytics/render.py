"""The report as a terminal view (rich tables), CSV rows, JSON or a self-contained HTML page."""

import io
import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from rich.console import Console
from rich.table import Table

from worker.analytics import charts
from worker.analytics.backlog import BacklogItem
from worker.analytics.i18n import Words
from worker.analytics.interventions import position
from worker.analytics.items import ACTIVE
from worker.analytics.kpis import Kpi
from worker.analytics.nps import Z_95, Comparison, Estimate
from worker.analytics.report import Report, as_data
from worker.analytics.slices import TIME_DIMENSIONS
from worker.analytics.themes import Theme
from worker.config.analytics import LOWER_IS_BETTER
from worker.csv_cells import safe_row, writer

ACCOUNTS_SHOWN = 15
"""Accounts listed in the terminal and HTML views (largest first); JSON and CSV list all."""

_TEMPLATES = Path(__file__).with_name("templates")


def nps_text(estimate: Estimate | None, words: Words, min_sample: int) -> str:
    """`+12.3 [+8.1, +16.5]`, or the not-enough-answers mark."""
    if estimate is None:
        return words("hidden", min=min_sample)
    return f"{estimate.nps:+.1f} [{estimate.low:+.1f}, {estimate.high:+.1f}]"


def themes_note(report: Report, words: Words) -> str:
    """How impact and priority are computed, with the report's own settings."""
    return words(
        "themes_definition",
        min=report.min_sample,
        prior=report.prior_weight,
        low_n=words("low_n"),
    )


def impact_text(theme: Theme, words: Words) -> str:
    """`+12.3 [+4.0, +20.6]`: the shrunken impact and its 95% interval."""
    if theme.impact is None:
        return words("none")
    cost = theme.impact
    return f"{cost.value:+.1f} [{cost.low:+.1f}, {cost.high:+.1f}]"


def priority_text(theme: Theme, words: Words) -> str:
    """`+1.23 [+0.40, +2.06]`: frequency x impact with the interval the impact's gives."""
    if theme.priority is None or theme.priority_low is None or theme.priority_high is None:
        return words("none")
    return f"{theme.priority:+.2f} [{theme.priority_low:+.2f}, {theme.priority_high:+.2f}]"


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
    open in a spreadsheet (`worker.csv_cells`).
    """
    buffer = io.StringIO()
    rows = writer(buffer)
    rows.writerow(["section", "dimension", "key", "metric", "value"])
    rows.writerows(safe_row(row) for row in _csv_rows(report))
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
    for dimension, points in (("month", report.trend), ("week", report.weekly)):
        for point in points:
            key = point.period
            yield from _estimate_rows("trend", dimension, key, point.tally.n, point.estimate)
            if point.change is not None:
                yield ["trend", dimension, key, "change", _number(point.change.difference)]
                yield ["trend", dimension, key, "change_p_value", _number(point.change.p_value)]
    for dimension, rows in report.slices.items():
        for row in rows:
            yield from _estimate_rows("slice", dimension, row.value, row.tally.n, row.estimate)
    for theme in report.themes:
        for metric in (
            "mentions",
            "praised",
            "complained",
            "frequency",
            "detractor_share",
            "priority",
            "priority_low",
            "priority_high",
        ):
            yield ["theme", "tag", theme.tag, metric, _number(getattr(theme, metric))]
        for metric in ("value", "low", "high"):
            value = getattr(theme.impact, metric) if theme.impact else None
            yield [
                "theme",
                "tag",
                theme.tag,
                f"impact_{metric}" if metric != "value" else "impact",
                _number(value),
            ]
        yield ["theme", "tag", theme.tag, "structural", theme.structural]
        yield ["theme", "tag", theme.tag, "low_n", theme.low_n]
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
            point.period,
            str(point.tally.n),
            nps_text(point.estimate, words, report.min_sample),
            change,
        )
    console.print(trend)
    for dimension in report.slices:
        if dimension in TIME_DIMENSIONS:
            continue
        table = Table(title=words.dimension(dimension))
        for column in ("value", "n", "nps"):
            table.add_column(words(column))
        for row in _shown(report, dimension):
            table.add_row(
                report.label(dimension, row.value),
                str(row.tally.n),
                nps_text(row.estimate, words, report.min_sample),
            )
        console.print(table)
    themes = Table(title=words("themes"), caption=themes_note(report, words))
    columns = ("theme", "kind", "mentions", "praised", "complained", "detractor_share")
    for column in (*columns, "impact", "priority"):
        themes.add_column(words(column))
    for theme in report.themes:
        themes.add_row(
            report.tag_labels.get(theme.tag, theme.tag),
            words("structural" if theme.structural else "quick_fix"),
            f"{theme.mentions}{' ' + words('low_n') if theme.low_n else ''}",
            str(theme.praised),
            str(theme.complained),
            f"{theme.detractor_share:.1f}%",
            impact_text(theme, words),
            priority_text(theme, words),
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


def render_html(report: Report, proposed: Sequence[BacklogItem] = ()) -> str:
    """One HTML page with inline CSS and SVG: no script, no font, no image from anywhere.

    Each chart is drawn twice, wide and narrow; CSS shows the one that fits the screen, so a
    phone at 375 px gets text it can read. Wide tables scroll sideways inside their section.
    """
    words = Words(report.language)
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"])
    )
    template = environment.get_template("report.html.j2")
    active = {item.theme for item in report.backlog if item.status in ACTIVE}
    return template.render(
        r=report,
        t=words,
        period=_period(report, words),
        nps=lambda e: nps_text(e, words, report.min_sample),
        kpi_text=lambda k: kpi_text(k, words),
        target=lambda kpi: target_text(report, kpi, words),
        met=lambda kpi, value: target_met(report, kpi, value),
        themes_note=themes_note(report, words),
        shown=lambda d: _shown(report, d),
        order=lambda d: words("ordering", how=_order(report, d, words)),
        trend_svg=_trend_svgs(report, report.trend, words("trend")),
        weekly_svg=_trend_svgs(report, report.weekly, words("trend_weekly")),
        distribution_svg=_safe(
            charts.distribution_chart(report.distribution, words("distribution"))
        ),
        interval_svg=lambda e: _safe(charts.interval_bar(e, words("interval"))),
        sparkline=lambda m: _safe(charts.share_sparkline(m, words("theme_trend"))),
        proposed=[item for item in proposed if item.theme not in active],
        today=report.generated_at.date(),
    )


def _order(report: Report, dimension: str, words: Words) -> str:
    if dimension in TIME_DIMENSIONS:
        return words("order.periods")
    if dimension == "account":
        return words("order.accounts", shown=ACCOUNTS_SHOWN)
    if dimension in report.banded:
        return words("order.bands")
    return words("order.count")


def _trend_svgs(report: Report, points: Any, label: str) -> tuple[Markup, Markup]:
    """The wide and the narrow drawing of a trend, with the interventions as markers."""
    periods = [point.period for point in points]
    marks = []
    for number, result in enumerate(report.interventions, start=1):
        where = position(result.marker.on, periods)
        if where is not None:
            marks.append(charts.Marker(where, number, result.marker.label))
    return (
        _safe(charts.trend_chart(points, label, markers=marks)),
        _safe(charts.trend_chart(points, label, markers=marks, width=360)),
    )


def change_text(change: Comparison | None) -> str:
    """`+8.0 [-3.1, +19.1]`: a difference of NPS with its 95% interval."""
    if change is None:
        return "—"
    half = Z_95 * change.standard_error
    low, high = change.difference - half, change.difference + half
    return f"{change.difference:+.1f} [{low:+.1f}, {high:+.1f}]"


def target_text(report: Report, kpi: str, words: Words) -> str | None:
    """`at least 90.0%` / `at most 24.0 h` for a KPI with a target; None without one."""
    goal = report.targets.get(kpi)
    if goal is None:
        return None
    unit = " " + words("unit.h") if kpi.startswith("time_") else "" if kpi == "nps" else "%"
    shown = f"{goal:+.1f}" if kpi == "nps" else f"{goal:.1f}{unit}"
    return words("target_at_most" if kpi in LOWER_IS_BETTER else "target_at_least", value=shown)


def target_met(report: Report, kpi: str, value: float | None) -> bool | None:
    """Whether a KPI meets its target; None without a target or a value."""
    goal = report.targets.get(kpi)
    if goal is None or value is None:
        return None
    return value <= goal if kpi in LOWER_IS_BETTER else value >= goal


def _safe(svg: str) -> Markup:
    """Mark chart SVG as safe: `charts` escapes every text it puts in."""
    return Markup(svg)  # noqa: S704 - see the docstring

"""Inline SVG charts for the HTML report, drawn in Python so the page needs no script or asset."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from worker.analytics.nps import Estimate
from worker.analytics.slices import TrendPoint
from worker.analytics.themes import ThemeMonth

RED, AMBER, GREEN, BLUE, GREY = "#d64545", "#e0a030", "#2f9e5b", "#2f6fbf", "#9aa5b1"


def _svg(width: int, height: int, body: Sequence[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="#444">{escape(text)}</text>'
    )


@dataclass(frozen=True, slots=True)
class Marker:
    """A dated event on a trend: `position` in period units (0: the first period's middle)."""

    position: float
    number: int
    label: str


def trend_chart(
    points: Sequence[TrendPoint],
    label: str,
    *,
    markers: Sequence[Marker] = (),
    width: int = 720,
) -> str:
    """NPS by period: the 95% interval as a shaded band, the score as a line with dots, and
    numbered dashed lines at the markers. A narrow `width` (about 360) draws the same chart
    with text big enough for a phone."""
    height, left, right, top, bottom = (
        (260, 44, 16, 22, 34) if width > 500 else (230, 36, 10, 22, 30)
    )
    scored = [(i, p.estimate) for i, p in enumerate(points) if p.estimate is not None]
    low = min([e.low for _, e in scored] + [0.0]) - 5
    high = max([e.high for _, e in scored] + [0.0]) + 5
    low, high = max(low, -100.0), min(high, 100.0)
    step = (width - left - right) / max(len(points) - 1, 1)

    def x(index: float) -> float:
        return left + index * step if len(points) > 1 else (left + width - right) / 2

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    body = []
    for tick in _ticks(low, high):
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="{"#888" if tick == 0 else "#e3e6ea"}" stroke-width="1"/>'
        )
        body.append(_text(left - 6, y(tick) + 4, f"{tick:+.0f}" if tick else "0", "end"))
    for index in _labelled(len(points), max((width - left - right) // 46, 1)):
        body.append(_text(x(index), height - 12, _short(points[index].period), size=10))
    if scored:
        upper = " ".join(f"{x(i):.1f},{y(e.high):.1f}" for i, e in scored)
        lower = " ".join(f"{x(i):.1f},{y(e.low):.1f}" for i, e in reversed(scored))
        body.append(f'<polygon points="{upper} {lower}" fill="{BLUE}" fill-opacity="0.15"/>')
        line = " ".join(f"{x(i):.1f},{y(e.nps):.1f}" for i, e in scored)
        body.append(f'<polyline points="{line}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
        for i, e in scored:
            body.append(
                f'<circle cx="{x(i):.1f}" cy="{y(e.nps):.1f}" r="3.5" fill="{BLUE}">'
                f"<title>{escape(points[i].period)}: {e.nps:.1f} "
                f"({e.low:.1f} … {e.high:.1f})</title></circle>"
            )
    for marker in markers:
        at = x(min(max(marker.position, 0.0), max(len(points) - 1, 0)))
        body.append(
            f'<g class="marker"><title>{escape(marker.label)}</title>'
            f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{top - 4}" y2="{height - bottom}" '
            f'stroke="{AMBER}" stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<circle cx="{at:.1f}" cy="{top - 10}" r="8" fill="{AMBER}"/>'
            f'<text x="{at:.1f}" y="{top - 6}" text-anchor="middle" font-size="11" '
            f'font-weight="700" fill="#fff">{marker.number}</text></g>'
        )
    return _svg(width, height, body, label)


def _labelled(count: int, room: int) -> list[int]:
    """Indexes of the periods to label: evenly spaced, the last always, none crowding it."""
    if count == 0:
        return []
    every = max(1, math.ceil(count / room))
    chosen = list(range(0, count, every))
    if chosen[-1] != count - 1:
        if count - 1 - chosen[-1] < every:
            chosen.pop()
        chosen.append(count - 1)
    return chosen


def _short(period: str) -> str:
    """`2026-03` -> `26-03`, `2026-W10` -> `W10`, `2026-03-02` -> `03-02`."""
    if "W" in period or len(period) == 10:
        return period.split("-", 1)[1]
    return period[2:]


def _ticks(low: float, high: float) -> list[float]:
    span = high - low
    size = 10 if span <= 60 else 20 if span <= 120 else 50
    first = int(low // size + 1) * size
    return [float(t) for t in range(first, int(high) + 1, size)]


def distribution_chart(counts: Sequence[int], label: str) -> str:
    """Answers per score 0-10, bars coloured by category."""
    width, height, bottom, top = 720, 200, 26, 18
    peak = max(max(counts, default=0), 1)
    bar = (width - 20) / 11
    body = []
    for score, count in enumerate(counts):
        colour = RED if score <= 6 else AMBER if score <= 8 else GREEN
        tall = count / peak * (height - top - bottom)
        x = 10 + score * bar
        body.append(
            f'<rect x="{x + 4:.1f}" y="{height - bottom - tall:.1f}" width="{bar - 8:.1f}" '
            f'height="{tall:.1f}" fill="{colour}" rx="2"/>'
        )
        body.append(_text(x + bar / 2, height - bottom - tall - 4, str(count), size=10))
        body.append(_text(x + bar / 2, height - 8, str(score)))
    return _svg(width, height, body, label)


def interval_bar(estimate: Estimate, label: str) -> str:
    """A small -100..100 axis with the 95% interval as a bar and the score as a dot."""
    width, height = 160, 16

    def x(value: float) -> float:
        return 4 + (value + 100) / 200 * (width - 8)

    body = [
        f'<line x1="4" x2="{width - 4}" y1="8" y2="8" stroke="#e3e6ea" stroke-width="2"/>',
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="2" y2="14" stroke="#999" stroke-width="1"/>',
        f'<rect x="{x(estimate.low):.1f}" y="5" width="{x(estimate.high) - x(estimate.low):.1f}" '
        f'height="6" fill="{BLUE}" fill-opacity="0.3" rx="2"/>',
        f'<circle cx="{x(estimate.nps):.1f}" cy="8" r="3.5" fill="{BLUE}"/>',
    ]
    return _svg(width, height, body, label)


def share_sparkline(months: Sequence[ThemeMonth], label: str) -> str:
    """A theme's share of answers by month as a small line."""
    width, height = 140, 28
    peak = max((m.share for m in months), default=0.0) or 1.0
    step = (width - 8) / max(len(months) - 1, 1)
    points = " ".join(
        f"{4 + i * step:.1f},{height - 4 - m.share / peak * (height - 8):.1f}"
        for i, m in enumerate(months)
    )
    body = [f'<polyline points="{points}" fill="none" stroke="{GREY}" stroke-width="1.5"/>']
    if months:
        last = months[-1]
        body.append(
            f'<circle cx="{4 + (len(months) - 1) * step:.1f}" '
            f'cy="{height - 4 - last.share / peak * (height - 8):.1f}" r="2.5" fill="{BLUE}"/>'
        )
    return _svg(width, height, body, label)


def comparison_chart(rows: Sequence[tuple[str, Estimate | None]], label: str) -> str:
    """NPS of a few groups (this period, the previous one) on one -100..100 axis: each a dot
    with its 95% interval as a bar, labelled with the value."""
    width, row_height, left, right = 400, 34, 96, 44
    height = 28 + row_height * len(rows)

    def x(value: float) -> float:
        return left + (value + 100) / 200 * (width - left - right)

    body = []
    for tick in (-100, -50, 0, 50, 100):
        body.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="8" y2="{height - 18}" '
            f'stroke="{"#888" if tick == 0 else "#e3e6ea"}" stroke-width="1"/>'
        )
        body.append(_text(x(tick), height - 4, f"{tick:+d}" if tick else "0", size=10))
    for index, (name, estimate) in enumerate(rows):
        middle = 20 + index * row_height
        body.append(_text(left - 8, middle + 4, name, "end"))
        if estimate is None:
            body.append(_text(x(0) + 6, middle + 4, "—", "start"))
            continue
        body.append(
            f'<rect x="{x(estimate.low):.1f}" y="{middle - 5}" '
            f'width="{max(x(estimate.high) - x(estimate.low), 1):.1f}" height="10" '
            f'fill="{BLUE}" fill-opacity="0.25" rx="3"/>'
        )
        body.append(f'<circle cx="{x(estimate.nps):.1f}" cy="{middle}" r="5" fill="{BLUE}"/>')
        body.append(
            _text(
                min(x(estimate.high), width - right) + 4,
                middle + 4,
                f"{estimate.nps:+.1f}",
                "start",
            )
        )
    return _svg(width, height, body, label)

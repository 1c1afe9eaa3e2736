"""Segment bands: numbers (ARR) and tenure (months a customer) sliced by ranges.

Band values are language-neutral texts (`<10k`, `10k–100k`, `≥1M`; tenure in months `<6`,
`6–12`, `≥24`), ordered by their limits; the report adds the unit in its language.
"""

# ruff: noqa: RUF001, RUF002 - the en dash and the comparison signs are the band texts

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

from worker.analytics.values import NOT_A_NUMBER, NOT_SET


def compact(value: float) -> str:
    """`2500` -> `2.5k`, `1000000` -> `1M`, `12` -> `12`."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def labels(edges: Sequence[float]) -> tuple[str, ...]:
    """Every band of `edges`, lowest first."""
    shown = [compact(edge) for edge in edges]
    middle = [f"{low}–{high}" for low, high in itertools.pairwise(shown)]
    return (f"<{shown[0]}", *middle, f"≥{shown[-1]}")


def band(value: float, edges: Sequence[float]) -> str:
    """The band `value` falls in: below the first edge, between two, or from the last up."""
    names = labels(edges)
    for index, edge in enumerate(edges):
        if value < edge:
            return names[index]
    return names[-1]


def number_band(value: Any, edges: Sequence[float]) -> str:
    """The band of a CRM value (a number, or text holding one); not set or not a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return NOT_SET
    if isinstance(value, bool):
        return NOT_A_NUMBER
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        return NOT_A_NUMBER
    return band(number, edges)


def months_between(start: dt.datetime, end: dt.datetime) -> float:
    """Whole and part months from `start` to `end` (a month is 1/12 of 365.25 days)."""
    return (end - start).total_seconds() / (365.25 / 12 * 86400)


def tenure_band(since: dt.datetime | None, at: dt.datetime, edges: Sequence[int]) -> str:
    """The tenure cohort of an answer given at `at` by a customer since `since`."""
    if since is None:
        return NOT_SET
    return band(max(months_between(since, at), 0.0), [float(edge) for edge in edges])


def order(edges: Sequence[float]) -> dict[str, int]:
    """Band text -> position, for sorting slices; not set and not a number come last."""
    return {name: index for index, name in enumerate((*labels(edges), NOT_SET, NOT_A_NUMBER))}

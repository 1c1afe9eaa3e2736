"""Comparing CRM values with condition operands: numbers, booleans, text and ISO dates.

CRM JSON carries everything as text in places (HubSpot sends `"1000000"` and `"true"`), so a
value is read as the operand's kind before comparing. Dates compare as dates: a plain date
against a datetime compares the calendar day only.
"""

import datetime as dt
import re
from typing import Any

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def as_datetime(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from an ISO date or datetime (date: midnight UTC), else None."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    text = value.strip() if isinstance(value, str) else ""
    parsed: dt.datetime | None = None
    try:
        if _DATETIME.match(text):
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        elif _DATE.fullmatch(text):
            parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    except ValueError:
        return None
    if parsed is None:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def _is_plain_date(value: Any) -> bool:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return True
    return isinstance(value, str) and bool(_DATE.fullmatch(value.strip()))


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def is_null(value: Any) -> bool:
    """CRM emptiness: missing, null or blank text."""
    return value is None or (isinstance(value, str) and not value.strip())


def comparable(actual: Any, operand: Any) -> tuple[Any, Any] | None:
    """Both values in one comparable kind (the operand's), or None when they cannot be."""
    if is_null(actual) or operand is None:
        return None
    if isinstance(operand, bool):
        flag = _as_bool(actual)
        return None if flag is None else (flag, operand)
    if isinstance(operand, int | float) or isinstance(actual, int | float):
        if isinstance(actual, bool):
            return None
        numbers = (_as_number(actual), _as_number(operand))
        return None if None in numbers else numbers
    return _as_dates(actual, operand) or (str(actual), str(operand))


def _as_dates(actual: Any, operand: Any) -> tuple[Any, Any] | None:
    when, expected = as_datetime(actual), as_datetime(operand)
    if when is None or expected is None:
        return None
    if _is_plain_date(actual) or _is_plain_date(operand):
        return (when.date(), expected.date())
    return (when, expected)


def equals(actual: Any, operand: Any) -> bool:
    """Equality in the operand's kind; null equals only null."""
    if operand is None or is_null(actual):
        return operand is None and is_null(actual)
    pair = comparable(actual, operand)
    return pair is not None and pair[0] == pair[1]

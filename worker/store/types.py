"""Column types that behave the same on SQLite and PostgreSQL."""

from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum as PythonEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Enum, Integer
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator, TypeEngine

from worker import json_codec


class NaiveDatetimeError(ValueError):
    """A naive datetime reached the store, where every timestamp must carry its time zone."""

    def __init__(self, value: datetime) -> None:
        super().__init__(
            f"naive datetime {value.isoformat()} cannot be stored: "
            "pass a timezone-aware value such as datetime.now(UTC)"
        )


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them as aware UTC values on every backend.

    SQLite has no time zone type: values are written as naive UTC text, which also keeps
    lexical order equal to time order, and read back with ``tzinfo=UTC`` attached.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Reject naive values and normalise aware ones to UTC."""
        utc = _utc(value)
        if utc is not None and dialect.name == "sqlite":
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return stored values as aware UTC datetimes."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_document() -> TypeEngine[Any]:
    """A new JSON type: JSON on SQLite, JSONB on PostgreSQL (compact, indexable).

    A new instance per column, because sqlalchemy.ext.mutable binds its tracking to the
    type instance.
    """
    return JSON().with_variant(postgresql.JSONB(), "postgresql")


Identifier: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
"""Surrogate keys: BIGINT on PostgreSQL; INTEGER on SQLite, where only that aliases the rowid."""


def driver_form(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How a value of `column_type` goes to the driver as the column's own processing would
    send it (None: unchanged), for bulk statements run with the driver's executemany."""
    if isinstance(column_type, UTCDateTime):
        return _naive_utc_text if dialect.name == "sqlite" else _utc
    if isinstance(column_type, JSON):
        if dialect.name == "postgresql":
            from psycopg.types.json import Jsonb

            return lambda value: Jsonb(value, json_codec.dumps)
        return json_codec.dumps
    if isinstance(column_type, Enum):
        return _enum_value
    return None


def _utc(value: datetime | None) -> datetime | None:
    """An aware value in UTC; a naive one is refused (every stored timestamp has its zone)."""
    return None if value is None else _aware_utc(value)


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(value)
    return value.astimezone(UTC)


def _naive_utc_text(value: datetime | None) -> str | None:
    """SQLite's stored form: naive UTC text with microseconds, as SQLAlchemy writes it.

    Runs for every timestamp of every mirrored row: a value already in UTC (as pulled values
    are) is formatted as it is and its "+00:00" cut off, without building a naive copy.
    """
    if value is None:
        return None
    utc = value if value.tzinfo is UTC else _aware_utc(value)
    return utc.isoformat(" ", "microseconds")[:-6]


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, PythonEnum) else value

"""Column types that behave the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator, TypeEngine


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
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(value)
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
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

"""Bulk-update helpers the erasures share: counted UPDATEs and a portable empty-JSON test."""

import typing
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Text, cast, func
from sqlalchemy.orm import InstrumentedAttribute, Session


def not_empty(column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """A JSON object column holding at least one key (`{}` is two characters as text)."""
    return func.length(cast(column, Text)) > 2


def count_updated(session: Session, statement: Any) -> int:
    """Run a bulk UPDATE, keeping loaded objects in step; how many rows it changed."""
    result = session.execute(statement.execution_options(synchronize_session="fetch"))
    return typing.cast(CursorResult[Any], result).rowcount

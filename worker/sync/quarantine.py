"""Why a mapped CRM record cannot be stored, found before the store refuses the whole page.

A value the database would reject (text longer than its column, a NUL character PostgreSQL
cannot hold, a lone surrogate, a NaN JSON cannot carry) would roll back the page's transaction
and stop the pull at that page on every cycle. Such a record is quarantined instead: counted
and logged by id.
"""

import math
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

from sqlalchemy import String

from worker.store.models import Account, Contact, TriggerRecord

_COLUMN = {"owner_id": "owner_crm_id"}
"""Domain attribute names whose store column is spelt differently."""

_TABLES = {"Account": Account, "Contact": Contact, "TriggerRecord": TriggerRecord}

MAX_JSON_DEPTH = 32
"""Nesting beyond which a field value is refused rather than encoded."""


def _limits(model: Any) -> dict[str, int]:
    columns = model.__table__.columns
    return {
        column.name: column.type.length
        for column in columns
        if isinstance(column.type, String) and column.type.length
    }


_LIMITS = {name: _limits(model) for name, model in _TABLES.items()}


def unstorable(row: Any) -> str | None:
    """The reason mapped `row` (a domain Account, Contact or TriggerRecord) cannot be stored."""
    if not is_dataclass(row):
        return f"mapper returned {type(row).__name__}"
    limits = _LIMITS.get(type(row).__name__, {})
    for attribute in fields(row):
        value = getattr(row, attribute.name)
        column = _COLUMN.get(attribute.name, attribute.name)
        if isinstance(value, str):
            limit = limits.get(column)
            if limit is not None and len(value) > limit:
                return f"{attribute.name} longer than {limit} characters"
            problem = _text_problem(value)
            if problem:
                return f"{problem} in {attribute.name}"
        elif isinstance(value, Mapping):
            problem = _json_problem(value, 0)
            if problem:
                return f"{attribute.name}: {problem}"
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text that is not valid Unicode (a lone surrogate)"
    return None


def _json_problem(value: Any, depth: int) -> str | None:
    if depth > MAX_JSON_DEPTH:
        return f"nested more than {MAX_JSON_DEPTH} levels"
    if isinstance(value, str):
        return _text_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "a number JSON cannot hold"
    items: list[Any] = []
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) and not _text_problem(key) for key in value):
            return "a key that is not storable text"
        items = list(value.values())
    elif isinstance(value, list | tuple):
        items = list(value)
    for item in items:
        problem = _json_problem(item, depth + 1)
        if problem:
            return problem
    return None

"""Why a mapped CRM record cannot be stored, found before the store refuses the whole page.

A value the database would reject (text longer than its column, a NUL character PostgreSQL
cannot hold, a lone surrogate, a NaN JSON cannot carry) would roll back the page's transaction
and stop the pull at that page on every cycle. Such a record is quarantined instead: counted
and logged by id.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from functools import cache
from itertools import chain
from operator import attrgetter
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


@cache
def _checks(kind: type) -> tuple[tuple[str, int | None], ...]:
    """(attribute, column length limit) per field of a domain type, worked out once per type:
    `dataclasses.fields` on every record cost more than the checks themselves."""
    limits = _LIMITS.get(kind.__name__, {})
    return tuple((f.name, limits.get(_COLUMN.get(f.name, f.name))) for f in fields(kind))


@cache
def _is_dataclass_type(kind: type) -> bool:
    return is_dataclass(kind)


_FLAT = frozenset({str, bool, int, float, type(None)})
"""Value types of a mapping that the one-pass check of `unstorable` accepts."""
_SCALAR = frozenset({bool, int, float, type(None), datetime, date})
"""Field types that are neither text nor a mapping: nothing to check."""


def unstorable_among(rows: Sequence[Any]) -> dict[int, str]:
    """The rows of a mapped page that cannot be stored, by position, each with its reason.

    A pull checks every record, and nearly every page is clean: so a page is first judged as
    a whole, a field at a time over all its rows (each limit against the longest value, every
    text of the page joined for one NUL and encoding check), which runs mostly in C. Only a
    page that fails that is walked row by row (`unstorable`) to name its rows and problems.
    Measured on the 153k mapped rows of a 100k HubSpot first sync: 6.5 µs a row walked one by
    one, 2.8 µs a row judged by the page.
    """
    groups: dict[type, list[Any]] = {}
    for row in rows:
        groups.setdefault(type(row), []).append(row)
    texts: list[str] = []
    if all(_plain_group(kind, group, texts) for kind, group in groups.items()):
        joined = "".join(texts)
        if "\x00" not in joined and not _text_problem(joined):
            return {}
    return {n: reason for n, row in enumerate(rows) if (reason := unstorable(row)) is not None}


def _plain_group(kind: type, group: list[Any], texts: list[str]) -> bool:
    """Whether rows of one domain type are within their limits and hold only text, plain
    values and flat mappings of them; their text is added to `texts` for the caller to check.
    False says only that the row-by-row walk must decide."""
    checks = _checks(kind) if _is_dataclass_type(kind) else ()
    if len(checks) < 2:  # not a domain row (a lone attrgetter name gives no tuple): walk it
        return False
    columns = zip(*map(attrgetter(*(name for name, _ in checks)), group), strict=True)
    for (_name, limit), values in zip(checks, columns, strict=True):
        kinds = set(map(type, values))
        if kinds <= _SCALAR:
            continue
        if str in kinds:
            strings = list(filter(_is_str, values))
            if limit is not None and max(map(len, strings)) > limit:
                return False
            texts.extend(strings)
        others = kinds - _SCALAR - _STR
        if others and (others != _DICT or not _flat(list(filter(_is_dict, values)), texts)):
            return False
    return True


def _flat(mappings: list[dict[Any, Any]], texts: list[str]) -> bool:
    """Add the keys and text values of `mappings` to `texts`; False if one is not a flat
    mapping of text keys and plain values (then the full walk decides). Decided on the sets of
    key and value types, built in C, for all of a field's mappings on a page at once."""
    keys = set(chain.from_iterable(mappings))  # a page's mappings mostly share their keys
    values = list(chain.from_iterable(map(dict.values, mappings)))
    kinds = set(map(type, values))
    if not kinds <= _FLAT or not set(map(type, keys)) <= _STR:
        return False
    if float in kinds and not all(map(math.isfinite, filter(_is_float, values))):
        return False
    texts.extend(keys)
    if str in kinds:
        texts.extend(filter(_is_str, values))
    return True


def unstorable(row: Any) -> str | None:
    """The reason mapped `row` (a domain Account, Contact or TriggerRecord) cannot be stored.

    The common case (text within its limits, a flat mapping of plain values) is decided by
    checking all of a record's text at once; only a record that fails that check is walked
    field by field to name the problem.
    """
    row_type: type = type(row)
    if isinstance(row, type) or not _is_dataclass_type(row_type):
        return f"mapper returned {row_type.__name__}"
    texts: list[str] = []
    for name, limit in _checks(row_type):
        value = getattr(row, name)
        kind = type(value)
        if isinstance(value, str):
            if limit is not None and len(value) > limit:
                return f"{name} longer than {limit} characters"
            texts.append(value)
        elif kind is dict:
            if not _flat([value], texts):
                return _field_by_field(row)
        elif kind not in _SCALAR and isinstance(value, Mapping):
            return _field_by_field(row)
    joined = "".join(texts)
    if "\x00" in joined or _text_problem(joined):
        return _field_by_field(row)
    return None


_STR = frozenset({str})
_DICT = frozenset({dict})
_is_str = str.__instancecheck__
_is_float = float.__instancecheck__
_is_dict = dict.__instancecheck__


def _field_by_field(row: Any) -> str | None:
    """The first problem of `row`, named by field (the slow walk behind `unstorable`)."""
    row_type: type = type(row)
    for name, limit in _checks(row_type):
        value = getattr(row, name)
        if isinstance(value, str):
            if limit is not None and len(value) > limit:
                return f"{name} longer than {limit} characters"
            problem = _text_problem(value)
            if problem:
                return f"{problem} in {name}"
        elif isinstance(value, Mapping):
            problem = _mapping_problem(value)
            if problem:
                return f"{name}: {problem}"
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "NUL character"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text that is not valid Unicode (a lone surrogate)"
    return None


_PLAIN = (bool, int, type(None))


def _mapping_problem(value: Mapping[Any, Any]) -> str | None:
    """A flat mapping of text and plain values is checked in one pass; anything else (nested
    values, floats, odd keys) goes through the full walk."""
    for key, item in value.items():
        if type(key) is not str or _text_problem(key):
            return _json_problem(value, 0)
        if type(item) is str:
            if _text_problem(item):
                return _json_problem(value, 0)
        elif type(item) not in _PLAIN:
            return _json_problem(value, 0)
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

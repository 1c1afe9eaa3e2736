"""CSV that opens safely in a spreadsheet: no text cell is read as a formula.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with `=`, `+`, `-` or `@`
(and, after a tab or a carriage return, whatever follows), so a CRM value or a comment such as
`=HYPERLINK(...)` would run when RevOps opens an export. Following OWASP's advice on CSV
injection, such text gets a leading apostrophe (shown as text, not evaluated); numbers, a
negative NPS included, stay numbers. `restore` undoes it when our own export is imported back.
Every CSV the worker writes goes through `neutralise`, and its writers quote all text, so a
carriage return inside a value cannot split a row either.
"""

import csv
import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""

_MARK = "'"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def neutralise(value: Any) -> Any:
    """`value`, or text that starts like a formula with an apostrophe put before it."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return _MARK + value
    return value


def restore(text: str) -> str:
    """A cell as written before `neutralise` (the apostrophe it added removed)."""
    if text.startswith(_MARK) and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def safe_row(row: Iterable[Any]) -> list[Any]:
    """Every cell of a row neutralised."""
    return [neutralise(value) for value in row]


def safe_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Every value of a `csv.DictWriter` row neutralised."""
    return {key: neutralise(value) for key, value in record.items()}


def writer(buffer: TextIO) -> Any:
    """A CSV writer with the exports' dialect: `\\n` line ends, text quoted, numbers bare."""
    return csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)


def dict_writer(buffer: TextIO, fieldnames: list[str]) -> "csv.DictWriter[str]":
    """`writer`'s dialect for rows given as dicts."""
    return csv.DictWriter(
        buffer, fieldnames=fieldnames, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC
    )

"""CSV that opens safely in a spreadsheet: no text cell is read as a formula.

Excel and LibreOffice evaluate a cell that starts with `=`, `+`, `-` or `@` (and, after a tab
or a carriage return, whatever follows), so a CRM value or a comment such as
`=HYPERLINK(...)` would run when RevOps opens the export. Following OWASP's advice on CSV
injection, such text gets a leading apostrophe (shown as text, not evaluated); numbers, a
negative NPS included, stay numbers. Text is always quoted, so a carriage return inside a
value cannot split a row either.
"""

from __future__ import annotations

import csv
import re
from typing import Any, TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def safe_cell(value: Any) -> Any:
    """`value`, or text that starts like a formula with an apostrophe put before it."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def writer(buffer: TextIO) -> Any:
    """A CSV writer with the export's dialect: `\\n` line ends, text quoted, numbers bare."""
    return csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)


def dict_writer(buffer: TextIO, fieldnames: list[str]) -> csv.DictWriter[str]:
    """`writer`'s dialect for rows given as dicts."""
    return csv.DictWriter(
        buffer, fieldnames=fieldnames, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC
    )

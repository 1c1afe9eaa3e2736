"""CSV cells that spreadsheets read as text, never as formulas (CSV formula injection).

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets; CRM values and customers' comments can start that way.
Such text cells get a leading apostrophe (OWASP's advice), which the spreadsheet hides; numbers
are left alone. `restore` undoes it when our own export is imported back. Every CSV the worker
writes goes through `safe_row`.
"""

from collections.abc import Iterable, Mapping
from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_MARK = "'"


def neutralise(value: Any) -> Any:
    """`value`, with an apostrophe in front when it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return _MARK + value
    return value


def restore(text: str) -> str:
    """A cell as written before `neutralise` (the apostrophe it added removed)."""
    if text.startswith(_MARK) and text[1:].startswith(_TRIGGERS):
        return text[1:]
    return text


def safe_row(row: Iterable[Any]) -> list[Any]:
    """Every cell of a row neutralised."""
    return [neutralise(value) for value in row]


def safe_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Every value of a `csv.DictWriter` row neutralised."""
    return {key: neutralise(value) for key, value in record.items()}

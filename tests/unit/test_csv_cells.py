"""CSV cells a spreadsheet would run as formulas are written as text, and read back unchanged."""

import csv
import io

import pytest

from worker.csv_cells import neutralise, restore, safe_row


@pytest.mark.parametrize(
    ("value", "written"),
    [
        pytest.param('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")', id="equals"),
        pytest.param("+1-555", "'+1-555", id="plus"),
        pytest.param("-2+3", "'-2+3", id="minus"),
        pytest.param("@SUM(A1)", "'@SUM(A1)", id="at"),
        pytest.param("\tcmd", "'\tcmd", id="tab"),
        pytest.param("Support Lead", "Support Lead", id="plain"),
        pytest.param(-12.5, -12.5, id="number-untouched"),
        pytest.param(None, None, id="none"),
    ],
)
def test_neutralise(value: object, written: object) -> None:
    """Formula-starting text gets an apostrophe; other text and numbers stay as they are."""
    assert neutralise(value) == written


@pytest.mark.parametrize("text", ["=1+1", "@x", "plain", "'quoted already", "-"])
def test_round_trip(text: str) -> None:
    """What `neutralise` writes, `restore` reads back as the original."""
    assert restore(neutralise(text)) == text


def test_a_row_through_the_csv_module() -> None:
    """A whole row written with the csv module keeps no cell starting with a formula sign."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(safe_row(["=cmd|' /C calc'!A0", 3, "ok"]))
    (cells,) = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)

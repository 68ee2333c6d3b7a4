"""The Excel writer on a small table: data first, codes as text, frozen header, same bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import openpyxl
import pandas as pd
import pytest

from iod_msoa._xlsx import DATA_SHEET, NOTES_SHEET, write_xlsx

WHEN = datetime(2025, 10, 30, 9, 30, tzinfo=UTC)


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": pd.array(["E06000001", "E02000002", "0123"], dtype="string"),
            "name": ["Hartlepool", "=SUM(A1)", "http://x"],
            "rank": pd.array([1, None, 3], dtype="Int64"),
            "score": [0.5, float("nan"), 12.25],
        }
    )


@pytest.fixture
def dictionary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "column": ["code", "name", "rank", "score"],
            "description": ["Area code", "Area name", "Rank", "Score"],
            "unit": ["ONS code", "text", "rank", "score"],
            "denominator": ["", "", "", "Total population"],
            "direction": ["", "", "1 = most deprived", "higher = more deprived"],
            "metric": ["", "", "imd", "imd"],
        }
    )


def write(path, table, dictionary):
    notes = [("What", "A test table"), ("Licence", "OGL v3.0")]
    write_xlsx(path, table, dictionary, notes, title="Test workbook", created=WHEN)


def test_data_then_notes_with_frozen_header_and_codes_as_text(tmp_path, table, dictionary):
    path = tmp_path / "t.xlsx"
    write(path, table, dictionary)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [DATA_SHEET, NOTES_SHEET]
    # what an analyst's first read gets: the table, not the notes
    first = pd.read_excel(path, dtype={"code": str})
    pd.testing.assert_frame_equal(first, table, check_dtype=False)
    notes = [tuple(r) for r in book[NOTES_SHEET].iter_rows(values_only=True)]
    assert notes[0][0] == "Test workbook"
    assert notes[2][:2] == ("What", "A test table")
    assert ("score", "Score", "score", "Total population", "higher = more deprived") in notes
    data = book[DATA_SHEET]
    assert data.freeze_panes == "B2"
    rows = list(data.iter_rows(values_only=True))
    assert rows[0] == ("code", "name", "rank", "score")
    assert rows[1:] == [
        ("E06000001", "Hartlepool", 1, 0.5),
        ("E02000002", "=SUM(A1)", None, None),  # a name is text, never a formula
        ("0123", "http://x", 3, 12.25),  # leading zero kept
    ]
    codes = [data.cell(row=r, column=1) for r in range(2, 5)]
    assert all(c.data_type == "s" and c.number_format == "@" for c in codes)
    assert data.cell(row=2, column=3).data_type == "n"
    assert book.properties.created.replace(tzinfo=UTC) == WHEN


def test_same_table_same_bytes(tmp_path, table, dictionary):
    write(tmp_path / "a.xlsx", table, dictionary)
    write(tmp_path / "b.xlsx", table, dictionary)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()

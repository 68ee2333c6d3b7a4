"""The Excel writer on a small table: data first, codes as text, frozen header, same bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from iod_msoa import _xlsx
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


def cell_by_cell(path, table, dictionary, notes, *, title, created):
    """The workbook written through XlsxWriter's API one cell at a time (as write_xlsx did
    before it made the Data sheet's XML a column at a time): the bytes it must match."""
    book = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    book.set_properties({"title": title, "created": created})
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    heading = book.add_format({"bold": True, "font_size": 14})
    text = book.add_format({"num_format": "@"})
    data = book.add_worksheet(DATA_SHEET)
    sheet = book.add_worksheet(NOTES_SHEET)
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 90, wrap)
    sheet.set_column(2, 4, 22, wrap)
    sheet.write_string(0, 0, title, heading)
    for row, (label, value) in enumerate(notes, start=2):
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 1, value, wrap)
    row = 2 + len(notes) + 1
    sheet.write_string(row, 0, f"Columns of the {DATA_SHEET} sheet", heading)
    columns = ["column", "description", "unit", "denominator", "direction"]
    sheet.write_row(row + 1, 0, columns, bold)
    described = dictionary[columns].fillna("").astype(str)
    for offset, values in enumerate(described.itertuples(index=False, name=None), start=2):
        sheet.write_row(row + offset, 0, values)
    for col, dtype in enumerate(table.dtypes):
        data.set_column(col, col, 14, None if pd.api.types.is_numeric_dtype(dtype) else text)
    data.freeze_panes(1, 1)
    data.write_row(0, 0, list(table.columns), bold)
    cells = table.astype(object).where(table.notna(), None)
    for number, values in enumerate(cells.itertuples(index=False, name=None), start=1):
        data.write_row(number, 0, values)
    data.autofilter(0, 0, len(table), len(table.columns) - 1)
    book.close()


@pytest.fixture
def awkward() -> pd.DataFrame:
    """Every kind of cell the column-at-a-time writer must write as XlsxWriter does."""
    names = [
        "Tom & Jerry <b>",
        ' "quoted" ',
        "tab\there\x01",
        "_x0000_ literal",
        "<r>rich-looking</r>",
        "",
        None,
        "x" * 20000,
        "Ynys Môn\u2019s",
    ]
    n = len(names)
    return pd.DataFrame(
        {
            # Unicode space first, a newline last: whitespace XlsxWriter preserves
            "code": pd.array(
                [f"E0{i}" for i in range(n - 3)] + ["\u2003E06", "E07\n", None], dtype="str"
            ),
            "name": pd.array(names, dtype="string"),
            "score": [0.1 + 0.2, 1 / 3, -0.0, 1e-5, 1e20, 123.456, float("nan"), 2.5e-300, 7.0],
            "whole": [1.0, 2.0, 3.0, None, 5.0, 6.0, 7.0, 8.0, float("nan")],
            "zero": [-0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, float("nan")],
            "rank": pd.array([1, None, 3, 4, 5, 6, 7, 8, None], dtype="Int64"),
            "people": np.arange(n, dtype=np.int64) * 1000,
        }
    )


@pytest.mark.parametrize("block", [1000, 3, 1])  # rows made and compressed at a time
def test_data_sheet_is_the_bytes_xlsxwriter_writes_cell_by_cell(
    tmp_path, awkward, dictionary, monkeypatch, block
):
    monkeypatch.setattr(_xlsx, "_BLOCK_ROWS", block)
    notes = [("What", "A test table")]
    awkward.loc[len(awkward)] = [None, None, np.nan, np.nan, np.nan, pd.NA, 0]  # last row: one 0
    for table in (awkward, awkward.iloc[:0], awkward.iloc[:-1]):
        fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
        write_xlsx(fast, table, dictionary, notes, title="T", created=WHEN)
        cell_by_cell(slow, table, dictionary, notes, title="T", created=WHEN)
        assert fast.read_bytes() == slow.read_bytes(), len(table)


def test_data_sheet_refuses_what_it_cannot_write_as_xlsxwriter_would(tmp_path, dictionary):
    with pytest.raises(TypeError, match="column 'flag' is bool"):
        write(tmp_path / "b.xlsx", pd.DataFrame({"flag": [True, False]}), dictionary)
    with pytest.raises(ValueError, match="column 'score' holds an infinite value"):
        write(tmp_path / "i.xlsx", pd.DataFrame({"score": [1.0, np.inf]}), dictionary)
    # XlsxWriter cuts such text and silently drops the rest of its row
    with pytest.raises(ValueError, match="column 'name' holds text longer than Excel's 32,767"):
        write(tmp_path / "l.xlsx", pd.DataFrame({"name": ["\U0001f600" * 16384]}), dictionary)

"""MHCLG's summaries workbooks, damaged or unusual (issue 14, cases 12 and 17): one line
naming the real problem, or (a blank sheet, no name column) the right table."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from iod_msoa._errors import SchemaError
from iod_msoa._readers import read_lad_summaries
from iod_msoa._vocab import METRICS, PUBLISHED_MEASURES

from .test_readers import LADS, XLSX_MEASURE, XLSX_PREFIX, _published_values

CODE = "Local Authority District code (2024)"
NAME = "Local Authority District name (2024)"


def _workbook(path, *, name: bool = True, blank_sheet: bool = False, only_notes: bool = False):
    """File 10's layout: Notes, then a sheet per index (optionally without the name column,
    with a blank sheet after them, or with only the Notes sheet)."""
    measure_of = {pm.published_column(m): pm.measure for m in METRICS for pm in PUBLISHED_MEASURES}
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        pd.DataFrame({"Notes": ["File 10"]}).to_excel(book, sheet_name="Notes", index=False)
        for published, columns in ({} if only_notes else _published_values()).items():
            sheet = {CODE: list(LADS)} | ({NAME: list(LADS.values())} if name else {})
            prefix = XLSX_PREFIX[published]
            for column, values in columns.items():
                sheet[XLSX_MEASURE[measure_of[column]].format(p=prefix)] = values
            pd.DataFrame(sheet).to_excel(book, sheet_name=prefix.split()[0].strip(","), index=False)
        if blank_sheet:
            book.book.create_sheet("Sheet1")
    return path


def test_a_truncated_workbook_is_one_line(tmp_path):
    whole = _workbook(tmp_path / "file10.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(
        SchemaError,
        match=r"^File 10 \(v2\) summaries \(.*cut.xlsx\): cannot be read: File is not a zip file$",
    ):
        read_lad_summaries(path)


def test_a_workbook_with_only_notes_is_named_as_such(tmp_path):
    path = _workbook(tmp_path / "file10.xlsx", only_notes=True)
    with pytest.raises(SchemaError, match=re.escape("has no sheet besides Notes")):
        read_lad_summaries(path)


def test_a_blank_extra_sheet_is_ignored(tmp_path):
    plain = read_lad_summaries(_workbook(tmp_path / "plain.xlsx"))
    blank = read_lad_summaries(_workbook(tmp_path / "blank.xlsx", blank_sheet=True))
    pd.testing.assert_frame_equal(blank, plain)


def test_a_workbook_without_names_reads_its_codes_and_measures(tmp_path):
    """Names are optional, as in the CSV tables: the measures are what is compared."""
    plain = read_lad_summaries(_workbook(tmp_path / "plain.xlsx"))
    nameless = read_lad_summaries(_workbook(tmp_path / "nameless.xlsx", name=False))
    assert "lad24nm" not in nameless.columns
    pd.testing.assert_frame_equal(nameless, plain.drop(columns="lad24nm"))


def test_a_sheet_without_the_code_column_is_named(tmp_path):
    path = _workbook(tmp_path / "file10.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    sheets["Crime"] = sheets["Crime"].rename(columns={CODE: "LAD code"})
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        for name, sheet in sheets.items():
            sheet.to_excel(book, sheet_name=name, index=False)
    with pytest.raises(SchemaError, match=re.escape(f"sheet 'Crime': no {CODE!r} column")):
        read_lad_summaries(path)

"""The dataset as an Excel workbook: the table with a frozen header, then a Notes sheet.

The table comes first because that is the sheet ``pd.read_excel(path)`` and Excel open.

Written for any table and its data dictionary, so every geography gets the same workbook.
Codes and names are stored as text (Excel would otherwise read a code like ``E06000001``
as a number), and the file is the same bytes for the same table and time: XlsxWriter
stores fixed times in the zip and takes the document's dates from ``created``.

The Data sheet's cells (about 650,000 for the MSOAs) are made a column at a time as the XML
XlsxWriter writes for them in its constant-memory mode, and handed to its row file: the same
bytes as writing them cell by cell through its API (``tests/test_xlsx.py`` compares the two),
which took most of a build's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import _preserve_whitespace, _utf16_len, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

NOTES_SHEET = "Notes"
DATA_SHEET = "Data"
_DICTIONARY_COLUMNS = ["column", "description", "unit", "denominator", "direction"]
_MAX_CHARS = 32767  # Excel's longest text in a cell, in UTF-16 units


def write_xlsx(
    path: Path,
    table: pd.DataFrame,
    dictionary: pd.DataFrame,
    notes: Sequence[tuple[str, str]],
    *,
    title: str,
    created: datetime,
) -> None:
    """Write ``table`` to ``path``, then a Notes sheet (``notes`` rows, then the dictionary).

    Missing values become empty cells; non-numeric columns are text cells.
    """
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,  # rows are written in order: little memory
            # names are text: never formulas or links
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    workbook.set_properties({"title": title, "created": created})
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    heading = workbook.add_format({"bold": True, "font_size": 14})
    text = workbook.add_format({"num_format": "@"})

    data = workbook.add_worksheet(DATA_SHEET)  # the first sheet: what readers open
    sheet = workbook.add_worksheet(NOTES_SHEET)
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 90, wrap)
    sheet.set_column(2, 4, 22, wrap)
    sheet.write_string(0, 0, title, heading)
    row = 2
    for label, value in notes:
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 1, value, wrap)
        row += 1
    row += 1
    sheet.write_string(row, 0, f"Columns of the {DATA_SHEET} sheet", heading)
    sheet.write_row(row + 1, 0, _DICTIONARY_COLUMNS, bold)
    described = dictionary[_DICTIONARY_COLUMNS].fillna("").astype(str)
    for offset, values in enumerate(described.itertuples(index=False, name=None), start=2):
        sheet.write_row(row + offset, 0, values)

    textual = _textual(table)
    for col, is_text in enumerate(textual):
        data.set_column(col, col, 14, text if is_text else None)
    data.freeze_panes(1, 1)  # header row and the code column stay in view
    data.write_row(0, 0, list(table.columns), bold)
    data._write_single_row(len(table))  # the header row out: the data rows follow it
    rows, last = _data_rows(data, table, textual, text._get_xf_index())
    data.fh.write(rows)
    if last:
        data._check_dimensions(last, 0)  # the sheet's extent, as each cell written would set
    data.autofilter(0, 0, len(table), len(table.columns) - 1)
    workbook.close()


def _textual(table: pd.DataFrame) -> list[bool]:
    """Which columns are text (the rest numbers); no other kind is written."""
    kinds = []
    for name, dtype in table.dtypes.items():
        number = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if not number and not pd.api.types.is_string_dtype(dtype):
            raise TypeError(f"write_xlsx writes numbers and text; column {name!r} is {dtype}")
        kinds.append(not number)
    return kinds


def _inline_string(sheet: Worksheet, string: str) -> str:
    """A text cell's content as XlsxWriter writes it: control characters as ``_xHHHH_``,
    whitespace kept, XML escaped (its own helpers, in its order)."""
    string = sheet._escape_control_characters(string)
    if string.startswith("<r>") and string.endswith("</r>"):
        return string  # XlsxWriter passes a rich string through as it is
    preserve = ' xml:space="preserve"' if _preserve_whitespace(string) else ""
    return f"<t{preserve}>{sheet._escape_data(string)}</t>"


def _numbers(values: np.ndarray) -> np.ndarray:
    """``%.16G`` of each value (XlsxWriter's number format) as objects; a column of whole
    numbers (ranks, deciles, counts) goes through integers, the same text several times faster."""
    known = values[~np.isnan(values)]
    whole = (known == np.round(known)).all() and (np.abs(known) < 1e15).all()
    if whole and not (np.signbit(known) & (known == 0)).any():  # "%.16G" % -0.0 is "-0"
        return np.nan_to_num(values).astype(np.int64).astype(str).astype(object)
    return np.char.mod("%.16G", values).astype(object)


def _data_rows(
    sheet: Worksheet, table: pd.DataFrame, textual: list[bool], text_xf: int
) -> tuple[str, int]:
    """Rows 2.. of the Data sheet as XML, and the last row holding a cell (0 if none).

    A missing value or an empty string writes no cell, as XlsxWriter does for a blank
    without a format; numbers are ``%.16G``, XlsxWriter's number format.
    """
    numbers = (np.arange(len(table)) + 2).astype(str).astype(object)
    cells = np.empty((len(table), len(table.columns) + 2), dtype=object)
    cells[:, 0] = '<row r="' + numbers + '">'
    cells[:, -1] = "</row>"
    blank = np.zeros(cells.shape, dtype=bool)
    for col, ((_, column), is_text) in enumerate(zip(table.items(), textual, strict=True)):
        ref = '<c r="' + xl_col_to_name(col) + numbers
        if is_text:
            values = column.astype(object).where(column.notna(), "").to_numpy()
            long = values[pd.Series(values).str.len().to_numpy() > _MAX_CHARS // 2]
            if any(_utf16_len(s) > _MAX_CHARS for s in long):
                # XlsxWriter would cut it and silently drop the rest of its row
                raise ValueError(
                    f"write_xlsx: column {column.name!r} holds text longer than "
                    f"Excel's {_MAX_CHARS:,} characters"
                )
            blank[:, col + 1] = values == ""
            content = pd.Series(values).map(lambda s: _inline_string(sheet, s)).to_numpy()
            cell = ref + f'" s="{text_xf}" t="inlineStr"><is>' + content + "</is></c>"
        else:
            values = column.to_numpy(dtype=float, na_value=np.nan)
            if np.isinf(values).any():
                raise ValueError(f"write_xlsx: column {column.name!r} holds an infinite value")
            blank[:, col + 1] = np.isnan(values)
            cell = ref + '"><v>' + _numbers(values) + "</v></c>"
        cells[:, col + 1] = np.where(blank[:, col + 1], "", cell)
    filled = np.flatnonzero(~blank[:, 1:-1].all(axis=1))
    return "".join(cells.ravel().tolist()), int(filled[-1]) + 1 if len(filled) else 0

"""The dataset as an Excel workbook: the table with a frozen header, then a Notes sheet.

The table comes first because that is the sheet ``pd.read_excel(path)`` and Excel open.

Written for any table and its data dictionary, so every geography gets the same workbook.
Codes and names are stored as text (Excel would otherwise read a code like ``E06000001``
as a number), and the file is the same bytes for the same table and time: XlsxWriter
stores fixed times in the zip and takes the document's dates from ``created``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
import xlsxwriter

NOTES_SHEET = "Notes"
DATA_SHEET = "Data"
_DICTIONARY_COLUMNS = ["column", "description", "unit", "denominator", "direction"]


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

    textual = [not pd.api.types.is_numeric_dtype(dtype) for dtype in table.dtypes]
    for col, is_text in enumerate(textual):
        data.set_column(col, col, 14, text if is_text else None)
    data.freeze_panes(1, 1)  # header row and the code column stay in view
    data.write_row(0, 0, list(table.columns), bold)
    cells = table.astype(object).where(table.notna(), None)
    for number, values in enumerate(cells.itertuples(index=False, name=None), start=1):
        data.write_row(number, 0, values)
    data.autofilter(0, 0, len(table), len(table.columns) - 1)
    workbook.close()

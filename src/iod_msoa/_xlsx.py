"""The dataset as an Excel workbook: the table with a frozen header, then a Notes sheet.

The table comes first because that is the sheet ``pd.read_excel(path)`` and Excel open.

Written for any table and its data dictionary, so every geography gets the same workbook.
Codes and names are stored as text (Excel would otherwise read a code like ``E06000001``
as a number), and the file is the same bytes for the same table and time: XlsxWriter
stores fixed times in the zip and takes the document's dates from ``created``.

The Data sheet's cells (about 650,000 for the MSOAs) are made as the XML XlsxWriter writes
for them in its constant-memory mode, a column at a time, and joined into rows by pyarrow
(which, unlike Python, leaves the GIL to the build's other writers): the same bytes as
writing them cell by cell through its API (``tests/test_xlsx.py`` compares the two), which
took most of a build's time. XlsxWriter writes the workbook without them; the zip is then
written again with the rows put into the sheet a block at a time, each block compressed in
a second thread while the next is joined (zlib works without the GIL), with the same
entries and the same compression as XlsxWriter's, so the same bytes in a fraction of the
time.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.utility import _preserve_whitespace, _utf16_len, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

NOTES_SHEET = "Notes"
DATA_SHEET = "Data"
_DICTIONARY_COLUMNS = ["column", "description", "unit", "denominator", "direction"]
_MAX_CHARS = 32767  # Excel's longest text in a cell, in UTF-16 units
_DATA_PART = "xl/worksheets/sheet1.xml"  # the Data sheet, the workbook's first
_SHEET_DATA_END = b"</sheetData>"
_BLOCK_ROWS = 1000  # rows joined (then compressed) at a time
_XML = pa.large_string()  # 64-bit offsets: a column of long texts may pass 2 GB
# What any of XlsxWriter's text escapes would change (a superset: "_x" for its escaped
# escapes); text with none of it is written as it is.
_ESCAPED = re.compile(r"_x|[\x00-\x08\x0b-\x1f\ufffe\uffff&<>]|^\s|\s$")


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
    book = io.BytesIO()  # XlsxWriter's workbook, all but the Data sheet's rows
    workbook = xlsxwriter.Workbook(
        book,
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
    blank = _blanks(table, textual)
    for col, is_text in enumerate(textual):
        data.set_column(col, col, 14, text if is_text else None)
    data.freeze_panes(1, 1)  # header row and the code column stay in view
    data.write_row(0, 0, list(table.columns), bold)
    filled = np.flatnonzero(~blank.all(axis=1))
    if len(filled):  # the sheet's extent, as each cell written would set it
        data._check_dimensions(int(filled[-1]) + 1, 0)
    data.autofilter(0, 0, len(table), len(table.columns) - 1)
    workbook.close()
    rows = _data_rows(data, table, textual, blank, text._get_xf_index())
    _write_zip(path, book.getvalue(), rows)


def _write_zip(path: Path, book: bytes, rows: Iterator[pa.Buffer]) -> None:
    """``book`` (XlsxWriter's zip) written again to ``path`` with ``rows`` closing its Data
    sheet: each entry as it was (names, times, attributes, compression), so the bytes are
    those XlsxWriter writes for the whole sheet. Deflate's output does not depend on how
    its input is cut, so each block is compressed while the next is made."""
    with (
        zipfile.ZipFile(io.BytesIO(book)) as parts,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=False) as out,  # as XlsxWriter
    ):
        for info in parts.infolist():
            content = parts.read(info)
            if info.filename != _DATA_PART:
                out.writestr(info, content)
                continue
            head, tail = content.split(_SHEET_DATA_END, 1)
            info.file_size = 0  # unknown until written (as XlsxWriter's: never zip64)
            with out.open(info, "w") as sheet, ThreadPoolExecutor(max_workers=1) as deflate:
                pending = deflate.submit(sheet.write, head)
                for block in rows:
                    pending.result()
                    pending = deflate.submit(sheet.write, block)
                pending.result()
                sheet.write(_SHEET_DATA_END + tail)


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


def _inline_strings(sheet: Worksheet, values: np.ndarray) -> np.ndarray:
    """:func:`_inline_string` of each value; the common text, which no escape changes, skips
    XlsxWriter's four passes over it."""
    return np.array(
        [_inline_string(sheet, s) if _ESCAPED.search(s) else f"<t>{s}</t>" for s in values],
        dtype=object,
    )


def _whole(values: np.ndarray) -> bool:
    """Whether a column's numbers are all whole (ranks, deciles, counts): written from
    integers, the same text as ``%.16G`` several times faster (``"%.16G" % -0.0`` is "-0")."""
    known = values[~np.isnan(values)]
    return bool(
        (known == np.round(known)).all()
        and (np.abs(known) < 1e15).all()
        and not (np.signbit(known) & (known == 0)).any()
    )


def _blanks(table: pd.DataFrame, textual: list[bool]) -> np.ndarray:
    """Which cells are written as none (a missing value or empty text, as XlsxWriter skips
    a blank without a format); fails first on a value XlsxWriter would write wrongly."""
    blank = np.zeros(table.shape, dtype=bool)
    for col, ((_, column), is_text) in enumerate(zip(table.items(), textual, strict=True)):
        if is_text:
            values = column.astype(object).where(column.notna(), "")
            long = values[values.str.len().to_numpy() > _MAX_CHARS // 2]
            if any(_utf16_len(s) > _MAX_CHARS for s in long):
                # XlsxWriter would cut it and silently drop the rest of its row
                raise ValueError(
                    f"write_xlsx: column {column.name!r} holds text longer than "
                    f"Excel's {_MAX_CHARS:,} characters"
                )
            blank[:, col] = (values == "").to_numpy()
        else:
            values = column.to_numpy(dtype=float, na_value=np.nan)
            if np.isinf(values).any():
                raise ValueError(f"write_xlsx: column {column.name!r} holds an infinite value")
            blank[:, col] = np.isnan(values)
    return blank


def _xml(text: str | None) -> pa.Scalar:
    """``text`` as the type the sheet's XML is made in."""
    return pa.scalar(text, _XML)


def _column_cells(
    sheet: Worksheet,
    column: pd.Series,
    is_text: bool,
    blank: np.ndarray,
    ref: str,
    numbers: pa.Array,
    text_xf: int,
) -> pa.Array:
    """One column's cells in ``numbers``' rows, as XlsxWriter writes them (a blank cell as
    nothing): text as its XML, whole numbers from integers, other numbers as ``%.16G``,
    XlsxWriter's number format."""
    if is_text:
        text = column.astype(object).where(column.notna(), "").to_numpy()
        values = pa.array(_inline_strings(sheet, text), _XML)
        head, tail = f'" s="{text_xf}" t="inlineStr"><is>', "</is></c>"
    else:
        numeric = column.to_numpy(dtype=float, na_value=np.nan)
        if _whole(numeric):
            values = pc.cast(pa.array(np.nan_to_num(numeric).astype(np.int64)), _XML)
        else:
            values = pa.array([format(x, ".16G") for x in numeric.tolist()], _XML)
        head, tail = '"><v>', "</v></c>"
    values = pc.if_else(pa.array(blank), _xml(None), values)
    cells = pc.binary_join_element_wise(
        _xml(f'<c r="{ref}'),
        numbers,
        _xml(head),
        values,
        _xml(tail),
        _xml(""),
        null_handling="emit_null",
    )
    return pc.fill_null(cells, _xml(""))


def _data_rows(
    sheet: Worksheet, table: pd.DataFrame, textual: list[bool], blank: np.ndarray, text_xf: int
) -> Iterator[pa.Buffer]:
    """The Data sheet's XML for ``table`` (UTF-8, the table's first row the sheet's second),
    ``_BLOCK_ROWS`` rows at a time: each cell is made a column at a time, and the rows are
    joined by pyarrow, which works without the GIL, so the other writers' threads run
    meanwhile; each block is compressed while the next is joined."""
    numbers = pc.cast(pa.array(np.arange(2, len(table) + 2)), _XML)
    cells = [
        _column_cells(sheet, column, is_text, blank[:, col], xl_col_to_name(col), numbers, text_xf)
        for col, ((_, column), is_text) in enumerate(zip(table.items(), textual, strict=True))
    ]
    for at in range(0, len(table), _BLOCK_ROWS):
        rows = pc.binary_join_element_wise(
            _xml('<row r="'),
            numbers[at : at + _BLOCK_ROWS],
            _xml('">'),
            *(c[at : at + _BLOCK_ROWS] for c in cells),
            _xml("</row>"),
            _xml(""),
        )
        _, offsets, text = rows.buffers()
        ends = np.frombuffer(offsets, dtype=np.int64)[[rows.offset, rows.offset + len(rows)]]
        yield text[int(ends[0]) : int(ends[1])]

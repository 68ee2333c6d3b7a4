"""Readers of an edition's own files: MHCLG's File 10 of an earlier edition (2019) and
the ONS lookups from 2011 LSOAs (to MSOAs 2011, to LSOAs 2021).

Returns what :func:`iod_msoa._readers.read_summaries` returns for 2025 (``<key>cd``,
``<key>nm`` and MHCLG's snake-case measure names), so one comparison serves both editions.
Each problem found is reported in one line.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ._change import check_crosswalk
from ._editions import EDITIONS, Edition, edition_of
from ._errors import SchemaError, listed
from ._problems import Problem, fail
from ._readers import _read_csv, check_codes, check_columns, shown_rows
from ._vocab import METRICS

NOTES_SHEET = "notes"


def clean_header(header: str, year: int) -> str:
    """An xlsx header -> the snake-case name of the IMD R package's tables, the edition's
    year shortened ("IMD 2019 - Extent" -> ``imd19_extent``; "LSOAs" -> ``lso_as``)."""
    text = header.strip().replace("%", " percent")
    text = re.sub(r"([a-z])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return re.sub(rf"_{year}_", f"{year % 100:02d}_", text)


def published_columns(edition: Edition) -> list[str]:
    """MHCLG's names of every measure the edition's File 10 publishes, metric by metric."""
    return [
        pm.published_column(m)
        for m in METRICS
        for pm in edition.published_measures
        if pm.applies_to(m)
    ]


@functools.lru_cache(maxsize=1)
def _workbook(content: bytes) -> dict[str, pd.DataFrame]:
    """Every sheet of a File 10 xlsx, parsed once per content: the Since 2019 page validates
    the 2019 edition and then explains its differences from the same workbook
    (``iod_msoa.earlier_proof``), and parsing it is most of either's time."""
    # Only an empty cell is blank: "n/a" is a value to name, not a missing one.
    return pd.read_excel(
        io.BytesIO(content), sheet_name=None, keep_default_na=False, na_values=[""]
    )


def _sheets(path: Path) -> dict[str, pd.DataFrame]:
    """The workbook's sheets as the caller's own copies: the parsed ones stay as read."""
    return {sheet: table.copy() for sheet, table in _workbook(path.read_bytes()).items()}


def read_lad_summaries(path: Path | str, year: int, also: Sequence[str] = ()) -> pd.DataFrame:
    """Read an edition's File 10 xlsx (a Notes sheet, then one sheet per index) as one row
    per local authority: ``<lad_key>``, its name column and the published measures (and
    the columns named in ``also``, e.g. MHCLG's ``idaopi_rank_of_average_rank``).

    A File 10 of another edition (its code column names another LAD vintage) is refused by
    name; so are a file that is not an xlsx, a sheet without the code column, a district
    given twice in a sheet, sheets that disagree on the districts, and blank or non-numeric
    values.
    """
    edition = edition_of(year)
    path = Path(path)
    source = f"File 10 ({edition.year}) summaries ({path})"
    code, name = edition.lad_key, edition.lad_key.removesuffix("cd") + "nm"
    header = edition.identifiers[code]
    try:
        sheets = _sheets(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise SchemaError(f"{source}: cannot be read as an xlsx workbook: {exc}") from exc
    indices = {s: t for s, t in sheets.items() if s.strip().lower() != NOTES_SHEET}
    if not indices:
        raise SchemaError(f"{source}: has no sheet besides Notes (one sheet per index expected)")
    frames, header_of = [], {}
    for sheet, table in indices.items():
        where = f"{source}, sheet {sheet!r}"
        if header not in table.columns:
            _refuse_other_edition(table.columns, edition, where)
            check_columns(table, [header], where)
        table = table.dropna(how="all")
        header_of |= {clean_header(str(c), edition.year): str(c).strip() for c in table.columns}
        codes = table[header].astype("string")
        twice = codes.duplicated(keep=False)
        if twice.any():
            raise SchemaError(
                f"{where}: {codes[twice].nunique()} duplicated area code(s): "
                + shown_rows(twice, codes)
            )
        frames.append(
            table.rename(columns=lambda c: clean_header(str(c), edition.year)).set_index(
                clean_header(header, edition.year)
            )
        )
    name_column = clean_header(edition.identifiers[name], edition.year)
    areas = [set(f.index) for f in frames]
    if any(a != areas[0] for a in areas):
        raise SchemaError(f"{source}: its sheets list different local authorities")
    names = frames[0][name_column]
    table = pd.concat([f.drop(columns=name_column, errors="ignore") for f in frames], axis=1)
    table = table.loc[:, ~table.columns.duplicated()]
    table.insert(0, name, names)
    table = table.rename_axis(code).reset_index()
    wanted = [*published_columns(edition), *also]
    check_columns(table, wanted, source)
    problems = []
    for column in wanted:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            shown = header_of.get(column, column)
            problems.append(
                Problem(
                    f"column {shown!r} has {bad.sum()} blank or non-numeric value(s): "
                    + shown_rows(bad, table[code].astype("string"), values=table[column])
                )
            )
        table[column] = values
    fail(source, problems, SchemaError)
    return table[[code, name, *wanted]]


def _refuse_other_edition(columns: pd.Index, edition: Edition, where: str) -> None:
    """A sheet keyed by another edition's LAD code is that edition's File 10: say so."""
    for other in EDITIONS.values():
        if other is not edition and other.identifiers[other.lad_key] in columns:
            raise SchemaError(
                f"{where}: is a File 10 of the {other.title} "
                f"({other.identifiers[other.lad_key]!r}), not of the {edition.title}"
            )


# Our column -> how ONS's lookups (upper case) and their tabular copies (geographr's
# ``lsoa11_code``) spell it; matched ignoring case.
_LOOKUP_SPELLINGS = {
    "lsoa11cd": ("lsoa11cd", "lsoa11_code"),
    "lsoa21cd": ("lsoa21cd", "lsoa21_code"),
    "chgind": ("chgind", "change_code"),
    "msoa11cd": ("msoa11cd", "msoa11_code"),
    "msoa11nm": ("msoa11nm", "msoa11_name"),
}


def _read_lookup_columns(path: Path | str, source: str, ours: list[str]) -> pd.DataFrame:
    """The ``ours`` columns of a lookup in either spelling, England's rows only (a lookup
    for England and Wales, or Great Britain, holds the others too)."""
    try:
        header = {str(c).strip().lower() for c in pd.read_csv(path, nrows=0).columns}
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SchemaError(f"{source}: cannot be read as CSV: {exc}") from exc
    given = {
        o: next((s for s in _LOOKUP_SPELLINGS[o] if s in header), _LOOKUP_SPELLINGS[o][0])
        for o in ours
    }
    table = _read_csv(path, source, list(given.values())).rename(
        columns={v: k for k, v in given.items()}
    )
    table = table.astype("string")
    return table[table[ours[0]].str.startswith("E", na=False)].reset_index(drop=True)


def read_lsoa11_msoa11(path: Path | str) -> pd.DataFrame:
    """ONS's LSOA (2011) -> MSOA (2011) lookup as one row per English LSOA (``lsoa11cd,
    msoa11cd, msoa11nm``): an LSOA in two MSOAs, or an MSOA with two names, is refused."""
    source = f"LSOA (2011) -> MSOA (2011) lookup ({path})"
    table = _read_lookup_columns(path, source, ["lsoa11cd", "msoa11cd", "msoa11nm"])
    table = table.drop_duplicates()
    problems = check_codes(table["lsoa11cd"], r"E01[0-9]{6}", "LSOA codes")
    problems += check_codes(table.drop_duplicates("msoa11cd")["msoa11cd"], r"E02[0-9]{6}", "MSOAs")
    named = table.drop_duplicates(["msoa11cd", "msoa11nm"])["msoa11cd"]
    if (renamed := named.duplicated(keep=False)).any():
        problems.append(Problem(f"MSOA code(s) with more than one name: {listed(named[renamed])}"))
    fail(source, problems, SchemaError)
    return table.sort_values("lsoa11cd").reset_index(drop=True)


def read_lsoa11_lsoa21(path: Path | str) -> pd.DataFrame:
    """ONS's LSOA (2011) -> LSOA (2021) lookup, England's rows (``lsoa11cd, lsoa21cd,
    chgind``), checked by :func:`_change.check_crosswalk`."""
    source = f"LSOA (2011) -> LSOA (2021) lookup ({path})"
    table = _read_lookup_columns(path, source, ["lsoa21cd", "lsoa11cd", "chgind"])
    problems = check_codes(table["lsoa11cd"].drop_duplicates(), r"E01[0-9]{6}", "LSOA codes")
    fail(source, problems, SchemaError)
    return check_crosswalk(table, source)

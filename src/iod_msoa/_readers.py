"""Readers of the tabular inputs, which check each file on load.

File 7, the ONS lookups, the names, MHCLG's summaries and the LSOA geographies table are read
into tidy tables with our short column names (``_vocab``). Each check returns
:class:`~iod_msoa._problems.Problem` records, so a reader reports every problem it finds in
one message, rendered by the one rule of ``_problems``.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import stat
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._editions import DEFAULT_EDITION, Edition, check_edition, edition_of
from ._errors import SchemaError, listed, shown_code
from ._geographies import GEOGRAPHIES, ONS_LOOKUPS, Geography
from ._problems import MAX_ROWS, Problem, fail
from ._vocab import (
    DENOMINATORS,
    EXPECTED_LSOAS,
    LSOA_CODE_PATTERN,
    MAX_ABS_SCORE,
    MAX_LSOA_POPULATION,
    METRICS,
    ONS_CODE_PATTERN,
    PUBLISHED_MEASURES,
    Denominator,
    Metric,
)


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


RENAME_EDITS = 3  # letters a renamed column may differ by (a typo, a plural, a truncation)


def _edits(a: str, b: str) -> int:
    """Letters of the longer name outside the blocks it shares with the other."""
    shared = sum(m.size for m in difflib.SequenceMatcher(None, a, b).get_matching_blocks())
    return max(len(a), len(b)) - shared


def missing_columns_message(
    source: str,
    missing: Sequence[str],
    present: Iterable[str],
    required: Iterable[str] = (),
    *,
    others: bool = False,
) -> str:
    """Name every missing column; suggest a present one that looks like it (never use it).

    A column that is itself required is never suggested as a rename; nor, in a file that
    may hold other columns (``others``), the missing name with more added (``icb24cdh`` for
    ``icb24cd`` in the geographies table is another column of its layout); nor a name that
    differs in more than ``RENAME_EDITS`` letters (beyond case and punctuation): a long
    name shares most of its letters with its neighbours (``crime_rank_of_proportion...``
    is not ``income_proportion...`` renamed).
    """
    present = [str(p) for p in present]
    taken = {_normalised(r) for r in map(str, required) if r in present}
    by_norm = {_normalised(p): p for p in present}
    lines = []
    for col in missing:
        want = _normalised(col)
        candidates = [
            n
            for n in by_norm
            if n not in taken
            and not (others and n.startswith(want))
            and _edits(want, n) <= RENAME_EDITS
        ]
        close = difflib.get_close_matches(want, candidates, n=1, cutoff=0.85)
        hint = f" (found {by_norm[close[0]]!r}: renamed?)" if close else ""
        lines.append(f"{col!r}{hint}")
    return f"{source}: {len(missing)} required column(s) missing: " + "; ".join(lines)


def shown_rows(
    mask: pd.Series, codes: pd.Series, limit: int = MAX_ROWS, values: pd.Series | None = None
) -> str:
    bad = codes[mask].astype(object).where(codes[mask].notna(), "<blank>")
    shown_values = [""] * min(limit, len(bad))
    if values is not None:
        shown_values = [f" = {v!r}"[:40] for v in values[mask][:limit].tolist()]
    shown = ", ".join(
        f"row {i + 2} ({shown_code(c)}){v}"
        for i, c, v in zip(bad.index[:limit], bad[:limit], shown_values, strict=True)
    )
    more = f" and {len(bad) - limit} more" if len(bad) > limit else ""
    return shown + more


def check_columns(
    frame: pd.DataFrame, required: Iterable[str], source: str, *, others: bool = False
) -> None:
    """Fail, naming every missing column at once, if ``frame`` lacks any of ``required``
    (``others``: the file may hold other columns, see ``missing_columns_message``)."""
    required = list(required)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SchemaError(
            missing_columns_message(source, missing, frame.columns, required, others=others)
        )


def check_codes(codes: pd.Series, pattern: str, what: str, why: str = "") -> list[Problem]:
    """Problems with an area-code column: blanks, malformed codes, duplicates (``why``:
    what a duplicate means, said after the rows)."""
    problems = []
    text = codes.astype("string")
    malformed = text.isna() | ~text.str.fullmatch(pattern, na=False)
    if malformed.any():
        problems.append(
            Problem(
                f"{malformed.sum()} missing or malformed {what} (expected {pattern}): "
                + shown_rows(malformed, text.fillna("<blank>"))
            )
        )
    duplicated = text.duplicated(keep=False) & ~malformed
    if duplicated.any():
        problems.append(
            Problem(f"{duplicated.sum()} duplicated {what}: " + shown_rows(duplicated, text) + why)
        )
    return problems


def is_in(values: pd.Series | pd.Index, among: pd.Series | pd.Index) -> np.ndarray:
    """``values.isin(among)`` as a boolean array, through pyarrow: for text, pandas 3 makes
    one Arrow scalar of each value of ``among`` (half a second for England's LSOA codes)."""
    arrow = pa.array(values)
    wanted = pa.array(among).cast(arrow.type)
    return pc.is_in(arrow, value_set=wanted).to_numpy(zero_copy_only=False)


def _whole_file(path: Path | str, source: str) -> io.BytesIO:
    """The file's bytes, read at once and checked against its size: a table that lost its
    last rows to a read cut short would give wrong counts and sums, not an error."""
    with Path(path).open("rb") as handle:
        status = os.fstat(handle.fileno())
        data = handle.read()
    size = status.st_size
    if stat.S_ISREG(status.st_mode) and len(data) != size:  # a pipe has no size
        raise SchemaError(
            f"{source}: read {len(data):,} of its {size:,} bytes (was it changed while being "
            "read?); run again"
        )
    return io.BytesIO(data)


def _read_csv(path: Path | str, source: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a CSV quickly (pyarrow); ``columns`` are matched case-insensitively when given."""
    try:
        if columns is None:
            return without_trailing_empty_rows(
                pd.read_csv(_whole_file(path, source), engine="pyarrow", encoding="utf-8-sig")
            )
        header = _raw_header(path, source)
        lower = pd.Index([str(c).strip().lower() for c in header])
        by_lower = dict(zip(lower, header, strict=True))
        check_columns(pd.DataFrame(columns=list(by_lower)), columns, source, others=True)
        fail(source, _duplicated_headers(lower, columns), SchemaError)  # MSOA21CD, msoa21cd
        usecols = [by_lower[c] for c in columns]
        table = pd.read_csv(
            _whole_file(path, source), engine="pyarrow", usecols=usecols, encoding="utf-8-sig"
        )
        table = table.rename(columns={by_lower[c]: c for c in columns})[list(columns)]
        return without_trailing_empty_rows(table)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SchemaError(f"{source}: cannot be read as CSV: {exc}") from exc


def column_rows(
    column: str,
    bad: pd.Series,
    what: str,
    codes: pd.Series,
    values: pd.Series | None = None,
) -> list[Problem]:
    """The problem of a column's ``bad`` rows, named by ``codes`` (and their ``values``):
    none if there are none."""
    if not bad.any():
        return []
    return [
        Problem(
            f"column {column!r} has {bad.sum()} {what}: " + shown_rows(bad, codes, values=values)
        )
    ]


def read_file7(
    path: Path | str, *, expected_rows: int | None = EXPECTED_LSOAS, edition: int = DEFAULT_EDITION
) -> pd.DataFrame:
    """Read an edition's File 7 (IoD2025 by default) into one row per LSOA with our short
    column names.

    Checks the exact official headers (no name guessing: a renamed column is an error; a
    File 7 of another edition is refused by name), LSOA codes, numeric scores, ranks,
    deciles and populations, and the row count.
    """
    source = f"File 7 ({path})"
    ed = edition_of(edition)
    official = ed.file7_columns
    header = _raw_header(path, source)
    check_edition(header, ed.year, source)
    check_columns(pd.DataFrame(columns=header.unique()), official, source)
    fail(source, _duplicated_headers(header, official), SchemaError)
    table = _read_csv(path, source).loc[:, list(official)].rename(columns=official)

    n = len(table)
    key, metrics, denominators = ed.lsoa_key, ed.engine_metrics, ed.engine_denominators
    problems = []
    if expected_rows is not None and n != expected_rows:
        problems.append(Problem(f"has {n:,} LSOA rows; the official file has {expected_rows:,}"))
    problems += check_codes(table[key], ed.lsoa_code_pattern, "LSOA codes")
    problems += _lad_problems(table, ed)
    problems += _numeric_problems(
        table, {v: k for k, v in official.items() if v not in ed.identifiers}, key
    )
    problems += _value_problems(
        table, n_national=expected_rows or n, metrics=metrics, denominators=denominators, key=key
    )
    if not problems:  # ranks, deciles and scores are valid numbers: do they agree?
        problems = file7_consistency_problems(table, expected_rows or n, metrics, key=key)
    fail(source, problems, SchemaError)

    ints = [f"{m.short}_{s}" for m in metrics for s in ("rank", "decile")]
    ints += [d.short for d in denominators if d.whole]
    table[ints] = table[ints].astype("int64")
    return table


def _raw_header(path: Path | str, source: str) -> pd.Index:
    """A CSV's header as written: pandas would rename a repeated header ``X.1``."""
    try:
        first = pd.read_csv(
            path, header=None, nrows=1, dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SchemaError(f"{source}: cannot be read as CSV: {exc}") from exc
    return pd.Index(first.iloc[0].tolist() if len(first) else [], dtype=object)


def _duplicated_headers(header: pd.Index, wanted: Iterable[str]) -> list[Problem]:
    """A header we use given twice (headers matched ignoring case count as one): which column
    is meant cannot be told (pandas would take one and quietly rename the other)."""
    counts = header.value_counts()
    twice = [h for h in wanted if counts.get(h, 0) > 1]
    if not twice:
        return []
    shown = "; ".join(f"{h!r} ({counts[h]} times)" for h in twice[:MAX_ROWS])
    more = f" and {len(twice) - MAX_ROWS} more" if len(twice) > MAX_ROWS else ""
    return [Problem(f"{len(twice)} header(s) given more than once: {shown}{more}")]


def file7_consistency_problems(
    table: pd.DataFrame,
    n_national: int,
    metrics: Iterable[Metric] = METRICS,
    *,
    key: str = "lsoa21cd",
) -> list[Problem]:
    """File 7 agrees with itself, for every index: each decile is ``ceil(rank * 10 / n)``
    (MHCLG's deciles, measured on File 7 2025 and Files 1, 3 and 7 of 2019: 0 exceptions),
    and a higher score never has a less deprived rank (ranks are the scores' order, so a
    swapped or shuffled column shows). The proportion in the most deprived 10% follows the
    decile and every other measure the rank or the score, so a disagreement is a wrong
    number, never a rounding. ``table`` has our column names and valid numbers."""
    problems = []
    for m in metrics:
        rank, decile = table[f"{m.short}_rank"], table[f"{m.short}_decile"]
        off = decile != np.ceil(rank * 10 / n_national)
        problems += column_rows(
            m.decile,
            off,
            f"decile(s) that are not ceil(rank x 10 / {n_national:,}) of their rank",
            table[key],
            _at_rank("decile ", decile, rank, off),
        )
        problems += _score_order_problems(table, m, key)
    return problems


def _at_rank(what: str, values: pd.Series, rank: pd.Series, rows: pd.Series) -> pd.Series | None:
    """``values`` of ``rows`` with their rank, as a message shows them (only when there are
    such rows: making 33,755 strings per column for no message would be slow)."""
    if not rows.any():
        return None
    shown = what + values[rows].astype("string") + " at rank " + rank[rows].astype("string")
    return shown.reindex(values.index)


SCORE_ORDER_TOLERANCE = 1e-9  # rounding a score keeps its order: only float noise is allowed


def _score_order_problems(table: pd.DataFrame, m: Metric, key: str) -> list[Problem]:
    """LSOAs whose score is above that of an LSOA ranked more deprived (rows of one rank,
    ties, may differ by rounding among themselves, never with the ranks around them)."""
    rank, score = table[f"{m.short}_rank"], table[f"{m.short}_score"]
    # ranks are whole numbers from 1 here: each rank's lowest score, without sorting
    ranks, scores = rank.to_numpy().astype(np.int64), score.to_numpy(dtype="float64")
    lowest = np.full(ranks.max(initial=0) + 1, np.inf)
    np.minimum.at(lowest, ranks, scores)
    before = np.r_[np.inf, np.minimum.accumulate(lowest)[:-1]][ranks]  # of the ranks above
    above = scores > before + SCORE_ORDER_TOLERANCE * np.maximum(1, np.abs(before))
    above = pd.Series(above, index=table.index)
    return column_rows(
        m.score,
        above,
        "score(s) above that of an LSOA ranked more deprived (a swapped or shuffled column?)",
        table[key],
        _at_rank("", score, rank, above),
    )


def _numeric_problems(table: pd.DataFrame, headers: dict[str, str], key: str) -> list[Problem]:
    """File 7's value columns (ours -> official header) made numbers in place; a blank or
    non-numeric value is a problem."""
    problems = []
    for ours, col in headers.items():
        if pd.api.types.is_numeric_dtype(table[ours]) and table[ours].notna().all():
            continue
        values = pd.to_numeric(table[ours], errors="coerce")
        problems += column_rows(col, values.isna(), "blank or non-numeric value(s)", table[key])
        table[ours] = values
    return problems


def _lad_problems(table: pd.DataFrame, edition: Edition) -> list[Problem]:
    """Each LSOA's local authority: a well-formed code with one name (the MSOA's LAD and name
    come from here, so a blank or a second spelling would reach the outputs)."""
    code, name, lsoas = edition.lad_key, edition.lad_name, table[edition.lsoa_key]
    pattern = edition.lad_code_pattern
    codes = table[code].astype("string")
    malformed = codes.isna() | ~codes.str.fullmatch(pattern, na=False)
    problems = column_rows(
        edition.identifiers[code],
        malformed,
        f"missing or malformed code(s) (expected {pattern})",
        lsoas,
        table[code],
    )
    names = table[name].astype("string").str.strip()
    blank = names.isna() | (names == "")
    problems += column_rows(edition.identifiers[name], blank, "blank name(s)", lsoas)
    pairs = table[[code, name]].drop_duplicates()
    renamed = pairs[code].duplicated(keep=False) & pairs[code].notna()
    if renamed.any():
        problems.append(
            Problem(
                f"{pairs.loc[renamed, code].nunique()} local authority code(s) with more "
                "than one name: "
                + shown_rows(renamed, pairs[code].astype("string"), values=pairs[name])
            )
        )
    return problems


def _value_problems(
    table: pd.DataFrame,
    *,
    n_national: int,
    metrics: Sequence[Metric] = METRICS,
    denominators: Sequence[Denominator] = DENOMINATORS,
    key: str = "lsoa21cd",
) -> list[Problem]:
    """Every number in its domain: a wrong value must stop the build, never shift ranks.

    Scores finite and plausible; ranks whole within 1..n_national (ranks are national, so
    a file with rows missing still ranks to 33,755); deciles whole 1..10; populations whole,
    non-negative, plausible for one LSOA and, for the age groups, within the total.
    Blank values were reported already and are skipped here.
    """
    with np.errstate(invalid="ignore"):  # inf % 1: an infinite value is reported, not warned
        checks = [
            *_metric_checks(table, n_national, metrics),
            *_population_checks(table, denominators),
        ]
    return [
        problem
        for column, official, bad, what in checks
        for problem in column_rows(
            official,
            pd.Series(bad & ~np.isnan(_numbers(table, column)), index=table.index),
            what,
            table[key],
            table[column],
        )
    ]


# our column, official header, bad rows, what is wrong
_Check = tuple[str, str, np.ndarray, str]


def _numbers(table: pd.DataFrame, column: str) -> np.ndarray:
    """A column made numbers as floats (blanks NaN): the checks run on numpy's arrays, not
    pandas' (a few hundred of them: most of the time of reading File 7 went to pandas)."""
    return table[column].to_numpy(dtype="float64", na_value=np.nan)


def _metric_checks(table: pd.DataFrame, n_national: int, metrics: Sequence[Metric]) -> list[_Check]:
    """Scores finite and plausible; ranks and deciles whole and in range."""
    checks = []
    for m in metrics:
        column = f"{m.short}_score"
        score = _numbers(table, column)
        checks += [
            (column, m.score, ~np.isfinite(score), "infinite value(s)"),
            (
                column,
                m.score,
                np.isfinite(score) & (np.abs(score) > MAX_ABS_SCORE),
                f"value(s) beyond ±{MAX_ABS_SCORE:,} (no IoD score comes near)",
            ),
        ]
        for kind, top in (("rank", n_national), ("decile", 10)):
            column = f"{m.short}_{kind}"
            values = _numbers(table, column)
            inside = (values >= 1) & (values <= top)
            checks += [
                (column, getattr(m, kind), ~inside, f"value(s) outside 1..{top:,}"),
                (
                    column,
                    getattr(m, kind),
                    inside & (values % 1 != 0),
                    "value(s) that are not whole numbers",
                ),
            ]
    return checks


def _population_checks(table: pd.DataFrame, denominators: Sequence[Denominator]) -> list[_Check]:
    """Populations non-negative, plausible for one LSOA, whole (those counted in people),
    the age groups within the total."""
    total = _numbers(table, denominators[0].short)
    checks = []
    for d in denominators:
        values = _numbers(table, d.short)
        plausible = (values >= 0) & (values <= MAX_LSOA_POPULATION)
        checks += [
            (d.short, d.column, values < 0, "negative population(s)"),
            (
                d.short,
                d.column,
                (values > MAX_LSOA_POPULATION) | ~np.isfinite(values),
                f"population(s) above {MAX_LSOA_POPULATION:,}, implausible for one LSOA "
                "(about 1,000-3,000 people)",
            ),
        ]
        if d.whole:
            checks.append(
                (d.short, d.column, plausible & (values % 1 != 0), "population(s) not whole")
            )
        if d is not denominators[0] and d.within_total:
            checks.append(
                (
                    d.short,
                    d.column,
                    plausible & (total >= 0) & (total <= MAX_LSOA_POPULATION) & (values > total),
                    f"population(s) larger than the LSOA's {denominators[0].column!r}",
                )
            )
    return checks


def read_lookup(path: Path | str) -> pd.DataFrame:
    """Read the ONS OA/LSOA -> MSOA lookup as one row per LSOA (``lsoa21cd, msoa21cd, msoa21nm``).

    ONS publishes the headers in upper case and third-party copies in lower case; both are
    the same names, so matching ignores case. Codes must be well formed, an LSOA must sit in
    one MSOA and an MSOA must have one name (else the name used would depend on row order).
    """
    source = f"LSOA -> MSOA lookup ({path})"
    raw = _read_csv(path, source, ["lsoa21cd", "msoa21cd", "msoa21nm"])
    lookup = raw.drop_duplicates(["lsoa21cd", "msoa21cd"])
    problems = check_codes(
        lookup["lsoa21cd"], r"[EW]01[0-9]{6}", "LSOA codes", " (an LSOA must sit in one MSOA)"
    )
    msoas = raw.drop_duplicates("msoa21cd")
    problems += check_codes(msoas["msoa21cd"], r"[EW]02[0-9]{6}", "MSOA codes")
    country = (
        lookup["lsoa21cd"].astype("string").str[0] != lookup["msoa21cd"].astype("string").str[0]
    )
    problems += column_rows(
        "msoa21cd",
        country.fillna(False),
        "MSOA(s) in another country than their LSOA (E: England, W: Wales)",
        lookup["lsoa21cd"].astype("string"),
        lookup["msoa21cd"],
    )
    problems += _blank_names(raw, "msoa21nm", "msoa21cd")
    named = raw.drop_duplicates(["msoa21cd", "msoa21nm"])
    renamed = named["msoa21cd"].duplicated(keep=False)
    if renamed.any():
        problems.append(
            Problem(
                f"{named.loc[renamed, 'msoa21cd'].nunique()} MSOA code(s) with more than one "
                "name (an MSOA must have one name): "
                + shown_rows(renamed, named["msoa21cd"], values=named["msoa21nm"])
            )
        )
    fail(source, problems, SchemaError)
    return lookup.sort_values("lsoa21cd").reset_index(drop=True)


def read_names(path: Path | str) -> pd.DataFrame:
    """Read the House of Commons Library MSOA names (``msoa21cd, msoa21hclnm``)."""
    source = f"MSOA names ({path})"
    names = _read_csv(path, source, ["msoa21cd", "msoa21hclnm"])
    problems = check_codes(names["msoa21cd"], r"[EW]02[0-9]{6}", "MSOA codes")
    fail(source, problems + _blank_names(names, "msoa21hclnm", "msoa21cd"), SchemaError)
    return names


def _blank_names(table: pd.DataFrame, column: str, code: str) -> list[Problem]:
    """Names that are empty or only spaces: they would reach every output as a name."""
    names = table[column].astype("string")
    blank = names.isna() | names.str.strip().eq("").fillna(False)
    return column_rows(column, blank, "blank name(s)", table[code].astype("string"))


def _clean_file10_header(header: str) -> str:
    """MHCLG's summary xlsx headers -> the snake-case names of their published table conversion.

    Mirrors how the IMD R package's tables name them (e.g. "LSOAs" -> "lso_as",
    "%" -> "percent"), so both layouts of the same data meet in one set of names. File 10
    spells the year of extent and local concentration "IMD25", Files 13 and 14 "IMD 2025":
    both become ``imd25_``.
    """
    text = header.strip().replace("%", " percent")
    text = re.sub(r"([a-z])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return re.sub(r"_2025_", "25_", text)


def _name_column(code_column: str) -> str:
    """The name column that goes with a code column (``ltla24_code`` -> ``ltla24_name``)."""
    if code_column.endswith("cd"):
        return code_column.removesuffix("cd") + "nm"
    return code_column.replace("code", "name")


def published_columns(
    measures: Iterable[str] | None = None, *, optional: bool | None = None
) -> list[str]:
    """MHCLG's column names for the published measures (all, or only those ``measures``;
    only those of metrics every summary file gives, ``optional=False``, or of the others)."""
    measures = None if measures is None else list(measures)
    return [
        pm.published_column(m)
        for m in METRICS
        for pm in PUBLISHED_MEASURES
        if pm.applies_to(m)
        and (measures is None or pm.measure in measures)
        and (optional is None or m.optional == optional)
    ]


def without_trailing_empty_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The table without the empty rows at its end (Excel's "Save as CSV" may leave a row of
    bare commas), the same for every input; an empty row between filled ones is kept, for
    the checks to name. The others keep their index, so messages give the file's rows."""
    filled = table.notna()
    for column in table.select_dtypes(include=["object", "string"]).columns:
        text = table[column].astype("string").str.strip()
        filled[column] = text.ne("").fillna(False).to_numpy(dtype=bool)
    rows = np.flatnonzero(filled.any(axis=1).to_numpy())
    return table.iloc[: rows[-1] + 1 if len(rows) else 0]


def _given_optional(columns: pd.Index, measures: list[str] | None) -> list[str]:
    """The optional metrics' columns a summaries file must have: all of those ``measures``
    of each optional metric it gives any of (a partial IDACI sheet is a damaged file)."""
    wanted = []
    for m in METRICS:
        if not m.optional:
            continue
        own = [
            pm.published_column(m)
            for pm in PUBLISHED_MEASURES
            if pm.applies_to(m) and (measures is None or pm.measure in measures)
        ]
        if columns.isin(own).any():
            wanted += own
    return wanted


def read_summaries(path: Path | str, geography: Geography) -> pd.DataFrame:
    """Read one of MHCLG's summary files (File 10, 11, 13 or 14) as one row per area.

    Takes the official xlsx (one sheet per index, a Notes sheet first) or a one-table CSV
    conversion (``ltla24_code``/``icb24_code``/..., ``imd_average_score``, ...). Returns
    ``<key>cd``, ``<key>nm`` (when given) and MHCLG's snake-case measure names, those of
    the ``optional`` metrics (IDACI, IDAOPI) when the file gives them. A table of average
    scores only, named by our metric names (``education_average_score``), is read as just
    those: some copies of File 11 carry only its average scores.
    """
    path = Path(path)
    source = f"{geography.summary_file} summaries ({path})"
    code, name = geography.code, geography.name
    try:
        if path.suffix.lower() in {".xlsx", ".xls"}:
            table, header_of = _summary_sheets(path, geography, source)
        else:
            table, header_of = _summary_table(path, geography)
    except KeyError as exc:
        raise SchemaError(f"{source}: no {geography.summary_header!r} column") from exc
    except (OSError, ValueError, zipfile.BadZipFile) as exc:  # a truncated xlsx: BadZipFile
        raise SchemaError(f"{source}: cannot be read: {exc}") from exc
    table, header_of, measures, required = _with_scores_only(table, header_of)
    full = required + _given_optional(table.columns, measures)
    check_columns(table, [code, *full], source)
    _check_unique_codes(table[code], source)
    problems = []
    for column in full:
        values = pd.to_numeric(table[column], errors="coerce")
        problems += column_rows(
            header_of.get(column, column),
            values.isna(),
            "blank or non-numeric value(s)",
            table[code],
            table[column].astype("string").fillna("<blank>"),
        )
        table[column] = values
    fail(source, problems, SchemaError)
    return table[[c for c in (code, name) if c in table.columns] + full]


def _summary_sheets(
    path: Path, geography: Geography, source: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """MHCLG's xlsx (one sheet per index, a Notes sheet first) as one table, and the
    official header of each cleaned column name."""
    key = _clean_file10_header(geography.summary_header)
    sheets = pd.read_excel(path, sheet_name=None)
    header_of = {_clean_file10_header(str(c)): str(c) for s in sheets.values() for c in s.columns}
    cleaned = {
        sheet: without_trailing_empty_rows(s).rename(columns=lambda c: _clean_file10_header(str(c)))
        for sheet, s in sheets.items()
        if sheet.strip().lower() != "notes" and not s.dropna(how="all").empty  # a blank sheet
    }
    if not cleaned:
        raise SchemaError(f"{source}: has no sheet besides Notes (one sheet per index expected)")
    for sheet, s in cleaned.items():
        where = f"{source}, sheet {sheet!r}"
        if key not in s.columns:
            raise SchemaError(f"{where}: no {geography.summary_header!r} column")
        _check_unique_codes(s[key], where)
    frames = [s.set_index(key) for s in cleaned.values()]
    name = _name_column(key)
    names = next((f[name] for f in frames if name in f.columns), None)  # names are optional
    table = pd.concat([f.drop(columns=name, errors="ignore") for f in frames], axis=1)
    table = table.loc[:, ~table.columns.duplicated()]
    if names is not None:
        table.insert(0, geography.name, names)
    return table.rename_axis(geography.code).reset_index(), header_of


def _summary_table(path: Path, geography: Geography) -> tuple[pd.DataFrame, dict[str, str]]:
    """A one-table CSV conversion of a summaries file, its code column named ``<key>cd``,
    and the header of each cleaned column name."""
    table = pd.read_csv(path, keep_default_na=False)  # "n/a" is named, not a blank
    table = without_trailing_empty_rows(table)
    header_of = {_clean_file10_header(str(c)): str(c) for c in table.columns}
    table = table.rename(columns=lambda c: _clean_file10_header(str(c)))
    code = geography.code
    key = next((k for k in (code, *geography.summary_keys) if k in table.columns), code)
    return table.rename(columns={key: code, _name_column(key): geography.name}), header_of


def _with_scores_only(
    table: pd.DataFrame, header_of: dict[str, str]
) -> tuple[pd.DataFrame, dict[str, str], list[str] | None, list[str]]:
    """The table, its headers, the measures it must give (``None``: all) and the columns
    they need: a table with none of the other measures is read as average scores only,
    whose columns may carry our metric names (``education_average_score``)."""
    required = published_columns(optional=False)
    scores = published_columns(["average_score"], optional=False)
    if table.columns.isin([c for c in required if c not in scores]).any():
        return table, header_of, None, required
    ours = {
        f"{m.short}_average_score": f"{m.published}_average_score" for m in METRICS if m.published
    }
    table = table.rename(columns={k: v for k, v in ours.items() if v not in table.columns})
    return (
        table,
        header_of | {v: header_of.get(k, k) for k, v in ours.items()},
        ["average_score"],
        scores,
    )


def _check_unique_codes(codes: pd.Series, source: str) -> None:
    """A summaries file gives each area once; a repeated row would be compared twice."""
    text = codes.astype("string")
    duplicated = text.duplicated(keep=False)
    if duplicated.any():
        raise SchemaError(
            f"{source}: {text[duplicated].nunique()} duplicated area code(s): "
            + shown_rows(duplicated, text, limit=2 * MAX_ROWS)
        )


def read_lad_summaries(path: Path | str) -> pd.DataFrame:
    """Read MHCLG's File 10 (LAD summaries): :func:`read_summaries` for LADs (2024)."""
    return read_summaries(path, GEOGRAPHIES["lad24"])


def lookup_geographies() -> list[Geography]:
    """The geographies whose LSOA members come from the ``geographies`` lookup table."""
    return [g for g in GEOGRAPHIES.values() if g.members == "geographies"]


def geographies_source(path: Path | str) -> str:
    """How errors name a local geographies table."""
    return f"LSOA geographies lookup ({path})"


def _lower_header(path: Path | str, source: str) -> set[str]:
    """A CSV's column names in lower case, to pick the columns to read."""
    try:
        return {str(c).strip().lower() for c in pd.read_csv(path, nrows=0).columns}
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SchemaError(f"{source}: cannot be read as CSV: {exc}") from exc


def read_geographies(
    path: Path | str,
    *,
    with_lad: bool = False,
    geographies: Iterable[Geography] | None = None,
) -> pd.DataFrame:
    """Read the LSOA -> areas lookup table: ``lsoa21cd`` and a code/name pair per geography.

    The layout is ``LSOA21_geographies_EN_IoD2025.csv``'s: one row per LSOA, columns
    ``<key>cd, <key>nm`` for the geographies of ``data/geographies.toml`` built from it
    (a table may hold only some of them; other columns are ignored; LAD always comes from
    File 7). Checks codes, blanks, duplicate LSOAs and that each area code has one name,
    reporting every problem at once. ``geographies``: read (and check) only these ones'
    columns, those a build uses, so a gap in another column does not stop it (default:
    every geography the table has). ``with_lad`` also keeps the table's ``lad24cd`` (if it
    has one), for the build to check against File 7's.
    """
    source = geographies_source(path)
    header = _lower_header(path, source)
    among = lookup_geographies() if geographies is None else list(geographies)
    wanted = [g for g in among if g.code in header or g.name in header]
    if not wanted:
        expected = ", ".join(f"{g.code}/{g.name}" for g in among)
        raise SchemaError(f"{source}: has none of the geography columns {expected}")
    lad = ["lad24cd"] if with_lad and "lad24cd" in header else []
    columns = ["lsoa21cd", *[c for g in wanted for c in (g.code, g.name)], *lad]
    return check_geographies(_read_csv(path, source, columns), wanted, source)


def read_partner_codes(path: Path | str, geographies: Iterable[Geography]) -> pd.DataFrame:
    """``lsoa21cd`` and the code columns of ``geographies`` the table has, read only to check
    how built areas nest (``within``): a blank or malformed code is left blank (its row is not
    checked), as these geographies are not built and their columns are not otherwise checked.
    """
    source = geographies_source(path)
    header = _lower_header(path, source)
    have = [g for g in geographies if g.code in header]
    table = _read_csv(path, source, ["lsoa21cd", *(g.code for g in have)]).astype("string")
    for g in have:
        table[g.code] = table[g.code].where(table[g.code].str.fullmatch(g.code_pattern, na=False))
    return table


def check_geographies(
    table: pd.DataFrame, wanted: Iterable[Geography], source: str
) -> pd.DataFrame:
    """Check a geographies table (read or assembled): codes, blanks, duplicate LSOAs and one
    name per area code, reporting every problem at once; the table as strings."""
    if table.empty:
        raise SchemaError(f"{source}: has no rows; give the table with one row per LSOA")
    problems = check_codes(table["lsoa21cd"], LSOA_CODE_PATTERN, "LSOA codes")
    problems += [p for g in wanted for p in geography_problems(table, g)]
    fail(source, problems, SchemaError)
    return table.astype("string")


def geography_problems(table: pd.DataFrame, g: Geography) -> list[Problem]:
    """One geography's columns of a geographies table: codes well formed, names not blank,
    one name per code and (unless names are ``shared_names``) one code per name."""
    lsoas = table["lsoa21cd"].astype("string")
    codes = table[g.code].astype("string")
    bad = codes.isna() | ~codes.str.fullmatch(g.code_pattern, na=False)
    problems = column_rows(
        g.code, bad, f"missing or malformed code(s) (expected {g.code_pattern})", lsoas
    )
    blank = table[g.name].isna() | (table[g.name].astype("string").str.strip() == "")
    problems += column_rows(g.name, blank, "blank name(s)", lsoas)
    pairs = table[[g.code, g.name]].dropna(subset=g.code).drop_duplicates()  # blanks named above
    renamed = pairs[g.code].duplicated(keep=False)
    if renamed.any():
        problems.append(
            Problem(
                f"{pairs.loc[renamed, g.code].nunique()} {g.code} code(s) with "
                f"more than one {g.name}: {_names_of(table, g, pairs.loc[renamed, g.code])}"
            )
        )
    shared = pairs[g.name].duplicated(keep=False) & ~g.shared_names
    if shared.any():
        named = pairs[shared].sort_values([g.name, g.code])
        codes = named[g.code].astype("string").map(shown_code)
        by_name = codes.groupby(named[g.name], sort=False).agg(", ".join)
        shown = listed((f"{name!r} ({c})" for name, c in by_name.items()), 3)
        problems.append(Problem(f"{g.name} name(s) given to more than one {g.code}: {shown}"))
    return problems


def _names_of(table: pd.DataFrame, g: Geography, codes: pd.Series) -> str:
    """Each of ``codes`` with its names (quoted: a stray space shows) and, for each name,
    how many LSOAs carry it and the first of them, to find the rows by."""
    rows = table[table[g.code].isin(codes)]
    named = rows.groupby([g.code, g.name], sort=False)["lsoa21cd"].agg(["size", "first"])
    named = named.reset_index()
    text = named[g.name].map(repr) + " for " + named["size"].astype(str) + " LSOA(s) from "
    names = (text + named["first"].astype(str)).groupby(named[g.code], sort=False).agg(" vs ".join)
    return listed(names.index.map(shown_code) + " (" + names + ")", 3)


def read_ons_lookup(path: Path | str, name: str) -> pd.DataFrame:
    """Read one ONS lookup of ``[ons_lookups]``: its join field and the fields we keep.

    The join field must be filled and unique (one row per LSOA or local authority), so a
    lookup can never place one area in two; in a lookup whose rows repeat (``repeats``: one
    per local authority and partnership) identical rows of the fields we keep are one.
    """
    spec = ONS_LOOKUPS[name]
    source = f"ONS lookup {name} ({path})"
    table = _read_csv(path, source, [spec.on, *spec.columns])
    codes, problems = table[spec.on], []
    if spec.repeats:
        table = table.drop_duplicates()  # rows keep their numbers in the file, for errors
        area = next(iter(spec.columns))
        if (twice := table[spec.on].duplicated(keep=False)).any():
            problems.append(
                Problem(
                    f"{table.loc[twice, spec.on].nunique():,} {spec.on} code(s) in more than "
                    f"one {area}: " + shown_rows(twice, table[spec.on], values=table[area])
                )
            )
        codes = table.loc[~twice, spec.on]
    problems += check_codes(codes, ONS_CODE_PATTERN, f"{spec.on} codes")
    fail(source, problems, SchemaError)
    table = table.astype("string")
    table.attrs["path"] = str(path)  # for errors about the table assembled from it
    return table

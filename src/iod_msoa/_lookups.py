"""Assemble the LSOA geographies table from ONS lookups, when no local table is given.

ONS publishes each geography's lookup on its own: some place LSOAs (ICB, constituency,
ward), others whole local authorities (upper-tier authority, region). Each is joined to
File 7's LSOAs or LADs, so the table has exactly File 7's LSOAs and LAD always comes from
File 7 itself (the ONS ward lookup codes one LSOA, E01027305, differently).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pandas as pd

from ._errors import SchemaError, listed, shown_code
from ._geographies import CROSSWALKS, GEOGRAPHIES, ONS_LOOKUPS, Crosswalk, OnsLookup
from ._problems import Problem, fail
from ._readers import check_geographies, column_rows, is_in


def _split(inner: pd.Series, outer: pd.Series) -> pd.Series:
    """The ``inner`` area codes found in more than one ``outer`` area."""
    pairs = pd.concat([inner, outer], axis=1, keys=["inner", "outer"]).dropna().drop_duplicates()
    return pairs.loc[pairs["inner"].duplicated(keep=False), "inner"]


def lookups_source(lookups: Mapping[str, pd.DataFrame]) -> str:
    """How errors name the ONS lookups a table was assembled from: each with its file."""
    given = (f"{n}: {t.attrs['path']}" if "path" in t.attrs else n for n, t in lookups.items())
    return f"ONS lookups ({', '.join(given)})"


def assemble_geographies(
    lsoa: pd.DataFrame,
    lookups: Mapping[str, pd.DataFrame],
    crosswalks: Mapping[str, Crosswalk] = CROSSWALKS,
) -> pd.DataFrame:
    """One row per File 7 LSOA with ``<key>cd, <key>nm`` of every geography ``lookups`` give.

    ``lsoa`` holds File 7's ``lsoa21cd`` and ``lad24cd``; ``lookups`` maps names of
    ``[ons_lookups]`` (geographies.toml) to those tables with ONS's field names in lower
    case; a lookup that names a crosswalk is mapped through ``crosswalks`` (by default
    geographies.toml's). Every File 7 LSOA (or LAD) must be in each lookup once, no area code
    or name may be blank, and areas must nest as the table says; every problem is reported
    at once (nesting, ``within`` of geographies.toml, is checked by :func:`file7_problems`).
    """
    base = lsoa[["lsoa21cd", "lad24cd"]].astype("string").reset_index(drop=True)
    table = base[["lsoa21cd"]].copy()
    problems = []
    for name, lookup in lookups.items():
        spec = ONS_LOOKUPS[name]
        part = lookup[[spec.on, *spec.columns]].rename(
            columns={spec.on: spec.file7, **spec.columns}
        )
        part = part.astype("string")
        used = part[is_in(part[spec.file7], base[spec.file7])]
        if spec.repeats:
            used = used.drop_duplicates()
        if (twice := used[spec.file7].duplicated(keep=False)).any():
            problems.append(
                Problem(
                    f"{name} lists {spec.file7} more than once"
                    + (" in different areas" if spec.repeats else "")
                    + f": {_with_areas(used[twice], spec.file7)}"
                )
            )
            used = used.drop_duplicates(spec.file7)
        placed = base[[spec.file7]].merge(used, on=spec.file7, how="left")
        ours = list(spec.columns.values())
        if (absent := ~is_in(placed[spec.file7], used[spec.file7])).any():
            lost = placed.loc[absent, spec.file7]
            lsoas = f" ({absent.sum():,} LSOAs)" if spec.file7 != "lsoa21cd" else ""
            problems.append(
                Problem(
                    f"{name} lacks {lost.nunique():,} of File 7's {spec.file7} codes{lsoas} in its "
                    f"{spec.on} column: {listed(lost)}"
                )
            )
        filled = used[ours].apply(lambda c: c.str.strip().replace("", pd.NA))
        if (blank := filled.isna().all(axis=1)).any():
            rows = listed(
                f"row {i + 2} ({shown_code(c)})" for i, c in used.loc[blank, spec.file7].items()
            )
            problems.append(
                Problem(
                    f"{name} has a blank {'/'.join(spec.columns)} for {blank.sum():,} of File 7's "
                    f"{spec.file7} codes: {rows}"
                )
            )
        problems += _area_problems(name, used[~blank], spec)
        if spec.crosswalk:
            placed, ours = _through(
                placed, spec.file7, spec.crosswalk, crosswalks[spec.crosswalk], problems
            )
        table[ours] = placed[ours].to_numpy()
    wanted = [g for g in GEOGRAPHIES.values() if g.code in table.columns]
    source = f"LSOA geographies assembled from {lookups_source(lookups)}"
    problems += file7_problems(table, base)
    fail(source, problems, SchemaError)
    return check_geographies(table, wanted, source)


def _area_problems(name: str, used: pd.DataFrame, spec: OnsLookup) -> list[Problem]:
    """Malformed codes and blank names in the rows of a lookup that File 7 uses, named by
    the lookup's own columns and rows (the table assembled from it has other rows)."""
    field = {ours: ons for ons, ours in spec.columns.items()}
    problems = []
    for g in GEOGRAPHIES.values():
        if g.code in field:
            codes = used[g.code]
            problems += column_rows(
                field[g.code],
                ~codes.str.fullmatch(g.code_pattern, na=False),
                f"missing or malformed code(s) (expected {g.code_pattern})",
                used[spec.file7],
                codes.fillna("<blank>"),
            )
        if g.name in field:
            names = used[g.name]
            problems += column_rows(
                field[g.name],
                names.isna() | names.str.strip().eq("").fillna(False),
                "blank name(s)",
                used[spec.file7],
            )
    return [Problem(f"{name} {p}") for p in problems]


def _with_areas(rows: pd.DataFrame, key: str) -> str:
    """Codes of ``key`` listed with the areas (first other column) each row gives them."""
    area = rows.drop(columns=key).iloc[:, 0].fillna("<blank>").map(shown_code)
    areas = area.groupby(rows[key], sort=False).unique().map(", ".join)
    return listed(areas.index.map(shown_code) + " (" + areas + ")")


def _through(
    placed: pd.DataFrame,
    key: str,
    name: str,
    crosswalk: Crosswalk,
    problems: list[Problem],
) -> tuple[pd.DataFrame, list[str]]:
    """``placed`` (one row per ``key`` code) mapped through a crosswalk, adding to
    ``problems``, and the columns the crosswalk gives.

    The crosswalk must give the geography of its columns in the right codes and number of
    areas (only the codes it ``shares`` on purpose go to more than one of its rows), and
    hold every code ``placed`` needs mapping.
    """
    table = crosswalk.frame()
    gives = [c for c in table.columns if c != crosswalk.on]
    where = f"crosswalk {name} (geographies.toml)"
    for g in GEOGRAPHIES.values():
        if g.code not in gives:
            continue
        codes = table[g.code]
        if (bad := ~codes.str.fullmatch(g.code_pattern, na=False)).any():
            problems.append(
                Problem(
                    f"{where} has {g.code} codes that are not {g.code_pattern}: "
                    + _with_areas(table.loc[bad, [g.code, crosswalk.on]], g.code)
                )
            )
        if codes.nunique() != g.areas:
            shared = table[codes.duplicated(keep=False) & ~codes.isin(crosswalk.shares)]
            problems.append(
                Problem(
                    f"{where} gives {codes.nunique():,} {g.code} codes where England has "
                    f"{g.areas:,} {g.nouns} (codes given to more than one {crosswalk.on}: "
                    + (_with_areas(shared[[g.code, crosswalk.on]], g.code) or "none")
                    + ")"
                )
            )
    codes = placed[crosswalk.on]
    if (absent := codes.notna() & ~is_in(codes, table[crosswalk.on])).any():
        problems.append(
            Problem(
                f"{where} has no row for {codes[absent].nunique():,} {crosswalk.on} code(s) "
                f"(with the {key} codes in each): "
                + _with_areas(placed.loc[absent, [crosswalk.on, key]], crosswalk.on)
            )
        )
    return placed.merge(table, on=crosswalk.on, how="left"), gives


def _outside_main_area(area: pd.Series, group: pd.Series) -> pd.Series:
    """Positions of LSOAs not in the ``area`` most of their ``group``'s LSOAs are in (the
    group: a LAD, or a sub-ICB location that should lie in one ICB)."""
    pairs = pd.DataFrame({"area": area, "group": group}).dropna()
    counts = pairs.value_counts(["group", "area"], sort=True).reset_index()
    main = counts.drop_duplicates("group").set_index("group")["area"]
    return pairs.index[pairs["area"].to_numpy() != pairs["group"].map(main).to_numpy()]


def check_with_file7(table: pd.DataFrame, lsoa: pd.DataFrame, source: str) -> None:
    """Fail, naming ``source``, if a geographies table disagrees with File 7."""
    fail(source, file7_problems(table, lsoa), SchemaError)


def file7_problems(table: pd.DataFrame, lsoa: pd.DataFrame) -> list[Problem]:
    """How a geographies table (read or assembled) disagrees with File 7: the one place
    that checks it.

    Its LSOAs must be File 7's, its ``lad24cd`` (if any) File 7's LAD of each LSOA; areas
    that nest in a LAD must lie in one of File 7's LADs, areas made of whole LADs
    (``whole_lads``) must hold every LSOA of each of their LADs, and areas ``within`` another
    geography whose columns the table also has must lie in one of its areas, or the counts,
    populations and scores silently include the wrong LSOAs.
    """
    file7 = lsoa[["lsoa21cd", "lad24cd"]].astype("string").set_index("lsoa21cd")["lad24cd"]
    codes = table["lsoa21cd"].astype("string")
    problems = []
    if (unknown := ~is_in(codes, file7.index)).any():
        problems.append(
            Problem(
                f"{unknown.sum():,} LSOA code(s) not in File 7 (2021 LSOAs in England): "
                + listed(codes[unknown])
            )
        )
    if (absent := ~is_in(file7.index, codes)).any():
        problems.append(
            Problem(
                f"no row for {absent.sum():,} of File 7's LSOAs: "
                + listed(file7.index[absent].to_series())
            )
        )
    lad = codes.map(file7).reset_index(drop=True)
    if "lad24cd" in table.columns:
        given = table["lad24cd"].astype("string").reset_index(drop=True)
        if (other := (given != lad).fillna(False) | (given.isna() & lad.notna())).any():
            shown = listed(
                codes.reset_index(drop=True)[other]
                + " ("
                + given[other].fillna("<blank>")
                + ", File 7: "
                + lad[other]
                + ")"
            )
            problems.append(
                Problem(f"lad24cd differs from File 7's LAD for {other.sum():,} LSOA(s): {shown}")
            )
    for g in GEOGRAPHIES.values():
        if g.members != "geographies" or g.code not in table.columns:
            continue
        area = table[g.code].astype("string").reset_index(drop=True)
        if g.nests_in_lad and len(split := _split(area, lad)):
            problems.append(
                Problem(f"{g.code} areas in more than one of File 7's LADs: {listed(split)}")
            )
        if g.whole_lads and len(split := _split(lad, area)):
            odd = _outside_main_area(area, lad)
            problems.append(
                Problem(
                    f"{g.nouns} are whole local authorities, but {split.nunique():,} of File 7's "
                    f"LADs are split between {g.code} areas: {listed(split)} (LSOAs apart from the "
                    f"rest of their LAD: {listed(codes.reset_index(drop=True)[odd])})"
                )
            )
    return problems + within_problems(table)


def within_problems(table: pd.DataFrame, involving: Collection[str] | None = None) -> list[Problem]:
    """Areas of ``table`` in more than one area of a geography they lie ``within``
    (geographies.toml), for each such pair whose columns the table has (only pairs with a key
    of ``involving``, when given); a blank code leaves its row out."""
    codes = table["lsoa21cd"].astype("string").reset_index(drop=True)
    problems = []
    for g in (g for g in GEOGRAPHIES.values() if g.code in table.columns):
        area = table[g.code].astype("string").reset_index(drop=True)
        for outer in (GEOGRAPHIES[k] for k in g.within if GEOGRAPHIES[k].code in table.columns):
            if involving is not None and not {g.key, outer.key} & set(involving):
                continue
            around = table[outer.code].astype("string").reset_index(drop=True)
            if len(split := _split(area, around)):
                odd = _outside_main_area(around, area)
                problems.append(
                    Problem(
                        f"{g.code} areas in more than one {outer.code}: {listed(split)} ({g.nouns} "
                        f"lie within one {outer.noun} each; LSOAs apart from the rest of their "
                        f"{g.noun}: {listed(codes[odd])})"
                    )
                )
    return problems

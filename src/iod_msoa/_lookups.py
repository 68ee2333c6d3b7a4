"""Assemble the LSOA geographies table from ONS lookups, when no local table is given.

ONS publishes each geography's lookup on its own: some place LSOAs (ICB, constituency,
ward), others whole local authorities (upper-tier authority, region). Each is joined to
File 7's LSOAs or LADs, so the table has exactly File 7's LSOAs and LAD always comes from
File 7 itself (the ONS ward lookup codes one LSOA, E01027305, differently).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ._errors import SchemaError
from ._geographies import GEOGRAPHIES, ONS_LOOKUPS
from ._schema import check_geographies

MAX_SHOWN = 10


def _shown(codes: pd.Series) -> str:
    unique = pd.unique(codes.astype("string"))
    more = f" and {len(unique) - MAX_SHOWN} more" if len(unique) > MAX_SHOWN else ""
    return ", ".join(map(str, unique[:MAX_SHOWN])) + more


def _split(inner: pd.Series, outer: pd.Series) -> pd.Series:
    """The ``inner`` area codes found in more than one ``outer`` area."""
    pairs = pd.concat([inner, outer], axis=1, keys=["inner", "outer"]).dropna().drop_duplicates()
    return pairs.loc[pairs["inner"].duplicated(keep=False), "inner"]


def assemble_geographies(lsoa: pd.DataFrame, lookups: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per File 7 LSOA with ``<key>cd, <key>nm`` of every geography ``lookups`` give.

    ``lsoa`` holds File 7's ``lsoa21cd`` and ``lad24cd``; ``lookups`` maps names of
    ``[ons_lookups]`` (geographies.toml) to those tables with ONS's field names in lower
    case. Every File 7 LSOA (or LAD) must be in each lookup once, no area code or name may
    be blank, and areas must nest as the table says; every problem is reported at once.
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
        used = part[part[spec.file7].isin(base[spec.file7])]
        if (twice := used[spec.file7].duplicated(keep=False)).any():
            problems.append(
                f"{name} lists {spec.file7} more than once: {_shown(used.loc[twice, spec.file7])}"
            )
            used = used.drop_duplicates(spec.file7)
        placed = base[[spec.file7]].merge(used, on=spec.file7, how="left")
        ours = list(spec.columns.values())
        if (missing := placed[ours].isna().all(axis=1)).any():
            problems.append(
                f"{name} has no {spec.on} for {missing.sum():,} of File 7's {spec.file7} codes: "
                + _shown(placed.loc[missing, spec.file7])
            )
        table[ours] = placed[ours].to_numpy()
        for inner, outer in spec.nests.items():
            if len(split := _split(table[inner], table[outer])):
                problems.append(f"{name}: {inner} areas in more than one {outer}: {_shown(split)}")
    wanted = [g for g in GEOGRAPHIES.values() if g.code in table.columns]
    for g in wanted:
        if g.nests_in_lad and len(split := _split(table[g.code], base["lad24cd"])):
            problems.append(f"{g.code} areas in more than one of File 7's LADs: {_shown(split)}")
    source = f"LSOA geographies assembled from ONS lookups ({', '.join(lookups)})"
    if problems:
        raise SchemaError(f"{source}: " + "; ".join(problems))
    return check_geographies(table, wanted, source)

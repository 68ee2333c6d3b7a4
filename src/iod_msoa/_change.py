"""IoD2019 (2011 LSOAs) on 2021 geography, and how each area moved between editions.

ONS's exact-fit lookup says what became of each 2011 LSOA: unchanged (U), split into
several 2021 LSOAs (S), merged with others into one (M), or redrawn irregularly (X). An MSOA
(2021) is made of 2021 LSOAs; its 2019 values come from the 2011 LSOAs inside it:

- **whole**: a 2011 LSOA whose 2021 children all lie in one MSOA counts wholly in it (U and
  M always; S and X when the pieces stay together). An MSOA made only of whole 2011 LSOAs
  is *exact*: the engine gives it the same values as if MHCLG had published it.
- **apportioned**: a 2011 LSOA whose children lie in several MSOAs counts in each of them
  as a *piece* with its own scores and ranks, and its populations multiplied by the
  piece's share (:data:`SPLIT_RULE`, the one rule for every table: IoD2019 on 2021 MSOAs
  and the change table alike). Such MSOAs are flagged.

Rank-based comparisons (ranks and deciles among the 6,856 MSOAs) are what MHCLG calls
comparable between editions; scores are not (indicators and denominators changed). Pure:
tables in, tables out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._aggregate import aggregate
from ._editions import Edition
from ._errors import SchemaError, listed
from ._ranking import decile_from_rank, rank_most_deprived_first

CHANGE_CODES = {"U": "unchanged", "S": "split", "M": "merged", "X": "irregular"}
EXACT, APPORTIONED = "exact", "apportioned"
# MHCLG's IoD2025 release: "82% of the LSOAs in the most deprived decile in IMD2025 were also
# in the most deprived decile in IMD2019" (a whole percentage).
MHCLG_KEPT_PERCENT = 82
# How a 2011 LSOA split between areas is shared, said once for every dictionary: by where
# its people live now (the 2021 children's mid-2022 population, File 7 (2025)'s
# ``SPLIT_WEIGHT``), as no population of the children at mid-2015 is published.
SPLIT_RULE = "its 2021 LSOAs' share of its mid-2022 population"
SPLIT_WEIGHT = "pop_total"


def split_weights(later: pd.DataFrame) -> pd.Series:
    """The weight of each 2021 LSOA (by ``lsoa21cd``) in :data:`SPLIT_RULE`, from the
    IoD2025 File 7 (``read_file7``)."""
    return later.set_index("lsoa21cd")[SPLIT_WEIGHT]


def check_crosswalk(lookup: pd.DataFrame, source: str = "LSOA 2011 -> 2021 lookup") -> pd.DataFrame:
    """The lookup (``lsoa11cd, lsoa21cd, chgind``) as one row per pair, checked.

    Every change code is one of U, S, M, X and agrees with the rows: a U or S row's 2021
    LSOA has one parent, a U or M row's 2011 LSOA has one child. A lookup that breaks this
    is damaged, and apportioning by it would count people twice or not at all.
    """
    table = lookup[["lsoa11cd", "lsoa21cd", "chgind"]].astype("string").drop_duplicates()
    problems = []
    unknown = ~table["chgind"].isin(list(CHANGE_CODES))
    if unknown.any():
        problems.append(
            f"{unknown.sum()} row(s) with a change code other than U, S, M, X: "
            + listed(table.loc[unknown, "chgind"].fillna("<blank>"))
        )
    twice = table.duplicated(["lsoa11cd", "lsoa21cd"], keep=False)
    if twice.any():
        problems.append(
            f"{twice.sum()} row(s) give one pair two change codes: "
            + listed(table.loc[twice, "lsoa11cd"])
        )
    parents = table.groupby("lsoa21cd")["lsoa11cd"].transform("size")
    children = table.groupby("lsoa11cd")["lsoa21cd"].transform("size")
    one_parent = table["chgind"].isin(["U", "S"]) & (parents > 1)
    one_child = table["chgind"].isin(["U", "M"]) & (children > 1)
    for bad, what in ((one_parent, "parents"), (one_child, "children")):
        if bad.any():
            problems.append(
                f"{bad.sum()} row(s) coded {'/'.join(sorted(table.loc[bad, 'chgind'].unique()))} "
                f"whose LSOA has several {what}: " + listed(table.loc[bad, "lsoa11cd"])
            )
    if problems:
        raise SchemaError(f"{source}: " + "; ".join(problems))
    return table.sort_values(["lsoa11cd", "lsoa21cd"]).reset_index(drop=True)


def lsoa11_pieces(
    crosswalk: pd.DataFrame,
    lsoa21_areas: pd.DataFrame,
    weights: pd.Series,
    area: str = "msoa21cd",
) -> pd.DataFrame:
    """Each 2011 LSOA's piece in each area (``lsoa11cd, <area>, share``), shares summing to 1.

    ``lsoa21_areas`` places each 2021 LSOA (``lsoa21cd``) in an ``area``; ``weights`` (by
    2021 LSOA code: :func:`split_weights`) split a 2011 LSOA between areas as
    :data:`SPLIT_RULE` says. A child without an area or a weight is an error.
    """
    places = lsoa21_areas.drop_duplicates("lsoa21cd").set_index("lsoa21cd")[area]
    pairs = crosswalk[["lsoa11cd", "lsoa21cd"]].copy()
    pairs[area] = pairs["lsoa21cd"].map(places)
    child_weight = pairs["lsoa21cd"].map(weights).astype("float64")
    for missing, what in ((pairs[area].isna(), f"no {area}"), (child_weight.isna(), "no weight")):
        if missing.any():
            raise SchemaError(
                f"{missing.sum()} LSOA(s) 2021 of the lookup have {what}: "
                + listed(pairs.loc[missing, "lsoa21cd"])
            )
    # A merged child belongs to several parents: each parent's part of it weighs the child's
    # weight over its number of parents, so a parent's shares still sum to 1.
    parents = pairs.groupby("lsoa21cd")["lsoa11cd"].transform("size")
    pairs["w"] = child_weight / parents
    pieces = pairs.groupby(["lsoa11cd", area], as_index=False, sort=True)["w"].sum()
    total = pieces.groupby("lsoa11cd")["w"].transform("sum")
    pieces["share"] = np.where(total > 0, pieces["w"] / total.where(total > 0, 1.0), 0.0)
    return pieces[["lsoa11cd", area, "share"]]


def comparability(pieces: pd.DataFrame, area: str = "msoa21cd") -> pd.Series:
    """Per area: ``exact`` when every 2011 LSOA in it lies wholly inside, else ``apportioned``."""
    whole = pieces.assign(whole=np.isclose(pieces["share"], 1.0)).groupby(area)["whole"].all()
    return whole.map({True: EXACT, False: APPORTIONED}).rename("comparability")


def apportion(
    lsoa: pd.DataFrame,
    pieces: pd.DataFrame,
    populations: Sequence[str],
    area: str = "msoa21cd",
) -> pd.DataFrame:
    """One row per piece: the 2011 LSOA's values (scores, ranks, deciles unchanged) with its
    ``populations`` times the piece's share, and the piece's ``area``; ``piece`` names it
    (``<lsoa11cd>/<area code>``) so the engine can take it as an LSOA."""
    joined = pieces.merge(lsoa, on="lsoa11cd", how="left", indicator=True)
    missing = joined["_merge"] != "both"
    if missing.any():
        raise SchemaError(
            f"{joined.loc[missing, 'lsoa11cd'].nunique()} LSOA(s) 2011 of the lookup are not "
            "in File 7 (2019): " + listed(joined.loc[missing, "lsoa11cd"])
        )
    joined = joined.drop(columns="_merge")
    joined[list(populations)] = joined[list(populations)].mul(joined["share"], axis=0)
    joined.insert(0, "piece", joined["lsoa11cd"] + "/" + joined[area])
    return joined


def lsoa21_ranks(
    crosswalk: pd.DataFrame, lsoa: pd.DataFrame, rank: str, weight: str, n_national: int
) -> pd.DataFrame:
    """A 2019 rank and decile for each 2021 LSOA (``lsoa21cd, rank, decile``).

    A child of one parent (U, S, single-parent X) takes its parent's rank. A child of
    several (M, multi-parent X) takes the ``weight``-weighted mean of its parents' ranks
    (their mid-2015 population: the people the merged LSOA holds). The decile is MHCLG's,
    ``ceil(10 x rank / n_national)``, so it equals the parent's for every single parent.
    """
    joined = crosswalk.merge(lsoa[["lsoa11cd", rank, weight]], on="lsoa11cd", how="left")
    joined["rw"] = joined[rank] * joined[weight]
    sums = joined.groupby("lsoa21cd")[["rw", weight]].sum()
    single = joined.groupby("lsoa21cd")[rank].agg(["first", "size"])
    mean = sums["rw"] / sums[weight].where(sums[weight] > 0)
    ranks = single["first"].where(single["size"] == 1, mean).astype("float64")
    return pd.DataFrame(
        {
            "lsoa21cd": ranks.index,
            "rank": ranks.to_numpy(),
            "decile": np.ceil(10 * ranks.to_numpy() / n_national).astype("int64"),
        }
    )


def still_in_decile(before: pd.Series, after: pd.Series, decile: int = 1) -> tuple[int, int]:
    """Of the areas in ``decile`` after, how many were in it before (both by area code):
    MHCLG's "82% of the LSOAs in the most deprived decile in 2025 were in it in 2019"."""
    now = after.index[after == decile]
    was = before.reindex(now) == decile
    return int(was.sum()), len(now)


@dataclass(frozen=True)
class DecileKept:
    """Of the ``of`` LSOAs (2021) in a decile now, ``kept`` were in it in the earlier edition."""

    kept: int
    of: int
    published_percent: int = MHCLG_KEPT_PERCENT

    @property
    def percent(self) -> float:
        return 100 * self.kept / self.of

    @property
    def agrees(self) -> bool:
        """Whether ours, rounded to a whole percentage as MHCLG states it, is MHCLG's."""
        return int(np.floor(self.percent + 0.5)) == self.published_percent


def lsoas_kept(
    crosswalk: pd.DataFrame,
    earlier: pd.DataFrame,
    later_deciles: pd.Series,
    n_national: int,
    weight: str = "pop_total",
) -> DecileKept:
    """MHCLG's comparison at LSOA level: the 2021 LSOAs in the IMD's most deprived decile
    (``later_deciles``, by ``lsoa21cd``) that were in it before, each 2021 LSOA given its
    2011 parents' IMD rank as :func:`lsoa21_ranks` states (merged: ``weight``-weighted mean)."""
    ranks = lsoa21_ranks(crosswalk, earlier, "imd_rank", weight, n_national)
    return DecileKept(*still_in_decile(ranks.set_index("lsoa21cd")["decile"], later_deciles))


def earlier_on_areas(
    lsoa: pd.DataFrame, pieces: pd.DataFrame, edition: Edition, area: str = "msoa21cd"
) -> pd.DataFrame:
    """The engine's table of an earlier ``edition`` on 2021 ``area``s, as its own build
    makes it: each 2011 LSOA counts through its pieces (:func:`apportion`), its national
    ranks kept (a split LSOA counted once in its tie group)."""
    shorts = [d.short for d in edition.denominators]
    pieced = apportion(lsoa, pieces, shorts, area)
    return aggregate(
        pieced,
        pieced[["piece", area]],
        area=area,
        n_national=edition.expected_lsoas,
        edition=edition,
        key="piece",
    )


def _positions(table: pd.DataFrame, short: str, by_score: bool) -> tuple[pd.Series, pd.Series]:
    """Rank and decile of each area among those in ``table``: the engine's own (rank of the
    average score) when ``by_score``, else the rank of the average rank."""
    if by_score:
        return table[f"{short}_rank"], table[f"{short}_decile"]
    ranks = rank_most_deprived_first(table[f"{short}_average_rank"])
    return pd.Series(ranks, index=table.index), pd.Series(
        decile_from_rank(ranks), index=table.index
    )


def change_table(
    earlier: pd.DataFrame,
    later: pd.DataFrame,
    flags: pd.Series,
    metrics: Sequence[str],
    by_score: Sequence[str],
    area: str = "msoa21cd",
    years: tuple[int, int] = (2019, 2025),
) -> pd.DataFrame:
    """Per area: each metric's rank and decile in both editions and the change, with the
    area's comparability flag.

    ``earlier``/``later`` are the engine's tables for the same areas. Metrics in
    ``by_score`` are placed by the engine's rank of their average score (IMD score,
    income and employment rates); the others by the rank of their average rank, which
    rests on ranks alone. ``rank_change`` is later minus earlier: negative means the area
    moved towards the most deprived. The two tables must hold the same areas.
    """
    one, two = earlier.set_index(area).sort_index(), later.set_index(area).sort_index()
    if not one.index.equals(two.index):
        only = one.index.symmetric_difference(two.index)
        raise SchemaError(f"the two editions cover different areas: {listed(only)}")
    out = pd.DataFrame(index=one.index)
    out["comparability"] = flags.reindex(one.index)
    y1, y2 = (str(y)[-2:] for y in years)
    for short in metrics:
        score = short in by_score
        r1, d1 = _positions(one, short, score)
        r2, d2 = _positions(two, short, score)
        out[f"{short}_rank_{y1}"], out[f"{short}_decile_{y1}"] = r1, d1
        out[f"{short}_rank_{y2}"], out[f"{short}_decile_{y2}"] = r2, d2
        out[f"{short}_rank_change"] = r2.astype("Int64") - r1.astype("Int64")
        out[f"{short}_decile_change"] = d2.astype("Int64") - d1.astype("Int64")
    return out.reset_index()

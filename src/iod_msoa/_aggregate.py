"""LSOA -> any larger area: population-weighted scores, ranks, deciles and summaries.

One engine for every geography: MSOAs for the product, LADs to prove it against MHCLG's
own local-authority summaries. Pure: tables in, table out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _measures as measures
from ._editions import DEFAULT_EDITION, EDITIONS, Edition
from ._errors import SchemaError, UnmatchedAreaError, ZeroPopulationError, listed
from ._ranking import decile_from_rank, rank_most_deprived_first, ranks_within
from ._ties import summary_ranks
from ._vocab import Metric

PER_METRIC_MEASURES = ("score", "rank", "decile", "average_rank", "proportion_most_deprived_10")


DEFAULT = EDITIONS[DEFAULT_EDITION]


def area_columns(area: str, edition: Edition = DEFAULT) -> list[str]:
    """Columns of :func:`aggregate`'s result, in order."""
    metrics = edition.engine_metrics
    per_metric = [f"{m.short}_{s}" for m in metrics for s in PER_METRIC_MEASURES]
    extra = [
        f"{m.short}_{s}" for m in metrics for s in ("extent", "local_concentration") if m.extent
    ]
    extra += [f"{m.short}_scale" for m in metrics if m.scale]
    shorts = [d.short for d in edition.denominators]
    return [area, "n_lsoa", *shorts, *per_metric, *extra]


def assign_areas(
    lsoa_codes: pd.Series,
    lookup: pd.DataFrame,
    area: str,
    *,
    allow_unmatched: bool = False,
    key: str = "lsoa21cd",
) -> pd.Series:
    """The area code of each LSOA (``key`` names it); fails (listing them) if any LSOA has
    no area."""
    codes = lookup.drop_duplicates([key, area])
    split = codes[key].duplicated(keep=False)
    if split.any():
        shown = ", ".join(codes.loc[split, key].unique()[:5])
        raise UnmatchedAreaError(f"lookup puts LSOAs in more than one {area}: {shown}")
    position = pd.Index(codes[key]).get_indexer(lsoa_codes)
    area_codes = pd.Series(
        codes[area].to_numpy()[position], index=lsoa_codes.index, name=area, dtype="string"
    ).where(position >= 0)
    unmatched = area_codes.isna()
    if unmatched.any() and not allow_unmatched:
        raise UnmatchedAreaError(
            f"{unmatched.sum()} LSOA(s) have no {area} in the lookup: "
            f"{listed(lsoa_codes[unmatched])}. "
            "Check that the lookup is the 2021 LSOA lookup for England and Wales."
        )
    return area_codes


def aggregate(
    lsoa: pd.DataFrame,
    lookup: pd.DataFrame,
    *,
    area: str = "msoa21cd",
    n_national: int | None = None,
    allow_unmatched: bool = False,
    allow_zero_population: bool = False,
    edition: Edition = DEFAULT,
    key: str | None = None,
) -> pd.DataFrame:
    """Aggregate the LSOA table (from ``read_file7``) to the areas in ``lookup``.

    ``lookup`` has the LSOA ``key`` (default: the ``edition``'s, ``lsoa21cd`` for 2025) and
    an ``area`` column; ``key`` may name pieces of LSOAs instead (``_change.apportion``).
    The ``edition`` gives the metrics, their weights, the populations and the rule for tied
    ranks in the average rank and local concentration (``_ties``). ``n_national`` is the number of
    LSOAs that the national ranks run over (default: ``len(lsoa)``, right for the whole of
    File 7). Returns one row per area, sorted by code, with the columns of
    :func:`area_columns`.

    Part of File 7 (London only, say) keeps its national ranks and deciles, and the method
    is defined on them: the average rank, extent and local concentration weigh each LSOA by
    where it stands among all of England's, and the proportion in the most deprived 10%
    counts national decile 1. So a part is aggregated as it is, with the national count
    given as ``n_national``. Without it, a table whose ranks run beyond its rows, or whose
    deciles are not those of its rows, is a part taken for the whole and is refused (with
    it, a rank beyond it is): re-ranking the part would answer another question, and
    counting it as England gives wrong numbers (average ranks below zero).
    LSOAs in no area (``allow_unmatched``) are simply left out, so a table of one's own
    areas over the whole of File 7 needs nothing more.

    LSOAs are summed in code order, so the result does not depend on the input's row order
    (floating-point sums do). An area with no people in a weighting population has no
    score: an error, unless ``allow_zero_population`` (then its score is NaN, unranked).
    """
    metrics = edition.engine_metrics
    key = key or edition.lsoa_key
    _check_national(lsoa, n_national, metrics, edition.expected_lsoas)
    n_national = len(lsoa) if n_national is None else n_national
    lsoa = lsoa.sort_values(key, kind="stable")
    area_codes = assign_areas(lsoa[key], lookup, area, allow_unmatched=allow_unmatched, key=key)
    # tie groups count LSOAs over the whole table, before those in no area are left out;
    # a table of one row per LSOA (File 7 itself) has nothing to count twice
    lsoas = lsoa[edition.lsoa_key]
    lsoas = None if lsoas.is_unique else lsoas.to_numpy()
    tied = {
        m.short: summary_ranks(lsoa[f"{m.short}_rank"], edition.summary_ranks, lsoas)[
            area_codes.notna().to_numpy()
        ]
        for m in metrics
    }
    lsoa = lsoa[area_codes.notna()]
    groups, areas = pd.factorize(area_codes.dropna(), sort=True)
    n = len(areas)

    def col(name: str) -> np.ndarray:
        return lsoa[name].to_numpy(dtype="float64")

    out: dict[str, object] = {
        area: areas.astype(str),
        "n_lsoa": np.bincount(groups, minlength=n),
    }
    for d in edition.denominators:
        out[d.short] = measures._sum(col(d.short), groups, n)
    if not allow_zero_population:
        _check_populations(out, areas, area, metrics, edition)
    scores = {}
    for m in metrics:
        weights = col(m.denominator)
        ranks = col(f"{m.short}_rank")
        scores[m.short] = measures.weighted_mean(col(f"{m.short}_score"), weights, groups, n)
        out[f"{m.short}_average_rank"] = measures.average_rank(
            tied[m.short], weights, groups, n, n_national
        )
        out[f"{m.short}_proportion_most_deprived_10"] = measures.proportion_most_deprived_10(
            col(f"{m.short}_decile"), groups, n
        )
        if m.extent:
            out[f"{m.short}_extent"] = measures.extent(ranks, weights, groups, n, n_national)
            out[f"{m.short}_local_concentration"] = measures.local_concentration(
                tied[m.short], weights, groups, n, n_national
            )
        if m.scale:
            out[f"{m.short}_scale"] = measures.scale(col(f"{m.short}_score"), weights, groups, n)

    for m in metrics:
        ranks = rank_most_deprived_first(scores[m.short])
        out[f"{m.short}_score"] = scores[m.short]
        out[f"{m.short}_rank"] = ranks
        out[f"{m.short}_decile"] = decile_from_rank(ranks)
    table = pd.DataFrame(out)
    whole = [d.short for d in edition.denominators if d.whole]  # quarter values stay
    table[whole] = table[whole].round().astype("int64")
    return table[area_columns(area, edition)]


def _check_national(
    lsoa: pd.DataFrame, n_national: int | None, metrics: tuple[Metric, ...], in_england: int
) -> None:
    """Fail if the ranks are not those of ``n_national`` LSOAs (a rank beyond it) or, with
    ``n_national`` not given, its deciles are not those of the table's rows: part of File 7
    taken for all of it (the most deprived 10% ranks 1 to 3,375, all in decile 1)."""
    n = len(lsoa) if n_national is None else n_national
    ranks = lsoa[[f"{m.short}_rank" for m in metrics]].to_numpy(dtype="float64", na_value=np.nan)
    top = np.nanmax(ranks, initial=0)
    off = 0
    if n_national is None:
        deciles = lsoa[[f"{m.short}_decile" for m in metrics]].to_numpy(
            dtype="float64", na_value=np.nan
        )
        off = int(((deciles != np.ceil(ranks * 10 / n)) & ~np.isnan(ranks)).sum())
    if top > n:
        found = f"ranks up to {top:,.0f}"
    elif off:
        found = f"{off:,} decile(s) that are not ceil(rank x 10 / n)"
    else:
        return
    given = f"n_national = {n:,}" if n_national is not None else f"n = its {n:,} rows"
    raise SchemaError(
        f"aggregate: the LSOA table has {found} with {given}: File 7's ranks and deciles "
        "are national, so part of it needs n_national, the number of LSOAs they rank "
        f"({in_england:,} in England)"
    )


def _check_populations(
    out: dict[str, object],
    areas: pd.Index,
    area: str,
    metrics: tuple[Metric, ...],
    edition: Edition,
) -> None:
    """Fail naming every area that has nobody in a population some metric is weighted by."""
    weights = [d for d in edition.denominators if any(m.denominator == d.short for m in metrics)]
    zero = {d.label: np.asarray(out[d.short]) <= 0 for d in weights}
    empty = np.logical_or.reduce(list(zero.values()))
    if empty.any():
        which = "; ".join(label for label, z in zero.items() if z.any())
        raise ZeroPopulationError(
            f"{empty.sum()} {area} area(s) have nobody in a population their scores are "
            f"weighted by ({which}): {listed(areas[empty])}. No real area has nobody: check "
            "File 7's population columns and the lookup."
        )


def with_ranks_within(table: pd.DataFrame, parents: pd.Series, within: str) -> pd.DataFrame:
    """``table`` with each metric's rank and decile among the areas of the same parent
    (``parents``: each row's parent code, aligned with ``table``), as
    ``<metric>_rank_in_<within>`` and ``<metric>_decile_in_<within>`` after its decile.

    Local detail where national deciles are skewed: a district's own most deprived areas.
    """
    shorts = [c.removesuffix("_score") for c in table.columns if c.endswith("_score")]
    scores = pd.DataFrame({m: table[f"{m}_score"].to_numpy() for m in shorts})
    ranked = ranks_within(scores, pd.Series(parents.to_numpy()))
    ranked.columns = [f"{m}_{s}_in_{within}" for m in shorts for s in ("rank", "decile")]
    ranked.index = table.index
    placed = {f"{m}_decile": [f"{m}_{s}_in_{within}" for s in ("rank", "decile")] for m in shorts}
    order = [n for c in table.columns for n in (c, *placed.get(c, ()))]
    return pd.concat([table, ranked], axis=1)[order]

"""Ranks and deciles among the areas being compared (1 = most deprived)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

# Fewer ranked areas than this get no deciles: with n < 10, ceil(rank * 10 / n) never gives
# decile 1 (9 areas: rank 1 -> decile 2), so "decile 1 = most deprived 10%" would be false.
MIN_AREAS_FOR_DECILES = 10


def rank_most_deprived_first(scores: ArrayLike) -> pd.arrays.IntegerArray:
    """Rank so the highest score is 1; ties share the lowest rank (1, 2, 2, 4).

    Areas with no score (NaN: no population in the denominator) get no rank.
    """
    x = np.asarray(scores, dtype="float64")
    valid = ~np.isnan(x)
    descending = np.sort(-x[valid])
    # How many valid scores are strictly higher, plus one: the "min" rank of each score.
    ranks = np.searchsorted(descending, -x, side="left") + 1
    return pd.arrays.IntegerArray(ranks.astype("int64"), ~valid)


def deciles_given(n_ranked: int) -> bool:
    """Whether ``n_ranked`` areas are enough for deciles in which rank 1 is decile 1."""
    return n_ranked >= MIN_AREAS_FOR_DECILES


def decile_from_rank(ranks: pd.arrays.IntegerArray) -> pd.arrays.IntegerArray:
    """Decile 1 = the most deprived 10%: ``ceil(rank * 10 / n)`` with ``n`` ranked areas.

    Uses the rank, not ``qcut`` on scores, so tied areas always share a decile and the
    deciles follow MHCLG's definition for LSOAs. With fewer than
    :data:`MIN_AREAS_FOR_DECILES` ranked areas every decile is missing: use the rank.
    """
    n = int((~ranks.isna()).sum())
    missing = np.asarray(ranks.isna()) | (not deciles_given(n))
    values = np.asarray(ranks.to_numpy(dtype="float64", na_value=np.nan))
    deciles = np.ceil(np.where(missing, 1, values) * 10 / max(n, 1)).astype("int64")
    return pd.arrays.IntegerArray(deciles, missing)


def ranks_within(scores: pd.DataFrame, parents: pd.Series) -> pd.DataFrame:
    """Each score column's rank and decile among the areas of the same parent.

    ``scores`` has one column per metric; ``parents`` (aligned with it) each area's parent
    code. Ranks follow :func:`rank_most_deprived_first` within each parent (highest score
    1, ties share the lowest rank, no score or no parent no rank); deciles follow
    :func:`decile_from_rank` with the parent's ranked areas, so a parent with fewer than
    :data:`MIN_AREAS_FOR_DECILES` of them gives none. Columns ``<col>_rank`` and
    ``<col>_decile`` for each column, in its order.
    """
    grouped = scores.groupby(parents.to_numpy(), sort=False)
    ranks = grouped.rank(method="min", ascending=False)
    ranked = grouped.transform("count").where(ranks.notna())
    deciles = np.ceil(ranks * 10 / ranked).where(ranked >= MIN_AREAS_FOR_DECILES)
    out = pd.concat(
        [ranks.astype("Int64").add_suffix("_rank"), deciles.astype("Int64").add_suffix("_decile")],
        axis=1,
    )
    return out[[f"{c}_{s}" for c in scores.columns for s in ("rank", "decile")]]

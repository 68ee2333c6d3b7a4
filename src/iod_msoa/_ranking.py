"""Ranks and deciles among the areas being compared (1 = most deprived)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def rank_most_deprived_first(scores: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Rank so the highest score is 1; ties share the lowest rank (1, 2, 2, 4).

    Areas with no score (no population in the denominator) get no rank.
    """
    return scores.rank(method="min", ascending=False, na_option="keep").astype("Int64")


def decile_from_rank(ranks: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Decile 1 = the most deprived 10%: ``ceil(rank * 10 / n)`` with ``n`` ranked areas.

    Uses the rank, not ``qcut`` on scores, so tied areas always share a decile and the
    deciles follow MHCLG's definition for LSOAs.
    """
    n = ranks.count()
    deciles = np.ceil(ranks.astype("float64") * 10 / n)
    return deciles.astype("Int64")

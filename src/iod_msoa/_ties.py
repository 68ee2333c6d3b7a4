"""Tied national ranks as MHCLG's summaries use them.

File 7 gives tied LSOAs the lowest rank of their group (1, 2, 2, 4); File 10 (2019)
averages the mean rank of each tie group instead (1, 2.5, 2.5, 4), which its average
ranks and local concentrations reproduce and the published ranks do not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

PUBLISHED, MEAN = "published", "mean"


def mean_rank_of_ties(ranks: ArrayLike, lsoas: ArrayLike | None = None) -> NDArray[np.float64]:
    """Each rank replaced by the mean rank of its tie group: ``rank + (size - 1) / 2``.

    Needs every LSOA of the nation (a group's size is counted here), given "min" ranks.
    ``lsoas`` names each row's LSOA where one LSOA has several rows (pieces of a 2011 LSOA
    split between areas): a tie group counts LSOAs, not rows.
    """
    r = np.asarray(ranks, dtype="float64")
    once = r if lsoas is None else r[~pd.Index(np.asarray(lsoas)).duplicated()]
    return r + (_group_sizes(once, r) - 1) / 2


def _group_sizes(once: NDArray[np.float64], ranks: NDArray[np.float64]) -> NDArray[np.int64]:
    """How many of ``once`` have each of ``ranks``. Whole ranks from 0 to a few times their
    count (File 7's run 1..n) are counted by value, without sorting; any others by sorting."""
    top = once.max(initial=0)
    if (
        np.isfinite(top)
        and top <= _COUNTED_BY_VALUE * len(once)
        and (once >= 0).all()
        and (once % 1 == 0).all()
    ):
        return np.bincount(once.astype(np.int64))[ranks.astype(np.int64)]
    values, counts = np.unique(once, return_counts=True)
    return counts[np.searchsorted(values, ranks)]


# Counted by value while the largest rank is at most this many times the ranks counted (a
# part of File 7 keeps England's ranks); beyond it sorting takes less memory.
_COUNTED_BY_VALUE = 16


def summary_ranks(
    ranks: ArrayLike, rule: str, lsoas: ArrayLike | None = None
) -> NDArray[np.float64]:
    """The ranks an edition's summaries average: File 7's as given, or tie-averaged."""
    if rule == MEAN:
        return mean_rank_of_ties(ranks, lsoas)
    if rule == PUBLISHED:
        return np.asarray(ranks, dtype="float64")
    raise ValueError(f"unknown tie rule {rule!r}: expected {PUBLISHED!r} or {MEAN!r}")

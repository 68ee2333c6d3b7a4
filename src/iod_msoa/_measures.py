"""MHCLG's summary measures for areas built from LSOAs, as pure vectorised functions.

Each function takes per-LSOA arrays plus ``groups`` (the area number of each LSOA,
0..n_areas-1) and returns one value per area. Definitions follow the IoD Technical
Report (section 3.8 and Appendix N): ranks are national LSOA ranks (1 = most deprived)
and ``n_national`` is the number of LSOAs in England.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

MOST_DEPRIVED_SHARE = 0.10  # local concentration: the most deprived LSOAs holding 10% of people


def _sum(values: ArrayLike, groups: NDArray[np.intp], n_areas: int) -> Array:
    return np.bincount(groups, weights=np.asarray(values, dtype="float64"), minlength=n_areas)


def _ratio(num: Array, den: Array) -> Array:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_mean(
    values: ArrayLike, weights: ArrayLike, groups: NDArray[np.intp], n_areas: int
) -> Array:
    """Population-weighted mean per area; NaN where an area's weights sum to zero."""
    v = np.asarray(values, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    return _ratio(_sum(v * w, groups, n_areas), _sum(w, groups, n_areas))


def reversed_rank(ranks: ArrayLike, n_national: int) -> Array:
    """MHCLG reports rank-based summaries with higher = more deprived: ``N + 1 - rank``."""
    return n_national + 1 - np.asarray(ranks, dtype="float64")


def average_rank(
    ranks: ArrayLike, weights: ArrayLike, groups: NDArray[np.intp], n_areas: int, n_national: int
) -> Array:
    """Population-weighted mean of the LSOAs' reversed national ranks."""
    return weighted_mean(reversed_rank(ranks, n_national), weights, groups, n_areas)


def proportion_most_deprived_10(
    deciles: ArrayLike, groups: NDArray[np.intp], n_areas: int
) -> Array:
    """Share of an area's LSOAs (by count, not people) in the national most deprived decile."""
    in_first = (np.asarray(deciles) == 1).astype("float64")
    return _ratio(_sum(in_first, groups, n_areas), _sum(np.ones_like(in_first), groups, n_areas))


def extent_weight(ranks: ArrayLike, n_national: int) -> Array:
    """Extent's weight for each LSOA by its national percentile (1 = most deprived 1%).

    Percentiles 1-10 weigh 1; 11 to 30 slide linearly from 0.95 down to 0.05; the rest 0.
    """
    pct = np.ceil(np.asarray(ranks, dtype="float64") * 100 / n_national)
    sliding = 0.95 - (pct - 11) * (0.90 / 19)
    return np.where(pct <= 10, 1.0, np.where(pct <= 30, sliding, 0.0))


def extent(
    ranks: ArrayLike, population: ArrayLike, groups: NDArray[np.intp], n_areas: int, n_national: int
) -> Array:
    """Weighted share of an area's population living in the nationally most deprived 30%."""
    return weighted_mean(extent_weight(ranks, n_national), population, groups, n_areas)


def local_concentration(
    ranks: ArrayLike, population: ArrayLike, groups: NDArray[np.intp], n_areas: int, n_national: int
) -> Array:
    """Weighted mean reversed rank of the most deprived LSOAs holding 10% of the area's people.

    LSOAs are taken most deprived first until exactly 10% of the area's population is
    reached; the LSOA that crosses the line counts only for the people needed to reach it.
    """
    r = np.asarray(ranks, dtype="float64")
    pop = np.asarray(population, dtype="float64")
    order = np.lexsort((r, groups))
    g, p = groups[order], pop[order]
    totals = _sum(p, g, n_areas)
    area_start = np.cumsum(totals) - totals
    before = np.cumsum(p) - p - area_start[g]
    counted = np.clip(MOST_DEPRIVED_SHARE * totals[g] - before, 0.0, p)
    return weighted_mean(reversed_rank(r[order], n_national), counted, g, n_areas)


def scale(
    rates: ArrayLike, denominators: ArrayLike, groups: NDArray[np.intp], n_areas: int
) -> Array:
    """Estimated number of people deprived: the sum of rate x denominator over the LSOAs.

    MHCLG sums the unrounded numerators; File 7's rates are rounded to 3 decimals, so this
    estimate differs slightly from the published scale.
    """
    return _sum(np.asarray(rates, dtype="float64") * np.asarray(denominators), groups, n_areas)

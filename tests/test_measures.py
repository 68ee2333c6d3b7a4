"""MHCLG's summary measures, checked against values worked out by hand (N = 100 unless said).

Reversed rank = N + 1 - rank, so with N = 100 rank 5 is 96. Every expected value is a literal
with its arithmetic alongside.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from iod_msoa._measures import (
    average_rank,
    extent,
    extent_weight,
    local_concentration,
    proportion_most_deprived_10,
    scale,
    weighted_mean,
)

N = 100
# Two areas: area 0 has three LSOAs, area 1 two (listed out of group order on purpose).
GROUPS = np.array([0, 1, 0, 1, 0])
SCORES = np.array([10.0, 30.0, 20.0, 50.0, 40.0])
TOTAL = np.array([100.0, 200.0, 300.0, 200.0, 600.0])
CHILDREN = np.array([10.0, 0.0, 0.0, 0.0, 30.0])
RANKS = np.array([1, 10, 50, 91, 100])


# --- weighted mean (average score) ----------------------------------------------------------


def test_weighted_mean_by_total_population():
    result = weighted_mean(SCORES, TOTAL, GROUPS, 2)
    # area 0: (10*100 + 20*300 + 40*600) / 1000 = 31000 / 1000 = 31.0
    # area 1: (30*200 + 50*200) / 400 = 16000 / 400 = 40.0
    np.testing.assert_allclose(result, [31.0, 40.0])


def test_weighted_mean_by_another_denominator_gives_another_mean():
    result = weighted_mean(SCORES, CHILDREN, GROUPS, 2)
    # area 0: (10*10 + 20*0 + 40*30) / 40 = 1300 / 40 = 32.5
    # area 1: no children at all -> no score (NaN), not an error
    assert result[0] == pytest.approx(32.5)
    assert np.isnan(result[1])


def test_weighted_mean_accepts_lists():
    # (1*1 + 3*3) / 4 = 2.5
    np.testing.assert_allclose(weighted_mean([1, 3], [1, 3], np.array([0, 0]), 1), [2.5])


@pytest.mark.parametrize(
    "measure",
    [
        lambda w, g: weighted_mean([0.2, 0.4], w, g, 2),
        lambda w, g: average_rank([3, 7], w, g, 2, N),
        lambda w, g: extent([3, 7], w, g, 2, N),
        lambda w, g: local_concentration([3, 7], w, g, 2, N),
    ],
    ids=["weighted_mean", "average_rank", "extent", "local_concentration"],
)
def test_zero_weight_area_is_nan_without_warnings(measure):
    groups = np.array([0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = measure(np.array([50.0, 0.0]), groups)
    assert not np.isnan(result[0])
    assert np.isnan(result[1])


# --- average rank ---------------------------------------------------------------------------


def test_average_rank_is_weighted_mean_of_reversed_ranks():
    result = average_rank(RANKS, TOTAL, GROUPS, 2, N)
    # reversed ranks: 100, 91, 51, 10, 1
    # area 0: (100*100 + 51*300 + 1*600) / 1000 = (10000 + 15300 + 600) / 1000 = 25.9
    # area 1: (91*200 + 10*200) / 400 = 20200 / 400 = 50.5
    np.testing.assert_allclose(result, [25.9, 50.5])


def test_average_rank_uses_national_count_not_local():
    # one LSOA ranked 1 of 33,755: reversed 33755 + 1 - 1 = 33755
    assert average_rank([1], [7], np.array([0]), 1, 33755)[0] == 33755.0


# --- proportion in the most deprived 10% ----------------------------------------------------


def test_proportion_counts_lsoas_not_people():
    deciles = np.array([1, 1, 5, 10, 1])
    # area 0: deciles 1, 5, 1 -> 2 of 3;  area 1: deciles 1, 10 -> 1 of 2
    result = proportion_most_deprived_10(deciles, GROUPS, 2)
    np.testing.assert_allclose(result, [2 / 3, 0.5])


def test_proportion_is_zero_without_decile_1():
    assert proportion_most_deprived_10([2, 10], np.array([0, 0]), 1)[0] == 0.0


# --- extent ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rank", "weight"),
    [
        (1, 1.0),  # percentile 1
        (10, 1.0),  # percentile 10: last of the most deprived 10%
        (11, 0.95),  # percentile 11: start of the sliding scale
        (20, 0.5236842105263158),  # 0.95 - 9*0.9/19 = 0.95 - 8.1/19 = 9.95/19 = 199/380
        (30, 0.05),  # 0.95 - 19*0.9/19 = 0.05
        (31, 0.0),  # percentile 31: outside the most deprived 30%
        (100, 0.0),
    ],
)
def test_extent_weight_at_percentile_boundaries(rank, weight):
    assert extent_weight([rank], N)[0] == pytest.approx(weight, abs=1e-12)


@pytest.mark.parametrize(
    ("rank", "weight"),
    [
        (3375, 1.0),  # ceil(337500 / 33755) = ceil(9.9985) = 10
        (3376, 0.95),  # ceil(337600 / 33755) = ceil(10.0015) = 11
        (10126, 0.05),  # ceil(1012600 / 33755) = ceil(29.9985) = 30
        (10127, 0.0),  # ceil(1012700 / 33755) = ceil(30.0015) = 31
    ],
)
def test_extent_weight_percentiles_round_up_with_the_real_lsoa_count(rank, weight):
    assert extent_weight([rank], 33755)[0] == pytest.approx(weight, abs=1e-12)


def test_extent_is_population_weighted_mean_of_weights():
    ranks = [10, 11, 20, 30, 31]  # weights 1, 0.95, 199/380, 0.05, 0
    pops = [100, 200, 190, 100, 400]
    result = extent(ranks, pops, np.zeros(5, dtype=np.intp), 1, N)
    # (100*1 + 200*0.95 + 190*199/380 + 100*0.05 + 400*0) / 990
    # = (100 + 190 + 99.5 + 5 + 0) / 990 = 394.5 / 990 = 0.398484...
    assert result[0] == pytest.approx(0.39848484848484848)


# --- local concentration --------------------------------------------------------------------


def test_local_concentration_counts_the_crossing_lsoa_in_part():
    # 1000 people -> the most deprived 100. Sorted: rank 5 (40 people, all counted),
    # rank 12 (300 people, 60 counted), rank 40 and 70 (none).
    ranks = [40, 5, 70, 12]
    pops = [500, 40, 160, 300]
    result = local_concentration(ranks, pops, np.zeros(4, dtype=np.intp), 1, N)
    # (96*40 + 89*60) / 100 = (3840 + 5340) / 100 = 91.8
    assert result[0] == pytest.approx(91.8)


def test_local_concentration_when_first_lsoa_alone_holds_more_than_10_percent():
    # 1000 people -> 100; the rank-8 LSOA has 900, so only it counts (for 100 people)
    result = local_concentration([30, 8], [100, 900], np.zeros(2, dtype=np.intp), 1, N)
    assert result[0] == pytest.approx(93.0)  # 101 - 8


def test_local_concentration_stops_exactly_at_10_percent():
    # 1000 people -> 100; rank 2 holds exactly 100, so rank 3 gets no weight
    result = local_concentration([3, 2, 50], [200, 100, 700], np.zeros(3, dtype=np.intp), 1, N)
    assert result[0] == pytest.approx(99.0)  # 101 - 2


def test_local_concentration_one_lsoa_area_is_its_reversed_rank():
    assert local_concentration([42], [1234], np.zeros(1, dtype=np.intp), 1, N)[0] == 59.0


def test_local_concentration_keeps_areas_apart():
    # area 0 as in the "in part" case, area 1 as the "first alone" case, rows interleaved
    groups = np.array([1, 0, 0, 1, 0, 0])
    ranks = [30, 40, 5, 8, 70, 12]
    pops = [100, 500, 40, 900, 160, 300]
    result = local_concentration(ranks, pops, groups, 2, N)
    np.testing.assert_allclose(result, [91.8, 93.0])


# --- scale ----------------------------------------------------------------------------------


def test_scale_sums_rate_times_denominator():
    rates = [0.1, 0.25, 0.5, 0.2]
    denominators = [100, 40, 10, 1000]
    groups = np.array([0, 0, 1, 2])
    # area 0: 0.1*100 + 0.25*40 = 10 + 10 = 20;  area 1: 0.5*10 = 5;  area 2: 0.2*1000 = 200
    np.testing.assert_allclose(scale(rates, denominators, groups, 3), [20.0, 5.0, 200.0])


# --- properties -----------------------------------------------------------------------------


@st.composite
def areas(draw, *, max_lsoas: int = 30, n_national: int = 1000):
    """LSOAs in up to 4 areas: groups, scores, national ranks, populations (some zero)."""
    n = draw(st.integers(1, max_lsoas))
    n_areas = draw(st.integers(1, 4))
    groups = draw(arrays(np.intp, n, elements=st.integers(0, n_areas - 1)))
    scores = draw(arrays(np.float64, n, elements=st.floats(-100, 100)))
    ranks = draw(arrays(np.int64, n, elements=st.integers(1, n_national)))
    pops = draw(arrays(np.float64, n, elements=st.integers(0, 5000).map(float)))
    return groups, n_areas, scores, ranks, pops


def _per_area(values, groups, n_areas, pops, reducer):
    """reducer over each area's LSOAs; None for areas whose population is 0."""
    return [
        reducer(values[groups == a]) if pops[groups == a].sum() > 0 else None
        for a in range(n_areas)
    ]


@settings(max_examples=40, deadline=None)
@given(data=areas(), factor=st.floats(1e-3, 1e3))
def test_weighted_mean_ignores_a_common_weight_scale(data, factor):
    groups, n_areas, scores, _, pops = data
    base = weighted_mean(scores, pops, groups, n_areas)
    scaled = weighted_mean(scores, pops * factor, groups, n_areas)
    np.testing.assert_allclose(scaled, base, rtol=1e-9, atol=1e-9)


def assert_within_area_range(result, values, groups, n_areas, pops):
    """Each area's result lies within its counted LSOAs' values (NaN for an empty area)."""
    lows = _per_area(values, groups, n_areas, pops, np.min)
    highs = _per_area(values, groups, n_areas, pops, np.max)
    for value, low, high in zip(result, lows, highs, strict=True):
        if low is None:
            assert np.isnan(value)
        else:
            assert low - 1e-9 <= value <= high + 1e-9


@settings(max_examples=40, deadline=None)
@given(data=areas())
def test_weighted_mean_lies_between_the_areas_lsoa_scores(data):
    groups, n_areas, scores, _, pops = data
    result = weighted_mean(scores, pops, groups, n_areas)
    assert_within_area_range(result, scores, groups, n_areas, pops)


@settings(max_examples=40, deadline=None)
@given(data=areas())
def test_extent_lies_in_unit_interval(data):
    groups, n_areas, _, ranks, pops = data
    result = extent(ranks, pops, groups, n_areas, 1000)
    for value, total in zip(result, np.bincount(groups, pops, n_areas), strict=True):
        assert np.isnan(value) if total == 0 else 0.0 <= value <= 1.0


@settings(max_examples=40, deadline=None)
@given(data=areas())
def test_local_concentration_lies_between_the_areas_reversed_ranks(data):
    groups, n_areas, _, ranks, pops = data
    result = local_concentration(ranks, pops, groups, n_areas, 1000)
    reversed_ranks = 1001 - ranks
    assert_within_area_range(result, reversed_ranks, groups, n_areas, pops)


@settings(max_examples=40, deadline=None)
@given(data=areas())
def test_local_concentration_is_at_least_the_average_rank(data):
    """The most deprived tenth of an area is never less deprived than the whole area."""
    groups, n_areas, _, ranks, pops = data
    concentration = local_concentration(ranks, pops, groups, n_areas, 1000)
    average = average_rank(ranks, pops, groups, n_areas, 1000)
    has_people = np.bincount(groups, pops, n_areas) > 0
    assert np.all(concentration[has_people] >= average[has_people] - 1e-9)

"""Ranks (1 = highest score, ties share the lowest rank) and deciles ceil(rank * 10 / n),
given only for 10 or more ranked areas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iod_msoa._ranking import (
    MIN_AREAS_FOR_DECILES,
    decile_from_rank,
    deciles_given,
    rank_most_deprived_first,
)


def _values(array) -> list[int | None]:
    """Ranks or deciles as plain ints, None where missing."""
    return [None if pd.isna(v) else int(v) for v in array]


def test_rank_1_is_the_highest_score():
    assert _values(rank_most_deprived_first([0.1, 0.9, 0.5, 0.3])) == [4, 1, 2, 3]


def test_ties_share_the_lowest_rank():
    assert _values(rank_most_deprived_first([5.0, 7.0, 7.0, 3.0])) == [3, 1, 1, 4]


def test_ties_at_a_decile_boundary_share_rank_and_decile():
    # 20 areas: decile 1 = ranks 1-2 (ceil(2*10/20) = 1), decile 2 starts at rank 3
    # (ceil(3*10/20) = ceil(1.5) = 2). Areas 2 and 3 tie, so both take rank 2 -> decile 1.
    scores = [100.0, 90.0, 90.0, *range(80, 63, -1)]
    assert len(scores) == 20
    ranks = rank_most_deprived_first(scores)
    deciles = decile_from_rank(ranks)
    assert _values(ranks)[:5] == [1, 2, 2, 4, 5]
    # rank 4 -> ceil(40/20) = 2; rank 5 -> ceil(50/20) = ceil(2.5) = 3
    assert _values(deciles)[:5] == [1, 1, 1, 2, 3]


def test_missing_score_stays_unranked_and_does_not_count_in_n():
    ranks = rank_most_deprived_first(np.array([np.nan, *range(20, 0, -1)]))
    assert _values(ranks) == [None, *range(1, 21)]
    # n = 20 ranked areas, not 21: rank 1 -> ceil(10/20) = 1, rank 20 -> 10, rank 3 -> 2
    deciles = _values(decile_from_rank(ranks))
    assert deciles[:4] == [None, 1, 1, 2] and deciles[-1] == 10


def test_ten_ranked_areas_but_one_more_unscored_still_get_deciles():
    ranks = rank_most_deprived_first([np.nan, *np.linspace(1.0, 0.0, 10)])
    assert _values(decile_from_rank(ranks)) == [None, *range(1, 11)]


def test_nine_ranked_areas_plus_an_unscored_one_get_no_deciles():
    # n counts ranked areas: 10 rows, 9 ranks -> too few for deciles
    ranks = rank_most_deprived_first([np.nan, *np.linspace(1.0, 0.0, 9)])
    assert _values(decile_from_rank(ranks)) == [None] * 10


def test_no_scores_at_all_gives_no_ranks_or_deciles():
    ranks = rank_most_deprived_first([np.nan, np.nan])
    assert _values(ranks) == [None, None]
    assert _values(decile_from_rank(ranks)) == [None, None]


def test_ranks_and_deciles_are_nullable_integers():
    ranks = rank_most_deprived_first([0.2, np.nan])
    assert ranks.dtype == "Int64"
    assert decile_from_rank(ranks).dtype == "Int64"


def test_twenty_areas_give_two_per_decile():
    deciles = _values(decile_from_rank(rank_most_deprived_first(np.linspace(0.0, 1.0, 20))))
    assert {d: deciles.count(d) for d in range(1, 11)} == {d: 2 for d in range(1, 11)}
    # the highest score (last) is in decile 1, the lowest (first) in decile 10
    assert (deciles[-1], deciles[0]) == (1, 10)


def test_nine_areas_get_no_deciles_only_ranks():
    # ceil(rank * 10 / 9) would put rank 1 in decile 2 and leave decile 1 empty.
    ranks = rank_most_deprived_first(np.linspace(0.0, 1.0, 9))
    assert _values(ranks) == list(range(9, 0, -1))
    deciles = decile_from_rank(ranks)
    assert _values(deciles) == [None] * 9
    assert deciles.dtype == "Int64"


def test_ten_areas_give_one_per_decile_rank_1_in_decile_1():
    ranks = pd.array(range(1, 11), dtype="Int64")
    assert _values(decile_from_rank(ranks)) == list(range(1, 11))


@pytest.mark.parametrize(("n", "expected"), [(11, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10])])
def test_eleven_areas_share_the_last_decile(n, expected):
    # ceil(r*10/11): 0.91, 1.82, ..., 9.09, 10 -> ranks 10 and 11 both in decile 10
    ranks = pd.array(range(1, n + 1), dtype="Int64")
    assert _values(decile_from_rank(ranks)) == expected


@pytest.mark.parametrize("n", range(0, 12))
def test_the_rule_is_ten_ranked_areas(n):
    assert deciles_given(n) == (n >= 10)
    assert MIN_AREAS_FOR_DECILES == 10


# --- properties -----------------------------------------------------------------------------

# Few distinct values so ties are common; NaN for areas without a score.
tied_scores = st.lists(
    st.one_of(st.sampled_from([0.0, 1.5, 2.0, 7.25, 10.0]), st.just(np.nan)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(tied_scores)
def test_ranks_are_a_permutation_with_ties(values):
    scores = np.array(values, dtype="float64")
    ranks = _values(rank_most_deprived_first(scores))
    assert [r is None for r in ranks] == np.isnan(scores).tolist()
    ranked = sorted(r for r in ranks if r is not None)
    if not ranked:
        return
    assert ranked[0] == 1
    position = 0
    while position < len(ranked):
        r = ranked[position]
        k = ranked.count(r)
        assert r == position + 1  # a tie group of size k at rank r is followed by r + k
        position += k
    # a higher score always gets a better (smaller) rank, an equal score the same rank
    for i, j in zip(*np.nonzero(~np.isnan(scores[:, None] + scores[None, :])), strict=True):
        if scores[i] > scores[j]:
            assert ranks[i] < ranks[j]
        elif scores[i] == scores[j]:
            assert ranks[i] == ranks[j]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=10, max_size=300, unique=True))
def test_distinct_scores_fill_each_decile_with_floor_or_ceil_of_n_over_10(scores):
    n = len(scores)
    deciles = _values(decile_from_rank(rank_most_deprived_first(scores)))
    assert set(deciles) <= set(range(1, 11))
    counts = [deciles.count(d) for d in range(1, 11)]
    assert set(counts) <= {n // 10, -(-n // 10)}


@settings(max_examples=100, deadline=None)
@given(tied_scores)
def test_deciles_exist_exactly_when_ten_areas_are_ranked_and_rank_1_is_decile_1(values):
    ranks = rank_most_deprived_first(values)
    deciles = _values(decile_from_rank(ranks))
    ranked = [r for r in _values(ranks) if r is not None]
    if len(ranked) < 10:
        assert deciles == [None] * len(values)
        return
    assert [d is None for d in deciles] == [r is None for r in _values(ranks)]
    best = [d for d, r in zip(deciles, _values(ranks), strict=True) if r == 1]
    assert best and set(best) == {1}
    worst = [d for d, r in zip(deciles, _values(ranks), strict=True) if r == len(ranked)]
    assert set(worst) <= {10}

"""Ranks (1 = highest score, ties share the lowest rank) and deciles ceil(rank * 10 / n)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iod_msoa._ranking import decile_from_rank, rank_most_deprived_first


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
    ranks = rank_most_deprived_first(np.array([0.5, np.nan, 0.7]))
    assert _values(ranks) == [2, None, 1]
    # n = 2 ranked areas: rank 2 -> ceil(20/2) = 10; rank 1 -> ceil(10/2) = 5
    assert _values(decile_from_rank(ranks)) == [10, None, 5]


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


@pytest.mark.parametrize(("n", "expected"), [(1, [10]), (3, [4, 7, 10]), (4, [3, 5, 8, 10])])
def test_deciles_for_few_areas(n, expected):
    # ceil(r*10/n): n=3 -> 3.33, 6.67, 10 -> 4, 7, 10; n=4 -> 2.5, 5, 7.5, 10 -> 3, 5, 8, 10
    ranks = pd.array(range(1, n + 1), dtype="Int64")
    assert _values(decile_from_rank(ranks)) == expected


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
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300, unique=True))
def test_distinct_scores_fill_each_decile_with_floor_or_ceil_of_n_over_10(scores):
    n = len(scores)
    deciles = _values(decile_from_rank(rank_most_deprived_first(scores)))
    assert set(deciles) <= set(range(1, 11))
    counts = [deciles.count(d) for d in range(1, 11)]
    assert set(counts) <= {n // 10, -(-n // 10)}

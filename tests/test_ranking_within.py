"""Ranks and deciles within a parent area (``--within``), against ranking each parent alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iod_msoa._ranking import decile_from_rank, rank_most_deprived_first, ranks_within


def by_hand(scores: pd.Series, parents: pd.Series) -> pd.DataFrame:
    """Rank each parent's areas on their own with the whole-table functions."""
    parts = []
    for parent in parents.dropna().unique():
        inside = scores[parents == parent]
        ranks = rank_most_deprived_first(inside.to_numpy())
        parts.append(
            pd.DataFrame({"rank": ranks, "decile": decile_from_rank(ranks)}, index=inside.index)
        )
    return pd.concat(parts).reindex(scores.index)


def test_agrees_with_ranking_each_parent_alone() -> None:
    rng = np.random.default_rng(7)
    n = 400
    scores = pd.DataFrame(
        {"imd": rng.integers(0, 50, n).astype(float), "income": rng.random(n)},
        index=pd.RangeIndex(100, 100 + n),
    )
    scores.iloc[::37, 0] = np.nan  # an area without a score gets no rank
    parents = pd.Series(
        rng.choice(["A", "B", "C", "D"], n, p=[0.5, 0.3, 0.18, 0.02]), index=scores.index
    )
    out = ranks_within(scores, parents)
    assert list(out.columns) == ["imd_rank", "imd_decile", "income_rank", "income_decile"]
    for column in scores.columns:
        expected = by_hand(scores[column], parents)
        pd.testing.assert_series_equal(
            out[f"{column}_rank"], expected["rank"].astype("Int64"), check_names=False
        )
        pd.testing.assert_series_equal(
            out[f"{column}_decile"], expected["decile"].astype("Int64"), check_names=False
        )
    assert out.loc[parents == "D", "imd_decile"].isna().all()  # fewer than 10 areas


def test_ties_share_the_lowest_rank_and_small_parents_get_no_decile() -> None:
    scores = pd.DataFrame({"imd": [3.0, 1.0, 3.0, 2.0, *range(10)]})
    parents = pd.Series(["small"] * 4 + ["big"] * 10)
    out = ranks_within(scores, parents)
    assert out["imd_rank"].tolist()[:4] == [1, 4, 1, 3]
    assert out["imd_decile"].iloc[:4].isna().all()
    assert out["imd_decile"].tolist()[4:] == list(range(10, 0, -1))


@pytest.mark.parametrize("missing", [np.nan, None])
def test_an_area_without_parent_is_not_ranked(missing: object) -> None:
    out = ranks_within(pd.DataFrame({"imd": [1.0, 2.0]}), pd.Series(["A", missing]))
    assert out["imd_rank"].tolist()[0] == 1 and out["imd_rank"].isna().tolist() == [False, True]

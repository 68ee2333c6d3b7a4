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


def test_with_ranks_within_places_them_after_each_decile() -> None:
    """The table keeps its columns; each metric's ranks within the parent follow its decile,
    ranked among the rows of the same parent only."""
    from iod_msoa._aggregate import with_ranks_within
    from iod_msoa._vocab import METRICS

    n = 12
    table = pd.DataFrame(
        {"code": [f"A{i:02d}" for i in range(n)]}
        | {
            f"{m.short}_{s}": np.arange(n, dtype=float) if s == "score" else np.arange(n)
            for m in METRICS
            for s in ("score", "rank", "decile")
        }
    )
    parents = pd.Series(["P"] * 10 + ["Q"] * 2)
    out = with_ranks_within(table, parents, "lad24")
    first = METRICS[0].short
    at = list(out.columns).index(f"{first}_decile")
    assert list(out.columns[at + 1 : at + 3]) == [
        f"{first}_rank_in_lad24",
        f"{first}_decile_in_lad24",
    ]
    assert out[list(table.columns)].equals(table)
    assert out[f"{first}_rank_in_lad24"].tolist() == [*range(10, 0, -1), 2, 1]
    assert out[f"{first}_decile_in_lad24"].tolist()[:10] == [*range(10, 0, -1)]
    assert out[f"{first}_decile_in_lad24"].iloc[10:].isna().all()  # Q has 2 areas

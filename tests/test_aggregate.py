"""LSOA -> area aggregation on a six-LSOA table whose results are worked out by hand.

National N = 100 LSOAs, so reversed rank = 101 - rank and percentile = rank. Every metric
gets the same scores and ranks (the table builder's default); they differ only by their
denominator, so expected values are listed per denominator.

| LSOA      | area | rank | decile | score  | total | children | 60+ | 18-66 |
|-----------|------|------|--------|--------|-------|----------|-----|-------|
| E01000001 | A    | 5    | 1      | 0.5    | 60    | 10       | 20  | 30    |
| E01000002 | A    | 11   | 2      | 0.375  | 300   | 10       | 50  | 240   |
| E01000003 | A    | 60   | 6      | 0.125  | 640   | 80       | 100 | 300   |
| E01000004 | B    | 20   | 2      | 0.3125 | 400   | 0        | 100 | 250   |
| E01000005 | B    | 30   | 3      | 0.25   | 100   | 0        | 0   | 50    |
| E01000006 | C    | 31   | 4      | 0.1875 | 200   | 40       | 60  | 100   |

A = E02000001, B = E02000002 (no children), C = E02000003 (one LSOA). LADs: A and C are
in E06000001, B is E06000002.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iod_msoa._aggregate import aggregate, area_columns, assign_areas
from iod_msoa._editions import EDITIONS
from iod_msoa._errors import UnmatchedAreaError, ZeroPopulationError
from iod_msoa._vocab import DENOMINATOR_SHORTS, DENOMINATORS, METRICS

AS_GIVEN = dataclasses.replace(EDITIONS[2025], summary_ranks="published")

N = 100
A, B, C = "E02000001", "E02000002", "E02000003"
NAN = math.nan
NA = None


def _row(code, area, lad, rank, score, total, children, older, working):
    return {
        "lsoa21cd": code,
        "area": area,
        "lad24cd": lad,
        "rank": rank,
        "score": score,
        "pop_total": total,
        "pop_children_0_15": children,
        "pop_older_60_plus": older,
        "pop_working_age_18_66": working,
    }


# Listed out of area and rank order on purpose.
ROWS = [
    _row("E01000003", A, "E06000001", 60, 0.125, 640, 80, 100, 300),
    _row("E01000005", B, "E06000002", 30, 0.25, 100, 0, 0, 50),
    _row("E01000001", A, "E06000001", 5, 0.5, 60, 10, 20, 30),
    _row("E01000006", C, "E06000001", 31, 0.1875, 200, 40, 60, 100),
    _row("E01000004", B, "E06000002", 20, 0.3125, 400, 0, 100, 250),
    _row("E01000002", A, "E06000001", 11, 0.375, 300, 10, 50, 240),
]

# Per area A, B, C.
N_LSOA = [3, 2, 1]
POPULATION = {
    "pop_total": [1000, 500, 200],  # 60+300+640; 400+100; 200
    "pop_children_0_15": [100, 0, 40],  # 10+10+80; 0+0; 40
    "pop_older_60_plus": [170, 100, 60],  # 20+50+100; 100+0; 60
    "pop_working_age_18_66": [570, 300, 100],  # 30+240+300; 250+50; 100
}
SCORE = {
    # A: (0.5*60 + 0.375*300 + 0.125*640)/1000 = (30 + 112.5 + 80)/1000 = 0.2225
    # B: (0.3125*400 + 0.25*100)/500 = (125 + 25)/500 = 0.3
    "pop_total": [0.2225, 0.3, 0.1875],
    # A: (0.5*10 + 0.375*10 + 0.125*80)/100 = (5 + 3.75 + 10)/100 = 0.1875; B: no children
    "pop_children_0_15": [0.1875, NAN, 0.1875],
    # A: (0.5*20 + 0.375*50 + 0.125*100)/170 = 41.25/170; B: (0.3125*100 + 0.25*0)/100
    "pop_older_60_plus": [0.24264705882352941, 0.3125, 0.1875],
    # A: (0.5*30 + 0.375*240 + 0.125*300)/570 = 142.5/570; B: (0.3125*250 + 0.25*50)/300
    "pop_working_age_18_66": [0.25, 0.30208333333333333, 0.1875],
}
# Ranks among the 3 areas (highest score = 1); no deciles: fewer than 10 areas ranked.
RANK = {
    "pop_total": [2, 1, 3],
    "pop_children_0_15": [1, NA, 1],  # A and C tie at 0.1875; B unranked
    "pop_older_60_plus": [2, 1, 3],
    "pop_working_age_18_66": [2, 1, 3],
}
DECILE = {key: [NA, NA, NA] for key in RANK}  # ceil(rank*10/3) would leave decile 1 empty
# Reversed ranks: E01000001 96, ...02 90, ...03 41, ...04 81, ...05 71, ...06 70.
AVERAGE_RANK = {
    # A: (96*60 + 90*300 + 41*640)/1000 = (5760 + 27000 + 26240)/1000 = 59.0
    # B: (81*400 + 71*100)/500 = 39500/500 = 79.0
    "pop_total": [59.0, 79.0, 70.0],
    # A: (96*10 + 90*10 + 41*80)/100 = (960 + 900 + 3280)/100 = 51.4
    "pop_children_0_15": [51.4, NAN, 70.0],
    # A: (96*20 + 90*50 + 41*100)/170 = 10520/170; B: 81*100/100
    "pop_older_60_plus": [61.88235294117647, 81.0, 70.0],
    # A: (96*30 + 90*240 + 41*300)/570 = 36780/570; B: (81*250 + 71*50)/300 = 23800/300
    "pop_working_age_18_66": [64.52631578947368, 79.33333333333333, 70.0],
}
# Decile-1 LSOAs by count: A 1 of 3 (E01000001), B 0 of 2, C 0 of 1 - whatever the weights.
PROPORTION = [1 / 3, 0.0, 0.0]
# Extent weights: rank 5 -> 1, 11 -> 0.95, 20 -> 0.95 - 9*0.9/19 = 199/380, 30 -> 0.05,
# 31 and 60 -> 0.
EXTENT = {
    # A: (1*60 + 0.95*300 + 0*640)/1000 = 345/1000
    # B: (199/380*400 + 0.05*100)/500 = (209.4736842... + 5)/500
    "pop_total": [0.345, 0.42894736842105263, 0.0],
}
LOCAL_CONCENTRATION = {
    # A: 10% of 1000 = 100 people: rank 5 (all 60) + rank 11 (40 of 300):
    #    (96*60 + 90*40)/100 = (5760 + 3600)/100 = 93.6
    # B: 10% of 500 = 50 people, all from rank 20 (which has 400): 81
    # C: one LSOA: 70
    "pop_total": [93.6, 81.0, 70.0],
}
SCALE = {
    "pop_total": [222.5, 150.0, 37.5],  # the numerators of SCORE
    "pop_working_age_18_66": [142.5, 90.625, 18.75],
}


@pytest.fixture(scope="module")
def lsoa(make_lsoa_table) -> pd.DataFrame:
    return make_lsoa_table(ROWS, n_national=N)


@pytest.fixture(scope="module")
def lookup() -> pd.DataFrame:
    return pd.DataFrame(
        {"lsoa21cd": [r["lsoa21cd"] for r in ROWS], "msoa21cd": [r["area"] for r in ROWS]}
    )


@pytest.fixture(scope="module")
def result(lsoa, lookup) -> pd.DataFrame:
    """Computed once; tests only read it (and ``lsoa``, ``lookup``: copy before changing)."""
    return aggregate(lsoa, lookup, n_national=N, allow_zero_population=True)


def _ints(values) -> list[int | None]:
    return [None if pd.isna(v) else int(v) for v in values]


def test_the_fixture_deciles_are_the_table_above(lsoa):
    by_code = lsoa.set_index("lsoa21cd")["imd_decile"].sort_index()
    assert by_code.tolist() == [1, 2, 6, 2, 3, 4]


def test_one_row_per_area_sorted_by_code(result):
    assert result["msoa21cd"].tolist() == [A, B, C]
    assert result["n_lsoa"].tolist() == N_LSOA


@pytest.mark.parametrize("denominator", DENOMINATOR_SHORTS)
def test_population_totals(result, denominator):
    assert result[denominator].tolist() == POPULATION[denominator]
    assert result[denominator].dtype == "int64"


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.short)
def test_score_rank_decile(result, metric):
    np.testing.assert_allclose(
        result[f"{metric.short}_score"].to_numpy(dtype="float64"), SCORE[metric.denominator]
    )
    assert _ints(result[f"{metric.short}_rank"]) == RANK[metric.denominator]
    assert _ints(result[f"{metric.short}_decile"]) == DECILE[metric.denominator]
    assert result[f"{metric.short}_rank"].dtype == "Int64"
    assert result[f"{metric.short}_decile"].dtype == "Int64"


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.short)
def test_average_rank_and_proportion(result, metric):
    np.testing.assert_allclose(
        result[f"{metric.short}_average_rank"].to_numpy(dtype="float64"),
        AVERAGE_RANK[metric.denominator],
    )
    np.testing.assert_allclose(
        result[f"{metric.short}_proportion_most_deprived_10"].to_numpy(dtype="float64"),
        PROPORTION,
    )


@pytest.mark.parametrize("metric", [m for m in METRICS if m.extent], ids=lambda m: m.short)
def test_extent_and_local_concentration(result, metric):
    np.testing.assert_allclose(result[f"{metric.short}_extent"], EXTENT[metric.denominator])
    np.testing.assert_allclose(
        result[f"{metric.short}_local_concentration"], LOCAL_CONCENTRATION[metric.denominator]
    )


@pytest.mark.parametrize("metric", [m for m in METRICS if m.scale], ids=lambda m: m.short)
def test_scale(result, metric):
    np.testing.assert_allclose(result[f"{metric.short}_scale"], SCALE[metric.denominator])


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.short)
def test_each_metric_reads_its_own_columns(lsoa, lookup, result, metric):
    changed = lsoa.copy()
    changed[f"{metric.short}_score"] *= 2
    changed[f"{metric.short}_rank"] = N  # least deprived: reversed rank 1, extent weight 0
    changed[f"{metric.short}_decile"] = 1
    # every LSOA at rank N is a tie no real File 7 has: read the ranks as given
    after = aggregate(changed, lookup, n_national=N, allow_zero_population=True, edition=AS_GIVEN)
    own = [c for c in after.columns if c.startswith(f"{metric.short}_")]
    pd.testing.assert_frame_equal(after.drop(columns=own), result.drop(columns=own))
    np.testing.assert_allclose(
        after[f"{metric.short}_score"].to_numpy(dtype="float64"),
        2 * np.array(SCORE[metric.denominator]),
    )
    has_weight = ~np.isnan(SCORE[metric.denominator])
    np.testing.assert_allclose(after[f"{metric.short}_average_rank"][has_weight], 1.0)
    np.testing.assert_allclose(after[f"{metric.short}_proportion_most_deprived_10"], 1.0)
    if metric.extent:
        np.testing.assert_allclose(after[f"{metric.short}_extent"], 0.0)
        np.testing.assert_allclose(after[f"{metric.short}_local_concentration"], 1.0)


def test_columns_are_area_columns(result):
    assert list(result.columns) == area_columns("msoa21cd")


def test_area_columns_cover_every_metric_once():
    columns = area_columns("msoa21cd")
    assert len(columns) == len(set(columns))
    assert columns[:2] == ["msoa21cd", "n_lsoa"]
    assert columns[2:6] == list(DENOMINATOR_SHORTS)
    # 16 metrics x 5 measures + extent and local concentration for the IMD + 2 scales
    assert len(columns) == 2 + 4 + 16 * 5 + 2 + 2
    assert {"imd_extent", "imd_local_concentration", "income_scale", "employment_scale"} <= set(
        columns
    )
    assert "crime_extent" not in columns
    assert "idaci_scale" not in columns


def test_any_area_column_works_here_the_lad_from_the_table(lsoa):
    result = aggregate(
        lsoa,
        lsoa[["lsoa21cd", "lad24cd"]],
        area="lad24cd",
        n_national=N,
        allow_zero_population=True,
    )
    assert list(result.columns) == area_columns("lad24cd")
    assert result["lad24cd"].tolist() == ["E06000001", "E06000002"]
    assert result["n_lsoa"].tolist() == [4, 2]
    assert result["pop_total"].tolist() == [1200, 500]
    # E06000001 = A + C: (222.5 + 0.1875*200)/1200 = 260/1200
    np.testing.assert_allclose(result["imd_score"], [0.21666666666666667, 0.3])
    assert _ints(result["imd_rank"]) == [2, 1]
    assert _ints(result["imd_decile"]) == [NA, NA]  # 2 areas: too few for deciles


def test_output_level_lookup_with_repeated_rows_and_other_lsoas(lsoa, lookup, result):
    """The ONS lookup has one row per output area and covers Wales too."""
    oa_level = pd.concat(
        [
            lookup,
            lookup.iloc[::2],
            pd.DataFrame({"lsoa21cd": ["W01000001"], "msoa21cd": ["W02000001"]}),
        ],
        ignore_index=True,
    ).assign(oa21cd=lambda t: [f"E00{i:06d}" for i in range(len(t))])
    pd.testing.assert_frame_equal(
        aggregate(lsoa, oa_level, n_national=N, allow_zero_population=True), result
    )


def test_n_national_defaults_to_the_table_length(tiny_file7):
    lookup = tiny_file7[["lsoa21cd", "lad24cd"]]
    result = aggregate(tiny_file7, lookup, area="lad24cd")
    # N = 4; E06000001 has ranks 1 and 2 (equal weights): (4 + 3)/2; E06000002 ranks 3, 4
    np.testing.assert_allclose(result["imd_average_rank"], [3.5, 1.5])


def test_unmatched_lsoa_is_an_error_naming_it(lsoa, lookup):
    partial = lookup[lookup["lsoa21cd"] != "E01000006"]
    with pytest.raises(UnmatchedAreaError, match=r"1 LSOA\(s\) have no msoa21cd.*E01000006"):
        aggregate(lsoa, partial, n_national=N, allow_zero_population=True)


def test_allow_unmatched_drops_the_lsoa(lsoa, lookup):
    partial = lookup[lookup["lsoa21cd"] != "E01000006"]
    result = aggregate(
        lsoa, partial, n_national=N, allow_unmatched=True, allow_zero_population=True
    )
    assert result["msoa21cd"].tolist() == [A, B]
    assert result["pop_total"].tolist() == [1000, 500]
    assert _ints(result["imd_rank"]) == [2, 1]
    assert _ints(result["imd_decile"]) == [NA, NA]  # 2 areas: too few for deciles


def test_dropped_lsoas_still_count_in_the_national_n(tiny_file7):
    lookup = tiny_file7[["lsoa21cd", "lad24cd"]].iloc[:3]  # E01000004 has no area
    result = aggregate(tiny_file7, lookup, area="lad24cd", allow_unmatched=True)
    # N stays 4: E06000002 keeps only rank 3 -> 4 + 1 - 3 = 2
    np.testing.assert_allclose(result["imd_average_rank"], [3.5, 2.0])


def test_lsoa_in_two_areas_is_an_error(lsoa, lookup):
    split = pd.concat(
        [lookup, pd.DataFrame({"lsoa21cd": ["E01000001"], "msoa21cd": [C]})], ignore_index=True
    )
    with pytest.raises(UnmatchedAreaError, match="more than one msoa21cd: E01000001"):
        aggregate(lsoa, split, n_national=N, allow_zero_population=True)


def test_assign_areas_keeps_the_lsoa_order(lookup):
    codes = pd.Series(["E01000006", "E01000001", "E01000004"])
    assert assign_areas(codes, lookup, "msoa21cd").tolist() == [C, A, B]


# --- properties -----------------------------------------------------------------------------

AREAS = ["E02000001", "E02000002", "E02000003", "E02000004"]


@st.composite
def lsoa_rows(draw):
    n = draw(st.integers(1, 25))
    population = st.integers(0, 3000)
    return [
        {
            "lsoa21cd": f"E01{i:06d}",
            "area": draw(st.sampled_from(AREAS)),
            "lad24cd": "E06000001",
            "score": draw(st.floats(0, 100)),
            "rank": draw(st.integers(1, 1000)),
            **{d: draw(population) for d in DENOMINATOR_SHORTS},
        }
        for i in range(n)
    ]


@settings(max_examples=30, deadline=None)
@given(rows=lsoa_rows())
def test_aggregate_conserves_population_and_lsoa_counts(make_lsoa_table, rows):
    table = make_lsoa_table(rows, n_national=1000)
    lookup = pd.DataFrame({"lsoa21cd": table["lsoa21cd"], "msoa21cd": [r["area"] for r in rows]})
    result = aggregate(table, lookup, n_national=1000, allow_zero_population=True)
    assert result["n_lsoa"].sum() == len(rows)
    assert result["msoa21cd"].tolist() == sorted({r["area"] for r in rows})
    for d in DENOMINATOR_SHORTS:
        assert result[d].sum() == sum(r[d] for r in rows)
    # an area without people has no score, hence no rank; every other area is ranked
    assert (result["imd_rank"].isna() == (result["pop_total"] == 0)).all()
    ranked = result["imd_rank"].dropna()
    assert ranked.empty or (ranked.min() == 1 and ranked.max() <= len(ranked))


def test_an_area_without_people_is_an_error_naming_it(lsoa, lookup):
    children = next(d for d in DENOMINATORS if d.short == "pop_children_0_15")
    with pytest.raises(ZeroPopulationError) as error:
        aggregate(lsoa, lookup, n_national=N)
    message = str(error.value)
    assert "1 msoa21cd area(s) have nobody in a population their scores are weighted by" in message
    assert f"({children.label}): {B}." in message
    assert message.count(B) == 1
    assert A not in message


@settings(max_examples=30, deadline=None)
@given(rows=lsoa_rows(), seed=st.integers(0, 2**32 - 2))  # seed + 1 is a seed too
def test_row_order_does_not_change_a_single_bit(make_lsoa_table, rows, seed):
    table = make_lsoa_table(rows, n_national=1000)
    lookup = pd.DataFrame({"lsoa21cd": table["lsoa21cd"], "msoa21cd": [r["area"] for r in rows]})
    shuffled = table.sample(frac=1, random_state=seed)
    kwargs = {"n_national": 1000, "allow_zero_population": True}
    pd.testing.assert_frame_equal(
        aggregate(shuffled, lookup.sample(frac=1, random_state=seed + 1), **kwargs),
        aggregate(table, lookup, **kwargs),
        check_exact=True,
    )

"""IoD2019 on 2021 geography and the change table, on tiny hand-made lookups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iod_msoa._change import (
    APPORTIONED,
    EXACT,
    SPLIT_RULE,
    SPLIT_WEIGHT,
    apportion,
    change_table,
    check_crosswalk,
    comparability,
    lsoa11_pieces,
    lsoa21_ranks,
    split_weights,
    still_in_decile,
)
from iod_msoa._errors import SchemaError

# 2011 LSOAs: A unchanged; B split into B1 (MSOA m1) and B2 (MSOA m2); C split into C1 and
# C2, both in m2; D and F merged into DF (m2).
CROSSWALK = pd.DataFrame(
    {
        "lsoa11cd": ["A", "B", "B", "C", "C", "D", "F"],
        "lsoa21cd": ["A", "B1", "B2", "C1", "C2", "DF", "DF"],
        "chgind": ["U", "S", "S", "S", "S", "M", "M"],
    }
)
AREAS = pd.DataFrame(
    {
        "lsoa21cd": ["A", "B1", "B2", "C1", "C2", "DF"],
        "msoa21cd": ["m1", "m1", "m2", "m2", "m2", "m2"],
    }
)
# Every 2021 LSOA of the same mid-2022 population: a split LSOA shared equally.
EQUAL = pd.Series(1.0, index=AREAS["lsoa21cd"])


def test_check_crosswalk_keeps_one_row_per_pair_sorted():
    table = check_crosswalk(pd.concat([CROSSWALK.iloc[::-1], CROSSWALK.iloc[[0]]]))
    assert table["lsoa11cd"].tolist() == ["A", "B", "B", "C", "C", "D", "F"]


def test_check_crosswalk_names_an_unknown_change_code():
    bad = CROSSWALK.assign(chgind=["U", "S", "S", "S", "S", "M", "Q"])
    with pytest.raises(SchemaError, match=r"1 row.* other than U, S, M, X: Q"):
        check_crosswalk(bad)


def test_check_crosswalk_names_a_pair_with_two_codes():
    bad = pd.concat([CROSSWALK, CROSSWALK.iloc[[0]].assign(chgind="S")])
    with pytest.raises(SchemaError, match="give one pair two change codes: A"):
        check_crosswalk(bad)


def test_check_crosswalk_names_an_unchanged_lsoa_with_two_children():
    bad = pd.concat(
        [CROSSWALK, pd.DataFrame({"lsoa11cd": ["A"], "lsoa21cd": ["A2"], "chgind": ["U"]})]
    )
    with pytest.raises(SchemaError, match="coded U whose LSOA has several children: A"):
        check_crosswalk(bad)


def test_check_crosswalk_names_a_split_child_with_two_parents():
    bad = CROSSWALK.assign(chgind=["U", "S", "S", "S", "S", "S", "S"])
    with pytest.raises(SchemaError, match="coded S whose LSOA has several parents: D"):
        check_crosswalk(bad)


def test_pieces_split_an_lsoa_across_msoas_by_its_children_weights():
    weights = pd.Series({"A": 10, "B1": 30, "B2": 10, "C1": 5, "C2": 5, "DF": 40})
    pieces = lsoa11_pieces(check_crosswalk(CROSSWALK), AREAS, weights)
    shares = pieces.set_index(["lsoa11cd", "msoa21cd"])["share"]
    assert shares.to_dict() == {
        ("A", "m1"): 1.0,
        ("B", "m1"): 0.75,
        ("B", "m2"): 0.25,
        ("C", "m2"): 1.0,  # split, but both halves in one MSOA: whole
        ("D", "m2"): 1.0,
        ("F", "m2"): 1.0,
    }


def test_pieces_share_by_the_2021_lsoas_mid_2022_population_from_file7_2025():
    later = pd.DataFrame({"lsoa21cd": list(EQUAL.index), SPLIT_WEIGHT: [1, 1, 3, 1, 1, 1]})
    pieces = lsoa11_pieces(check_crosswalk(CROSSWALK), AREAS, split_weights(later))
    assert pieces.loc[pieces["lsoa11cd"] == "B", "share"].tolist() == [0.25, 0.75]
    pieces = lsoa11_pieces(check_crosswalk(CROSSWALK), AREAS, EQUAL)  # children alike
    assert pieces.loc[pieces["lsoa11cd"] == "B", "share"].tolist() == [0.5, 0.5]
    assert "mid-2022 population" in SPLIT_RULE and SPLIT_WEIGHT == "pop_total"


def test_pieces_name_a_child_without_an_msoa_or_weight():
    with pytest.raises(SchemaError, match=r"1 LSOA.* have no msoa21cd: C2"):
        lsoa11_pieces(CROSSWALK, AREAS[AREAS["lsoa21cd"] != "C2"], EQUAL)
    with pytest.raises(SchemaError, match="have no weight: DF"):
        lsoa11_pieces(CROSSWALK, AREAS, pd.Series({"A": 1, "B1": 1, "B2": 1, "C1": 1, "C2": 1}))


def test_an_msoa_with_a_piece_of_a_split_lsoa_is_apportioned():
    flags = comparability(lsoa11_pieces(CROSSWALK, AREAS, EQUAL))
    assert flags.to_dict() == {"m1": APPORTIONED, "m2": APPORTIONED}
    whole = AREAS.assign(msoa21cd=["m1", "m1", "m1", "m2", "m2", "m2"])
    assert comparability(lsoa11_pieces(CROSSWALK, whole, EQUAL)).to_dict() == {
        "m1": EXACT,
        "m2": EXACT,
    }


def test_apportion_keeps_ranks_and_scales_populations():
    lsoa = pd.DataFrame(
        {
            "lsoa11cd": ["A", "B", "C", "D", "F"],
            "imd_rank": [1, 2, 3, 4, 5],
            "pop_total": [100.0, 200.0, 300.0, 400.0, 500.0],
        }
    )
    pieces = lsoa11_pieces(CROSSWALK, AREAS, EQUAL)
    table = apportion(lsoa, pieces, ["pop_total"])
    b = table[table["lsoa11cd"] == "B"]
    assert b["piece"].tolist() == ["B/m1", "B/m2"]
    assert b["imd_rank"].tolist() == [2, 2]
    assert b["pop_total"].tolist() == [100.0, 100.0]
    assert table["pop_total"].sum() == lsoa["pop_total"].sum()  # nobody lost or counted twice


def test_apportion_names_an_lsoa_missing_from_file7():
    lsoa = pd.DataFrame({"lsoa11cd": ["A"], "pop_total": [1.0]})
    with pytest.raises(SchemaError, match=r"4 LSOA.* not in File 7 \(2019\): B, C, D, F"):
        apportion(lsoa, lsoa11_pieces(CROSSWALK, AREAS, EQUAL), ["pop_total"])


def test_lsoa21_ranks_give_a_merged_lsoa_its_parents_weighted_mean_rank():
    lsoa = pd.DataFrame(
        {
            "lsoa11cd": ["A", "B", "C", "D", "F"],
            "imd_rank": [1, 2, 3, 4, 10],
            "pop_total": [1.0, 1.0, 1.0, 300.0, 100.0],
        }
    )
    table = lsoa21_ranks(CROSSWALK, lsoa, "imd_rank", "pop_total", n_national=10).set_index(
        "lsoa21cd"
    )
    assert table["rank"].to_dict() == {
        "A": 1.0,
        "B1": 2.0,
        "B2": 2.0,
        "C1": 3.0,
        "C2": 3.0,
        "DF": 5.5,  # (4 x 300 + 10 x 100) / 400
    }
    assert table["decile"].tolist() == [1, 2, 2, 3, 3, 6]


def test_still_in_decile_counts_areas_in_the_decile_in_both():
    before = pd.Series({"a": 1, "b": 1, "c": 2, "d": 1})
    after = pd.Series({"a": 1, "b": 2, "c": 1, "e": 1})
    assert still_in_decile(before, after) == (1, 3)  # a yes, c no, e unknown before


def _engine_table(scores, average_ranks):
    """The engine's columns the change table reads, for MSOAs m1..mN."""
    n = len(scores)
    ranks = pd.Series(scores).rank(ascending=False, method="min").astype("int64")
    return pd.DataFrame(
        {
            "msoa21cd": [f"m{i}" for i in range(1, n + 1)],
            "imd_rank": ranks,
            "imd_decile": np.ceil(ranks * 10 / n).astype("int64"),
            "crime_average_rank": average_ranks,
        }
    )


def test_change_table_compares_positions_by_score_or_by_average_rank():
    scores19 = np.arange(20, 0, -1.0)  # m1 most deprived
    scores25 = scores19.copy()
    scores25[[0, 19]] = scores25[[19, 0]]  # m1 and m20 swap
    avg19 = np.arange(20, 0, -1.0) * 100
    avg25 = avg19[::-1].copy()
    flags = pd.Series(EXACT, index=[f"m{i}" for i in range(1, 21)])
    table = change_table(
        _engine_table(scores19, avg19),
        _engine_table(scores25, avg25),
        flags,
        metrics=["imd", "crime"],
        by_score=["imd"],
    ).set_index("msoa21cd")
    assert table.loc["m1", ["imd_rank_19", "imd_rank_25", "imd_rank_change"]].tolist() == [
        1,
        20,
        19,
    ]
    assert table.loc["m1", ["imd_decile_19", "imd_decile_25", "imd_decile_change"]].tolist() == [
        1,
        10,
        9,
    ]
    assert table.loc["m2", "imd_rank_change"] == 0
    # crime: ranked by average rank (higher = more deprived), reversed in 2025
    assert table.loc["m1", ["crime_rank_19", "crime_rank_25"]].tolist() == [1, 20]
    assert table.loc["m20", "crime_decile_change"] == -9
    assert (table["comparability"] == EXACT).all()


def test_change_table_refuses_editions_with_different_areas():
    one = _engine_table(np.arange(3.0), np.arange(3.0))
    two = one.assign(msoa21cd=["m1", "m2", "m9"])
    with pytest.raises(SchemaError, match="different areas: m3, m9"):
        change_table(one, two, pd.Series(dtype="string"), ["imd"], ["imd"])

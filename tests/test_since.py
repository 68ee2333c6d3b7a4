"""The change package and MHCLG's comparison on tiny tables: config, manifest, plan,
dictionary, readers, and the "Since 2019" page's helpers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iod_msoa._change import (
    APPORTIONED,
    EXACT,
    DecileKept,
    earlier_on_areas,
    lsoa11_pieces,
    lsoas_kept,
)
from iod_msoa._describe import CHANGE_NOTE, area_notes, data_dictionary
from iod_msoa._edition_readers import read_lsoa11_lsoa21
from iod_msoa._editions import EDITIONS
from iod_msoa._errors import SchemaError
from iod_msoa._plan import CHANGE, change_plan
from iod_msoa._since import EarlierProof, read_earlier
from iod_msoa._since_site import (
    REASONS,
    differences,
    outlier_facts,
    people_to_match,
    proof_table,
    weight_groups,
)
from iod_msoa._vocab import DENOMINATOR_SHORTS
from iod_msoa.cli import main

from .test_change import AREAS, CROSSWALK


def test_decile_kept_rounds_half_up_to_mhclg_s_whole_percentage():
    assert DecileKept(2766, 3375).agrees and round(DecileKept(2766, 3375).percent, 2) == 81.96
    assert DecileKept(163, 200).agrees  # 81.5% -> 82 (half up, as MHCLG rounds)
    assert not DecileKept(161, 200).agrees  # 80.5% -> 81


def test_lsoas_kept_gives_merged_lsoas_their_parents_weighted_rank():
    earlier = pd.DataFrame(
        {
            "lsoa11cd": ["A", "B", "C", "D", "F"],
            "imd_rank": [1, 1, 9, 1, 10],
            "pop_total": [1.0, 1.0, 1.0, 100.0, 300.0],
        }
    )
    later = pd.Series({"A": 1, "B1": 1, "B2": 2, "C1": 1, "DF": 1})
    kept = lsoas_kept(CROSSWALK, earlier, later, n_national=10)
    # A, B1 were in decile 1; C1 was not (rank 9); DF: (1 x 100 + 10 x 300) / 400 = 7.75
    assert (kept.kept, kept.of) == (2, 4)


def _on_areas(make_lsoa_table, ranked, weights: pd.Series) -> pd.DataFrame:
    """Five 2011 LSOAs (``ranked`` gives A-D as (code, score, rank), then F) of one district,
    each with the same populations, on the crosswalk's two MSOAs split by ``weights``."""
    pops = dict(zip(DENOMINATOR_SHORTS, (100, 20, 30, 50), strict=True))
    rows = [
        {"lsoa21cd": c, "lad24cd": "E06000001", "score": s, "rank": r, **pops}
        for c, s, r in (*ranked, ("F", 5.0, 5))
    ]
    lsoa = make_lsoa_table(rows).rename(columns={"lsoa21cd": "lsoa11cd"})
    pieces = lsoa11_pieces(CROSSWALK, AREAS, weights)
    tiny = replace(EDITIONS[2025], lsoa_key="lsoa11cd", expected_lsoas=5)
    return earlier_on_areas(lsoa, pieces, tiny).set_index("msoa21cd")


def test_earlier_on_areas_counts_a_split_lsoa_in_each_msoa_by_its_share(make_lsoa_table):
    ranked = (("A", 40.0, 1), ("B", 30.0, 2), ("C", 20.0, 3), ("D", 10.0, 4))
    weights = pd.Series({"A": 1, "B1": 3, "B2": 1, "C1": 1, "C2": 1, "DF": 1})
    table = _on_areas(make_lsoa_table, ranked, weights)
    assert table["pop_total"].to_dict() == {"m1": 175.0, "m2": 325.0}  # A + 3/4 B; the rest
    # m1: A (40, weight 100) and 3/4 of B (30, weight 75)
    assert table.loc["m1", "imd_score"] == pytest.approx((40 * 100 + 30 * 75) / 175)


def test_earlier_on_areas_counts_a_split_lsoa_once_in_its_tie_group(make_lsoa_table):
    """B (split in two pieces) ties with C at rank 2: a group of two LSOAs, mean rank 2.5,
    averaged once (not once more by the engine, nor as a group of three pieces)."""
    ranked = (("A", 40.0, 1), ("B", 30.0, 2), ("C", 30.0, 2), ("D", 10.0, 4))
    table = _on_areas(make_lsoa_table, ranked, pd.Series(1.0, index=AREAS["lsoa21cd"]))
    # m1: A (rank 1, weight 100) and half of B (rank 2.5, weight 50); reported as 6 - mean
    assert table.loc["m1", "imd_average_rank"] == pytest.approx(6 - (1 * 100 + 2.5 * 50) / 150)


def test_change_plan_reads_both_editions_into_its_own_folder(tmp_path):
    plan = change_plan([], packages=tmp_path)
    assert plan.folder == tmp_path / "iod25_msoa_change"
    assert plan.inputs == (
        "file7",
        "lookup",
        "names",
        "boundaries",
        "file7_2019",
        "lsoa11_lsoa21",
    )
    assert change_plan([], tmp_path / "out").folder == tmp_path / "out"


def test_change_dictionary_describes_every_column_and_the_caveat():
    columns = ["msoa21cd", "comparability", "imd_rank_19", "crime_decile_25", "imd_rank_change"]
    table = data_dictionary(columns, CHANGE).set_index("column")
    assert (
        "by the population-weighted average of its LSOAs' index"
        in table.loc["imd_rank_19"].description
    )
    assert "national Crime ranks" not in table.loc["crime_decile_25"].description
    assert "mid-2015" in table.loc["imd_rank_change"].denominator
    assert (
        EXACT in table.loc["comparability"].unit and APPORTIONED in table.loc["comparability"].unit
    )
    assert ("Comparability", CHANGE_NOTE) in area_notes(CHANGE)
    assert "ranks and deciles" in CHANGE_NOTE and "not scores" in CHANGE_NOTE


def test_the_crosswalk_reader_takes_ons_or_geographr_headers(tmp_path):
    ons = tmp_path / "ons.csv"
    ons.write_text("LSOA11CD,LSOA21CD,CHGIND\nE01000001,E01000001,U\nW01000001,W01000001,U\n")
    geographr = tmp_path / "g.csv"
    geographr.write_text("lsoa11_code,lsoa21_code,change_code\nE01000001,E01000001,U\n")
    for path in (ons, geographr):
        assert read_lsoa11_lsoa21(path)["lsoa11cd"].tolist() == ["E01000001"]  # England only
    bad = tmp_path / "bad.csv"
    bad.write_text("lsoa11cd,lsoa21cd\nE01000001,E01000001\n")
    with pytest.raises(SchemaError, match=r"column\(s\) missing: 'chgind'"):
        read_lsoa11_lsoa21(bad)


def test_the_change_reads_file7_2019_refusing_a_2025_file7_by_name(
    tiny_file7, write_file7, tmp_path
):
    path = write_file7(tiny_file7, tmp_path / "f7.csv")
    with pytest.raises(SchemaError, match="is the English Indices of Deprivation 2025 File 7"):
        read_earlier(path)


def test_the_change_reads_file7_2019_naming_missing_columns_and_a_wrong_row_count(tmp_path):
    e19 = EDITIONS[2019]
    path = tmp_path / "f7.csv"
    pd.DataFrame(columns=list(e19.distinctive)).to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"column\(s\) missing: .Index of Multiple Deprivation"):
        read_earlier(path)
    pd.DataFrame({c: [1, 2] for c in e19.file7_columns}).to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"has 2 LSOA rows; the official file has 32,844"):
        read_earlier(path)


def test_cli_lists_the_change_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "change" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["change", "--help"])
    assert "--force" in capsys.readouterr().out


def _change(n: int = 20) -> pd.DataFrame:
    ranks19 = np.arange(1, n + 1)
    ranks25 = ranks19[::-1].copy()
    return pd.DataFrame(
        {
            "msoa21cd": [f"m{i:02d}" for i in ranks19],
            "msoa21hclnm": "name",
            "lad24cd": ["a"] * 15 + ["b"] * 5,
            "lad24nm": ["A"] * 15 + ["B"] * 5,
            "comparability": [APPORTIONED] + [EXACT] * (n - 1),
            "imd_rank_19": ranks19,
            "imd_rank_25": ranks25,
            "imd_rank_change": ranks25 - ranks19,
            "imd_decile_19": np.ceil(ranks19 * 10 / n).astype(int),
            "imd_decile_25": np.ceil(ranks25 * 10 / n).astype(int),
        }
    ).assign(imd_decile_change=lambda t: t["imd_decile_25"] - t["imd_decile_19"])


def test_page_helpers_count_moves_and_list_the_largest_with_their_flags():
    from iod_msoa import since

    change = _change()
    assert since.move_class(pd.Series([-5, -1, 0, 1, 9])).tolist() == [1, 2, 3, 4, 5]
    counts = since.movement_counts(change)
    assert (
        counts["MSOAs"].sum() == 20
        and counts.loc["2+ deciles less deprived", "of which apportioned"] == 1
    )
    away = since.largest_moves(change, n=2, towards_most=False)
    assert away.index.tolist() == ["m01", "m02"] and away["2019 values"].tolist() == [
        APPORTIONED,
        EXACT,
    ]
    assert since.largest_moves(change, n=1).index.tolist() == ["m20"]
    assert since.both_most_deprived(change).empty  # every decile reversed
    assert since.by_district(change)["MSOAs"].tolist() == [15, 5]
    assert since.kept_table(DecileKept(2766, 3375))["share"].tolist() == ["81.96%", "82%"]
    assert since.placeholders().loc["crime", "2019 position from"] == "average of LSOA ranks"
    assert since.placeholders().loc["imd", "in the stand-in"] == "official score"


# --- the File 10 (2019) proof's explanations, on two tiny districts -------------------------

N19 = EDITIONS[2019].expected_lsoas
E19_OLDER = "Older population aged 60 and over, mid-2015 (excluding prisoners)"


def _proof(rows: list[tuple[str, str, float, float, bool, str]]) -> EarlierProof:
    """District D1 (LSOAs A: IDAOPI rank 1, B: rank 100, ten people aged 60+ each) and D2
    (C: rank 5, ten people; D: rank 7, thirty), and the comparisons ``rows``: (district,
    measure, ours, published, matches, note)."""
    lsoa = pd.DataFrame(
        {
            "lsoa11cd": ["A", "B", "C", "D"],
            "lsoa11nm": ["a", "b", "c", "d"],
            "lad19cd": ["D1", "D1", "D2", "D2"],
            "idaopi_rank": [1, 100, 5, 7],
            "idaopi_decile": [1, 1, 1, 1],
            "pop_older_60_plus": [10.0, 10.0, 10.0, 30.0],
        }
    )
    table = pd.DataFrame(
        rows, columns=["area_code", "measure", "ours", "published", "matches", "note"]
    )
    table = table.assign(
        geography="lad19",
        area_name=table["area_code"].str.lower(),
        diff=table["ours"] - table["published"],
    ).rename(columns={"matches": "matches_published_rounding"})
    file10 = pd.DataFrame(
        {
            "lad19cd": ["D1", "D2"],
            "idaopi_average_rank": [N19 + 1 - 48.0, N19 + 1 - 6.5],
            "idaopi_rank_of_average_rank": [2, 1],
        }
    )
    return EarlierProof(table=table, lsoa=lsoa, file10=file10, path=Path("validation.csv"))


def test_people_to_match_finds_the_smallest_one_lsoa_change_giving_file10s_figure():
    # D1: mean rank (1 x 10 + 100 x 10) / 20 = 50.5; File 10's 48 needs B's 10 people to be
    # 10 + (48 x 20 - 1010) / (100 - 48) = 9.04 (or A's 11.06): B, 0.96 people fewer
    ours = N19 + 1 - 50.5
    proof = _proof([("D1", "idaopi_average_rank", ours, N19 + 1 - 48.0, False, "")])
    (row,) = people_to_match(proof).itertuples()
    assert (row.area_code, row.lsoa) == ("D1", "B")
    assert row.change == pytest.approx(-50 / 52) and row.people == pytest.approx(50 / 52)
    weights = np.array([10.0, 10.0 + row.change])
    assert np.average([1, 100], weights=weights) == pytest.approx(48.0)


def test_every_difference_gets_the_first_reason_that_fits():
    big = N19 + 1 - 50.5
    proof = _proof(
        [
            ("D1", "education_average_score", 1.0, 2.0, False, "not comparable: placeholders"),
            ("D1", "income_scale", 10.0, 12.0, False, "estimate: 3-dp rates"),
            ("D1", "imd_average_score", 1.0007, 1.0, False, ""),  # under one unit of 0.001
            ("D2", "imd_average_score", 1.002, 1.0, False, ""),  # two units: not decimals
            ("D1", "idaopi_average_rank", big, N19 + 1 - 48.0, False, ""),  # 0.96 people
            ("D2", "idaopi_average_rank", 10.0, 300.0, False, ""),  # far more people
            ("D1", "imd_local_concentration", 2.0, 0.0, False, ""),  # within D1's 2.5
            ("D2", "imd_local_concentration", 3.0, 0.0, False, ""),  # beyond it
            ("D2", "imd_average_rank", 5.0, 5.0, True, ""),
        ]
    )
    reasons = differences(proof).set_index(["area_code", "measure"])["reason"]
    assert reasons.to_dict() == {
        ("D1", "education_average_score"): "placeholder",
        ("D1", "income_scale"): "estimate",
        ("D1", "imd_average_score"): "decimals",
        ("D2", "imd_average_score"): "outlier",
        ("D1", "idaopi_average_rank"): "weights",
        ("D2", "idaopi_average_rank"): "outlier",
        ("D1", "imd_local_concentration"): "weights",
        ("D2", "imd_local_concentration"): "outlier",
    }
    table = proof_table(proof)
    assert table.loc["imd_average_rank", "districts matching"] == "1 of 1"
    assert table.loc["imd_average_score", "districts matching"] == "0 of 2"
    assert table.loc["idaopi_average_rank", "the others"] == (
        f"1 {REASONS['weights']}, 1 {REASONS['outlier']}"
    )
    groups = weight_groups(proof)
    assert groups.loc[E19_OLDER, "districts differing"] == 1  # the outlier left out
    assert groups.loc[E19_OLDER, "most people needed"] == pytest.approx(round(50 / 52, 3))


def test_the_outlier_is_checked_against_file10_itself():
    # D2: C rank 5 (10 people), D rank 7 (30): mean 6.5; File 10 says 9.5, and D1's 8 lies
    # between: File 10's figure ranks 2nd among File 10's, ours would rank 1st
    proof = _proof([("D2", "idaopi_average_rank", N19 + 1 - 6.5, N19 + 1 - 9.5, False, "")])
    proof.file10["idaopi_average_rank"] = [N19 + 1 - 8.0, N19 + 1 - 9.5]
    proof.file10["idaopi_rank_of_average_rank"] = [1, 2]
    facts = outlier_facts(proof)
    (column,) = facts.columns
    assert column == "d2 (D2), idaopi_average_rank"
    fact = facts[column]
    assert fact["LSOAs in the district"] == "2" and fact["of them with a tied rank"] == "0"
    assert fact["File 10's own rank of its figure"] == "2"
    assert fact["the rank File 10's figure takes among File 10's"] == "2"
    assert fact["the rank our figure would take"] == "1"
    # C's 10 people would have to be 10 + (9.5 x 40 - 260) / (5 - 9.5) = -16.7, D's 30 people
    # 30 + 120 / (7 - 9.5) = -18: the smaller change is C's (no single LSOA could give it)
    given = fact["one LSOA's population that would give File 10's figure"]
    assert given == "C (c): -17 instead of 10"

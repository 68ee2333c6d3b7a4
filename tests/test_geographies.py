"""Every LSOA-built geography through one engine: the table, hand-made lookups, shapes, readers."""

from __future__ import annotations

import copy
import json
import tomllib
from importlib import resources

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from iod_msoa._build import (
    Inputs,
    area_table,
    build,
    build_many,
    check_area_count,
    members,
)
from iod_msoa._config import load_config
from iod_msoa._errors import ConfigError, SchemaError, UnmatchedAreaError
from iod_msoa._geographies import (
    BEST_FIT_NOTE,
    CROSSWALKS,
    GEOGRAPHIES,
    GEOGRAPHIES_TABLE,
    VALIDATED,
    load_geographies,
    select,
)
from iod_msoa._readers import (
    geography_problems,
    published_columns,
    read_geographies,
    read_summaries,
)
from iod_msoa._sources import ResolvedInput
from iod_msoa._validate import compare_with_published
from iod_msoa._vocab import METRICS, PUBLISHED_MEASURES
from iod_msoa.cli import main

from .realdata import FILES, INPUTS, needs_inputs, write_config
from .test_describe import ranked_regions

# The contract: --geography names, areas in England, fit.
CONTRACT = {
    "msoa21": (6856, "exact"),
    "lad24": (296, "exact"),
    "utla24": (153, "exact"),
    "rgn24": (9, "exact"),
    "icb24": (42, "exact"),
    "sicbl24": (106, "exact"),
    "lrf24": (38, "exact"),
    "pcon24": (543, "best fit"),
    "wd25": (6793, "best fit"),
}


# --- the geography table --------------------------------------------------------------------


def test_the_table_is_the_contract():
    assert {k: (g.areas, g.fit) for k, g in GEOGRAPHIES.items()} == CONTRACT
    assert VALIDATED == ("lad24", "utla24", "icb24", "lrf24")
    assert GEOGRAPHIES["msoa21"].dataset == "iod25_msoa"
    assert GEOGRAPHIES["icb24"].dataset == "iod25_icb24"


def test_only_best_fit_areas_carry_the_note():
    assert {k for k, g in GEOGRAPHIES.items() if g.note} == {"pcon24", "wd25"}
    assert "population-weighted centroid" in BEST_FIT_NOTE


def test_inputs_of_each_geography():
    assert GEOGRAPHIES["msoa21"].inputs == ("file7", "lookup", "names", "boundaries")
    assert GEOGRAPHIES["lad24"].inputs == ("file7", "lsoa_boundaries")
    assert GEOGRAPHIES["icb24"].inputs == ("file7", "geographies", "lsoa_boundaries")


def test_select_defaults_all_and_unknown():
    assert [g.key for g in select(None)] == ["msoa21"]
    assert [g.key for g in select(["all"])] == list(GEOGRAPHIES)
    assert [g.key for g in select(["wd25", "lad24"])] == ["lad24", "wd25"]  # table order
    assert [g.key for g in select(["all"], among=VALIDATED)] == list(VALIDATED)
    with pytest.raises(ConfigError, match="unknown geography 'rgn24': choose from lad24"):
        select(["rgn24"], among=VALIDATED)


def test_select_takes_one_name_as_a_string():
    assert [g.key for g in select("icb24", among=VALIDATED)] == ["icb24"]
    assert [g.key for g in select("all", among=VALIDATED)] == list(VALIDATED)
    with pytest.raises(ConfigError, match="unknown geography 'icb': choose from"):
        select("icb", among=VALIDATED)


# --- the engine with hand-made lookups ------------------------------------------------------


@pytest.fixture
def lsoa(make_lsoa_table):
    """Five LSOAs in two LADs with different populations, so weights matter."""
    rows = [
        (1, "E06000001", 40.0, 1, 100),
        (2, "E06000001", 30.0, 2, 300),
        (3, "E06000001", 20.0, 3, 200),
        (4, "E06000002", 10.0, 4, 400),
        (5, "E06000002", 5.0, 5, 500),
    ]
    return make_lsoa_table(
        [
            {
                "lsoa21cd": f"E0100000{i}",
                "lad24cd": lad,
                "score": score,
                "rank": rank,
                "pop_total": pop,
                "pop_children_0_15": pop // 10,
                "pop_older_60_plus": pop // 4,
                "pop_working_age_18_66": pop // 2,
            }
            for i, lad, score, rank, pop in rows
        ]
    )


def _members(key: str, codes: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lsoa21cd": [f"E0100000{i}" for i in range(1, 6)],
            f"{key}cd": codes,
            f"{key}nm": [f"Area {c}" for c in codes],
        }
    )


def test_area_table_weights_by_population_and_crosses_lads(lsoa):
    # ICB X takes LSOAs from both LADs: ICBs need not nest in LADs.
    icb = GEOGRAPHIES["icb24"]
    table = area_table(icb, lsoa, _members("icb24", ["X", "X", "Y", "X", "Y"]))
    assert list(table.columns[:3]) == ["icb24cd", "icb24nm", "n_lsoa"]
    assert "lad24cd" not in table.columns
    x = table.set_index("icb24cd").loc["X"]
    assert x["n_lsoa"] == 3
    assert x["pop_total"] == 100 + 300 + 400
    assert x["imd_score"] == pytest.approx((40 * 100 + 30 * 300 + 10 * 400) / 800)
    # Income is weighted by total population, IDACI by children: same here up to scale.
    assert x["idaci_score"] == pytest.approx((40 * 10 + 30 * 30 + 10 * 40) / 80)
    assert table["imd_rank"].tolist() == [1, 2]
    assert table["pop_total"].sum() == lsoa["pop_total"].sum()


def test_areas_nesting_in_lads_carry_their_lad(lsoa):
    wards = area_table(GEOGRAPHIES["wd25"], lsoa, _members("wd25", ["A", "A", "B", "C", "C"]))
    assert list(wards.columns[:5]) == ["wd25cd", "wd25nm", "lad24cd", "lad24nm", "n_lsoa"]
    assert wards.set_index("wd25cd")["lad24cd"].to_dict() == {
        "A": "E06000001",
        "B": "E06000001",
        "C": "E06000002",
    }


def test_an_area_split_across_lads_is_an_error_where_areas_must_nest(lsoa):
    with pytest.raises(UnmatchedAreaError, match=r"wards split across local authorities.*: B"):
        area_table(GEOGRAPHIES["wd25"], lsoa, _members("wd25", ["A", "A", "B", "B", "C"]))


def test_lads_come_from_file7(lsoa):
    lads = lsoa[["lsoa21cd", "lad24cd", "lad24nm"]]
    table = area_table(GEOGRAPHIES["lad24"], lsoa, lads)
    assert list(table.columns[:3]) == ["lad24cd", "lad24nm", "n_lsoa"]
    assert table["n_lsoa"].tolist() == [3, 2]


def test_a_lookup_of_another_vintage_is_refused(lsoa):
    table = area_table(GEOGRAPHIES["icb24"], lsoa, _members("icb24", ["X"] * 5))
    with pytest.raises(SchemaError, match="gives 1 ICBs; England has 42"):
        check_area_count(GEOGRAPHIES["icb24"], table, "lookup")


def test_an_lrf_that_gets_no_lsoa_through_the_crosswalk_is_named():
    known = CROSSWALKS["pfa_lrf"].frame().drop_duplicates("lrf24cd")
    table = known[known["lrf24cd"] != "E48000006"]  # Cumbria's LADs in Lancashire's force
    with pytest.raises(SchemaError) as caught:
        check_area_count(GEOGRAPHIES["lrf24"], table, "lad_pfa (x.csv)", "pfa_lrf")
    assert str(caught.value) == (
        "lad_pfa (x.csv): gives 37 LRFs; England has 38 (Local Resilience Forum (2024)); "
        "no LSOA is in E48000006 (Cumbria) of crosswalk pfa_lrf (geographies.toml). "
        "Check that the lookup is of that vintage."
    )


def test_an_lsoa_missing_from_the_lookup_is_an_error(lsoa):
    members = _members("icb24", ["X", "X", "Y", "X", "Y"]).iloc[:4]
    with pytest.raises(UnmatchedAreaError, match=r"1 LSOA.*no icb24cd.*E01000005"):
        area_table(GEOGRAPHIES["icb24"], lsoa, members)


# --- shapes: the union of the LSOAs ---------------------------------------------------------


def _lookup_frame() -> pd.DataFrame:
    table = {"lsoa21cd": ["E01000001", "E01000002"], "lad24cd": ["E06000001", "E06000001"]}
    for g in GEOGRAPHIES.values():
        if g.members == "geographies":
            code = g.code_pattern.strip("^$").replace("[0-9]{6}", "000001")
            code = code.replace("(06|08|09|10)", "06")
            table |= {g.code: [code, code], g.name: ["One", "One"]}
    return pd.DataFrame(table)


def test_read_geographies_keeps_the_lookup_columns(tmp_path):
    path = tmp_path / "geo.csv"
    _lookup_frame().to_csv(path, index=False)
    table = read_geographies(path)
    assert list(table.columns[:3]) == ["lsoa21cd", "utla24cd", "utla24nm"]
    assert "lad24cd" not in table.columns  # LAD always comes from File 7
    assert read_geographies(path, with_lad=True).columns[-1] == "lad24cd"  # to check it
    assert table["icb24cd"].tolist() == ["E54000001"] * 2


def test_read_geographies_reports_every_problem(tmp_path):
    frame = _lookup_frame()
    frame.loc[1, "icb24cd"] = "Q99"
    frame.loc[0, "rgn24nm"] = ""
    frame.loc[1, "pcon24nm"] = "Other"
    path = tmp_path / "geo.csv"
    frame.drop(columns="wd25nm").to_csv(path, index=False)
    with pytest.raises(SchemaError, match="'wd25nm'"):
        read_geographies(path)
    frame.to_csv(path, index=False)
    with pytest.raises(SchemaError) as err:
        read_geographies(path)
    message = str(err.value)
    assert "'icb24cd' has 1 missing or malformed code(s)" in message
    assert "row 3 (E01000002)" in message
    assert "'rgn24nm' has 1 blank name(s)" in message
    assert message.endswith("; and 2 more problem(s)")  # at most three listed
    (renamed,) = geography_problems(frame.astype("string"), GEOGRAPHIES["pcon24"])
    assert "pcon24cd code(s) with more than one pcon24nm: E14000001" in str(renamed)


def test_two_codes_with_one_name_is_an_error_except_where_names_repeat(tmp_path):
    frame = _lookup_frame()
    frame.loc[1, ["icb24cd", "wd25cd"]] = ["E54000002", "E05000002"]  # both names stay "One"
    path = tmp_path / "geo.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SchemaError) as err:
        read_geographies(path)
    message = str(err.value)
    assert "icb24nm name(s) given to more than one icb24cd: 'One' (E54000001, E54000002)" in message
    assert "wd25" not in message  # ward names repeat across local authorities
    frame.loc[1, "icb24nm"] = "Two"
    frame.to_csv(path, index=False)
    assert read_geographies(path)["wd25nm"].tolist() == ["One", "One"]


def test_load_inputs_puts_the_geographies_table_together_as_a_build_would(
    tmp_path, tiny_file7, write_file7, monkeypatch
):
    from functools import partial

    from iod_msoa import _build
    from iod_msoa._config import Config
    from iod_msoa._readers import read_file7

    # A four-LSOA File 7 stands for England here.
    tiny = ("lsoa", partial(read_file7, expected_rows=None))
    monkeypatch.setitem(_build._TABLE_READERS, "file7", tiny)
    load_inputs = _build.load_inputs

    geo = tmp_path / "geo.csv"
    pd.DataFrame(
        {
            "lsoa21cd": tiny_file7["lsoa21cd"],
            "icb24cd": ["E54000001", "E54000001", "E54000001", "E54000002"],
            "icb24nm": ["One", "One", "One", "Two"],
            "sicbl24cd": ["E38000001", "E38000001", "E38000002", "E38000002"],
        }
    ).to_csv(geo, index=False)
    inputs = {"file7": write_file7(tiny_file7, tmp_path / "file7.csv"), "geographies": geo}
    config = Config(inputs=inputs, allow_unverified=True, cache_dir=tmp_path / "cache")
    assert load_inputs(config, ["file7"], progress=False).geographies is None
    # ICBs from the table; sub-ICB locations, not built, read only to check they nest.
    with pytest.raises(SchemaError, match="sicbl24cd areas in more than one icb24cd: E38000002"):
        load_inputs(config, ["file7"], progress=False, geographies=["icb24"])
    pd.read_csv(geo).drop(columns="sicbl24cd").to_csv(geo, index=False)
    table = load_inputs(config, ["file7"], progress=False, geographies=["icb24"]).geographies
    assert list(table.columns) == ["lsoa21cd", "icb24cd", "icb24nm"]


def test_a_lookup_with_some_geographies_builds_those_and_names_the_rest(tmp_path):
    path = tmp_path / "icb.csv"
    _lookup_frame()[["lsoa21cd", "icb24cd", "icb24nm"]].to_csv(path, index=False)
    table = read_geographies(path)
    assert list(table.columns) == ["lsoa21cd", "icb24cd", "icb24nm"]
    resolved = {
        "geographies": ResolvedInput(
            "geographies", path, None, "", 0, None, "unpinned", "local", "", "", ""
        )
    }
    inputs = Inputs(resolved=resolved, geographies=table)
    assert members(GEOGRAPHIES["icb24"], inputs)["icb24cd"].tolist() == ["E54000001"] * 2
    with pytest.raises(SchemaError, match=r"icb\.csv\): has no wd25cd/wd25nm columns, so wards"):
        members(GEOGRAPHIES["wd25"], inputs)
    _lookup_frame()[["lsoa21cd", "lad24cd"]].to_csv(path, index=False)
    with pytest.raises(SchemaError, match="has none of the geography columns utla24cd/utla24nm"):
        read_geographies(path)


# --- reading MHCLG's summaries --------------------------------------------------------------


def _summary_values() -> dict[str, list[float]]:
    return {c: [i + 0.25, i + 0.5] for i, c in enumerate(published_columns())}


def test_read_summaries_accepts_the_2025_spelling_of_extent(tmp_path):
    values = _summary_values()
    table = {"icb24_code": ["E54000008", "E54000010"], "icb24_name": ["A", "B"]}
    table |= {k.replace("imd25_", "imd_2025_"): v for k, v in values.items()}
    path = tmp_path / "icb.csv"
    pd.DataFrame(table).to_csv(path, index=False)
    read = read_summaries(path, GEOGRAPHIES["icb24"])
    assert list(read.columns[:2]) == ["icb24cd", "icb24nm"]
    assert read["imd25_extent"].tolist() == values["imd25_extent"]


def test_read_summaries_skips_empty_rows_as_excel_leaves_them(tmp_path):
    values = _summary_values()
    table = {"icb24_code": ["E54000008", "E54000010"], "icb24_name": ["A", "B"]} | values
    path = tmp_path / "icb.csv"
    pd.DataFrame(table).to_csv(path, index=False)
    with path.open("a") as csv:
        csv.write("," * (len(table) - 1) + "\n")
    read = read_summaries(path, GEOGRAPHIES["icb24"])
    assert read["icb24cd"].tolist() == ["E54000008", "E54000010"]
    assert read["imd_average_score"].tolist() == values["imd_average_score"]


def test_read_summaries_of_average_scores_only(tmp_path):
    table = {"utla24cd": ["E06000009"], "utla24nm": ["Blackpool"], "n_lsoa": [94]}
    table |= {f"{m.short}_average_score": [1.5] for m in METRICS}
    path = tmp_path / "utla.csv"
    pd.DataFrame(table).to_csv(path, index=False)
    read = read_summaries(path, GEOGRAPHIES["utla24"])
    assert list(read.columns) == ["utla24cd", "utla24nm", *published_columns(["average_score"])]
    assert "education_skills_and_training_average_score" in read.columns


def test_idaci_and_idaopi_are_compared_when_a_summaries_file_gives_them(tmp_path):
    """The one-table conversions leave them out (read without); MHCLG's files have them
    (read, so validate compares them); a file giving only some of them is damaged."""
    everything = {"icb24_code": ["E54000008"]} | {c: [1.0] for c in published_columns()}
    without = {k: v for k, v in everything.items() if not k.startswith(("idaci", "idaopi"))}
    assert len(without) == 1 + len(published_columns(optional=False))
    for name, table in {"with": everything, "without": without}.items():
        pd.DataFrame(table).to_csv(tmp_path / f"{name}.csv", index=False)
    icb = GEOGRAPHIES["icb24"]
    read = read_summaries(tmp_path / "with.csv", icb)
    assert {"idaci_average_score", "idaopi_average_rank"} <= set(read.columns)
    ours = pd.DataFrame({"icb24cd": ["E54000008"], "icb24nm": ["NHS Cheshire and Merseyside"]})
    ours = ours.assign(
        **{pm.our_column(m): [1.0] for m in METRICS for pm in PUBLISHED_MEASURES if m.published}
    )
    measures = set(compare_with_published(ours, read, icb)["measure"])
    assert {"idaci_average_score", "idaopi_proportion_most_deprived_10"} <= measures
    assert set(read_summaries(tmp_path / "without.csv", icb).columns) == set(without) - {
        "icb24_code"
    } | {"icb24cd"}
    del everything["idaopi_average_rank"]
    pd.DataFrame(everything).to_csv(tmp_path / "partial.csv", index=False)
    with pytest.raises(SchemaError, match=r"File 13.*'idaopi_average_rank'"):
        read_summaries(tmp_path / "partial.csv", icb)


def test_read_summaries_xlsx_with_the_official_code_header(tmp_path):
    path = tmp_path / "file13.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        pd.DataFrame({"Notes": ["File 13"]}).to_excel(book, sheet_name="Notes", index=False)
        sheet = {
            "Integrated Care Board Code (2024)": ["E54000008"],
            "Integrated Care Board Name (2024)": ["NHS Cheshire and Merseyside"],
        }
        sheet |= {c: [1.0] for c in published_columns()}
        pd.DataFrame(sheet).to_excel(book, sheet_name="IMD", index=False)
    read = read_summaries(path, GEOGRAPHIES["icb24"])
    assert read.loc[0, "icb24nm"] == "NHS Cheshire and Merseyside"
    bad = tmp_path / "bad.xlsx"
    pd.DataFrame({"ICB": ["E54000008"]}).to_excel(bad, sheet_name="IMD", index=False)
    with pytest.raises(SchemaError, match=r"File 13 summaries .*no 'Integrated Care Board Code"):
        read_summaries(bad, GEOGRAPHIES["icb24"])


def test_a_partial_mhclg_table_is_an_error_not_a_smaller_comparison(tmp_path):
    table = {"lrf24_code": ["E48000001"]} | {c: [1.0] for c in published_columns()}
    del table["imd25_local_concentration"]
    path = tmp_path / "lrf.csv"
    pd.DataFrame(table).to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"File 14.*'imd25_local_concentration'"):
        read_summaries(path, GEOGRAPHIES["lrf24"])


def test_comparison_names_the_geography_and_skips_unpublished_measures():
    utla = GEOGRAPHIES["utla24"]
    ours = pd.DataFrame({"utla24cd": ["A"], "utla24nm": ["Ayton"]})
    ours = ours.assign(**{f"{m.short}_score": [1.0004] for m in METRICS})
    published = pd.DataFrame({"utla24cd": ["A"]})
    given = published_columns(["average_score"], optional=False)
    published = published.assign(**{c: [1.0] for c in given})
    table = compare_with_published(ours, published, utla)
    assert set(table["geography"]) == {"utla24"}
    assert table["area_name"].tolist() == ["Ayton"] * 8
    assert table["measure"].str.endswith("_average_score").all()
    assert table["matches_published_rounding"].all()


# --- command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["build", "--geography", "county"], "invalid choice: 'county'"),
        (["validate", "--geography", "rgn24"], "invalid choice: 'rgn24'"),
    ],
)
def test_cli_refuses_unknown_geographies(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("name", ["nonsense", "all"])
def test_the_python_build_refuses_an_unknown_geography_with_a_config_error(tmp_path, name):
    with pytest.raises(ConfigError, match=repr(name)):
        build(None, tmp_path / "out", progress=False, geography=name)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("geographies", "message"),
    [
        (["nonsense"], "unknown geography 'nonsense': choose from msoa21"),
        ([3], "a geography is a name .* not 3"),
        ([], "no geography given"),
    ],
)
def test_build_many_refuses_what_is_not_a_geography_with_a_config_error(
    tmp_path, geographies, message
):
    with pytest.raises(ConfigError, match=message):
        build_many(None, geographies, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.realdata
@needs_inputs
def test_build_many_takes_names_as_build_and_validate_do(tmp_path):
    config = load_config(write_config(tmp_path))
    results = build_many(config, ["rgn24"], tmp_path / "rgn", progress=False)
    assert [(r.geography.key, len(r.table)) for r in results] == [("rgn24", 9)]
    again = build_many(config, "rgn24", tmp_path / "rgn", progress=False)
    assert again[0].skipped and again[0].geography is GEOGRAPHIES["rgn24"]


@pytest.mark.realdata
@needs_inputs
def test_a_geographies_table_lacking_a_geography_fails_before_any_folder(tmp_path, capsys):
    frame = pd.read_csv(INPUTS / FILES["geographies"], nrows=3)
    path = tmp_path / "no_wards.csv"
    frame.drop(columns=["wd25cd", "wd25nm"]).to_csv(path, index=False)
    config = write_config(tmp_path, geographies=path)
    out = tmp_path / "out"
    argv = ["build", "--config", str(config), "--geography", "all", "--out", str(out), "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "has no wd25cd/wd25nm columns, so wards cannot be built" in err
    assert "--geography pcon24" in err and "--geography wd25" not in err
    assert "\n" not in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.realdata
@needs_inputs
def test_a_table_that_splits_a_lad_between_upper_tier_authorities_is_refused(tmp_path, capsys):
    frame = pd.read_csv(INPUTS / FILES["geographies"], dtype=str)
    moved = frame.index[frame["lsoa21cd"] == "E01000022"]
    frame.loc[moved, ["utla24cd", "utla24nm"]] = ["E09000001", "City of London"]
    path = tmp_path / "split.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = ["build", "--config", str(write_config(tmp_path, geographies=path))]
    assert main([*argv, "--geography", "utla24", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"iod-msoa: error: LSOA geographies lookup ({path})")
    assert "split between utla24cd areas: E09000002" in err and "E01000022" in err
    assert "\n" not in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["notes.txt"]
    # A folder the failed run created is removed again, parents too, while still empty.
    fresh = tmp_path / "new" / "deeper"
    assert main([*argv, "--geography", "utla24", "--out", str(fresh), "--quiet"]) == 1
    assert not (tmp_path / "new").exists()


def _dev_table() -> pd.DataFrame:
    return pd.read_csv(INPUTS / FILES["geographies"], dtype=str)


@pytest.mark.realdata
@needs_inputs
def test_a_local_table_that_does_not_nest_is_refused(tmp_path, capsys):
    frame = _dev_table()
    moved = frame["lsoa21cd"] == "E01000006"  # to another ICB, its sub-ICB location kept
    other = frame.loc[frame["icb24cd"] == "E54000008", ["icb24cd", "icb24nm"]].iloc[0]
    frame.loc[moved, ["icb24cd", "icb24nm"]] = other.tolist()
    path = tmp_path / "cross.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    argv = ["build", "--config", str(write_config(tmp_path, geographies=path)), "--out", str(out)]
    assert main([*argv, "--geography", "icb24", "--geography", "sicbl24", "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"iod-msoa: error: LSOA geographies lookup ({path})")
    assert "sicbl24cd areas in more than one icb24cd: E38000255" in err and "E01000006" in err
    assert "\n" not in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.realdata
@needs_inputs
def test_a_gap_in_a_column_not_built_does_not_stop_the_build(tmp_path, capsys):
    frame = _dev_table()
    frame.loc[frame["lsoa21cd"] == "E01000006", "wd25cd"] = None
    path = tmp_path / "gap.csv"
    frame.to_csv(path, index=False)
    argv = ["build", "--config", str(write_config(tmp_path, geographies=path)), "--quiet"]
    assert main([*argv, "--geography", "wd25", "--out", str(tmp_path / "wd")]) == 1
    err = capsys.readouterr().err.strip()
    assert "column 'wd25cd' has 1 missing or malformed code(s)" in err and "E01000006" in err
    assert main([*argv, "--geography", "rgn24", "--out", str(tmp_path / "rgn")]) == 0
    assert len(pd.read_csv(tmp_path / "rgn" / "iod25_rgn24.csv")) == 9


def _moved(frame: pd.DataFrame, key: str, lsoa: str, to: str) -> pd.DataFrame:
    """The table with ``lsoa`` placed in ``to``, an area of geography ``key``, alone."""
    name = frame.loc[frame[f"{key}cd"] == to, f"{key}nm"].iloc[0]
    frame.loc[frame["lsoa21cd"] == lsoa, [f"{key}cd", f"{key}nm"]] = [to, name]
    return frame


@pytest.mark.realdata
@needs_inputs
@pytest.mark.parametrize(
    ("key", "message"),
    [
        # a Barking LSOA in Bolton North East: the table's rgn24cd says London
        ("pcon24", "pcon24cd areas in more than one rgn24cd: E14001110"),
        # a City of London LSOA's ICB changed, its sub-ICB location kept
        ("icb24", "sicbl24cd areas in more than one icb24cd: E38000255"),
    ],
)
def test_a_table_contradicting_itself_is_refused_when_one_of_the_two_is_built(
    tmp_path, capsys, key, message
):
    to = {"pcon24": "E14001110", "icb24": "E54000008"}[key]
    path = tmp_path / "odd.csv"
    _moved(_dev_table(), key, "E01000006", to).to_csv(path, index=False)
    out = tmp_path / "out"
    argv = ["build", "--config", str(write_config(tmp_path, geographies=path)), "--out", str(out)]
    assert main([*argv, "--geography", key, "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"iod-msoa: error: LSOA geographies lookup ({path})")
    assert message in err and "E01000006" in err
    assert "\n" not in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.realdata
@needs_inputs
def test_an_lrf_from_the_police_lookup_is_checked_against_the_tables_regions(tmp_path, capsys):
    table = _dev_table()
    pfa = pd.read_csv(
        INPUTS.parent / "geographies/lookup_ltla24_csp24_pfa24_geographr.csv", dtype=str
    )
    pfa = pfa.rename(columns={"ltla24_code": "LAD24CD", "pfa24_code": "PFA24CD"})
    norfolk = pfa.loc[pfa["LAD24CD"] == "E07000148", "PFA24CD"].iloc[0]
    pfa.loc[pfa["LAD24CD"] == "E07000136", "PFA24CD"] = norfolk  # Boston, East Midlands
    path = tmp_path / "pfa.csv"
    pfa[["LAD24CD", "PFA24CD"]].to_csv(path, index=False)
    gap = tmp_path / "gap.csv"
    table.loc[table["lsoa21cd"] == "E01000006", "rgn24cd"] = None  # not built: left out
    table.to_csv(gap, index=False)
    out = tmp_path / "out"
    config = write_config(tmp_path, geographies=gap, lad_pfa=path)
    argv = ["build", "--config", str(config), "--out", str(out), "--quiet"]
    assert main([*argv, "--geography", "lrf24"]) == 1
    err = capsys.readouterr().err.strip()
    assert f"ONS lookups (lad_pfa: {path}) with LSOA geographies lookup ({gap})" in err
    assert "lrf24cd areas in more than one rgn24cd: E48000023" in err
    assert "\n" not in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.realdata
@needs_inputs
def test_a_gap_in_the_column_checked_for_nesting_does_not_stop_the_build(tmp_path):
    table = _dev_table()
    table.loc[table["lsoa21cd"] == "E01000006", "rgn24cd"] = None
    table.loc[table["lsoa21cd"] == "E01000007", "rgn24cd"] = "London"
    table.loc[table["lsoa21cd"] == "E01000008", "wd25cd"] = None
    path = tmp_path / "gaps.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "out"
    argv = ["build", "--config", str(write_config(tmp_path, geographies=path)), "--quiet"]
    assert main([*argv, "--geography", "pcon24", "--out", str(out)]) == 0
    assert len(pd.read_csv(out / "iod25_pcon24.csv")) == 543


def _ons_lsoa_icb(frame: pd.DataFrame) -> pd.DataFrame:
    """The development table in the shape of ONS's LSOA -> sub-ICB location -> ICB lookup."""
    fields = ["lsoa21cd", "sicbl24cd", "sicbl24nm", "icb24cd", "icb24nm"]
    return frame[fields].rename(columns=str.upper)


@pytest.mark.realdata
@needs_inputs
def test_an_ons_lookup_given_wins_over_the_geographies_table(tmp_path, capsys):
    table = _dev_table()
    lookup = _ons_lsoa_icb(table)
    moved = lookup["LSOA21CD"] == "E01012392"  # Halton, to Lancashire and South Cumbria
    lookup.loc[moved, ["SICBL24CD", "SICBL24NM", "ICB24CD", "ICB24NM"]] = [
        *table.loc[table["sicbl24cd"] == "E38000015", ["sicbl24cd", "sicbl24nm"]].iloc[0],
        *table.loc[table["icb24cd"] == "E54000048", ["icb24cd", "icb24nm"]].iloc[0],
    ]
    path = tmp_path / "lsoa_icb.csv"
    lookup.to_csv(path, index=False)
    out = tmp_path / "out"
    config = write_config(tmp_path, lsoa_icb=path)  # the development table is given too
    argv = ["build", "--config", str(config), "--quiet"]
    assert main([*argv, "--geography", "icb24", "--geography", "rgn24", "--out", str(out)]) == 0
    icb = pd.read_csv(out / "iod25_icb24" / "iod25_icb24.csv").set_index("icb24cd")["n_lsoa"]
    usual = table["icb24cd"].value_counts()
    assert icb["E54000008"] == usual["E54000008"] - 1
    assert icb["E54000048"] == usual["E54000048"] + 1
    made_from = json.loads((out / "iod25_icb24" / "iod25_icb24_provenance.json").read_text())[
        "inputs"
    ]
    assert made_from["lsoa_icb"]["file"] == path.name and "geographies" not in made_from
    regions = json.loads((out / "iod25_rgn24" / "iod25_rgn24_provenance.json").read_text())[
        "inputs"
    ]
    assert "geographies" in regions and "lsoa_icb" not in regions
    # Given, it is checked as the assembled path checks it.
    split = _ons_lsoa_icb(table)
    split.loc[split["LSOA21CD"] == "E01000006", "ICB24CD"] = "E54000008"
    split.to_csv(path, index=False)
    assert main([*argv, "--geography", "icb24", "--out", str(tmp_path / "split")]) == 1
    err = capsys.readouterr().err.strip()
    assert f"ONS lookups (lsoa_icb: {path})" in err and "more than one icb24cd: E38000255" in err
    assert "\n" not in err and "Traceback" not in err


@pytest.mark.realdata
@needs_inputs
def test_a_lookup_given_and_the_table_must_nest_together(tmp_path, capsys):
    table = _dev_table()
    regions = table[["lad24cd", "rgn24cd", "rgn24nm"]].drop_duplicates()
    regions.loc[regions["lad24cd"] == "E07000136", ["rgn24cd", "rgn24nm"]] = [
        "E12000006",
        "East of England",
    ]  # Boston, without the rest of Lincolnshire
    path = tmp_path / "lad_rgn.csv"
    regions.rename(columns=str.upper).to_csv(path, index=False)
    out = tmp_path / "out"
    argv = ["build", "--config", str(write_config(tmp_path, lad_rgn=path)), "--out", str(out)]
    assert main([*argv, "--geography", "utla24", "--geography", "rgn24", "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("iod-msoa: error: LSOA geographies lookup (")
    assert f"with ONS lookups (lad_rgn: {path})" in err
    assert "utla24cd areas in more than one rgn24cd: E10000019" in err
    assert "\n" not in err and "Traceback" not in err
    assert not out.exists()


# --- the "Your area" page's helpers ---------------------------------------------------------


def test_available_geographies_say_what_is_missing(tmp_path):
    from iod_msoa import _site
    from iod_msoa._config import Config

    chosen, missing = _site.available_geographies(Config())
    # Without a local `geographies` table every geography (LRFs too, through the police
    # force area lookup and the crosswalk) is assembled from ONS lookups.
    assert [g.key for g in chosen] == list(GEOGRAPHIES)
    assert missing == {}
    # File 14 has no known download address: LRFs are checked only when it is given.
    assert _site.checkable(Config(), chosen) == ["lad24", "utla24", "icb24"]
    local = Config(inputs={"geographies": tmp_path / "g.csv"})
    everything = _site.available_geographies(local)[0]
    assert [g.key for g in everything] == list(GEOGRAPHIES)
    # File 14 has no known download address: LRFs are checked only when it is given.
    assert _site.checkable(local, everything) == ["lad24", "utla24", "icb24"]
    local = Config(inputs={"geographies": tmp_path / "g.csv", "lrf_summaries": tmp_path / "l"})
    assert _site.checkable(local, everything) == ["lad24", "utla24", "icb24", "lrf24"]


def test_the_areas_page_names_the_geographies_without_deciles():
    from types import SimpleNamespace

    from iod_msoa import _site

    regions = SimpleNamespace(geography=GEOGRAPHIES["rgn24"], table=ranked_regions(9))
    ten = SimpleNamespace(geography=GEOGRAPHIES["lrf24"], table=ranked_regions(10))
    assert _site.without_deciles([ten]) == ""
    said = _site.without_deciles([ten, regions])
    assert "fewer than 10 areas" in said and "regions (9) are coloured by rank" in said
    assert "LRF" not in said


def test_area_map_data_without_lads_and_its_lazy_script():
    from iod_msoa import _mapdata

    icb = GEOGRAPHIES["icb24"]
    areas = gpd.GeoDataFrame(
        {"icb24cd": ["E54000001", "E54000002"], "icb24nm": ["North", "South"]}
        | {f"{m.short}_{s}": [1.5, 0.5] for m in METRICS for s in ("score", "rank", "decile")},
        geometry=[box(0, 50, 1, 51), box(1, 50, 2, 51)],
        crs=4326,
    )
    data = _mapdata.explore_data(areas, ["#000000"] * 10, ["imd"], geography=icb)
    assert (data["key"], data["noun"], data["nouns"]) == ("icb24", "ICB", "ICBs")
    assert data["names"] == ["North", "South"] and "ladNames" not in data
    script = _mapdata.area_map_script(data)
    assert script.startswith('IodMsoaMap.provide("icb24", {"key":"icb24"')
    html = _mapdata.areas_map_html(
        [{"key": "icb24", "label": "ICBs", "src": "areas-data/icb24.js"}], first="icb24"
    )
    assert 'IodMsoaMap.areas("areas-map", {"choices":[{"key":"icb24"' in html
    assert '"first":"icb24"' in html and "application/json" not in html  # no data inline


def test_a_geographies_table_with_no_rows_is_one_clear_error(tmp_path):
    path = tmp_path / "geo.csv"
    _lookup_frame().iloc[:0].to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"geo\.csv\): has no rows"):
        read_geographies(path)


# --- geographies.toml checked on load -------------------------------------------------------


@pytest.fixture
def table():
    """An editable copy of the packaged geography table."""
    text = resources.files("iod_msoa").joinpath(GEOGRAPHIES_TABLE).read_text(encoding="utf-8")
    return copy.deepcopy(tomllib.loads(text))


def test_the_packaged_geography_table_loads(table):
    assert load_geographies(table) is table


def test_a_geography_naming_an_unknown_input_is_named(table):
    table["geographies"][1]["shapes"] = "lsoa_boundary"
    table["geographies"][2]["summaries"] = "utla_summary"
    with pytest.raises(ConfigError) as caught:
        load_geographies(table)
    assert str(caught.value) == (
        "data/geographies.toml: [[geographies]] lad24: shapes 'lsoa_boundary' is not an input "
        "of the source manifest; [[geographies]] utla24: summaries 'utla_summary' is not an "
        "input of the source manifest"
    )


def test_members_and_names_must_be_inputs_too(table):
    table["geographies"][0]["members"] = "lookups"
    table["geographies"][0]["names"] = "hcl_names"
    with pytest.raises(ConfigError, match=r"members 'lookups' is not an input.*names 'hcl_names'"):
        load_geographies(table)


def test_within_an_unknown_geography_is_named(table):
    table["geographies"][2]["within"] = ["rgn24", "lrf"]
    with pytest.raises(ConfigError, match=r"\[\[geographies\]\] utla24: within 'lrf' is not a geo"):
        load_geographies(table)


def test_an_unknown_ons_lookup_or_crosswalk_is_named(table):
    table["geographies"][3]["ons_lookup"] = "lad_region"
    table["ons_lookups"]["lad_pfa"]["crosswalk"] = "pfa_lrf24"
    with pytest.raises(ConfigError) as caught:
        load_geographies(table)
    assert "rgn24: ons_lookup 'lad_region' is not among [ons_lookups]" in str(caught.value)
    assert "[ons_lookups.lad_pfa] crosswalk 'pfa_lrf24' is not among [crosswalks]" in str(
        caught.value
    )


def test_an_ons_lookup_that_is_not_an_input_is_named(table):
    table["ons_lookups"]["lsoa_wards"] = table["ons_lookups"].pop("lsoa_ward")
    with pytest.raises(ConfigError, match=r"\[ons_lookups.lsoa_wards\] is not an input"):
        load_geographies(table, inputs=["file7", "lsoa_ward"])


def test_an_entry_lacking_a_field_or_with_an_unknown_one_is_named(table):
    del table["geographies"][0]["code_pattern"]
    table["crosswalks"]["pfa_lrf"]["colour"] = "red"
    with pytest.raises(ConfigError) as caught:
        load_geographies(table)
    assert str(caught.value) == (
        "data/geographies.toml: [[geographies]] msoa21 lacks code_pattern; "
        "[crosswalks.pfa_lrf] has unknown field(s) colour"
    )


def test_a_geography_given_twice_is_named(table):
    table["geographies"].append(table["geographies"][0])
    with pytest.raises(ConfigError, match="geography 'msoa21' is given twice"):
        load_geographies(table)

"""Real-data tests: every geography built in one pass, and MHCLG's four summaries reproduced."""

from __future__ import annotations

import csv as csv_module
import json
import re

import geopandas as gpd
import pandas as pd
import pytest

import iod_msoa
from iod_msoa._geographies import GEOGRAPHIES, VALIDATED
from iod_msoa._readers import read_geographies
from iod_msoa._vocab import DENOMINATOR_SHORTS, METRICS

from .realdata import FILES as INPUT_FILES
from .realdata import INPUTS, OFFICIAL_LADS, needs_inputs

pytestmark = [pytest.mark.realdata, needs_inputs]


@pytest.fixture(scope="module")
def config(real_config):
    return iod_msoa.load_config(real_config)


@pytest.fixture(scope="module")
def built(built_all):
    """Every geography, built in one pass once per session (shared: read only)."""
    return built_all


@pytest.fixture(scope="module")
def lsoa():
    return iod_msoa.read_file7(INPUTS / INPUT_FILES["file7"])


@pytest.fixture(scope="module")
def lookup():
    return read_geographies(INPUTS / INPUT_FILES["geographies"])


@pytest.fixture(scope="module")
def validation(validated_all):
    return validated_all


@pytest.mark.parametrize("key", list(GEOGRAPHIES))
def test_each_geography_has_its_areas_and_conserves_every_population(built, lsoa, key):
    g = GEOGRAPHIES[key]
    table = pd.read_csv(built[key].paths["csv"])
    assert len(table) == g.areas
    assert table[g.code].is_unique
    assert table[g.code].str.fullmatch(g.code_pattern.strip("^$")).all()
    assert table[g.name].notna().all()
    assert table["n_lsoa"].sum() == len(lsoa)
    for d in DENOMINATOR_SHORTS:
        assert table[d].sum() == lsoa[d].sum(), d
    assert ("lad24cd" in table.columns) == (g.nests_in_lad or key == "lad24")
    assert table["imd_rank"].min() == 1


@pytest.mark.parametrize("key", [k for k in GEOGRAPHIES if GEOGRAPHIES[k].areas >= 10])
def test_ten_or_more_areas_have_every_decile_with_rank_1_in_decile_1(built, key):
    table = pd.read_parquet(built[key].paths["parquet"])
    for m in METRICS:
        deciles = table[f"{m.short}_decile"]
        assert deciles.notna().all() and deciles.between(1, 10).all(), m.short
        assert set(deciles[table[f"{m.short}_rank"] == 1]) == {1}, m.short


def test_nine_regions_are_ranked_1_to_9_and_have_no_deciles_in_any_file(built):
    """F5: ceil(rank * 10 / 9) put the most deprived region in decile 2 and left decile 1 empty."""
    paths = built["rgn24"].paths
    deciles = [f"{m.short}_decile" for m in METRICS]
    csv = pd.read_csv(paths["csv"])
    parquet = pd.read_parquet(paths["parquet"])
    gpkg = gpd.read_file(paths["gpkg"], engine="pyogrio")
    xlsx = pd.read_excel(paths["xlsx"], sheet_name="Data")
    assert len(csv) == len(parquet) == len(gpkg) == len(xlsx) == 9
    for table in (csv, parquet, gpkg, xlsx):
        assert table[deciles].isna().all().all()
        for m in METRICS:
            assert sorted(table[f"{m.short}_rank"]) == list(range(1, 10)), m.short
    assert (parquet[deciles].dtypes == "Int64").all()  # missing integers, not NaN floats
    with paths["csv"].open(encoding="utf-8", newline="") as fh:
        cells = pd.DataFrame(list(csv_module.DictReader(fh)))
    assert (cells[deciles] == "").all().all()  # empty cells, not "NA" or "nan"


def test_regions_dictionary_workbook_and_package_say_why_deciles_are_empty(built):
    paths = built["rgn24"].paths
    said = "fewer than 10 regions; use the rank"
    dictionary = pd.read_csv(paths["dictionary_csv"]).set_index("column")
    for m in METRICS:
        assert said in dictionary.loc[f"{m.short}_decile", "description"], m.short
    assert f"**Deciles.** Deciles not given: {said}" in paths["dictionary_md"].read_text()
    notes = pd.read_excel(paths["xlsx"], sheet_name="Notes", header=None, usecols=[0, 1])
    notes = notes.dropna().set_index(0)[1]
    assert said in notes["Deciles"] and "decile 1" not in notes["What"]
    package = json.loads(paths["datapackage"].read_text())
    assert said in package["description"]
    fields = {f["name"]: f for f in package["resources"][0]["schema"]["fields"]}
    for m in METRICS:
        field = fields[f"{m.short}_decile"]
        assert field["type"] == "integer" and said in field["description"], m.short
    others = pd.read_csv(built["lad24"].paths["dictionary_csv"]).set_index("column")
    assert not others["description"].str.contains("not given").any()


@pytest.mark.parametrize("key", [k for k in GEOGRAPHIES if k != "msoa21"])
def test_each_area_is_drawn_as_the_union_of_its_lsoas(built, key):
    g = GEOGRAPHIES[key]
    shapes = gpd.read_file(built[key].paths["gpkg"], engine="pyogrio")
    table = pd.read_parquet(built[key].paths["parquet"])
    assert shapes[g.code].tolist() == table[g.code].tolist()
    assert shapes.geometry.is_valid.all() and not shapes.geometry.is_empty.any()
    lsoas = gpd.read_file(INPUTS / INPUT_FILES["lsoa_boundaries"], engine="pyogrio")
    england = lsoas[lsoas["lsoa21_code"].str.startswith("E")].to_crs(27700).area.sum()
    assert shapes.to_crs(27700).area.sum() == pytest.approx(england, rel=1e-4)


def test_msoa_areas_keep_their_own_boundaries_and_layout(built):
    msoa = built["msoa21"]
    assert msoa.out_dir.name == "iod25_msoa"
    columns = pd.read_csv(msoa.paths["csv"], nrows=0).columns
    assert list(columns[:6]) == [
        "msoa21cd",
        "msoa21nm",
        "msoa21hclnm",
        "lad24cd",
        "lad24nm",
        "n_lsoa",
    ]


def test_lads_come_from_file7_not_the_ward_lookup(built):
    # E01027305: West Northamptonshire in File 7, Cherwell in ONS's ward best-fit lookup.
    lads = pd.read_parquet(built["lad24"].paths["parquet"]).set_index("lad24cd")
    file7 = iod_msoa.read_file7(INPUTS / INPUT_FILES["file7"])
    assert lads["n_lsoa"].to_dict() == file7.groupby("lad24cd").size().to_dict()


@pytest.mark.parametrize("key", ["pcon24", "wd25"])
def test_best_fit_is_said_in_every_description(built, key):
    paths = built[key].paths
    assert "**Best fit.**" in paths["dictionary_md"].read_text()
    package = json.loads(paths["datapackage"].read_text())
    assert "population-weighted centroid" in package["description"]


def test_validation_covers_the_four_mhclg_files(validation):
    assert set(validation.table["geography"]) == set(VALIDATED)
    counts = validation.table.groupby("geography")["area_code"].nunique().to_dict()
    assert counts == {"lad24": 296, "utla24": 153, "icb24": 42, "lrf24": 38}


def _official_areas(lookup: pd.DataFrame, lsoa: pd.DataFrame, key: str) -> set[str]:
    """Areas all of whose LSOAs lie in the stand-in's six official local authorities."""
    frame = lsoa[["lsoa21cd", "lad24cd"]].merge(lookup, on="lsoa21cd")
    frame["official"] = frame["lad24cd"].isin(OFFICIAL_LADS)
    official = frame.groupby(GEOGRAPHIES[key].code)["official"].all()
    return set(official.index[official])


@pytest.mark.parametrize(
    ("key", "expected"),
    [("lad24", 6), ("utla24", 3), ("icb24", 0), ("lrf24", 0)],
)
def test_official_areas_reproduce_mhclg_to_published_rounding(
    validation, lookup, lsoa, key, expected
):
    """Where every LSOA's inputs are official (Blackpool, Bury and the Isles of Scilly as
    upper-tier authorities), every exact measure matches; no ICB or LRF is wholly official."""
    official = _official_areas(lookup, lsoa, key)
    assert len(official) == expected
    rows = validation.table[
        (validation.table["geography"] == key) & validation.table["area_code"].isin(official)
    ]
    exact = rows[rows["note"].fillna("") == ""]
    assert exact["area_code"].nunique() == expected
    mismatched = exact[~exact["matches_published_rounding"]]
    assert mismatched.empty, mismatched.to_string()


@pytest.mark.parametrize("key", ["lad24", "icb24", "lrf24"])
def test_proportion_in_most_deprived_decile_matches_everywhere(validation, key):
    rows = validation.table[
        (validation.table["geography"] == key)
        & validation.table["measure"].str.endswith("most_deprived_10")
    ]
    assert len(rows) == {"lad24": 296, "icb24": 42, "lrf24": 38}[key] * 8
    assert rows["matches_published_rounding"].all()


def test_every_average_score_file11_gives_is_compared(validation, lookup, lsoa):
    """File 11's IDACI and IDAOPI scores test the children and 60+ weights: compared too,
    and matching for the three wholly official upper-tier authorities."""
    header = pd.read_csv(INPUTS / INPUT_FILES["utla_summaries"], nrows=0).columns
    given = {c for c in header if c.endswith("_average_score")}
    assert {"idaci_average_score", "idaopi_average_score"} < given
    rows = validation.table[validation.table["geography"] == "utla24"]
    assert set(rows["measure"]) == {f"{m.short}_average_score" for m in METRICS} & given
    official = _official_areas(lookup, lsoa, "utla24")
    children = rows[rows["measure"].isin(["idaci_average_score", "idaopi_average_score"])]
    assert len(children) == 2 * 153
    mine = children[children["area_code"].isin(official)]
    assert set(mine["area_name"]) == {"Blackpool", "Bury", "Isles of Scilly"}
    assert len(mine) == 6 and mine["matches_published_rounding"].all(), mine.to_string()


def test_utla_average_scores_are_close_everywhere(validation):
    # The stand-in's estimated weights move scores a little; a wrong lookup would move them a lot.
    rows = validation.table[validation.table["geography"] == "utla24"]
    imd = rows[rows["measure"] == "imd_average_score"]
    assert len(imd) == 153
    assert imd["diff"].abs().max() < 0.5


def test_cli_builds_and_validates_one_geography(config, tmp_path, capsys):
    from iod_msoa.cli import main

    source = str(config.source)
    assert (
        main(
            ["build", "--config", source, "--geography", "icb24", "--out", str(tmp_path), "--quiet"]
        )
        == 0
    )
    # "after": the time since the run started, which geographies built together share
    assert re.search(r"Built: 42 ICBs from 33,755 LSOAs after \d+\.\d s", capsys.readouterr().out)
    assert (tmp_path / "iod25_icb24.gpkg").is_file()
    assert (
        main(
            [
                "validate",
                "--config",
                source,
                "--geography",
                "utla24",
                "--out",
                str(tmp_path),
                "--quiet",
            ]
        )
        == 0
    )
    assert "Upper-tier local authority (2024)" in capsys.readouterr().out
    written = pd.read_csv(tmp_path / "validation.csv")
    assert set(written["geography"]) == {"utla24"} and written["area_code"].nunique() == 153

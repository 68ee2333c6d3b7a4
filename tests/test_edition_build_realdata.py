"""The 2019 edition built and validated from the development inputs, as a user runs it:
``iod-msoa build --edition 2019`` and ``validate --edition 2019`` (numbers pinned)."""

from __future__ import annotations

import pandas as pd
import pytest

from iod_msoa.cli import main

from .realdata import FILES, INPUTS, needs_inputs, write_config

IOD2019 = INPUTS.parent / "iod2019"
FILES_2019 = {
    "file7_2019": IOD2019 / "File_7_IoD2019_STANDIN.csv",
    "lad_summaries_2019": IOD2019
    / "File_10_IoD2019_Local_Authority_District_Summaries_lower-tier.xlsx",
    "lsoa11_lsoa21": IOD2019 / "lookup_lsoa11_lsoa21_ltla22_geographr.csv",
    "lsoa11_msoa11": IOD2019 / "lookup_lsoa11_msoa11_geographr.csv",
}

pytestmark = [
    pytest.mark.realdata,
    needs_inputs,
    pytest.mark.skipif(not FILES_2019["file7_2019"].is_file(), reason="2019 inputs not found"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ed19")
    config = write_config(folder, **FILES_2019)
    args = ["--config", str(config), "--quiet", "--edition", "2019"]
    assert main(["build", "--geography", "all", *args, "--out", str(folder / "out")]) == 0
    assert main(["validate", *args, "--out", str(folder / "out" / "iod19_msoa21")]) == 0
    return folder / "out"


def _table(out, dataset: str) -> pd.DataFrame:
    return pd.read_parquet(out / dataset / f"{dataset}.parquet")


def test_each_2019_geography_has_englands_areas_and_every_file(built):
    counts = {"iod19_lad19": 317, "iod19_msoa11": 6_791, "iod19_msoa21": 6_856}
    for dataset, rows in counts.items():
        assert len(_table(built, dataset)) == rows
        names = {p.name for p in (built / dataset).iterdir()}
        assert {f"{dataset}.{ext}" for ext in ("csv", "parquet", "gpkg", "xlsx")} <= names
        assert {"datapackage.json", f"{dataset}_provenance.json"} <= names


def test_msoa21_flags_the_58_apportioned_msoas_and_keeps_2025s_columns(built):
    table = _table(built, "iod19_msoa21")
    assert table["comparability"].value_counts().to_dict() == {"exact": 6_798, "apportioned": 58}
    assert {"msoa21hclnm", "imd_average_rank", "imd_local_concentration"} <= set(table)
    assert table["pop_total"].sum() == pytest.approx(54_728_204, abs=10)  # shares rounded


def test_msoa11_carries_its_2019_district(built):
    table = _table(built, "iod19_msoa11")
    assert {"lad19cd", "lad19nm"} <= set(table.columns)
    assert table["lad19cd"].nunique() == 317


def test_file10_2019_reproduced_as_measured(built):
    rows = pd.read_csv(built / "iod19_msoa21" / "validation.csv")
    matching = rows.groupby("measure")["matches_published_rounding"].sum()
    assert matching["imd_average_score"] == 305
    assert matching["imd_average_rank"] == 275  # tie-averaged ranks (257 with File 7's)
    assert matching["imd_extent"] == 316
    assert matching["imd_local_concentration"] == 272
    assert matching["idaopi_average_rank"] == 261
    proportions = [m for m in matching.index if m.endswith("_proportion_most_deprived_10")]
    assert len(proportions) == 10 and (matching[proportions] == 317).all()
    noted = rows.loc[rows["note"].fillna("").str.startswith("not comparable"), "measure"]
    assert sorted(noted.unique()) == sorted(
        f"{m}_average_score"
        for m in ("education", "health", "crime", "barriers", "living_env", "idaci", "idaopi")
    )


@pytest.mark.parametrize(
    ("edition", "option", "given", "says"),
    [
        (
            "2019",
            "--file7-2019",
            INPUTS / FILES["file7"],
            "is the English Indices of Deprivation 2025",
        ),
        ("2025", "--file7", FILES_2019["file7_2019"], "is the English Indices of Deprivation 2019"),
    ],
)
def test_a_file7_of_the_other_edition_is_refused_in_one_line(
    tmp_path, capsys, edition, option, given, says
):
    config = write_config(tmp_path, **FILES_2019)
    geography = "lad19" if edition == "2019" else "lad24"
    argv = ["build", "--config", str(config), "--edition", edition, "--geography", geography]
    assert main([*argv, option, str(given), "--out", str(tmp_path / "o"), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and says in err


def test_validate_2019_explains_what_remains(built, tmp_path, capsys):
    config = write_config(tmp_path, **FILES_2019)
    out = built / "iod19_msoa21"
    argv = ["validate", "--config", str(config), "--edition", "2019", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert said.count("Remaining differences") == 5
    assert "Rushmoor (E07000092)" in said and "275" in said

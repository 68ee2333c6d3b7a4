"""Real-data tests: the whole build and validation on the development inputs."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest

import iod_msoa
from iod_msoa import _build
from iod_msoa._folder import FILES
from iod_msoa._vocab import METRICS

from .built import copy_of
from .realdata import FILES as INPUT_FILES
from .realdata import INPUTS, OFFICIAL_LADS, needs_inputs

pytestmark = [pytest.mark.realdata, needs_inputs]

CONTRACT_METRICS = [
    "imd", "income", "employment", "education", "health", "crime", "barriers", "living_env",
    "idaci", "idaopi", "cyp", "adult_skills", "geo_barriers", "wider_barriers", "indoors",
    "outdoors",
]  # fmt: skip
CONTRACT_COLUMNS = [
    "msoa21cd", "msoa21nm", "msoa21hclnm", "lad24cd", "lad24nm", "n_lsoa",
    "pop_total", "pop_children_0_15", "pop_older_60_plus", "pop_working_age_18_66",
    *[
        f"{m}_{s}"
        for m in CONTRACT_METRICS
        for s in ("score", "rank", "decile", "average_rank", "proportion_most_deprived_10")
    ],
    "imd_extent", "imd_local_concentration", "income_scale", "employment_scale",
]  # fmt: skip


@pytest.fixture(scope="module")
def built(built_all):
    """The session's MSOA build (shared: read only)."""
    return built_all["msoa21"]


@pytest.fixture(scope="module")
def lsoa():
    return iod_msoa.read_file7(INPUTS / INPUT_FILES["file7"])


def test_one_row_per_msoa_with_contract_columns(built):
    table = pd.read_csv(built.paths["csv"])
    assert len(table) == 6856
    assert list(table.columns) == CONTRACT_COLUMNS
    assert table["msoa21cd"].is_unique
    assert table["msoa21cd"].str.fullmatch(r"E02\d{6}").all()
    assert table[["msoa21hclnm", "lad24cd", "lad24nm"]].notna().all().all()


def test_parquet_and_geopackage_hold_the_same_rows(built):
    parquet = pd.read_parquet(built.paths["parquet"])
    gpkg = gpd.read_file(built.paths["gpkg"])
    assert len(parquet) == len(gpkg) == 6856
    assert gpkg.crs.to_epsg() == 4326
    assert gpkg.geometry.is_valid.all()
    pd.testing.assert_series_equal(parquet["imd_score"], gpkg["imd_score"], check_names=False)


def test_population_and_lsoas_conserved(built, lsoa):
    table = built.table
    assert table["n_lsoa"].sum() == len(lsoa) == 33755
    for col in ("pop_total", "pop_children_0_15", "pop_older_60_plus", "pop_working_age_18_66"):
        assert table[col].sum() == lsoa[col].sum()


@pytest.mark.parametrize("metric", CONTRACT_METRICS)
def test_ranks_follow_scores_and_deciles_are_even(built, metric):
    table = built.table.sort_values(f"{metric}_score", ascending=False)
    ranks = table[f"{metric}_rank"].to_numpy()
    assert ranks[0] == 1
    assert (np.diff(ranks) >= 0).all()
    sizes = table[f"{metric}_decile"].value_counts().sort_index()
    assert list(sizes.index) == list(range(1, 11))
    assert set(sizes) <= {685, 686}


def test_scores_lie_within_their_lsoas(built, lsoa):
    links = iod_msoa.read_lookup(INPUTS / INPUT_FILES["lookup"])
    joined = lsoa.merge(links, on="lsoa21cd")
    for m in METRICS:
        bounds = joined.groupby("msoa21cd")[f"{m.short}_score"].agg(["min", "max"])
        scores = built.table.set_index("msoa21cd")[f"{m.short}_score"]
        assert (scores >= bounds["min"] - 1e-9).all()
        assert (scores <= bounds["max"] + 1e-9).all()


def test_provenance_records_the_unverified_stand_in(built):
    provenance = json.loads(built.paths["provenance"].read_text())
    assert provenance["unverified"] == ["file7"]
    assert provenance["inputs"]["file7"]["status"] == "unverified"
    assert provenance["inputs"]["file7"]["expected_sha256"].startswith("b1b716aa")
    assert provenance["rows"] == 6856


def test_dictionary_covers_exactly_the_columns(built):
    dictionary = pd.read_csv(built.paths["dictionary_csv"])
    assert list(dictionary["column"]) == list(built.table.columns)
    assert dictionary["description"].str.len().gt(10).all()
    markdown = built.paths["dictionary_md"].read_text()
    assert all(f"`{c}`" in markdown for c in built.table.columns)


def test_second_build_is_skipped_when_current(built, real_config, tmp_path):
    out = copy_of(built.out_dir, tmp_path)
    again = iod_msoa.build(iod_msoa.load_config(real_config), out, progress=False)
    assert again.skipped
    assert len(again.table) == 6856


def test_an_edited_data_table_rebuilds(built, real_config, tmp_path, monkeypatch):
    out = copy_of(built.out_dir, tmp_path)
    config = iod_msoa.load_config(real_config)
    assert iod_msoa.build(config, out, progress=False).skipped
    # The package's data tables as an editable install holds them, one of them edited.
    data = shutil.copytree(resources.files("iod_msoa").joinpath("data"), tmp_path / "data")
    crosswalk = data / "geographies.toml"
    crosswalk.write_text(crosswalk.read_text().replace('"Lincolnshire"', '"Lincolnshire LRF"'))
    edited = _build.data_digests(data)
    assert edited != _build.data_digests()
    assert (
        set(edited)
        == {t.name for t in data.glob("*.toml")}
        >= {
            "geographies.toml",
            "schema.toml",
            "sources.toml",
        }
    )
    monkeypatch.setattr(_build, "data_digests", lambda: edited)
    again = iod_msoa.build(config, out, progress=False)
    assert not again.skipped
    assert again.provenance.fingerprint != built.provenance.fingerprint


@pytest.fixture(scope="module")
def validation(package_validation):
    """The default validation (lad24), as written beside the session's MSOA package."""
    return package_validation


def test_validation_file_has_contract_columns(validation):
    table = pd.read_csv(validation.path)
    assert list(table.columns[:8]) == [
        "geography", "area_code", "area_name", "measure", "ours", "published", "diff",
        "matches_published_rounding",
    ]  # fmt: skip
    assert set(table["geography"]) == {"lad24"}
    assert table["area_code"].nunique() == 296


def test_official_lads_reproduce_file10_to_published_rounding(validation):
    rows = validation.table[validation.table["area_code"].isin(OFFICIAL_LADS)]
    exact = rows[~rows["measure"].str.endswith("_scale")]
    assert exact["area_code"].nunique() == 6
    assert exact["measure"].nunique() == 8 * 3 + 2
    mismatched = exact[~exact["matches_published_rounding"]]
    assert mismatched.empty, mismatched.to_string()


def test_proportion_matches_everywhere_as_it_needs_only_ranks(validation):
    rows = validation.table[validation.table["measure"].str.endswith("most_deprived_10")]
    assert rows["matches_published_rounding"].all()


def test_scale_is_close_but_flagged_as_an_estimate(validation):
    rows = validation.table[validation.table["measure"].str.endswith("_scale")]
    assert (rows["note"].str.contains("estimate")).all()
    official = rows[rows["area_code"].isin(OFFICIAL_LADS) & (rows["published"] > 1000)]
    relative = (official["diff"].abs() / official["published"]).max()
    assert 0 < relative < 0.01


def test_every_file_is_listed(built):
    assert {p.name for p in built.out_dir.iterdir()} >= set(FILES.values())


def test_datapackage_describes_every_file(built):
    package = json.loads(built.paths["datapackage"].read_text())
    readers = {
        "csv": pd.read_csv,
        "parquet": pd.read_parquet,
        "gpkg": gpd.read_file,
        "xlsx": lambda path: pd.read_excel(path, sheet_name="Data"),
    }
    described = {r["path"] for r in package["resources"]}
    assert described == set(FILES.values()) - {"datapackage.json"}
    resources = {r["name"]: r for r in package["resources"]}
    fields = [f["name"] for f in resources["csv"]["schema"]["fields"]]
    assert resources["csv"]["type"] == "table" and resources["csv"]["rows"] == 6856
    for resource in package["resources"]:
        path = built.out_dir / resource["path"]
        assert path.stat().st_size == resource["bytes"]
        assert resource["hash"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        if resource["name"] in readers:
            frame = readers[resource["name"]](path)
            assert len(frame) == 6856
            assert [c for c in frame.columns if c != "geometry"] == fields
    for name in ("parquet", "gpkg", "xlsx"):  # same table, described as files
        assert resources[name]["type"] == "file" and "rows" not in resources[name]


def test_unverified_inputs_recorded_inside_parquet_and_geopackage(built):
    about = json.loads(pq.read_schema(built.paths["parquet"]).metadata[b"iod_msoa"])
    assert about["unverified"] == ["file7"]
    layer = pyogrio.read_info(built.paths["gpkg"])["layer_metadata"]
    assert layer["unverified_inputs"] == "file7"


def test_the_geopackage_layer_says_what_it_holds(built):
    """QGIS shows gpkg_contents.description as the layer's abstract."""
    with sqlite3.connect(built.paths["gpkg"]) as db:
        (description,) = db.execute("SELECT description FROM gpkg_contents").fetchone()
    assert description.startswith("English Indices of Deprivation 2025 aggregated from LSOAs")
    assert "6,856 rows, one per MSOA in England; the shapes are ONS boundaries" in description


def test_background_work_does_not_keep_a_failed_build_alive(tmp_path):
    """A build that fails while its polygons are still being read exits at once."""
    script = (
        "import time\n"
        "from iod_msoa._build import in_background\n"
        "in_background(time.sleep, 60)\n"
        "raise SystemExit(3)\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], timeout=50)
    assert done.returncode == 3
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("behind", "expected"),
    [
        # Finalising the interpreter under a thread busy in GDAL could crash a cleanly stopped
        # run (status -11): the command leaves at once, with main's status and output flushed.
        ("in_background(time.sleep, 60)", (129, "stopped")),
        ("pass", (129, "stoppedfinalised\n")),  # nothing behind: the usual exit
    ],
)
def test_the_command_finalises_only_when_nothing_runs_behind(behind, expected):
    script = (
        "import atexit, time\n"
        "from iod_msoa import cli\n"
        "from iod_msoa._build import in_background\n"
        "atexit.register(print, 'finalised')\n"
        "def stopped():\n"
        f"    {behind}\n"
        "    print('stopped', end='')\n"
        "    return 129\n"
        "cli.main = stopped\n"
        "cli.run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout) == expected


def test_background_work_hands_its_result_or_error_to_whoever_waits():
    assert _build.in_background(sum, [1, 2]).result(timeout=10) == 3
    failed = _build.in_background(int, "not a number")
    with pytest.raises(ValueError, match="not a number"):
        failed.result(timeout=10)

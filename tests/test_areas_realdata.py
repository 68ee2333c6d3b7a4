"""Proof for a user's own areas on the development inputs: the engine against an independent
pandas recomputation of every measure from its definition, and polygons against lookups."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import iod_msoa
from iod_msoa import cli
from iod_msoa._areas import (
    BNG,
    assign_by_centroid,
    parents_of,
    read_area_layer,
    read_area_table,
    read_centroids,
)
from iod_msoa._geographies import GEOGRAPHIES, PARENTS, parents_for
from iod_msoa._ranking import ranks_within
from iod_msoa._shapes import lsoa_coverage, read_lsoa_boundaries
from iod_msoa._vocab import DENOMINATOR_SHORTS, METRICS
from tests.realdata import FILES, INPUTS, needs_inputs, write_config

pytestmark = [pytest.mark.realdata, needs_inputs]

CENTROIDS = INPUTS / "../boundaries/LSOA21_PWC_EW.csv"
BURY = "E08000002"  # official File 7 rows in the stand-in
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def lsoa() -> pd.DataFrame:
    return iod_msoa.read_file7(INPUTS / FILES["file7"])


def recompute(lsoa: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Every measure from the IoD Technical Report's definitions, with pandas groupby only.

    Scores: each domain's population-weighted mean (its own denominator). Ranks and deciles:
    among these areas (1 = highest score; no deciles below 10 areas). Average rank: weighted
    mean of N + 1 - national rank, where LSOAs tied on a rank (File 7 gives each the lowest)
    count as the mean rank of their group, as MHCLG's summaries do. Proportion: share of LSOAs
    in national decile 1. Extent:
    weighted share of people by national percentile (1 up to the 10th, falling from 0.95 at
    the 11th to 0.05 at the 30th, 0 beyond). Local concentration: weighted mean of N + 1 -
    rank over the most deprived LSOAs holding 10% of the people, the last one in part.
    Scale: the sum of rate x denominator.
    """
    n = len(lsoa)
    lsoa = lsoa.copy()
    for m in METRICS:  # a group of k LSOAs sharing rank r holds ranks r .. r + k - 1
        rank = lsoa[f"{m.short}_rank"]
        lsoa[f"{m.short}_tied"] = rank + (rank.map(rank.value_counts()) - 1) / 2
    rows = lsoa.merge(members[["lsoa21cd", "area_code"]], on="lsoa21cd")
    area = rows["area_code"]
    out = pd.DataFrame({"n_lsoa": rows.groupby(area).size()})
    for d in DENOMINATOR_SHORTS:
        out[d] = rows.groupby(area)[d].sum().round().astype("int64")

    def mean_of(values: pd.Series, weights: pd.Series) -> pd.Series:
        return (values * weights).groupby(area).sum() / weights.groupby(area).sum()

    for m in METRICS:
        w, rank = rows[m.denominator].astype(float), rows[f"{m.short}_rank"].astype(float)
        tied = rows[f"{m.short}_tied"]
        score = mean_of(rows[f"{m.short}_score"], w)
        among = score.rank(method="min", ascending=False)
        out[f"{m.short}_score"] = score
        out[f"{m.short}_rank"] = among
        out[f"{m.short}_decile"] = np.ceil(among * 10 / len(among)) if len(among) >= 10 else np.nan
        out[f"{m.short}_average_rank"] = mean_of(n + 1 - tied, w)
        out[f"{m.short}_proportion_most_deprived_10"] = (
            (rows[f"{m.short}_decile"] == 1).groupby(area).mean()
        )
        if m.extent:
            percentile = np.ceil(rank * 100 / n)
            weight = pd.Series(0.0, index=rows.index)
            weight[percentile <= 30] = 0.05 + 0.90 * (30 - percentile) / 19
            weight[percentile <= 10] = 1.0
            out[f"{m.short}_extent"] = mean_of(weight, w)
            ordered = rows.assign(w=w, rank=tied).sort_values(["area_code", "rank"])
            total = ordered.groupby("area_code")["w"].transform("sum")
            before = ordered.groupby("area_code")["w"].cumsum() - ordered["w"]
            counted = (0.10 * total - before).clip(lower=0).clip(upper=ordered["w"])
            top = (n + 1 - ordered["rank"]) * counted
            out[f"{m.short}_local_concentration"] = (
                top.groupby(ordered["area_code"]).sum()
                / counted.groupby(ordered["area_code"]).sum()
            )
        if m.scale:
            out[f"{m.short}_scale"] = (rows[f"{m.short}_score"] * w).groupby(area).sum()
    return out.rename_axis("area_code").reset_index()


def assert_same(engine: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Every column of the engine's table equals the recomputation to ``TOLERANCE``."""
    engine = engine.set_index("area_code")
    expected = expected.set_index("area_code").reindex(engine.index)
    assert sorted(expected.columns) == sorted(engine.columns)
    for column in engine.columns:
        got = engine[column].to_numpy(dtype="float64", na_value=np.nan)
        np.testing.assert_allclose(
            got, expected[column].to_numpy(dtype="float64"), rtol=0, atol=TOLERANCE, err_msg=column
        )


def engine_table(lsoa: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    return iod_msoa.aggregate(
        lsoa, members[["lsoa21cd", "area_code"]], area="area_code", allow_unmatched=True
    )


def test_random_grouping_of_all_lsoas_matches_recomputation(
    lsoa: pd.DataFrame, tmp_path: Path
) -> None:
    rng = np.random.default_rng(2025)
    group = rng.integers(0, 300, len(lsoa))
    members = pd.DataFrame(
        {
            "lsoa21cd": lsoa["lsoa21cd"],
            "area_code": [f"R{g:03d}" for g in group],
            "area_name": [f"Random {g}" for g in group],
        }
    )
    members.sample(frac=1, random_state=1).to_csv(tmp_path / "areas.csv", index=False)
    read = read_area_table(tmp_path / "areas.csv", lsoa["lsoa21cd"])
    assert len(read) == 33_755 and read["area_code"].nunique() == 300
    table = engine_table(lsoa, read)
    assert len(table) == 300 and table["imd_decile"].notna().all()
    assert_same(table, recompute(lsoa, read))


@pytest.mark.parametrize("n_areas", [12, 6])
def test_grouping_within_one_district_matches_recomputation(
    lsoa: pd.DataFrame, tmp_path: Path, n_areas: int
) -> None:
    """Ranks and deciles among the district's areas; 6 areas get no deciles."""
    bury = lsoa.loc[lsoa["lad24cd"] == BURY, "lsoa21cd"]
    group = np.arange(len(bury)) % n_areas
    pd.DataFrame(
        {"lsoa21cd": bury, "area_code": [f"B{g:02d}" for g in group], "area_name": "Bury part"}
    ).assign(area_name=lambda t: t["area_name"] + " " + t["area_code"]).to_excel(
        tmp_path / "bury.xlsx", index=False
    )
    read = read_area_table(tmp_path / "bury.xlsx", lsoa["lsoa21cd"])
    table = engine_table(lsoa, read)
    assert len(table) == n_areas and table["imd_rank"].max() <= n_areas
    assert table["imd_decile"].notna().all() == (n_areas >= 10)
    assert_same(table, recompute(lsoa, read))


def test_recomputation_can_fail(lsoa: pd.DataFrame) -> None:
    """The harness notices a wrong weight: IMD weighted by children instead of everyone."""
    members = lsoa[["lsoa21cd"]].assign(area_code=lsoa["lad24cd"])
    engine = engine_table(lsoa, members)
    wrong = recompute(lsoa.assign(pop_total=lsoa["pop_children_0_15"]), members)
    with pytest.raises(AssertionError, match="imd_score"):
        assert_same(
            engine.drop(columns=list(DENOMINATOR_SHORTS)),
            wrong.drop(columns=list(DENOMINATOR_SHORTS)),
        )


# --- polygons equal to an existing geography ---------------------------------------------


@pytest.fixture(scope="module")
def centroids() -> gpd.GeoSeries:
    return read_centroids(CENTROIDS)


@pytest.fixture(scope="module")
def lsoa_shapes() -> gpd.GeoSeries:
    """The LSOA shapes a build reads (BSC, made a clean coverage)."""
    return lsoa_coverage(read_lsoa_boundaries(INPUTS / FILES["lsoa_boundaries"]))


def test_msoa_polygons_assign_lsoas_as_the_lookup_does(
    lsoa: pd.DataFrame, centroids: gpd.GeoSeries, lsoa_shapes: gpd.GeoSeries, tmp_path: Path
) -> None:
    """ONS's MSOA polygons (BGC, generalised to 20 m) as a user's layer place every LSOA as
    the exact-fit lookup does. By the centroid alone, 33,688 are placed so: 62 centroids lie
    across a generalised edge (each within 20 m of it) and 5 beyond the clipped coast; their
    shapes place those 67. So the areas' table is the MSOA table, ranks and deciles too."""
    shapes = gpd.read_file(INPUTS / FILES["boundaries"], engine="pyogrio")
    shapes = shapes[shapes["MSOA21CD"].str.startswith("E")]
    shapes.rename(columns={"MSOA21CD": "area_code", "MSOA21NM": "area_name"}).to_file(
        tmp_path / "msoa.gpkg"
    )
    members = assign_by_centroid(
        read_area_layer(tmp_path / "msoa.gpkg"), centroids, lsoa["lsoa21cd"], lsoa_shapes
    )
    lookup = iod_msoa.read_lookup(INPUTS / FILES["lookup"]).drop_duplicates("lsoa21cd")
    official = lookup.set_index("lsoa21cd")["msoa21cd"].reindex(members["lsoa21cd"])
    assert len(members) == 33_755
    assert (official.to_numpy() == members["area_code"].to_numpy()).all()
    assert members["placed_by"].value_counts().to_dict() == {
        "centroid": 33_688,
        "edge": 62,
        "coast": 5,
    }
    mine = engine_table(lsoa, members).set_index("area_code")
    ons = iod_msoa.aggregate(lsoa, lookup[["lsoa21cd", "msoa21cd"]]).set_index("msoa21cd")
    pd.testing.assert_frame_equal(mine, ons.loc[mine.index], check_names=False)


def test_lad_polygons_from_lsoa_shapes_assign_as_file7(
    lsoa: pd.DataFrame, centroids: gpd.GeoSeries, lsoa_shapes: gpd.GeoSeries, tmp_path: Path
) -> None:
    """LAD polygons dissolved from the super-generalised LSOA shapes: every LSOA in its
    File 7 district. By the centroid alone, 3 would go to a neighbouring district (within
    20 m of the edge) and 7 centroids lie beyond the generalised coast."""
    pieces = gpd.read_file(INPUTS / FILES["lsoa_boundaries"], engine="pyogrio")
    pieces = pieces.rename(columns=str.lower).rename(columns={"lsoa21_code": "lsoa21cd"})
    lads = pieces.merge(lsoa[["lsoa21cd", "lad24cd", "lad24nm"]], on="lsoa21cd")
    lads = lads.dissolve("lad24cd", as_index=False)
    lads.rename(columns={"lad24cd": "area_code", "lad24nm": "area_name"})[
        ["area_code", "area_name", "geometry"]
    ].to_file(tmp_path / "lad.gpkg")
    members = assign_by_centroid(
        read_area_layer(tmp_path / "lad.gpkg"), centroids, lsoa["lsoa21cd"], lsoa_shapes
    )
    official = lsoa.set_index("lsoa21cd")["lad24cd"].reindex(members["lsoa21cd"]).to_numpy()
    assert (len(members), int((official != members["area_code"].to_numpy()).sum())) == (33_755, 0)
    assert members["placed_by"].value_counts().to_dict() == {
        "centroid": 33_745,
        "coast": 7,
        "edge": 3,
    }


def test_within_lad_ranks_agree_with_ranking_each_district_by_hand(lsoa: pd.DataFrame) -> None:
    """``--within lad24`` for MSOAs: each district's MSOAs ranked on their own, by hand."""
    lookup = iod_msoa.read_lookup(INPUTS / FILES["lookup"]).drop_duplicates("lsoa21cd")
    msoas = iod_msoa.aggregate(lsoa, lookup[["lsoa21cd", "msoa21cd"]])
    members = lookup[["lsoa21cd", "msoa21cd"]].rename(columns={"msoa21cd": "area_code"})
    members = members[members["lsoa21cd"].isin(lsoa["lsoa21cd"])]
    parent = parents_of(members, lsoa, "lad24cd").reindex(msoas["msoa21cd"]).to_numpy()
    scores = msoas[[f"{m.short}_score" for m in METRICS]].set_axis(
        [m.short for m in METRICS], axis=1
    )
    within = ranks_within(scores, pd.Series(parent, index=msoas.index))
    frame = msoas.assign(lad=parent)
    hand_rank = frame.groupby("lad")["imd_score"].rank(method="min", ascending=False)
    size = frame.groupby("lad")["imd_score"].transform("size")
    hand_decile = np.ceil(hand_rank * 10 / size).where(size >= 10)
    assert (within["imd_rank"].to_numpy() == hand_rank.to_numpy()).all()
    pd.testing.assert_series_equal(
        within["imd_decile"].astype("float64"), hand_decile, check_names=False
    )
    assert (
        frame["lad"].nunique() == 296 and (size < 10).any() and within["imd_decile"].notna().any()
    )
    birmingham = frame["lad"] == "E08000025"
    assert sorted(within.loc[birmingham, "income_rank"]) == list(range(1, birmingham.sum() + 1))


# --- through the command line and the API: the package's own Parquet -----------------------


def _built(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"iod25_{name}.parquet")


def test_cli_random_grouping_of_all_lsoas_matches_recomputation(
    lsoa: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`iod-msoa build --areas random.csv`: 300 areas over every LSOA, keyed and ranked
    among themselves, every measure as the recomputation has it; the package is complete."""
    rng = np.random.default_rng(16)
    group = rng.integers(0, 300, len(lsoa))
    members = pd.DataFrame(
        {
            "lsoa21cd": lsoa["lsoa21cd"],
            "area_code": [f"R{g:03d}" for g in group],
            "area_name": [f"Random {g}" for g in group],
        }
    )
    members.to_csv(tmp_path / "My Random Areas.csv", index=False)
    out = tmp_path / "out"
    status = cli.main(
        [
            "build",
            "--quiet",
            "--config",
            str(write_config(tmp_path)),
            "--areas",
            str(tmp_path / "My Random Areas.csv"),
            "--out",
            str(out),
        ]
    )
    assert status == 0, capsys.readouterr().err
    assert "Built: 300 my_random_areas areas from 33,755 LSOAs" in capsys.readouterr().out
    table = _built(out, "my_random_areas")
    assert list(table.columns[:3]) == ["area_code", "area_name", "n_lsoa"]
    assert table["imd_decile"].notna().all() and table["imd_rank"].max() == 300
    assert_same(table.drop(columns="area_name"), recompute(lsoa, members))
    shapes = gpd.read_file(out / "iod25_my_random_areas.gpkg")
    assert len(shapes) == 300 and shapes.geometry.notna().all()
    provenance = json.loads((out / "iod25_my_random_areas_provenance.json").read_text())
    assert provenance["inputs"]["areas"]["file"] == "My Random Areas.csv"


def test_api_grouping_within_one_district_matches_recomputation(
    lsoa: pd.DataFrame, tmp_path: Path
) -> None:
    """`build_areas(DataFrame)`: Bury's LSOAs in 12 areas, the rest of England in none."""
    bury = lsoa.loc[lsoa["lad24cd"] == BURY, "lsoa21cd"]
    group = np.arange(len(bury)) % 12
    members = pd.DataFrame(
        {
            "lsoa21cd": bury,
            "area_code": [f"B{g:02d}" for g in group],
            "area_name": [f"Bury part {g}" for g in group],
        }
    )
    config = iod_msoa.load_config(write_config(tmp_path)).with_overrides(
        cache_dir=tmp_path / "cache"
    )
    result = iod_msoa.build_areas(
        members, name="bury", config=config, out_dir=tmp_path / "out", progress=False
    )
    assert isinstance(result, iod_msoa.BuildResult) and result.paths["parquet"].is_file()
    table = _built(tmp_path / "out", "bury")
    assert len(table) == 12 and table["n_lsoa"].sum() == len(bury)
    assert_same(table.drop(columns="area_name"), recompute(lsoa, members))
    again = iod_msoa.build_areas(
        members, name="bury", config=config, out_dir=tmp_path / "out", progress=False
    )
    assert again.skipped


@pytest.mark.parametrize("key", ["lad24", "msoa21"])
def test_the_packages_own_polygons_as_a_layer_reproduce_its_table_exactly(
    built_all: dict[str, iod_msoa.BuildResult], key: str, tmp_path: Path
) -> None:
    """`build_areas(GeoDataFrame)` of a package's own GeoPackage (districts drawn from the
    LSOA shapes; ONS's generalised MSOA polygons): every measure, rank and decile of every
    area is the package's, exactly. The fit report is in the package and described there."""
    package = built_all[key]
    g = package.geography
    layer = gpd.read_file(package.paths["gpkg"], engine="pyogrio")
    layer = layer.rename(columns={g.code: "area_code", g.name: "area_name"})
    config = iod_msoa.load_config(write_config(tmp_path, lsoa_centroids=CENTROIDS)).with_overrides(
        cache_dir=tmp_path / "cache"
    )
    result = iod_msoa.build_areas(
        layer[["area_code", "area_name", "geometry"]],
        name=f"{key}_drawn",
        config=config,
        out_dir=tmp_path / "out",
        progress=False,
    )
    mine = _built(tmp_path / "out", f"{key}_drawn").set_index("area_code")
    theirs = package.table.set_index(g.code).rename_axis("area_code")
    theirs = theirs.rename(columns={g.name: "area_name"})[mine.columns]
    theirs["area_name"] = theirs["area_name"].astype(mine["area_name"].dtype)  # NA vs NaN
    pd.testing.assert_frame_equal(mine, theirs.loc[mine.index], check_exact=True)
    assert len(mine) == g.areas
    fit = pd.read_csv(result.paths["fit"]).set_index("area_code")
    assert (fit["n_lsoa"] == mine["n_lsoa"].reindex(fit.index)).all()
    by_shape = {"lad24": 10, "msoa21": 67}[key]  # edge and coast, as the tests above count
    assert fit["n_by_shape"].sum() == by_shape
    package_json = json.loads(result.paths["datapackage"].read_text())
    described = {r["path"]: r for r in package_json["resources"]}
    fit_file, straddling_file = (f"iod25_{key}_drawn_{s}.csv" for s in ("fit", "straddling"))
    assert {fit_file, straddling_file} <= described.keys()
    fields = [f["name"] for f in described[fit_file]["schema"]["fields"]]
    assert fields[4:7] == ["n_by_shape", "polygon_km2", "covered_share"]


def test_cli_within_lad_ranks_agree_with_ranking_the_msoa_table_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`iod-msoa build --geography msoa21 --within lad24`: each district's MSOAs ranked on
    their own, by hand from the same table; documented columns after each decile."""
    out = tmp_path / "out"
    argv = ["build", "--quiet", "--config", str(write_config(tmp_path)), "--out", str(out)]
    assert cli.main([*argv, "--geography", "msoa21", "--within", "lad24"]) == 0
    capsys.readouterr()
    table = pd.read_parquet(out / "iod25_msoa.parquet")
    at = list(table.columns).index("imd_decile")
    assert list(table.columns[at + 1 : at + 3]) == ["imd_rank_in_lad24", "imd_decile_in_lad24"]
    for m in METRICS:
        rank = table.groupby("lad24cd")[f"{m.short}_score"].rank(method="min", ascending=False)
        size = table.groupby("lad24cd")[f"{m.short}_score"].transform("count")
        decile = np.ceil(rank * 10 / size).where(size >= 10)
        assert (table[f"{m.short}_rank_in_lad24"].to_numpy() == rank.to_numpy()).all()
        got = table[f"{m.short}_decile_in_lad24"].astype("float64")
        pd.testing.assert_series_equal(got, decile, check_names=False)
    dictionary = pd.read_csv(out / "iod25_msoa_dictionary.csv").set_index("column")
    assert "same local authority" in dictionary.loc["imd_rank_in_lad24", "description"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("E01000001,A,Alpha\nE01000001,B,Beta", r"1 LSOA\(s\) in more than one area: E01000001"),
        ("E01000010,A,Alpha", r"1 LSOA \(2011\) code\(s\) that no longer exist in 2021"),
        ("E01099999,A,Alpha", r"1 unknown LSOA code\(s\) .*: row 2 \(E01099999\)"),
        ("E01000001,A,Alpha\n,B,Beta", r"1 empty area\(s\), with no LSOA: B"),
        ("E01000001,A,Alpha\nE01000002,A,Alfa", r"A \('Alpha' vs 'Alfa'\)"),
    ],
)
def test_a_bad_grouping_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    (tmp_path / "bad.csv").write_text(f"lsoa21cd,area_code,area_name\n{text}\n")
    argv = ["build", "--quiet", "--config", str(write_config(tmp_path))]
    status = cli.main([*argv, "--areas", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1, err
    assert re.search(expected, err) and err.startswith("iod-msoa: error: areas table (")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").glob("*.parquet"))


@pytest.mark.parametrize(
    ("boxes", "crs", "expected"),
    [
        (
            [(530000, 180000, 533000, 183000), (532000, 180000, 535000, 183000)],
            BNG,
            r"1 pair\(s\) of polygons overlap: A and B \(3,000,000 m²\)",
        ),
        ([(2.2, 48.8, 2.4, 48.9)], 4326, r"no LSOA of England .*2\.20\.\.2\.40 E"),
    ],
)
def test_bad_polygons_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], boxes, crs: int, expected: str
) -> None:
    codes = ["A", "B"][: len(boxes)]
    gpd.GeoDataFrame(
        {"area_code": codes, "area_name": codes},
        geometry=[shapely.box(*b) for b in boxes],
        crs=crs,
    ).to_file(tmp_path / "drawn.gpkg")
    config = write_config(tmp_path, lsoa_centroids=CENTROIDS)
    argv = ["build", "--quiet", "--config", str(config), "--areas", str(tmp_path / "drawn.gpkg")]
    status = cli.main([*argv, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1, err
    assert re.search(expected, err) and err.startswith("iod-msoa: error: areas layer (")


def test_a_built_in_name_and_validate_are_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.csv").write_text("lsoa21cd,area_code,area_name\nE01000001,A,Alpha\n")
    config = str(write_config(tmp_path))
    for argv, expected in (
        (["build", "--areas-name", "msoa"], "would name the built-in msoa21 geography's package"),
        (["validate"], "validate compares with MHCLG's summaries"),
    ):
        status = cli.main([*argv, "--config", config, "--areas", str(tmp_path / "a.csv")])
        err = capsys.readouterr().err.strip()
        assert status == 1 and len(err.splitlines()) == 1 and expected in err, err


def test_the_declared_nesting_is_the_development_tables(lsoa: pd.DataFrame) -> None:
    """``--within P`` is refused when planned for a geography geographies.toml does not nest
    in P: on the development table (and MSOA lookup), exactly those have areas in two Ps."""
    table = pd.read_csv(INPUTS / FILES["geographies"], dtype=str)
    lookup = iod_msoa.read_lookup(INPUTS / FILES["lookup"]).drop_duplicates("lsoa21cd")
    table = table.merge(lookup[["lsoa21cd", "msoa21cd"]], on="lsoa21cd")
    spans = {
        (g.key, p): bool(table.groupby(g.code)[f"{p}cd"].nunique().gt(1).any())
        for g in GEOGRAPHIES.values()
        for p in PARENTS
    }
    assert {k for k, apart in spans.items() if not apart} == {
        (g.key, p) for g in GEOGRAPHIES.values() for p in parents_for(g)
    }
    assert spans[("msoa21", "icb24")] and spans[("sicbl24", "rgn24")]


def test_own_areas_straddling_the_within_parent_are_named_before_anything_is_written(
    lsoa: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Own areas are known to nest only once read: an area with LSOAs in Bury and Bolton,
    ranked within districts, is one line naming it and its districts; no file is written."""
    bolton = lsoa.loc[lsoa["lad24cd"] == "E08000001", "lsoa21cd"].head(3)
    bury = lsoa.loc[lsoa["lad24cd"] == BURY, "lsoa21cd"].head(3)
    rows = [f"{c},MIX,Mixed" for c in [*bolton, *bury[:1]]] + [f"{c},BU,Bury" for c in bury[1:]]
    (tmp_path / "mixed.csv").write_text("lsoa21cd,area_code,area_name\n" + "\n".join(rows))
    argv = ["build", "--quiet", "--config", str(write_config(tmp_path)), "--within", "lad24"]
    status = cli.main([*argv, "--areas", str(tmp_path / "mixed.csv"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1, err
    assert "1 area(s) lie in more than one lad24cd" in err
    assert f"MIX (E08000001, {BURY})" in err and "BU" not in err.split("lad24cd")[1]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_load_inputs_places_a_layers_lsoas_as_a_build_does(tmp_path: Path) -> None:
    """`load_inputs` with a polygon layer among the names reads the LSOA shapes itself (a
    build hands over those it is reading) and places LSOAs by the same rule."""
    drawn = gpd.GeoDataFrame(
        {"area_code": ["BURY-CENTRE"], "area_name": ["Bury town centre"]},
        geometry=[shapely.box(379_500, 409_800, 381_500, 411_800)],
        crs=BNG,
    )
    drawn.to_file(tmp_path / "drawn.gpkg")
    config = iod_msoa.load_config(
        write_config(tmp_path, lsoa_centroids=CENTROIDS, areas=tmp_path / "drawn.gpkg")
    )
    names = ["file7", "areas", "lsoa_centroids", "lsoa_boundaries"]
    inputs = iod_msoa.load_inputs(config, names, progress=False)
    assert list(inputs.areas.columns) == ["lsoa21cd", "area_code", "area_name", "placed_by"]
    assert len(inputs.areas) == 7 and inputs.layer is not None


def test_cli_polygon_build_says_how_the_lsoas_were_placed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The two town-centre boxes of the "Your area" page, from the command line: one line
    says how many LSOAs were placed, how many by their shape, and how many straddle."""
    boxes = [(379_500, 409_800, 381_500, 411_800), (377_500, 406_200, 379_500, 408_200)]
    gpd.GeoDataFrame(
        {"area_code": ["BURY", "RADCLIFFE"], "area_name": ["Bury", "Radcliffe"]},
        geometry=[shapely.box(*b) for b in boxes],
        crs=BNG,
    ).to_file(tmp_path / "drawn.gpkg")
    config = str(write_config(tmp_path, lsoa_centroids=CENTROIDS))
    argv = ["build", "--config", config, "--areas", str(tmp_path / "drawn.gpkg")]
    assert cli.main([*argv, "--out", str(tmp_path / "o")]) == 0
    said = " ".join(capsys.readouterr().err.split())  # as one line, however it wrapped
    assert (
        "2 areas, 16 LSOAs placed (0 by their shape: centroid within 20 m of a shared edge, or "
        "offshore), 21 straddle a boundary (see iod25_drawn_fit.csv)"
    ) in said

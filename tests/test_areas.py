"""A user's own areas: grouping tables and polygon layers read into checked LSOA members."""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from iod_msoa import ConfigError, SchemaError, UnmatchedAreaError, _site
from iod_msoa._areas import (
    BNG,
    assign_by_centroid,
    fit_report,
    is_layer,
    parents_of,
    read_area_layer,
    read_area_table,
    read_centroids,
)
from iod_msoa._geographies import GEOGRAPHIES, own_areas, parents_for
from iod_msoa._manifest import MANIFEST
from iod_msoa._plan import make_plan

LSOAS = [f"E0100000{i}" for i in range(1, 10)]
RETIRED = "E01000010"  # a 2011 LSOA that ONS split for 2021


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def good_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lsoa21cd": LSOAS[:4],
            "area_code": ["N", "N", "S", "S"],
            "area_name": ["North", "North", "South", "South"],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_reads_each_table_format(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"areas{suffix}"
    rows = good_rows().iloc[::-1]
    {".csv": rows.to_csv, ".xlsx": rows.to_excel, ".parquet": rows.to_parquet}[suffix](
        path, index=False
    )
    members = read_area_table(path, LSOAS)
    assert members.to_dict("list") == good_rows().to_dict("list")  # in LSOA code order
    assert not is_layer(path)


def test_unusual_but_valid_input_is_tidied(tmp_path: Path) -> None:
    """Padding, header case, lower-case codes, an LSOA repeated for the same area and
    Excel's trailing blank rows are all fine."""
    text = (
        " LSOA21CD ,Area_Code,area_name,notes\n"
        " e01000001 , N ,North ,x\n"
        "E01000002,N,North,\n"
        "E01000002,N,North,again\n"
        ",,,\n"
        ",,,\n"
    )
    members = read_area_table(write_csv(tmp_path / "a.csv", text), LSOAS)
    assert members.to_dict("list") == {
        "lsoa21cd": LSOAS[:2],
        "area_code": ["N", "N"],
        "area_name": ["North", "North"],
    }


def test_trailing_empty_excel_rows_are_dropped(tmp_path: Path) -> None:
    rows = pd.concat([good_rows(), pd.DataFrame([[None] * 3] * 5, columns=good_rows().columns)])
    rows.to_excel(tmp_path / "a.xlsx", index=False)
    assert len(read_area_table(tmp_path / "a.xlsx", LSOAS)) == 4


def one_error(tmp_path: Path, text: str, lsoas: list[str] = LSOAS) -> str:
    with pytest.raises(SchemaError) as info:
        read_area_table(write_csv(tmp_path / "bad.csv", text), lsoas)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"areas table ({tmp_path / 'bad.csv'}): ")
    return message


HEADER = "lsoa21cd,area_code,area_name\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "E01000001,N,North\nE01000001,S,South\n",
            "1 LSOA(s) in more than one area: E01000001 (N, S)",
        ),
        (
            "E01999999,N,North\n",
            "1 unknown LSOA code(s) (not an LSOA (2021) of England): row 2 (E01999999)",
        ),
        (f"{RETIRED},N,North\n", "1 LSOA (2011) code(s) that no longer exist in 2021"),
        ("W01000001,N,North\n", "1 Welsh LSOA(s), which the English indices do not cover: row 2"),
        ("E01000001,N,North\n,S,South\n", "1 empty area(s), with no LSOA: S"),
        (
            "E01000001,N,North\nE01000002,N,Nrth\n",
            "1 area code(s) with more than one name: N ('North' vs 'Nrth')",
        ),
        ("E01000001,,North\n", "1 row(s) with a blank area_code: row 2 (North)"),
        ("E01000001,N,\n", "1 row(s) with a blank area_name: row 2 (N)"),
        ("E01000001,N,North\n,N,North\n", "1 row(s) with a blank lsoa21cd: row 3 (N)"),
    ],
)
def test_bad_rows_get_one_line(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in one_error(tmp_path, HEADER + body)


def test_examples_are_capped_and_counted(tmp_path: Path) -> None:
    body = "".join(f"E0199999{i},N,North\n" for i in range(5))
    message = one_error(tmp_path, HEADER + body)
    assert "5 unknown LSOA code(s)" in message
    assert "row 4 (E01999992) and 2 more" in message and "E01999993" not in message


def test_problems_are_capped_at_three(tmp_path: Path) -> None:
    body = f"E01999999,N,North\n{RETIRED},N,North\nW01000001,N,North\nE01000001,N,Nrth\n,X,X\n"
    message = one_error(tmp_path, HEADER + body)
    assert message.endswith("; and 2 more problem(s)")
    assert message.count(";") == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "lsoa21cd,area_code,area_name,Area_Code\n",
            "header repeated, keep one of each: 'area_code' (columns 2, 4)",
        ),
        (HEADER, "has no rows"),
        (HEADER + ",,\n,,\n", "has no rows"),
        (
            "lsoa21cd,code,area_name\nE01000001,N,North\n",
            "lacks column(s) area_code (it has: lsoa21cd, code, area_name)",
        ),
        ("lsoa,code\n", "lacks column(s) lsoa21cd, area_code, area_name"),
    ],
)
def test_bad_headers_get_one_line(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in one_error(tmp_path, text)


def test_unknown_format_is_named(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="give a CSV, xlsx or Parquet table"):
        read_area_table(write_csv(tmp_path / "a.txt", HEADER), LSOAS)


# --- polygons ------------------------------------------------------------------------

X0, Y0 = 400_000, 300_000  # a point in the English Midlands, in British National Grid


def square(i: int, j: int, size: float = 1000) -> shapely.Polygon:
    return shapely.box(X0 + i * size, Y0 + j * size, X0 + (i + 1) * size, Y0 + (j + 1) * size)


def layer_file(path: Path, frame: gpd.GeoDataFrame) -> Path:
    frame.to_file(path, engine="pyogrio")
    return path


def two_areas(crs: int | None = BNG) -> gpd.GeoDataFrame:
    """West (2 km x 1 km) and East (1 km x 1 km), side by side."""
    frame = gpd.GeoDataFrame(
        {"Area_Code": ["W", "E"], "area_name": ["West", "East"]},
        geometry=[shapely.box(X0, Y0, X0 + 2000, Y0 + 1000), square(2, 0)],
        crs=crs,
    )
    return frame


SHAPES = gpd.GeoSeries([square(i, 0) for i in range(9)], index=LSOAS, crs=BNG)  # 1 km each


def centroids_of(points: dict[str, tuple[float, float]]) -> gpd.GeoSeries:
    xy = np.array(list(points.values()))
    return gpd.GeoSeries(
        gpd.points_from_xy(xy[:, 0], xy[:, 1]), index=pd.Index(points, name="lsoa21cd"), crs=BNG
    )


CENTROIDS = {  # LSOA -> centroid: two in West, one in East, one outside both
    LSOAS[0]: (X0 + 500, Y0 + 500),
    LSOAS[1]: (X0 + 1500, Y0 + 500),
    LSOAS[2]: (X0 + 2500, Y0 + 500),
    LSOAS[3]: (X0 + 5500, Y0 + 500),
}


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".zip"])
def test_layers_of_each_format_assign_by_centroid(tmp_path: Path, suffix: str) -> None:
    frame = two_areas().to_crs(4326)  # any declared CRS: assignment happens in BNG
    if suffix == ".zip":
        layer_file(tmp_path / "areas.shp", frame)
        with zipfile.ZipFile(tmp_path / "areas.zip", "w") as z:
            for part in tmp_path.glob("areas.*"):
                if part.suffix != ".zip":
                    z.write(part, part.name)
    else:
        layer_file(tmp_path / f"areas{suffix}", frame)
    path = tmp_path / f"areas{suffix}"
    assert is_layer(path)
    layer = read_area_layer(path)
    assert layer.crs.to_epsg() == BNG and list(layer["area_code"]) == ["E", "W"]
    members = assign_by_centroid(layer, centroids_of(CENTROIDS), LSOAS[:4], SHAPES)
    assert members.to_dict("list") == {
        "lsoa21cd": LSOAS[:3],
        "area_code": ["W", "W", "E"],
        "area_name": ["West", "West", "East"],
        "placed_by": ["centroid"] * 3,
    }


def test_a_centroid_on_a_shared_edge_goes_to_the_lower_code(tmp_path: Path) -> None:
    """LSOA 1 lies half in West, half in East, its centroid on their shared edge."""
    layer = read_area_layer(layer_file(tmp_path / "a.gpkg", two_areas()))
    on_edge = {LSOAS[0]: (X0 + 2000, Y0 + 500), LSOAS[1]: (X0 + 500, Y0 + 500)}
    halves = SHAPES.copy()
    halves[LSOAS[0]] = shapely.box(X0 + 1500, Y0, X0 + 2500, Y0 + 1000)
    members = assign_by_centroid(layer, centroids_of(on_edge), LSOAS[:2], halves)
    assert list(members["area_code"]) == ["E", "W"]
    assert list(members["placed_by"]) == ["centroid", "centroid"]


EDGE_X = X0 + 2000  # West and East share the edge x = EDGE_X


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(-19, ("E", "edge")), (-21, ("W", "centroid")), (19, ("E", "centroid"))],
)
def test_a_centroid_within_20_m_of_a_shared_edge_goes_where_most_of_the_lsoa_lies(
    tmp_path: Path, offset: float, expected: tuple[str, str]
) -> None:
    """LSOA 1 lies 90% in East: a centroid 19 m inside West is within a generalised
    polygon's precision of the edge, so the LSOA's shape decides; 21 m inside, the centroid."""
    layer = read_area_layer(layer_file(tmp_path / "a.gpkg", two_areas()))
    shapes = SHAPES.copy()
    shapes[LSOAS[0]] = shapely.box(EDGE_X - 100, Y0, EDGE_X + 900, Y0 + 1000)
    points = {LSOAS[0]: (EDGE_X + offset, Y0 + 500), **dict(list(CENTROIDS.items())[1:3])}
    members = assign_by_centroid(layer, centroids_of(points), LSOAS[:3], shapes)
    first = members.iloc[0]
    assert (first["area_code"], first["placed_by"]) == expected
    per_area, _ = fit_report(layer, members, shapes, pd.Series(1, index=LSOAS[:3]))
    by_shape = per_area.set_index("area_code")["n_by_shape"].to_dict()
    assert by_shape == {"E": int(expected[1] == "edge"), "W": 0}


@pytest.mark.parametrize(
    ("beyond", "inside", "expected"),
    [(90, 0.85, ("E", "coast")), (110, 0.85, None), (90, 0.75, None)],
)
def test_a_centroid_just_off_a_clipped_coast_goes_where_the_lsoa_lies_almost_wholly(
    tmp_path: Path, beyond: float, inside: float, expected: tuple[str, str] | None
) -> None:
    """East's eastern edge is a coastline: an LSOA whose centroid lies ``beyond`` metres
    offshore is East's if East holds at least 80% of its shape and it is within 100 m."""
    layer = read_area_layer(layer_file(tmp_path / "a.gpkg", two_areas()))
    coast = X0 + 3000
    shapes = SHAPES.copy()
    shapes[LSOAS[0]] = shapely.box(
        coast - 1000 * inside, Y0, coast + 1000 * (1 - inside), Y0 + 1000
    )
    points = {LSOAS[0]: (coast + beyond, Y0 + 500), **dict(list(CENTROIDS.items())[1:3])}
    members = assign_by_centroid(layer, centroids_of(points), LSOAS[:3], shapes)
    east = members[members["lsoa21cd"] == LSOAS[0]]
    placed = None if east.empty else (east["area_code"].iloc[0], east["placed_by"].iloc[0])
    assert placed == expected


def test_features_sharing_a_code_are_one_area(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"area_code": ["A", "A"], "area_name": ["Apart", "Apart"]},
        geometry=[square(0, 0), square(5, 0)],
        crs=BNG,
    )
    layer = read_area_layer(layer_file(tmp_path / "a.gpkg", frame))
    assert len(layer) == 1 and layer.geometry.iloc[0].area == pytest.approx(2e6)


def layer_error(tmp_path: Path, frame: gpd.GeoDataFrame) -> str:
    with pytest.raises(SchemaError) as info:
        read_area_layer(layer_file(tmp_path / "bad.gpkg", frame))
    return str(info.value)


def test_a_layer_without_crs_is_an_error(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        path = layer_file(tmp_path / "bad.gpkg", two_areas(crs=None))
    with pytest.raises(SchemaError, match="has no coordinate reference system; save it"):
        read_area_layer(path)


def test_overlapping_polygons_are_named_in_pairs(tmp_path: Path) -> None:
    frame = two_areas()
    frame.loc[1, "geometry"] = shapely.box(X0 + 1500, Y0, X0 + 3000, Y0 + 1000)
    message = layer_error(tmp_path, frame)
    assert "1 pair(s) of polygons overlap: E and W (500,000 m²)" in message


def test_a_polygon_inside_another_overlaps_it(tmp_path: Path) -> None:
    """Interiors meeting, not edges crossing: an area drawn wholly inside another is named."""
    frame = two_areas()
    frame.loc[1, "geometry"] = shapely.box(X0 + 200, Y0 + 200, X0 + 700, Y0 + 700)
    message = layer_error(tmp_path, frame)
    assert "1 pair(s) of polygons overlap: E and W (250,000 m²)" in message


def test_polygons_that_only_touch_do_not_overlap(tmp_path: Path) -> None:
    assert len(read_area_layer(layer_file(tmp_path / "a.gpkg", two_areas()))) == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"area_name": ["West", None]}, "1 row(s) with a blank area_name: row 3 (E)"),
        ({"Area_Code": ["W", "W"]}, "1 area code(s) with more than one name: W ('West' vs 'East')"),
        ({"area_name": None, "Area_Code": None}, "lacks field(s) area_code, area_name"),
    ],
)
def test_bad_fields_get_one_line(tmp_path: Path, change: dict, expected: str) -> None:
    frame = two_areas()
    for column, values in change.items():
        frame = frame.drop(columns=column) if values is None else frame.assign(**{column: values})
    assert expected in layer_error(tmp_path, frame)


def test_features_that_are_not_polygons_are_named(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"area_code": ["P"], "area_name": ["Point"]}, geometry=[shapely.Point(X0, Y0)], crs=BNG
    )
    assert "1 feature(s) without a polygon: row 2 (Point)" in layer_error(tmp_path, frame)


def test_a_layer_with_no_england_is_an_error(tmp_path: Path) -> None:
    frame = two_areas(crs=4326)  # BNG metres read as degrees: nowhere near England
    frame.geometry = frame.geometry.scale(1e-5, 1e-5, origin=(0, 0))
    layer = read_area_layer(layer_file(tmp_path / "far.gpkg", frame))
    with pytest.raises(SchemaError, match="no LSOA of England has its population-weighted"):
        assign_by_centroid(layer, centroids_of(CENTROIDS), LSOAS[:4], SHAPES)


def test_an_area_with_no_lsoa_is_an_error(tmp_path: Path) -> None:
    layer = read_area_layer(layer_file(tmp_path / "a.gpkg", two_areas()))
    west_only = {k: v for k, v in CENTROIDS.items() if k != LSOAS[2]}
    with pytest.raises(
        SchemaError, match=r"1 area\(s\) hold no LSOA's population-weighted centroid .*: E"
    ):
        assign_by_centroid(layer, centroids_of(west_only), list(west_only), SHAPES)


def test_every_lsoa_needs_a_centroid(tmp_path: Path) -> None:
    layer = read_area_layer(layer_file(tmp_path / "a.gpkg", two_areas()))
    with pytest.raises(SchemaError, match="1 LSOA\\(s\\) of England have no centroid: E01000009"):
        assign_by_centroid(layer, centroids_of(CENTROIDS), [*LSOAS[:4], LSOAS[8]], SHAPES)


def test_centroids_from_csv_and_layer_agree(tmp_path: Path) -> None:
    points = centroids_of(CENTROIDS)
    csv = tmp_path / "pwc.csv"
    pd.DataFrame({"LSOA21CD": points.index, "x": points.x, "y": points.y}).to_csv(csv, index=False)
    gpkg = layer_file(
        tmp_path / "pwc.gpkg",
        gpd.GeoDataFrame(
            {"LSOA21CD": points.index}, geometry=points.to_crs(4326).to_numpy(), crs=4326
        ),
    )
    from_csv, from_gpkg = read_centroids(csv), read_centroids(gpkg)
    assert from_csv.geom_equals_exact(points, tolerance=0).all()
    assert from_gpkg.geom_equals_exact(points, tolerance=1e-3).all()


def test_repeated_centroids_are_an_error(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "pwc.csv", "lsoa21cd,x,y\nE01000001,1,2\nE01000001,3,4\n")
    with pytest.raises(SchemaError, match="2 LSOA\\(s\\) repeated or without a point"):
        read_centroids(csv)


def test_fit_report_counts_people_cover_and_straddlers(tmp_path: Path) -> None:
    """West holds LSOAs 1 and 2 (1 km squares) and 25% of LSOA 3, whose centroid is in
    East; East's polygon is LSOA 3's other 75% and a strip with no LSOA."""
    layer = read_area_layer(
        layer_file(
            tmp_path / "a.gpkg",
            gpd.GeoDataFrame(
                {"area_code": ["W", "E"], "area_name": ["West", "East"]},
                geometry=[
                    shapely.box(X0, Y0, X0 + 2250, Y0 + 1000),
                    shapely.box(X0 + 2250, Y0, X0 + 3500, Y0 + 1000),
                ],
                crs=BNG,
            ),
        )
    )
    shapes = gpd.GeoSeries([square(0, 0), square(1, 0), square(2, 0)], index=LSOAS[:3], crs=BNG)
    members = assign_by_centroid(
        layer, centroids_of(dict(list(CENTROIDS.items())[:3])), LSOAS[:3], SHAPES
    )
    people = pd.Series([1000, 1500, 2000], index=LSOAS[:3])
    per_area, straddling = fit_report(layer, members, shapes.to_crs(4326), people)
    per_area = per_area.set_index("area_code")
    assert per_area["n_lsoa"].to_dict() == {"W": 2, "E": 1}
    assert per_area["population"].to_dict() == {"W": 2500, "E": 2000}
    assert per_area.loc["W", "polygon_km2"] == pytest.approx(2.25, rel=1e-6)
    assert per_area.loc["W", "covered_share"] == pytest.approx(2 / 2.25, rel=1e-3)
    assert per_area.loc["E", "covered_share"] == pytest.approx(0.75 / 1.25, rel=1e-3)
    assert per_area["n_straddling"].to_dict() == {"W": 1, "E": 1}
    row = straddling.set_index("lsoa21cd").loc[LSOAS[2]]
    assert row["area_code"] == "E" and row["overlaps"] == "W, E"
    assert row["share_in_area"] == pytest.approx(0.75, rel=1e-3)
    assert row["share_outside"] == pytest.approx(0, abs=1e-6)
    assert len(straddling) == 1


def test_an_lsoa_partly_outside_every_polygon_straddles(tmp_path: Path) -> None:
    layer = read_area_layer(
        layer_file(
            tmp_path / "a.gpkg",
            gpd.GeoDataFrame(
                {"area_code": ["A"], "area_name": ["A"]},
                geometry=[shapely.box(X0, Y0, X0 + 800, Y0 + 1000)],
                crs=BNG,
            ),
        )
    )
    shapes = gpd.GeoSeries([square(0, 0)], index=LSOAS[:1], crs=BNG)
    members = assign_by_centroid(
        layer, centroids_of({LSOAS[0]: (X0 + 400, Y0 + 500)}), LSOAS[:1], SHAPES
    )
    _, straddling = fit_report(layer, members, shapes, pd.Series([5], index=LSOAS[:1]))
    assert straddling["share_outside"].iloc[0] == pytest.approx(0.2, rel=1e-6)


def test_parents_of_needs_areas_that_nest() -> None:
    members = good_rows()
    lads = pd.DataFrame({"lsoa21cd": LSOAS[:4], "lad24cd": ["L1", "L1", "L2", "L3"]})
    with pytest.raises(
        UnmatchedAreaError, match=r"1 area\(s\) lie in more than one lad24cd .*: S \(L2, L3\)"
    ):
        parents_of(members, lads, "lad24cd")
    lads["lad24cd"] = ["L1", "L1", "L2", "L2"]
    assert parents_of(members, lads, "lad24cd").to_dict() == {"N": "L1", "S": "L2"}


def test_centroid_source_is_a_manifest_entry() -> None:
    """The ONS centroid service, declared as sources.toml declares ArcGIS layers."""
    source = MANIFEST["lsoa_centroids"]
    assert source.kind == "arcgis" and source.params["out_sr"] == BNG
    assert "LLSOA_Dec_2021_PWC_for_England_and_Wales_2022/FeatureServer/0/query" in source.url


# --- ranks within a parent: areas must nest in it ------------------------------------

PLANNED = {"file7", "geographies", "lookup", "names", "boundaries", "lsoa_boundaries"}


@pytest.mark.parametrize(
    ("keys", "within", "expected"),
    [
        (["msoa21"], "icb24", "MSOAs (msoa21) do not each lie in one ICB (they nest in: lad24, "),
        (["lrf24"], "icb24", "(lrf24) do not each lie in one ICB (they nest in: rgn24)"),
        (["utla24", "lad24", "icb24"], "lad24", "(utla24) do not each lie in one"),
        (["sicbl24"], "rgn24", "(sicbl24) do not each lie in one region (they nest in: icb24)"),
    ],
)
def test_within_a_parent_the_areas_straddle_is_refused_when_planned(keys, within, expected):
    """Nesting is data (geographies.toml): refused before any input is read, in one line
    naming every geography that straddles the parent."""
    with pytest.raises(ConfigError) as info:
        make_plan(PLANNED, [GEOGRAPHIES[k] for k in keys], within=within)
    message = str(info.value)
    assert expected in message and len(message.splitlines()) == 1
    assert message.endswith("; choose a parent they nest in")
    if len(keys) == 3:
        assert "(icb24)" in message and "(lad24)" not in message


@pytest.mark.parametrize(
    ("key", "parents"),
    [
        ("msoa21", ["lad24", "utla24", "rgn24"]),
        ("lad24", ["lad24", "utla24", "rgn24"]),
        ("utla24", ["utla24", "rgn24"]),
        ("sicbl24", ["icb24"]),
        ("lrf24", ["rgn24"]),
        ("pcon24", ["rgn24"]),
        ("wd25", ["lad24", "utla24", "rgn24"]),
        ("icb24", ["icb24"]),
    ],
)
def test_parents_follow_the_declared_nesting(key, parents):
    assert parents_for(GEOGRAPHIES[key]) == parents
    make_plan(PLANNED, [GEOGRAPHIES[key]], within=parents[-1])  # allowed


def test_own_areas_are_checked_for_nesting_once_read():
    plan = make_plan({"areas"}, [own_areas("x", layer=False)], within="icb24")
    assert plan.datasets[0].within == "icb24"


def test_the_site_shows_the_fit_file_with_short_headings(tmp_path: Path) -> None:
    fit = tmp_path / "iod25_x_fit.csv"
    fit.write_text(
        "area_code,area_name,n_lsoa,population,n_by_shape,polygon_km2,covered_share,"
        "n_straddling\nB,Box,7,13860,1,4.04,0.6937,11\n"
    )
    shown = _site.fit_table(SimpleNamespace(paths={"fit": fit}))
    assert shown.index.name == "area"
    assert shown.loc["Box"].to_dict() == {
        "LSOAs": 7,
        "people": "13,860",
        "by shape": 1,
        "km²": 4.0,
        "covered": "69%",
        "straddling": 11,
    }

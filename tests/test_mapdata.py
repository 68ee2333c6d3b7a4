"""The interactive map's data and HTML on tiny synthetic areas: no network, no real data."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from iod_msoa import _figures, _mapdata

from .maptools import METRIC_SHORTS, grid_areas


@pytest.fixture
def palette() -> list[str]:
    return _figures.read_palette()


@pytest.fixture
def areas() -> gpd.GeoDataFrame:
    return grid_areas()


def test_simplify_coverage_keeps_neighbours_touching():
    wiggly = [
        Polygon([(0, 0), (1, 0), (1, 0.3), (1.02, 0.5), (1, 0.7), (1, 1), (0, 1)]),
        Polygon([(1, 0), (2, 0), (2, 1), (1, 1), (1, 0.7), (1.02, 0.5), (1, 0.3)]),
    ]
    series = gpd.GeoSeries(wiggly)
    simplified = _mapdata.simplify_coverage(series, tolerance=0.1)
    assert shapely.get_num_coordinates(simplified.to_numpy()).sum() < 14
    union = shapely.union_all(simplified.to_numpy())
    assert union.area == pytest.approx(simplified.area.sum())  # no overlaps
    assert union.area == pytest.approx(2.0, rel=1e-3)  # no gaps


def test_simplified_shapes_are_read_back_from_the_cache(tmp_path, monkeypatch, areas):
    monkeypatch.setenv(_mapdata.SHAPE_CACHE_ENV, str(tmp_path / "shapes"))
    first = _mapdata.simplify_coverage(areas.geometry, tolerance=0.1)
    assert len(list((tmp_path / "shapes").glob("*.npz"))) == 1

    def not_again(*args, **kwargs):
        raise AssertionError("simplified again")

    monkeypatch.setattr(_mapdata.shapely, "coverage_simplify", not_again)
    again = _mapdata.simplify_coverage(areas.geometry, tolerance=0.1)
    assert list(shapely.to_wkb(again.to_numpy())) == list(shapely.to_wkb(first.to_numpy()))
    assert list(again.index) == list(areas.index) and again.crs == areas.crs
    with pytest.raises(AssertionError, match="simplified again"):  # other shapes: not cached
        _mapdata.simplify_coverage(areas.geometry.translate(1, 0), tolerance=0.1)


def test_the_shape_cache_is_the_projects_and_nowhere_outside_one(tmp_path, monkeypatch):
    monkeypatch.delenv(_mapdata.SHAPE_CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert _mapdata.shape_cache() is None
    (tmp_path / "_quarto.yml").write_text("project:\n  type: website\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert _mapdata.shape_cache() == tmp_path / "data" / "cache" / "shapes"


def test_with_geometry_reads_a_boundaries_file(tmp_path, areas):
    path = tmp_path / "boundaries.gpkg"
    shapes = areas[["msoa21cd", "geometry"]].rename(columns={"msoa21cd": "MSOA21CD"})
    shapes.iloc[::-1].to_file(path, driver="GPKG")
    table = pd.DataFrame(areas.drop(columns="geometry"))
    joined = _mapdata.with_geometry(table, path, tolerance=None)
    assert list(joined["msoa21cd"]) == list(table["msoa21cd"])
    assert joined.geometry.geom_equals_exact(areas.geometry, tolerance=1e-9).all()


def decode_integers(text: str) -> np.ndarray:
    """The polyline decoding, in Python: 5 bits a character, +32 while more follow, +63."""
    chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64) - 63
    last = chars < 32  # each value ends at a character without the +32
    value = np.cumsum(np.r_[0, last[:-1]])  # which value each character belongs to
    first = np.r_[0, np.flatnonzero(last)[:-1] + 1]
    shift = 5 * (np.arange(len(chars)) - first[value])
    zigzag = np.bincount(value, weights=(chars & 31) << shift).astype(np.int64)
    return (zigzag >> 1) ^ -(zigzag & 1)


def test_with_geometry_reads_its_shapes_back_from_the_cache(tmp_path, monkeypatch, areas):
    monkeypatch.setenv(_mapdata.SHAPE_CACHE_ENV, str(tmp_path / "shapes"))
    path = tmp_path / "boundaries.gpkg"
    areas[["msoa21cd", "geometry"]].rename(columns={"msoa21cd": "MSOA21CD"}).to_file(path)
    table = pd.DataFrame(areas.drop(columns="geometry"))
    first = _mapdata.with_geometry(table, path, tolerance=0.1)
    whole = _mapdata.with_geometry(table, path, tolerance=None)

    def not_again(*args, **kwargs):
        raise AssertionError("read again")

    monkeypatch.setattr(_mapdata, "read_boundaries", not_again)
    again = _mapdata.with_geometry(table, path, tolerance=0.1)
    assert list(shapely.to_wkb(again.geometry.to_numpy())) == list(
        shapely.to_wkb(first.geometry.to_numpy())
    )
    assert list(again.index) == list(table.index) and again.crs == first.crs
    assert _mapdata.with_geometry(table, path, tolerance=None).geom_equals_exact(whole, 0).all()
    with pytest.raises(AssertionError, match="read again"):  # other MSOAs: not cached
        _mapdata.with_geometry(table.iloc[1:], path, tolerance=0.1)
    areas.iloc[:1][["msoa21cd", "geometry"]].to_file(path)  # the file changed: read again
    with pytest.raises(AssertionError, match="read again"):
        _mapdata.with_geometry(table, path, tolerance=0.1)


def test_encode_integers_round_trips_small_and_large_numbers():
    values = np.array([0, 1, -1, 15, 16, -16, 31, 32, -33, 1000, -123456, 2**29 - 1, 1 - 2**29])
    text = _mapdata.encode_integers(values)
    assert decode_integers(text).tolist() == values.tolist()
    assert len(_mapdata.encode_integers(np.array([0, 15, -16]))) == 3  # one character each
    assert set(text) <= {chr(c) for c in range(63, 127)}  # printable, nothing to escape in HTML
    with pytest.raises(ValueError, match="within"):
        _mapdata.encode_integers(np.array([2**29]))


def decode(geometry: dict) -> list[list[list[list[float]]]]:
    """The explore page's decoder (the package's assets/js/explore-map.js), in Python."""
    xy = (
        np.cumsum(decode_integers(geometry["coords"]).reshape(-1, 2), axis=0)
        / 10 ** geometry["decimals"]
    )
    rings = np.split(xy, np.cumsum(geometry["ringSizes"])[:-1])
    polygons = np.split(np.arange(len(rings)), np.cumsum(geometry["polygonRings"])[:-1])
    areas = np.split(np.arange(len(polygons)), np.cumsum(geometry["areaPolygons"])[:-1])
    return [[[rings[r].tolist() for r in polygons[p]] for p in area] for area in areas]


@pytest.fixture
def tricky() -> gpd.GeoSeries:
    """A square with a hole, a two-part area and a plain triangle."""
    holed = Polygon(
        [(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)],
        holes=[[(0.004, 0.004), (0.006, 0.004), (0.006, 0.006)]],
    )
    multi = MultiPolygon([box(1, 1, 1.01, 1.01), box(1.02, 1, 1.03, 1.01)])
    return gpd.GeoSeries([holed, multi, Polygon([(-2, 51), (-1.99, 51), (-2, 51.01)])], crs=4326)


def test_encode_geometry_round_trips(tricky):
    encoded = _mapdata.encode_geometry(tricky, decimals=4)
    decoded = decode(encoded)
    assert [len(a) for a in decoded] == [1, 2, 1]
    assert [len(p) for p in decoded[0]] == [2]  # exterior and hole
    assert [len(p) for p in decoded[1]] == [1, 1]
    for area, geom in zip(decoded, tricky, strict=True):
        parts = shapely.get_parts(geom)
        for polygon, part in zip(area, parts, strict=True):
            rings = [part.exterior, *part.interiors]
            for ring, original in zip(polygon, rings, strict=True):
                expected = np.round(np.asarray(original.coords)[:-1], 4)
                np.testing.assert_allclose(ring, expected, atol=1e-9)


def test_encode_geometry_drops_points_that_round_together():
    dense = Polygon([(0, 0), (0.00001, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)])
    encoded = _mapdata.encode_geometry(gpd.GeoSeries([dense]), decimals=4)
    assert encoded["ringSizes"] == [4]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_pages_javascript_decodes_the_same(tricky):
    encoded = _mapdata.encode_geometry(tricky, decimals=4)
    script = _mapdata.asset("js", "explore-map.js")
    program = (
        "global.window = {}; require(process.argv[1]);"
        "const g = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(window.IodMsoaMap.decodeGeometry(g)));"
    )
    run = subprocess.run(
        ["node", "-e", program, str(script)],
        input=json.dumps(encoded),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    from_js = json.loads(run.stdout)  # [lat, lng] pairs, as Leaflet wants them
    from_py = decode(encoded)
    flipped = [[[[[y, x] for x, y in ring] for ring in p] for p in a] for a in from_py]
    assert np.allclose(
        np.concatenate([np.ravel(r) for a in from_js for p in a for r in p]),
        np.concatenate([np.ravel(r) for a in flipped for p in a for r in p]),
    )


def test_explore_data_has_one_value_per_area_and_metric(areas, palette):
    data = _mapdata.explore_data(areas, palette)
    n = len(areas)
    assert data["n"] == n and len(data["codes"]) == n and len(data["names"]) == n
    assert [m["key"] for m in data["metrics"]] == METRIC_SHORTS
    for key in ("score", "rank", "decile"):
        assert len(data[key]) == len(METRIC_SHORTS)
        assert all(len(values) == n for values in data[key])
    idaci = METRIC_SHORTS.index("idaci")
    assert data["decile"][idaci][3] is None
    assert data["ladNames"][data["lad"][0]] == "Birmingham"
    assert sum(data["geometry"]["areaPolygons"]) == n
    json.dumps(data, allow_nan=False)  # strictly valid JSON


def test_explore_map_html_loads_nothing_from_the_web(areas, palette):
    data = _mapdata.explore_data(areas, palette)
    data["names"][0] = "</script><script>alert(1)</script>"
    html = _mapdata.explore_map_html(data)
    assert not re.search(r"<script[^>]*\ssrc=|<link\b", html)  # scripts and styles inlined
    assert re.findall(r"url\((?!data:|#default#VML)", html) == []  # Leaflet's images too
    assert html.count("</script>") == 4  # data, Leaflet, our script, the call
    assert html.count("</style>") == 1
    payload = html.split('type="application/json" id="msoa-map-data">')[1].split("</script>")[0]
    assert json.loads(payload)["names"][0].startswith("</script>")  # cannot close the block
    assert "Leaflet 1.9.4" in html and "IodMsoaMap" in html and ".msoa-map {" in html


def test_inline_escapes_a_closing_tag():
    assert _mapdata._inline("script", 'a = "</SCRIPT>";') == '<script>a = "<\\/SCRIPT>";</script>'


def test_explore_table_reads_the_maps_data():
    html = _mapdata.explore_table_html(element_id="m", page_size=20)
    assert 'id="m-table"' in html and 'IodMsoaMap.table("m", 20)' in html
    assert "src=" not in html  # no data or script of its own


def test_vendored_leaflet_keeps_its_licence():
    vendor = _mapdata.asset("vendor", "leaflet")
    assert vendor.joinpath("LICENSE").read_text().startswith("BSD 2-Clause License")
    assert "Leaflet 1.9.4" in vendor.joinpath("leaflet.js").read_text()[:200]
    assert vendor.joinpath("leaflet.css").is_file()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_explore_map_written_outside_the_site_draws_every_area(areas, palette, tmp_path):
    page = tmp_path / "anywhere" / "map.html"
    page.parent.mkdir()
    data = _mapdata.explore_data(areas, palette)
    page.write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>map</title></head><body>'
        + _mapdata.explore_map_html(data)
        + _mapdata.explore_table_html()
        + "</body></html>",
        encoding="utf-8",
    )
    browser = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no tiles: offline
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = browser.stdout
    assert "leaflet-container" in dom, browser.stderr[-2000:]
    pane = dom.split('class="leaflet-pane leaflet-overlay-pane"')[1]
    assert pane.lstrip(">").startswith("<canvas")  # the areas, drawn on Leaflet's canvas
    assert dom.count("<option") >= len(data["metrics"])  # the measure menu
    table = dom.split('id="msoa-map-table"')[1]  # the scripts above hold "<tbody>" too
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr") == 15 and "E0200" in body  # the table, built from the map's data


def test_map_html_with_src_carries_only_the_frame(areas, palette, tmp_path):
    data = _mapdata.explore_data(areas, palette)
    src = _mapdata.write_map_script(data, tmp_path / "explore-data")
    assert src == (tmp_path / "explore-data" / "msoa21.js").as_posix()
    script = (tmp_path / "explore-data" / "msoa21.js").read_text(encoding="utf-8")
    assert script.startswith('IodMsoaMap.provide("msoa21", {') and data["codes"][0] in script
    html = _mapdata.explore_map_html(data, src="explore-data/msoa21.js")
    payload = html.split('id="msoa-map-data">')[1].split("</script>")[0]
    assert json.loads(payload) == _mapdata.map_frame(data)  # no areas, scores or shapes
    assert set(json.loads(payload)) == {"key", "noun", "nouns", "n", "tiles", "bounds"}
    assert 'IodMsoaMap.later("msoa-map", "explore-data/msoa21.js");' in html
    (south, west), (north, east) = data["bounds"]
    assert (west, south, east, north) == pytest.approx(tuple(areas.total_bounds))


def test_packed_measures_read_back_as_the_data_has_them(areas, palette):
    data = _mapdata.explore_data(areas, palette)
    data["score"][0][:3] = [-12.345, None, 0.001]  # negative, missing, small
    script = _mapdata.area_map_script(data)
    assert '"score":["' in script  # strings, not arrays of numbers
    program = (
        "global.window = {}; require(process.argv[1]); let out;"
        "global.IodMsoaMap = { provide: (k, d) => { out = window.IodMsoaMap.unpack(d); } };"
        "eval(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify([out.score, out.rank, out.decile]));"
    )
    run = subprocess.run(
        ["node", "-e", program, str(_mapdata.asset("js", "explore-map.js"))],
        input=script,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(run.stdout) == [data["score"], data["rank"], data["decile"]]

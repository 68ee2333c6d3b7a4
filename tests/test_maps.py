"""Map and figure helpers on tiny synthetic areas: no network, no real data."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.patches import PathPatch
from shapely.geometry import MultiPolygon, Polygon, box

mpl.use("Agg")
import matplotlib.pyplot as plt

from iod_msoa import _maps
from iod_msoa._vocab import METRICS

ROOT = Path(__file__).resolve().parents[1]
METRIC_SHORTS = [m.short for m in METRICS]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No test may reach for tiles; figures are closed after each test."""
    monkeypatch.setenv(_maps.OFFLINE_ENV, "1")
    yield
    plt.close("all")


@pytest.fixture
def palette() -> list[str]:
    return _maps.read_palette()


@pytest.fixture
def areas() -> gpd.GeoDataFrame:
    """A 4 x 5 grid of 1 km squares near Birmingham, two LADs, every metric's columns."""
    x0, y0, size = 406000, 286000, 1000
    cells = [
        box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size)
        for j in range(4)
        for i in range(5)
    ]
    n = len(cells)
    rng = np.random.default_rng(1)
    table = pd.DataFrame(
        {
            "msoa21cd": [f"E0200{i:04d}" for i in range(n)],
            "msoa21hclnm": [f"Place & Area {i}" for i in range(n)],
            "lad24cd": ["E08000025"] * 10 + ["E08000026"] * 10,
            "lad24nm": ["Birmingham"] * 10 + ["Coventry"] * 10,
            "pop_total": rng.integers(5000, 15000, n),
        }
    )
    for m in METRIC_SHORTS:
        scores = rng.random(n) * 50
        ranks = pd.Series(scores).rank(ascending=False, method="min").astype("Int64")
        table[f"{m}_score"] = scores
        table[f"{m}_rank"] = ranks
        table[f"{m}_decile"] = np.ceil(ranks.astype(float) * 10 / n).astype("Int64")
    table.loc[3, "idaci_decile"] = pd.NA  # an area with no decile is drawn grey
    return gpd.GeoDataFrame(table, geometry=cells, crs="EPSG:27700").to_crs(4326)


def test_palette_is_ten_colours_darkest_first(palette):
    assert len(palette) == 10
    luminance = [np.dot(mpl.colors.to_rgb(c), [0.2126, 0.7152, 0.0722]) for c in palette]
    assert luminance[0] < luminance[-1]


def test_read_palette_rejects_a_wrong_list(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"colours": ["#000000"] * 9}))
    with pytest.raises(ValueError, match="10 colours"):
        _maps.read_palette(bad)


def test_decile_scale_is_discrete(palette):
    cmap, norm = _maps.decile_scale(palette)
    picked = [mpl.colors.to_hex(cmap(norm(d))) for d in range(1, 11)]
    assert picked == palette
    assert mpl.colors.to_hex(cmap(norm(1.4))) == palette[0]


def test_compound_path_leaves_holes_empty():
    """Matplotlib fills non-zero: a hole wound like its exterior would be painted over."""
    outer = [(0, 0), (4, 0), (4, 4), (0, 4)]  # anticlockwise
    hole = [(1, 1), (3, 1), (3, 3), (1, 3)]  # anticlockwise too, as some files have it
    for polygon in (Polygon(outer, [hole]), Polygon(outer, [hole[::-1]])):
        fig, ax = plt.subplots(figsize=(2, 2), dpi=50)
        ax.add_patch(PathPatch(_maps.compound_path([polygon]), facecolor="black"))
        ax.set_xlim(-1, 5)
        ax.set_ylim(-1, 5)
        ax.set_axis_off()
        fig.canvas.draw()
        pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        h, w = pixels.shape[:2]
        assert pixels[h // 2, w // 2].min() > 200, "the hole was filled"
        assert pixels[h // 2, int(w * 0.25)].max() < 60, "the ring was not filled"


def test_compound_path_handles_multipolygons():
    multi = MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1)])
    path = _maps.compound_path([multi, box(5, 5, 6, 6)])
    assert (path.codes == path.MOVETO).sum() == 3
    assert (path.codes == path.CLOSEPOLY).sum() == 3


def test_draw_classes_draws_one_patch_per_class(areas, palette):
    _fig, ax = plt.subplots()
    data = areas.to_crs(_maps.MAP_CRS)
    collection = _maps.draw_classes(ax, data.geometry, data["idaci_decile"], palette)
    colours = [mpl.colors.to_hex(c) for c in collection.get_facecolors()]
    present = areas["idaci_decile"].dropna().astype(int).unique()
    assert set(colours) == {palette[d - 1] for d in present} | {_maps.MISSING_COLOUR}
    assert len(collection.get_paths()) == len(present) + 1
    xmin, ymin, xmax, ymax = data.total_bounds
    assert ax.get_xlim()[0] < xmin < xmax < ax.get_xlim()[1]
    assert ax.get_ylim()[0] < ymin < ymax < ax.get_ylim()[1]


def test_add_basemap_skips_the_network_when_offline():
    _fig, ax = plt.subplots()
    assert _maps.add_basemap(ax) is False
    assert not ax.images


def test_add_basemap_survives_a_failing_tile_server(monkeypatch):
    import contextily

    monkeypatch.delenv(_maps.OFFLINE_ENV)

    def refuse(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(contextily, "add_basemap", refuse)
    _fig, ax = plt.subplots()
    assert _maps.add_basemap(ax) is False


def test_decile_map_offline_draws_lad_outlines_and_says_so(areas, palette):
    fig = _maps.decile_map(areas, "imd_decile", palette, title="IMD", source="Source: test")
    ax = fig.axes[0]
    outline = [c for c in ax.collections if len(c.get_facecolors()) == 0]
    assert len(outline) == 1  # the dissolved local authority boundaries, drawn as one path
    notes = " ".join(t.get_text() for t in fig.texts)
    assert "Source: test" in notes and "local authority boundaries shown" in notes
    colourbar = fig.axes[1]
    labels = [t.get_text() for t in colourbar.get_yticklabels()]
    assert labels[0].startswith("1") and "most deprived" in labels[0]
    assert colourbar.yaxis_inverted()


def test_decile_map_uses_tiles_when_they_come(areas, palette, monkeypatch):
    monkeypatch.setattr(_maps, "add_basemap", lambda ax, crs=_maps.MAP_CRS: True)
    fig = _maps.decile_map(areas, "imd_decile", palette, title="IMD", source="Source: test")
    assert "could not be fetched" not in " ".join(t.get_text() for t in fig.texts)


def test_lad_outlines_dissolve_by_local_authority(areas):
    outlines = _maps.lad_outlines(areas)
    assert sorted(outlines["lad24cd"]) == ["E08000025", "E08000026"]


def test_simplify_coverage_keeps_neighbours_touching():
    wiggly = [
        Polygon([(0, 0), (1, 0), (1, 0.3), (1.02, 0.5), (1, 0.7), (1, 1), (0, 1)]),
        Polygon([(1, 0), (2, 0), (2, 1), (1, 1), (1, 0.7), (1.02, 0.5), (1, 0.3)]),
    ]
    series = gpd.GeoSeries(wiggly)
    simplified = _maps.simplify_coverage(series, tolerance=0.1)
    assert shapely.get_num_coordinates(simplified.to_numpy()).sum() < 14
    union = shapely.union_all(simplified.to_numpy())
    assert union.area == pytest.approx(simplified.area.sum())  # no overlaps
    assert union.area == pytest.approx(2.0, rel=1e-3)  # no gaps


def test_with_geometry_reads_a_boundaries_file(tmp_path, areas):
    path = tmp_path / "boundaries.gpkg"
    shapes = areas[["msoa21cd", "geometry"]].rename(columns={"msoa21cd": "MSOA21CD"})
    shapes.iloc[::-1].to_file(path, driver="GPKG")
    table = pd.DataFrame(areas.drop(columns="geometry"))
    joined = _maps.with_geometry(table, path, tolerance=None)
    assert list(joined["msoa21cd"]) == list(table["msoa21cd"])
    assert joined.geometry.geom_equals_exact(areas.geometry, tolerance=1e-9).all()


def test_small_multiples_one_panel_per_metric(areas, palette):
    fig = _maps.small_multiples(areas, METRIC_SHORTS, palette, source="Source: test")
    titled = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titled == [_maps.SHORT_LABELS[m] for m in METRIC_SHORTS]


def test_correlation_heatmap(areas):
    corr = pd.DataFrame(
        np.eye(3), index=["imd", "income", "crime"], columns=["imd", "income", "crime"]
    )
    fig = _maps.correlation_heatmap(corr)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["IMD", "Income", "Crime"]
    assert len(fig.axes[0].texts) == 6  # the lower triangle and the diagonal


def test_validation_scatter_highlights(palette):
    comparison = pd.DataFrame(
        {
            "area_code": ["A", "B", "A", "B"],
            "measure": ["imd_average_score", "imd_average_score", "imd_extent", "imd_extent"],
            "ours": [1.0, 2.0, 0.1, 0.2],
            "published": [1.0, 2.1, 0.1, 0.25],
        }
    ).assign(diff=lambda t: t["ours"] - t["published"])
    comparison["matches_published_rounding"] = comparison["diff"].abs() < 0.001
    fig = _maps.validation_scatter(comparison, ["imd_average_score", "imd_extent"], highlight=["A"])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == [
        "imd_average_score",
        "imd_extent",
    ]
    assert fig.legends


def test_lsoa_spread_and_local_map(areas, palette):
    lsoas = pd.DataFrame(
        {
            "msoa21cd": np.repeat(areas["msoa21cd"].to_numpy()[:5], 4),
            "imd_score": np.linspace(5, 60, 20),
            "imd_decile": np.repeat(np.arange(1, 11), 2),
        }
    )
    fig = _maps.lsoa_spread(lsoas, areas.iloc[:5], palette)
    assert len(fig.axes[0].get_yticklabels()) == 5
    fig = _maps.local_map(areas.iloc[:10], "imd_decile", palette, title="Local", source="S")
    numbers = sorted(int(t.get_text()) for t in fig.axes[0].texts)
    assert numbers == list(range(1, 11))


def decode(geometry: dict) -> list[list[list[list[float]]]]:
    """The explore page's decoder (the package's assets/js/explore-map.js), in Python."""
    xy = (
        np.cumsum(np.asarray(geometry["coords"]).reshape(-1, 2), axis=0)
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
    encoded = _maps.encode_geometry(tricky, decimals=4)
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
    encoded = _maps.encode_geometry(gpd.GeoSeries([dense]), decimals=4)
    assert encoded["ringSizes"] == [4]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_pages_javascript_decodes_the_same(tricky):
    encoded = _maps.encode_geometry(tricky, decimals=4)
    script = _maps.asset("js", "explore-map.js")
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
    data = _maps.explore_data(areas, palette)
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
    data = _maps.explore_data(areas, palette)
    data["names"][0] = "</script><script>alert(1)</script>"
    html = _maps.explore_map_html(data)
    assert not re.search(r"<script[^>]*\ssrc=|<link\b", html)  # scripts and styles inlined
    assert re.findall(r"url\((?!data:|#default#VML)", html) == []  # Leaflet's images too
    assert html.count("</script>") == 4  # data, Leaflet, our script, the call
    assert html.count("</style>") == 1
    payload = html.split('type="application/json" id="msoa-map-data">')[1].split("</script>")[0]
    assert json.loads(payload)["names"][0].startswith("</script>")  # cannot close the block
    assert "Leaflet 1.9.4" in html and "IodMsoaMap" in html and ".msoa-map {" in html


def test_inline_escapes_a_closing_tag():
    assert _maps._inline("script", 'a = "</SCRIPT>";') == '<script>a = "<\\/SCRIPT>";</script>'


def test_explore_table_reads_the_maps_data():
    html = _maps.explore_table_html(element_id="m", page_size=20)
    assert 'id="m-table"' in html and 'IodMsoaMap.table("m", 20)' in html
    assert "src=" not in html  # no data or script of its own


def test_vendored_leaflet_keeps_its_licence():
    vendor = _maps.asset("vendor", "leaflet")
    assert vendor.joinpath("LICENSE").read_text().startswith("BSD 2-Clause License")
    assert "Leaflet 1.9.4" in vendor.joinpath("leaflet.js").read_text()[:200]
    assert vendor.joinpath("leaflet.css").is_file()


def test_short_labels_cover_exactly_the_metrics():
    assert list(_maps.SHORT_LABELS) == METRIC_SHORTS


def test_decile_map_draws_an_inset_for_the_named_region(areas, palette):
    areas = areas.assign(lad24cd=["E09000001"] * 5 + ["E08000025"] * (len(areas) - 5))
    with_inset = _maps.decile_map(
        areas, "imd_decile", palette, title="t", source="s", basemap=False
    )
    without = _maps.decile_map(
        areas, "imd_decile", palette, title="t", source="s", basemap=False, inset=None
    )
    assert len(with_inset.axes[0].child_axes) == 1
    assert with_inset.axes[0].child_axes[0].get_title(loc="left") == "London"
    assert not without.axes[0].child_axes


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_explore_map_written_outside_the_site_draws_every_area(areas, palette, tmp_path):
    page = tmp_path / "anywhere" / "map.html"
    page.parent.mkdir()
    data = _maps.explore_data(areas, palette)
    page.write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>map</title></head><body>'
        + _maps.explore_map_html(data)
        + _maps.explore_table_html()
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

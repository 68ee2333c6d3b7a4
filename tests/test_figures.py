"""Static figure helpers on tiny synthetic areas: no network, no real data."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import PathPatch
from shapely.geometry import MultiPolygon, Polygon, box

mpl.use("Agg")
import matplotlib.pyplot as plt

from iod_msoa import _figures, _mapdata, maps

from .maptools import METRIC_SHORTS, grid_areas


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No test may reach for tiles; figures are closed after each test."""
    monkeypatch.setenv(_figures.OFFLINE_ENV, "1")
    yield
    plt.close("all")


@pytest.fixture
def palette() -> list[str]:
    return _figures.read_palette()


@pytest.fixture
def areas() -> gpd.GeoDataFrame:
    return grid_areas()


def test_palette_is_ten_colours_darkest_first(palette):
    assert len(palette) == 10
    luminance = [np.dot(mpl.colors.to_rgb(c), [0.2126, 0.7152, 0.0722]) for c in palette]
    assert luminance[0] < luminance[-1]


def test_read_palette_rejects_a_wrong_list(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"colours": ["#000000"] * 9}))
    with pytest.raises(ValueError, match="10 colours"):
        _figures.read_palette(bad)


def test_decile_scale_is_discrete(palette):
    cmap, norm = _figures.decile_scale(palette)
    picked = [mpl.colors.to_hex(cmap(norm(d))) for d in range(1, 11)]
    assert picked == palette
    assert mpl.colors.to_hex(cmap(norm(1.4))) == palette[0]


def test_compound_path_leaves_holes_empty():
    """Matplotlib fills non-zero: a hole wound like its exterior would be painted over."""
    outer = [(0, 0), (4, 0), (4, 4), (0, 4)]  # anticlockwise
    hole = [(1, 1), (3, 1), (3, 3), (1, 3)]  # anticlockwise too, as some files have it
    for polygon in (Polygon(outer, [hole]), Polygon(outer, [hole[::-1]])):
        fig, ax = plt.subplots(figsize=(2, 2), dpi=50)
        ax.add_patch(PathPatch(_figures.compound_path([polygon]), facecolor="black"))
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
    path = _figures.compound_path([multi, box(5, 5, 6, 6)])
    assert (path.codes == path.MOVETO).sum() == 3
    assert (path.codes == path.CLOSEPOLY).sum() == 3


def test_draw_classes_draws_one_patch_per_class(areas, palette):
    _fig, ax = plt.subplots()
    data = areas.to_crs(_figures.MAP_CRS)
    collection = _figures.draw_classes(ax, data.geometry, data["idaci_decile"], palette)
    colours = [mpl.colors.to_hex(c) for c in collection.get_facecolors()]
    present = areas["idaci_decile"].dropna().astype(int).unique()
    assert set(colours) == {palette[d - 1] for d in present} | {_mapdata.MISSING_COLOUR}
    assert len(collection.get_paths()) == len(present) + 1
    xmin, ymin, xmax, ymax = data.total_bounds
    assert ax.get_xlim()[0] < xmin < xmax < ax.get_xlim()[1]
    assert ax.get_ylim()[0] < ymin < ymax < ax.get_ylim()[1]


def test_add_basemap_skips_the_network_when_offline():
    _fig, ax = plt.subplots()
    assert _figures.add_basemap(ax) is False
    assert not ax.images


def test_add_basemap_survives_a_failing_tile_server(monkeypatch):
    import contextily

    monkeypatch.delenv(_figures.OFFLINE_ENV)
    monkeypatch.setattr(_figures, "tile_host_resolves", lambda: True)

    def refuse(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(contextily, "add_basemap", refuse)
    _fig, ax = plt.subplots()
    assert _figures.add_basemap(ax) is False


def test_add_basemap_asks_no_tile_when_the_tile_server_has_no_address(monkeypatch):
    import contextily

    monkeypatch.delenv(_figures.OFFLINE_ENV)

    def no_address(host, *args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_address)
    monkeypatch.setattr(contextily, "add_basemap", lambda *a, **k: pytest.fail("asked"))
    assert _figures.tile_host_resolves() is False
    _fig, ax = plt.subplots()
    assert _figures.add_basemap(ax) is False


def test_decile_map_offline_draws_lad_outlines_and_says_so(areas, palette):
    fig = _figures.decile_map(areas, "imd_decile", palette, title="IMD", source="Source: test")
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
    monkeypatch.setattr(_figures, "add_basemap", lambda ax, crs=_figures.MAP_CRS: True)
    fig = _figures.decile_map(areas, "imd_decile", palette, title="IMD", source="Source: test")
    assert "could not be fetched" not in " ".join(t.get_text() for t in fig.texts)


def test_lad_outlines_dissolve_by_local_authority(areas):
    outlines = _figures.lad_outlines(areas)
    assert sorted(outlines["lad24cd"]) == ["E08000025", "E08000026"]


DRAWS_IN_A_NOTEBOOK = """
import sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.display_pub.publish = lambda *args, **kwargs: None  # the printed figure goes nowhere
shell.run_cell("import matplotlib; matplotlib.use('module://matplotlib_inline.backend_inline')")
if sys.argv[1:] == ["once"]:
    shell.run_cell("from iod_msoa import maps; maps.draw_figures_once()")
shell.run_cell(
    "import matplotlib.pyplot as plt\\n"
    "draws = []\\n"
    "fig, ax = plt.subplots()\\n"
    "fig.canvas.mpl_connect('draw_event', lambda event: draws.append(1))\\n"
    "line = ax.plot([1, 2])"
)
print(len(shell.user_ns["draws"]))
"""


def test_draw_figures_once_leaves_a_notebooks_figure_to_the_inline_backend():
    def draws(*args: str) -> int:
        run = [sys.executable, "-c", DRAWS_IN_A_NOTEBOOK, *args]
        return int(subprocess.run(run, capture_output=True, text=True, check=True).stdout)

    printed = draws("once")
    assert printed >= 1  # the inline backend still prints it
    assert printed == draws() - 1  # without: pyplot's hook draws it first, for nothing


def test_lad_outlines_are_read_back_from_the_cache(tmp_path, monkeypatch, areas):
    monkeypatch.setenv(_mapdata.SHAPE_CACHE_ENV, str(tmp_path / "shapes"))
    first = _figures.lad_outlines(areas)
    monkeypatch.setattr(gpd.GeoDataFrame, "dissolve", lambda *a, **k: pytest.fail("again"))
    again = _figures.lad_outlines(areas)
    assert list(again["lad24cd"]) == list(first["lad24cd"]) and again.crs == areas.crs
    assert again.geom_equals_exact(first, tolerance=0).all()
    moved = areas.assign(lad24cd=areas["lad24cd"].iloc[::-1].to_numpy())  # other groups
    with pytest.raises(pytest.fail.Exception, match="again"):
        _figures.lad_outlines(moved)


def test_small_multiples_one_panel_per_metric(areas, palette):
    fig = _figures.small_multiples(areas, METRIC_SHORTS, palette, source="Source: test")
    titled = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titled == [_figures.SHORT_LABELS[m] for m in METRIC_SHORTS]


def test_correlation_heatmap(areas):
    corr = pd.DataFrame(
        np.eye(3), index=["imd", "income", "crime"], columns=["imd", "income", "crime"]
    )
    fig = _figures.correlation_heatmap(corr)
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
    fig = _figures.validation_scatter(
        comparison, ["imd_average_score", "imd_extent"], highlight=["A"]
    )
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
    fig = _figures.lsoa_spread(lsoas, areas.iloc[:5], palette)
    assert len(fig.axes[0].get_yticklabels()) == 5
    fig = _figures.local_map(areas.iloc[:10], "imd_decile", palette, title="Local", source="S")
    numbers = sorted(int(t.get_text()) for t in fig.axes[0].texts)
    assert numbers == list(range(1, 11))


def test_short_labels_cover_exactly_the_metrics():
    assert list(_figures.SHORT_LABELS) == METRIC_SHORTS


def test_decile_map_draws_an_inset_for_the_named_region(areas, palette):
    areas = areas.assign(lad24cd=["E09000001"] * 5 + ["E08000025"] * (len(areas) - 5))
    with_inset = _figures.decile_map(
        areas, "imd_decile", palette, title="t", source="s", basemap=False
    )
    without = _figures.decile_map(
        areas, "imd_decile", palette, title="t", source="s", basemap=False, inset=None
    )
    assert len(with_inset.axes[0].child_axes) == 1
    assert with_inset.axes[0].child_axes[0].get_title(loc="left") == "London"
    assert not without.axes[0].child_axes


def test_maps_offers_the_figures_and_the_map_data():
    """The pages call ``maps.…`` for both: the public module holds every name of each."""
    for module in (_figures, _mapdata):
        assert all(getattr(maps, name) is getattr(module, name) for name in module.__all__)
    assert set(maps.__all__) == {*_figures.__all__, *_mapdata.__all__}


def test_no_figure_sets_type_smaller_than_a_phone_can_read(areas, palette):
    """Issue 17: a phone shows the figures at their natural size (assets/phone.scss), where
    type below SMALLEST_TEXT (the validation panels' 7 pt, the heatmap's 6 pt) is too small."""
    from iod_msoa import _since_site

    comparison = pd.DataFrame(
        {"area_code": ["A", "B"], "measure": "imd_extent", "ours": [0.1, 0.2], "published": 0.1}
    ).assign(diff=lambda t: t["ours"] - t["published"], matches_published_rounding=True)
    lsoas = pd.DataFrame(
        {"msoa21cd": areas["msoa21cd"], "imd_score": areas["imd_score"], "imd_decile": 1}
    )
    change = areas.assign(
        imd_decile_change=np.arange(len(areas)) % 5 - 2,
        imd_rank_19=np.arange(1, len(areas) + 1),
        imd_rank_25=np.arange(len(areas), 0, -1),
        comparability=np.where(np.arange(len(areas)) < 3, "apportioned", "exact"),
    )
    figures = {
        "decile_map": _figures.decile_map(areas, "imd_decile", palette, title="T", source="S"),
        "small_multiples": _figures.small_multiples(areas, ["imd", "income"], palette, source="S"),
        "heatmap": _figures.correlation_heatmap(areas[["imd_score", "income_score"]].corr()),
        "validation": _figures.validation_scatter(comparison, ["imd_extent"], highlight=["A"]),
        "spread": _figures.lsoa_spread(lsoas, areas, palette),
        "local": _figures.local_map(areas, "imd_decile", palette, title="T", source="S"),
        "movement": _since_site.movement_map(change, title="T", source="S"),
        "ranks": _since_site.rank_scatter(change, source="S"),
    }
    for name, fig in figures.items():
        sizes = [
            t.get_fontsize()
            for t in fig.findobj(mpl.text.Text)
            if t.get_visible() and t.get_text().strip()
        ]
        assert min(sizes) >= _figures.SMALLEST_TEXT, name

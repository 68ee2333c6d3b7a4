"""The site's static figures: decile choropleths, small multiples, heatmap, scatter, close-ups.

Choropleths are drawn as one compound path per decile rather than one patch per area, so a
map of all 6,856 MSOAs takes a fraction of a second and sixteen of them a few seconds.
Nothing here needs the network: basemap tiles are tried with a short timeout (never when
``$IOD_MSOA_OFFLINE`` is set) and, when they cannot be had, local authority outlines are
drawn instead with a note saying so.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import textwrap
from collections.abc import Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath

from ._mapdata import MISSING_COLOUR, asset, cached_shapes, shapes_key, tile_host, tile_provider
from ._vocab import METRICS

OFFLINE_ENV = "IOD_MSOA_OFFLINE"
MAP_CRS = "EPSG:27700"  # British National Grid: England without Web Mercator's stretch
TILE_TIMEOUT = (2.0, 5.0)  # seconds to connect, to read each tile
INK = "#1f2a36"  # text colours of the site theme, assets/theme.scss
MUTED = "#5b6673"
OUTLINE = "#ffffff"
# The smallest type any figure sets, in points. A phone shows the figures at their natural size
# (assets/phone.scss, ".swipe"), where a point at the site's 110 dpi (_quarto.yml) is 1.53 CSS
# px: 8 pt is 12 px, the least a reader can take in at arm's length.
SMALLEST_TEXT = 8.0
__all__ = [  # what ``iod_msoa.maps`` offers from here
    "INK",
    "MAP_CRS",
    "MUTED",
    "OFFLINE_ENV",
    "OUTLINE",
    "SHORT_LABELS",
    "SMALLEST_TEXT",
    "TILE_TIMEOUT",
    "add_basemap",
    "areas_over_msoas",
    "compound_path",
    "correlation_heatmap",
    "decile_colourbar",
    "decile_map",
    "decile_scale",
    "draw_classes",
    "draw_figures_once",
    "draw_outlines",
    "finish_map",
    "fit_to",
    "lad_outlines",
    "local_map",
    "lsoa_spread",
    "offline",
    "read_palette",
    "small_multiples",
    "source_line",
    "tile_host_resolves",
    "validation_scatter",
]

SHORT_LABELS = {m.short: m.short_label for m in METRICS}


def offline() -> bool:
    """Whether ``$IOD_MSOA_OFFLINE`` asks pages not to fetch basemap tiles."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in {"", "0", "false", "no"}


def draw_figures_once() -> None:
    """Make the notebook's inline backend the only one to draw each figure; call atop a page.

    In a notebook, pyplot's interactive hook draws every figure a cell leaves open, and the
    inline backend then draws it again to print it: the first drawing is thrown away, and
    for a map of England it is a third of the cell's time. Resolving the backend now
    installs pyplot's hook once, so it can be taken out for good. Elsewhere (a script, a
    window of its own) nothing changes.
    """
    if "inline" not in mpl.get_backend():
        return
    plt.switch_backend(mpl.get_backend())
    plt.uninstall_repl_displayhook()


def read_palette(path: str | Path | Traversable | None = None) -> list[str]:
    """The ten decile colours (decile 1 first); by default the package's viridis palette."""
    path = asset("palette", "deciles.json") if path is None else path
    path = Path(path) if isinstance(path, str) else path
    colours = json.loads(path.read_text(encoding="utf-8"))["colours"]
    if len(colours) != 10 or not all(mpl.colors.is_color_like(c) for c in colours):
        raise ValueError(f"{path}: 'colours' must list 10 colours, decile 1 first")
    return list(colours)


def decile_scale(colours: Sequence[str]) -> tuple[ListedColormap, BoundaryNorm]:
    """A discrete colour map and norm: value 1..10 -> colour 1..10, nothing in between."""
    cmap = ListedColormap(list(colours), name="deciles").with_extremes(bad=MISSING_COLOUR)
    return cmap, BoundaryNorm(np.arange(0.5, 11.5), cmap.N)


def lad_outlines(areas: gpd.GeoDataFrame, by: str = "lad24cd") -> gpd.GeoDataFrame:
    """Local authority polygons made by dissolving the areas inside them, one row per code
    in order; kept in :func:`shape_cache` under the exact shapes and codes, as dissolving
    England's MSOAs takes a second on each page that outlines them."""
    parts = areas[[by, "geometry"]].dropna(subset=[by])
    codes = np.unique(parts[by].astype(str))
    labels = hashlib.sha256("\n".join(parts[by].astype(str)).encode()).hexdigest()
    key = shapes_key(shapely.to_wkb(parts.geometry.to_numpy()), "lad_outlines", labels)

    def dissolve() -> np.ndarray:
        return parts.dissolve(by=by).geometry.to_numpy()

    return gpd.GeoDataFrame({by: codes}, geometry=cached_shapes(key, dissolve), crs=areas.crs)


def compound_path(geometry: gpd.GeoSeries | np.ndarray) -> MplPath:
    """One matplotlib path holding every polygon (and hole) of ``geometry``.

    Rings are oriented (exteriors anticlockwise, holes clockwise) so matplotlib's non-zero
    fill leaves holes empty.
    """
    polygons = shapely.orient_polygons(shapely.get_parts(np.asarray(geometry)))
    rings = shapely.get_rings(polygons)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    starts = np.r_[True, ring[1:] != ring[:-1]]
    codes[starts] = MplPath.MOVETO
    codes[np.r_[starts[1:], True]] = MplPath.CLOSEPOLY
    return MplPath(coords, codes)


def draw_classes(
    ax: Axes,
    geometry: gpd.GeoSeries,
    classes: pd.Series,
    colours: Sequence[str],
    *,
    edgecolor: str = "none",
    linewidth: float = 0.0,
    alpha: float = 1.0,
) -> PathCollection:
    """Fill each area with the colour of its class (1..len(colours)); missing in grey.

    One path per class in one collection; the axes' limits are set from the areas' bounds
    (matplotlib would otherwise walk every vertex in Python to find them).
    """
    values = pd.Series(np.asarray(classes), dtype="Float64").to_numpy(dtype=float, na_value=np.nan)
    keys = np.where(np.isnan(values), 0, values).astype(int)
    palette = np.array([MISSING_COLOUR, *colours])
    geoms = np.asarray(geometry)
    present = np.unique(keys)
    collection = PathCollection(
        [compound_path(geoms[keys == key]) for key in present],
        facecolors=palette[present],
        edgecolors=edgecolor,
        linewidths=linewidth,
        alpha=alpha,
    )
    ax.add_collection(collection, autolim=False)
    fit_to(ax, geoms)
    return collection


def fit_to(ax: Axes, geometry: np.ndarray | gpd.GeoSeries, margin: float = 0.02) -> None:
    """Frame ``geometry`` with equal scales and a small margin, axes hidden."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(np.asarray(geometry))
    pad = margin * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()


def draw_outlines(
    ax: Axes, geometry: gpd.GeoSeries, *, color: str = OUTLINE, linewidth: float = 0.3
) -> PathCollection:
    """Boundaries only (no fill), as one path."""
    collection = PathCollection(
        [compound_path(np.asarray(geometry))],
        facecolors="none",
        edgecolors=color,
        linewidths=linewidth,
    )
    ax.add_collection(collection, autolim=False)
    return collection


def tile_host_resolves() -> bool:
    """Whether the tile server's name resolves: without that no tile can come, and the
    tile client (contextily, with rasterio) takes a quarter of a second to import."""
    try:
        socket.getaddrinfo(tile_host(), 443)
    except (OSError, UnicodeError):
        return False
    return True


def add_basemap(ax: Axes, crs: str = MAP_CRS) -> bool:
    """Add light basemap tiles under the map; ``False`` (and no error) when they cannot be had."""
    if offline() or not tile_host_resolves():
        return False
    try:
        import contextily as cx

        cx.add_basemap(
            ax,
            crs=crs,
            source=tile_provider(),
            timeout=TILE_TIMEOUT,
            attribution_size=SMALLEST_TEXT,
        )
    except Exception:  # no network, a tile server error, DNS: the map stands without tiles
        return False
    return True


def decile_colourbar(
    fig: Figure, target: Axes | Sequence[Axes], colours: Sequence[str], label: str, **kwargs: Any
) -> mpl.colorbar.Colorbar:
    """A labelled 1-10 colour bar with decile 1 (most deprived) at the top."""
    cmap, norm = decile_scale(colours)
    bar = fig.colorbar(
        mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=target, ticks=range(1, 11), **kwargs
    )
    bar.ax.invert_yaxis()
    bar.ax.set_yticklabels(["1  most deprived", *map(str, range(2, 10)), "10  least deprived"])
    bar.ax.tick_params(length=0, labelsize=8)
    bar.set_label(label, fontsize=9)
    bar.outline.set_visible(False)
    return bar


def source_line(fig: Figure, text: str, fontsize: float = SMALLEST_TEXT) -> None:
    """The source note under a figure, wrapped to its width, with room kept for it.

    The constrained layout is told to leave the note's height free at the bottom, so the
    note shows whether the figure is saved tight (as in notebooks) or whole.
    """
    width = int(fig.get_figwidth() * 120 / fontsize)  # characters per line, roughly
    wrapped = "\n".join(textwrap.fill(part, width) for part in text.split("\n"))
    height = ((wrapped.count("\n") + 1) * fontsize * 1.3 / 72 + 0.08) / fig.get_figheight()
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(rect=(0, height, 1, 1 - height))
    fig.text(
        0.01,
        0.01 / fig.get_figheight(),
        wrapped,
        fontsize=fontsize,
        color=MUTED,
        ha="left",
        va="bottom",
    )


def finish_map(
    fig: Figure,
    ax: Axes,
    colours: Sequence[str],
    *,
    legend: str,
    title: str,
    source: str,
    shrink: float,
) -> Figure:
    """The frame every single map shares: decile colour bar, title, source line."""
    decile_colourbar(fig, ax, colours, legend, shrink=shrink, aspect=25, pad=0.01)
    ax.set_title(title, loc="left", fontsize=12, color=INK, fontweight="bold")
    source_line(fig, source)
    return fig


def decile_map(
    areas: gpd.GeoDataFrame,
    column: str,
    colours: Sequence[str],
    *,
    title: str,
    source: str,
    legend: str = "Decile among MSOAs",
    basemap: bool = True,
    figsize: tuple[float, float] = (7.0, 7.6),
    inset: tuple[str, str] | None = ("E09", "London"),
) -> Figure:
    """A choropleth of one decile column: basemap tiles if reachable, else LAD outlines.

    ``inset`` (LAD code prefix, label) repeats one dense region larger in the empty sea at
    the top left, so its small MSOAs can be seen; ``None`` for no inset.
    """
    data = areas.to_crs(MAP_CRS)
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    draw_classes(ax, data.geometry, data[column], colours, alpha=0.92)
    tiles = basemap and add_basemap(ax)
    if not tiles and "lad24cd" in data:
        draw_outlines(ax, lad_outlines(data).geometry, linewidth=0.35)
        source += "\nBasemap tiles could not be fetched: local authority boundaries shown instead."
    if inset is not None and "lad24cd" in data:
        prefix, label = inset
        region = data[data["lad24cd"].str.startswith(prefix)]
        if len(region):
            box = ax.inset_axes((0.0, 0.66, 0.34, 0.30))
            draw_classes(box, region.geometry, region[column], colours, alpha=0.92)
            draw_outlines(box, lad_outlines(region).geometry, linewidth=0.3)
            box.set_title(label, fontsize=8, color=INK, loc="left")
    return finish_map(fig, ax, colours, legend=legend, title=title, source=source, shrink=0.5)


def small_multiples(
    areas: gpd.GeoDataFrame,
    metrics: Sequence[str],
    colours: Sequence[str],
    *,
    source: str,
    ncols: int = 4,
    panel_size: float = 2.4,
) -> Figure:
    """One decile map per metric, sharing one colour bar."""
    data = areas.to_crs(MAP_CRS)
    nrows = -(-len(metrics) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * panel_size, nrows * panel_size * 1.1), layout="constrained"
    )
    flat = np.ravel(axes)
    for ax, metric in zip(flat, metrics, strict=False):
        draw_classes(ax, data.geometry, data[f"{metric}_decile"], colours)
        ax.set_title(SHORT_LABELS.get(metric, metric), fontsize=9, color=INK)
    for ax in flat[len(metrics) :]:
        ax.set_visible(False)
    decile_colourbar(
        fig, list(flat), colours, "Decile among MSOAs", shrink=0.35, aspect=30, pad=0.01
    )
    source_line(fig, source)
    return fig


def correlation_heatmap(correlations: pd.DataFrame) -> Figure:
    """A square correlation matrix (rows and columns named by metric) as an annotated heatmap."""
    corr = correlations.to_numpy().round(2) + 0.0  # + 0.0: no "-0.00"
    corr = np.where(np.triu(np.ones_like(corr, dtype=bool), k=1), np.nan, corr)
    labels = [SHORT_LABELS.get(m, m) for m in correlations.columns]
    n = len(labels)
    fig, ax = plt.subplots(figsize=(0.3 * n + 2.6, 0.3 * n + 1.6), layout="constrained")
    image = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    rows, cols = np.indices(corr.shape)
    shown = rows >= cols
    for r, c, v in zip(rows[shown], cols[shown], corr[shown], strict=True):
        ax.text(
            c,
            r,
            f"{v:.2f}".replace("0.", "."),
            ha="center",
            va="center",
            fontsize=SMALLEST_TEXT,
            color="white" if abs(v) > 0.6 else INK,
        )
    bar = fig.colorbar(image, ax=ax, shrink=0.6)
    bar.set_label("Spearman correlation of MSOA scores", fontsize=8)
    bar.outline.set_visible(False)
    return fig


def validation_scatter(
    comparison: pd.DataFrame,
    measures: Sequence[str],
    *,
    highlight: Sequence[str] = (),
    ncols: int = 3,
) -> Figure:
    """Ours against MHCLG's published value, one panel per measure, y = x drawn in.

    Three panels across keep the figure as wide as the page's column, so that its type is
    shown at its natural size on a desktop (four shrank it by a third).

    ``highlight`` LADs (e.g. those whose inputs are all official) are drawn on top in colour.
    """
    nrows = -(-len(measures) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * 2.6, nrows * 2.6), layout="constrained", squeeze=False
    )
    flat = axes.ravel()
    data = comparison.assign(special=comparison["area_code"].isin(list(highlight)))
    groups = dict(tuple(data.groupby("measure")))
    for ax, measure in zip(flat, measures, strict=False):
        rows = groups[measure]
        lo, hi = rows[["ours", "published"]].min().min(), rows[["ours", "published"]].max().max()
        ax.plot([lo, hi], [lo, hi], color=MUTED, linewidth=0.8, zorder=1)
        rest, special = rows[~rows["special"]], rows[rows["special"]]
        ax.scatter(
            rest["published"],
            rest["ours"],
            s=6,
            color="#8da0b3",
            alpha=0.7,
            zorder=2,
            label="other LADs",
            linewidths=0,
        )
        ax.scatter(
            special["published"],
            special["ours"],
            s=16,
            color="#c8553d",
            zorder=3,
            label="LADs matching MHCLG on every exact measure",
            linewidths=0,
        )
        ax.set_title(measure, fontsize=8.5, color=INK)
        matching = int(rows["matches_published_rounding"].sum())
        ax.text(
            0.03,
            0.97,
            f"{matching} of {len(rows)} match\nlargest |diff| {rows['diff'].abs().max():.3g}",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=SMALLEST_TEXT,
            color=MUTED,
        )
        ax.tick_params(labelsize=SMALLEST_TEXT)
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(4))
        ax.yaxis.set_major_locator(mpl.ticker.MaxNLocator(5))
        ax.set_xlabel("MHCLG File 10", fontsize=SMALLEST_TEXT, color=MUTED)
        ax.set_ylabel("ours", fontsize=SMALLEST_TEXT, color=MUTED)
    for ax in flat[len(measures) :]:
        ax.set_visible(False)
    if len(highlight):
        handles, names = flat[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig


def lsoa_spread(
    lsoa: pd.DataFrame,
    msoa: pd.DataFrame,
    colours: Sequence[str],
    *,
    metric: str = "imd",
    label: str = "msoa21hclnm",
) -> Figure:
    """LSOA scores within each MSOA (dots, coloured by national LSOA decile) and the MSOA mean.

    ``lsoa`` has ``msoa21cd``, ``{metric}_score``, ``{metric}_decile``; ``msoa`` has
    ``msoa21cd``, ``label`` and ``{metric}_score``. MSOAs run from most to least deprived.
    """
    order = msoa.sort_values(f"{metric}_score", ascending=True).reset_index(drop=True)
    position = pd.Series(order.index, index=order["msoa21cd"])
    y = lsoa["msoa21cd"].map(position).to_numpy()
    cmap, norm = decile_scale(colours)
    height = 0.6 + 0.24 * len(order)
    fig, ax = plt.subplots(figsize=(6.5, height), layout="constrained")
    spread = lsoa.groupby("msoa21cd")[f"{metric}_score"].agg(["min", "max"]).loc[order["msoa21cd"]]
    ax.hlines(order.index, spread["min"], spread["max"], color="#c3ccd6", linewidth=2.5, zorder=1)
    ax.scatter(
        lsoa[f"{metric}_score"],
        y,
        c=lsoa[f"{metric}_decile"],
        cmap=cmap,
        norm=norm,
        s=22,
        edgecolors="white",
        linewidths=0.4,
        zorder=2,
    )
    ax.scatter(
        order[f"{metric}_score"],
        order.index,
        marker="|",
        s=160,
        color=INK,
        zorder=3,
        linewidths=1.6,
        label="MSOA score (population-weighted mean)",
    )
    ax.set_yticks(order.index, order[label], fontsize=SMALLEST_TEXT)
    ax.set_ylim(-0.7, len(order) - 0.3)
    ax.set_xlabel(f"{SHORT_LABELS.get(metric, metric)} score (higher = more deprived)", fontsize=9)
    ax.grid(axis="x", color="#e5e9ee", linewidth=0.6)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    decile_colourbar(fig, ax, colours, "LSOA decile (national)", shrink=0.5, aspect=25, pad=0.01)
    return fig


def local_map(
    areas: gpd.GeoDataFrame,
    column: str,
    colours: Sequence[str],
    *,
    title: str,
    source: str,
    order_by: str = "imd_rank",
    legend: str = "IMD decile among MSOAs",
    basemap: bool = True,
) -> Figure:
    """A close-up decile map of a few areas, numbered 1, 2, ... by ``order_by`` (ascending).

    The numbers match the ``#`` column of ``_site.local_table``; names would not fit.
    """
    data = areas.to_crs(MAP_CRS)
    xmin, ymin, xmax, ymax = data.total_bounds
    width = 7.5
    fig, ax = plt.subplots(
        figsize=(width, min(9.0, 1.2 + (width - 1.6) * (ymax - ymin) / (xmax - xmin))),
        layout="constrained",
    )
    draw_classes(
        ax, data.geometry, data[column], colours, edgecolor="white", linewidth=0.8, alpha=0.85
    )
    tiles = basemap and add_basemap(ax)
    if not tiles:
        source += "\nBasemap tiles could not be fetched: areas shown without a background map."
    number = data[order_by].astype(float).rank(method="first").astype(int)
    points = data.geometry.representative_point()
    dark = data[column].astype("Float64").fillna(10).to_numpy() <= 6
    for x, y, n, on_dark in zip(points.x, points.y, number, dark, strict=True):
        ax.text(
            x,
            y,
            str(n),
            ha="center",
            va="center",
            fontsize=SMALLEST_TEXT,
            fontweight="bold",
            color="white" if on_dark else INK,
        )
    return finish_map(fig, ax, colours, legend=legend, title=title, source=source, shrink=0.7)


def areas_over_msoas(
    msoas: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    colours: Sequence[str],
    *,
    title: str,
    source: str,
    column: str = "imd_decile",
) -> Figure:
    """A user's own areas (outlined and named) over their MSOAs by decile: too few areas
    for deciles of their own, so the detail comes from the MSOAs'."""
    fig = decile_map(
        msoas,
        column,
        colours,
        title=title,
        source=source,
        legend="IMD decile among MSOAs",
        inset=None,
        figsize=(7.0, 7.0),
    )
    ax = fig.axes[0]
    shapes = areas.to_crs(MAP_CRS)
    draw_outlines(ax, shapes.geometry, color=INK, linewidth=1.6)
    points = shapes.geometry.representative_point()
    for name, x, y in zip(shapes["area_name"], points.x, points.y, strict=True):
        ax.annotate(
            name,
            (x, y),
            ha="center",
            fontsize=9,
            fontweight="bold",
            color=INK,
            backgroundcolor=(1, 1, 1, 0.7),
        )
    return fig

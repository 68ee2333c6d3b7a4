"""The interactive map's data and HTML: shapes, compact geometry, Leaflet and its assets.

Every map on the site starts from the areas' shapes, simplified here without opening gaps
between neighbours; the interactive map then ships them as flat integer arrays with every
measure, and inlines Leaflet, its script and styles, so a map works from any file offline
(only basemap tiles come from the web). No matplotlib here: the static figures
(:mod:`._figures`) build on this module, not the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xyzservices

from ._config import project_root
from ._geographies import DEFAULT_GEOGRAPHY, GEOGRAPHIES, Geography
from ._shapes import align_boundaries, read_boundaries
from ._sources import sha256_file
from ._vocab import METRICS

MSOA = GEOGRAPHIES[DEFAULT_GEOGRAPHY]

SIMPLIFY_TOLERANCE = 0.003  # degrees; coverage simplification keeps shared edges shared
TILES = "Esri.WorldGrayCanvas"  # light grey, no API key (CARTO's tiles now need one)
COORD_DECIMALS = 4  # ~10 m: plenty for simplified MSOA outlines on a web map
# What a map shows before its data has come (see explore_map_html's ``src``).
FRAME_KEYS = ("key", "noun", "nouns", "n", "tiles", "bounds")
# Each measure's values in an area_map_script as integers: scores carry 3 decimals.
MEASURE_SCALES = {"score": 1000, "rank": 1, "decile": 1}
MISSING_COLOUR = "#d9d9d9"  # as "missing" in the package's assets/palette/deciles.json
SHAPE_CACHE_ENV = "IOD_MSOA_SHAPE_CACHE"  # a folder for simplified shapes (see shape_cache)
WITH_GEOMETRY_FORMAT = 1  # raised when what with_geometry makes of a boundaries file changes
BOUNDARIES_CRS = "EPSG:4326"  # what read_boundaries returns

__all__ = [  # what ``iod_msoa.maps`` offers from here
    "COORD_DECIMALS",
    "MISSING_COLOUR",
    "SIMPLIFY_TOLERANCE",
    "TILES",
    "area_map_script",
    "areas_map_html",
    "asset",
    "cached_shapes",
    "encode_geometry",
    "explore_data",
    "explore_map_html",
    "explore_table_html",
    "map_frame",
    "shape_cache",
    "simplify_coverage",
    "tile_provider",
    "with_geometry",
    "write_map_script",
]


def asset(*parts: str) -> Traversable:
    """A file the package ships for its maps (palette, Leaflet, the map's script and styles).

    Found inside the installed package, so it does not matter where the code runs from.
    """
    return resources.files("iod_msoa").joinpath("assets", *parts)


def shape_cache() -> Path | None:
    """Where simplified shapes are kept for the next page: ``$IOD_MSOA_SHAPE_CACHE``, else
    ``data/cache/shapes`` in the Quarto project being rendered; outside one, nowhere.

    Five pages draw the same 6,856 MSOAs and the areas page nine geographies, each a few
    seconds of simplification; every page runs in its own kernel, so they share it on disk.
    """
    if os.environ.get(SHAPE_CACHE_ENV):
        return Path(os.environ[SHAPE_CACHE_ENV])
    root = project_root()
    return root / "data" / "cache" / "shapes" if (root / "_quarto.yml").is_file() else None


def shapes_key(wkb: np.ndarray, *params: object) -> str:
    """A name for what ``params`` make of these exact shapes with this GEOS."""
    digest = hashlib.sha256(repr((*params, shapely.geos_version_string)).encode())
    digest.update(np.array([len(w) for w in wkb], dtype=np.int64).tobytes())
    digest.update(b"".join(wkb))
    return digest.hexdigest()


def cached_shapes(key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
    """``make()``'s shapes, kept in :func:`shape_cache` (when there is one) under ``key``,
    so the next page asking reads them back bit for bit instead of making them again."""
    folder = shape_cache()
    if folder is None:
        return make()
    path = folder / f"{key}.npz"
    if path.is_file():
        return _read_shapes(path)
    shapes = make()
    _write_shapes(path, shapes)
    return shapes


def _read_shapes(path: Path) -> np.ndarray:
    with np.load(path) as saved:
        wkb, ends = saved["wkb"].tobytes(), saved["ends"]
    starts = np.r_[0, ends[:-1]]
    return shapely.from_wkb([wkb[a:b] for a, b in zip(starts, ends, strict=True)])


def _write_shapes(path: Path, shapes: np.ndarray) -> None:
    """Written whole or not at all: another page may be reading the folder."""
    wkb = shapely.to_wkb(shapes)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    ends = np.cumsum([len(w) for w in wkb], dtype=np.int64)
    np.savez(partial, wkb=np.frombuffer(b"".join(wkb), dtype=np.uint8), ends=ends)
    partial.replace(path)


def simplify_coverage(
    geometry: gpd.GeoSeries, tolerance: float = SIMPLIFY_TOLERANCE
) -> gpd.GeoSeries:
    """Simplify polygons that tile the country without opening gaps between neighbours.

    Kept in :func:`shape_cache` (when there is one) under a hash of the exact shapes, so a
    page asking for shapes another page has simplified reads them back bit for bit.
    """
    shapes = geometry.to_numpy()
    if shapely.is_missing(shapes).any():
        simplified = shapely.coverage_simplify(shapes, tolerance)
    else:
        key = shapes_key(shapely.to_wkb(shapes), tolerance)
        simplified = cached_shapes(key, lambda: shapely.coverage_simplify(shapes, tolerance))
    return gpd.GeoSeries(simplified, index=geometry.index, crs=geometry.crs)


def with_geometry(
    table: pd.DataFrame, boundaries: str | Path, *, tolerance: float | None = SIMPLIFY_TOLERANCE
) -> gpd.GeoDataFrame:
    """The MSOA table with each MSOA's polygon from the boundaries file (simplified if asked).

    ``boundaries`` is the build's boundaries input (the BGC GeoPackage), not the 20 MB
    output: the table already has every attribute, only the shapes are needed. The shapes
    are kept in :func:`shape_cache` under the file's contents and the MSOAs asked for:
    reading and repairing England's polygons takes half a second on every page that draws
    them, reading them back a twentieth of one.
    """
    settings = (
        "with_geometry",
        WITH_GEOMETRY_FORMAT,
        tolerance,
        shapely.geos_version_string,
        sha256_file(Path(boundaries)),
    )
    digest = hashlib.sha256(repr(settings).encode())
    digest.update("\n".join(table["msoa21cd"].astype(str)).encode())

    def read() -> np.ndarray:
        shapes = align_boundaries(read_boundaries(boundaries), table["msoa21cd"])
        return (simplify_coverage(shapes, tolerance) if tolerance else shapes).to_numpy()

    shapes = cached_shapes(digest.hexdigest(), read)
    shapes = gpd.GeoSeries(shapes, index=table.index, crs=BOUNDARIES_CRS)
    return gpd.GeoDataFrame(table, geometry=shapes, crs=shapes.crs)


def tile_provider() -> xyzservices.TileProvider:
    """The basemap tiles of every map on the site (static and interactive)."""
    return xyzservices.providers.query_name(TILES)


def tile_host() -> str:
    """The tile server's host name: the one host besides the site's own that its maps ask."""
    return urlsplit(tile_provider().build_url()).hostname or ""


def encode_integers(values: np.ndarray) -> str:
    """Integers as one string, 1 to 6 printable characters each (the polyline encoding:
    zigzag sign, then 5 bits a character from the lowest, +32 while more follow, +63).

    A page reads a string of a million characters at once where it would spend a long task
    parsing a million numbers; small numbers (coordinate steps) take one or two characters.
    Values must lie within +-2**29, which a page's 32-bit arithmetic reads back exactly.
    """
    values = np.asarray(values, dtype=np.int64)
    if len(values) and np.abs(values).max() >= 2**29:
        raise ValueError("encode_integers: values must lie within +-2**29")
    zigzag = (values << 1) ^ (values >> 63)
    shifts = np.arange(6) * 5
    size = 1 + (zigzag[:, None] >= (1 << shifts[1:])).sum(axis=1)  # characters per value
    chars = ((zigzag[:, None] >> shifts) & 31) + 63 + 32 * (shifts < (size[:, None] - 1) * 5)
    return chars[shifts < size[:, None] * 5].astype(np.uint8).tobytes().decode("ascii")


def encode_geometry(geometry: gpd.GeoSeries, decimals: int = COORD_DECIMALS) -> dict[str, Any]:
    """Polygons as one string and three short integer arrays, small and quick to read.

    ``coords`` holds x, y pairs in units of 10**-decimals degrees, each pair the difference
    from the previous one (the first from 0, 0), as :func:`encode_integers`; rings are open
    (no repeated last point).
    ``ringSizes`` counts the points of each ring, ``polygonRings`` the rings of each polygon
    (exterior first) and ``areaPolygons`` the polygons of each area, in order. The page's
    script (assets/js/explore-map.js) rebuilds the polygons with running sums.
    """
    polygons, area = shapely.get_parts(np.asarray(geometry), return_index=True)
    rings, polygon = shapely.get_rings(polygons, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    grid = np.round(coords * 10**decimals).astype(np.int64)
    closing = np.r_[ring[1:] != ring[:-1], True]
    repeat = np.r_[False, (grid[1:] == grid[:-1]).all(axis=1) & (ring[1:] == ring[:-1])]
    keep = ~(closing | repeat)
    grid, ring = grid[keep], ring[keep]
    deltas = np.diff(grid, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    return {
        "decimals": decimals,
        "coords": encode_integers(deltas.ravel()),
        "ringSizes": np.bincount(ring, minlength=len(rings)).tolist(),
        "polygonRings": np.bincount(polygon, minlength=len(polygons)).tolist(),
        "areaPolygons": np.bincount(area, minlength=len(geometry)).tolist(),
    }


def encode_measure(values: Sequence[float | None], scale: int) -> str:
    """One measure's values (``None`` missing) as :func:`encode_integers` text, each
    ``round(value * scale)`` stored as 0 when missing, one more when not negative.

    A page parses a few such strings at once where it would spend a long task parsing a
    hundred thousand numbers, and decodes a measure only when it is first shown.
    """
    scaled = np.round(np.array(values, dtype=float) * scale)
    known = ~np.isnan(scaled)
    codes = np.where(known, scaled + (scaled >= 0), 0)
    return encode_integers(codes.astype(np.int64))


def _listed(values: pd.Series) -> list[Any]:
    """The values as a list for JSON, missing as ``None``: whole columns at once, as the
    areas page lists 48 columns for each of nine geographies."""
    return values.astype(object).where(values.notna(), None).tolist()


def _ints(values: pd.Series) -> list[int | None]:
    return _listed(values.astype("Float64").round().astype("Int64"))


def explore_data(
    areas: gpd.GeoDataFrame,
    colours: Sequence[str],
    metrics: Sequence[str] | None = None,
    geography: Geography = MSOA,
) -> dict[str, Any]:
    """Everything the interactive map shows, columns as arrays: one copy of each polygon.

    Scores are rounded to 3 decimals; ranks and deciles are the dataset's own. Areas that
    nest in local authorities carry their LAD's name for the tooltip and table. ``bounds``
    (south-west, north-east corners) lets the map frame the areas before drawing them.
    """
    metrics = list(metrics or [m.short for m in METRICS])
    labels = {m.short: m.label for m in METRICS}
    tiles = tile_provider()
    shapes = areas.to_crs(4326).geometry
    west, south, east, north = shapes.total_bounds
    data: dict[str, Any] = {
        "key": geography.key,
        "noun": geography.noun,
        "nouns": geography.nouns,
        "n": len(areas),
        "palette": list(colours),
        "missing": MISSING_COLOUR,
        "tiles": {
            "url": tiles.build_url(),
            "attribution": tiles.html_attribution,
            "maxZoom": tiles.get("max_zoom", 18),
        },
        "bounds": [[float(south), float(west)], [float(north), float(east)]],
        "metrics": [{"key": m, "label": labels.get(m, m)} for m in metrics],
        "codes": areas[geography.code].astype(str).tolist(),
        "names": areas[geography.display].astype(str).tolist(),
    }
    if geography.carries_lad:
        lads, lad_index = np.unique(areas["lad24nm"].astype(str), return_inverse=True)
        data |= {"lad": lad_index.tolist(), "ladNames": lads.tolist()}
    return data | {
        "score": [_listed(areas[f"{m}_score"].round(3)) for m in metrics],
        "rank": [_ints(areas[f"{m}_rank"]) for m in metrics],
        "decile": [_ints(areas[f"{m}_decile"]) for m in metrics],
        "geometry": encode_geometry(shapes),
    }


def _inline(tag: str, text: str) -> str:
    """``text`` inside ``<tag>``, with any closing tag in it escaped so it cannot end early."""
    return f"<{tag}>" + re.sub(f"</(?={tag})", r"<\\/", text, flags=re.I) + f"</{tag}>"


def _leaflet_css() -> str:
    """Leaflet's stylesheet with its control images as data URIs: nothing to fetch."""
    leaflet = asset("vendor", "leaflet")

    def data_uri(match: re.Match[str]) -> str:
        png = leaflet.joinpath(*match["path"].split("/")).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

    css = leaflet.joinpath("leaflet.css").read_text(encoding="utf-8")
    return re.sub(r"url\((?P<path>images/[\w.-]+\.png)\)", data_uri, css)


def _map_html(element_id: str, label: str, payload: str, boot: str) -> str:
    """A map as a self-contained HTML fragment: styles, its element, data, scripts, start-up.

    Scripts and styles are inlined from the package, so the map works in the site, in a
    notebook or written to a file anywhere; only the basemap tiles come from the web, and
    the map works without them.
    """
    styles = _leaflet_css() + "\n" + asset("css", "explore-map.css").read_text(encoding="utf-8")
    scripts = [asset("vendor", "leaflet", "leaflet.js"), asset("js", "explore-map.js")]
    return "\n".join(
        [
            _inline("style", styles),
            f'<div id="{element_id}" class="msoa-map" role="application" '
            f'aria-label="{label}"></div>',
            *([payload] if payload else []),
            *(_inline("script", s.read_text(encoding="utf-8")) for s in scripts),
            f"<script>{boot}</script>",
        ]
    )


def _json(data: Any) -> str:
    """Compact JSON that cannot end an enclosing ``<script>`` early."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def map_frame(data: dict[str, Any]) -> dict[str, Any]:
    """What the map draws before its data has come: tiles, the areas' extent, their count."""
    return {key: data[key] for key in FRAME_KEYS}


def explore_map_html(
    data: dict[str, Any], *, element_id: str = "msoa-map", src: str | None = None
) -> str:
    """The interactive map (see :func:`_map_html`), its data in the page or loaded later.

    With ``src`` (the URL, relative to the page, of :func:`write_map_script`'s file) the page
    carries only :func:`map_frame`: it paints, map and tiles included, before the data is
    fetched, and the areas are drawn once it has come. Without, the data is in the page.
    """
    shown = data if src is None else map_frame(data)
    payload = f'<script type="application/json" id="{element_id}-data">{_json(shown)}</script>'
    label = f"Map of {data.get('noun', 'MSOA')} deprivation deciles"
    boot = (
        f'IodMsoaMap.render("{element_id}");'
        if src is None
        else f"IodMsoaMap.later({_json(element_id)}, {_json(src)});"
    )
    return _map_html(element_id, label, payload, boot)


def area_map_script(data: dict[str, Any]) -> str:
    """One geography's map data as a script the page loads only when that geography is
    chosen: it hands the data to the map by its key, scores, ranks and deciles packed by
    :func:`encode_measure` (the page unpacks each measure when first read)."""
    packed = {
        key: [encode_measure(values, scale) for values in data[key]]
        for key, scale in MEASURE_SCALES.items()
    }
    script = data | packed | {"packed": MEASURE_SCALES}
    return f"IodMsoaMap.provide({_json(data['key'])}, {_json(script)});\n"


def write_map_script(data: dict[str, Any], folder: str | Path) -> str:
    """Write :func:`area_map_script` to ``folder`` (relative to the page); its URL from there.

    A script, not JSON to fetch: it loads from a web server and from files opened directly.
    """
    target = Path(folder) / f"{data['key']}.js"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(area_map_script(data), encoding="utf-8")
    return target.as_posix()


def areas_map_html(
    choices: Sequence[dict[str, str]], *, first: str, element_id: str = "areas-map"
) -> str:
    """A map with a geography switch; each geography's data loads only when chosen.

    ``choices``: ``{"key", "label", "src"}`` per geography, ``src`` the URL (relative to the
    page) of its :func:`area_map_script` file. Loading by ``<script>`` works from a web
    server and from files opened directly alike.
    """
    options = {"choices": list(choices), "first": first}
    boot = f'IodMsoaMap.areas("{element_id}", {_json(options)});'
    return _map_html(element_id, "Map of deprivation deciles by area", "", boot)


def explore_table_html(*, element_id: str = "msoa-map", page_size: int = 15) -> str:
    """A searchable, sortable table of every MSOA under the map, built from the map's data.

    Place it after :func:`explore_map_html`; the page then carries one copy of the data.
    """
    return "\n".join(
        [
            f'<div id="{element_id}-table" class="msoa-table-wrap"></div>',
            f'<script>IodMsoaMap.table("{element_id}", {int(page_size)});</script>',
        ]
    )

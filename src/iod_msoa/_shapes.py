"""Boundaries: reading polygon files and building each area's shape from its LSOAs'.

The only module of the bottom floor that needs geopandas, pyogrio and shapely, so the
vocabulary, the readers of tables and the engine load none of them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely

from ._errors import SchemaError, listed
from ._readers import is_in, missing_columns_message, shown_rows
from ._vocab import ENGLAND_BOUNDS


def _code_layer(
    path: Path | str, accepted: set[str], source: str, column: str
) -> tuple[str, dict[str, Any]]:
    """The layer to read and its description: the only one, or the only one with the code
    column (a GeoPackage may hold several). Naming it keeps pyogrio from warning."""
    names = [str(name) for name, _ in pyogrio.list_layers(path)]
    infos = {name: pyogrio.read_info(path, layer=name) for name in names}  # a few layers
    if len(names) == 1:
        return names[0], infos[names[0]]
    with_code = [n for n, i in infos.items() if {str(f).lower() for f in i["fields"]} & accepted]
    if len(with_code) == 1:
        return with_code[0], infos[with_code[0]]
    shown = ", ".join(f"{n} ({infos[n]['features']:,} features)" for n in with_code or names)
    if with_code:
        raise SchemaError(
            f"{source}: {len(with_code)} of its {len(names)} layers have {column}: "
            f"{shown}; keep only the one to use (ogr2ogr ONE.gpkg {Path(path).name} LAYER)"
        )
    raise SchemaError(
        f"{source}: none of its {len(names)} layers ({shown}) has {column}; give a "
        "file whose layer has one"
    )


def read_boundaries(path: Path | str, code: str = "msoa21cd", what: str = "MSOA") -> gpd.GeoSeries:
    """Polygons in EPSG:4326, indexed by area code (field ``code``, or ``<code>`` spelt
    ``..._code``, in any case).

    Repairs invalid rings (ONS's BGC file has a few) so GeoPackage readers and maps agree.
    A file without geometry (e.g. a CSV) or with a code given twice is an error.
    """
    source = f"{what} boundaries ({path})"
    accepted = {code, code.removesuffix("cd") + "_code"}
    try:
        layer, info = _code_layer(path, accepted, source, f"an {what} code column ({code})")
        fields = info["fields"]
        code_field = next((str(f) for f in fields if str(f).lower() in accepted), None)
        if code_field is None:
            raise SchemaError(missing_columns_message(source, [code.upper()], fields))
        if info["geometry_type"] is None:
            raise SchemaError(
                f"{source}: has no geometry ({info['driver']} file); give a boundary file "
                "such as a GeoPackage, shapefile or GeoJSON"
            )
        frame = gpd.read_file(
            path, engine="pyogrio", layer=layer, columns=[code_field], use_arrow=True
        )
    except SchemaError:
        raise
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise SchemaError(f"{source}: cannot be read as a vector file: {exc}") from exc
    if frame.crs is None:
        raise SchemaError(f"{source}: has no coordinate reference system")
    codes = frame[code_field].astype("string")
    if codes.duplicated().any():
        raise SchemaError(
            f"{source}: {codes.duplicated(keep=False).sum()} rows share an area code "
            f"(each {what} must have one boundary): "
            + shown_rows(codes.duplicated(keep=False), codes.fillna("<blank>"))
        )
    frame = frame.set_index(code_field).rename_axis(code)
    shapes = frame.geometry
    valid = _in_halves(shapely.make_valid, shapes.to_numpy())
    geometry = gpd.GeoSeries(valid, index=shapes.index, crs=shapes.crs)
    geometry = geometry.to_crs(4326)
    geometry.attrs["source"] = source
    return geometry


def read_lsoa_boundaries(path: Path | str) -> gpd.GeoSeries:
    """LSOA (2021) polygons indexed by LSOA code: the pieces every other area is built of."""
    return read_boundaries(path, "lsoa21cd", "LSOA")


COVERAGE_CACHE_FORMAT = 1  # raised when what the cache holds, or how, changes
_CACHE_KEY = b"iod_msoa_cache_key"


def lsoa_pieces(path: Path | str, sha256: str, cache_dir: Path, version: str) -> gpd.GeoSeries:
    """:func:`read_lsoa_boundaries` made a clean coverage (:func:`lsoa_coverage`), kept in
    ``cache_dir`` for the next build of the same file (``sha256``) by the same ``version``
    and GEOS: cleaning England's LSOAs takes seconds, reading them back a tenth of one.

    The cache is used only if its own sha256 (kept beside it) and key check out; anything
    else (a changed input, a damaged or half-written cache, no cache folder) cleans afresh.
    """
    return _kept(
        "lsoa_coverage",
        (path, sha256, cache_dir, version),
        lambda: lsoa_coverage(read_lsoa_boundaries(path)),
        "lsoa21cd",
        "LSOA",
    )


def msoa_polygons(path: Path | str, sha256: str, cache_dir: Path, version: str) -> gpd.GeoSeries:
    """:func:`read_boundaries` (MSOAs), kept in ``cache_dir`` as :func:`lsoa_pieces` keeps
    its coverage: repairing every polygon costs each build a quarter of a CPU second (most
    of reading the file), reading them back a twentieth."""
    return _kept(
        "msoa_boundaries",
        (path, sha256, cache_dir, version),
        lambda: read_boundaries(path),
        "msoa21cd",
        "MSOA",
    )


def _kept(
    kind: str,
    given: tuple[Path | str, str, Path, str],
    make: Callable[[], gpd.GeoSeries],
    code: str,
    what: str,
) -> gpd.GeoSeries:
    """``make()``'s polygons of the file ``given`` (path, sha256, cache folder, version),
    from the cache when it holds them for that file, version and GEOS, else made and kept."""
    path, sha256, cache_dir, version = given
    text = f"{sha256} {version} {shapely.geos_version_string} {COVERAGE_CACHE_FORMAT}"
    key = hashlib.sha256(text.encode()).hexdigest()
    cache = Path(cache_dir) / f"{kind}-{key[:16]}.parquet"
    shapes = _cached_coverage(cache, key, code)
    if shapes is None:
        shapes = make()
        _keep_coverage(cache, key, shapes)
    shapes.attrs["source"] = f"{what} boundaries ({path})"
    return shapes


def _digest_path(cache: Path) -> Path:
    return cache.with_name(cache.name + ".sha256")


def _cached_coverage(cache: Path, key: str, code: str) -> gpd.GeoSeries | None:
    """The polygons kept in ``cache`` under ``key`` (indexed by ``code``), if its bytes are
    those written."""
    try:
        digest = _digest_path(cache).read_text(encoding="ascii").strip()
        with cache.open("rb") as fh:
            if hashlib.file_digest(fh, "sha256").hexdigest() != digest:
                return None
        table = pq.read_table(cache)
    except (OSError, ValueError, pa.ArrowException):
        return None
    if (table.schema.metadata or {}).get(_CACHE_KEY) != key.encode():
        return None
    codes = pd.Index(table.column("code").to_pandas(), name=code)
    geometry = shapely.from_wkb(table.column("wkb").to_numpy(zero_copy_only=False))
    return gpd.GeoSeries(geometry, index=codes, crs=4326)


def _keep_coverage(cache: Path, key: str, shapes: gpd.GeoSeries) -> None:
    """Write ``shapes`` to ``cache`` (then its sha256 beside it), each file whole or not at
    all; a cache that cannot be written only means the next build cleans again."""
    table = pa.table(
        {
            "code": pa.array(shapes.index),  # a missing code stays missing
            "wkb": pa.array(shapely.to_wkb(shapes.to_numpy()), pa.binary()),
        },
        metadata={_CACHE_KEY: key.encode()},
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue().to_pybytes()
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        _write_whole(cache, data)
        _write_whole(_digest_path(cache), hashlib.sha256(data).hexdigest().encode())


def _write_whole(target: Path, data: bytes) -> None:
    """``data`` into ``target`` through a temporary file beside it: a reader sees the old
    file or the new, never half of one."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def align_boundaries(
    boundaries: gpd.GeoSeries, codes: pd.Series, what: str = "MSOA"
) -> gpd.GeoSeries:
    """The polygons of ``codes``, in their order; fails naming any code without one.

    A missing, empty or zero-area (collapsed) shape counts as none: the ``what`` (an MSOA,
    or an LSOA of a larger area) would have no shape in the GeoPackage or on the maps.
    """
    source = boundaries.attrs.get("source", f"{what} boundaries")
    missing = codes[~is_in(codes, boundaries.index)]
    if len(missing):
        shown = ", ".join(missing.head(10))
        raise SchemaError(f"{source}: {len(missing)} {what}(s) have no boundary: {shown}")
    aligned = gpd.GeoSeries(boundaries.loc[codes.to_numpy()].to_numpy(), crs=boundaries.crs)
    empty = aligned.isna() | aligned.is_empty | (shapely.area(aligned.to_numpy()) <= 0)
    if empty.any():
        shown = ", ".join(codes[empty.to_numpy()].head(10))
        raise SchemaError(
            f"{source}: {empty.sum()} {what}(s) have an empty, missing (NULL) or collapsed "
            f"boundary: {shown}"
        )
    west, south, east, north = ENGLAND_BOUNDS
    box = aligned.to_crs(4326).bounds
    outside = (
        (box["minx"] < west) | (box["maxx"] > east) | (box["miny"] < south) | (box["maxy"] > north)
    ).to_numpy()
    if outside.any():
        shown = ", ".join(codes[outside].head(10))
        raise SchemaError(
            f"{source}: {outside.sum()} area(s) lie outside England ({west}..{east} E, "
            f"{south}..{north} N): {shown}. Is the file's coordinate reference system right?"
        )
    return aligned


LOST_SHARE = 0.01  # share of its area an LSOA may lose to coverage cleaning (snapping)


def _overlap_message(shapes: gpd.GeoSeries, geoms: np.ndarray, lost: np.ndarray) -> str:
    """Name the LSOAs overlapping those that cleaning would shrink (``lost``, positions), in
    pairs: the row to fix may be either (a copied or mis-joined polygon)."""
    source = shapes.attrs.get("source", "LSOA boundaries")
    at, other = shapely.STRtree(geoms).query(geoms[lost], predicate="intersects")
    at = lost[at]
    shared = shapely.area(shapely.intersection(geoms[at], geoms[other]))
    keep = (at != other) & (shared > LOST_SHARE * shapely.area(geoms[at]))
    codes = pd.Series(shapes.index.astype(str))
    pairs = pd.DataFrame(
        {
            "first": codes[np.minimum(at, other)[keep]].to_numpy(),
            "second": codes[np.maximum(at, other)[keep]].to_numpy(),
            "of": codes[at[keep]].to_numpy(),
            "same": shapely.equals(geoms[at], geoms[other])[keep],
            "share": (100 * shared / shapely.area(geoms[at]))[keep].round().astype(int),
        }
    ).drop_duplicates(["first", "second"])
    if pairs.empty:  # cleaning shrank them, yet no other polygon covers them much
        return (
            f"{source}: {len(lost)} LSOA(s) lose most of their polygon to their neighbours "
            f"when the coverage is cleaned: {listed(codes[lost], 3)}"
        )
    how = pd.Series("the same polygon", index=pairs.index).where(
        pairs["same"], "overlapping on " + pairs["share"].astype(str) + "% of " + pairs["of"]
    )
    named = listed(pairs["first"] + " and " + pairs["second"] + " (" + how + ")", 3)
    return (
        f"{source}: {len(pairs)} pair(s) of LSOAs overlap: {named}. Each LSOA needs its own "
        "polygon: check both rows of each pair (a copied or mis-joined geometry?)"
    )


def lsoa_coverage(shapes: gpd.GeoSeries) -> gpd.GeoSeries:
    """LSOA polygons made into a clean coverage (shared edges identical), so unions are exact.

    Generalised boundary files have a few edges whose vertices do not match their
    neighbour's; coverage union refuses them, so those are snapped once here. A missing
    (NULL), empty or collapsed polygon is left out of the cleaning (which would fill its
    gap from the neighbours) and stays as it is, for ``align_boundaries`` to report. An
    LSOA that cleaning would shrink by more than ``LOST_SHARE`` lies under another (say,
    one row carrying another's polygon): an error naming both, not a collapsed LSOA.
    """
    geoms = shapes.to_numpy()
    real = ~(shapes.isna() | shapes.is_empty).to_numpy()
    real[real] = shapely.area(geoms[real]) > 0
    if shapely.coverage_is_valid(geoms[real]):
        return shapes
    cleaned = geoms.copy()
    cleaned[real] = shapely.coverage_clean(geoms[real])
    # Snapping moves an edge by a vertex; an LSOA that loses more was overlapped by another.
    lost = np.flatnonzero(real)[
        shapely.area(cleaned[real]) < (1 - LOST_SHARE) * shapely.area(geoms[real])
    ]
    if len(lost):
        raise SchemaError(_overlap_message(shapes, np.where(real, geoms, None), lost))
    out = gpd.GeoSeries(cleaned, index=shapes.index, crs=shapes.crs)
    out.attrs = dict(shapes.attrs)  # the file's name, for errors
    return out


def area_shapes(
    pieces: gpd.GeoSeries, members: pd.DataFrame, code: str, codes: pd.Series
) -> gpd.GeoSeries:
    """Each area's polygon, the union of its LSOAs', in the order of ``codes``.

    ``members`` has ``lsoa21cd`` and ``code``; ``pieces`` holds each member row's LSOA
    polygon, in the same order (``align_boundaries`` checks every one is there and not
    empty, so an area is exactly what was aggregated). Shapes are put in one canonical form
    (exteriors anticlockwise), so the bytes written do not depend on the LSOAs' row order.
    """
    merged = _coverage_unions(pieces.to_numpy(), members[code])
    canonical = shapely.orient_polygons(shapely.normalize(merged.loc[np.asarray(codes)].to_numpy()))
    return gpd.GeoSeries(canonical, crs=pieces.crs)


def _coverage_unions(geoms: np.ndarray, areas: pd.Series) -> pd.Series:
    """The coverage union of each area's ``geoms``, indexed by area.

    Each area's polygons (in row order, as a group-by gives them) fill a row of a table
    padded with None, which GEOS unions a row at a time, half the rows in each of two
    threads.
    """
    group, keys = pd.factorize(areas)
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group)
    slot = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    table = np.full((len(counts), counts.max(initial=0)), None, dtype=object)
    table[group[order], slot] = geoms[order]
    merged = _in_halves(functools.partial(shapely.coverage_union_all, axis=1), table)
    return pd.Series(merged, index=keys)


def _in_halves(work: Callable[[np.ndarray], np.ndarray], rows: np.ndarray) -> np.ndarray:
    """``work`` (a GEOS function of each row) on each half of ``rows`` in its own thread,
    joined in order: GEOS works without the GIL, so both cores share the work."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return np.concatenate(list(pool.map(work, np.array_split(rows, 2))))

"""A user's own areas: a grouping table or a polygon layer, turned into LSOA members.

Either input becomes one members table, ``lsoa21cd, area_code, area_name`` (one row per
LSOA in an area; LSOAs left out are in no area), which the engine aggregates like any other
geography. Polygons place LSOAs by ONS's best-fit rule (the polygon holding the LSOA's
population-weighted centroid), and :func:`fit_report` shows how well those LSOAs fit.
Every check reports its problems at once, in one line naming the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import shapely

from ._errors import SchemaError, UnmatchedAreaError, listed
from ._problems import Problem, fail

AREA_CODE, AREA_NAME = "area_code", "area_name"
KEYS = ("lsoa21cd", AREA_CODE, AREA_NAME)
TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")
LAYER_SUFFIXES = (".gpkg", ".geojson", ".json", ".zip", ".shp")
BNG = 27700  # British National Grid: ONS's centroids are in it, and it measures in metres
OVERLAP_M2 = 1.0  # polygons sharing more than this (m²) overlap; touching edges share 0
# An LSOA straddles when over this share of it lies in a second polygon or outside all. Not
# smaller: the LSOA shapes are generalised, so even an exact-fit MSOA layer shows 22,533 of
# 33,755 LSOAs over 1% outside their MSOA's polygon, 9,706 over 5%, 3,432 over 10%.
STRADDLE_SHARE = 0.10
# Best fit at the precision of generalised polygons (see place_near_edges). ONS generalises
# its BGC boundaries to 20 m: a centroid this near two polygons may lie on either side of
# the true edge. Placed by the centroid, ONS's own MSOA (BGC) polygons put 62 LSOAs in a
# neighbour, every one of them within 16.5 m of the shared edge.
EDGE_M = 20.0
# Polygons clipped to the coastline leave a few centroids offshore: 5 of ONS's MSOA polygons
# (up to 61 m out) and 7 of the districts drawn from LSOA shapes (up to 81 m out); their LSOAs
# lie at least 80.7% in the polygon. An LSOA with over 20% of it in another MSOA's polygon or
# outside all is rare (327 of 33,755; the LSOA shapes are generalised to 200 m).
COAST_M = 100.0
WHOLLY = 0.80
PLACED_BY = "placed_by"  # how a polygon's LSOA was placed: by its centroid, or near an edge
CENTROID, EDGE, COAST = "centroid", "edge", "coast"
EXAMPLES = 3  # examples one problem lists before counting the rest
FIRST_ROW = 2  # rows are numbered as a spreadsheet shows them: the header is row 1
WELSH_LSOA = r"^W01[0-9]{6}$"

_RETIRED = frozenset(
    tomllib.loads(
        resources.files("iod_msoa").joinpath("data/lsoa11_retired.toml").read_text(encoding="utf-8")
    )["codes"].split()
)


def is_layer(path: Path | str) -> bool:
    """Whether ``path`` is a polygon layer (by its suffix) rather than a grouping table."""
    return Path(path).suffix.lower() in LAYER_SUFFIXES


def _examples(labels: pd.Series) -> str:
    return listed(labels, EXAMPLES)


def _row_labels(table: pd.DataFrame, column: str) -> pd.Series:
    """``row 5 (E01000001)``: where to find a row, by its spreadsheet row and a value."""
    value = table[column].fillna("<blank>")
    return "row " + pd.Series(table.index, index=table.index).astype(str) + " (" + value + ")"


def _read_cells(path: Path, source: str) -> tuple[list[str], pd.DataFrame]:
    """The header as written and the cells as text, columns by position (so a header given
    twice is seen, not renamed), rows indexed by their spreadsheet row number."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            arrow = pq.read_table(path)
            header = [str(n) for n in arrow.schema.names]
            cells = pd.DataFrame({i: arrow.column(i).to_pandas() for i in range(len(header))})
        else:
            grid = (
                pd.read_excel(path, header=None, dtype=str, keep_default_na=False)
                if suffix == ".xlsx"
                else pd.read_csv(
                    path, header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig"
                )
            )
            header = [str(h) for h in grid.iloc[0]] if len(grid) else []
            cells = grid.iloc[1:]
    except (OSError, ValueError, ImportError, pd.errors.ParserError) as exc:
        raise SchemaError(f"{source}: cannot be read as {suffix.lstrip('.')}: {exc}") from exc
    cells = cells.astype("string").apply(lambda c: c.str.strip()).replace("", pd.NA)
    cells.index = pd.RangeIndex(FIRST_ROW, FIRST_ROW + len(cells))
    return header, cells


def _keyed(header: list[str], cells: pd.DataFrame, source: str) -> pd.DataFrame:
    """The three key columns found in ``header`` (any case, padded): each exactly once."""
    names = pd.Series([h.strip().lower() for h in header], dtype="string")
    found = {k: np.flatnonzero(names == k) for k in KEYS}
    twice = [
        f"{k!r} (columns {', '.join(map(str, at + 1))})" for k, at in found.items() if len(at) > 1
    ]
    if twice:
        raise SchemaError(f"{source}: header repeated, keep one of each: " + "; ".join(twice))
    missing = [k for k, at in found.items() if not len(at)]
    if missing:
        has = listed((h for h in header if h.strip()), 10) or "no named columns"
        raise SchemaError(
            f"{source}: lacks column(s) {', '.join(missing)} (it has: {has}); a grouping "
            f"table needs {', '.join(KEYS)}, one row per LSOA"
        )
    return pd.DataFrame({k: cells[at[0]] for k, at in found.items()})


def read_area_table(path: Path | str, lsoa_codes: Iterable[str]) -> pd.DataFrame:
    """Read a grouping table (CSV, xlsx or Parquet) into checked members.

    ``lsoa_codes`` are England's LSOAs (File 7's). Headers may be in any case and padded;
    cells are trimmed; rows blank in all three keys (Excel's trailing rows) are dropped; an
    LSOA listed twice for the same area counts once; LSOA codes may be in lower case.
    """
    path = Path(path)
    source = f"areas table ({path})"
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise SchemaError(
            f"{source}: give a CSV, xlsx or Parquet table (lsoa21cd, area_code, area_name) "
            "or a GeoPackage, GeoJSON or zipped shapefile of polygons (area_code, area_name)"
        )
    table = _keyed(*_read_cells(path, source), source)
    table = table[table.notna().any(axis=1)]
    if table.empty:
        raise SchemaError(f"{source}: has no rows; give one row per LSOA ({', '.join(KEYS)})")
    table["lsoa21cd"] = table["lsoa21cd"].str.upper()
    return check_members(table, lsoa_codes, source)


def _lsoa_problems(table: pd.DataFrame, lsoa_codes: Iterable[str]) -> list[Problem]:
    """Codes that are not England's 2021 LSOAs, told apart: 2011 codes, Welsh ones, others."""
    codes = table["lsoa21cd"]
    strange = codes.notna() & ~codes.isin(pd.Index(lsoa_codes))
    retired = strange & codes.isin(_RETIRED)
    welsh = strange & codes.str.fullmatch(WELSH_LSOA, na=False)
    unknown = strange & ~retired & ~welsh
    labels = _row_labels(table, "lsoa21cd")
    problems = []
    if retired.any():
        problems.append(
            Problem(
                f"{retired.sum()} LSOA (2011) code(s) that no longer exist in 2021 (ONS split or "
                f"merged these LSOAs: give their 2021 codes): {_examples(labels[retired])}"
            )
        )
    if welsh.any():
        problems.append(
            Problem(
                f"{welsh.sum()} Welsh LSOA(s), which the English indices do not cover: "
                + _examples(labels[welsh])
            )
        )
    if unknown.any():
        problems.append(
            Problem(
                f"{unknown.sum()} unknown LSOA code(s) (not an LSOA (2021) of England): "
                + _examples(labels[unknown])
            )
        )
    return problems


def _flagged(count: int, what: str, examples: pd.Series) -> list[Problem]:
    """One problem, "<count> <what>: <examples>", or none when nothing was flagged."""
    return [Problem(f"{count} {what}: " + _examples(examples))] if count else []


def _blank_problems(table: pd.DataFrame) -> list[Problem]:
    """Rows with a blank area code, or an area code without a name."""
    no_code = table[AREA_CODE].isna()
    no_name = table[AREA_NAME].isna() & ~no_code
    return [
        *_flagged(
            no_code.sum(),
            "row(s) with a blank area_code",
            _row_labels(table[no_code], AREA_NAME),
        ),
        *_flagged(
            no_name.sum(),
            "row(s) with a blank area_name",
            _row_labels(table[no_name], AREA_CODE),
        ),
    ]


def _unplaced_problems(table: pd.DataFrame) -> list[Problem]:
    """Rows without an LSOA; an area whose every row lacks one is empty, said as such."""
    coded = table[AREA_CODE].notna()
    empty = coded & ~table[AREA_CODE].isin(table.loc[table["lsoa21cd"].notna(), AREA_CODE])
    no_lsoa = table["lsoa21cd"].isna() & coded & ~empty
    return [
        *_flagged(
            no_lsoa.sum(),
            "row(s) with a blank lsoa21cd",
            _row_labels(table[no_lsoa], AREA_CODE),
        ),
        *_flagged(
            table.loc[empty, AREA_CODE].nunique(),
            "empty area(s), with no LSOA",
            table.loc[empty, AREA_CODE],
        ),
    ]


def _split_problems(table: pd.DataFrame) -> list[Problem]:
    """LSOAs placed in more than one area."""
    placed = table.dropna(subset=["lsoa21cd", AREA_CODE]).drop_duplicates(["lsoa21cd", AREA_CODE])
    split = placed["lsoa21cd"].duplicated(keep=False)
    if not split.any():
        return []
    areas = placed[split].groupby("lsoa21cd", sort=True)[AREA_CODE].agg(", ".join)
    return [
        Problem(
            f"{len(areas)} LSOA(s) in more than one area: "
            + _examples(areas.index + " (" + areas + ")")
        )
    ]


def _renamed_problems(table: pd.DataFrame) -> list[Problem]:
    """Area codes given more than one name (a typo makes two areas of one)."""
    named = table.dropna(subset=[AREA_CODE, AREA_NAME]).drop_duplicates([AREA_CODE, AREA_NAME])
    renamed = named[AREA_CODE].duplicated(keep=False)
    if not renamed.any():
        return []
    quoted = "'" + named.loc[renamed, AREA_NAME] + "'"
    names = quoted.groupby(named.loc[renamed, AREA_CODE], sort=True).agg(" vs ".join)
    return [
        Problem(
            f"{len(names)} area code(s) with more than one name: "
            + _examples(names.index + " (" + names + ")")
        )
    ]


def check_members(table: pd.DataFrame, lsoa_codes: Iterable[str], source: str) -> pd.DataFrame:
    """Check members (``lsoa21cd, area_code, area_name``, index = row numbers) and return
    them one row per LSOA, in code order, as strings; every problem in one message."""
    lsoa_codes = pd.Index(lsoa_codes, dtype=object)
    table = table.astype("string").astype(object)  # Arrow-backed strings look up slowly (isin)
    problems = [
        *_blank_problems(table),
        *_unplaced_problems(table),
        *_lsoa_problems(table, lsoa_codes),
        *_split_problems(table),
        *_renamed_problems(table),
    ]
    fail(source, problems, SchemaError)
    members = table.drop_duplicates(["lsoa21cd", AREA_CODE]).sort_values("lsoa21cd")
    return members.reset_index(drop=True).astype("string")


def _layer_name(path: Path, source: str) -> str:
    """The layer to read: the only one, or the only one with an ``area_code`` field."""
    try:
        names = [str(name) for name, _ in pyogrio.list_layers(path)]
        fields = {
            n: {str(f).lower() for f in pyogrio.read_info(path, layer=n)["fields"]} for n in names
        }
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise SchemaError(f"{source}: cannot be read as a vector file: {exc}") from exc
    with_code = [n for n in names if AREA_CODE in fields[n]]
    if len(names) == 1 or len(with_code) == 1:
        return (with_code or names)[0]
    raise SchemaError(
        f"{source}: {len(with_code)} of its {len(names)} layers have an area_code field "
        f"({listed(with_code or names, EXAMPLES)}); give a file with one such layer"
    )


def _overlap_problem(layer: gpd.GeoDataFrame) -> str | None:
    """Name the pairs of polygons sharing more than ``OVERLAP_M2`` (the layer is in BNG)."""
    geoms = layer.geometry.to_numpy()
    first, second = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pair = first < second
    first, second = first[pair], second[pair]
    # Neighbours meet only along edges (no area shared): testing that their interiors meet
    # costs a third of cutting out every shared edge, which only overlapping pairs then need.
    inner = shapely.relate_pattern(geoms[first], geoms[second], "T********")
    first, second = first[inner], second[inner]
    shared = shapely.area(shapely.intersection(geoms[first], geoms[second]))
    over = shared > OVERLAP_M2
    if not over.any():
        return None
    codes = layer[AREA_CODE].to_numpy()
    named = pd.Series(codes[first[over]]) + " and " + pd.Series(codes[second[over]])
    sizes = pd.Series(np.round(shared[over])).map("{:,.0f} m²".format)
    return (
        f"{over.sum()} pair(s) of polygons overlap: {_examples(named + ' (' + sizes + ')')}; "
        "each place must lie in one area"
    )


def read_area_layer(path: Path | str) -> gpd.GeoDataFrame:
    """Read a polygon layer (GeoPackage, GeoJSON, zipped shapefile) of areas, in BNG.

    Needs ``area_code`` and ``area_name`` (any case) and a declared coordinate reference
    system (any). Features sharing a code and name are one area (a multi-part area drawn as
    several features). Polygons must not overlap: an LSOA's centroid would be in two areas.
    """
    path = Path(path)
    source = f"areas layer ({path})"
    layer_name = _layer_name(path, source)
    try:
        frame = gpd.read_file(path, engine="pyogrio", layer=layer_name)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise SchemaError(f"{source}: cannot be read as a vector file: {exc}") from exc
    frame = frame.rename(columns={c: c.strip().lower() for c in frame.columns if c != "geometry"})
    missing = [k for k in (AREA_CODE, AREA_NAME) if k not in frame.columns]
    if missing:
        has = listed((c for c in frame.columns if c != frame.geometry.name), 10)
        raise SchemaError(f"{source}: lacks field(s) {', '.join(missing)} (it has: {has})")
    if frame.crs is None:
        raise SchemaError(
            f"{source}: has no coordinate reference system; save it with one (EPSG:27700 "
            "for British National Grid, EPSG:4326 for longitude/latitude)"
        )
    table = frame[[AREA_CODE, AREA_NAME]].astype("string").apply(lambda c: c.str.strip())
    table = table.replace("", pd.NA).set_axis(pd.RangeIndex(FIRST_ROW, FIRST_ROW + len(frame)))
    shapes = frame.geometry.set_axis(table.index)
    problems = _blank_problems(table) + _renamed_problems(table)
    kinds = shapes.geom_type.fillna("none")
    bad = ~kinds.isin(["Polygon", "MultiPolygon"]) | shapes.is_empty.fillna(True)
    if bad.any():
        problems.append(
            Problem(
                f"{bad.sum()} feature(s) without a polygon: "
                + _examples(_row_labels(table[bad].assign(kind=kinds[bad]), "kind"))
            )
        )
    fail(source, problems, SchemaError)
    layer = gpd.GeoDataFrame(table, geometry=shapes.make_valid().to_crs(BNG), crs=BNG)
    layer = layer.dissolve(AREA_CODE, as_index=False)[[AREA_CODE, AREA_NAME, "geometry"]]
    if (overlap := _overlap_problem(layer)) is not None:
        raise SchemaError(f"{source}: {overlap}")
    layer.attrs["source"] = source
    return layer


def read_centroids(path: Path | str) -> gpd.GeoSeries:
    """LSOA population-weighted centroids in BNG, indexed by LSOA code.

    A CSV (``lsoa21cd``, ``x``, ``y``: ONS's eastings and northings, EPSG:27700) or a point
    layer with ``lsoa21cd`` (the cached download of ONS's service, any declared CRS).
    """
    path = Path(path)
    source = f"LSOA centroids ({path})"
    try:
        if path.suffix.lower() == ".csv":
            table = pd.read_csv(path, encoding="utf-8-sig").rename(columns=str.lower)
            table = table.rename(columns=str.strip)
            points = gpd.points_from_xy(table["x"], table["y"], crs=BNG)
        else:
            frame = gpd.read_file(path, engine="pyogrio")
            table = frame.rename(columns={c: c.lower() for c in frame.columns if c != "geometry"})
            points = frame.geometry.to_crs(BNG).to_numpy()
        codes = table["lsoa21cd"].astype("string")
    except KeyError as exc:
        raise SchemaError(f"{source}: lacks column {exc}; give lsoa21cd, x, y") from exc
    except Exception as exc:  # pandas and pyogrio raise several types for unreadable files
        raise SchemaError(f"{source}: cannot be read: {exc}") from exc
    centroids = gpd.GeoSeries(points, index=pd.Index(codes, name="lsoa21cd"), crs=BNG)
    bad = codes.duplicated(keep=False).to_numpy() | centroids.is_empty.to_numpy()
    if bad.any():
        raise SchemaError(
            f"{source}: {bad.sum()} LSOA(s) repeated or without a point: "
            + _examples(codes[bad].fillna("<blank>"))
        )
    return centroids


def assign_by_centroid(
    layer: gpd.GeoDataFrame,
    centroids: gpd.GeoSeries,
    lsoa_codes: Iterable[str],
    lsoa_shapes: gpd.GeoSeries,
) -> pd.DataFrame:
    """Members by ONS's best-fit rule: each LSOA of ``lsoa_codes`` is in the polygon holding
    its population-weighted centroid (one on a shared edge goes to the lower area code),
    read at the precision of generalised polygons with the LSOAs' own shapes
    (``lsoa_shapes``, indexed by code) as :func:`place_near_edges` says; ``placed_by``
    tells how each LSOA was placed.

    Fails if no LSOA of England falls in the layer, or if some area gets none.
    """
    source = layer.attrs.get("source", "areas layer")
    lsoa_codes = pd.Index(lsoa_codes)
    lacking = lsoa_codes.difference(centroids.index)
    if len(lacking):
        raise SchemaError(
            f"LSOA centroids: {len(lacking)} LSOA(s) of England have no centroid: "
            + _examples(pd.Series(lacking))
        )
    points = centroids.loc[lsoa_codes].to_crs(layer.crs).to_numpy()
    areas = layer[AREA_CODE].to_numpy()
    tree = shapely.STRtree(layer.geometry.to_numpy())
    at, of = tree.query(points, predicate="intersects")
    held = pd.DataFrame({"at": at, AREA_CODE: areas[of]}).sort_values(["at", AREA_CODE])
    placed = held.drop_duplicates("at").set_index("at")[AREA_CODE].reindex(range(len(points)))
    how = pd.Series(CENTROID, index=placed.index).where(placed.notna())
    placed, how = place_near_edges(layer, tree, points, placed, how, lsoa_shapes, lsoa_codes)
    kept = placed.notna().to_numpy()
    members = pd.DataFrame(
        {
            "lsoa21cd": lsoa_codes[kept],
            AREA_CODE: placed[kept].to_numpy(),
            PLACED_BY: how[kept].to_numpy(),
        }
    ).merge(layer[[AREA_CODE, AREA_NAME]], on=AREA_CODE)[[*KEYS, PLACED_BY]]
    members = members.sort_values("lsoa21cd")
    if members.empty:
        west, south, east, north = layer.to_crs(4326).total_bounds
        raise SchemaError(
            f"{source}: no LSOA of England has its population-weighted centroid in any "
            f"polygon (the layer spans {west:.2f}..{east:.2f} E, {south:.2f}..{north:.2f} N); "
            "is it in England, and is its coordinate reference system right?"
        )
    empty = ~layer[AREA_CODE].isin(members[AREA_CODE])
    if empty.any():
        raise SchemaError(
            f"{source}: {empty.sum()} area(s) hold no LSOA's population-weighted centroid "
            f"(too small, or outside England): {_examples(layer.loc[empty, AREA_CODE])}"
        )
    return members.reset_index(drop=True).astype("string")


def place_near_edges(
    layer: gpd.GeoDataFrame,
    tree: shapely.STRtree,
    points: np.ndarray,
    placed: pd.Series,
    how: pd.Series,
    lsoa_shapes: gpd.GeoSeries,
    lsoa_codes: pd.Index,
) -> tuple[pd.Series, pd.Series]:
    """Best fit at the precision of generalised polygons, where a centroid alone cannot say.

    ONS places LSOAs with full-resolution boundaries that reach the low-water mark; users
    mostly hold generalised ones (ONS's BGC: to 20 m) clipped to the coastline, and there a
    centroid near an edge may lie on the wrong side of it. So, by position (``placed`` and
    ``how`` are indexed like ``points``):

    - a centroid within ``EDGE_M`` of two or more polygons goes to the one of them holding
      most of the LSOA's own shape (``how`` = ``edge``);
    - a centroid in no polygon goes to one within ``COAST_M`` that holds at least
      ``WHOLLY`` of the LSOA's shape (``how`` = ``coast``); else it stays in none.
    """
    areas = layer[AREA_CODE].to_numpy()
    near, near_of = tree.query(points, predicate="dwithin", distance=EDGE_M)
    shared = np.bincount(near, minlength=len(points))[near] > 1
    outside = placed.isna().to_numpy()
    off, off_of = tree.query(points[outside], predicate="dwithin", distance=COAST_M)
    pairs = pd.DataFrame(
        {
            "at": np.concatenate([near[shared], np.flatnonzero(outside)[off]]),
            "of": np.concatenate([near_of[shared], off_of]),
            "how": [EDGE] * int(shared.sum()) + [COAST] * len(off),
        }
    )
    shapes = lsoa_shapes.reindex(lsoa_codes[pairs["at"]]).to_crs(layer.crs).to_numpy()
    polygons = layer.geometry.to_numpy()[pairs["of"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = shapely.area(shapely.intersection(shapes, polygons)) / shapely.area(shapes)
    pairs = pairs.assign(
        **{AREA_CODE: areas[pairs["of"]], "share": np.nan_to_num(share)},
        holds=lambda p: p[AREA_CODE].to_numpy() == placed.reindex(p["at"]).to_numpy(),
    )
    pairs = pairs[(pairs["how"] == EDGE) | (pairs["share"] >= WHOLLY)]
    best = pairs.sort_values(
        ["at", "share", "holds", AREA_CODE], ascending=[True, False, False, True]
    ).drop_duplicates("at")
    best = best[~best["holds"]].set_index("at")
    placed, how = placed.copy(), how.copy()
    placed[best.index] = best[AREA_CODE]
    how[best.index] = best["how"]
    return placed, how


def fit_report(
    layer: gpd.GeoDataFrame,
    members: pd.DataFrame,
    lsoa_shapes: gpd.GeoSeries,
    population: pd.Series,
    tolerance: float = STRADDLE_SHARE,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How well best-fit LSOAs match the polygons a user drew.

    Per area: LSOAs and people it got, how many of them by their shape rather than their
    centroid (``placed_by``, see :func:`place_near_edges`), the polygon's area, the share of
    it its LSOAs cover, and how many LSOAs straddle its edge. Per straddling LSOA (over
    ``tolerance`` of it in one polygon and over that share in another or outside all): its
    area, the share of it in that area's polygon, outside every polygon, and the areas
    it overlaps. ``lsoa_shapes`` and ``population`` are indexed by LSOA code.
    """
    shapes = lsoa_shapes.to_crs(BNG)
    lsoa_geoms, area_geoms = shapes.to_numpy(), layer.geometry.to_numpy()
    at, of = shapely.STRtree(area_geoms).query(lsoa_geoms, predicate="intersects")
    inside = shapely.area(shapely.intersection(lsoa_geoms[at], area_geoms[of]))
    pairs = pd.DataFrame(
        {
            "lsoa21cd": shapes.index.to_numpy()[at],
            AREA_CODE: layer[AREA_CODE].to_numpy()[of],
            "inside": inside,
            "share": inside / shapely.area(lsoa_geoms)[at],
        }
    )
    pairs = pairs[pairs["share"] > 0]
    assigned = members.set_index("lsoa21cd")[AREA_CODE]
    own = pairs.merge(members[["lsoa21cd", AREA_CODE]], on=["lsoa21cd", AREA_CODE])
    touching = pairs[pairs["share"] > tolerance]
    outside = 1 - pairs.groupby("lsoa21cd")["share"].sum()
    n_touched = touching.groupby("lsoa21cd")[AREA_CODE].nunique()
    straddles = n_touched.index[(n_touched > 1) | (outside.reindex(n_touched.index) > tolerance)]
    straddling = pd.DataFrame(
        {
            AREA_CODE: assigned.reindex(straddles),
            "share_in_area": own.set_index("lsoa21cd")["share"].reindex(straddles),
            "share_outside": outside.reindex(straddles).clip(lower=0),
            "overlaps": touching[touching["lsoa21cd"].isin(straddles)]
            .groupby("lsoa21cd")[AREA_CODE]
            .agg(", ".join)
            .reindex(straddles),
        },
        index=pd.Index(straddles, name="lsoa21cd"),
    ).reset_index()
    codes = layer[AREA_CODE]
    got = members.assign(people=population.reindex(members["lsoa21cd"]).to_numpy())
    per_area = pd.DataFrame(
        {
            AREA_CODE: codes.to_numpy(),
            AREA_NAME: layer[AREA_NAME].to_numpy(),
            "n_lsoa": got.groupby(AREA_CODE).size().reindex(codes, fill_value=0).to_numpy(),
            "population": got.groupby(AREA_CODE)["people"]
            .sum()
            .reindex(codes, fill_value=0)
            .to_numpy(),
            "n_by_shape": got[got[PLACED_BY] != CENTROID]
            .groupby(AREA_CODE)
            .size()
            .reindex(codes, fill_value=0)
            .to_numpy(),
            "polygon_km2": shapely.area(area_geoms) / 1e6,
            "covered_share": (
                own.groupby(AREA_CODE)["inside"].sum().reindex(codes, fill_value=0)
                / shapely.area(area_geoms)
            ).to_numpy(),
            "n_straddling": touching[touching["lsoa21cd"].isin(straddles)]
            .groupby(AREA_CODE)
            .size()
            .reindex(codes, fill_value=0)
            .to_numpy(),
        }
    )
    return per_area, straddling


def parents_of(members: pd.DataFrame, lsoa_parents: pd.DataFrame, parent: str) -> pd.Series:
    """Each area's parent code (``parent``, a column of ``lsoa_parents`` beside
    ``lsoa21cd``), indexed by area code: ranks within a parent need areas that nest in one.
    Fails naming the areas whose LSOAs lie in more than one parent."""
    placed = members.merge(lsoa_parents[["lsoa21cd", parent]], on="lsoa21cd", how="left")
    codes = placed.groupby(AREA_CODE, sort=True)[parent]
    spread = codes.nunique(dropna=False)
    if (spread > 1).any():
        several = placed[placed[AREA_CODE].isin(spread.index[spread > 1])]
        named = several.drop_duplicates([AREA_CODE, parent]).groupby(AREA_CODE)[parent]
        shown = named.agg(lambda c: ", ".join(c.fillna("none")))
        raise UnmatchedAreaError(
            f"{(spread > 1).sum()} area(s) lie in more than one {parent} (ranks within one "
            f"need areas that nest in it): {_examples(shown.index + ' (' + shown + ')')}"
        )
    return codes.first()

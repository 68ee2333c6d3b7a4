"""Boundaries: reading polygon files, and each area's shape built from its LSOAs'."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import Polygon, box

from iod_msoa import _shapes
from iod_msoa._errors import SchemaError
from iod_msoa._shapes import (
    align_boundaries,
    area_shapes,
    lsoa_coverage,
    lsoa_pieces,
    msoa_polygons,
    read_boundaries,
)
from iod_msoa._sources import sha256_file

# --- read_boundaries ------------------------------------------------------------------------


def _squares(path, *, code_field="MSOA21CD", crs="EPSG:27700"):
    """Two 1 km squares in British National Grid, the second 100 km east of the first."""
    gpd.GeoDataFrame(
        {code_field: ["E02000001", "E02000002"], "MSOA21NM": ["West 001", "East 001"]},
        geometry=[box(400000, 300000, 401000, 301000), box(500000, 300000, 501000, 301000)],
        crs=crs,
    ).to_file(path, driver="GPKG", engine="pyogrio")
    return path


def test_read_boundaries_indexes_by_code_in_wgs84(tmp_path):
    boundaries = read_boundaries(_squares(tmp_path / "msoa.gpkg"))
    assert boundaries.crs.to_epsg() == 4326
    assert boundaries.index.name == "msoa21cd"
    assert sorted(boundaries.index) == ["E02000001", "E02000002"]
    # England: longitudes around -2, latitudes around 52.5
    minx, miny, maxx, maxy = boundaries.total_bounds
    assert -3.5 < minx < maxx < 0.0
    assert 52.0 < miny < maxy < 53.0


def test_read_boundaries_accepts_a_lower_case_code_field(tmp_path):
    boundaries = read_boundaries(_squares(tmp_path / "msoa.gpkg", code_field="msoa21cd"))
    assert sorted(boundaries.index) == ["E02000001", "E02000002"]


def test_align_boundaries_follows_the_codes_order(tmp_path):
    boundaries = read_boundaries(_squares(tmp_path / "msoa.gpkg"))
    aligned = align_boundaries(boundaries, pd.Series(["E02000002", "E02000001"]))
    assert aligned.crs.to_epsg() == 4326
    east, west = aligned.bounds["minx"]
    assert east > west + 1.0  # 100 km apart at latitude 52.5: about 1.5 degrees


def test_align_boundaries_names_a_code_without_boundary(tmp_path):
    boundaries = read_boundaries(_squares(tmp_path / "msoa.gpkg"))
    with pytest.raises(SchemaError, match=r"1 MSOA\(s\) have no boundary: E02000009"):
        align_boundaries(boundaries, pd.Series(["E02000001", "E02000009"]))


def test_read_boundaries_without_code_field(tmp_path):
    with pytest.raises(SchemaError, match="missing: 'MSOA21CD'"):
        read_boundaries(_squares(tmp_path / "msoa.gpkg", code_field="code"))


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_read_boundaries_without_crs(tmp_path):
    with pytest.raises(SchemaError, match="no coordinate reference system"):
        read_boundaries(_squares(tmp_path / "msoa.gpkg", crs=None))


def _two_layers(path, first_code_field):
    """A GeoPackage whose first layer (a few squares) comes before the boundaries."""
    first = gpd.read_file(_squares(path.with_name("first.gpkg"), code_field=first_code_field))
    first.to_file(path, layer="a_first", driver="GPKG", engine="pyogrio")
    gpd.read_file(_squares(path.with_name("all.gpkg"))).to_file(
        path, layer="msoa", driver="GPKG", engine="pyogrio", append=True
    )
    return path


@pytest.mark.filterwarnings("error")
def test_of_several_layers_the_one_with_the_code_column_is_read(tmp_path):
    boundaries = read_boundaries(_two_layers(tmp_path / "two.gpkg", "code"))
    assert sorted(boundaries.index) == ["E02000001", "E02000002"]


@pytest.mark.filterwarnings("error")
def test_several_layers_with_the_code_column_are_one_line_naming_them(tmp_path):
    with pytest.raises(SchemaError) as error:
        read_boundaries(_two_layers(tmp_path / "two.gpkg", "MSOA21CD"))
    assert str(error.value).endswith(
        "two.gpkg): 2 of its 2 layers have an MSOA code column (msoa21cd): a_first (2 "
        "features), msoa (2 features); keep only the one to use (ogr2ogr ONE.gpkg two.gpkg LAYER)"
    )


def test_read_boundaries_unreadable_file(tmp_path):
    path = tmp_path / "msoa.gpkg"
    path.write_text("not a geopackage")
    with pytest.raises(SchemaError, match="cannot be read as a vector file"):
        read_boundaries(path)


# --- area shapes from LSOAs ------------------------------------------------------------------


def _unit_squares(codes: list[str]) -> gpd.GeoSeries:
    return gpd.GeoSeries(
        [box(i, 0, i + 1, 1) for i in range(len(codes))],
        index=pd.Index(codes, name="lsoa21cd"),
        crs=27700,
    )


def test_area_shapes_are_unions_in_table_order():
    shapes = _unit_squares(["L1", "L2", "L3"])
    members = pd.DataFrame({"lsoa21cd": ["L1", "L2", "L3"], "xcd": ["B", "B", "A"]})
    merged = area_shapes(shapes, members, "xcd", pd.Series(["B", "A"]))
    assert merged.area.tolist() == pytest.approx([2.0, 1.0])
    assert merged.iloc[0].equals(box(0, 0, 2, 1))


def test_area_shapes_do_not_depend_on_the_lsoas_row_order():
    shapes = _unit_squares([f"L{i}" for i in range(6)])
    members = pd.DataFrame({"lsoa21cd": shapes.index, "xcd": ["A"] * 4 + ["B"] * 2})
    codes = pd.Series(["A", "B"])
    merged = area_shapes(shapes, members, "xcd", codes)
    order = [5, 2, 0, 4, 3, 1]
    shuffled = area_shapes(shapes.iloc[order], members.iloc[order], "xcd", codes)
    assert merged.to_wkb().tolist() == shuffled.to_wkb().tolist()
    assert shapely.is_ccw(shapely.get_exterior_ring(merged.to_numpy())).all()


def _lsoa_squares(codes: list[str]) -> gpd.GeoSeries:
    """Small squares in England, as read_lsoa_boundaries gives them."""
    shapes = gpd.GeoSeries(
        [box(-1 + i / 100, 52, -1 + (i + 1) / 100, 52.01) for i in range(len(codes))],
        index=pd.Index(codes, name="lsoa21cd"),
        crs=4326,
    )
    shapes.attrs["source"] = "LSOA boundaries (lsoa.gpkg)"
    return shapes


def test_lsoas_without_a_boundary_are_named():
    with pytest.raises(SchemaError, match=r"lsoa\.gpkg\): 1 LSOA\(s\) have no boundary: L9"):
        align_boundaries(_lsoa_squares(["L1"]), pd.Series(["L1", "L9"]), "LSOA")


def test_a_null_or_empty_lsoa_boundary_is_an_error_like_a_missing_one():
    shapes = _lsoa_squares(["L1", "L2", "L3", "L4"])
    shapes.iloc[1] = None
    shapes.iloc[2] = Polygon()
    # L4 has a vertex on the edge it shares with L1 that L1 lacks: the coverage is cleaned,
    # which must not fill the NULL LSOA's gap from its neighbours.
    shapes.iloc[3] = Polygon(
        [(-0.99, 52), (-0.98, 52), (-0.98, 52.01), (-0.99, 52.01), (-0.99, 52.005)]
    )
    shapes.iloc[0] = box(-1, 52, -0.99, 52.01)
    cleaned = lsoa_coverage(shapes)
    assert cleaned is not shapes and cleaned.iloc[1] is None
    assert cleaned.attrs["source"] == "LSOA boundaries (lsoa.gpkg)"
    with pytest.raises(SchemaError, match=r"lsoa\.gpkg\): 2 LSOA\(s\) have an empty, missing"):
        align_boundaries(cleaned, pd.Series(["L1", "L2", "L3", "L4"]), "LSOA")


def test_badly_noded_neighbours_are_cleaned_so_coverage_union_works():
    # The right square has a vertex on the shared edge that the left one lacks.
    left = box(0, 0, 1, 1)
    right = Polygon([(1, 0), (2, 0), (2, 1), (1, 1), (1, 0.5)])
    shapes = gpd.GeoSeries([left, right], index=["L1", "L2"], crs=27700)
    cleaned = lsoa_coverage(shapes)
    members = pd.DataFrame({"lsoa21cd": ["L1", "L2"], "xcd": ["A", "A"]})
    merged = area_shapes(cleaned, members, "xcd", pd.Series(["A"]))
    assert merged.iloc[0].area == pytest.approx(2.0)
    assert merged.iloc[0].geom_type == "Polygon"


def test_an_lsoa_carrying_anothers_polygon_is_named_with_it():
    """Cleaning would leave one of the two empty: name both, not just the emptied one."""
    shapes = _lsoa_squares(["L1", "L2", "L3", "L4"])
    shapes.iloc[1] = shapes.iloc[3]
    with pytest.raises(SchemaError) as error:
        lsoa_coverage(shapes)
    assert str(error.value) == (
        "LSOA boundaries (lsoa.gpkg): 1 pair(s) of LSOAs overlap: L2 and L4 (the same "
        "polygon). Each LSOA needs its own polygon: check both rows of each pair (a copied or "
        "mis-joined geometry?)"
    )


def test_lsoas_overlapping_by_more_than_a_snap_are_named():
    shapes = _lsoa_squares(["L1", "L2", "L3"])
    shapes.iloc[2] = box(-0.985, 52, -0.97, 52.01)  # covers half of L2
    with pytest.raises(SchemaError, match=r"L2 and L3 \(overlapping on (50% of L2|33% of L3)\)"):
        lsoa_coverage(shapes)


def test_a_clean_coverage_is_left_alone():
    shapes = _unit_squares(["L1", "L2"])
    assert lsoa_coverage(shapes) is shapes


# --- reading the geographies lookup ---------------------------------------------------------


# --- lsoa_pieces: the cleaned LSOA coverage, cached ---------------------------------------


def _lsoa_file(path, east=0):
    """Two LSOA squares (the second's edge badly noded, so cleaning changes it), moved
    ``east`` metres."""
    left = box(400000 + east, 300000, 401000 + east, 301000)
    right = Polygon(
        [
            (x + east, y)
            for x, y in [
                (401000, 300000),
                (402000, 300000),
                (402000, 301000),
                (401000, 301000),
                (401000, 300500),
            ]
        ]
    )
    gpd.GeoDataFrame(
        {"LSOA21CD": ["E01000001", "E01000002"]}, geometry=[left, right], crs=27700
    ).to_file(path, driver="GPKG", engine="pyogrio")
    return path


def _wkb(shapes):
    return list(shapely.to_wkb(shapes.to_numpy()))


def _no_cleaning(monkeypatch):
    def fail(_shapes):
        raise AssertionError("cleaned again: the cache was not used")

    monkeypatch.setattr(_shapes, "lsoa_coverage", fail)


def _read_back_when_moved(read, path: Path, fresh: gpd.GeoSeries, what: str) -> Path:
    """``read`` (a cached reader of ``path``, cache in ``path``'s folder) of the file moved:
    ``fresh``'s polygons from the cache, naming the moved file in errors. Returns that file."""
    moved = path.with_name("moved.gpkg")
    path.rename(moved)
    cached = read(moved, sha256_file(moved), path.parent / "cache", "1.0")
    assert _wkb(cached) == _wkb(fresh)
    pd.testing.assert_index_equal(cached.index, fresh.index)
    assert cached.crs == fresh.crs
    assert cached.attrs["source"] == f"{what} boundaries ({moved})"  # this file, named in errors
    return moved


def test_lsoa_pieces_are_cleaned_once_then_read_from_the_cache(tmp_path, monkeypatch):
    path = _lsoa_file(tmp_path / "lsoa.gpkg")
    fresh = lsoa_pieces(path, sha256_file(path), tmp_path / "cache", "1.0")
    assert _wkb(fresh) == _wkb(lsoa_coverage(read_boundaries(path, "lsoa21cd", "LSOA")))
    _no_cleaning(monkeypatch)
    _read_back_when_moved(lsoa_pieces, path, fresh, "LSOA")


def test_a_changed_lsoa_file_or_version_is_cleaned_afresh(tmp_path):
    path = _lsoa_file(tmp_path / "lsoa.gpkg")
    first = lsoa_pieces(path, sha256_file(path), tmp_path / "cache", "1.0")
    _lsoa_file(path, east=5000)
    changed = lsoa_pieces(path, sha256_file(path), tmp_path / "cache", "1.0")
    assert changed.total_bounds[0] > first.total_bounds[0]
    assert len(list((tmp_path / "cache").glob("*.parquet"))) == 2
    lsoa_pieces(path, sha256_file(path), tmp_path / "cache", "1.1")
    assert len(list((tmp_path / "cache").glob("*.parquet"))) == 3


def _rewrite_cache(cache, *, key=None, digest=True):
    """The cache with its second LSOA's polygon replaced (and its key, if given); its
    digest beside it updated or not."""
    table = pq.read_table(cache)
    wkb = table.column("wkb").to_pylist()
    wkb[1] = shapely.to_wkb(box(-1, 52, -0.99, 52.01))
    metadata = dict(table.schema.metadata)
    if key is not None:
        metadata[_shapes._CACHE_KEY] = key
    pq.write_table(
        table.set_column(1, "wkb", pa.array(wkb)).replace_schema_metadata(metadata), cache
    )
    if digest:
        cache.with_name(cache.name + ".sha256").write_text(sha256_file(cache))


@pytest.mark.parametrize(
    "damage",
    [
        lambda cache: cache.write_bytes(cache.read_bytes()[:-100]),  # cut short
        lambda cache: _rewrite_cache(cache, digest=False),  # changed after it was written
        lambda cache: _rewrite_cache(cache, key=b"another"),  # another file's or version's
        lambda cache: cache.with_name(cache.name + ".sha256").unlink(),  # digest lost
    ],
)
def test_a_damaged_cache_is_not_used_but_made_again(tmp_path, monkeypatch, damage):
    path = _lsoa_file(tmp_path / "lsoa.gpkg")
    fresh = lsoa_pieces(path, sha256_file(path), tmp_path / "cache", "1.0")
    (cache,) = (tmp_path / "cache").glob("*.parquet")
    good = cache.read_bytes()
    damage(cache)
    calls = []
    clean = _shapes.lsoa_coverage
    monkeypatch.setattr(_shapes, "lsoa_coverage", lambda s: calls.append(1) or clean(s))
    assert _wkb(lsoa_pieces(path, sha256_file(path), tmp_path / "cache", "1.0")) == _wkb(fresh)
    assert calls == [1] and cache.read_bytes() == good
    assert lsoa_pieces(path, sha256_file(path), tmp_path / "cache", "1.0") is not None
    assert calls == [1]  # made again: used from then on


def test_msoa_polygons_are_repaired_once_then_read_from_the_cache(tmp_path, monkeypatch):
    path = _squares(tmp_path / "msoa.gpkg")
    fresh = msoa_polygons(path, sha256_file(path), tmp_path / "cache", "1.0")
    assert _wkb(fresh) == _wkb(read_boundaries(path))

    def fail(*_args, **_kwargs):
        raise AssertionError("read again: the cache was not used")

    monkeypatch.setattr(_shapes, "read_boundaries", fail)
    moved = _read_back_when_moved(msoa_polygons, path, fresh, "MSOA")
    with pytest.raises(AssertionError, match="cache was not used"):  # another version's
        msoa_polygons(moved, sha256_file(moved), tmp_path / "cache", "1.1")


def test_lsoa_pieces_without_a_usable_cache_folder_still_clean(tmp_path):
    path = _lsoa_file(tmp_path / "lsoa.gpkg")
    (tmp_path / "file").write_text("not a folder")
    shapes = lsoa_pieces(path, sha256_file(path), tmp_path / "file" / "cache", "1.0")
    assert list(shapes.index) == ["E01000001", "E01000002"]

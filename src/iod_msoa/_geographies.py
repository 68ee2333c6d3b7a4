"""The areas we build from LSOAs (``data/geographies.toml``) and their shapes.

Every geography goes through the same engine (:func:`iod_msoa.aggregate`); this module only
says what each one is and draws each area as the union of its LSOAs.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import ConfigError, SchemaError, listed

_TABLE = tomllib.loads(
    resources.files("iod_msoa").joinpath("data/geographies.toml").read_text(encoding="utf-8")
)
BEST_FIT_NOTE: str = " ".join(_TABLE["best_fit_note"].split())
DEFAULT_GEOGRAPHY = "msoa21"
ALL = "all"


@dataclass(frozen=True)
class Geography:
    """One kind of area built from LSOAs: its codes, where its members and shapes come from."""

    key: str
    made_from: str
    label: str
    noun: str
    nouns: str
    title: str
    areas: int
    fit: str
    nests_in_lad: bool
    code_pattern: str
    members: str
    shapes: str
    whole_lads: bool = False
    within: tuple[str, ...] = field(default_factory=tuple)
    shared_names: bool = False
    ons_lookup: str = ""
    names: str = ""
    display: str = ""
    dataset: str = ""
    summaries: str = ""
    summary_file: str = ""
    summary_header: str = ""
    summary_keys: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dataset", self.dataset or f"iod25_{self.key}")
        object.__setattr__(self, "display", self.display or f"{self.key}nm")
        object.__setattr__(self, "summary_keys", tuple(self.summary_keys))
        object.__setattr__(self, "within", tuple(self.within))

    @property
    def code(self) -> str:
        return f"{self.key}cd"

    @property
    def name(self) -> str:
        return f"{self.key}nm"

    @property
    def best_fit(self) -> bool:
        return self.fit == "best fit"

    @property
    def note(self) -> str:
        """What users must know about the areas' fit ('' for exact areas)."""
        return BEST_FIT_NOTE if self.best_fit else ""

    @property
    def carries_lad(self) -> bool:
        """Whether outputs list the containing LAD (areas nest in LADs and are not LADs)."""
        return self.nests_in_lad and self.key != "lad24"

    @property
    def inputs(self) -> tuple[str, ...]:
        """The inputs a build of this geography reads, File 7 first."""
        wanted = ("file7", self.members, self.names, self.shapes)
        return tuple(dict.fromkeys(n for n in wanted if n))


@dataclass(frozen=True)
class OnsLookup:
    """How one ONS lookup places LSOAs: the field it is joined on and its columns -> ours.

    ``repeats``: rows repeat a code of ``on`` (one per some other area), so identical rows
    collapse; ``crosswalk``: the ``[crosswalks]`` table our columns are mapped through.
    """

    on: str
    file7: str
    columns: dict[str, str]
    repeats: bool = False
    crosswalk: str = ""


@dataclass(frozen=True)
class Crosswalk:
    """Small reference data mapping one code column to a geography's columns, where ONS
    publishes no lookup (police force area -> LRF)."""

    on: str
    rows: dict[str, dict[str, str]]
    shares: tuple[str, ...] = ()  # codes given to more than one `on` code on purpose

    def frame(self) -> pd.DataFrame:
        """The crosswalk as a table: ``on``, then the columns it gives, as strings."""
        table = pd.DataFrame.from_dict(self.rows, orient="index").rename_axis(self.on)
        return table.reset_index().astype("string")


ONS_LOOKUPS: dict[str, OnsLookup] = {
    name: OnsLookup(**spec) for name, spec in _TABLE["ons_lookups"].items()
}
CROSSWALKS: dict[str, Crosswalk] = {
    name: Crosswalk(**spec) for name, spec in _TABLE["crosswalks"].items()
}
GEOGRAPHIES: dict[str, Geography] = {g["key"]: Geography(**g) for g in _TABLE["geographies"]}
VALIDATED: tuple[str, ...] = tuple(k for k, g in GEOGRAPHIES.items() if g.summaries)


def geographies_frame() -> pd.DataFrame:
    """The geography table as a DataFrame, for docs and the site."""
    rows = [
        {
            "key": g.key,
            "label": g.label,
            "areas": g.areas,
            "fit": g.fit,
            "nests_in_lad": g.nests_in_lad,
            "made_from": g.made_from,
            "dataset": g.dataset,
            "validated_against": g.summary_file,
        }
        for g in GEOGRAPHIES.values()
    ]
    return pd.DataFrame(rows).set_index("key")


def select(names: Iterable[str] | None, *, among: Iterable[str] | None = None) -> list[Geography]:
    """The geographies named (``all`` = every one ``among`` the allowed keys), in table order."""
    allowed = list(among) if among is not None else list(GEOGRAPHIES)
    names = [names] if isinstance(names, str) else list(names or [DEFAULT_GEOGRAPHY])
    wanted = allowed if ALL in names else names
    unknown = [n for n in wanted if n not in allowed]
    if unknown:
        raise ConfigError(
            f"unknown geography {', '.join(map(repr, unknown))}: choose from "
            f"{', '.join(allowed)} or {ALL}"
        )
    return [GEOGRAPHIES[k] for k in allowed if k in wanted]


def nesting_partners(built: Iterable[Geography]) -> list[Geography]:
    """The geographies not ``built`` that one built lies ``within``, or that lie within one:
    a table giving their columns too is checked for how the built areas nest."""
    keys = {g.key for g in built}
    return [
        p
        for p in GEOGRAPHIES.values()
        if p.key not in keys
        and (keys & set(p.within) or any(p.key in GEOGRAPHIES[k].within for k in keys))
    ]


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
    frame = gpd.GeoDataFrame(
        {code: members[code].to_numpy()}, geometry=pieces.to_numpy(), crs=pieces.crs
    )
    merged = frame.dissolve(code, method="coverage").geometry
    canonical = shapely.orient_polygons(shapely.normalize(merged.loc[np.asarray(codes)].to_numpy()))
    return gpd.GeoSeries(canonical, crs=pieces.crs)

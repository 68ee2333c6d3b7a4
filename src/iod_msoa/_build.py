"""The build: inputs -> checked tables -> one dataset per geography -> files. I/O lives here."""

from __future__ import annotations

import filecmp
import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import pandas as pd
from rich.text import Text

from ._aggregate import aggregate, area_columns, with_ranks_within
from ._areas import (
    AREA_CODE,
    EDGE_M,
    assign_by_centroid,
    fit_report,
    is_layer,
    parents_of,
    read_area_layer,
    read_area_table,
    read_centroids,
)
from ._change import apportion, comparability, lsoa11_pieces, split_weights
from ._config import Config, load_config, project_root
from ._console import plain_console
from ._describe import fit_resources, register_file
from ._edition_readers import read_lsoa11_lsoa21, read_lsoa11_msoa11
from ._editions import edition_of
from ._errors import ConfigError, SchemaError, UnmatchedAreaError, listed
from ._folder import (
    DATASET,
    VALIDATION_FILE,
    EarlierValidation,
    InputRecord,
    Provenance,
    check_inputs_not_outputs,
    current,
    earlier_validation,
    legacy_provenance,
    listed_resource,
    output_files,
    package_in,
)
from ._geographies import (
    AREAS,
    CROSSWALKS,
    DEFAULT_GEOGRAPHY,
    EDITION_GEOGRAPHIES,
    GEOGRAPHIES,
    Geography,
    area_name_from,
    own_areas,
    select,
)
from ._lookups import assemble_geographies, check_with_file7, lookups_source, within_problems
from ._manifest import MANIFEST
from ._plan import (
    CENTROIDS,
    EDITION,
    FILE7_PARENT,
    PACKAGES,
    TABLE,
    DatasetPlan,
    Plan,
    Reading,
    chosen,
    make_plan,
)
from ._problems import render
from ._readers import (
    geographies_source,
    is_in,
    read_file7,
    read_geographies,
    read_lookup,
    read_names,
    read_ons_lookup,
    read_partner_codes,
)
from ._shapes import (
    align_boundaries,
    area_shapes,
    lsoa_coverage,
    lsoa_pieces,
    msoa_polygons,
    read_lsoa_boundaries,
)
from ._sources import ResolvedInput, input_names, resolve_inputs
from ._swap import output_folder, staged_output
from ._writers import Dataset, write_dataset

T = TypeVar("T")
MSOA = GEOGRAPHIES[DEFAULT_GEOGRAPHY]
BUILD_INPUTS = MSOA.inputs
EPOCH_ENV = "SOURCE_DATE_EPOCH"  # https://reproducible-builds.org/specs/source-date-epoch/
# Tabular inputs: input name -> (Inputs attribute, checking reader).
_TABLE_READERS = {
    "file7": ("lsoa", read_file7),
    "lookup": ("lookup", read_lookup),
    "names": ("names", read_names),
    # the 2019 edition's (one File 7 per build: the plan reads one edition)
    "file7_2019": ("lsoa", functools.partial(read_file7, edition=2019, expected_rows=None)),
    "lsoa11_msoa11": ("lsoa11_msoa11", read_lsoa11_msoa11),
    "lsoa11_lsoa21": ("crosswalk", read_lsoa11_lsoa21),
}
LSOA_SHAPES = "lsoa_boundaries"  # the LSOA polygons other areas are drawn from
# Polygon inputs: input name -> reader (of the input and the cache folder) giving polygons
# indexed by area code; repaired (LSOAs also made a clean coverage) once per file and
# version, then cached.
_SHAPE_READERS: dict[str, Callable[[ResolvedInput, Path], gpd.GeoSeries]] = {
    "boundaries": lambda given, cache: msoa_polygons(given.path, given.sha256, cache, version()),
    LSOA_SHAPES: lambda given, cache: lsoa_pieces(given.path, given.sha256, cache, version()),
}


def version() -> str:
    try:
        return metadata.version("iod-msoa")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def default_out_dir(dataset: str = DATASET) -> Path:
    return project_root() / PACKAGES / dataset


class Reporter:
    """Progress lines on stderr, so stdout stays clean for the summary or pipes."""

    def __init__(self, enabled: bool) -> None:
        self.console = plain_console(stderr=True, quiet=not enabled)
        self.start = time.perf_counter()

    def step(self, message: str) -> None:
        """Print ``message`` as given (a path like ``a[/]b`` is not markup) after the time."""
        elapsed = (f"{time.perf_counter() - self.start:6.2f}s", "dim")
        self.console.print(Text.assemble(elapsed, " ", message))

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


@dataclass
class Inputs:
    """The checked input tables and where each input came from."""

    resolved: dict[str, ResolvedInput]
    lsoa: pd.DataFrame | None = None
    lookup: pd.DataFrame | None = None
    names: pd.DataFrame | None = None
    geographies: pd.DataFrame | None = None
    lsoa11_msoa11: pd.DataFrame | None = None
    crosswalk: pd.DataFrame | None = None
    other_file7: pd.DataFrame | None = None  # another edition's: 2021 LSOA populations
    areas: pd.DataFrame | None = None  # a user's own areas: their members
    layer: gpd.GeoDataFrame | None = None  # and their polygons, when drawn

    @property
    def paths(self) -> dict[str, Path]:
        return {name: r.path for name, r in self.resolved.items()}


def resolve(
    config: Config, names: Iterable[str], *, progress: bool, reporter: Reporter
) -> dict[str, ResolvedInput]:
    """Local path or cached/downloaded official file for each named input, checked."""
    names = input_names(names)
    reporter.step(f"Resolving inputs: {', '.join(names)}")
    resolved = resolve_inputs(
        names,
        local_paths=config.inputs,
        cache_dir=config.cache_dir,
        allow_unverified=config.allow_unverified,
        progress=progress,
        timeout=config.download_timeout,
    )
    for r in resolved.values():
        reporter.step(f"  {r.name}: {r.path} ({r.origin}, {r.status})")
    return resolved


def read_tables(
    resolved: dict[str, ResolvedInput],
    reporter: Reporter,
    reading: Reading | None = None,
    edition: int = EDITION,
    lsoa_shapes: Future[gpd.GeoSeries] | None = None,
) -> Inputs:
    """Read and check the tabular inputs among ``resolved``, and put the LSOA geographies
    table together as the plan's ``reading`` says (none without one).

    The table takes each geography's columns from the ONS lookup that gives it (assembled),
    else from the local geographies table (only the columns of the geographies built, so a
    gap elsewhere does not stop a build); both, and the two together, are checked against
    File 7, and how the built areas nest with the table's others (``within``).
    """
    own = edition_of(edition).file7_input  # another edition's File 7: ``other_file7``
    tables = {
        ("other_file7" if attr == "lsoa" and name != own else attr): reader(resolved[name].path)
        for name, (attr, reader) in _TABLE_READERS.items()
        if name in resolved
    }
    if reading is not None and (table := _geographies_table(resolved, tables, reading)) is not None:
        tables["geographies"] = table
    layer = None
    if AREAS in resolved:
        tables["areas"], layer = own_members(resolved, tables["lsoa"]["lsoa21cd"], lsoa_shapes)
    reporter.step(
        "Read and checked " + ", ".join(f"{k} ({len(v):,} rows)" for k, v in tables.items())
    )
    return Inputs(resolved=resolved, layer=layer, **tables)


def own_members(
    resolved: dict[str, ResolvedInput],
    lsoa_codes: pd.Series,
    lsoa_shapes: Future[gpd.GeoSeries] | None = None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame | None]:
    """A user's areas as members of England's ``lsoa_codes``: from a grouping table, or by
    best fit from a polygon layer (then the layer too, to report the fit). Best fit near a
    generalised edge needs the LSOAs' shapes: ``lsoa_shapes`` if being read, else read here."""
    path = resolved[AREAS].path
    if not is_layer(path):
        return read_area_table(path, lsoa_codes), None
    layer = read_area_layer(path)
    centroids = read_centroids(resolved[CENTROIDS].path)
    shapes = (
        lsoa_shapes.result()
        if lsoa_shapes is not None
        else lsoa_coverage(read_lsoa_boundaries(resolved[LSOA_SHAPES].path))
    )
    return assign_by_centroid(layer, centroids, lsoa_codes, shapes), layer


def _geographies_table(
    resolved: dict[str, ResolvedInput], tables: dict[str, pd.DataFrame], reading: Reading
) -> pd.DataFrame | None:
    """The LSOA geographies table of ``reading``: read, assembled or both, each checked."""
    ons = {n: read_ons_lookup(resolved[n].path, n) for n in reading.lookups}
    parts, sources = [], []
    if reading.from_table:
        path = resolved[TABLE].path
        local = read_geographies(path, with_lad=True, geographies=reading.from_table)
        sources.append(geographies_source(path))
        check_with_file7(local, tables["lsoa"], sources[-1])
        parts.append(local.drop(columns="lad24cd", errors="ignore"))
    if ons:
        parts.append(assemble_geographies(tables["lsoa"], ons))
        sources.append(lookups_source(ons))
    if not parts:
        return None
    table = parts[0]
    if len(parts) == 2:  # each checked; together they must still nest (within)
        local, table = parts
        local = local.drop(columns=[c for c in table.columns if c != "lsoa21cd"], errors="ignore")
        table = table.merge(local, on="lsoa21cd", how="left")
        check_with_file7(table, tables["lsoa"], " with ".join(sources))
    if reading.partners:
        _check_partners(table, resolved[TABLE].path, reading, sources)
    return table


def _check_partners(table: pd.DataFrame, path: Path, reading: Reading, sources: list[str]) -> None:
    """Fail if the built areas do not nest with the table's columns of the geographies not
    built (``within``), read for this check only."""
    codes = read_partner_codes(path, reading.partners).drop_duplicates("lsoa21cd")
    ours = table.drop(columns=codes.columns.drop("lsoa21cd"), errors="ignore")
    if problems := within_problems(ours.merge(codes, on="lsoa21cd", how="left"), reading.nesting):
        source = " with ".join(dict.fromkeys([*sources, geographies_source(path)]))
        raise SchemaError(render(source, problems))


def load_inputs(
    config: Config | None = None,
    names: Iterable[str] = BUILD_INPUTS,
    *,
    progress: bool = True,
    reporter: Reporter | None = None,
    geographies: Iterable[str | Geography] = (),
) -> Inputs:
    """Resolve (download or take local) the named inputs and read the tables among them,
    with the LSOA geographies table of ``geographies`` put together as a build would."""
    config = config or load_config()
    reporter = reporter or Reporter(progress)
    plan = make_plan(config.inputs, chosen(geographies) if geographies else [])
    wanted = dict.fromkeys([*input_names(names), *plan.table_inputs])
    resolved = resolve(config, wanted, progress=progress, reporter=reporter)
    return read_tables(resolved, reporter, plan.reading)


def _lacking(path: Path, lacking: list[Geography], columns: Iterable[str]) -> SchemaError:
    """The error for a local geographies table without some requested geographies' columns."""
    have = {str(c).strip().lower() for c in columns}
    can = [g.key for g in GEOGRAPHIES.values() if g.members != "geographies" or g.code in have]
    return SchemaError(
        f"{geographies_source(path)}: has no "
        + ", ".join(f"{g.code}/{g.name}" for g in lacking)
        + f" columns, so {', '.join(g.nouns for g in lacking)} cannot be built; add them, or "
        "name only geographies it can build: " + " ".join(f"--geography {k}" for k in can)
    )


def check_geography_columns(plan: Plan, given: dict[str, Path]) -> None:
    """Fail before any work (or folder) if the local geographies table among the ``given``
    inputs lacks the columns of a geography the plan reads from it (not one an ONS lookup
    gives); a missing or unreadable table is left for the resolver and its reader to report
    (assembled tables always have every column)."""
    path = given.get(TABLE)
    if path is None or not plan.reading.from_table or not Path(path).is_file():
        return  # a FIFO would block: the resolver says so
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
    except (OSError, ValueError, pd.errors.ParserError):
        return
    have = {str(c).strip().lower() for c in header}
    # with one of the two columns, the table's reader names the other (renamed?)
    lacking = [g for g in plan.reading.from_table if g.code not in have and g.name not in have]
    if lacking:
        raise _lacking(path, lacking, header)


def members(geography: Geography, inputs: Inputs) -> pd.DataFrame:
    """Each LSOA's area: the edition's LSOA code (``lsoa21cd``) and the geography's code and
    name columns.

    LADs always come from File 7 itself (ONS lookups place one LSOA differently).
    """
    columns = [edition_of(geography.edition).lsoa_key, geography.code, geography.name]
    source = {
        "file7": inputs.lsoa,
        "file7_2019": inputs.lsoa,
        "lookup": inputs.lookup,
        "geographies": inputs.geographies,
        "lsoa11_msoa11": inputs.lsoa11_msoa11,
        AREAS: inputs.areas,
    }
    table = source[geography.members]
    if geography.code not in table.columns:
        raise _lacking(inputs.resolved[geography.members].path, [geography], table.columns)
    return table[columns]


def pieces_of(geography: Geography, inputs: Inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An earlier edition's LSOAs placed in 2021 areas through ONS's LSOA 2011 -> 2021
    lookup: the pieces of each 2011 LSOA (``_change.apportion``: its populations shared as
    ``_change.SPLIT_RULE`` says, by a later edition's File 7) as the LSOA table, and the
    members placing each ``piece`` in an area, with its ``comparability`` (``exact`` or
    ``apportioned``)."""
    code, name = geography.code, geography.name
    areas = members(GEOGRAPHIES[geography.key], inputs)
    pieces = lsoa11_pieces(inputs.crosswalk, areas, split_weights(inputs.other_file7), area=code)
    shorts = [d.short for d in edition_of(geography.edition).denominators]
    lsoa = apportion(inputs.lsoa, pieces, shorts, area=code)
    of = lsoa[["piece", code]].merge(areas.drop_duplicates(code)[[code, name]], on=code)
    flags = comparability(pieces, area=code)
    return lsoa.drop(columns=[code, "share"]), of.assign(comparability=of[code].map(flags))


def area_table(
    geography: Geography,
    lsoa: pd.DataFrame,
    members: pd.DataFrame,
    names: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One geography's dataset: aggregated measures plus names (and LAD where areas nest).

    ``members`` places each LSOA (its first column: the edition's LSOA code, or the
    ``piece`` of one) in an area (``<key>cd``, ``<key>nm``, and ``comparability`` where
    pieces are); ``names`` optionally adds more names per area code (the House of Commons
    Library's). The geography's edition says which File 7 ``lsoa`` is.
    """
    edition = edition_of(geography.edition)
    code, name, key = geography.code, geography.name, members.columns[0]
    n_national = None if key == edition.lsoa_key else edition.expected_lsoas
    measures = aggregate(
        lsoa,
        members[[key, code]],
        area=code,
        n_national=n_national,
        edition=edition,
        key=key,
        allow_unmatched=not geography.covers_england,
    )
    codes = measures[code]
    of = members[is_in(members[key], lsoa[key])]
    keys, lad = [code], []
    if geography.carries_lad:
        lad = [edition.lad_key, edition.lad_name]
        of = of.merge(lsoa[[key, *lad]], on=key)
        keys.append(edition.lad_key)
    ids = of.drop_duplicates(keys)
    flag = ["comparability"] if "comparability" in of.columns else []
    split = ids[code].duplicated(keep=False)
    if split.any():
        shown = ", ".join(sorted(ids.loc[split, code].unique())[:10])
        raise UnmatchedAreaError(
            f"{geography.nouns} split across local authorities (20{edition.lad_key[3:5]}): {shown}"
        )
    table = measures.join(ids.set_index(code)[[name, *lad, *flag]], on=code)
    extra: list[str] = []
    if names is not None:
        named = names.drop_duplicates(code).set_index(code)
        extra = list(named.columns)
        unnamed = codes[named[extra[0]].reindex(codes.to_numpy()).isna().to_numpy()]
        if len(unnamed):
            raise SchemaError(
                f"{geography.noun} names: {len(unnamed)} {geography.noun}(s) have no name in "
                f"the {MANIFEST[geography.names].title}: " + ", ".join(unnamed.head(10))
            )
        table = table.join(named, on=code)
    rest = [c for c in area_columns(code, edition) if c != code]
    return table[[code, name, *extra, *lad, *flag, *rest]].reset_index(drop=True)


def msoa_table(lsoa: pd.DataFrame, lookup: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """The MSOA dataset: :func:`area_table` for MSOAs (2021)."""
    return area_table(MSOA, lsoa, lookup, names)


def check_area_count(
    geography: Geography, table: pd.DataFrame, source: str, crosswalk: str = ""
) -> None:
    """A lookup of another vintage gives another number of areas: stop rather than mislead,
    naming the areas of the ``crosswalk`` (if the lookup goes through one) that got no LSOA.
    A user's own areas are as many as the user gave."""
    if len(table) == geography.areas or not geography.covers_england:
        return
    empty = ""
    if crosswalk:
        known = CROSSWALKS[crosswalk].frame().drop_duplicates(geography.code)
        if len(gone := known[~known[geography.code].isin(table[geography.code])]):
            named = listed(gone[geography.code] + " (" + gone[geography.name] + ")")
            empty = f"; no LSOA is in {named} of crosswalk {crosswalk} (geographies.toml)"
    raise SchemaError(
        f"{source}: gives {len(table):,} {geography.nouns}; England has {geography.areas:,}"
        f" ({geography.label}){empty}. Check that the lookup is of that vintage."
    )


def build_time(resolved: dict[str, ResolvedInput]) -> tuple[str, str]:
    """The time the outputs record, and where it came from.

    ``$SOURCE_DATE_EPOCH`` when set, else the newest input file's modification time: never
    the clock, so two builds from the same inputs write the same bytes.
    """
    epoch = os.environ.get(EPOCH_ENV, "").strip()
    if epoch:
        try:
            if not (epoch.isascii() and epoch.isdigit()):  # as `date +%s` writes it: not -5
                raise ValueError(epoch)
            when = datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise ConfigError(
                f"{EPOCH_ENV}={epoch!r} is not a whole number of seconds since 1970-01-01 UTC; "
                f"fix it or unset it"
            ) from exc
        source = EPOCH_ENV
    else:
        newest = max(resolved.values(), key=lambda r: r.path.stat().st_mtime).path
        try:
            when = datetime.fromtimestamp(int(newest.stat().st_mtime), UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise ConfigError(
                f"{newest} has a modification time outside the years 1 to 9999, so the build "
                f"time cannot be taken from it; set {EPOCH_ENV} to the time to record, or touch "
                "the file"
            ) from exc
        source = "modification time of the newest input file"
    return when.isoformat(timespec="seconds"), source


def data_digests(folder: Traversable | None = None) -> dict[str, str]:
    """The sha256 of each of the package's own data tables (``data/*.toml``: schema,
    geographies and crosswalks, sources), which shape the outputs as much as the inputs do:
    an edited table (an editable install) must rebuild, not leave outputs "current"."""
    folder = folder or resources.files("iod_msoa").joinpath("data")
    tables = sorted((t for t in folder.iterdir() if t.name.endswith(".toml")), key=lambda t: t.name)
    return {t.name: hashlib.sha256(t.read_bytes()).hexdigest() for t in tables}


def fingerprint(
    resolved: dict[str, ResolvedInput],
    created: str,
    geography: Geography = MSOA,
    within: str = "",
) -> str:
    """What the outputs depend on: version, the package's data tables, geography, build time,
    each input's sha256 and the parent areas are ranked within (if any)."""
    key = {
        "version": version(),
        "data": data_digests(),
        "geography": geography.key,
        "created": created,
        "inputs": {n: r.sha256 for n, r in sorted(resolved.items())},
    } | ({"within": within} if within else {})
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


@dataclass
class BuildResult:
    """What a build wrote and with what."""

    out_dir: Path
    table: pd.DataFrame
    provenance: Provenance
    skipped: bool = False
    seconds: float = 0.0  # since the run started: geographies built together share the reading
    geography: Geography = MSOA
    paths: dict[str, Path] = field(init=False)

    def __post_init__(self) -> None:
        files = output_files(self.geography.dataset)
        self.paths = {key: self.out_dir / name for key, name in files.items()}
        if listed_resource(self.out_dir, VALIDATION_FILE) is not None:  # from these inputs
            self.paths["validation"] = self.out_dir / VALIDATION_FILE
        for key, name in fit_files(self.geography.dataset).items():  # a user's polygons
            if listed_resource(self.out_dir, name) is not None:
                self.paths[key] = self.out_dir / name

    @property
    def unverified(self) -> list[str]:
        return list(self.provenance.unverified)


def _provenance(
    geography: Geography,
    own: dict[str, ResolvedInput],
    when: tuple[str, str],
    fp: str,
    rows: int,
    config: Config,
) -> Provenance:
    """What a dataset records about its making: its inputs, how, and ``when`` (the time and
    where it came from, as :func:`build_time` gives them)."""
    return Provenance(
        dataset=geography.dataset,
        geography=geography.key,
        package="iod-msoa",
        version=version(),
        created=when[0],
        created_from=when[1],
        rows=rows,
        fingerprint=fp,
        allow_unverified=config.allow_unverified,
        unverified=tuple(n for n, r in own.items() if r.status == "unverified"),
        inputs={n: InputRecord(**r.as_dict()) for n, r in own.items()},
        official_urls={n: MANIFEST[n].url for n in own},
    )


def _keep_validation(earlier: EarlierValidation, folder: Path, staging: Path) -> None:
    """Carry a validation.csv that still holds for the new outputs into the new package."""
    if earlier.entry is None:
        return
    earlier.copy_kept(folder / VALIDATION_FILE, staging / VALIDATION_FILE)
    register_file(staging, VALIDATION_FILE, earlier.about())


def _settle_validation(
    earlier: EarlierValidation, folder: Path, geography: Geography, reporter: Reporter
) -> None:
    """After the swap: remove a validation.csv made from other inputs (it must not pass for
    these), and say so; say too when one is left unlisted because no package lists it."""
    here = folder / VALIDATION_FILE
    if earlier.entry is None and not earlier.stale and here.is_file():
        reporter.step(
            f"{geography.key}: left {VALIDATION_FILE} as it is and out of the package: no "
            "earlier package here lists it (`iod-msoa validate` makes one that it lists)"
        )
    if earlier.dropped:
        reporter.step(
            f"{geography.key}: dropped the {', '.join(earlier.dropped)} rows of "
            f"{VALIDATION_FILE}, made from other inputs than these outputs (run `iod-msoa "
            "validate` to make them again)"
        )
    if earlier.stale:
        here.unlink(missing_ok=True)
        reporter.step(
            f"{geography.key}: removed {VALIDATION_FILE}, made from another File 7 or version, "
            "or from another copy of an input of these outputs (run `iod-msoa validate` to "
            "make it again)"
        )


def check_output_folders(datasets: Sequence[DatasetPlan], given: Mapping[str, Path]) -> None:
    """Before anything is read: no dataset's folder holds another package, and no input
    ``given`` locally lives under the name of a file these datasets write."""
    check_not_another_package([d.geography for d in datasets], [d.folder for d in datasets])
    check_inputs_not_outputs(
        {n: given[n] for d in datasets for n in d.inputs if n in given},
        [d.folder / n for d in datasets for n in package_files(d.geography.dataset)],
    )


def check_not_another_package(geographies: list[Geography], folders: list[Path]) -> None:
    """Refuse to write one geography's package over another's: its datapackage.json and
    provenance.json would be replaced and its data files left in the folder undescribed."""
    datasets = {g.dataset: g for e in EDITION_GEOGRAPHIES.values() for g in e.values()}
    for g, folder in zip(geographies, folders, strict=True):
        found = package_in(folder)
        dataset = None if found is None else found.replace("-", "_")  # package names use "-"
        if dataset is None or dataset == g.dataset:
            continue
        other, built_in = datasets.get(dataset), g.dataset in datasets
        what = f"a package named {found!r}" if other is None else f"the {other.dataset} package"
        hint = "; give another --out"
        if other is not None and built_in:
            both = f"--geography {other.key} --geography {g.key} --out DIR"
            hint += f", or {both} to build each into a sub-folder of DIR"
        raise ConfigError(
            f"{folder} holds {what} (datapackage.json, provenance.json), which building "
            f"{g.key if built_in else g.dataset} there would replace{hint}"
        )


def _geometry(
    geography: Geography,
    shapes: dict[str, Future[gpd.GeoSeries]],
    of: pd.DataFrame,
    table: pd.DataFrame,
    crosswalk: pd.DataFrame | None = None,
) -> gpd.GeoSeries:
    """The polygon of each area in ``table``: its own boundary, or the union of its LSOAs
    (an earlier edition's: of the 2021 LSOAs they became, through ``crosswalk``)."""
    codes = table[geography.code]
    if geography.shapes == "lsoa_boundaries":
        if "lsoa21cd" not in of.columns:
            of = of.merge(crosswalk, on="lsoa11cd")[["lsoa21cd", geography.code]]
            of = of.drop_duplicates().reset_index(drop=True)
        pieces = align_boundaries(shapes["lsoa_boundaries"].result(), of["lsoa21cd"], "LSOA")
        return area_shapes(pieces, of, geography.code, codes)
    return align_boundaries(shapes[geography.shapes].result(), codes)


def build_many(
    config: Config | None = None,
    geographies: str | Geography | Iterable[str | Geography] = (MSOA,),
    out_dir: Path | str | None = None,
    *,
    progress: bool = True,
    force: bool = False,
    edition: int = EDITION,
    within: str = "",
) -> list[BuildResult]:
    """Build several geographies of one ``edition`` in one pass: each input is read and
    checked once.

    ``geographies``: names (``"icb24"``, ``["lad24", "rgn24"]``, ``"all"``) or
    :class:`Geography` objects. Each goes to ``data/packages/<dataset>/`` (or ``out_dir`` for
    one geography, ``out_dir/<dataset>/`` for several); one whose outputs are current is
    skipped. ``within`` (``"lad24"``, ...) also ranks each area among its parent's.
    """
    config = config or load_config()
    plan = make_plan(
        config.inputs,
        chosen(geographies, edition),
        out_dir,
        packages=project_root() / PACKAGES,
        edition=edition,
        within=within,
    )
    reporter = Reporter(progress)
    check_output_folders(plan.datasets, config.inputs)
    check_geography_columns(plan, config.inputs)
    with ExitStack() as locks:  # each folder locked for the run, always in the same order
        for d in plan.datasets:
            locks.enter_context(output_folder(d.folder, reporter.step))
        return _build_locked(config, plan, reporter, progress=progress, force=force)


@dataclass(frozen=True)
class _Stamp:
    """What one dataset's outputs record of their making: its own inputs (resolved), the
    build time and where it came from, and the fingerprint of it all."""

    inputs: dict[str, ResolvedInput]
    created: str
    created_from: str
    fingerprint: str


def _stamp(dataset: DatasetPlan, resolved: dict[str, ResolvedInput]) -> _Stamp:
    own = {n: resolved[n] for n in dataset.inputs}
    created, created_from = build_time(own)  # from its own inputs alone, as is all it holds
    fp = fingerprint(own, created, dataset.geography, dataset.within)
    return _Stamp(own, created, created_from, fp)


def _skipped(dataset: DatasetPlan, stamp: _Stamp, reporter: Reporter) -> BuildResult | None:
    """The result of a dataset whose outputs are current (nothing to do), else None."""
    g, folder = dataset.geography, dataset.folder
    if (existing := current(folder, stamp.fingerprint, g.dataset)) is None:
        return None
    reporter.step(f"Outputs in {folder} are current; nothing to do (use --force to rebuild)")
    table = pd.read_parquet(folder / output_files(g.dataset)["parquet"])
    return BuildResult(
        folder, table, existing, skipped=True, seconds=reporter.elapsed(), geography=g
    )


def _build_locked(
    config: Config, plan: Plan, reporter: Reporter, *, progress: bool, force: bool
) -> list[BuildResult]:
    """The build proper, run while this process holds every output folder's lock."""
    resolved = resolve(config, plan.inputs, progress=progress, reporter=reporter)
    stamps = {d.key: _stamp(d, resolved) for d in plan.datasets}
    results = {
        d.key: result
        for d in plan.datasets
        if not force and (result := _skipped(d, stamps[d.key], reporter)) is not None
    }
    todo = plan.narrowed(d.key for d in plan.datasets if d.key not in results)
    if todo.datasets:
        results |= _build_datasets(config, todo, resolved, stamps, reporter)
    return [results[d.key] for d in plan.datasets]


BACKGROUND_THREAD = "iod-msoa background read"


def in_background(work: Callable[..., T], *args: object) -> Future[T]:
    """``work(*args)`` in a daemon thread: a build whose tables fail meanwhile exits at once,
    instead of waiting seconds for polygons nobody will use (an executor's threads are joined
    when the interpreter exits)."""
    future: Future[T] = Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(work(*args))
            except BaseException as exc:  # handed to whoever waits for the result
                future.set_exception(exc)

    threading.Thread(target=run, name=BACKGROUND_THREAD, daemon=True).start()
    return future


def _build_datasets(
    config: Config,
    plan: Plan,
    resolved: dict[str, ResolvedInput],
    stamps: dict[str, _Stamp],
    reporter: Reporter,
) -> dict[str, BuildResult]:
    """Read what the ``plan``'s datasets need, once, and build each."""
    wanted = {n: r for n, r in resolved.items() if n in plan.inputs}
    # Each polygon input is read (LSOAs also made a clean coverage) in the background
    # while pandas works; a geography waits only for the shapes it needs.
    shapes = {
        n: in_background(read, wanted[n], config.cache_dir)
        for n, read in _SHAPE_READERS.items()
        if n in wanted
    }
    inputs = read_tables(wanted, reporter, plan.reading, plan.edition, shapes.get(LSOA_SHAPES))
    shapes[plan.datasets[0].shapes].result()
    reporter.step("Read boundaries")
    return {
        d.key: _build_one(config, d, inputs, shapes, stamps[d.key], reporter) for d in plan.datasets
    }


def _build_one(
    config: Config,
    dataset: DatasetPlan,
    inputs: Inputs,
    shapes: dict[str, Future[gpd.GeoSeries]],
    stamp: _Stamp,
    reporter: Reporter,
) -> BuildResult:
    """Aggregate one dataset, check it, and write its files into its folder at once."""
    g, folder = dataset.geography, dataset.folder
    lsoa, of = pieces_of(g, inputs) if g.through else (inputs.lsoa, members(g, inputs))
    table = area_table(g, lsoa, of, getattr(inputs, g.names) if g.names else None)
    given = inputs.resolved[dataset.members]
    check_area_count(g, table, f"{given.title} ({given.path})", dataset.crosswalk)
    reporter.step(f"Aggregated {len(inputs.lsoa):,} LSOAs to {len(table):,} {g.nouns}")
    if dataset.within:
        table = with_ranks_within(
            table, parents(g, of, inputs, table, dataset.within), dataset.within
        )
    geometry = _geometry(g, shapes, of, table, inputs.crosswalk)
    when = (stamp.created, stamp.created_from)
    provenance = _provenance(g, stamp.inputs, when, stamp.fingerprint, len(table), config)
    made_from = {n: r.sha256 for n, r in stamp.inputs.items()}
    earlier = earlier_validation(folder, made_from, version())
    with staged_output(folder) as staging:
        write_dataset(
            staging,
            Dataset(g, table, geometry, provenance),
            step=lambda s: reporter.step(f"{g.key}: writing {s}"),
        )
        written = len(output_files(g.dataset))
        if g.members == AREAS and inputs.layer is not None:
            written += _write_fit(staging, g, inputs, shapes, reporter)
        _keep_validation(earlier, folder, staging)
    _settle_validation(earlier, folder, g, reporter)
    if (legacy := legacy_provenance(folder)) is not None:
        legacy.unlink()
        reporter.step(
            f"{g.key}: removed {legacy.name}, now {output_files(g.dataset)['provenance']}"
        )
    reporter.step(f"{g.key}: wrote {written} files to {folder}")
    return BuildResult(folder, table, provenance, seconds=reporter.elapsed(), geography=g)


def parents(
    geography: Geography, of: pd.DataFrame, inputs: Inputs, table: pd.DataFrame, within: str
) -> pd.Series:
    """Each row of ``table``'s parent code in ``within`` (LADs from File 7 itself), from its
    LSOAs ``of``: an area whose LSOAs lie in two parents is an error naming it."""
    column = f"{within}cd"
    lsoa_parents = inputs.lsoa if within == FILE7_PARENT else inputs.geographies
    placed = of.loc[is_in(of["lsoa21cd"], inputs.lsoa["lsoa21cd"]), ["lsoa21cd", geography.code]]
    found = parents_of(placed.rename(columns={geography.code: AREA_CODE}), lsoa_parents, column)
    return found.reindex(table[geography.code].to_numpy())


def package_files(dataset: str) -> list[str]:
    """Every file a build may write into a dataset's folder (or remove from it)."""
    return [*output_files(dataset).values(), *fit_files(dataset).values(), VALIDATION_FILE]


def fit_files(dataset: str) -> dict[str, str]:
    """The fit report's files in a package of a user's polygons: key -> file name."""
    return {"fit": f"{dataset}_fit.csv", "straddling": f"{dataset}_straddling.csv"}


def _write_fit(
    staging: Path,
    geography: Geography,
    inputs: Inputs,
    shapes: dict[str, Future[gpd.GeoSeries]],
    reporter: Reporter,
) -> int:
    """Write how well the LSOAs fit a user's polygons (per area, and the straddling LSOAs)
    into the package, described in its datapackage.json: a user must see the fit. Returns
    the number of files written."""
    population = inputs.lsoa.set_index("lsoa21cd")["pop_total"]
    per_area, straddling = fit_report(
        inputs.layer, inputs.areas, shapes[LSOA_SHAPES].result(), population
    )
    files = fit_files(geography.dataset)
    about = fit_resources(geography)
    for key, frame in (("fit", per_area), ("straddling", straddling)):
        frame.to_csv(staging / files[key], index=False, float_format="%.6f", lineterminator="\n")
        register_file(staging, files[key], about[key])
    by_shape = int(per_area["n_by_shape"].sum())
    reporter.step(
        f"{len(per_area):,} areas, {len(inputs.areas):,} LSOAs placed ({by_shape:,} by their "
        f"shape: centroid within {EDGE_M:g} m of a shared edge, or offshore), "
        f"{len(straddling):,} straddle a boundary (see {files['fit']})"
    )
    return len(files)


def build(
    config: Config | None = None,
    out_dir: Path | str | None = None,
    *,
    progress: bool = True,
    force: bool = False,
    geography: str = DEFAULT_GEOGRAPHY,
) -> BuildResult:
    """Build one geography's dataset (MSOAs by default) into ``out_dir``.

    Skipped when it is current, unless ``force``. An unknown name is a ``ConfigError``
    listing the choices, as on the command line; several geographies are ``build_many``'s.
    """
    if geography not in GEOGRAPHIES:
        select([geography])  # raises, naming the choices
        raise ConfigError(f"build makes one geography; for {geography!r} use build_many")
    return build_many(config, [GEOGRAPHIES[geography]], out_dir, progress=progress, force=force)[0]


def build_areas(
    table_or_layer: Path | str | pd.DataFrame,
    name: str | None = None,
    *,
    config: Config | None = None,
    out_dir: Path | str | None = None,
    within: str | None = None,
    progress: bool = True,
    force: bool = False,
) -> BuildResult:
    """Build a user's own areas into ``data/packages/iod25_<name>/`` (or ``out_dir``).

    ``table_or_layer``: a grouping table (CSV, xlsx, Parquet: ``lsoa21cd, area_code,
    area_name``) or polygon layer (GeoPackage, GeoJSON, zipped shapefile: ``area_code,
    area_name``) as a path, or the same as a DataFrame or GeoDataFrame, which is saved
    as ``<name>.parquet`` or ``<name>.geojson`` in the download folder first, so the build
    records and fingerprints a file as for any input. ``name`` defaults to the file's name.
    ``within`` also ranks each area among its parent's (``"lad24"``, ...), as
    ``iod-msoa build --areas PATH --within P`` does.
    """
    config = config or load_config()
    if isinstance(table_or_layer, pd.DataFrame):
        if name is None:
            raise ConfigError("build_areas: name your areas (name=...) when given a DataFrame")
        own_areas(name, layer=False)  # a bad name is refused before anything is written
        path = _saved(table_or_layer, name, config.cache_dir)
    else:
        path = Path(table_or_layer)
    geography = own_areas(name or area_name_from(str(path)), layer=is_layer(path))
    return build_many(
        config.with_overrides(inputs={AREAS: path}),
        [geography],
        out_dir,
        progress=progress,
        force=force,
        within=within or "",
    )[0]


def _saved(frame: pd.DataFrame, name: str, cache_dir: Path) -> Path:
    """A user's areas given as a (Geo)DataFrame, written where the build reads inputs. A
    file with the same bytes is left as it is (its time too, which the build records), so
    a build from the same frame is current the second time."""
    folder = Path(cache_dir) / "own_areas"
    folder.mkdir(parents=True, exist_ok=True)
    geo = isinstance(frame, gpd.GeoDataFrame)
    path = folder / f"{name}.{'geojson' if geo else 'parquet'}"
    fresh = folder / f".{path.name}.new"
    fresh.unlink(missing_ok=True)  # GDAL's GeoJSON driver will not overwrite
    if geo:
        frame.to_file(fresh, driver="GeoJSON", engine="pyogrio")
    else:
        frame.astype("string").to_parquet(fresh, index=False)
    if path.is_file() and filecmp.cmp(fresh, path, shallow=False):
        fresh.unlink()
    else:
        fresh.replace(path)
    return path

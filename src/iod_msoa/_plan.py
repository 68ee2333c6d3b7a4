"""The build plan: which inputs each dataset reads, where it goes and what is checked.

One pure function, :func:`make_plan`, turns the inputs given locally and the requested
geographies into a frozen :class:`Plan`; ``build``, ``validate`` and the site read it and
never decide again. It reads no file and fetches nothing, so every case is a unit test.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ._editions import DEFAULT_EDITION, edition_of
from ._errors import ConfigError
from ._geographies import (
    AREAS,
    DEFAULT_GEOGRAPHY,
    GEOGRAPHIES,
    ONS_LOOKUPS,
    PARENTS,
    Geography,
    geographies_of,
    nesting_partners,
    select,
)

BUILT_EDITIONS = (2019, 2025)  # editions the plan builds (each with its own geographies)
EDITION = DEFAULT_EDITION
PACKAGES = Path("data", "packages")  # below the project root, when no folder is given
TABLE = "geographies"  # the local LSOA geographies table (no download address)
CENTROIDS = "lsoa_centroids"  # place LSOAs in a user's polygons (ONS's best-fit rule)
FILE7_PARENT = "lad24"  # a parent File 7 gives each LSOA itself


def members_input(geography: Geography, local: Iterable[str]) -> str:
    """The input placing the geography's LSOAs when ``local`` inputs are given locally: the
    ONS lookup its columns are assembled from (if it has one) when that lookup is given, or
    when no local geographies table is; else the table. A lookup given locally wins over the
    table for the geographies it provides."""
    local = set(local)
    lookup = geography.ons_lookup
    if geography.members == TABLE and lookup and (lookup in local or TABLE not in local):
        return lookup
    return geography.members


@dataclass(frozen=True)
class DatasetPlan:
    """One dataset: its geography, folder, the input placing its LSOAs and its own inputs
    (all its fingerprint and provenance cover), File 7 (``file7``, its edition's) first;
    ``also``: tables read besides those two (an earlier edition's lookups to 2021 areas);
    ``within``: the parent geography its areas are also ranked within ('' for none)."""

    geography: Geography
    folder: Path
    members: str
    inputs: tuple[str, ...]
    file7: str = "file7"
    also: tuple[str, ...] = ()
    within: str = ""

    @property
    def key(self) -> str:
        return self.geography.key

    @property
    def shapes(self) -> str:
        """The polygon input: the areas' own boundaries, or LSOAs to unite."""
        return self.geography.shapes

    @property
    def crosswalk(self) -> str:
        """The crosswalk the members input goes through ('' if none), for error messages."""
        lookup = ONS_LOOKUPS.get(self.members)
        return lookup.crosswalk if lookup else ""

    @property
    def validation(self) -> tuple[str, ...]:
        """The inputs a comparison with MHCLG's summary reads (none without a summary)."""
        if not self.geography.summaries:
            return ()
        return tuple(
            dict.fromkeys((self.file7, self.members, *self.also, self.geography.summaries))
        )


@dataclass(frozen=True)
class Reading:
    """How the LSOA geographies table is put together for the datasets built.

    ``from_table``: geographies whose columns come from the local table; ``lookups``: ONS
    lookups assembled (the members of some datasets, or given to check nesting);
    ``partners``: geographies whose codes are read from the local table only to check how
    the ``nesting`` ones (built, of the table's kind) lie within them.
    """

    from_table: tuple[Geography, ...] = ()
    lookups: tuple[str, ...] = ()
    partners: tuple[Geography, ...] = ()
    nesting: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Every dataset of one request, the inputs read only to check nesting (``checks``),
    and the union of inputs to resolve (``inputs``, in the order they are reported)."""

    datasets: tuple[DatasetPlan, ...]
    checks: tuple[str, ...]
    inputs: tuple[str, ...]
    reading: Reading
    local: frozenset[str]
    edition: int = EDITION

    @property
    def geographies(self) -> list[Geography]:
        return [d.geography for d in self.datasets]

    @property
    def table_inputs(self) -> tuple[str, ...]:
        """What reading the tables takes: File 7, each dataset's members input, the checks."""
        wanted = [n for d in self.datasets for n in (d.file7, d.members, *d.also)]
        return tuple(dict.fromkeys([*wanted, *self.checks]))

    @property
    def validation_inputs(self) -> tuple[str, ...]:
        """What ``validate`` resolves: each dataset's comparison inputs, then the checks."""
        wanted = [n for d in self.datasets for n in d.validation]
        return tuple(dict.fromkeys([*wanted, *self.checks]))

    def narrowed(self, keys: Iterable[str]) -> Plan:
        """The plan for only the datasets of ``keys`` (the others are current): folders
        kept, inputs in this plan's order."""
        keys = set(keys)
        datasets = tuple(d for d in self.datasets if d.key in keys)
        return _planned(datasets, self.local, self.edition, order=self.inputs)


def chosen(
    geographies: str | Geography | Iterable[str | Geography], edition: int = EDITION
) -> list[Geography]:
    """Geographies of the ``edition`` given as names (``all`` = every one),
    :class:`Geography` objects or a mix, once each: an unknown name or another kind of
    value is a ``ConfigError``."""
    given = [geographies] if isinstance(geographies, str | Geography) else list(geographies)
    names = ", ".join(geographies_of(edition))
    picked: list[Geography] = []
    for item in given:
        if isinstance(item, Geography):
            picked.append(item)
        elif isinstance(item, str):
            picked += select(item, edition=edition)
        else:
            raise ConfigError(f"a geography is a name ({names} or all), not {item!r}")
    if not picked:
        raise ConfigError(f"no geography given: name one of {names} or all")
    return list(dict.fromkeys(picked))


def folders(
    geographies: Sequence[Geography], out_dir: Path | str | None, packages: Path = PACKAGES
) -> list[Path]:
    """Where each geography goes: ``out_dir`` for one, ``out_dir/<dataset>`` for several,
    ``packages/<dataset>`` when no folder is given."""
    if out_dir is None:
        return [packages / g.dataset for g in geographies]
    if isinstance(out_dir, str) and not out_dir.strip():  # Path("") would be the current folder
        raise ConfigError("the output folder must not be empty; give a path, or None")
    if len(geographies) == 1:
        return [Path(out_dir)]
    return [Path(out_dir) / g.dataset for g in geographies]


def make_plan(
    local: Iterable[str],
    geographies: Sequence[Geography],
    out_dir: Path | str | None = None,
    *,
    packages: Path = PACKAGES,
    edition: int = EDITION,
    within: str = "",
) -> Plan:
    """The plan for building ``geographies`` when the ``local`` inputs (names) are given
    locally (the others are fetched), into ``out_dir`` (see :func:`folders`), each also
    ranked ``within`` a parent geography if one is named."""
    if edition not in BUILT_EDITIONS:
        raise ConfigError(
            f"edition {edition!r} is not built by this version: choose "
            + ", ".join(map(str, BUILT_EDITIONS))
        )
    if other := [g.key for g in geographies if g.edition != edition]:
        raise ConfigError(
            f"{', '.join(other)}: not a geography of the {edition} edition; choose from "
            + ", ".join(geographies_of(edition))
        )
    if within and within not in PARENTS:
        raise ConfigError(f"--within {within!r}: choose one of {', '.join(PARENTS)}")
    local = frozenset(local)
    datasets = tuple(
        _dataset(g, folder, local, edition, within)
        for g, folder in zip(geographies, folders(geographies, out_dir, packages), strict=True)
    )
    return _planned(datasets, local, edition)


def _dataset(
    geography: Geography, folder: Path, local: frozenset[str], edition: int, within: str = ""
) -> DatasetPlan:
    """One dataset's inputs: its edition's File 7, members, names, shapes; an earlier
        edition's areas reached through a 2021 lookup read it too (and the populations sharing
    its split LSOAs), and areas drawn from 2021
        LSOA polygons read the edition's LSOA crosswalk to place them; a user's polygons read
        the LSOA centroids, and a ``within`` parent the input placing LSOAs in it."""
    ed = edition_of(edition)
    file7, crosswalk = ed.file7_input, ed.lsoa_crosswalk
    members = members_input(geography, local)
    drawn = crosswalk if geography.shapes == "lsoa_boundaries" else ""
    split = ed.split_populations if geography.through else ""  # pieces of split LSOAs
    also = tuple(dict.fromkeys(n for n in (geography.through, split, drawn) if n and n != members))
    centroids = CENTROIDS if members == AREAS and geography.best_fit else ""
    parent = parent_input(within, local)
    wanted = (file7, members, *also, geography.names, geography.shapes, centroids, parent)
    inputs = tuple(dict.fromkeys(n for n in wanted if n))
    return DatasetPlan(geography, folder, members, inputs, file7, also, within)


def parent_input(within: str, local: Iterable[str]) -> str:
    """The input placing LSOAs in the ``within`` parent ('' for none, or File 7's LAD)."""
    if not within or within == FILE7_PARENT:
        return ""
    return members_input(GEOGRAPHIES[within], local)


def _planned(
    datasets: tuple[DatasetPlan, ...],
    local: frozenset[str],
    edition: int,
    order: Sequence[str] = (),
) -> Plan:
    """The plan of ``datasets``: nesting checks, inputs (in ``order`` if given) and reading."""
    nesting = [d.geography for d in datasets if d.geography.members == TABLE]
    partners = _partners(nesting, local)
    checks = tuple(dict.fromkeys(partners.values()))
    inputs = _inputs(datasets, checks, order)
    parents = [GEOGRAPHIES[d.within] for d in datasets if parent_input(d.within, local) == TABLE]
    from_table = [d.geography for d in datasets if d.members == TABLE]
    reading = Reading(
        from_table=tuple(dict.fromkeys([*from_table, *parents])),
        lookups=tuple(n for n in inputs if n in ONS_LOOKUPS),
        partners=tuple(p for p, n in partners.items() if n == TABLE),
        nesting=tuple(g.key for g in nesting),
    )
    return Plan(datasets, checks, inputs, reading, local, edition)


def _partners(nesting: list[Geography], local: frozenset[str]) -> dict[Geography, str]:
    """The geographies the ``nesting`` ones lie within (or that lie within them), each with
    the input given locally that checks it; one not given locally is not fetched, and its
    check skipped."""
    return {p: n for p in nesting_partners(nesting) if (n := members_input(p, local)) in local}


def _inputs(
    datasets: tuple[DatasetPlan, ...], checks: tuple[str, ...], order: Sequence[str]
) -> tuple[str, ...]:
    """Every input to resolve, once: the datasets' own, then the checks' (or in ``order``)."""
    inputs = dict.fromkeys([*(n for d in datasets for n in d.inputs), *checks])
    return tuple(n for n in order if n in inputs) if order else tuple(inputs)


# The change since an earlier edition: MSOAs (2021) placed in both, one package of its own,
# from the earlier edition's File 7 and ONS's LSOA 2011 -> 2021 lookup besides 2025's inputs.
EARLIER = 2019
FILE7_2019, CROSSWALK = "file7_2019", "lsoa11_lsoa21"
CHANGE = replace(
    GEOGRAPHIES[DEFAULT_GEOGRAPHY],
    dataset="iod25_msoa_change",
    title="MSOAs (2021): rank and decile in IoD2019 and IoD2025",
)


def change_plan(
    local: Iterable[str], out_dir: Path | str | None = None, *, packages: Path = PACKAGES
) -> DatasetPlan:
    """The change package's dataset: the MSOA dataset's inputs (File 7 2025 first) and the
    earlier edition's File 7 and LSOA 2011 -> 2021 lookup, into ``out_dir`` (default
    ``packages/iod25_msoa_change``)."""
    msoa = _dataset(CHANGE, folders([CHANGE], out_dir, packages)[0], frozenset(local), EDITION)
    return replace(msoa, inputs=(*msoa.inputs, FILE7_2019, CROSSWALK))

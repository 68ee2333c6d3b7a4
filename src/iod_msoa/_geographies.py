"""The areas we build from LSOAs (``data/geographies.toml``): what each one is.

Every geography goes through the same engine (:func:`iod_msoa.aggregate`); this module only
says what each one is and where its members come from (``_shapes`` draws them).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePath
from typing import Any

import pandas as pd

from ._editions import DEFAULT_EDITION
from ._errors import ConfigError
from ._manifest import INPUT_NAMES
from ._problems import Problem, entry_problems, fail

GEOGRAPHIES_TABLE = "data/geographies.toml"
_TABLE_KEYS = ("best_fit_note", "geographies", "ons_lookups", "crosswalks")


def geographies_problems(table: Mapping[str, Any], inputs: Collection[str]) -> list[Problem]:
    """What is wrong with a geography table: missing keys or fields, and names it refers to
    that do not exist (``inputs`` of the source manifest, geography keys, lookups,
    crosswalks)."""
    problems = [Problem(f"lacks {key}") for key in _TABLE_KEYS if key not in table]
    if problems := problems + _fields_problems(table):
        return problems
    keys = [g["key"] for g in table["geographies"]]
    problems = [
        Problem(f"geography {k!r} is given twice") for k in dict.fromkeys(keys) if keys.count(k) > 1
    ]
    for g in table["geographies"]:
        problems += _geography_refs(g, set(inputs), set(keys), table["ons_lookups"])
    for name, spec in table["ons_lookups"].items():
        problems += _lookup_refs(name, spec, inputs, table["crosswalks"])
    return problems


def _fields_problems(table: Mapping[str, Any]) -> list[Problem]:
    """Fields each entry lacks or does not know, named by its table and key."""
    entries = [
        *(
            (Geography, g, f"[[geographies]] {g.get('key', i + 1)}")
            for i, g in enumerate(table.get("geographies", []))
        ),
        *(
            (OnsLookup, spec, f"[ons_lookups.{name}]")
            for name, spec in table.get("ons_lookups", {}).items()
        ),
        *(
            (Crosswalk, spec, f"[crosswalks.{name}]")
            for name, spec in table.get("crosswalks", {}).items()
        ),
    ]
    return [p for kind, entry, where in entries for p in entry_problems(kind, entry, where)]


def _lookup_refs(
    name: str, spec: Mapping[str, Any], inputs: Collection[str], crosswalks: Mapping[str, Any]
) -> list[Problem]:
    """An ONS lookup is an input of the manifest, mapped through a crosswalk that exists."""
    problems = []
    if name not in inputs:
        problems.append(Problem(f"[ons_lookups.{name}] is not an input of the source manifest"))
    if spec.get("crosswalk") and spec["crosswalk"] not in crosswalks:
        problems.append(
            Problem(
                f"[ons_lookups.{name}] crosswalk {spec['crosswalk']!r} is not among [crosswalks]"
            )
        )
    return problems


def _geography_refs(
    g: Mapping[str, Any], inputs: set[str], keys: set[str], lookups: Mapping[str, Any]
) -> list[Problem]:
    """The names one geography refers to: inputs, geographies it lies within, its lookup."""
    where = f"[[geographies]] {g['key']}"
    named = {f: g.get(f, "") for f in ("members", "through", "shapes", "names", "summaries")}
    problems = [
        Problem(f"{where}: {f} {v!r} is not an input of the source manifest")
        for f, v in named.items()
        if v and v not in inputs
    ]
    problems += [
        Problem(f"{where}: within {k!r} is not a geography")
        for k in g.get("within", ())
        if k not in keys
    ]
    if g.get("ons_lookup") and g["ons_lookup"] not in lookups:
        problems.append(
            Problem(f"{where}: ons_lookup {g['ons_lookup']!r} is not among [ons_lookups]")
        )
    return problems


def load_geographies(
    table: Mapping[str, Any], inputs: Collection[str] = INPUT_NAMES
) -> Mapping[str, Any]:
    """The geography table, checked: a bad table is one error naming the entries to fix."""
    fail(GEOGRAPHIES_TABLE, geographies_problems(table, inputs), ConfigError, every=True)
    return table


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
    edition: int = DEFAULT_EDITION
    through: str = ""

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
    def covers_england(self) -> bool:
        """Whether every LSOA of England is in one of its areas (a user's need not be)."""
        return True

    @property
    def carries_lad(self) -> bool:
        """Whether outputs list the containing LAD (areas nest in LADs and are not LADs)."""
        return self.nests_in_lad and self.key != "lad24"

    @property
    def inputs(self) -> tuple[str, ...]:
        """The inputs of this geography with a local geographies table, File 7 first (what
        a build reads, given what is local, is the plan's: ``_plan.make_plan``)."""
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


_TABLE = load_geographies(
    tomllib.loads(
        resources.files("iod_msoa").joinpath(GEOGRAPHIES_TABLE).read_text(encoding="utf-8")
    )
)
BEST_FIT_NOTE: str = " ".join(_TABLE["best_fit_note"].split())
ONS_LOOKUPS: dict[str, OnsLookup] = {
    name: OnsLookup(**spec) for name, spec in _TABLE["ons_lookups"].items()
}
CROSSWALKS: dict[str, Crosswalk] = {
    name: Crosswalk(**spec) for name, spec in _TABLE["crosswalks"].items()
}
GEOGRAPHIES: dict[str, Geography] = {g["key"]: Geography(**g) for g in _TABLE["geographies"]}
VALIDATED: tuple[str, ...] = tuple(k for k, g in GEOGRAPHIES.items() if g.summaries)
# Earlier editions' geographies (``data/geographies<year>.toml``), checked as the table is.
_EARLIER = {
    2019: load_geographies(
        {
            "best_fit_note": "",
            "ons_lookups": {},
            "crosswalks": {},
            **tomllib.loads(
                resources.files("iod_msoa")
                .joinpath("data/geographies2019.toml")
                .read_text(encoding="utf-8")
            ),
        }
    )
}
EDITION_GEOGRAPHIES: dict[int, dict[str, Geography]] = {
    DEFAULT_EDITION: GEOGRAPHIES,
    **{
        year: {g["key"]: Geography(**g) for g in table["geographies"]}
        for year, table in _EARLIER.items()
    },
}


def geographies_of(edition: int) -> dict[str, Geography]:
    """The geographies an edition is built for, by key."""
    return EDITION_GEOGRAPHIES[edition]


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


def select(
    names: Iterable[str] | None,
    *,
    among: Iterable[str] | None = None,
    edition: int = DEFAULT_EDITION,
) -> list[Geography]:
    """The geographies named (``all`` = every one ``among`` the allowed keys of the
    ``edition``), in table order."""
    table = geographies_of(edition)
    allowed = list(among) if among is not None else list(table)
    names = [names] if isinstance(names, str) else list(names or [DEFAULT_GEOGRAPHY])
    wanted = allowed if ALL in names else names
    unknown = [n for n in wanted if n not in allowed]
    if unknown:
        raise ConfigError(
            f"unknown geography {', '.join(map(repr, unknown))}: choose from "
            f"{', '.join(allowed)} or {ALL}"
        )
    return [table[k] for k in allowed if k in wanted]


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


CHANGE_DATASET = "iod25_msoa_change"  # the change since 2019's package (``iod-msoa change``)
AREAS = "areas"  # the input holding a user's own areas (a grouping table or a polygon layer)
PARENTS = ("lad24", "utla24", "icb24", "rgn24")  # what areas can be ranked within
LAD = "lad24"  # the districts areas ``nests_in_lad`` lie in, and ``whole_lads`` are made of


def nests_in(geography: Geography, parent: str) -> bool:
    """Whether each area of ``geography`` lies in one area of ``parent``, as geographies.toml
    declares it: its own ``within`` (and theirs), a district for ``nests_in_lad``, and any
    geography made of whole districts for those that lie in one. Ranks within a parent
    need it; a user's areas are only known to nest once read."""
    if geography.key == parent or parent in geography.within:
        return True
    if parent == LAD:
        return geography.nests_in_lad
    if GEOGRAPHIES[parent].whole_lads and nests_in(geography, LAD):
        return True
    return any(nests_in(GEOGRAPHIES[w], parent) for w in geography.within)


def parents_for(geography: Geography) -> list[str]:
    """The ``PARENTS`` ``geography``'s areas can be ranked within."""
    return [p for p in PARENTS if nests_in(geography, p)]


@dataclass(frozen=True)
class OwnAreas(Geography):
    """A user's own areas: keyed ``area_code``, ``area_name`` as the user gave them, over
    the LSOAs placed in one (the others are in no area)."""

    @property
    def code(self) -> str:
        return "area_code"

    @property
    def name(self) -> str:
        return "area_name"

    @property
    def covers_england(self) -> bool:
        return False


def own_areas(name: str, *, layer: bool) -> Geography:
    """The geography of a user's areas called ``name`` (their dataset ``iod25_<name>``),
    placed by a grouping table or, best fit, by a polygon ``layer``. A name that is a
    built-in geography's, or makes its dataset's name, is refused: its package would be
    taken for that one."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", name):
        raise ConfigError(
            f"--areas-name {name!r}: use lower-case letters, digits and _ (it names the "
            f"folder iod25_<name>)"
        )
    taken = {g.dataset: g.key for g in GEOGRAPHIES.values()}
    clash = name if name in GEOGRAPHIES else taken.get(f"iod25_{name}")
    if clash:
        raise ConfigError(
            f"--areas-name {name!r} would name the built-in {clash} geography's package "
            f"({GEOGRAPHIES[clash].dataset}): choose another"
        )
    if f"iod25_{name}" == CHANGE_DATASET:
        raise ConfigError(
            f"--areas-name {name!r} would name the package of `iod-msoa change` "
            f"({CHANGE_DATASET}): choose another"
        )
    return OwnAreas(
        key=name,
        made_from="polygons (best fit)" if layer else "a grouping of LSOAs",
        label="Area",
        noun="area",
        nouns=f"{name} areas",
        title=f"your own areas ({name})",
        areas=0,
        fit="best fit" if layer else "exact",
        nests_in_lad=False,
        code_pattern="",
        members=AREAS,
        shapes="lsoa_boundaries",
    )


def area_name_from(path: str) -> str:
    """The default name of a user's areas: the file's name, lower-case, runs of anything
    but letters and digits made one _."""
    stem = PurePath(path).stem.lower()
    return re.sub(r"[^a-z0-9]+", "_", stem).strip("_") or "areas"

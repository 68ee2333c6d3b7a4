"""Editions of the Indices as data: which File 7 headers, populations and File 10 names
belong to IoD2019 and which to IoD2025, and which edition a File 7 header is.

The metric vocabulary (labels, kinds, units) is shared; an edition only says how its own
files spell it (``data/schema.toml`` for 2025, ``data/schema2019.toml`` for 2019). Pure:
this module reads two package tables and never a user's file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from ._errors import SchemaError
from ._vocab import METRIC_BY_SHORT, Denominator, Metric, PublishedMeasure

DEFAULT_EDITION = 2025


@dataclass(frozen=True)
class EditionMetric:
    """One metric's File 7 headers in an edition, and the population that weights it."""

    short: str
    score: str
    rank: str
    decile: str
    denominator: str


@dataclass(frozen=True)
class EditionPublished:
    """How an edition's File 10 names and rounds one summary measure (as in schema.toml)."""

    measure: str
    ours: str
    column: str
    decimals: int
    only: str = ""
    note: str = ""


@dataclass(frozen=True)
class Edition:
    """Everything that differs between IoD releases; the engine takes it and never branches."""

    year: int
    title: str
    dataset_prefix: str
    population_year: str
    lsoa_key: str
    lad_key: str
    lad_areas: int
    columns: int
    summary_ranks: str
    file7_input: str
    lsoa_crosswalk: str
    split_populations: str
    expected_lsoas: int
    lsoa_code_pattern: str
    lad_code_pattern: str
    identifiers: dict[str, str]
    denominators: tuple[Denominator, ...]
    metrics: tuple[EditionMetric, ...]
    published_measures: tuple[EditionPublished, ...]

    @property
    def file7_columns(self) -> dict[str, str]:
        """Official File 7 header -> our column name, for every column we use."""
        cols = {official: ours for ours, official in self.identifiers.items()}
        for m in self.metrics:
            cols |= {m.score: f"{m.short}_score", m.rank: f"{m.short}_rank"}
            cols[m.decile] = f"{m.short}_decile"
        return cols | {d.column: d.short for d in self.denominators}

    @property
    def distinctive(self) -> tuple[str, ...]:
        """The identifier and population headers: they name the LSOA, LAD and population
        vintage, so no other edition's File 7 has them all."""
        return (*self.identifiers.values(), *(d.column for d in self.denominators))

    @property
    def engine_metrics(self) -> tuple[Metric, ...]:
        """The shared metric vocabulary with this edition's File 7 headers and weights: what
        the readers check and the engine aggregates."""
        return tuple(
            replace(
                METRIC_BY_SHORT[m.short],
                score=m.score,
                rank=m.rank,
                decile=m.decile,
                denominator=m.denominator,
            )
            for m in self.metrics
        )

    @property
    def engine_denominators(self) -> tuple[Denominator, ...]:
        return tuple(
            Denominator(d.short, d.column, d.label, d.whole, d.within_total)
            for d in self.denominators
        )

    @property
    def vocab_published(self) -> tuple[PublishedMeasure, ...]:
        """The edition's File 10 measures as the comparison reads them."""
        return tuple(PublishedMeasure(**vars(p)) for p in self.published_measures)

    @property
    def lad_name(self) -> str:
        """The LAD name column of File 7 (``lad19nm``)."""
        return self.lad_key.removesuffix("cd") + "nm"

    def dataset(self, geography: str) -> str:
        """Output folder name of one geography (``iod19_msoa21``)."""
        return f"{self.dataset_prefix}_{geography}"


def _table(name: str) -> dict[str, Any]:
    text = resources.files("iod_msoa").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return tomllib.loads(text)


_METRIC_FIELDS = ("short", "score", "rank", "decile", "denominator")


def _edition(table: dict[str, Any], about: dict[str, Any]) -> Edition:
    """An edition from a schema table (File 7 part) and its ``[edition]`` facts."""
    return Edition(
        **about,
        expected_lsoas=table["expected_lsoas"],
        lsoa_code_pattern=table["lsoa_code_pattern"],
        lad_code_pattern=table["lad_code_pattern"],
        identifiers=dict(table["identifiers"]),
        denominators=tuple(Denominator(**d) for d in table["denominators"]),
        metrics=tuple(EditionMetric(**{k: m[k] for k in _METRIC_FIELDS}) for m in table["metrics"]),
        published_measures=tuple(EditionPublished(**p) for p in table["published_measures"]),
    )


# 2025's facts that schema.toml (older than editions) does not state itself.
_FACTS_2025 = {
    "year": 2025,
    "title": "English Indices of Deprivation 2025",
    "dataset_prefix": "iod25",
    "population_year": "mid-2022",
    "lsoa_key": "lsoa21cd",
    "lad_key": "lad24cd",
    "lad_areas": 296,
    "columns": 56,
    # As for 2019: File 10 (2019) averages the mean rank of each tie group, measured on all
    # 317 districts; File 7 (2025) has ties too (income 6 LSOAs, IDACI 72, IDAOPI 70, ...) and
    # no official 2025 district holds one, so the same publisher's rule is taken.
    "summary_ranks": "mean",
    "file7_input": "file7",
    "lsoa_crosswalk": "",
    "split_populations": "",
}


def _load() -> dict[int, Edition]:
    later = _edition(_table("schema.toml"), _FACTS_2025)
    table2019 = _table("schema2019.toml")
    earlier = _edition(table2019, table2019["edition"])
    _check_same_metrics(earlier, later)
    return {e.year: e for e in (earlier, later)}


def _check_same_metrics(*editions: Edition) -> None:
    """Every edition spells the same metrics: a short name missing in one would give a
    table whose columns differ by edition without anyone deciding so."""
    shorts = {e.year: [m.short for m in e.metrics] for e in editions}
    first = next(iter(shorts.values()))
    differing = [str(year) for year, names in shorts.items() if names != first]
    if differing:
        raise SchemaError(f"edition tables list different metrics: {', '.join(differing)}")


EDITIONS: dict[int, Edition] = _load()
# Differences from MHCLG's summaries that remain, and why, per edition (what the
# validation prints under its table): (measures, explanation).
DIFFERENCES: dict[int, tuple[tuple[str, str], ...]] = {
    2019: tuple((d["measures"], d["text"]) for d in _table("schema2019.toml")["differences"]),
    2025: (),
}
_CHANGE = _table("schema2019.toml")["change"]
CHANGE_METRICS: tuple[str, ...] = tuple(_CHANGE["metrics"])
CHANGE_BY_SCORE: tuple[str, ...] = tuple(_CHANGE["by_score"])


def edition_of(year: int) -> Edition:
    """The edition for ``--edition YEAR``, or an error naming those there are."""
    if year not in EDITIONS:
        known = ", ".join(str(y) for y in sorted(EDITIONS))
        raise SchemaError(f"no IoD edition {year}: choose one of {known}")
    return EDITIONS[year]


def detect_edition(header: Iterable[str]) -> int | None:
    """The edition whose identifier and population headers a File 7 header holds, if any.

    Headers are compared exactly (a trailing space included): File 7 headers are fixed by
    MHCLG, and the score, rank and decile headers are the same in both editions, so only
    the LSOA/LAD vintage and the populations tell them apart.
    """
    present = set(map(str, header))
    found = [e.year for e in EDITIONS.values() if set(e.distinctive) <= present]
    return found[0] if len(found) == 1 else None


def check_edition(header: Iterable[str], year: int, source: str) -> None:
    """Refuse, by name, a File 7 of another edition than the one asked for.

    A header of no known edition passes here: the reader then names its missing columns.
    """
    header = list(header)
    found = detect_edition(header)
    if found is None or found == year:
        return
    given, wanted = EDITIONS[found], edition_of(year)
    lsoa = given.identifiers[given.lsoa_key]
    raise SchemaError(
        f"{source}: is the {given.title} File 7 ({lsoa!r}, {given.population_year} "
        f"populations), not the {wanted.title} one; give the {wanted.year} file or build "
        f"with --edition {given.year}"
    )

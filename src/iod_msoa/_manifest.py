"""The source manifest (``data/sources.toml``): the inputs, where each comes from, whose it is.

Parsing it needs only the standard library, so the settings (``_config``) read the input
names from it without loading the downloader (``_sources``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ._errors import ConfigError
from ._problems import Problem, render

SOURCES_TABLE = "data/sources.toml"
# Each edition's own inputs; the manifest is the union, so a name is one input everywhere.
SOURCES_TABLES = (SOURCES_TABLE, "data/sources2019.toml")
KINDS = ("file", "arcgis")
ARCGIS_FORMATS = {"csv": "json", "gpkg": "geojson"}  # file written -> ArcGIS `f` asked for

_REQUIRED = frozenset({"title", "url", "filename", "licence", "attribution", "kind"})
_OPTIONAL = frozenset({"size", "sha256", "params", "min_rows"})
_ARCGIS_REQUIRED = frozenset({"format", "where", "out_fields", "order_by", "page_size"})


@dataclass(frozen=True)
class Source:
    """One manifest entry: where an input comes from, how to check it and whose it is."""

    name: str
    title: str
    url: str
    filename: str
    licence: str
    attribution: str
    kind: str
    size: int | None = None
    sha256: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    min_rows: int | None = None

    @property
    def pinned(self) -> bool:
        return self.size is not None or self.sha256 is not None


def _arcgis_problems(name: str, params: Mapping[str, Any]) -> list[Problem]:
    """An ArcGIS layer's query: every parameter, a known format, pages ordered by fields kept."""
    problems = []
    if missing := sorted(_ARCGIS_REQUIRED - params.keys()):
        problems.append(Problem(f"[{name}.params] lacks {', '.join(missing)}"))
    if params.get("format") not in ARCGIS_FORMATS:
        problems.append(Problem(f"[{name}.params] format must be one of csv, gpkg"))
    elif params["format"] == "gpkg" and "out_sr" not in params:
        problems.append(Problem(f"[{name}.params] lacks out_sr (needed for gpkg)"))
    order = [f.strip() for f in str(params.get("order_by", "")).split(",") if f.strip()]
    if "out_fields" in params and (odd := [f for f in order if f not in params["out_fields"]]):
        problems.append(Problem(f"[{name}.params] order_by {', '.join(odd)} not in out_fields"))
    return problems


def manifest_problems(tables: Mapping[str, Any]) -> list[Problem]:
    """Every problem of the manifest: keys, kinds, query parameters, and no file name given
    to two inputs (one download would overwrite the other's cached copy)."""
    problems = []
    for name, entry in tables.items():
        if missing := sorted(_REQUIRED - entry.keys()):
            problems.append(Problem(f"[{name}] lacks {', '.join(missing)}"))
        if unknown := sorted(entry.keys() - _REQUIRED - _OPTIONAL):
            problems.append(Problem(f"[{name}] has unknown keys {', '.join(unknown)}"))
        kind = entry.get("kind")
        if kind not in KINDS:
            problems.append(Problem(f"[{name}] kind {kind!r} is not one of {', '.join(KINDS)}"))
        if kind == "arcgis":
            problems += _arcgis_problems(name, entry.get("params", {}))
    owner: dict[str, str] = {}
    for name, filename in ((n, e["filename"]) for n, e in tables.items() if "filename" in e):
        if (first := owner.setdefault(filename, name)) != name:
            problems.append(Problem(f"[{name}] filename {filename!r} is [{first}]'s too"))
    return problems


def parse_manifest(tables: Mapping[str, Any]) -> dict[str, Source]:
    """Check every entry and report all problems at once, so one edit fixes the manifest."""
    if problems := manifest_problems(tables):
        raise ConfigError(render("The source manifest is invalid", problems, every=True) + ".")
    return {name: Source(name=name, **entry) for name, entry in tables.items()}


def load_manifest() -> dict[str, Source]:
    """Read the packaged manifest: the single list of inputs, URLs, pins and licences (every
    edition's tables; a name given in two is an error, not one silently winning)."""
    tables: dict[str, Any] = {}
    for name in SOURCES_TABLES:
        text = resources.files("iod_msoa").joinpath(name).read_text(encoding="utf-8")
        table = tomllib.loads(text)
        if twice := sorted(set(table) & set(tables)):
            raise ConfigError(f"{name}: input(s) {', '.join(twice)} given in another table too")
        tables |= table
    return parse_manifest(tables)


MANIFEST: dict[str, Source] = load_manifest()
INPUT_NAMES: tuple[str, ...] = tuple(MANIFEST)

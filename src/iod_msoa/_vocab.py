"""The metric vocabulary: File 7's official column names, our metric table and their labels.

Everything that knows an official header lives in ``data/schema.toml``; this module turns it
into ``METRICS`` and the constants the readers and the engine share. It is the ground floor
(standard library only), so importing the engine loads no reader, polygon or plotting code.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError
from ._problems import Problem, entry_problems, fail

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_TABLE = "data/schema.toml"
ONS_CODE_PATTERN = r"^[EW][0-9]{8}$"  # any area code of an England and Wales ONS lookup


@dataclass(frozen=True)
class Denominator:
    """A population count that weights some metrics (File 7's mid-2022 denominators);
    ``whole``: counts of people only (2019's working-age count has quarter values);
    ``within_total``: never above the total population of its LSOA."""

    short: str
    column: str
    label: str
    whole: bool = True
    within_total: bool = True


@dataclass(frozen=True)
class Metric:
    """One of the 16 indices, domains and sub-domains, with its File 7 columns."""

    short: str
    label: str
    short_label: str
    kind: str
    score: str
    rank: str
    decile: str
    denominator: str
    score_unit: str
    published: str = ""
    optional: bool = False
    extent: bool = False
    scale: bool = False


@dataclass(frozen=True)
class PublishedMeasure:
    """How MHCLG's File 10 names and rounds one summary measure.

    ``only`` limits it to metrics with that flag (``extent``) or that short name.
    """

    measure: str
    ours: str
    column: str
    decimals: int
    only: str = ""
    note: str = ""

    def applies_to(self, metric: Metric) -> bool:
        if not metric.published:
            return False
        if self.only == "extent":
            return metric.extent
        return not self.only or self.only == metric.short

    def our_column(self, metric: Metric) -> str:
        return self.ours.format(m=metric.short)

    def published_column(self, metric: Metric) -> str:
        return self.column.format(p=metric.published)


_SCALARS = (
    "expected_lsoas",
    "lsoa_code_pattern",
    "lad_code_pattern",
    "max_lsoa_population",
    "max_abs_score",
    "england_bounds",
    "identifiers",
)
_LISTS = {"denominators": Denominator, "metrics": Metric, "published_measures": PublishedMeasure}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def schema_problems(table: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with a metric table: missing keys or fields, and names it refers to
    that do not exist (a metric's denominator, a published measure's metric or template)."""
    problems = [Problem(f"lacks {key}") for key in (*_SCALARS, *_LISTS) if key not in table]
    for key, kind in _LISTS.items():
        for i, entry in enumerate(table.get(key, [])):
            problems += entry_problems(kind, entry, f"[[{key}]] {entry.get('short', i + 1)}")
    if problems:
        return problems
    denominators = [d["short"] for d in table["denominators"]]
    shorts = [m["short"] for m in table["metrics"]]
    problems += [
        Problem(f"metric {s!r} is given twice")
        for s in dict.fromkeys(shorts)
        if shorts.count(s) > 1
    ]
    problems += [
        Problem(
            f"[[metrics]] {m['short']}: denominator {m['denominator']!r} is not one of "
            f"{', '.join(denominators)}"
        )
        for m in table["metrics"]
        if m["denominator"] not in denominators
    ]
    return problems + [p for pm in table["published_measures"] for p in _measure_refs(pm, shorts)]


def _measure_refs(pm: Mapping[str, Any], shorts: list[str]) -> list[Problem]:
    """A published measure names a metric (or the ``extent`` flag) that exists, and its
    column templates use only the fields they are given."""
    where = f"[[published_measures]] {pm['measure']}"
    problems = []
    if pm.get("only", "") not in {"", "extent", *shorts}:
        problems.append(Problem(f"{where}: only {pm['only']!r} is neither extent nor a metric"))
    for field, allowed in (("ours", "m"), ("column", "p")):
        if odd := sorted(_placeholders(pm[field]) - {allowed}):
            problems.append(
                Problem(f"{where}: {field} {pm[field]!r} uses {odd}; only {{{allowed}}}")
            )
    return problems


def load_schema(table: Mapping[str, Any]) -> Mapping[str, Any]:
    """The metric table, checked: a bad table is one error naming the entries to fix."""
    fail(SCHEMA_TABLE, schema_problems(table), ConfigError, every=True)
    return table


_SCHEMA = load_schema(
    tomllib.loads(resources.files("iod_msoa").joinpath(SCHEMA_TABLE).read_text(encoding="utf-8"))
)

EXPECTED_LSOAS: int = _SCHEMA["expected_lsoas"]
LSOA_CODE_PATTERN: str = _SCHEMA["lsoa_code_pattern"]
LAD_CODE_PATTERN: str = _SCHEMA["lad_code_pattern"]
IDENTIFIERS: dict[str, str] = dict(_SCHEMA["identifiers"])
MAX_LSOA_POPULATION: int = _SCHEMA["max_lsoa_population"]
MAX_ABS_SCORE: float = _SCHEMA["max_abs_score"]
ENGLAND_BOUNDS: tuple[float, float, float, float] = tuple(_SCHEMA["england_bounds"])

DENOMINATORS: tuple[Denominator, ...] = tuple(Denominator(**d) for d in _SCHEMA["denominators"])
METRICS: tuple[Metric, ...] = tuple(Metric(**m) for m in _SCHEMA["metrics"])
PUBLISHED_MEASURES: tuple[PublishedMeasure, ...] = tuple(
    PublishedMeasure(**m) for m in _SCHEMA["published_measures"]
)
METRIC_BY_SHORT: dict[str, Metric] = {m.short: m for m in METRICS}
DENOMINATOR_SHORTS: tuple[str, ...] = tuple(d.short for d in DENOMINATORS)


def metrics_frame() -> pd.DataFrame:
    """The metric table as a DataFrame, for docs and the site's method page."""
    import pandas as pd  # only here: the vocabulary itself needs no pandas

    return pd.DataFrame([vars(m) for m in METRICS]).set_index("short")


def file7_columns() -> dict[str, str]:
    """Official File 7 header -> our column name, for every column we use."""
    cols = {official: ours for ours, official in IDENTIFIERS.items()}
    for m in METRICS:
        cols |= {
            m.score: f"{m.short}_score",
            m.rank: f"{m.short}_rank",
            m.decile: f"{m.short}_decile",
        }
    cols |= {d.column: d.short for d in DENOMINATORS}
    return cols

"""The metric vocabulary: the metric table's contract, and schema.toml checked on load."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tomllib
from importlib import resources

import pytest

from iod_msoa._errors import ConfigError
from iod_msoa._vocab import (
    DENOMINATOR_SHORTS,
    METRIC_BY_SHORT,
    METRICS,
    SCHEMA_TABLE,
    file7_columns,
    load_schema,
    metrics_frame,
)

CONTRACT_SHORTS = [
    "imd",
    "income",
    "employment",
    "education",
    "health",
    "crime",
    "barriers",
    "living_env",
    "idaci",
    "idaopi",
    "cyp",
    "adult_skills",
    "geo_barriers",
    "wider_barriers",
    "indoors",
    "outdoors",
]
SPECIAL_DENOMINATORS = {
    "employment": "pop_working_age_18_66",
    "idaci": "pop_children_0_15",
    "idaopi": "pop_older_60_plus",
}


# --- the metric table -----------------------------------------------------------------------


def test_sixteen_metrics_with_the_contract_short_names():
    assert len(METRICS) == 16
    assert [m.short for m in METRICS] == CONTRACT_SHORTS
    assert list(metrics_frame().index) == CONTRACT_SHORTS


def test_denominators_are_the_four_file7_populations():
    assert DENOMINATOR_SHORTS == (
        "pop_total",
        "pop_children_0_15",
        "pop_older_60_plus",
        "pop_working_age_18_66",
    )


@pytest.mark.parametrize("short", CONTRACT_SHORTS)
def test_denominator_of_each_metric(short):
    expected = SPECIAL_DENOMINATORS.get(short, "pop_total")
    assert METRIC_BY_SHORT[short].denominator == expected


def test_extent_and_scale_are_where_mhclg_publishes_them():
    assert [m.short for m in METRICS if m.extent] == ["imd"]
    assert [m.short for m in METRICS if m.scale] == ["income", "employment"]
    assert [m.short for m in METRICS if m.published] == CONTRACT_SHORTS[:10]
    assert [m.short for m in METRICS if m.optional] == ["idaci", "idaopi"]


def test_file7_columns_are_56_distinct_official_headers():
    columns = file7_columns()
    assert len(columns) == 4 + 16 * 3 + 4
    assert len(set(columns.values())) == len(columns)
    assert columns["Total population: mid 2022"] == "pop_total"
    assert columns["Index of Multiple Deprivation (IMD) Score"] == "imd_score"


def test_every_metric_has_a_short_label_for_figures():
    labels = [m.short_label for m in METRICS]
    assert all(labels)
    assert len(set(labels)) == len(labels)
    assert METRIC_BY_SHORT["imd"].short_label == "IMD"


# --- schema.toml checked on load ------------------------------------------------------------


@pytest.fixture
def schema():
    """An editable copy of the packaged metric table."""
    text = resources.files("iod_msoa").joinpath(SCHEMA_TABLE).read_text(encoding="utf-8")
    return copy.deepcopy(tomllib.loads(text))


def test_the_packaged_schema_loads(schema):
    assert load_schema(schema) is schema


def test_a_metric_with_an_unknown_denominator_is_named(schema):
    schema["metrics"][2]["denominator"] = "pop_workers"
    with pytest.raises(
        ConfigError,
        match=r"^data/schema.toml: \[\[metrics\]\] employment: "
        r"denominator 'pop_workers' is not one of pop_total, ",
    ):
        load_schema(schema)


def test_a_metric_lacking_a_field_or_with_an_unknown_one_is_named(schema):
    del schema["metrics"][0]["short_label"]
    schema["metrics"][1]["colour"] = "red"
    with pytest.raises(ConfigError) as caught:
        load_schema(schema)
    assert str(caught.value) == (
        "data/schema.toml: [[metrics]] imd lacks short_label; "
        "[[metrics]] income has unknown field(s) colour"
    )


def test_a_metric_given_twice_is_named(schema):
    schema["metrics"].append(schema["metrics"][0])
    with pytest.raises(ConfigError, match="metric 'imd' is given twice"):
        load_schema(schema)


def test_a_published_measure_for_an_unknown_metric_is_named(schema):
    schema["published_measures"][-1]["only"] = "employmnet"
    with pytest.raises(
        ConfigError, match="scale: only 'employmnet' is neither extent nor a metric"
    ):
        load_schema(schema)


def test_a_published_measure_template_with_an_unknown_field_is_named(schema):
    schema["published_measures"][0]["column"] = "{m}_average_score"
    with pytest.raises(ConfigError, match=r"average_score: column '\{m\}_average_score' uses"):
        load_schema(schema)


def test_a_missing_top_level_key_is_named(schema):
    del schema["england_bounds"]
    with pytest.raises(ConfigError, match=r"^data/schema\.toml: lacks england_bounds$"):
        load_schema(schema)


def _loaded(modules: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has loaded after importing ``modules``."""
    code = (
        f"import json, sys, {modules}; "
        f"print(json.dumps(sorted(m for m in {watched!r} if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


POLYGON_MODULES = ("geopandas", "pyogrio", "shapely")


def test_importing_the_engine_loads_no_polygon_or_reader_code():
    """The engine stands on the vocabulary alone: no geopandas, pyogrio or shapely."""
    watched = (*POLYGON_MODULES, "iod_msoa._readers", "iod_msoa._geographies")
    assert _loaded("iod_msoa._aggregate", watched) == []


def test_the_vocabulary_is_standard_library_only():
    assert _loaded("iod_msoa._vocab", (*POLYGON_MODULES, "pandas", "numpy")) == []


def test_the_table_readers_and_the_geography_table_load_no_polygon_code():
    assert _loaded("iod_msoa._readers, iod_msoa._geographies", POLYGON_MODULES) == []

"""Writing the dataset: CSV, Parquet, GeoPackage, data dictionary and provenance, atomically.

Everything is written into a staging folder beside the output folder and moved into place
only when every file is complete, so a failed build leaves an earlier good output intact.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ._geographies import DEFAULT_GEOGRAPHY, GEOGRAPHIES, Geography
from ._schema import DENOMINATORS, METRIC_BY_SHORT, METRICS
from ._sources import sha256_file

MSOA = GEOGRAPHIES[DEFAULT_GEOGRAPHY]
DATASET = MSOA.dataset
CSV_DECIMALS = 6


def output_files(dataset: str) -> dict[str, str]:
    """The files of one dataset (one geography): output key -> file name."""
    return {
        "csv": f"{dataset}.csv",
        "parquet": f"{dataset}.parquet",
        "gpkg": f"{dataset}.gpkg",
        "dictionary_csv": f"{dataset}_dictionary.csv",
        "dictionary_md": f"{dataset}_dictionary.md",
        "provenance": "provenance.json",
        "datapackage": "datapackage.json",
    }


FILES = output_files(DATASET)
TABLE_FORMATS = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "gpkg": "application/geopackage+sqlite3",
}
LICENCE = {
    "name": "OGL-UK-3.0",
    "title": "Open Government Licence v3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}

_HIGHER_MORE = "higher = more deprived"
_LOWER_MORE = "1 = most deprived"

# Identifier columns with more to say than "<label> code/name": description, unit.
_NAMED_COLUMNS = {
    "msoa21cd": ("MSOA code (December 2021 boundaries)", "ONS code"),
    "msoa21nm": ("MSOA name (ONS)", "text"),
    "msoa21hclnm": ("MSOA name (House of Commons Library)", "text"),
}


def _fixed_columns(geography: Geography) -> dict[str, tuple[str, str]]:
    """Identifier and count columns of a geography's table: description, unit."""
    g = geography
    columns = {g.code: (f"{g.label} code", "ONS code"), g.name: (f"{g.label} name", "text")}
    if g.carries_lad:
        columns |= {
            "lad24cd": (
                f"Local authority district code (2024) containing the {g.noun}",
                "ONS code",
            ),
            "lad24nm": ("Local authority district name (2024)", "text"),
        }
    columns["n_lsoa"] = (f"Number of LSOAs (2021) in the {g.noun}", "count")
    return columns | {k: v for k, v in _NAMED_COLUMNS.items() if k.startswith(g.key)}


# Per-metric measures: description template, unit template, direction.
_MEASURE_DOCS = {
    "score": (
        "Population-weighted mean of the LSOA {label} scores (weights: {denominator})",
        "{score_unit}",
        _HIGHER_MORE,
    ),
    "rank": ("Rank of the {label} score among all {nouns} in England", "rank", _LOWER_MORE),
    "decile": (
        "Decile of the {label} rank among {nouns}: ceil(rank x 10 / number of {nouns})",
        "decile 1-10",
        "1 = most deprived 10% of {nouns}",
    ),
    "average_rank": (
        "Population-weighted mean of the LSOAs' national {label} ranks, reported MHCLG's way"
        " as 33,756 minus the mean rank (weights: {denominator})",
        "rank (1-33,755)",
        _HIGHER_MORE,
    ),
    "proportion_most_deprived_10": (
        "Share of the {noun}'s LSOAs (by count) in the most deprived 10% of LSOAs in England"
        " for {label}",
        "proportion 0-1",
        _HIGHER_MORE,
    ),
    "extent": (
        "Extent: population share living in the most deprived 30% of LSOAs nationally,"
        " weighted 1 for the most deprived 10% and sliding from 0.95 to 0.05 over percentiles"
        " 11-30 ({label})",
        "proportion 0-1",
        _HIGHER_MORE,
    ),
    "local_concentration": (
        "Local concentration: population-weighted mean reversed rank (33,756 - rank) of the"
        " {noun}'s most deprived LSOAs holding exactly 10% of its population ({label})",
        "rank (1-33,755)",
        _HIGHER_MORE,
    ),
    "scale": (
        "Scale: estimated number of people {label_lower}, the sum over LSOAs of score (rate) x"
        " {denominator}",
        "people (estimate)",
        "higher = more people deprived",
    ),
}


def data_dictionary(columns: list[str], geography: Geography = MSOA) -> pd.DataFrame:
    """Describe every output column (meaning, unit, denominator, direction) from METRICS."""
    denominators = {d.short: d.label for d in DENOMINATORS}
    fixed = _fixed_columns(geography)
    rows = []
    for col in columns:
        if col in fixed:
            desc, unit = fixed[col]
            rows.append((col, desc, unit, "", "", ""))
        elif col in denominators:
            summed = f"{denominators[col]}, summed over the {geography.noun}'s LSOAs"
            rows.append((col, summed, "people", "", "", ""))
        else:
            short, measure = _split_metric_column(col)
            metric = METRIC_BY_SHORT[short]
            desc, unit, direction = _MEASURE_DOCS[measure]
            fields = {
                "label": metric.label,
                "label_lower": metric.label.lower(),
                "denominator": denominators[metric.denominator].lower(),
                "score_unit": metric.score_unit,
                "noun": geography.noun,
                "nouns": geography.nouns,
            }
            rows.append(
                (
                    col,
                    desc.format(**fields),
                    unit.format(**fields),
                    denominators[metric.denominator],
                    direction.format(**fields),
                    metric.short,
                )
            )
    return pd.DataFrame(
        rows, columns=["column", "description", "unit", "denominator", "direction", "metric"]
    )


def _split_metric_column(col: str) -> tuple[str, str]:
    for metric in sorted(METRICS, key=lambda m: -len(m.short)):
        prefix = f"{metric.short}_"
        if col.startswith(prefix) and col[len(prefix) :] in _MEASURE_DOCS:
            return metric.short, col[len(prefix) :]
    raise KeyError(f"no description for output column {col!r}")


def dictionary_markdown(
    dictionary: pd.DataFrame, provenance: dict[str, Any], geography: Geography = MSOA
) -> str:
    """The data dictionary as a Markdown page, with the licence and sources."""
    g = geography
    lines = [
        f"# {g.dataset}: data dictionary",
        "",
        f"English Indices of Deprivation 2025 aggregated from LSOAs to {g.nouns}; "
        f"{provenance['rows']:,} rows, one per {g.noun} in England. Package version "
        f"{provenance['version']}, built {provenance['created']}.",
        "",
        *([f"**Best fit.** {g.note}", ""] if g.note else []),
        "| column | description | unit | denominator | direction |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| `{r.column}` | {r.description} | {r.unit} | {r.denominator} | {r.direction} |"
        for r in dictionary.itertuples()
    ]
    lines += ["", "## Sources and licences", ""]
    lines += [
        f"- **{i['title']}** ({i['status']}): {i['attribution']} Licence: {i['licence']}."
        for i in provenance["inputs"].values()
    ]
    return "\n".join(lines) + "\n"


def _field_type(dtype: Any) -> str:
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    return "string"


def datapackage(
    folder: Path,
    table: pd.DataFrame,
    dictionary: pd.DataFrame,
    provenance: dict[str, Any],
    geography: Geography = MSOA,
) -> dict[str, Any]:
    """A Frictionless data package describing every file: rows, bytes, sha256 and fields.

    Lets users (and our tests) check a download against its description.
    """
    fields = [
        {"name": r.column, "type": _field_type(table[r.column].dtype), "description": r.description}
        | ({"unit": r.unit} if r.unit else {})
        for r in dictionary.itertuples()
    ]
    resources = []
    for key, name in output_files(geography.dataset).items():
        if key == "datapackage":
            continue
        path = folder / name
        resource: dict[str, Any] = {
            "name": key,
            "path": name,
            "bytes": path.stat().st_size,
            "hash": f"sha256:{sha256_file(path)}",
        }
        if key in TABLE_FORMATS:
            resource |= {
                "mediatype": TABLE_FORMATS[key],
                "rows": len(table),
                "schema": {"fields": fields, "primaryKey": geography.code},
            }
        resources.append(resource)
    return {
        "name": geography.dataset.replace("_", "-"),
        "title": f"English Indices of Deprivation 2025 for {geography.title}",
        **({"description": geography.note} if geography.note else {}),
        "version": provenance["version"],
        "created": provenance["created"],
        "licenses": [LICENCE],
        "sources": [
            {"title": i["title"], "path": provenance["official_urls"][n], "status": i["status"]}
            for n, i in provenance["inputs"].items()
        ],
        "resources": resources,
    }


def csv_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Round floats to CSV_DECIMALS for a compact CSV; Parquet/GeoPackage keep full precision."""
    floats = table.select_dtypes("float").columns
    return table.assign(**{c: table[c].round(CSV_DECIMALS) for c in floats})


@contextmanager
def staged_output(out_dir: Path) -> Iterator[Path]:
    """Yield a staging folder; on success move its files into ``out_dir``, else discard it."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.staging-", dir=out_dir.parent))
    try:
        yield staging
        for path in staging.iterdir():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
        out_dir.mkdir(exist_ok=True)
        for path in staging.iterdir():
            path.replace(out_dir / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def write_dataset(
    staging: Path,
    table: pd.DataFrame,
    geometry: gpd.GeoSeries,
    provenance: dict[str, Any],
    step: Callable[[str], None] = lambda _: None,
    geography: Geography = MSOA,
) -> dict[str, Path]:
    """Write every output file of the dataset into ``staging``; return their names."""
    files = output_files(geography.dataset)
    paths = {key: staging / name for key, name in files.items()}
    gdf = gpd.GeoDataFrame(table, geometry=geometry.to_numpy(), crs=geometry.crs)
    with ThreadPoolExecutor(max_workers=1) as pool:  # GDAL writes while pyarrow writes
        step("GeoPackage, CSV and Parquet")
        gpkg = pool.submit(
            gdf.to_file,
            paths["gpkg"],
            layer=geography.dataset,
            driver="GPKG",
            engine="pyogrio",
            use_arrow=True,
            layer_metadata={
                "version": str(provenance["version"]),
                "unverified_inputs": ",".join(provenance["unverified"]) or "none",
            },
        )
        arrow = pa.Table.from_pandas(csv_ready(table), preserve_index=False)
        pa_csv.write_csv(arrow, paths["csv"], pa_csv.WriteOptions(quoting_style="needed"))
        about = json.dumps({k: provenance[k] for k in ("version", "created", "unverified")})
        full = pa.Table.from_pandas(table, preserve_index=False)
        metadata = {**(full.schema.metadata or {}), b"iod_msoa": about.encode()}
        pq.write_table(full.replace_schema_metadata(metadata), paths["parquet"])
        gpkg.result()
    step("data dictionary")
    dictionary = data_dictionary(list(table.columns), geography)
    dictionary.to_csv(paths["dictionary_csv"], index=False)
    markdown = dictionary_markdown(dictionary, provenance, geography)
    paths["dictionary_md"].write_text(markdown, encoding="utf-8")
    write_json(paths["provenance"], provenance)
    package = datapackage(staging, table, dictionary, provenance, geography)
    write_json(paths["datapackage"], package)
    return {key: Path(name) for key, name in files.items()}

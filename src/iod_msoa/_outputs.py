"""Writing the dataset: CSV, Parquet, GeoPackage, Excel, data dictionary and provenance.

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
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pyogrio

from ._schema import DENOMINATORS, METRIC_BY_SHORT, METRICS
from ._sources import sha256_file
from ._xlsx import write_xlsx

DATASET = "iod25_msoa"
CSV_DECIMALS = 6

FILES = {
    "csv": f"{DATASET}.csv",
    "parquet": f"{DATASET}.parquet",
    "gpkg": f"{DATASET}.gpkg",
    "xlsx": f"{DATASET}.xlsx",
    "dictionary_csv": f"{DATASET}_dictionary.csv",
    "dictionary_md": f"{DATASET}_dictionary.md",
    "provenance": "provenance.json",
    "datapackage": "datapackage.json",
}
VALIDATION_FILE = "validation.csv"  # written by ``iod-msoa validate`` into the package
# The CSV is the package's table: Frictionless clients read and check it against its schema.
# The other formats hold the same table but are declared as files, which clients check by
# size and sha256 only (they cannot count rows in Parquet, GeoPackage or Excel).
TABLE_FORMATS = {"csv": "text/csv"}
FILE_FORMATS = {
    "parquet": "application/vnd.apache.parquet",
    "gpkg": "application/geopackage+sqlite3",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
GPKG_VERSION = "1.2"  # opens without warnings in GDAL 3.6 / QGIS LTR (GDAL >= 3.7 writes 1.4)
LICENCE = {
    "name": "OGL-UK-3.0",
    "title": "Open Government Licence v3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}

_HIGHER_MORE = "higher = more deprived"
_LOWER_MORE = "1 = most deprived"

# Identifier and population columns: description, unit.
_FIXED_COLUMNS = {
    "msoa21cd": ("MSOA code (December 2021 boundaries)", "ONS code"),
    "msoa21nm": ("MSOA name (ONS)", "text"),
    "msoa21hclnm": ("MSOA name (House of Commons Library)", "text"),
    "lad24cd": ("Local authority district code (2024) containing the MSOA", "ONS code"),
    "lad24nm": ("Local authority district name (2024)", "text"),
    "n_lsoa": ("Number of LSOAs (2021) in the MSOA", "count"),
}

# Per-metric measures: description template, unit template, direction.
_MEASURE_DOCS = {
    "score": (
        "Population-weighted mean of the LSOA {label} scores (weights: {denominator})",
        "{score_unit}",
        _HIGHER_MORE,
    ),
    "rank": ("Rank of the {label} score among all MSOAs in England", "rank", _LOWER_MORE),
    "decile": (
        "Decile of the {label} rank among MSOAs: ceil(rank x 10 / number of MSOAs)",
        "decile 1-10",
        "1 = most deprived 10% of MSOAs",
    ),
    "average_rank": (
        "Population-weighted mean of the LSOAs' national {label} ranks, reported MHCLG's way"
        " as 33,756 minus the mean rank (weights: {denominator})",
        "rank (1-33,755)",
        _HIGHER_MORE,
    ),
    "proportion_most_deprived_10": (
        "Share of the MSOA's LSOAs (by count) in the most deprived 10% of LSOAs in England"
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
        " MSOA's most deprived LSOAs holding exactly 10% of its population ({label})",
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


def data_dictionary(columns: list[str]) -> pd.DataFrame:
    """Describe every output column (meaning, unit, denominator, direction) from METRICS."""
    denominators = {d.short: d.label for d in DENOMINATORS}
    rows = []
    for col in columns:
        if col in _FIXED_COLUMNS:
            desc, unit = _FIXED_COLUMNS[col]
            rows.append((col, desc, unit, "", "", ""))
        elif col in denominators:
            rows.append(
                (col, f"{denominators[col]}, summed over the MSOA's LSOAs", "people", "", "", "")
            )
        else:
            short, measure = _split_metric_column(col)
            metric = METRIC_BY_SHORT[short]
            desc, unit, direction = _MEASURE_DOCS[measure]
            fields = {
                "label": metric.label,
                "label_lower": metric.label.lower(),
                "denominator": denominators[metric.denominator].lower(),
                "score_unit": metric.score_unit,
            }
            rows.append(
                (
                    col,
                    desc.format(**fields),
                    unit.format(**fields),
                    denominators[metric.denominator],
                    direction,
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


def dictionary_markdown(dictionary: pd.DataFrame, provenance: dict[str, Any]) -> str:
    """The data dictionary as a Markdown page, with the licence and sources."""
    lines = [
        f"# {DATASET}: data dictionary",
        "",
        f"English Indices of Deprivation 2025 aggregated from LSOAs to MSOAs; "
        f"{provenance['rows']:,} rows, one per MSOA in England. Package version "
        f"{provenance['version']}, built {provenance['created']}.",
        "",
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


def file_resource(folder: Path, name: str, key: str | None = None) -> dict[str, Any]:
    """A data package entry for one file: its name, size and sha256."""
    path = folder / name
    return {
        "name": key or path.stem.replace("_", "-"),
        "path": name,
        "bytes": path.stat().st_size,
        "hash": f"sha256:{sha256_file(path)}",
    }


def datapackage(
    folder: Path, table: pd.DataFrame, dictionary: pd.DataFrame, provenance: dict[str, Any]
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
    for key, name in FILES.items():
        if key == "datapackage":
            continue
        resource = file_resource(folder, name, key)
        if key in TABLE_FORMATS:
            resource |= {
                "type": "table",
                "mediatype": TABLE_FORMATS[key],
                "rows": len(table),
                "schema": {"fields": fields, "primaryKey": "msoa21cd"},
            }
        elif key in FILE_FORMATS:
            resource |= {"type": "file", "mediatype": FILE_FORMATS[key]}
        resources.append(resource)
    return {
        "name": DATASET.replace("_", "-"),
        "title": "English Indices of Deprivation 2025 for MSOAs (2021)",
        "version": provenance["version"],
        "created": provenance["created"],
        "licenses": [LICENCE],
        "sources": [
            {"title": i["title"], "path": provenance["official_urls"][n], "status": i["status"]}
            for n, i in provenance["inputs"].items()
        ],
        "resources": resources,
    }


def stale_files(folder: Path) -> list[str]:
    """Files listed in ``folder``'s datapackage.json that are missing or differ from it.

    A missing or unreadable datapackage.json makes every output stale.
    """
    try:
        package = json.loads((folder / FILES["datapackage"]).read_text(encoding="utf-8"))
        listed = {r["path"]: r for r in package["resources"]}
    except (OSError, ValueError, KeyError, TypeError):
        return list(FILES.values())
    stale = [name for name in FILES.values() if name not in listed and name != FILES["datapackage"]]
    for name, resource in listed.items():
        path = folder / name
        if not path.is_file() or file_resource(folder, name)["hash"] != resource.get("hash"):
            stale.append(name)
    return stale


def register_file(folder: Path, name: str, about: dict[str, Any]) -> None:
    """Add (or replace) ``name``'s entry in ``folder``'s datapackage.json, with ``about``."""
    path = folder / FILES["datapackage"]
    package = json.loads(path.read_text(encoding="utf-8"))
    others = [r for r in package["resources"] if r["path"] != name]
    package["resources"] = [*others, file_resource(folder, name) | about]
    write_json(path, package)


def listed_resource(folder: Path, name: str) -> dict[str, Any] | None:
    """``name``'s entry in ``folder``'s datapackage.json, if the file is there and unchanged."""
    try:
        package = json.loads((folder / FILES["datapackage"]).read_text(encoding="utf-8"))
        resource = next(r for r in package["resources"] if r["path"] == name)
        current = file_resource(folder, name)
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    return resource if resource.get("hash") == current["hash"] else None


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


@contextmanager
def gdal_config(options: dict[str, str]) -> Iterator[None]:
    """GDAL configuration options set for the duration of a block, then unset."""
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(dict.fromkeys(options))


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def xlsx_notes(provenance: dict[str, Any], rows: int) -> list[tuple[str, str]]:
    """The workbook's Notes: what it holds, how it was made, licence and provenance."""
    inputs = provenance["inputs"]
    notes = [
        (
            "What",
            f"The English Indices of Deprivation 2025 (IoD2025) aggregated from LSOAs to MSOAs "
            f"(2021): {rows:,} rows, one per MSOA in England. Rank 1 and decile 1 are the "
            "most deprived.",
        ),
        (
            "Method",
            "Each MSOA score is the mean of its LSOAs' scores weighted by the metric's "
            "population denominator; MSOAs are ranked by score (1 = highest) and put in "
            "deciles with ceil(rank x 10 / number of MSOAs). The summary measures follow the "
            "IoD2025 Technical Report and reproduce MHCLG's local authority summaries.",
        ),
        (
            "Precision",
            "Numbers rounded to 6 decimals, as in the CSV; the Parquet file has full precision.",
        ),
        ("Licence", f"{LICENCE['title']} ({LICENCE['path']})"),
        *(
            (f"Source: {i['title']}", f"{i['attribution']} Licence: {i['licence']}.")
            for i in inputs.values()
        ),
        ("Package", f"iod-msoa {provenance['version']}"),
        ("Built", f"{provenance['created']} ({provenance['created_from']})"),
        *(
            (
                f"Input: {name}",
                f"{i['file']}, {i['size']:,} bytes, sha256 {i['sha256']} ({i['status']})",
            )
            for name, i in inputs.items()
        ),
    ]
    if provenance["unverified"]:
        notes.append(
            (
                "Warning",
                "Built from inputs whose checksum differs from the official files: "
                + ", ".join(provenance["unverified"])
                + ". Figures may differ from the official release.",
            )
        )
    return notes


def write_dataset(
    staging: Path,
    table: pd.DataFrame,
    geometry: gpd.GeoSeries,
    provenance: dict[str, Any],
    step: Callable[[str], None] = lambda _: None,
) -> dict[str, Path]:
    """Write every output file of the dataset into ``staging``; return their names.

    Every file depends only on the table and ``provenance`` (whose ``created`` is the
    build's fixed time), so the same inputs give the same bytes.
    """
    paths = {key: staging / name for key, name in FILES.items()}
    created = datetime.fromisoformat(provenance["created"])
    gdf = gpd.GeoDataFrame(table, geometry=geometry.to_numpy(), crs=geometry.crs)
    dictionary = data_dictionary(list(table.columns))
    rounded = csv_ready(table)
    # GDAL stamps the GeoPackage with the time it is written unless told the time to use.
    gdal_time = {"OGR_CURRENT_DATE": created.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    # GDAL and XlsxWriter work in threads while pyarrow writes the CSV and Parquet.
    with gdal_config(gdal_time), ThreadPoolExecutor(max_workers=2) as pool:
        step("GeoPackage, Excel, CSV and Parquet")
        gpkg = pool.submit(
            gdf.to_file,
            paths["gpkg"],
            layer=DATASET,
            driver="GPKG",
            engine="pyogrio",
            use_arrow=True,
            dataset_options={"VERSION": GPKG_VERSION},
            layer_metadata={
                "version": str(provenance["version"]),
                "unverified_inputs": ",".join(provenance["unverified"]) or "none",
            },
        )
        xlsx = pool.submit(
            write_xlsx,
            paths["xlsx"],
            rounded,
            dictionary,
            xlsx_notes(provenance, len(table)),
            title="English Indices of Deprivation 2025 for MSOAs (2021)",
            created=created,
        )
        arrow = pa.Table.from_pandas(rounded, preserve_index=False)
        pa_csv.write_csv(arrow, paths["csv"], pa_csv.WriteOptions(quoting_style="needed"))
        about = json.dumps({k: provenance[k] for k in ("version", "created", "unverified")})
        full = pa.Table.from_pandas(table, preserve_index=False)
        metadata = {**(full.schema.metadata or {}), b"iod_msoa": about.encode()}
        pq.write_table(full.replace_schema_metadata(metadata), paths["parquet"])
        gpkg.result()
        xlsx.result()
    step("data dictionary")
    dictionary.to_csv(paths["dictionary_csv"], index=False)
    paths["dictionary_md"].write_text(dictionary_markdown(dictionary, provenance), encoding="utf-8")
    write_json(paths["provenance"], provenance)
    write_json(paths["datapackage"], datapackage(staging, table, dictionary, provenance))
    return {key: Path(FILES[key]) for key in FILES}

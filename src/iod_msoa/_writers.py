"""The format writers: one :class:`Dataset` in, every file of its package out (CSV, Parquet,
GeoPackage, Excel, data dictionary, provenance, data package).

Every file depends only on the dataset, whose provenance holds the build's fixed time, so
the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pyogrio

from ._describe import (
    CSV_DECIMALS,
    data_dictionary,
    datapackage,
    dictionary_markdown,
    empty_deciles,
    gpkg_description,
    xlsx_notes,
)
from ._editions import edition_of
from ._folder import Provenance, output_files, write_json
from ._geographies import Geography
from ._xlsx import write_xlsx

GPKG_VERSION = "1.2"  # opens without warnings in GDAL 3.6 / QGIS LTR (GDAL >= 3.7 writes 1.4)


@dataclass(frozen=True)
class Dataset:
    """One geography's dataset, as every writer reads it: never changed once made.

    ``empty`` names the decile columns left empty (too few areas); ``dictionary`` describes
    every column, those included.
    """

    geography: Geography
    table: pd.DataFrame
    geometry: gpd.GeoSeries
    provenance: Provenance
    empty: list[str] = field(init=False)
    dictionary: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        empty = empty_deciles(self.table)
        object.__setattr__(self, "empty", empty)
        dictionary = data_dictionary(list(self.table.columns), self.geography, empty)
        object.__setattr__(self, "dictionary", dictionary)

    @property
    def deciles(self) -> bool:
        return not self.empty


def csv_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Round floats to CSV_DECIMALS for a compact CSV; Parquet/GeoPackage keep full precision."""
    floats = table.select_dtypes("float").columns
    return table.assign(**{c: table[c].round(CSV_DECIMALS) for c in floats})


@contextmanager
def gdal_config(options: dict[str, str]) -> Iterator[None]:
    """GDAL configuration options set for the duration of a block, then unset."""
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(dict.fromkeys(options))


@contextmanager
def in_child(
    work: Callable[..., object], *args: object, **kwargs: object
) -> Iterator[Callable[[], None]]:
    """``work(*args, **kwargs)`` in a forked process, for Python-heavy work (the workbook's
    XML) that in a thread would take turns for the GIL with the parent's; yields the wait
    for it, which raises what ``work`` raised. A block left before the wait stops the child.
    Where there is no fork (Windows), ``work`` runs in a thread."""
    if not hasattr(os, "fork"):
        with ThreadPoolExecutor(max_workers=1) as pool:
            yield pool.submit(work, *args, **kwargs).result
        return
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what went wrong, if anything, and leave at once
        os.close(reader)
        report, status = b"", 0
        try:
            work(*args, **kwargs)
        except BaseException as exc:  # handed to the parent, which raises it
            status = 1
            try:
                report = pickle.dumps(exc)
            except Exception:  # an exception that does not pickle is told by its text
                report = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(report)
        os._exit(status)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        done = False

        def wait() -> None:
            nonlocal done
            report = pipe.read()
            status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            done = True
            if report:
                raise pickle.loads(report)
            if status:
                raise ChildProcessError(f"the process writing files stopped (status {status})")

        try:
            yield wait
        finally:
            if not done:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def write_dataset(
    staging: Path, dataset: Dataset, step: Callable[[str], None] = lambda _: None
) -> dict[str, Path]:
    """Write every output file of ``dataset`` into ``staging``; return their names."""
    geography, table, provenance = dataset.geography, dataset.table, dataset.provenance
    deciles, dictionary = dataset.deciles, dataset.dictionary
    files = output_files(geography.dataset)
    paths = {key: staging / name for key, name in files.items()}
    created = datetime.fromisoformat(provenance.created)
    rounded = csv_ready(table)
    # GDAL stamps the GeoPackage with the time it is written unless told the time to use.
    gdal_time = {"OGR_CURRENT_DATE": created.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    step("GeoPackage, Excel, CSV and Parquet")
    # XlsxWriter's work in a process of its own, GDAL in a thread, while pyarrow writes the
    # CSV and Parquet.
    with (
        in_child(
            write_xlsx,
            paths["xlsx"],
            rounded,
            dictionary,
            xlsx_notes(provenance, geography, deciles=deciles),
            title=f"{edition_of(geography.edition).title} for {geography.title}",
            created=created,
        ) as xlsx,
        gdal_config(gdal_time),
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        geometry = dataset.geometry
        gdf = gpd.GeoDataFrame(table, geometry=geometry.to_numpy(), crs=geometry.crs)
        gpkg = pool.submit(
            gdf.to_file,
            paths["gpkg"],
            layer=geography.dataset,
            driver="GPKG",
            engine="pyogrio",
            use_arrow=True,
            dataset_options={"VERSION": GPKG_VERSION},
            layer_options={"DESCRIPTION": gpkg_description(provenance, geography, deciles=deciles)},
            layer_metadata={
                "version": str(provenance.version),
                "unverified_inputs": ",".join(provenance.unverified) or "none",
            },
        )
        arrow = pa.Table.from_pandas(rounded, preserve_index=False)
        pa_csv.write_csv(arrow, paths["csv"], pa_csv.WriteOptions(quoting_style="needed"))
        about = json.dumps(
            {
                "version": provenance.version,
                "created": provenance.created,
                "unverified": provenance.unverified,
            }
        )
        full = pa.Table.from_pandas(table, preserve_index=False)
        metadata = {**(full.schema.metadata or {}), b"iod_msoa": about.encode()}
        pq.write_table(full.replace_schema_metadata(metadata), paths["parquet"])
        gpkg.result()
        xlsx()
    step("data dictionary")
    dictionary.to_csv(paths["dictionary_csv"], index=False)
    markdown = dictionary_markdown(dictionary, provenance, geography, deciles=deciles)
    paths["dictionary_md"].write_text(markdown, encoding="utf-8")
    paths["provenance"].write_text(provenance.to_json(), encoding="utf-8")
    package = datapackage(staging, table, dictionary, provenance, geography, deciles=deciles)
    write_json(paths["datapackage"], package)
    return {key: Path(name) for key, name in files.items()}

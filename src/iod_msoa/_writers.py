"""The format writers: one :class:`Dataset` in, every file of its package out (CSV, Parquet,
GeoPackage, Excel, data dictionary, provenance, data package).

Every file depends only on the dataset, whose provenance holds the build's fixed time, so
the same inputs give the same bytes.
"""

from __future__ import annotations

import json
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


def write_dataset(
    staging: Path, dataset: Dataset, step: Callable[[str], None] = lambda _: None
) -> dict[str, Path]:
    """Write every output file of ``dataset`` into ``staging``; return their names."""
    geography, table, provenance = dataset.geography, dataset.table, dataset.provenance
    deciles, dictionary = dataset.deciles, dataset.dictionary
    files = output_files(geography.dataset)
    paths = {key: staging / name for key, name in files.items()}
    created = datetime.fromisoformat(provenance.created)
    geometry = dataset.geometry
    gdf = gpd.GeoDataFrame(table, geometry=geometry.to_numpy(), crs=geometry.crs)
    rounded = csv_ready(table)
    # GDAL stamps the GeoPackage with the time it is written unless told the time to use.
    gdal_time = {"OGR_CURRENT_DATE": created.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    # GDAL and XlsxWriter work in threads while pyarrow writes the CSV and Parquet.
    with gdal_config(gdal_time), ThreadPoolExecutor(max_workers=2) as pool:
        step("GeoPackage, Excel, CSV and Parquet")
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
        xlsx = pool.submit(
            write_xlsx,
            paths["xlsx"],
            rounded,
            dictionary,
            xlsx_notes(provenance, geography, deciles=deciles),
            title=f"{edition_of(geography.edition).title} for {geography.title}",
            created=created,
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
        xlsx.result()
    step("data dictionary")
    dictionary.to_csv(paths["dictionary_csv"], index=False)
    markdown = dictionary_markdown(dictionary, provenance, geography, deciles=deciles)
    paths["dictionary_md"].write_text(markdown, encoding="utf-8")
    paths["provenance"].write_text(provenance.to_json(), encoding="utf-8")
    package = datapackage(staging, table, dictionary, provenance, geography, deciles=deciles)
    write_json(paths["datapackage"], package)
    return {key: Path(name) for key, name in files.items()}

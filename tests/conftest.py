"""Tiny File 7 tables built from a few hand-chosen rows, and a writer for official-header CSVs.

Column names come from the metric table (``METRICS``, ``DENOMINATORS``), never typed out,
so the fixtures follow ``data/schema.toml``.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import iod_msoa
from iod_msoa._vocab import DENOMINATOR_SHORTS, METRICS, file7_columns

from .built import build
from .realdata import write_config

Row = Mapping[str, Any]


def build_lsoa_table(rows: Sequence[Row], *, n_national: int | None = None) -> pd.DataFrame:
    """A table shaped like ``read_file7``'s result from short rows.

    Each row gives ``lsoa21cd``, ``lad24cd``, ``score``, ``rank`` and the four populations;
    every metric gets that score and rank, and the decile ``ceil(rank * 10 / n_national)``
    (``n_national`` defaults to the number of rows). A row may override any column by its
    full name (``idaci_score``, ``imd_decile``, ``lsoa21nm``, ...).
    """
    n_national = len(rows) if n_national is None else n_national
    records = []
    for row in rows:
        record: dict[str, object] = {
            "lsoa21cd": row["lsoa21cd"],
            "lsoa21nm": f"Name of {row['lsoa21cd']}",
            "lad24cd": row["lad24cd"],
            "lad24nm": f"Name of {row['lad24cd']}",
        }
        for m in METRICS:
            record[f"{m.short}_score"] = float(row["score"])
            record[f"{m.short}_rank"] = int(row["rank"])
            record[f"{m.short}_decile"] = math.ceil(int(row["rank"]) * 10 / n_national)
        for d in DENOMINATOR_SHORTS:
            record[d] = int(row[d])
        record |= {k: v for k, v in row.items() if k in record}
        records.append(record)
    table = pd.DataFrame.from_records(records, columns=list(file7_columns().values()))
    ints = [f"{m.short}_{s}" for m in METRICS for s in ("rank", "decile")]
    table[ints] = table[ints].astype("int64")
    return table


def write_file7_csv(table: pd.DataFrame, path: Path) -> Path:
    """Write a ``read_file7``-shaped table (or a damaged copy) with File 7's official headers.

    Columns that are not ours (e.g. renamed ones) are written under their own name.
    """
    official = {ours: header for header, ours in file7_columns().items()}
    table.rename(columns=official).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def make_lsoa_table() -> Callable[..., pd.DataFrame]:
    return build_lsoa_table


@pytest.fixture(scope="session")
def write_file7() -> Callable[[pd.DataFrame, Path], Path]:
    return write_file7_csv


@pytest.fixture
def tiny_file7() -> pd.DataFrame:
    """Four LSOAs in two LADs, national ranks 1..4: a valid whole "England" for read_file7."""
    pops = dict(zip(DENOMINATOR_SHORTS, (1500, 300, 400, 900), strict=True))
    rows = [
        {"lsoa21cd": "E01000001", "lad24cd": "E06000001", "score": 40.5, "rank": 1, **pops},
        {"lsoa21cd": "E01000002", "lad24cd": "E06000001", "score": 30.25, "rank": 2, **pops},
        {"lsoa21cd": "E01000003", "lad24cd": "E06000002", "score": 20.0, "rank": 3, **pops},
        {"lsoa21cd": "E01000004", "lad24cd": "E06000002", "score": 10.125, "rank": 4, **pops},
    ]
    return build_lsoa_table(rows)


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real MSOA build with its validation, as `scripts/build` leaves it: made once, for
    the tests of the writers and of the folder (needs the development inputs)."""
    folder = tmp_path_factory.mktemp("package")
    build(folder, folder / "out")
    iod_msoa.validate(iod_msoa.load_config(write_config(folder)), folder / "out", progress=False)
    return folder / "out"


@pytest.fixture
def copy(package: Path, tmp_path: Path) -> Path:
    """A copy of ``package`` a test may change."""
    out = tmp_path / "out"
    shutil.copytree(package, out)
    return out

"""Tiny File 7 tables built from a few hand-chosen rows, and a writer for official-header CSVs.

Column names come from the metric table (``METRICS``, ``DENOMINATORS``), never typed out,
so the fixtures follow ``data/schema.toml``.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import iod_msoa
from iod_msoa._build import BACKGROUND_THREAD
from iod_msoa._plan import PACKAGES
from iod_msoa._vocab import DENOMINATOR_SHORTS, METRICS, file7_columns

from . import sitetools
from .built import copy_of, once_per_run, tree_snapshot
from .realdata import write_config

Row = Mapping[str, Any]

# pytest-xdist's `--dist loadscope` (what CI runs) keeps each module on one worker and hands
# out the modules with the most tests first. Two changes, made by the scheduler below:
# the modules that read Quarto's render (the session's ``rendered``, a minute of work) are one
# unit, so one worker renders; and the modules that run longest go first, whatever their
# number of tests, so that no worker is left alone with a long one at the end.
RENDER_READERS = ("tests/test_browser.py", "tests/test_site.py")
LONGEST_FIRST = (
    "tests/test_browser.py",
    "tests/test_copied_cells.py",
    "tests/test_areas_realdata.py",
    "tests/test_lookups_realdata.py",
    "tests/test_cli.py",
    "tests/test_hostile_outputs.py",
)


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


@pytest.fixture(scope="session", autouse=True)
def _background_reads_finish() -> Iterator[None]:
    """Builds run in this process may leave a polygon reader behind (a failed build does not
    wait for it); pytest must not finalise the interpreter under it, as ``iod-msoa`` would not."""
    yield
    for thread in threading.enumerate():
        if thread.daemon and thread.name.startswith(BACKGROUND_THREAD):
            thread.join(timeout=120)


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
def real_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config naming the development inputs, shared by the session's real builds."""
    return write_config(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="session")
def built_all(
    real_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, iod_msoa.BuildResult]]:
    """Every geography built once per run in one pass, as ``--geography all`` builds
    them (needs the development inputs), by key: the first pytest-xdist worker builds, the
    others find the outputs current. Tests only read it; one that changes a folder copies it
    first (``copy_of``): the session fails if any file here changed."""
    config = iod_msoa.load_config(real_config)
    with once_per_run(tmp_path_factory, "packages") as out:
        built = iod_msoa.build_many(config, "all", out, progress=False)
        before = tree_snapshot(out)
    results = {r.geography.key: r for r in built}
    yield results
    assert tree_snapshot(out) == before, "a test changed the shared build: copy it first"


@pytest.fixture
def good_output(built_all: dict[str, iod_msoa.BuildResult]) -> Path:
    """The session's MSOA package as a build leaves it (read only: ``earlier`` to change)."""
    return built_all["msoa21"].out_dir


@pytest.fixture
def earlier(good_output: Path, tmp_path: Path) -> Path:
    """A folder holding an earlier good build, which a failing run must leave alone."""
    return copy_of(good_output, tmp_path)


@pytest.fixture(scope="session")
def validated_all(
    real_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> iod_msoa.ValidationResult:
    """``validate --geography all`` into an empty folder, once per session."""
    folder = tmp_path_factory.mktemp("validated_all")
    config = iod_msoa.load_config(real_config)
    return iod_msoa.validate(config, folder, progress=False, geographies=["all"])


@pytest.fixture(scope="session")
def package_validation(
    built_all: dict[str, iod_msoa.BuildResult],
    real_config: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> iod_msoa.ValidationResult:
    """The MSOA package with its (default) validation written into it, as `scripts/build`
    leaves it: the validation's result; its folder is ``package``."""
    out = copy_of(built_all["msoa21"].out_dir, tmp_path_factory.mktemp("package"))
    return iod_msoa.validate(iod_msoa.load_config(real_config), out, progress=False)


@pytest.fixture(scope="session")
def package(package_validation: iod_msoa.ValidationResult) -> Path:
    """The folder of a real MSOA package and its validation, for the tests of the writers
    and of the folder (needs the development inputs). Read only: ``copy`` to change it."""
    return package_validation.path.parent


@pytest.fixture
def copy(package: Path, tmp_path: Path) -> Path:
    """A copy of ``package`` a test may change."""
    return copy_of(package, tmp_path)


@pytest.fixture(scope="session")
def rendered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> sitetools.Render:
    """The whole site rendered by Quarto from a copy of the sources and the development inputs,
    its packages seeded from the session's build of every geography (``built_all``), so the
    pre-render and the areas page find them current instead of building them again. The
    browser tests open its pages; the page tests read the notebooks it executed. Both modules
    run on one worker (``pytest_xdist_make_scheduler``), so the site renders once per run."""
    if os.environ.get("IOD_MSOA_SITE"):
        return sitetools.Render(Path(os.environ["IOD_MSOA_SITE"]).resolve(), 0.0, "")
    try:
        quarto = sitetools.find_quarto()
    except sitetools.Missing as missing:
        pytest.skip(str(missing))
    folder = tmp_path_factory.mktemp("render")
    if "IOD_MSOA_INPUTS" in os.environ:
        config = write_config(folder)
    else:
        config = sitetools.ROOT / "config" / "shared-inputs.toml"
    project = sitetools.copy_project(folder / "site")
    for result in request.getfixturevalue("built_all").values():
        shutil.copytree(result.out_dir, project / PACKAGES / result.out_dir.name)
    return sitetools.render(project, config, quarto)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadscope`` with the modules reading the render on one worker and the longest
    modules first (``RENDER_READERS``, ``LONGEST_FIRST``); other modes as pytest-xdist has them."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LongestFirst(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            module = scope.split("::", 1)[0]
            return RENDER_READERS[0] if module in RENDER_READERS else scope

        def _assign_work_unit(self, node) -> None:
            for scope in reversed(LONGEST_FIRST):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return LongestFirst(config, log)

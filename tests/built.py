"""Real builds, for tests marked ``realdata``: every geography built once per run
(``built_all`` in conftest.py, shared by pytest-xdist's workers through ``once_per_run``)
and the MSOA package validated once per worker (``package``), copied where a test changes
them; ``build`` for the tests that need a build of their own."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import iod_msoa
from iod_msoa._folder import FILES

from .realdata import write_config


@contextmanager
def once_per_run(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A folder ``name`` shared by the run's pytest-xdist workers, held under an exclusive
    lock: the first worker fills it, the others wait and find it filled (a session without
    workers gets a folder of its own)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        yield factory.mktemp(name)
        return
    root = factory.getbasetemp().parent
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield root / name
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(folder: Path, out: Path, **kwargs) -> iod_msoa.BuildResult:
    return iod_msoa.build(iod_msoa.load_config(write_config(folder)), out, progress=False, **kwargs)


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def tree_snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (by relative path) with the sha256 of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def copy_of(folder: Path, parent: Path, name: str = "out") -> Path:
    """A copy of an output ``folder`` under ``parent`` (as ``name``), for a test to change."""
    return Path(shutil.copytree(folder, parent / name))


def listed(out: Path) -> dict[str, dict]:
    package = json.loads((out / FILES["datapackage"]).read_text())
    return {r["path"]: r for r in package["resources"]}

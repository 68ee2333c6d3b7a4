"""A real build of the MSOA package, for tests marked ``realdata``: built and validated once
per session (``package`` in conftest.py), copied where a test changes it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import iod_msoa
from iod_msoa._folder import FILES

from .realdata import write_config


def build(folder: Path, out: Path, **kwargs) -> iod_msoa.BuildResult:
    return iod_msoa.build(iod_msoa.load_config(write_config(folder)), out, progress=False, **kwargs)


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def listed(out: Path) -> dict[str, dict]:
    package = json.loads((out / FILES["datapackage"]).read_text())
    return {r["path"]: r for r in package["resources"]}

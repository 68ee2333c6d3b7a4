"""``scripts/build``: the data and the site, with Python from conda or a venv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .realdata import needs_inputs, write_config

pytestmark = [pytest.mark.realdata, needs_inputs]

ROOT = Path(__file__).resolve().parents[1]
NO_QUARTO_PATH = "/usr/bin:/bin"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project folder holding the script, and a conda-like prefix with the package in it."""
    folder = tmp_path_factory.mktemp("project")
    (folder / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "build", folder / "scripts" / "build")
    shutil.copy(ROOT / "_quarto.yml", folder)
    conda = folder / "conda" / "bin"
    conda.mkdir(parents=True)
    here = Path(sys.executable).parent
    for tool in ("iod-msoa", "python"):
        (conda / tool).symlink_to(here / tool)
    return folder


def run(project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"QUARTO", "VIRTUAL_ENV"}}
    env = (
        base
        | {
            "CONDA_PREFIX": str(project / "conda"),
            "IOD_MSOA_CONFIG": str(write_config(project)),
            "PATH": NO_QUARTO_PATH,
        }
        | env
    )
    return subprocess.run(
        ["bash", str(project / "scripts" / "build")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_without_quarto_it_builds_the_data_then_fails_saying_what_to_do(project):
    if any((Path(d) / "quarto").exists() for d in NO_QUARTO_PATH.split(":")):
        pytest.skip("Quarto is installed system-wide here")
    ran = run(project)
    assert ran.returncode == 1
    assert "Quarto is not installed" in ran.stderr
    assert "environment.yml" in ran.stderr and "bash scripts/build" in ran.stderr
    assert (project / "data" / "packages" / "iod25_msoa" / "iod25_msoa.csv").is_file()
    assert (project / "data" / "packages" / "iod25_msoa" / "validation.csv").is_file()
    assert not (project / ".venv").exists()  # the conda environment's Python was used


def test_renders_with_the_conda_environments_python(project):
    quarto, record = fake_quarto(project)
    ran = run(project, QUARTO=str(quarto))
    assert ran.returncode == 0, ran.stderr
    conda = project / "conda" / "bin"
    assert record.read_text().split() == [str(conda / "python"), str(conda / "iod-msoa"), "render"]
    assert "Site written to _site/" in ran.stdout


def fake_quarto(folder: Path) -> tuple[Path, Path]:
    """A `quarto` that records how it was called, and the file it records into."""
    quarto, record = folder / "fake-quarto", folder / "quarto-called-with.txt"
    quarto.write_text(f'#!/bin/sh\necho "$QUARTO_PYTHON $(command -v iod-msoa) $*" > {record}\n')
    quarto.chmod(0o755)
    return quarto, record


def test_finds_quarto_where_the_tests_do_beside_shared(tmp_path, project):
    """No $QUARTO and none on PATH: ../shared/tools/quarto/install sets one up."""
    beside = tmp_path / "project"
    shutil.copytree(project / "scripts", beside / "scripts")
    shutil.copy(project / "_quarto.yml", beside)
    install = tmp_path / "shared" / "tools" / "quarto" / "install"
    install.parent.mkdir(parents=True)
    quarto, record = fake_quarto(tmp_path)
    install.write_text(f"#!/usr/bin/env bash\necho installing >&2\necho {quarto}\n")
    ran = subprocess.run(
        ["bash", str(beside / "scripts" / "build")],
        capture_output=True,
        text=True,
        env={"PATH": NO_QUARTO_PATH, "CONDA_PREFIX": str(project / "conda")},
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr
    assert record.read_text().split()[-1] == "render"
    # the data are built and validated by the render's pre-render alone: printed once
    assert ran.stdout == "Site written to _site/ (open _site/index.html)\n"


def test_a_failed_build_without_a_config_names_the_config_route(tmp_path):
    """scripts/build takes no options, so its advice is IOD_MSOA_CONFIG, not --file7 PATH."""
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    conda = tmp_path / "conda" / "bin"
    conda.mkdir(parents=True)
    failing = conda / "iod-msoa"
    failing.write_text("#!/bin/sh\necho 'iod-msoa: error: Could not download file7' >&2\nexit 1\n")
    failing.chmod(0o755)
    ran = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "build")],
        capture_output=True,
        text=True,
        env={"PATH": NO_QUARTO_PATH, "CONDA_PREFIX": str(tmp_path / "conda")},
        timeout=60,
    )
    assert ran.returncode == 1
    assert "IOD_MSOA_CONFIG=path/to/config.toml bash scripts/build" in ran.stderr
    assert "config/shared-inputs.toml" in ran.stderr
    assert "Quarto is not installed" not in ran.stderr  # it stopped at the data


def test_in_conda_it_installs_the_kernelspec_naming_our_provisioner_once(tmp_path):
    """conda-forge's ipykernel installs a python3 kernelspec on TCP: replaced, once."""
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    conda = tmp_path / "conda"
    (conda / "bin").mkdir(parents=True)
    calls = tmp_path / "python-called-with.txt"
    for tool, body in (("iod-msoa", "exit 0"), ("python", f'echo "$*" >> {calls}')):
        (conda / "bin" / tool).write_text(f"#!/bin/sh\n{body}\n")
        (conda / "bin" / tool).chmod(0o755)
    spec = conda / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({"argv": ["python"], "metadata": {"debugger": True}}))
    quarto, _ = fake_quarto(tmp_path)
    env = {"PATH": NO_QUARTO_PATH, "CONDA_PREFIX": str(conda), "QUARTO": str(quarto)}

    def build() -> None:
        ran = subprocess.run(
            ["bash", str(tmp_path / "scripts" / "build")],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert ran.returncode == 0, ran.stderr

    build()
    assert calls.read_text() == "-m iod_msoa._kernel\n"
    spec.write_text(
        json.dumps({"metadata": {"kernel_provisioner": {"provisioner_name": "iod-msoa-ipc"}}})
    )
    build()
    assert calls.read_text() == "-m iod_msoa._kernel\n"  # not again

"""The package as installed: its public names, version and optional ``site`` extra."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import iod_msoa

from .built import copy_of
from .realdata import needs_inputs, write_config

ROOT = Path(__file__).resolve().parents[1]
# Run with the site extra's packages hidden, as in a base install.
WITHOUT_SITE = "import sys; sys.modules['matplotlib'] = None; sys.modules['contextily'] = None\n"


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_SITE + code], capture_output=True, text=True, timeout=120
    )


def test_star_import_needs_only_the_base_install():
    ran = python("from iod_msoa import *\nprint(build.__name__, len(METRICS))")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["build", "16"]


def test_maps_without_the_site_extra_say_what_to_install():
    for code in ("import iod_msoa\niod_msoa.maps", "from iod_msoa import maps"):
        ran = python(code)
        assert ran.returncode != 0
        last = ran.stderr.strip().splitlines()[-1]
        assert "install iod-msoa[site]" in last and "matplotlib" in last, last


def test_the_interactive_maps_data_needs_no_matplotlib():
    """``_mapdata`` sits below the figures: the map's data and HTML load without them."""
    ran = python("from iod_msoa import _mapdata\nprint(_mapdata.explore_map_html.__name__)")
    assert ran.returncode == 0, ran.stderr


def test_pages_helpers_need_only_the_base_install():
    ran = python("from iod_msoa import pages\nprint(pages.human_size(2048))")
    assert ran.returncode == 0, ran.stderr


def test_version_is_the_installed_distributions():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert iod_msoa.__version__ == declared


def test_licence_is_an_spdx_string_and_the_file_exists():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert all((ROOT / f).is_file() for f in project["license-files"])


def test_data_licence_note_names_each_licence():
    note = (ROOT / "DATA-LICENCE.md").read_text()
    assert "Open Government Licence v3.0" in note and "Open Parliament Licence v3.0" in note
    assert "BSD-2-Clause" in note and "`LICENSE`" in note


def readme_python() -> str:
    """The Python example of the docs the README points to (docs/python.md)."""
    assert "docs/python.md" in (ROOT / "README.md").read_text()
    text = (ROOT / "docs" / "python.md").read_text()
    (block,) = re.findall(r"^# From Python\n+```python\n(.*?)^```", text, flags=re.M | re.S)
    return block


@pytest.mark.realdata
@needs_inputs
def test_readme_python_example_runs_with_one_config(tmp_path, built_all):
    """The example's packages are the session's (current: the builds return at once), so
    this proves the example's calls; the builds themselves are tested in test_build."""
    code = readme_python()
    assert "load_inputs(config)" in code and "build(config)" in code
    for key, folder in [("msoa21", "data/packages"), ("icb24", "out"), ("rgn24", "out")]:
        copy_of(built_all[key].out_dir, tmp_path / folder, built_all[key].out_dir.name)
    (tmp_path / "config").mkdir()
    write_config(tmp_path / "config").rename(tmp_path / "config" / "shared-inputs.toml")
    ran = subprocess.run(
        [sys.executable, "-c", code + "\nprint(len(msoas), len(lads))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "IOD_MSOA_CONFIG"},
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split()[-2:] == ["6856", "296"]

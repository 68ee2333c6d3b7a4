"""Every page's code, copied as a reader would: run from a folder outside the checkout, with
the package installed from its wheel (not the source tree) and ``$IOD_MSOA_CONFIG`` set.

The wheel goes into a fresh virtual environment that borrows the test environment's
third-party packages (a ``.pth`` line), so nothing is downloaded and only our package comes
from the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from .realdata import needs_inputs, write_config
from .test_site import PAGES, page_chunks

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.wheel]


def run(args: list[str], timeout: float = 600, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The package's wheel, built from the checkout as a user would build it."""
    out = tmp_path_factory.mktemp("wheel")
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)]
    )
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("iod_msoa-*.whl")
    return path


@pytest.fixture(scope="session")
def wheel_python(tmp_path_factory, wheel) -> Path:
    """A fresh environment's Python with the wheel installed (its dependencies borrowed)."""
    env_dir = tmp_path_factory.mktemp("venv")
    made = run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
    assert made.returncode == 0, made.stderr
    python = env_dir / "bin" / "python"
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    Path(site.stdout.strip(), "borrowed-dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    installed = run([*pip, "install", "--quiet", "--no-deps", str(wheel)])
    assert installed.returncode == 0, installed.stderr
    return python


def test_wheel_ships_what_the_helpers_read(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "iod_msoa/data/schema.toml",
        "iod_msoa/data/sources.toml",
        "iod_msoa/assets/palette/deciles.json",
        "iod_msoa/assets/vendor/leaflet/leaflet.js",
        "iod_msoa/assets/vendor/leaflet/leaflet.css",
        "iod_msoa/assets/vendor/leaflet/LICENSE",
        "iod_msoa/assets/vendor/leaflet/images/layers.png",
        "iod_msoa/assets/js/explore-map.js",
        "iod_msoa/assets/css/explore-map.css",
    ):
        assert needed in names, needed
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_installed_package_is_the_wheel(wheel_python, tmp_path):
    shown = run(
        [
            str(wheel_python),
            "-c",
            "import iod_msoa; print(iod_msoa.__file__, iod_msoa.__version__)",
        ],
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    path, version = shown.stdout.split()
    assert Path(path).is_relative_to(wheel_python.parents[1]) and version != "0+unknown"


def page_script(page: str) -> str:
    """A page's Python cells and inline expressions, in order, as one script."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return "\n".join(
        code if kind == "cell" else f"print({code.strip()})" for kind, code in page_chunks(text)
    )


@pytest.fixture(scope="session")
def reader_folder(tmp_path_factory) -> Path:
    """The reader's own folder, far from the checkout: pages build into it."""
    folder = tmp_path_factory.mktemp("reader")
    assert not folder.resolve().is_relative_to(ROOT)
    return folder


# Runs each page's script as `python PAGE.py` would, in a process of its own, but forked from
# one that has already imported what the pages import (about a second a page otherwise): the
# child starts with fresh globals and no page run before it. Writes each exit code.
RUN_PAGES = """\
import json, os, runpy, sys

import geopandas, matplotlib.pyplot, pandas, shapely
import iod_msoa
from iod_msoa import maps, pages, since

codes = {}
for script in sys.argv[1:]:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        for fd, suffix in ((1, ".out"), (2, ".err")):
            os.dup2(os.open(script + suffix, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        sys.argv = [script]
        runpy.run_path(script, run_name="__main__")
        sys.exit(0)
    codes[script] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps(codes))
"""


@pytest.fixture(scope="session")
def page_runs(wheel_python, reader_folder, tmp_path_factory) -> dict[str, tuple[int, str]]:
    """Every page's script run in the reader's folder, in the site's order (so the first
    page builds the data): by page, its exit code and what it wrote to stderr."""
    if "IOD_MSOA_INPUTS" in os.environ:
        config = write_config(tmp_path_factory.mktemp("config"))
    else:
        config = ROOT / "config" / "shared-inputs.toml"
    scripts = {page: Path(page).stem + ".py" for page in PAGES}
    for page, script in scripts.items():
        (reader_folder / script).write_text(page_script(page), encoding="utf-8")
    (reader_folder / "run_pages.py").write_text(RUN_PAGES, encoding="utf-8")
    env = {
        key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    env |= {"IOD_MSOA_CONFIG": str(config.resolve()), "IOD_MSOA_OFFLINE": "1", "MPLBACKEND": "Agg"}
    ran = run(
        [str(wheel_python), "run_pages.py", *scripts.values()],
        cwd=reader_folder,
        env=env,
        timeout=600 * len(scripts),
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    codes = json.loads(ran.stdout.splitlines()[-1])
    return {
        page: (codes[script], (reader_folder / (script + ".err")).read_text(encoding="utf-8"))
        for page, script in scripts.items()
    }


@pytest.mark.realdata
@needs_inputs
@pytest.mark.parametrize("page", PAGES)
def test_page_cells_run_outside_the_checkout_from_the_wheel(page, page_runs, reader_folder):
    code, stderr = page_runs[page]
    assert code == 0, f"{page}:\n{stderr[-3000:]}"
    assert (reader_folder / "data" / "packages" / "iod25_msoa" / "iod25_msoa.csv").is_file()

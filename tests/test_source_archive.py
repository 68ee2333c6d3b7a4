"""The source archive the home page offers (scripts/source_archive.py, MANIFEST.in).

Issue 17, a new user's stumble 2: the site gave no way to the code, and the project has no
public repository. So the site offers its own sdist; unpacked, the README's commands must
work in it: it holds the whole project, and nothing built or taken from ``../shared``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from iod_msoa import pages
from iod_msoa._report import human_size

from .test_site import CELL

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path("scripts", "source_archive.py")
PATTERN = "iod_msoa-*.tar.gz"
EGG_INFO = "src/iod_msoa.egg-info"
# What the build backend adds to the project's files.
METADATA = {
    "PKG-INFO",
    "setup.cfg",
    *(
        f"{EGG_INFO}/{name}"
        for name in (
            "PKG-INFO",
            "SOURCES.txt",
            "dependency_links.txt",
            "entry_points.txt",
            "requires.txt",
            "top_level.txt",
        )
    ),
}
# What builds, renders, tests and benchmarks leave in the folder (.gitignore): never archived.
BUILT = [
    ".hypothesis/examples/a",
    ".pytest_cache/README.md",
    ".quarto/idx/index.qmd.json",
    ".ruff_cache/a",
    ".venv/bin/python",
    "_site/index.html",
    "benchmarks/node_modules/lighthouse/cli.js",
    "benchmarks/results/site.json",
    "build/lib/iod_msoa/cli.py",
    "data/packages/iod25_msoa/iod25_msoa.csv",
    "data/raw/File_7.csv",
    "dist/iod_msoa-0.0.1.tar.gz",
    "index.html",
    "index.quarto_ipynb",
    "notebooks/areas-data/lad24.js",
    "notebooks/explore-data/msoa21.js",
    "notebooks/explore.html",
    "notebooks/explore.quarto_ipynb",
    "notebooks/explore_files/figure-html/map-1.png",
    "src/iod_msoa/__pycache__/cli.cpython-311.pyc",
    "tests/__pycache__/conftest.cpython-311.pyc",
    "tests/browser/node_modules/axe-core/axe.min.js",
    "tests/browser/screenshots/index.png",
]
# What the README's two commands (and the config route) read in the unpacked folder.
NEEDED = [
    "README.md",
    "pyproject.toml",
    "environment.yml",
    "scripts/build",
    "scripts/postrender.py",
    "scripts/source_archive.py",
    ".ci/run",
    "config/shared-inputs.toml",
    "_quarto.yml",
    "index.qmd",
    "assets/theme.scss",
    "src/iod_msoa/cli.py",
    "src/iod_msoa/data/schema.toml",
    "tests/conftest.py",
]


def project_files() -> set[str]:
    """The project's files: git's list in a clone, the archive's own list (SOURCES.txt) in a
    folder unpacked from it."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return set(listed.stdout.split("\0")) - {""}
    sources = (ROOT / EGG_INFO / "SOURCES.txt").read_text(encoding="utf-8").splitlines()
    return set(sources) - METADATA


def write_archive(folder: Path) -> subprocess.CompletedProcess[str]:
    """The script as Quarto's pre-render runs it, in ``folder``."""
    return subprocess.run(
        [sys.executable, str(folder / SCRIPT)], capture_output=True, text=True, timeout=120
    )


def members(archive: Path) -> dict[str, tarfile.TarInfo]:
    """The archive's files by path in the project (without the top folder)."""
    with tarfile.open(archive) as tar:
        return {m.name.split("/", 1)[1]: m for m in tar.getmembers() if m.isfile()}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project's files with every kind of built file beside them, after the
    pre-render's script ran in it."""
    folder = tmp_path_factory.mktemp("project")
    for name in project_files():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, folder / name)
    for name in BUILT:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("built\n", encoding="utf-8")
    ran = write_archive(folder)
    assert ran.returncode == 0, ran.stderr
    assert not ran.stdout and not ran.stderr  # the render's log stays quiet
    return folder


@pytest.fixture(scope="module")
def archive(project: Path) -> Path:
    (path,) = (project / "dist").glob(PATTERN)  # the earlier archive is gone
    return path


def test_the_archive_is_the_project_and_nothing_built(archive):
    assert set(members(archive)) == project_files() | METADATA


def test_it_holds_what_the_readme_commands_need(archive):
    held = members(archive)
    pages_ = {p.relative_to(ROOT).as_posix() for p in ROOT.glob("notebooks/*.qmd")}
    assert pages_ and not {*NEEDED, *pages_} - set(held)
    assert held["scripts/build"].mode & 0o100 and held[".ci/run"].mode & 0o100
    assert not [name for name in held if name.startswith(("data/", "dist/"))][1:]  # README


def test_unpacked_it_writes_the_same_archive_without_git_or_network(archive, tmp_path):
    """The site may be rendered from the unpacked archive: its pre-render works there."""
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    (unpacked,) = tmp_path.iterdir()
    assert not (unpacked / ".git").exists()
    ran = write_archive(unpacked)
    assert ran.returncode == 0, ran.stderr
    (again,) = (unpacked / "dist").glob(PATTERN)
    assert again.name == archive.name
    assert set(members(again)) == set(members(archive))


def test_a_failure_says_what_the_script_needs(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / SCRIPT, tmp_path / SCRIPT)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "iod-msoa"\n', encoding="utf-8")
    ran = write_archive(tmp_path)
    assert ran.returncode == 1
    assert "needs setuptools 77 or later" in ran.stderr and "'.[site]'" in ran.stderr
    assert not list((tmp_path / "dist").glob(PATTERN))


# The home page offers it ---------------------------------------------------------------------


def rebuild_section() -> str:
    text = (ROOT / "index.qmd").read_text(encoding="utf-8")
    return text.split("\n## Rebuild it yourself\n", 1)[1].split("\n## ", 1)[0]


def source_cell() -> str:
    (code,) = [
        m["code"] for m in CELL.finditer(rebuild_section()) if "label: source-download" in m[0]
    ]
    return code


def run_cell(folder: Path, monkeypatch) -> str:
    monkeypatch.chdir(folder)  # Quarto runs the home page's cells in the project's folder
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source_cell(), {"pages": pages})
    return out.getvalue()


def test_rebuild_it_yourself_offers_the_archive_with_its_name_and_size(tmp_path, monkeypatch):
    archive = tmp_path / "dist" / "iod_msoa-0.1.0.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(b"x" * 5000)
    shown = run_cell(tmp_path, monkeypatch)
    link = f'[{archive.name}](dist/{archive.name}){{download="{archive.name}"}}'
    assert link in shown and human_size(5000) in shown
    assert "README.md" in rebuild_section() and "IOD_MSOA_CONFIG" in rebuild_section()


def test_a_copy_of_the_cell_runs_where_there_is_no_archive(tmp_path, monkeypatch):
    assert run_cell(tmp_path, monkeypatch).strip() == ""


def test_every_render_writes_the_archive_and_the_site_carries_it():
    project = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))["project"]
    assert project["pre-render"][-1] == SCRIPT.as_posix()
    offered = [r for r in project["resources"] if fnmatch.fnmatch("/dist/iod_msoa-0.1.0.tar.gz", r)]
    assert offered == ["/dist/" + PATTERN]

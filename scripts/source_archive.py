"""Quarto's pre-render step: write the project's source archive for the home page to offer.

    python scripts/source_archive.py   (Quarto runs it before each render)

The project has no public repository to link to, so the site itself offers its source: the
sdist, ``dist/iod_msoa-<version>.tar.gz``, the file ``python -m build --sdist`` makes.
``MANIFEST.in`` makes it the whole project (package, tests, pages, scripts, config), so
unpacked beside ``shared/`` it builds the data and the site with the README's commands.

It is written with the build backend's own API in this process: no git, no network and no
isolated build environment, so it works offline and in a folder unpacked from the archive
itself. The archive replaces any earlier one, so the site offers exactly one.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
PATTERN = "iod_msoa-*.tar.gz"  # the names the site offers (_quarto.yml's resources)


def write_archive(root: Path = ROOT, dist: Path = DIST) -> Path:
    """The sdist of ``root``, in ``dist`` in place of earlier ones; what the backend said
    (a line per file) goes into the exception should it fail."""
    from setuptools import build_meta

    dist.mkdir(exist_ok=True)
    log = io.StringIO()
    with (
        tempfile.TemporaryDirectory(dir=dist) as scratch,
        contextlib.chdir(root),
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
    ):
        try:
            name = build_meta.build_sdist(scratch)
        except Exception as error:
            raise RuntimeError(f"{log.getvalue()[-3000:]}{error!r}") from error
        for earlier in dist.glob(PATTERN):
            earlier.unlink()
        archive = dist / name
        Path(scratch, name).replace(archive)
    return archive


def main() -> int:
    try:
        write_archive()
    except Exception as error:  # say what to do, not only what broke
        print(
            f"{error}\nscripts/source_archive.py: could not write the source archive; it "
            "needs setuptools 77 or later, which the `site` extra installs: "
            "pip install -e '.[site]'",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

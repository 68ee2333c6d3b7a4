"""What the hostile tests share: one-line errors, snapshots, runs in a subprocess bounded
in time. Their fixtures (``real_config``, ``good_output``, ``earlier``) are in conftest.py."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from iod_msoa import cli
from iod_msoa._swap import BACKUP_PREFIX, STAGING_PREFIX

from .realdata import needs_inputs

SCRIPT = Path(sys.executable).parent / "iod-msoa"
TIMEOUT = 120  # seconds any subprocess may take


def needs_data(test: Callable) -> Callable:
    """Mark a test that reads the development inputs (skipped without them)."""
    return pytest.mark.realdata(needs_inputs(test))


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry of a folder (hidden ones too) with the sha256 of its bytes."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
        for p in sorted(folder.iterdir())
    }


def assert_one_line(err: str, start: str = "iod-msoa: error: ") -> str:
    """The error output is a single short line with no traceback."""
    err = err.strip()
    assert "\n" not in err, err
    assert "Traceback" not in err
    assert err.startswith(start), err
    assert len(err) < 600, err
    return err


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=TIMEOUT, check=False, **kwargs
    )


def build_fails(capsys, config: Path, out: Path, *extra: str) -> str:
    """Run a build in-process that must fail with one line; return that line."""
    status = cli.main(["build", "--config", str(config), "--out", str(out), "--quiet", *extra])
    err = assert_one_line(capsys.readouterr().err)
    assert status == 1
    return err


def assert_no_litter(out: Path) -> None:
    hidden = [p.name for p in out.iterdir() if p.name.startswith((STAGING_PREFIX, BACKUP_PREFIX))]
    assert hidden == []

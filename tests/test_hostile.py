"""Hostile inputs and environments: one clear line and a non-zero exit, never a traceback,
and the output folder holds either the complete earlier set or the complete new set.

Cases that need a real build use the development inputs; the rest use tiny fixtures. Runs
that must be stopped or limited from outside happen in a subprocess, bounded in time.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from iod_msoa import _outputs, cli
from iod_msoa._outputs import BACKUP_PREFIX, STAGING_PREFIX

from .realdata import needs_inputs, write_config

SCRIPT = Path(sys.executable).parent / "iod-msoa"
TIMEOUT = 120  # seconds any subprocess may take


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
    assert len(err) < 500, err
    return err


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=TIMEOUT, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    return write_config(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="module")
def good_output(tmp_path_factory, config) -> Path:
    out = tmp_path_factory.mktemp("good") / "out"
    assert cli.main(["build", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture
def earlier(good_output, tmp_path) -> Path:
    """A folder holding an earlier good build."""
    out = tmp_path / "out"
    shutil.copytree(good_output, out)
    return out


def build_fails(capsys, config: Path, out: Path, *extra: str) -> str:
    """Run a build in-process that must fail with one line; return that line."""
    status = cli.main(["build", "--config", str(config), "--out", str(out), "--quiet", *extra])
    err = assert_one_line(capsys.readouterr().err)
    assert status == 1
    return err


def assert_no_litter(out: Path) -> None:
    hidden = [p.name for p in out.iterdir() if p.name.startswith((STAGING_PREFIX, BACKUP_PREFIX))]
    assert hidden == []


# --- the output folder ---------------------------------------------------------------------


def test_out_is_a_file(tmp_path, capsys, config):
    target = tmp_path / "out.csv"
    target.write_text("not a folder")
    err = build_fails(capsys, config, target)
    assert f"{target} is a file, not a folder" in err
    assert target.read_text() == "not a folder"


def test_out_under_a_file(tmp_path, capsys, config):
    (tmp_path / "file").write_text("x")
    err = build_fails(capsys, config, tmp_path / "file" / "out")
    assert "inside something that is not a folder" in err


def _limit_file_size() -> None:
    """In the child: files may not grow past 8 MB, as on a nearly full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (8_000_000, 8_000_000))


@needs_inputs
def test_no_room_to_write(earlier, config):
    before = snapshot(earlier)
    result = run(
        ["build", "--config", str(config), "--out", str(earlier), "--quiet", "--force"],
        preexec_fn=_limit_file_size,
    )
    err = assert_one_line(result.stderr)
    assert result.returncode == 1
    assert "the earlier outputs are unchanged" in err
    assert snapshot(earlier) == before


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    return mounted.returncode == 0


@pytest.fixture
def mount_point(tmp_path):
    """A fresh tmpfs mount point (needs root and mount rights; skipped otherwise)."""
    mounts = []

    def make(size: str) -> Path:
        path = tmp_path / f"mnt{len(mounts)}"
        if os.geteuid() != 0 or shutil.which("mount") is None or not _tmpfs(path, size):
            pytest.skip("cannot mount a tmpfs here")
        mounts.append(path)
        return path

    yield make
    for path in mounts:
        subprocess.run(["umount", str(path)], check=False)


@pytest.fixture
def read_only(mount_point):
    """Make a folder read-only: by permissions, or for root (who ignores them) by a
    read-only mount of a copy of it."""

    changed = []

    def make(folder: Path) -> Path:
        if os.geteuid() != 0:
            folder.chmod(0o555)
            changed.append(folder)
            return folder
        mounted = mount_point("80m")
        shutil.copytree(folder, mounted, dirs_exist_ok=True)
        subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True)
        return mounted

    yield make
    for folder in changed:
        folder.chmod(0o755)


def test_read_only_parent(tmp_path, capsys, config, read_only):
    parent = tmp_path / "parent"
    parent.mkdir()
    parent = read_only(parent)
    err = build_fails(capsys, config, parent / "out")
    assert "cannot create the output folder" in err
    assert str(parent / "out") in err
    assert list(parent.iterdir()) == []


@needs_inputs
def test_existing_read_only_out_folder(earlier, capsys, config, read_only):
    before = snapshot(earlier)
    out = read_only(earlier)
    err = build_fails(capsys, config, out, "--force")
    assert f"cannot write to the output folder {out}" in err
    assert snapshot(out) == before


@needs_inputs
def test_out_is_a_mount_point(mount_point, capsys, config):
    out = mount_point("80m")
    assert cli.main(["build", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    assert "provenance.json" in snapshot(out)
    assert_no_litter(out)


@needs_inputs
def test_disk_full(mount_point, good_output, capsys, config):
    out = mount_point("40m")  # room for one set, not two
    shutil.copytree(good_output, out, dirs_exist_ok=True)
    before = snapshot(out)
    err = build_fails(capsys, config, out, "--force")
    assert "no space left on the device" in err
    assert "the earlier outputs are unchanged" in err
    assert snapshot(out) == before


@needs_inputs
def test_a_file_that_cannot_be_replaced(earlier, capsys, config):
    before = snapshot(earlier)
    victim = earlier / "provenance.json"
    if subprocess.run(["chattr", "+i", str(victim)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        err = build_fails(capsys, config, earlier, "--force")
    finally:
        subprocess.run(["chattr", "-i", str(victim)], check=True)
    assert "cannot replace" in err
    assert "provenance.json" in err
    assert "back in place" in err
    assert snapshot(earlier) == before


@needs_inputs
def test_swap_failing_midway_puts_the_earlier_set_back(earlier, capsys, config, monkeypatch):
    before = snapshot(earlier)
    real_replace = Path.replace
    moved = []

    def replace(self: Path, target):
        if self.parent.name.startswith(STAGING_PREFIX):
            if len(moved) == 3:
                raise PermissionError(1, "Operation not permitted", str(self), None, str(target))
            moved.append(self.name)
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    err = build_fails(capsys, config, earlier, "--force")
    assert len(moved) == 3
    assert "the earlier outputs" in err
    assert "back in place" in err
    assert snapshot(earlier) == before


KILL_MID_SWAP = """
import os, signal, sys
from pathlib import Path
from iod_msoa import cli
from iod_msoa._outputs import STAGING_PREFIX
real, moved = Path.replace, []
def replace(self, target):
    if self.parent.name.startswith(STAGING_PREFIX):
        if len(moved) == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        moved.append(self)
    return real(self, target)
Path.replace = replace
cli.main(sys.argv[1:])
"""


@needs_inputs
def test_killed_mid_swap_then_next_run_restores_the_earlier_set(earlier, capsys, config):
    before = snapshot(earlier)
    args = ["build", "--config", str(config), "--out", str(earlier), "--quiet", "--force"]
    killed = subprocess.run(
        [sys.executable, "-c", KILL_MID_SWAP, *args], capture_output=True, timeout=TIMEOUT
    )
    assert killed.returncode == -signal.SIGKILL
    visible = {k: v for k, v in snapshot(earlier).items() if not k.startswith(".")}
    assert visible != {k: v for k, v in before.items()}, "three new files were in place"
    # The next run, even one that fails on its inputs, first puts the earlier set back.
    build_fails(capsys, config, earlier, "--file7", str(earlier / "missing.csv"))
    assert snapshot(earlier) == before


def test_two_runs_into_one_folder(tmp_path, capsys, config, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(_outputs, "LOCK_WAIT", 0.5)
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        err = build_fails(capsys, config, out)
    finally:
        os.close(fd)
    assert f"another iod-msoa run is still writing to {out}" in err
    assert list(out.iterdir()) == []


@needs_inputs
def test_second_run_waits_for_the_first(tmp_path, capsys, config):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    threading.Timer(0.5, os.close, [fd]).start()
    started = time.monotonic()
    status = cli.main(["build", "--config", str(config), "--out", str(out)])
    assert status == 0
    assert time.monotonic() - started >= 0.5
    assert "Waiting for another iod-msoa run" in capsys.readouterr().err


@needs_inputs
def test_stale_staging_is_removed(earlier, capsys, config):
    before = snapshot(earlier)
    (earlier / f"{STAGING_PREFIX}abc").mkdir()
    (earlier / f"{STAGING_PREFIX}abc" / "iod25_msoa.gpkg").write_bytes(b"half")
    old_layout = earlier.parent / f".{earlier.name}.staging-xyz"
    old_layout.mkdir()
    build_fails(capsys, config, earlier, "--file7", str(earlier / "missing.csv"))
    assert snapshot(earlier) == before
    assert not old_layout.exists()


# --- stopping a run from outside -----------------------------------------------------------

# (signal, progress line to wait for, or IMPORTING: while numpy is loading)
IMPORTING = "importing"
STOPS = [
    (signal.SIGINT, IMPORTING),
    (signal.SIGINT, "Resolving inputs"),
    (signal.SIGTERM, "Read and checked"),
    (signal.SIGINT, "Writing GeoPackage"),
    (signal.SIGTERM, "Writing GeoPackage"),
    (signal.SIGKILL, "Read boundaries"),
    (signal.SIGKILL, "Writing data dictionary"),
]


def _loading_numpy(pid: int) -> bool:
    maps = Path(f"/proc/{pid}/maps")
    return "numpy" in maps.read_text() if maps.exists() else False


def _stop_when(proc: subprocess.Popen, sig: int, when: str) -> str:
    """Send ``sig`` once the progress line ``when`` appears (or numpy starts loading)."""
    seen = ""
    if when == IMPORTING:
        if not Path("/proc/self/maps").exists():
            pytest.skip("needs /proc to see the start-up")
        deadline = time.monotonic() + TIMEOUT
        while not _loading_numpy(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.005)
    else:
        deadline = time.monotonic() + TIMEOUT
        while when not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 1.0)
            if ready:
                line = proc.stderr.readline()
                if not line:
                    break
                seen += line
        assert when in seen, seen
    proc.send_signal(sig)
    _, rest = proc.communicate(timeout=TIMEOUT)
    return seen + rest


@needs_inputs
@pytest.mark.parametrize(("sig", "when"), STOPS, ids=lambda v: getattr(v, "name", v))
def test_stopped_run_leaves_the_earlier_set(earlier, capsys, config, sig, when):
    before = snapshot(earlier)
    proc = subprocess.Popen(
        [str(SCRIPT), "build", "--config", str(config), "--out", str(earlier), "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    err = _stop_when(proc, sig, when)
    assert "Traceback" not in err
    assert "ERROR" not in err
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 128 + sig
        last = err.strip().splitlines()[-1]
        assert last.startswith(("iod-msoa: interrupted", "iod-msoa: stopped")), err
        assert_no_litter(earlier)
    visible = {k: v for k, v in snapshot(earlier).items() if not k.startswith(".")}
    assert visible == before
    # The next run tidies whatever a killed one left, even when it fails itself.
    build_fails(capsys, config, earlier, "--file7", str(earlier / "missing.csv"))
    assert snapshot(earlier) == before

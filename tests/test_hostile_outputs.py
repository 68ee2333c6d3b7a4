"""Hostile environments around the output folder: one clear line and a non-zero exit, never
a traceback, and the folder holds either the complete earlier set or the complete new set,
whatever happens to the run (no room, read-only, locked, failing or stopped mid-swap)."""

from __future__ import annotations

import fcntl
import hashlib
import json
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

from iod_msoa import _swap, cli
from iod_msoa._swap import STAGING_PREFIX

from .hostile import (
    SCRIPT,
    TIMEOUT,
    assert_no_litter,
    assert_one_line,
    build_fails,
    needs_data,
    run,
    snapshot,
)

# --- the output folder ---------------------------------------------------------------------


def test_out_is_a_file(tmp_path, capsys, real_config):
    target = tmp_path / "out.csv"
    target.write_text("not a folder")
    err = build_fails(capsys, real_config, target)
    assert f"{target} is a file, not a folder" in err
    assert target.read_text() == "not a folder"


def test_out_is_a_link_to_a_missing_folder(tmp_path, capsys, real_config):
    target = tmp_path / "out"
    target.symlink_to(tmp_path / "gone")
    err = build_fails(capsys, real_config, target)
    assert f"{target} is a link to {tmp_path / 'gone'}, which does not exist" in err
    assert target.is_symlink() and not (tmp_path / "gone").exists()


def test_out_under_a_file(tmp_path, capsys, real_config):
    (tmp_path / "file").write_text("x")
    err = build_fails(capsys, real_config, tmp_path / "file" / "out")
    assert "inside something that is not a folder" in err


@pytest.mark.parametrize("option", ["--out", "--config", "--cache-dir", "--file7"])
@pytest.mark.parametrize("command", ["build", "validate"])
def test_an_empty_path_is_a_usage_error(
    tmp_path, monkeypatch, capsys, real_config, command, option
):
    """``--out "$UNSET"`` must not mean the current folder (nor a config or input there)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "validation.csv").write_text("mine")
    local = [] if option == "--config" else ["--config", str(real_config)]  # never a download
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, option, "", "--quiet", *local])
    assert exit_.value.code == 2
    err = assert_one_line(capsys.readouterr().err)
    assert f"argument {option}: must not be empty" in err
    assert snapshot(tmp_path) == {"validation.csv": hashlib.sha256(b"mine").hexdigest()}


@needs_data
def test_a_build_leaves_files_it_does_not_own(tmp_path, capsys, real_config):
    """A validation.csv no earlier package of ours lists is the user's: it stays, unchanged."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    (out / "validation.csv").write_text("keep")
    mine = snapshot(out)
    args = ["build", "--config", str(real_config), "--geography", "rgn24", "--out", str(out)]
    assert cli.main(args) == 0
    said = capsys.readouterr()
    assert "removed" not in said.err and "left validation.csv as it is" in said.err
    assert "validation.csv" not in said.out  # not listed among the package's files
    assert {name: snapshot(out)[name] for name in mine} == mine


@needs_data
def test_another_geographys_package_is_not_taken_over(earlier, capsys, real_config):
    """Building rgn24 into the MSOA package's folder would replace its datapackage.json and
    provenance.json and orphan its files: refused, before anything is written."""
    before = snapshot(earlier)
    err = build_fails(capsys, real_config, earlier, "--geography", "rgn24")
    assert f"{earlier} holds the iod25_msoa package" in err
    assert "give another --out, or --geography msoa21 --geography rgn24 --out DIR" in err
    assert snapshot(earlier) == before


@needs_data
def test_a_package_not_of_ours_is_not_taken_over(tmp_path, capsys, real_config):
    out = tmp_path / "theirs"
    out.mkdir()
    (out / "datapackage.json").write_text(json.dumps({"name": "my-survey", "resources": []}))
    before = snapshot(out)
    err = build_fails(capsys, real_config, out, "--geography", "rgn24")
    assert err.endswith(
        "holds a package named 'my-survey' (datapackage.json, provenance.json), "
        "which building rgn24 there would replace; give another --out"
    )
    assert snapshot(out) == before


@needs_data
def test_validate_then_build_keeps_the_validation(tmp_path, real_config):
    """The documented order reversed: validate into a folder first, then build there."""
    out = tmp_path / "out"
    assert cli.main(["validate", "--config", str(real_config), "--out", str(out), "--quiet"]) == 0
    before = (out / "validation.csv").read_bytes()
    args = ["build", "--config", str(real_config), "--geography", "rgn24", "--out", str(out)]
    assert cli.main([*args, "--quiet"]) == 0
    assert (out / "validation.csv").read_bytes() == before


def _limit_file_size() -> None:
    """In the child: files may not grow past 8 MB, as on a nearly full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (8_000_000, 8_000_000))


@needs_data
def test_no_room_to_write(earlier, real_config):
    before = snapshot(earlier)
    result = run(
        ["build", "--config", str(real_config), "--out", str(earlier), "--quiet", "--force"],
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


def test_read_only_parent(tmp_path, capsys, real_config, read_only):
    parent = tmp_path / "parent"
    parent.mkdir()
    parent = read_only(parent)
    err = build_fails(capsys, real_config, parent / "out")
    assert "cannot create the output folder" in err
    assert str(parent / "out") in err
    assert list(parent.iterdir()) == []


@needs_data
def test_existing_read_only_out_folder(earlier, capsys, real_config, read_only):
    before = snapshot(earlier)
    out = read_only(earlier)
    err = build_fails(capsys, real_config, out, "--force")
    assert f"cannot write to the output folder {out}" in err
    assert snapshot(out) == before


@needs_data
def test_out_is_a_mount_point(mount_point, capsys, real_config):
    out = mount_point("80m")
    assert cli.main(["build", "--config", str(real_config), "--out", str(out), "--quiet"]) == 0
    assert "iod25_msoa_provenance.json" in snapshot(out)
    assert_no_litter(out)


@needs_data
def test_disk_full(mount_point, good_output, capsys, real_config):
    out = mount_point("40m")  # room for one set, not two
    shutil.copytree(good_output, out, dirs_exist_ok=True)
    before = snapshot(out)
    err = build_fails(capsys, real_config, out, "--force")
    assert "no space left on the device" in err
    assert "the earlier outputs are unchanged" in err
    assert snapshot(out) == before


@needs_data
def test_a_file_that_cannot_be_replaced(earlier, capsys, real_config):
    before = snapshot(earlier)
    victim = earlier / "iod25_msoa_provenance.json"
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(victim)], capture_output=True).returncode != 0
    ):
        pytest.skip("chattr +i is not available here")
    try:
        err = build_fails(capsys, real_config, earlier, "--force")
    finally:
        subprocess.run(["chattr", "-i", str(victim)], check=True)
    assert "cannot replace" in err
    assert "provenance.json" in err
    assert "back in place" in err
    assert snapshot(earlier) == before


@needs_data
def test_swap_failing_midway_puts_the_earlier_set_back(earlier, capsys, real_config, monkeypatch):
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
    err = build_fails(capsys, real_config, earlier, "--force")
    assert len(moved) == 3
    assert "the earlier outputs" in err
    assert "back in place" in err
    assert snapshot(earlier) == before


KILL_MID_SWAP = """
import os, signal, sys
from pathlib import Path
from iod_msoa import cli
from iod_msoa._swap import STAGING_PREFIX
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


@needs_data
def test_killed_mid_swap_then_next_run_restores_the_earlier_set(earlier, capsys, real_config):
    before = snapshot(earlier)
    args = ["build", "--config", str(real_config), "--out", str(earlier), "--quiet", "--force"]
    # Builds repeat to the byte: another build time makes the new files differ from the old.
    other_time = {**os.environ, "SOURCE_DATE_EPOCH": "1000000000"}
    killed = subprocess.run(
        [sys.executable, "-c", KILL_MID_SWAP, *args],
        capture_output=True,
        timeout=TIMEOUT,
        env=other_time,
    )
    assert killed.returncode == -signal.SIGKILL
    visible = {k: v for k, v in snapshot(earlier).items() if not k.startswith(".")}
    assert visible != {k: v for k, v in before.items()}, "three new files were in place"
    # The next run, even one that fails on its inputs, first puts the earlier set back.
    build_fails(capsys, real_config, earlier, "--file7", str(earlier / "missing.csv"))
    assert snapshot(earlier) == before


def test_two_runs_into_one_folder(tmp_path, capsys, real_config, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(_swap, "LOCK_WAIT", 0.5)
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        err = build_fails(capsys, real_config, out)
    finally:
        os.close(fd)
    assert f"another iod-msoa run is still writing to {out}" in err
    assert list(out.iterdir()) == []


def test_a_folder_removed_while_waiting_for_it_is_not_written_into(tmp_path, capsys, real_config):
    # The first run failed and removed the empty folder it had made; this one, waiting on
    # that folder's lock, must not go on writing into a folder that is gone.
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)

    def first_run_gives_up() -> None:
        out.rmdir()
        os.close(fd)

    threading.Timer(0.5, first_run_gives_up).start()
    err = build_fails(capsys, real_config, out)
    assert f"{out} was removed or replaced while this run waited for it" in err
    assert not out.exists()


@needs_data
def test_second_run_waits_for_the_first(tmp_path, capsys, real_config):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    threading.Timer(0.5, os.close, [fd]).start()
    started = time.monotonic()
    # Once it has the folder, this run stops at its (missing) input: no need for a whole build.
    args = ["build", "--config", str(real_config), "--out", str(out), "--file7", str(out / "none")]
    assert cli.main(args) == 1
    assert time.monotonic() - started >= 0.5
    err = capsys.readouterr().err
    assert "Waiting for another iod-msoa run" in err
    assert "The local file given for file7 does not exist" in err


@needs_data
def test_stale_staging_is_removed(earlier, capsys, real_config):
    before = snapshot(earlier)
    (earlier / f"{STAGING_PREFIX}abc").mkdir()
    (earlier / f"{STAGING_PREFIX}abc" / "iod25_msoa.gpkg").write_bytes(b"half")
    old_layout = earlier.parent / f".{earlier.name}.staging-xyz"
    old_layout.mkdir()
    build_fails(capsys, real_config, earlier, "--file7", str(earlier / "missing.csv"))
    assert snapshot(earlier) == before
    assert not old_layout.exists()


# --- stopping a run from outside -----------------------------------------------------------

# (signal, progress line to wait for, or IMPORTING: while numpy is loading)
IMPORTING = "importing"
STOPS = [
    (signal.SIGINT, IMPORTING),
    (signal.SIGINT, "Resolving inputs"),
    (signal.SIGHUP, "Read and checked"),
    (signal.SIGTERM, "writing GeoPackage"),
    (signal.SIGKILL, "Read boundaries"),
    (signal.SIGKILL, "writing data dictionary"),
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


@needs_data
@pytest.mark.parametrize(("sig", "when"), STOPS, ids=lambda v: getattr(v, "name", v))
def test_stopped_run_leaves_the_earlier_set(earlier, capsys, real_config, sig, when):
    before = snapshot(earlier)
    proc = subprocess.Popen(
        [str(SCRIPT), "build", "--config", str(real_config), "--out", str(earlier), "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        # As from a terminal: a test run started in the background (or by a pytest-xdist
        # worker so started) passes SIGINT on ignored, and Python then never sees it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
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
    build_fails(capsys, real_config, earlier, "--file7", str(earlier / "missing.csv"))
    assert snapshot(earlier) == before

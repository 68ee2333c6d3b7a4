"""Hostile inputs and environments: one clear line and a non-zero exit, never a traceback,
and the output folder holds either the complete earlier set or the complete new set.

Cases that need a real build use the development inputs; the rest use tiny fixtures. Runs
that must be stopped or limited from outside happen in a subprocess, bounded in time.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point
from werkzeug import Request, Response

from iod_msoa import _sources, _swap, cli
from iod_msoa._errors import SourceError
from iod_msoa._manifest import MANIFEST, Source
from iod_msoa._swap import BACKUP_PREFIX, STAGING_PREFIX
from iod_msoa._vocab import DENOMINATORS, METRIC_BY_SHORT

from .realdata import FILES as INPUT_FILES
from .realdata import INPUTS, needs_inputs, write_config

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


def test_out_is_a_link_to_a_missing_folder(tmp_path, capsys, config):
    target = tmp_path / "out"
    target.symlink_to(tmp_path / "gone")
    err = build_fails(capsys, config, target)
    assert f"{target} is a link to {tmp_path / 'gone'}, which does not exist" in err
    assert target.is_symlink() and not (tmp_path / "gone").exists()


def test_out_under_a_file(tmp_path, capsys, config):
    (tmp_path / "file").write_text("x")
    err = build_fails(capsys, config, tmp_path / "file" / "out")
    assert "inside something that is not a folder" in err


@pytest.mark.parametrize("option", ["--out", "--config", "--cache-dir", "--file7"])
@pytest.mark.parametrize("command", ["build", "validate"])
def test_an_empty_path_is_a_usage_error(tmp_path, monkeypatch, capsys, config, command, option):
    """``--out "$UNSET"`` must not mean the current folder (nor a config or input there)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "validation.csv").write_text("mine")
    local = [] if option == "--config" else ["--config", str(config)]  # never a download
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, option, "", "--quiet", *local])
    assert exit_.value.code == 2
    err = assert_one_line(capsys.readouterr().err)
    assert f"argument {option}: must not be empty" in err
    assert snapshot(tmp_path) == {"validation.csv": hashlib.sha256(b"mine").hexdigest()}


@needs_data
def test_a_build_leaves_files_it_does_not_own(tmp_path, capsys, config):
    """A validation.csv no earlier package of ours lists is the user's: it stays, unchanged."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    (out / "validation.csv").write_text("keep")
    mine = snapshot(out)
    args = ["build", "--config", str(config), "--geography", "rgn24", "--out", str(out)]
    assert cli.main(args) == 0
    said = capsys.readouterr()
    assert "removed" not in said.err and "left validation.csv as it is" in said.err
    assert "validation.csv" not in said.out  # not listed among the package's files
    assert {name: snapshot(out)[name] for name in mine} == mine


@needs_data
def test_another_geographys_package_is_not_taken_over(earlier, capsys, config):
    """Building rgn24 into the MSOA package's folder would replace its datapackage.json and
    provenance.json and orphan its files: refused, before anything is written."""
    before = snapshot(earlier)
    err = build_fails(capsys, config, earlier, "--geography", "rgn24")
    assert f"{earlier} holds the iod25_msoa package" in err
    assert "give another --out, or --geography msoa21 --geography rgn24 --out DIR" in err
    assert snapshot(earlier) == before


@needs_data
def test_a_package_not_of_ours_is_not_taken_over(tmp_path, capsys, config):
    out = tmp_path / "theirs"
    out.mkdir()
    (out / "datapackage.json").write_text(json.dumps({"name": "my-survey", "resources": []}))
    before = snapshot(out)
    err = build_fails(capsys, config, out, "--geography", "rgn24")
    assert err.endswith(
        "holds a package named 'my-survey' (datapackage.json, provenance.json), "
        "which building rgn24 there would replace; give another --out"
    )
    assert snapshot(out) == before


@needs_data
def test_validate_then_build_keeps_the_validation(tmp_path, config):
    """The documented order reversed: validate into a folder first, then build there."""
    out = tmp_path / "out"
    assert cli.main(["validate", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    before = (out / "validation.csv").read_bytes()
    args = ["build", "--config", str(config), "--geography", "rgn24", "--out", str(out)]
    assert cli.main([*args, "--quiet"]) == 0
    assert (out / "validation.csv").read_bytes() == before


def _limit_file_size() -> None:
    """In the child: files may not grow past 8 MB, as on a nearly full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (8_000_000, 8_000_000))


@needs_data
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


@needs_data
def test_existing_read_only_out_folder(earlier, capsys, config, read_only):
    before = snapshot(earlier)
    out = read_only(earlier)
    err = build_fails(capsys, config, out, "--force")
    assert f"cannot write to the output folder {out}" in err
    assert snapshot(out) == before


@needs_data
def test_out_is_a_mount_point(mount_point, capsys, config):
    out = mount_point("80m")
    assert cli.main(["build", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    assert "iod25_msoa_provenance.json" in snapshot(out)
    assert_no_litter(out)


@needs_data
def test_disk_full(mount_point, good_output, capsys, config):
    out = mount_point("40m")  # room for one set, not two
    shutil.copytree(good_output, out, dirs_exist_ok=True)
    before = snapshot(out)
    err = build_fails(capsys, config, out, "--force")
    assert "no space left on the device" in err
    assert "the earlier outputs are unchanged" in err
    assert snapshot(out) == before


@needs_data
def test_a_file_that_cannot_be_replaced(earlier, capsys, config):
    before = snapshot(earlier)
    victim = earlier / "iod25_msoa_provenance.json"
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(victim)], capture_output=True).returncode != 0
    ):
        pytest.skip("chattr +i is not available here")
    try:
        err = build_fails(capsys, config, earlier, "--force")
    finally:
        subprocess.run(["chattr", "-i", str(victim)], check=True)
    assert "cannot replace" in err
    assert "provenance.json" in err
    assert "back in place" in err
    assert snapshot(earlier) == before


@needs_data
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
def test_killed_mid_swap_then_next_run_restores_the_earlier_set(earlier, capsys, config):
    before = snapshot(earlier)
    args = ["build", "--config", str(config), "--out", str(earlier), "--quiet", "--force"]
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
    build_fails(capsys, config, earlier, "--file7", str(earlier / "missing.csv"))
    assert snapshot(earlier) == before


def test_two_runs_into_one_folder(tmp_path, capsys, config, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(_swap, "LOCK_WAIT", 0.5)
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        err = build_fails(capsys, config, out)
    finally:
        os.close(fd)
    assert f"another iod-msoa run is still writing to {out}" in err
    assert list(out.iterdir()) == []


def test_a_folder_removed_while_waiting_for_it_is_not_written_into(tmp_path, capsys, config):
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
    err = build_fails(capsys, config, out)
    assert f"{out} was removed or replaced while this run waited for it" in err
    assert not out.exists()


@needs_data
def test_second_run_waits_for_the_first(tmp_path, capsys, config):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    threading.Timer(0.5, os.close, [fd]).start()
    started = time.monotonic()
    # Once it has the folder, this run stops at its (missing) input: no need for a whole build.
    args = ["build", "--config", str(config), "--out", str(out), "--file7", str(out / "none")]
    assert cli.main(args) == 1
    assert time.monotonic() - started >= 0.5
    err = capsys.readouterr().err
    assert "Waiting for another iod-msoa run" in err
    assert "The local file given for file7 does not exist" in err


@needs_data
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


# --- downloads -----------------------------------------------------------------------------


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr(_sources, "RETRY_DELAYS", (0.0, 0.0, 0.0))


def _names_csv(rows: int = 6856) -> bytes:
    lines = ["msoa21cd,msoa21hclnm", *(f"E02{i:06d},Place {i}" for i in range(1, rows + 1))]
    return ("\n".join(lines) + "\n").encode()


def _names_source(url: str) -> Source:
    return Source(**{**MANIFEST["names"].__dict__, "url": url})


def _resolve_names(url: str, cache: Path, **kwargs) -> _sources.ResolvedInput:
    return _sources.resolve_input(
        _names_source(url),
        local_path=None,
        cache_dir=cache,
        allow_unverified=False,
        progress=False,
        **kwargs,
    )


HTML = b"<!doctype html><html><body><h1>Service unavailable</h1></body></html>\n"


@pytest.mark.parametrize("body", [HTML, b"", _names_csv(10)], ids=["html", "empty", "short"])
def test_unusable_unpinned_download_is_not_cached(httpserver, tmp_path, no_backoff, body):
    httpserver.expect_request("/names.csv").respond_with_data(body, content_type="text/html")
    with pytest.raises(SourceError, match=r"download from .* is not usable, so it was not kept"):
        _resolve_names(httpserver.url_for("/names.csv"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_poisoned_cache_is_removed_and_fetched_again(httpserver, tmp_path, capsys):
    cached = tmp_path / MANIFEST["names"].filename
    cached.write_bytes(HTML)  # left by an earlier version that did not check downloads
    httpserver.expect_request("/names.csv").respond_with_data(_names_csv())
    warnings: list[str] = []

    resolved = _resolve_names(httpserver.url_for("/names.csv"), tmp_path, warn=warnings.append)

    assert resolved.origin == "download"
    assert cached.read_bytes() == _names_csv()
    assert len(warnings) == 1
    assert f"removed the cached names file {cached}" in warnings[0]
    # Checked once: the next run trusts the same bytes without reading them again.
    again = _resolve_names(httpserver.url_for("/names.csv"), tmp_path, warn=warnings.append)
    assert (again.origin, len(httpserver.log), len(warnings)) == ("cache", 1, 1)


def test_poisoned_cache_and_broken_server(httpserver, tmp_path, no_backoff):
    cached = tmp_path / MANIFEST["names"].filename
    cached.write_bytes(b"msoa21cd,msoa21hclnm\n")
    httpserver.expect_request("/names.csv").respond_with_data(HTML)
    warnings: list[str] = []
    with pytest.raises(SourceError, match="not usable"):
        _resolve_names(httpserver.url_for("/names.csv"), tmp_path, warn=warnings.append)
    assert not cached.exists()
    assert "fails its checks" in warnings[0]


def _arcgis_lookup(url: str) -> Source:
    return Source(**{**MANIFEST["lookup"].__dict__, "url": url, "min_rows": None})


def _oa_feature(i: int) -> dict[str, object]:
    values = [f"E00{i:06d}", f"E01{i:06d}", "A", "E02000001", "Somewhere 001", "E09000001", "B"]
    fields = MANIFEST["lookup"].params["out_fields"]
    return {"attributes": dict(zip(fields, values, strict=True))}


def _layer(count: int, page: Callable[[int], list[dict[str, object]]]):
    def handler(request: Request) -> Response:
        if request.args.get("returnCountOnly") == "true":
            return Response(json.dumps({"count": count}), content_type="application/json")
        offset = int(request.args["resultOffset"])
        answer = {"features": page(offset), "exceededTransferLimit": True}
        return Response(json.dumps(answer), content_type="application/json")

    return handler


@pytest.mark.parametrize(
    ("count", "page", "message"),
    [
        (5, lambda offset: [_oa_feature(1)], "sent the same page twice"),
        (3, lambda offset: [_oa_feature(offset)], "kept offering more pages"),
        (5, lambda offset: [_oa_feature(1), _oa_feature(2)][offset:], "sent 2 features but"),
    ],
    ids=["same-page", "endless", "short"],
)
def test_arcgis_paging_is_bounded(httpserver, tmp_path, count, page, message):
    httpserver.expect_request("/query").respond_with_handler(_layer(count, page))
    source = _arcgis_lookup(httpserver.url_for("/query"))
    with pytest.raises(SourceError, match=message):
        _sources.resolve_input(
            source, local_path=None, cache_dir=tmp_path, allow_unverified=False, progress=False
        )
    assert list(tmp_path.iterdir()) == []
    assert len(httpserver.log) <= count // source.params["page_size"] + 3


@needs_data
def test_redirect_loop_is_one_line(httpserver, tmp_path, capsys, config, monkeypatch):
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    monkeypatch.setitem(MANIFEST, "names", _names_source(httpserver.url_for("/a")))
    without_names = tmp_path / "config.toml"
    lines = config.read_text().splitlines()
    without_names.write_text("\n".join(x for x in lines if not x.startswith("names")) + "\n")
    err = build_fails(
        capsys, without_names, tmp_path / "out", "--cache-dir", str(tmp_path / "cache")
    )
    assert "redirects in a loop" in err
    assert len(httpserver.log) <= 12  # one request's redirects, not retried


@pytest.fixture
def raw_server():
    """A loopback TCP server whose every connection is handled by ``serve(conn)``."""
    servers = []

    def start(serve: Callable[[socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        stop = threading.Event()

        def loop() -> None:
            listener.settimeout(0.1)
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:  # closed at the end of the test
                    return
                threading.Thread(target=serve, args=(conn, stop), daemon=True).start()

        threading.Thread(target=loop, daemon=True).start()
        servers.append((listener, stop))
        return f"http://127.0.0.1:{listener.getsockname()[1]}/names.csv"

    yield start
    for listener, stop in servers:
        stop.set()
        listener.close()


def _drip(conn: socket.socket, stop: threading.Event) -> None:
    """Headers, then one byte of the promised body every 0.2 s."""
    with conn:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        while not stop.wait(0.2):
            try:
                conn.sendall(b"x")
            except OSError:
                return


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept the request and never answer."""
    with conn:
        conn.recv(4096)
        stop.wait(30)


def test_dripping_server_meets_the_deadline(raw_server, tmp_path):
    url = raw_server(_drip)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"did not finish within 1 s \(the download deadline\)"):
        _resolve_names(url, tmp_path, timeout=1.0)
    assert time.monotonic() - started < 5
    assert list(tmp_path.iterdir()) == []


def test_stalled_server_gives_up_quickly(raw_server, tmp_path, monkeypatch, no_backoff):
    monkeypatch.setattr(_sources, "STALL_TIMEOUT", 0.3)
    url = raw_server(_silent)
    started = time.monotonic()
    with pytest.raises(SourceError, match="after 4 attempts: ReadTimeout"):
        _resolve_names(url, tmp_path, timeout=60.0)
    assert time.monotonic() - started < 5


def test_download_timeout_option_is_checked(tmp_path, capsys, config):
    status = cli.main(["build", "--config", str(config), "--download-timeout", "-1", "--quiet"])
    assert status == 1
    assert "--download-timeout must be a number of seconds above 0" in assert_one_line(
        capsys.readouterr().err
    )


def test_stale_partial_downloads_are_removed(httpserver, tmp_path):
    httpserver.expect_request("/names.csv").respond_with_data(_names_csv())
    target = tmp_path / MANIFEST["names"].filename
    dead = tmp_path / f".{target.stem}.999999999.x.part{target.suffix}"
    ours = tmp_path / f".{target.stem}.{os.getpid()}.y.part{target.suffix}"
    dead.write_bytes(b"half")
    ours.write_bytes(b"being written")
    _resolve_names(httpserver.url_for("/names.csv"), tmp_path)
    assert not dead.exists()
    assert ours.exists()


# --- inputs that would give wrong numbers ----------------------------------------------------


@pytest.fixture(scope="module")
def file7_lines() -> list[str]:
    return (INPUTS / INPUT_FILES["file7"]).read_text(encoding="utf-8").splitlines(keepends=True)


def edited_file7(lines: list[str], path: Path, edits: dict[int, dict[str, str]]) -> Path:
    """File 7 with some cells replaced: ``{data row (1-based): {official header: text}}``."""
    header = next(csv.reader([lines[0]]))
    out = list(lines)
    for row_number, changes in edits.items():
        row = next(csv.reader([out[row_number]]))
        for column, value in changes.items():
            row[header.index(column)] = value
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow(row)
        out[row_number] = text.getvalue()
    path.write_text("".join(out), encoding="utf-8")
    return path


IMD = METRIC_BY_SHORT["imd"]
INCOME = METRIC_BY_SHORT["income"]
TOTAL = DENOMINATORS[0].column


@needs_data
@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        (IMD.score, "inf", "infinite value(s)"),
        (IMD.score, "-inf", "infinite value(s)"),
        (IMD.score, "1e308", "value(s) beyond ±1,000"),
        (IMD.score, "9" * 1_000_000, "infinite value(s)"),
        (TOTAL, "1e30", "population(s) above 100,000, implausible for one LSOA"),
        (TOTAL, "inf", "population(s) above 100,000, implausible for one LSOA"),
        (TOTAL, "1500.7", "population(s) not whole"),
        (INCOME.rank, "12.5", "value(s) that are not whole numbers"),
        (INCOME.decile, "3.9", "value(s) that are not whole numbers"),
        (INCOME.rank, "33756", "value(s) outside 1..33,755"),
        (INCOME.decile, "0", "value(s) outside 1..10"),
        (DENOMINATORS[1].column, "99999", "population(s) larger than the LSOA's"),
    ],
    ids=[
        "inf", "-inf", "1e308", "million-digits", "pop-1e30", "pop-inf", "pop-fraction",
        "rank-fraction", "decile-fraction", "rank-too-big", "decile-0", "children-over-total",
    ],
)  # fmt: skip
def test_a_bad_number_stops_the_build(
    earlier, tmp_path, capsys, config, file7_lines, column, value, expected
):
    before = snapshot(earlier)
    bad = edited_file7(file7_lines, tmp_path / "file7.csv", {100: {column: value}})
    err = build_fails(capsys, config, earlier, "--file7", str(bad))
    code = file7_lines[100].split(",", 1)[0]
    assert f"column {column!r} has 1 {expected}" in err
    assert f"row 101 ({code})" in err
    assert snapshot(earlier) == before


@needs_data
def test_one_row_short_leads_with_the_row_count(earlier, tmp_path, capsys, config, file7_lines):
    short = tmp_path / "file7.csv"
    short.write_text("".join(file7_lines[:-1]), encoding="utf-8")
    err = build_fails(capsys, config, earlier, "--file7", str(short))
    assert err.startswith(
        f"iod-msoa: error: File 7 ({short}): has 33,754 LSOA rows; the official file has 33,755"
    )
    assert len(err) < 300


@needs_data
def test_many_problems_are_capped(earlier, tmp_path, capsys, config, file7_lines):
    edits = {row: {m.score: "inf" for m in METRIC_BY_SHORT.values()} for row in range(1, 50)}
    bad = edited_file7(file7_lines, tmp_path / "file7.csv", edits)
    err = build_fails(capsys, config, earlier, "--file7", str(bad))
    assert "and 13 more problem(s)" in err
    assert "and 46 more" in err  # rows beyond the first three of a column


@needs_data
def test_an_msoa_without_people_is_named(earlier, tmp_path, capsys, config, file7_lines):
    lookup = pd.read_csv(INPUTS / INPUT_FILES["lookup"], usecols=["lsoa21cd", "msoa21cd"])
    msoa = "E02000001"
    lsoas = set(lookup.loc[lookup["msoa21cd"] == msoa, "lsoa21cd"])
    rows = [i for i, line in enumerate(file7_lines) if line.split(",", 1)[0] in lsoas]
    zero = dict.fromkeys((d.column for d in DENOMINATORS), "0")
    bad = edited_file7(file7_lines, tmp_path / "file7.csv", dict.fromkeys(rows, zero))
    err = build_fails(capsys, config, earlier, "--file7", str(bad))
    assert "1 msoa21cd area(s) have nobody in a population their scores are weighted by" in err
    assert msoa in err


@pytest.fixture(scope="module")
def lookup_text() -> pd.DataFrame:
    return pd.read_csv(INPUTS / INPUT_FILES["lookup"], dtype=str)


@needs_data
def test_malformed_msoa_code_is_blamed_on_the_lookup(
    earlier, tmp_path, capsys, config, lookup_text
):
    bad = tmp_path / "lookup.csv"
    broken = lookup_text["msoa21cd"].mask(lookup_text.index == 7, "E2X")
    lookup_text.assign(msoa21cd=broken).to_csv(bad, index=False)
    err = build_fails(capsys, config, earlier, "--lookup", str(bad))
    assert f"LSOA -> MSOA lookup ({bad})" in err
    assert "1 missing or malformed MSOA codes" in err
    assert "MSOA names" not in err


@needs_data
def test_differing_msoa_name_is_reported_as_such(earlier, tmp_path, capsys, config, lookup_text):
    bad = tmp_path / "lookup.csv"
    code = lookup_text.loc[0, "msoa21cd"]
    renamed = lookup_text["msoa21nm"].mask(lookup_text.index == 0, "Elsewhere 999")
    lookup_text.assign(msoa21nm=renamed).to_csv(bad, index=False)
    err = build_fails(capsys, config, earlier, "--lookup", str(bad))
    assert "1 MSOA code(s) with more than one name (an MSOA must have one name)" in err
    assert f"row 2 ({code}) = 'Elsewhere 999'" in err
    assert "must sit in one MSOA" not in err


@pytest.fixture(scope="module")
def small_boundaries() -> gpd.GeoDataFrame:
    """The simplified boundaries (3 MB), with the code field the build expects."""
    layer = gpd.read_file(INPUTS / "MSOA_2021_EW_BSC_simplified.gpkg", engine="pyogrio")
    return layer.rename(columns={"msoa21_code": "MSOA21CD"})[["MSOA21CD", "geometry"]]


@needs_data
@pytest.mark.parametrize(
    ("shape", "expected"),
    [(None, "empty, missing (NULL) or collapsed"), (Point(0, 52), "empty, missing (NULL)")],
    ids=["null", "point"],
)
def test_a_missing_shape_is_named(
    earlier, tmp_path, capsys, config, small_boundaries, shape, expected
):
    layer = small_boundaries.copy()
    layer.loc[layer["MSOA21CD"] == "E02000002", "geometry"] = shape
    bad = tmp_path / "msoa.gpkg"
    layer.to_file(bad, driver="GPKG", engine="pyogrio")
    err = build_fails(capsys, config, earlier, "--boundaries", str(bad))
    assert expected in err
    assert "E02000002" in err


@needs_data
def test_boundaries_with_the_wrong_crs(earlier, tmp_path, capsys, config, small_boundaries):
    bad = tmp_path / "msoa.gpkg"
    small_boundaries.set_crs(27700, allow_override=True).to_file(bad, driver="GPKG")
    err = build_fails(capsys, config, earlier, "--boundaries", str(bad))
    assert "6856 area(s) lie outside England" in err
    assert "coordinate reference system" in err


@needs_data
def test_boundaries_given_as_a_csv(earlier, capsys, config):
    names = INPUTS / INPUT_FILES["names"]
    err = build_fails(capsys, config, earlier, "--boundaries", str(names))
    assert f"MSOA boundaries ({names})" in err
    assert "has no geometry" in err


def test_config_that_is_not_utf8(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_bytes("allow_unverified = true # caf\xe9\n".encode("latin-1"))
    err = build_fails(capsys, config, tmp_path / "out")
    assert f"config file {config} is not UTF-8 text" in err


def test_config_that_is_a_folder(tmp_path, capsys):
    err = build_fails(capsys, tmp_path, tmp_path / "out")
    assert f"config file {tmp_path} is a folder" in err


@needs_data
def test_input_that_is_a_folder(tmp_path, capsys, config):
    err = build_fails(capsys, config, tmp_path / "out", "--names", str(tmp_path))
    assert f"The local file given for names is a folder, not a file: {tmp_path}" in err


@needs_data
def test_row_order_and_a_bom_do_not_change_the_csv(
    good_output, tmp_path, capsys, config, file7_lines
):
    rng = random.Random(7)
    rows = file7_lines[1:]
    rng.shuffle(rows)
    file7 = tmp_path / "file7.csv"  # saved with a byte-order mark, as Excel does
    file7.write_text(file7_lines[0] + "".join(rows), encoding="utf-8-sig")
    lookup_lines = (INPUTS / INPUT_FILES["lookup"]).read_text(encoding="utf-8").splitlines(True)
    body = lookup_lines[1:]
    rng.shuffle(body)
    lookup = tmp_path / "lookup.csv"
    lookup.write_text(lookup_lines[0] + "".join(body), encoding="utf-8")
    out = tmp_path / "out"
    args = ["build", "--config", str(config), "--out", str(out), "--quiet"]
    assert cli.main([*args, "--file7", str(file7), "--lookup", str(lookup)]) == 0
    assert (out / "iod25_msoa.csv").read_bytes() == (good_output / "iod25_msoa.csv").read_bytes()


@needs_data
@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("Local Authority District code (2024)", "", "1 missing or malformed code(s)"),
        ("Local Authority District code (2024)", "W06000001", "1 missing or malformed code(s)"),
        ("Local Authority District name (2024)", " ", "1 blank name(s)"),
        ("Local Authority District name (2024)", "Somewhere Else", "1 local authority code(s)"),
    ],
    ids=["blank-code", "welsh-code", "blank-name", "second-name"],
)
def test_a_bad_local_authority_stops_the_build(
    earlier, tmp_path, capsys, config, file7_lines, column, value, expected
):
    bad = edited_file7(file7_lines, tmp_path / "file7.csv", {100: {column: value}})
    err = build_fails(capsys, config, earlier, "--file7", str(bad))
    assert expected in err
    assert file7_lines[100].split(",", 1)[0] in err or "Somewhere Else" in err


@needs_data
def test_download_folder_that_is_a_file(tmp_path, capsys, config):
    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    without_names = tmp_path / "config.toml"
    lines = config.read_text().splitlines()
    without_names.write_text("\n".join(x for x in lines if not x.startswith("names")) + "\n")
    err = build_fails(capsys, without_names, tmp_path / "out", "--cache-dir", str(cache))
    assert f"Cannot use the download folder {cache}" in err
    assert "--cache-dir" in err


# --- MHCLG's summaries handed to validate ----------------------------------------------------


def _summary_rows(name: str) -> list[list[str]]:
    with (INPUTS / INPUT_FILES[name]).open(newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f))


def _write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def _bad_number(rows: list[list[str]]) -> list[list[str]]:
    column = next(i for i, c in enumerate(rows[0]) if c.endswith("imd_average_score"))
    rows[3][column] = "abc"
    return rows


@needs_data
@pytest.mark.parametrize(
    ("geography", "option", "input_name"),
    [
        ("lad24", "--lad-summaries", "lad_summaries"),
        ("utla24", "--utla-summaries", "utla_summaries"),
        ("icb24", "--icb-summaries", "icb_summaries"),
        ("lrf24", "--lrf-summaries", "lrf_summaries"),
    ],
)
@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda r: [*r, r[1]], r"1 duplicated area code\(s\): row 2 \((E\d{8})\), row \d+ \(\1\)"),
        (
            _bad_number,
            r"column '\w*imd_average_score' has 1 .*non-numeric.*row 4 \(E\d{8}\) = 'abc'",
        ),
        (lambda r: r[:-1], r"lacks 1 of the \d+ \w.*: E\d{8}; give the complete file"),
        (
            lambda r: [*r[:-1], ["E99999999", *r[-1][1:]]],
            r"lacks 1 of .*: E\d{8}; has 1 code\(s\) not among our .*: E99999999",
        ),
        (lambda r: r[:7], r"lacks \d+ of the \d+ .*: (E\d{8}, ){4}E\d{8} and \d+ more; give"),
    ],
    ids=["duplicated-row", "not-a-number", "missing-area", "unknown-code", "partial-file"],
)
def test_a_bad_summaries_file_stops_validate(
    tmp_path, capsys, config, geography, option, input_name, edit, expected
):
    bad = _write_rows(tmp_path / "summaries.csv", edit(_summary_rows(input_name)))
    out = tmp_path / "out"
    args = ["validate", "--config", str(config), "--out", str(out), "--quiet", "--strict"]
    status = cli.main([*args, "--geography", geography, option, str(bad)])
    err = assert_one_line(capsys.readouterr().err)
    assert status == 1
    assert str(bad) in err
    assert re.search(expected, err), err
    assert not out.exists()

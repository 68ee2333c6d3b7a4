"""Hostile command lines and environments: text from users is printed as given, and the
environment's settings fail in one line."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from iod_msoa import _build, cli
from iod_msoa._build import MSOA, Reporter, build_time
from iod_msoa._errors import ConfigError
from iod_msoa._sources import MANIFEST, ResolvedInput

from .hostile import assert_one_line

MARKUP = "a[/]b [bold]x[/bold] :smile:"  # a closing tag with nothing open, a style, an emoji


# --- paths printed as rich markup (issue 14, case 10) ------------------------------------------


def test_progress_prints_paths_as_given(capsys):
    Reporter(enabled=True).step(f"wrote to {MARKUP}")
    assert capsys.readouterr().err.rstrip().endswith(f"s wrote to {MARKUP}")


def test_the_summary_prints_the_out_folder_as_given(tmp_path, capsys, monkeypatch):
    """``--out 'a[/]b'`` crashed after every file was written; ``[bold]x`` was shown as x."""
    out = tmp_path / MARKUP
    result = SimpleNamespace(
        table=pd.DataFrame({"n_lsoa": [3]}),
        skipped=False,
        geography=MSOA,
        seconds=1.0,
        out_dir=out,
        paths={},
        unverified=["[red]file7"],
    )
    monkeypatch.setattr(_build, "build_many", lambda *args, **kwargs: [result])
    assert cli.main(["build", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].endswith(f"after 1.0 s -> {out}")
    assert printed[1] == "Unverified inputs (checksum differs from the official file): [red]file7"


def test_an_error_line_prints_the_path_as_given(tmp_path, capsys):
    config = tmp_path / f"{MARKUP}.toml"
    assert cli.main(["build", "--quiet", "--config", str(config)]) == 1
    assert f"config file {config} does not exist" in assert_one_line(capsys.readouterr().err)


def test_a_path_read_as_markup_does_not_stop_a_run(tmp_path, capsys):
    """Before reading anything, progress names each input's path: a MarkupError there."""
    folder = tmp_path / "a["
    folder.mkdir()
    junk = folder / "]b.csv"
    junk.write_text("not,an,input\n")
    local = [arg for name in _build.BUILD_INPUTS for arg in (f"--{name}", str(junk))]
    status = cli.main(["build", "--allow-unverified", "--out", str(tmp_path / "out"), *local])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert f"file7: {junk} (local, unverified)" in "\n".join(lines)
    assert lines[-1].startswith(f"iod-msoa: error: File 7 ({junk}): ")  # the reader's refusal
    assert not any("Traceback" in line for line in lines)


# --- the build time from the inputs (case 13) --------------------------------------------------


class _FarFuture(type(Path())):  # type: ignore[misc]
    """A file dated after the year 9999 (ext4 cannot store one; tmpfs can)."""

    def stat(self, **kwargs) -> os.stat_result:
        real = list(super().stat(**kwargs))
        real[8] = 400_000_000_000  # st_mtime: the year 14645
        return os.stat_result(real)


def _resolved(path: Path) -> ResolvedInput:
    source = MANIFEST["file7"]
    return ResolvedInput(
        name="file7",
        path=path,
        url=None,
        sha256="0",
        size=0,
        expected_sha256=None,
        status="unverified",
        origin="local",
        title=source.title,
        licence=source.licence,
        attribution=source.attribution,
    )


def test_an_input_dated_after_9999(tmp_path, monkeypatch):
    monkeypatch.delenv(_build.EPOCH_ENV, raising=False)
    (tmp_path / "f7.csv").write_text("x\n")
    future = _resolved(_FarFuture(tmp_path / "f7.csv"))
    with pytest.raises(ConfigError, match=r"f7\.csv has a modification time outside the years"):
        build_time({"file7": future})
    monkeypatch.setenv(_build.EPOCH_ENV, "1765000000")  # the way out the message gives
    assert build_time({"file7": future}) == (
        "2025-12-06T05:46:40+00:00",
        _build.EPOCH_ENV,
    )


# --- the environment ---------------------------------------------------------------------------


def test_a_path_the_terminal_cannot_show_is_escaped(tmp_path, monkeypatch):
    """With PYTHONIOENCODING=ascii the summary's `café` was a traceback after the build."""
    out = tmp_path / "café"
    result = SimpleNamespace(
        table=pd.DataFrame({"n_lsoa": [3]}),
        skipped=False,
        geography=MSOA,
        seconds=1.0,
        out_dir=out,
        paths={},
        unverified=[],
    )
    monkeypatch.setattr(_build, "build_many", lambda *args, **kwargs: [result])
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stdout)
    assert cli.main(["build", "--quiet", "--out", str(out)]) == 0
    stdout.flush()
    assert stdout.buffer.getvalue().decode().endswith(f"-> {tmp_path}/caf\\xe9\n")


def test_a_deleted_current_folder_is_one_line(tmp_path, monkeypatch, capsys):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert cli.main(["build", "--quiet", "--file7", str(tmp_path / "f7.csv")]) == 1
    err = assert_one_line(capsys.readouterr().err)
    assert err.endswith(
        "the current folder no longer exists (deleted or moved while in it); "
        "change to another folder and run again"
    )


@pytest.mark.parametrize("epoch", ["-86400", "1_765_000_000", "\uff11\uff17\uff16\uff15", "+5"])
def test_source_date_epoch_is_digits_only(tmp_path, monkeypatch, epoch):
    """A negative time, digit separators or non-ASCII digits are not `date +%s` output:
    int() took them, and a build recorded 1969 or a time nobody set."""
    monkeypatch.setenv(_build.EPOCH_ENV, epoch)
    with pytest.raises(ConfigError, match="is not a whole number of seconds since 1970"):
        build_time({"file7": _resolved(tmp_path)})

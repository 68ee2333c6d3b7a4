"""Hostile inputs on the way in: local files that are not files, caches that differ from the
official file, and API calls with the wrong types, each said plainly."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from werkzeug import Request, Response

from iod_msoa import _sources
from iod_msoa._build import load_inputs
from iod_msoa._config import Config
from iod_msoa._errors import SourceError
from iod_msoa._sources import Source, resolve_input, resolve_inputs

from .hostile import assert_one_line, run

BODY = b"lsoa21cd,score\nE01000001,1.5\n"
OFFICIAL = b"lsoa21cd,score\nE01000001,2.5\n"


def _pinned(url: str) -> Source:
    return Source(
        name="file7",
        title="A test input",
        url=url,
        filename="input.csv",
        licence="Open Government Licence v3.0",
        attribution="Test attribution",
        kind="file",
        size=len(OFFICIAL),
        sha256=hashlib.sha256(OFFICIAL).hexdigest(),
    )


def _resolve(source: Source, cache: Path, *, local: Path | None = None, **kwargs):
    return resolve_input(source, local_path=local, cache_dir=cache, progress=False, **kwargs)


# --- local inputs that are not regular files (issue 14, case 20) -------------------------------


def test_a_fifo_as_an_input_is_not_called_missing(tmp_path):
    fifo = tmp_path / "file7.csv"
    os.mkfifo(fifo)
    with pytest.raises(SourceError) as raised:
        _resolve(_pinned(""), tmp_path, local=fifo, allow_unverified=True)
    assert str(raised.value) == (
        "The local file given for file7 is not a regular file (a FIFO, device or socket): "
        f"give a saved file: {fifo}"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_as_an_input_is_not_read_for_ever(tmp_path):
    with pytest.raises(SourceError, match=r"file7 is not a regular file .*: /dev/zero"):
        _resolve(_pinned(""), tmp_path, local=Path("/dev/zero"), allow_unverified=True)


def test_fifos_as_inputs_are_one_line_and_do_not_block(tmp_path):
    """The geographies table's header is read before the inputs are resolved: a FIFO there
    blocked the run until killed (in a subprocess: bounded in time)."""
    fifo = tmp_path / "input.csv"
    os.mkfifo(fifo)
    env = {k: v for k, v in os.environ.items() if k != "IOD_MSOA_CONFIG"}
    paths = ["--file7", str(fifo), "--geographies", str(fifo), "--cache-dir", str(tmp_path)]
    out = tmp_path / "out"
    done = run(["build", "--quiet", "--geography", "icb24", "--out", str(out), *paths], env=env)
    assert done.returncode == 1
    assert f"file7 is not a regular file (a FIFO, device or socket): give a saved file: {fifo}" in (
        assert_one_line(done.stderr)
    )


def test_a_symlink_loop_given_to_the_api_is_not_called_missing(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(SourceError, match="file7 cannot be read: Too many levels of symbolic"):
        _resolve(_pinned(""), tmp_path, local=loop, allow_unverified=True)


# --- a cached copy that differs from the pin (case 21) -----------------------------------------


def test_a_cached_copy_that_differs_is_said_before_downloading(httpserver, tmp_path):
    cached = tmp_path / "input.csv"
    cached.write_bytes(BODY)
    httpserver.expect_request("/input.csv").respond_with_data(OFFICIAL)
    warnings: list[str] = []
    resolved = _resolve(
        _pinned(httpserver.url_for("/input.csv")),
        tmp_path,
        allow_unverified=False,
        warn=warnings.append,
    )
    assert (resolved.origin, resolved.status) == ("download", "verified")
    assert cached.read_bytes() == OFFICIAL
    assert len(warnings) == 1
    assert f"the cached file7 file {cached} is not the pinned official file" in warnings[0]
    assert "sha256: expected" in warnings[0]


def test_a_cached_copy_that_differs_then_a_failed_download_says_both(
    httpserver, tmp_path, monkeypatch, capsys
):
    """Offline, the error spoke only of the download: why was the cached copy not used?"""
    monkeypatch.setattr(_sources, "RETRY_DELAYS", (0.0,))
    (tmp_path / "input.csv").write_bytes(BODY)
    httpserver.expect_request("/input.csv").respond_with_data("busy", status=503)
    source = _pinned(httpserver.url_for("/input.csv"))
    with pytest.raises(SourceError, match="Could not download file7"):
        resolve_inputs(
            ["file7"],
            local_paths={},
            cache_dir=tmp_path,
            allow_unverified=False,
            progress=False,
            manifest={"file7": source},
        )
    warning = capsys.readouterr().err.strip()
    assert warning.startswith("iod-msoa: warning: the cached file7 file")
    assert "pass --allow-unverified" in warning
    assert (tmp_path / "input.csv").read_bytes() == BODY  # kept: it may be all there is


def test_a_cached_copy_that_differs_is_used_when_allowed(httpserver, tmp_path):
    """As a download that differs would be: used and recorded, not fetched again each run."""
    (tmp_path / "input.csv").write_bytes(BODY)
    warnings: list[str] = []
    resolved = _resolve(
        _pinned(httpserver.url_for("/input.csv")),
        tmp_path,
        allow_unverified=True,
        warn=warnings.append,
    )
    assert (resolved.origin, resolved.status) == ("cache", "unverified")
    assert resolved.sha256 == hashlib.sha256(BODY).hexdigest()
    assert (httpserver.log, warnings) == ([], [])


# --- wrong argument types in the API (case 18) -------------------------------------------------


def test_one_name_as_a_string_is_a_type_error(tmp_path):
    config = Config(cache_dir=tmp_path)
    with pytest.raises(
        TypeError, match=r"names must be a list of input names, such as \[.file7.\]"
    ):
        load_inputs(config, "file7", progress=False)
    with pytest.raises(TypeError, match="local_paths must map input names to paths"):
        resolve_inputs(["file7"], local_paths="f7.csv", cache_dir=tmp_path, allow_unverified=False)
    assert list(tmp_path.iterdir()) == []


# --- ArcGIS answers that are JSON but not a query's answer -------------------------------------


def _arcgis(url: str) -> Source:
    params = {
        "format": "csv",
        "where": "1=1",
        "out_fields": ["LSOA21CD"],
        "order_by": "LSOA21CD",
        "page_size": 2,
    }
    return Source(**{**_pinned(url).__dict__, "kind": "arcgis", "params": params})


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("error", "sent JSON that is not a query answer"),
        ({"error": "boom"}, "returned error None from .*: boom"),
        ({"features": 5}, "sent features that are not a list of records"),
        ({"features": [1, 2]}, "sent features that are not a list of records"),
    ],
    ids=["string", "error-string", "features-number", "feature-numbers"],
)
def test_arcgis_answers_of_the_wrong_shape_are_one_line(httpserver, tmp_path, page, message):
    """A proxy or a changed service answering JSON of another shape gave a TypeError."""

    def handler(request: Request) -> Response:
        answer = {"count": 2} if request.args.get("returnCountOnly") == "true" else page
        return Response(json.dumps(answer), content_type="application/json")

    httpserver.expect_request("/query").respond_with_handler(handler)
    with pytest.raises(SourceError, match=message):
        _resolve(_arcgis(httpserver.url_for("/query")), tmp_path, allow_unverified=True)
    assert list(tmp_path.iterdir()) == []

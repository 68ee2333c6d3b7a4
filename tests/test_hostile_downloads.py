"""Hostile download servers and caches: unusable, poisoned, paging forever, dripping or
silent answers are one clear error, and nothing unusable is kept."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from werkzeug import Request, Response

from iod_msoa import _sources, cli
from iod_msoa._errors import SourceError
from iod_msoa._manifest import MANIFEST, Source

from .hostile import (
    assert_one_line,
    build_fails,
    needs_data,
)

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
def test_redirect_loop_is_one_line(httpserver, tmp_path, capsys, real_config, monkeypatch):
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    monkeypatch.setitem(MANIFEST, "names", _names_source(httpserver.url_for("/a")))
    without_names = tmp_path / "config.toml"
    lines = real_config.read_text().splitlines()
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


def test_download_timeout_option_is_checked(tmp_path, capsys, real_config):
    status = cli.main(
        ["build", "--config", str(real_config), "--download-timeout", "-1", "--quiet"]
    )
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

"""Inputs are fetched, checked and cached without ever leaving a bad file under a good name."""

from __future__ import annotations

import hashlib
import json
import re
import socket
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import pytest
from werkzeug import Request, Response

from iod_msoa import _sources
from iod_msoa._errors import ChecksumError, ConfigError, SourceError
from iod_msoa._manifest import Source
from iod_msoa._sources import (
    resolve_input,
    resolve_inputs,
    sha256_file,
)

BODY = b"lsoa21cd,score\nE01000001,1.5\nE01000002,2.5\n"
BODY_SHA = hashlib.sha256(BODY).hexdigest()
OTHER_SHA = hashlib.sha256(b"something else").hexdigest()


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the retries but not their waits, so the tests stay fast."""
    monkeypatch.setattr(_sources, "RETRY_DELAYS", (0.0, 0.0, 0.0))


def _source(url: str, *, kind: str = "file", **fields: object) -> Source:
    values: dict[str, object] = {
        "name": "file7",
        "title": "A test input",
        "url": url,
        "filename": "input.csv",
        "licence": "Open Government Licence v3.0",
        "attribution": "Test attribution",
        "kind": kind,
    }
    return Source(**{**values, **fields})  # type: ignore[arg-type]


def _pinned(httpserver, *, size: int = len(BODY), sha256: str = BODY_SHA) -> Source:
    return _source(httpserver.url_for("/input.csv"), size=size, sha256=sha256)


def _resolve(source: Source, cache: Path, *, allow_unverified: bool = False, local=None):
    return resolve_input(
        source,
        local_path=local,
        cache_dir=cache,
        allow_unverified=allow_unverified,
        progress=False,
    )


# --- downloads -----------------------------------------------------------------------------


def test_download_is_verified_then_served_from_cache(httpserver, tmp_path):
    httpserver.expect_request("/input.csv").respond_with_data(BODY)
    source = _pinned(httpserver)

    first = _resolve(source, tmp_path)
    second = _resolve(source, tmp_path)

    assert (first.origin, first.status) == ("download", "verified")
    assert (second.origin, second.status) == ("cache", "verified")
    assert first.path == second.path == tmp_path / "input.csv"
    assert first.path.read_bytes() == BODY
    assert (first.sha256, first.size, first.expected_sha256) == (BODY_SHA, len(BODY), BODY_SHA)
    assert len(httpserver.log) == 1
    assert "iod-msoa/" in httpserver.log[0][0].headers["User-Agent"]


def test_checksum_mismatch_leaves_no_file(httpserver, tmp_path):
    httpserver.expect_request("/input.csv").respond_with_data(BODY)
    source = _pinned(httpserver, sha256=OTHER_SHA)

    with pytest.raises(ChecksumError) as error:
        _resolve(source, tmp_path)

    message = str(error.value)
    assert f"expected {OTHER_SHA}, got {BODY_SHA}" in message
    assert source.url in message
    assert "--allow-unverified" in message
    assert list(tmp_path.iterdir()) == []


def test_checksum_mismatch_can_be_allowed(httpserver, tmp_path):
    httpserver.expect_request("/input.csv").respond_with_data(BODY)

    resolved = _resolve(_pinned(httpserver, sha256=OTHER_SHA), tmp_path, allow_unverified=True)

    assert (resolved.status, resolved.origin) == ("unverified", "download")
    assert (resolved.sha256, resolved.expected_sha256) == (BODY_SHA, OTHER_SHA)
    assert resolved.path.read_bytes() == BODY


def test_size_differing_from_pin_is_refused(httpserver, tmp_path):
    httpserver.expect_request("/input.csv").respond_with_data(BODY)

    with pytest.raises(ChecksumError, match=f"size: expected {len(BODY) + 5} bytes, got"):
        _resolve(_pinned(httpserver, size=len(BODY) + 5), tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_body_shorter_than_content_length_is_refused(httpserver, tmp_path):
    short = Response(iter([BODY[:10]]), headers={"Content-Length": str(len(BODY))})
    short.direct_passthrough = True
    httpserver.expect_request("/input.csv").respond_with_response(short)

    with pytest.raises(SourceError, match=r"after 4 attempts.*complete message body"):
        _resolve(_pinned(httpserver), tmp_path)

    assert len(httpserver.log) == 4
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("status", [500, 503, 429])
def test_transient_http_error_is_retried(httpserver, tmp_path, status):
    httpserver.expect_oneshot_request("/input.csv").respond_with_data("busy", status=status)
    httpserver.expect_request("/input.csv").respond_with_data(BODY)

    resolved = _resolve(_pinned(httpserver), tmp_path)

    assert resolved.status == "verified"
    assert len(httpserver.log) == 2


@pytest.mark.parametrize("status", [404, 403])
def test_missing_file_is_not_retried(httpserver, tmp_path, status):
    httpserver.expect_request("/input.csv").respond_with_data("no", status=status)
    source = _pinned(httpserver)

    with pytest.raises(SourceError, match=re.escape(f"file7 from {source.url}: HTTP {status}")):
        _resolve(source, tmp_path)
    with pytest.raises(SourceError, match=r"give its path with --file7 PATH \(or file7 ="):
        _resolve(source, tmp_path)  # the error says how to go on without the download

    assert len(httpserver.log) == 2
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_gives_up_after_retries(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = _source(f"http://127.0.0.1:{port}/input.csv")

    with pytest.raises(
        SourceError, match=r"file7 from http://127\.0\.0\.1.*after 4 attempts.*--file7 PATH"
    ):
        _resolve(source, tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_corrupt_cached_file_is_downloaded_again(httpserver, tmp_path):
    httpserver.expect_request("/input.csv").respond_with_data(BODY)
    (tmp_path / "input.csv").write_bytes(BODY[:7])

    resolved = _resolve(_pinned(httpserver), tmp_path)

    assert (resolved.origin, resolved.status) == ("download", "verified")
    assert resolved.path.read_bytes() == BODY
    assert len(httpserver.log) == 1


def test_unpinned_cached_file_is_used_as_is(httpserver, tmp_path):
    (tmp_path / "input.csv").write_bytes(b"names")

    resolved = _resolve(_source(httpserver.url_for("/input.csv")), tmp_path)

    assert (resolved.origin, resolved.status, resolved.expected_sha256) == (
        "cache",
        "unpinned",
        None,
    )
    assert httpserver.log == []


# --- local files ---------------------------------------------------------------------------


def test_local_file_matching_pin_is_verified_and_not_copied(httpserver, tmp_path):
    local = tmp_path / "mine.csv"
    local.write_bytes(BODY)
    cache = tmp_path / "cache"

    resolved = _resolve(_pinned(httpserver), cache, local=local)

    assert (resolved.origin, resolved.status, resolved.path) == ("local", "verified", local)
    assert resolved.url is None
    assert not cache.exists()
    assert httpserver.log == []


def test_local_file_without_pin_is_unpinned(tmp_path):
    local = tmp_path / "names.csv"
    local.write_bytes(b"msoa21cd\n")

    resolved = _resolve(_source("http://unused.invalid/x"), tmp_path, local=local)

    assert resolved.status == "unpinned"
    assert resolved.sha256 == sha256_file(local)


def test_local_file_not_matching_pin_is_refused_unless_allowed(httpserver, tmp_path):
    local = tmp_path / "stand_in.csv"
    local.write_bytes(b"a stand-in")
    source = _pinned(httpserver)

    with pytest.raises(
        ChecksumError, match=rf"{re.escape(str(local))}.*sha256: expected {BODY_SHA}, got"
    ):
        _resolve(source, tmp_path, local=local)
    allowed = _resolve(source, tmp_path, local=local, allow_unverified=True)

    assert allowed.status == "unverified"


def test_missing_local_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.csv"

    with pytest.raises(SourceError, match=re.escape(f"file7 does not exist: {missing}")):
        _resolve(_source("http://unused.invalid/x"), tmp_path, local=missing)


# --- ArcGIS layers -------------------------------------------------------------------------

LOOKUP_FIELDS = ["OA21CD", "LSOA21CD", "LSOA21NM", "MSOA21CD", "MSOA21NM", "LAD22CD", "LAD22NM"]


def _lookup_source(httpserver, **params: object) -> Source:
    return _source(
        httpserver.url_for("/lookup/FeatureServer/0/query"),
        kind="arcgis",
        name="lookup",
        filename="lookup.csv",
        params={
            "format": "csv",
            "where": "1=1",
            "out_fields": LOOKUP_FIELDS,
            "order_by": "OA21CD",
            "page_size": 2,
            **params,
        },
    )


def _oa(i: int) -> dict[str, object]:
    values = [f"E0000000{i}", "E01000001", "City of London 001A", "E02000001"]
    values += ["City of London 001", "E09000001", "City of London"]
    return {"attributes": {**dict(zip(LOOKUP_FIELDS, values, strict=True)), "ObjectId": i}}


def _pager(features: list[dict[str, object]], *, geojson: bool = False, count: int | None = None):
    """Serve ``features`` a page at a time, flagging more pages as ArcGIS does.

    Answers a ``returnCountOnly`` query with ``count`` (default: the number of features).
    """

    def handler(request: Request) -> Response:
        if request.args.get("returnCountOnly") == "true":
            total = len(features) if count is None else count
            return Response(json.dumps({"count": total}), content_type="application/json")
        offset = int(request.args["resultOffset"])
        size = int(request.args["resultRecordCount"])
        page: dict[str, object] = {"features": features[offset : offset + size]}
        more = offset + size < len(features)
        if geojson:
            page |= {"type": "FeatureCollection", "properties": {"exceededTransferLimit": more}}
        elif more:
            page["exceededTransferLimit"] = True
        return Response(json.dumps(page), content_type="application/json")

    return handler


def test_arcgis_lookup_is_paged_into_a_lowercase_csv(httpserver, tmp_path):
    features = [_oa(i) for i in range(1, 6)]
    httpserver.expect_request("/lookup/FeatureServer/0/query").respond_with_handler(
        _pager(features)
    )

    resolved = _resolve(_lookup_source(httpserver), tmp_path)

    table = pd.read_csv(resolved.path, dtype=str)
    assert list(table.columns) == [f.lower() for f in LOOKUP_FIELDS]
    assert list(table["oa21cd"]) == [f"E0000000{i}" for i in range(1, 6)]
    assert (resolved.origin, resolved.status) == ("download", "unpinned")
    assert resolved.sha256 == sha256_file(resolved.path)
    counted, *asked = [request.args for request, _ in httpserver.log]
    assert (counted["returnCountOnly"], counted["where"]) == ("true", "1=1")
    assert [a["resultOffset"] for a in asked] == ["0", "2", "4"]
    assert asked[0]["outFields"] == ",".join(LOOKUP_FIELDS)
    first = asked[0]
    assert (first["where"], first["orderByFields"], first["f"]) == ("1=1", "OA21CD", "json")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lookup.csv.checked", "lookup.csv"]


def _always_more(features: list[dict[str, object]], count: int):
    """A server that flags more pages after every page, empty or not."""

    def handler(request: Request) -> Response:
        if request.args.get("returnCountOnly") == "true":
            return Response(json.dumps({"count": count}), content_type="application/json")
        offset = int(request.args["resultOffset"])
        page = {"features": features[offset : offset + 2], "exceededTransferLimit": True}
        return Response(json.dumps(page), content_type="application/json")

    return handler


def test_arcgis_paging_stops_at_an_empty_page(httpserver, tmp_path):
    httpserver.expect_request("/lookup/FeatureServer/0/query").respond_with_handler(
        _always_more([_oa(1)], count=1)
    )

    resolved = _resolve(_lookup_source(httpserver), tmp_path)

    assert len(pd.read_csv(resolved.path)) == 1
    assert len(httpserver.log) == 3  # the count, the page, the empty page


def test_arcgis_error_object_is_reported(httpserver, tmp_path):
    error = {"error": {"code": 400, "message": "Invalid query", "details": ["bad outFields"]}}
    httpserver.expect_request("/lookup/FeatureServer/0/query").respond_with_json(error)

    with pytest.raises(
        SourceError, match=r"lookup returned error 400.*Invalid query bad outFields"
    ):
        _resolve(_lookup_source(httpserver), tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_arcgis_layer_missing_a_field_is_reported(httpserver, tmp_path):
    httpserver.expect_request("/lookup/FeatureServer/0/query").respond_with_handler(
        _pager([_oa(1)])
    )
    source = _lookup_source(httpserver, out_fields=[*LOOKUP_FIELDS, "RGN22CD"])

    with pytest.raises(SourceError, match="has no field RGN22CD"):
        _resolve(source, tmp_path)

    assert list(tmp_path.iterdir()) == []


def _msoa(i: int) -> dict[str, object]:
    ring = [[i, 50.0], [i + 1, 50.0], [i + 1, 51.0], [i, 50.0]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"FID": i, "MSOA21CD": f"E0200000{i}", "MSOA21NM": f"Area {i}"},
    }


def test_arcgis_boundaries_are_paged_into_a_geopackage(httpserver, tmp_path):
    httpserver.expect_request("/msoa/FeatureServer/0/query").respond_with_handler(
        _pager([_msoa(i) for i in range(3)], geojson=True)
    )
    source = _source(
        httpserver.url_for("/msoa/FeatureServer/0/query"),
        kind="arcgis",
        name="boundaries",
        filename="msoa.gpkg",
        params={
            "format": "gpkg",
            "where": "1=1",
            "out_fields": ["MSOA21CD", "MSOA21NM"],
            "order_by": "MSOA21CD",
            "page_size": 2,
            "out_sr": 4326,
        },
    )

    resolved = _resolve(source, tmp_path)

    layer = gpd.read_file(resolved.path)
    assert list(layer.columns) == ["MSOA21CD", "MSOA21NM", "geometry"]
    assert list(layer["MSOA21CD"]) == ["E02000000", "E02000001", "E02000002"]
    assert layer.crs.to_epsg() == 4326
    assert [r.args["f"] for r, _ in httpserver.log] == ["json", "geojson", "geojson"]
    assert httpserver.log[1][0].args["outSR"] == "4326"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".msoa.gpkg.checked", "msoa.gpkg"]


# --- several inputs and the manifest -------------------------------------------------------


def test_resolve_inputs_mixes_local_and_downloaded(httpserver, tmp_path):
    httpserver.expect_request("/input.csv").respond_with_data(BODY)
    local = tmp_path / "names.csv"
    local.write_bytes(b"msoa21cd\n")
    manifest = {
        "file7": _pinned(httpserver),
        "names": _source("http://unused.invalid/names.csv", name="names"),
    }

    resolved = resolve_inputs(
        ["file7", "names"],
        local_paths={"names": local},
        cache_dir=tmp_path / "cache",
        allow_unverified=False,
        progress=False,
        manifest=manifest,
    )

    assert {name: r.origin for name, r in resolved.items()} == {
        "file7": "download",
        "names": "local",
    }
    provenance = json.loads(json.dumps(resolved["names"].as_dict()))
    assert provenance["file"] == local.name and "path" not in provenance  # no local path
    assert provenance["status"] == "unpinned"


def test_resolve_inputs_all_local_opens_no_http_client(tmp_path, monkeypatch):
    """Its TLS set-up alone took a third of a second of every local build."""

    def no_client(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an HTTP client was made for local inputs")

    monkeypatch.setattr(httpx, "Client", no_client)
    local = tmp_path / "names.csv"
    local.write_bytes(b"msoa21cd\n")
    resolved = resolve_inputs(
        ["names"],
        local_paths={"names": local},
        cache_dir=tmp_path / "cache",
        allow_unverified=False,
        progress=False,
        manifest={"names": _source("http://unused.invalid/names.csv", name="names")},
    )
    assert resolved["names"].origin == "local"


def test_resolve_inputs_rejects_unknown_names(tmp_path):
    with pytest.raises(ConfigError, match="Unknown input file99: the inputs are file7"):
        resolve_inputs(
            ["file7"],
            local_paths={"file99": tmp_path},
            cache_dir=tmp_path,
            allow_unverified=False,
            manifest={"file7": _source("http://unused.invalid/x")},
        )


def test_an_input_without_an_official_download_asks_for_a_local_path(tmp_path):
    with pytest.raises(SourceError, match=r"no official download: give its path.*--geographies"):
        resolve_inputs(["geographies"], local_paths={}, cache_dir=tmp_path, allow_unverified=False)

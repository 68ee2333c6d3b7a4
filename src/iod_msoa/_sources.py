"""Fetch, check and cache the official inputs listed in ``data/sources.toml``.

Inputs whose published file is fixed are pinned by size and sha256, so a build either uses
exactly the published data or says plainly that it does not. Inputs that cannot be pinned
(re-served by ONS or updated in place) are read with the checking reader instead: right
columns, codes and at least ``min_rows`` rows. Downloads are written to a temporary file and
take their final name only once checked, so an interrupted, damaged or error-page download
can never pass for a good cached copy. Every download has an overall deadline.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import geopandas as gpd
import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ._areas import read_centroids
from ._config import DOWNLOAD_TIMEOUT, file_problem
from ._console import plain_console
from ._errors import ChecksumError, ConfigError, SchemaError, SourceError
from ._geographies import ONS_LOOKUPS
from ._manifest import ARCGIS_FORMATS, MANIFEST, Source
from ._readers import read_lookup, read_names, read_ons_lookup
from ._shapes import read_boundaries

if TYPE_CHECKING:  # httpx is imported when something is downloaded: most builds read local files
    import httpx

Status = Literal["verified", "unpinned", "unverified"]
Origin = Literal["download", "cache", "local"]
T = TypeVar("T")

RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0)  # seconds to wait before each retry
STALL_TIMEOUT = 30.0  # seconds without a byte before a request counts as stalled
CONNECT_TIMEOUT = 15.0
ALLOW_HINT = "pass --allow-unverified (or allow_unverified = true in the config) to use it anyway"

# Unpinned inputs are checked by reading them: input name -> checking reader.
_CHECKS: dict[str, Callable[[Path], Any]] = {
    "names": read_names,
    "lookup": read_lookup,
    "boundaries": read_boundaries,
    "lsoa_centroids": read_centroids,
    **{name: functools.partial(read_ons_lookup, name=name) for name in ONS_LOOKUPS},
}


@functools.cache
def _user_agent() -> str:
    """Name the package in requests, so publishers can see who is downloading."""
    import httpx

    try:
        version = metadata.version("iod-msoa")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"iod-msoa/{version} (python-httpx/{httpx.__version__})"


@dataclass(frozen=True)
class ResolvedInput:
    """A checked local copy of one input, with what provenance.json needs to say about it."""

    name: str
    path: Path
    url: str | None
    sha256: str
    size: int
    expected_sha256: str | None
    status: Status
    origin: Origin
    title: str
    licence: str
    attribution: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields for provenance.json: the file's name, never this machine's path."""
        fields = asdict(self)
        del fields["path"]
        return {"file": self.path.name, **fields}


def local_hint(source: Source) -> str:
    """What to do instead of downloading: the option that takes the file's path."""
    option = source.name.replace("_", "-")
    return (
        f"or download it yourself and give its path with --{option} PATH "
        f'(or {source.name} = "PATH" under [inputs] in a --config file)'
    )


class _TransientError(Exception):
    """A failure that may pass if the request is repeated (network, HTTP 429 or 5xx)."""


class Deadline:
    """The moment a download must be finished by; checked between requests and chunks."""

    def __init__(self, source: Source, seconds: float) -> None:
        self.source, self.seconds = source, seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self) -> None:
        if self.remaining() <= 0:
            raise SourceError(
                f"Downloading {self.source.name} from {self.source.url} did not finish within "
                f"{self.seconds:.0f} s (the download deadline): the server is slow or stalled. "
                f"Try again later, allow longer with --download-timeout, {local_hint(self.source)}."
            )

    def timeout(self) -> httpx.Timeout:
        """Per-request limits: a stall ends a request, and none outlives the deadline."""
        import httpx

        left = max(self.remaining(), 0.01)
        return httpx.Timeout(min(STALL_TIMEOUT, left), connect=min(CONNECT_TIMEOUT, left))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large inputs need little memory."""
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _pin_mismatches(source: Source, *, size: int, sha256: str) -> list[str]:
    """Say how a file differs from the pinned size and sha256 (empty: it matches)."""
    problems = []
    if source.size is not None and size != source.size:
        problems.append(f"size: expected {source.size} bytes, got {size}")
    if source.sha256 is not None and sha256 != source.sha256.lower():
        problems.append(f"sha256: expected {source.sha256}, got {sha256}")
    return problems


def _decide_status(
    source: Source, *, size: int, sha256: str, allow_unverified: bool, where: str
) -> Status:
    """Verified, unpinned, or unverified by the user's choice; otherwise a ChecksumError."""
    if source.size is None and source.sha256 is None:
        return "unpinned"
    problems = _pin_mismatches(source, size=size, sha256=sha256)
    if not problems:
        return "verified"
    if allow_unverified:
        return "unverified"
    raise ChecksumError(
        f"{source.name} from {where} is not the pinned official file "
        f"({'; '.join(problems)}). It may be a re-issued release or a damaged copy; "
        f"check it, or {ALLOW_HINT}."
    )


def _arcgis_query(params: Mapping[str, Any], offset: int) -> dict[str, str | int]:
    """Query string for one page of an ArcGIS layer, in a stable order so pages do not overlap."""
    query: dict[str, str | int] = {
        "where": params["where"],
        "outFields": ",".join(params["out_fields"]),
        "orderByFields": params["order_by"],
        "resultOffset": offset,
        "resultRecordCount": params["page_size"],
        "f": ARCGIS_FORMATS[params["format"]],
    }
    if params["format"] == "gpkg":
        query["outSR"] = params["out_sr"]
    else:
        query["returnGeometry"] = "false"
    return query


def _exceeded_transfer_limit(page: Mapping[str, Any]) -> bool:
    """Whether more pages follow (GeoJSON answers put the flag under ``properties``)."""
    properties = page.get("properties") or {}
    return bool(page.get("exceededTransferLimit") or properties.get("exceededTransferLimit"))


def _resolved(
    source: Source, path: Path, *, origin: Origin, status: Status, size: int, sha256: str
) -> ResolvedInput:
    """Join what was found on disk with what the manifest says about the input."""
    return ResolvedInput(
        name=source.name,
        path=path,
        url=None if origin == "local" else source.url,
        sha256=sha256,
        size=size,
        expected_sha256=source.sha256,
        status=status,
        origin=origin,
        title=source.title,
        licence=source.licence,
        attribution=source.attribution,
    )


def _progress(show: bool, *columns: ProgressColumn | str) -> Progress:
    """A progress display on stderr, silent unless asked for and stderr is a terminal."""
    console = Console(stderr=True)
    return Progress(*columns, console=console, disable=not (show and console.is_terminal))


@contextmanager
def _http(client: httpx.Client | None) -> Iterator[httpx.Client]:
    """Use the caller's client (left open) or a new one closed afterwards."""
    import httpx

    if client is not None:
        yield client
        return
    timeout = httpx.Timeout(STALL_TIMEOUT, connect=CONNECT_TIMEOUT)
    with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=10) as new:
        yield new


def _part_prefix(target: Path) -> str:
    return f".{target.stem}."


def remove_stale_parts(target: Path) -> list[Path]:
    """Delete partial downloads of ``target`` left by runs that no longer exist (killed)."""
    removed = []
    for part in target.parent.glob(f"{_part_prefix(target)}*.part{target.suffix}"):
        pid = part.name.removeprefix(_part_prefix(target)).split(".", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        part.unlink(missing_ok=True)
        removed.append(part)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def _temporary_beside(target: Path) -> Iterator[Path]:
    """A temporary file next to ``target`` (so os.replace is atomic), removed on failure.

    Its name carries our process id, so a later run can tell a killed run's leftovers.
    """
    fd, name = tempfile.mkstemp(
        dir=target.parent,
        prefix=f"{_part_prefix(target)}{os.getpid()}.",
        suffix=f".part{target.suffix}",
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _checked_marker(target: Path) -> Path:
    """Where the sha256 of the cached copy that passed its checks is kept."""
    return target.with_name(f".{target.name}.checked")


def content_problem(source: Source, path: Path) -> str | None:
    """Why an unpinned input is not usable (wrong columns, codes, too few rows), or None."""
    check = _CHECKS.get(source.name)
    if source.pinned or check is None:
        return None
    try:
        rows = len(check(path))
    except SchemaError as exc:
        return str(exc)
    if source.min_rows is not None and rows < source.min_rows:
        return f"it has {rows:,} rows where at least {source.min_rows:,} are expected"
    return None


def _install(source: Source, tmp: Path, target: Path, *, allow_unverified: bool) -> ResolvedInput:
    """Flush, check and move a finished download into place; a bad file never gets the name."""
    with tmp.open("r+b") as fh:
        os.fsync(fh.fileno())
    size, sha256 = tmp.stat().st_size, sha256_file(tmp)
    status = _decide_status(
        source, size=size, sha256=sha256, allow_unverified=allow_unverified, where=source.url
    )
    if problem := content_problem(source, tmp):
        raise SourceError(
            f"The {source.name} download from {source.url} is not usable, so it was not "
            f"kept: {problem}. The server may be sending an error page: try again later, "
            f"{local_hint(source)}."
        )
    tmp.replace(target)
    if not source.pinned:
        _checked_marker(target).write_text(sha256, encoding="utf-8")
    return _resolved(source, target, origin="download", status=status, size=size, sha256=sha256)


def _retrying(source: Source, attempt: Callable[[], T], deadline: Deadline) -> T:
    """Run a request, retrying with backoff only failures that may pass, within the deadline."""
    for delay in RETRY_DELAYS:
        deadline.check()
        try:
            return attempt()
        except _TransientError:
            deadline.check()
            time.sleep(min(delay, max(deadline.remaining(), 0.0)))
    deadline.check()
    try:
        return attempt()
    except _TransientError as exc:
        deadline.check()
        raise SourceError(
            f"Could not download {source.name} from {source.url} after "
            f"{len(RETRY_DELAYS) + 1} attempts: {exc}. Try again later, {local_hint(source)}."
        ) from exc


def _check_status(source: Source, response: httpx.Response) -> None:
    """Raise for an HTTP error: transient ones are retried, others (404, 403...) are final."""
    if response.is_success:
        return
    status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    if response.status_code == 429 or response.status_code >= 500:
        raise _TransientError(status)
    raise SourceError(
        f"Could not download {source.name} from {response.url}: {status}. The publisher may "
        f"have moved it: check the URL in sources.toml, {local_hint(source)}."
    )


def _request_failed(source: Source, exc: httpx.RequestError) -> Exception:
    """A network failure: transient (retried) unless it cannot pass, like a redirect loop."""
    import httpx

    if isinstance(exc, httpx.TooManyRedirects):
        return SourceError(
            f"Could not download {source.name} from {source.url}: the server redirects in a "
            "loop. The publisher may have moved it: check the URL in sources.toml, "
            f"{local_hint(source)}."
        )
    return _TransientError(f"{type(exc).__name__}: {exc}")


def _stream_to(
    http: httpx.Client, source: Source, tmp: Path, show: bool, deadline: Deadline
) -> None:
    """One download attempt into ``tmp``, with a progress bar; a cut-off body is transient."""
    import httpx

    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    try:
        with http.stream(
            "GET", source.url, headers=headers, follow_redirects=True, timeout=deadline.timeout()
        ) as response:
            _check_status(source, response)
            length = response.headers.get("Content-Length")
            columns = (
                TextColumn(source.name),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
            )
            with tmp.open("wb") as fh, _progress(show, *columns) as bar:
                task = bar.add_task(source.name, total=int(length) if length else source.size)
                for chunk in response.iter_bytes():
                    fh.write(chunk)
                    bar.advance(task, len(chunk))
                    deadline.check()
    except httpx.RequestError as exc:
        # Includes a body shorter than its Content-Length: httpx refuses it as a protocol error.
        raise _request_failed(source, exc) from exc


def _download_file(
    http: httpx.Client,
    source: Source,
    target: Path,
    *,
    allow_unverified: bool,
    show: bool,
    deadline: Deadline,
) -> ResolvedInput:
    """Download a plain file, retrying transient failures, and install it once checked."""
    with _temporary_beside(target) as tmp:
        attempt = functools.partial(_stream_to, http, source, tmp, show, deadline)
        _retrying(source, attempt, deadline)
        return _install(source, tmp, target, allow_unverified=allow_unverified)


def _get_page(
    http: httpx.Client, source: Source, query: Mapping[str, Any], deadline: Deadline
) -> dict[str, Any]:
    """One answer of an ArcGIS query; an error object in the answer is final, not retried."""
    import httpx

    try:
        response = http.get(
            source.url,
            params=query,
            headers={"User-Agent": _user_agent()},
            follow_redirects=True,
            timeout=deadline.timeout(),
        )
    except httpx.RequestError as exc:
        raise _request_failed(source, exc) from exc
    _check_status(source, response)
    try:
        page = response.json()
    except ValueError as exc:
        raise SourceError(
            f"The ArcGIS service for {source.name} did not return JSON from {response.url}."
        ) from exc
    if not isinstance(page, dict):
        raise SourceError(
            f"The ArcGIS service for {source.name} sent JSON that is not a query answer "
            f"from {response.url}."
        )
    if "error" in page:
        error = page["error"] if isinstance(page["error"], dict) else {"message": page["error"]}
        details = " ".join(str(d) for d in error.get("details") or [])
        raise SourceError(
            f"The ArcGIS service for {source.name} returned error {error.get('code')} "
            f"from {response.url}: {error.get('message')} {details}".rstrip()
            + ". The service name or fields in sources.toml may be out of date."
        )
    return page


def _record_count(http: httpx.Client, source: Source, deadline: Deadline) -> int:
    """How many records the layer says it has: the limit for paging and the row check."""
    query = {"where": source.params["where"], "returnCountOnly": "true", "f": "json"}
    attempt = functools.partial(_get_page, http, source, query, deadline)
    answer = _retrying(source, attempt, deadline)
    count = answer.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise SourceError(
            f"The ArcGIS service for {source.name} at {source.url} did not say how many "
            "records it has (returnCountOnly), so its paging cannot be checked."
        )
    return count


def _fetch_features(
    http: httpx.Client, source: Source, show: bool, deadline: Deadline
) -> list[dict[str, Any]]:
    """Every feature of an ArcGIS layer, page by page until the server says there are no more.

    Paging is bounded by the layer's record count, and a page served twice (a server that
    ignores the offset) is an error rather than an endless loop.
    """
    count = _record_count(http, source, deadline)
    max_pages = math.ceil(count / source.params["page_size"]) + 1
    features: list[dict[str, Any]] = []
    previous = None
    columns = (SpinnerColumn(), TextColumn(source.name), TextColumn("{task.completed:,} features"))
    with _progress(show, *columns) as bar:
        task = bar.add_task(source.name, total=count)
        for _ in range(max_pages):
            query = _arcgis_query(source.params, len(features))
            page = _retrying(
                source, functools.partial(_get_page, http, source, query, deadline), deadline
            )
            batch = page.get("features") or []
            if not isinstance(batch, list) or not all(isinstance(f, dict) for f in batch):
                raise SourceError(
                    f"The ArcGIS service for {source.name} at {source.url} sent features that "
                    f"are not a list of records (offset {len(features):,}). Try again later, "
                    f"{local_hint(source)}."
                )
            digest = hashlib.sha256(json.dumps(batch, sort_keys=True).encode()).hexdigest()
            if batch and digest == previous:
                raise SourceError(
                    f"The ArcGIS service for {source.name} at {source.url} sent the same page "
                    f"twice (offset {len(features):,}): it is not paging. Try again later, "
                    f"{local_hint(source)}."
                )
            previous = digest
            features.extend(batch)
            bar.update(task, completed=len(features))
            if not batch or not _exceeded_transfer_limit(page):
                break
        else:
            raise SourceError(
                f"The ArcGIS service for {source.name} at {source.url} kept offering more pages "
                f"after {max_pages} pages ({len(features):,} features; it says it has "
                f"{count:,}). Try again later, {local_hint(source)}."
            )
    if len(features) != count:
        raise SourceError(
            f"The ArcGIS service for {source.name} at {source.url} sent {len(features):,} "
            f"features but says it has {count:,}: the download is incomplete. Try again later, "
            f"{local_hint(source)}."
        )
    return features


def _select_fields(source: Source, table: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Pick ``names`` from ``table`` ignoring case, since field case varies between layers."""
    found = {str(column).lower(): column for column in table.columns}
    if missing := [name for name in names if name.lower() not in found]:
        raise SourceError(
            f"The ArcGIS layer for {source.name} at {source.url} has no field "
            f"{', '.join(missing)} (it has {', '.join(map(str, table.columns))}). "
            "The fields in sources.toml may be out of date."
        )
    return table.rename(columns={found[name.lower()]: name for name in names})[names]


def _download_arcgis(
    http: httpx.Client,
    source: Source,
    target: Path,
    *,
    allow_unverified: bool,
    show: bool,
    deadline: Deadline,
) -> ResolvedInput:
    """Page through an ArcGIS layer and write it as one CSV or GeoPackage in the cache."""
    features = _fetch_features(http, source, show, deadline)
    if not features:
        raise SourceError(
            f"The ArcGIS service for {source.name} at {source.url} returned no features."
        )
    fields = list(source.params["out_fields"])
    with _temporary_beside(target) as tmp:
        if source.params["format"] == "gpkg":
            crs = f"EPSG:{source.params['out_sr']}"
            layer = gpd.GeoDataFrame.from_features(features, crs=crs)
            _select_fields(source, layer, [*fields, "geometry"]).to_file(
                tmp, driver="GPKG", layer=Path(source.filename).stem
            )
        else:
            rows = pd.DataFrame.from_records([f.get("attributes") or {} for f in features])
            table = _select_fields(source, rows, fields).rename(columns=str.lower)
            table.to_csv(tmp, index=False)
        return _install(source, tmp, target, allow_unverified=allow_unverified)


def _warn(message: str) -> None:
    plain_console(stderr=True).print(message)


def _resolve_local(source: Source, path: Path, *, allow_unverified: bool) -> ResolvedInput:
    """Check the user's own copy where it is: it is never copied into the cache."""
    if problem := file_problem(path):
        raise SourceError(f"The local file given for {source.name} {problem}: {path}")
    size, sha256 = path.stat().st_size, sha256_file(path)
    status = _decide_status(
        source, size=size, sha256=sha256, allow_unverified=allow_unverified, where=str(path)
    )
    return _resolved(source, path, origin="local", status=status, size=size, sha256=sha256)


def resolve_input(
    source: Source,
    *,
    local_path: Path | None,
    cache_dir: Path,
    allow_unverified: bool,
    progress: bool = True,
    client: httpx.Client | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
    warn: Callable[[str], None] = lambda _: None,
) -> ResolvedInput:
    """Return a checked copy of one input: the user's file, the cache, or a fresh download.

    A cached copy of an unpinned input is checked by reading it (once per content); one
    that fails is removed, with a warning naming it, and downloaded again.
    """
    if local_path is not None:
        return _resolve_local(source, Path(local_path), allow_unverified=allow_unverified)
    target = Path(cache_dir) / source.filename
    if target.is_file():
        cached = _from_cache(source, target, warn, allow_unverified=allow_unverified)
        if cached is not None:
            return cached
    if not source.url:
        option = source.name.replace("_", "-")
        raise SourceError(
            f"{source.name} ({source.title}) has no official download: give its path with "
            f'--{option} PATH (or {source.name} = "PATH" under [inputs] in a --config file).'
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(target)
    except OSError as exc:
        raise SourceError(
            f"Cannot use the download folder {target.parent}: {exc.strerror or exc}; "
            "choose another with --cache-dir"
        ) from exc
    download = _download_file if source.kind == "file" else _download_arcgis
    with _http(client) as http:
        return download(
            http,
            source,
            target,
            allow_unverified=allow_unverified,
            show=progress,
            deadline=Deadline(source, timeout),
        )


def _from_cache(
    source: Source, target: Path, warn: Callable[[str], None], *, allow_unverified: bool
) -> ResolvedInput | None:
    """The cached copy if it passes its checks (or differs from its pin, if allowed); else
    None, said in a warning (and a copy failing its content checks is removed)."""
    size, sha256 = target.stat().st_size, sha256_file(target)
    if problems := _pin_mismatches(source, size=size, sha256=sha256):
        if allow_unverified:  # as a download that differs would be: used, and recorded so
            return _resolved(
                source, target, origin="cache", status="unverified", size=size, sha256=sha256
            )
        warn(
            f"iod-msoa: warning: the cached {source.name} file {target} is not the pinned "
            f"official file ({'; '.join(problems)}); downloading it again, else {ALLOW_HINT}"
        )
        return None
    marker = _checked_marker(target)
    checked = marker.is_file() and marker.read_text(encoding="utf-8").strip() == sha256
    if not source.pinned and not checked:
        if problem := content_problem(source, target):
            target.unlink()
            marker.unlink(missing_ok=True)
            warn(
                f"iod-msoa: warning: removed the cached {source.name} file {target}, which "
                f"fails its checks ({problem[:300]}); downloading it again"
            )
            return None
        marker.write_text(sha256, encoding="utf-8")
    status = _decide_status(
        source, size=size, sha256=sha256, allow_unverified=False, where=str(target)
    )
    return _resolved(source, target, origin="cache", status=status, size=size, sha256=sha256)


def input_names(names: Iterable[str]) -> tuple[str, ...]:
    """The names of an API call as a tuple; one name as a string would be taken letter by
    letter ("Unknown input 7, e, f, i, l")."""
    if isinstance(names, str | bytes):
        raise TypeError(f"names must be a list of input names, such as [{names!r}], not one string")
    return tuple(names)


def resolve_inputs(
    names: Iterable[str],
    *,
    local_paths: Mapping[str, Path],
    cache_dir: Path,
    allow_unverified: bool,
    progress: bool = True,
    manifest: Mapping[str, Source] | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
    warn: Callable[[str], None] | None = None,
) -> dict[str, ResolvedInput]:
    """Resolve several inputs over one connection pool, stopping at the first that fails."""
    manifest = MANIFEST if manifest is None else manifest
    names = input_names(names)
    if not isinstance(local_paths, Mapping):
        raise TypeError(f"local_paths must map input names to paths, not {local_paths!r}")
    if unknown := sorted({*names, *local_paths} - manifest.keys()):
        raise ConfigError(
            f"Unknown input {', '.join(unknown)}: the inputs are {', '.join(manifest)}."
        )
    # A client (and its TLS set-up, a third of a second) only when something is downloaded.
    local = all(name in local_paths for name in names)
    with nullcontext(None) if local else _http(None) as http:
        return {
            name: resolve_input(
                manifest[name],
                local_path=local_paths.get(name),
                cache_dir=cache_dir,
                allow_unverified=allow_unverified,
                progress=progress,
                client=http,
                timeout=timeout,
                warn=warn or _warn,
            )
            for name in names
        }

"""The build: inputs -> checked tables -> MSOA dataset -> files. I/O lives here."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from ._aggregate import aggregate, area_columns
from ._config import Config, load_config, project_root
from ._errors import ConfigError, SchemaError, UnmatchedAreaError
from ._outputs import (
    DATASET,
    FILES,
    VALIDATION_FILE,
    listed_resource,
    register_file,
    staged_output,
    stale_files,
    write_dataset,
)
from ._schema import align_boundaries, read_boundaries, read_file7, read_lookup, read_names
from ._sources import MANIFEST, ResolvedInput, resolve_inputs

BUILD_INPUTS = ("file7", "lookup", "names", "boundaries")
# Tabular inputs: input name -> (Inputs attribute, checking reader).
_TABLE_READERS = {
    "file7": ("lsoa", read_file7),
    "lookup": ("lookup", read_lookup),
    "names": ("names", read_names),
}
ID_COLUMNS = ["msoa21cd", "msoa21nm", "msoa21hclnm", "lad24cd", "lad24nm"]
EPOCH_ENV = "SOURCE_DATE_EPOCH"  # https://reproducible-builds.org/specs/source-date-epoch/


def version() -> str:
    try:
        return metadata.version("iod-msoa")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def default_out_dir() -> Path:
    return project_root() / "data" / "packages" / DATASET


class Reporter:
    """Progress lines on stderr, so stdout stays clean for the summary or pipes."""

    def __init__(self, enabled: bool) -> None:
        # soft_wrap: a long path stays on one line (a terminal wraps it; a log keeps it whole)
        self.console = Console(stderr=True, quiet=not enabled, highlight=False, soft_wrap=True)
        self.start = time.perf_counter()

    def step(self, message: str) -> None:
        self.console.print(f"[dim]{time.perf_counter() - self.start:6.2f}s[/dim] {message}")

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


@dataclass
class Inputs:
    """The checked input tables and where each input came from."""

    resolved: dict[str, ResolvedInput]
    lsoa: pd.DataFrame | None = None
    lookup: pd.DataFrame | None = None
    names: pd.DataFrame | None = None

    @property
    def paths(self) -> dict[str, Path]:
        return {name: r.path for name, r in self.resolved.items()}


def resolve(
    config: Config, names: Iterable[str], *, progress: bool, reporter: Reporter
) -> dict[str, ResolvedInput]:
    """Local path or cached/downloaded official file for each named input, checked."""
    names = tuple(names)
    reporter.step(f"Resolving inputs: {', '.join(names)}")
    resolved = resolve_inputs(
        names,
        local_paths=config.inputs,
        cache_dir=config.cache_dir,
        allow_unverified=config.allow_unverified,
        progress=progress,
    )
    for r in resolved.values():
        reporter.step(f"  {r.name}: {r.path} ({r.origin}, {r.status})")
    return resolved


def read_tables(resolved: dict[str, ResolvedInput], reporter: Reporter) -> Inputs:
    """Read and check the tabular inputs among ``resolved``."""
    tables = {
        attr: reader(resolved[name].path)
        for name, (attr, reader) in _TABLE_READERS.items()
        if name in resolved
    }
    reporter.step(
        "Read and checked " + ", ".join(f"{k} ({len(v):,} rows)" for k, v in tables.items())
    )
    return Inputs(resolved=resolved, **tables)


def load_inputs(
    config: Config | None = None,
    names: Iterable[str] = BUILD_INPUTS,
    *,
    progress: bool = True,
    reporter: Reporter | None = None,
) -> Inputs:
    """Resolve (download or take local) the named inputs and read the tables among them."""
    reporter = reporter or Reporter(progress)
    resolved = resolve(config or load_config(), names, progress=progress, reporter=reporter)
    return read_tables(resolved, reporter)


def msoa_table(lsoa: pd.DataFrame, lookup: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """The MSOA dataset: aggregated measures plus names and the LAD each MSOA lies in."""
    measures = aggregate(lsoa, lookup, area="msoa21cd")
    codes = measures["msoa21cd"]
    msoa_of = lsoa[["lsoa21cd", "lad24cd", "lad24nm"]].merge(lookup, on="lsoa21cd")
    lads = msoa_of.drop_duplicates(["msoa21cd", "lad24cd"])
    split = lads["msoa21cd"].duplicated(keep=False)
    if split.any():
        shown = ", ".join(sorted(lads.loc[split, "msoa21cd"].unique())[:10])
        raise UnmatchedAreaError(f"MSOAs split across local authorities (2024): {shown}")
    ids = lads.set_index("msoa21cd")[["msoa21nm", "lad24cd", "lad24nm"]]
    hcl = names.drop_duplicates("msoa21cd").set_index("msoa21cd")["msoa21hclnm"]
    unnamed = codes[hcl.reindex(codes.to_numpy()).isna().to_numpy()]
    if len(unnamed):
        raise SchemaError(
            f"MSOA names: {len(unnamed)} MSOA(s) have no House of Commons Library name: "
            + ", ".join(unnamed.head(10))
        )
    table = measures.join(ids, on="msoa21cd").join(hcl, on="msoa21cd")
    rest = [c for c in area_columns("msoa21cd") if c != "msoa21cd"]
    return table[ID_COLUMNS + rest].reset_index(drop=True)


def build_time(resolved: dict[str, ResolvedInput]) -> tuple[str, str]:
    """The time the outputs record, and where it came from.

    ``$SOURCE_DATE_EPOCH`` when set, else the newest input file's modification time: never
    the clock, so two builds from the same inputs write the same bytes.
    """
    epoch = os.environ.get(EPOCH_ENV, "").strip()
    if epoch:
        try:
            seconds = int(epoch)
            when = datetime.fromtimestamp(seconds, UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise ConfigError(
                f"{EPOCH_ENV}={epoch!r} is not a whole number of seconds since 1970-01-01 UTC; "
                f"fix it or unset it"
            ) from exc
        source = EPOCH_ENV
    else:
        seconds = int(max(r.path.stat().st_mtime for r in resolved.values()))
        when = datetime.fromtimestamp(seconds, UTC)
        source = "modification time of the newest input file"
    return when.isoformat(timespec="seconds"), source


def fingerprint(resolved: dict[str, ResolvedInput], created: str) -> str:
    """What the outputs depend on: package version, each input's sha256 and the build time."""
    key = {
        "version": version(),
        "created": created,
        "inputs": {n: r.sha256 for n, r in sorted(resolved.items())},
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


@dataclass
class BuildResult:
    """What a build wrote and with what."""

    out_dir: Path
    table: pd.DataFrame
    provenance: dict[str, Any]
    skipped: bool = False
    seconds: float = 0.0
    paths: dict[str, Path] = field(init=False)

    def __post_init__(self) -> None:
        self.paths = {key: self.out_dir / name for key, name in FILES.items()}
        if (self.out_dir / VALIDATION_FILE).is_file():  # kept only when made from these inputs
            self.paths["validation"] = self.out_dir / VALIDATION_FILE

    @property
    def unverified(self) -> list[str]:
        return list(self.provenance.get("unverified", []))


def _current(out_dir: Path, fp: str) -> dict[str, Any] | None:
    """The existing provenance if the outputs there were built from the same inputs and
    every file still has the sha256 that datapackage.json records (none edited or damaged).
    """
    try:
        provenance = json.loads((out_dir / FILES["provenance"]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if provenance.get("fingerprint") != fp or stale_files(out_dir):
        return None
    return provenance


def _validation_to_keep(out_dir: Path, resolved: dict[str, ResolvedInput]) -> dict | None:
    """The earlier ``validation.csv``'s entry, if it was made from this build's File 7 by this
    version (then it still describes the new outputs); else ``None``.
    """
    listed = listed_resource(out_dir, VALIDATION_FILE)
    if listed is None:
        return None
    made_from = listed.get("iod_msoa", {})
    same = made_from.get("version") == version() and (
        made_from.get("inputs", {}).get("file7") == resolved["file7"].sha256
    )
    return listed if same else None


def build(
    config: Config | None = None,
    out_dir: Path | str | None = None,
    *,
    progress: bool = True,
    force: bool = False,
) -> BuildResult:
    """Build the MSOA dataset into ``out_dir`` (skipped when it is current, unless ``force``)."""
    config = config or load_config()
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir()
    reporter = Reporter(progress)
    resolved = resolve(config, BUILD_INPUTS, progress=progress, reporter=reporter)
    created, created_from = build_time(resolved)
    fp = fingerprint(resolved, created)
    if not force and (existing := _current(out_dir, fp)) is not None:
        reporter.step(f"Outputs in {out_dir} are current; nothing to do (use --force to rebuild)")
        table = pd.read_parquet(out_dir / FILES["parquet"])
        return BuildResult(out_dir, table, existing, skipped=True, seconds=reporter.elapsed())

    with ThreadPoolExecutor(max_workers=1) as pool:  # GDAL reads while pandas works
        boundaries = pool.submit(read_boundaries, resolved["boundaries"].path)
        inputs = read_tables(resolved, reporter)
        table = msoa_table(inputs.lsoa, inputs.lookup, inputs.names)
        reporter.step(f"Aggregated {len(inputs.lsoa):,} LSOAs to {len(table):,} MSOAs")
        geometry = align_boundaries(boundaries.result(), table["msoa21cd"])
    reporter.step("Read boundaries")
    provenance = {
        "dataset": DATASET,
        "package": "iod-msoa",
        "version": version(),
        "created": created,
        "created_from": created_from,
        "rows": len(table),
        "fingerprint": fp,
        "allow_unverified": config.allow_unverified,
        "unverified": [n for n, r in resolved.items() if r.status == "unverified"],
        "inputs": {n: r.as_dict() for n, r in resolved.items()},
        "official_urls": {n: MANIFEST[n].url for n in resolved},
    }
    validation = _validation_to_keep(out_dir, resolved)
    with staged_output(out_dir) as staging:
        write_dataset(
            staging, table, geometry, provenance, step=lambda s: reporter.step(f"Writing {s}")
        )
        if validation is not None:
            shutil.copyfile(out_dir / VALIDATION_FILE, staging / VALIDATION_FILE)
            about = {k: v for k, v in validation.items() if k not in ("bytes", "hash")}
            register_file(staging, VALIDATION_FILE, about)
    if validation is None:  # made from other inputs: it must not pass for this build's
        (out_dir / VALIDATION_FILE).unlink(missing_ok=True)
    reporter.step(f"Wrote {len(FILES)} files to {out_dir}")
    return BuildResult(out_dir, table, provenance, seconds=reporter.elapsed())

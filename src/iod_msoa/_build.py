"""The build: inputs -> checked tables -> MSOA dataset -> files. I/O lives here."""

from __future__ import annotations

import hashlib
import json
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
from ._errors import SchemaError, UnmatchedAreaError
from ._outputs import DATASET, FILES, output_folder, staged_output, write_dataset
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
        self.console = Console(stderr=True, quiet=not enabled, highlight=False)
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
        timeout=config.download_timeout,
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


def fingerprint(resolved: dict[str, ResolvedInput]) -> str:
    """What the outputs depend on: package version and each input's sha256."""
    key = {"version": version(), "inputs": {n: r.sha256 for n, r in sorted(resolved.items())}}
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

    @property
    def unverified(self) -> list[str]:
        return list(self.provenance.get("unverified", []))


def _current(out_dir: Path, fp: str) -> dict[str, Any] | None:
    """The existing provenance if the outputs there were built from the same inputs."""
    try:
        provenance = json.loads((out_dir / FILES["provenance"]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if provenance.get("fingerprint") != fp:
        return None
    if not all((out_dir / name).is_file() for name in FILES.values()):
        return None
    return provenance


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
    with output_folder(out_dir, reporter.step):
        return _build_locked(config, out_dir, reporter, progress=progress, force=force)


def _build_locked(
    config: Config, out_dir: Path, reporter: Reporter, *, progress: bool, force: bool
) -> BuildResult:
    """The build proper, run while this process holds the output folder's lock."""
    resolved = resolve(config, BUILD_INPUTS, progress=progress, reporter=reporter)
    fp = fingerprint(resolved)
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
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": len(table),
        "fingerprint": fp,
        "allow_unverified": config.allow_unverified,
        "unverified": [n for n, r in resolved.items() if r.status == "unverified"],
        "inputs": {n: r.as_dict() for n, r in resolved.items()},
        "official_urls": {n: MANIFEST[n].url for n in resolved},
    }
    with staged_output(out_dir) as staging:
        write_dataset(
            staging, table, geometry, provenance, step=lambda s: reporter.step(f"Writing {s}")
        )
    reporter.step(f"Wrote {len(FILES)} files to {out_dir}")
    return BuildResult(out_dir, table, provenance, seconds=reporter.elapsed())

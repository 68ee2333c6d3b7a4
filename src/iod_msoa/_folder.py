"""What an output folder holds: its files' names, its provenance, datapackage.json and
validation.csv, each read once here.

Every reader treats a file that is missing, unreadable or not what we write the same way:
as absent. So an edited or damaged package never stops a build (it is rebuilt) and never
passes for a current one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._errors import ConfigError
from ._geographies import DEFAULT_GEOGRAPHY, GEOGRAPHIES
from ._sources import sha256_file

DATASET = GEOGRAPHIES[DEFAULT_GEOGRAPHY].dataset
VALIDATION_FILE = "validation.csv"  # written by ``iod-msoa validate`` into the package
# What versions before each dataset's own ``<dataset>_provenance.json`` named it.
LEGACY_PROVENANCE = "provenance.json"


def output_files(dataset: str) -> dict[str, str]:
    """The files of one dataset (one geography): output key -> file name.

    Each name starts with the dataset's, so two packages' files can share a folder; only
    datapackage.json keeps its name, the one Frictionless tools look for.
    """
    return {
        "csv": f"{dataset}.csv",
        "parquet": f"{dataset}.parquet",
        "gpkg": f"{dataset}.gpkg",
        "xlsx": f"{dataset}.xlsx",
        "dictionary_csv": f"{dataset}_dictionary.csv",
        "dictionary_md": f"{dataset}_dictionary.md",
        "provenance": f"{dataset}_provenance.json",
        "datapackage": "datapackage.json",
    }


FILES = output_files(DATASET)


def json_text(data: object) -> str:
    """The text of every JSON file we write: indented, one final newline."""
    return json.dumps(data, indent=2, default=str) + "\n"


def write_json(path: Path, data: object) -> None:
    path.write_text(json_text(data), encoding="utf-8")


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None when it is missing, unreadable or not an object
    (or not a regular file: reading a FIFO would wait for ever)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class InputRecord:
    """One input as provenance.json records it: the file's name, never this machine's path."""

    file: str
    name: str
    url: str | None
    sha256: str
    size: int
    expected_sha256: str | None
    status: str
    origin: str
    title: str
    licence: str
    attribution: str


@dataclass(frozen=True)
class Provenance:
    """What one dataset was built from and when: provenance.json, field for field."""

    dataset: str
    geography: str
    package: str
    version: str
    created: str
    created_from: str
    rows: int
    fingerprint: str
    allow_unverified: bool
    unverified: tuple[str, ...]
    inputs: dict[str, InputRecord]
    official_urls: dict[str, str | None]

    def to_json(self) -> str:
        return json_text(asdict(self))

    @classmethod
    def from_json(cls, data: object) -> Provenance | None:
        """The provenance a parsed provenance.json holds, or None when it is not one of ours
        (a field missing, extra or of the wrong shape)."""
        if not isinstance(data, dict):
            return None
        try:
            inputs = {n: InputRecord(**i) for n, i in data["inputs"].items()}
            return cls(**(data | {"inputs": inputs, "unverified": tuple(data["unverified"])}))
        except (KeyError, TypeError, AttributeError):
            return None


def read_provenance(folder: Path, dataset: str | None = None) -> Provenance | None:
    """``dataset``'s provenance in ``folder``; without a dataset, that of whichever package
    of ours the folder holds (an earlier version's provenance.json included)."""
    if dataset is not None:
        return Provenance.from_json(_read_json(folder / output_files(dataset)["provenance"]))
    found = (Provenance.from_json(_read_json(p)) for p in sorted(folder.glob("*provenance.json")))
    return next((p for p in found if p is not None), None)


def legacy_provenance(folder: Path) -> Path | None:
    """An earlier version's provenance.json in ``folder``, if it is ours: a package built
    now records its provenance under its own name, so that file describes nothing there."""
    path = folder / LEGACY_PROVENANCE
    return path if Provenance.from_json(_read_json(path)) is not None else None


@dataclass(frozen=True)
class MadeFrom:
    """What a listed validation.csv says it was made from (its entry's ``iod_msoa``)."""

    version: object
    inputs: dict[str, Any]
    geographies: dict[str, dict[str, str]] | None  # None: not recorded per geography

    @classmethod
    def of(cls, entry: dict[str, Any]) -> MadeFrom | None:
        made_from = entry.get("iod_msoa")
        if not (isinstance(made_from, dict) and isinstance(made_from.get("inputs", {}), dict)):
            return None
        geographies = made_from.get("geographies")
        per_geography = isinstance(geographies, dict) and all(
            isinstance(used, dict) for used in geographies.values()
        )
        return cls(
            made_from.get("version"),
            made_from.get("inputs", {}),
            geographies if per_geography else None,
        )


@dataclass(frozen=True)
class Package:
    """What a folder's datapackage.json says: its name and its entries by file name.

    ``resources`` is None when the list of files cannot be read (then every file is stale);
    the name alone still says whose package the folder holds.
    """

    name: str | None
    resources: dict[str, dict[str, Any]] | None

    @classmethod
    def read(cls, folder: Path) -> Package | None:
        data = _read_json(folder / "datapackage.json")
        if data is None:
            return None
        name = str(data["name"]) if "name" in data else None
        listed = data.get("resources")
        readable = isinstance(listed, list) and all(
            isinstance(r, dict) and isinstance(r.get("path"), str) for r in listed
        )
        return cls(name, {r["path"]: r for r in listed} if readable else None)

    def entry(self, name: str) -> dict[str, Any] | None:
        return (self.resources or {}).get(name)


def file_resource(folder: Path, name: str, key: str | None = None) -> dict[str, Any]:
    """A data package entry for one file: its name, size and sha256."""
    path = folder / name
    return {
        "name": key or path.stem.replace("_", "-"),
        "path": name,
        "bytes": path.stat().st_size,
        "hash": f"sha256:{sha256_file(path)}",
    }


def _unchanged(folder: Path, name: str, entry: dict[str, Any]) -> bool:
    """Whether ``name`` is in ``folder`` with the sha256 its entry records."""
    path = folder / name
    return path.is_file() and file_resource(folder, name)["hash"] == entry.get("hash")


def stale_files(folder: Path, dataset: str = DATASET) -> list[str]:
    """Files of ``dataset`` in ``folder`` that are missing or differ from its datapackage.json.

    A missing or unreadable datapackage.json makes every output stale.
    """
    files = output_files(dataset)
    package = Package.read(folder)
    if package is None or package.resources is None:
        return list(files.values())
    listed = package.resources
    stale = [n for n in files.values() if n not in listed and n != files["datapackage"]]
    return stale + [n for n, entry in listed.items() if not _unchanged(folder, n, entry)]


def listed_resource(folder: Path, name: str) -> dict[str, Any] | None:
    """``name``'s entry in ``folder``'s datapackage.json, if the file is there and unchanged."""
    package = Package.read(folder)
    entry = None if package is None else package.entry(name)
    return entry if entry is not None and _unchanged(folder, name, entry) else None


def current(folder: Path, fingerprint: str, dataset: str) -> Provenance | None:
    """The existing provenance if the outputs there were built from the same inputs and
    every file still has the sha256 that datapackage.json records (none edited or damaged).
    """
    provenance = read_provenance(folder, dataset)
    if provenance is None or provenance.fingerprint != fingerprint:
        return None
    return None if stale_files(folder, dataset) else provenance


def package_in(folder: Path) -> str | None:
    """The name of the package ``folder`` holds (its provenance's dataset, else its
    datapackage.json's name), or None when it holds no readable package."""
    if (provenance := read_provenance(folder)) is not None:
        return provenance.dataset
    package = Package.read(folder)
    return None if package is None else package.name


def _is_entry(path: Path, entry: Path) -> bool:
    """Whether the file at ``path`` is the folder entry ``entry`` (through links, or in
    another case on a file system that ignores case): replacing the entry replaces it. A
    second hard link is not: the file lives on under its other name."""
    try:
        if not entry.is_file():  # nothing there to lose
            return False
        if path.resolve() == entry.parent.resolve() / entry.name:
            return True
        return not entry.is_symlink() and entry.stat().st_nlink == 1 and path.samefile(entry)
    except (OSError, RuntimeError):  # a missing input or a link loop: reported when read
        return False


def check_inputs_not_outputs(given: Mapping[str, Path], outputs: Iterable[Path]) -> None:
    """Refuse, before anything is written, a run that would write an output over one of
    its own inputs (File 7 kept as ``OUT/iod25_msoa.csv``, say): the input would be lost."""
    outputs = list(outputs)
    for name, path in given.items():
        for entry in outputs:
            if _is_entry(Path(path), entry):
                raise ConfigError(
                    f"the {name} input {path} is {entry}, an output this run would write "
                    "over; move the input out of that folder, or give another --out"
                )


@dataclass(frozen=True)
class EarlierValidation:
    """What to do with a ``validation.csv`` already in a folder.

    ``entry`` is its datapackage.json entry when the package lists it as made by this
    version, per geography, unchanged since: the rows of its geographies not ``dropped``
    still hold for new outputs, and for a new validation of other geographies. ``dropped``:
    the geographies whose rows were made from another copy of an input these outputs read
    (another geographies table, say), so would contradict them. ``stale`` is true when the
    package lists it as made by another version, or wholly from other inputs: it must not
    pass for these outputs. A file no package of ours lists (the user's own, or one
    ``validate`` wrote before any build) is neither.
    """

    entry: dict[str, Any] | None = None
    stale: bool = False
    dropped: tuple[str, ...] = ()

    @property
    def geographies(self) -> dict[str, dict[str, str]]:
        """The inputs each kept geography's rows were made from (none when none is kept)."""
        made_from = None if self.entry is None else MadeFrom.of(self.entry)
        every = dict(made_from.geographies or {}) if made_from is not None else {}
        return {k: used for k, used in every.items() if k not in self.dropped}

    def about(self) -> dict[str, Any]:
        """The kept file's entry for a new package: as it was, but for the dropped rows."""
        about = {k: v for k, v in (self.entry or {}).items() if k not in ("bytes", "hash")}
        if not self.dropped:
            return about
        return about | {
            "iod_msoa": made_from_record(about["iod_msoa"]["version"], self.geographies)
        }

    def copy_kept(self, source: Path, target: Path) -> None:
        """Copy the kept file to ``target``, without the rows of the dropped geographies."""
        if not self.dropped:
            shutil.copyfile(source, target)
            return
        rows = pd.read_csv(source, dtype=str, keep_default_na=False)
        rows[~rows["geography"].isin(self.dropped)].to_csv(target, index=False)


def made_from_record(version: str, geographies: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A validation.csv's ``iod_msoa`` record: the version, and the sha256 of the inputs
    each geography's rows were made from (all of them together, and per geography)."""
    return {
        "version": version,
        "inputs": {n: sha for used in geographies.values() for n, sha in sorted(used.items())},
        "geographies": dict(sorted(geographies.items())),
    }


def _contradicts(recorded: dict[str, Any], inputs: Mapping[str, str]) -> bool:
    """Whether any input ``recorded`` (name -> sha256) is one of ``inputs`` in another copy."""
    return any(name in inputs and inputs[name] != sha for name, sha in recorded.items())


def earlier_validation(folder: Path, inputs: Mapping[str, str], version: str) -> EarlierValidation:
    """The one decision on an earlier validation.csv, for build and validate alike, given
    the sha256 of each input (by name) of the outputs it would now stand beside."""
    package = Package.read(folder)
    entry = None if package is None else package.entry(VALIDATION_FILE)
    made_from = None if entry is None else MadeFrom.of(entry)
    if made_from is None or not (folder / VALIDATION_FILE).is_file():
        return EarlierValidation()
    every = made_from.geographies or {}
    dropped = tuple(k for k, used in every.items() if _contradicts(used, inputs))
    # Made from other inputs as a whole: every geography's rows, or (the record not
    # saying which) none of them.
    if made_from.version != version or (
        _contradicts(made_from.inputs, inputs) and len(dropped) in (0, len(every))
    ):
        return EarlierValidation(stale=True)
    if made_from.geographies is None or not _unchanged(folder, VALIDATION_FILE, entry):
        return EarlierValidation()
    return EarlierValidation(entry, dropped=dropped)

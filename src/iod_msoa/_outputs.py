"""Writing the dataset: CSV, Parquet, GeoPackage, Excel, data dictionary and provenance.

Everything is written into a staging folder inside the output folder (same file system, even
for a mount point) and swapped in only when every file is complete; a failed or killed run
leaves the earlier complete set. A lock on the folder keeps two runs from mixing their files.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pyogrio.errors
import xlsxwriter.exceptions

from ._errors import OutputError
from ._geographies import DEFAULT_GEOGRAPHY, GEOGRAPHIES, Geography
from ._ranking import MIN_AREAS_FOR_DECILES
from ._sources import sha256_file
from ._vocab import DENOMINATORS, METRIC_BY_SHORT, METRICS
from ._xlsx import write_xlsx

try:
    import fcntl
except ImportError:  # Windows: no folder lock
    fcntl = None

MSOA = GEOGRAPHIES[DEFAULT_GEOGRAPHY]
DATASET = MSOA.dataset
CSV_DECIMALS = 6


def output_files(dataset: str) -> dict[str, str]:
    """The files of one dataset (one geography): output key -> file name."""
    return {
        "csv": f"{dataset}.csv",
        "parquet": f"{dataset}.parquet",
        "gpkg": f"{dataset}.gpkg",
        "xlsx": f"{dataset}.xlsx",
        "dictionary_csv": f"{dataset}_dictionary.csv",
        "dictionary_md": f"{dataset}_dictionary.md",
        "provenance": "provenance.json",
        "datapackage": "datapackage.json",
    }


FILES = output_files(DATASET)
VALIDATION_FILE = "validation.csv"  # written by ``iod-msoa validate`` into the package
# The CSV is the package's table: Frictionless clients read and check it against its schema.
# The other formats hold the same table but are declared as files, which clients check by
# size and sha256 only (they cannot count rows in Parquet, GeoPackage or Excel).
TABLE_FORMATS = {"csv": "text/csv"}
FILE_FORMATS = {
    "parquet": "application/vnd.apache.parquet",
    "gpkg": "application/geopackage+sqlite3",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
GPKG_VERSION = "1.2"  # opens without warnings in GDAL 3.6 / QGIS LTR (GDAL >= 3.7 writes 1.4)
LICENCE = {
    "name": "OGL-UK-3.0",
    "title": "Open Government Licence v3.0",
    "path": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}

_HIGHER_MORE = "higher = more deprived"
_LOWER_MORE = "1 = most deprived"

# Identifier columns with more to say than "<label> code/name": description, unit.
_NAMED_COLUMNS = {
    "msoa21cd": ("MSOA code (December 2021 boundaries)", "ONS code"),
    "msoa21nm": ("MSOA name (ONS)", "text"),
    "msoa21hclnm": ("MSOA name (House of Commons Library)", "text"),
}


def _fixed_columns(geography: Geography) -> dict[str, tuple[str, str]]:
    """Identifier and count columns of a geography's table: description, unit.

    A best-fit area's code and name say so: it is not the legal area they name.
    """
    g = geography
    fit = f" (best fit: {_BEST_FIT_AREA})" if g.best_fit else ""
    columns = {
        g.code: (f"{g.label} code{fit}", "ONS code"),
        g.name: (f"{g.label} name{' (best fit)' if g.best_fit else ''}", "text"),
    }
    if g.carries_lad:
        columns |= {
            "lad24cd": (
                f"Local authority district code (2024) containing the {g.noun}",
                "ONS code",
            ),
            "lad24nm": ("Local authority district name (2024)", "text"),
        }
    columns["n_lsoa"] = (f"Number of{_best_fit(g)} LSOAs (2021) in the {g.noun}", "count")
    return columns | {k: v for k, v in _NAMED_COLUMNS.items() if k.startswith(g.key)}


_BEST_FIT_AREA = "the union of the LSOAs whose population-weighted centroid lies in the area"


def _best_fit(geography: Geography) -> str:
    """' best-fit' before 'LSOAs' where an area is made of its best-fit LSOAs."""
    return " best-fit" if geography.best_fit else ""


# Per-metric measures: description template, unit template, direction.
_MEASURE_DOCS = {
    "score": (
        "Population-weighted mean of the LSOA {label} scores (weights: {denominator})",
        "{score_unit}",
        _HIGHER_MORE,
    ),
    "rank": ("Rank of the {label} score among all {nouns} in England", "rank", _LOWER_MORE),
    "decile": (
        "Decile of the {label} rank among {nouns}: ceil(rank x 10 / number of {nouns})",
        "decile 1-10",
        "1 = most deprived 10% of {nouns}",
    ),
    "average_rank": (
        "Population-weighted mean of the LSOAs' national {label} ranks, reported MHCLG's way"
        " as 33,756 minus the mean rank (weights: {denominator})",
        "rank (1-33,755)",
        _HIGHER_MORE,
    ),
    "proportion_most_deprived_10": (
        "Share of the {noun}'s LSOAs (by count) in the most deprived 10% of LSOAs in England"
        " for {label}",
        "proportion 0-1",
        _HIGHER_MORE,
    ),
    "extent": (
        "Extent: population share living in the most deprived 30% of LSOAs nationally,"
        " weighted 1 for the most deprived 10% and sliding from 0.95 to 0.05 over percentiles"
        " 11-30 ({label})",
        "proportion 0-1",
        _HIGHER_MORE,
    ),
    "local_concentration": (
        "Local concentration: population-weighted mean reversed rank (33,756 - rank) of the"
        " {noun}'s most deprived LSOAs holding exactly 10% of its population ({label})",
        "rank (1-33,755)",
        _HIGHER_MORE,
    ),
    "scale": (
        "Scale: estimated number of people {label_lower}, the sum over LSOAs of score (rate) x"
        " {denominator}",
        "people (estimate)",
        "higher = more people deprived",
    ),
}
# Measures whose denominator is not the metric's population (the others' is).
_COUNT_DENOMINATORS = {"proportion_most_deprived_10": "Number of LSOAs in the {noun} (n_lsoa)"}

# A decile column left empty (fewer than MIN_AREAS_FOR_DECILES areas): description, unit,
# direction, as in _MEASURE_DOCS.
_EMPTY_DECILE_DOCS = (
    "Decile of the {label} rank among {nouns}: not given (empty), fewer than {fewest} {nouns};"
    " use the rank",
    "empty (fewer than {fewest} {nouns})",
    "empty (fewer than {fewest} {nouns})",
)


def empty_deciles(table: pd.DataFrame) -> list[str]:
    """The decile columns the ranking left empty: too few areas (see ``_ranking``)."""
    columns = [c for c in (f"{m.short}_decile" for m in METRICS) if c in table.columns]
    return [c for c in columns if len(table) and table[c].isna().all()]


def no_deciles_note(geography: Geography) -> str:
    """Why a table with fewer than 10 areas has no deciles, and what to use instead."""
    return (
        f"Deciles not given: fewer than {MIN_AREAS_FOR_DECILES} {geography.nouns}; use the rank "
        f"(1 = most deprived). With so few areas, ceil(rank x 10 / number of {geography.nouns}) "
        "would leave decile 1 empty, so the decile columns are left empty. The Parquet file "
        "and GeoPackage keep their integer type; a CSV cannot type an empty column, so tools "
        "that guess types from the CSV (DuckDB, for one) read them as text."
    )


def area_notes(geography: Geography, *, deciles: bool = True) -> list[tuple[str, str]]:
    """What to know before using a geography's table, by topic: best fit, missing deciles."""
    notes = [("Best fit", geography.note)] if geography.note else []
    return notes + ([] if deciles else [("Deciles", no_deciles_note(geography))])


def data_dictionary(
    columns: list[str], geography: Geography = MSOA, empty: Collection[str] = ()
) -> pd.DataFrame:
    """Describe every output column (meaning, unit, denominator, direction) from METRICS.

    ``empty``: decile columns left empty (see :func:`empty_deciles`), described as such.
    """
    denominators = {d.short: d.label for d in DENOMINATORS}
    fixed = _fixed_columns(geography)
    fit = _best_fit(geography)
    rows = []
    for col in columns:
        if col in fixed:
            desc, unit = fixed[col]
            rows.append((col, desc, unit, "", "", ""))
        elif col in denominators:
            summed = f"{denominators[col]}, summed over the {geography.noun}'s{fit} LSOAs"
            rows.append((col, summed, "people", "", "", ""))
        else:
            short, measure = _split_metric_column(col)
            metric = METRIC_BY_SHORT[short]
            desc, unit, direction = _EMPTY_DECILE_DOCS if col in empty else _MEASURE_DOCS[measure]
            fields = {
                "label": metric.label,
                "label_lower": metric.label.lower(),
                "denominator": denominators[metric.denominator].lower(),
                "score_unit": metric.score_unit,
                "noun": geography.noun,
                "nouns": geography.nouns,
                "fewest": MIN_AREAS_FOR_DECILES,
            }
            rows.append(
                (
                    col,
                    desc.format(**fields),
                    unit.format(**fields),
                    _COUNT_DENOMINATORS.get(measure, denominators[metric.denominator]).format(
                        **fields
                    ),
                    direction.format(**fields),
                    metric.short,
                )
            )
    return pd.DataFrame(
        rows, columns=["column", "description", "unit", "denominator", "direction", "metric"]
    )


def _split_metric_column(col: str) -> tuple[str, str]:
    for metric in sorted(METRICS, key=lambda m: -len(m.short)):
        prefix = f"{metric.short}_"
        if col.startswith(prefix) and col[len(prefix) :] in _MEASURE_DOCS:
            return metric.short, col[len(prefix) :]
    raise KeyError(f"no description for output column {col!r}")


def dictionary_markdown(
    dictionary: pd.DataFrame,
    provenance: dict[str, Any],
    geography: Geography = MSOA,
    *,
    deciles: bool = True,
) -> str:
    """The data dictionary as a Markdown page, with the licence and sources."""
    g = geography
    lines = [
        f"# {g.dataset}: data dictionary",
        "",
        f"English Indices of Deprivation 2025 aggregated from LSOAs to {g.nouns}; "
        f"{provenance['rows']:,} rows, one per {g.noun} in England. Package version "
        f"{provenance['version']}, built {provenance['created']}.",
        "",
        *(
            line
            for topic, text in area_notes(g, deciles=deciles)
            for line in (f"**{topic}.** {text}", "")
        ),
        "| column | description | unit | denominator | direction |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| `{r.column}` | {r.description} | {r.unit} | {r.denominator} | {r.direction} |"
        for r in dictionary.itertuples()
    ]
    lines += ["", "## Sources and licences", ""]
    lines += [
        f"- **{i['title']}** ({i['status']}): {i['attribution']} Licence: {i['licence']}."
        for i in provenance["inputs"].values()
    ]
    return "\n".join(lines) + "\n"


def _field_type(dtype: Any) -> str:
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    return "string"


def file_resource(folder: Path, name: str, key: str | None = None) -> dict[str, Any]:
    """A data package entry for one file: its name, size and sha256."""
    path = folder / name
    return {
        "name": key or path.stem.replace("_", "-"),
        "path": name,
        "bytes": path.stat().st_size,
        "hash": f"sha256:{sha256_file(path)}",
    }


def datapackage(
    folder: Path,
    table: pd.DataFrame,
    dictionary: pd.DataFrame,
    provenance: dict[str, Any],
    geography: Geography = MSOA,
    *,
    deciles: bool = True,
) -> dict[str, Any]:
    """A Frictionless data package describing every file: rows, bytes, sha256 and fields.

    Lets users (and our tests) check a download against its description. Empty cells are
    missing values (Frictionless's default), as the deciles of fewer than 10 areas are.
    """
    about = " ".join(text for _, text in area_notes(geography, deciles=deciles))
    fields = [
        {"name": r.column, "type": _field_type(table[r.column].dtype), "description": r.description}
        | ({"unit": r.unit} if r.unit else {})
        for r in dictionary.itertuples()
    ]
    resources = []
    for key, name in output_files(geography.dataset).items():
        if key == "datapackage":
            continue
        resource = file_resource(folder, name, key)
        if key in TABLE_FORMATS:
            resource |= {
                "type": "table",
                "mediatype": TABLE_FORMATS[key],
                "rows": len(table),
                "schema": {"fields": fields, "primaryKey": geography.code},
            }
        elif key in FILE_FORMATS:
            resource |= {"type": "file", "mediatype": FILE_FORMATS[key]}
        resources.append(resource)
    return {
        "name": geography.dataset.replace("_", "-"),
        "title": f"English Indices of Deprivation 2025 for {geography.title}",
        **({"description": about} if about else {}),
        "version": provenance["version"],
        "created": provenance["created"],
        "licenses": [LICENCE],
        "sources": [
            {"title": i["title"], "path": provenance["official_urls"][n], "status": i["status"]}
            for n, i in provenance["inputs"].items()
        ],
        "resources": resources,
    }


def stale_files(folder: Path, dataset: str = DATASET) -> list[str]:
    """Files of ``dataset`` in ``folder`` that are missing or differ from its datapackage.json.

    A missing or unreadable datapackage.json makes every output stale.
    """
    files = output_files(dataset)
    try:
        package = json.loads((folder / files["datapackage"]).read_text(encoding="utf-8"))
        listed = {r["path"]: r for r in package["resources"]}
    except (OSError, ValueError, KeyError, TypeError):
        return list(files.values())
    stale = [n for n in files.values() if n not in listed and n != files["datapackage"]]
    for name, resource in listed.items():
        path = folder / name
        if not path.is_file() or file_resource(folder, name)["hash"] != resource.get("hash"):
            stale.append(name)
    return stale


def register_file(folder: Path, name: str, about: dict[str, Any]) -> None:
    """Add (or replace) ``name``'s entry in ``folder``'s datapackage.json, with ``about``."""
    path = folder / "datapackage.json"
    package = json.loads(path.read_text(encoding="utf-8"))
    others = [r for r in package["resources"] if r["path"] != name]
    package["resources"] = [*others, file_resource(folder, name) | about]
    write_json(path, package)


def listed_resource(folder: Path, name: str) -> dict[str, Any] | None:
    """``name``'s entry in ``folder``'s datapackage.json, if the file is there and unchanged."""
    try:
        package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        resource = next(r for r in package["resources"] if r["path"] == name)
        current = file_resource(folder, name)
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    return resource if resource.get("hash") == current["hash"] else None


def csv_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Round floats to CSV_DECIMALS for a compact CSV; Parquet/GeoPackage keep full precision."""
    floats = table.select_dtypes("float").columns
    return table.assign(**{c: table[c].round(CSV_DECIMALS) for c in floats})


STAGING_PREFIX = ".iod-msoa-staging-"
BACKUP_PREFIX = ".iod-msoa-backup-"
_JOURNAL = ".swap.json"  # in the backup folder: the names being swapped; written last
LOW_SPACE = 16_000_000  # bytes: below this, a failed write is put down to a full disk
LOCK_WAIT = 300.0  # seconds a build waits for another build into the same folder


def _output_error(out_dir: Path, action: str, exc: OSError) -> OutputError:
    """One line saying what could not be done to which path, and why."""
    reason = exc.strerror or str(exc)
    where = exc.filename or out_dir
    return OutputError(f"cannot {action} {where}: {reason}")


def prepare_output_folder(out_dir: Path) -> Path:
    """Create ``out_dir`` (and parents); a file in the way or no permission is one clear error."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        if out_dir.is_symlink():
            raise OutputError(
                f"output folder {out_dir} is a link to {out_dir.readlink()}, which does not "
                "exist; create that folder or choose another --out"
            ) from exc
        raise OutputError(
            f"output folder {out_dir} is a file, not a folder; choose another --out"
        ) from exc
    except NotADirectoryError as exc:
        raise OutputError(
            f"output folder {out_dir} is inside something that is not a folder; "
            "choose another --out"
        ) from exc
    except OSError as exc:
        raise _output_error(out_dir, "create the output folder", exc) from exc
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write to the output folder {out_dir}: permission denied; choose another --out"
        )
    return out_dir


@contextmanager
def _locked(out_dir: Path, report: Callable[[str], None]) -> Iterator[None]:
    """Hold an exclusive lock on the folder itself, so two builds never write into one folder.

    Locking the directory leaves no lock file behind. Where ``fcntl`` is missing (Windows)
    there is no lock.
    """
    if fcntl is None:
        yield
        return
    fd = os.open(out_dir, os.O_RDONLY)
    try:
        deadline = time.monotonic() + LOCK_WAIT
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OutputError(
                        f"another iod-msoa run is still writing to {out_dir} after "
                        f"{LOCK_WAIT:.0f} s; wait for it to finish or choose another --out"
                    ) from None
                if not waiting:
                    report(f"Waiting for another iod-msoa run writing to {out_dir}")
                    waiting = True
                time.sleep(0.2)
        if not (out_dir.is_dir() and os.path.samestat(out_dir.stat(), os.fstat(fd))):
            raise OutputError(
                f"{out_dir} was removed or replaced while this run waited for it; run again"
            )
        yield
    finally:
        os.close(fd)


def _roll_back(names: list[str], backup: Path, staging: Path, out_dir: Path) -> None:
    """Undo the moves done so far: earlier files back, new files without one removed.

    A name still in staging was never moved, so its earlier file was never touched.
    """
    for name in names:
        if (staging / name).exists():
            continue
        if (backup / name).exists():
            (backup / name).replace(out_dir / name)
        elif (out_dir / name).exists():
            (out_dir / name).unlink()


def recover(out_dir: Path) -> list[str]:
    """Finish what a killed run left: roll back a half-done swap, remove staging folders.

    A swap is half done when its journal exists and some new files are still in staging;
    then the earlier set is restored. Returns what was done, for the progress log.
    """
    done = []
    for backup in sorted(out_dir.glob(f"{BACKUP_PREFIX}*")):
        staging = out_dir / (STAGING_PREFIX + backup.name.removeprefix(BACKUP_PREFIX))
        journal = backup / _JOURNAL
        if journal.is_file():
            names = json.loads(journal.read_text(encoding="utf-8"))
            if any((staging / n).exists() for n in names):
                _roll_back(names, backup, staging, out_dir)
                done.append(f"restored the earlier outputs in {out_dir} (a run was stopped)")
        shutil.rmtree(backup, ignore_errors=True)
    stale = [
        *out_dir.glob(f"{STAGING_PREFIX}*"),
        *out_dir.parent.glob(f".{out_dir.name}.staging-*"),
    ]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    if stale:
        done.append(f"removed {len(stale)} staging folder(s) left by a stopped run")
    return done


@contextmanager
def output_folder(out_dir: Path, report: Callable[[str], None] = lambda _: None) -> Iterator[Path]:
    """Create and lock ``out_dir`` for one run, first repairing what a killed run left there.

    A run that fails removes the folders it created while they are still empty, so a
    mistyped input leaves nothing behind.
    """
    created = [p for p in (out_dir, *out_dir.parents) if not p.exists()]
    prepare_output_folder(out_dir)
    with _locked(out_dir, report):
        try:
            for message in recover(out_dir):
                report(message.capitalize())
        except OSError as exc:
            raise _output_error(out_dir, "tidy the output folder", exc) from exc
        try:
            yield out_dir
        except BaseException:
            for folder in created:  # innermost first; a folder with anything in it stays
                try:
                    folder.rmdir()
                except OSError:
                    break
            raise


@contextmanager
def _uninterrupted() -> Iterator[None]:
    """Ignore Ctrl-C, SIGTERM and SIGHUP for the milliseconds of a swap, so it is never cut.

    The swap either completes (the run has then finished its work) or rolls back; a SIGKILL
    cannot be ignored, which is what :func:`recover` is for.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    signals = [getattr(signal, n) for n in names if hasattr(signal, n)]
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Move every staged file into ``out_dir``: all of them, or (on failure) none.

    Earlier files are first hard-linked into a backup folder and a journal written; then
    each new file replaces its old one atomically. If a step fails, the earlier set is put
    back; if the process is killed, :func:`recover` does the same on the next run.
    """
    names = sorted(p.name for p in staging.iterdir())
    backup = out_dir / (BACKUP_PREFIX + staging.name.removeprefix(STAGING_PREFIX))
    try:
        backup.mkdir()
        for name in names:
            if os.path.lexists(out_dir / name):
                try:
                    os.link(out_dir / name, backup / name)
                except OSError:  # no hard links on this file system: copy
                    shutil.copy2(out_dir / name, backup / name)
        (backup / _JOURNAL).write_text(json.dumps(names), encoding="utf-8")
    except OSError as exc:
        shutil.rmtree(backup, ignore_errors=True)
        raise OutputError(
            f"cannot keep a copy of the earlier outputs in {out_dir} before replacing them: "
            f"{exc.strerror or exc} ({exc.filename}); the earlier outputs are unchanged"
        ) from exc
    try:
        for name in names:
            (staging / name).replace(out_dir / name)
    except OSError as exc:
        try:
            _roll_back(names, backup, staging, out_dir)
        except OSError as again:
            raise OutputError(
                f"cannot replace {exc.filename2 or exc.filename}: {exc.strerror or exc}, and "
                f"putting the earlier outputs back failed too ({again.strerror or again}); "
                f"the earlier files are in {backup}"
            ) from exc
        shutil.rmtree(backup, ignore_errors=True)
        raise OutputError(
            f"cannot replace {exc.filename2 or exc.filename}: {exc.strerror or exc}; "
            f"the earlier outputs in {out_dir} are back in place"
        ) from exc
    shutil.rmtree(backup, ignore_errors=True)


@contextmanager
def staged_output(out_dir: Path) -> Iterator[Path]:
    """Yield a staging folder inside ``out_dir``; on success swap its files in, else discard it.

    Staging inside the output folder keeps it on the same file system, so moves are renames
    even when ``out_dir`` is a mount point. Call inside :func:`output_folder`.
    """
    try:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    except OSError as exc:
        raise _output_error(out_dir, "write in the output folder", exc) from exc
    try:
        try:
            yield staging
            for path in staging.iterdir():
                with path.open("rb") as fh:
                    os.fsync(fh.fileno())
        except (
            OSError,
            pyogrio.errors.DataSourceError,
            pyogrio.errors.DataLayerError,
            xlsxwriter.exceptions.FileCreateError,
        ) as exc:
            raise OutputError(
                f"cannot write the outputs into {out_dir}: {_reason(exc, staging)}; "
                "the earlier outputs are unchanged"
            ) from exc
        with _uninterrupted():
            _swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _reason(exc: BaseException, staging: Path) -> str:
    """Why writing failed, in words: a full disk is named as such (GDAL's message is cryptic)."""
    free = shutil.disk_usage(staging).free
    if getattr(exc, "errno", None) == errno.ENOSPC or free < LOW_SPACE:
        return (
            f"no space left on the device ({free / 1e6:.0f} MB free; the new files need room "
            "beside the earlier ones until they replace them); free some space or choose "
            "another --out"
        )
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def gdal_config(options: dict[str, str]) -> Iterator[None]:
    """GDAL configuration options set for the duration of a block, then unset."""
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(dict.fromkeys(options))


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def gpkg_description(
    provenance: dict[str, Any], geography: Geography = MSOA, *, deciles: bool = True
) -> str:
    """What the GeoPackage layer holds (its gpkg_contents description, which QGIS shows),
    with what to know first (best fit, no deciles), as the other files say it."""
    g = geography
    shapes = (
        "each shape is the union of its LSOAs' polygons"
        if g.shapes == "lsoa_boundaries"
        else "the shapes are ONS boundaries"
    )
    most = "Rank 1 and decile 1 are" if deciles else "Rank 1 is"
    return " ".join(
        [
            f"English Indices of Deprivation 2025 aggregated from LSOAs to {g.title}: "
            f"{provenance['rows']:,} rows, one per {g.noun} in England; {shapes}. {most} the "
            "most deprived.",
            *(text for _, text in area_notes(g, deciles=deciles)),
            f"Built by iod-msoa {provenance['version']}.",
        ]
    )


def xlsx_notes(
    provenance: dict[str, Any], geography: Geography = MSOA, *, deciles: bool = True
) -> list[tuple[str, str]]:
    """The workbook's Notes: what it holds, how it was made, licence and provenance."""
    g, inputs = geography, provenance["inputs"]
    most = "Rank 1 and decile 1 are" if deciles else "Rank 1 is"
    put = (
        f"put in deciles with ceil(rank x 10 / number of {g.nouns})"
        if deciles
        else f"not put in deciles (fewer than {MIN_AREAS_FOR_DECILES})"
    )
    notes = [
        (
            "What",
            f"The English Indices of Deprivation 2025 (IoD2025) aggregated from LSOAs to "
            f"{g.title}: {provenance['rows']:,} rows, one per {g.noun} in England. {most} "
            "the most deprived.",
        ),
        *area_notes(g, deciles=deciles),
        (
            "Method",
            f"Each {g.noun}'s score is the mean of its LSOAs' scores weighted by the metric's "
            f"population denominator; {g.nouns} are ranked by score (1 = highest) and {put}. "
            "The summary measures follow the IoD2025 Technical Report and reproduce MHCLG's "
            "local authority summaries.",
        ),
        (
            "Precision",
            f"Numbers rounded to {CSV_DECIMALS} decimals, as in the CSV; the Parquet file has "
            "full precision.",
        ),
        ("Licence", f"{LICENCE['title']} ({LICENCE['path']})"),
        *(
            (f"Source: {i['title']}", f"{i['attribution']} Licence: {i['licence']}.")
            for i in inputs.values()
        ),
        ("Package", f"iod-msoa {provenance['version']}"),
        ("Built", f"{provenance['created']} ({provenance['created_from']})"),
        *(
            (
                f"Input: {name}",
                f"{i['file']}, {i['size']:,} bytes, sha256 {i['sha256']} ({i['status']})",
            )
            for name, i in inputs.items()
        ),
    ]
    if provenance["unverified"]:
        notes.append(
            (
                "Warning",
                "Built from inputs whose checksum differs from the official files: "
                + ", ".join(provenance["unverified"])
                + ". Figures may differ from the official release.",
            )
        )
    return notes


def write_dataset(
    staging: Path,
    table: pd.DataFrame,
    geometry: gpd.GeoSeries,
    provenance: dict[str, Any],
    step: Callable[[str], None] = lambda _: None,
    geography: Geography = MSOA,
) -> dict[str, Path]:
    """Write every output file of the dataset into ``staging``; return their names.

    Every file depends only on the table and ``provenance`` (whose ``created`` is the
    build's fixed time), so the same inputs give the same bytes.
    """
    files = output_files(geography.dataset)
    paths = {key: staging / name for key, name in files.items()}
    created = datetime.fromisoformat(provenance["created"])
    gdf = gpd.GeoDataFrame(table, geometry=geometry.to_numpy(), crs=geometry.crs)
    empty = empty_deciles(table)
    deciles = not empty
    dictionary = data_dictionary(list(table.columns), geography, empty)
    rounded = csv_ready(table)
    # GDAL stamps the GeoPackage with the time it is written unless told the time to use.
    gdal_time = {"OGR_CURRENT_DATE": created.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    # GDAL and XlsxWriter work in threads while pyarrow writes the CSV and Parquet.
    with gdal_config(gdal_time), ThreadPoolExecutor(max_workers=2) as pool:
        step("GeoPackage, Excel, CSV and Parquet")
        gpkg = pool.submit(
            gdf.to_file,
            paths["gpkg"],
            layer=geography.dataset,
            driver="GPKG",
            engine="pyogrio",
            use_arrow=True,
            dataset_options={"VERSION": GPKG_VERSION},
            layer_options={"DESCRIPTION": gpkg_description(provenance, geography, deciles=deciles)},
            layer_metadata={
                "version": str(provenance["version"]),
                "unverified_inputs": ",".join(provenance["unverified"]) or "none",
            },
        )
        xlsx = pool.submit(
            write_xlsx,
            paths["xlsx"],
            rounded,
            dictionary,
            xlsx_notes(provenance, geography, deciles=deciles),
            title=f"English Indices of Deprivation 2025 for {geography.title}",
            created=created,
        )
        arrow = pa.Table.from_pandas(rounded, preserve_index=False)
        pa_csv.write_csv(arrow, paths["csv"], pa_csv.WriteOptions(quoting_style="needed"))
        about = json.dumps({k: provenance[k] for k in ("version", "created", "unverified")})
        full = pa.Table.from_pandas(table, preserve_index=False)
        metadata = {**(full.schema.metadata or {}), b"iod_msoa": about.encode()}
        pq.write_table(full.replace_schema_metadata(metadata), paths["parquet"])
        gpkg.result()
        xlsx.result()
    step("data dictionary")
    dictionary.to_csv(paths["dictionary_csv"], index=False)
    markdown = dictionary_markdown(dictionary, provenance, geography, deciles=deciles)
    paths["dictionary_md"].write_text(markdown, encoding="utf-8")
    write_json(paths["provenance"], provenance)
    package = datapackage(staging, table, dictionary, provenance, geography, deciles=deciles)
    write_json(paths["datapackage"], package)
    return {key: Path(name) for key, name in files.items()}

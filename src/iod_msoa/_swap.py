"""The all-or-nothing swap: a run's files are written into a staging folder inside the
output folder (same file system, even for a mount point) and swapped in only when every
file is complete; a failed or killed run leaves the earlier complete set. A lock on the
folder keeps two runs from mixing their files.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyogrio.errors
import xlsxwriter.exceptions

from ._errors import OutputError

try:
    import fcntl
except ImportError:  # Windows: no folder lock
    fcntl = None

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

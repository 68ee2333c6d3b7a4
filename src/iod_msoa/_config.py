"""Settings: which local files to use instead of downloads, and whether to accept unverified ones.

The TOML layout is a contract shared with the site and CI::

    allow_unverified = false
    [inputs]
    file7 = "path/to/File_7.csv"   # relative paths are relative to the config file
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._errors import ConfigError
from ._manifest import INPUT_NAMES

CONFIG_ENV = "IOD_MSOA_CONFIG"
_TOP_LEVEL_KEYS = {"allow_unverified", "inputs", "cache_dir", "download_timeout"}
DOWNLOAD_TIMEOUT = 600.0  # seconds one input's download may take, retries included


def user_path(value: object, where: str, base: Path | None = None) -> Path:
    """A path the user gave (option, config or API), made absolute the one way everywhere:
    ``~`` expanded, a relative path taken from ``base`` (default: the current folder) and
    links followed, so each is refused here, in one line, rather than deep in a build."""
    if not isinstance(value, str | os.PathLike) or isinstance(os.fspath(value), bytes):
        raise ConfigError(f"{where} must be a path (text), not {value!r}")
    text = os.fspath(value)
    if not text.strip():
        raise ConfigError(f"{where} must not be empty")
    if "\0" in text:
        raise ConfigError(f"{where} {text!r} contains a NUL character, which no path can hold")
    path = (base or current_folder()) / expand_user(text, where)
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:  # a loop: RuntimeError before Python 3.13
        raise ConfigError(
            f"{where} {path} cannot be followed: it is a symlink loop (a link leading back to "
            "itself); point it at a real file or folder"
        ) from exc


def expand_user(text: str, where: str) -> Path:
    """``text`` with a leading ``~`` or ``~user`` expanded, as a shell would, so a path in a
    config or ``--out=~/x`` (which the shell leaves) does not make a folder named ``~``."""
    try:
        return Path(text).expanduser()
    except RuntimeError as exc:  # ~name of no user, or no home folder at all
        raise ConfigError(
            f"{where} {text}: {Path(text).parts[0]} names no user with a home folder here"
        ) from exc


def file_problem(path: Path) -> str | None:
    """Why ``path`` is not a regular file to read (missing, a folder, a FIFO or device,
    which would be read forever or block), or None."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, device or socket): give a saved file"
    return None


def current_folder() -> Path:
    """The folder the run started in, which relative paths and the defaults are taken from."""
    try:
        return Path.cwd()
    except FileNotFoundError as exc:
        raise ConfigError(
            "the current folder no longer exists (deleted or moved while in it); "
            "change to another folder and run again"
        ) from exc


def project_root(start: Path | None = None) -> Path:
    """The Quarto project folder (holding ``_quarto.yml``) above ``start``, else ``start``.

    Pages execute in their own folder; this lets them share one cache and output folder.
    """
    start = (start or current_folder()).resolve()
    for folder in (start, *start.parents):
        if (folder / "_quarto.yml").is_file():
            return folder
    return start


@dataclass(frozen=True)
class Config:
    """Where each input comes from; inputs not listed are downloaded into ``cache_dir``."""

    inputs: dict[str, Path] = field(default_factory=dict)
    allow_unverified: bool = False
    cache_dir: Path = field(default_factory=lambda: project_root() / "data" / "raw")
    source: Path | None = None
    download_timeout: float = DOWNLOAD_TIMEOUT

    def with_overrides(
        self,
        *,
        allow_unverified: bool | None = None,
        inputs: dict[str, Path] | None = None,
        cache_dir: Path | None = None,
        download_timeout: float | None = None,
    ) -> Config:
        """This config with command-line choices on top (``None`` keeps the config's)."""
        config = self
        if allow_unverified is not None:
            config = replace(config, allow_unverified=allow_unverified)
        if inputs:
            resolved = {
                name: user_path(p, f"--{name.replace('_', '-')}") for name, p in inputs.items()
            }
            config = replace(config, inputs={**config.inputs, **resolved})
        if cache_dir is not None:
            config = replace(config, cache_dir=user_path(cache_dir, "--cache-dir"))
        if download_timeout is not None:
            config = replace(config, download_timeout=_positive_seconds(download_timeout))
        return config


def _positive_seconds(value: object, where: str = "--download-timeout") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e7:
        raise ConfigError(f"{where} must be a number of seconds above 0, not {value!r}")
    return float(value)


def _read_toml(path: Path) -> dict[str, Any]:
    """The config file's tables; each way it cannot be read is a one-line ConfigError."""
    if path.is_dir():
        raise ConfigError(f"config file {path} is a folder; give the path of a TOML file")
    if path.exists() and (problem := file_problem(path)):  # a FIFO would block the read
        raise ConfigError(f"config file {path} {problem}")
    try:
        # utf-8-sig: Windows editors may save a byte-order mark, which TOML does not allow
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {exc.start} cannot be decoded); "
            "save it as UTF-8"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} cannot be read as TOML: {exc}") from exc


def load_config(path: str | Path | None = None) -> Config:
    """Read a config file; ``None`` means ``$IOD_MSOA_CONFIG``, else the official sources."""
    if path is None:
        value = os.environ.get(CONFIG_ENV, "")
        path = value if value.strip() else None  # set but blank (`export VAR=" "`): unset
    if path is None:
        return Config()
    path = expand_user(str(path), "config file")
    if not path.is_absolute() and not path.exists():
        # Pages execute in their own folder; a relative path names one in the project.
        path = project_root() / path
    data = _read_toml(path)
    unknown = set(data) - _TOP_LEVEL_KEYS
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown key(s) {sorted(unknown)}; "
            f"allowed: {sorted(_TOP_LEVEL_KEYS)}"
        )
    allow = data.get("allow_unverified", False)
    if not isinstance(allow, bool):
        raise ConfigError(f"config file {path}: allow_unverified must be true or false")
    inputs = data.get("inputs", {})
    if not isinstance(inputs, dict):
        raise ConfigError(f"config file {path}: [inputs] must be a table of name = path")
    bad = set(inputs) - set(INPUT_NAMES)
    if bad:
        raise ConfigError(
            f"config file {path}: unknown input(s) {sorted(bad)}; known: {list(INPUT_NAMES)}"
        )
    base = path.resolve().parent
    resolved = {
        name: user_path(p, f"config file {path}: inputs.{name}", base) for name, p in inputs.items()
    }
    kwargs = {}
    if "cache_dir" in data:
        kwargs["cache_dir"] = user_path(data["cache_dir"], f"config file {path}: cache_dir", base)
    if "download_timeout" in data:
        kwargs["download_timeout"] = _positive_seconds(
            data["download_timeout"], f"config file {path}: download_timeout"
        )
    return Config(inputs=resolved, allow_unverified=allow, source=path.resolve(), **kwargs)

"""Settings: which local files to use instead of downloads, and whether to accept unverified ones.

The TOML layout is a contract shared with the site and CI::

    allow_unverified = false
    [inputs]
    file7 = "path/to/File_7.csv"   # relative paths are relative to the config file
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._errors import ConfigError
from ._manifest import INPUT_NAMES

CONFIG_ENV = "IOD_MSOA_CONFIG"
_TOP_LEVEL_KEYS = {"allow_unverified", "inputs", "cache_dir", "download_timeout"}
DOWNLOAD_TIMEOUT = 600.0  # seconds one input's download may take, retries included


def project_root(start: Path | None = None) -> Path:
    """The Quarto project folder (holding ``_quarto.yml``) above ``start``, else ``start``.

    Pages execute in their own folder; this lets them share one cache and output folder.
    """
    start = (start or Path.cwd()).resolve()
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
            resolved = {name: Path(p).expanduser().resolve() for name, p in inputs.items()}
            config = replace(config, inputs={**config.inputs, **resolved})
        if cache_dir is not None:
            config = replace(config, cache_dir=cache_dir.expanduser().resolve())
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
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
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
        path = os.environ.get(CONFIG_ENV) or None
    if path is None:
        return Config()
    path = Path(path).expanduser()
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
    resolved = {name: (base / Path(str(p)).expanduser()).resolve() for name, p in inputs.items()}
    kwargs = {}
    if "cache_dir" in data:
        kwargs["cache_dir"] = (base / str(data["cache_dir"])).resolve()
    if "download_timeout" in data:
        kwargs["download_timeout"] = _positive_seconds(
            data["download_timeout"], f"config file {path}: download_timeout"
        )
    return Config(inputs=resolved, allow_unverified=allow, source=path.resolve(), **kwargs)

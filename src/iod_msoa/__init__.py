"""English Indices of Deprivation 2025 for MSOAs (or any area built from LSOAs).

The public API: read the official inputs, aggregate with MHCLG's method, write the dataset.
``maps`` draws the figures and ``pages`` holds the website's small helpers.
"""

import importlib
from types import ModuleType

from ._aggregate import aggregate
from ._build import BuildResult, Inputs, build, load_inputs, msoa_table, version
from ._config import Config, load_config
from ._errors import (
    ChecksumError,
    ConfigError,
    IodMsoaError,
    SchemaError,
    SourceError,
    UnmatchedAreaError,
)
from ._schema import (
    DENOMINATORS,
    METRICS,
    metrics_frame,
    read_file7,
    read_lad_summaries,
    read_lookup,
    read_names,
)
from ._sources import MANIFEST, resolve_inputs
from ._validate import ValidationResult, validate

__version__ = version()

# ``maps`` and ``pages`` are not in ``__all__``: ``from iod_msoa import *`` needs only the
# base install, and they load on first use.
__all__ = [
    "DENOMINATORS",
    "MANIFEST",
    "METRICS",
    "BuildResult",
    "ChecksumError",
    "Config",
    "ConfigError",
    "Inputs",
    "IodMsoaError",
    "SchemaError",
    "SourceError",
    "UnmatchedAreaError",
    "ValidationResult",
    "aggregate",
    "build",
    "load_config",
    "load_inputs",
    "metrics_frame",
    "msoa_table",
    "read_file7",
    "read_lad_summaries",
    "read_lookup",
    "read_names",
    "resolve_inputs",
    "validate",
]


SITE_EXTRA_HINT = 'pip install "iod-msoa[site]"'


def __getattr__(name: str) -> ModuleType:
    """Import ``maps`` and ``pages`` on first use: they need the ``site`` extra (matplotlib)."""
    private = {"maps": "._maps", "pages": "._site"}
    if name not in private:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(private[name], __name__)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.partition(".")[0] == __name__:
            raise
        raise ModuleNotFoundError(
            f"iod_msoa.{name} needs {exc.name!r}, which comes with the site extra: "
            f"install iod-msoa[site] ({SITE_EXTRA_HINT})",
            name=exc.name,
        ) from exc

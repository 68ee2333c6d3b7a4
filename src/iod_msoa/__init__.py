"""English Indices of Deprivation 2025 for MSOAs (or any area built from LSOAs).

The public API: read the official inputs, aggregate with MHCLG's method, write the dataset.
``maps`` draws the figures and ``pages`` holds the website's small helpers.
"""

import importlib
from types import ModuleType

from ._aggregate import aggregate
from ._build import BuildResult, Inputs, area_table, build, build_many, load_inputs, msoa_table
from ._config import Config, load_config
from ._errors import (
    ChecksumError,
    ConfigError,
    IodMsoaError,
    SchemaError,
    SourceError,
    UnmatchedAreaError,
)
from ._geographies import GEOGRAPHIES, Geography, geographies_frame
from ._schema import (
    DENOMINATORS,
    METRICS,
    metrics_frame,
    read_file7,
    read_geographies,
    read_lad_summaries,
    read_lookup,
    read_names,
    read_summaries,
)
from ._sources import MANIFEST, resolve_inputs
from ._validate import ValidationResult, validate

__all__ = [
    "DENOMINATORS",
    "GEOGRAPHIES",
    "MANIFEST",
    "METRICS",
    "BuildResult",
    "ChecksumError",
    "Config",
    "ConfigError",
    "Geography",
    "Inputs",
    "IodMsoaError",
    "SchemaError",
    "SourceError",
    "UnmatchedAreaError",
    "ValidationResult",
    "aggregate",
    "area_table",
    "build",
    "build_many",
    "geographies_frame",
    "load_config",
    "load_inputs",
    "maps",
    "metrics_frame",
    "msoa_table",
    "pages",
    "read_file7",
    "read_geographies",
    "read_lad_summaries",
    "read_lookup",
    "read_names",
    "read_summaries",
    "resolve_inputs",
    "validate",
]


def __getattr__(name: str) -> ModuleType:
    """Import ``maps`` and ``pages`` on first use: they need the ``site`` extra (matplotlib)."""
    private = {"maps": "._maps", "pages": "._site"}
    if name in private:
        return importlib.import_module(private[name], __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""English Indices of Deprivation 2025 for MSOAs (or any area built from LSOAs).

The public API: read the official inputs, aggregate with MHCLG's method, write the dataset.
``maps`` draws the figures and ``pages`` holds the website's small helpers.

Names are imported on first use, so ``iod-msoa`` starts (and answers Ctrl-C) quickly and
``maps``/``pages`` need the ``site`` extra only when used.
"""

from __future__ import annotations

import importlib

# Public name -> private module that defines it.
_WHERE = {
    "aggregate": "_aggregate",
    **dict.fromkeys(("BuildResult", "Inputs", "build", "load_inputs", "msoa_table"), "_build"),
    **dict.fromkeys(("Config", "load_config"), "_config"),
    **dict.fromkeys(
        (
            "ChecksumError",
            "ConfigError",
            "IodMsoaError",
            "OutputError",
            "SchemaError",
            "SourceError",
            "UnmatchedAreaError",
        ),
        "_errors",
    ),
    **dict.fromkeys(
        (
            "DENOMINATORS",
            "METRICS",
            "metrics_frame",
            "read_file7",
            "read_lad_summaries",
            "read_lookup",
            "read_names",
        ),
        "_schema",
    ),
    **dict.fromkeys(("MANIFEST", "resolve_inputs"), "_sources"),
    **dict.fromkeys(("ValidationResult", "validate"), "_validate"),
}
_MODULES = {"maps": "_maps", "pages": "_site"}

__all__ = sorted([*_WHERE, *_MODULES])


def __getattr__(name: str) -> object:
    """Import a public name's module on first use."""
    if name in _MODULES:
        return importlib.import_module(f".{_MODULES[name]}", __name__)
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

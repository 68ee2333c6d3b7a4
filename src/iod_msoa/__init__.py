"""English Indices of Deprivation 2025 for MSOAs (or any area built from LSOAs).

The public API: read the official inputs, aggregate with MHCLG's method, write the dataset.
``maps`` draws the figures, ``pages`` holds the website's small helpers and ``since`` the
"Since 2019" page's.

Names are imported on first use, so ``iod-msoa`` starts (and answers Ctrl-C) quickly and
``maps``/``pages`` need the ``site`` extra only when used.
"""

from __future__ import annotations

import importlib

# Public name -> private module that defines it.
_WHERE = {
    "aggregate": "_aggregate",
    **dict.fromkeys(
        (
            "BuildResult",
            "Inputs",
            "area_table",
            "build",
            "build_areas",
            "build_many",
            "load_inputs",
            "msoa_table",
        ),
        "_build",
    ),
    **dict.fromkeys(("Config", "load_config"), "_config"),
    **dict.fromkeys(("build_change", "earlier_proof", "lsoas_still_most_deprived"), "_since"),
    "DecileKept": "_change",
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
    **dict.fromkeys(("DENOMINATORS", "METRICS", "metrics_frame"), "_vocab"),
    **dict.fromkeys(
        (
            "read_file7",
            "read_geographies",
            "read_lad_summaries",
            "read_lookup",
            "read_names",
            "read_summaries",
        ),
        "_readers",
    ),
    **dict.fromkeys(("GEOGRAPHIES", "Geography", "geographies_frame"), "_geographies"),
    "Provenance": "_folder",
    "MANIFEST": "_manifest",
    "resolve_inputs": "_sources",
    **dict.fromkeys(("ValidationResult", "validate"), "_validate"),
}
_MODULES = {"maps": "maps", "pages": "_site", "since": "_since_site"}

# ``maps``, ``pages`` and ``since`` are not in ``__all__``: ``from iod_msoa import *`` needs
# only the base install, and they load on first use.
__all__ = sorted(_WHERE)

SITE_EXTRA_HINT = 'pip install "iod-msoa[site]"'


def __getattr__(name: str) -> object:
    """Import a public name's module on first use."""
    if name == "__version__":
        return importlib.import_module("._build", __name__).version()
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f".{_MODULES[name]}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.partition(".")[0] == __name__:
            raise
        raise ModuleNotFoundError(
            f"iod_msoa.{name} needs {exc.name!r}, which comes with the site extra: "
            f"install iod-msoa[site] ({SITE_EXTRA_HINT})",
            name=exc.name,
        ) from exc


def __dir__() -> list[str]:
    return [*__all__, *_MODULES, "__version__"]

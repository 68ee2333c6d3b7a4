"""One family of errors, so the CLI can turn any input problem into one line."""

from __future__ import annotations

from collections.abc import Iterable


def shown_code(code: object) -> str:
    """A code as a message shows it: quoted when blank or padded with spaces, which would
    otherwise look like the code itself (`' E54000013'` is not `E54000013`)."""
    text = str(code)
    return text if text and text == text.strip() else repr(text)


def listed(codes: Iterable[object], limit: int = 10) -> str:
    """The first ``limit`` distinct codes, then how many more: a message stays one line."""
    distinct = list(dict.fromkeys(map(shown_code, codes)))
    more = f" and {len(distinct) - limit} more" if len(distinct) > limit else ""
    return ", ".join(distinct[:limit]) + more


class IodMsoaError(Exception):
    """Base class: a problem with the inputs or settings that the user can fix."""


class ConfigError(IodMsoaError):
    """The TOML config or a command-line option is wrong."""


class SourceError(IodMsoaError):
    """An input could not be downloaded or read."""


class ChecksumError(SourceError):
    """An input's size or sha256 differs from the pinned official value."""


class SchemaError(IodMsoaError):
    """An input table does not have the official shape: columns, codes, types or row count."""


class ZeroPopulationError(SchemaError):
    """An area whose LSOAs have no people in a weighting population: its score is undefined."""


class UnmatchedAreaError(IodMsoaError):
    """LSOAs that the lookup cannot place in a target area (or areas split across parents)."""


class OutputError(IodMsoaError):
    """The output folder cannot be created, locked or written (permissions, space, a file)."""


class MismatchError(IodMsoaError):
    """``validate --strict``: measures that should reproduce MHCLG's figures do not."""

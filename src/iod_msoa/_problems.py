"""Problems as records, rendered into a message by one rule.

Checks return :class:`Problem` records instead of raising at the first fault, so one message
can report a file's problems at once; :func:`render` is the one place that applies the caps
the README promises (at most ``MAX_PROBLEMS`` problems listed, the rest counted).
Standard library only: the metric vocabulary and the data tables use it on import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any

from ._errors import IodMsoaError

MAX_PROBLEMS = 3  # problems listed in one message; the rest are counted
MAX_ROWS = 3  # rows listed for one problem


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input or a data table, in the words a message shows."""

    text: str

    def __str__(self) -> str:
        return self.text


def render(source: str, problems: Sequence[Problem], *, every: bool = False) -> str:
    """One line: the source, then the first few problems (most basic first), then a count.

    ``every``: list them all, for the package's own data tables, which a developer fixes
    in one edit (the cap keeps a damaged input's message short).
    """
    limit = len(problems) if every else MAX_PROBLEMS
    shown = "; ".join(map(str, problems[:limit]))
    more = len(problems) - limit
    return f"{source}: {shown}" + (f"; and {more} more problem(s)" if more > 0 else "")


def fail(
    source: str, problems: Sequence[Problem], error: type[IodMsoaError], *, every: bool = False
) -> None:
    """Raise ``error`` with the rendered ``problems`` of ``source``, if there are any."""
    if problems:
        raise error(render(source, problems, every=every))


def entry_problems(kind: type, entry: Mapping[str, Any], where: str) -> list[Problem]:
    """Fields an entry of a data table lacks or does not know, for the dataclass ``kind``
    it becomes, so a typo in a table is named instead of failing as a TypeError."""
    known = {f.name for f in fields(kind)}
    required = {
        f.name for f in fields(kind) if f.default is MISSING and f.default_factory is MISSING
    }
    problems = []
    if missing := sorted(required - entry.keys()):
        problems.append(Problem(f"{where} lacks {', '.join(missing)}"))
    if unknown := sorted(entry.keys() - known):
        problems.append(Problem(f"{where} has unknown field(s) {', '.join(unknown)}"))
    return problems

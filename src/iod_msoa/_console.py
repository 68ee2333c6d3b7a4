"""Consoles that print text exactly as given.

Paths, area names and messages come from users and their files: rich would read ``[bold]``
in them as markup (and fail on ``[/]``) and ``:smile:`` as an emoji. Style is given as
:class:`rich.text.Text` spans instead, never parsed out of a string.
"""

from __future__ import annotations

from rich.console import Console


def plain_console(*, stderr: bool = False, quiet: bool = False) -> Console:
    """A console that never reads markup, emoji codes or highlights in what it prints."""
    # soft_wrap: a long path stays on one line (a terminal wraps it; a log keeps it whole)
    return Console(
        stderr=stderr, quiet=quiet, markup=False, emoji=False, highlight=False, soft_wrap=True
    )

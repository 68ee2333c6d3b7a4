"""``python -m iod_msoa``: the same as the ``iod-msoa`` command."""

from .cli import run

run()

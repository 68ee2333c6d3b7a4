"""What the CLI and the pages both report, and that the CLI stays below the site layer."""

from __future__ import annotations

import ast
from pathlib import Path

from iod_msoa import _report

CLI = Path(_report.__file__).with_name("cli.py")
SITE_LAYER = {"_site", "_figures", "_mapdata", "maps"}


def test_human_size():
    assert _report.human_size(532) == "532 B"
    assert _report.human_size(18_980) == "19 kB"
    assert _report.human_size(4_347_282) == "4.3 MB"
    assert _report.human_size(24_616_960) == "25 MB"


def test_the_cli_imports_nothing_from_the_site_layer():
    """``iod-msoa`` must not load the pages' helpers (geopandas, matplotlib) to report."""
    tree = ast.parse(CLI.read_text(encoding="utf-8"))
    imported = {
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for name in [node.module or "", *(a.name for a in node.names if not node.module)]
    }
    assert "_report" in imported
    assert not imported & SITE_LAYER, imported & SITE_LAYER

"""What both the CLI and the site's pages tell people about a build and a validation.

Light on purpose (pandas only): the CLI reports with these without loading the site layer.
"""

from __future__ import annotations

import pandas as pd


def human_size(n_bytes: int) -> str:
    """File size for people: ``4.3 MB``, ``19 kB``."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= size:
            return (
                f"{n_bytes / size:.1f} {unit}"
                if n_bytes < 10 * size
                else f"{n_bytes / size:.0f} {unit}"
            )
    return f"{n_bytes} B"


def exact_areas(comparison: pd.DataFrame, geography: str = "lad24") -> pd.Index:
    """Areas where every measure not flagged as an estimate matches MHCLG to its rounding."""
    rows = comparison[comparison["geography"] == geography]
    exact = rows[rows["note"].fillna("") == ""]
    matches = exact.groupby("area_code")["matches_published_rounding"].all()
    return matches.index[matches]

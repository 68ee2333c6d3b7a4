"""The "Since 2019" page's helpers (``iod_msoa.since``): its tables and its two figures.

Every figure and table reads the change package (``iod25_msoa_change``) and shows ranks
and deciles only: MHCLG asks users to compare relative positions between editions, not
scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ._change import APPORTIONED, DecileKept
from ._editions import CHANGE_BY_SCORE, CHANGE_METRICS
from ._figures import (
    INK,
    MAP_CRS,
    MUTED,
    draw_classes,
    draw_outlines,
    lad_outlines,
    source_line,
)

# IMD decile change, bucketed: towards the most deprived (orange) or away from it (purple).
MOVES = (
    "2+ deciles more deprived",
    "1 decile more deprived",
    "same decile",
    "1 decile less deprived",
    "2+ deciles less deprived",
)
MOVE_COLOURS = ("#b35806", "#f1a340", "#ececec", "#998ec3", "#542788")  # PuOr: colour-blind safe
STAND_IN_PLACEHOLDERS = (
    "education, health, crime, barriers to housing and services and living environment "
    "scores; the IDACI and IDAOPI rates; the six sub-domain scores"
)


def move_class(decile_change: pd.Series) -> pd.Series:
    """1..5 for :data:`MOVES`: a decile change clipped to -2..2 (negative: more deprived)."""
    return (decile_change.astype("float64").clip(-2, 2) + 3).astype("Int64")


def movement_counts(change: pd.DataFrame, metric: str = "imd") -> pd.DataFrame:
    """How many MSOAs moved how far, for all of them and for the apportioned ones."""
    moves = move_class(change[f"{metric}_decile_change"])
    apportioned = change["comparability"] == APPORTIONED
    table = pd.DataFrame(
        {
            "MSOAs": moves.value_counts(),
            "of which apportioned": moves[apportioned].value_counts(),
        }
    ).reindex(range(1, len(MOVES) + 1))
    table.index = pd.Index(MOVES, name="IMD decile, 2019 to 2025")
    return table.fillna(0).astype("int64")


def movement_map(
    areas: gpd.GeoDataFrame,
    *,
    title: str,
    source: str,
    metric: str = "imd",
    figsize: tuple[float, float] = (7.0, 7.6),
) -> Figure:
    """Each MSOA coloured by how far its decile moved, local authority outlines on top."""
    data = areas.to_crs(MAP_CRS)
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    draw_classes(ax, data.geometry, move_class(data[f"{metric}_decile_change"]), MOVE_COLOURS)
    draw_outlines(ax, lad_outlines(data).geometry, color="#8a8a8a", linewidth=0.2)
    handles = [Patch(facecolor=c, label=m) for c, m in zip(MOVE_COLOURS, MOVES, strict=True)]
    ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
    ax.set_title(title, loc="left", fontsize=12, color=INK, fontweight="bold")
    source_line(fig, source)
    return fig


def rank_scatter(change: pd.DataFrame, metric: str = "imd", *, source: str) -> Figure:
    """2019 rank against 2025 rank (1 = most deprived), apportioned MSOAs drawn on top."""
    fig, ax = plt.subplots(figsize=(6.4, 6.4), layout="constrained")
    flagged = change["comparability"] == APPORTIONED
    for rows, colour, size, label in (
        (change[~flagged], "#8da0b3", 3, "exact"),
        (change[flagged], "#c8553d", 14, "apportioned (a 2011 LSOA split across MSOAs)"),
    ):
        ax.scatter(
            rows[f"{metric}_rank_19"],
            rows[f"{metric}_rank_25"],
            s=size,
            color=colour,
            linewidths=0,
            alpha=0.8,
            label=f"{label}: {len(rows):,}",
        )
    n = len(change)
    ax.plot([1, n], [1, n], color=MUTED, linewidth=0.8)
    ax.set_xlim(0, n + 1)
    ax.set_ylim(0, n + 1)
    ax.set_aspect("equal")
    ax.set_xlabel("IMD rank among MSOAs, IoD2019 (1 = most deprived)", fontsize=9, color=INK)
    ax.set_ylabel("IMD rank among MSOAs, IoD2025", fontsize=9, color=INK)
    ax.tick_params(labelsize=8)
    ax.legend(loc="upper left", fontsize=8, frameon=False, markerscale=2)
    source_line(fig, source)
    return fig


def both_most_deprived(change: pd.DataFrame, metric: str = "imd") -> pd.DataFrame:
    """MSOAs in the most deprived decile in both editions, most deprived in 2025 first."""
    both = change[(change[f"{metric}_decile_19"] == 1) & (change[f"{metric}_decile_25"] == 1)]
    return both.sort_values(f"{metric}_rank_25")


def by_district(rows: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """How many of ``rows`` lie in each local authority district, the most first."""
    counts = rows.groupby(["lad24cd", "lad24nm"]).size().rename("MSOAs").reset_index()
    counts = counts.sort_values(["MSOAs", "lad24nm"], ascending=[False, True]).head(n)
    named = counts.rename(columns={"lad24cd": "District code", "lad24nm": "District"})
    return named.set_index("District code")


def largest_moves(
    change: pd.DataFrame, metric: str = "imd", n: int = 10, *, towards_most: bool = True
) -> pd.DataFrame:
    """The ``n`` largest rank moves one way, each with its comparability flag beside it."""
    column = f"{metric}_rank_change"
    shown = {
        "msoa21cd": "MSOA",
        "msoa21hclnm": "Name",
        "lad24nm": "District",
        f"{metric}_rank_19": "Rank 2019",
        f"{metric}_rank_25": "Rank 2025",
        column: "Change",
        f"{metric}_decile_19": "Decile 2019",
        f"{metric}_decile_25": "Decile 2025",
        "comparability": "2019 values",
    }
    moved = change.sort_values([column, "msoa21cd"], ascending=[towards_most, True]).head(n)
    return moved[list(shown)].rename(columns=shown).set_index("MSOA")


def kept_table(kept: DecileKept) -> pd.DataFrame:
    """Ours beside MHCLG's: LSOAs in the IMD2025 most deprived decile also in IMD2019's."""
    return pd.DataFrame(
        {
            "LSOAs (2021) in the IMD2025 most deprived decile also in IMD2019's": [
                f"{kept.kept:,} of {kept.of:,}",
                "not stated",
            ],
            "share": [f"{kept.percent:.2f}%", f"{kept.published_percent}%"],
        },
        index=pd.Index(["reproduced here", "MHCLG, IoD2025 release"], name="source"),
    )


def placeholders(
    metrics: Sequence[str] = CHANGE_METRICS, by_score: Sequence[str] = CHANGE_BY_SCORE
) -> pd.DataFrame:
    """Which 2019 figures the change table rests on, and whether the development File 7
    (2019) stand-in holds them officially."""
    return pd.DataFrame(
        {
            "measure": list(metrics),
            "2019 position from": [
                "average score" if m in by_score else "average of LSOA ranks" for m in metrics
            ],
            "in the stand-in": [
                "official score" if m in by_score else "official ranks (score a placeholder)"
                for m in metrics
            ],
        }
    ).set_index("measure")


def share(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage with one decimal."""
    return f"{100 * part / whole:.1f}%" if whole else "n/a"

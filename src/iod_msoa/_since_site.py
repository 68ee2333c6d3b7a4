"""The "Since 2019" page's helpers (``iod_msoa.since``): its tables and its two figures.

Every figure and table reads the change package (``iod25_msoa_change``) and shows ranks
and deciles only: MHCLG asks users to compare relative positions between editions, not
scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ._change import APPORTIONED, DecileKept
from ._editions import CHANGE_BY_SCORE, CHANGE_METRICS, Edition
from ._figures import (
    INK,
    MAP_CRS,
    MUTED,
    draw_classes,
    draw_outlines,
    lad_outlines,
    source_line,
)
from ._since import E19, EarlierProof
from ._ties import summary_ranks

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


# --- the File 10 (2019) proof: every difference from MHCLG's district summaries, explained

# An average rank that one LSOA's population this many people different would turn into
# File 10's figure is explained by the weights: File 10's populations differ slightly from
# File 6's (the stand-in's) in some districts. One that needs more is an outlier.
FEW_PEOPLE = 10
# Each reason's word in the proof table (the page defines each): placeholder scores in the
# stand-in; estimates MHCLG sums from numerators File 7 lacks; off by under one unit of
# File 10's last decimal (3-dp LSOA values); weights (one LSOA's population up to
# FEW_PEOPLE people different gives File 10's figure); an outlier, investigated.
REASONS = {
    "placeholder": "placeholders",
    "estimate": "estimates",
    "decimals": "decimals",
    "weights": "weights",
    "outlier": "outlier",
}
_KIND = (
    r"_(average_score|average_rank|proportion_most_deprived_10|extent|local_concentration|scale)$"
)


def _decimals(table: pd.DataFrame, edition: Edition) -> pd.Series:
    """Per row of the comparison: how many decimals File 10 gives its measure."""
    places = {
        f"{m.short}_{pm.measure}": pm.decimals
        for m in edition.engine_metrics
        for pm in edition.vocab_published
        if pm.applies_to(m)
    }
    return table["measure"].map(places)


def _ranks_long(lsoa: pd.DataFrame, metrics: Sequence[str], edition: Edition) -> pd.DataFrame:
    """One row per LSOA and metric: its district, tie-averaged rank (as File 10 averages
    them) and weighting population."""
    weight = {m.short: m.denominator for m in edition.engine_metrics}
    key, lad = edition.lsoa_key, edition.lad_key
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "lsoa": lsoa[key],
                    "area_code": lsoa[lad],
                    "metric": m,
                    "rank": summary_ranks(lsoa[f"{m}_rank"], edition.summary_ranks),
                    "weight": lsoa[weight[m]].astype("float64"),
                }
            )
            for m in metrics
        ],
        ignore_index=True,
    )


def people_to_match(proof: EarlierProof, edition: Edition = E19) -> pd.DataFrame:
    """Per average rank that differs from File 10: the smallest change of one LSOA's
    weighting population that gives File 10's figure exactly, and which LSOA.

    The average rank is ``N + 1 - sum(w r) / sum(w)``; one LSOA's weight changed by ``d``
    gives File 10's mean rank ``T`` when ``d = (T W - S) / (r - T)``.
    """
    t = proof.table
    rows = t[t["measure"].str.endswith("_average_rank") & ~t["matches_published_rounding"]]
    rows = rows.assign(metric=rows["measure"].str.removesuffix("_average_rank"))
    long = _ranks_long(proof.lsoa, rows["metric"].unique(), edition)
    cols = ["area_code", "area_name", "metric", "measure", "ours", "published", "diff"]
    joined = rows[cols].merge(long, on=["area_code", "metric"])
    joined["rw"] = joined["rank"] * joined["weight"]
    sums = joined.groupby(["area_code", "measure"])[["rw", "weight"]].transform("sum")
    target = edition.expected_lsoas + 1 - joined["published"]
    joined["change"] = (target * sums["weight"] - sums["rw"]) / (joined["rank"] - target)
    smallest = joined["change"].abs().groupby([joined["area_code"], joined["measure"]]).idxmin()
    best = joined.loc[smallest]
    best = best.assign(people=best["change"].abs(), now=best["weight"])
    columns = [*cols, "lsoa", "now", "change"]
    return best[[*columns, "people"]].reset_index(drop=True)


def differences(proof: EarlierProof, edition: Edition = E19) -> pd.DataFrame:
    """Every comparison that does not match File 10 at its published rounding, with the
    reason (a key of :data:`REASONS`), tried in that order."""
    t = proof.table
    rows = t[~t["matches_published_rounding"]].copy()
    kind = rows["measure"].str.extract(_KIND)[0]
    people = people_to_match(proof, edition).set_index(["area_code", "measure"])["people"]
    rows["people"] = pd.MultiIndex.from_frame(rows[["area_code", "measure"]]).map(people)
    note = rows["note"].fillna("")
    few = (kind == "average_rank") & (rows["people"] <= FEW_PEOPLE)
    # a local concentration no further off than the average ranks the weights explain
    bound = rows.loc[few, "diff"].abs().max() if few.any() else 0.0
    rows["reason"] = np.select(
        [
            note.str.startswith("not comparable"),
            note.str.startswith("estimate"),
            kind.isin(["average_score", "proportion_most_deprived_10", "extent"])
            & (rows["diff"].abs() < 10.0 ** -_decimals(rows, edition)),
            few | ((kind == "local_concentration") & (rows["diff"].abs() <= bound)),
        ],
        ["placeholder", "estimate", "decimals", "weights"],
        "outlier",
    )
    return rows


def _figure(value: float) -> str:
    """A difference to six decimals without trailing zeros: 352.31, 0.000561."""
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def proof_table(proof: EarlierProof, edition: Edition = E19) -> pd.DataFrame:
    """Per File 10 (2019) measure: districts compared, how many match at published
    rounding, the largest difference and why the rest differ."""
    t = proof.table
    diffs = differences(proof, edition)
    why = diffs.groupby("measure")["reason"].agg(
        lambda r: ", ".join(f"{n} {REASONS[k]}" for k, n in r.value_counts().items())
    )
    grouped = t.assign(abs_diff=t["diff"].abs()).groupby("measure", sort=False)
    matching = grouped["matches_published_rounding"].sum()
    table = pd.DataFrame(  # narrow, so that a phone shows the reasons without scrolling
        {"districts matching": matching.astype(str) + " of " + grouped.size().astype(str)}
    )
    table["the others"] = why.reindex(table.index).fillna("")
    table["largest difference"] = grouped["abs_diff"].max().map(_figure)
    return table.rename_axis("measure")


def weight_groups(proof: EarlierProof, edition: Edition = E19) -> pd.DataFrame:
    """Per weighting population: its average ranks, the districts differing from File 10 on
    any and on all of them, the largest difference and the most people one LSOA would need
    (the outliers left out): the same districts recur where File 10's weights differ."""
    people = people_to_match(proof, edition)
    people = people[people["people"] <= FEW_PEOPLE]
    weight = {m.short: m.denominator for m in edition.engine_metrics if m.published}
    people["population"] = people["metric"].map(weight)
    labels = {d.short: d.label for d in edition.denominators}
    measures = pd.Series(weight).value_counts().rename("average ranks")
    per_district = people.groupby(["population", "area_code"]).size()
    everywhere = per_district.eq(per_district.index.get_level_values(0).map(measures))
    table = pd.DataFrame(
        {
            "average ranks": measures,
            "districts differing": per_district.groupby(level=0).size(),
            "on all of them": everywhere.groupby(level=0).sum(),
            "largest difference": people.groupby("population")["diff"].agg(lambda d: d.abs().max()),
            "most people needed": people.groupby("population")["people"].max(),
        }
    ).fillna(0)
    table.index = table.index.map(labels)
    return table.rename_axis("weighted by").round(3)


def outlier_facts(proof: EarlierProof, edition: Edition = E19) -> pd.DataFrame:
    """For each outlier: its district's LSOAs, what change of File 6's populations would
    give File 10's figure, whether the district's other measures match, and whether File
    10's own rank of the figure agrees with the figure (a typo in one cell would not)."""
    found = people_to_match(proof, edition)
    found = found[found["people"] > FEW_PEOPLE]
    return pd.DataFrame(
        {
            f"{row.area_name} ({row.area_code}), {row.measure}": _outlier(proof, row, edition)
            for row in found.itertuples()
        }
    ).rename_axis("fact")


def _outlier(proof: EarlierProof, row: Any, edition: Edition) -> pd.Series:
    """One outlier's facts (see :func:`outlier_facts`)."""
    code, rank = row.area_code, f"{row.metric}_rank"
    here = (proof.lsoa[edition.lad_key] == code).to_numpy()
    tied = proof.lsoa[rank].duplicated(keep=False).to_numpy()
    lsoas = proof.lsoa[here]
    long = _ranks_long(proof.lsoa, [row.metric], edition)[here]  # ties over all England
    first = (lsoas[f"{row.metric}_decile"] == 1).to_numpy()
    rw, w = long["rank"] * long["weight"], long["weight"]
    target = edition.expected_lsoas + 1 - row.published
    # the most deprived decile's populations times ``factor`` give File 10's figure
    factor = (target * w[~first].sum() - rw[~first].sum()) / (
        rw[first].sum() - target * w[first].sum()
    )
    t = proof.table[proof.table["area_code"] == code]
    compared = t[(t["note"].fillna("") == "") & (t["measure"] != row.measure)]
    published = proof.file10.set_index(edition.lad_key)
    column = next(m.published for m in edition.engine_metrics if m.short == row.metric)
    others = published[f"{column}_average_rank"].drop(code)
    names = lsoas.set_index(edition.lsoa_key)[edition.lsoa_key.removesuffix("cd") + "nm"]
    return pd.Series(
        {
            "File 10's figure; ours": f"{row.published:,.2f}; {row.ours:,.2f}",
            "LSOAs in the district": f"{len(lsoas):,}",
            "of them in the most deprived decile": f"{int(first.sum()):,}",
            "of them with a tied rank": f"{int(tied[here].sum()):,}",
            "one LSOA's population that would give File 10's figure": (
                f"{row.lsoa} ({names[row.lsoa]}): {row.now + row.change:,.0f} instead of "
                f"{row.now:,.0f}"
            ),
            "or the most deprived decile's populations times": (
                f"{factor:.4f} ({(factor - 1) * w[first].sum():+,.0f} people)"
            ),
            "the district's other compared measures matching File 10": (
                f"{int(compared['matches_published_rounding'].sum())} of {len(compared)}"
            ),
            "File 10's own rank of its figure": (
                f"{published.loc[code, f'{column}_rank_of_average_rank']:.0f}"
            ),
            "the rank File 10's figure takes among File 10's": (
                f"{int((others > row.published).sum()) + 1}"
            ),
            "the rank our figure would take": f"{int((others > row.ours).sum()) + 1}",
        }
    )

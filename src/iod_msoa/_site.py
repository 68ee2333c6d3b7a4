"""What the site's pages show besides maps: banners, download links, checks, worked examples.

Every function takes the build's outputs (or the checked input tables) and returns a table
or a Markdown string, so a page cell stays one or two lines and the logic is tested here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._build import BuildResult
from ._config import Config
from ._describe import empty_deciles
from ._folder import FILES, VALIDATION_FILE, Provenance
from ._geographies import DEFAULT_GEOGRAPHY, GEOGRAPHIES, Geography
from ._manifest import MANIFEST
from ._plan import make_plan
from ._ranking import MIN_AREAS_FOR_DECILES
from ._report import exact_areas, human_size
from ._vocab import DENOMINATORS, METRIC_BY_SHORT, METRICS, PUBLISHED_MEASURES

EXPECTED_MSOAS = 6856  # MSOAs (2021) in England
# Output key -> what the file is, in the order the download box lists them.
DOWNLOAD_TEMPLATES = {
    "csv": "One row per {noun}, every measure (CSV, opens in a spreadsheet)",
    "xlsx": "The same table for Excel, then a Notes sheet: method, licence, sources, columns",
    "gpkg": "The same table with {noun} boundaries (GeoPackage, EPSG:4326, for GIS)",
    "parquet": "The same table, typed and compact (Parquet, for pandas, R, DuckDB)",
    "dictionary_csv": "Data dictionary: every column's meaning, unit and direction (CSV)",
    "dictionary_md": "Data dictionary with sources and licences (Markdown)",
    "provenance": "Provenance: inputs, checksums, package version (JSON)",
    "datapackage": "Frictionless Data Package: files, fields, licence (JSON)",
    "validation": (
        "Our figures against MHCLG's summary files, one row per validated geography, area "
        "and measure (CSV)"
    ),
}
OPTIONAL_DOWNLOADS = {"validation"}  # offered once `iod-msoa validate` has written it


def download_descriptions(geography: Geography) -> dict[str, str]:
    """What each file of a geography's dataset holds."""
    return {k: v.format(noun=geography.noun) for k, v in DOWNLOAD_TEMPLATES.items()}


DOWNLOADS = download_descriptions(GEOGRAPHIES[DEFAULT_GEOGRAPHY])


class RawHtml:
    """HTML that a page shows as it is, without Quarto adding scripts from a CDN for it.

    Quarto takes any ``text/html`` cell output for a possible JavaScript widget and then loads
    require.js and jQuery from a public CDN on the page. This object's only output is
    Markdown holding a raw HTML block, which Quarto passes through untouched.
    """

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_markdown_(self) -> str:
        longest = max((len(run) for run in re.findall(r"`+", self.html)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}{{=html}}\n{self.html}\n{fence}\n"


def tables_as_raw_html() -> None:
    """Show DataFrames in this kernel as :class:`RawHtml`; call once at the top of a page."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:  # plain Python: nothing is displayed
        return
    formatters = shell.display_formatter.formatters
    formatters["text/markdown"].for_type(
        pd.DataFrame, lambda frame: RawHtml(frame._repr_html_())._repr_markdown_()
    )
    formatters["text/html"].for_type(pd.DataFrame, lambda frame: None)


def page_link(path: str | Path, page_dir: str | Path | None = None) -> str:
    """``path`` relative to the page being rendered (Quarto runs each page in its folder)."""
    page_dir = Path(page_dir) if page_dir is not None else Path.cwd()
    return Path(os.path.relpath(Path(path).resolve(), page_dir.resolve())).as_posix()


def unverified_banner(provenance: Provenance) -> str:
    """A Quarto warning callout naming each unverified input, or ``""`` if there are none.

    Emit it from a cell with ``#| output: asis``.
    """
    if not provenance.unverified:
        return ""
    unverified = [provenance.inputs[n] for n in provenance.unverified]
    items = "\n".join(
        f"- **{i.title}**: `{i.file}` has sha256 `{i.sha256[:12]}…`, the published file `"
        f"{(i.expected_sha256 or 'unknown')[:12]}…`."
        for i in unverified
    )
    return (
        "::: {.callout-warning}\n"
        "## Built from unverified inputs\n\n"
        "This page was built from input files that are not the official published ones "
        "(their checksums differ), so its figures may differ from the official release:\n\n"
        f"{items}\n\n"
        "Rebuild from the official downloads (`iod-msoa build` with no local config) before "
        "relying on these numbers.\n"
        ":::\n"
    )


SHARED_NAMES = {FILES["datapackage"], VALIDATION_FILE}  # the same in every package


def downloads(
    paths: Mapping[str, Path],
    page_dir: str | Path | None = None,
    descriptions: Mapping[str, str] = DOWNLOADS,
) -> pd.DataFrame:
    """The built files to offer: name, the name it is saved under, link relative to the page,
    description, size.

    Every package has a ``datapackage.json`` (the name Frictionless tools look for), and
    validated ones a ``validation.csv``: saved under those names, two geographies' downloads
    would collide in one folder, so they are saved with the package's name in front.
    """
    keys = [k for k in descriptions if k not in OPTIONAL_DOWNLOADS or k in paths]
    files = [Path(paths[k]) for k in keys]
    return pd.DataFrame(
        {
            "file": [f.name for f in files],
            "saved_as": [
                f"{f.parent.name}_{f.name}" if f.name in SHARED_NAMES else f.name for f in files
            ],
            "link": [page_link(f, page_dir) for f in files],
            "description": [descriptions[k] for k in keys],
            "size": [human_size(f.stat().st_size) for f in files],
        },
        index=pd.Index(keys, name="key"),
    )


def downloads_markdown(
    paths: Mapping[str, Path],
    page_dir: str | Path | None = None,
    descriptions: Mapping[str, str] = DOWNLOADS,
) -> str:
    """The download box's table in Markdown, each link a real download of a built file."""
    table = downloads(paths, page_dir, descriptions)
    rows = (
        "| ["
        + table["file"]
        + "]("
        + table["link"]
        + '){download="'
        + table["saved_as"]
        + '"} | '
        + table["description"]
        + " | "
        + table["size"]
        + " |"
    )
    header = [
        "| File | What it holds | Size |",
        "|:----------|:----------------------------|-----:|",
    ]
    return "\n".join([*header, *rows]) + "\n"  # dashes set the columns' relative widths


def source_note(provenance: Provenance) -> str:
    """A figure's source line, flagging unverified inputs."""
    note = (
        "Source: MHCLG, English Indices of Deprivation 2025 (OGL v3.0); MSOA boundaries: ONS "
        "(OGL v3.0, contains OS data © Crown copyright and database right); aggregation: iod-msoa."
    )
    if provenance.unverified:
        note += " Built from unverified inputs: " + ", ".join(provenance.unverified) + "."
    return note


def sanity_checks(table: pd.DataFrame, lsoa: pd.DataFrame) -> pd.DataFrame:
    """Checks of the MSOA table against File 7: counts, populations, ranks and deciles."""
    n = len(table)
    pops = [d.short for d in DENOMINATORS]
    lsoa_pop = lsoa[pops].sum()
    msoa_pop = table[pops].sum()
    scores = table[[f"{m.short}_score" for m in METRICS]].to_numpy(dtype=float)
    ranks = table[[f"{m.short}_rank" for m in METRICS]].to_numpy(dtype=float, na_value=np.nan)
    order = np.argsort(-scores, axis=0, kind="stable")
    steps = np.diff(np.take_along_axis(ranks, order, axis=0), axis=0)
    monotone = (np.isnan(steps) | (steps >= 0)).all(axis=0)
    sizes = decile_sizes(table)
    low, high = int(sizes.to_numpy().min()), int(sizes.to_numpy().max())
    rows = [
        ("MSOAs in England", f"{EXPECTED_MSOAS:,}", f"{n:,}", n == EXPECTED_MSOAS),
        (
            "LSOAs aggregated (every row of File 7)",
            f"{len(lsoa):,}",
            f"{int(table['n_lsoa'].sum()):,}",
            int(table["n_lsoa"].sum()) == len(lsoa),
        ),
        *(
            (
                f"Population conserved: {d.label}",
                f"{round(lsoa_pop[d.short]):,}",
                f"{round(msoa_pop[d.short]):,}",
                abs(lsoa_pop[d.short] - msoa_pop[d.short]) <= n,  # MSOA sums are rounded
            )
            for d in DENOMINATORS
        ),
        (
            "Ranks rise as scores fall (all measures)",
            f"{len(METRICS)} of {len(METRICS)}",
            f"{int(monotone.sum())} of {len(METRICS)}",
            bool(monotone.all()),
        ),
        (
            "Ranks run from 1 to the number of MSOAs",
            f"1 to {n:,}",
            f"{int(np.nanmin(ranks)):,} to {int(np.nanmax(ranks)):,}",
            np.nanmin(ranks) == 1 and np.nanmax(ranks) <= n,
        ),
        (
            "MSOAs per decile (all measures)",
            f"{n // 10} to {-(-n // 10)}",
            f"{low} to {high}",
            n // 10 - 1 <= low and high <= -(-n // 10) + 1,  # ties may move one MSOA
        ),
    ]
    frame = pd.DataFrame(rows, columns=["check", "expected", "observed", "ok"])
    frame["ok"] = frame["ok"].map({True: "✔", False: "✘ check"})
    return frame.set_index("check")


def decile_sizes(table: pd.DataFrame) -> pd.DataFrame:
    """MSOAs in each decile (columns 1-10) of each measure (rows)."""
    deciles = table[[f"{m.short}_decile" for m in METRICS]]
    counts = deciles.apply(lambda col: col.value_counts()).T.fillna(0).astype(int)
    counts.index = [m.label for m in METRICS]
    counts.columns = counts.columns.astype(int)
    return counts.sort_index(axis=1)


def worked_example(
    lsoa: pd.DataFrame,
    lookup: pd.DataFrame,
    table: pd.DataFrame,
    msoa21cd: str,
    metric: str = "imd",
) -> tuple[pd.DataFrame, float]:
    """One MSOA's LSOAs with their weights and weighted scores, and the dataset's MSOA score.

    The last row sums the weights (1) and the weighted scores: that sum is the MSOA score.
    """
    m = METRIC_BY_SHORT[metric]
    codes = lookup.loc[lookup["msoa21cd"] == msoa21cd, "lsoa21cd"]
    rows = lsoa[lsoa["lsoa21cd"].isin(codes)].sort_values("lsoa21cd")
    weights = rows[m.denominator] / rows[m.denominator].sum()
    contribution = weights * rows[f"{metric}_score"]
    example = pd.DataFrame(
        {
            "LSOA": rows["lsoa21cd"].to_numpy(),
            "LSOA name": rows["lsoa21nm"].to_numpy(),
            "people": rows[m.denominator].round().astype(int).to_numpy(),
            "weight": weights.round(4).to_numpy(),
            "LSOA score": rows[f"{metric}_score"].round(3).to_numpy(),
            "weight × score": contribution.round(3).to_numpy(),
        }
    )
    total = pd.DataFrame(
        {
            "LSOA": ["MSOA"],
            "LSOA name": [f"{msoa21cd} (sum)"],
            "people": [int(example["people"].sum())],
            "weight": [round(float(weights.sum()), 4)],
            "LSOA score": [""],
            "weight × score": [round(float(contribution.sum()), 3)],
        }
    )
    published = float(table.loc[table["msoa21cd"] == msoa21cd, f"{metric}_score"].iloc[0])
    example["LSOA score"] = example["LSOA score"].astype(object)  # the sum row leaves it blank
    return pd.concat([example, total], ignore_index=True).set_index("LSOA"), published


def plain_pandas_check(
    table: pd.DataFrame, scores: pd.DataFrame, ranks: pd.DataFrame, deciles: pd.DataFrame
) -> pd.DataFrame:
    """Per metric: whether a plain-pandas result (columns named by File 7's score headers,
    rows by MSOA code) equals the package's ``table``. Raises if it does not, so a page
    cannot show the method one way and compute it another.
    """
    ours = table.set_index("msoa21cd").reindex(scores.index)
    check = pd.DataFrame(
        {
            "largest score difference": [
                (scores[m.score] - ours[f"{m.short}_score"]).abs().max() for m in METRICS
            ],
            "same ranks": [ranks[m.score].eq(ours[f"{m.short}_rank"]).all() for m in METRICS],
            "same deciles": [deciles[m.score].eq(ours[f"{m.short}_decile"]).all() for m in METRICS],
        },
        index=pd.Index([m.short for m in METRICS], name="measure"),
    )
    extra = sorted(set(scores) - {m.score for m in METRICS})
    same = (check["largest score difference"] < 1e-9) & check["same ranks"] & check["same deciles"]
    if extra or len(scores) != len(table) or not same.all():
        differ = ", ".join(check.index[~same])
        raise AssertionError(
            f"plain pandas differs from the package: {differ or 'no measure'}; "
            f"extra score columns: {extra or 'none'}; {len(scores)} rows vs {len(table)}"
        )
    return check


def measures_table() -> pd.DataFrame:
    """The 16 measures: name, kind, and the population that weighs each LSOA's score."""
    denominators = {d.short: d.label for d in DENOMINATORS}
    return pd.DataFrame(
        {
            "measure": [m.label for m in METRICS],
            "kind": [m.kind for m in METRICS],
            "LSOAs weighted by": [denominators[m.denominator] for m in METRICS],
        },
        index=pd.Index([m.short for m in METRICS], name="column prefix"),
    )


def most_deprived_msoa(table: pd.DataFrame, lad24cd: str, metric: str = "imd") -> pd.Series:
    """The row of the most deprived MSOA (by ``metric`` rank) in a local authority."""
    rows = table[table["lad24cd"] == lad24cd]
    return rows.loc[rows[f"{metric}_rank"].astype(float).idxmin()]


def validation_overview(summary: pd.DataFrame) -> pd.DataFrame:
    """``validate().summary`` for people: LADs matching to published rounding, largest gap."""
    return pd.DataFrame(
        {
            "measure": summary["measure"],
            "LADs matching MHCLG": summary["n_matching"].astype(int).astype(str)
            + " of "
            + summary["n_areas"].astype(int).astype(str),
            "largest difference": summary["max_abs_diff"].map("{:.4g}".format),
            "note": summary["note"].fillna(""),
        }
    ).set_index("measure")


def lad_lsoas(lsoa: pd.DataFrame, lookup: pd.DataFrame, lad24cd: str) -> pd.DataFrame:
    """The LSOAs of one local authority with the MSOA each lies in."""
    return msoa_lsoas(lsoa[lsoa["lad24cd"] == lad24cd], lookup)


def local_table(table: pd.DataFrame, lad24cd: str, metric: str = "imd") -> pd.DataFrame:
    """One local authority's MSOAs by name, most deprived first, with national rank and decile.

    ``#`` numbers them as ``_figures.local_map`` does (1 = most deprived).
    """
    rows = table[table["lad24cd"] == lad24cd].sort_values(f"{metric}_rank", kind="stable")
    return pd.DataFrame(
        {
            "#": range(1, len(rows) + 1),
            "MSOA": rows["msoa21cd"].to_numpy(),
            "name (House of Commons Library)": rows["msoa21hclnm"].to_numpy(),
            "LSOAs": rows["n_lsoa"].to_numpy(),
            "people": rows["pop_total"].map("{:,}".format).to_numpy(),
            "score": rows[f"{metric}_score"].round(2).to_numpy(),
            f"rank of {len(table):,}": rows[f"{metric}_rank"].to_numpy(),
            "decile": rows[f"{metric}_decile"].to_numpy(),
            "LSOAs in most deprived 10%": rows[f"{metric}_proportion_most_deprived_10"]
            .map("{:.0%}".format)
            .to_numpy(),
        }
    ).set_index("#")


def score_correlations(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Spearman rank correlations between the metrics' scores, labelled by short name."""
    scores = table[[f"{m}_score" for m in metrics]].set_axis(metrics, axis=1)
    return scores.corr(method="spearman")


def msoa_lsoas(lsoa: pd.DataFrame, lookup: pd.DataFrame) -> pd.DataFrame:
    """Every LSOA with the MSOA it lies in."""
    return lsoa.merge(lookup[["lsoa21cd", "msoa21cd"]], on="lsoa21cd", how="left")


def within_msoa_spread(
    lsoas: pd.DataFrame, table: pd.DataFrame, metric: str = "imd"
) -> pd.DataFrame:
    """Per MSOA: its score, and the lowest and highest score and LSOA decile inside it.

    ``lsoas`` has ``msoa21cd`` (see :func:`msoa_lsoas`); widest spread first.
    """
    grouped = lsoas.groupby("msoa21cd")
    spread = pd.DataFrame(
        {
            "lowest LSOA score": grouped[f"{metric}_score"].min(),
            "highest LSOA score": grouped[f"{metric}_score"].max(),
            "LSOA deciles": grouped[f"{metric}_decile"].min().astype(str)
            + " to "
            + grouped[f"{metric}_decile"].max().astype(str),
        }
    )
    spread["range"] = spread["highest LSOA score"] - spread["lowest LSOA score"]
    info = table.set_index("msoa21cd")[
        ["msoa21hclnm", "lad24nm", f"{metric}_score", f"{metric}_decile"]
    ]
    out = info.join(spread, how="inner").rename(
        columns={
            "msoa21hclnm": "name",
            "lad24nm": "local authority",
            f"{metric}_score": "MSOA score",
            f"{metric}_decile": "MSOA decile",
        }
    )
    return out.sort_values("range", ascending=False).round(2)


def largest_differences(comparison: pd.DataFrame, measure: str, n: int = 10) -> pd.DataFrame:
    """The ``n`` local authorities where ours and MHCLG's differ most on ``measure``."""
    rows = comparison[comparison["measure"] == measure]
    top = rows.loc[rows["diff"].abs().nlargest(n).index]
    columns = ["area_code", "area_name", "ours", "published", "diff"]
    return top[columns].round(4).set_index("area_code")


def validation_note(validation: Any, exact: pd.Index) -> str:
    """What explains the differences in ``validate()``'s comparison, as Markdown."""
    comparison, summary = validation.table, validation.summary
    n_lads = comparison["area_code"].nunique()
    everywhere = summary.loc[summary["n_matching"] == summary["n_areas"], "measure"].tolist()
    estimates = summary.loc[summary["note"].fillna("") != "", "measure"].tolist()
    names = comparison.drop_duplicates("area_code").set_index("area_code")["area_name"]
    lines = [
        f"**{len(exact)} of {n_lads}** local authorities match MHCLG on every measure that "
        "is computed exactly"
        + (f": {', '.join(names.loc[exact].sort_values())}." if 0 < len(exact) <= 20 else ".")
    ]
    if validation.file7_status == "unverified":  # the reason beside the number, not below
        lines[0] += (
            " Only these can: this build's File 7 is a stand-in whose population weights are "
            "official only for a few whole local authorities (below)."
        )
    if everywhere:
        lines.append(
            f"**Everywhere** ({', '.join(f'`{m}`' for m in everywhere)}): these depend only on "
            "the LSOAs' published deciles, not on any population weight."
        )
    if estimates:
        lines.append(
            f"**Estimates by design** ({', '.join(f'`{m}`' for m in estimates)}): scale is the "
            "number of people deprived. MHCLG adds up the unrounded counts of deprived people; "
            "File 7 publishes only rates rounded to three decimals, so we can only estimate "
            "the count as rate × population, and small differences remain even with the "
            "official file."
        )
    if validation.file7_status == "unverified":
        lines.append(
            "**Why the rest differ here.** This build's File 7 is not the official file (see "
            "the warning at the top). The project's development and CI builds use a stand-in "
            "whose LSOA scores, ranks and deciles are the published ones but whose population "
            "denominators — the weights — and IDACI and IDAOPI scores are official only for a "
            "few whole local authorities and estimated elsewhere. Different weights move "
            "average scores, average ranks, extent and local concentration a little; where "
            "the weights are the official ones, every exact measure matches. Built from the "
            "official File 7, the weights are official everywhere."
        )
    else:
        lines.append(
            "Built from the official File 7, any remaining difference in an exact measure "
            "would point at a problem: please report it."
        )
    return "\n\n".join(lines) + "\n"


# The "Your area" page ------------------------------------------------------------------


def _at_hand(config: Config) -> set[str]:
    """Inputs a build can get: given locally, or with an official download."""
    return set(config.inputs) | {name for name, source in MANIFEST.items() if source.url}


def available_geographies(config: Config) -> tuple[list[Geography], dict[str, list[str]]]:
    """The geographies whose inputs are all at hand (given locally, or downloadable), and
    for the others the inputs they lack, so the page can say what to add."""
    at_hand = _at_hand(config)
    plan = make_plan(config.inputs, list(GEOGRAPHIES.values()))
    missing = {d.key: [n for n in d.inputs if n not in at_hand] for d in plan.datasets}
    chosen = [d.geography for d in plan.datasets if not missing[d.key]]
    return chosen, {k: v for k, v in missing.items() if v}


def checkable(config: Config, geographies: list[Geography]) -> list[str]:
    """Those of ``geographies`` whose comparison with MHCLG's summary file has every input
    at hand, for ``validate``."""
    at_hand = _at_hand(config)
    datasets = make_plan(config.inputs, geographies).datasets
    return [d.key for d in datasets if d.validation and set(d.validation) <= at_hand]


def geographies_table(results: list[BuildResult]) -> str:
    """One row per built geography, as Markdown: what it is, how many areas, fit, how it
    was made and which MHCLG file checks it. Wider than a phone: it scrolls by itself, as
    the pages' other tables do, not the whole page."""
    rows = [
        f"| {g.label} | `{g.key}` | {len(r.table):,} | {g.fit} | {g.made_from} | "
        f"{g.summary_file or '—'} |"
        for r in results
        for g in [r.geography]
    ]
    header = [
        "| Areas | `--geography` | Number | Fit | Made from | Checked against MHCLG |",
        "|:------|:------|------:|:----|:------------------|:------|",
    ]
    return "\n".join(["::: {.table-responsive}", "", *header, *rows, "", ":::"]) + "\n"


def validation_by_file(validation: Any) -> pd.DataFrame:
    """Per MHCLG file: areas, measures compared, areas matching every exact measure, and
    the largest differences (IMD average score, and any exact measure)."""
    table = validation.table
    exact = table[table["note"].fillna("") == ""]
    rows = []
    for g in validation.geographies:
        mine = exact[exact["geography"] == g.key]
        imd = mine[mine["measure"] == "imd_average_score"]["diff"].abs()
        rows.append(
            {
                "file": f"{g.summary_file}: {g.nouns}",
                "areas": mine["area_code"].nunique(),
                "measures": table.loc[table["geography"] == g.key, "measure"].nunique(),
                "areas matching on every exact measure": len(exact_areas(table, g.key)),
                "largest |diff|, IMD average score": f"{imd.max():.3f}",
                "measures matching everywhere": int(
                    mine.groupby("measure")["matches_published_rounding"].all().sum()
                ),
            }
        )
    return pd.DataFrame(rows).set_index("file")


def _and(words: list[str]) -> str:
    """``a, b and c``."""
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def compared_measures(validation: Any) -> str:
    """Per MHCLG file, which measures of which indices were compared (every one the file
    gives), as a Markdown list: read from the comparison, so it says what was done."""
    lines = []
    for g in validation.geographies:
        given = set(validation.table.loc[validation.table["geography"] == g.key, "measure"])
        of: dict[str, list[str]] = {}  # the indices -> the measures compared for each
        for pm in PUBLISHED_MEASURES:
            shorts = _and([m.short for m in METRICS if f"{m.short}_{pm.measure}" in given])
            if shorts and f"`{pm.measure}`" not in of.setdefault(shorts, []):
                of[shorts].append(f"`{pm.measure}`")
        parts = [f"{_and(measures)} of {shorts}" for shorts, measures in of.items()]
        lines.append(f"- {g.summary_file}, {len(given)} measures: {'; '.join(parts)}.")
    return "\n".join(lines) + "\n"


def without_deciles(results: list[BuildResult]) -> str:
    """A sentence naming the geographies built without deciles (too few areas), or ""."""
    few = [f"{r.geography.nouns} ({len(r.table):,})" for r in results if empty_deciles(r.table)]
    if not few:
        return ""
    return (
        f"With fewer than {MIN_AREAS_FOR_DECILES} areas there are no deciles (decile 1 would "
        f"be empty): {', '.join(few)} are coloured by rank, 1 = most deprived, and their files "
        "leave the decile columns empty."
    )


def downloads_by_geography(results: list[BuildResult], page_dir: str | Path | None = None) -> str:
    """A download table per geography, each under its own heading, as Markdown."""
    parts = []
    for r in results:
        note = f"\n\n{r.geography.note}" if r.geography.note else ""
        table = downloads_markdown(r.paths, page_dir, download_descriptions(r.geography))
        parts.append(f"### {r.geography.label}{note}\n\n{table}")
    return "\n".join(parts)


def write_area_maps(
    results: list[BuildResult], folder: str | Path, colours: list[str]
) -> list[dict[str, str]]:
    """Write each geography's map data as a script in ``folder`` (relative to the page).

    Returns the map's choices (key, label, src); a geography's file is fetched by the page
    only when it is chosen, so the page itself stays small.
    """
    from ._mapdata import SIMPLIFY_TOLERANCE, explore_data, simplify_coverage, write_map_script

    choices = []
    for r in results:
        areas = gpd.read_file(r.paths["gpkg"], engine="pyogrio", use_arrow=True)
        areas = areas.set_geometry(simplify_coverage(areas.geometry, SIMPLIFY_TOLERANCE))
        src = write_map_script(explore_data(areas, colours, geography=r.geography), folder)
        label = f"{r.geography.label} ({len(r.table):,})"
        choices.append({"key": r.geography.key, "label": label, "src": src})
    return choices


def largest_differences_by_file(validation: Any, measure: str, n: int = 3) -> pd.DataFrame:
    """The ``n`` areas of each MHCLG file where ours and MHCLG's differ most on ``measure``."""
    table = validation.table
    frames = [
        largest_differences(table[table["geography"] == g.key], measure, n)
        .reset_index()
        .assign(file=g.summary_file)
        for g in validation.geographies
    ]
    return pd.concat(frames).set_index(["file", "area_code"])


def weights_note(validation: Any) -> str:
    """Why exact measures match where they do, in one sentence for the page."""
    if validation.file7_status == "verified":
        return (
            "built from the official File 7, every one of them should match; any "
            "difference would point at a problem."
        )
    table = validation.table
    names = table.drop_duplicates(["geography", "area_code"]).set_index(["geography", "area_code"])[
        "area_name"
    ]
    matched = [
        f"{g.summary_file}: " + (", ".join(names.loc[g.key].loc[exact]) or "none")
        for g in validation.geographies
        if len(exact := exact_areas(table, g.key)) <= 10
    ]
    return (
        "this build's File 7 is not the official file, and its weights are official only "
        "for a few whole local authorities, so only areas made wholly of those match on every "
        "exact measure (" + "; ".join(matched) + ")."
    )


# Bring your own areas: a worked example ----------------------------------------------------

BURY = "E08000002"
# Bury's six townships, each a list of its MSOAs by their House of Commons Library names:
# an illustration of a council's own areas, not the council's boundaries.
BURY_TOWNSHIPS: dict[str, tuple[str, ...]] = {
    "Ramsbottom": ("Ramsbottom", "Summerseat"),
    "Tottington": ("Nuttall & Tottington", "Walshaw & Woolfold"),
    "Bury": (
        "Elton Vale",
        "Fairfield & Jericho",
        "Fernhill & Pimhole",
        "Higher Woodhill",
        "Walmersley & Limefield",
        "Buckley Wells & Fishpool",
        "Redvales & Hollins",
    ),
    "Radcliffe": (
        "Radcliffe",
        "Bank Top & Radcliffe Ees",
        "Outwood Gate",
        "Black Lane",
        "Ainsworth & Bradley Fold",
        "Whitehead Park",
    ),
    "Whitefield": ("Besses", "Unsworth", "Whitefield East", "Whitefield West & Park Lane"),
    "Prestwich": (
        "Prestwich East",
        "Prestwich Central",
        "Prestwich Clough & Rainsough",
        "Sedgley Park",
        "Kirkhams & Holyrood",
    ),
}


def msoa_grouping(
    lookup: pd.DataFrame, msoas: pd.DataFrame, groups: Mapping[str, tuple[str, ...]], prefix: str
) -> pd.DataFrame:
    """A grouping table (``lsoa21cd, area_code, area_name``: what ``build_areas`` and
    ``iod-msoa build --areas`` read) putting each LSOA of ``msoas`` in the group its MSOA's
    name is listed in; an MSOA in no group leaves its LSOAs out."""
    group_of = {msoa: group for group, names in groups.items() for msoa in names}
    named = msoas[["msoa21cd", "msoa21hclnm"]].assign(area_name=msoas["msoa21hclnm"].map(group_of))
    grouping = lookup[["lsoa21cd", "msoa21cd"]].drop_duplicates().merge(named, on="msoa21cd")
    grouping = grouping.dropna(subset=["area_name"])
    area_code = prefix + grouping["area_name"].str.upper().str.replace(" ", "-")
    return grouping.assign(area_code=area_code)[["lsoa21cd", "area_code", "area_name"]]


def fit_table(result: BuildResult) -> pd.DataFrame:
    """How well LSOAs fit a user's polygons, from the package's fit file, one row per area:
    LSOAs and people placed, how many by their shape, the polygon's size, the share of it
    its LSOAs cover and the LSOAs straddling its edge (headings short enough for a phone)."""
    fit = pd.read_csv(result.paths["fit"]).set_index("area_name").rename_axis("area")
    return pd.DataFrame(
        {
            "LSOAs": fit["n_lsoa"],
            "people": fit["population"].map("{:,}".format),
            "by shape": fit["n_by_shape"],
            "km²": fit["polygon_km2"].round(1),
            "covered": fit["covered_share"].map("{:.0%}".format),
            "straddling": fit["n_straddling"],
        }
    )


def own_areas_table(table: pd.DataFrame, metric: str = "imd") -> pd.DataFrame:
    """A user's areas, most deprived first: LSOAs, people, score, rank among them and the
    share of their LSOAs in England's most deprived 10%."""
    rows = table.sort_values(f"{metric}_rank", kind="stable")
    return pd.DataFrame(
        {
            "area": rows["area_name"].to_numpy(),
            "LSOAs": rows["n_lsoa"].to_numpy(),
            "people": rows["pop_total"].map("{:,}".format).to_numpy(),
            "score": rows[f"{metric}_score"].round(2).to_numpy(),
            f"rank of {len(table):,}": rows[f"{metric}_rank"].to_numpy(),
            "LSOAs in England's most deprived 10%": rows[f"{metric}_proportion_most_deprived_10"]
            .map("{:.0%}".format)
            .to_numpy(),
        }
    ).set_index("area")

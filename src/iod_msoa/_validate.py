"""Proof of correctness: the same engine, LSOA -> MHCLG's summary geographies, against
MHCLG's own summaries (File 10 for LADs, 11 upper-tier LAs, 13 ICBs, 14 LRFs)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._build import (
    Inputs,
    Reporter,
    area_table,
    default_out_dir,
    members,
    read_tables,
    resolve,
    version,
)
from ._config import Config, load_config
from ._describe import register_file
from ._edition_readers import read_lad_summaries
from ._editions import DEFAULT_EDITION, DIFFERENCES, edition_of
from ._errors import ConfigError, SchemaError, listed
from ._folder import (
    DATASET,
    VALIDATION_FILE,
    EarlierValidation,
    Package,
    earlier_validation,
    read_provenance,
)
from ._geographies import DEFAULT_GEOGRAPHY, Geography, geographies_of, select
from ._plan import make_plan
from ._problems import Problem, render
from ._readers import read_summaries
from ._swap import output_folder, staged_output

VALIDATION_COLUMNS = [
    "geography",
    "area_code",
    "area_name",
    "measure",
    "ours",
    "published",
    "diff",
    "matches_published_rounding",
]
DEFAULT_VALIDATION = ("lad24",)
DEFAULT_VALIDATIONS = {2025: DEFAULT_VALIDATION, 2019: ("lad19",)}
# MHCLG publishes File 7 scores to 3 decimals: a score column with more is not MHCLG's (the
# 2019 stand-in's placeholders, monotone in the official rank), so its average is not
# compared; every rank-based measure of that index still is.
PUBLISHED_SCORE_DECIMALS = 3
PLACEHOLDER_NOTE = (
    "not comparable: File 7's scores of this index have more than 3 decimals, so they are not "
    "MHCLG's (a stand-in's placeholders)"
)


def placeholder_scores(lsoa: pd.DataFrame) -> set[str]:
    """The metrics whose File 7 scores are not MHCLG's: more decimals than it publishes."""
    scale = 10.0**PUBLISHED_SCORE_DECIMALS
    scores = lsoa[[c for c in lsoa.columns if c.endswith("_score")]] * scale
    off = (scores - scores.round()).abs().gt(1e-6).any()
    return {c.removesuffix("_score") for c in off.index[off]}


def compare_with_published(
    ours: pd.DataFrame,
    published: pd.DataFrame,
    geography: Geography,
    placeholders: Iterable[str] = (),
) -> pd.DataFrame:
    """Long table, one row per area and published measure: ours, published, difference.

    A value matches when it lies within half a unit of the published last decimal place,
    i.e. rounding ours the way MHCLG did gives the published figure. Measures absent from
    ``published`` (a table of average scores only) are not compared. ``note`` says where a
    difference is expected whatever the input (an estimated measure), or that the average
    score of a metric among ``placeholders`` is not comparable (its File 7 scores are not
    MHCLG's). The geography's edition gives the metrics and File 10's names.
    """
    edition = edition_of(geography.edition)
    placeholders = set(placeholders)
    code, name = geography.code, geography.name
    ours = ours.set_index(code)
    published = published.set_index(code)
    frames = []
    for metric in edition.engine_metrics:
        for pm in edition.vocab_published:
            if not pm.applies_to(metric) or pm.published_column(metric) not in published:
                continue
            pub = published[pm.published_column(metric)]
            mine = ours[pm.our_column(metric)].reindex(pub.index)
            diff = mine - pub
            frames.append(
                pd.DataFrame(
                    {
                        "area_code": pub.index,
                        "measure": f"{metric.short}_{pm.measure}",
                        "note": PLACEHOLDER_NOTE
                        if pm.measure == "average_score" and metric.short in placeholders
                        else pm.note,
                        "ours": mine.to_numpy(),
                        "published": pub.to_numpy(),
                        "diff": diff.to_numpy(),
                        "matches_published_rounding": (
                            diff.abs() <= 0.5 * 10.0**-pm.decimals + 1e-9
                        ).to_numpy(),
                    }
                )
            )
    table = pd.concat(frames, ignore_index=True)
    names = published[name] if name in published else ours[name]
    table.insert(0, "geography", geography.key)
    table.insert(2, "area_name", table["area_code"].map(names))
    return table[[*VALIDATION_COLUMNS, "note"]]


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per geography and measure: areas compared, matching to published rounding, largest gap."""
    grouped = table.assign(abs_diff=table["diff"].abs()).groupby(
        ["geography", "measure"], sort=False
    )
    return pd.DataFrame(
        {
            "n_areas": grouped.size(),
            "n_matching": grouped["matches_published_rounding"].sum(),
            "max_abs_diff": grouped["abs_diff"].max(),
            "note": grouped["note"].first(),
        }
    ).reset_index()


@dataclass
class ValidationResult:
    """The comparison table, its summary, where it was written and how trustworthy the input."""

    table: pd.DataFrame
    summary: pd.DataFrame
    path: Path
    file7_status: str
    geographies: list[Geography] = field(default_factory=list)
    differences: tuple[tuple[str, str], ...] = ()  # those that remain, explained

    @property
    def mismatches(self) -> pd.DataFrame:
        """Comparisons that should match (not estimates) but do not."""
        exact = self.table["note"].fillna("") == ""
        return self.table[exact & ~self.table["matches_published_rounding"]]


MAX_CODES = 5  # area codes listed in one message; the rest are counted


def check_same_areas(
    ours: pd.Series, published: pd.Series, geography: Geography, source: Path
) -> None:
    """Fail unless the summaries file gives exactly the areas we build: a file lacking some
    (cut short, filtered) is not the one MHCLG published, and would make --strict pass."""

    missing = sorted(set(ours) - set(published))
    unknown = sorted(set(published) - set(ours))
    problems = []
    if missing:
        problems.append(
            Problem(
                f"lacks {len(missing)} of the {len(ours)} {geography.nouns}: "
                + listed(missing, MAX_CODES)
            )
        )
    if unknown:
        problems.append(
            Problem(
                f"has {len(unknown)} code(s) not among our {geography.nouns}: "
                + listed(unknown, MAX_CODES)
            )
        )
    if problems:
        raise SchemaError(
            render(f"{geography.summary_file} summaries ({source})", problems)
            + "; give the complete file MHCLG published"
        )


def _about(
    inputs: Inputs, used: dict[str, tuple[str, ...]], earlier: EarlierValidation
) -> dict[str, Any]:
    """validation.csv's data package entry: what it is and the inputs each geography's rows
    were made from (those of geographies validated earlier and kept, as they were)."""
    made_from = earlier.geographies
    for key, names in used.items():
        made_from[key] = {n: inputs.resolved[n].sha256 for n in sorted(names)}
    return {
        "name": "validation",
        "type": "table",
        "mediatype": "text/csv",
        "description": "The same engine from LSOAs to MHCLG's summary geographies, compared "
        "with MHCLG's published summaries: one row per geography, area and measure",
        "iod_msoa": {
            "version": version(),
            "inputs": {n: sha for used in made_from.values() for n, sha in sorted(used.items())},
            "geographies": dict(sorted(made_from.items())),
        },
    }


def _check_same_file7(out_dir: Path, inputs: Inputs, file7: str = "file7") -> None:
    """Refuse to put a validation of one File 7 (the input ``file7``) beside outputs built
    from another."""
    provenance = read_provenance(out_dir)
    if provenance is None or file7 not in provenance.inputs:
        return  # no build of ours there: nothing to contradict
    built_from = provenance.inputs[file7].sha256
    ours = inputs.resolved[file7]
    if built_from != ours.sha256:
        raise ConfigError(
            f"{out_dir} holds outputs built from another File 7 (sha256 {built_from[:12]}…) "
            f"than {ours.path.name} (sha256 {ours.sha256[:12]}…): run `iod-msoa build` with the "
            "same inputs first, or give validate another --out folder"
        )


def validate(
    config: Config | None = None,
    out_dir: Path | str | None = None,
    *,
    progress: bool = True,
    geographies: Iterable[str] | None = None,
    edition: int = DEFAULT_EDITION,
) -> ValidationResult:
    """Aggregate File 7 to each geography MHCLG summarises and compare with its summary file.

    ``geographies``: keys among those with a summary file (``lad24``, ``utla24``, ``icb24``,
    ``lrf24``; ``lad19`` for the 2019 ``edition``) or ``all``. Writes every comparison to
    one ``validation.csv`` (by default in the edition's MSOA folder).
    """
    config = config or load_config()
    among = [k for k, g in geographies_of(edition).items() if g.summaries]
    wanted = DEFAULT_VALIDATIONS[edition] if geographies is None else geographies
    chosen = select(wanted, among=among, edition=edition)
    if out_dir is None:
        msoa = geographies_of(edition)[DEFAULT_GEOGRAPHY]
        out_dir = default_out_dir(DATASET if edition == DEFAULT_EDITION else msoa.dataset)
    out_dir = Path(out_dir)
    reporter = Reporter(progress)
    plan = make_plan(config.inputs, chosen, edition=edition)
    file7 = edition_of(edition).file7_input
    used = {d.key: d.validation for d in plan.datasets}
    resolved = resolve(config, plan.validation_inputs, progress=progress, reporter=reporter)
    inputs = read_tables(resolved, reporter, plan.reading, plan.edition)
    frames = []
    placeholders = placeholder_scores(inputs.lsoa)
    for g in chosen:
        ours = area_table(g, inputs.lsoa, members(g, inputs))
        source = inputs.resolved[g.summaries].path
        if g.edition == DEFAULT_EDITION:
            published = read_summaries(source, g)
        else:
            published = read_lad_summaries(source, g.edition)
        check_same_areas(ours[g.code], published[g.code], g, source)
        frames.append(compare_with_published(ours, published, g, placeholders))
        reporter.step(
            f"Compared {len(ours)} {g.nouns} with {g.summary_file} on "
            f"{frames[-1]['measure'].nunique()} measures"
        )
    table = pd.concat(frames, ignore_index=True)
    with output_folder(out_dir, reporter.step):
        package = out_dir / "datapackage.json"
        found = Package.read(out_dir)
        listing = found is not None and found.resources is not None  # the build's package
        earlier = EarlierValidation()
        if listing:
            _check_same_file7(out_dir, inputs, file7)
            earlier = earlier_validation(out_dir, inputs.resolved[file7].sha256, version())
        written = table
        if earlier.entry is not None:  # other geographies' rows stay; these ones' are replaced
            kept = pd.read_csv(out_dir / VALIDATION_FILE, dtype={"area_code": str})
            kept = kept[~kept["geography"].isin(used)]
            written = pd.concat([kept, table], ignore_index=True).sort_values(
                "geography", key=lambda key: key.map(among.index), kind="stable"
            )
        with staged_output(out_dir) as staging:
            written.to_csv(staging / VALIDATION_FILE, index=False)
            if listing:  # with the inputs it came from
                shutil.copyfile(package, staging / package.name)
                register_file(staging, VALIDATION_FILE, _about(inputs, used, earlier))
    return ValidationResult(
        table=table,
        summary=summarise(table),
        path=out_dir / VALIDATION_FILE,
        file7_status=inputs.resolved[file7].status,
        geographies=chosen,
        differences=DIFFERENCES[edition],
    )

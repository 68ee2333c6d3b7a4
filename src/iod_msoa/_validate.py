"""Proof of correctness: the same engine, LSOA -> local authority, against MHCLG's File 10."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._aggregate import aggregate
from ._build import Inputs, Reporter, default_out_dir, load_inputs, version
from ._config import Config, load_config
from ._errors import ConfigError
from ._outputs import FILES, VALIDATION_FILE, register_file, staged_output
from ._schema import METRICS, PUBLISHED_MEASURES, read_lad_summaries

VALIDATION_COLUMNS = [
    "lad24cd",
    "lad24nm",
    "measure",
    "ours",
    "published",
    "diff",
    "matches_published_rounding",
]


def compare_with_published(ours: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Long table, one row per LAD and published measure: ours, published, difference.

    A value matches when it lies within half a unit of the published last decimal place,
    i.e. rounding ours the way MHCLG did gives the published figure. ``note`` says where a
    difference is expected whatever the input (an estimated measure).
    """
    ours = ours.set_index("lad24cd")
    published = published.set_index("lad24cd")
    frames = []
    for metric in METRICS:
        for pm in PUBLISHED_MEASURES:
            if not pm.applies_to(metric):
                continue
            pub = published[pm.published_column(metric)]
            mine = ours[pm.our_column(metric)].reindex(pub.index)
            diff = mine - pub
            frames.append(
                pd.DataFrame(
                    {
                        "lad24cd": pub.index,
                        "measure": f"{metric.short}_{pm.measure}",
                        "note": pm.note,
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
    names = published["lad24nm"] if "lad24nm" in published else ours["lad24nm"]
    table.insert(1, "lad24nm", table["lad24cd"].map(names))
    return table[[*VALIDATION_COLUMNS, "note"]]


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per measure: LADs compared, LADs matching to published rounding, largest difference."""
    grouped = table.assign(abs_diff=table["diff"].abs()).groupby("measure", sort=False)
    return pd.DataFrame(
        {
            "n_lads": grouped.size(),
            "n_matching": grouped["matches_published_rounding"].sum(),
            "max_abs_diff": grouped["abs_diff"].max(),
            "note": grouped["note"].first(),
        }
    ).reset_index()


def exact_lads(comparison: pd.DataFrame) -> pd.Index:
    """LADs where every measure not flagged as an estimate matches MHCLG to its rounding."""
    exact = comparison[comparison["note"].fillna("") == ""]
    matches = exact.groupby("lad24cd")["matches_published_rounding"].all()
    return matches.index[matches]


@dataclass
class ValidationResult:
    """The comparison table, its summary, where it was written and how trustworthy the input."""

    table: pd.DataFrame
    summary: pd.DataFrame
    path: Path
    file7_status: str

    @property
    def mismatches(self) -> pd.DataFrame:
        """Comparisons that should match (not estimates) but do not."""
        exact = self.table["note"].fillna("") == ""
        return self.table[exact & ~self.table["matches_published_rounding"]]


def _about(inputs: Inputs) -> dict:
    """validation.csv's data package entry: what it is and the inputs it was made from."""
    return {
        "name": "validation",
        "type": "table",
        "mediatype": "text/csv",
        "description": "LSOA -> local authority (2024) with this package's engine, compared with "
        "MHCLG's published local authority summaries (File 10): one row per LAD and measure",
        "iod_msoa": {
            "version": version(),
            "inputs": {n: r.sha256 for n, r in sorted(inputs.resolved.items())},
        },
    }


def _check_same_file7(out_dir: Path, inputs: Inputs) -> None:
    """Refuse to put a validation of one File 7 beside outputs built from another."""
    try:
        provenance = json.loads((out_dir / FILES["provenance"]).read_text(encoding="utf-8"))
        built_from = provenance["inputs"]["file7"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # not a build of ours: nothing to contradict
    ours = inputs.resolved["file7"]
    if built_from != ours.sha256:
        raise ConfigError(
            f"{out_dir} holds outputs built from another File 7 (sha256 {built_from[:12]}…) "
            f"than {ours.path.name} (sha256 {ours.sha256[:12]}…): run `iod-msoa build` with the "
            "same inputs first, or give validate another --out folder"
        )


def validate(
    config: Config | None = None, out_dir: Path | str | None = None, *, progress: bool = True
) -> ValidationResult:
    """Aggregate File 7 to LAD 2024 and compare with File 10; writes ``validation.csv``."""
    config = config or load_config()
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir()
    reporter = Reporter(progress)
    inputs = load_inputs(config, ("file7", "lad_summaries"), progress=progress, reporter=reporter)
    published = read_lad_summaries(inputs.resolved["lad_summaries"].path)
    lads = inputs.lsoa[["lsoa21cd", "lad24cd"]]
    ours = aggregate(inputs.lsoa, lads, area="lad24cd")
    ours = ours.join(inputs.lsoa.groupby("lad24cd")["lad24nm"].first(), on="lad24cd")
    table = compare_with_published(ours, published)
    reporter.step(
        f"Compared {ours.shape[0]} LADs with File 10 on {table['measure'].nunique()} measures"
    )
    package = out_dir / FILES["datapackage"]
    if package.is_file():
        _check_same_file7(out_dir, inputs)
    with staged_output(out_dir) as staging:
        table.to_csv(staging / VALIDATION_FILE, index=False)
        if package.is_file():  # the build's package lists it, with the inputs it came from
            shutil.copyfile(package, staging / package.name)
            register_file(staging, VALIDATION_FILE, _about(inputs))
    return ValidationResult(
        table=table,
        summary=summarise(table),
        path=out_dir / VALIDATION_FILE,
        file7_status=inputs.resolved["file7"].status,
    )

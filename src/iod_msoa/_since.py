"""The change since IoD2019 as a package (``iod25_msoa_change``) and MHCLG's own comparison.

Both editions on the 6,856 MSOAs (2021): 2025 through the engine as for ``iod25_msoa``;
2019 from the 2011 LSOAs inside each MSOA (``_change``). The dataset is planned
(``_plan.change_plan``) and written by the same writers, swap and provenance as every
geography's; its inputs are read by the editions' own readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._aggregate import aggregate
from ._build import (
    BuildResult,
    Reporter,
    _provenance,
    _skipped,
    _Stamp,
    _stamp,
    area_table,
    check_area_count,
    resolve,
)
from ._change import (
    DecileKept,
    change_table,
    comparability,
    earlier_on_areas,
    lsoa11_pieces,
    lsoas_kept,
    split_weights,
)
from ._config import Config, load_config, project_root
from ._edition_readers import read_lad_summaries, read_lsoa11_lsoa21
from ._editions import CHANGE_BY_SCORE, CHANGE_METRICS, EDITIONS
from ._folder import output_files
from ._geographies import geographies_of
from ._plan import CROSSWALK, EARLIER, FILE7_2019, PACKAGES, DatasetPlan, change_plan
from ._readers import read_file7, read_lookup, read_names
from ._shapes import align_boundaries, read_boundaries
from ._sources import ResolvedInput
from ._swap import output_folder, staged_output
from ._validate import validate
from ._writers import Dataset, write_dataset

E19 = EDITIONS[EARLIER]


def read_earlier(path: Path | str) -> pd.DataFrame:
    """File 7 (2019) as its own build reads it: one row per 2011 LSOA, all 32,844."""
    return read_file7(path, edition=EARLIER, expected_rows=E19.expected_lsoas)


def change_frame(
    lsoa25: pd.DataFrame, lsoa19: pd.DataFrame, crosswalk: pd.DataFrame, lookup: pd.DataFrame
) -> pd.DataFrame:
    """The change table's measures per MSOA: both editions on the 2021 MSOAs, IoD2019's as
    ``iod19_msoa21`` holds them (split 2011 LSOAs shared by ``_change.SPLIT_RULE``)."""
    england = lookup[lookup["lsoa21cd"].isin(lsoa25["lsoa21cd"])]
    pieces = lsoa11_pieces(crosswalk, england, split_weights(lsoa25))
    earlier = earlier_on_areas(lsoa19, pieces, E19)
    later = aggregate(lsoa25, england)
    return change_table(earlier, later, comparability(pieces), CHANGE_METRICS, CHANGE_BY_SCORE)


def _tables(resolved: dict[str, ResolvedInput]) -> tuple[pd.DataFrame, ...]:
    """File 7 of both editions, the LSOA 2011 -> 2021 and the OA -> MSOA (2021) lookups."""
    return (
        read_file7(resolved["file7"].path),
        read_earlier(resolved[FILE7_2019].path),
        read_lsoa11_lsoa21(resolved[CROSSWALK].path),
        read_lookup(resolved["lookup"].path),
    )


def build_change(
    config: Config | None = None,
    out_dir: Path | str | None = None,
    *,
    progress: bool = True,
    force: bool = False,
) -> BuildResult:
    """Build ``iod25_msoa_change``: every MSOA's rank and decile in IoD2019 and IoD2025 for
    the IMD, income, employment and the rank-based measures of every domain, the change,
    and whether its 2019 values are exact or apportioned. Skipped when current."""
    config = config or load_config()
    dataset = change_plan(config.inputs, out_dir, packages=project_root() / PACKAGES)
    reporter = Reporter(progress)
    with output_folder(dataset.folder, reporter.step):
        resolved = resolve(config, dataset.inputs, progress=progress, reporter=reporter)
        stamp = _stamp(dataset, resolved)
        if not force and (result := _skipped(dataset, stamp, reporter)) is not None:
            return result
        return _write(config, dataset, resolved, stamp, reporter)


def _write(
    config: Config,
    dataset: DatasetPlan,
    resolved: dict[str, ResolvedInput],
    stamp: _Stamp,
    reporter: Reporter,
) -> BuildResult:
    g, folder = dataset.geography, dataset.folder
    lsoa25, lsoa19, crosswalk, lookup = _tables(resolved)
    reporter.step(f"Read and checked File 7 (2025), File 7 ({EARLIER}) and the lookups")
    names = area_table(g, lsoa25, lookup, read_names(resolved["names"].path))
    ids = names.columns[: list(names.columns).index("n_lsoa")]
    table = names[ids].merge(change_frame(lsoa25, lsoa19, crosswalk, lookup), on=g.code)
    check_area_count(g, table, f"{resolved['lookup'].title} ({resolved['lookup'].path})")
    reporter.step(f"Placed {len(table):,} {g.nouns} in both editions")
    geometry = align_boundaries(read_boundaries(resolved["boundaries"].path), table[g.code])
    when = (stamp.created, stamp.created_from)
    provenance = _provenance(g, stamp.inputs, when, stamp.fingerprint, len(table), config)
    with staged_output(folder) as staging:
        write_dataset(staging, Dataset(g, table, geometry, provenance), step=reporter.step)
    reporter.step(f"{g.dataset}: wrote {len(output_files(g.dataset))} files to {folder}")
    return BuildResult(folder, table, provenance, seconds=reporter.elapsed(), geography=g)


def lsoas_still_most_deprived(
    config: Config | None = None, *, progress: bool = False
) -> DecileKept:
    """MHCLG's "82% of the LSOAs in the IMD2025 most deprived decile were in the IMD2019 one",
    reproduced at LSOA level through ONS's LSOA 2011 -> 2021 lookup (see ``lsoas_kept``)."""
    config = config or load_config()
    names = ("file7", FILE7_2019, CROSSWALK)
    resolved = resolve(config, names, progress=progress, reporter=Reporter(progress))
    lsoa25 = read_file7(resolved["file7"].path)
    lsoa19 = read_earlier(resolved[FILE7_2019].path)
    crosswalk = read_lsoa11_lsoa21(resolved[CROSSWALK].path)
    return lsoas_kept(
        crosswalk, lsoa19, lsoa25.set_index("lsoa21cd")["imd_decile"], E19.expected_lsoas
    )


@dataclass(frozen=True)
class EarlierProof:
    """File 10 (2019) against the engine (``validate --edition 2019``), with what explaining
    each difference reads: File 7 (2019) and File 10 (2019) with MHCLG's own rank of each
    average rank."""

    table: pd.DataFrame
    lsoa: pd.DataFrame
    file10: pd.DataFrame
    path: Path


def earlier_proof(config: Config | None = None, out_dir: Path | str | None = None) -> EarlierProof:
    """Validate the 2019 edition on its 317 districts (writing ``validation.csv``) and read
    the two files the page's explanations rest on."""
    config = config or load_config()
    result = validate(config, out_dir, progress=False, edition=EARLIER)
    summaries = geographies_of(EARLIER)[E19.lad_key.removesuffix("cd")].summaries
    names = (FILE7_2019, summaries)
    resolved = resolve(config, names, progress=False, reporter=Reporter(False))
    ranks = [f"{m.published}_rank_of_average_rank" for m in E19.engine_metrics if m.published]
    return EarlierProof(
        table=result.table,
        lsoa=read_earlier(resolved[FILE7_2019].path),
        file10=read_lad_summaries(resolved[summaries].path, EARLIER, also=ranks),
        path=result.path,
    )

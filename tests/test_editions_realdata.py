"""Real-data tests of the 2019 edition on ../shared/data/iod2019: the engine reproduces
File 10 (2019) for all 317 districts, 2019 on 2021 MSOAs, and MHCLG's 82%.

The counts are the facts measured (see notes/ed2019.md): a change to the engine or the
readers that moves one of them must be explained, not absorbed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from iod_msoa._aggregate import aggregate
from iod_msoa._change import (
    APPORTIONED,
    EXACT,
    apportion,
    change_table,
    check_crosswalk,
    comparability,
    lsoa11_pieces,
    lsoa21_ranks,
    split_weights,
    still_in_decile,
)
from iod_msoa._edition_readers import read_lad_summaries
from iod_msoa._editions import CHANGE_BY_SCORE, CHANGE_METRICS, EDITIONS, detect_edition
from iod_msoa._readers import read_file7, read_lookup
from iod_msoa._vocab import METRICS

from .realdata import FILES, INPUTS

IOD2019 = INPUTS.parent / "iod2019"
FILE7 = IOD2019 / "File_7_IoD2019_STANDIN.csv"
FILE10 = IOD2019 / "File_10_IoD2019_Local_Authority_District_Summaries_lower-tier.xlsx"
CROSSWALK = IOD2019 / "lookup_lsoa11_lsoa21_ltla22_geographr.csv"
E19 = EDITIONS[2019]

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not FILE7.is_file(), reason=f"2019 inputs not found in {IOD2019}"),
]


@pytest.fixture(scope="module")
def lsoa19() -> pd.DataFrame:
    table = pd.read_csv(FILE7)
    return table[list(E19.file7_columns)].rename(columns=E19.file7_columns)


@pytest.fixture(scope="module")
def file10() -> pd.DataFrame:
    return read_lad_summaries(FILE10, 2019)


def _lads(lsoa19: pd.DataFrame, rule: str) -> pd.DataFrame:
    """The engine with the 2019 edition, its tie rule ``rule``."""
    edition = dataclasses.replace(E19, summary_ranks=rule)
    return aggregate(lsoa19, lsoa19[["lsoa11cd", "lad19cd"]], area="lad19cd", edition=edition)


def _matching(ours: pd.DataFrame, file10: pd.DataFrame) -> dict[str, int]:
    """Per published measure: districts whose value, rounded half up, is File 10's."""
    ours, pub = ours.set_index("lad19cd"), file10.set_index("lad19cd")
    counts = {}
    for m in METRICS:
        for pm in E19.published_measures:
            column = pm.column.format(p=m.published)
            if not m.published or column not in pub:
                continue
            mine = ours[pm.ours.format(m=m.short)].reindex(pub.index).to_numpy()
            half_up = np.floor(mine * 10**pm.decimals + 0.5 + 1e-9) / 10**pm.decimals
            counts[f"{m.short}_{pm.measure}"] = int((np.abs(half_up - pub[column]) < 1e-9).sum())
    return counts


def test_the_real_headers_name_their_edition():
    assert detect_edition(pd.read_csv(FILE7, nrows=0).columns) == 2019
    assert detect_edition(pd.read_csv(INPUTS / FILES["file7"], nrows=0).columns) == 2025


def test_file10_2019_has_317_districts_and_every_measure(file10):
    assert file10.shape == (317, 36)
    assert file10["lad19cd"].is_unique


def test_file10_2019_is_reproduced_with_tie_averaged_ranks(lsoa19, file10):
    counts = _matching(_lads(lsoa19, E19.summary_ranks), file10)
    for short in (
        "imd",
        "income",
        "employment",
        "education",
        "health",
        "crime",
        "barriers",
        "living_env",
        "idaci",
        "idaopi",
    ):
        assert counts[f"{short}_proportion_most_deprived_10"] == 317
    assert counts["imd_average_score"] == 305
    assert counts["income_average_score"] == 308
    assert counts["employment_average_score"] == 304
    assert counts["imd_extent"] == 316
    assert counts["imd_local_concentration"] == 272
    assert {k: counts[f"{k}_average_rank"] for k in ("imd", "income", "employment")} == {
        "imd": 275,
        "income": 275,
        "employment": 271,
    }
    assert counts["idaci_average_rank"] == 270
    assert counts["idaopi_average_rank"] == 261


def test_published_ranks_reproduce_fewer_districts(lsoa19, file10):
    counts = _matching(_lads(lsoa19, "published"), file10)
    assert counts["imd_average_rank"] == 257
    assert counts["imd_local_concentration"] == 268
    assert counts["idaci_average_rank"] == 196


def test_average_scores_of_official_scores_are_within_0_001(lsoa19, file10):
    ours = _lads(lsoa19, E19.summary_ranks).set_index("lad19cd").reindex(file10["lad19cd"])
    for short in ("imd", "income", "employment"):
        gap = (ours[f"{short}_score"].to_numpy() - file10[f"{short}_average_score"]).abs()
        assert gap.max() < 0.001


def test_file10_rounds_half_up(lsoa19, file10):
    """Two districts' IMD proportions end in an exact 5: half up gives File 10's, half even
    does not."""
    ours = _lads(lsoa19, E19.summary_ranks).set_index("lad19cd").reindex(file10["lad19cd"])
    mine = ours["imd_proportion_most_deprived_10"].to_numpy()
    published = file10["imd_proportion_of_lso_as_in_most_deprived_10_percent_nationally"]
    assert int((np.abs(np.round(mine, 4) - published) < 1e-9).sum()) == 315


@pytest.fixture(scope="module")
def msoa_pieces() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    raw = pd.read_csv(CROSSWALK).rename(
        columns={"lsoa11_code": "lsoa11cd", "lsoa21_code": "lsoa21cd", "change_code": "chgind"}
    )
    crosswalk = check_crosswalk(raw[raw["lsoa21cd"].str.startswith("E")])
    lookup = read_lookup(INPUTS / FILES["lookup"])
    lookup = lookup[lookup["lsoa21cd"].str.startswith("E")]
    file7 = read_file7(INPUTS / FILES["file7"])
    pieces = lsoa11_pieces(crosswalk, lookup, split_weights(file7))
    return crosswalk, pieces, file7


def test_6798_of_6856_msoas_are_exact(msoa_pieces):
    crosswalk, pieces, _ = msoa_pieces
    assert crosswalk.drop_duplicates("lsoa21cd")["chgind"].value_counts().to_dict() == {
        "U": 31810,
        "S": 1842,
        "M": 97,
        "X": 6,
    }
    assert int((pieces.groupby("lsoa11cd").size() > 1).sum()) == 38
    assert comparability(pieces).value_counts().to_dict() == {EXACT: 6798, APPORTIONED: 58}


def test_2019_on_msoa21_keeps_every_person_and_fills_the_change_table(lsoa19, msoa_pieces):
    _, pieces, file7 = msoa_pieces
    lsoa = lsoa19.rename(columns={"pop_working_age_18_59_64": "pop_working_age_18_66"})
    pops = ["pop_total", "pop_children_0_15", "pop_older_60_plus", "pop_working_age_18_66"]
    pieced = apportion(lsoa, pieces, pops).drop(columns="lsoa11cd")
    pieced = pieced.rename(columns={"piece": "lsoa21cd"})
    earlier = aggregate(pieced, pieced[["lsoa21cd", "msoa21cd"]], n_national=E19.expected_lsoas)
    assert len(earlier) == 6856
    assert earlier["pop_total"].sum() == lsoa["pop_total"].sum()
    later = aggregate(file7, read_lookup(INPUTS / FILES["lookup"]))
    table = change_table(earlier, later, comparability(pieces), CHANGE_METRICS, CHANGE_BY_SCORE)
    assert len(table) == 6856 and table["comparability"].notna().all()
    both = ((table["imd_decile_19"] == 1) & (table["imd_decile_25"] == 1)).sum()
    assert (both, (table["imd_decile_25"] == 1).sum()) == (593, 685)


def test_mhclg_82_percent_is_reproduced_at_lsoa_level(lsoa19, msoa_pieces):
    crosswalk, _, file7 = msoa_pieces
    ranks = lsoa21_ranks(crosswalk, lsoa19, "imd_rank", "pop_total", E19.expected_lsoas)
    both, in_first = still_in_decile(
        ranks.set_index("lsoa21cd")["decile"], file7.set_index("lsoa21cd")["imd_decile"]
    )
    assert (both, in_first) == (2766, 3375)
    assert round(100 * both / in_first) == 82

"""The Python API's ``aggregate`` on part of File 7 (issue 14, case 4): File 7's ranks and
deciles are national, so a part is aggregated with the national count, never as England."""

from __future__ import annotations

import re

import numpy as np
import pytest

from iod_msoa._aggregate import aggregate
from iod_msoa._errors import SchemaError
from iod_msoa._vocab import DENOMINATOR_SHORTS

from .conftest import build_lsoa_table

N = 40
POPS = dict(zip(DENOMINATOR_SHORTS, (1000, 200, 300, 500), strict=True))


@pytest.fixture(scope="module")
def england():
    """40 LSOAs in 4 LADs of 10, ranks 1..40 (LAD k holds ranks k, k+4, k+8, ...)."""
    rows = [
        {
            "lsoa21cd": f"E01{i:06d}",
            "lad24cd": f"E0600000{(i - 1) % 4 + 1}",
            "score": 100.0 - i,
            "rank": i,
            **POPS,
        }
        for i in range(1, N + 1)
    ]
    return build_lsoa_table(rows, n_national=N)


def _by_lad(table, **kwargs):
    return aggregate(table, table[["lsoa21cd", "lad24cd"]], area="lad24cd", **kwargs)


def test_part_of_file7_without_the_national_count_is_refused(england):
    """London only, as if it were England: average ranks went down to -20,858."""
    part = england[england["lad24cd"].isin(["E06000003", "E06000004"])]
    message = (
        "aggregate: the LSOA table has ranks up to 40 with n = its 20 rows: File 7's ranks and "
        "deciles are national, so part of it needs n_national, the number of LSOAs they rank "
        "(33,755 in England)"
    )
    with pytest.raises(SchemaError, match=re.escape(message)):
        _by_lad(part)


def test_the_most_deprived_part_is_refused_by_its_deciles(england):
    """Ranks 1..4 of 40 fit 4 rows, but their deciles (all 1) are not those of 4 LSOAs
    (ranks 1..4 of 4 are deciles 3, 5, 8, 10): 4 rows x 16 indices."""
    part = england[england["imd_rank"] <= 4]
    with pytest.raises(SchemaError, match=r"has 64 decile\(s\) that are not ceil\(rank x 10 / n\)"):
        _by_lad(part)


def test_part_of_file7_with_the_national_count_gives_the_national_numbers(england):
    whole = _by_lad(england).set_index("lad24cd")
    part = england[england["lad24cd"].isin(["E06000003", "E06000004"])]
    alone = _by_lad(part, n_national=N).set_index("lad24cd")
    for column in ("imd_average_rank", "imd_extent", "imd_proportion_most_deprived_10"):
        np.testing.assert_allclose(alone[column], whole.loc[alone.index, column])
    assert (alone["imd_average_rank"] > 0).all()


def test_a_rank_beyond_the_national_count_given_is_refused(england):
    with pytest.raises(SchemaError, match="ranks up to 40 with n_national = 30"):
        _by_lad(england, n_national=30)


def test_own_areas_leaving_lsoas_out_still_use_the_whole_table(england):
    """A user's areas (``_areas``) cover some LSOAs of the whole File 7: nothing to give."""
    lookup = england[["lsoa21cd", "lad24cd"]].iloc[:7]
    result = aggregate(england, lookup, area="lad24cd", allow_unmatched=True)
    assert result["n_lsoa"].sum() == 7

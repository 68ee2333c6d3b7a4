"""File 7 that contradicts itself (issue 14, cases 1-3): deciles against ranks, scores
against ranks, a header given twice. Tiny files with official headers."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from iod_msoa._errors import SchemaError
from iod_msoa._readers import file7_consistency_problems, read_file7
from iod_msoa._vocab import DENOMINATOR_SHORTS, METRIC_BY_SHORT, METRICS, file7_columns

from .conftest import build_lsoa_table, write_file7_csv

N = 20
POPS = dict(zip(DENOMINATOR_SHORTS, (1500, 300, 400, 900), strict=True))


@pytest.fixture
def twenty() -> pd.DataFrame:
    """A whole "England" of 20 LSOAs: scores fall as ranks rise, two LSOAs tied at rank 7."""
    rows = [
        {
            "lsoa21cd": f"E01{i:06d}",
            "lad24cd": "E06000001",
            "score": 50.0 - i,
            "rank": i,
            **POPS,
        }
        for i in range(1, N + 1)
    ]
    rows[7] |= {"score": rows[6]["score"], "rank": 7}  # E01000008 ties E01000007
    return build_lsoa_table(rows, n_national=N)


def _read(tmp_path, table: pd.DataFrame) -> pd.DataFrame:
    return read_file7(write_file7_csv(table, tmp_path / "file7.csv"), expected_rows=N)


def test_a_consistent_file_with_ties_reads(tmp_path, twenty):
    assert len(_read(tmp_path, twenty)) == N


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.short)
def test_a_decile_that_is_not_its_ranks_is_refused(tmp_path, twenty, metric):
    """Issue 14 case 1: rank 19 of 20 with decile 1 would count in the most deprived 10%."""
    twenty.loc[18, f"{metric.short}_decile"] = 1
    message = (
        f"column {metric.decile!r} has 1 decile(s) that are not ceil(rank x 10 / 20) of their "
        "rank: row 20 (E01000019) = 'decile 1 at rank 19'"
    )
    with pytest.raises(SchemaError, match=re.escape(message)):
        _read(tmp_path, twenty)


def test_deciles_use_the_national_count(twenty):
    """Deciles of 20 LSOAs checked as if England had 40: the deciles of ranks 3..20 are off."""
    problems = file7_consistency_problems(twenty, 40, [METRIC_BY_SHORT["imd"]])
    assert len(problems) == 1
    assert "has 18 decile(s) that are not ceil(rank x 10 / 40)" in str(problems[0])


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.short)
def test_a_shuffled_score_column_is_refused(tmp_path, twenty, metric):
    column = f"{metric.short}_score"
    twenty[column] = twenty[column].sample(frac=1, random_state=3).to_numpy()
    with pytest.raises(
        SchemaError,
        match=re.escape(f"column {metric.score!r} has ")
        + r"\d+ score\(s\) above that of an LSOA ranked more deprived",
    ):
        _read(tmp_path, twenty)


def test_swapped_crime_and_health_score_headers_are_refused(tmp_path, twenty):
    """Issue 14 case 2: the two domains' scores follow different ranks."""
    crime, health = METRIC_BY_SHORT["crime"], METRIC_BY_SHORT["health"]
    twenty["crime_score"] = twenty["crime_score"] / 10 - 1  # another scale, same order
    twenty["health_rank"] = twenty["health_rank"].to_numpy()[::-1]
    twenty["health_score"] = -twenty["health_score"]
    twenty["health_decile"] = -(-twenty["health_rank"] * 10 // N)
    assert _read(tmp_path, twenty) is not None  # each consistent on its own
    swapped = twenty.rename(columns={"crime_score": "health_score", "health_score": "crime_score"})
    with pytest.raises(SchemaError) as error:
        _read(tmp_path, swapped)
    assert f"column {health.score!r} has" in str(error.value)
    assert f"column {crime.score!r} has" in str(error.value)


def test_one_pair_of_scores_out_of_order_is_named(tmp_path, twenty):
    twenty.loc[[2, 3], "imd_score"] = [46.0, 47.5]  # ranks 3 and 4: 47 and 46 swapped, nudged
    with pytest.raises(
        SchemaError, match=re.escape("has 1 score(s) above that of an LSOA ranked more deprived")
    ) as error:
        _read(tmp_path, twenty)
    assert "row 5 (E01000004) = '47.5 at rank 4'" in str(error.value)


def test_rows_of_one_rank_may_differ_by_rounding(tmp_path, twenty):
    """Tied LSOAs share a rank; their published (rounded) scores are compared with the ranks
    around them, not with each other."""
    twenty.loc[7, "imd_score"] = twenty.loc[6, "imd_score"] + 0.0004
    assert len(_read(tmp_path, twenty)) == N


def test_float_noise_is_not_an_order_problem(twenty):
    twenty.loc[4, "imd_score"] = twenty.loc[3, "imd_score"] * (1 + 1e-12)
    assert file7_consistency_problems(twenty, N) == []


def test_a_duplicated_header_is_refused_naming_it(tmp_path, twenty):
    """Issue 14 case 3: an extra IMD Score column of 1.0s was taken for the first one."""
    imd = METRIC_BY_SHORT["imd"]
    path = write_file7_csv(twenty, tmp_path / "file7.csv")
    table = pd.read_csv(path)
    table.insert(5, imd.score + " ", 1.0)  # written back under the same header below
    header = [imd.score if c == imd.score + " " else c for c in table.columns]
    table.to_csv(path, index=False, header=header)
    with pytest.raises(
        SchemaError, match=re.escape(f"1 header(s) given more than once: {imd.score!r} (2 times)")
    ):
        read_file7(path, expected_rows=N)


def test_an_unknown_duplicated_header_is_ignored(tmp_path, twenty):
    """Only the columns we use must be unambiguous; other columns are not read."""
    path = write_file7_csv(twenty.assign(x=1, y=2), tmp_path / "file7.csv")
    table = pd.read_csv(path)
    table.to_csv(path, index=False, header=[*table.columns[:-2], "Extra", "Extra"])
    assert list(read_file7(path, expected_rows=N).columns) == list(file7_columns().values())

"""File 7's self-consistency checks pass on the real files: 2025 (stand-in, through the
reader) and 2019 (stand-in, whose ranks and deciles are official, with 26 to 157 ties)."""

from __future__ import annotations

import pandas as pd
import pytest

from iod_msoa._editions import EDITIONS
from iod_msoa._readers import file7_consistency_problems, read_file7

from .realdata import FILES, INPUTS, needs_inputs

FILE7_2019 = INPUTS.parent / "iod2019" / "File_7_IoD2019_STANDIN.csv"

pytestmark = [pytest.mark.realdata, needs_inputs]


def test_file7_2025_is_consistent_with_itself():
    table = read_file7(INPUTS / FILES["file7"])
    assert file7_consistency_problems(table, len(table)) == []


@pytest.mark.skipif(not FILE7_2019.is_file(), reason="2019 inputs not found")
def test_file7_2019_is_consistent_with_itself():
    e19 = EDITIONS[2019]
    table = pd.read_csv(FILE7_2019)[list(e19.file7_columns)].rename(columns=e19.file7_columns)
    table = table.rename(columns={"lsoa11cd": "lsoa21cd"})
    assert len(table) == e19.expected_lsoas == 32_844
    assert file7_consistency_problems(table, e19.expected_lsoas) == []


@pytest.mark.skipif(not FILE7_2019.is_file(), reason="2019 inputs not found")
def test_file7_2019_with_2025s_count_is_not():
    """The check does see the real file: the same deciles measured against 33,755 LSOAs."""
    e19 = EDITIONS[2019]
    table = pd.read_csv(FILE7_2019)[list(e19.file7_columns)].rename(columns=e19.file7_columns)
    table = table.rename(columns={"lsoa11cd": "lsoa21cd"})
    assert len(file7_consistency_problems(table, 33_755)) == 16

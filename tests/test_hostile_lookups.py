"""Lookups and geographies tables (issue 14, cases 8 and 19, and a crash on a blank code):
errors name the file's own rows, quote padded codes, and never crash."""

from __future__ import annotations

import pandas as pd
import pytest

from iod_msoa._errors import SchemaError
from iod_msoa._geographies import GEOGRAPHIES
from iod_msoa._lookups import assemble_geographies
from iod_msoa._readers import geography_problems, read_ons_lookup

ICB = GEOGRAPHIES["icb24"]
LSOA = pd.DataFrame(
    {
        "lsoa21cd": ["E01000001", "E01000002", "E01000003"],
        "lad24cd": ["E06000001", "E06000001", "E06000002"],
    }
)


def _geographies(codes: list[object], names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"lsoa21cd": LSOA["lsoa21cd"], ICB.code: codes, ICB.name: names})


def test_one_name_for_a_blank_and_a_real_code_is_no_crash():
    """A blank code (NaN) beside a name given to two codes raised TypeError in the join."""
    table = _geographies(["E54000001", float("nan"), "E54000002"], ["A", "A", "A"])
    problems = [str(p) for p in geography_problems(table, ICB)]
    assert problems[0].startswith("column 'icb24cd' has 1 missing or malformed code(s)")
    assert (
        problems[1] == "icb24nm name(s) given to more than one icb24cd: 'A' (E54000001, E54000002)"
    )


def test_blank_codes_with_different_names_are_only_blank():
    table = _geographies(["E54000001", float("nan"), float("nan")], ["A", "B", "C"])
    problems = [str(p) for p in geography_problems(table, ICB)]
    assert len(problems) == 1 and "2 missing or malformed code(s)" in problems[0]


def test_a_padded_code_with_two_names_is_quoted():
    table = _geographies([" E54000001", " E54000001", "E54000002"], ["A", "B", "C"])
    problems = [str(p) for p in geography_problems(table, ICB)]
    assert "1 icb24cd code(s) with more than one icb24nm: ' E54000001' ('A' for" in problems[-1]


def _icb_file(tmp_path, **changes: tuple[int, str]) -> str:
    table = pd.DataFrame(
        {
            "LSOA21CD": ["W01000001", "E01000003", "E01000001", "E01000002"],
            "SICBL24CD": ["W11000001", "E38000002", "E38000001", "E38000001"],
            "SICBL24NM": ["Wales", "Sub B", "Sub A", "Sub A"],
            "ICB24CD": ["W11000002", "E54000002", "E54000001", "E54000001"],
            "ICB24NM": ["Wales", "ICB Two", "ICB One", "ICB One"],
        }
    )
    for column, (row, value) in changes.items():
        table.loc[row, column] = value
    path = tmp_path / "lsoa_icb.csv"
    table.to_csv(path, index=False)
    return read_ons_lookup(path, "lsoa_icb")


def test_an_ons_lookup_error_cites_the_files_row_and_quotes_a_padded_code(tmp_path):
    """Issue 14 case 19: row 4 of the file, not row 2 of the table assembled in File 7's order."""
    lookup = _icb_file(tmp_path, ICB24CD=(2, " E54000001"))
    with pytest.raises(SchemaError) as caught:
        assemble_geographies(LSOA, {"lsoa_icb": lookup})
    assert (
        "lsoa_icb column 'icb24cd' has 1 missing or malformed code(s) (expected ^E54[0-9]{6}$): "
        "row 4 (E01000001) = ' E54000001'" in str(caught.value)
    )


def test_a_blank_name_in_an_ons_lookup_cites_the_files_row(tmp_path):
    lookup = _icb_file(tmp_path, SICBL24NM=(3, " "))
    with pytest.raises(
        SchemaError, match=r"'sicbl24nm' has 1 blank name\(s\): row 5 \(E01000002\)"
    ):
        assemble_geographies(LSOA, {"lsoa_icb": lookup})

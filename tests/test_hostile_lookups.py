"""Lookups and geographies tables (issue 14, cases 8 and 19, and a crash on a blank code):
errors name the file's own rows, quote padded codes, and never crash."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from iod_msoa._errors import SchemaError
from iod_msoa._geographies import GEOGRAPHIES
from iod_msoa._lookups import assemble_geographies
from iod_msoa._readers import geography_problems, read_lookup, read_names, read_ons_lookup

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


# --- the LSOA -> MSOA lookup and the names (issue 14, case 8) --------------------------------

LOOKUP_HEADER = "OA21CD,LSOA21CD,MSOA21CD,MSOA21NM\n"


def _lookup(tmp_path, *rows: str) -> pd.DataFrame:
    path = tmp_path / "lookup.csv"
    path.write_text(LOOKUP_HEADER + "".join(f"{r}\n" for r in rows))
    return read_lookup(path)


def test_an_english_lsoa_relabelled_into_a_welsh_msoa_is_refused(tmp_path):
    """W02000003 would otherwise enter England's MSOA table with Anglesey's polygon."""
    with pytest.raises(SchemaError) as caught:
        _lookup(
            tmp_path,
            "E00000001,E01000001,W02000003,City of London 001",
            "E00000002,E01000001,W02000003,City of London 001",
            "W00000001,W01000001,W02000001,Isle of Anglesey 001",
        )
    assert str(caught.value).endswith(
        "column 'msoa21cd' has 1 MSOA(s) in another country than their LSOA "
        "(E: England, W: Wales): row 2 (E01000001) = 'W02000003'"
    )


def test_welsh_rows_of_the_lookup_are_fine(tmp_path):
    lookup = _lookup(
        tmp_path,
        "E00000001,E01000001,E02000001,City of London 001",
        "W00000001,W01000001,W02000001,Isle of Anglesey 001",
    )
    assert lookup["msoa21cd"].tolist() == ["E02000001", "W02000001"]


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "spaces"])
def test_a_blank_msoa_name_in_the_lookup_is_refused(tmp_path, name):
    with pytest.raises(
        SchemaError, match=re.escape("'msoa21nm' has 1 blank name(s): row 3 (E02000002)")
    ):
        _lookup(
            tmp_path,
            "E00000001,E01000001,E02000001,City of London 001",
            f"E00000002,E01000002,E02000002,{name}",
        )


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "spaces"])
def test_a_blank_name_in_the_names_file_is_refused(tmp_path, name):
    path = tmp_path / "names.csv"
    path.write_text(f"msoa21cd,msoa21hclnm\nE02000001,City of London\nE02000002,{name}\n")
    with pytest.raises(
        SchemaError, match=re.escape("'msoa21hclnm' has 1 blank name(s): row 3 (E02000002)")
    ):
        read_names(path)

"""CSV inputs as spreadsheets save them (issue 14, case 22, and beyond): Excel's trailing row
of bare commas is dropped the same way for every input; an empty row inside is still named."""

from __future__ import annotations

import pandas as pd
import pytest

from iod_msoa._errors import SchemaError
from iod_msoa._geographies import GEOGRAPHIES
from iod_msoa._readers import (
    read_file7,
    read_geographies,
    read_lad_summaries,
    read_lookup,
    read_names,
    read_ons_lookup,
)

from .conftest import write_file7_csv


def _with_bare_commas(path, rows: int = 1):
    """Append Excel's "Save as CSV" leftovers: rows of nothing but commas (and a space)."""
    columns = len(pd.read_csv(path, nrows=0).columns)
    with path.open("a", encoding="utf-8") as file:
        file.write(("," * (columns - 1) + "\n") + (" " + "," * (columns - 1) + "\n") * (rows - 1))
    return path


def _lookup(tmp_path):
    path = tmp_path / "lookup.csv"
    path.write_text(
        "oa21cd,lsoa21cd,msoa21cd,msoa21nm\nE00000001,E01000001,E02000001,City of London 001\n"
    )
    return path


def _names(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("msoa21cd,msoa21hclnm,msoa21hclnmw\nE02000001,City of London,\n")
    return path


def _geographies(tmp_path):
    path = tmp_path / "geographies.csv"
    path.write_text("lsoa21cd,icb24cd,icb24nm\nE01000001,E54000001,ICB One\n")
    return path


def _icb(tmp_path):
    path = tmp_path / "icb.csv"
    path.write_text(
        "LSOA21CD,SICBL24CD,SICBL24NM,ICB24CD,ICB24NM\nE01000001,E38000001,Sub A,E54000001,One\n"
    )
    return path


READERS = {
    "lookup": (_lookup, read_lookup),
    "names": (_names, read_names),
    "geographies": (
        _geographies,
        lambda p: read_geographies(p, geographies=[GEOGRAPHIES["icb24"]]),
    ),
    "ons_lookup": (_icb, lambda p: read_ons_lookup(p, "lsoa_icb")),
}


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("name", READERS)
def test_trailing_rows_of_bare_commas_are_dropped(tmp_path, name, rows):
    make, read = READERS[name]
    clean = read(make(tmp_path))
    (tmp_path / "saved").mkdir()
    damaged = read(_with_bare_commas(make(tmp_path / "saved"), rows))
    pd.testing.assert_frame_equal(damaged, clean)


def test_file7_with_a_trailing_row_of_bare_commas_reads(tmp_path, tiny_file7):
    path = _with_bare_commas(write_file7_csv(tiny_file7, tmp_path / "file7.csv"))
    pd.testing.assert_frame_equal(read_file7(path, expected_rows=4), tiny_file7, check_dtype=False)


def test_an_empty_row_inside_file7_is_still_named(tmp_path, tiny_file7):
    path = write_file7_csv(tiny_file7, tmp_path / "file7.csv")
    lines = path.read_text().splitlines(keepends=True)
    empty = "," * (len(tiny_file7.columns) - 1) + "\n"
    path.write_text("".join([*lines[:3], empty, *lines[3:]]))
    with pytest.raises(SchemaError, match=r"missing or malformed LSOA codes.*row 4 \(<blank>\); "):
        read_file7(path, expected_rows=None)


def test_summaries_drop_trailing_bare_commas_as_before(tmp_path):
    table = pd.read_csv(_with_bare_commas(_summaries(tmp_path)))
    assert len(table) == 3  # the file has the row; the reader drops it
    assert len(read_lad_summaries(tmp_path / "file10.csv")) == 2


def _summaries(tmp_path):
    from .test_readers import LADS, _published_values

    table = {"ltla24_code": list(LADS), "ltla24_name": list(LADS.values())}
    for columns in _published_values().values():
        table |= columns
    path = tmp_path / "file10.csv"
    pd.DataFrame(table).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("other", ["msoa21cd", "MSOA21CD", " msoa21cd "])
def test_a_column_we_read_given_twice_is_refused(tmp_path, other):
    """ONS spells headers in upper case and copies in lower: both at once, which is meant?"""
    path = tmp_path / "lookup.csv"
    path.write_text(
        f"LSOA21CD,MSOA21CD,MSOA21NM,{other}\nE01000001,E02000001,City of London 001,E02000002\n"
    )
    with pytest.raises(
        SchemaError, match=r"1 header\(s\) given more than once: 'msoa21cd' \(2 times\)"
    ):
        read_lookup(path)


def test_an_unused_column_given_twice_is_ignored(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("msoa21cd,msoa21hclnm,note,note\nE02000001,City of London,a,b\n")
    assert read_names(path)["msoa21hclnm"].tolist() == ["City of London"]

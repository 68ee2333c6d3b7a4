"""The readers' checks, on tiny files with official headers."""

from __future__ import annotations

import os
import re
import threading

import pandas as pd
import pytest

from iod_msoa import _readers
from iod_msoa._errors import SchemaError, listed
from iod_msoa._geographies import GEOGRAPHIES
from iod_msoa._readers import (
    check_codes,
    check_columns,
    check_geographies,
    is_in,
    read_file7,
    read_lad_summaries,
    read_lookup,
    read_names,
)
from iod_msoa._vocab import (
    DENOMINATORS,
    METRIC_BY_SHORT,
    METRICS,
    PUBLISHED_MEASURES,
    file7_columns,
)

# --- read_file7 -----------------------------------------------------------------------------


@pytest.fixture
def file7_path(tmp_path, tiny_file7, write_file7):
    return write_file7(tiny_file7, tmp_path / "file7.csv")


def _damaged(tmp_path, write_file7, table):
    return write_file7(table, tmp_path / "damaged.csv")


def test_read_file7_round_trip(file7_path, tiny_file7):
    table = read_file7(file7_path, expected_rows=4)
    assert list(table.columns) == list(tiny_file7.columns)
    pd.testing.assert_frame_equal(table, tiny_file7, check_dtype=False)
    numeric = table.drop(columns=["lsoa21cd", "lsoa21nm", "lad24cd", "lad24nm"])
    assert (numeric.dtypes == "int64").sum() == 16 * 2 + 4  # ranks, deciles, populations
    assert (numeric.dtypes == "float64").sum() == 16  # scores


def test_read_file7_without_a_row_count(file7_path):
    assert len(read_file7(file7_path, expected_rows=None)) == 4


def test_read_file7_expects_the_official_row_count_by_default(file7_path):
    with pytest.raises(SchemaError, match="has 4 LSOA rows; the official file has 33,755"):
        read_file7(file7_path)


def test_read_file7_wrong_row_count(file7_path):
    with pytest.raises(SchemaError, match="has 4 LSOA rows; the official file has 5"):
        read_file7(file7_path, expected_rows=5)


@pytest.mark.parametrize(
    ("official", "ours"),
    [
        ("LSOA code (2021)", "lsoa21cd"),
        ("Index of Multiple Deprivation (IMD) Score", "imd_score"),
        ("Total population: mid 2022", "pop_total"),
    ],
)
def test_read_file7_missing_column_is_named(tmp_path, tiny_file7, write_file7, official, ours):
    path = _damaged(tmp_path, write_file7, tiny_file7.drop(columns=ours))
    with pytest.raises(SchemaError, match=re.escape(f"1 required column(s) missing: {official!r}")):
        read_file7(path, expected_rows=None)


def test_read_file7_requires_every_official_column(tmp_path):
    """A CSV with none of File 7's columns gets all 56 named in one message."""
    path = tmp_path / "other.csv"
    path.write_text("code,value\nE01000001,1\n")
    with pytest.raises(SchemaError, match=r"56 required column\(s\) missing") as error:
        read_file7(path, expected_rows=None)
    for official in file7_columns():
        assert repr(official) in str(error.value)


def test_read_file7_names_every_missing_column_at_once(tmp_path, tiny_file7, write_file7):
    path = _damaged(tmp_path, write_file7, tiny_file7.drop(columns=["crime_rank", "pop_total"]))
    with pytest.raises(SchemaError, match=r"2 required column\(s\) missing") as error:
        read_file7(path, expected_rows=None)
    assert "'Crime Rank (where 1 is most deprived)'" in str(error.value)
    assert "'Total population: mid 2022'" in str(error.value)


def test_read_file7_renamed_column_suggests_the_close_match(tmp_path, tiny_file7, write_file7):
    # The official CYP decile header is truncated; a "fixed" copy has the full text.
    truncated = METRIC_BY_SHORT["cyp"].decile
    assert truncated.endswith("10% of LSO")
    full = truncated + "As)"
    path = _damaged(tmp_path, write_file7, tiny_file7.rename(columns={"cyp_decile": full}))
    with pytest.raises(SchemaError, match=re.escape(f"{truncated!r} (found {full!r}: renamed?)")):
        read_file7(path, expected_rows=None)


def test_read_file7_duplicate_lsoa_code(tmp_path, tiny_file7, write_file7):
    tiny_file7.loc[1, "lsoa21cd"] = "E01000001"
    path = _damaged(tmp_path, write_file7, tiny_file7)
    with pytest.raises(
        SchemaError, match=r"2 duplicated LSOA codes: row 2 \(E01000001\), row 3 \(E01000001\)"
    ):
        read_file7(path, expected_rows=None)


@pytest.mark.parametrize("code", ["E0100002", "W01000002", "e01000002", "E02000002"])
def test_read_file7_malformed_lsoa_code(tmp_path, tiny_file7, write_file7, code):
    tiny_file7.loc[1, "lsoa21cd"] = code
    path = _damaged(tmp_path, write_file7, tiny_file7)
    with pytest.raises(SchemaError, match=rf"1 missing or malformed LSOA codes .*row 3 \({code}\)"):
        read_file7(path, expected_rows=None)


@pytest.mark.parametrize("value", ["n/a", ""])
def test_read_file7_non_numeric_population(tmp_path, tiny_file7, write_file7, value):
    table = tiny_file7.astype({"pop_total": "object"})
    table.loc[2, "pop_total"] = value
    path = _damaged(tmp_path, write_file7, table)
    with pytest.raises(
        SchemaError,
        match=re.escape(
            "'Total population: mid 2022' has 1 blank or non-numeric value(s): row 4 (E01000003)"
        ),
    ):
        read_file7(path, expected_rows=None)


def test_read_file7_non_numeric_score(tmp_path, tiny_file7, write_file7):
    table = tiny_file7.astype({"crime_score": "object"})
    table.loc[0, "crime_score"] = "x"
    path = _damaged(tmp_path, write_file7, table)
    with pytest.raises(SchemaError, match=r"'Crime Score' has 1 blank or non-numeric value"):
        read_file7(path, expected_rows=None)


@pytest.mark.parametrize("denominator", DENOMINATORS, ids=lambda d: d.short)
def test_read_file7_negative_population(tmp_path, tiny_file7, write_file7, denominator):
    tiny_file7.loc[3, denominator.short] = -1
    path = _damaged(tmp_path, write_file7, tiny_file7)
    with pytest.raises(
        SchemaError,
        match=re.escape(f"{denominator.column!r} has 1 negative population(s): row 5 (E01000004)"),
    ):
        read_file7(path, expected_rows=None)


@pytest.mark.parametrize(
    ("column", "value", "rule"), [("rank", 5, "1..4"), ("rank", 0, "1..4"), ("decile", 11, "1..10")]
)
def test_read_file7_rank_or_decile_out_of_range(
    tmp_path, tiny_file7, write_file7, column, value, rule
):
    tiny_file7.loc[0, f"income_{column}"] = value
    path = _damaged(tmp_path, write_file7, tiny_file7)
    official = getattr(METRIC_BY_SHORT["income"], column)
    with pytest.raises(
        SchemaError, match=re.escape(f"{official!r} has 1 value(s) outside {rule}: row 2")
    ):
        read_file7(path, expected_rows=None)


def test_read_file7_reports_every_problem_at_once(tmp_path, tiny_file7, write_file7):
    tiny_file7.loc[1, "lsoa21cd"] = "E01000001"
    tiny_file7.loc[2, "pop_older_60_plus"] = -5
    path = _damaged(tmp_path, write_file7, tiny_file7)
    with pytest.raises(SchemaError, match="duplicated LSOA codes") as error:
        read_file7(path, expected_rows=5)
    assert "negative population" in str(error.value)
    assert "the official file has 5" in str(error.value)


def test_read_file7_missing_file(tmp_path):
    with pytest.raises(SchemaError, match="cannot be read as CSV"):
        read_file7(tmp_path / "nowhere.csv")


def test_a_csv_read_short_is_an_error_not_a_shorter_table(tmp_path, monkeypatch):
    """A file whose read stops before its end (changed meanwhile, say) must not be taken
    for a file with fewer rows."""
    path = tmp_path / "lookup.csv"
    path.write_text("lsoa21cd,msoa21cd,msoa21nm\nE01000001,E02000001,Somewhere 001\n")
    real = os.fstat

    def larger(fd: int) -> os.stat_result:
        status = real(fd)
        return os.stat_result((status.st_mode, *status[1:6], status.st_size + 22, *status[7:]))

    monkeypatch.setattr(_readers.os, "fstat", larger)
    with pytest.raises(SchemaError, match="read 61 of its 83 bytes"):
        read_lookup(path)


def test_a_csv_from_a_pipe_is_read(tmp_path):
    """A pipe (``--file7 <(unzip -p ...)``, read whole as File 7 is) has no size to check the
    read against."""
    path = tmp_path / "lookup.csv"
    os.mkfifo(path)
    text = "lsoa21cd,msoa21cd\nE01000001,E02000001\n"
    writer = threading.Thread(target=path.write_text, args=(text,))
    writer.start()
    table = _readers._read_csv(path, "lookup")
    writer.join()
    assert table.to_dict("records") == [{"lsoa21cd": "E01000001", "msoa21cd": "E02000001"}]


# --- read_lookup ----------------------------------------------------------------------------


def test_read_lookup_accepts_upper_case_ons_headers(tmp_path):
    path = tmp_path / "lookup.csv"
    path.write_text(
        "OA21CD,LSOA21CD,LSOA21NM,MSOA21CD,MSOA21NM\n"
        "E00000001,E01000001,Somewhere 001A,E02000001,Somewhere 001\n"
        "E00000002,E01000001,Somewhere 001A,E02000001,Somewhere 001\n"
        "E00000003,E01000002,Somewhere 002A,E02000002,Somewhere 002\n"
    )
    lookup = read_lookup(path)
    assert list(lookup.columns) == ["lsoa21cd", "msoa21cd", "msoa21nm"]
    assert lookup["lsoa21cd"].tolist() == ["E01000001", "E01000002"]
    assert lookup["msoa21cd"].tolist() == ["E02000001", "E02000002"]
    assert lookup["msoa21nm"].tolist() == ["Somewhere 001", "Somewhere 002"]


def test_read_lookup_rejects_an_lsoa_in_two_msoas(tmp_path):
    path = tmp_path / "lookup.csv"
    path.write_text(
        "lsoa21cd,msoa21cd,msoa21nm\n"
        "E01000001,E02000001,Somewhere 001\n"
        "E01000001,E02000002,Somewhere 002\n"
    )
    with pytest.raises(SchemaError, match=r"2 duplicated LSOA codes.*must sit in one MSOA"):
        read_lookup(path)


def test_read_lookup_names_a_missing_column(tmp_path):
    path = tmp_path / "lookup.csv"
    path.write_text("LSOA21CD,MSOA21NM\nE01000001,Somewhere 001\n")
    with pytest.raises(SchemaError, match=r"1 required column.*'msoa21cd'"):
        read_lookup(path)


# --- read_names -----------------------------------------------------------------------------


def test_read_names_handles_a_utf8_bom(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text(
        "msoa21cd,msoa21hclnm,msoa21hclnmw\n"
        "E02000001,City of London,\n"
        "W02000001,Holyhead North,Caergybi Gogledd\n"
        "E02000002,Bishop’s Stortford Central,\n",
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    names = read_names(path)
    assert list(names.columns) == ["msoa21cd", "msoa21hclnm"]
    assert names["msoa21cd"].tolist() == ["E02000001", "W02000001", "E02000002"]
    assert names["msoa21hclnm"].iloc[2] == "Bishop’s Stortford Central"


def test_read_names_rejects_a_malformed_code(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("msoa21cd,msoa21hclnm\nE01000001,Not an MSOA\n")
    with pytest.raises(SchemaError, match=r"1 missing or malformed MSOA codes.*E01000001"):
        read_names(path)


# --- read_lad_summaries ---------------------------------------------------------------------

# File 10's xlsx: a sheet per published metric, headers "<prefix> - <measure>".
XLSX_PREFIX = {
    "imd": "IMD",
    "income": "Income",
    "employment": "Employment",
    "education_skills_and_training": "Education, Skills and Training",
    "health_deprivation_and_disability": "Health Deprivation and Disability",
    "crime": "Crime",
    "barriers_to_housing_and_services": "Barriers to Housing and Services",
    "living_environment": "Living Environment",
    "idaci": "IDACI",
    "idaopi": "IDAOPI",
}
XLSX_MEASURE = {
    "average_score": "{p} - Average score",
    "average_rank": "{p} - Average rank",
    "proportion_most_deprived_10": "{p} - Proportion of LSOAs in most deprived 10% nationally",
    "extent": "{p}25 - Extent",
    "local_concentration": "{p}25 - Local concentration",
    "scale": "{p} - Scale",
}
LADS = {"E06000001": "Hartlepool", "E06000002": "Middlesbrough"}


def _published_values() -> dict[str, dict[str, list[float]]]:
    """Per published metric prefix: table column -> official xlsx header and two values."""
    values: dict[str, dict[str, list[float]]] = {}
    j = 0
    for m in METRICS:
        for pm in PUBLISHED_MEASURES:
            if pm.applies_to(m):
                j += 1
                values.setdefault(m.published, {})[pm.published_column(m)] = [j + 0.25, j + 0.5]
    return values


@pytest.fixture
def lad_csv(tmp_path):
    table = {"ltla24_code": list(LADS), "ltla24_name": list(LADS.values())}
    for columns in _published_values().values():
        table |= columns
    path = tmp_path / "file10.csv"
    pd.DataFrame(table).to_csv(path, index=False)
    return path


@pytest.fixture
def lad_xlsx(tmp_path):
    path = tmp_path / "file10.xlsx"
    measure_of = {pm.published_column(m): pm.measure for m in METRICS for pm in PUBLISHED_MEASURES}
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        pd.DataFrame({"Notes": ["File 10: local authority district summaries"]}).to_excel(
            book, sheet_name="Notes", index=False
        )
        for published, columns in _published_values().items():
            prefix = XLSX_PREFIX[published]
            sheet = {
                "Local Authority District code (2024)": list(LADS),
                "Local Authority District name (2024)": list(LADS.values()),
            }
            for column, values in columns.items():
                sheet[XLSX_MEASURE[measure_of[column]].format(p=prefix)] = values
            pd.DataFrame(sheet).to_excel(book, sheet_name=prefix.split()[0].strip(","), index=False)
    return path


def test_the_xlsx_fixture_uses_the_official_headers(lad_xlsx):
    headers = set(pd.read_excel(lad_xlsx, sheet_name="IMD").columns)
    assert {
        "IMD - Average rank",
        "IMD - Proportion of LSOAs in most deprived 10% nationally",
        "IMD25 - Extent",
        "IMD25 - Local concentration",
    } <= headers
    assert "Income - Scale" in set(pd.read_excel(lad_xlsx, sheet_name="Income").columns)
    assert "Employment - Scale" in set(pd.read_excel(lad_xlsx, sheet_name="Employment").columns)


def test_read_lad_summaries_csv(lad_csv):
    table = read_lad_summaries(lad_csv)
    assert list(table.columns[:2]) == ["lad24cd", "lad24nm"]
    assert table["lad24cd"].tolist() == list(LADS)
    assert table["imd_average_rank"].tolist() == [2.25, 2.5]  # the 2nd published column


def test_read_lad_summaries_xlsx_and_csv_agree(lad_csv, lad_xlsx):
    from_csv = read_lad_summaries(lad_csv)
    from_xlsx = read_lad_summaries(lad_xlsx)
    assert list(from_xlsx.columns[:2]) == ["lad24cd", "lad24nm"]
    assert sorted(from_xlsx.columns) == sorted(from_csv.columns)
    pd.testing.assert_frame_equal(
        from_xlsx[from_csv.columns], from_csv, check_dtype=False, check_index_type=False
    )


def test_read_lad_summaries_names_a_missing_measure(tmp_path, lad_csv):
    path = tmp_path / "short.csv"
    pd.read_csv(lad_csv).drop(columns="imd25_extent").to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"1 required column.*'imd25_extent'"):
        read_lad_summaries(path)


def test_read_lad_summaries_xlsx_names_a_duplicated_area(tmp_path, lad_xlsx):
    sheets = pd.read_excel(lad_xlsx, sheet_name=None)
    path = tmp_path / "dup.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        for name, sheet in sheets.items():
            again = sheet.iloc[[0]] if name == "Income" else sheet.iloc[[]]
            pd.concat([sheet, again]).to_excel(book, sheet_name=name, index=False)
    with pytest.raises(
        SchemaError, match=r"sheet 'Income'.*row 2 \(E06000001\), row 4 \(E06000001\)"
    ):
        read_lad_summaries(path)


def test_read_lad_summaries_names_a_value_that_is_not_a_number(tmp_path, lad_csv):
    path = tmp_path / "text.csv"
    pd.read_csv(lad_csv).assign(imd25_extent=["0.1", "n/a"]).to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"'imd25_extent' has 1 .*row 3 \(E06000002\) = 'n/a'"):
        read_lad_summaries(path)


def test_read_lad_summaries_xlsx_without_code_column(tmp_path):
    path = tmp_path / "bad.xlsx"
    pd.DataFrame({"LAD": ["E06000001"]}).to_excel(path, sheet_name="IMD", index=False)
    with pytest.raises(SchemaError, match=re.escape("no 'Local Authority District code (2024)'")):
        read_lad_summaries(path)


def test_a_long_name_sharing_most_letters_is_not_suggested_as_a_rename():
    """MHCLG's summaries have long names: crime's rank of proportion is not income's proportion."""
    wanted = "income_proportion_of_lso_as_in_most_deprived_10_percent_nationally"
    frame = pd.DataFrame(
        columns=["crime_rank_of_proportion_of_lso_as_in_most_deprived_10_percent_nationally"]
    )
    with pytest.raises(SchemaError) as caught:
        check_columns(frame, [wanted], "file13.csv")
    assert "renamed" not in str(caught.value)
    frame = pd.DataFrame(columns=[wanted.replace("lso_as", "lsoas")])  # a small change: hinted
    with pytest.raises(SchemaError, match="renamed"):
        check_columns(frame, [wanted], "file13.csv")


def test_codes_padded_with_spaces_are_quoted_in_messages():
    assert listed(["E54000013", " E54000013", ""]) == "E54000013, ' E54000013', ''"
    problems = check_codes(pd.Series(["E01000001", "E01000002 "]), r"^E01\d{6}$", "codes")
    assert [str(p) for p in problems] == [
        "1 missing or malformed codes (expected ^E01\\d{6}$): row 3 ('E01000002 ')"
    ]


def test_a_longer_or_required_column_is_never_suggested_as_a_rename():
    frame = pd.DataFrame(columns=["lsoa21cd", "icb24cdh", "icb_code", "icb24nm"])
    with pytest.raises(SchemaError) as caught:
        check_columns(frame, ["lsoa21cd", "icb24cd", "icb24nm"], "geo.csv", others=True)
    assert "'icb24cd'" in str(caught.value) and "icb24cdh" not in str(caught.value)
    frame = pd.DataFrame(columns=["icb24_cd", "icb24nm", "icb24nmx"])
    with pytest.raises(SchemaError, match=r"'icb24cd' \(found 'icb24_cd': renamed\?\)"):
        check_columns(frame, ["icb24cd", "icb24nm"], "geo.csv")
    with pytest.raises(SchemaError) as caught:
        check_columns(pd.DataFrame(columns=["icb24nm"]), ["icb24cd", "icb24nm"], "geo.csv")
    assert "renamed" not in str(caught.value)


def test_a_geographies_table_with_many_problems_is_one_short_line():
    """Eight problems once made one 779-character message: three are listed, the rest counted."""
    wanted = [GEOGRAPHIES[k] for k in ("icb24", "sicbl24", "rgn24", "pcon24")]
    table = pd.DataFrame({"lsoa21cd": ["E01000001", "x", "E01000003"]})
    for g in wanted:
        table[g.code] = ["bad", "bad", "bad"]
        table[g.name] = ["", "", ""]
    with pytest.raises(SchemaError) as caught:
        check_geographies(table, wanted, "geo.csv")
    message = str(caught.value)
    assert message.startswith("geo.csv: 1 missing or malformed LSOA codes")
    assert message.endswith("; and 6 more problem(s)")
    assert message.count("; ") == 3 and "\n" not in message
    assert len(message) < 400


def test_is_in_agrees_with_pandas_isin_blanks_and_string_kinds_included():
    values = pd.Series(["E01000001", None, "E01000003", "E01000001"], dtype="str")
    among = pd.Index(["E01000001", None, "X"], dtype=object)
    assert is_in(values, among).tolist() == values.isin(among).tolist() == [True, True, False, True]
    assert is_in(values, pd.Index(["X"])).tolist() == [False] * 4

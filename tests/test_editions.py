"""Editions as data: File 7 headers by edition, refusing the wrong edition by name, tie
rules, and the File 10 (2019) reader, on tiny hand-made files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iod_msoa._edition_readers import clean_header, published_columns, read_lad_summaries
from iod_msoa._editions import (
    EDITIONS,
    Edition,
    _check_same_metrics,
    check_edition,
    detect_edition,
    edition_of,
)
from iod_msoa._errors import SchemaError
from iod_msoa._ties import mean_rank_of_ties, summary_ranks
from iod_msoa._vocab import METRICS, file7_columns

E19, E25 = EDITIONS[2019], EDITIONS[2025]


# --- the edition tables ---------------------------------------------------------------------


def test_2025_edition_is_schema_toml_unchanged():
    assert E25.file7_columns == file7_columns()


def test_2019_file7_has_the_official_57_columns():
    assert len(E19.file7_columns) == E19.columns == 57
    assert E19.identifiers["lsoa11cd"] == "LSOA code (2011)"
    assert [d.short for d in E19.denominators if not d.whole] == ["pop_working_age_18_59_64"]
    assert E19.denominators[-1].column.endswith("(excluding prisoners) ")  # MHCLG's space


def test_both_editions_spell_the_same_metrics_in_order():
    assert [m.short for m in E19.metrics] == [m.short for m in METRICS]
    assert [m.short for m in E25.metrics] == [m.short for m in METRICS]


def test_2019_weights_employment_by_its_own_working_age():
    weights = {m.short: m.denominator for m in E19.metrics}
    assert weights["employment"] == "pop_working_age_18_59_64"
    assert {d.short for d in E19.denominators} >= set(weights.values())


def test_edition_tables_listing_different_metrics_are_refused():
    fewer = Edition(**{**vars(E19), "metrics": E19.metrics[:-1]})
    with pytest.raises(SchemaError, match="different metrics: 2019"):
        _check_same_metrics(E25, fewer)


def test_unknown_edition_is_named():
    with pytest.raises(SchemaError, match="no IoD edition 2015: choose one of 2019, 2025"):
        edition_of(2015)


def test_dataset_names_carry_the_edition():
    assert E19.dataset("msoa21") == "iod19_msoa21"
    assert E25.dataset("lad24") == "iod25_lad24"


# --- which edition a File 7 is ---------------------------------------------------------------


@pytest.mark.parametrize("year", [2019, 2025])
def test_detect_edition_by_headers(year):
    assert detect_edition(list(EDITIONS[year].file7_columns)) == year


def test_a_header_of_no_edition_is_none():
    assert detect_edition(["LSOA code (2021)", "IMD Score"]) is None


def test_2019_populations_with_2021_lsoas_are_no_edition():
    mixed = [*E19.file7_columns]
    mixed[0] = "LSOA code (2021)"
    assert detect_edition(mixed) is None


def test_a_2025_file7_given_as_2019_is_refused_by_name():
    with pytest.raises(SchemaError) as caught:
        check_edition(E25.file7_columns, 2019, "File 7 (f.csv)")
    message = str(caught.value)
    assert "English Indices of Deprivation 2025 File 7" in message
    assert "not the English Indices of Deprivation 2019 one" in message
    assert "--edition 2025" in message and "\n" not in message


def test_a_2019_file7_given_as_2025_is_refused_by_name():
    with pytest.raises(SchemaError, match=r"2019 File 7 \('LSOA code \(2011\)'.*--edition 2019"):
        check_edition(E19.file7_columns, 2025, "File 7 (f.csv)")


@pytest.mark.parametrize("year", [2019, 2025])
def test_the_right_edition_or_an_unknown_header_passes(year):
    check_edition(EDITIONS[year].file7_columns, year, "File 7")
    check_edition(["something else"], year, "File 7")


# --- ties -----------------------------------------------------------------------------------


def test_tied_ranks_become_the_mean_rank_of_their_group():
    np.testing.assert_array_equal(
        mean_rank_of_ties([4, 1, 2, 2, 5, 5, 5]), [4, 1, 2.5, 2.5, 6, 6, 6]
    )


def test_ranks_that_are_not_whole_or_run_far_beyond_their_count_tie_the_same_way():
    np.testing.assert_array_equal(mean_rank_of_ties([1.5, 1.5, 3]), [2, 2, 3])
    huge = 10**9
    np.testing.assert_array_equal(mean_rank_of_ties([1, huge, huge]), [1, huge + 0.5, huge + 0.5])
    np.testing.assert_array_equal(mean_rank_of_ties([2, 2, 1], ["a", "a", "b"]), [2, 2, 1])
    np.testing.assert_array_equal(mean_rank_of_ties([2, 2, 1], ["a", "c", "b"]), [2.5, 2.5, 1])


def test_summary_ranks_follow_the_edition_rule():
    assert E19.summary_ranks == E25.summary_ranks == "mean"
    np.testing.assert_array_equal(summary_ranks([1, 1], E19.summary_ranks), [1.5, 1.5])
    np.testing.assert_array_equal(summary_ranks([1, 1], "published"), [1, 1])
    with pytest.raises(ValueError, match="unknown tie rule 'max'"):
        summary_ranks([1], "max")


# --- File 10 (2019) -------------------------------------------------------------------------

SHEETS = {  # sheet: (header prefix, the metric's published prefix)
    "IMD": ("IMD", "imd"),
    "Income": ("Income", "income"),
    "Employment": ("Employment", "employment"),
    "Education": ("Education, Skills and Training", "education_skills_and_training"),
    "Health": ("Health Deprivation and Disability", "health_deprivation_and_disability"),
    "Crime": ("Crime", "crime"),
    "Barriers": ("Barriers to Housing and Services", "barriers_to_housing_and_services"),
    "Living": ("Living Environment", "living_environment"),
    "IDACI": ("IDACI", "idaci"),
    "IDAOPI": ("IDAOPI", "idaopi"),
}
CODE, NAME = "Local Authority District code (2019)", "Local Authority District name (2019)"


def _sheet(prefix: str, codes: list[str]) -> pd.DataFrame:
    """One index's sheet with File 10 (2019)'s headers (trailing spaces included)."""
    n = len(codes)
    table = pd.DataFrame({CODE: codes, NAME: [f"Place {c[-1]}" for c in codes]})
    table[f"{prefix} - Average rank "] = np.arange(n) + 100.25
    table[f"{prefix} - Rank of average rank "] = np.arange(n) + 1
    table[f"{prefix} - Average score "] = np.arange(n) + 0.5
    table[f"{prefix} - Proportion of LSOAs in most deprived 10% nationally "] = 0.1
    if prefix == "IMD":
        table["IMD 2019 - Extent "] = 0.2
        table["IMD 2019 - Local concentration "] = 30000.5
    if prefix in {"Income", "Employment"}:
        table[f"{prefix} scale"] = 1000
    return table


def _write(path, sheets: dict[str, pd.DataFrame]):
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        pd.DataFrame().to_excel(book, sheet_name="Notes", index=False)
        for name, sheet in sheets.items():
            sheet.to_excel(book, sheet_name=name, index=False)
    return path


@pytest.fixture
def file10(tmp_path):
    codes = ["E06000001", "E06000002"]
    return _write(tmp_path / "f10.xlsx", {s: _sheet(p, codes) for s, (p, _) in SHEETS.items()})


def test_clean_header_shortens_the_edition_year():
    assert clean_header("IMD 2019 - Extent ", 2019) == "imd19_extent"
    assert clean_header("IMD25 - Extent", 2025) == "imd25_extent"
    assert clean_header("Income - Proportion of LSOAs in most deprived 10% nationally ", 2019) == (
        "income_proportion_of_lso_as_in_most_deprived_10_percent_nationally"
    )


def test_read_file10_2019_gives_every_published_measure(file10):
    table = read_lad_summaries(file10, 2019)
    assert list(table.columns) == ["lad19cd", "lad19nm", *published_columns(E19)]
    assert len(published_columns(E19)) == 34  # 10 indices x 3, extent, concentration, 2 scales
    assert table["lad19cd"].tolist() == ["E06000001", "E06000002"]
    assert table["imd19_extent"].tolist() == [0.2, 0.2]
    assert table["idaopi_average_rank"].tolist() == [100.25, 101.25]


def test_read_file10_2019_refuses_a_2025_file10_by_name(tmp_path):
    sheet = _sheet("IMD", ["E06000001"]).rename(
        columns={CODE: "Local Authority District code (2024)"}
    )
    path = _write(tmp_path / "f10_2025.xlsx", {"IMD": sheet})
    with pytest.raises(
        SchemaError, match=r"sheet 'IMD': is a File 10 of the English Indices of Deprivation 2025"
    ):
        read_lad_summaries(path, 2019)


def test_read_file10_2019_names_a_missing_code_column(tmp_path):
    path = _write(tmp_path / "f.xlsx", {"IMD": pd.DataFrame({"LAD": ["E06000001"]})})
    with pytest.raises(SchemaError, match=r"sheet 'IMD': 1 required column.*\(2019\)'"):
        read_lad_summaries(path, 2019)


def test_read_file10_2019_names_a_duplicated_district(tmp_path):
    sheets = {s: _sheet(p, ["E06000001", "E06000002"]) for s, (p, _) in SHEETS.items()}
    sheets["Crime"] = _sheet("Crime", ["E06000001", "E06000001"])
    with pytest.raises(SchemaError, match=r"sheet 'Crime': 1 duplicated area code"):
        read_lad_summaries(_write(tmp_path / "f.xlsx", sheets), 2019)


def test_read_file10_2019_names_sheets_that_disagree(tmp_path):
    sheets = {s: _sheet(p, ["E06000001", "E06000002"]) for s, (p, _) in SHEETS.items()}
    sheets["Crime"] = _sheet("Crime", ["E06000001", "E06000003"])
    with pytest.raises(SchemaError, match="sheets list different local authorities"):
        read_lad_summaries(_write(tmp_path / "f.xlsx", sheets), 2019)


def test_read_file10_2019_names_a_missing_sheet_measure(tmp_path):
    sheets = {s: _sheet(p, ["E06000001"]) for s, (p, _) in SHEETS.items() if s != "IDACI"}
    with pytest.raises(SchemaError, match=r"3 required column.*'idaci_average_score'"):
        read_lad_summaries(_write(tmp_path / "f.xlsx", sheets), 2019)


def test_read_file10_2019_names_a_value_that_is_not_a_number(tmp_path):
    sheets = {s: _sheet(p, ["E06000001", "E06000002"]) for s, (p, _) in SHEETS.items()}
    sheets["IMD"]["IMD 2019 - Extent "] = ["0.1", "n/a"]
    with pytest.raises(
        SchemaError, match=r"'IMD 2019 - Extent' has 1 .*row 3 \(E06000002\) = 'n/a'"
    ):
        read_lad_summaries(_write(tmp_path / "f.xlsx", sheets), 2019)


def test_read_file10_2019_refuses_a_file_that_is_not_xlsx(tmp_path):
    path = tmp_path / "f10.xlsx"
    path.write_text("code,name\n")
    with pytest.raises(SchemaError, match="cannot be read as an xlsx workbook"):
        read_lad_summaries(path, 2019)


def test_read_file10_2019_needs_a_sheet_besides_notes(tmp_path):
    with pytest.raises(SchemaError, match="no sheet besides Notes"):
        read_lad_summaries(_write(tmp_path / "f.xlsx", {}), 2019)


def test_read_file10_parses_a_workbook_once(file10, monkeypatch):
    """The Since 2019 page validates against File 10 (2019), then reads it again for the
    explanations: one parse, and a reader's edits do not reach the next read."""
    from iod_msoa import _edition_readers

    parses = []
    parse = pd.read_excel
    monkeypatch.setattr(pd, "read_excel", lambda *a, **k: parses.append(1) or parse(*a, **k))
    _edition_readers._workbook.cache_clear()
    first = read_lad_summaries(file10, 2019)
    first.loc[0, "imd19_extent"] = -1.0
    again = read_lad_summaries(file10, 2019)
    assert len(parses) == 1 and again["imd19_extent"].tolist() == [0.2, 0.2]
    codes = ["E06000003"]
    other = _write(
        file10.parent / "other.xlsx", {s: _sheet(p, codes) for s, (p, _) in SHEETS.items()}
    )
    assert read_lad_summaries(other, 2019)["lad19cd"].tolist() == codes and len(parses) == 2

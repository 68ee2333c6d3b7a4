"""Describing the dataset: every file speaks of its geography, best fit and missing deciles."""

from __future__ import annotations

import pandas as pd
import pytest

from iod_msoa._describe import (
    data_dictionary,
    datapackage,
    dictionary_markdown,
    empty_deciles,
    gpkg_description,
    xlsx_notes,
)
from iod_msoa._folder import output_files
from iod_msoa._geographies import BEST_FIT_NOTE, GEOGRAPHIES
from iod_msoa._ranking import decile_from_rank, rank_most_deprived_first
from iod_msoa._vocab import METRICS

from .provenance import make_provenance

# --- outputs describe the geography ---------------------------------------------------------


def test_dictionary_speaks_of_the_geography():
    icb = GEOGRAPHIES["icb24"]
    columns = ["icb24cd", "icb24nm", "n_lsoa", "pop_total", "imd_rank", "imd_decile"]
    dictionary = data_dictionary(columns, icb).set_index("column")
    assert dictionary.loc["icb24cd", "description"] == "Integrated Care Board (2024) code"
    assert dictionary.loc["n_lsoa", "description"] == "Number of LSOAs (2021) in the ICB"
    assert "among all ICBs in England" in dictionary.loc["imd_rank", "description"]
    assert dictionary.loc["imd_decile", "direction"] == "1 = most deprived 10% of ICBs"
    assert "MSOA" not in " ".join(dictionary["description"])


def test_best_fit_is_said_in_the_dictionary_and_the_data_package(tmp_path):
    wards = GEOGRAPHIES["wd25"]
    provenance = make_provenance(rows=1)
    dictionary = data_dictionary(["wd25cd", "wd25nm", "lad24cd"], wards)
    markdown = dictionary_markdown(dictionary, provenance, wards)
    assert "**Best fit.**" in markdown and "population-weighted centroid" in markdown
    table = pd.DataFrame({"wd25cd": ["E05000001"], "wd25nm": ["W"], "lad24cd": ["E06000001"]})
    for name in [*output_files("iod25_wd25").values(), *output_files("iod25_lad24").values()]:
        (tmp_path / name).write_text("x")
    package = datapackage(tmp_path, table, dictionary, provenance, wards)
    assert package["description"] == BEST_FIT_NOTE
    assert package["name"] == "iod25-wd25"
    exact = datapackage(tmp_path, table, dictionary, provenance, GEOGRAPHIES["lad24"])
    assert "description" not in exact


@pytest.mark.parametrize("key", [g.key for g in GEOGRAPHIES.values()])
def test_the_csv_dictionary_says_best_fit_on_the_rows_it_concerns(key):
    g = GEOGRAPHIES[key]
    columns = [g.code, g.name, "n_lsoa", "pop_total", "imd_score"]
    dictionary = data_dictionary(columns, g).set_index("column")["description"]
    said = dictionary.str.contains("best fit|best-fit")
    assert list(said[said].index) == (columns[:4] if g.best_fit else [])


def test_the_share_of_lsoas_is_not_divided_by_a_population():
    columns = [f"{m.short}_{s}" for m in METRICS for s in ("score", "proportion_most_deprived_10")]
    dictionary = data_dictionary(columns, GEOGRAPHIES["icb24"]).set_index("column")["denominator"]
    shares = dictionary[dictionary.index.str.endswith("_proportion_most_deprived_10")]
    assert set(shares) == {"Number of LSOAs in the ICB (n_lsoa)"}
    assert dictionary["income_score"] == "Total population, mid-2022"


@pytest.mark.parametrize("key", ["msoa21", "icb24", "wd25"])
def test_the_geopackage_says_what_it_holds_and_best_fit(key):
    g = GEOGRAPHIES[key]
    provenance = make_provenance(rows=g.areas, version="9.9")
    description = gpkg_description(provenance, g)
    assert f"{g.areas:,} rows, one per {g.noun} in England" in description
    assert (BEST_FIT_NOTE in description) == g.best_fit
    assert "Rank 1 and decile 1 are the most deprived" in description


def test_the_geopackage_of_fewer_than_ten_areas_says_there_are_no_deciles():
    regions = GEOGRAPHIES["rgn24"]
    description = gpkg_description(make_provenance(rows=9, version="9.9"), regions, deciles=False)
    assert "Rank 1 is the most deprived" in description and "Deciles not given" in description


def ranked_regions(n: int) -> pd.DataFrame:
    ranks = rank_most_deprived_first([float(n - i) for i in range(n)])
    return pd.DataFrame(
        {
            "rgn24cd": [f"E120000{i:02d}" for i in range(n)],
            "rgn24nm": [f"Region {i}" for i in range(n)],
            "imd_rank": ranks,
            "imd_decile": decile_from_rank(ranks),
        }
    )


def test_fewer_than_10_areas_have_no_deciles_and_every_description_says_so(tmp_path):
    regions = GEOGRAPHIES["rgn24"]
    said = "fewer than 10 regions; use the rank"
    table = ranked_regions(9)
    assert table["imd_decile"].isna().all() and empty_deciles(table) == ["imd_decile"]
    dictionary = data_dictionary(list(table.columns), regions, empty_deciles(table))
    row = dictionary.set_index("column").loc["imd_decile"]
    assert said in row["description"]
    # H5: unit and direction describe the empty column, not values it never holds.
    assert row["unit"] == row["direction"] == "empty (fewer than 10 regions)"
    provenance = make_provenance(rows=9)
    notes = dict(xlsx_notes(provenance, regions, deciles=False))
    assert notes["Deciles"].startswith(f"Deciles not given: {said}")
    # H5: a CSV cannot carry the integer type of an all-empty column; the note says where it is.
    assert "Parquet file and GeoPackage keep their integer type" in notes["Deciles"]
    assert "read them as text" in notes["Deciles"]
    assert "decile" not in notes["What"] and "ceil" not in notes["Method"]
    markdown = dictionary_markdown(dictionary, provenance, regions, deciles=False)
    assert f"**Deciles.** Deciles not given: {said}" in markdown
    for name in output_files("iod25_rgn24").values():
        (tmp_path / name).write_text("x")
    package = datapackage(tmp_path, table, dictionary, provenance, regions, deciles=False)
    assert package["description"].startswith(f"Deciles not given: {said}")
    field = package["resources"][0]["schema"]["fields"][-1]
    assert field["name"] == "imd_decile" and field["type"] == "integer"

    ten = ranked_regions(10)
    assert ten["imd_decile"].tolist() == list(range(1, 11)) and empty_deciles(ten) == []
    described = data_dictionary(list(ten.columns), regions, empty_deciles(ten))
    assert not described["description"].str.contains("not given").any()
    assert described.set_index("column").loc["imd_decile", "unit"] == "decile 1-10"
    assert "Deciles" not in dict(xlsx_notes(provenance, regions))
    assert "decile 1 are the most deprived" in dict(xlsx_notes(provenance, regions))["What"]
    assert "description" not in datapackage(tmp_path, ten, described, provenance, regions)


def test_ranks_within_a_parent_and_the_fit_files_are_described():
    from iod_msoa._describe import fit_resources
    from iod_msoa._geographies import own_areas

    g = own_areas("mine", layer=True)
    columns = ["area_code", "area_name", "n_lsoa", "imd_decile", "imd_rank_in_icb24"]
    columns.append("imd_decile_in_icb24")
    dictionary = data_dictionary(columns, g).set_index("column")
    rank = dictionary.loc["imd_rank_in_icb24", "description"]
    assert "among the mine areas in the same ICB" in rank
    assert "fewer than 10" in dictionary.loc["imd_decile_in_icb24", "description"]
    assert "best fit" in dictionary.loc["area_code", "description"]
    about = fit_resources(g)
    fields = [f["name"] for f in about["fit"]["schema"]["fields"]]
    assert fields[:3] == ["area_code", "area_name", "n_lsoa"] and "covered_share" in fields
    assert about["straddling"]["schema"]["fields"][0]["name"] == "lsoa21cd"

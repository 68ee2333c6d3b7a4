"""Inputs that would give wrong numbers: each stops the build in one line naming the file,
the column and the rows. The checks are proven on tiny files where they live (the readers);
one CLI run per input proves the line, the exit code and the untouched outputs."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from iod_msoa import cli
from iod_msoa._errors import SchemaError
from iod_msoa._readers import read_file7, read_lookup
from iod_msoa._vocab import DENOMINATOR_SHORTS, DENOMINATORS, EXPECTED_LSOAS, METRIC_BY_SHORT

from .hostile import (
    build_fails,
    needs_data,
    snapshot,
)
from .realdata import FILES as INPUT_FILES
from .realdata import INPUTS


@pytest.fixture(scope="module")
def file7_lines() -> list[str]:
    return (INPUTS / INPUT_FILES["file7"]).read_text(encoding="utf-8").splitlines(keepends=True)


def edited_file7(lines: list[str], path: Path, edits: dict[int, dict[str, str]]) -> Path:
    """File 7 with some cells replaced: ``{data row (1-based): {official header: text}}``."""
    header = next(csv.reader([lines[0]]))
    out = list(lines)
    for row_number, changes in edits.items():
        row = next(csv.reader([out[row_number]]))
        for column, value in changes.items():
            row[header.index(column)] = value
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow(row)
        out[row_number] = text.getvalue()
    path.write_text("".join(out), encoding="utf-8")
    return path


@pytest.fixture
def tiny_lines(tmp_path, make_lsoa_table, write_file7) -> list[str]:
    """The lines of a valid File 7 of England's 60 most deprived LSOAs (ranks 1 to 60 of
    33,755, scores falling, all in decile 1): one edited cell is one problem."""
    pops = dict(zip(DENOMINATOR_SHORTS, (1500, 300, 400, 900), strict=True))
    rows = [
        {
            "lsoa21cd": f"E01{i:06d}",
            "lad24cd": f"E0600000{1 + i % 2}",
            "score": 90.0 - i,
            "rank": 1 + i,
            **pops,
        }
        for i in range(60)
    ]
    path = write_file7(make_lsoa_table(rows, n_national=EXPECTED_LSOAS), tmp_path / "tiny.csv")
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


IMD = METRIC_BY_SHORT["imd"]
INCOME = METRIC_BY_SHORT["income"]
TOTAL = DENOMINATORS[0].column


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        (IMD.score, "inf", "infinite value(s)"),
        (IMD.score, "-inf", "infinite value(s)"),
        (IMD.score, "1e308", "value(s) beyond ±1,000"),
        (IMD.score, "9" * 1_000_000, "infinite value(s)"),
        (TOTAL, "1e30", "population(s) above 100,000, implausible for one LSOA"),
        (TOTAL, "inf", "population(s) above 100,000, implausible for one LSOA"),
        (TOTAL, "1500.7", "population(s) not whole"),
        (INCOME.rank, "12.5", "value(s) that are not whole numbers"),
        (INCOME.decile, "3.9", "value(s) that are not whole numbers"),
        (INCOME.rank, "33756", "value(s) outside 1..33,755"),
        (INCOME.decile, "0", "value(s) outside 1..10"),
        (DENOMINATORS[1].column, "99999", "population(s) larger than the LSOA's"),
    ],
    ids=[
        "inf", "-inf", "1e308", "million-digits", "pop-1e30", "pop-inf", "pop-fraction",
        "rank-fraction", "decile-fraction", "rank-too-big", "decile-0", "children-over-total",
    ],
)  # fmt: skip
def test_a_bad_number_stops_the_reader(tmp_path, tiny_lines, column, value, expected):
    """The last row edited (the least deprived: a rank beyond the others stays in order)."""
    bad = edited_file7(tiny_lines, tmp_path / "file7.csv", {60: {column: value}})
    with pytest.raises(SchemaError) as error:
        read_file7(bad)
    code = tiny_lines[60].split(",", 1)[0]
    assert f"column {column!r} has 1 {expected}" in str(error.value)
    assert f"row 61 ({code})" in str(error.value)


@needs_data
def test_a_bad_number_stops_the_build(earlier, tmp_path, capsys, real_config, file7_lines):
    """End to end, once: one line naming the cell, exit 1, the earlier outputs untouched."""
    before = snapshot(earlier)
    bad = edited_file7(file7_lines, tmp_path / "file7.csv", {100: {IMD.score: "inf"}})
    err = build_fails(capsys, real_config, earlier, "--file7", str(bad))
    code = file7_lines[100].split(",", 1)[0]
    assert f"column {IMD.score!r} has 1 infinite value(s)" in err
    assert f"row 101 ({code})" in err
    assert snapshot(earlier) == before


@needs_data
def test_one_row_short_leads_with_the_row_count(
    earlier, tmp_path, capsys, real_config, file7_lines
):
    short = tmp_path / "file7.csv"
    short.write_text("".join(file7_lines[:-1]), encoding="utf-8")
    err = build_fails(capsys, real_config, earlier, "--file7", str(short))
    assert err.startswith(
        f"iod-msoa: error: File 7 ({short}): has 33,754 LSOA rows; the official file has 33,755"
    )
    assert len(err) < 300


def test_many_problems_are_capped(tmp_path, tiny_lines):
    edits = {row: {m.score: "inf" for m in METRIC_BY_SHORT.values()} for row in range(1, 50)}
    bad = edited_file7(tiny_lines, tmp_path / "file7.csv", edits)
    with pytest.raises(SchemaError) as error:
        read_file7(bad, expected_rows=None)
    err = str(error.value)
    assert "and 13 more problem(s)" in err
    assert "and 46 more" in err  # rows beyond the first three of a column


@needs_data
def test_an_msoa_without_people_is_named(earlier, tmp_path, capsys, real_config, file7_lines):
    lookup = pd.read_csv(INPUTS / INPUT_FILES["lookup"], usecols=["lsoa21cd", "msoa21cd"])
    msoa = "E02000001"
    lsoas = set(lookup.loc[lookup["msoa21cd"] == msoa, "lsoa21cd"])
    rows = [i for i, line in enumerate(file7_lines) if line.split(",", 1)[0] in lsoas]
    zero = dict.fromkeys((d.column for d in DENOMINATORS), "0")
    bad = edited_file7(file7_lines, tmp_path / "file7.csv", dict.fromkeys(rows, zero))
    err = build_fails(capsys, real_config, earlier, "--file7", str(bad))
    assert "1 msoa21cd area(s) have nobody in a population their scores are weighted by" in err
    assert msoa in err


@pytest.fixture(scope="module")
def lookup_text() -> pd.DataFrame:
    return pd.read_csv(INPUTS / INPUT_FILES["lookup"], dtype=str)


@needs_data
def test_malformed_msoa_code_is_blamed_on_the_lookup(
    earlier, tmp_path, capsys, real_config, lookup_text
):
    bad = tmp_path / "lookup.csv"
    broken = lookup_text["msoa21cd"].mask(lookup_text.index == 7, "E2X")
    lookup_text.assign(msoa21cd=broken).to_csv(bad, index=False)
    err = build_fails(capsys, real_config, earlier, "--lookup", str(bad))
    assert f"LSOA -> MSOA lookup ({bad})" in err
    assert "1 missing or malformed MSOA codes" in err
    assert "MSOA names" not in err


@needs_data
def test_differing_msoa_name_is_reported_as_such(tmp_path, lookup_text):
    bad = tmp_path / "lookup.csv"
    code = lookup_text.loc[0, "msoa21cd"]
    renamed = lookup_text["msoa21nm"].mask(lookup_text.index == 0, "Elsewhere 999")
    lookup_text.assign(msoa21nm=renamed).to_csv(bad, index=False)
    with pytest.raises(SchemaError) as error:
        read_lookup(bad)
    err = str(error.value)
    assert "1 MSOA code(s) with more than one name (an MSOA must have one name)" in err
    assert f"row 2 ({code}) = 'Elsewhere 999'" in err
    assert "must sit in one MSOA" not in err


@pytest.fixture(scope="module")
def small_boundaries() -> gpd.GeoDataFrame:
    """The simplified boundaries (3 MB), with the code field the build expects."""
    layer = gpd.read_file(INPUTS / "MSOA_2021_EW_BSC_simplified.gpkg", engine="pyogrio")
    return layer.rename(columns={"msoa21_code": "MSOA21CD"})[["MSOA21CD", "geometry"]]


@needs_data
@pytest.mark.parametrize(
    ("shape", "expected"),
    [(None, "empty, missing (NULL) or collapsed"), (Point(0, 52), "empty, missing (NULL)")],
    ids=["null", "point"],
)
def test_a_missing_shape_is_named(
    earlier, tmp_path, capsys, real_config, small_boundaries, shape, expected
):
    layer = small_boundaries.copy()
    layer.loc[layer["MSOA21CD"] == "E02000002", "geometry"] = shape
    bad = tmp_path / "msoa.gpkg"
    layer.to_file(bad, driver="GPKG", engine="pyogrio")
    err = build_fails(capsys, real_config, earlier, "--boundaries", str(bad))
    assert expected in err
    assert "E02000002" in err


@needs_data
def test_boundaries_with_the_wrong_crs(earlier, tmp_path, capsys, real_config, small_boundaries):
    bad = tmp_path / "msoa.gpkg"
    small_boundaries.set_crs(27700, allow_override=True).to_file(bad, driver="GPKG")
    err = build_fails(capsys, real_config, earlier, "--boundaries", str(bad))
    assert "6856 area(s) lie outside England" in err
    assert "coordinate reference system" in err


@needs_data
def test_boundaries_given_as_a_csv(earlier, capsys, real_config):
    names = INPUTS / INPUT_FILES["names"]
    err = build_fails(capsys, real_config, earlier, "--boundaries", str(names))
    assert f"MSOA boundaries ({names})" in err
    assert "has no geometry" in err


def test_config_that_is_not_utf8(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_bytes("allow_unverified = true # caf\xe9\n".encode("latin-1"))
    err = build_fails(capsys, config, tmp_path / "out")
    assert f"config file {config} is not UTF-8 text" in err


def test_config_that_is_a_folder(tmp_path, capsys):
    err = build_fails(capsys, tmp_path, tmp_path / "out")
    assert f"config file {tmp_path} is a folder" in err


@needs_data
def test_input_that_is_a_folder(tmp_path, capsys, real_config):
    err = build_fails(capsys, real_config, tmp_path / "out", "--names", str(tmp_path))
    assert f"The local file given for names is a folder, not a file: {tmp_path}" in err


@needs_data
def test_row_order_and_a_bom_do_not_change_the_csv(
    good_output, tmp_path, capsys, real_config, file7_lines
):
    rng = random.Random(7)
    rows = file7_lines[1:]
    rng.shuffle(rows)
    file7 = tmp_path / "file7.csv"  # saved with a byte-order mark, as Excel does
    file7.write_text(file7_lines[0] + "".join(rows), encoding="utf-8-sig")
    lookup_lines = (INPUTS / INPUT_FILES["lookup"]).read_text(encoding="utf-8").splitlines(True)
    body = lookup_lines[1:]
    rng.shuffle(body)
    lookup = tmp_path / "lookup.csv"
    lookup.write_text(lookup_lines[0] + "".join(body), encoding="utf-8")
    out = tmp_path / "out"
    args = ["build", "--config", str(real_config), "--out", str(out), "--quiet"]
    assert cli.main([*args, "--file7", str(file7), "--lookup", str(lookup)]) == 0
    assert (out / "iod25_msoa.csv").read_bytes() == (good_output / "iod25_msoa.csv").read_bytes()


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("Local Authority District code (2024)", "", "1 missing or malformed code(s)"),
        ("Local Authority District code (2024)", "W06000001", "1 missing or malformed code(s)"),
        ("Local Authority District name (2024)", " ", "1 blank name(s)"),
        ("Local Authority District name (2024)", "Somewhere Else", "1 local authority code(s)"),
    ],
    ids=["blank-code", "welsh-code", "blank-name", "second-name"],
)
def test_a_bad_local_authority_stops_the_reader(tmp_path, tiny_lines, column, value, expected):
    bad = edited_file7(tiny_lines, tmp_path / "file7.csv", {40: {column: value}})
    with pytest.raises(SchemaError) as error:
        read_file7(bad)
    err = str(error.value)
    assert expected in err
    assert tiny_lines[40].split(",", 1)[0] in err or "Somewhere Else" in err


@needs_data
def test_download_folder_that_is_a_file(tmp_path, capsys, real_config):
    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    without_names = tmp_path / "config.toml"
    lines = real_config.read_text().splitlines()
    without_names.write_text("\n".join(x for x in lines if not x.startswith("names")) + "\n")
    err = build_fails(capsys, without_names, tmp_path / "out", "--cache-dir", str(cache))
    assert f"Cannot use the download folder {cache}" in err
    assert "--cache-dir" in err

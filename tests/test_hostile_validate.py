"""MHCLG's summaries handed to validate: a damaged file is one line naming it, and nothing
is written."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from iod_msoa import cli
from iod_msoa._errors import SchemaError
from iod_msoa._geographies import GEOGRAPHIES
from iod_msoa._readers import read_summaries
from iod_msoa._validate import check_same_areas

from .hostile import (
    assert_one_line,
    needs_data,
)
from .realdata import FILES as INPUT_FILES
from .realdata import INPUTS


def _summary_rows(name: str) -> list[list[str]]:
    with (INPUTS / INPUT_FILES[name]).open(newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f))


def _write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def _bad_number(rows: list[list[str]]) -> list[list[str]]:
    column = next(i for i, c in enumerate(rows[0]) if c.endswith("imd_average_score"))
    rows[3][column] = "abc"
    return rows


GIVEN = [
    ("lad24", "--lad-summaries", "lad_summaries"),
    ("utla24", "--utla-summaries", "utla_summaries"),
    ("icb24", "--icb-summaries", "icb_summaries"),
    ("lrf24", "--lrf-summaries", "lrf_summaries"),
]


@needs_data
@pytest.mark.parametrize(("geography", "option", "input_name"), GIVEN)
@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda r: [*r, r[1]], r"1 duplicated area code\(s\): row 2 \((E\d{8})\), row \d+ \(\1\)"),
        (
            _bad_number,
            r"column '\w*imd_average_score' has 1 .*non-numeric.*row 4 \(E\d{8}\) = 'abc'",
        ),
        (lambda r: r[:-1], r"lacks 1 of the \d+ \w.*: E\d{8}; give the complete file"),
        (
            lambda r: [*r[:-1], ["E99999999", *r[-1][1:]]],
            r"lacks 1 of .*: E\d{8}; has 1 code\(s\) not among our .*: E99999999",
        ),
        (lambda r: r[:7], r"lacks \d+ of the \d+ .*: (E\d{8}, ){4}E\d{8} and \d+ more; give"),
    ],
    ids=["duplicated-row", "not-a-number", "missing-area", "unknown-code", "partial-file"],
)
def test_a_bad_summaries_file_is_refused(
    tmp_path, validated_all, geography, option, input_name, edit, expected
):
    """What validate does with the file before comparing: read it, then check it gives our
    areas (those of the session's validation), no more and no fewer."""
    bad = _write_rows(tmp_path / "summaries.csv", edit(_summary_rows(input_name)))
    g = GEOGRAPHIES[geography]
    ours = validated_all.table.loc[validated_all.table["geography"] == geography, "area_code"]
    with pytest.raises(SchemaError) as error:
        published = read_summaries(bad, g)
        check_same_areas(ours.drop_duplicates(), published[g.code], g, bad)
    assert str(bad) in str(error.value)
    assert re.search(expected, str(error.value)), error.value


@needs_data
@pytest.mark.parametrize(("geography", "option", "input_name"), GIVEN)
def test_a_bad_summaries_file_stops_validate(
    tmp_path, capsys, real_config, geography, option, input_name
):
    """End to end, once per option: one line, exit 1, nothing written."""
    expected = r"lacks 1 of the \d+ \w.*: E\d{8}; give the complete file"
    bad = _write_rows(tmp_path / "summaries.csv", _summary_rows(input_name)[:-1])
    out = tmp_path / "out"
    args = ["validate", "--config", str(real_config), "--out", str(out), "--quiet", "--strict"]
    status = cli.main([*args, "--geography", geography, option, str(bad)])
    err = assert_one_line(capsys.readouterr().err)
    assert status == 1
    assert str(bad) in err
    assert re.search(expected, err), err
    assert not out.exists()

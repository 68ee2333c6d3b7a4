"""The one-line contract for issue 14's reader cases, on the real inputs with one thing
changed: exit 1, one short line on stderr, no traceback, nothing written."""

from __future__ import annotations

import pandas as pd
import pytest

from iod_msoa import cli
from iod_msoa._vocab import METRIC_BY_SHORT

from .realdata import FILES, INPUTS, needs_inputs, write_config

pytestmark = [pytest.mark.realdata, needs_inputs]
CRIME, HEALTH, IMD = (METRIC_BY_SHORT[k] for k in ("crime", "health", "imd"))


@pytest.fixture(scope="module")
def file7_text() -> pd.DataFrame:
    return pd.read_csv(INPUTS / FILES["file7"], dtype=str, keep_default_na=False)


def _swapped(table: pd.DataFrame) -> pd.DataFrame:
    return table.rename(columns={CRIME.score: HEALTH.score, HEALTH.score: CRIME.score})


def _decile(table: pd.DataFrame) -> pd.DataFrame:
    """Issue 14's case: IMD rank 31,203 in decile 1."""
    table = table.copy()
    table.loc[table[IMD.rank] == "31203", IMD.decile] = "1"
    return table


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_swapped, f"column {HEALTH.score!r} has "),
        (_decile, f"column {IMD.decile!r} has 1 decile(s) that are not ceil(rank x 10 / 33,755)"),
    ],
    ids=["swapped-scores", "decile"],
)
def test_a_file7_that_contradicts_itself_is_one_line(
    tmp_path, capsys, file7_text, damage, expected
):
    bad = tmp_path / "file7.csv"
    damage(file7_text).to_csv(bad, index=False)
    out = tmp_path / "out"
    status = cli.main(
        ["build", "--config", str(write_config(tmp_path, file7=bad)), "--out", str(out), "--quiet"]
    )
    err = capsys.readouterr().err.strip()
    assert status == 1
    assert err.startswith("iod-msoa: error: File 7 (")
    assert expected in err
    assert "\n" not in err and "Traceback" not in err and len(err) < 1000
    assert not out.exists() or not any(out.iterdir())


def test_a_welsh_msoa_code_on_english_lsoas_is_one_line(tmp_path, capsys):
    lookup = pd.read_csv(INPUTS / FILES["lookup"], dtype=str)
    lookup.loc[lookup["msoa21cd"] == "E02000001", "msoa21cd"] = "W02000003"
    bad = tmp_path / "lookup.csv"
    lookup.to_csv(bad, index=False)
    out = tmp_path / "out"
    status = cli.main(
        ["build", "--config", str(write_config(tmp_path, lookup=bad)), "--out", str(out), "--quiet"]
    )
    err = capsys.readouterr().err.strip()
    assert status == 1
    assert "MSOA(s) in another country than their LSOA" in err and "= 'W02000003'" in err
    assert "\n" not in err and "Traceback" not in err

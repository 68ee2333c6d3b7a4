"""The command line: exit codes, one-line errors, and outputs never half written."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from iod_msoa import _validate, cli
from iod_msoa._manifest import MANIFEST, Source

from .realdata import FILES, INPUTS, needs_inputs, write_config

pytestmark = [pytest.mark.realdata, needs_inputs]


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def good_output(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    config = write_config(folder)
    assert (
        cli.main(["build", "--config", str(config), "--out", str(folder / "out"), "--quiet"]) == 0
    )
    return folder / "out"


@pytest.fixture
def earlier(good_output, tmp_path) -> Path:
    """A folder holding an earlier good build, which a failed build must leave alone."""
    out = tmp_path / "site" / "out"
    shutil.copytree(good_output, out)
    return out


@pytest.fixture(scope="module")
def file7_text() -> pd.DataFrame:
    return pd.read_csv(INPUTS / FILES["file7"], dtype=str, keep_default_na=False)


def run_failing(config: Path, out: Path, capsys, *extra: str) -> str:
    before = snapshot(out)
    status = cli.main(["build", "--config", str(config), "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err.strip()
    assert status == 1
    assert err.startswith("iod-msoa: error: ")
    assert "Traceback" not in err
    assert snapshot(out) == before
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no staging folder left
    return err


def test_build_writes_every_output(good_output):
    names = {p.name for p in good_output.iterdir()}
    assert {"iod25_msoa.csv", "iod25_msoa.parquet", "iod25_msoa.gpkg"} <= names
    assert {
        "iod25_msoa_dictionary.csv",
        "iod25_msoa_dictionary.md",
        "iod25_msoa_provenance.json",
    } <= names


def test_checksum_mismatch_is_refused_without_allow_unverified(earlier, tmp_path, capsys):
    config = write_config(tmp_path, allow_unverified=False)
    err = run_failing(config, earlier, capsys)
    assert "sha256" in err
    assert "b1b716aa2e476449f987b9de3e08255b4794eabfd270626de5de18b2f5eff3ef" in err
    assert "--allow-unverified" in err


def test_allow_unverified_flag_overrides_the_config(earlier, tmp_path, capsys):
    config = write_config(tmp_path, allow_unverified=False)
    status = cli.main(
        ["build", "--config", str(config), "--out", str(earlier), "--quiet", "--allow-unverified"]
    )
    assert status == 0
    assert "Unverified inputs" in capsys.readouterr().out


def test_missing_column(earlier, tmp_path, capsys, file7_text):
    bad = tmp_path / "file7.csv"
    file7_text.drop(columns="Dependent Children aged 0-15: mid 2022").to_csv(bad, index=False)
    err = run_failing(write_config(tmp_path, file7=bad), earlier, capsys)
    assert "'Dependent Children aged 0-15: mid 2022'" in err


def test_renamed_column_suggests_the_match(earlier, tmp_path, capsys, file7_text):
    bad = tmp_path / "file7.csv"
    file7_text.rename(columns={"Crime Score": "crime_score"}).to_csv(bad, index=False)
    err = run_failing(write_config(tmp_path, file7=bad), earlier, capsys)
    assert "'Crime Score'" in err
    assert "renamed?" in err


def test_duplicate_lsoa(earlier, tmp_path, capsys, file7_text):
    bad = tmp_path / "file7.csv"
    pd.concat([file7_text, file7_text.iloc[[5]]]).to_csv(bad, index=False)
    err = run_failing(write_config(tmp_path, file7=bad), earlier, capsys)
    assert "duplicated LSOA codes" in err
    assert file7_text.iloc[5]["LSOA code (2021)"] in err


def test_non_numeric_population(earlier, tmp_path, capsys, file7_text):
    bad = tmp_path / "file7.csv"
    broken = file7_text.copy()
    broken.loc[10, "Total population: mid 2022"] = "n/a"
    broken.to_csv(bad, index=False)
    err = run_failing(write_config(tmp_path, file7=bad), earlier, capsys)
    assert "'Total population: mid 2022'" in err
    assert "non-numeric" in err
    assert broken.loc[10, "LSOA code (2021)"] in err


def test_wrong_row_count(earlier, tmp_path, capsys, file7_text):
    bad = tmp_path / "file7.csv"
    file7_text.iloc[:-3].to_csv(bad, index=False)
    err = run_failing(write_config(tmp_path, file7=bad), earlier, capsys)
    assert "33,752 LSOA rows" in err


def test_unmatched_lsoa(earlier, tmp_path, capsys):
    lookup = pd.read_csv(INPUTS / FILES["lookup"], dtype=str)
    bad = tmp_path / "lookup.csv"
    lookup[lookup["lsoa21cd"] != "E01000001"].to_csv(bad, index=False)
    err = run_failing(write_config(tmp_path, lookup=bad), earlier, capsys)
    assert "1 LSOA(s) have no msoa21cd" in err
    assert "E01000001" in err


def test_missing_config_file(earlier, tmp_path, capsys):
    err = run_failing(tmp_path / "nope.toml", earlier, capsys)
    assert "nope.toml does not exist" in err


def test_truncated_download_leaves_nothing(earlier, tmp_path, capsys, httpserver, monkeypatch):
    body = b"LSOA code (2021),LSOA name (2021)\nE01000001,City of London 001A\n"
    pinned = hashlib.sha256(body + b"E01000002,City of London 001B\n").hexdigest()
    httpserver.expect_request("/file7.csv").respond_with_data(body)
    source = Source(
        **{**MANIFEST["file7"].__dict__, "url": httpserver.url_for("/file7.csv")}
        | {"size": len(body) + 30, "sha256": pinned}
    )
    monkeypatch.setitem(MANIFEST, "file7", source)
    config = write_config(tmp_path, allow_unverified=False)
    text = config.read_text().splitlines()
    config.write_text("\n".join(line for line in text if not line.startswith("file7")) + "\n")
    cache = tmp_path / "cache"
    config.write_text(f'cache_dir = "{cache}"\n' + config.read_text())
    err = run_failing(config, earlier, capsys)
    assert httpserver.url_for("/file7.csv") in err
    assert not any(cache.glob("*")), "a failed download must leave no file in the cache"


def test_console_script_exits_non_zero_without_traceback(tmp_path):
    script = Path(sys.executable).parent / "iod-msoa"
    result = subprocess.run(
        [str(script), "build", "--config", str(tmp_path / "missing.toml"), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr


def test_local_input_option_overrides_the_config(earlier, tmp_path, capsys, file7_text):
    bad = tmp_path / "other.csv"
    file7_text.drop(columns="Crime Score").to_csv(bad, index=False)
    err = run_failing(write_config(tmp_path), earlier, capsys, "--file7", str(bad))
    assert str(bad) in err
    assert "'Crime Score'" in err


def test_validate_strict_fails_when_exact_measures_differ(good_output, tmp_path, capsys):
    config = write_config(tmp_path)
    args = ["validate", "--config", str(config), "--out", str(good_output), "--quiet"]
    assert cli.main(args) == 0  # the stand-in differs from MHCLG outside six LADs
    out = capsys.readouterr().out
    assert "6 of 296 local authorities match MHCLG on every exact measure: Adur, Blackpool" in out
    assert cli.main([*args, "--strict"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("iod-msoa: error: --strict: ") and "\n" not in err
    assert "validation.csv" in err


def test_validate_without_file14_names_the_option_and_the_config_key(tmp_path, capsys):
    # File 14 v2 has no known download address: the one line says how to give it.
    config = write_config(tmp_path)
    lines = config.read_text().splitlines()
    config.write_text("\n".join(x for x in lines if not x.startswith("lrf_summaries")) + "\n")
    args = ["validate", "--config", str(config), "--geography", "lrf24", "--quiet"]
    status = cli.main([*args, "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert status == 1 and "\n" not in err and "Traceback" not in err
    assert err.startswith("iod-msoa: error: lrf_summaries (English Indices of Deprivation 2025, ")
    assert 'with --lrf-summaries PATH (or lrf_summaries = "PATH" under [inputs]' in err


def test_validate_strict_counts_each_geographys_areas(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["validate", "--config", str(write_config(tmp_path)), "--out", str(out), "--quiet"]
    assert cli.main([*args, "--geography", "lad24", "--geography", "utla24", "--strict"]) == 1
    table = pd.read_csv(out / "validation.csv")
    wrong = table[table["note"].isna() & ~table["matches_published_rounding"]]
    pairs = len(wrong[["geography", "area_code"]].drop_duplicates())
    assert pairs > wrong["area_code"].nunique()  # unitary codes are both a LAD and a UTLA
    assert f"({pairs} areas, " in capsys.readouterr().err


def test_validate_strict_passes_when_everything_exact_matches(good_output, tmp_path, monkeypatch):
    real = _validate.validate

    def only_matching(*args, **kwargs):
        result = real(*args, **kwargs)
        result.table = result.table[result.table["matches_published_rounding"]]
        return result

    monkeypatch.setattr(_validate, "validate", only_matching)
    args = ["validate", "--config", str(write_config(tmp_path)), "--out", str(good_output)]
    assert cli.main([*args, "--quiet", "--strict"]) == 0


def test_progress_and_summary_keep_long_paths_whole_when_not_a_terminal(tmp_path):
    out = tmp_path / ("a-folder-name-long-enough-to-pass-eighty-columns-" * 2) / "out"
    script = Path(sys.executable).parent / "iod-msoa"
    result = subprocess.run(
        [str(script), "build", "--config", str(write_config(tmp_path)), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert str(INPUTS / FILES["boundaries"]) in result.stderr  # not broken over lines
    assert f"msoa21: wrote 8 files to {out}" in result.stderr
    assert f"-> {out}" in result.stdout
    sizes = dict(re.findall(r"^  (\S+)  \((.+)\)$", result.stdout, flags=re.M))
    assert sizes["iod25_msoa_provenance.json"].endswith(" kB") and sizes["iod25_msoa.csv"].endswith(
        " MB"
    )


def test_help_says_build_makes_any_geography(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "build the dataset of MSOAs or other geographies" in capsys.readouterr().out

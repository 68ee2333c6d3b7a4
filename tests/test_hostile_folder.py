"""The output folder under attack (issue 14, items 5, 6, 7, 11, 14, and what was found
beyond): validate never loses or mixes rows, never touches a damaged or another project's
package, never lists rows made from other inputs or another edition; no run writes over
its own inputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from iod_msoa import cli
from iod_msoa._errors import ConfigError
from iod_msoa._folder import (
    FILES,
    VALIDATION_FILE,
    EarlierValidation,
    check_inputs_not_outputs,
    earlier_validation,
    output_files,
    stale_files,
)
from iod_msoa._geographies import GEOGRAPHIES, own_areas

from .built import copy_of, listed
from .hostile import assert_one_line, needs_data, snapshot
from .realdata import FILES as INPUT_FILES
from .realdata import INPUTS
from .test_folder import FILE7, package_folder, record, with_validation


def _validate(capsys, config: Path, out: Path, *extra: str) -> tuple[int, str]:
    """``iod-msoa validate`` in-process: its exit status and its stderr."""
    args = ["validate", "--config", str(config), "--out", str(out), *extra]
    status = cli.main(args)
    return status, capsys.readouterr().err


def _refused(capsys, config: Path, out: Path, *extra: str) -> str:
    """A validate that must fail with one line and leave ``out`` as it was: that line."""
    before = snapshot(out)
    status, err = _validate(capsys, config, out, "--quiet", *extra)
    line = assert_one_line(err)
    assert status == 1
    assert snapshot(out) == before
    return line


def _geographies(out: Path) -> dict[str, int]:
    return pd.read_csv(out / VALIDATION_FILE)["geography"].value_counts().to_dict()


# --- 5: a folder with no package ------------------------------------------------------------


@needs_data
def test_validate_in_a_folder_without_a_package_never_drops_other_rows(
    capsys, real_config, tmp_path
):
    """Nothing records what the earlier rows were made from: keeping them could mix two
    File 7s unrecorded, dropping them loses them; validate refuses, and says how to keep
    them."""
    out = tmp_path / "out"
    assert _validate(capsys, real_config, out, "--quiet", "--geography", "lad24")[0] == 0
    capsys.readouterr()
    err = _refused(capsys, real_config, out, "--geography", "utla24")
    assert f"{out / VALIDATION_FILE} has rows for lad24 that validating utla24 alone" in err
    assert "--geography utla24 --geography lad24) or move the file away" in err
    args = ("--quiet", "--geography", "utla24", "--geography", "lad24")
    assert _validate(capsys, real_config, out, *args)[0] == 0
    assert _geographies(out) == {"lad24": 8288, "utla24": 1530}
    assert _validate(capsys, real_config, out, "--quiet", "--geography", "all")[0] == 0
    assert set(_geographies(out)) == {"lad24", "utla24", "icb24", "lrf24"}


@needs_data
@pytest.mark.parametrize(
    "text",
    ["a,b\n1,2\n", "", "geography,area_code\nlad24,E1\n", "\xff\xfe\x00", "x" * 3],
    ids=["other-columns", "empty", "some-columns", "not-text", "no-header"],
)
def test_validate_never_writes_over_a_validation_csv_it_did_not_write(
    capsys, real_config, tmp_path, text
):
    out = tmp_path / "out"
    out.mkdir()
    (out / VALIDATION_FILE).write_bytes(text.encode("latin-1"))
    err = _refused(capsys, real_config, out)
    assert f"{out / VALIDATION_FILE} is not a validation.csv that `iod-msoa validate` wrote" in err


# --- 6: an input where an output goes --------------------------------------------------------


@needs_data
def test_build_refuses_an_input_kept_under_an_outputs_name(capsys, real_config, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    kept = Path(shutil.copyfile(INPUTS / INPUT_FILES["file7"], out / FILES["csv"]))
    before = snapshot(out)
    args = ["build", "--config", str(real_config), "--out", str(out), "--quiet"]
    assert cli.main([*args, "--file7", str(kept)]) == 1
    err = assert_one_line(capsys.readouterr().err)
    assert f"the file7 input {kept} is {kept}, an output this run would write over" in err
    link = tmp_path / "file7.csv"
    link.symlink_to(kept)
    assert cli.main([*args, "--file7", str(link)]) == 1
    assert f"is {kept}, an output" in assert_one_line(capsys.readouterr().err)
    assert snapshot(out) == before


@needs_data
def test_validate_refuses_an_input_kept_under_its_outputs_name(capsys, real_config, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    kept = Path(shutil.copyfile(INPUTS / INPUT_FILES["lad_summaries"], out / VALIDATION_FILE))
    err = _refused(capsys, real_config, out, "--lad-summaries", str(kept))
    assert f"the lad_summaries input {kept} is {kept}, an output this run" in err


def test_a_second_hard_link_or_a_missing_input_is_not_refused(tmp_path):
    """Replacing a folder entry loses the file only if no other name keeps it."""
    entry = tmp_path / "out" / "iod25_msoa.csv"
    entry.parent.mkdir()
    entry.write_text("File 7")
    elsewhere = tmp_path / "file7.csv"
    os.link(entry, elsewhere)
    check_inputs_not_outputs({"file7": elsewhere}, [entry])
    check_inputs_not_outputs({"file7": entry.parent / "absent.csv"}, [entry.parent / "absent.csv"])
    with pytest.raises(ConfigError, match=r"the file7 input .* is .*iod25_msoa\.csv, an output"):
        check_inputs_not_outputs({"file7": tmp_path / "out" / ".." / "out" / entry.name}, [entry])


# --- 7: rows made from other inputs ----------------------------------------------------------


def test_only_the_geographies_made_from_other_inputs_are_dropped(tmp_path):
    lad = {"file7": FILE7, "lad_summaries": "1" * 64}
    utla = {"file7": FILE7, "geographies": "2" * 64, "utla_summaries": "3" * 64}
    made = record(geographies={"lad24": lad, "utla24": utla}) | {"inputs": lad | utla}
    folder = with_validation(package_folder(tmp_path / "out"), made)
    earlier = earlier_validation(folder, {"file7": FILE7, "geographies": "9" * 64}, "1.0")
    assert earlier.dropped == ("utla24",) and earlier.entry is not None and not earlier.stale
    assert earlier.geographies == {"lad24": lad}
    assert earlier.about()["iod_msoa"] == {
        "version": "1.0",
        "inputs": lad,
        "geographies": {"lad24": lad},
    }
    same = earlier_validation(folder, {"file7": FILE7, "geographies": "2" * 64}, "1.0")
    assert same.dropped == () and same.about() == {
        k: v for k, v in same.entry.items() if k not in ("bytes", "hash")
    }
    assert earlier_validation(folder, {"file7": "0" * 64}, "1.0") == EarlierValidation(stale=True)


def test_a_record_whose_inputs_contradict_every_geographys_rows_is_stale(tmp_path):
    """Which rows came from the other File 7 is not known: none of them is kept."""
    made = record(file7="0" * 64, geographies={"lad24": {"file7": FILE7}})
    folder = with_validation(package_folder(tmp_path / "out"), made)
    assert earlier_validation(folder, {"file7": FILE7}, "1.0") == EarlierValidation(stale=True)


def test_a_validation_of_the_2019_edition_is_not_stale_beside_its_package(tmp_path):
    """Its File 7 is the input file7_2019: a rebuild removed it as if from another File 7."""
    lad19 = {"file7_2019": FILE7, "lad_summaries_2019": "1" * 64}
    made = {"version": "1.0", "inputs": lad19, "geographies": {"lad19": lad19}}
    folder = with_validation(package_folder(tmp_path / "out"), made)
    earlier = earlier_validation(folder, {"file7_2019": FILE7, "lsoa11_lsoa21": "2" * 64}, "1.0")
    assert earlier.entry is not None and earlier.dropped == () and not earlier.stale


@pytest.mark.parametrize("geographies", [{"lad24": "text"}, {"lad24": None}, {"lad24": [1]}])
def test_a_record_whose_geographies_are_not_tables_is_not_kept(tmp_path, geographies):
    """A hand-edited record: its rows' inputs are unknown (it was a traceback in validate)."""
    folder = with_validation(package_folder(tmp_path / "out"), record(geographies=geographies))
    assert earlier_validation(folder, {"file7": FILE7}, "1.0") == EarlierValidation()


def _made_from_another_file7(out: Path, key: str) -> None:
    """Record ``key``'s rows of ``out``'s validation.csv as made from another File 7."""
    path = out / FILES["datapackage"]
    package = json.loads(path.read_text())
    entry = next(r for r in package["resources"] if r["path"] == VALIDATION_FILE)
    entry["iod_msoa"]["geographies"][key]["file7"] = "0" * 64
    path.write_text(json.dumps(package))


@needs_data
def test_a_rebuild_drops_the_rows_made_from_other_inputs_and_says_so(
    capsys, real_config, copy, tmp_path
):
    assert _validate(capsys, real_config, copy, "--quiet", "--geography", "icb24")[0] == 0
    _made_from_another_file7(copy, "icb24")
    args = ["build", "--config", str(real_config), "--out", str(copy), "--force"]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "msoa21: dropped the icb24 rows of validation.csv, made from other inputs" in err
    assert _geographies(copy) == {"lad24": 8288}
    assert set(listed(copy)[VALIDATION_FILE]["iod_msoa"]["geographies"]) == {"lad24"}
    assert stale_files(copy) == []


@needs_data
def test_a_rebuild_from_another_geographies_table_removes_its_validation(
    capsys, real_config, built_all, tmp_path
):
    """The issue's case: 40 LSOAs moved to another ICB, the package rebuilt; its ICB scores
    moved (25.948 against 25.813), and validation.csv stayed, listed, with the old ones."""
    table = pd.read_csv(INPUTS / INPUT_FILES["geographies"], dtype=str, keep_default_na=False)
    columns = [c for c in table.columns if c.startswith(("sicbl24", "icb24"))]
    first = table["icb24cd"] == table["icb24cd"].iloc[0]
    table.loc[table.index[first][:40], columns] = table.loc[~first, columns].iloc[0].to_numpy()
    moved = tmp_path / "geographies.csv"
    table.to_csv(moved, index=False)
    out = copy_of(built_all["icb24"].out_dir, tmp_path)
    assert _validate(capsys, real_config, out, "--quiet", "--geography", "icb24")[0] == 0
    args = ["build", "--config", str(real_config), "--out", str(out), "--geography", "icb24"]
    assert cli.main([*args, "--geographies", str(moved)]) == 0
    assert "icb24: removed validation.csv, made from another File 7 or version, or from " in (
        capsys.readouterr().err
    )
    assert not (out / VALIDATION_FILE).exists()
    assert VALIDATION_FILE not in listed(out)


@needs_data
def test_validate_drops_the_other_rows_made_from_other_inputs_and_says_so(
    capsys, real_config, copy
):
    assert _validate(capsys, real_config, copy, "--quiet", "--geography", "icb24")[0] == 0
    _made_from_another_file7(copy, "icb24")
    status, err = _validate(capsys, real_config, copy, "--geography", "lad24")
    assert status == 0
    assert f"Dropped the icb24 rows of {copy / VALIDATION_FILE}, made from other inputs" in err
    assert _geographies(copy) == {"lad24": 8288}
    assert set(listed(copy)[VALIDATION_FILE]["iod_msoa"]["geographies"]) == {"lad24"}


@needs_data
def test_validate_refuses_a_package_built_from_another_geographies_table(
    capsys, real_config, built_all, tmp_path
):
    out = copy_of(built_all["utla24"].out_dir, tmp_path)
    path = out / output_files(GEOGRAPHIES["utla24"].dataset)["provenance"]
    provenance = json.loads(path.read_text())
    provenance["inputs"]["geographies"]["sha256"] = "0" * 64
    path.write_text(json.dumps(provenance))
    err = _refused(capsys, real_config, out, "--geography", "utla24")
    assert f"{out} holds outputs built from another geographies input (sha256 000000000000…)" in err
    assert "run `iod-msoa build` with the same inputs first" in err


# --- 11, 14: a damaged or another project's datapackage.json --------------------------------


def _not_json(package: dict) -> str:
    return "{not json"


def _damaged(edit) -> callable:
    def write(package: dict) -> str:
        edit(package)
        return json.dumps(package)

    return write


@needs_data
@pytest.mark.parametrize(
    "damage",
    [
        _not_json,
        lambda p: json.dumps([p]),
        _damaged(lambda p: p.update(resources={"a": 1})),
        _damaged(lambda p: p["resources"][0].pop("path")),
        _damaged(lambda p: p["resources"][0].update(path=3)),
        _damaged(lambda p: p["resources"].append("text")),
    ],
    ids=["not-json", "not-an-object", "resources-not-a-list", "no-path", "path-a-number", "text"],
)
def test_validate_refuses_a_damaged_datapackage_json(capsys, real_config, earlier, damage):
    path = earlier / FILES["datapackage"]
    path.write_text(damage(json.loads(path.read_text())))
    err = _refused(capsys, real_config, earlier)
    assert f"{path} is not a data package validate can list validation.csv in" in err
    assert f"`iod-msoa build --out {earlier}`, or give validate another --out" in err


@needs_data
@pytest.mark.parametrize("name", ["someone-else", None])
def test_validate_leaves_another_projects_package_alone(capsys, real_config, tmp_path, name):
    out = tmp_path / "theirs"
    out.mkdir()
    package = {"resources": [{"name": "a", "path": "a.csv"}]} | ({"name": name} if name else {})
    (out / FILES["datapackage"]).write_text(json.dumps(package))
    err = _refused(capsys, real_config, out)
    what = f"a package named {name!r}" if name else "another project's package"
    assert f"{out} holds {what} (datapackage.json), which validating there would add" in err


# --- beyond the list: editions ---------------------------------------------------------------


@needs_data
def test_validate_of_2019_refuses_a_2025_package(capsys, real_config, copy):
    """It dropped the 2025 rows and listed IoD2019's beside the 2025 package."""
    summaries = (
        INPUTS / "../iod2019/File_10_IoD2019_Local_Authority_District_Summaries_lower-tier.xlsx"
    )
    err = _refused(
        capsys, real_config, copy, "--edition", "2019", "--lad-summaries-2019", str(summaries)
    )
    assert f"{copy} holds the iod25_msoa package, not built from the File 7 of the 2019" in err


def test_own_areas_may_not_take_the_change_packages_name():
    """``--areas-name msoa_change`` wrote its package over the change since 2019's (the
    default folders are the same), and ``iod-msoa change`` then wrote back over it."""
    with pytest.raises(ConfigError, match=r"would name the package of `iod-msoa change`"):
        own_areas("msoa_change", layer=False)
    assert own_areas("msoa_changes", layer=False).dataset == "iod25_msoa_changes"


def test_a_fifo_in_the_output_folder_is_not_read(tmp_path):
    """A FIFO named datapackage.json or provenance.json made every build wait for ever (it
    was read as JSON); now it is no package, so the build replaces it."""
    out = tmp_path / "out"
    out.mkdir()
    for name in (FILES["datapackage"], FILES["provenance"]):
        os.mkfifo(out / name)
    code = (
        "import sys; from pathlib import Path; from iod_msoa._folder import Package, package_in; "
        "out = Path(sys.argv[1]); print(Package.read(out), package_in(out))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout == "None None\n", done.stderr


@needs_data
def test_validate_never_mixes_editions_in_a_folder_without_a_package(capsys, real_config, tmp_path):
    out = tmp_path / "out"
    summaries = (
        INPUTS / "../iod2019/File_10_IoD2019_Local_Authority_District_Summaries_lower-tier.xlsx"
    )
    args = ("--quiet", "--edition", "2019", "--lad-summaries-2019", str(summaries))
    assert _validate(capsys, real_config, out, *args)[0] == 0
    capsys.readouterr()
    err = _refused(capsys, real_config, out)
    assert "has rows for lad19 that validating lad24 alone would drop" in err
    assert "give each edition its own --out or move the file away" in err

"""The data package as its users get it: real clients accept it, builds repeat to the byte,
provenance names no local path, edited files are rebuilt, and validation.csv belongs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest

import iod_msoa
from iod_msoa import cli
from iod_msoa._geographies import GEOGRAPHIES
from iod_msoa._outputs import FILES, GPKG_VERSION, VALIDATION_FILE, stale_files, write_json

from .realdata import FILES as INPUT_FILES
from .realdata import INPUTS, needs_inputs, write_config

pytestmark = [pytest.mark.realdata, needs_inputs]

GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"


def build(folder: Path, out: Path, **kwargs) -> iod_msoa.BuildResult:
    return iod_msoa.build(iod_msoa.load_config(write_config(folder)), out, progress=False, **kwargs)


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def listed(out: Path) -> dict[str, dict]:
    package = json.loads((out / FILES["datapackage"]).read_text())
    return {r["path"]: r for r in package["resources"]}


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """A build with its validation, as `scripts/build` leaves it."""
    folder = tmp_path_factory.mktemp("package")
    build(folder, folder / "out")
    iod_msoa.validate(iod_msoa.load_config(write_config(folder)), folder / "out", progress=False)
    return folder / "out"


@pytest.fixture
def copy(package, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(package, out)
    return out


def test_frictionless_validates_the_package(package):
    frictionless = Path(sys.executable).parent / "frictionless"
    ran = subprocess.run(
        [str(frictionless), "validate", "--json", FILES["datapackage"]],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(ran.stdout)
    tasks = {Path(t["place"]).name: t for t in report["tasks"]}
    assert report["valid"], [t["errors"] for t in report["tasks"] if not t["valid"]]
    assert ran.returncode == 0
    assert set(tasks) == {*FILES.values(), VALIDATION_FILE} - {FILES["datapackage"]}
    assert tasks[FILES["csv"]]["stats"]["rows"] == 6856  # the table is read, not only hashed


def test_geopackage_is_version_1_2_and_opens_without_warnings(package):
    path = package / FILES["gpkg"]
    with sqlite3.connect(path) as db:
        application_id = db.execute("PRAGMA application_id").fetchone()[0]
        user_version = db.execute("PRAGMA user_version").fetchone()[0]
    assert application_id == GPKG_APPLICATION_ID
    major, minor = GPKG_VERSION.split(".")
    assert user_version == int(major) * 10000 + int(minor) * 100 == 10200
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = pyogrio.read_info(path)
    assert info["features"] == 6856 and info["crs"] == "EPSG:4326"


def test_workbook_holds_the_csv_with_notes(package):
    path = package / FILES["xlsx"]
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["Notes", "Data"]
    notes = {r[0]: r[1] for r in book["Notes"].iter_rows(values_only=True) if r[0]}
    assert "Open Government Licence" in notes["Licence"]
    assert "weighted" in notes["Method"] and notes["Input: file7"].startswith("File_7")
    assert "unverified" in notes["Warning"] or "file7" in notes["Warning"]
    csv = pd.read_csv(package / FILES["csv"], dtype={"msoa21cd": str, "lad24cd": str})
    sheet = pd.read_excel(path, sheet_name="Data", dtype={"msoa21cd": str, "lad24cd": str})
    pd.testing.assert_frame_equal(sheet, csv, check_dtype=False)


def test_two_builds_are_byte_identical(package, tmp_path):
    again = build(tmp_path, tmp_path / "again")
    assert not again.skipped
    for name in set(FILES.values()) - {FILES["datapackage"]}:
        assert (package / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    # The first package also lists the validation written after it: drop that entry.
    first = json.loads((package / FILES["datapackage"]).read_text())
    first["resources"] = [r for r in first["resources"] if r["path"] != VALIDATION_FILE]
    write_json(tmp_path / "first.json", first)
    assert (tmp_path / "first.json").read_bytes() == again.paths["datapackage"].read_bytes()


def test_source_date_epoch_sets_the_recorded_time(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1761816600")  # 2025-10-30 09:30 UTC
    result = build(tmp_path, tmp_path / "out")
    assert result.provenance["created"] == "2025-10-30T09:30:00+00:00"
    assert result.provenance["created_from"] == "SOURCE_DATE_EPOCH"
    with sqlite3.connect(result.paths["gpkg"]) as db:
        stamps = {r[0] for r in db.execute("SELECT last_change FROM gpkg_contents")}
    assert stamps == {"2025-10-30T09:30:00.000Z"}
    workbook = openpyxl.load_workbook(result.paths["xlsx"], read_only=True)
    assert workbook.properties.created.isoformat().startswith("2025-10-30T09:30:00")


def test_without_source_date_epoch_the_time_comes_from_the_inputs(package, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    provenance = json.loads((package / FILES["provenance"]).read_text())
    newest = max((INPUTS / i["file"]).stat().st_mtime for i in provenance["inputs"].values())
    assert provenance["created_from"] == "modification time of the newest input file"
    assert pd.Timestamp(provenance["created"]).timestamp() == int(newest)


def test_a_bad_source_date_epoch_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(iod_msoa.ConfigError, match="SOURCE_DATE_EPOCH='yesterday'"):
        build(tmp_path, tmp_path / "out")


def strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


@pytest.mark.parametrize("name", ["provenance", "datapackage"])
def test_no_local_path_is_published(package, name):
    text = (package / FILES[name]).read_text()
    assert str(INPUTS) not in text and str(package.parent) not in text
    assert not [s for s in strings(json.loads(text)) if Path(s).is_absolute() or "\\" in s]


def test_outputs_current_only_while_every_file_matches_datapackage(copy, tmp_path):
    assert stale_files(copy) == []
    original = (copy / FILES["csv"]).read_bytes()
    with (copy / FILES["csv"]).open("ab") as fh:
        fh.write(b"E02999999,edited\n")
    assert stale_files(copy) == [FILES["csv"]]
    (copy / FILES["xlsx"]).unlink()
    assert sorted(stale_files(copy)) == sorted([FILES["csv"], FILES["xlsx"]])
    result = build(tmp_path, copy)
    assert not result.skipped
    assert (copy / FILES["csv"]).read_bytes() == original
    assert (copy / FILES["xlsx"]).is_file()
    assert build(tmp_path, copy).skipped


def test_validation_is_listed_with_the_inputs_it_came_from(package):
    resource = listed(package)[VALIDATION_FILE]
    provenance = json.loads((package / FILES["provenance"]).read_text())
    made_from = resource["iod_msoa"]
    assert made_from["inputs"]["file7"] == provenance["inputs"]["file7"]["sha256"]
    assert len(made_from["inputs"]["lad_summaries"]) == 64
    assert made_from["version"] == iod_msoa.__version__


def test_validating_another_geography_keeps_the_earlier_ones(copy, package, tmp_path):
    config = iod_msoa.load_config(write_config(tmp_path))
    iod_msoa.validate(config, copy, progress=False, geographies="icb24")
    table = pd.read_csv(copy / VALIDATION_FILE)
    assert table["geography"].value_counts().to_dict() == {"lad24": 8288, "icb24": 1176}
    assert stale_files(copy) == []  # the package's sha256 is that of the merged file
    made_from = listed(copy)[VALIDATION_FILE]["iod_msoa"]
    assert set(made_from["geographies"]) == {"lad24", "icb24"}
    assert set(made_from["geographies"]["icb24"]) == {"file7", "geographies", "icb_summaries"}
    assert made_from["geographies"]["lad24"] == {
        n: made_from["inputs"][n] for n in ("file7", "lad_summaries")
    }
    iod_msoa.validate(config, copy, progress=False, geographies="lad24")  # replaced, not doubled
    at_once = tmp_path / "at_once"
    shutil.copytree(package, at_once)
    iod_msoa.validate(config, at_once, progress=False, geographies=["lad24", "icb24"])
    assert (copy / VALIDATION_FILE).read_bytes() == (at_once / VALIDATION_FILE).read_bytes()
    assert build(tmp_path, copy, force=True).paths["validation"] == copy / VALIDATION_FILE


def test_forced_rebuild_from_the_same_inputs_keeps_the_validation(copy, tmp_path):
    before = (copy / VALIDATION_FILE).read_bytes()
    result = build(tmp_path, copy, force=True)
    assert (copy / VALIDATION_FILE).read_bytes() == before
    assert VALIDATION_FILE in listed(copy) and stale_files(copy) == []
    assert result.paths["validation"] == copy / VALIDATION_FILE


def test_validation_from_other_inputs_does_not_stay_beside_a_new_build(copy, tmp_path, capsys):
    package = json.loads((copy / FILES["datapackage"]).read_text())
    for resource in package["resources"]:
        if resource["path"] == VALIDATION_FILE:
            resource["iod_msoa"]["inputs"]["file7"] = "0" * 64  # made from another File 7
    (copy / FILES["datapackage"]).write_text(json.dumps(package))
    args = ["build", "--config", str(write_config(tmp_path)), "--out", str(copy), "--force"]
    assert cli.main(args) == 0
    assert "removed validation.csv, made from another File 7" in capsys.readouterr().err
    assert not (copy / VALIDATION_FILE).exists()
    assert VALIDATION_FILE not in listed(copy)
    assert "validation" not in build(tmp_path, copy).paths


def test_a_geography_depends_only_on_its_own_inputs(tmp_path):
    """Built with others or alone, a geography has the same bytes and stays current.

    The geographies table (which LADs do not use) is made the newest input by copying it.
    """
    geographies = tmp_path / "geographies.csv"
    shutil.copyfile(INPUTS / INPUT_FILES["geographies"], geographies)
    config = iod_msoa.load_config(write_config(tmp_path, geographies=geographies))
    lad, rgn = GEOGRAPHIES["lad24"], GEOGRAPHIES["rgn24"]
    together = iod_msoa.build_many(config, [lad, rgn], tmp_path / "all", progress=False)
    alone = iod_msoa.build(config, tmp_path / "lad", progress=False, geography="lad24")
    assert snapshot(together[0].out_dir) == snapshot(alone.out_dir)
    again = iod_msoa.build(config, together[0].out_dir, progress=False, geography="lad24")
    assert again.skipped
    assert together[1].provenance["created"] != alone.provenance["created"]


def test_validate_refuses_a_package_built_from_another_file7(copy, tmp_path):
    provenance = json.loads((copy / FILES["provenance"]).read_text())
    provenance["inputs"]["file7"]["sha256"] = "0" * 64
    (copy / FILES["provenance"]).write_text(json.dumps(provenance))
    config = iod_msoa.load_config(write_config(tmp_path))
    with pytest.raises(iod_msoa.ConfigError, match=r"built from another File 7.*iod-msoa build"):
        iod_msoa.validate(config, copy, progress=False)

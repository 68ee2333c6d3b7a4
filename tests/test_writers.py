"""The package as its users get it, written by the format writers: real clients accept it,
builds repeat to the byte, the build time is fixed, provenance names no local path."""

from __future__ import annotations

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
from iod_msoa._folder import FILES, VALIDATION_FILE, write_json
from iod_msoa._geographies import GEOGRAPHIES
from iod_msoa._writers import GPKG_VERSION

from .built import build, snapshot
from .realdata import FILES as INPUT_FILES
from .realdata import INPUTS, needs_inputs, write_config

pytestmark = [pytest.mark.realdata, needs_inputs]

GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"


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
    assert book.sheetnames == ["Data", "Notes"]
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
    assert result.provenance.created == "2025-10-30T09:30:00+00:00"
    assert result.provenance.created_from == "SOURCE_DATE_EPOCH"
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
    assert together[1].provenance.created != alone.provenance.created

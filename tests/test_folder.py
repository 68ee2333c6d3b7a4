"""What an output folder holds, read once: typed provenance and package, stale files, whose
package it is, and the one decision on an earlier validation.csv. Damaged or missing JSON is
absent everywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import iod_msoa
from iod_msoa import cli
from iod_msoa._build import _provenance
from iod_msoa._config import Config
from iod_msoa._folder import (
    FILES,
    LEGACY_PROVENANCE,
    VALIDATION_FILE,
    EarlierValidation,
    Package,
    Provenance,
    current,
    earlier_validation,
    file_resource,
    json_text,
    legacy_provenance,
    listed_resource,
    output_files,
    package_in,
    read_provenance,
    stale_files,
    write_json,
)
from iod_msoa._geographies import GEOGRAPHIES
from iod_msoa._sources import ResolvedInput

from .built import build, listed
from .provenance import input_record, make_provenance
from .realdata import needs_inputs, write_config


def realdata(test):
    """Marks a test that needs the development inputs."""
    return pytest.mark.realdata(needs_inputs(test))


DAMAGED = ["", "{", "[]", '"text"', "null", '{"resources": 3}']
FILE7 = "7" * 64


def resolved(name: str, status: str = "verified") -> ResolvedInput:
    return ResolvedInput(
        name=name,
        path=Path("/somewhere/private") / f"{name}.csv",
        url=f"https://example.org/{name}.csv",
        sha256="a" * 64,
        size=12,
        expected_sha256="b" * 64,
        status=status,
        origin="local",
        title=f"Title of {name}",
        licence="OGL",
        attribution="Source: MHCLG",
    )


# --- provenance -------------------------------------------------------------------------------


def test_provenance_json_is_the_dict_written_before_it_was_typed():
    own = {"file7": resolved("file7", "unverified"), "lookup": resolved("lookup")}
    typed = _provenance(
        GEOGRAPHIES["msoa21"], own, ("2025-01-01T00:00:00+00:00", "test"), "f" * 64, 9, Config()
    )
    as_dict = {
        "dataset": "iod25_msoa",
        "geography": "msoa21",
        "package": "iod-msoa",
        "version": iod_msoa.__version__,
        "created": "2025-01-01T00:00:00+00:00",
        "created_from": "test",
        "rows": 9,
        "fingerprint": "f" * 64,
        "allow_unverified": False,
        "unverified": ["file7"],
        "inputs": {n: r.as_dict() for n, r in own.items()},
        "official_urls": {n: iod_msoa.MANIFEST[n].url for n in own},
    }
    assert typed.to_json() == json.dumps(as_dict, indent=2, default=str) + "\n"
    assert "/somewhere/private" not in typed.to_json()
    assert Provenance.from_json(json.loads(typed.to_json())) == typed


@pytest.mark.parametrize("text", DAMAGED)
def test_unreadable_provenance_is_none(tmp_path, text):
    (tmp_path / FILES["provenance"]).write_text(text)
    assert read_provenance(tmp_path) is None
    assert read_provenance(tmp_path / "missing") is None


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("fingerprint"),
        lambda d: d.update(extra=1),
        lambda d: d.update(inputs=[]),
        lambda d: d["inputs"]["file7"].pop("sha256"),
        lambda d: d.update(unverified=3),
    ],
)
def test_provenance_not_of_ours_is_none(change):
    data = json.loads(make_provenance(inputs={"file7": input_record("file7")}).to_json())
    change(data)
    assert Provenance.from_json(data) is None


# --- the package and its files ----------------------------------------------------------------


def package_folder(folder: Path, dataset: str = "iod25_msoa", **about: object) -> Path:
    """A folder with every file of ``dataset`` (tiny), listed in its datapackage.json."""
    folder.mkdir(exist_ok=True)
    names = [n for n in output_files(dataset).values() if n != "datapackage.json"]
    for name in names:
        (folder / name).write_text(name)
    provenance = make_provenance(dataset=dataset).to_json()
    (folder / output_files(dataset)["provenance"]).write_text(provenance)
    resources = [file_resource(folder, n) for n in names]
    write_json(folder / "datapackage.json", {"name": "ours", "resources": resources, **about})
    return folder


def test_a_listed_unchanged_file_is_fresh_and_an_edited_one_stale(tmp_path):
    folder = package_folder(tmp_path / "out")
    assert stale_files(folder) == []
    assert listed_resource(folder, FILES["csv"])["path"] == FILES["csv"]
    (folder / FILES["csv"]).write_text("edited")
    assert stale_files(folder) == [FILES["csv"]]
    assert listed_resource(folder, FILES["csv"]) is None
    assert listed_resource(folder, "not-listed.csv") is None


@pytest.mark.parametrize("text", DAMAGED)
def test_a_damaged_package_makes_every_file_stale_and_none_listed(tmp_path, text):
    folder = package_folder(tmp_path / "out")
    (folder / "datapackage.json").write_text(text)
    assert stale_files(folder) == list(FILES.values())
    assert listed_resource(folder, FILES["csv"]) is None


def test_a_package_whose_files_cannot_be_listed_still_has_a_name(tmp_path):
    """A package of someone else's may hold inline data: no paths, but its name says whose."""
    listing = {"name": "my-survey", "resources": [{"name": "inline", "data": [[1]]}]}
    write_json(tmp_path / "datapackage.json", listing)
    assert Package.read(tmp_path) == Package("my-survey", None)
    assert package_in(tmp_path) == "my-survey"


def test_package_in_reads_provenance_first_then_the_package_name(tmp_path):
    assert package_in(tmp_path) is None
    write_json(tmp_path / "datapackage.json", {"name": "iod25-lad24", "resources": []})
    assert package_in(tmp_path) == "iod25-lad24"
    (tmp_path / "provenance.json").write_text(make_provenance(dataset="iod25_rgn24").to_json())
    assert package_in(tmp_path) == "iod25_rgn24"
    (tmp_path / "provenance.json").write_text("{")
    assert package_in(tmp_path) == "iod25-lad24"


def test_current_needs_the_same_fingerprint_and_every_file_unchanged(tmp_path):
    folder = package_folder(tmp_path / "out")
    assert current(folder, "f" * 64, "iod25_msoa") == read_provenance(folder)
    assert current(folder, "0" * 64, "iod25_msoa") is None
    (folder / FILES["parquet"]).write_text("edited")
    assert current(folder, "f" * 64, "iod25_msoa") is None


# --- the one decision on an earlier validation.csv -------------------------------------------


def with_validation(folder: Path, made_from: object) -> Path:
    """``folder``'s package with a validation.csv listed as made from ``made_from``."""
    (folder / VALIDATION_FILE).write_text("geography\nlad24\n")
    path = folder / "datapackage.json"
    package = json.loads(path.read_text())
    entry = file_resource(folder, VALIDATION_FILE) | {"iod_msoa": made_from}
    write_json(path, package | {"resources": [*package["resources"], entry]})
    return folder


def record(version: str = "1.0", file7: str = FILE7, **more: object) -> dict[str, object]:
    return {"version": version, "inputs": {"file7": file7}, "geographies": {}} | more


def test_a_validation_made_from_these_inputs_is_kept(tmp_path):
    lad = {"lad24": {"file7": FILE7, "lad_summaries": "1" * 64}}
    folder = with_validation(package_folder(tmp_path / "out"), record(geographies=lad))
    earlier = earlier_validation(folder, {"file7": FILE7}, "1.0")
    assert earlier.entry == listed_resource(folder, VALIDATION_FILE) and not earlier.stale
    assert earlier.geographies == lad
    earlier.geographies["icb24"] = {}  # a copy: the caller adds its own geographies
    assert earlier.geographies == lad
    assert EarlierValidation().geographies == {}


@pytest.mark.parametrize("other", [record(version="0.9"), record(file7="0" * 64)])
def test_a_validation_made_from_another_file7_or_version_is_stale(tmp_path, other):
    folder = with_validation(package_folder(tmp_path / "out"), other)
    assert earlier_validation(folder, {"file7": FILE7}, "1.0") == EarlierValidation(stale=True)


@pytest.mark.parametrize(
    "entry", [None, "text", {"version": "1.0", "inputs": []}, record(geographies=None)]
)
def test_a_validation_without_a_readable_record_is_neither_kept_nor_stale(tmp_path, entry):
    folder = with_validation(package_folder(tmp_path / "out"), entry)
    assert earlier_validation(folder, {"file7": FILE7}, "1.0") == EarlierValidation()


def test_an_edited_or_missing_validation_is_neither_kept_nor_stale(tmp_path):
    folder = with_validation(package_folder(tmp_path / "out"), record())
    (folder / VALIDATION_FILE).write_text("edited\n")
    assert earlier_validation(folder, {"file7": FILE7}, "1.0") == EarlierValidation()
    (folder / VALIDATION_FILE).unlink()
    assert earlier_validation(folder, {"file7": FILE7}, "1.0") == EarlierValidation()
    assert earlier_validation(tmp_path / "none", {"file7": FILE7}, "1.0") == EarlierValidation()


def test_json_text_is_indented_with_one_final_newline():
    assert json_text({"a": [1]}) == '{\n  "a": [\n    1\n  ]\n}\n'


# --- on a real package: current only while unchanged; validation.csv belongs -----------------


@realdata
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


@realdata
def test_a_package_an_earlier_version_wrote_is_rebuilt_under_the_new_names(copy, tmp_path):
    """Its provenance.json, once the new package is in, describes nothing: it goes."""
    (copy / FILES["provenance"]).rename(copy / LEGACY_PROVENANCE)
    result = build(tmp_path, copy)
    assert not result.skipped
    assert (copy / FILES["provenance"]).is_file()
    assert not (copy / LEGACY_PROVENANCE).exists()
    assert build(tmp_path, copy).skipped


@realdata
def test_validation_is_listed_with_the_inputs_it_came_from(package):
    resource = listed(package)[VALIDATION_FILE]
    provenance = json.loads((package / FILES["provenance"]).read_text())
    made_from = resource["iod_msoa"]
    assert made_from["inputs"]["file7"] == provenance["inputs"]["file7"]["sha256"]
    assert len(made_from["inputs"]["lad_summaries"]) == 64
    assert made_from["version"] == iod_msoa.__version__


@realdata
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


@realdata
def test_forced_rebuild_from_the_same_inputs_keeps_the_validation(copy, tmp_path):
    before = (copy / VALIDATION_FILE).read_bytes()
    result = build(tmp_path, copy, force=True)
    assert (copy / VALIDATION_FILE).read_bytes() == before
    assert VALIDATION_FILE in listed(copy) and stale_files(copy) == []
    assert result.paths["validation"] == copy / VALIDATION_FILE


@realdata
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


@realdata
def test_validate_refuses_a_package_built_from_another_file7(copy, tmp_path):
    provenance = json.loads((copy / FILES["provenance"]).read_text())
    provenance["inputs"]["file7"]["sha256"] = "0" * 64
    (copy / FILES["provenance"]).write_text(json.dumps(provenance))
    config = iod_msoa.load_config(write_config(tmp_path))
    with pytest.raises(iod_msoa.ConfigError, match=r"built from another File 7.*iod-msoa build"):
        iod_msoa.validate(config, copy, progress=False)


def test_two_datasets_share_a_folder_but_for_datapackage_json():
    """Downloads of two packages into one folder collide only where Frictionless needs the
    name: every other file starts with its dataset's name."""
    msoa, lad = output_files("iod25_msoa"), output_files("iod25_lad24")
    assert set(msoa.values()) & set(lad.values()) == {"datapackage.json"}
    assert all(n.startswith("iod25_lad24") for k, n in lad.items() if k != "datapackage")
    assert lad["provenance"] == "iod25_lad24_provenance.json"


def test_a_folder_an_earlier_version_wrote_is_rebuilt_and_its_provenance_found(tmp_path):
    """Before each dataset's own name, provenance.json: such a folder is not current (so it is
    rebuilt), still says whose package it holds, and its provenance.json is ours to retire."""
    folder = package_folder(tmp_path / "out")
    assert current(folder, "f" * 64, "iod25_msoa") is not None
    assert legacy_provenance(folder) is None
    (folder / FILES["provenance"]).rename(folder / LEGACY_PROVENANCE)
    assert current(folder, "f" * 64, "iod25_msoa") is None
    assert read_provenance(folder, "iod25_msoa") is None
    assert read_provenance(folder).dataset == "iod25_msoa"
    assert package_in(folder) == "iod25_msoa"
    assert legacy_provenance(folder) == folder / LEGACY_PROVENANCE
    (folder / LEGACY_PROVENANCE).write_text('{"someone": "else"}')
    assert legacy_provenance(folder) is None  # not ours: left alone

"""The source manifest (sources.toml): its entries checked on load, and the input names."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import pytest

from iod_msoa._errors import ConfigError
from iod_msoa._geographies import ONS_LOOKUPS
from iod_msoa._manifest import INPUT_NAMES, SOURCES_TABLE, load_manifest, parse_manifest


def test_manifest_lists_every_input_with_official_pins():
    manifest = load_manifest()

    assert set(manifest) == set(INPUT_NAMES)
    assert (manifest["file7"].size, manifest["file7"].sha256) == (
        9897666,
        "b1b716aa2e476449f987b9de3e08255b4794eabfd270626de5de18b2f5eff3ef",
    )
    assert (manifest["lad_summaries"].size, manifest["lad_summaries"].sha256) == (
        226470,
        "6c38a2fd3998e0caf76a3ef8da331613d52d6d0320065ccef346103fd9770a7e",
    )
    assert manifest["names"].sha256 is None
    assert {n for n, s in manifest.items() if s.kind == "arcgis"} == {
        "lookup",
        "boundaries",
        "lsoa_boundaries",
        "lsoa_centroids",
        *ONS_LOOKUPS,
        "lsoa11_lsoa21",
        "lsoa11_msoa11",
    }
    assert manifest["boundaries"].params["format"] == "gpkg"
    # Inputs with no known official address must be given as local files (a user's own
    # areas are theirs).
    assert {n for n, s in manifest.items() if not s.url} == {
        "geographies",
        "lrf_summaries",
        "areas",
    }
    assert all(s.url.startswith("https://") for s in manifest.values() if s.url)
    assert all(s.attribution for s in manifest.values())


def test_invalid_manifest_reports_every_problem():
    tables = {
        "a": {"title": "A", "url": "u", "filename": "a", "licence": "l", "kind": "ftp"},
        "b": {
            "title": "B",
            "url": "u",
            "filename": "b",
            "licence": "l",
            "attribution": "x",
            "kind": "arcgis",
            "colour": "red",
            "params": {"format": "gpkg"},
        },
    }

    with pytest.raises(ConfigError) as error:
        parse_manifest(tables)

    message = str(error.value)
    assert "[a] lacks attribution" in message
    assert "[a] kind 'ftp'" in message
    assert "[b] has unknown keys colour" in message
    assert "[b.params] lacks order_by, out_fields, page_size, where" in message
    assert "[b.params] lacks out_sr" in message


def test_input_names_are_the_manifests_in_the_order_of_the_options():
    assert INPUT_NAMES[:6] == (
        "file7",
        "lookup",
        "names",
        "boundaries",
        "lad_summaries",
        "geographies",
    )
    # then the 2019 edition's own (sources2019.toml)
    assert INPUT_NAMES[-10:-4] == tuple(ONS_LOOKUPS)
    assert INPUT_NAMES[-4:] == (
        "file7_2019",
        "lad_summaries_2019",
        "lsoa11_lsoa21",
        "lsoa11_msoa11",
    )


@pytest.fixture
def tables():
    """An editable copy of the packaged manifest."""
    text = resources.files("iod_msoa").joinpath(SOURCES_TABLE).read_text(encoding="utf-8")
    return copy.deepcopy(tomllib.loads(text))


def test_two_inputs_with_one_file_name_are_named(tables):
    tables["lad_summaries"]["filename"] = tables["file7"]["filename"]
    with pytest.raises(ConfigError) as error:
        parse_manifest(tables)
    assert str(error.value) == (
        "The source manifest is invalid: [lad_summaries] filename "
        f"{tables['file7']['filename']!r} is [file7]'s too."
    )


def test_pages_ordered_by_a_field_not_kept_are_named(tables):
    tables["lad_pfa"]["params"]["order_by"] = "LAD24CD,CSP23CD"
    with pytest.raises(ConfigError, match=r"\[lad_pfa.params\] order_by CSP23CD not in out_fields"):
        parse_manifest(tables)

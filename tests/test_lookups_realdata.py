"""Real-data tests: the geographies table assembled from ONS-shaped lookups is the one given."""

from __future__ import annotations

import functools

import pandas as pd
import pytest

import iod_msoa
from iod_msoa._errors import SourceError
from iod_msoa._geographies import GEOGRAPHIES, ONS_LOOKUPS
from iod_msoa._lookups import assemble_geographies
from iod_msoa._schema import read_geographies, read_ons_lookup
from iod_msoa._sources import MANIFEST

from .realdata import FILES as INPUT_FILES
from .realdata import INPUTS, needs_inputs

pytestmark = [pytest.mark.realdata, needs_inputs]

SHARED = INPUTS.parent
# The development copies of the ONS lookups, as their copiers named the columns: for each
# lookup, its files and the ONS field each column holds (files join on shared fields; the
# constituency and ward copies keep codes only, their names come from a second file).
DEV_LOOKUPS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "lsoa_icb": [
        (
            "geographies/lookup_lsoa21_icb24_geographr.csv",
            {
                "lsoa21_code": "LSOA21CD",
                "sicbl24_code": "SICBL24CD",
                "sicbl24_name": "SICBL24NM",
                "icb24_code": "ICB24CD",
                "icb24_name": "ICB24NM",
            },
        )
    ],
    "lad_utla": [
        (
            "geographies/lookup_ltla23_utla23_geographr.csv",
            {
                "ltla23_code": "LTLA23CD",
                "ltla23_name": "LTLA23NM",
                "utla23_code": "UTLA23CD",
                "utla23_name": "UTLA23NM",
            },
        )
    ],
    "lad_rgn": [
        (
            "geographies/lookup_ltla24_region24_geographr.csv",
            {
                "ltla24_code": "LAD24CD",
                "ltla24_name": "LAD24NM",
                "region24_code": "RGN24CD",
                "region24_name": "RGN24NM",
            },
        )
    ],
    "lsoa_pcon": [
        (
            "lookups/imd_lookups_geoManipulatoR.csv",
            {"LSOA21CD": "LSOA21CD", "PCON24CD": "PCON24CD"},
        ),
        (
            "geographies/PCON24_names_EN_open-innovations.csv",
            {"pcon24cd": "PCON24CD", "pcon24nm": "PCON24NM"},
        ),
    ],
    "lsoa_ward": [
        ("lookups/imd_lookups_geoManipulatoR.csv", {"LSOA21CD": "LSOA21CD", "WD25CD": "WD25CD"}),
        ("geographies/WD25_names_drkane.csv", {"wd25cd": "WD25CD", "wd25nm": "WD25NM"}),
    ],
}


def _ons_shaped(name: str) -> pd.DataFrame:
    """One lookup as the ArcGIS download caches it: the manifest's fields, lower case."""
    parts = [
        pd.read_csv(SHARED / file, usecols=list(fields), dtype=str, encoding="utf-8-sig").rename(
            columns=fields
        )
        for file, fields in DEV_LOOKUPS[name]
    ]
    table = functools.reduce(lambda left, right: left.merge(right, how="left"), parts)
    return table[MANIFEST[name].params["out_fields"]].rename(columns=str.lower)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A download folder holding every ONS lookup, as a build would have cached it."""
    folder = tmp_path_factory.mktemp("cache")
    for name in ONS_LOOKUPS:
        _ons_shaped(name).to_csv(folder / MANIFEST[name].filename, index=False)
    return folder


@pytest.fixture(scope="module")
def lsoa():
    return iod_msoa.read_file7(INPUTS / INPUT_FILES["file7"])


@pytest.fixture(scope="module")
def given():
    return read_geographies(INPUTS / INPUT_FILES["geographies"]).set_index("lsoa21cd")


def test_assembling_the_lookups_reproduces_the_given_table(cache, lsoa, given):
    lookups = {n: read_ons_lookup(cache / MANIFEST[n].filename, n) for n in ONS_LOOKUPS}
    table = assemble_geographies(lsoa, lookups).set_index("lsoa21cd")

    assert sorted(table.index) == sorted(given.index)
    covered = [g for g in GEOGRAPHIES.values() if g.ons_lookup]
    assert {g.key for g in covered} == {"utla24", "rgn24", "icb24", "sicbl24", "pcon24", "wd25"}
    for g in covered:
        ours, theirs = table[[g.code, g.name]], given.loc[table.index, [g.code, g.name]]
        differ = (ours != theirs).any(axis=1)
        assert not differ.any(), f"{g.key}: {differ.sum()} LSOAs differ"
        assert ours[g.code].nunique() == g.areas, g.key


def _config(folder, cache):
    """The development inputs without the geographies table, downloads from ``cache``."""
    lines = [f'cache_dir = "{cache}"', "allow_unverified = true", "[inputs]"]
    lines += [
        f'{name} = "{(INPUTS / file).resolve()}"'
        for name, file in INPUT_FILES.items()
        if name != "geographies"
    ]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return iod_msoa.load_config(path)


def test_a_build_without_the_table_assembles_it_from_the_cached_lookups(cache, given, tmp_path):
    config = _config(tmp_path, cache)
    result = iod_msoa.build(config, tmp_path / "out", progress=False, geography="icb24")

    assert set(result.provenance["inputs"]) == {"file7", "lsoa_icb", "lsoa_boundaries"}
    assert result.provenance["inputs"]["lsoa_icb"]["origin"] == "cache"
    counts = given["icb24cd"].value_counts()
    table = result.table.set_index("icb24cd")
    assert len(table) == 42
    assert (table["n_lsoa"] == counts.loc[table.index]).all()
    with pytest.raises(
        SourceError, match=r"no official download: give its path with --geographies"
    ):
        iod_msoa.build(config, tmp_path / "lrf", progress=False, geography="lrf24")

"""Real-data tests: the geographies table assembled from ONS-shaped lookups is the one given."""

from __future__ import annotations

import functools
import json

import pandas as pd
import pytest

import iod_msoa
from iod_msoa import cli
from iod_msoa._geographies import CROSSWALKS, GEOGRAPHIES, ONS_LOOKUPS
from iod_msoa._lookups import assemble_geographies
from iod_msoa._manifest import MANIFEST
from iod_msoa._readers import read_geographies, read_ons_lookup

from .arcgis import serve_layer
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
    "lad_pfa": [
        (
            "geographies/lookup_ltla24_csp24_pfa24_geographr.csv",
            {
                "ltla24_code": "LAD24CD",
                "ltla24_name": "LAD24NM",
                "csp24_code": "CSP24CD",
                "csp24_name": "CSP24NM",
                "pfa24_code": "PFA24CD",
                "pfa24_name": "PFA24NM",
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
    assert {g.key for g in covered} == {
        "utla24",
        "rgn24",
        "icb24",
        "sicbl24",
        "lrf24",
        "pcon24",
        "wd25",
    }
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

    assert set(result.provenance.inputs) == {"file7", "lsoa_icb", "lsoa_boundaries"}
    assert result.provenance.inputs["lsoa_icb"].origin == "cache"
    counts = given["icb24cd"].value_counts()
    table = result.table.set_index("icb24cd")
    assert len(table) == 42
    assert (table["n_lsoa"] == counts.loc[table.index]).all()


def test_the_shipped_crosswalk_has_file14s_lrf_codes_and_names():
    file14 = pd.read_csv(INPUTS / INPUT_FILES["lrf_summaries"], dtype=str)
    ours = CROSSWALKS["pfa_lrf"].frame()[["lrf24cd", "lrf24nm"]].drop_duplicates()
    assert sorted(map(tuple, ours.to_numpy())) == sorted(
        zip(file14["lrf24_code"], file14["lrf24_name"], strict=True)
    )


# --- the whole download path, offline: every ONS lookup from a loopback ArcGIS server ------


def _build(config, geography: str, out) -> int:
    return cli.main(
        ["build", "--config", str(config), "--geography", geography, "--out", str(out), "--quiet"]
    )


def test_lrf24_and_all_build_without_the_table_from_a_loopback_arcgis_server(
    httpserver, monkeypatch, tmp_path, given
):
    """No local geographies table and an empty download folder: every ONS lookup is
    downloaded from the fake layers (the development copies, ONS-shaped), checked, cached
    and assembled; LRFs match the development table LSOA for LSOA."""
    for name in ONS_LOOKUPS:
        monkeypatch.setitem(MANIFEST, name, serve_layer(httpserver, name, _ons_shaped(name)))
    _config(tmp_path, tmp_path / "cache")
    config = tmp_path / "config.toml"

    assert _build(config, "lrf24", tmp_path / "lrf") == 0
    provenance = json.loads((tmp_path / "lrf" / "iod25_lrf24_provenance.json").read_text())
    assert set(provenance["inputs"]) == {"file7", "lad_pfa", "lsoa_boundaries"}
    assert provenance["inputs"]["lad_pfa"]["origin"] == "download"
    lrf = pd.read_csv(tmp_path / "lrf" / "iod25_lrf24.csv", dtype=str).set_index("lrf24cd")
    expected = given.groupby(["lrf24cd", "lrf24nm"]).size().reset_index("lrf24nm")
    assert len(lrf) == 38 and sorted(lrf.index) == sorted(expected.index)
    assert (lrf["lrf24nm"] == expected.loc[lrf.index, "lrf24nm"]).all()
    assert (lrf["n_lsoa"].astype(int) == expected.loc[lrf.index, 0]).all()
    # File 14's proportions of LSOAs in the most deprived 10% depend only on the LSOAs'
    # deciles: the assembled LRFs reproduce all of them (8 per LRF) within rounding.
    args = ["validate", "--config", str(config), "--geography", "lrf24", "--quiet"]
    assert cli.main([*args, "--out", str(tmp_path / "lrf")]) == 0
    rows = pd.read_csv(tmp_path / "lrf" / "validation.csv")
    shares = rows[rows["measure"].str.endswith("most_deprived_10")]
    assert len(shares) == 38 * 8 and shares["matches_published_rounding"].all()

    assert _build(config, "all", tmp_path / "all") == 0
    for g in GEOGRAPHIES.values():
        table = pd.read_csv(tmp_path / "all" / g.dataset / f"{g.dataset}.csv", usecols=[0])
        assert len(table) == g.areas, g.key
    fetched = {r.path.split("/")[1] for r, _ in httpserver.log if "resultOffset" in r.args}
    assert fetched == set(ONS_LOOKUPS)  # each downloaded, lad_pfa once (then the cache)
    pages = [r.path for r, _ in httpserver.log if "resultOffset" in r.args]
    assert pages.count("/lad_pfa/FeatureServer/0/query") == 1

"""The geographies table is assembled from ONS lookups when none is given locally."""

from __future__ import annotations

import pandas as pd
import pytest

from iod_msoa import _sources
from iod_msoa._errors import SchemaError, SourceError
from iod_msoa._geographies import CROSSWALKS, GEOGRAPHIES, ONS_LOOKUPS, Crosswalk
from iod_msoa._lookups import assemble_geographies, check_with_file7
from iod_msoa._manifest import MANIFEST
from iod_msoa._plan import make_plan
from iod_msoa._readers import read_ons_lookup
from iod_msoa._sources import resolve_input

from .arcgis import serve_layer

LSOA = pd.DataFrame(
    {
        "lsoa21cd": ["E01000001", "E01000002", "E01000003", "E01000004"],
        "lad24cd": ["E06000001", "E06000001", "E06000002", "E07000001"],
    }
)


def _icb() -> pd.DataFrame:
    # ONS layers cover Wales too; a Welsh LSOA must simply be left out.
    return pd.DataFrame(
        {
            "lsoa21cd": ["E01000004", "E01000001", "E01000002", "E01000003", "W01000001"],
            "sicbl24cd": ["E38000003", "E38000001", "E38000001", "E38000002", "W11000001"],
            "sicbl24nm": ["Sub C", "Sub A", "Sub A", "Sub B", "Wales"],
            "icb24cd": ["E54000002", "E54000001", "E54000001", "E54000001", "W11000002"],
            "icb24nm": ["ICB Two", "ICB One", "ICB One", "ICB One", "Wales"],
        }
    )


def _utla() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ltla23cd": ["E06000001", "E06000002", "E07000001", "W06000001"],
            "utla23cd": ["E06000001", "E06000002", "E10000001", "W06000001"],
            "utla23nm": ["Unitary A", "Unitary B", "County C", "Welsh UA"],
        }
    )


def _wards() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lsoa21cd": ["E01000001", "E01000002", "E01000003", "E01000004"],
            "wd25cd": ["E05000001", "E05000001", "E05000002", "E05000003"],
            "wd25nm": ["North", "North", "South", "East"],
        }
    )


def _pfa() -> pd.DataFrame:
    # One row per LAD and community safety partnership: E06000001 has two partnerships.
    return pd.DataFrame(
        {
            "lad24cd": ["E06000001", "E06000001", "E06000002", "E07000001", "W06000001"],
            "csp24cd": ["E22000001", "E22000002", "E22000003", "E22000004", "W22000001"],
            "pfa24cd": ["E23000038", "E23000038", "E23000039", "E23000001", "W15000001"],
        }
    )


def _pfa_lrf(**changes: tuple[str, str]) -> dict[str, Crosswalk]:
    """A hand-made 39 -> 38 crosswalk (E23000038 and E23000039 share one LRF on purpose), as
    the shipped one has; ``changes`` set a PFA's LRF code and name."""
    rows = {f"E23{n:06d}": (f"E48{min(n, 38):06d}", f"LRF {min(n, 38)}") for n in range(1, 40)}
    rows |= changes
    return {
        "pfa_lrf": Crosswalk(
            on="pfa24cd",
            rows={k: {"lrf24cd": c, "lrf24nm": m} for k, (c, m) in rows.items()},
            shares=("E48000038",),
        )
    }


def _lrf_error(pfa: pd.DataFrame, crosswalks: dict[str, Crosswalk]) -> str:
    with pytest.raises(SchemaError) as caught:
        assemble_geographies(LSOA, {"lad_pfa": pfa}, crosswalks)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_lookup_with_repeated_rows_goes_through_its_crosswalk():
    table = assemble_geographies(LSOA, {"lad_pfa": _pfa()}, _pfa_lrf())

    # The LAD with two partnerships is one LAD in one LRF; File 7's LAD decides.
    assert list(table["lrf24cd"]) == ["E48000038"] * 3 + ["E48000001"]
    assert list(table["lrf24nm"]) == ["LRF 38"] * 3 + ["LRF 1"]
    assert list(table.columns) == ["lsoa21cd", "lrf24cd", "lrf24nm"]  # the PFA only on the way


def test_a_lad_in_two_police_force_areas_is_named():
    pfa = _pfa()
    pfa.loc[1, "pfa24cd"] = "E23000037"
    message = _lrf_error(pfa, _pfa_lrf())
    assert (
        "lad_pfa lists lad24cd more than once in different areas: E06000001 (E23000038, E23000037)"
        in message
    )


def test_a_police_force_area_missing_from_the_crosswalk_is_named():
    pfa = _pfa()
    pfa.loc[3, "pfa24cd"] = "E23000099"
    message = _lrf_error(pfa, _pfa_lrf())
    assert (
        "crosswalk pfa_lrf (geographies.toml) has no row for 1 pfa24cd code(s) "
        "(with the lad24cd codes in each): E23000099 (E07000001)" in message
    )


def test_a_crosswalk_code_of_another_geography_is_named():
    message = _lrf_error(_pfa(), _pfa_lrf(E23000005=("E47000005", "LRF 5")))
    assert "has lrf24cd codes that are not ^E48[0-9]{6}$: E47000005 (E23000005)" in message


def test_a_crosswalk_giving_another_number_of_lrfs_is_named():
    message = _lrf_error(_pfa(), _pfa_lrf(E23000002=("E48000001", "LRF 1")))
    assert (
        "crosswalk pfa_lrf (geographies.toml) gives 37 lrf24cd codes where England has 38 LRFs "
        "(codes given to more than one pfa24cd: E48000001 (E23000001, E23000002))" in message
    )  # the LRF shared on purpose (London's two forces in the shipped one) is not listed
    # Forces E23000001-37 only, each its own LRF: 37 again, and no merge to name.
    first = dict(list(_pfa_lrf()["pfa_lrf"].rows.items())[:37])
    message = _lrf_error(_pfa(), {"pfa_lrf": Crosswalk(on="pfa24cd", rows=first)})
    assert "gives 37 lrf24cd codes where England has 38 LRFs (codes given to more" in message
    assert "more than one pfa24cd: none)" in message


def test_the_shipped_crosswalk_is_39_police_force_areas_in_38_lrfs():
    table = CROSSWALKS["pfa_lrf"].frame()
    assert list(table.columns) == ["pfa24cd", "lrf24cd", "lrf24nm"]
    assert table["pfa24cd"].tolist() == [f"E23{n:06d}" for n in range(1, 40)]
    assert sorted(table["lrf24cd"].unique()) == [f"E48{n:06d}" for n in range(1, 39)]
    # City of London (E23000034) and the Metropolitan Police (E23000001) are one LRF.
    london = table.set_index("pfa24cd").loc[["E23000001", "E23000034"]]
    assert london["lrf24cd"].tolist() == ["E48000021"] * 2
    assert london["lrf24nm"].tolist() == ["London"] * 2
    assert table.groupby("lrf24cd")["lrf24nm"].nunique().eq(1).all()


def test_a_repeating_lookup_reads_as_one_row_per_lad_and_refuses_a_lad_in_two_areas(tmp_path):
    path = tmp_path / "pfa.csv"
    _pfa().rename(columns=str.upper).to_csv(path, index=False)
    assert read_ons_lookup(path, "lad_pfa")["lad24cd"].tolist() == [
        "E06000001",
        "E06000002",
        "E07000001",
        "W06000001",
    ]
    pfa = _pfa()
    pfa.loc[1, "pfa24cd"] = "E23000037"
    pfa.rename(columns=str.upper).to_csv(path, index=False)
    in_two = r"1 lad24cd code\(s\) in more than one pfa24cd: row 2 \(E06000001\) = 'E23000038'"
    with pytest.raises(SchemaError, match=in_two + r", row 3 \(E06000001\) = 'E23000037'"):
        read_ons_lookup(path, "lad_pfa")


def test_lsoa_and_whole_authority_lookups_make_one_row_per_file7_lsoa():
    table = assemble_geographies(LSOA, {"lsoa_icb": _icb(), "lad_utla": _utla()})

    assert list(table["lsoa21cd"]) == list(LSOA["lsoa21cd"])
    assert list(table["icb24cd"]) == ["E54000001"] * 3 + ["E54000002"]
    assert list(table["sicbl24nm"]) == ["Sub A", "Sub A", "Sub B", "Sub C"]
    # UTLA 2023 fields become utla24 columns, joined on File 7's own LAD.
    assert list(table["utla24cd"]) == ["E06000001", "E06000001", "E06000002", "E10000001"]
    assert list(table["utla24nm"]) == ["Unitary A", "Unitary A", "Unitary B", "County C"]
    assert "lad24cd" not in table.columns


def test_an_lsoa_or_lad_missing_from_a_lookup_is_named():
    icb = _icb().iloc[1:]
    utla = _utla()[_utla()["ltla23cd"] != "E07000001"]
    with pytest.raises(SchemaError) as caught:
        assemble_geographies(LSOA, {"lsoa_icb": icb, "lad_utla": utla})
    message = str(caught.value)
    assert (
        "lsoa_icb lacks 1 of File 7's lsoa21cd codes in its lsoa21cd column: E01000004" in message
    )
    assert (
        "lad_utla lacks 1 of File 7's lad24cd codes (1 LSOAs) in its ltla23cd column: E07000001"
        in message
    )
    # A LAD counts once, however many LSOAs it has.
    with pytest.raises(SchemaError, match=r"lacks 1 of File 7's lad24cd codes \(2 LSOAs\)"):
        assemble_geographies(LSOA, {"lad_utla": _utla().iloc[1:]})


def test_a_blank_area_for_a_lad_is_named_as_blank_not_missing():
    pfa = _pfa()
    pfa.loc[2, "pfa24cd"] = None
    message = _lrf_error(pfa, _pfa_lrf())
    assert "lad_pfa has a blank pfa24cd for 1 of File 7's lad24cd codes: row 4 (E06000002)" in (
        message
    )
    assert "lacks" not in message


def test_a_padded_police_force_code_is_quoted():
    pfa = _pfa()
    pfa.loc[3, "pfa24cd"] = "E23000001 "
    message = _lrf_error(pfa, _pfa_lrf())
    assert (
        "has no row for 1 pfa24cd code(s) (with the lad24cd codes in each): "
        "'E23000001 ' (E07000001)" in message
    )


def test_the_shipped_crosswalk_shares_only_london():
    assert CROSSWALKS["pfa_lrf"].shares == ["E48000021"]


def test_an_lsoa_listed_twice_is_an_error():
    icb = pd.concat([_icb(), _icb().iloc[[0]].assign(icb24cd="E54000009")])
    with pytest.raises(SchemaError, match="lsoa_icb lists lsoa21cd more than once: E01000004"):
        assemble_geographies(LSOA, {"lsoa_icb": icb})


def test_blank_names_and_malformed_codes_are_refused():
    icb = _icb()
    icb.loc[1, "icb24nm"] = None
    icb.loc[3, "sicbl24cd"] = "X38000002"
    with pytest.raises(SchemaError) as caught:
        assemble_geographies(LSOA, {"lsoa_icb": icb})
    # rows of the lookup given (E01000001 is its row 3), not of the table assembled from it
    assert "lsoa_icb column 'icb24nm' has 1 blank name(s): row 3 (E01000001)" in str(caught.value)
    assert (
        "lsoa_icb column 'sicbl24cd' has 1 missing or malformed code(s) (expected ^E38[0-9]{6}$): "
        "row 5 (E01000003) = 'X38000002'" in str(caught.value)
    )


def test_an_area_with_two_names_names_the_file_the_names_and_an_lsoa_of_each(tmp_path):
    """A stray space makes a second name: the quoted names show it, the LSOA finds the row."""
    icb = _icb()
    icb.loc[2, "sicbl24nm"] = "Sub A "
    path = tmp_path / "lsoa_icb.csv"
    icb.to_csv(path, index=False)
    with pytest.raises(SchemaError) as caught:
        assemble_geographies(LSOA, {"lsoa_icb": read_ons_lookup(path, "lsoa_icb")})
    assert str(caught.value) == (
        f"LSOA geographies assembled from ONS lookups (lsoa_icb: {path}): 1 sicbl24cd code(s) "
        "with more than one sicbl24nm: E38000001 ('Sub A' for 1 LSOA(s) from E01000001 vs "
        "'Sub A ' for 1 LSOA(s) from E01000002)"
    )


def test_areas_must_nest():
    icb = _icb()
    icb.loc[2, "icb24cd"] = "E54000002"  # Sub A now straddles two ICBs
    wards = _wards()
    wards.loc[2, "wd25cd"] = "E05000003"  # a ward in two of File 7's LADs
    wards.loc[2, "wd25nm"] = "East"
    with pytest.raises(SchemaError) as caught:
        assemble_geographies(LSOA, {"lsoa_icb": icb, "lsoa_ward": wards})
    assert "sicbl24cd areas in more than one icb24cd: E38000001" in str(caught.value)
    assert "wd25cd areas in more than one of File 7's LADs: E05000003" in str(caught.value)


def test_lookups_and_the_manifest_agree():
    """Every ONS lookup is an ArcGIS input whose fields include those the assembler reads."""
    for name, spec in ONS_LOOKUPS.items():
        source = MANIFEST[name]
        assert source.kind == "arcgis" and source.min_rows, name
        fields = [f.lower() for f in source.params["out_fields"]]
        assert {spec.on, *spec.columns} <= set(fields), name
        # Pages are stable only if the order is unique: a lookup whose rows repeat its
        # join field is ordered by more fields.
        order = [f.strip().lower() for f in source.params["order_by"].split(",")]
        assert order[0] == spec.on and set(order) <= set(fields), name
        assert (len(order) > 1) == spec.repeats, name
    used = {g.ons_lookup for g in GEOGRAPHIES.values() if g.ons_lookup}
    assert used == set(ONS_LOOKUPS)
    assert {s.crosswalk for s in ONS_LOOKUPS.values() if s.crosswalk} == set(CROSSWALKS)
    # LRFs come from the police force area lookup, through the crosswalk.
    assert _own_inputs("lrf24", ()) == ("file7", "lad_pfa", "lsoa_boundaries")
    assert MANIFEST["lad_pfa"].params["where"] == "LAD24CD LIKE 'E%'"
    assert _own_inputs("icb24", ()) == ("file7", "lsoa_icb", "lsoa_boundaries")
    assert _own_inputs("icb24", {"geographies"}) == GEOGRAPHIES["icb24"].inputs


def _own_inputs(key: str, local: set[str] | tuple[()]) -> tuple[str, ...]:
    """The inputs the plan gives one geography's dataset when ``local`` ones are given."""
    return make_plan(local, [GEOGRAPHIES[key]]).datasets[0].inputs


# --- the download path, against a loopback ArcGIS server ---------------------------------


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sources, "RETRY_DELAYS", (0.0, 0.0, 0.0))


def _serve(httpserver, name: str, rows: pd.DataFrame) -> _sources.Source:
    """A tiny layer: small pages and a row check sized for the test."""
    source = MANIFEST[name]
    params = {**source.params, "page_size": 2}
    return serve_layer(httpserver, name, rows, min_rows=len(LSOA), params=params)


def test_a_downloaded_lookup_is_cached_checked_and_assembled(httpserver, tmp_path):
    source = _serve(httpserver, "lsoa_icb", _icb())
    resolved = resolve_input(
        source, local_path=None, cache_dir=tmp_path, allow_unverified=False, progress=False
    )
    assert (resolved.origin, resolved.path.name) == ("download", source.filename)
    assert (tmp_path / f".{source.filename}.checked").is_file()
    table = assemble_geographies(LSOA, {"lsoa_icb": read_ons_lookup(resolved.path, "lsoa_icb")})
    assert list(table["sicbl24cd"]) == ["E38000001", "E38000001", "E38000002", "E38000003"]
    again = resolve_input(
        source, local_path=None, cache_dir=tmp_path, allow_unverified=False, progress=False
    )
    assert again.origin == "cache" and again.sha256 == resolved.sha256


def test_a_downloaded_lookup_listing_an_lsoa_twice_is_not_cached(httpserver, tmp_path):
    source = _serve(httpserver, "lsoa_icb", pd.concat([_icb(), _icb().iloc[[0]]]))
    with pytest.raises(SourceError, match=r"lsoa_icb download .* not usable.*duplicated"):
        resolve_input(
            source, local_path=None, cache_dir=tmp_path, allow_unverified=False, progress=False
        )
    assert not (tmp_path / source.filename).exists()


def test_a_downloaded_police_force_area_lookup_gives_lrfs(httpserver, tmp_path):
    # LADs repeat (one row per partnership): the download is still usable and cached.
    names = {"lad24nm": "LAD", "csp24nm": "partnership", "pfa24nm": "force"}
    source = _serve(httpserver, "lad_pfa", _pfa().assign(**names))
    resolved = resolve_input(
        source, local_path=None, cache_dir=tmp_path, allow_unverified=False, progress=False
    )
    assert resolved.origin == "download"
    assert len(pd.read_csv(resolved.path)) == len(_pfa())
    lookup = read_ons_lookup(resolved.path, "lad_pfa")
    table = assemble_geographies(LSOA, {"lad_pfa": lookup}, _pfa_lrf())
    assert list(table["lrf24cd"]) == ["E48000038"] * 3 + ["E48000001"]
    # Ordered by LAD and partnership: unique together, so pages do not overlap.
    orders = {r.args["orderByFields"] for r, _ in httpserver.log if "resultOffset" in r.args}
    assert orders == {"LAD24CD,CSP24CD"}


def test_a_downloaded_lookup_with_a_lad_in_two_police_force_areas_is_not_cached(
    httpserver, tmp_path
):
    names = {"lad24nm": "LAD", "csp24nm": "partnership", "pfa24nm": "force"}
    source = _serve(httpserver, "lad_pfa", _pfa().assign(**names, pfa24cd=lambda t: t["csp24cd"]))
    with pytest.raises(SourceError) as caught:
        resolve_input(
            source, local_path=None, cache_dir=tmp_path, allow_unverified=False, progress=False
        )
    message = str(caught.value)
    assert "lad_pfa download" in message and "not usable" in message and "\n" not in message
    assert "1 lad24cd code(s) in more than one pfa24cd: row 2 (E06000001) = 'E22000001'" in message
    assert not (tmp_path / source.filename).exists()


# --- any geographies table (read or assembled) against File 7 --------------------------------


def _table(**columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"lsoa21cd": LSOA["lsoa21cd"], **columns})


def test_a_table_that_agrees_with_file7_passes():
    table = _table(
        lad24cd=LSOA["lad24cd"].tolist(),
        utla24cd=["E06000001", "E06000001", "E06000002", "E10000001"],
        wd25cd=["E05000001", "E05000001", "E05000002", "E05000003"],
    )
    check_with_file7(table, LSOA, "geo.csv")


def test_a_whole_lad_area_that_splits_a_lad_is_an_error():
    # E01000002 is in LAD E06000001 but put in another UTLA than E01000001: a wrong number.
    table = _table(utla24cd=["E06000001", "E06000002", "E06000002", "E10000001"])
    with pytest.raises(SchemaError) as caught:
        check_with_file7(table, LSOA, "geo.csv")
    message = str(caught.value)
    assert message.startswith("geo.csv: ")
    assert "1 of File 7's LADs are split between utla24cd areas: E06000001" in message
    assert "E01000002" in message and "\n" not in message
    icb = _table(icb24cd=["E54000001", "E54000002", "E54000002", "E54000002"])
    check_with_file7(icb, LSOA, "geo.csv")  # ICBs may split a LAD


def test_a_local_table_must_nest_as_the_geographies_declare():
    # E01000002's ICB moved, its sub-ICB location not: that one now lies in two ICBs.
    table = _table(
        sicbl24cd=["E38000001", "E38000001", "E38000001", "E38000003"],
        icb24cd=["E54000001", "E54000002", "E54000001", "E54000002"],
        # E06000002's upper-tier authority given another region than E06000001 has.
        utla24cd=["E06000001", "E06000001", "E06000001", "E10000001"],
        rgn24cd=["E12000001", "E12000001", "E12000002", "E12000002"],
    )
    with pytest.raises(SchemaError) as caught:
        check_with_file7(table, LSOA, "geo.csv")
    message = str(caught.value)
    assert "sicbl24cd areas in more than one icb24cd: E38000001 (" in message
    assert "utla24cd areas in more than one rgn24cd: E06000001 (" in message
    assert "LSOAs apart from the rest of their sub-ICB location: E01000002" in message
    assert "LSOAs apart from the rest of their upper-tier authority: E01000003" in message
    assert "\n" not in message
    # Without the columns of the area around, there is nothing to check.
    check_with_file7(table.drop(columns=["icb24cd", "rgn24cd"]), LSOA, "geo.csv")


def test_declared_nestings_name_geographies_of_the_table():
    for g in GEOGRAPHIES.values():
        assert all(GEOGRAPHIES[k].members == "geographies" for k in g.within), g.key
        assert g.key not in g.within


def test_a_lad_column_that_differs_from_file7_is_an_error():
    table = _table(lad24cd=["E06000001", "E07000181", "E06000002", "E07000001"])
    with pytest.raises(SchemaError, match=r"lad24cd differs from File 7's LAD for 1 LSOA"):
        check_with_file7(table, LSOA, "geo.csv")


def test_lsoas_not_in_file7_and_missing_lsoas_are_named():
    table = _table(wd25cd=["E05000001"] * 4)
    table.loc[3, "lsoa21cd"] = "E01099999"
    with pytest.raises(SchemaError) as caught:
        check_with_file7(table, LSOA, "geo.csv")
    assert "1 LSOA code(s) not in File 7 (2021 LSOAs in England): E01099999" in str(caught.value)
    assert "no row for 1 of File 7's LSOAs: E01000004" in str(caught.value)

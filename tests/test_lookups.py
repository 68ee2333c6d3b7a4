"""The geographies table is assembled from ONS lookups when none is given locally."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
from werkzeug import Request, Response

from iod_msoa import _sources
from iod_msoa._errors import SchemaError, SourceError
from iod_msoa._geographies import GEOGRAPHIES, ONS_LOOKUPS
from iod_msoa._lookups import assemble_geographies, check_with_file7
from iod_msoa._schema import read_ons_lookup
from iod_msoa._sources import MANIFEST, resolve_input

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
    assert "lsoa_icb has no lsoa21cd for 1 of File 7's lsoa21cd codes: E01000004" in message
    assert "lad_utla has no ltla23cd for 1 of File 7's lad24cd codes: E07000001" in message


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
    assert "'icb24nm' has 1 blank name(s): row 2 (E01000001)" in str(caught.value)
    assert (
        "'sicbl24cd' has 1 missing or malformed code(s) (expected ^E38[0-9]{6}$): row 4 (E01000003)"
        in str(caught.value)
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
        assert source.params["order_by"].lower() == spec.on, name
    used = {g.ons_lookup for g in GEOGRAPHIES.values() if g.ons_lookup}
    assert used == set(ONS_LOOKUPS)
    # LRF codes are in no ONS lookup: lrf24 still needs the local table.
    assert GEOGRAPHIES["lrf24"].needs(()) == ("file7", "geographies", "lsoa_boundaries")
    assert GEOGRAPHIES["icb24"].needs(()) == ("file7", "lsoa_icb", "lsoa_boundaries")
    assert GEOGRAPHIES["icb24"].needs({"geographies"}) == GEOGRAPHIES["icb24"].inputs


# --- the download path, against a loopback ArcGIS server ---------------------------------


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sources, "RETRY_DELAYS", (0.0, 0.0, 0.0))


def _serve(httpserver, rows: pd.DataFrame) -> _sources.Source:
    """Serve ``rows`` (ONS field names, upper case) as a paged layer; the manifest entry
    pointed at it, with small pages and a row check sized for the test."""
    features = [{"attributes": r} for r in rows.rename(columns=str.upper).to_dict("records")]

    def handler(request: Request) -> Response:
        if request.args.get("returnCountOnly") == "true":
            return Response(json.dumps({"count": len(features)}), content_type="application/json")
        offset, size = int(request.args["resultOffset"]), int(request.args["resultRecordCount"])
        page: dict[str, object] = {"features": features[offset : offset + size]}
        if offset + size < len(features):
            page["exceededTransferLimit"] = True
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request("/icb/FeatureServer/0/query").respond_with_handler(handler)
    source = MANIFEST["lsoa_icb"]
    return dataclasses.replace(
        source,
        url=httpserver.url_for("/icb/FeatureServer/0/query"),
        min_rows=4,
        params={**source.params, "page_size": 2},
    )


def test_a_downloaded_lookup_is_cached_checked_and_assembled(httpserver, tmp_path):
    source = _serve(httpserver, _icb())
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
    source = _serve(httpserver, pd.concat([_icb(), _icb().iloc[[0]]]))
    with pytest.raises(SourceError, match=r"lsoa_icb download .* not usable.*duplicated"):
        resolve_input(
            source, local_path=None, cache_dir=tmp_path, allow_unverified=False, progress=False
        )
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

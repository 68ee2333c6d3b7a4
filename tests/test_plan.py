"""The build plan alone: every case of where a dataset's LSOAs come from, without a file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from iod_msoa._errors import ConfigError
from iod_msoa._geographies import GEOGRAPHIES, area_name_from, own_areas, select
from iod_msoa._plan import (
    EDITION,
    PACKAGES,
    Plan,
    Reading,
    chosen,
    folders,
    make_plan,
    members_input,
)

ALL = list(GEOGRAPHIES.values())
# The development config (config/shared-inputs.toml): a local geographies table, no ONS lookup.
DEVELOPMENT = {
    "file7",
    "lookup",
    "names",
    "boundaries",
    "lad_summaries",
    "geographies",
    "lsoa_boundaries",
    "utla_summaries",
    "icb_summaries",
    "lrf_summaries",
}


def _plan(local, *keys: str, out_dir=None) -> Plan:
    return make_plan(local, [GEOGRAPHIES[k] for k in keys], out_dir)


def _members(plan: Plan) -> dict[str, str]:
    return {d.key: d.members for d in plan.datasets}


def test_msoas_and_lads_come_from_their_own_inputs_whatever_is_local():
    for local in ((), {"geographies"}, {"geographies", "lsoa_icb"}):
        plan = _plan(local, "msoa21", "lad24")
        assert _members(plan) == {"msoa21": "lookup", "lad24": "file7"}
        assert plan.datasets[0].inputs == ("file7", "lookup", "names", "boundaries")
        assert plan.datasets[1].inputs == ("file7", "lsoa_boundaries")
        assert plan.reading.from_table == plan.reading.lookups == plan.reading.partners == ()
        assert plan.checks == ()


def test_without_a_local_table_every_geography_is_assembled_from_its_ons_lookup():
    plan = make_plan((), ALL)
    assert _members(plan) == {
        "msoa21": "lookup",
        "lad24": "file7",
        "utla24": "lad_utla",
        "rgn24": "lad_rgn",
        "icb24": "lsoa_icb",
        "sicbl24": "lsoa_icb",
        "lrf24": "lad_pfa",
        "pcon24": "lsoa_pcon",
        "wd25": "lsoa_ward",
    }
    assert plan.reading.from_table == ()
    assert plan.reading.lookups == (
        "lad_utla",
        "lad_rgn",
        "lsoa_icb",
        "lad_pfa",
        "lsoa_pcon",
        "lsoa_ward",
    )
    # Nothing is given locally, so no nesting is checked beyond what the lookups hold.
    assert plan.reading.partners == plan.checks == ()
    assert plan.reading.nesting == (
        "utla24",
        "rgn24",
        "icb24",
        "sicbl24",
        "lrf24",
        "pcon24",
        "wd25",
    )


def test_a_local_table_gives_every_geography_it_has_columns_for():
    plan = make_plan(DEVELOPMENT, ALL, "out")
    assert [g.key for g in plan.reading.from_table] == [
        "utla24",
        "rgn24",
        "icb24",
        "sicbl24",
        "lrf24",
        "pcon24",
        "wd25",
    ]
    assert plan.reading.lookups == plan.reading.partners == plan.checks == ()
    # Inputs in the order `build --geography all` reports them resolving.
    assert plan.inputs == (
        "file7",
        "lookup",
        "names",
        "boundaries",
        "lsoa_boundaries",
        "geographies",
    )
    assert plan.table_inputs == ("file7", "lookup", "geographies")
    crosswalks = {d.key: d.crosswalk for d in plan.datasets}
    assert set(crosswalks.values()) == {""}  # the table is not mapped through a crosswalk


def test_an_ons_lookup_given_locally_wins_over_the_table_for_its_geographies():
    plan = _plan({"geographies", "lsoa_icb"}, "icb24", "sicbl24", "rgn24")
    assert _members(plan) == {"icb24": "lsoa_icb", "sicbl24": "lsoa_icb", "rgn24": "geographies"}
    assert [g.key for g in plan.reading.from_table] == ["rgn24"]
    assert plan.reading.lookups == ("lsoa_icb",)
    assert plan.datasets[0].inputs == ("file7", "lsoa_icb", "lsoa_boundaries")
    assert plan.datasets[2].inputs == ("file7", "geographies", "lsoa_boundaries")
    assert plan.inputs == ("file7", "lsoa_icb", "lsoa_boundaries", "geographies")


def test_a_geography_built_alone_is_checked_against_the_tables_partners():
    # Upper-tier authorities lie within regions and LRFs: the local table's columns of
    # those are read only to check that.
    plan = _plan({"geographies"}, "utla24")
    assert [g.key for g in plan.reading.partners] == ["rgn24", "lrf24"]
    assert plan.reading.nesting == ("utla24",)
    assert plan.checks == ("geographies",)
    assert plan.inputs == ("file7", "geographies", "lsoa_boundaries")
    # Regions built too: LRFs and constituencies, which lie within regions, are partners.
    plan = _plan({"geographies"}, "utla24", "rgn24")
    assert [g.key for g in plan.reading.partners] == ["lrf24", "pcon24"]
    # Sub-ICB locations lie within ICBs, the other way round.
    assert [g.key for g in _plan({"geographies"}, "icb24").reading.partners] == ["sicbl24"]


def test_a_partner_given_by_a_local_lookup_is_assembled_and_checked_with_it():
    plan = _plan({"geographies", "lad_rgn"}, "utla24")
    assert _members(plan) == {"utla24": "geographies"}
    assert plan.checks == ("lad_rgn", "geographies")
    assert [g.key for g in plan.reading.partners] == ["lrf24"]  # rgn24 comes assembled
    assert plan.reading.lookups == ("lad_rgn",)
    assert plan.inputs == ("file7", "geographies", "lsoa_boundaries", "lad_rgn")
    # The check's input is read, not owned: fingerprint and provenance leave it out.
    assert plan.datasets[0].inputs == ("file7", "geographies", "lsoa_boundaries")


def test_a_partner_not_given_locally_is_neither_fetched_nor_checked():
    plan = _plan((), "utla24")
    assert plan.checks == () and plan.reading.partners == ()
    assert plan.inputs == ("file7", "lad_utla", "lsoa_boundaries")
    plan = _plan({"lad_rgn"}, "utla24")  # a lookup given locally, no table
    assert plan.checks == ("lad_rgn",)
    assert plan.reading.lookups == ("lad_utla", "lad_rgn") and plan.reading.partners == ()


def test_a_partner_without_an_ons_lookup_needs_the_local_table(monkeypatch):
    bare = dataclasses.replace(GEOGRAPHIES["rgn24"], ons_lookup="")
    assert members_input(bare, ()) == "geographies"
    monkeypatch.setitem(GEOGRAPHIES, "rgn24", bare)
    assert _plan((), "utla24").checks == ()
    assert [g.key for g in _plan({"geographies"}, "utla24").reading.partners] == [
        "rgn24",
        "lrf24",
    ]


def test_lrfs_go_through_the_crosswalk_only_from_the_ons_lookup():
    assert _plan((), "lrf24").datasets[0].crosswalk == "pfa_lrf"
    assert _plan({"geographies"}, "lrf24").datasets[0].crosswalk == ""


def test_one_geography_goes_to_the_folder_given_several_to_sub_folders(tmp_path):
    assert [d.folder for d in _plan((), "lad24", out_dir=tmp_path).datasets] == [tmp_path]
    plan = _plan((), "lad24", "icb24", out_dir=str(tmp_path))
    assert [d.folder for d in plan.datasets] == [tmp_path / "iod25_lad24", tmp_path / "iod25_icb24"]
    default = make_plan((), select(["lad24"]), packages=Path("/p")).datasets[0].folder
    assert default == Path("/p/iod25_lad24")


def test_several_geographies_go_to_their_own_folders_under_out(tmp_path):
    chosen = select(["lad24", "icb24"])
    assert folders(chosen, tmp_path) == [tmp_path / "iod25_lad24", tmp_path / "iod25_icb24"]
    assert folders(chosen[:1], tmp_path) == [tmp_path]
    with pytest.raises(ConfigError, match="output folder must not be empty"):
        folders(chosen, " ")
    assert folders(chosen, None)[1].parts[-3:] == ("data", "packages", "iod25_icb24")


def test_narrowed_to_the_datasets_not_current_keeps_folders_and_order(tmp_path):
    plan = make_plan({"geographies", "lad_rgn"}, select(["msoa21", "lad24", "utla24"]), tmp_path)
    todo = plan.narrowed(["utla24"])
    assert [d.key for d in todo.datasets] == ["utla24"]
    assert todo.datasets[0].folder == tmp_path / "iod25_utla24"  # still a sub-folder
    assert todo.inputs == ("file7", "lsoa_boundaries", "geographies", "lad_rgn")
    assert todo.checks == plan.checks == ("lad_rgn", "geographies")
    assert todo.reading == plan.reading
    lads = plan.narrowed(["lad24"])
    assert lads.inputs == ("file7", "lsoa_boundaries") and lads.reading.from_table == ()
    assert lads.checks == () and lads.reading.lookups == ()
    assert plan.narrowed([]).inputs == ()


def test_validation_reads_file7_the_members_and_the_summary():
    plan = make_plan(DEVELOPMENT, select(["all"], among=["lad24", "utla24", "icb24", "lrf24"]))
    assert {d.key: d.validation for d in plan.datasets} == {
        "lad24": ("file7", "lad_summaries"),
        "utla24": ("file7", "geographies", "utla_summaries"),
        "icb24": ("file7", "geographies", "icb_summaries"),
        "lrf24": ("file7", "geographies", "lrf_summaries"),
    }
    # In the order `validate --geography all` reports them resolving.
    assert plan.validation_inputs == (
        "file7",
        "lad_summaries",
        "geographies",
        "utla_summaries",
        "icb_summaries",
        "lrf_summaries",
    )
    assert _plan((), "msoa21").datasets[0].validation == ()
    assert _plan({"geographies", "lad_rgn"}, "utla24").validation_inputs == (
        "file7",
        "geographies",
        "utla_summaries",
        "lad_rgn",
    )


def test_the_plan_is_frozen_and_of_one_edition():
    plan = _plan((), "lad24")
    assert plan.edition == EDITION == 2025
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.datasets[0].members = "geographies"  # type: ignore[misc]
    with pytest.raises(
        ConfigError, match="edition 2010 is not built by this version: choose 2019, 2025"
    ):
        make_plan((), [GEOGRAPHIES["lad24"]], edition=2010)
    with pytest.raises(ConfigError, match="lad24: not a geography of the 2019 edition"):
        make_plan((), [GEOGRAPHIES["lad24"]], edition=2019)


def test_no_geography_plans_nothing():
    plan = make_plan({"geographies"}, [])
    assert plan.datasets == plan.inputs == plan.table_inputs == plan.checks == ()


def test_geographies_are_chosen_by_name_or_object_once_each():
    assert [g.key for g in chosen("lad24")] == ["lad24"]
    assert [g.key for g in chosen(["icb24", GEOGRAPHIES["lad24"], "icb24"])] == ["icb24", "lad24"]
    assert [g.key for g in chosen("all")] == list(GEOGRAPHIES)
    with pytest.raises(ConfigError, match="unknown geography 'msoa11'"):
        chosen("msoa11")
    with pytest.raises(ConfigError, match=r"a geography is a name .* not 3"):
        chosen([3])
    with pytest.raises(ConfigError, match="no geography given"):
        chosen([])


def test_the_2019_edition_plans_its_own_geographies_and_inputs():
    plan = make_plan((), chosen("all", 2019), edition=2019)
    assert plan.edition == 2019
    assert [(d.key, d.members, d.folder.name) for d in plan.datasets] == [
        ("lad19", "file7_2019", "iod19_lad19"),
        ("msoa11", "lsoa11_msoa11", "iod19_msoa11"),
        ("msoa21", "lsoa11_lsoa21", "iod19_msoa21"),
    ]
    # areas drawn from 2021 LSOAs read the crosswalk; MSOAs 2021 go through the 2021 lookup
    # and share a split 2011 LSOA by its 2021 LSOAs' populations in File 7 (2025)
    assert plan.datasets[0].inputs == ("file7_2019", "lsoa11_lsoa21", "lsoa_boundaries")
    assert plan.datasets[2].inputs == (
        "file7_2019",
        "lsoa11_lsoa21",
        "lookup",
        "file7",
        "names",
        "boundaries",
    )
    assert plan.datasets[2].also == ("lookup", "file7")
    assert plan.table_inputs == (
        "file7_2019",
        "lsoa11_lsoa21",
        "lsoa11_msoa11",
        "lookup",
        "file7",
    )
    assert plan.datasets[0].validation == ("file7_2019", "lsoa11_lsoa21", "lad_summaries_2019")
    # only the areas holding pieces of split LSOAs read the 2025 File 7
    assert "file7" not in make_plan((), chosen(["lad19", "msoa11"], 2019), edition=2019).inputs


def test_geography_names_are_the_editions():
    assert [g.key for g in chosen("msoa21", 2019)] == ["msoa21"]
    assert chosen("msoa21", 2019)[0].dataset == "iod19_msoa21" != GEOGRAPHIES["msoa21"].dataset
    with pytest.raises(ConfigError, match="unknown geography 'lad24': choose from lad19"):
        chosen("lad24", 2019)


# --- a user's own areas, and ranks within a parent ---------------------------------------


def test_own_areas_are_one_more_dataset_read_from_the_users_file(tmp_path):
    areas = own_areas("my_localities", layer=False)
    plan = make_plan(DEVELOPMENT | {"areas"}, [areas], tmp_path)
    (dataset,) = plan.datasets
    assert (dataset.members, dataset.folder) == ("areas", tmp_path)
    assert dataset.inputs == ("file7", "areas", "lsoa_boundaries")
    assert plan.reading == Reading() and plan.checks == ()
    assert (areas.code, areas.name, areas.dataset) == (
        "area_code",
        "area_name",
        "iod25_my_localities",
    )
    assert not areas.covers_england and GEOGRAPHIES["msoa21"].covers_england
    default = make_plan({"areas"}, [areas]).datasets[0].folder
    assert default == PACKAGES / "iod25_my_localities"


def test_own_polygons_also_read_the_lsoa_centroids():
    layer = own_areas("drawn", layer=True)
    (dataset,) = make_plan({"areas"}, [layer]).datasets
    assert dataset.inputs == ("file7", "areas", "lsoa_boundaries", "lsoa_centroids")
    assert layer.best_fit and not own_areas("drawn", layer=False).best_fit


def test_own_areas_beside_built_in_geographies(tmp_path):
    plan = make_plan(DEVELOPMENT | {"areas"}, [GEOGRAPHIES["lad24"], own_areas("x", layer=False)])
    assert [d.members for d in plan.datasets] == ["file7", "areas"]
    assert "areas" in plan.inputs and "lsoa_centroids" not in plan.inputs


@pytest.mark.parametrize("name", ["msoa", "msoa21", "lad24", "wd25"])
def test_own_areas_may_not_take_a_built_in_datasets_name(name):
    with pytest.raises(ConfigError, match=f"--areas-name '{name}' would name the built-in"):
        own_areas(name, layer=False)


@pytest.mark.parametrize("name", ["", "My Areas", "../up", "_x"])
def test_own_areas_names_are_safe_folder_names(name):
    with pytest.raises(ConfigError, match="lower-case letters, digits and _"):
        own_areas(name, layer=False)


def test_the_default_name_is_the_files_sanitised():
    assert area_name_from("/data/Bury Localities (2025).csv") == "bury_localities_2025"
    assert area_name_from("x/---.gpkg") == "areas"


def test_within_a_district_needs_nothing_more_than_file7():
    plan = make_plan(DEVELOPMENT, [GEOGRAPHIES["msoa21"]], within="lad24")
    assert plan.datasets[0].within == "lad24"
    assert plan.inputs == _plan(DEVELOPMENT, "msoa21").inputs
    assert plan.reading == _plan(DEVELOPMENT, "msoa21").reading


def test_within_another_parent_reads_its_columns_from_the_table_or_its_lookup():
    plan = make_plan(DEVELOPMENT, [GEOGRAPHIES["msoa21"]], within="icb24")
    assert "geographies" in plan.datasets[0].inputs
    assert plan.reading.from_table == (GEOGRAPHIES["icb24"],)
    assembled = make_plan({"file7", "areas"}, [own_areas("x", layer=False)], within="rgn24")
    assert assembled.datasets[0].inputs[-1] == members_input(GEOGRAPHIES["rgn24"], ())
    assert assembled.reading.lookups == ("lad_rgn",) and assembled.reading.from_table == ()


def test_within_names_a_parent_we_rank_within():
    with pytest.raises(ConfigError, match="--within 'msoa21': choose one of lad24, utla24"):
        make_plan(DEVELOPMENT, [GEOGRAPHIES["lad24"]], within="msoa21")


def test_narrowing_keeps_within():
    plan = make_plan(DEVELOPMENT, [GEOGRAPHIES["msoa21"], GEOGRAPHIES["lad24"]], within="utla24")
    assert plan.narrowed(["lad24"]).datasets[0].within == "utla24"

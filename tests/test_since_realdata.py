"""The change package and MHCLG's 82% from the development inputs of both editions."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from iod_msoa._build import Reporter, area_table, pieces_of, read_tables, resolve
from iod_msoa._change import APPORTIONED, EXACT
from iod_msoa._config import load_config
from iod_msoa._editions import CHANGE_BY_SCORE, CHANGE_METRICS
from iod_msoa._geographies import geographies_of
from iod_msoa._plan import EARLIER, make_plan
from iod_msoa._ranking import rank_most_deprived_first
from iod_msoa._since import build_change, earlier_proof, lsoas_still_most_deprived
from iod_msoa._since_site import differences, outlier_facts, weight_groups
from iod_msoa.cli import main

from .realdata import FILES_2019, INPUTS, needs_inputs, write_config

FILE10_2019 = "File_10_IoD2019_Local_Authority_District_Summaries_lower-tier.xlsx"
pytestmark = [
    pytest.mark.realdata,
    needs_inputs,
    pytest.mark.skipif(
        not all((INPUTS / f).is_file() for f in FILES_2019.values()),
        reason="IoD2019 development inputs not found",
    ),
]


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return load_config(write_config(tmp_path_factory.mktemp("config")))


@pytest.fixture(scope="module")
def built(config, tmp_path_factory):
    return build_change(config, tmp_path_factory.mktemp("change") / "out", progress=False)


def test_the_change_table_has_every_msoa_and_its_flag(built):
    table = built.table
    assert len(table) == 6856 and table["msoa21cd"].is_unique
    assert table["comparability"].value_counts().to_dict() == {EXACT: 6798, APPORTIONED: 58}
    both = (table["imd_decile_19"] == 1) & (table["imd_decile_25"] == 1)
    assert (int(both.sum()), int((table["imd_decile_25"] == 1).sum())) == (593, 685)
    assert not any(c.endswith("_score") for c in table.columns)  # positions, not scores
    assert (table["imd_rank_change"] == table["imd_rank_25"] - table["imd_rank_19"]).all()


def test_the_change_package_is_described_like_every_other(built):
    folder = built.out_dir
    package = json.loads((folder / "datapackage.json").read_text())
    assert package["name"] == "iod25-msoa-change"
    (csv,) = [r for r in package["resources"] if r["path"] == "iod25_msoa_change.csv"]
    assert csv["rows"] == 6856
    assert pd.read_csv(folder / "iod25_msoa_change.csv").shape == (6856, len(built.table.columns))
    provenance = json.loads(built.paths["provenance"].read_text())
    assert "IoD2019" in provenance["official_urls"]["file7_2019"]
    assert {"file7", "file7_2019", "lsoa11_lsoa21"} <= set(provenance["inputs"])
    dictionary = (folder / "iod25_msoa_change_dictionary.md").read_text()
    assert "compare relative positions (ranks and deciles), not scores" in dictionary


def test_a_current_change_package_is_not_rebuilt(built, config):
    again = build_change(config, built.out_dir, progress=False)
    assert again.skipped and again.table.equals(built.table)


def test_mhclg_82_percent_is_reproduced_through_the_package(config):
    kept = lsoas_still_most_deprived(config)
    assert (kept.kept, kept.of) == (2766, 3375)
    assert kept.agrees and f"{kept.percent:.2f}" == "81.96"


def test_cli_change_reports_the_flags_and_the_82_percent(built, config, capsys):
    assert main(["change", "--config", str(config.source), "--out", str(built.out_dir)]) == 0
    out = capsys.readouterr().out
    assert (
        "Already current: 6,856 MSOAs in IoD2019 and IoD2025 (6,798 exact, 58 apportioned)" in out
    )
    assert "2,766 of 3,375 (81.96%; MHCLG: 82%)" in out


def test_the_change_table_s_2019_positions_are_those_of_iod19_msoa21(built, config):
    """One rule for a split 2011 LSOA: the change table's 2019 side is the 2019 build's."""
    g = geographies_of(EARLIER)["msoa21"]
    plan = make_plan(config.inputs, [g], edition=EARLIER)
    reporter = Reporter(False)
    resolved = resolve(config, plan.table_inputs, progress=False, reporter=reporter)
    inputs = read_tables(resolved, reporter, plan.reading, plan.edition)
    iod19 = area_table(g, *pieces_of(g, inputs)).set_index("msoa21cd")
    change = built.table.set_index("msoa21cd")
    assert change["comparability"].equals(iod19["comparability"].reindex(change.index))
    for short in CHANGE_METRICS:
        rank = (
            iod19[f"{short}_rank"]
            if short in CHANGE_BY_SCORE
            else pd.Series(rank_most_deprived_first(iod19[f"{short}_average_rank"]), iod19.index)
        )
        assert (change[f"{short}_rank_19"] == rank.reindex(change.index)).all(), short


@pytest.fixture(scope="module")
def proof(tmp_path_factory):
    folder = tmp_path_factory.mktemp("proof")
    file10 = (
        INPUTS / "../iod2019/File_10_IoD2019_Local_Authority_District_Summaries_lower-tier.xlsx"
    )
    config = load_config(write_config(folder, lad_summaries_2019=file10))
    return earlier_proof(config, folder / "out")


def test_every_file10_2019_difference_has_its_reason(proof):
    assert proof.path.is_file()
    reasons = differences(proof)["reason"].value_counts().to_dict()
    assert reasons == {
        "placeholder": 2204,
        "estimate": 633,
        "weights": 503,
        "decimals": 35,
        "outlier": 1,
    }
    total = weight_groups(proof).loc["Total population, mid-2015 (excluding prisoners)"]
    assert (total["average ranks"], total["districts differing"], total["on all of them"]) == (
        7,
        55,
        26,
    )
    assert weight_groups(proof)["most people needed"].max() < 6  # Oldham's IDAOPI, 5.4


def test_rushmoor_idaopi_is_file10s_own_figure_on_other_older_populations(proof):
    facts = outlier_facts(proof)
    (column,) = facts.columns
    assert column == "Rushmoor (E07000092), idaopi_average_rank"
    fact = facts[column]
    assert fact["File 10's figure; ours"] == "17,108.87; 16,985.83"
    assert fact["File 10's own rank of its figure"] == "82"
    assert fact["the rank File 10's figure takes among File 10's"] == "82"
    assert fact["the rank our figure would take"] == "85"
    assert fact["of them with a tied rank"] == "0"
    assert fact["the district's other compared measures matching File 10"] == "24 of 24"
    assert (
        fact["one LSOA's population that would give File 10's figure"]
        == "E01023097 (Rushmoor 004B): 273 instead of 401"
    )
    assert fact["or the most deprived decile's populations times"] == "1.0545 (+148 people)"

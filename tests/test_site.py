"""The Quarto site: its configuration, its links, its helpers, and every page's Python as
Quarto's render ran it (``rendered`` in conftest.py, the browser tests' render).

The render runs each page in a fresh Jupyter kernel, in a copy of the site (so the pages'
build writes there), in the page's own folder, with ``$IOD_MSOA_CONFIG`` naming the
development inputs and ``$IOD_MSOA_OFFLINE`` set so no map waits for tiles, and keeps each
page's executed notebook: the page tests read what every cell put out. Without Quarto they
skip; tests/test_copied_cells.py runs every cell (``eval: false`` ones too) without it.
"""

from __future__ import annotations

import base64
import html
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pyogrio
import pytest
import yaml
from packaging.requirements import Requirement

import iod_msoa
from iod_msoa import _figures, _mapdata, _report, _site
from iod_msoa._folder import DATASET, FILES, VALIDATION_FILE, Provenance
from iod_msoa._vocab import DENOMINATORS, METRIC_BY_SHORT, METRICS

from .provenance import input_record, make_provenance
from .realdata import FILES as INPUT_FILES
from .realdata import INPUTS, needs_inputs

ROOT = Path(__file__).resolve().parents[1]
QUARTO = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
PAGES = ["index.qmd", *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("notebooks/*.qmd"))]
OUTPUT_PREFIX = f"data/packages/{DATASET}/"
N_MSOAS = 6856

CELL = re.compile(
    r"^(?P<fence>`{3,})\{python\}[^\n]*\n(?P<code>.*?)^(?P=fence)[ \t]*$", re.M | re.S
)
INLINE = re.compile(r"`\{python\}\s+(?P<expr>[^`]+?)`")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
WORKED_EXAMPLE = re.compile(
    r"The weighted sum, (\S+), is the IMD score of (.+?) \(([^)]*)\) in the dataset, (\S+), "
    r"which ranks it (\S+) of (\S+) MSOAs: decile (\S+)\."
)


# Reading pages ---------------------------------------------------------------------------


def page_chunks(text: str) -> list[tuple[str, str]]:
    """A page's Python in document order: ("cell", code) and ("inline", expression)."""
    body = re.sub(r"\A---\n.*?\n---\n", "", text, count=1, flags=re.S)
    chunks, position = [], 0
    for cell in CELL.finditer(body):
        chunks += [("inline", m["expr"]) for m in INLINE.finditer(body, position, cell.start())]
        chunks.append(("cell", cell["code"]))
        position = cell.end()
    chunks += [("inline", m["expr"]) for m in INLINE.finditer(body, position)]
    return chunks


def markdown_text(text: str) -> str:
    """A page's Markdown without its code cells."""
    return CELL.sub("", text)


# The pages as Quarto's render ran them ----------------------------------------------------


@pytest.fixture(scope="session")
def site(rendered) -> Path:
    """The copy of the project Quarto rendered (``rendered`` in conftest.py): the pages ran
    there, in their own folders, so their build wrote there."""
    if not rendered.stages:
        pytest.skip(
            "$IOD_MSOA_SITE gives a rendered site: the page tests need a render's notebooks"
        )
    return rendered.site.parent


@pytest.fixture(scope="session")
def built(site, real_config):
    """The dataset where the pages (and Quarto's pre-render) put it, as after `scripts/build`:
    seeded from the session's build of every geography, so the pages found it current (the
    build itself is tested in test_build and test_geographies)."""
    config = iod_msoa.load_config(real_config)
    result = iod_msoa.build(config, site / OUTPUT_PREFIX, progress=False)
    assert result.skipped, "the pages' inputs are not the session's"
    return result


@pytest.fixture(scope="session")
def executed(site, rendered):
    """A page as the render ran it, every cell in order in a fresh Jupyter kernel: the
    notebook Quarto kept (``keep-ipynb``), and the render's seconds for the page."""
    cache: dict[str, nbformat.NotebookNode] = {}

    def read(page: str) -> tuple[nbformat.NotebookNode, float]:
        if page not in cache:
            kept = site / Path(page).with_suffix(".quarto_ipynb")
            cache[page] = nbformat.read(kept, as_version=4)
        return cache[page], rendered.stages[page]

    return read


def outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in notebook.cells for out in cell.get("outputs", [])]


def printed(notebook: nbformat.NotebookNode) -> str:
    """What the page's cells printed: Markdown for ``output: asis`` cells."""
    return "".join(o.get("text", "") for o in outputs(notebook) if o["output_type"] == "stream")


# Every page runs --------------------------------------------------------------------------


@pytest.mark.notebooks
@pytest.mark.realdata
@needs_inputs
@pytest.mark.parametrize("page", PAGES)
def test_page_runs_in_a_fresh_kernel(executed, page):
    notebook, seconds = executed(page)
    errors = [o for o in outputs(notebook) if o["output_type"] == "error"]
    assert not errors
    stderr = "".join(o.get("text", "") for o in outputs(notebook) if o.get("name") == "stderr")
    assert "Traceback" not in stderr
    cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    print(f"{page}: {cells} cells in {seconds:.1f} s of the render")


@pytest.mark.notebooks
@pytest.mark.realdata
@needs_inputs
@pytest.mark.parametrize("page", PAGES)
def test_no_output_makes_quarto_load_scripts_from_a_cdn(executed, page):
    """Quarto adds require.js and jQuery from a CDN to a page with any HTML or JS output."""
    notebook, _ = executed(page)
    kinds = {kind for o in outputs(notebook) for kind in o.get("data", {})}
    assert not kinds & {"text/html", "application/javascript"}


@pytest.mark.notebooks
@pytest.mark.realdata
@needs_inputs
@pytest.mark.parametrize("page", PAGES)
def test_every_page_warns_about_unverified_inputs(executed, built, page):
    notebook, _ = executed(page)
    assert built.provenance.unverified == ("file7",)  # the stand-in File 7
    text = printed(notebook)
    assert "::: {.callout-warning}" in text and "Built from unverified inputs" in text


@pytest.mark.notebooks
@pytest.mark.realdata
@needs_inputs
def test_inline_expressions_print_plain_values(rendered):
    """The worked example's sentence as the reader sees it: plain values (no quotes, no
    reprs), and the weighted sum is the dataset's score."""
    page = html.unescape(re.sub(r"<[^>]+>", "", (rendered.site / "index.html").read_text()))
    sentence = WORKED_EXAMPLE.search(" ".join(page.split()))
    assert sentence, "the worked example's sentence is not on the home page"
    weighted_sum, name, code, score, rank, n, decile = sentence.groups()
    assert int(rank.replace(",", "")) >= 1
    assert weighted_sum == score
    assert re.fullmatch(r"E02\d{6}", code) and name and not name.startswith("'")
    assert n == f"{N_MSOAS:,}" and decile in {str(d) for d in range(1, 11)}


# Downloads --------------------------------------------------------------------------------


def test_the_site_offers_every_output():
    assert set(_site.DOWNLOADS) == set(FILES) | {"validation"}


def test_validation_is_offered_only_once_written(tmp_path):
    paths = {key: tmp_path / name for key, name in FILES.items()}
    for path in paths.values():
        path.write_text("x")
    assert "validation" not in _site.downloads(paths, tmp_path).index
    (tmp_path / VALIDATION_FILE).write_text("x")
    offered = _site.downloads(paths | {"validation": tmp_path / VALIDATION_FILE}, tmp_path)
    assert offered.loc["validation", "file"] == VALIDATION_FILE


@pytest.mark.realdata
@needs_inputs
def test_build_writes_every_file_the_site_offers(built_all):
    """The session's build, the one the site's packages are copied from (``built``)."""
    built = built_all["msoa21"]
    for key in set(_site.DOWNLOADS) - _site.OPTIONAL_DOWNLOADS:
        assert built.paths[key].is_file(), key
    assert len(pd.read_csv(built.paths["csv"])) == N_MSOAS
    assert len(pd.read_parquet(built.paths["parquet"])) == N_MSOAS
    assert pyogrio.read_info(built.paths["gpkg"])["features"] == N_MSOAS


@pytest.mark.notebooks
@pytest.mark.realdata
@needs_inputs
def test_download_links_point_at_built_files(executed, site, built):
    notebook, _ = executed("index.qmd")
    box = printed(notebook)
    links = [m["target"] for m in LINK.finditer(box) if OUTPUT_PREFIX in m["target"]]
    offered = [*(Path(p).name for p in FILES.values()), VALIDATION_FILE]  # the pre-render validates
    assert sorted(Path(t).name for t in links) == sorted(offered)
    for target in links:
        assert (site / target).resolve() == (built.out_dir / Path(target).name).resolve()
        assert (site / target).is_file()
    assert re.search(r'\{download="[^"]+"\}', box)
    assert re.search(r"\| \d+(\.\d)? (MB|kB) \|", box)


@pytest.mark.parametrize("page", PAGES)
def test_links_in_the_pages_resolve(page):
    """Links written in the Markdown: pages, anchors and data files the build writes."""
    text = markdown_text((ROOT / page).read_text(encoding="utf-8"))
    folder = (ROOT / page).parent
    for match in LINK.finditer(text):
        target = match["target"]
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path, _, anchor = target.partition("#")
        resolved = (folder / path).resolve()
        if OUTPUT_PREFIX in resolved.relative_to(ROOT).as_posix():
            assert resolved.name in FILES.values(), target
            continue
        assert resolved.is_file(), f"{page}: {target}"
        if anchor:
            assert f"{{#{anchor}" in resolved.read_text(encoding="utf-8"), f"{page}: {target}"


# Page weight ------------------------------------------------------------------------------


def output_bytes(notebook: nbformat.NotebookNode) -> dict[str, int]:
    """Bytes the page's outputs add to its HTML: images (decoded) and HTML fragments."""
    sizes = {"images": 0, "html": 0, "text": 0}
    for out in outputs(notebook):
        data = out.get("data", {})
        if "image/png" in data:
            sizes["images"] += len(base64.b64decode(data["image/png"]))
        elif "text/markdown" in data:  # tables and the map, as raw HTML blocks (RawHtml)
            sizes["html"] += len(data["text/markdown"].encode())
        sizes["text"] += len(out.get("text", "").encode())
    return sizes


@pytest.mark.notebooks
@pytest.mark.realdata
@needs_inputs
def test_home_page_with_images_stays_under_2_mb(executed):
    notebook, _ = executed("index.qmd")
    sizes = output_bytes(notebook)
    print(f"index.qmd outputs: {sizes}")
    assert sum(sizes.values()) < 1.6e6  # leaves room for the text and Quarto's page frame


@pytest.mark.notebooks
@pytest.mark.realdata
@needs_inputs
def test_explore_page_stays_under_5_mb(executed):
    notebook, _ = executed("notebooks/explore.qmd")
    sizes = output_bytes(notebook)
    total = sum(sizes.values())  # Leaflet and the map's script are inlined in the outputs
    print(f"explore page: outputs {sizes}, total {total / 1e6:.2f} MB")
    assert total < 4.0e6  # Quarto's own scripts, styles and fonts (< 1 MB) come on top
    html = "".join(
        o["data"]["text/markdown"]
        for o in outputs(notebook)
        if "text/markdown" in o.get("data", {})
    )
    # the map's script and Leaflet inlined, not linked; the areas' data follows the first paint
    assert "IodMsoaMap.later(" in html and "Leaflet 1.9.4" in html
    assert not re.search(r"<script[^>]*\ssrc=|<link\b", html)  # nothing to fetch, no CDN
    assert "https://cdn" not in html and "unpkg.com/" not in html


@pytest.mark.notebooks
@pytest.mark.realdata
@needs_inputs
def test_areas_page_loads_a_geography_only_when_chosen(executed, site):
    notebook, _ = executed("notebooks/areas.qmd")
    html = "".join(
        o["data"]["text/markdown"]
        for o in outputs(notebook)
        if "text/markdown" in o.get("data", {})
    )
    assert "IodMsoaMap.areas" in html and "Leaflet 1.9.4" in html
    assert not re.search(r"<script[^>]*\ssrc=|<link\b", html)  # nothing fetched up front
    assert "https://cdn" not in html and "unpkg.com/" not in html
    scripts = {p.stem: p for p in (site / "notebooks" / "areas-data").glob("*.js")}
    assert set(scripts) == set(iod_msoa.GEOGRAPHIES)
    assert all(f'"src":"areas-data/{key}.js"' in html for key in scripts)
    for key, path in scripts.items():
        assert path.read_text(encoding="utf-8").startswith(f'IodMsoaMap.provide("{key}",')
    first = sum(output_bytes(notebook).values()) + scripts["lad24"].stat().st_size
    print(f"areas page: first view {first / 1e6:.2f} MB (outputs and the LAD map data)")
    assert first < 4.0e6  # Quarto's own scripts, styles and fonts (< 1 MB) come on top
    text = printed(notebook)
    assert "### Westminster parliamentary constituency (2024)" in text
    assert "population-weighted centroid" in text  # the best-fit note with its downloads


# _quarto.yml ------------------------------------------------------------------------------


def test_quarto_config_is_a_website_that_never_freezes_and_builds_first():
    """Frozen pages would show the numbers of an earlier build: freeze sees only the source."""
    project = QUARTO["project"]
    assert project["type"] == "website"
    assert QUARTO["execute"]["freeze"] is False
    pre_render = project["pre-render"]
    pre_render = [pre_render] if isinstance(pre_render, str) else pre_render
    assert any(cmd.split()[:2] == ["iod-msoa", "build"] for cmd in pre_render)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "iod-msoa" in scripts


def test_quarto_config_renders_every_page_and_only_pages():
    listed = sorted(
        {p.relative_to(ROOT).as_posix() for g in QUARTO["project"]["render"] for p in ROOT.glob(g)}
    )
    assert listed == sorted(PAGES)


def test_navbar_links_every_page():
    items = QUARTO["website"]["navbar"]["left"]
    assert [i["text"] for i in items] == [
        "Home",
        "Explore",
        "Your area",
        "Domains",
        "Since 2019",
        "Validation",
        "Local",
        "Downloads",
    ]
    for item in items:
        path, _, anchor = item["href"].partition("#")
        assert (ROOT / path).is_file(), item
        if anchor:
            assert f"{{#{anchor}" in (ROOT / path).read_text(encoding="utf-8")
    assert {i["href"].partition("#")[0] for i in items} == set(PAGES)


def test_outputs_are_site_resources():
    # Each from the project's folder (a leading /): without, Quarto looks in every folder.
    assert all(r.startswith("/") for r in QUARTO["project"]["resources"])
    resources = [r.removeprefix("/") for r in QUARTO["project"]["resources"]]
    assert sorted(r for r in resources if r.startswith(OUTPUT_PREFIX)) == sorted(
        OUTPUT_PREFIX + name for name in [*FILES.values(), VALIDATION_FILE]
    )
    assert not [r for r in resources if r.startswith(("assets/vendor", "assets/js"))]  # inlined


def test_html_format_folds_code_and_shows_source():
    html = QUARTO["format"]["html"]
    assert html["code-fold"] is True
    assert html["code-tools"]["source"] is True
    theme = html["theme"]
    scss = [t for t in theme if t.endswith(".scss")]
    assert scss and all((ROOT / t).is_file() for t in scss)
    assert "/*-- scss:defaults --*/" in (ROOT / scss[0]).read_text()


def test_pages_have_front_matter_and_banners():
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        front = yaml.safe_load(text.split("---\n")[1])
        assert front["title"] and front["description"], page
        assert "print(pages.unverified_banner(result.provenance))" in text, page
    index = yaml.safe_load((ROOT / "index.qmd").read_text(encoding="utf-8").split("---\n")[1])
    # keywords, not categories: categories make Quarto fetch listings.json, which only a
    # site with a listing page has (a 404 on every visit here).
    assert {"date", "keywords", "image"} <= set(index) and "categories" not in index
    assert (ROOT / index["image"]).is_file()


@pytest.mark.parametrize("page", PAGES)
def test_each_pages_first_cell_says_a_copy_needs_iod_msoa_config_offline(page):
    """The home page says the first cell of each page reads the inputs "and its title says
    so": a reader copying cells offline learns it where the cells are (issue 17)."""
    first = next(code for kind, code in page_chunks((ROOT / page).read_text()) if kind == "cell")
    summary = re.search(r'^#\| code-summary: "(?P<text>[^"]*)"', first, re.M)
    assert summary and "IOD_MSOA_CONFIG" in summary["text"], first


def test_cells_are_short():
    """Pages call the package; logic lives in _site.py, _figures.py and _mapdata.py."""
    for page in PAGES:
        for _kind, code in page_chunks((ROOT / page).read_text(encoding="utf-8")):
            lines = [ln for ln in code.splitlines() if ln.strip() and not ln.startswith("#|")]
            limit = 20 if "#| label: plain-pandas\n" in code else 12  # the method, whole
            assert len(lines) <= limit, f"{page}: a cell of {len(lines)} lines:\n{code}"


# environment.yml matches pyproject.toml ---------------------------------------------------


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_yml_matches_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        _normalise(r.name): str(r.specifier)
        for r in map(
            Requirement, [*pyproject["dependencies"], *pyproject["optional-dependencies"]["site"]]
        )
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip
    specs = {}
    for dep in conda:
        name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", dep).groups()
        specs[_normalise(name)] = str(Requirement(f"x{spec.replace(' ', '')}").specifier)
    assert specs.pop("python") == pyproject["requires-python"]
    assert "quarto" in specs and specs.pop("quarto")
    specs.pop("pip", None)
    assert specs == wanted


# Helpers, on small hand-made tables --------------------------------------------------------


def test_raw_html_is_a_markdown_block_fenced_past_its_backticks():
    html = _site.RawHtml("<p>```code``` and ````more````</p>")
    block = html._repr_markdown_()
    assert block == "`````{=html}\n<p>```code``` and ````more````</p>\n`````\n"
    assert not hasattr(html, "_repr_html_")


def test_tables_as_raw_html_replaces_html_output_of_data_frames():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        frame = pd.DataFrame({"a": [1, 2]})
        assert "text/html" in shell.display_formatter.format(frame)[0]
        _site.tables_as_raw_html()
        data, _ = shell.display_formatter.format(frame)
        assert "text/html" not in data
        assert data["text/markdown"].startswith("```{=html}\n<div>")
        assert "<table" in data["text/markdown"]
    finally:
        InteractiveShell.clear_instance()


def test_page_link_is_relative_to_the_page(tmp_path):
    target = tmp_path / "data" / "packages" / "x.csv"
    assert _site.page_link(target, tmp_path) == "data/packages/x.csv"
    assert _site.page_link(target, tmp_path / "notebooks") == "../data/packages/x.csv"


def provenance(unverified: list[str]) -> Provenance:
    inputs = {
        name: input_record(
            name,
            sha256="a" * 64,
            expected_sha256="b" * 64 if name == "file7" else None,
            status="unverified" if name in unverified else "unpinned",
            attribution="Source: MHCLG" if name == "file7" else "Source: ONS",
        )
        for name in ("file7", "lookup", "boundaries")
    }
    return make_provenance(unverified=tuple(unverified), inputs=inputs)


def test_banner_only_for_unverified_inputs():
    assert _site.unverified_banner(provenance([])) == ""
    banner = _site.unverified_banner(provenance(["file7"]))
    assert banner.startswith("::: {.callout-warning}\n") and banner.rstrip().endswith(":::")
    assert "Title of file7" in banner and "`file7.csv`" in banner and "bbbbbbbbbbbb" in banner
    assert "lookup" not in banner


def test_source_note_flags_unverified_inputs():
    assert "unverified" not in _site.source_note(provenance([]))
    assert "unverified inputs: file7" in _site.source_note(provenance(["file7"]))


def test_downloads_markdown_links_each_file_with_its_size(tmp_path):
    out = tmp_path / "data" / "packages" / "ds"
    out.mkdir(parents=True)
    paths = {}
    for key, name in FILES.items():
        paths[key] = out / name
        paths[key].write_bytes(b"x" * 2048)
    text = _site.downloads_markdown(paths, tmp_path / "notebooks")
    rows = text.strip().splitlines()[2:]
    assert len(rows) == len(_site.DOWNLOADS) - len(_site.OPTIONAL_DOWNLOADS)
    assert rows[0] == (
        f"| [{FILES['csv']}](../data/packages/ds/{FILES['csv']})"
        f'{{download="{FILES["csv"]}"}} | {_site.DOWNLOADS["csv"]} | 2.0 kB |'
    )
    # the one name every package shares is saved under the package's (issue 17: collisions)
    datapackage = next(row for row in rows if row.startswith(f"| [{FILES['datapackage']}]"))
    assert f'{{download="ds_{FILES["datapackage"]}"}}' in datapackage


@pytest.fixture
def small():
    """Six LSOAs in two MSOAs and the MSOA table they make (as the build would)."""
    pops = {d.short: np.array([100, 300, 600, 200, 200, 400]) for d in DENOMINATORS}
    lsoa = pd.DataFrame(
        {
            "lsoa21cd": [f"E0100000{i}" for i in range(6)],
            "lsoa21nm": [f"L{i}" for i in range(6)],
            "lad24cd": "E06000001",
            **pops,
        }
    )
    lookup = pd.DataFrame(
        {"lsoa21cd": lsoa["lsoa21cd"], "msoa21cd": ["E02000001"] * 3 + ["E02000002"] * 3}
    )
    scores = np.array([10.0, 20.0, 40.0, 5.0, 15.0, 25.0])
    msoa = pd.DataFrame(
        {
            "msoa21cd": ["E02000001", "E02000002"],
            "msoa21hclnm": ["North", "South"],
            "lad24cd": "E06000001",
            "lad24nm": "Town",
            "n_lsoa": [3, 3],
        }
    )
    for d in DENOMINATORS:
        msoa[d.short] = [1000, 800]
    for m in METRICS:
        lsoa[f"{m.short}_score"] = scores
        lsoa[f"{m.short}_decile"] = [1, 1, 2, 5, 3, 2]
        msoa[f"{m.short}_score"] = [31.0, 17.5]  # 0.1*10 + 0.3*20 + 0.6*40; .25*5+.25*15+.5*25
        msoa[f"{m.short}_rank"] = pd.array([1, 2], dtype="Int64")
        msoa[f"{m.short}_decile"] = pd.array([5, 10], dtype="Int64")
        msoa[f"{m.short}_proportion_most_deprived_10"] = [2 / 3, 0.0]
    return lsoa, lookup, msoa


def test_worked_example_adds_up_to_the_msoa_score(small):
    lsoa, lookup, msoa = small
    example, score = _site.worked_example(lsoa, lookup, msoa, "E02000001")
    assert list(example["weight"]) == [0.1, 0.3, 0.6, 1.0]
    assert example["weight × score"].iloc[-1] == pytest.approx(score) == pytest.approx(31.0)
    assert example.index[-1] == "MSOA"


def test_sanity_checks_pass_and_fail(small):
    lsoa, _, msoa = small
    checks = _site.sanity_checks(msoa, lsoa)
    assert checks.loc["LSOAs aggregated (every row of File 7)", "ok"] == "✔"
    assert checks.loc["Ranks rise as scores fall (all measures)", "ok"] == "✔"
    assert checks.loc["MSOAs in England", "ok"].startswith("✘")  # two, not 6,856
    broken = msoa.assign(imd_rank=pd.array([2, 1], dtype="Int64"))
    assert (
        _site.sanity_checks(broken, lsoa).loc["Ranks rise as scores fall (all measures)", "ok"]
        != "✔"
    )
    short = msoa.assign(pop_total=[1000, 500])
    assert (
        _site.sanity_checks(short, lsoa).loc[f"Population conserved: {DENOMINATORS[0].label}", "ok"]
        != "✔"
    )


def test_measures_table_names_each_weight():
    table = _site.measures_table()
    assert list(table.index) == [m.short for m in METRICS]
    assert table.loc["idaci", "LSOAs weighted by"] == "Dependent children aged 0-15, mid-2022"


def test_decile_sizes_and_most_deprived(small):
    _, _, msoa = small
    sizes = _site.decile_sizes(msoa)
    assert sizes.shape == (len(METRICS), 2) and sizes.to_numpy().sum() == 2 * len(METRICS)
    assert _site.most_deprived_msoa(msoa, "E06000001")["msoa21cd"] == "E02000001"


def test_local_tables(small):
    lsoa, lookup, msoa = small
    table = _site.local_table(msoa, "E06000001")
    assert list(table.index) == [1, 2] and list(table["MSOA"]) == ["E02000001", "E02000002"]
    lsoas = _site.lad_lsoas(lsoa, lookup, "E06000001")
    spread = _site.within_msoa_spread(lsoas, msoa)
    assert (
        spread.loc["E02000001", "range"] == 30.0
        and spread.loc["E02000001", "LSOA deciles"] == "1 to 2"
    )


def test_validation_helpers():
    comparison = pd.DataFrame(
        {
            "geography": ["lad24"] * 6,
            "area_code": ["A", "B", "A", "B", "A", "B"],
            "area_name": ["Ayton", "Beeton"] * 3,
            "measure": ["imd_average_score"] * 2
            + ["imd_proportion_most_deprived_10"] * 2
            + ["income_scale"] * 2,
            "ours": [1.0, 2.2, 0.1, 0.2, 100.0, 205.0],
            "published": [1.0, 2.0, 0.1, 0.2, 101.0, 200.0],
            "note": ["", "", "", "", "estimate", "estimate"],
        }
    )
    comparison["diff"] = comparison["ours"] - comparison["published"]
    comparison["matches_published_rounding"] = comparison["diff"].abs() < 0.01
    assert list(_report.exact_areas(comparison)) == ["A"]
    assert list(_report.exact_areas(comparison, "icb24")) == []
    summary = pd.DataFrame(
        {
            "measure": ["imd_average_score", "imd_proportion_most_deprived_10", "income_scale"],
            "n_areas": [2, 2, 2],
            "n_matching": [1, 2, 0],
            "max_abs_diff": [0.2, 0.0, 5.0],
            "note": ["", "", "estimate"],
        }
    )
    overview = _site.validation_overview(summary)
    assert overview.loc["imd_average_score", "LADs matching MHCLG"] == "1 of 2"

    class Result:
        table, file7_status = comparison, "unverified"

    Result.summary = summary
    note = _site.validation_note(Result, _site.exact_areas(comparison))
    assert "**1 of 2**" in note and "Ayton" in note and "`imd_proportion_most_deprived_10`" in note
    assert "`income_scale`" in note and "stand-in" in note
    assert "stand-in" in note.split("\n\n")[0]  # the reason beside the number
    top = _site.largest_differences(comparison, "imd_average_score", n=1)
    assert list(top.index) == ["B"]


def test_the_geographies_table_scrolls_by_itself_on_a_phone():
    class Result:
        geography, table = iod_msoa.GEOGRAPHIES["icb24"], pd.DataFrame({"icb24cd": ["E54000008"]})

    lines = _site.geographies_table([Result]).splitlines()
    assert lines[0] == "::: {.table-responsive}" and lines[-1] == ":::"
    assert lines[2].startswith("| Areas |") and "| File 13 |" in lines[4]


def test_compared_measures_say_what_each_file_gave():
    geographies = [iod_msoa.GEOGRAPHIES["utla24"], iod_msoa.GEOGRAPHIES["lad24"]]
    measures = {
        "utla24": ["imd_average_score", "idaci_average_score", "idaopi_average_score"],
        "lad24": ["imd_average_score", "imd_average_rank", "income_scale", "employment_scale"],
    }
    table = pd.DataFrame(
        [(g, m) for g, ms in measures.items() for m in ms * 2], columns=["geography", "measure"]
    )

    class Result:
        pass

    Result.table, Result.geographies = table, geographies
    lines = _site.compared_measures(Result).splitlines()
    assert lines == [
        "- File 11 (v2), 3 measures: `average_score` of imd, idaci and idaopi.",
        "- File 10 (v2), 4 measures: `average_score` and `average_rank` of imd; "
        "`scale` of income and employment.",
    ]


def test_map_assets_come_from_the_package_wherever_the_code_runs(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert len(_figures.read_palette()) == 10
    assert _mapdata.asset("palette", "deciles.json").is_file()
    assert Path(str(_mapdata.asset())).is_relative_to(Path(iod_msoa.__file__).parent)


# The plain-pandas cell of the article ----------------------------------------------------


def labelled_cell(page: str, label: str) -> str:
    cells = [code for kind, code in page_chunks((ROOT / page).read_text()) if kind == "cell"]
    (code,) = [c for c in cells if f"#| label: {label}\n" in c]
    return code


def test_plain_pandas_cell_is_short_and_needs_nothing_of_ours():
    code = labelled_cell("index.qmd", "plain-pandas")
    lines = [line for line in code.splitlines() if line.strip() and not line.startswith("#|")]
    assert len(lines) <= 20
    assert not re.search(r"iod_msoa|pages\.|maps\.|inputs|msoa\b|result", code)


@pytest.mark.realdata
@needs_inputs
def test_plain_pandas_cell_runs_without_the_package(tmp_path):
    code = labelled_cell("index.qmd", "plain-pandas")
    script = tmp_path / "plain.py"
    script.write_text(
        "import sys\nsys.modules['iod_msoa'] = None  # as if the package were not installed\n"
        f"FILE7 = {str(INPUTS / INPUT_FILES['file7'])!r}\n"
        f"LOOKUP = {str(INPUTS / INPUT_FILES['lookup'])!r}\n"
        + code
        + "\nprint(plain.shape, int(ranks.min().min()), int(deciles.max().max()))\n"
    )
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["(6856,", "16)", "1", "10"]


@pytest.fixture
def plain_result(small):
    """A plain-pandas result equal to the ``small`` table: columns named by File 7 headers."""
    table = small[2]
    index = pd.Index(table["msoa21cd"], name="msoa21cd")
    pick = {
        part: pd.DataFrame(
            {m.score: table[f"{m.short}_{part}"].astype(float).to_numpy() for m in METRICS},
            index=index,
        )
        for part in ("score", "rank", "decile")
    }
    return table, pick["score"], pick["rank"], pick["decile"]


def test_plain_pandas_check_passes_for_the_same_numbers(plain_result):
    check = _site.plain_pandas_check(*plain_result)
    assert list(check.index) == [m.short for m in METRICS]
    assert check["same ranks"].all() and check["same deciles"].all()


@pytest.mark.parametrize("part", ["score", "rank", "decile"])
def test_plain_pandas_check_names_the_measure_that_differs(plain_result, part):
    table, scores, ranks, deciles = (p.copy() for p in plain_result)
    changed = {"score": scores, "rank": ranks, "decile": deciles}[part]
    changed.iloc[0, METRICS.index(METRIC_BY_SHORT["crime"])] += 1
    with pytest.raises(AssertionError, match="differs from the package: crime;"):
        _site.plain_pandas_check(table, scores, ranks, deciles)


def test_plain_pandas_check_refuses_extra_columns(plain_result):
    table, scores, ranks, deciles = plain_result
    with pytest.raises(AssertionError, match="extra score columns: \\['Another Score'\\]"):
        _site.plain_pandas_check(table, scores.assign(**{"Another Score": 1.0}), ranks, deciles)


def test_the_github_workflow_runs_what_ci_runs():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text())
    steps = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert "bash .ci/run" in steps
    assert not [s for s in steps if "pytest" in s]  # no second, narrower test command
    render = next(s for s in steps if "quarto render" in s)
    assert ".venv/bin/python" in render


def test_msoa_grouping_puts_each_lsoa_in_its_msoas_group():
    lookup = pd.DataFrame(
        {"lsoa21cd": ["L1", "L1", "L2", "L3", "L4"], "msoa21cd": ["M1", "M1", "M1", "M2", "M3"]}
    )
    msoas = pd.DataFrame({"msoa21cd": ["M1", "M2", "M3"], "msoa21hclnm": ["Up", "Down", "Out"]})
    grouping = _site.msoa_grouping(lookup, msoas, {"North Side": ("Up",), "South": ("Down",)}, "B-")
    assert grouping.to_dict("list") == {
        "lsoa21cd": ["L1", "L2", "L3"],
        "area_code": ["B-NORTH-SIDE", "B-NORTH-SIDE", "B-SOUTH"],
        "area_name": ["North Side", "North Side", "South"],
    }
    assert sorted(n for names in _site.BURY_TOWNSHIPS.values() for n in names) == sorted(
        set(n for names in _site.BURY_TOWNSHIPS.values() for n in names)
    )


def test_own_areas_table_is_most_deprived_first():
    table = pd.DataFrame(
        {
            "area_code": ["A", "B"],
            "area_name": ["Alpha", "Beta"],
            "n_lsoa": [3, 4],
            "pop_total": [1500, 2500],
            "imd_score": [10.0, 30.0],
            "imd_rank": [2, 1],
            "imd_proportion_most_deprived_10": [0.0, 0.25],
        }
    )
    shown = _site.own_areas_table(table)
    assert list(shown.index) == ["Beta", "Alpha"]
    assert shown.loc["Beta", "people"] == "2,500" and shown.loc["Beta", "rank of 2"] == 1
    assert shown.loc["Beta", "LSOAs in England's most deprived 10%"] == "25%"


def test_the_test_scheduler_names_modules_that_exist():
    """A module renamed away from conftest's lists would lose its place without a word."""
    from . import conftest

    for module in (*conftest.RENDER_READERS, *conftest.LONGEST_FIRST):
        assert (ROOT / module).is_file(), module

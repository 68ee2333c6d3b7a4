"""The rendered site in a real browser: Quarto renders it once per session, a loopback server
serves ``_site/``, and Debian's Chromium (under Selenium) opens every page.

Every page: no request to any host but the site (basemap tiles apart), no console error
(tiles that fail offline apart), no serious or critical axe-core violation, and a full-page
screenshot in ``tests/browser/screenshots/``. The explore page's map, legend, tooltips and
table are driven with the mouse and with the keyboard alone, and every download link is
fetched.

These tests skip when Quarto, Chromium or axe-core is missing (the message says how to get
it). ``.ci/run`` installs Chromium and axe-core and sets ``IOD_MSOA_SITE_TESTS=required``, so
that their absence fails instead; without Quarto (not on PATH, no ../shared/tools/quarto) the
tests still skip. ``IOD_MSOA_SITE=<folder>`` reuses an already rendered
``_site/`` (it must have been rendered from the development inputs).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from iod_msoa import _maps
from iod_msoa._site import human_size

from . import sitetools
from .realdata import needs_inputs, write_config

pytestmark = [pytest.mark.site, pytest.mark.realdata, needs_inputs]

ROOT = sitetools.ROOT
PAGES = sitetools.pages()
EXPLORE = "notebooks/explore.html"
N_MSOAS = 6856
TILE_HOSTS = {urlsplit(_maps.tile_provider().build_url()).hostname}
REQUIRED = os.environ.get("IOD_MSOA_SITE_TESTS") == "required"


def unavailable(reason: str):
    """Skip (or, in CI, fail) when a tool is missing."""
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


# Render, serve, browse: once per session ----------------------------------------------------


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> sitetools.Render:
    """The whole site rendered by Quarto from a copy of the sources and the development inputs."""
    if os.environ.get("IOD_MSOA_SITE"):
        return sitetools.Render(Path(os.environ["IOD_MSOA_SITE"]).resolve(), 0.0, "")
    try:
        quarto = sitetools.find_quarto()
    except sitetools.Missing as missing:
        pytest.skip(str(missing))
    folder = tmp_path_factory.mktemp("render")
    if "IOD_MSOA_INPUTS" in os.environ:
        config = write_config(folder)
    else:
        config = ROOT / "config" / "shared-inputs.toml"
    return sitetools.render(sitetools.copy_project(folder / "site"), config, quarto)


@pytest.fixture(scope="session")
def base_url(rendered):
    with sitetools.serve(rendered.site) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    try:
        with sitetools.chromium() as driver:
            yield driver
    except sitetools.Missing as missing:
        unavailable(str(missing))


@dataclass
class PageReport:
    visit: sitetools.Visit
    violations: list[dict]
    screenshot: Path
    maps: list[dict]  # per Leaflet map: polygons drawn
    alts: list[str]  # alt text of the figures' images


MAPS_DRAWN = """
return (window.__leafletMaps || []).map(function (map) {
  var n = 0;
  map.eachLayer(function (layer) { if (layer instanceof L.Polygon) n++; });
  return {polygons: n};
});
"""


@pytest.fixture(scope="session")
def report(browser, base_url):
    """Open a page (once per session): its requests, console, axe result and screenshot."""
    cache: dict[str, PageReport] = {}

    def get(page: str) -> PageReport:
        if page not in cache:
            visit = sitetools.open_page(browser, urljoin(base_url, page))
            maps = browser.execute_script(MAPS_DRAWN)
            alts = browser.execute_script(
                "return Array.from(document.querySelectorAll('main figure img')).map(i => i.alt)"
            )
            shot = sitetools.screenshot(
                browser, sitetools.SCREENSHOTS / (page.replace("/", "-")[:-5] + ".png")
            )
            try:
                violations = sitetools.axe_violations(browser)
            except sitetools.Missing as missing:
                unavailable(str(missing))
            cache[page] = PageReport(visit, violations, shot, maps, alts)
        return cache[page]

    return get


# Every page --------------------------------------------------------------------------------


def test_every_page_is_rendered(rendered):
    html = {
        p.relative_to(rendered.site).as_posix()
        for p in rendered.site.rglob("*.html")
        if p.relative_to(rendered.site).parts[0] not in {"site_libs", "assets"}
    }
    assert html == set(PAGES)
    if rendered.stages:  # rendered here, not given by $IOD_MSOA_SITE
        assert set(rendered.stages) == {"pre-render", *(p[:-5] + ".qmd" for p in PAGES)}
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in rendered.stages.items())
    print(f"rendered {len(PAGES)} pages in {rendered.seconds:.1f} s ({stages})")


@pytest.mark.parametrize("page", PAGES)
def test_no_request_leaves_the_site(report, base_url, page):
    requests = report(page).visit.requests
    assert requests, "the browser log recorded no request"
    assert sitetools.foreign(requests, base_url, TILE_HOSTS) == []


@pytest.mark.parametrize("page", PAGES)
def test_no_console_errors(report, page):
    errors = [
        e["message"]
        for e in report(page).visit.console
        if e["level"] == "SEVERE" and not any(host in e["message"] for host in TILE_HOSTS)
    ]
    assert errors == []


@pytest.mark.parametrize("page", PAGES)
def test_no_serious_accessibility_violations(report, page):
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in report(page).violations
        if v["impact"] in {"serious", "critical"}
    ]
    assert serious == []


@pytest.mark.parametrize("page", PAGES)
def test_screenshot_written(report, page):
    shot = report(page).screenshot
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a page, not a blank


@pytest.mark.parametrize("page", PAGES)
def test_every_interactive_map_draws_areas(report, page):
    for drawn in report(page).maps:
        assert drawn["polygons"] > 0


@pytest.mark.parametrize("page", PAGES)
def test_images_have_meaningful_alt_text(report, page):
    alts = report(page).alts
    weak = [a for a in alts if len(a.split()) < 4 or re.search(r"\.png|image|figure", a, re.I)]
    assert weak == []


# Downloads ---------------------------------------------------------------------------------


def fetch(url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as response:
        return response.status, response.read()


@pytest.mark.parametrize("page", PAGES)
def test_every_download_link_returns_the_file(browser, base_url, rendered, page):
    """HTTP 200 and the bytes of the built file, as its data package and its row say."""
    sitetools.open_page(browser, urljoin(base_url, page))
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('main a[download]'))"
        ".map(a => [a.href, a.closest('tr') ? a.closest('tr').innerText : ''])"
    )
    if page == "index.html":
        assert len(links) >= 7  # the download box
    project = rendered.site.parent  # where the pre-render built the packages
    for href, row in links:
        path = urlsplit(href).path.lstrip("/")
        status, body = fetch(href)
        built = project / path
        package = json.loads((built.parent / "datapackage.json").read_text(encoding="utf-8"))
        described = {r["path"]: r.get("bytes") for r in package["resources"]}
        assert status == 200, path
        assert len(body) == built.stat().st_size, path
        assert described.get(built.name) in {None, len(body)}, path
        assert human_size(len(body)) in row, path


# The explore page ------------------------------------------------------------------------

PROBE = """
var map = window.__leafletMaps[0];
var data = JSON.parse(document.querySelector('script[type="application/json"][id$="-data"]')
  .textContent);
var polygons = [];
map.eachLayer(function (layer) { if (layer instanceof L.Polygon) polygons.push(layer); });
polygons.sort(function (a, b) { return L.stamp(a) - L.stamp(b); });  // creation order
function wrongColours(j) {
  return polygons.filter(function (p, i) {
    var d = data.decile[j][i];
    return p.options.fillColor !== (d ? data.palette[d - 1] : data.missing);
  }).length;
}
function openTooltips() {  // closed ones fade out before they leave the page
  return Array.from(map.getContainer().querySelectorAll(".leaflet-tooltip"))
    .filter(function (t) { return t.style.opacity !== "0"; })
    .map(function (t) { return t.innerText; });
}
"""


def probe(driver, expression: str):
    return driver.execute_script(PROBE + "return " + expression + ";")


@pytest.fixture
def explore(browser, base_url):
    if EXPLORE not in PAGES:
        pytest.skip("no explore page")
    sitetools.open_page(browser, urljoin(base_url, EXPLORE))
    return browser


def legend_title(driver) -> str:
    return driver.find_element("css selector", ".msoa-map-legend-title").text


def select_measure(driver):
    return driver.find_element("css selector", ".leaflet-control select")


def test_explore_map_draws_every_msoa(explore):
    n, polygons, codes = probe(explore, "[data.n, polygons.length, new Set(data.codes).size]")
    assert n == polygons == codes == N_MSOAS
    painted = explore.execute_script(
        "var c = document.querySelector('.leaflet-overlay-pane canvas');"
        "var px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;"
        "for (var i = 3; i < px.length; i += 4) if (px[i] > 0) n++;"
        "return n / (c.width * c.height);"
    )
    assert painted > 0.02  # the canvas is twice the map's size; England is narrow
    assert probe(explore, "wrongColours(0)") == 0


def test_switching_measure_recolours_and_retitles(explore):
    from selenium.webdriver.support.select import Select

    select = Select(select_measure(explore))
    first = select.first_selected_option.text
    assert first in legend_title(explore)
    select.select_by_index(3)
    label = select.first_selected_option.text
    assert label != first and label in legend_title(explore)
    assert probe(explore, "[wrongColours(3), wrongColours(0) > 0]") == [0, True]


def hover_point(driver, code: str) -> tuple[int, int]:
    """Offset from the map's centre of a point inside MSOA ``code``, after zooming to it."""
    return tuple(
        probe(
            driver,
            f"""(function () {{
          var p = polygons[data.codes.indexOf({json.dumps(code)})];
          map.getContainer().scrollIntoView({{block: "center", behavior: "instant"}});
          map.fitBounds(p.getBounds(), {{animate: false}});
          var size = map.getSize(), best = null, bestDistance = Infinity;
          for (var x = 0; x < size.x; x += 8) for (var y = 0; y < size.y; y += 8) {{
            var d = Math.hypot(x - size.x / 2, y - size.y / 2);
            var inside = p._containsPoint(map.containerPointToLayerPoint([x, y]));
            if (inside && d < bestDistance) {{ best = [x, y]; bestDistance = d; }}
          }}
          return [best[0] - Math.round(size.x / 2), best[1] - Math.round(size.y / 2)];
        }})()""",
        )
    )


def tooltip_fields(text: str) -> dict[str, str]:
    match = re.search(
        r"score ([\d.,-]+) · rank ([\d,]+) of ([\d,]+) · decile (\d+)", text.replace("\n", " ")
    )
    assert match, text
    return dict(zip(["score", "rank", "of", "decile"], match.groups(), strict=True))


def test_hover_and_tap_show_the_msoa(explore):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    code = probe(explore, "data.codes[data.names.indexOf('Northumberland Park')]")
    x, y = hover_point(explore, code)
    element = explore.find_element("css selector", ".msoa-map")
    hover = ActionChains(explore).move_to_element_with_offset(element, x, y).pause(0.1)
    hover.move_by_offset(1, 1).pause(0.3).perform()  # a pointer comes to rest on the area
    tips = probe(explore, "openTooltips()")
    assert len(tips) == 1
    assert tips[0].startswith("Northumberland Park")
    assert "Haringey" in tips[0] and code in tips[0]
    fields = tooltip_fields(tips[0])
    i = probe(explore, f"data.codes.indexOf('{code}')")
    assert int(fields["rank"].replace(",", "")) == probe(explore, f"data.rank[0][{i}]")
    assert int(fields["decile"]) == probe(explore, f"data.decile[0][{i}]")
    assert fields["of"] == f"{N_MSOAS:,}"

    left_margin = -element.size["width"] // 2 - 20
    ActionChains(explore).move_to_element_with_offset(element, left_margin, 0).pause(0.3).perform()
    assert probe(explore, "openTooltips()") == []
    # The tooltip a tap opens; the test's mouse, still in the page, may close it again.
    probe(
        explore,
        "void map.on('tooltipopen', function (e) {"
        " window.__opened = e.tooltip.getElement().innerText; })",
    )
    finger = PointerInput(interaction.POINTER_TOUCH, "finger")
    tap = ActionBuilder(explore, mouse=finger)
    tap.pointer_action.move_to(element, x, y).pointer_down().pause(0.05).pointer_up()
    tap.perform()
    time.sleep(0.3)
    assert explore.execute_script("return window.__opened") == tips[0]


def table_rows(driver) -> list[list[str]]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.msoa-table tbody tr'))"
        ".map(tr => Array.from(tr.cells).map(td => td.innerText))"
    )


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_table_search_sort_and_row_click(explore):
    head = [th.text for th in explore.find_elements("css selector", ".msoa-table thead th")]
    score, rank = head.index("Score"), head.index("Rank")
    first = table_rows(explore)
    assert [number(r[rank]) for r in first] == sorted(number(r[rank]) for r in first)
    assert number(first[0][rank]) == 1

    sort = explore.find_elements("css selector", ".msoa-table-sort")[score]
    sort.click()
    ascending = [number(r[score]) for r in table_rows(explore)]
    assert ascending == sorted(ascending)
    sort.click()
    descending = [number(r[score]) for r in table_rows(explore)]
    assert descending == sorted(descending, reverse=True) and descending[0] > ascending[-1]

    search = explore.find_element("css selector", ".msoa-table-tools input")
    search.send_keys("Northumberland Park")
    rows = table_rows(explore)
    assert [r[1] for r in rows] == ["Northumberland Park"]
    assert rows[0][2] == "Haringey"
    explore.find_element("css selector", ".msoa-table tbody tr").click()
    time.sleep(0.5)
    assert probe(explore, "openTooltips()")[0].startswith("Northumberland Park")
    shown = probe(
        explore,
        "map.getBounds().contains(polygons[data.codes.indexOf("
        f"{json.dumps(rows[0][0])})].getBounds()) && map.getZoom() >= 11",
    )
    assert shown


def tab_to(driver, css: str, limit: int = 200):
    """Press Tab until an element matching ``css`` has the focus; returns it."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.execute_script(f"return document.activeElement.matches({json.dumps(css)})"):
            return driver.switch_to.active_element
    raise AssertionError(f"Tab never reached {css}")


def test_controls_work_with_the_keyboard_alone(explore):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def keys(*k):
        ActionChains(explore).send_keys(*k).perform()

    explore.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    tab_to(explore, ".leaflet-control select")
    keys(Keys.ARROW_DOWN)
    label = probe(explore, "data.metrics[1].label")
    assert label in legend_title(explore)
    assert probe(explore, "wrongColours(1)") == 0

    tab_to(explore, ".msoa-map.leaflet-container")
    zoom = probe(explore, "map.getZoom()")
    keys("+")
    time.sleep(0.6)
    assert probe(explore, "map.getZoom()") > zoom

    tab_to(explore, ".msoa-table-tools input")
    keys("Northumberland Park")
    tab_to(explore, ".msoa-table-sort")
    keys(Keys.ENTER)
    assert explore.find_element("css selector", ".msoa-table thead th").get_attribute(
        "aria-sort"
    ) in {"ascending", "descending"}
    tab_to(explore, ".msoa-table tbody tr")
    keys(Keys.ENTER)
    time.sleep(0.5)
    assert probe(explore, "openTooltips()")[0].startswith("Northumberland Park")


# The areas page: a geography with fewer than 10 areas has no deciles ---------------------

AREAS = "notebooks/areas.html"
REGIONS = """
var map = window.__leafletMaps[window.__leafletMaps.length - 1];  // the map shown now
var polygons = [];
map.eachLayer(function (layer) { if (layer instanceof L.Polygon) polygons.push(layer); });
var legend = document.querySelector(".msoa-map-legend-title").parentNode;
return {
  polygons: polygons.length,
  fills: polygons.map(function (p) { return p.options.fillColor; }),
  swatches: Array.from(legend.querySelectorAll(".swatch")).map(function (s) {
    return getComputedStyle(s).backgroundColor;
  }),
  legend: legend.innerText,
  picker: document.querySelector(".leaflet-control label").textContent,
  headers: Array.from(document.querySelectorAll(".msoa-table thead th")).map(function (t) {
    return t.innerText;
  }),
  rows: Array.from(document.querySelectorAll(".msoa-table tbody tr")).map(function (r) {
    return r.innerText;
  }),
};
"""


def test_regions_have_no_deciles_and_are_coloured_by_rank(browser, base_url):
    """F5: nine regions have no deciles; the map says rank, never "undefined" or "NaN"."""
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    if AREAS not in PAGES:
        pytest.skip("no areas page")
    sitetools.open_page(browser, urljoin(base_url, AREAS))
    Select(browser.find_element("id", "areas-map-geography")).select_by_value("rgn24")
    WebDriverWait(browser, 30).until(lambda d: "rank among" in legend_title(d))
    sitetools.settle(browser)
    shown = browser.execute_script(REGIONS)
    title = "Index of Multiple Deprivation: rank among 9 regions, 1 = most deprived"
    assert legend_title(browser) == title
    assert shown["polygons"] == 9
    ranks = ["1 most deprived", *map(str, range(2, 9)), "9 least deprived"]
    assert shown["legend"].splitlines()[1:] == ranks
    # nine distinct colours, those of the legend's nine ranks
    hexes = set(shown["fills"])
    rgb = {"rgb({}, {}, {})".format(*(int(h[i : i + 2], 16) for i in (1, 3, 5))) for h in hexes}
    assert len(rgb) == 9 and rgb == set(shown["swatches"])
    assert shown["picker"] == "Show ranks of "
    assert "Decile" not in shown["headers"] and "Rank" in shown["headers"]
    assert [row.split("\t")[-1] for row in shown["rows"]] == [str(r) for r in range(1, 10)]
    browser.find_element("css selector", ".msoa-table tbody tr").click()
    time.sleep(0.5)
    tooltip = browser.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-tooltip'))"
        ".filter(t => t.style.opacity !== '0').map(t => t.innerText)"
    )
    assert len(tooltip) == 1 and re.search(r"rank 1 of 9$", tooltip[0]), tooltip
    texts = [shown["legend"], *shown["rows"], *tooltip]
    assert not [t for t in texts if re.search(r"undefined|NaN|decile|n/a", t)]
    errors = [
        e["message"]
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and not any(host in e["message"] for host in TILE_HOSTS)
    ]
    assert errors == []
    sitetools.screenshot(browser, sitetools.SCREENSHOTS / "notebooks-areas-regions.png")

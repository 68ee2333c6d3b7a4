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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from PIL import Image

from iod_msoa import __version__, _mapdata, maps
from iod_msoa._site import human_size

from . import sitetools
from .realdata import needs_inputs

pytestmark = [pytest.mark.site, pytest.mark.realdata, needs_inputs]

ROOT = sitetools.ROOT
PAGES = sitetools.pages()
EXPLORE = "notebooks/explore.html"
N_MSOAS = 6856
TILE_HOSTS = {_mapdata.tile_host()}
REQUIRED = os.environ.get("IOD_MSOA_SITE_TESTS") == "required"


def unavailable(reason: str):
    """Skip (or, in CI, fail) when a tool is missing."""
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


# Render, serve, browse: once per session ----------------------------------------------------


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


@contextmanager
def window(driver, width: int, height: int):
    """The pages seen in a window of this size (a phone's, say), then the usual one again."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


STICKING_OUT = """
var width = document.documentElement.clientWidth;
return Array.from(document.querySelectorAll("body *")).filter(function (e) {
  var parent = e.parentElement.getBoundingClientRect();
  return e.getBoundingClientRect().right > width + 0.5 && parent.right <= width + 0.5;
}).map(function (e) { return e.tagName + "." + e.className; }).slice(0, 5);
"""


@pytest.mark.parametrize("page", PAGES)
def test_no_sideways_scroll_on_a_phone(browser, base_url, page):
    """G7: 375 px wide, the page is no wider than the screen: wide tables scroll by themselves
    and menus fit; on the areas page the geography menu too."""
    with window(browser, 375, 740):
        sitetools.open_page(browser, urljoin(base_url, page))
        wide, width = browser.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        culprits = browser.execute_script(STICKING_OUT)
        menus = browser.execute_script(
            "return Array.from(document.querySelectorAll('main select'))"
            ".map(s => s.getBoundingClientRect().right)"
        )
    assert wide <= width, f"{wide} px wide on a {width} px screen: {culprits}"
    assert all(right <= width for right in menus), menus


# Download links broken over lines, and tables wider than their box without the edge shadow
# that says there is more to the right (a phone shows no scrollbar).
BROKEN_NAMES = """
return Array.from(document.querySelectorAll("main a[download]"))
  .filter(function (a) { return a.getClientRects().length > 1; })
  .map(function (a) { return a.textContent; });
"""
UNCUED_TABLES = """
return Array.from(document.querySelectorAll(".cell-output-display table:not(.msoa-table)"))
  .filter(function (t) {
    return t.scrollWidth > t.clientWidth + 1
      && getComputedStyle(t).backgroundImage.indexOf("radial-gradient") < 0;
  })
  .map(function (t) { return t.closest(".cell").id; });
"""


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("page", PAGES)
def test_download_file_names_stay_whole(browser, base_url, page, width):
    """Issue 17's new user: download names broke into four-letter pieces on "Your area" at
    375 px, and on "Since 2019" at 1280 px a narrow column still broke them anywhere."""
    with window(browser, width, 740):
        sitetools.open_page(browser, urljoin(base_url, page))
        broken = browser.execute_script(BROKEN_NAMES)
    assert broken == [], broken


@pytest.mark.parametrize("page", PAGES)
def test_on_a_phone_wide_tables_show_they_scroll(browser, base_url, page):
    """Issue 17's new user at 375 px: tables hid their numbers past the right edge with
    nothing to say so."""
    with window(browser, 375, 740):
        sitetools.open_page(browser, urljoin(base_url, page))
        uncued = browser.execute_script(UNCUED_TABLES)
    assert uncued == [], uncued


# The static figures: each one's smallest type (_figures.SMALLEST_TEXT points, drawn at the
# PNG's dpi) as the page shows it, and whether a figure wider than its box says to swipe.
FIGURE_PAGES = [
    f"notebooks/{name}.html" for name in ("local", "since2019", "validation", "domains")
]
FIGURES_SHOWN = """
return Array.from(document.querySelectorAll("main figure img")).map(function (img) {
  var box = img.parentElement, caption = img.closest("figure").querySelector("figcaption");
  return [img.getAttribute("src"), img.getBoundingClientRect().width,
    img.getBoundingClientRect().width > box.clientWidth + 1,
    getComputedStyle(caption, "::before").content.indexOf("Swipe") >= 0];
});
"""
READABLE_PX = 11  # CSS px: the least type a phone reader can take in at arm's length


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("page", FIGURE_PAGES)
def test_figure_type_is_readable_on_a_phone_and_a_desktop(browser, base_url, rendered, page, width):
    """Issue 17's new user at 375 px: the figures, shrunk to the screen, set their type at 3
    to 8 px (validation's at 8 px at 1280 px too). A figure wider than the screen says so."""
    with window(browser, width, 740):
        sitetools.open_page(browser, urljoin(base_url, page))
        shown = browser.execute_script(FIGURES_SHOWN)
    assert shown, page
    for src, displayed, wider, cued in shown:
        with Image.open(rendered.site / Path(page).parent / src) as png:
            dpi, natural = png.info["dpi"][0], png.width
        smallest = maps.SMALLEST_TEXT * dpi / 72 * displayed / natural
        assert smallest >= READABLE_PX, f"{src}: smallest type {smallest:.1f} px at {width} px"
        assert cued or not wider, f"{src}: wider than its box at {width} px, with no cue"


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
    paths = [urlsplit(href).path.lstrip("/") for href, _ in links]
    if page == "index.html":
        assert len(links) >= 8  # the download box, then the source archive (issue 17)
        source = f"dist/iod_msoa-{__version__}.tar.gz"
        assert [p for p in paths if p.startswith("dist/")] == [source]
    project = rendered.site.parent  # where the pre-render built the packages and the archive
    for (href, row), path in zip(links, paths, strict=True):
        status, body = fetch(href)
        built = project / path
        source = built.parent.name == "dist"  # the source archive: no data package beside it
        package = built.parent / "datapackage.json"
        resources = [] if source else json.loads(package.read_text(encoding="utf-8"))["resources"]
        described = {r["path"]: r.get("bytes") for r in resources}
        assert status == 200, path
        assert len(body) == built.stat().st_size, path
        assert described.get(built.name) in {None, len(body)}, path
        assert human_size(len(body)) in row, path


# The explore page ------------------------------------------------------------------------

PROBE = """
var map = window.__leafletMaps[0];
// The page carries the map's frame; its data comes from the map's script (see sitetools).
var data = window.__mapData[JSON.parse(
  document.querySelector('script[type="application/json"][id$="-data"]').textContent).key];
var polygons = [];
map.eachLayer(function (layer) { if (layer instanceof L.Polygon) polygons.push(layer); });
polygons.sort(function (a, b) { return a.options.area - b.options.area; });  // area order
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


# The areas page: the legend never hides a tooltip; a failed load leaves the menu honest ----

AREAS_VIEW = """
var map = window.__leafletMaps[window.__leafletMaps.length - 1];  // the map shown now
var polygons = [];
map.eachLayer(function (layer) { if (layer instanceof L.Polygon) polygons.push(layer); });
var legend = document.querySelector(".msoa-map-legend");
function box(e) { var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
function openTooltips() {
  return Array.from(map.getContainer().querySelectorAll(".leaflet-tooltip"))
    .filter(function (t) { return t.style.opacity !== "0"; });
}
"""


def areas_view(driver, expression: str):
    return driver.execute_script(AREAS_VIEW + "return " + expression + ";")


def open_areas(driver, base_url):
    from selenium.webdriver.support.wait import WebDriverWait

    if AREAS not in PAGES:
        pytest.skip("no areas page")
    sitetools.open_page(driver, urljoin(base_url, AREAS))
    title = "return (document.querySelector('.msoa-map-legend-title') || {}).textContent || ''"
    WebDriverWait(driver, 30).until(lambda d: "local authorit" in d.execute_script(title))


def test_a_tooltip_is_never_under_the_legend(browser, base_url):
    """G7: Leaflet draws controls above tooltips; an area's tooltip reaching under the legend
    (left of the pointer, right of the map's middle) is seen, the legend steps aside."""
    from selenium.webdriver.common.action_chains import ActionChains

    with window(browser, 700, 900):
        open_areas(browser, base_url)
        expanded = "legend.querySelector('button').getAttribute('aria-expanded')"
        assert areas_view(browser, expanded) == "true"
        # An area's inside point, moved just right of the middle at the legend's height.
        x, y = areas_view(
            browser,
            """(function () {
              var p = polygons[0], size = map.getSize();
              map.getContainer().scrollIntoView({block: "center", behavior: "instant"});
              map.fitBounds(p.getBounds(), {animate: false});
              var best = null, bestDistance = Infinity;
              for (var x = 0; x < size.x; x += 4) for (var y = 0; y < size.y; y += 4) {
                var d = Math.hypot(x - size.x / 2, y - size.y / 2);
                var inside = p._containsPoint(map.containerPointToLayerPoint([x, y]));
                if (inside && d < bestDistance) { best = [x, y]; bestDistance = d; }
              }
              var legendBox = box(legend), mapBox = box(map.getContainer());
              var target = [size.x / 2 + 12, (legendBox[1] + legendBox[3]) / 2 - mapBox[1]];
              map.panBy([best[0] - target[0], best[1] - target[1]], {animate: false});
              return [Math.round(target[0] - size.x / 2), Math.round(target[1] - size.y / 2)];
            })()""",
        )
        element = browser.find_element("css selector", ".msoa-map")
        ActionChains(browser).move_to_element_with_offset(element, x, y).pause(0.1).move_by_offset(
            1, 1
        ).pause(0.3).perform()
        seen = areas_view(
            browser,
            """(function () {
              var tips = openTooltips();
              if (tips.length !== 1) return {tips: tips.length};
              var t = box(tips[0]), l = box(legend);
              var overlap = [Math.max(t[0], l[0]), Math.max(t[1], l[1]),
                             Math.min(t[2], l[2]), Math.min(t[3], l[3])];
              var top = document.elementFromPoint((overlap[0] + overlap[2]) / 2,
                                                  (overlap[1] + overlap[3]) / 2);
              return {tips: 1, overlaps: overlap[0] < overlap[2] && overlap[1] < overlap[3],
                      legendOnTop: Boolean(top && top.closest(".msoa-map-legend"))};
            })()""",
        )
        sitetools.screenshot(browser, sitetools.SCREENSHOTS / "notebooks-areas-tooltip.png")
        assert seen == {"tips": 1, "overlaps": True, "legendOnTop": False}
        ActionChains(browser).move_to_element_with_offset(
            element, -element.size["width"] // 2 - 20, 0
        ).pause(0.4).perform()
        assert areas_view(browser, "getComputedStyle(legend).visibility") == "visible"


def test_a_phone_starts_with_the_legend_closed_and_england_in_view(browser, base_url):
    """G7: on a 375 px screen the legend would hide the south: closed, it opens on a tap."""
    with window(browser, 375, 740):
        open_areas(browser, base_url)
        toggle = browser.find_element("css selector", ".msoa-map-legend-toggle")
        assert toggle.get_attribute("aria-expanded") == "false" and toggle.text == "Legend"
        legend_height, england_bottom = areas_view(
            browser,
            "[box(legend)[3] - box(legend)[1],"
            " map.latLngToContainerPoint(L.featureGroup(polygons).getBounds().getSouthWest()).y]",
        )
        assert legend_height < 40
        map_height = browser.find_element("css selector", ".msoa-map").size["height"]
        assert england_bottom < map_height - legend_height - 10  # the legend below England
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        assert "decile among local authorit" in legend_title(browser)


def test_a_geography_that_fails_to_load_leaves_the_menu_on_the_one_shown(browser, base_url):
    """G7: the menu, the address and the map agree after a failed load."""
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait

    open_areas(browser, base_url)
    menu = Select(browser.find_element("id", "areas-map-geography"))
    status = browser.find_element("css selector", ".msoa-map-status")
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*areas-data/pcon24.js"]})
    try:
        menu.select_by_value("pcon24")
        WebDriverWait(browser, 30).until(lambda d: "Sorry" in status.text)
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    assert "could not load areas-data/pcon24.js" in status.text
    assert "Still showing Local authority district" in status.text
    assert menu.first_selected_option.get_attribute("value") == "lad24"
    assert browser.execute_script("return location.hash") == "#geography=lad24"
    assert "local authorit" in legend_title(browser)
    menu.select_by_value("icb24")
    WebDriverWait(browser, 30).until(lambda d: "ICB" in legend_title(d))
    assert menu.first_selected_option.get_attribute("value") == "icb24" and status.text == ""


PAGE_MAP = """
var map = window.__leafletMaps[window.__leafletMaps.length - 1];  // the map shown now
function box(e) { var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
function shownTooltips() {
  return Array.from(map.getContainer().querySelectorAll(".leaflet-tooltip"))
    .filter(function (t) { return t.style.opacity !== "0" && t.textContent; });
}
"""


def tooltip_and_map(driver) -> tuple[list, list[float]]:
    """The boxes of the tooltips shown (with their text) and of the map's inside."""
    return driver.execute_script(
        PAGE_MAP
        + """var c = map.getContainer(), m = box(c);
        return [shownTooltips().map(function (t) { return box(t).concat([t.innerText]); }),
                [m[0] + c.clientLeft, m[1] + c.clientTop,
                 m[0] + c.clientLeft + c.clientWidth, m[1] + c.clientTop + c.clientHeight]];"""
    )


def inside(tip: list, area: list[float]) -> bool:
    return tip[0] >= area[0] and tip[1] >= area[1] and tip[2] <= area[2] and tip[3] <= area[3]


@pytest.mark.parametrize("page", [AREAS, EXPLORE])
def test_a_tooltip_fits_inside_a_phone_wide_map(browser, base_url, page):
    """H3: at 375 px Leaflet opens a tooltip left of a tap right of the map's middle, and
    always left of an area picked from the table (the map centres on it); the tooltip is
    moved back inside the map, its name, code and score whole."""
    if page not in PAGES:
        pytest.skip(f"no {page}")
    with window(browser, 375, 740):
        sitetools.open_page(browser, urljoin(base_url, page))
        element = browser.find_element("css selector", ".msoa-map")
        browser.execute_script(
            "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
        )
        # A tap just right of the middle of England, where the left side is too short.
        x, y = browser.execute_script(
            PAGE_MAP
            + """var c = map.getContainer().getBoundingClientRect();
            return [Math.round(c.left + c.width / 2 + 15), Math.round(c.top + c.height / 2)];"""
        )
        for kind in ("touchStart", "touchEnd"):
            points = [{"x": x, "y": y}] if kind == "touchStart" else []
            browser.execute_cdp_cmd(
                "Input.dispatchTouchEvent", {"type": kind, "touchPoints": points}
            )
        time.sleep(0.5)
        tips, area = tooltip_and_map(browser)
        assert len(tips) == 1, tips
        assert inside(tips[0], area), (tips[0], area)
        assert re.search(r"[EW]\d{8}", tips[0][4]) and "score" in tips[0][4]

        # An area picked from the table: the map zooms to it and pins its tooltip.
        row = browser.find_element("css selector", ".msoa-table tbody tr")
        code = row.find_element("css selector", "td").text
        browser.execute_script("arguments[0].click()", row)
        time.sleep(1.5)  # the zoom's animation
        browser.execute_script(
            "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element
        )
        tips, area = tooltip_and_map(browser)
        sitetools.screenshot(
            browser, sitetools.SCREENSHOTS / (page.replace("/", "-")[:-5] + "-375-picked.png")
        )
        assert len(tips) == 1 and code in tips[0][4], (tips, code)
        assert inside(tips[0], area), (tips[0], area)


def test_the_open_legend_stands_clear_of_the_attribution_on_a_phone(browser, base_url):
    """H4: at 375 px the open legend reached over the attribution, whose text printed
    through its last rows; it is lifted above it (and opaque), and drops back when closed."""
    with window(browser, 375, 740):
        open_areas(browser, base_url)
        toggle = browser.find_element("css selector", ".msoa-map-legend-toggle")
        above = "box(map.getContainer())[3] - box(legend)[3]"  # the legend's height off the foot
        closed = areas_view(browser, above)
        toggle.click()
        legend, attribution, colour = areas_view(
            browser,
            "[box(legend), box(document.querySelector('.leaflet-control-attribution')),"
            " getComputedStyle(legend).backgroundColor]",
        )
        sitetools.screenshot(browser, sitetools.SCREENSHOTS / "notebooks-areas-375-legend.png")
        assert legend[0] < attribution[2] and attribution[0] < legend[2]  # one above the other
        assert legend[3] <= attribution[1], (legend, attribution)
        assert colour == "rgb(255, 255, 255)"
        toggle.click()
        assert areas_view(browser, above) == closed


def test_an_open_tooltip_follows_the_measure_switch(explore):
    from selenium.webdriver.support.select import Select

    explore.find_element("css selector", ".msoa-table tbody tr").click()  # pins a tooltip
    time.sleep(0.5)
    select = Select(select_measure(explore))
    before = select.first_selected_option.text
    assert [before in tip for tip in probe(explore, "openTooltips()")] == [True]
    select.select_by_index(3)
    after = select.first_selected_option.text
    tips = probe(explore, "openTooltips()")
    assert len(tips) == 1 and after in tips[0] and before not in tips[0]

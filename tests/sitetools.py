"""The site as readers get it: rendered by Quarto, served on loopback, opened in Chromium.

Shared by the browser tests (``tests/test_browser.py``) and the benchmark
(``benchmarks/site.py``). Nothing here reaches the network: the render runs with
``$IOD_MSOA_OFFLINE`` set and every proxy pointed at a closed loopback port, and Chromium
resolves no host name but the loopback server's (``--host-resolver-rules``), so a page that
asks a third party for something fails in the browser and shows up in the request log.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
QUARTO_INSTALL = ROOT.parent / "shared" / "tools" / "quarto" / "install"
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "tests" / "browser" / "screenshots"
# Not copied into the render folder: environments, caches, earlier outputs (top level) ...
NOT_SITE = {".git", ".venv", "data", "_site", "_freeze", ".quarto", "tests", "benchmarks"}
# ... and anywhere.
NOT_SITE_FILES = shutil.ignore_patterns("*_files", "__pycache__", "*.egg-info", ".*_cache")
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, requests fail at once
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    # Only the loopback server resolves: a third-party request fails and is logged.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
# Records every Leaflet map a page makes, and the data each map script hands over
# (window.__mapData, by key), before the page's scripts run, so tests can ask the map what it
# drew without the site exposing anything for them.
LEAFLET_HOOK = """
(function () {
  var maps = (window.__leafletMaps = []);
  var provided = (window.__mapData = {});
  var leaflet, iod;
  Object.defineProperty(window, "IodMsoaMap", {
    configurable: true,
    get: function () { return iod; },
    set: function (value) {
      iod = value;
      if (value && value.provide) {
        var provide = value.provide;
        value.provide = function (key, data) { provided[key] = data; return provide(key, data); };
      }
    },
  });
  Object.defineProperty(window, "L", {
    configurable: true,
    get: function () { return leaflet; },
    set: function (value) {
      leaflet = value;
      if (value && value.Map && value.Map.addInitHook) {
        value.Map.addInitHook(function () { maps.push(this); });
      }
    },
  });
})();
"""


class Missing(Exception):
    """A tool the site checks need is absent; the message says how to get it."""


# Quarto ------------------------------------------------------------------------------------


def find_quarto() -> str:
    """``quarto`` on PATH, else the one ``../shared/tools/quarto/install`` sets up."""
    found = shutil.which("quarto")
    if found:
        return found
    if QUARTO_INSTALL.is_file():
        run = subprocess.run(
            ["bash", str(QUARTO_INSTALL)], capture_output=True, text=True, check=False
        )
        if run.returncode == 0 and run.stdout.strip():
            return run.stdout.strip().splitlines()[-1]
        raise RuntimeError(f"{QUARTO_INSTALL} failed: {run.stderr.strip()[-500:]}")
    raise Missing(
        "Quarto not found: put `quarto` (1.6 or later, https://quarto.org) on PATH, "
        "`conda env create -f environment.yml`, or place the project beside ../shared "
        "with tools/quarto/install"
    )


def pages(root: Path = ROOT) -> list[str]:
    """The site's pages (``project.render`` globs in ``_quarto.yml``), as output paths."""
    config = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8"))
    sources = sorted({p for g in config["project"]["render"] for p in root.glob(g)})
    return [p.relative_to(root).with_suffix(".html").as_posix() for p in sources]


def copy_project(dest: Path) -> Path:
    """The project's sources without environments, caches, outputs or tests."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = NOT_SITE & set(names) if Path(folder) == ROOT else set()
        return top | NOT_SITE_FILES(folder, names)

    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def render_env(config: Path) -> dict[str, str]:
    """Quarto's environment: this Python, local inputs, and no way out to the network."""
    bin_dir = str(Path(sys.executable).parent)
    proxies = {k: DEAD_PROXY for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
    proxies |= {k.lower(): v for k, v in proxies.items()}
    return {
        **os.environ,
        **proxies,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "QUARTO_PYTHON": sys.executable,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "IOD_MSOA_CONFIG": str(config.resolve()),
        "IOD_MSOA_OFFLINE": "1",
    }


@dataclass
class Render:
    site: Path  # the rendered _site/ folder
    seconds: float
    log: str
    # Seconds per stage: "pre-render" (the build), then each page from Quarto's "[i/n] page"
    # line to the next (the last page includes writing the site's search index and links).
    stages: dict[str, float] = field(default_factory=dict)


PAGE_LINE = re.compile(r"^\[\d+/\d+\] (\S+)$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def render(project: Path, config: Path, quarto: str) -> Render:
    """``quarto render`` of the whole site in ``project``, timed per page; errors end the run.

    Quarto keeps each page's executed notebook beside its source (``keep-ipynb``), for the
    page tests to read what every cell put out (tests/test_site.py)."""
    lines, marks = [], [("pre-render", 0.0)]
    start = time.perf_counter()
    with subprocess.Popen(
        [quarto, "render", "-M", "keep-ipynb:true"],
        cwd=project,
        env=render_env(config),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as run:
        for line in run.stdout:
            lines.append(line)
            page = PAGE_LINE.match(ANSI.sub("", line).strip())
            if page:
                marks.append((page[1], time.perf_counter() - start))
    seconds = time.perf_counter() - start
    log = "".join(lines)
    if run.returncode != 0:
        raise RuntimeError(f"quarto render failed ({run.returncode}):\n{log[-4000:]}")
    ends = [t for _, t in marks[1:]] + [seconds]
    stages = {name: end - t for (name, t), end in zip(marks, ends, strict=True)}
    return Render(project / "_site", seconds, log, stages)


# Serving -----------------------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# Chromium ----------------------------------------------------------------------------------


def find_chromium() -> tuple[str, str]:
    """Debian's chromium and chromedriver (no browser download at run time)."""
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium") or ""
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or ""
    if not (browser and driver):
        raise Missing("Chromium not found: apt-get install chromium chromium-driver")
    return browser, driver


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium under Selenium, logging requests and console messages."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = find_chromium()
    profile = tempfile.mkdtemp(prefix="iod-msoa-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        driver.set_script_timeout(120)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LEAFLET_HOOK})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def settle(driver, quiet: float = 0.5, timeout: float = 30) -> None:
    """Wait for the page to load and then for ``quiet`` seconds without a new resource or a
    new area drawn on its maps."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        state, *now = driver.execute_script(SETTLED)
        if state != "complete" or now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


# What changes while a page is still busy: its requests, and the areas its maps have drawn
# (a map draws thousands of areas in short steps after its data has come).
SETTLED = """
var polygons = (window.__leafletMaps || []).map(function (map) {
  var n = 0;
  map.eachLayer(function (layer) { if (layer instanceof L.Polygon) n++; });
  return n;
});
return [document.readyState, performance.getEntriesByType("resource").length].concat(polygons);
"""


@dataclass
class Visit:
    url: str
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    console: list[dict] = field(default_factory=list)  # console messages, warning or worse


def open_page(driver, url: str) -> Visit:
    """Load ``url`` and wait for it to settle; returns what it requested and logged."""
    driver.get_log("performance")  # drop what earlier pages logged
    driver.get_log("browser")
    driver.get(url)
    settle(driver)
    visit = Visit(url, requests=page_requests(driver.get_log("performance")))
    visit.console = [e for e in driver.get_log("browser") if e["level"] in {"SEVERE", "WARNING"}]
    return visit


# Pages of the browser's own (its new-tab page, which Debian's Chromium loads in the first tab
# and whose requests can reach the log after the page we asked for has started loading).
BROWSER_PAGES = frozenset({"chrome", "chrome-untrusted", "chrome-search", "devtools"})


def page_requests(log: list[dict]) -> list[str]:
    """Every URL that a web page asked for, from Chromium's performance log.

    A request is kept unless the document that made it is one of the browser's own pages:
    whatever a page served by us asks for, from any host, is kept.
    """
    sent = (json.loads(entry["message"])["message"] for entry in log)
    return [
        m["params"]["request"]["url"]
        for m in sent
        if m["method"] == "Network.requestWillBeSent"
        and urlsplit(m["params"].get("documentURL", "")).scheme not in BROWSER_PAGES
    ]


def foreign(urls: list[str], base: str, allowed_hosts: set[str]) -> list[str]:
    """URLs that are neither the site's nor allowed hosts' (data: and blob: are local)."""
    site = urlsplit(base).netloc
    return [
        u
        for u in urls
        if urlsplit(u).scheme not in {"data", "blob", "about"}
        and urlsplit(u).netloc != site
        and urlsplit(u).hostname not in allowed_hosts
    ]


def screenshot(driver, path: Path) -> Path:
    """The whole page, not just the window, as a PNG."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def axe_violations(driver) -> list[dict]:
    """axe-core's violations on the current page (every rule axe runs by default)."""
    if not AXE.is_file():
        raise Missing(f"axe-core not found at {AXE}: run `npm ci` in {AXE.parents[2]}")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations), e => done({error: String(e)}));"
    )
    if isinstance(result, dict):
        raise RuntimeError(f"axe-core failed: {result['error']}")
    return result

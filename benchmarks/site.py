"""Time the site as readers get it: the Quarto render, each page's weight, and how soon the
explore page's map is drawn in Chromium, all on this machine with no network.

    python benchmarks/site.py [--repeat 5] [--site _site] [--json out.json]

Renders a copy of the project from the development inputs (``config/shared-inputs.toml``,
or ``$IOD_MSOA_INPUTS``) with Quarto (``quarto`` on PATH, else
``../shared/tools/quarto/install``) unless ``--site`` names a rendered ``_site/``, serves it
on 127.0.0.1 and opens it in headless Chromium with the browser cache disabled. Goals: the
whole render under 60 s, the explore map drawn under 0.7 s after navigation, the home page
with its images under 1 MB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import sitetools  # noqa: E402
from tests.realdata import write_config  # noqa: E402

GOALS = {"render_s": 60.0, "explore_map_s": 0.7, "index_bytes": 1e6}
EXPLORE = "notebooks/explore.html"
# Stamps window.__mapDrawn (ms after navigation start) at the first animation frame after
# the first map's polygons are on it: Leaflet's canvas draws them in the frame before.
MAP_DRAWN = """
(function () {
  function poll() {
    var map = (window.__leafletMaps || [])[0], n = 0;
    if (map) map.eachLayer(function (l) { if (window.L && l instanceof L.Polygon) n++; });
    if (n > 0) {
      window.__mapPolygons = n;
      requestAnimationFrame(function () { window.__mapDrawn = performance.now(); });
    } else {
      requestAnimationFrame(poll);
    }
  }
  requestAnimationFrame(poll);
})();
"""
WEIGHT = """
var site = location.origin, bytes = {}, urls = [];
var entries = performance.getEntriesByType("navigation")
  .concat(performance.getEntriesByType("resource"));
entries.forEach(function (e) {
  if (e.name.indexOf(site) !== 0) return;
  var kind = e.entryType === "navigation" ? "html" : e.initiatorType;
  bytes[kind] = (bytes[kind] || 0) + e.encodedBodySize;
  urls.push(e.name);
});
return {bytes: bytes, requests: urls.length, urls: urls};
"""


def gzipped(site: Path, base: str, urls: list[str]) -> int:
    """Bytes the same files take gzip-compressed, as most web servers send them."""
    files = {site / urlsplit(u).path.lstrip("/") for u in urls}
    return sum(len(gzip.compress(f.read_bytes(), 6)) for f in files if f.is_file())


def render(site: str | None) -> tuple[Path, sitetools.Render | None]:
    if site:
        return Path(site).resolve(), None
    folder = Path(tempfile.mkdtemp(prefix="iod-msoa-site-"))
    config = ROOT / "config" / "shared-inputs.toml"
    if "IOD_MSOA_INPUTS" in os.environ:
        config = write_config(folder)
    result = sitetools.render(
        sitetools.copy_project(folder / "site"), config, sitetools.find_quarto()
    )
    return result.site, result


def page_weights(driver, base: str) -> dict[str, dict]:
    """Bytes each page loads from the site (HTML, styles, scripts, images), scrolled through."""
    weights = {}
    for page in sitetools.pages():
        sitetools.open_page(driver, urljoin(base, page))
        driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        sitetools.settle(driver)
        weights[page] = driver.execute_script(WEIGHT)
    return weights


def explore_times(driver, base: str, repeat: int) -> list[dict]:
    """Milliseconds from navigation to DOMContentLoaded, load and the map drawn."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MAP_DRAWN})
    runs = []
    for _ in range(repeat):
        driver.get("about:blank")
        driver.get(urljoin(base, EXPLORE))
        deadline = time.monotonic() + 30
        while driver.execute_script("return window.__mapDrawn") is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the explore map was not drawn within 30 s")
            time.sleep(0.05)
        runs.append(
            driver.execute_script(
                "var nav = performance.getEntriesByType('navigation')[0];"
                "return {dom: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,"
                " map: window.__mapDrawn, polygons: window.__mapPolygons};"
            )
        )
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="explore page loads to time")
    parser.add_argument("--site", help="an already rendered _site/ folder (skip the render)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    site, rendered = render(args.site)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    results: dict = {}
    if rendered:
        # CPU time shows what the render costs apart from other load on the machine.
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        results["render_s"] = rendered.seconds
        results["render_cpu_s"] = cpu
        results["render_stages_s"] = rendered.stages
        print(
            f"render: {rendered.seconds:.1f} s wall, {cpu:.1f} s CPU "
            f"(goal < {GOALS['render_s']:.0f} s; load average {os.getloadavg()[0]:.1f})"
        )
        for stage, seconds in rendered.stages.items():
            print(f"  {stage:<32} {seconds:6.1f} s")

    with sitetools.serve(site) as base, sitetools.chromium() as driver:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        weights = page_weights(driver, base)
        for w in weights.values():
            w["gzip_bytes"] = gzipped(site, base, w.pop("urls"))
        runs = explore_times(driver, base, args.repeat)

    results["pages"] = weights
    print("\npage weight (bytes from the site, cache disabled, whole page scrolled):")
    for page, w in weights.items():
        total = sum(w["bytes"].values())
        parts = ", ".join(f"{k} {v / 1e3:,.0f} kB" for k, v in sorted(w["bytes"].items()))
        print(
            f"  {page:<28} {total / 1e6:5.2f} MB ({w['gzip_bytes'] / 1e6:.2f} MB gzipped) "
            f"in {w['requests']:>2} requests ({parts})"
        )
    index = sum(weights["index.html"]["bytes"].values())
    results["index_bytes"] = index
    print(
        f"  index.html: {index / 1e6:.2f} MB, {weights['index.html']['gzip_bytes'] / 1e6:.2f} MB "
        f"gzipped (goal < {GOALS['index_bytes'] / 1e6:.0f} MB)"
    )

    results["explore_runs_ms"] = runs
    median = {k: statistics.median(r[k] for r in runs) for k in ("dom", "load", "map")}
    results["explore_map_s"] = median["map"] / 1e3
    print(
        f"\nexplore page, navigation to ... (median of {len(runs)} cold loads, "
        f"{runs[0]['polygons']:,} polygons):"
    )
    print(f"  DOMContentLoaded {median['dom']:7.0f} ms")
    print(f"  load             {median['load']:7.0f} ms")
    print(
        f"  map drawn        {median['map']:7.0f} ms  (runs: "
        + ", ".join(f"{r['map']:.0f}" for r in runs)
        + f"; goal < {GOALS['explore_map_s'] * 1e3:.0f} ms)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nrendered site: {site}")


if __name__ == "__main__":
    main()

"""The browser tests' own helpers, on logs made by hand (no browser needed)."""

from __future__ import annotations

import json

from . import sitetools


def sent(url: str, document: str) -> dict:
    message = {
        "method": "Network.requestWillBeSent",
        "params": {"documentURL": document, "request": {"url": url}},
    }
    return {"message": json.dumps({"message": message, "webview": "TAB"})}


def test_requests_of_the_browsers_own_pages_are_not_the_sites():
    site = "http://127.0.0.1:8000/index.html"
    log = [
        sent("chrome://new-tab-page/", "chrome://new-tab-page/"),
        sent("chrome://resources/js/static_types.js", "chrome://new-tab-page/"),
        sent("https://www.gstatic.com/x.js", "chrome-untrusted://new-tab-page/one-google-bar"),
        sent(site, site),
        sent("http://127.0.0.1:8000/site_libs/x.js", site),
        sent("https://cdn.example.org/leaflet.js", site),
        {"message": json.dumps({"message": {"method": "Network.responseReceived", "params": {}}})},
    ]
    requests = sitetools.page_requests(log)
    assert requests == [
        site,
        "http://127.0.0.1:8000/site_libs/x.js",
        "https://cdn.example.org/leaflet.js",
    ]
    assert sitetools.foreign(requests, site, set()) == ["https://cdn.example.org/leaflet.js"]

"""Quarto's post-render step: lighten the frame Quarto puts around every page.

    python scripts/postrender.py [SITE]   (Quarto runs it after each render; SITE: _site)

Quarto (1.6 and later) offers no switch for these, so they are done to its output:

- its classic ``<script src>`` tags in the head are deferred: they ran before the first
  paint, and every use of them waits for DOMContentLoaded, which deferred scripts precede;
- the figures' images load lazily, with their size given, so they neither hold up the first
  paint nor move the text when they come;
- the icon font and its stylesheet (180 kB and 99 kB, over 2,000 icons) are cut to the
  icons the site's pages and scripts name;
- the navbar's menu button loses ``role="menu"``, which a button may not have.

Each step leaves a file it has already done as it is, so a second run changes nothing.
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
import sys
from pathlib import Path

HEAD_SCRIPT = re.compile(r'<script src="(?P<src>[^"]+)"></script>')
FIGURE = re.compile(r'<img src="(?P<src>[^"]+\.png)" class="(?P<cls>[^"]*\bfigure-img\b[^"]*)"')
TOGGLER = re.compile(r'(<button class="navbar-toggler"[^>]*?) role="menu"')
ICON_RULE = re.compile(r'\.(?P<name>bi-[\w-]+)::before \{ content: "\\(?P<code>[0-9a-f]+)"; \}\n')
ICON_NAME = re.compile(rb"\bbi-[a-z0-9]+(?:-[a-z0-9]+)*")
ICONS = Path("site_libs/bootstrap/bootstrap-icons.css")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header (bytes 16-24 of its IHDR chunk)."""
    with path.open("rb") as file:
        head = file.read(24)
    return struct.unpack(">II", head[16:24])


def lighten_page(html: str, page: Path) -> str:
    """One page: head scripts deferred, figures lazy and sized, the menu button's role."""
    head, sep, body = html.partition("</head>")
    head = HEAD_SCRIPT.sub(r'<script src="\g<src>" defer></script>', head)

    def lazy(match: re.Match[str]) -> str:
        image = page.parent / match["src"]
        if not image.is_file():
            return match[0]
        width, height = png_size(image)
        return (
            f'<img src="{match["src"]}" loading="lazy" decoding="async" width="{width}" '
            f'height="{height}" class="{match["cls"]}"'
        )

    body = TOGGLER.sub(r"\1", FIGURE.sub(lazy, body))
    return head + sep + body


def used_icons(site: Path) -> set[str]:
    """Icon classes (``bi-…``) named in any page or script of the site."""
    files = [*site.rglob("*.html"), *(site / "site_libs").rglob("*.js")]
    return {name.decode() for f in files for name in ICON_NAME.findall(f.read_bytes())}


def cut_icons(site: Path) -> None:
    """Keep only the icons the site names: in the stylesheet and in the font."""
    css_path = site / ICONS
    if not css_path.is_file():
        return
    from fontTools import subset

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # its notes on tables it drops
    css = css_path.read_text(encoding="utf-8")
    wanted = used_icons(site)
    codes = {m["name"]: int(m["code"], 16) for m in ICON_RULE.finditer(css)}
    kept = ICON_RULE.sub(lambda m: m[0] if m["name"] in wanted else "", css)
    font_url = re.search(r'url\("\./(?P<file>[^"?]+)', css)
    if font_url:
        font = css_path.parent / font_url["file"]
        options = subset.Options()
        options.flavor = "woff"
        subsetter = subset.Subsetter(options)
        loaded = subset.load_font(str(font), options)
        subsetter.populate(unicodes=[codes[n] for n in wanted if n in codes])
        subsetter.subset(loaded)
        out = io.BytesIO()
        subset.save_font(loaded, out, options)
        font.write_bytes(out.getvalue())
    css_path.write_text(kept, encoding="utf-8")


def main(site: Path) -> None:
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        lighter = lighten_page(html, page)
        if lighter != html:
            page.write_text(lighter, encoding="utf-8")
    cut_icons(site)


if __name__ == "__main__":
    main(
        Path(
            sys.argv[1]
            if len(sys.argv) > 1
            else os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_site")
        )
    )

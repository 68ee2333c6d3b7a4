"""Quarto's post-render step: lighten the frame Quarto puts around every page.

    python scripts/postrender.py [SITE]   (Quarto runs it after each render; SITE: _site)

Quarto (1.6 and later) offers no switch for these, so they are done to its output:

- its classic ``<script src>`` tags in the head are deferred: they ran before the first
  paint, and every use of them waits for DOMContentLoaded, which deferred scripts precede;
- the figures' images load lazily, with their size given, so they neither hold up the first
  paint nor move the text when they come;
- the icon font and its stylesheet (180 kB and 99 kB, over 2,000 icons) are cut to the
  icons the site's pages and scripts name;
- the navbar's menu button loses ``role="menu"``, which a button may not have;
- the theme's stylesheet (Bootstrap and Quarto, 500 kB, every page waits for it before its
  first paint) keeps only the rules whose classes and ids some page or script names, as
  PurgeCSS would: a class a script puts together from pieces would be lost, and none here do.

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
THEME = "site_libs/bootstrap/bootstrap-*.min.css"
WORD = re.compile(rb"[A-Za-z0-9_-]+")
SELECTOR_NAME = re.compile(r"[.#](-?[A-Za-z_][\w-]*)")
# Not names a rule needs: a :not() matches without them, an attribute's value is no class.
NOT_NEEDED = re.compile(r":not\([^()]*\)|\[[^\]]*\]")
# At-rules whose blocks hold rules (purged inside); other blocks (@keyframes, @font-face)
# are kept whole.
NESTING = ("@media", "@supports", "@container", "@layer")


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


def used_words(site: Path) -> set[str]:
    """Every word in the site's pages and scripts: what a class or id name could be."""
    files = [*site.rglob("*.html"), *(site / "site_libs").rglob("*.js")]
    return {w.decode() for f in files for w in WORD.findall(f.read_bytes())}


def split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside brackets and parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char in "([") - (char in ")]")
        if char == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def blocks(css: str) -> list[tuple[str, str]]:
    """Top-level ``(prelude, body)`` pairs of a stylesheet; a statement has body ``None``."""
    found, depth, start, prelude = [], 0, 0, ""
    i = 0
    while i < len(css):
        char = css[i]
        if char == "/" and css.startswith("/*", i):
            end = css.find("*/", i + 2)
            i = len(css) if end < 0 else end + 2
            continue
        if char in "\"'":
            end = css.find(char, i + 1)
            while end > 0 and css[end - 1] == "\\":
                end = css.find(char, end + 1)
            i = len(css) if end < 0 else end + 1
            continue
        if char == "{":
            if depth == 0:
                prelude, start = css[start:i].strip(), i + 1
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                found.append((prelude, css[start:i]))
                start = i + 1
        elif char == ";" and depth == 0:
            found.append((css[start:i].strip(), None))
            start = i + 1
        i += 1
    return found


def purge(css: str, words: set[str]) -> str:
    """The rules of ``css`` with at least one selector whose class and id names all occur in
    ``words``; within each rule, only such selectors."""
    out = []
    for prelude, body in blocks(css):
        if body is None:
            out.append(prelude + ";")
        elif prelude.startswith(NESTING):
            inner = purge(body, words)
            if inner:
                out.append(prelude + "{" + inner + "}")
        elif prelude.startswith("@"):
            out.append(prelude + "{" + body + "}")
        else:
            kept = [
                s
                for s in split_top(prelude, ",")
                if all(name in words for name in SELECTOR_NAME.findall(NOT_NEEDED.sub("", s)))
            ]
            if kept:
                out.append(",".join(kept) + "{" + body + "}")
    return "".join(out)


def purge_theme(site: Path) -> None:
    """The theme's stylesheet cut to the rules the site's pages and scripts can use."""
    words = used_words(site)
    for path in site.glob(THEME):
        css = path.read_text(encoding="utf-8")
        notice = css[: css.index("*/") + 2] if css.startswith("/*!") else ""  # the licence
        purged = notice + purge(css.removeprefix(notice), words)
        if purged != css:
            path.write_text(purged, encoding="utf-8")


def main(site: Path) -> None:
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        lighter = lighten_page(html, page)
        if lighter != html:
            page.write_text(lighter, encoding="utf-8")
    cut_icons(site)
    purge_theme(site)


if __name__ == "__main__":
    main(
        Path(
            sys.argv[1]
            if len(sys.argv) > 1
            else os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_site")
        )
    )

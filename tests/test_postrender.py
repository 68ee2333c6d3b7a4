"""scripts/postrender.py on a tiny site shaped like Quarto's output: no Quarto needed."""

from __future__ import annotations

import importlib.util
import struct
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("postrender", ROOT / "scripts" / "postrender.py")
postrender = importlib.util.module_from_spec(spec)
spec.loader.exec_module(postrender)

PAGE = """<!DOCTYPE html><html><head>
<script src="site_libs/quarto-nav/quarto-nav.js"></script>
<script src="site_libs/quarto-html/quarto.js" type="module"></script>
<link href="site_libs/bootstrap/bootstrap-icons.css" rel="stylesheet">
</head><body>
<button class="navbar-toggler" type="button" role="menu" aria-label="Toggle navigation"></button>
<img src="page_files/figure-html/fig-1.png" class="img-fluid figure-img" alt="A map.">
<img src="assets/images/logo.png" class="logo" alt="logo">
<script>document.addEventListener("DOMContentLoaded", function () {});</script>
</body></html>
"""


def png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


@pytest.fixture
def site(tmp_path) -> Path:
    (tmp_path / "page_files" / "figure-html").mkdir(parents=True)
    (tmp_path / "page_files" / "figure-html" / "fig-1.png").write_bytes(png(640, 480))
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    libs = tmp_path / "site_libs"
    (libs / "quarto-html").mkdir(parents=True)
    (libs / "quarto-html" / "quarto.js").write_text('el.className = "bi bi-check2";')
    (libs / "bootstrap").mkdir()
    return tmp_path


def test_head_scripts_deferred_figures_lazy_and_sized_menu_button_role(site):
    postrender.main(site)
    html = (site / "page.html").read_text(encoding="utf-8")
    assert '<script src="site_libs/quarto-nav/quarto-nav.js" defer></script>' in html
    assert '<script src="site_libs/quarto-html/quarto.js" type="module"></script>' in html
    assert (
        '<img src="page_files/figure-html/fig-1.png" loading="lazy" decoding="async" '
        'width="640" height="480" class="img-fluid figure-img"' in html
    )
    assert '<img src="assets/images/logo.png" class="logo"' in html  # not a figure: as it was
    assert 'role="menu"' not in html and 'aria-label="Toggle navigation"' in html
    postrender.main(site)
    assert (site / "page.html").read_text(encoding="utf-8") == html  # a second run: no change


def test_icon_font_and_stylesheet_keep_only_the_icons_named(site):
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    codes = {"bi-check2": 0xF272, "bi-clipboard": 0xF290, "bi-alarm": 0xF102}
    names = [".notdef", *codes]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({code: name for name, code in codes.items()})
    pen = TTGlyphPen(None)
    pen.moveTo((0, 0))
    pen.lineTo((0, 500))
    pen.lineTo((500, 0))
    pen.closePath()
    builder.setupGlyf({name: pen.glyph() for name in names})
    builder.setupHorizontalMetrics({name: (500, 0) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "bootstrap-icons", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.font.flavor = "woff"
    font = site / "site_libs" / "bootstrap" / "bootstrap-icons.woff"
    builder.save(str(font))
    rules = "".join(f'.{n}::before {{ content: "\\{c:x}"; }}\n' for n, c in codes.items())
    css = site / "site_libs" / "bootstrap" / "bootstrap-icons.css"
    css.write_text(
        '@font-face { src: url("./bootstrap-icons.woff?abc") format("woff"); }\n' + rules,
        encoding="utf-8",
    )
    postrender.main(site)
    kept = css.read_text(encoding="utf-8")
    assert ".bi-check2::before" in kept and "bi-alarm" not in kept and "bi-clipboard" not in kept
    from fontTools.ttLib import TTFont

    assert set(TTFont(str(font)).getBestCmap()) == {codes["bi-check2"]}


THEME_CSS = (
    "/*! Bootstrap (MIT licence) */:root{--bs-blue: #2780e3}"
    ".navbar-toggler,.carousel-item{padding:0}.carousel{display:block}"
    '.callout:not(.no-icon) .callout-icon::before{content:"!"}'
    "@media (min-width: 992px){.navbar-toggler{display:none}.offcanvas{top:0}}"
    "@media print{.modal{display:none}}"
    "@keyframes spinner-grow{0%{transform:scale(0)}}"
    '[data-bs-theme=dark]{color-scheme:dark}a[href="#top"]{color:red}'
)


def test_theme_stylesheet_keeps_only_rules_some_page_or_script_can_use(site):
    (site / "page.html").write_text(
        PAGE.replace('class="logo"', 'class="logo callout"'), encoding="utf-8"
    )
    (site / "site_libs" / "quarto-html" / "quarto.js").write_text(
        'el.classList.add("callout-icon")'
    )
    css = site / "site_libs" / "bootstrap" / "bootstrap-0123abcd.min.css"
    css.write_text(THEME_CSS, encoding="utf-8")
    postrender.main(site)
    kept = css.read_text(encoding="utf-8")
    assert kept == (
        "/*! Bootstrap (MIT licence) */:root{--bs-blue: #2780e3}"
        ".navbar-toggler{padding:0}"  # the unused selector of the two goes
        '.callout:not(.no-icon) .callout-icon::before{content:"!"}'  # :not needs no use
        "@media (min-width: 992px){.navbar-toggler{display:none}}"  # an empty @media goes
        "@keyframes spinner-grow{0%{transform:scale(0)}}"
        '[data-bs-theme=dark]{color-scheme:dark}a[href="#top"]{color:red}'
    )
    postrender.main(site)
    assert css.read_text(encoding="utf-8") == kept  # a second run: no change

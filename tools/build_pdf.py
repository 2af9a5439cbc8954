"""Build the PDF editions of the book: ``_build/pdf/book-en.pdf`` and ``book-zh.pdf``.

Usage (``make pdf`` runs ``tools/build_book.py`` first, then this, then checks the PDFs)::

    python -m tools.build_pdf                    # both languages
    python -m tools.build_pdf --lang zh          # one
    python -m tools.build_pdf --build-dir /tmp/b # build somewhere else

Each edition is built once more with Sphinx's ``singlehtml`` builder (the whole book
as one HTML page; the executed notebooks come from the build's execution cache, so
after ``tools/build_book.py`` nothing runs again), served on 127.0.0.1, and printed
to PDF by headless Chromium (Debian's, through Playwright; MathJax from the site's
own copy, see book/_ext/local_mathjax.py). Chinese text uses the system's Noto
Sans CJK fonts (Debian's ``fonts-noto-cjk``); figures are the book's PNGs, equations
MathJax's output. Solutions stay folded, as on the website: the PDF is for students.
Everything happens offline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tools import build_book
from tools.serve_and_screenshot import launch, offline_routes, serve, wait_for_math

ROOT = Path(__file__).resolve().parent.parent

#: Print layout: the website's own print styles (the theme hides its navigation),
#: plus: no header buttons or language switch, long code lines wrapped (a printed
#: page cannot scroll), no page-breaks inside a code cell, a figure or an equation, and
#: each chapter on a new page.
PRINT_CSS = """
@page { size: A4; }
.header-article-items, .bd-header-article, .prev-next-area, .bd-footer-article,
.bd-footer, .bd-sidebar-primary, .bd-sidebar-secondary, .headerlink,
.language-switch, #pst-back-to-top, .copybtn, .toggle-button { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
div.cell, figure, div.math, mjx-container[display="true"], table { break-inside: avoid; }
pre { white-space: pre-wrap !important; overflow-wrap: anywhere; overflow: visible !important; }
.table-wrapper, .cell_output, div.math { overflow: visible !important; }
h1, h2, h3 { break-after: avoid; }
/* In the single page, chapter titles are <h2> (the book's title is the only <h1>). */
section:has(> h2) { break-before: page; }
"""

FOOTER = ('<div style="font-size:8px; width:100%; text-align:center; color:#666;">'
          '<span class="title"></span> · <span class="pageNumber"></span> / '
          '<span class="totalPages"></span></div>')


def _singlehtml_uses_html_handlers() -> None:
    """Let the ``singlehtml`` builder render every node the ``html`` builder can.

    Sphinx gives a builder the node handlers registered under its own name, and only
    when there are none, those of its format (``html``). sphinx-exercise registers
    handlers for ``singlehtml``, so the handlers that other extensions register for
    ``html`` only (sphinx-jupyterbook-latex's ``HiddenCellNode``, ...) are lost and
    the single-page build stops at an "unknown node type". This merges them.
    """
    from sphinx.registry import SphinxComponentRegistry

    create = SphinxComponentRegistry.create_translator
    if getattr(create, "merges_html_handlers", False):
        return

    def create_translator(self, builder, *args):
        if builder.name == "singlehtml":
            handlers = self.translation_handlers
            handlers["singlehtml"] = {**handlers.get("html", {}),
                                      **handlers.get("singlehtml", {})}
        return create(self, builder, *args)

    create_translator.merges_html_handlers = True
    SphinxComponentRegistry.create_translator = create_translator


def build_singlehtml(lang: str, build: Path, strict: bool) -> Path:
    """Build one edition as a single HTML page; return its folder."""
    from jupyter_book.sphinx import build_sphinx

    _singlehtml_uses_html_handlers()

    out = build / "singlehtml" / lang
    overrides = build_book.sphinx_overrides(lang, build, strict)
    started = time.perf_counter()
    result = build_sphinx(
        ROOT / "book" / lang, out,
        path_config=str(ROOT / "_config.yml"), noconfig=True, confoverrides=overrides,
        doctreedir=build / ".doctrees-singlehtml" / lang, builder="singlehtml",
        warningiserror=strict, keep_going=strict)
    if result != 0:
        raise RuntimeError(f"the single-page build of the {lang} edition failed ({result})")
    print(f"[build_pdf] {lang}: single page built in {time.perf_counter() - started:.0f} s")
    return out


def print_pdf(folder: Path, pdf: Path, title: str) -> None:
    """Print ``folder/index.html`` to ``pdf`` with headless Chromium."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with serve(folder) as base, launch() as browser:
        context = browser.new_context(viewport={"width": 1000, "height": 1400})
        network = offline_routes(context, base)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        response = page.goto(base + "index.html", wait_until="load")
        if response is None or response.status != 200:
            raise RuntimeError(f"{folder}/index.html did not load")
        wait_for_math(page, timeout_ms=120_000)
        page.add_style_tag(content=PRINT_CSS)
        page.evaluate("() => document.fonts.ready")
        page.emulate_media(media="print")
        page.pdf(path=str(pdf), format="A4", print_background=True,
                 margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
                 display_header_footer=True, header_template="<span></span>",
                 footer_template=FOOTER.replace('<span class="title"></span>', title))
        context.close()
    if errors or network.blocked:
        raise RuntimeError(f"printing {folder}: JavaScript errors {errors}, "
                           f"blocked requests {network.blocked}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(build_book.EDITIONS), action="append",
                        help="edition to print (default: both)")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "_build",
                        help="the build folder (default: _build); PDFs go to BUILD_DIR/pdf")
    parser.add_argument("--no-strict", dest="strict", action="store_false",
                        help="do not turn build warnings into errors")
    args = parser.parse_args(argv)
    build = args.build_dir.resolve()
    for lang in args.lang or build_book.EDITIONS:
        folder = build_singlehtml(lang, build, args.strict)
        pdf = build / "pdf" / f"book-{lang}.pdf"
        started = time.perf_counter()
        print_pdf(folder, pdf, build_book.EDITIONS[lang]["project"])
        print(f"[build_pdf] {lang}: {pdf} ({pdf.stat().st_size / 1e6:.1f} MB) "
              f"printed in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the browser suite's tests share (the fixtures are in conftest.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from helpers.languages import LANGUAGES
from tools.pytest_myst_nbval import is_myst_notebook
from tools.serve_and_screenshot import ROOT, offline_routes, wait_for_math
from tools.toc import book_pages

#: The pages of the table of contents, as "lang/page" ids, both editions.
PAGES = [f"{lang}/{name}" for lang in LANGUAGES for name in book_pages()]


def source(page_id: str) -> Path:
    """The MyST source of a page id such as ``"zh/how-to-use"``."""
    return ROOT / "book" / f"{page_id}.md"


def is_notebook(page_id: str) -> bool:
    """True when the page's source is an executable notebook (it gets launch buttons)."""
    return is_myst_notebook(source(page_id))


@dataclass
class Console:
    """JavaScript errors and failed requests seen by one browser page."""

    errors: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console.error: {m.text} ({m.location.get('url', '')})"))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(
            f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.errors.append(
            f"HTTP {r.status}: {r.url}"))


def new_context(browser, base_url, viewport):
    """A browser context of the given viewport, kept off the network."""
    context = browser.new_context(viewport=viewport)
    network = offline_routes(context, base_url)
    return context, network


class Reader:
    """One browser tab that opens the site's pages and records what went wrong."""

    def __init__(self, context, network, base_url):
        self.page = context.new_page()
        self.network = network
        self.base_url = base_url
        self.console = Console()
        self.console.attach(self.page)

    def open(self, path: str, math: bool = True):
        """Load ``path`` (relative to the site); return the HTTP status."""
        response = self.page.goto(self.base_url + path, wait_until="load")
        if math:
            wait_for_math(self.page)
        return response.status if response else None

    def url_path(self) -> str:
        """The current page's path relative to the site."""
        return self.page.url.removeprefix(self.base_url).split("#")[0].split("?")[0]

    def close(self):
        self.page.close()


class Tabs:
    """One desktop tab per page, shared by the read-only tests of that page.

    The browser suite runs a page's tests one after the other (``conftest.py`` orders
    them), so each page is loaded and typeset once for all of them instead of once per
    test. Tests that change the page for good (the language switch navigates away) call
    :meth:`forget` when they are done. :attr:`figures` and :attr:`first_cells` keep what
    the tests of two editions compare, read when the page is opened.
    """

    def __init__(self, context, network, base_url):
        self.context, self.network, self.base_url = context, network, base_url
        self.reader, self.page_id, self.status = None, None, None
        self.figures: dict[str, list[dict]] = {}
        self.first_cells: dict[str, str] = {}

    def open(self, page_id: str) -> Reader:
        """The tab showing ``page_id`` (typeset), loading it if another page is shown."""
        if self.page_id != page_id:
            self.forget()
            self.reader = Reader(self.context, self.network, self.base_url)
            self.status = self.reader.open(f"{page_id}.html")
            self.page_id = page_id
            self.figures[page_id] = self.reader.page.evaluate(FIGURES)
            cells = self.reader.page.locator("div.cell div.cell_input pre")
            self.first_cells[page_id] = cells.first.inner_text() if cells.count() else ""
        return self.reader

    def forget(self) -> None:
        """Close the tab; the next :meth:`open` loads its page afresh."""
        if self.reader is not None:
            self.reader.close()
        self.reader, self.page_id, self.status = None, None, None


#: The figures of the loaded page: id, image source and natural width, caption.
FIGURES = """() => [...document.querySelectorAll('article figure')].map(f => {
  const img = f.querySelector('img');
  const caption = f.querySelector('figcaption');
  return {id: f.id || (f.querySelector('[id]') || {}).id || '',
          src: img ? img.src : null,
          width: img ? img.naturalWidth : 0,
          caption: caption ? caption.innerText.trim() : ''};
})"""


@dataclass
class Visit:
    """What the crawl saw on one HTML page."""

    status: int | None
    errors: list[str]
    broken_images: list[str]
    links: list[str]  # absolute URLs of same-site links, fragments kept
    ids: set[str]
    external: list[str] = field(default_factory=list)  # links that leave the site


#: Links, element ids and broken images of the loaded page.
COLLECT = """() => ({
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id)
        .concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
  broken: [...document.querySelectorAll('img')]
          .filter(img => !img.complete || img.naturalWidth === 0)
          .map(img => img.getAttribute('src')),
})"""


def article_text_outside_code(page) -> str:
    """The visible text of the article, without code, math and cell outputs."""
    return page.evaluate("""() => {
      const article = document.querySelector('article') || document.body;
      const copy = article.cloneNode(true);
      copy.querySelectorAll('pre, code, .math, mjx-container, script, style, .cell_output')
          .forEach(e => e.remove());
      return copy.innerText;
    }""")


RAW_MATH = re.compile(r"\$\$|\\\(|\\\[|(?<![\w$])\$[^$\s][^$\n]*?\$(?![\w$])")
#: TeX commands in the text (math that Markdown broke, e.g. a line starting "+ "
#: made a list item, so MathJax never saw its delimiters).
RAW_TEX = re.compile(r"\$\\|\\(?:tfrac|frac|dfrac|lVert|rVert|alpha|lambda|mathrm|mathbb|"
                     r"operatorname|sum|nabla|top|le|ge|big|text|sqrt|cdot|odot)(?![A-Za-z])")

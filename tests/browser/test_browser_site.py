"""Every page of both editions, read in headless Chromium.

The pages come from ``_toc.yml`` (both editions), so the suite grows with the book;
checks that only make sense on some pages (math, figures, launch buttons) look at
what each page has.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import nbformat
import pytest

from book_browser import (PAGES, RAW_MATH, RAW_TEX, Visit, article_text_outside_code, is_notebook,
                          source)

from helpers.languages import LANGUAGES, REGISTRY
from helpers.plot import FIGURE_DPI, MIN_FONT_PT
from tools import notebook_export
from tools.build_book import BINDERHUB_URL, repository_url
from tools.notebooks_bundle import (SETUP_TAG, WHEEL_PREFIX, bundle_name, link_text,
                                    setup_cell_source)
from tools.serve_and_screenshot import ROOT
from tools.toc import book_pages

NOTEBOOK_PAGES = [p for p in PAGES if is_notebook(p)]


def split(page_id: str) -> tuple[str, str]:
    lang, name = page_id.split("/", 1)
    return lang, name


# --- loading: HTTP 200, no JavaScript errors, no broken images or links ------


def test_every_page_of_both_editions_is_reached_from_the_landing_page(crawl):
    missing = [f"{p}.html" for p in PAGES if f"{p}.html" not in crawl]
    assert not missing, f"not reachable by links from index.html: {missing}"


def _problems(path: str, visit: Visit) -> list[str]:
    problems = [] if visit.status == 200 else [f"HTTP {visit.status}"]
    problems += visit.errors
    problems += [f"broken image: {src}" for src in visit.broken_images]
    return [f"{path}: {p}" for p in problems]


@pytest.mark.parametrize("page_id", PAGES)
def test_page_loads_without_errors(crawl, page_id):
    visit = crawl.get(f"{page_id}.html")
    assert visit is not None, f"{page_id}.html is not reachable from index.html"
    problems = _problems(f"{page_id}.html", visit)
    assert not problems, "\n".join(problems)


def test_other_pages_load_without_errors(crawl):
    """The landing page, search pages, indexes: everything the crawl reached."""
    chapters = {f"{p}.html" for p in PAGES}
    problems = [p for path, visit in crawl.items() if path not in chapters
                for p in _problems(path, visit)]
    assert "index.html" in crawl and not problems, "\n".join(problems)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_links_inside_the_site_resolve(crawl, base_url):
    """Every same-site link leads to a file that is served, and to an anchor that exists."""
    broken, checked = [], {}
    for path, visit in crawl.items():
        for url in visit.links:
            parts = urlsplit(url)
            target = parts.path.removeprefix(urlsplit(base_url).path)
            if target == "" or target.endswith("/"):
                target += "index.html"
            if target.endswith(".html"):
                seen = crawl.get(target)
                if seen is None or seen.status != 200:
                    broken.append(f"{path} -> {url}")
                elif parts.fragment and parts.fragment not in seen.ids:
                    broken.append(f"{path} -> {url} (no element with id {parts.fragment!r})")
            else:
                if target not in checked:
                    checked[target] = _status(base_url + target)
                if checked[target] != 200:
                    broken.append(f"{path} -> {url} (HTTP {checked[target]})")
    assert not broken, "broken links:\n" + "\n".join(sorted(set(broken)))


# --- math ------------------------------------------------------------------

#: Code: fenced code cells and code blocks, and inline code spans.
_CODE = re.compile(r"^(`{3,}|~{3,})(\{code-cell\}|\{code-block\}|\{code\}|[\w+-]*)[ \t][^\n]*\n"
                   r".*?^\1[ \t]*$|^(`{3,}|~{3,})(\{code-cell\}|\{code-block\}|\{code\}|[\w+-]*)\n"
                   r".*?^\3[ \t]*$|(?<!\})`[^`\n]+`", re.S | re.M)
_SOURCE_MATH = re.compile(r"\$\$|\{math\}|\\begin\{|(?<![\\$\w])\$[^$\s][^$\n]*?\$")


def source_has_math(page_id: str) -> bool:
    """True when the page's Markdown has math outside code (``$``, ``$$``, ``{math}``)."""
    return _has_math(source(page_id).read_text(encoding="utf-8"))


def _has_math(markdown: str) -> bool:
    return bool(_SOURCE_MATH.search(_CODE.sub("", markdown)))


_MATH_STATE = """() => {
  const math = [...document.querySelectorAll('.math')];
  return {
    count: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container'))
                   .map(e => e.textContent.trim().slice(0, 80)),
    errors: [...document.querySelectorAll('mjx-merror')]
                .map(e => e.getAttribute('data-mjx-error') || e.textContent),
    // MathJax draws symbols with CSS; text inside typeset math is \\text{} or an
    // undefined macro, which MathJax shows as its name in red.
    undefined: [...document.querySelectorAll('mjx-container mjx-mtext')]
                .map(e => e.textContent).filter(t => t.startsWith('\\\\')),
  };
}"""


@pytest.mark.parametrize("page_id", PAGES)
def test_math_is_typeset(tabs, page_id):
    reader = tabs.open(page_id)
    assert tabs.status == 200
    state = reader.page.evaluate(_MATH_STATE)
    if source_has_math(page_id):
        assert state["count"] > 0, "the source has math, but the page shows none"
    assert not state["untypeset"], f"math left untypeset: {state['untypeset']}"
    assert not state["errors"], f"MathJax errors: {state['errors']}"
    assert not state["undefined"], f"undefined TeX macros: {state['undefined']}"
    text = article_text_outside_code(reader.page)
    raw = RAW_MATH.findall(text) + RAW_TEX.findall(text)
    assert not raw, f"raw TeX left in the text: {raw[:5]}"


# --- figures -----------------------------------------------------------------

def figures(tabs, page_id) -> list[dict]:
    """The figures of a page (read when its tab was opened)."""
    if page_id not in tabs.figures:
        tabs.open(page_id)
        assert tabs.status == 200
    return tabs.figures[page_id]


@pytest.mark.parametrize("page_id", PAGES)
def test_figures_show_an_image_and_a_numbered_caption(tabs, page_id):
    lang, _ = split(page_id)
    numbered = re.compile(rf"^{re.escape(REGISTRY[lang].figure)}\s*\d+(\.\d+)*\s*\S")
    problems = []
    for fig in figures(tabs, page_id):
        name = fig["id"] or fig["src"]
        if not fig["src"] or fig["width"] == 0:
            problems.append(f"{name}: the image does not load")
        if not numbered.match(fig["caption"]):
            problems.append(f"{name}: caption {fig['caption']!r} is not a numbered caption")
    assert not problems, "\n".join(problems)


def _pixels(url: str):
    from PIL import Image

    with urllib.request.urlopen(url, timeout=30) as response:
        return Image.open(io.BytesIO(response.read())).convert("RGB")


@pytest.mark.parametrize("name", book_pages())
def test_chinese_figures_are_drawn_for_the_chinese_edition(tabs, name):
    """Chinese figures are drawn on the Chinese page, with the CJK font.

    The method: (1) both editions show the same figures (same labels, same order);
    (2) each Chinese figure is an image of the Chinese edition, output by a page whose
    first code cell declares ``LANG = "zh"`` and calls ``helpers.page.setup(LANG)``
        (or ``use_house_style(LANG)``), which
    puts Noto Sans CJK SC first (tests/test_plot.py draws every Chinese label with it
    and fails on a missing glyph; a glyph missing on a page is a warning, which fails
    the strict build); (3) the Chinese images differ from the English ones, so their
    text really is the Chinese text. Step (3) compares pixels, not files: a tofu box
    would differ too, which is why (2) is the proof of the font and (3) of the language.
    """
    english, chinese = figures(tabs, f"en/{name}"), figures(tabs, f"zh/{name}")
    english_cell, chinese_cell = tabs.first_cells[f"en/{name}"], tabs.first_cells[f"zh/{name}"]
    assert [f["id"] for f in chinese] == [f["id"] for f in english], \
        "the editions show different figures"
    if not chinese:
        pytest.skip(f"{name} has no figures yet")
    for lang, cell in (("en", english_cell), ("zh", chinese_cell)):
        assert re.search(rf'^LANG = "{lang}"$', cell, re.M), \
            f"{lang}/{name}: the first code cell does not declare LANG = \"{lang}\""
        assert "helpers.page.setup(LANG)" in cell or "use_house_style(LANG)" in cell, \
            (f"{lang}/{name}: the first code cell calls neither helpers.page.setup(LANG) "
             f"nor use_house_style(LANG)")
    assert all(f["src"].startswith(tabs.base_url + "zh/") for f in chinese), \
        "a Chinese figure is not an image of the Chinese edition"
    same = [zh["id"] for zh, en in zip(chinese, english)
            if _pixels(zh["src"]).tobytes() == _pixels(en["src"]).tobytes()]
    assert len(same) < len(chinese), \
        f"every Chinese figure is pixel-identical to the English one: {same}"


# --- the language switch -------------------------------------------------------


@pytest.mark.parametrize("page_id", PAGES)
def test_language_switch_leads_to_the_counterpart_and_back(tabs, page_id):
    """Run last on the page's tab: it navigates away."""
    lang, name = split(page_id)
    reader = tabs.open(page_id)
    assert tabs.status == 200
    others = [code for code in LANGUAGES if code != lang]
    try:
        _switch_there_and_back(reader, lang, name, others)
    finally:
        tabs.forget()


def _switch_there_and_back(reader, lang, name, others) -> None:
    for here, there in [step for other in others for step in ((lang, other), (other, lang))]:
        switch = reader.page.locator(
            f'a[data-language-switch][hreflang="{REGISTRY[there].html}"]')
        assert switch.count() == 1, f"{here}/{name}: no language switch to {there}"
        assert switch.is_visible(), f"{here}/{name}: the language switch is hidden"
        with reader.page.expect_navigation():
            switch.click()
        assert reader.url_path() == f"{there}/{name}.html"
        assert reader.page.get_attribute("html", "lang") == REGISTRY[there].html
        assert not reader.console.errors, reader.console.errors


@pytest.mark.parametrize("lang", LANGUAGES)
def test_chapters_and_sections_are_numbered_as_in_the_notebooks(reader, lang):
    """d2l's numbering: "3. L1 regularization", "3.2. Norms and the L1 penalty"; the
    downloaded notebooks (tools/notebook_export.py) number their headings the same."""
    book = notebook_export.Book(lang)
    for page, chapter in list(book.chapters.items())[:4]:
        assert reader.open(f"{lang}/{page}.html") == 200
        numbers = reader.page.locator("article h1 .section-number, article h2 .section-number"
                                      ).all_inner_texts()
        expected = [f"{chapter}. "] + [f"{n}. " for (p, _), n in book.sections.items()
                                       if p == page and n.count(".") == 1]
        assert [n.replace("\xa0", " ") for n in numbers] == expected, page


def _helper_calls(page_id: str) -> set[str]:
    """``helpers.<module>.<name>`` of every public helper the page's visible code calls
    as ``module.name(`` after ``from helpers import module``."""
    import importlib

    import jupytext

    notebook = jupytext.read(source(page_id))
    cells = [c.source for c in notebook.cells if c.cell_type == "code"
             and not {"remove-cell", "remove-input"} & set(c.metadata.get("tags", []))]
    code = "\n".join(cells)
    modules = {m.strip() for line in re.findall(r"^from helpers import ([\w, ]+)$", code, re.M)
               for m in line.split(",")}
    calls = set()
    for module, name in re.findall(r"\b(\w+)\.(\w+)\(", code):
        if module in modules and name in importlib.import_module(f"helpers.{module}").__all__:
            calls.add(f"helpers.{module}.{name}")
    return calls


@pytest.mark.parametrize("page_id", NOTEBOOK_PAGES or ["none"])
def test_helpers_called_in_code_link_to_their_api_entries(tabs, page_id):
    """Every public helper that a page's visible code calls links, in the code cell
    itself, to its entry in the API reference (sphinx-codeautolink)."""
    calls = _helper_calls(page_id)
    reader = tabs.open(page_id)
    assert tabs.status == 200
    hrefs = reader.page.evaluate(
        "() => [...document.querySelectorAll('div.cell_input a, div.highlight a')]"
        ".map(a => a.getAttribute('href'))")
    linked = {h.split("#", 1)[1] for h in hrefs if h and "api.html#" in h}
    assert calls <= linked, f"not linked to the API: {sorted(calls - linked)}"


#: Labelled places deep in two chapters: the switch must lead to the same place.
ANCHORED = [("l1-regularization", "l1-geometry"), ("pruning", "pruning-torch"),
            ("pruning", "fig-prune-sensitivity")]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name, label", ANCHORED)
def test_language_switch_keeps_the_readers_place(reader, lang, name, label):
    """Reading a labelled section or figure, the switch opens the counterpart there."""
    assert reader.open(f"{lang}/{name}.html") == 200
    # the theme scrolls smoothly: jump, then a little way into the section
    reader.page.evaluate(f"document.getElementById({label!r})"
                         ".scrollIntoView({behavior: 'instant', block: 'start'})")
    reader.page.evaluate("window.scrollBy({top: 40, behavior: 'instant'})")
    other = next(code for code in LANGUAGES if code != lang)
    box = reader.page.locator(
        f'a[data-language-switch][hreflang="{REGISTRY[other].html}"]').bounding_box()
    with reader.page.expect_navigation():  # a reader's click: the page does not scroll
        reader.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    reader.page.wait_for_load_state("load")
    assert reader.url_path() == f"{other}/{name}.html"
    assert reader.page.url.endswith(f"#{label}"), reader.page.url
    top = reader.page.evaluate(
        f"document.getElementById({label!r}).getBoundingClientRect().top")
    assert -5 <= top < 300, f"{label} is {top:.0f} px from the top of the window"
    assert not reader.console.errors, reader.console.errors


# --- launch and download buttons (notebook pages) ------------------------------


def _open_menu(reader, kind: str):
    reader.page.locator(f".dropdown-{kind}-buttons button.dropdown-toggle").click()
    menu = reader.page.locator(f".dropdown-{kind}-buttons .dropdown-menu")
    menu.wait_for(state="visible")
    return menu


#: Addresses of the repository the site was built from (tools/build_book.py derives it
#: from the checkout's git remote; None: the site has no repository or launch buttons).
REPOSITORY = repository_url()
#: Hosts of repositories and notebook services: a link there must name REPOSITORY.
REPOSITORY_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "mybinder.org",
                    "colab.research.google.com", "deepnote.com")
#: The addresses the book and Jupyter Book once used as stand-ins for a repository.
PLACEHOLDERS = ("l1-pruning-book/l1-pruning-book", "executablebooks/jupyter-book",
                "<repository", "%3Crepository")


def test_no_link_points_at_a_placeholder_repository(crawl):
    """Every link to a repository or notebook service opens the book's own repository."""
    wrong = []
    repo = urlsplit(REPOSITORY).path.strip("/") if REPOSITORY else None
    for path, visit in crawl.items():
        for url in visit.external:
            host = urlsplit(url).hostname or ""
            placeholder = any(p in url for p in PLACEHOLDERS)
            elsewhere = host.endswith(REPOSITORY_HOSTS) and (repo is None or repo not in url)
            if placeholder or elsewhere:
                wrong.append(f"{path}: {url}")
    assert not wrong, "links to a placeholder or foreign repository:\n" + "\n".join(wrong)


@pytest.mark.skipif(not NOTEBOOK_PAGES, reason="no notebook pages yet")
@pytest.mark.parametrize("page_id", NOTEBOOK_PAGES or ["none"])
def test_launch_buttons_open_this_page_of_the_repository(tabs, page_id):
    """With a repository, Binder opens this page's source there; without, no buttons."""
    lang, name = split(page_id)
    reader = tabs.open(page_id)
    assert tabs.status == 200
    if REPOSITORY is None:
        assert reader.page.locator(".dropdown-launch-buttons").count() == 0, \
            "launch buttons on a site built without a repository"
        assert reader.page.locator("a[title='Source repository'], "
                                   ".btn-source-repository-button").count() == 0
        return
    menu = _open_menu(reader, "launch")
    hrefs = [a.get_attribute("href") for a in menu.locator("a").all() if a.is_visible()]
    repo = urlsplit(REPOSITORY).path.strip("/")
    links = [h for h in hrefs if h.startswith(BINDERHUB_URL)]
    assert links, "no Binder button"
    assert repo in links[0], f"Binder does not open the book's repository: {links[0]}"
    assert links[0].endswith(f"book/{lang}/{name}.md") or \
        links[0].endswith(f"book/{lang}/{name}.ipynb"), \
        f"Binder does not open this page's source (book/{lang}/{name}.*): {links[0]}"


@pytest.mark.skipif(not NOTEBOOK_PAGES, reason="no notebook pages yet")
@pytest.mark.parametrize("page_id", NOTEBOOK_PAGES or ["none"])
def test_download_buttons_give_the_notebook_and_its_source(tabs, page_id):
    lang, name = split(page_id)
    reader = tabs.open(page_id)
    assert tabs.status == 200
    menu = _open_menu(reader, "download")
    links = {a.inner_text().strip(): a.get_attribute("href")
             for a in menu.locator("a").all() if a.is_visible()}
    assert {".ipynb", ".md", link_text(lang)} <= set(links), \
        f"download menu offers {sorted(links)}"
    assert menu.locator(".btn-download-pdf-button").is_visible(), "no .pdf (print) button"
    base = reader.page.url.rsplit("/", 1)[0] + "/"
    with urllib.request.urlopen(base + links[".md"], timeout=30) as response:
        assert response.read().decode("utf-8") == source(page_id).read_text(encoding="utf-8")
    with urllib.request.urlopen(base + links[".ipynb"], timeout=30) as response:
        notebook = json.loads(response.read())
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    code = ["".join(c["source"]) for c in cells]
    assert cells and cells[0]["metadata"].get("tags") == [SETUP_TAG] and \
        "".join(cells[0]["source"]) == setup_cell_source(lang), \
        "the downloaded notebook does not start with the setup cell"
    assert re.search(rf'^LANG = "{lang}"$', code[1], re.M), \
        "the downloaded notebook's second cell is not this edition's first cell"
    # it reads like the page: no MyST left, the figures numbered as here
    notebook = nbformat.from_dict(notebook)
    assert notebook_export.unresolved(notebook) == []
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "{glue" not in text and "```{" not in text
    figure_word = REGISTRY[lang].figure
    shown = reader.page.locator("figcaption .caption-number").all_inner_texts()
    numbers = re.findall(rf"\*\*{re.escape(figure_word)} ([\d.]+)\*\*", text)
    assert [re.sub(r"[^\d.]", "", n).strip(".") for n in shown] == numbers


def test_a_downloaded_notebook_installs_helpers_from_the_served_site(base_url, tmp_path):
    """Colab's route against the built site served on 127.0.0.1: a page's downloaded
    notebook, alone in an empty folder, in a fresh virtual environment; its setup cell
    (as ``build_book --base-url`` writes it, tests/test_build_book.py) installs the wheel
    that ``make book`` published at the site's root, and the notebook runs."""
    from fresh_env import run_alone

    with urllib.request.urlopen(base_url + "en/_sources/how-to-use.ipynb", timeout=30) as r:
        notebook = nbformat.reads(r.read().decode("utf-8"), as_version=4)
    assert notebook.cells[0].metadata["tags"] == [SETUP_TAG]
    notebook.cells[0].source = setup_cell_source("en", base_url)
    run_alone(notebook, "how-to-use.ipynb", tmp_path)


def _bundle_is_complete(data: bytes, lang: str) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = {Path(n).name for n in archive.namelist()}
    assert {"README.md", "requirements.txt", "how-to-use.ipynb"} <= names, sorted(names)
    assert any(n.startswith(WHEEL_PREFIX) and n.endswith(".whl") for n in names), sorted(names)


@pytest.mark.parametrize("page_id", PAGES)
def test_every_page_links_its_editions_notebooks_bundle(tabs, page_id):
    lang, _ = split(page_id)
    reader = tabs.open(page_id)
    assert tabs.status == 200
    menu = _open_menu(reader, "download")
    link = menu.locator("a", has_text=link_text(lang))
    assert link.count() == 1, f"{page_id}: no notebooks bundle in the download menu"
    url = urljoin(reader.page.url, link.get_attribute("href"))
    assert url.endswith(f"/{lang}/{bundle_name(lang)}.zip"), url


def test_landing_page_links_both_bundles_and_they_download(reader):
    assert reader.open("index.html", math=False) == 200
    for lang in LANGUAGES:
        link = reader.page.locator(f"a[href='{lang}/{bundle_name(lang)}.zip']")
        assert link.count() == 1, f"the landing page does not link the {lang} bundle"
        with urllib.request.urlopen(urljoin(reader.page.url, link.get_attribute("href")),
                                    timeout=30) as response:
            assert response.status == 200
            _bundle_is_complete(response.read(), lang)


def _sphinx_translation(message: str, lang: str) -> str:
    """``message`` as Sphinx's own catalogue translates it in the edition's language."""
    import gettext

    import sphinx

    catalogue = gettext.translation("sphinx", Path(sphinx.__file__).parent / "locale",
                                    languages=[REGISTRY[lang].sphinx], fallback=True)
    return catalogue.gettext(message)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_api_reference_loads_with_entries_linked_to_chapters(reader, lang):
    assert reader.open(f"{lang}/api.html", math=False) == 200
    entries = reader.page.locator("dl.py.function, dl.py.class")
    assert entries.count() >= 40, f"{lang}/api.html: only {entries.count()} entries"
    assert not reader.console.errors, reader.console.errors
    to_sections = reader.page.locator("dd a.reference.internal[href*='.html#']")
    assert to_sections.count() >= 20, "API entries do not link to the chapters' sections"
    examples = _sphinx_translation("Examples", lang)  # napoleon's heading
    assert reader.page.locator("p.rubric", has_text=examples).count() >= 20
    reader.open(f"{lang}/pruning.html", math=False)
    assert reader.page.locator("a.api-link[href^='api.html#helpers.']").count() >= 5, \
        "the pruning chapter does not link its helpers to the API reference"


# --- phone width ------------------------------------------------------------------

_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (style.overflowX !== 'visible' && style.overflowX !== 'clip' ||
          style.position === 'fixed') return true;
    }
    return false;
  };
  const offenders = [...document.querySelectorAll('body *')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && (r.right > width + 1 || r.left < -1) && !clipped(el)
      && getComputedStyle(el).visibility !== 'hidden';
  }).slice(0, 8).map(el => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`
                           + ` [${Math.round(el.getBoundingClientRect().left)}, `
                           + `${Math.round(el.getBoundingClientRect().right)}]`);
  const article = document.querySelector('article.bd-article, article, main');
  const box = article.getBoundingClientRect();
  const buttons = [...document.querySelectorAll(
      '.header-article-items__start > *, .header-article-items__end > *')]
    .map(e => e.getBoundingClientRect()).filter(r => r.width > 0);
  return {width, scrollWidth: document.documentElement.scrollWidth,
          article: [box.left, box.right], offenders,
          buttonRows: buttons.map(r => Math.round(r.top)),
          buttonsRight: Math.max(0, ...buttons.map(r => r.right))};
}"""


@pytest.mark.parametrize("page_id", PAGES)
def test_phone_width_has_no_horizontal_overflow(phone_reader, screenshots, page_id):
    lang, name = split(page_id)
    assert phone_reader.open(f"{page_id}.html") == 200
    state = phone_reader.page.evaluate(_OVERFLOW)
    (screenshots / "phone" / lang).mkdir(parents=True, exist_ok=True)
    phone_reader.page.screenshot(path=str(screenshots / "phone" / lang / f"{name}.png"))
    assert state["width"] == 390
    assert state["scrollWidth"] <= state["width"], \
        f"the page scrolls sideways ({state['scrollWidth']} px wide): {state['offenders']}"
    left, right = state["article"]
    assert left >= 0 and right <= state["width"] + 1, \
        f"the text column spans {left:.0f}..{right:.0f} px of {state['width']}"
    assert right - left >= 300, f"the text column is only {right - left:.0f} px wide"
    rows = state["buttonRows"]
    assert rows and max(rows) - min(rows) <= 4, \
        f"the header's buttons do not fit one row (tops at {rows} px)"
    assert state["buttonsRight"] <= state["width"], "a header button is off the screen"


_LEGIBLE = """() => {
  const images = [...document.querySelectorAll('article .cell_output img, article figure img')]
    .filter(img => img.naturalWidth > 0 && !img.src.endsWith('.svg'));
  const formulas = [...document.querySelectorAll('mjx-container')].filter(m => {
    const style = getComputedStyle(m);
    const scrolls = style.overflowX === 'auto' || style.overflowX === 'scroll';
    return m.scrollWidth > m.clientWidth + 1 && !scrolls;
  });
  const cut = (el) => {  // drawn past the screen, and no scrolling box around it
    const r = el.getBoundingClientRect();
    if (r.right <= document.documentElement.clientWidth + 1) return false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX;
      if (x === 'auto' || x === 'scroll') return false;
    }
    return true;
  };
  return {
    scales: images.map(img => [img.getBoundingClientRect().width / img.naturalWidth,
                               img.getAttribute('src').split('/').pop()]),
    unscrollable: formulas.map(m => m.textContent.slice(0, 60)),
    cut: [...document.querySelectorAll('mjx-container, article table')].filter(cut)
      .map(e => e.tagName.toLowerCase() + ': ' + e.textContent.slice(0, 60)),
  };
}"""


@pytest.mark.parametrize("page_id", PAGES)
def test_phone_figures_formulas_and_tables_are_legible(phone_reader, page_id):
    """At 390 px: figure text is at least 9 px as rendered (its smallest text,
    ``helpers.plot.MIN_FONT_PT`` at the house style's dpi, times the image's scale);
    a formula or table wider than the screen scrolls instead of being cut off."""
    assert phone_reader.open(f"{page_id}.html") == 200
    phone_reader.page.wait_for_load_state("networkidle")
    state = phone_reader.page.evaluate(_LEGIBLE)
    smallest = MIN_FONT_PT / 72 * FIGURE_DPI  # px in the image
    small = [(f"{scale * smallest:.1f} px", name) for scale, name in state["scales"]
             if scale * smallest < 9]
    assert not small, f"figure text below 9 px on a phone: {small}"
    assert not state["unscrollable"], f"formulas cut off: {state['unscrollable']}"
    assert not state["cut"], f"cut off at the screen's edge: {state['cut']}"


# --- screenshots for reviewers -----------------------------------------------------


@pytest.mark.parametrize("page_id", PAGES)
def test_first_screen_screenshot(tabs, screenshots, page_id):
    """Save the first screen as ``<screenshots>/<lang>/<page>.png`` (a build artefact);
    the first test on the page's tab, before any menu is opened."""
    from PIL import Image, ImageStat

    lang, name = split(page_id)
    reader = tabs.open(page_id)
    assert tabs.status == 200
    reader.page.evaluate("() => document.fonts.ready")
    path = screenshots / lang / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    reader.page.screenshot(path=str(path))
    with Image.open(path) as image:
        assert image.size == (1280, 800)
        spread = ImageStat.Stat(image.convert("L")).stddev[0]
    assert spread > 10, f"the first screen looks blank (grey-level spread {spread:.1f})"


# --- folded code cells: their toggles speak the edition's language --------------


def _toggle_labels(reader) -> list[str]:
    return reader.page.eval_on_selector_all(
        "details.hide summary",
        "els => els.map(e => e.innerText.trim()).filter(t => t.length > 0)")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_folded_content_hints_speak_the_edition_language(reader, lang):
    """sphinx-togglebutton's hint on a folded solution ("Click to show") is the
    edition's (``Language.toggle_hints``)."""
    assert reader.open(f"{lang}/pruning.html", math=False) == 200
    hints = reader.page.evaluate("[toggleHintShow, toggleHintHide]")
    assert tuple(hints) == REGISTRY[lang].toggle_hints


@pytest.mark.parametrize("lang", LANGUAGES)
def test_code_toggles_speak_the_edition_language(reader, lang):
    """A folded cell's "Show code cell source" reads in the edition's language,
    before and after it is opened."""
    show, hide = REGISTRY[lang].code_toggles
    parts = REGISTRY[lang].code_parts or {"source": "source"}
    expected_show = {show.replace("{type}", name) for name in parts.values()}
    expected_hide = {hide.replace("{type}", name) for name in parts.values()}
    pages = [p for p in NOTEBOOK_PAGES if split(p)[0] == lang
             and ":tags: [hide-input]" in source(p).read_text(encoding="utf-8")]
    assert pages, f"{lang}: no page folds a code cell"
    for page_id in pages:
        assert reader.open(f"{page_id}.html", math=False) == 200
        labels = _toggle_labels(reader)
        assert labels, f"{page_id}: no toggle of a folded code cell"
        assert set(labels) <= expected_show, f"{page_id}: toggles read {set(labels)}"
        reader.page.locator("details.hide summary").first.click()
        opened = reader.page.locator("details.hide[open] summary").first.inner_text()
        assert opened.strip() in expected_hide, f"{page_id}: opened toggle reads {opened!r}"
        name = reader.page.locator("details.hide summary").first.get_attribute("aria-label")
        assert name == REGISTRY[lang].toggle_label, f"{page_id}: toggle named {name!r}"


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if REGISTRY[code].interface])
def test_theme_texts_speak_the_edition_language(reader, lang):
    """The theme's tooltips, accessible names and footer are translated."""
    for page_id in [p for p in PAGES if split(p)[0] == lang][:3]:
        assert reader.open(f"{page_id}.html", math=False) == 200
        html = reader.page.content()
        left = [text for text in REGISTRY[lang].interface if f'="{text}"' in html]
        assert not left, f"{page_id}: untranslated theme texts {left}"
        footer = reader.page.locator("footer.bd-footer-content").inner_text()
        assert REGISTRY[lang].author in footer, f"{page_id}: footer reads {footer!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_solutions_are_titled_in_the_editions_word_order(reader, lang):
    """ "练习 16 的解答" in Chinese (the registry's ``solution_title``), not the word
    for word "解答 练习 16"; the link still leads to the exercise."""
    page_id = next(p for p in NOTEBOOK_PAGES if split(p)[0] == lang
                   and "solution-start" in source(p).read_text(encoding="utf-8"))
    assert reader.open(f"{page_id}.html", math=False) == 200
    titles = reader.page.eval_on_selector_all(
        "div.solution > p.admonition-title",
        "els => els.map(e => [e.innerText.trim(), e.querySelector('a').hash])")
    assert titles, f"{page_id}: no solution"
    template = REGISTRY[lang].solution_title or "Solution to {exercise}"
    before, after = (re.escape(part) for part in template.split("{exercise}"))
    for text, link in titles:
        assert re.fullmatch(f"{before}\\S+ \\d+(?:\\.\\d+)*{after}", text), f"{page_id}: {text!r}"
        assert link.startswith("#ex-"), f"{page_id}: the title links to {link!r}"

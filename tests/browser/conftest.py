"""The browser suite: the built website, read in headless Chromium as readers meet it.

Run it with ``make browser-test`` (which builds the site first if there is none), or
by hand::

    BOOK_BROWSER_TESTS=1 .venv/bin/python -m pytest tests/browser
    BOOK_BROWSER_TESTS=1 BOOK_SITE=/tmp/build-x/html .venv/bin/python -m pytest tests/browser

It is not part of the default ``pytest`` run (``make test``), which needs no browser:
without ``BOOK_BROWSER_TESTS=1`` its tests are deselected. ``BOOK_SITE`` names the built
site (default ``_build/html``). Screenshots go to ``BOOK_SCREENSHOTS`` (default: the
``screenshots`` folder beside the site, so ``_build/screenshots``).

The site is served on 127.0.0.1 by the session (tools/serve_and_screenshot.py); the
browser reaches nothing else (MathJax is served from a pinned local copy).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from book_browser import COLLECT, Reader, Tabs, Visit, new_context

from tools.serve_and_screenshot import DESKTOP, PHONE, ROOT, launch, serve

ENABLED = os.environ.get("BOOK_BROWSER_TESTS") == "1"
HERE = Path(__file__).resolve().parent


#: The order of a page's tests on its shared tab (``tabs``): the screenshot before any
#: menu is opened, the language switch (which navigates away) last.
ON_THE_TAB = ("test_first_screen_screenshot", "test_math_is_typeset",
              "test_figures_show_an_image_and_a_numbered_caption",
              "test_download_buttons_give_the_notebook_and_its_source",
              "test_launch_buttons_open_this_page_of_the_repository",
              "test_every_page_links_its_editions_notebooks_bundle",
              "test_chinese_figures_are_drawn_for_the_chinese_edition",
              "test_language_switch_leads_to_the_counterpart_and_back")


def _by_page(item) -> tuple:
    """Sort key: tests on the shared tab, grouped by page (the Chinese figures test right
    after the Chinese page's own tests, when both editions' figures are known)."""
    name = getattr(item, "originalname", "")
    if name not in ON_THE_TAB or not hasattr(item, "callspec"):
        return (0, "", 0)
    params = item.callspec.params
    page = params.get("page_id") or f"zh/{params['name']}"
    return (1, page, ON_THE_TAB.index(name))


def pytest_collection_modifyitems(config, items):
    """Without BOOK_BROWSER_TESTS=1, leave the browser suite out (reported as deselected);
    with it, run each page's tests together, on one tab."""
    if ENABLED:
        mine = [item for item in items if Path(str(item.path)).resolve().is_relative_to(HERE)]
        chosen = set(map(id, mine))
        start = next((k for k, item in enumerate(items) if id(item) in chosen), len(items))
        rest = [item for item in items if id(item) not in chosen]
        items[:] = rest[:start] + sorted(mine, key=_by_page) + rest[start:]
        return
    mine = [item for item in items if Path(str(item.path)).resolve().is_relative_to(HERE)]
    if mine:
        config.hook.pytest_deselected(items=mine)
        chosen = set(map(id, mine))
        items[:] = [item for item in items if id(item) not in chosen]


# --- the served site and the browser ---------------------------------------


@pytest.fixture(scope="session")
def site() -> Path:
    path = Path(os.environ.get("BOOK_SITE", ROOT / "_build" / "html")).resolve()
    if not (path / "index.html").is_file():
        pytest.fail(f"no built site at {path}: build it first "
                    "(.venv/bin/python -m tools.build_book, or make browser-test)")
    return path


@pytest.fixture(scope="session")
def screenshots(site) -> Path:
    path = Path(os.environ.get("BOOK_SCREENSHOTS", site.parent / "screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def base_url(site):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    pytest.importorskip("playwright", reason="playwright is in requirements.txt")
    with launch() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def desktop(browser, base_url):
    context, network = new_context(browser, base_url, DESKTOP)
    yield context, network
    context.close()


@pytest.fixture(scope="session")
def phone(browser, base_url):
    context, network = new_context(browser, base_url, PHONE)
    yield context, network
    context.close()


@pytest.fixture
def reader(desktop, base_url):
    tab = Reader(*desktop, base_url)
    yield tab
    tab.close()


@pytest.fixture(scope="session")
def tabs(desktop, base_url):
    shared = Tabs(*desktop, base_url)
    yield shared
    shared.forget()


@pytest.fixture
def phone_reader(phone, base_url):
    tab = Reader(*phone, base_url)
    yield tab
    tab.close()


# --- the crawl: every page reachable from index.html -----------------------


@pytest.fixture(scope="session")
def crawl(desktop, base_url) -> dict[str, Visit]:
    """Visit every HTML page reachable from ``index.html``; key: path in the site."""
    context, network = desktop
    visits: dict[str, Visit] = {}
    queue = ["index.html"]
    while queue:
        path = queue.pop(0)
        if path in visits:
            continue
        tab = Reader(context, network, base_url)
        blocked_before = len(network.blocked)
        status = tab.open(path)
        found = tab.page.evaluate(COLLECT)
        errors = tab.console.errors + [f"external request: {u}"
                                       for u in network.blocked[blocked_before:]]
        visits[path] = Visit(status, errors, found["broken"],
                             [u for u in found["links"] if u.startswith(base_url)],
                             set(found["ids"]),
                             [u for u in found["links"] if not u.startswith(base_url)])
        tab.close()
        for url in visits[path].links:
            target = url.removeprefix(base_url).split("#")[0].split("?")[0]
            if target.endswith("/"):
                target += "index.html"
            if target.endswith(".html") and target not in visits:
                queue.append(target)
    return visits

"""Serve a built site on a loopback port and look at it with headless Chromium.

Usage (``make browser-test`` runs the browser suite, which uses this module)::

    python -m tools.serve_and_screenshot                      # _build/html -> _build/screenshots
    python -m tools.serve_and_screenshot --site /tmp/b/html   # another build
    python -m tools.serve_and_screenshot --width 390          # phone width

It saves the first screen of every page in the table of contents, in both
editions, as ``<out>/<lang>/<page>.png`` so a reviewer can look at them.

The pieces are shared by the browser suite (``tests/browser/``) and the PDF
editions (``tools/build_pdf.py``):

* :func:`serve` serves a folder over HTTP on 127.0.0.1 (a random free port) from a
  background thread, so pages load as they do from a web server (``file://`` URLs
  behave differently for scripts and search).
* :func:`launch` starts Debian's Chromium (``/usr/bin/chromium``) through Playwright,
  headless, with a fresh temporary profile (Playwright creates one per launch and
  deletes it on close). Playwright's own browser download is never used.
* :func:`offline_routes` keeps the browser off the network. Requests to the site's
  own server go through (the site ships its own MathJax: book/_ext/local_mathjax.py);
  every other request is aborted and recorded, so a page that needs the internet
  is noticed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from helpers.languages import LANGUAGES
from tools.toc import book_pages

ROOT = Path(__file__).resolve().parent.parent

#: Chromium's switches: headless, no sandbox (CI runs as root), and nothing that
#: would reach out to the network or depend on a previous profile.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> Path:
    """The Chromium executable: ``$CHROMIUM``, else Debian's ``/usr/bin/chromium``."""
    candidates = [os.environ.get("CHROMIUM"), "/usr/bin/chromium",
                  shutil.which("chromium"), shutil.which("chromium-browser")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError(
        "Chromium not found: install Debian's package (apt-get install chromium) "
        "or set CHROMIUM to the browser's executable")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port); yield the base URL (ending in /)."""
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise FileNotFoundError(f"no site to serve at {directory}")
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextlib.contextmanager
def launch(playwright=None):
    """Start headless Chromium (Debian's) with Playwright; yield the browser."""
    with contextlib.ExitStack() as stack:
        if playwright is None:
            from playwright.sync_api import sync_playwright

            playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path()), headless=True, args=list(CHROMIUM_ARGS))
        stack.callback(browser.close)
        yield browser


@dataclass
class Network:
    """What :func:`offline_routes` refused."""

    blocked: list[str] = field(default_factory=list)


def offline_routes(context, base_url: str) -> Network:
    """Route a browser context's requests: the site, nothing else."""
    site = urlsplit(base_url).netloc
    network = Network()

    def handle(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.netloc == site:
            route.continue_()
            return
        network.blocked.append(url)
        route.abort("internetdisconnected")

    context.route("**/*", handle)
    return network


def wait_for_math(page, timeout_ms: float = 30_000) -> bool:
    """Wait until MathJax has typeset the page; False when the page loads no MathJax."""
    if not page.locator("script[src*='mathjax']").count():
        return False
    page.wait_for_function(
        "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
        timeout=timeout_ms)
    page.evaluate("() => MathJax.startup.promise")
    return True


def screenshot_pages(site: Path, out: Path, pages: list[str] | None = None,
                     viewport: dict | None = None, playwright=None) -> list[Path]:
    """Save the first screen of each page of both editions as ``out/<lang>/<page>.png``."""
    pages = pages or book_pages()
    saved = []
    with serve(site) as base, launch(playwright) as browser:
        context = browser.new_context(viewport=viewport or DESKTOP)
        offline_routes(context, base)
        page = context.new_page()
        for lang in LANGUAGES:
            (out / lang).mkdir(parents=True, exist_ok=True)
            for name in pages:
                response = page.goto(f"{base}{lang}/{name}.html", wait_until="load")
                if response is None or response.status != 200:
                    raise RuntimeError(f"{lang}/{name}.html: HTTP "
                                       f"{response.status if response else 'no response'}")
                wait_for_math(page)
                page.evaluate("() => document.fonts.ready")
                path = out / lang / f"{name}.png"
                page.screenshot(path=str(path))
                saved.append(path)
        context.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html",
                        help="the built site (default: _build/html)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to save (default: SITE/../screenshots)")
    parser.add_argument("--width", type=int, default=DESKTOP["width"])
    parser.add_argument("--height", type=int, default=DESKTOP["height"])
    args = parser.parse_args(argv)
    out = args.out or args.site.resolve().parent / "screenshots"
    saved = screenshot_pages(args.site, out, viewport={"width": args.width,
                                                        "height": args.height})
    print(f"[screenshots] {len(saved)} pages -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the website: both editions of the book and the bilingual landing page.

Usage (``make book`` runs the first form inside the project's virtual environment)::

    python -m tools.build_book                 # strict build of both editions
    python -m tools.build_book --lang zh       # one edition only
    python -m tools.build_book --fresh         # execute every page again (no cache)
    python -m tools.build_book --no-strict     # let warnings through (drafting only)
    python -m tools.build_book --base-url https://example.org/book
                                               # where the site will be published

Sphinx has one ``language`` per build, so the English and Chinese editions are two
Jupyter Book builds from the same ``_config.yml`` and ``_toc.yml``: ``book/en`` into
``_build/html/en`` and ``book/zh`` into ``_build/html/zh``. Each edition gets its own
interface labels (Exercise / 练习, Figure / 图) and its own search index (Chinese is
segmented with jieba). ``book/index.html``, the bilingual landing page, is copied to
``_build/html/index.html``.

The strict build is Jupyter Book's ``-W -n --keep-going``: every warning is reported
and any warning fails the build. Note that an incremental rebuild does not repeat
the warnings of pages it does not rebuild; CI builds from a fresh clone.

The editions are built at the same time, each in its own process (``--jobs``, by
default one per CPU core up to the number of editions): every page runs torch on one
thread (``helpers.page.setup``), so on the 2-core machine of the book's budget the two
editions together take about as long as one. Each edition's log is printed whole
when it finishes, and each has its own execution cache (``_build/.jupyter_cache/<lang>``).

Before the editions, the pages' experiments (``helpers.experiments``) are computed once
for both, on every core, into ``_build/.experiments`` (``$BOOK_EXPERIMENT_CACHE``
when set); the timed ones run afterwards, alone. ``--fresh`` empties that cache too.
Then each edition's pages that its execution cache lacks are executed, the editions at
the same time, each edition's pages in one kernel that is reset to a fresh kernel's
state before every page (``tools.execute_pages``: a page saves the 3 s of a kernel's
start and imports), reading the experiments' results; they are stored in the
edition's execution cache, where Jupyter Book finds them and executes nothing. A page
that fails there is left to Jupyter Book, which executes it on its own and reports.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

try:
    from tools import execute_pages, notebooks_bundle
    from tools.repository import public_url, repository_url  # noqa: F401 (re-exported)
except ImportError:  # run as a script: tools/ itself is on sys.path
    import execute_pages
    import notebooks_bundle
    from repository import public_url, repository_url  # noqa: F401 (re-exported)
from helpers.languages import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
HTML = BUILD / "html"


def _set_build_dir(path: Path) -> None:
    global BUILD, HTML
    BUILD = path.resolve()
    HTML = BUILD / "html"

#: What differs between the editions' builds (from the language registry,
#: ``helpers.languages``). Everything else is in _config.yml.
EDITIONS: dict[str, dict] = {
    code: {
        "language": lang.sphinx,
        "project": lang.title,
        "author": lang.author,
        "html_title": lang.title,
        "html_search_language": lang.search,
        "bibtex_reference_style": lang.bibtex_style,
        "nb_code_prompt_show": lang.code_toggles[0],
        "nb_code_prompt_hide": lang.code_toggles[1],
        "togglebutton_hint": lang.toggle_hints[0],
        "togglebutton_hint_hide": lang.toggle_hints[1],
        "html_theme_options": {"search_bar_text": lang.search_text,
                               "path_to_docs": f"book/{code}"},
    }
    for code, lang in REGISTRY.items()
}


def helpers_fingerprint() -> str:
    """A hash of the source of the helpers package (its texts included) and of the book's
    Sphinx extensions.

    The execution cache keys a page on its own code only; when ``helpers`` changes,
    cached outputs may be stale, and when an extension in ``book/_ext`` changes, pages
    that Sphinx does not read again keep what the old one made (for instance the
    executed notebooks the download buttons offer); the build then starts from scratch.
    """
    digest = hashlib.sha256()
    sources = [*(ROOT / "helpers").rglob("*.py"), *(ROOT / "helpers" / "texts").glob("*.toml"),
               *(ROOT / "book" / "_ext").glob("*.py")]
    for path in sorted(sources):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


#: Where the launch buttons open a page when the repository is known.
BINDERHUB_URL = "https://mybinder.org"


def repository_options(url: str | None) -> dict:
    """The theme options for the repository and launch buttons.

    With a repository: its button, and the Binder launch button opening the page's
    MyST source there. Without one, neither (no button leads to a placeholder); the
    download buttons stay either way. Jupyter Book's defaults name its own repository
    and a Binder address; both are cleared here.
    """
    if url is None:
        return {"repository_url": "", "use_repository_button": False,
                "launch_buttons": {"binderhub_url": "", "jupyterhub_url": "",
                                   "colab_url": "", "deepnote_url": "", "thebe": False}}
    return {"repository_url": url, "use_repository_button": True,
            "launch_buttons": {"binderhub_url": BINDERHUB_URL,
                               "notebook_interface": "classic"}}


def sphinx_overrides(lang: str, build: Path, strict: bool,
                     repository: str | None = None, base_url: str | None = None) -> dict:
    """The settings that one edition's build adds to ``_config.yml``.

    ``base_url``: where the site is published (its root, holding ``index.html``,
    ``en/``, ``zh/`` and the ``helpers`` wheel): the edition's ``html_baseurl``, and the
    downloaded notebooks' setup cell installs the wheel from there.
    """
    overrides = {
        "external_toc_path": str(ROOT / "_toc.yml"),
        "nb_execution_cache_path": str(build / ".jupyter_cache" / lang),
        "latex_individualpages": False,
        **EDITIONS[lang],
    }
    overrides["html_theme_options"] = {**EDITIONS[lang]["html_theme_options"],
                                       **repository_options(repository)}
    # book/_ext/notebook_downloads.py: the setup cell of downloaded notebooks, and the
    # notebooks bundle that main() writes into the edition's root after the build.
    overrides["notebook_setup_cell"] = notebooks_bundle.setup_cell_source(lang, base_url)
    if base_url:
        overrides["html_baseurl"] = f"{base_url.rstrip('/')}/{lang}/"
    overrides["notebooks_bundle"] = notebooks_bundle.bundle_name(lang) + ".zip"
    overrides["notebooks_bundle_text"] = notebooks_bundle.link_text(lang)
    if strict:
        overrides["nitpicky"] = True
    return overrides


def build_edition(lang: str, strict: bool, build: Path | None = None,
                  base_url: str | None = None) -> int:
    """Build one edition; return the number of problems (0 means success)."""
    from jupyter_book.sphinx import build_sphinx

    if build is not None:  # in a worker process: the parent's --build-dir
        _set_build_dir(build)
    overrides = sphinx_overrides(lang, BUILD, strict, repository_url(), base_url)
    started = time.perf_counter()
    result = build_sphinx(
        ROOT / "book" / lang,
        HTML / lang,
        path_config=str(ROOT / "_config.yml"),
        noconfig=True,
        confoverrides=overrides,
        doctreedir=BUILD / ".doctrees" / lang,
        builder="html",
        warningiserror=strict,
        keep_going=strict,
    )
    seconds = time.perf_counter() - started
    status = "ok" if result == 0 else f"FAILED ({result})"
    print(f"[build_book] edition {lang}: {status} in {seconds:.0f} s -> {HTML / lang}")
    return 0 if result == 0 else 1


def _build_edition_logged(lang: str, strict: bool, build: Path,
                          base_url: str | None = None) -> tuple[int, str]:
    """:func:`build_edition` in a worker process, its output captured for the parent."""
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            failures = build_edition(lang, strict, build, base_url)
        except Exception as err:  # noqa: BLE001 - reported by the parent, build fails
            print(f"[build_book] edition {lang}: {type(err).__name__}: {err}")
            failures = 1
    return failures, log.getvalue()


def build_editions(langs: list[str], strict: bool, jobs: int,
                   base_url: str | None = None) -> int:
    """Build ``langs``, ``jobs`` at a time; return the number of failed editions.

    With one job the editions are built one after the other in this process, their
    output shown as it comes. With more, each is built in a fresh process and its log is
    printed whole when it finishes.
    """
    if jobs <= 1 or len(langs) <= 1:
        return sum(build_edition(lang, strict, base_url=base_url) for lang in langs)
    failures = 0
    import multiprocessing
    context = multiprocessing.get_context("spawn")  # a fresh Sphinx in every worker
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        futures = {pool.submit(_build_edition_logged, lang, strict, BUILD, base_url): lang
                   for lang in langs}
        print(f"[build_book] building {', '.join(langs)} at the same time ({jobs} processes);"
              " each log follows when its edition is done", flush=True)
        for future in concurrent.futures.as_completed(futures):
            failed, log = future.result()
            print(f"[build_book] ---- log of edition {futures[future]} ----")
            print(log, end="", flush=True)
            failures += failed
    return failures


def execute_edition(lang: str, build: Path | None = None) -> list[str]:
    """Execute the pages of ``lang`` that its jupyter-cache lacks, in one kernel
    (``tools.execute_pages``), and store them there; return the log's lines.

    A page that fails is not stored: Jupyter Book executes it again in the build, on
    its own, and reports the error as it always does.
    """
    if build is not None:  # in a worker process: the parent's --build-dir
        _set_build_dir(build)
    folder = BUILD / ".jupyter_cache" / lang
    timeout = int(yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
                  ["execute"]["timeout"])
    pages = execute_pages.edition_pages(lang)
    todo = [p for p in pages if not execute_pages.is_cached(p, folder)]
    lines, started = [], time.perf_counter()
    for run in execute_pages.run_pages(todo, timeout=timeout):
        if run.error:
            lines.append(f"[build_book] {lang}/{run.path.stem}: failed ({run.error}); "
                         "the build executes it again and reports the error")
        else:
            execute_pages.cache_notebook(run, folder)
            lines.append(f"[build_book] {lang}/{run.path.stem}: executed in "
                         f"{run.seconds:.1f} s")
    lines.append(f"[build_book] edition {lang}: {len(todo)} page(s) executed in one kernel "
                 f"in {time.perf_counter() - started:.0f} s, "
                 f"{len(pages) - len(todo)} found in the cache")
    return lines


def execute_editions(langs: list[str], jobs: int) -> None:
    """:func:`execute_edition` for ``langs``, ``jobs`` editions at a time."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no torch state from this process
    with concurrent.futures.ProcessPoolExecutor(max(1, jobs), mp_context=context) as pool:
        for lines in pool.map(execute_edition, langs, [BUILD] * len(langs)):
            print("\n".join(lines), flush=True)


def compute_experiments(jobs: int) -> None:
    """Compute every page's experiments once, for all editions (``helpers.experiments``).

    The cache is ``BUILD/.experiments`` unless ``$BOOK_EXPERIMENT_CACHE`` names another
    folder; the environment variable is set here, so the pages' kernels read it.
    """
    from helpers import experiments

    os.environ.setdefault(experiments.ENV, str(BUILD / ".experiments"))
    experiments.compute_all(jobs=jobs)


def publish_bundles(langs, base_url: str | None = None) -> None:
    """Write each edition's notebooks bundle (tools/notebooks_bundle.py) beside its pages,
    from the notebooks the build wrote for the download buttons; the ``helpers`` wheel
    goes to the site's root too (a notebook opened alone installs it from there)."""
    wheel = notebooks_bundle.build_wheel(HTML)
    for lang in langs:
        path = notebooks_bundle.make_bundle(lang, HTML / lang, HTML / lang, wheel, base_url)
        print(f"[build_book] notebooks bundle: {path}")


# --- coursework: downloadable student notebooks (the tools.coursework package) ---
def publish_coursework(langs) -> None:
    """Generate the assignments and copy the student notebooks into each edition.

    The coursework page links to ``coursework/<name>.ipynb`` and
    ``coursework/<name>-colab.ipynb`` next to it; they are built from the masters in
    ``coursework/<lang>/`` into ``BUILD_DIR/coursework`` (instructor versions included,
    which are not published).
    """
    from tools import coursework

    out = BUILD / "coursework"
    coursework.generate(out, langs)
    for lang in langs:
        target = HTML / lang / "coursework"
        target.mkdir(parents=True, exist_ok=True)
        for path in coursework.student_files(out, lang):
            shutil.copy2(path, target / path.name)
# --- end coursework ---


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(EDITIONS), action="append",
                        help="edition to build (default: both)")
    parser.add_argument("--fresh", action="store_true",
                        help="discard the HTML, doctrees and execution cache first")
    parser.add_argument("--no-strict", dest="strict", action="store_false",
                        help="do not turn warnings into errors")
    parser.add_argument("--build-dir", type=Path, default=BUILD,
                        help="where to build (default: _build); the site goes to BUILD_DIR/html")
    parser.add_argument("--base-url", default=os.environ.get("BOOK_BASE_URL") or None,
                        help="the address where the site will be published (default: "
                             "$BOOK_BASE_URL); downloaded notebooks install helpers from there")
    parser.add_argument("--jobs", type=int, default=None,
                        help="editions built at the same time (default: one per CPU core, "
                             "at most one per edition; 1 builds them one after the other)")
    args = parser.parse_args(argv)
    _set_build_dir(args.build_dir)

    stamp = BUILD / ".helpers-fingerprint"
    fingerprint = helpers_fingerprint()
    if BUILD.exists() and not args.fresh and (
            not stamp.exists() or stamp.read_text() != fingerprint):
        print("[build_book] helpers/ or book/_ext/ changed since the last build: "
              "building from scratch")
        args.fresh = True
    if args.fresh:
        for path in (HTML, BUILD / ".doctrees", BUILD / ".jupyter_cache",
                     BUILD / ".experiments"):
            shutil.rmtree(path, ignore_errors=True)
    HTML.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    langs = args.lang or list(EDITIONS)
    jobs = args.jobs if args.jobs is not None else min(os.cpu_count() or 1, len(langs))
    if jobs < 1:
        parser.error("--jobs must be at least 1")
    started = time.perf_counter()
    compute_experiments(jobs=os.cpu_count() or 1)
    execute_editions(langs, jobs)
    failures = build_editions(langs, args.strict, jobs, args.base_url)
    print(f"[build_book] {len(langs)} edition(s) built in {time.perf_counter() - started:.0f} s")
    publish_coursework(args.lang or list(EDITIONS))  # coursework: student notebooks
    publish_bundles(args.lang or list(EDITIONS), args.base_url)
    shutil.copy2(ROOT / "book" / "index.html", HTML / "index.html")
    shutil.copy2(ROOT / "book" / "_static" / "landing.css", HTML / "landing.css")
    (HTML / ".nojekyll").touch()
    if failures:
        print(f"[build_book] {failures} edition(s) failed; see the warnings above.",
              file=sys.stderr)
        return 1
    print(f"[build_book] open {HTML / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

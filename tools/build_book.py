"""Build the website: both editions of the book and the bilingual landing page.

Usage (``make book`` runs the first form inside the project's virtual environment)::

    python -m tools.build_book                 # strict build of both editions
    python -m tools.build_book --lang zh       # one edition only
    python -m tools.build_book --fresh         # execute every page again (no cache)
    python -m tools.build_book --no-strict     # let warnings through (drafting only)

Sphinx has one ``language`` per build, so the English and Chinese editions are two
Jupyter Book builds from the same ``_config.yml`` and ``_toc.yml``: ``book/en`` into
``_build/html/en`` and ``book/zh`` into ``_build/html/zh``. Each edition gets its own
interface labels (Exercise / 练习, Figure / 图) and its own search index (Chinese is
segmented with jieba). ``book/index.html``, the bilingual landing page, is copied to
``_build/html/index.html``.

The strict build is Jupyter Book's ``-W -n --keep-going``: every warning is reported
and any warning fails the build. Note that an incremental rebuild does not repeat
the warnings of pages it does not rebuild; CI builds from a fresh clone.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from pathlib import Path

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
        "html_title": lang.title,
        "html_search_language": lang.search,
        "html_theme_options": {"search_bar_text": lang.search_text,
                               "path_to_docs": f"book/{code}"},
    }
    for code, lang in REGISTRY.items()
}


def helpers_fingerprint() -> str:
    """A hash of the helpers package's source.

    The execution cache keys a page on its own code only; when ``helpers`` changes,
    cached outputs may be stale, so the build then starts from scratch.
    """
    digest = hashlib.sha256()
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def sphinx_overrides(lang: str, build: Path, strict: bool) -> dict:
    """The settings that one edition's build adds to ``_config.yml``."""
    overrides = {
        "external_toc_path": str(ROOT / "_toc.yml"),
        "nb_execution_cache_path": str(build / ".jupyter_cache"),
        "latex_individualpages": False,
        **EDITIONS[lang],
    }
    if strict:
        overrides["nitpicky"] = True
    return overrides


def build_edition(lang: str, strict: bool) -> int:
    """Build one edition; return the number of problems (0 means success)."""
    from jupyter_book.sphinx import build_sphinx

    overrides = sphinx_overrides(lang, BUILD, strict)
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


# --- coursework: downloadable student notebooks (tools/coursework.py) ---
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
    args = parser.parse_args(argv)
    _set_build_dir(args.build_dir)

    stamp = BUILD / ".helpers-fingerprint"
    fingerprint = helpers_fingerprint()
    if BUILD.exists() and not args.fresh and (
            not stamp.exists() or stamp.read_text() != fingerprint):
        print("[build_book] helpers/ changed since the last build: building from scratch")
        args.fresh = True
    if args.fresh:
        for path in (HTML, BUILD / ".doctrees", BUILD / ".jupyter_cache"):
            shutil.rmtree(path, ignore_errors=True)
    HTML.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    failures = sum(build_edition(lang, args.strict) for lang in (args.lang or EDITIONS))
    publish_coursework(args.lang or list(EDITIONS))  # coursework: student notebooks
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

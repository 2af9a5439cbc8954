"""The notebooks bundle: every chapter as a Jupyter notebook, runnable anywhere.

``make book`` (tools/build_book.py) writes one zip per edition,
``_build/html/<lang>/l1-pruning-book-notebooks-<lang>.zip``, linked from the
landing page and from the download menu of every page. Like d2l's notebook archive
it holds, in one folder:

* every chapter as ``<page>.ipynb``: the page's download (executed, its prose as the
  book reads, ``tools/notebook_export.py``); pages whose code reads files of the
  repository are left out (:func:`bundle_pages`),
* ``l1_pruning_book_helpers-<version>-py3-none-any.whl``: the ``helpers`` package,
* ``requirements.txt``: the reader's environment (what the chapters import, and
  JupyterLab; :func:`reader_requirements`), nothing of the build or the tests,
* ``README.md``: how to run the notebooks (locally, or on Google Colab).

Every downloadable notebook (the bundle's, and the ``.ipynb`` download button of
each page, see ``book/_ext/notebook_downloads.py``) starts with a setup cell added
here, at export time, never in the MyST sources: where ``helpers`` is importable it
does nothing; otherwise it installs the wheel found beside the notebook (or, on
Colab, the one the reader uploaded) or, when the book is published at an address
(``build_book --base-url``), the wheel published there; when there is none it says
what to do.

Usage: ``python -m tools.notebooks_bundle --lang en --site _build/html OUT_DIR``
after ``make book`` (build_book calls :func:`make_bundle`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import jupytext
import nbformat

from helpers.languages import LANGUAGES
from tools import notebook_export
from tools import text as tool_text
from tools.pins import PYTORCH_CPU_INDEX, pin
from tools.toc import book_pages

ROOT = Path(__file__).resolve().parent.parent
#: The wheel's file name starts with this (the distribution name of pyproject.toml).
WHEEL_PREFIX = "l1_pruning_book_helpers-"
#: Marks the setup cell in a notebook's metadata (tests and re-exports find it).
SETUP_TAG = "book-setup"


def bundle_name(lang: str) -> str:
    """The bundle's file name (and the folder inside it) for one edition."""
    return f"l1-pruning-book-notebooks-{lang}"


def link_text(lang: str) -> str:
    """The bundle's link text in the download menu of the edition's pages."""
    return tool_text.tr("bundle_link", lang)


def wheel_name() -> str:
    """The file name of the ``helpers`` wheel (``pyproject.toml``'s name and version)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return f"{project['name'].replace('-', '_')}-{project['version']}-py3-none-any.whl"


def setup_cell_source(lang: str, base_url: str | None = None) -> str:
    """The source of the setup cell, in the edition's language.

    ``base_url``: where the book is published (its wheel at ``<base_url>/<wheel>``);
    with it, a notebook opened alone (Colab) installs ``helpers`` from there.
    """
    wheel = WHEEL_PREFIX + "*.whl"
    comment, no_wheel, no_pip = (tool_text.tr(f"bundle_{key}", lang).format(wheel=wheel)
                                 for key in ("setup_comment", "no_wheel", "no_pip"))
    published = "[]" if not base_url else repr([f"{base_url.rstrip('/')}/{wheel_name()}"])
    return f'''{comment}
import glob, importlib, importlib.util, os, subprocess, sys
if importlib.util.find_spec("helpers") is None:
    _wheels = sorted(glob.glob("{wheel}") + glob.glob(os.path.join("..", "{wheel}")))
    _wheels = _wheels[-1:] or {published}  # beside this notebook, or where the book is
    if not _wheels:
        raise RuntimeError({no_wheel!r})
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *_wheels], check=True)
    except subprocess.CalledProcessError as error:
        raise RuntimeError({no_pip!r}) from error
    importlib.invalidate_caches()
import helpers  # noqa: F401'''


def setup_cell(source: str) -> nbformat.NotebookNode:
    """The setup cell (``source``: :func:`setup_cell_source`), tagged ``book-setup``."""
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [SETUP_TAG]
    cell["id"] = SETUP_TAG
    return cell


def with_setup_cell(notebook: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """``notebook`` with the setup cell first (once; the input is not changed)."""
    notebook = nbformat.reads(nbformat.writes(nbformat.from_dict(notebook)), as_version=4)
    cells = [c for c in notebook.cells if SETUP_TAG not in c.metadata.get("tags", [])]
    notebook.cells = [setup_cell(source), *cells]
    return notebook


#: Code that reads the repository's own files (the benchmark's results, the
#: terminology table, coursework timings): such a page runs only in a clone.
READS_REPOSITORY = re.compile(r"\bPath\(|\bopen\(|\bbenchmarks\b")


def bundle_pages(lang: str) -> list[str]:
    """The pages of the bundle, in the order of ``_toc.yml``: those with code, unless
    their code reads files of the repository (it would not run from the bundle)."""
    pages = []
    for page in book_pages():
        path = ROOT / "book" / lang / f"{page}.md"
        if not path.is_file():
            continue
        code = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]
        if code and not any(READS_REPOSITORY.search(source) for source in code):
            pages.append(page)
    return pages


def download_notebook(executed: nbformat.NotebookNode, page: str, book: notebook_export.Book,
                      setup_source: str) -> nbformat.NotebookNode:
    """A page's downloadable notebook: the executed ``page`` as it reads in the book
    (:func:`tools.notebook_export.export`), the setup cell first."""
    return with_setup_cell(notebook_export.export(executed, page, book), setup_source)


def build_wheel(out_dir: Path) -> Path:
    """Build the ``helpers`` wheel into ``out_dir``, offline; return its path.

    ``pip wheel --no-deps --no-build-isolation`` with the environment's setuptools,
    on a copy of ``pyproject.toml``, ``README.md`` and the packages it names
    (``helpers/``, and what else ``[tool.setuptools] packages`` lists), so no build
    folders appear in the checkout.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, source / name)
        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        for package in {p.split(".")[0] for p in project["tool"]["setuptools"]["packages"]}:
            shutil.copytree(ROOT / package, source / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "results"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "--no-build-isolation", "--no-index", "-q",
                        "--wheel-dir", str(Path(tmp) / "dist"), str(source)],
                       check=True, capture_output=True, text=True)
        (wheel,) = (Path(tmp) / "dist").glob(WHEEL_PREFIX + "*.whl")
        target = out_dir / wheel.name
        shutil.copy2(wheel, target)
    return target


#: What the chapters import (``pyproject.toml``'s dependencies of ``helpers``) and the
#: notebook front end: the reader's environment, pinned as the book's build pins them.
READER_EXTRAS = ("jupyterlab",)


def reader_requirements() -> str:
    """The bundle's ``requirements.txt``: ``helpers``' dependencies and JupyterLab,
    pinned to the versions of the book's ``requirements.txt`` (nothing of the build or
    the tests: no Jupyter Book, pytest or Playwright)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [re.split(r"[<>=!~ ;\[]", dep, maxsplit=1)[0] for dep in project["dependencies"]]
    pins = [pin(name) for name in (*names, *READER_EXTRAS)]
    return ("# The notebooks' environment: the book's package's dependencies and JupyterLab,\n"
            "# at the versions the book was built with. PyTorch's CPU build (2.13.0+cpu\n"
            "# satisfies the pin) spares the GBs of CUDA libraries of PyPI's Linux wheel;\n"
            "# for a GPU, install torch 2.13.0 for your CUDA version first.\n"
            f"{PYTORCH_CPU_INDEX}\n" + "\n".join(pins) + "\n")


def readme(lang: str, wheel: str, base_url: str | None = None) -> str:
    """The bundle's README in the edition's language."""
    published = tool_text.tr("bundle_published", lang).format(url=base_url) if base_url else ""
    return tool_text.tr("bundle_readme", lang).format(wheel=wheel, published=published)


def make_bundle(lang: str, out_dir: Path, notebooks: Path | dict, wheel: Path | None = None,
                base_url: str | None = None) -> Path:
    """Write ``out_dir/l1-pruning-book-notebooks-<lang>.zip``; return its path.

    Parameters
    ----------
    lang : str
        The edition.
    out_dir : Path
        Where the zip goes.
    notebooks : Path or dict
        The downloadable notebooks: the edition's built site (``_build/html/<lang>``,
        whose ``_sources/<page>.ipynb`` the build wrote), or ``{page: notebook}``.
        Every page of :func:`bundle_pages` found there goes into the bundle.
    wheel : Path, optional
        An already built wheel to include (built here when None).
    base_url : str, optional
        Where the book is published (named in the README).

    Raises
    ------
    FileNotFoundError
        When ``notebooks`` holds none of the edition's pages (build the book first).
    """
    if isinstance(notebooks, (str, Path)):
        site = Path(notebooks) / "_sources"
        notebooks = {page: nbformat.read(site / f"{page}.ipynb", as_version=4)
                     for page in bundle_pages(lang) if (site / f"{page}.ipynb").is_file()}
    pages = [page for page in bundle_pages(lang) if page in notebooks]
    if not pages:
        raise FileNotFoundError(f"no notebook of book/{lang} to bundle; build the book "
                                "first (make book), then pass _build/html/" + lang)
    name = bundle_name(lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        wheel = build_wheel(folder) if wheel is None else Path(shutil.copy2(wheel, folder))
        (folder / "requirements.txt").write_text(reader_requirements(), encoding="utf-8")
        (folder / "README.md").write_text(readme(lang, wheel.name, base_url),
                                          encoding="utf-8")
        for page in pages:
            nbformat.write(notebooks[page], folder / f"{page}.ipynb")
        target = out_dir / f"{name}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                archive.write(path, path.relative_to(folder.parent).as_posix())
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=LANGUAGES, action="append")
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html",
                        help="the built website (make book), default _build/html")
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        for lang in args.lang or LANGUAGES:
            path = make_bundle(lang, args.out_dir, args.site / lang, wheel)
            print(f"[notebooks_bundle] {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

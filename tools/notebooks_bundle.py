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


_MESSAGES = {
    "en": {
        "link": "all notebooks (.zip)",
        "comment": (
            "# Setup, added to the downloaded notebook: the book's code lives in the package\n"
            "# `helpers`. Where it is importable (the book's environment) this cell does\n"
            "# nothing. Otherwise it installs it from the wheel beside this notebook\n"
            "# ({wheel}, in the notebooks bundle); on Google Colab, first upload that\n"
            "# file (Files panel → Upload), then run this cell."),
        "no_wheel": (
            "The book's package `helpers` is not installed and its wheel ({wheel}) is not "
            "beside this notebook. Download the notebooks bundle (the .zip link in the "
            "download menu of every page of the book), unpack it and open the notebook "
            "there; on Google Colab, upload the .whl file from the bundle, then run this "
            "cell again."),
        "no_pip": (
            "Installing {wheel} failed (see pip's message above). Install the book's "
            "environment first: pip install -r requirements.txt (in the bundle), then run "
            "this cell again."),
    },
    "zh": {
        "link": "全部 notebook（.zip）",
        "comment": (
            "# 环境准备（下载的 notebook 才有这个单元）：本书的代码都在 `helpers` 包里。\n"
            "# 如果它已经可以导入（本书的环境），这个单元什么也不做；否则从本 notebook\n"
            "# 旁边的 wheel 文件（{wheel}，在 notebook 压缩包里）安装它。在 Google Colab\n"
            "# 上，请先上传这个文件（左侧“文件”面板 → 上传），再运行这个单元。"),
        "no_wheel": (
            "没有安装本书的 `helpers` 包，本 notebook 旁边也没有它的 wheel 文件（{wheel}）。"
            "请下载 notebook 压缩包（本书每一页下载菜单中的 .zip 链接），解压后在其中打开 "
            "notebook；在 Google Colab 上，请上传压缩包中的 .whl 文件，然后再运行这个单元。"),
        "no_pip": (
            "安装 {wheel} 失败（见上面 pip 的输出）。请先安装本书的环境："
            "pip install -r requirements.txt（在压缩包里），然后再运行这个单元。"),
    },
}


def link_text(lang: str) -> str:
    """The bundle's link text in the download menu of the edition's pages."""
    return _MESSAGES[lang]["link"]


def wheel_name() -> str:
    """The file name of the ``helpers`` wheel (``pyproject.toml``'s name and version)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return f"{project['name'].replace('-', '_')}-{project['version']}-py3-none-any.whl"


def setup_cell_source(lang: str, base_url: str | None = None) -> str:
    """The source of the setup cell, in the edition's language.

    ``base_url``: where the book is published (its wheel at ``<base_url>/<wheel>``);
    with it, a notebook opened alone (Colab) installs ``helpers`` from there.
    """
    text = _MESSAGES[lang]
    wheel = WHEEL_PREFIX + "*.whl"
    published = "[]" if not base_url else repr([f"{base_url.rstrip('/')}/{wheel_name()}"])
    return f'''{text["comment"].format(wheel=wheel)}
import glob, importlib, importlib.util, os, subprocess, sys
if importlib.util.find_spec("helpers") is None:
    _wheels = sorted(glob.glob("{wheel}") + glob.glob(os.path.join("..", "{wheel}")))
    _wheels = _wheels[-1:] or {published}  # beside this notebook, or where the book is
    if not _wheels:
        raise RuntimeError({text["no_wheel"].format(wheel=wheel)!r})
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *_wheels], check=True)
    except subprocess.CalledProcessError as error:
        raise RuntimeError({text["no_pip"].format(wheel=wheel)!r}) from error
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


_README = {
    "en": """# L1 Regularization and Neural-Network Pruning: the notebooks

Every chapter of the book as a Jupyter notebook, executed (each shows its outputs and
figures, and its text quotes the book's numbers), the book's package `helpers` as a
wheel ({wheel}) and the environment to run them (`requirements.txt`: what the
chapters import, and JupyterLab).

## On your machine

In this folder:

    python3 -m venv .venv
    .venv/bin/python -m pip install -r requirements.txt {wheel}
    .venv/bin/python -m jupyterlab

(On Windows: `.venv\\Scripts\\python`.) JupyterLab opens
in your browser; open a chapter and run it from the top. The first cell of each
notebook checks that `helpers` is importable; if it is not, it installs the wheel
from this folder.

## On Google Colab

Upload a notebook (File → Upload notebook), then upload {wheel} into the Files panel
and run the first cell: it installs the wheel.{published} Colab's torch, NumPy and
scikit-learn versions differ from the pins, so numbers may differ slightly from the
book's.

The text of each notebook is the book's, with its numbers, references and solutions
(folded: click to open). Pages whose code reads files of the book's repository (the
benchmark appendix, the coursework and terminology pages) are not included: run them
in a clone of the repository.
""",
    "zh": """# L1 正则化与神经网络剪枝：notebook 合集

本书每一章的 Jupyter notebook（已经运行过：输出和图都在，正文引用的数字与书中一致）、本书的 `helpers` 包（wheel 文件 {wheel}），以及运行它们所需的环境（`requirements.txt`：各章导入的包和 JupyterLab）。

## 在自己的电脑上

在本文件夹中运行：

    python3 -m venv .venv
    .venv/bin/python -m pip install -r requirements.txt {wheel}
    .venv/bin/python -m jupyterlab

（Windows 上用 `.venv\\Scripts\\python`。）JupyterLab 会在浏览器中打开；打开一章，从头运行即可。每个 notebook 的第一个单元会检查能否导入 `helpers`；不能导入时，它从本文件夹安装 wheel。

## 在 Google Colab 上

上传 notebook（文件 → 上传笔记本），再把 {wheel} 上传到左侧“文件”面板，然后运行第一个单元：它会安装这个 wheel。{published}Colab 上 torch、NumPy 和 scikit-learn 的版本与固定版本不同，所以数字可能与书中略有出入。

每个 notebook 的正文就是书中的正文，数字、引用和解答都在（解答是折叠的，点击即可展开）。代码需要读取本书仓库中文件的页面（基准测试附录、课程作业页和术语页）不在其中：请在仓库的克隆中运行它们。
""",
}

_PUBLISHED = {
    "en": " (A notebook downloaded from the book's website at {url} needs no upload: "
          "its first cell installs the wheel from there.)",
    "zh": "（从本书网站 {url} 下载的 notebook 不必上传 wheel：它的第一个单元会从那里安装。）",
}


def readme(lang: str, wheel: str, base_url: str | None = None) -> str:
    """The bundle's README in the edition's language."""
    published = _PUBLISHED[lang].format(url=base_url) if base_url else ""
    return _README[lang].format(wheel=wheel, published=published)


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

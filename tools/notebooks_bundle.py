"""The notebooks bundle: every chapter as a Jupyter notebook, runnable anywhere.

``make book`` (tools/build_book.py) writes one zip per edition,
``_build/html/<lang>/l1-pruning-book-notebooks-<lang>.zip``, linked from the
landing page and from the download menu of every page. Like d2l's notebook archive
it holds, in one folder:

* every chapter as ``<page>.ipynb`` (converted from the MyST source with jupytext,
  not executed); pages whose code reads files of the repository are left out,
* ``l1_pruning_book_helpers-<version>-py3-none-any.whl``: the ``helpers`` package,
* ``requirements.txt``: the book's pinned environment,
* ``README.md``: how to run the notebooks (locally, or on Google Colab).

Every downloadable notebook (the bundle's, and the ``.ipynb`` download button of
each page, see ``book/_ext/notebook_downloads.py``) starts with a setup cell added
here, at export time, never in the MyST sources: where ``helpers`` is importable it
does nothing; otherwise it installs the wheel found beside the notebook (or, on
Colab, the one the reader uploaded), and when there is none it says what to do.

Usage: ``python tools/notebooks_bundle.py --lang en OUT_DIR`` (build_book calls
:func:`make_bundle`).
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
from tools.toc import book_pages

ROOT = Path(__file__).resolve().parent.parent
#: The wheel's file name starts with this (the distribution name of pyproject.toml).
WHEEL_PREFIX = "l1_pruning_book_helpers-"
#: Marks the setup cell in a notebook's metadata (tests and re-exports find it).
SETUP_TAG = "book-setup"


def bundle_name(lang: str) -> str:
    """The bundle's file name (and the folder inside it) for one edition."""
    return f"l1-pruning-book-notebooks-{lang}"


def _pin(name: str) -> str:
    """``name==version`` from requirements.txt."""
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line.lower().startswith(name.lower() + "=="):
            return line
    raise ValueError(f"requirements.txt pins no {name}")


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


def setup_cell_source(lang: str) -> str:
    """The source of the setup cell, in the edition's language."""
    text = _MESSAGES[lang]
    wheel = WHEEL_PREFIX + "*.whl"
    return f'''{text["comment"].format(wheel=wheel)}
import glob, importlib, importlib.util, os, subprocess, sys
if importlib.util.find_spec("helpers") is None:
    _wheels = sorted(glob.glob("{wheel}") + glob.glob(os.path.join("..", "{wheel}")))
    if not _wheels:
        raise RuntimeError({text["no_wheel"].format(wheel=wheel)!r})
    # The pages also import myst_nb (for `glue`), which is not a dependency of helpers.
    _extra = [] if importlib.util.find_spec("myst_nb") else [{_pin("myst-nb")!r}]
    try:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", _wheels[-1], *_extra],
                       check=True)
    except subprocess.CalledProcessError as error:
        raise RuntimeError({text["no_pip"].format(wheel=wheel)!r}) from error
    importlib.invalidate_caches()
import helpers  # noqa: F401'''


def setup_cell(lang: str) -> nbformat.NotebookNode:
    """The setup cell as a notebook cell (tagged ``book-setup``)."""
    cell = nbformat.v4.new_code_cell(setup_cell_source(lang))
    cell.metadata["tags"] = [SETUP_TAG]
    cell["id"] = SETUP_TAG
    return cell


def with_setup_cell(notebook: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """``notebook`` with the setup cell first (once; the input is not changed)."""
    notebook = nbformat.reads(nbformat.writes(nbformat.from_dict(notebook)), as_version=4)
    cells = [c for c in notebook.cells if SETUP_TAG not in c.metadata.get("tags", [])]
    notebook.cells = [setup_cell(lang), *cells]
    return notebook


#: Code that reads the repository's own files (the benchmark's results, the
#: terminology table, coursework timings): such a page runs only in a clone.
READS_REPOSITORY = re.compile(r"\bPath\(|\bopen\(|\bbenchmarks\b")


def chapter_notebook(lang: str, page: str) -> nbformat.NotebookNode | None:
    """One page as a notebook with the setup cell.

    None when the page has no code, or when its code reads files of the repository
    (it would not run from the bundle).
    """
    notebook = jupytext.read(ROOT / "book" / lang / f"{page}.md")
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    if not code or any(READS_REPOSITORY.search(source) for source in code):
        return None
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                       "name": "python3"}
    return with_setup_cell(notebook, lang)


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


_README = {
    "en": """# L1 Regularization and Neural-Network Pruning: the notebooks

Every chapter of the book as a Jupyter notebook, the book's package `helpers` as a
wheel ({wheel}) and the pinned environment (`requirements.txt`).

## On your machine

    python -m venv .venv
    .venv/bin/python -m pip install -r requirements.txt   # Windows: .venv\\Scripts\\python
    .venv/bin/python -m pip install {wheel}
    .venv/bin/jupyter lab

The first cell of each notebook checks that `helpers` is importable; if it is not,
it installs the wheel from this folder.

## On Google Colab

Upload a notebook (File → Upload notebook), then upload {wheel} into the Files panel
and run the first cell: it installs the wheel (and `myst-nb`, for `glue`). Colab's
torch, NumPy and scikit-learn versions differ from the pins, so numbers may differ
slightly from the book's.

The notebooks are MyST notebooks converted with jupytext: directives such as
figures and exercises show as plain Markdown. Read the book's website for the
typeset text. Pages whose code reads files of the book's repository (the benchmark
appendix, the coursework and terminology pages) are not included: run them in a
clone of the repository.
""",
    "zh": """# L1 正则化与神经网络剪枝：notebook 合集

本书每一章的 Jupyter notebook、本书的 `helpers` 包（wheel 文件 {wheel}）以及固定版本的环境（`requirements.txt`）。

## 在自己的电脑上

    python -m venv .venv
    .venv/bin/python -m pip install -r requirements.txt   # Windows：.venv\\Scripts\\python
    .venv/bin/python -m pip install {wheel}
    .venv/bin/jupyter lab

每个 notebook 的第一个单元会检查能否导入 `helpers`；不能导入时，它从本文件夹安装 wheel。

## 在 Google Colab 上

上传 notebook（文件 → 上传笔记本），再把 {wheel} 上传到左侧“文件”面板，然后运行第一个单元：它会安装这个 wheel（以及 `glue` 所需的 `myst-nb`）。Colab 上 torch、NumPy 和 scikit-learn 的版本与固定版本不同，所以数字可能与书中略有出入。

这些 notebook 由 MyST 源文件经 jupytext 转换而来：图、练习等指令显示为普通 Markdown。排好版的正文请看本书网站。代码需要读取本书仓库中文件的页面（基准测试附录、课程作业页和术语页）不在其中：请在仓库的克隆中运行它们。
""",
}


def make_bundle(lang: str, out_dir: Path, wheel: Path | None = None) -> Path:
    """Write ``out_dir/l1-pruning-book-notebooks-<lang>.zip``; return its path.

    ``wheel``: an already built wheel to include (built here when None).
    """
    name = bundle_name(lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        wheel = build_wheel(folder) if wheel is None else Path(shutil.copy2(wheel, folder))
        shutil.copy2(ROOT / "requirements.txt", folder / "requirements.txt")
        (folder / "README.md").write_text(_README[lang].format(wheel=wheel.name),
                                          encoding="utf-8")
        for page in book_pages():
            notebook = chapter_notebook(lang, page)
            if notebook is not None:
                nbformat.write(notebook, folder / f"{page}.ipynb")
        target = out_dir / f"{name}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                archive.write(path, path.relative_to(folder.parent).as_posix())
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=LANGUAGES, action="append")
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        for lang in args.lang or LANGUAGES:
            print(f"[notebooks_bundle] {make_bundle(lang, args.out_dir, wheel)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

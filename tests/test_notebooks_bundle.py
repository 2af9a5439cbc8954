"""Downloaded notebooks read like the book and run outside this repository.

The export (tools/notebook_export.py) is checked on every page of both editions; the
bundle (tools/notebooks_bundle.py) is made from two chapters executed here, as the
build executes them. The reader's routes: the bundle's README, command by command, in
an empty folder (a fresh virtual environment, the chapters run, JupyterLab answers),
and one notebook alone whose setup cell installs ``helpers`` from the address the
book is published at (a site served on 127.0.0.1).

The fresh environments are made offline (tests/fresh_env.py).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import jupytext
import nbformat
import pytest

from fresh_env import add_parent_packages, clean_env, execute_notebook, helpers_from, run_alone
from helpers.languages import LANGUAGES
from tools import execute_pages
from tools import notebook_export as export
from tools import notebooks_bundle as nb_bundle
from tools import text as tool_text

ROOT = Path(__file__).resolve().parent.parent



@pytest.mark.parametrize("lang", LANGUAGES)
def test_setup_cell_does_nothing_where_helpers_is_importable(lang, tmp_path, monkeypatch):
    assert importlib.util.find_spec("helpers") is not None
    monkeypatch.chdir(tmp_path)  # no wheel here: the cell would fail if it looked for one
    namespace: dict = {}
    exec(compile(nb_bundle.setup_cell_source(lang), "setup-cell", "exec"), namespace)
    assert namespace["helpers"].__name__ == "helpers"
    assert "_wheels" not in namespace


@pytest.mark.parametrize("lang", LANGUAGES)
def test_setup_cell_says_what_to_do_without_helpers_or_wheel(lang, tmp_path):
    """In a bare interpreter (no helpers, no wheel beside) the cell raises a clear error."""
    script = tmp_path / "cell.py"
    script.write_text(nb_bundle.setup_cell_source(lang), encoding="utf-8")
    result = subprocess.run([sys.executable, "-I", "-S", str(script)], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr and nb_bundle.WHEEL_PREFIX in result.stderr
    says = tool_text.tr("bundle_no_wheel", lang).format(wheel=nb_bundle.WHEEL_PREFIX + "*.whl")
    assert says in result.stderr


def test_bundle_pages_have_code_and_read_no_repository_file():
    pages = nb_bundle.bundle_pages("en")
    assert "benchmark-results" not in pages   # reads the committed results
    assert "index" not in pages               # no code
    assert {"how-to-use", "pruning", "l1-regularization"} <= set(pages)
    assert pages == nb_bundle.bundle_pages("zh")


def test_reader_requirements_are_the_chapters_imports_and_jupyterlab():
    lines = [line for line in nb_bundle.reader_requirements().splitlines()
             if line and not line.startswith("#")]
    names = {line.split("==")[0] for line in lines if "==" in line}
    assert {"torch", "numpy", "scikit-learn", "matplotlib", "jupyterlab"} <= names
    assert not names & {"jupyter-book", "pytest", "playwright", "otter-grader", "myst-nb"}
    assert all(line.startswith("--") or "==" in line for line in lines)


# --- the export: every page of both editions reads as the book ---------------------

def _with_stand_in_glue(lang: str, page: str) -> nbformat.NotebookNode:
    """The page's notebook (not executed) with one glued output per value its prose
    quotes, each ``V[name]``: the export must write every one of them in."""
    path = ROOT / "book" / lang / f"{page}.md"
    notebook = jupytext.read(path)
    names = sorted(set(re.findall(r"\{glue(?::\w+)?\}`([^`:]+)", path.read_text("utf-8"))))
    notebook.cells.append(nbformat.v4.new_code_cell("", outputs=[
        nbformat.v4.new_output("display_data",
                               data={export.GLUE_PREFIX + "text/plain": repr(f"V[{n}]")},
                               metadata={"scrapbook": {"name": n}}) for n in names]))
    return notebook, names


@pytest.fixture(scope="module", params=LANGUAGES)
def book(request):
    return export.Book(request.param, exported=set(nb_bundle.bundle_pages(request.param)))


@pytest.mark.parametrize("page", nb_bundle.bundle_pages("en"))
def test_every_page_exports_without_myst_left(book, page):
    notebook, names = _with_stand_in_glue(book.lang, page)
    source = (ROOT / "book" / book.lang / f"{page}.md").read_text("utf-8")
    out = export.export(notebook, page, book)
    nbformat.validate(out)
    assert export.unresolved(out) == []
    text = "\n".join(c.source for c in out.cells if c.cell_type == "markdown")
    assert "{glue" not in text and "```{" not in text and ":::{" not in text
    assert all(f"V[{n}]" in text for n in names)           # every value, as text
    assert text.count("<details>") >= source.count("{solution-start}")
    assert text.count("#### ") >= source.count("```{exercise}")
    assert "\\R " not in text and "\\prox_" not in text   # the book's macros expanded
    assert notebook.cells[-1].outputs  # the input is not changed


def test_export_resolves_roles_directives_and_folds_solutions():
    book = export.Book("en", exported={"pruning", "l1-regularization"})
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(
            "(sec-x)=\n## Overview\n\nIt keeps {glue:text}`n` weights "
            "({numref}`fig-prune-sparsity`, {eq}`eq-lasso-kkt`, {cite:p}`han2015learning`; "
            "{cite:t}`tibshirani1996lasso`; {ref}`l1-norms`).\n\n"
            ":::{admonition} Erratum\n:class: warning\nWrong.\n:::\n\n"
            "```{solution-start} ex-x\n:class: dropdown\n```\n\nBecause."),
        nbformat.v4.new_code_cell("answer = 1", outputs=[nbformat.v4.new_output(
            "display_data", data={export.GLUE_PREFIX + "text/plain": "'50,200'"},
            metadata={"scrapbook": {"name": "n"}})]),
        nbformat.v4.new_markdown_cell("```{solution-end}\n```\n\nAfter."),
        nbformat.v4.new_code_cell("hidden", metadata={"tags": ["remove-cell"]}),
    ])
    out = export.export(notebook, "pruning", book)
    first = out.cells[0].source
    assert "keeps 50,200 weights" in first               # quotes of text/plain removed
    assert "[Fig. 4.1](#fig-prune-sparsity)" in first      # this page: an anchor
    assert "[(3.3)](l1-regularization.ipynb#eq-lasso-kkt)" in first
    assert "(Han et al., 2015)" in first and "Tibshirani (1996)" in first
    assert "[Norms and the L1 penalty](l1-regularization.ipynb#l1-norms)" in first
    assert "> **Erratum**\n>\n> Wrong." in first
    assert '<a id="sec-x"></a>' in first
    assert "## 4.1. Overview" in first                     # numbered as the site
    folded = out.cells[1]
    assert folded.source.startswith("<details><summary><b>Solution</b></summary>")
    code = out.cells[2]
    assert code.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
    assert out.cells[3].source == "After." and len(out.cells) == 4  # remove-cell dropped


def test_export_names_a_value_the_page_does_not_glue():
    book = export.Book("en")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("It is {glue:text}`missing`.")])
    with pytest.raises(KeyError, match="missing"):
        export.export(notebook, "pruning", book)


def test_numbers_follow_the_chapters_of_the_table_of_contents():
    """Chapters are numbered in _toc.yml's order (the root is not), figures and
    exercises within their chapter: "Fig. 3.2", "Exercise 4.1"."""
    book = export.Book("en")
    assert list(book.chapters) == nb_bundle.book_pages()[1:]
    assert list(book.chapters.values()) == list(range(1, len(book.chapters) + 1))
    for kind in ("figure", "exercise"):
        for page, chapter in book.chapters.items():
            numbers = [t.number for t in book.targets.values()
                       if t.kind == kind and t.page == page]
            assert sorted(numbers, key=lambda n: int(n.split(".")[1])) == \
                [f"{chapter}.{k}" for k in range(1, len(numbers) + 1)]
    assert book.sections[("l1-regularization", "Norms and the L1 penalty")] == "3.2"


# --- the bundle: the reader's route ------------------------------------------------

#: Two chapters executed for the bundle's tests: the shortest, and one with exercises,
#: solutions, figures and equations.
EXECUTED_PAGES = ("how-to-use", "l1-regularization")


@pytest.fixture(scope="module")
def executed_en() -> dict:
    """The two chapters executed here, as the build executes them."""
    paths = execute_pages.edition_pages("en", EXECUTED_PAGES)
    runs = {run.path.stem: run for run in execute_pages.run_pages(paths, timeout=600)}
    assert not any(run.error for run in runs.values()), {p: r.error for p, r in runs.items()}
    return {page: run.notebook for page, run in runs.items()}


@pytest.fixture(scope="module")
def bundle_en(executed_en, tmp_path_factory) -> Path:
    book = export.Book("en", exported=set(nb_bundle.bundle_pages("en")))
    source = nb_bundle.setup_cell_source("en")
    notebooks = {page: nb_bundle.download_notebook(nb, page, book, source)
                 for page, nb in executed_en.items()}
    return nb_bundle.make_bundle("en", tmp_path_factory.mktemp("bundle"), notebooks)


@pytest.mark.slow
def test_bundle_holds_notebooks_wheel_requirements_and_readme(bundle_en, executed_en):
    with zipfile.ZipFile(bundle_en) as archive:
        names = {Path(n).name for n in archive.namelist()}
        top = {n.split("/")[0] for n in archive.namelist()}
        folder = nb_bundle.bundle_name("en")
        requirements = archive.read(f"{folder}/requirements.txt").decode()
        notebook = nbformat.reads(archive.read(f"{folder}/l1-regularization.ipynb").decode(),
                                  as_version=4)
    assert top == {nb_bundle.bundle_name("en")}
    assert {"README.md", "requirements.txt", "how-to-use.ipynb",
            "l1-regularization.ipynb"} <= names
    assert any(n.startswith(nb_bundle.WHEEL_PREFIX) and n.endswith(".whl") for n in names)
    assert requirements == nb_bundle.reader_requirements()
    # every value the page glued is in its text, as the book shows it; nothing of MyST
    assert notebook.cells[0].metadata["tags"] == [nb_bundle.SETUP_TAG]
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert export.unresolved(notebook) == [] and "{glue" not in text and "```{" not in text
    glued = export.glued_outputs(executed_en["l1-regularization"])
    quoted = set(re.findall(r"\{glue:text\}`([^`]+)`",
                            (ROOT / "book/en/l1-regularization.md").read_text("utf-8")))
    for name in quoted:
        shown = export.format_plain_text(glued[name]["text/plain"], "")
        assert shown in text, name
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # figures kept


def _readme_commands(readme: str) -> list[str]:
    """The shell commands of the README's block "On your machine"."""
    section = readme.split("## On your machine", 1)[1].split("##", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_the_readme_leads_to_the_chapters_and_a_running_jupyterlab(bundle_en, tmp_path):
    """The bundle's README, command by command, in an empty folder: a fresh environment,
    the requirements and the wheel, the two chapters run, JupyterLab answers."""
    folder = tmp_path / "reader"
    folder.mkdir()
    with zipfile.ZipFile(bundle_en) as archive:
        archive.extractall(folder)
    unpacked = folder / nb_bundle.bundle_name("en")
    commands = _readme_commands((unpacked / "README.md").read_text("utf-8"))
    assert [c.split()[0] for c in commands] == ["python3", ".venv/bin/python",
                                                ".venv/bin/python"]
    env = clean_env()
    venv = unpacked / ".venv"
    make, install, lab = (shlex.split(c) for c in commands)
    # --without-pip: offline, pip and setuptools come with the parent's packages (a
    # venv's own bundled setuptools is older than torch's requirement)
    subprocess.run([sys.executable, *make[1:], "--without-pip"], cwd=unpacked, env=env,
                   check=True, capture_output=True)
    add_parent_packages(venv / "bin" / "python")   # offline: the pins are already here
    before = subprocess.run([str(venv / "bin" / "python"), "-c",
                             "import importlib.util as u; print(u.find_spec('helpers'))"],
                            cwd=unpacked, env=env, capture_output=True, text=True)
    assert before.stdout.strip() == "None", (before.stdout, before.stderr)
    installed = subprocess.run(install, cwd=unpacked, env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-3000:]
    for page in EXECUTED_PAGES:
        helpers_from(execute_notebook(venv / "bin" / "python", unpacked, f"{page}.ipynb", env), venv)
    port = _free_port()
    server = subprocess.Popen([*lab, "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                               "--IdentityProvider.token=", "--ServerApp.root_dir=.",
                               *(["--allow-root"] if os.geteuid() == 0 else [])],
                              cwd=unpacked, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline, answer = time.monotonic() + 90, None
        while time.monotonic() < deadline and answer is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=5) as r:
                    answer = json.loads(r.read())
            except OSError:
                assert server.poll() is None, server.stderr.read()[-3000:]
                time.sleep(0.5)
        assert answer and "version" in answer, "JupyterLab did not answer in 90 s"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=10) as page:
            assert page.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_a_notebook_alone_installs_helpers_from_the_published_site(executed_en, tmp_path):
    """Colab's route: one downloaded notebook, no wheel beside it; its setup cell
    installs the wheel from the address the book is published at (a site served here
    on 127.0.0.1, holding the wheel where ``make book`` publishes it)."""
    site_root = tmp_path / "site"
    nb_bundle.build_wheel(site_root)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(site_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        book = export.Book("en", exported=set(nb_bundle.bundle_pages("en")))
        notebook = nb_bundle.download_notebook(executed_en["how-to-use"], "how-to-use", book,
                                               nb_bundle.setup_cell_source("en", base))
        run_alone(notebook, "how-to-use.ipynb", tmp_path)
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_bad_inputs_are_named(tmp_path):
    """A package the pins lack, and a bundle without notebooks, say what to do."""
    from tools import pins

    assert pins.pin("torch") == f"torch=={pins.pins()['torch']}"
    with pytest.raises(ValueError, match="pins no no-such-package; add no-such-package=="):
        pins.pin("no-such-package")
    with pytest.raises(FileNotFoundError, match="make book"):
        nb_bundle.make_bundle("en", tmp_path, tmp_path / "no-site")
    with pytest.raises(KeyError, match="no numbered target 'no-such-label'"):
        export.Book("en").number_text("no-such-label")

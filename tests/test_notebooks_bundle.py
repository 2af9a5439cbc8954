"""The notebooks bundle (tools/notebooks_bundle.py) runs outside this repository.

The last test is the reader's route: unpack a bundle into an empty folder, make a
fresh virtual environment, let the notebook's setup cell install ``helpers`` from the
bundled wheel, and execute a chapter with nbclient.

To stay fast and offline, the fresh environment does not download the pinned
requirements: it is made without pip, and a ``.pth`` file gives it the site-packages
of the environment running the tests (the same pins, pip and setuptools included;
pip installs into the fresh environment, whose interpreter runs it). Python processes ``.pth`` files only in site directories,
so the editable-install hook of this repository, a ``.pth`` inside that
site-packages, is not processed: ``helpers`` is importable in the fresh environment
only once the setup cell has installed the wheel. ``PYTHONPATH`` is cleared and the
notebook runs in the unpacked folder, so nothing of the checkout leaks in, and pip
runs with ``PIP_NO_INDEX=1`` (the dependencies are already there).
"""

from __future__ import annotations

import importlib.util
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from helpers.languages import LANGUAGES
from tools import notebooks_bundle as nb_bundle



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
    assert ("notebooks bundle" if lang == "en" else "notebook 压缩包") in result.stderr


@pytest.mark.parametrize("lang", LANGUAGES)
def test_chapter_notebooks_start_with_the_setup_cell_then_the_page(lang):
    notebook = nb_bundle.chapter_notebook(lang, "pruning")
    first, second = [c for c in notebook.cells if c.cell_type == "code"][:2]
    assert first.metadata["tags"] == [nb_bundle.SETUP_TAG]
    assert f'LANG = "{lang}"' in second.source
    again = nb_bundle.with_setup_cell(notebook, lang)
    assert sum(nb_bundle.SETUP_TAG in c.metadata.get("tags", []) for c in again.cells) == 1
    assert notebook.cells[0] is not again.cells[0]


def test_pages_that_read_repository_files_are_left_out():
    assert nb_bundle.chapter_notebook("en", "benchmark-results") is None  # reads results
    assert nb_bundle.chapter_notebook("en", "index") is None              # no code


@pytest.fixture(scope="module")
def bundle_en(tmp_path_factory) -> Path:
    return nb_bundle.make_bundle("en", tmp_path_factory.mktemp("bundle"))


def test_bundle_holds_notebooks_wheel_requirements_and_readme(bundle_en):
    with zipfile.ZipFile(bundle_en) as archive:
        names = {Path(n).name for n in archive.namelist()}
        top = {n.split("/")[0] for n in archive.namelist()}
    assert top == {nb_bundle.bundle_name("en")}
    assert {"README.md", "requirements.txt", "how-to-use.ipynb", "pruning.ipynb"} <= names
    assert any(n.startswith(nb_bundle.WHEEL_PREFIX) and n.endswith(".whl") for n in names)
    wanted = {f"{p}.ipynb" for p in nb_bundle.book_pages()
              if nb_bundle.chapter_notebook("en", p) is not None}
    assert {n for n in names if n.endswith(".ipynb")} == wanted


def _fresh_venv(path: Path) -> Path:
    """A new virtual environment seeing the current one's packages (see module docstring)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True,
                   capture_output=True)
    python = path / "bin" / "python"
    new_site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    (new_site / "book_pins.pth").write_text(
        "\n".join(p for p in site.getsitepackages() if Path(p).is_dir()) + "\n")
    return python


@pytest.mark.slow
def test_a_chapter_runs_from_the_unpacked_bundle_in_a_fresh_environment(bundle_en, tmp_path):
    folder = tmp_path / "reader"
    folder.mkdir()
    with zipfile.ZipFile(bundle_en) as archive:
        archive.extractall(folder)
    unpacked = folder / nb_bundle.bundle_name("en")
    python = _fresh_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", MPLBACKEND="Agg")

    def run(code: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), "-c", code], cwd=unpacked, env=env,
                              capture_output=True, text=True, timeout=600)

    before = run("import importlib.util as u; print(u.find_spec('helpers'))")
    assert before.stdout.strip() == "None", (before.stdout, before.stderr)
    executed = run(
        "import nbformat, nbclient\n"
        "nb = nbformat.read('how-to-use.ipynb', as_version=4)\n"
        "nb.cells.append(nbformat.v4.new_code_cell(\n"
        "    'import sys, helpers; print(sys.executable, helpers.__file__)'))\n"
        "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',\n"
        "                        resources={'metadata': {'path': '.'}}).execute()\n"
        "nbformat.write(nb, 'executed.ipynb')\n")
    assert executed.returncode == 0, executed.stderr[-3000:]
    notebook = nbformat.read(unpacked / "executed.ipynb", as_version=4)
    where = notebook.cells[-1].outputs[0]["text"]
    kernel, module = where.split()
    venv = str(tmp_path / "venv")
    assert kernel.startswith(venv), f"the kernel ran {kernel}, not the fresh environment"
    assert module.startswith(venv), f"helpers came from {module}, not the bundled wheel"
    errors = [o for c in notebook.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors

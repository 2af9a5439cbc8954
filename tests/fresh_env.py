"""A fresh virtual environment that runs a downloaded notebook, offline.

Used by tests/test_notebooks_bundle.py and by the browser suite (a notebook downloaded
from the served site). To stay fast and offline, the fresh environment does not
download the pinned requirements: a ``.pth`` file gives it the site-packages of the
environment running the tests (the same pins, pip and setuptools included; pip
installs into the fresh environment, whose interpreter runs it). Python processes
``.pth`` files only in site directories, so the editable-install hook of this
repository, a ``.pth`` inside that site-packages, is not processed: ``helpers`` is
importable in the fresh environment only once something installs it. ``PYTHONPATH``
is cleared, and pip runs with ``PIP_NO_INDEX=1`` (the dependencies are already there).
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import nbformat


def add_parent_packages(python: Path) -> None:
    """Let a fresh environment see the current one's packages (see module docstring)."""
    new_site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    (new_site / "book_pins.pth").write_text(
        "\n".join(p for p in site.getsitepackages() if Path(p).is_dir()) + "\n")


def fresh_venv(path: Path) -> Path:
    """A new virtual environment, without pip, seeing the current one's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True,
                   capture_output=True)
    python = path / "bin" / "python"
    add_parent_packages(python)
    return python


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", MPLBACKEND="Agg")
    return env


def execute_notebook(python: Path, folder: Path, notebook: str,
                     env: dict) -> nbformat.NotebookNode:
    """Run ``notebook`` in ``folder`` with ``python``'s kernel; return it executed."""
    code = ("import nbformat, nbclient\n"
            f"nb = nbformat.read({notebook!r}, as_version=4)\n"
            "nb.cells.append(nbformat.v4.new_code_cell(\n"
            "    'import sys, helpers; print(sys.executable, helpers.__file__)'))\n"
            "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',\n"
            "                        resources={'metadata': {'path': '.'}}).execute()\n"
            "nbformat.write(nb, 'executed-' + " + repr(notebook) + ")\n")
    result = subprocess.run([str(python), "-c", code], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    executed = nbformat.read(folder / f"executed-{notebook}", as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    return executed


def helpers_from(executed: nbformat.NotebookNode, venv: Path) -> None:
    kernel, module = executed.cells[-1].outputs[0]["text"].split()
    assert kernel.startswith(str(venv)), f"the kernel ran {kernel}, not the fresh environment"
    assert module.startswith(str(venv)), f"helpers came from {module}, not the wheel"


def run_alone(notebook: nbformat.NotebookNode, name: str, tmp_path: Path) -> None:
    """Colab's route: ``notebook`` alone in an empty folder, run in a fresh virtual
    environment where only its setup cell can install ``helpers``; it must run, with
    ``helpers`` from that environment."""
    folder = tmp_path / "alone"
    folder.mkdir()
    nbformat.write(notebook, folder / name)
    python = fresh_venv(tmp_path / "venv")
    helpers_from(execute_notebook(python, folder, name, clean_env()), tmp_path / "venv")

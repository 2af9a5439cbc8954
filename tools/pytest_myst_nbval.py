"""pytest plugin: execute the book's MyST-Markdown notebooks with nbval.

nbval collects only ``.ipynb`` files. The book's single source of each page is a
MyST-Markdown notebook (jupytext format) under ``book/``, so this plugin reads each
such ``.md`` file with jupytext *in memory* and hands the notebook to nbval's own
collector. Nothing is written beside the sources.

Enabled from the root ``conftest.py``, together with ``--nbval-lax`` (set in
``pyproject.toml``): every code cell becomes a test item. A cell fails when it raises,
and also when it writes to stderr: a warning (a missing glyph in a figure, a
deprecation) or a progress bar on stderr is a defect of the page, exactly as in the
strict book build (myst-nb's ``execute.stderr_output: warn`` with ``-W``).

The pages' experiments (``helpers.experiments``) are computed once, before the first
page runs, on every core, into the cache the book's build uses
(``_build/.experiments``, or ``$BOOK_EXPERIMENT_CACHE``); the pages of both editions
then read their results, and so does a later ``make book`` with the same code.
"""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import jupytext
import pytest
from nbval.plugin import IPyNbCell, IPyNbFile


class StrictCell(IPyNbCell):
    """An nbval cell that also fails when the cell writes to stderr."""

    def runtest(self):
        super().runtest()
        stderr = "".join(out.get("text", "") for out in self.test_outputs or []
                         if out.get("output_type") == "stream" and out.get("name") == "stderr")
        if stderr:
            self.raise_cell_error("Cell wrote to stderr", "\n" + stderr)


def is_myst_notebook(path: Path) -> bool:
    """True for a Markdown file whose front matter declares a jupytext MyST notebook."""
    if path.suffix != ".md":
        return False
    head = path.read_text(encoding="utf-8")[:1000]
    return head.startswith("---") and "format_name: myst" in head and "kernelspec" in head


class MystNotebookFile(IPyNbFile):
    """nbval's notebook collector, fed from a jupytext MyST file."""

    def collect(self):
        notebook = jupytext.read(self.path)
        with mock.patch("nbval.plugin.nbformat.read", return_value=notebook):
            cells = list(super().collect())
        return [StrictCell.from_parent(self, name=c.name, cell_num=c.cell_num, cell=c.cell,
                                       options=c.options) for c in cells]


def pytest_collect_file(file_path: Path, parent):
    opt = parent.config.option
    if (opt.nbval or opt.nbval_lax) and is_myst_notebook(file_path):
        return MystNotebookFile.from_parent(parent, path=file_path)
    return None


def pytest_configure(config):
    from helpers import experiments

    if config.option.nbval or config.option.nbval_lax:
        root = Path(__file__).resolve().parent.parent
        os.environ.setdefault(experiments.ENV, str(root / "_build" / ".experiments"))


def pytest_collection_finish(session):
    """Compute the experiments of the collected pages before the first cell runs."""
    from helpers import experiments

    pages = {item.path.stem for item in session.items if isinstance(item, StrictCell)}
    chapters = experiments.chapters_of(sorted(pages))
    listing = session.config.option.collectonly
    if chapters and os.environ.get(experiments.ENV) and not listing:
        experiments.compute_all(chapters, log=None)

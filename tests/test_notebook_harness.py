"""The test harness itself: a page whose cell raises must fail the test run.

``tools/pytest_myst_nbval.py`` hands the book's MyST notebooks to nbval. These tests
run pytest on small throw-away pages to show that the plugin collects them and that
a broken cell is reported as a failure (and a healthy page as a pass).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from pages import write_page

ROOT = Path(__file__).resolve().parent.parent

def _run_pytest_on(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    page = write_page(tmp_path / "page.md", textwrap.dedent(body))
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["tools.pytest_myst_nbval"]\n', encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-current-env", "-q", "-o", "addopts=", "--rootdir", str(tmp_path),
         str(page)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_broken_cell_fails_the_run(tmp_path):
    result = _run_pytest_on(tmp_path, """
        ```{code-cell} ipython3
        x = 1
        ```

        ```{code-cell} ipython3
        1 / 0
        ```
        """)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ZeroDivisionError" in result.stdout
    assert "1 failed, 1 passed" in result.stdout


def test_cell_writing_to_stderr_fails(tmp_path):
    result = _run_pytest_on(tmp_path, """
        ```{code-cell} ipython3
        import warnings
        warnings.warn("Glyph 21098 missing from font(s) DejaVu Sans.")
        ```
        """)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Cell wrote to stderr" in result.stdout
    assert "Glyph 21098 missing" in result.stdout


def test_healthy_page_passes(tmp_path):
    result = _run_pytest_on(tmp_path, """
        ```{code-cell} ipython3
        import helpers
        x = helpers.i18n.tr("accuracy", "zh")
        ```

        ```{code-cell} ipython3
        assert x == "准确率"
        ```
        """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_every_book_page_is_collected():
    from tools.pytest_myst_nbval import is_myst_notebook

    pages = sorted((ROOT / "book").glob("*/*.md"))
    notebooks = [p for p in pages if is_myst_notebook(p)]
    assert notebooks, "no MyST notebook found under book/"
    # Plain Markdown pages (index, references) have no code to run; every page
    # with a code cell must be a notebook, or its code would go untested.
    for page in pages:
        if "{code-cell}" in page.read_text(encoding="utf-8"):
            assert page in notebooks, f"{page} has code cells but no jupytext header"

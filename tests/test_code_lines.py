"""The pages show short code: the figures of ``tools/code_lines.py`` stay within bounds.

A reader's page is the lesson, not its bookkeeping (README, "Contributing"): the
visible code cells of each edition have a median of at most 8 lines, at most 15 % of
them are longer than 15 lines, and no visible line is wider than 88 characters (a
wider one scrolls sideways on the website).
"""

from __future__ import annotations

import pytest

from helpers.languages import LANGUAGES
from tools import code_lines

ROWS = code_lines.measure_book()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_visible_code_is_short(lang):
    figures = code_lines.summary(ROWS, lang)
    assert figures.visible_cells > 0
    assert figures.median_lines <= 8, figures.line()
    assert figures.share_long <= 0.15, figures.line()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_visible_line_is_wider_than_the_code_column(lang):
    wide = [f"{r.page}: {line.strip()[:70]}" for r in ROWS if r.lang == lang
            for line in r.wide_lines]
    assert not wide, f"{len(wide)} visible lines over {code_lines.WIDTH} characters: {wide}"


def test_summary_counts_hidden_cells_out(tmp_path):
    page = tmp_path / "page.md"
    front = (code_lines.ROOT / "book" / "en" / "glossary.md").read_text(encoding="utf-8")
    page.write_text(front[:front.index("---", 3) + 3] + "\n\n"
                    "```{code-cell} ipython3\nx = 1\n```\n\n"
                    "```{code-cell} ipython3\n:tags: [remove-cell]\n"
                    + "y = 2\n" * 20 + "```\n\n"
                    "```{code-cell} ipython3\n" + "z = 3\n" * 16 + "w" * 89 + "\n```\n",
                    encoding="utf-8")
    row = code_lines.measure(page)
    assert (row.cells, row.visible_cells, row.cell_lines) == (3, 2, [1, 17])
    assert [n for _, n in row.long_cells] == [17] and row.wide_lines == ["w" * 89]
    figures = code_lines.summary([row], row.lang)
    assert figures.median_lines == 9 and figures.share_long == 0.5

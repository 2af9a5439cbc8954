"""How much code each page shows its reader: visible code lines and long cells.

Usage::

    python tools/code_lines.py               # table of both editions
    python tools/code_lines.py --long 15     # cells over 15 lines (the default)
    python tools/code_lines.py --list        # also list each long visible cell

A code cell is *visible* unless its myst-nb tags remove its source from the page
(``remove-cell``, ``remove-input``) or fold it (``hide-cell``, ``hide-input``: shown
on click). Lines are the non-blank lines of the cell's source. The table gives, per
page and language: code cells, visible cells, visible lines, all lines, and the
visible cells longer than ``--long`` lines. Below it, per edition, the figures the book
keeps (``tests/test_code_lines.py``): the median of the visible cells' lines, the share
of visible cells over ``--long`` lines and the visible lines wider than 88 characters.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext

from helpers.languages import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = {"remove-cell", "remove-input", "hide-cell", "hide-input"}
#: The widest visible code line the book allows (characters).
WIDTH = 88


@dataclass
class PageCode:
    """The code of one page, as a reader of the website meets it."""

    page: str
    lang: str
    cells: int
    visible_cells: int
    lines: int
    visible_lines: int
    long_cells: list[tuple[int, int]]  # (cell index among code cells, lines)
    cell_lines: list[int]  # non-blank lines of each visible cell
    wide_lines: list[str]  # visible lines wider than WIDTH characters


def _lines(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.strip())


def measure(path: Path, long: int = 15) -> PageCode:
    """Count the code of one MyST page (``book/<lang>/<page>.md``)."""
    notebook = jupytext.read(path)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    visible = [(k, c) for k, c in enumerate(code)
               if not HIDDEN & set(c.metadata.get("tags", []))]
    return PageCode(
        page=path.stem, lang=path.parent.name, cells=len(code), visible_cells=len(visible),
        lines=sum(_lines(c.source) for c in code),
        visible_lines=sum(_lines(c.source) for _, c in visible),
        long_cells=[(k, _lines(c.source)) for k, c in visible if _lines(c.source) > long],
        cell_lines=[_lines(c.source) for _, c in visible],
        wide_lines=[line for _, c in visible for line in c.source.splitlines()
                    if len(line) > WIDTH])


@dataclass
class EditionCode:
    """The figures of one edition's visible code, over all its pages."""

    lang: str
    visible_cells: int
    median_lines: float
    share_long: float  # visible cells over the long threshold, as a fraction
    wide_lines: int

    def line(self, long: int = 15) -> str:
        return (f"{self.lang}: {self.visible_cells} visible code cells, median "
                f"{self.median_lines:g} lines, {100 * self.share_long:.1f}% over {long} "
                f"lines, {self.wide_lines} lines wider than {WIDTH} characters")


def summary(rows: list[PageCode], lang: str) -> EditionCode:
    """The figures of ``lang``'s pages among ``rows``."""
    mine = [r for r in rows if r.lang == lang]
    lines = [n for r in mine for n in r.cell_lines]
    return EditionCode(lang, len(lines), statistics.median(lines) if lines else 0.0,
                       sum(len(r.long_cells) for r in mine) / max(len(lines), 1),
                       sum(len(r.wide_lines) for r in mine))


def measure_book(langs=LANGUAGES, long: int = 15) -> list[PageCode]:
    """Every page of the given editions that has code."""
    rows = []
    for lang in langs:
        for path in sorted((ROOT / "book" / lang).glob("*.md")):
            row = measure(path, long)
            if row.cells:
                rows.append(row)
    return rows


def table(rows: list[PageCode], long: int = 15) -> str:
    """A Markdown table of the measurements, with totals per language."""
    out = [f"| page | lang | code cells | visible cells | visible lines | all lines "
           f"| visible cells > {long} lines | longest visible |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        longest = max((n for _, n in row.long_cells), default=0)
        out.append(f"| {row.page} | {row.lang} | {row.cells} | {row.visible_cells} "
                   f"| {row.visible_lines} | {row.lines} | {len(row.long_cells)} "
                   f"| {longest or ''} |")
    for lang in sorted({r.lang for r in rows}):
        mine = [r for r in rows if r.lang == lang]
        out.append(f"| **all** | {lang} | {sum(r.cells for r in mine)} "
                   f"| {sum(r.visible_cells for r in mine)} "
                   f"| {sum(r.visible_lines for r in mine)} | {sum(r.lines for r in mine)} "
                   f"| {sum(len(r.long_cells) for r in mine)} | |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", action="append", choices=LANGUAGES)
    parser.add_argument("--long", type=int, default=15, help="a long cell has more lines")
    parser.add_argument("--list", action="store_true", help="list the long visible cells")
    args = parser.parse_args(argv)
    rows = measure_book(tuple(args.lang or LANGUAGES), args.long)
    print(table(rows, args.long))
    print()
    for lang in args.lang or LANGUAGES:
        print(summary(rows, lang).line(args.long))
    if args.list:
        for row in rows:
            for k, n in row.long_cells:
                print(f"{row.lang}/{row.page}.md: code cell {k}: {n} lines")
            for line in row.wide_lines:
                print(f"{row.lang}/{row.page}.md: {len(line)} characters: {line.strip()[:60]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

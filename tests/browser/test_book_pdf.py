"""The PDF editions (``make pdf``) hold every chapter, in order, with Chinese text.

Checked with ``pdftotext`` (Debian's ``poppler-utils``) when it is installed and the
PDFs have been built (``_build/pdf``, or ``BOOK_PDF_DIR``); skipped otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.languages import LANGUAGES
from tools.serve_and_screenshot import ROOT
from tools.toc import book_pages

PDF_DIR = Path(os.environ.get("BOOK_PDF_DIR", ROOT / "_build" / "pdf"))
_HEADING = re.compile(r"^# (.+)$", re.M)
_MARKUP = re.compile(r"[*_`]|\{[^}]*\}")


def title(lang: str, name: str) -> str:
    """The first heading of a page's source, without Markdown markup."""
    text = (ROOT / "book" / lang / f"{name}.md").read_text(encoding="utf-8")
    match = _HEADING.search(text)
    assert match, f"book/{lang}/{name}.md has no title"
    return _MARKUP.sub("", match.group(1)).strip()


def pdf_pages(path: Path) -> list[str]:
    """The text of each page of a PDF (``pdftotext``); skips when it cannot be had."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (Debian: apt-get install poppler-utils)")
    if not path.is_file():
        pytest.skip(f"no {path.name}: build it with `make pdf`")
    sources = [ROOT / "book" / path.stem.removeprefix("book-") / f"{n}.md" for n in book_pages()]
    if path.stat().st_mtime < max(s.stat().st_mtime for s in sources):
        pytest.skip(f"{path.name} is older than the book's sources: run `make pdf` again")
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True)
    return done.stdout.split("\f")


def squash(text: str) -> str:
    """Text without white space, so that words broken across lines still match."""
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pdf_has_every_chapter_in_order(lang):
    """Each chapter starts a page with its title, in the order of the table of contents."""
    pages = pdf_pages(PDF_DIR / f"book-{lang}.pdf")
    tops = [squash(page) for page in pages]  # a long title may wrap to a second line
    position = 0
    for name in book_pages()[1:]:
        heading = squash(title(lang, name))
        starts = [k for k, top in enumerate(tops) if k >= position and top.startswith(heading)]
        assert starts, f"book-{lang}.pdf: no page after page {position + 1} starts with " \
                       f"chapter {name!r} ({title(lang, name)!r})"
        position = starts[0] + 1


def test_chinese_pdf_is_chinese_text():
    text = "".join(pdf_pages(PDF_DIR / "book-zh.pdf"))
    han = len(re.findall(r"[\u4e00-\u9fff]", text))
    assert han > 500, f"only {han} Chinese characters extracted from book-zh.pdf"
    assert "\ufffd" not in text, "book-zh.pdf has characters without a Unicode mapping"

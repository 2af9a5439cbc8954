"""The book's table of contents (``_toc.yml``), read in one place for every tool."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TOC = ROOT / "_toc.yml"


def book_pages(toc: Path = TOC) -> list[str]:
    """The page names (file names without ``.md``) of the table of contents.

    Root first, then chapters, sections and parts in reading order; the same names in
    every edition (``book/<lang>/<name>.md``).
    """
    data = yaml.safe_load(Path(toc).read_text(encoding="utf-8"))
    pages = [str(data["root"]).removesuffix(".md")]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(str(entry["file"]).removesuffix(".md"))
            for key in ("chapters", "sections", "parts"):
                walk(entry.get(key))

    walk([data])
    return pages

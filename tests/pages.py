"""Throw-away MyST notebooks for the tests of the book's page tooling."""

from __future__ import annotations

from pathlib import Path

#: The front matter of a page of the book (a jupytext MyST notebook).
HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

"""


def write_page(path: Path, body: str, title: str = "A page") -> Path:
    """Write a MyST notebook: the front matter, ``# title`` and ``body`` (Markdown with
    ``{code-cell}`` blocks); return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{HEADER}# {title}\n\n{body}", encoding="utf-8")
    return path

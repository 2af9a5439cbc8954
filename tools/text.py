"""The tools' texts in every language, from ``tools/text.toml``: ``tr(key, lang)``.

The words of the downloaded notebooks (:mod:`tools.notebook_export`), the notebooks
bundle's setup cell, link and README (:mod:`tools.notebooks_bundle`) and the verdict
phrases of :mod:`tools.verdict_check`; the file has the format of every text file of
the book (:func:`helpers.i18n.read_texts`).
"""

from __future__ import annotations

import functools
from pathlib import Path

from helpers.i18n import read_texts
from helpers.languages import check_language

TEXT_FILE = Path(__file__).resolve().with_name("text.toml")


@functools.cache
def texts() -> dict[str, dict]:
    """Every text of ``tools/text.toml``: ``{key: {lang: text}}``."""
    return read_texts(TEXT_FILE)


def tr(key: str, lang: str):
    """The text ``key`` in language ``lang`` (a list of strings for lists of phrases)."""
    check_language(lang)
    try:
        return texts()[key][lang]
    except KeyError:
        raise KeyError(f"{TEXT_FILE.name}: no text {key!r} in {lang!r}; add it in every "
                       "language") from None

"""The book's figure style, in English or Chinese.

Chinese text is drawn with Noto Sans CJK SC (SIL Open Font License), shipped by the
PyPI package ``mplfonts``; the font file is registered with matplotlib's font
manager here, without running any of that package's commands.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

from ._checks import check_language
from .languages import REGISTRY

__all__ = ["CJK_FONT", "FIGURE_DPI", "MIN_FONT_PT", "cjk_font_path", "register_cjk_font", "use_house_style"]

#: The smallest text of the book's figures, in points (``fontsize=8``; matplotlib's
#: "small" is 8.3 pt, "x-small" 6.9 pt is below it). With the house style's 110 dpi,
#: 8 pt is 12.2 px in the figure's image; on a phone the site shows every figure at
#: least 3/4 of its size (``book/_static/phone-figures.js``), so no figure text is
#: smaller than 9 px there. ``tests/test_plot.py`` finds every smaller size in code.
MIN_FONT_PT = 8

#: The resolution of the figures the pages show (matplotlib's ``figure.dpi``; the
#: inline backend draws at it), in dots per inch.
FIGURE_DPI = 110

#: Family name of the CJK font used for Chinese figure text.
CJK_FONT = "Noto Sans CJK SC"
_FONT_FILE = "NotoSansCJKsc-Regular.otf"


def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK SC font file inside the installed ``mplfonts`` package."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the package 'mplfonts' (which ships the Noto Sans CJK SC font) is not "
            "installed; install the book's requirements: pip install -r requirements.txt")
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / _FONT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{_FONT_FILE} not found in the mplfonts package at {path}")
    return path


@lru_cache(maxsize=1)
def register_cjk_font() -> str:
    """Register the CJK font with matplotlib (once) and return its family name.

    Introduced in :doc:`how-to-use`.
    """
    font_manager.fontManager.addfont(str(cjk_font_path()))
    return CJK_FONT


def use_house_style(lang: str) -> None:
    """Set matplotlib's style for the book's figures in language ``lang``.

    Introduced in :doc:`how-to-use`; every chapter calls it once in its first cell.
    For a language written in CJK characters (``helpers.languages.REGISTRY[lang].cjk``,
    e.g. ``"zh"``) the CJK font comes first, so Chinese and Latin text share one
    typeface; otherwise it is only a fallback. Minus signs use the ASCII hyphen
    (``axes.unicode_minus = False``), which every font has.
    """
    check_language(lang)
    cjk = register_cjk_font()
    families = [cjk, "DejaVu Sans"] if REGISTRY[lang].cjk else ["DejaVu Sans", cjk]
    mpl.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "axes.unicode_minus": False,
        "figure.figsize": (6.4, 3.8),
        "figure.dpi": FIGURE_DPI,
        "savefig.dpi": 150,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "figure.constrained_layout.use": True,
    })

"""The figure style renders Chinese without missing glyphs."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers import i18n, plot  # noqa: E402
from helpers.languages import LANGUAGES  # noqa: E402


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_label_renders_without_missing_glyphs(lang):
    plot.use_house_style(lang)
    fig, ax = plt.subplots()
    fig.set_layout_engine("none")  # every text of the book on one axes: glyphs, not layout
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
        for k, key in enumerate(i18n.TEXT):
            ax.text(0.1, k / len(i18n.TEXT), i18n.tr(key, lang) + " −1")
        ax.set_title(i18n.tr("learning_curve", lang))
        fig.canvas.draw()
    plt.close(fig)


def test_chinese_style_puts_the_cjk_font_first():
    plot.use_house_style("zh")
    assert matplotlib.rcParams["font.sans-serif"][0] == plot.CJK_FONT
    assert matplotlib.rcParams["axes.unicode_minus"] is False


def test_cjk_font_file_ships_with_mplfonts():
    path = plot.cjk_font_path()
    assert path.name == "NotoSansCJKsc-Regular.otf" and path.stat().st_size > 1_000_000


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="lang must be one of"):
        plot.use_house_style("fr")


def test_translation_table_is_complete():
    for key, texts in i18n.TEXT.items():
        assert set(texts) == set(LANGUAGES), key
        assert all(texts.values()), key
    with pytest.raises(KeyError, match="no text for 'nope'"):
        i18n.tr("nope", "en")


#: matplotlib's named font sizes in points at its default 10 pt (``font_manager``).
_NAMED_PT = {"xx-small": 5.79, "x-small": 6.94, "small": 8.33, "medium": 10.0}


def _font_sizes(text: str) -> list[str]:
    import re

    return re.findall(r"\b(?:fontsize|labelsize)\s*=\s*([\"'][\w-]+[\"']|[\d.]+)", text)


def test_no_figure_text_is_smaller_than_the_house_minimum():
    """Every font size set in the pages', helpers' and benchmark's code is at least
    ``plot.MIN_FONT_PT``, which the phone layout of the site is sized for."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    files = [*root.glob("book/*/*.md"), *root.glob("helpers/**/*.py"),
             *root.glob("benchmarks/**/*.py")]
    small = []
    for path in files:
        for size in _font_sizes(path.read_text(encoding="utf-8")):
            points = _NAMED_PT.get(size.strip("\"'")) if size[0] in "\"'" else float(size)
            if points is not None and points < plot.MIN_FONT_PT:
                small.append(f"{path.relative_to(root)}: {size}")
    assert not small, f"figure text below {plot.MIN_FONT_PT} pt: {small}"
    assert _font_sizes('ax.legend(fontsize="x-small"); ax.annotate(s, fontsize=7)') == \
        ['"x-small"', "7"]

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

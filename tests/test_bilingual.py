"""The Chinese edition's line joining and citation style (book/_ext/bilingual.py)."""

import importlib.util
import sys
from pathlib import Path

import pytest
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document
from sphinx import addnodes

from helpers.languages import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bilingual", ROOT / "book/_ext/bilingual.py")
bilingual = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bilingual", bilingual)  # as Sphinx imports it
_spec.loader.exec_module(bilingual)


@pytest.mark.parametrize("text, joined", [
    ("本书。\n每一页", "本书。每一页"),          # full-width punctuation
    ("剪枝\n网络", "剪枝网络"),                   # two CJK characters
    ("使用\nPyTorch 训练", "使用 PyTorch 训练"),  # CJK next to Latin: one space
    ("the\nbook", "the\nbook"),                   # English lines stay as they are
    ("权重  \n  为零", "权重为零"),               # spaces around the break go too
])
def test_join_cjk_lines(text, joined):
    assert bilingual.join_cjk_lines(text) == joined


def _paragraph(*children):
    document = new_document("test", get_default_settings(Parser))
    paragraph = nodes.paragraph("", "", *children)
    document += paragraph
    return document, paragraph


def _citation():
    return addnodes.pending_xref("", nodes.inline("", "han2015learning"),
                                 refdomain="cite", reftype="p")


@pytest.mark.parametrize("inline", [
    nodes.math("", "w_j"),
    nodes.literal("", "helpers.prune"),
    _citation(),
])
def test_break_next_to_inline_math_code_or_citation_keeps_one_space(inline):
    document, paragraph = _paragraph(nodes.Text("把参数\n"), inline, nodes.Text("\n置零。"))
    bilingual.JoinCJKLines(document).apply()
    texts = [str(t) for t in paragraph.findall(nodes.Text)]
    assert texts[0] == "把参数 " and texts[-1] == " 置零。"
    # the inline element itself is untouched
    assert inline.astext() in ("w_j", "helpers.prune", "han2015learning")


def test_break_next_to_a_section_reference_joins_like_chinese():
    """``{ref}`pruning``` will read as the Chinese title of that section."""
    ref = addnodes.pending_xref("", nodes.inline("", "pruning"), refdomain="std",
                                reftype="ref", refexplicit=False)
    document, paragraph = _paragraph(nodes.Text("见\n"), ref, nodes.Text("\n一章。"))
    bilingual.JoinCJKLines(document).apply()
    texts = [str(t) for t in paragraph.findall(nodes.Text)]
    assert texts[0] == "见" and texts[-1] == "一章。"


def test_break_between_chinese_and_punctuation_around_inline_math():
    document, paragraph = _paragraph(nodes.Text("其中\n"), nodes.math("", "x"),
                                     nodes.Text("，\n即零。"))
    bilingual.JoinCJKLines(document).apply()
    assert paragraph.astext() == "其中 x，即零。"


def test_chinese_citation_style_names_et_al_in_chinese():
    from pybtex.database import Entry, Person
    from sphinxcontrib.bibtex.plugin import find_plugin

    bilingual._register_citation_styles()
    style = find_plugin("sphinxcontrib.bibtex.style.referencing",
                        REGISTRY["zh"].bibtex_style)()
    entry = Entry("article", fields={"year": "2015", "title": "T"})
    for name in ("Han, Song", "Pool, Jeff", "Tran, John"):
        entry.add_person(Person(name), "author")
    two = Entry("article", fields={"year": "2017", "title": "T"})
    for name in ("Zhu, Michael", "Gupta, Suyog"):
        two.add_person(Person(name), "author")
    names = style.person.names("author", full=False)

    def render(e):
        return names.format_data({"entry": e, "style": style}).render_as("text")

    assert render(entry) == "Han 等人"
    assert render(two) == "Zhu 和 Gupta"


def test_interface_texts_are_replaced_only_where_whole():
    interface = {"Main": "全书目录", "Toggle primary sidebar": "显示或隐藏目录"}
    html = ('<nav aria-label="Main"><button title="Toggle primary sidebar"></button>'
            '<p>Main</p><p>The Main idea</p><code>title="Mainly"</code></nav>')
    assert bilingual.translate_interface(html, interface) == (
        '<nav aria-label="全书目录"><button title="显示或隐藏目录"></button>'
        '<p>全书目录</p><p>The Main idea</p><code>title="Mainly"</code></nav>')


def test_every_edition_names_its_authors_and_translates_its_interface():
    from helpers.languages import REGISTRY

    for code, lang in REGISTRY.items():
        assert lang.author
        assert all(key and value and key != value for key, value in lang.interface.items())
        if lang.cjk:
            assert lang.code_parts and lang.interface, f"{code}: theme texts untranslated"


def test_chinese_footer_and_link_tooltips_read_as_chinese():
    """The footer's "By" line has no space after its full-width colon, and the theme's
    "Link to this …" tooltips are translated."""
    from helpers.languages import REGISTRY

    zh = REGISTRY["zh"]
    footer = f'<p class="component-author">\n作者： {zh.author}\n</p>'
    assert f"作者：{zh.author}" in bilingual.translate_interface(footer, zh.interface)
    tooltips = '<a class="headerlink" title="Link to this heading">#</a>'
    assert "Link to" not in bilingual.translate_interface(tooltips, zh.interface)

"""The book's languages: the one registry that every module, tool and test reads.

A leaf module (it imports nothing from ``helpers``), so anything may import it cheaply:
the figures' text (:mod:`helpers.i18n`), the Sphinx extension that links the editions,
the build, coursework, budget and screenshot tools, and the tests.

Adding a language is one entry in :data:`REGISTRY`, its texts in the text files and
the translated pages (README, "Checklist: add a language").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Language:
    """One edition of the book.

    Attributes
    ----------
    code : str
        The edition's folder under ``book/`` and ``coursework/`` and the key of every
        translated text (``"en"``).
    name : str
        The language's own name, shown on the switch to this edition (``"English"``).
    sphinx : str
        Sphinx's ``language`` setting for the edition's build (``"zh_CN"``).
    html : str
        The HTML ``lang`` attribute of the edition's pages (``"zh-CN"``).
    search : str
        Sphinx's ``html_search_language`` (the search index's word splitter).
    title : str
        The book's title in this language.
    search_text : str
        The placeholder of the search box.
    erratum : str
        The title of the admonition that corrects a claim of the source article.
    figure : str
        Sphinx's label of a numbered figure in this language (``"Fig."``).
    cjk : bool
        Whether the language is written in CJK characters: figures then put the CJK
        font first, the Sphinx extension joins source lines inside paragraphs, and
        generated text gets a space where CJK meets Latin (``helpers.i18n.spaced``).
    word_boundaries : bool
        Whether words are separated by spaces: a search for a phrase in the prose
        (``tools/verdict_check.py``) then matches whole words only.
    cased : bool
        Whether the script has upper and lower case: such a search then ignores case.
    list_separator, clause_separator : str
        What joins the items of a generated list (``", "`` / ``"、"``) and its clauses
        (``"; "`` / ``"；"``) (``helpers.i18n.listing``).
    aside : str
        A parenthetical remark after a value, ``{}`` standing for the remark
        (``" ({})"`` / ``"（{}）"``; ``helpers.i18n.aside``).
    colon : str
        The colon after a label, with its spacing (``": "`` / ``"："``), in the
        downloaded notebooks ("Exercise 3.1: title", "Fig. 3.2: caption").
    search_script : str
        A script of ``book/_static`` that the edition's search page loads (``""``:
        none); the Chinese edition splits queries into indexed words.
    citation_persons : dict
        How an author–year citation joins its authors' names, as sphinxcontrib-bibtex's
        ``PersonStyle`` fields ``sep``, ``sep2``, ``last_sep`` and ``other`` ("等人");
        empty: its English style ("Han et al. (2015)", "Frankle and Carbin (2019)").
        Read by ``book/_ext/bilingual.py`` (the edition's citation style,
        :attr:`bibtex_style`) and by the downloaded notebooks' citations.
    code_toggles : tuple of str
        The labels of a folded code cell's toggle, to show and to hide it; ``{type}``
        is the folded part, named by ``code_parts``.
    code_parts : dict
        The name of each part a toggle folds (myst-nb's ``source``, ``output``,
        ``outputs``, ``content``) in this language; empty: myst-nb's English words.
    toggle_label : str
        The accessible name of such a toggle (read by screen readers).
    solution_title : str
        How an exercise's solution is titled, ``{exercise}`` standing for the linked
        exercise ("练习 16"); empty: sphinx-exercise's own "Solution to Exercise 16".
    author : str
        The authors' line of the footer.
    interface : dict
        The theme's texts that it does not translate itself (tooltips, accessible
        names, the copyright line): English text → this language's, replaced in the
        edition's HTML where a whole attribute value or text equals the key.
    """

    code: str
    name: str
    sphinx: str
    html: str
    search: str
    title: str
    search_text: str
    erratum: str
    figure: str
    cjk: bool = False
    word_boundaries: bool = True
    cased: bool = True
    list_separator: str = ", "
    clause_separator: str = "; "
    aside: str = " ({})"
    colon: str = ": "
    search_script: str = ""
    citation_persons: dict = field(default_factory=dict)
    code_toggles: tuple[str, str] = ("Show code cell {type}", "Hide code cell {type}")
    code_parts: dict = field(default_factory=dict)
    toggle_label: str = "Toggle hidden content"
    #: sphinx-togglebutton's hints on folded content (solutions): shown, hidden
    toggle_hints: tuple[str, str] = ("Click to show", "Click to hide")
    solution_title: str = ""
    author: str = "The L1 & Pruning Book authors"
    interface: dict = field(default_factory=dict)

    @property
    def bibtex_style(self) -> str:
        """The name of the edition's author–year citation style (sphinxcontrib-bibtex's
        ``author_year``, or ``author_year_<code>`` registered by ``book/_ext/bilingual.py``
        from :attr:`citation_persons`)."""
        return f"author_year_{self.code}" if self.citation_persons else "author_year"


#: Every edition, in the order of the landing page; the first is the default.
REGISTRY: dict[str, Language] = {
    lang.code: lang for lang in (
        Language(code="en", name="English", sphinx="en", html="en", search="en",
                 title="L1 Regularization and Neural-Network Pruning",
                 search_text="Search this book...", erratum="Erratum", figure="Fig."),
        Language(code="zh", name="中文", sphinx="zh_CN", html="zh-CN", search="zh",
                 title="L1 正则化与神经网络剪枝",
                 search_text="搜索本书……", erratum="勘误", figure="图", cjk=True,
                 word_boundaries=False, cased=False, list_separator="、",
                 clause_separator="；", aside="（{}）", colon="：",
                 search_script="search-zh.js",
                 citation_persons={"sep": "、", "sep2": " 和 ", "last_sep": " 和 ",
                                   "other": " 等人"},
                 code_toggles=("显示{type}", "隐藏{type}"),
                 code_parts={"source": "代码", "output": "输出", "outputs": "输出",
                             "content": "代码与输出"},
                 toggle_label="展开或收起隐藏的内容", toggle_hints=("点击展开", "点击收起"),
                 solution_title="{exercise} 的解答",
                 author="《L1 正则化与神经网络剪枝》编写组",
                 interface={"Toggle primary sidebar": "显示或隐藏目录",
                            "Toggle secondary sidebar": "显示或隐藏本页目录",
                            "Main": "全书目录", "Page": "本页目录",
                            "Color mode": "颜色模式", "System Settings": "跟随系统",
                            "列印成 PDF": "打印为 PDF",
                            "© Copyright 2026.": "© 2026 版权所有。",
                            # the footer's "By" (作者：) and the author, without the
                            # space the theme puts after the full-width colon
                            "作者： 《L1 正则化与神经网络剪枝》编写组":
                                "作者：《L1 正则化与神经网络剪枝》编写组",
                            "Link to this heading": "链接到此标题",
                            "Link to this definition": "链接到此定义",
                            "Link to this equation": "链接到此公式",
                            "Link to this image": "链接到此图",
                            "Link to this table": "链接到此表格",
                            "Link to this code": "链接到此代码",
                            # sphinx-proof's index page (prf-prf.html)
                            "Proof Index": "定义与算法索引",
                            "Proof Index &#8212; L1 正则化与神经网络剪枝":
                                "定义与算法索引 &#8212; L1 正则化与神经网络剪枝",
                            "algorithm": "算法", "definition": "定义"}),
    )
}

#: The language codes, in registry order.
LANGUAGES: tuple[str, ...] = tuple(REGISTRY)


def check_language(lang: str) -> str:
    """Return ``lang`` if it is one of the book's languages, else raise ValueError.

    >>> check_language("zh")
    'zh'
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    return lang


#: The line by which a page's (or an assignment's) code differs between editions:
#: ``LANG = "en"``; group 1 is the language code.
LANG_LINE = re.compile(r'^LANG = "(' + "|".join(map(re.escape, LANGUAGES)) + r')"$',
                       re.MULTILINE)


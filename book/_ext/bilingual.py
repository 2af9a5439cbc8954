"""Sphinx extension: a language switch on every page of the book's editions.

The editions (the languages of ``helpers.languages.REGISTRY``: English and Chinese)
are separate Sphinx builds whose sources share file names (``book/en/NAME.md`` and
``book/zh/NAME.md``) and whose HTML output sits side by side (``_build/html/en`` and
``_build/html/zh``). Each page therefore has a counterpart at
``../<other>/<same page>.html`` in every other edition. This extension adds a link to
each in the article header (``language-switch.html``) and records them in
``<link rel="alternate" hreflang=...>`` tags for search engines.

It also joins the source lines of Chinese paragraphs: a line break inside a
paragraph becomes a space in HTML, which is right between English words but
wrong next to a Chinese character (``书。 每一页``). As XeCJK does in LaTeX, a line
break between two CJK characters or next to full-width punctuation is dropped, and one
between a CJK character and Latin text, inline math, code or a citation becomes a
single space (``参数 $w$ 的``), the spacing the Chinese sources use within a line.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform

from helpers.languages import LANGUAGES, REGISTRY


def _edition(app) -> str:
    """Return the edition's language code (``"en"``) from the source folder's name."""
    name = Path(app.srcdir).name
    if name not in REGISTRY:
        raise ValueError(f"bilingual: the source folder must be book/<lang> with lang one "
                         f"of {LANGUAGES}, got {app.srcdir}")
    return name


_CJK = "\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_IS_CJK = re.compile(f"[{_CJK}]")
_IS_WIDE_PUNCT = re.compile("[\u3000-\u303f\uff00-\uffef]")
_BREAK = re.compile(r"[ \t]*\n[ \t]*")
#: Inline nodes whose text is not prose: never rewritten, but read as neighbours.
_SKIP = (nodes.literal_block, nodes.raw, nodes.math_block, nodes.comment, nodes.literal,
         nodes.math)
#: Stands for an inline element with no text of its own yet, such as an image.
_OPAQUE = "x"
#: Stands for a cross-reference whose text Sphinx fills in later from a title of this
#: (Chinese) edition: ``{ref}`pruning``` becomes "剪枝", so it joins like CJK text.
_TITLE = "中"


def _break_between(left: str, right: str, original: str) -> str:
    """What a line break between the characters ``left`` and ``right`` becomes.

    Next to full-width punctuation, or between two CJK characters, nothing; between a
    CJK character and anything else (a Latin word, a number, inline math or code, a
    citation) one space, the spacing the Chinese sources write on a single line.
    Elsewhere the break is left alone (``original``).
    """
    if _IS_WIDE_PUNCT.match(left) or _IS_WIDE_PUNCT.match(right):
        return ""
    cjk_left, cjk_right = bool(_IS_CJK.match(left)), bool(_IS_CJK.match(right))
    if cjk_left and cjk_right:
        return ""
    if (cjk_left and right) or (cjk_right and left):
        return " "
    return original


def join_cjk_lines(text: str, before: str = "", after: str = "") -> str:
    """Join the lines of ``text`` where a line break touches a CJK character.

    ``before`` and ``after`` are the texts around ``text`` (a line break can sit at
    the edge of a text node, next to inline math, code or a citation). A break
    between two CJK characters or next to full-width punctuation is dropped; a break
    between a CJK character and anything else becomes one space (see
    :func:`_break_between`); other line breaks are left alone.
    """
    def replace(match: re.Match) -> str:
        left = text[:match.start()] or before
        right = text[match.end():] or after
        return _break_between(left[-1:], right[:1], match.group(0))

    return _BREAK.sub(replace, text)


def _xref_text(node: addnodes.pending_xref) -> str:
    """What a cross-reference will read as, as far as line joining is concerned."""
    if node.get("refdomain") == "cite":
        return _OPAQUE  # "Han 等人 (2015)": a Latin name or bracket
    if node.get("refexplicit"):
        return node.astext()
    return _TITLE


def _inline_texts(paragraph: nodes.paragraph) -> list[tuple[str, nodes.Text | None]]:
    """The paragraph's inline pieces in reading order: ``(text, node)`` for prose text
    nodes, ``(text, None)`` for math, code, cross-references and text-less elements."""
    pieces: list[tuple[str, nodes.Text | None]] = []
    for node in paragraph.findall(include_self=False):
        inside_xref, prose = False, True
        ancestor = node.parent
        while ancestor is not None and ancestor is not paragraph:
            inside_xref = inside_xref or isinstance(ancestor, addnodes.pending_xref)
            prose = prose and not isinstance(ancestor, _SKIP)
            ancestor = ancestor.parent
        if inside_xref:
            continue
        if isinstance(node, addnodes.pending_xref):
            pieces.append((_xref_text(node), None))
        elif isinstance(node, nodes.Text):
            pieces.append((str(node), node if prose else None))
        elif not any(True for _ in node.findall(nodes.Text)):
            pieces.append((_OPAQUE, None))
    return pieces


class JoinCJKLines(SphinxTransform):
    """Join the lines of prose paragraphs next to CJK characters (see module doc)."""

    default_priority = 700

    def apply(self, **kwargs) -> None:
        for paragraph in self.document.findall(nodes.paragraph):
            pieces = _inline_texts(paragraph)
            for k, (text, node) in enumerate(pieces):
                if node is None or "\n" not in text:
                    continue
                before = "".join(t for t, _ in pieces[:k])[-1:]
                after = next((t for t, _ in pieces[k + 1:] if t), "")[:1]
                joined = join_cjk_lines(text, before, after)
                if joined != text:
                    replacement = nodes.Text(joined)
                    node.parent.replace(node, replacement)
                    pieces[k] = (joined, replacement)


class TranslateCodeToggles(SphinxPostTransform):
    """The labels of folded code cells in the edition's language.

    myst-nb writes ``{type}`` into each toggle's label as an English word (``source``,
    ``output``, ``outputs``, ``content``) after the build's ``nb_code_prompt_show`` and
    ``nb_code_prompt_hide`` (the registry's ``code_toggles``); this replaces that word
    by the registry's ``code_parts``. It runs right after myst-nb's own transform.
    """

    default_priority = 200  # myst_nb.sphinx_.HideInputCells is 199
    formats = ("html",)

    def run(self, **kwargs) -> None:
        from myst_nb.sphinx_ import HideCodeCellNode

        parts = REGISTRY[_edition(self.app)].code_parts
        if not parts:
            return
        show, hide = REGISTRY[_edition(self.app)].code_toggles
        for node in self.document.findall(HideCodeCellNode):
            for key, template in (("prompt_show", show), ("prompt_hide", hide)):
                for part, name in parts.items():
                    if node[key] == template.replace("{type}", part):
                        node[key] = template.replace("{type}", name)
                        break


class TitleSolutions(SphinxPostTransform):
    """A solution's title in the edition's word order (the registry's
    ``solution_title``: "练习 16 的解答" where sphinx-exercise writes "解答 练习 16").

    Runs after sphinx-exercise has resolved the titles (its priority 21): the title is
    then the text "Solution to" (translated) followed by the link to the exercise.
    """

    default_priority = 21

    def run(self, **kwargs) -> None:
        template = REGISTRY[_edition(self.app)].solution_title
        if not template:
            return
        from sphinx_exercise.nodes import solution_node

        before, after = template.split("{exercise}")
        for node in self.document.findall(solution_node):
            title = node.children[0]
            if (len(title.children) != 2 or not isinstance(title[0], nodes.Text)
                    or not isinstance(title[1], nodes.reference)):
                continue  # not (yet) resolved by sphinx-exercise
            link = title[1]
            exercise = link.astext().strip()
            link.children = [nodes.Text(exercise)]
            title.children = [nodes.Text(before), link, nodes.Text(after)]
            node["title"] = before + exercise + after


def _visit_code_toggle(self, node) -> None:
    """myst-nb's folded cell, with the accessible name in the edition's language."""
    from html import escape

    label = REGISTRY[_edition(self.builder.app)].toggle_label
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n')
    self.body.append(f'<summary aria-label="{escape(label)}">\n')
    self.body.append(
        f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(
        f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def translate_interface(html: str, interface: dict) -> str:
    """``html`` with the theme's untranslated texts replaced (``Language.interface``).

    Only a whole attribute value (``title="Main"``) or a whole text between tags,
    spaces aside (``>  Main <``), is replaced: the same word inside the book's prose
    is left alone.
    """
    for english, translated in interface.items():
        html = html.replace(f'="{english}"', f'="{translated}"')
        html = re.sub(rf">(\s*){re.escape(english)}(\s*)<",
                      lambda m: f">{m.group(1)}{translated}{m.group(2)}<", html)
    return html


def _translate_interface(app, exception) -> None:
    interface = REGISTRY[_edition(app)].interface
    if exception is not None or not interface or app.builder.format != "html":
        return
    for path in Path(app.outdir).rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        translated = translate_interface(html, interface)
        if translated != html:
            path.write_text(translated, encoding="utf-8")


def _add_switch(app, config) -> None:
    options = dict(config.html_theme_options or {})
    end = list(options.get("article_header_end") or ["article-header-buttons.html"])
    if "language-switch.html" not in end:
        end.insert(0, "language-switch.html")
    options["article_header_end"] = end
    config.html_theme_options = options
    templates = Path(__file__).resolve().parent.parent / "_templates"
    config.templates_path = list(config.templates_path) + [str(templates)]


def _page_labels(app, pagename: str) -> str:
    """The page's MyST labels (sections, figures, ...), each an element id: the language
    switch leads to the same one in the other edition (_static/language-switch.js)."""
    labels = app.env.domaindata.get("std", {}).get("labels", {})
    return " ".join(sorted(anchor for docname, anchor, _ in labels.values()
                           if docname == pagename and anchor))


def _page_context(app, pagename, templatename, context, doctree) -> None:
    here = _edition(app)
    depth = pagename.count("/")
    anchors = _page_labels(app, pagename)
    counterparts = [
        {"url": posixpath.join(*([".."] * (depth + 1)), code, pagename + ".html"),
         "label": lang.name, "lang": lang.html, "anchors": anchors}
        for code, lang in REGISTRY.items() if code != here]
    context["counterparts"] = counterparts
    context["metatags"] = context.get("metatags", "") + "".join(
        f'\n<link rel="alternate" hreflang="{c["lang"]}" href="{c["url"]}" />'
        for c in counterparts)


def citation_style(persons: dict):
    """An author–year citation style whose names are joined by ``persons``
    (:attr:`helpers.languages.Language.citation_persons`: sphinxcontrib-bibtex's
    ``PersonStyle`` fields). The Chinese edition's names the first author of three or
    more with "等人" (not "et al.") and joins two authors with "和", so that a textual
    citation reads as part of a Chinese sentence: "Han 等人 (2015)".
    """
    from dataclasses import dataclass, field

    from sphinxcontrib.bibtex.style.referencing import PersonStyle
    from sphinxcontrib.bibtex.style.referencing.author_year import (
        AuthorYearReferenceStyle,
    )

    @dataclass
    class EditionAuthorYearReferenceStyle(AuthorYearReferenceStyle):
        person: PersonStyle = field(default_factory=lambda: PersonStyle(**persons))

    return EditionAuthorYearReferenceStyle


def _register_citation_styles() -> None:
    """Register the citation style of each edition that has its own
    (:attr:`helpers.languages.Language.bibtex_style`, which ``tools/build_book.py``
    selects for the edition's build)."""
    from sphinxcontrib.bibtex.plugin import register_plugin

    for lang in REGISTRY.values():
        if lang.citation_persons:
            register_plugin("sphinxcontrib.bibtex.style.referencing", lang.bibtex_style,
                            citation_style(lang.citation_persons), force=True)


# --- fixes found by the browser suite (tests/browser) ---


def _add_query_splitter(app) -> None:
    """An edition's own search script, if its language has one (``search_script``).

    The Chinese edition splits search queries into indexed words (_static/search-zh.js).
    """
    script = REGISTRY[_edition(app)].search_script
    if script:
        app.add_js_file(script)


def _drop_duplicate_inline_scripts(app, pagename, templatename, context, doctree) -> None:
    """Keep one copy of each inline ``<script>`` of a page.

    Sphinx 7.4 lists an inline script that an extension adds after the builder's
    start twice (once with ``filename=None``, once with ``""``); sphinx-thebe's
    ``const THEBE_JS_URL = ...`` then runs twice, and the second run is a JavaScript
    error on every page ("Identifier 'THEBE_JS_URL' has already been declared").
    """
    files = context.get("script_files")
    if not isinstance(files, list):
        return
    seen, kept = set(), []
    for script in files:
        if getattr(script, "filename", "x"):
            kept.append(script)
            continue
        key = (script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    files[:] = kept  # in place: handlers after this one may still add scripts


def setup(app):
    _register_citation_styles()
    app.connect("config-inited", _add_switch)
    app.add_transform(JoinCJKLines)
    app.add_post_transform(TranslateCodeToggles)
    app.add_post_transform(TitleSolutions)
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput

    app.add_node(HideCodeCellNode, override=True,
                 html=(_visit_code_toggle, depart_HideCellInput))
    app.add_css_file("bilingual.css")
    app.add_js_file("language-switch.js", loading_method="defer")
    app.add_js_file("phone-figures.js", loading_method="defer")
    app.connect("html-page-context", _page_context)
    app.connect("builder-inited", _add_query_splitter)
    app.connect("html-page-context", _drop_duplicate_inline_scripts)
    app.connect("build-finished", _translate_interface)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

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
break next to a CJK character or full-width punctuation mark is dropped.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxTransform

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
_BREAK = re.compile(r"[ \t]*\n[ \t]*")
_SKIP = (nodes.literal_block, nodes.raw, nodes.math_block, nodes.comment, nodes.literal)


def join_cjk_lines(text: str, before: str = "", after: str = "") -> str:
    """Drop each line break of ``text`` that touches a CJK character.

    ``before`` and ``after`` are the texts around ``text`` (a line break can sit in a
    text node of its own between two others). Other line breaks are left alone.
    """
    def replace(match: re.Match) -> str:
        left = text[:match.start()] or before
        right = text[match.end():] or after
        touches = (left and _IS_CJK.match(left[-1])) or (right and _IS_CJK.match(right[0]))
        return "" if touches else match.group(0)

    return _BREAK.sub(replace, text)


class JoinCJKLines(SphinxTransform):
    """Join the lines of prose paragraphs next to CJK characters (see module doc)."""

    default_priority = 700

    def apply(self, **kwargs) -> None:
        for paragraph in self.document.findall(nodes.paragraph):
            texts = [t for t in paragraph.findall(nodes.Text)
                     if not isinstance(t.parent, _SKIP)]
            for k, text in enumerate(texts):
                if "\n" not in text:
                    continue
                before = str(texts[k - 1]) if k > 0 else ""
                after = str(texts[k + 1]) if k + 1 < len(texts) else ""
                joined = join_cjk_lines(str(text), before, after)
                if joined != str(text):
                    text.parent.replace(text, nodes.Text(joined))
                    texts[k] = nodes.Text(joined)


def _add_switch(app, config) -> None:
    options = dict(config.html_theme_options or {})
    end = list(options.get("article_header_end") or ["article-header-buttons.html"])
    if "language-switch.html" not in end:
        end.insert(0, "language-switch.html")
    options["article_header_end"] = end
    config.html_theme_options = options
    templates = Path(__file__).resolve().parent.parent / "_templates"
    config.templates_path = list(config.templates_path) + [str(templates)]


def _page_context(app, pagename, templatename, context, doctree) -> None:
    here = _edition(app)
    depth = pagename.count("/")
    counterparts = [
        {"url": posixpath.join(*([".."] * (depth + 1)), code, pagename + ".html"),
         "label": lang.name, "lang": lang.html}
        for code, lang in REGISTRY.items() if code != here]
    context["counterparts"] = counterparts
    context["metatags"] = context.get("metatags", "") + "".join(
        f'\n<link rel="alternate" hreflang="{c["lang"]}" href="{c["url"]}" />'
        for c in counterparts)


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
    app.connect("config-inited", _add_switch)
    app.add_transform(JoinCJKLines)
    app.add_css_file("bilingual.css")
    app.connect("html-page-context", _page_context)
    app.connect("builder-inited", _add_query_splitter)
    app.connect("html-page-context", _drop_duplicate_inline_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Sphinx extension: a language switch on every page of the two editions.

The English and Chinese editions are two Sphinx builds whose sources share file
names (``book/en/NAME.md`` and ``book/zh/NAME.md``) and whose HTML output sits
side by side (``_build/html/en`` and ``_build/html/zh``). Each page therefore has
a counterpart at ``../<other>/<same page>.html``. This extension adds a link to it
in the article header (``language-switch.html``) and records the counterpart in a
``<link rel="alternate" hreflang=...>`` tag for search engines.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

EDITIONS = {"en": ("zh", "中文"), "zh": ("en", "English")}


def _edition(app) -> str:
    """Return ``"en"`` or ``"zh"`` from the source folder's name."""
    name = Path(app.srcdir).name
    if name not in EDITIONS:
        raise ValueError(
            f"bilingual: the source folder must be book/en or book/zh, got {app.srcdir}"
        )
    return name


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
    other, other_label = EDITIONS[here]
    depth = pagename.count("/")
    target = posixpath.join(*([".."] * (depth + 1)), other, pagename + ".html")
    context["counterpart_url"] = target
    context["counterpart_label"] = other_label
    context["counterpart_lang"] = "zh-CN" if other == "zh" else "en"
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{context["counterpart_lang"]}" href="{target}" />'
    )


def setup(app):
    app.connect("config-inited", _add_switch)
    app.connect("html-page-context", _page_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Sphinx extension: the API reference page and its links in both directions.

The page ``api.md`` of each edition documents the ``helpers`` package with autodoc
(numpydoc docstrings read by napoleon). This extension adds the links between the
reference and the chapters:

* **From an entry to the section that introduces it.** Docstrings name that section
  in one convention, readable in ``help()`` too::

      Introduced in :doc:`pruning`, section *Magnitude pruning*.

  The section title is looked up among the headings of the English page
  (``book/en/pruning.md``), and the ``(label)=`` target above that heading turns
  the title into a ``:ref:`` link; in the Chinese edition the link reads as the
  Chinese title, since both editions share their labels. A title that matches no
  labelled heading is a warning, so the strict build catches a docstring that
  names a section which was renamed or removed. In an edition other than English the
  lead-in itself is translated (:func:`translate_lead_in`: "首次介绍于：剪枝 › 幅值剪枝。"),
  a paragraph of its own before the English docstring.

* **From a chapter to the entry.** In every other page, the first inline code
  ``helpers.module.name`` (or ``helpers.module``) of each section becomes a link to
  its entry, when the reference documents that object (re-exports resolve to the
  module that defines the object). Later mentions in the same section stay plain.

* **Re-exports.** A cross-reference such as ``:func:`helpers.get_device``` resolves to
  the entry of the module that defines the object (``helpers.device.get_device``).

* **From code to the entry.** sphinx-codeautolink links the names of ``helpers`` in the
  pages' code cells to their entries (``prune.global_masks(...)`` after ``from helpers
  import prune``); a page's cells are read as one program (``codeautolink_concat_default``
  in ``_config.yml``). Set up here, with :func:`_untitled_sections_tolerated`.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)

#: ``:doc:`page`, section *Title*`` in a docstring (the title may wrap lines).
SECTION = re.compile(r":doc:`(?P<page>[\w-]+)`,\s+section\s+\*(?P<title>[^*]+)\*")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$")
TARGET = re.compile(r"^\(([\w-]+)\)=\s*$")
#: Inline code naming a helper: ``helpers.prune.magnitude_mask`` or ``...()``.
HELPER = re.compile(r"^(helpers(?:\.\w+)+)(?:\(\))?$")
API_PAGE = "api"


def _plain(title: str) -> str:
    return re.sub(r"\s+", " ", title.replace("`", "")).strip()


def section_labels(source: Path) -> dict[str, str | None]:
    """Map each heading's plain title to the ``(label)=`` right above it (or None)."""
    labels: dict[str, str | None] = {}
    previous, fence = "", None  # fence: the backticks of the open code block
    for line in source.read_text(encoding="utf-8").splitlines():
        if fence is None and line.startswith("```"):
            fence = line[:len(line) - len(line.lstrip("`"))]
        elif fence is not None and line.strip() == fence:
            fence = None
        heading = HEADING.match(line) if fence is None else None
        if heading:
            target = TARGET.match(previous)
            labels[_plain(heading.group(1))] = target.group(1) if target else None
        if line.strip():
            previous = line
    return labels


def link_sections(app, what, name, obj, options, lines) -> None:
    """autodoc-process-docstring: make each named section a ``:ref:`` link."""
    text = "\n".join(lines)
    english = Path(app.srcdir).parent / "en"

    def replace(match: re.Match) -> str:
        page, title = match.group("page"), _plain(match.group("title"))
        source = english / f"{page}.md"
        label = section_labels(source).get(title) if source.is_file() else None
        if label is None:
            LOGGER.warning(f"the docstring of {name} names section *{title}* of {page}, "
                           f"which has no labelled heading of that title in {source}",
                           type="api_reference", subtype="section")
            return match.group(0)
        return f":doc:`{page}`, section :ref:`{label}`"

    new = SECTION.sub(replace, text)
    edition = Path(app.srcdir).name
    if edition != "en":
        new = translate_lead_in(new, english, edition)
    if new != text:
        lines[:] = new.split("\n")


#: A docstring's lead-in once its section is a link: "Introduced in :doc:`page`",
#: then ", section :ref:`label`" or a quoted section title, and an aside in brackets.
LEAD_IN = re.compile(
    r"^Introduced in (?P<doc>:doc:`[\w-]+`)"
    r"(?:,\s+section\s+(?P<ref>:ref:`[\w-]+`)|\s+\(\"(?P<title>[^\"]+)\"\))?"
    r"(?:\s+\((?P<aside>[^()\"]*)\))?(?P<end>[.;:]?)[ \t]*(?P<rest>\S?)",
    re.MULTILINE)


def translate_lead_in(text: str, english: Path, lang: str) -> str:
    """``text`` with its "Introduced in …" lead-in in ``lang``, as a paragraph of its
    own: ``首次介绍于：{doc} › {section}。`` (the rest of the docstring stays English,
    from its next sentence on, capitalised). The texts are ``api_introduced`` and
    ``api_introduced_section`` of :data:`helpers.i18n.TEXT`, the aside the edition's
    (:attr:`helpers.languages.Language.aside`).
    """
    from helpers.i18n import aside as parenthetical
    from helpers.i18n import tr

    def replace(match: re.Match) -> str:
        doc, ref = match.group("doc"), match.group("ref")
        if match.group("title"):  # Introduced in :doc:`how-to-use` ("Running the code")
            page = doc[len(":doc:`"):-1]
            label = section_labels(english / f"{page}.md").get(_plain(match.group("title")))
            ref = f":ref:`{label}`" if label else None
        aside = match.group("aside")
        # "\ ": an escaped, vanishing space; RST ends a role only before a space or
        # punctuation that closes or separates, which "（" does not
        aside = "\\ " + parenthetical(re.sub(r"\s+", " ", aside), lang) if aside else ""
        lead = (tr("api_introduced_section", lang).format(doc=doc, section=ref, aside=aside)
                if ref else tr("api_introduced", lang).format(doc=doc, aside=aside))
        rest = match.group("rest")
        return lead + ("\n\n" + rest.upper() if rest else "")

    return LEAD_IN.sub(replace, text)


def _documented_name(dotted: str) -> str | None:
    """The name under which the reference documents ``dotted`` (None: not a helper)."""
    parts = dotted.split(".")
    try:
        obj = importlib.import_module(parts[0])
        for part in parts[1:]:
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    if isinstance(obj, type(importlib)):
        return obj.__name__
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if module and qualname:
        return f"{module}.{qualname}"
    return dotted


def link_first_uses(app, doctree, docname) -> None:
    """doctree-resolved: the first ``helpers.x`` of each section links to its entry."""
    if docname == API_PAGE or API_PAGE not in app.env.all_docs:
        return
    objects = app.env.get_domain("py").objects
    for section in doctree.findall(nodes.section):
        linked: set[str] = set()
        for literal in section.findall(nodes.literal):
            if _nearest_section(literal) is not section:
                continue
            if isinstance(literal.parent, (nodes.reference, nodes.title)):
                continue
            match = HELPER.match(literal.astext())
            target = _documented_name(match.group(1)) if match else None
            if target is None or target in linked:
                continue
            entry = objects.get(target)
            if entry is None:
                continue
            linked.add(target)
            uri = app.builder.get_relative_uri(docname, entry.docname) + "#" + entry.node_id
            reference = nodes.reference("", "", internal=True, refuri=uri,
                                        reftitle=target, classes=["api-link"])
            literal.replace_self(reference)
            reference.append(literal)


def resolve_reexport(app, env, node, contnode):
    """missing-reference: ``helpers.get_device`` finds ``helpers.device.get_device``.

    A docstring may name a helper where it is re-exported (the package root, another
    module); the reference documents it once, where it is defined.
    """
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("helpers."):
        return None
    name = _documented_name(target)
    if name is None or name == target:
        return None
    return env.get_domain("py").resolve_xref(env, node.get("refdoc", ""), app.builder,
                                             node.get("reftype", "obj"), name, node, contnode)


def _nearest_section(node):
    node = node.parent
    while node is not None and not isinstance(node, nodes.section):
        node = node.parent
    return node


def _untitled_sections_tolerated() -> None:
    """sphinx-codeautolink 0.19 pops a section title at the end of every section, but
    sphinx-exercise's exercise and solution bodies are sections without a title (its
    visitor raises IndexError on the first chapter with an exercise): the pop is skipped
    when there is no title to pop. The title stack only names sections in the
    reference's backlinks; the links from code are unaffected (``tests/browser``)."""
    from sphinx_codeautolink.extension import block

    original = block.CodeBlockAnalyser.depart_section
    if getattr(original, "tolerates_untitled", False):
        return

    def depart_section(self, node) -> None:
        if self.title_stack:
            original(self, node)

    depart_section.tolerates_untitled = True
    block.CodeBlockAnalyser.depart_section = depart_section


def setup(app):
    _untitled_sections_tolerated()
    app.setup_extension("sphinx_codeautolink")
    app.connect("autodoc-process-docstring", link_sections, priority=400)  # before napoleon
    app.connect("doctree-resolved", link_first_uses)
    app.connect("missing-reference", resolve_reexport)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

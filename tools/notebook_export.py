"""A page as a Jupyter notebook that reads like the book.

The chapters are MyST-Markdown notebooks: their prose holds glue roles
(``{glue:text}`name```), cross-references (``{ref}``, ``{numref}``, ``{eq}``,
``{cite:p}``) and directives (definitions, algorithms, exercises, solutions, errata)
that only Sphinx renders. Jupyter, JupyterLab and Colab show them as raw text. This
module turns an executed page into a notebook whose Markdown cells are plain Markdown
(with LaTeX) that every notebook front end renders:

* each glued value and verdict is written in as the text the book shows, each glued
  figure as an image attached to its cell;
* references become the text the book shows ("Fig. 3", "(4)", "Han et al. (2015)", a
  section's title), linked to the notebook that holds the target where it is one of
  the exported pages;
* definitions, algorithms and errata become quoted blocks with their titles,
  exercises headings, and solutions fold: their prose in ``<details>``, their code
  cells collapsed (``jupyter.source_hidden`` / ``outputs_hidden``);
* a figure's caption follows its cell as "Fig. N: caption"; code that the book shows
  from ``helpers`` (``literalinclude``) becomes a Python block; the book's LaTeX
  macros (``_config.yml``) are expanded.

Cells tagged ``remove-cell`` are dropped; ``hide-input``/``hide-output`` become
JupyterLab's collapsed input/output. The code cells and their outputs stay as they
ran: running the notebook recomputes every number.

Numbers are counted from the sources in the order of ``_toc.yml``, as Sphinx numbers
them (``numbered: true``, ``numfig``): chapters and their sections ("3.4.2"), and
within each chapter its figures, equations, exercises, definitions and algorithms
("Fig. 3.2"); the browser suite checks them against the built site. :func:`export` needs no Sphinx; the book's build
(``book/_ext/notebook_downloads.py``) calls it for each page's download button, and
the notebooks bundle (``tools/notebooks_bundle.py``) collects those notebooks.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
import yaml

from myst_nb.core.variables import format_plain_text

from helpers.languages import REGISTRY
from tools import text as tool_text
from tools.glue_values import GLUE_PREFIX, glued_data  # noqa: F401  (GLUE_PREFIX: tests)
from tools.toc import book_pages

ROOT = Path(__file__).resolve().parent.parent

#: ``{name}`target``` roles of MyST.
ROLE = re.compile(r"\{(?P<name>[\w:.-]+)\}`(?P<target>[^`]+)`")
#: The opening line of a fenced directive: ```` ```{name} argument ```` or ``:::{name}``.
FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:.-]+)\}[ \t]*(?P<arg>.*?)\s*$")
#: A MyST target line, ``(label)=``.
TARGET = re.compile(r"^\((?P<label>[\w:.-]+)\)=\s*$")
#: A heading line.
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*$")
#: Display math closed with a label: ``$$ (eq-name)``.
LABELLED_MATH = re.compile(r"\$\$\s*\((?P<label>[\w:.-]+)\)\s*$", re.MULTILINE)

#: The kinds of block whose name the export writes (tools/text.toml: ``export_<kind>``).
KINDS = ("exercise", "solution", "definition", "algorithm")


def _next_section(levels: list[int], depth: int) -> list[int]:
    """Section numbers after a heading of ``depth`` (1 for the chapter's title)."""
    levels = (levels + [0] * depth)[:depth]
    levels[-1] += 1
    return levels


def _outside_directives(text: str) -> list[str]:
    """The lines of ``text`` that are not inside a fenced directive."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m:
            i = _closing(lines, i, m["fence"]) + 1
            continue
        out.append(lines[i])
        i += 1
    return out


def glued_outputs(notebook: nbformat.NotebookNode) -> dict[str, dict]:
    """``{name: mime bundle}`` of every value the executed ``notebook`` glued."""
    return dict(glued for cell in notebook.cells if cell.cell_type == "code"
                for glued in map(glued_data, cell.get("outputs", [])) if glued is not None)


@dataclass
class Target:
    """What a label names: its page, its kind and what a reference to it shows."""

    page: str
    kind: str            # "section", "figure", "equation", "exercise", "definition", ...
    title: str = ""
    number: str | None = None


@dataclass
class Book:
    """One edition's labels, numbers, titles, citations and LaTeX macros, from its sources.

    Parameters
    ----------
    lang : str
        The edition.
    exported : set of str, optional
        The pages exported beside each other (one folder): references to them become
        links to ``<page>.ipynb``; other references are text only.
    """

    lang: str
    exported: set[str] = field(default_factory=set)
    targets: dict[str, Target] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    chapters: dict[str, int] = field(default_factory=dict)
    sections: dict[tuple[str, str], str] = field(default_factory=dict)
    macros: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
        tex = config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"]
        self.macros = {name: str(body) for name, body in tex.items()}
        # _toc.yml numbers the chapters (every page but the root) in reading order; Sphinx
        # numbers each kind of figure-like object within its chapter ("Fig. 3.2").
        for chapter, page in enumerate(book_pages()[1:], start=1):
            path = ROOT / "book" / self.lang / f"{page}.md"
            if not path.is_file():
                continue
            self.chapters[page] = chapter
            counters: dict[str, int] = {}

            def number(kind: str) -> str:
                counters[kind] = counters.get(kind, 0) + 1
                return f"{chapter}.{counters[kind]}"

            notebook = jupytext.read(path)
            pending: list[str] = []
            levels: list[int] = []
            for cell in notebook.cells:
                figure = cell.metadata.get("mystnb", {}).get("figure", {})
                if cell.cell_type == "code" and figure.get("name"):
                    self.targets[figure["name"]] = Target(page, "figure",
                                                          str(figure.get("caption", "")),
                                                          number("figure"))
                if cell.cell_type != "markdown":
                    continue
                for line in _outside_directives(cell.source):
                    if m := TARGET.match(line):
                        pending.append(m["label"])
                    elif m := HEADING.match(line):
                        title = self.plain(m["title"])
                        depth = len(m["hashes"])
                        if depth == 1 and page not in self.titles:
                            self.titles[page] = title
                        levels = _next_section(levels, depth)
                        if (page, m["title"]) in self.sections:
                            raise ValueError(f"book/{self.lang}/{page}.md has two headings "
                                             f"{m['title']!r}; give them different titles")
                        self.sections[(page, m["title"])] = ".".join(
                            map(str, [chapter, *levels[1:]]))
                        for label in pending:
                            self.targets[label] = Target(page, "section", title)
                        pending = []
                    elif line.strip():
                        pending = []
                for match in LABELLED_MATH.finditer(cell.source):
                    self.targets[match["label"]] = Target(page, "equation", "",
                                                          number("equation"))
                for name, arg, options, _ in _directives(cell.source):
                    label = options.get("label")
                    if name == "exercise":
                        n = number("exercise")
                        if label:
                            self.targets[label] = Target(page, "exercise", arg, n)
                    elif name.startswith("prf:"):
                        n = number(name)  # sphinx-proof numbers each kind on its own
                        if label:
                            self.targets[label] = Target(page, name[4:], self.plain(arg), n)

    def plain(self, text: str) -> str:
        """``text`` with its roles resolved to plain text (titles, captions)."""
        return ROLE.sub(lambda m: m["target"].split("<")[0].strip(), text)

    def word(self, key: str) -> str:
        """A word of the export in the edition's language: a kind of block or
        ``see_book`` (tools/text.toml), ``colon`` (the edition's typography)."""
        if key == "colon":
            return REGISTRY[self.lang].colon
        return tool_text.tr(f"export_{key}", self.lang)

    def citation_names(self, names: list[str]) -> str:
        """The authors of an author–year citation as the edition's bibliography joins
        them (:attr:`helpers.languages.Language.citation_persons`; empty: the English
        style of sphinxcontrib-bibtex)."""
        from sphinxcontrib.bibtex.style.referencing import PersonStyle

        persons, default = REGISTRY[self.lang].citation_persons, PersonStyle()
        if len(names) > 2:
            return names[0] + persons.get("other", str(default.other))
        return persons.get("sep2", str(default.sep2)).join(names)

    def link(self, text: str, label: str, here: str) -> str:
        """``text`` linked to ``label``: an anchor of page ``here``, or the notebook of
        another exported page; plain text where the target's page is not exported."""
        target = self.targets.get(label)
        page = target.page if target else label
        if page == here and target is not None:
            return f"[{text}](#{label})"
        if page not in self.exported:
            return text
        anchor = "" if target is None or label == page else f"#{label}"
        return f"[{text}]({page}.ipynb{anchor})"

    def number_text(self, label: str, template: str | None = None) -> str:
        target = self.targets.get(label)
        if target is None or target.number is None:
            raise KeyError(f"no numbered target {label!r} in book/{self.lang}")
        if template is None:
            template = {"figure": REGISTRY[self.lang].figure + " %s",
                        "exercise": self.word("exercise") + " %s"}.get(target.kind, "%s")
        return template.replace("%s", str(target.number))

    def expand_macros(self, text: str) -> str:
        """The book's LaTeX macros (``_config.yml``) written out."""
        for name, body in self.macros.items():
            text = re.sub(r"\\" + name + r"(?![A-Za-z])", lambda _: body, text)
        return text


@functools.cache
def _bibliography() -> dict[str, tuple[list[str], str]]:
    """``{key: (last names, year)}`` of ``book/references.bib``."""
    from pybtex.database import parse_file

    data = parse_file(str(ROOT / "book" / "references.bib"))
    entries = {}
    for key, entry in data.entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in people]
        entries[key] = (names, entry.fields.get("year", ""))
    return entries


def cite(book: Book, keys: str, textual: bool) -> str:
    """An author-year citation: ``Han et al. (2015)`` or ``(Han et al., 2015)``."""
    parts = []
    for key in (k.strip() for k in keys.split(",")):
        try:
            names, year = _bibliography()[key]
        except KeyError:
            raise KeyError(f"{key!r} is not in book/references.bib") from None
        who = book.citation_names(names)
        parts.append(f"{who} ({year})" if textual else f"{who}, {year}")
    return "; ".join(parts) if textual else f"({'; '.join(parts)})"


def _glued_text(book: Book, name: str, glue: dict[str, dict], page: str,
                spec: str = "") -> str:
    """A glued value as the book shows it: Markdown as is, ``text/plain`` by myst-nb's
    own rule (quotes of a string removed, ``spec`` applied)."""
    if name not in glue:
        raise KeyError(f"book/{book.lang}/{page}.md quotes {{glue:text}}`{name}`, "
                       "which its executed notebook does not glue")
    data = glue[name]
    for mime in ("text/markdown", "text/plain"):
        if mime in data:
            text = data[mime]
            text = "".join(text) if isinstance(text, list) else text
            return text if mime == "text/markdown" else format_plain_text(text, spec)
    raise KeyError(f"glued value {name!r} has no text form ({sorted(data)})")


def resolve_roles(book: Book, text: str, glue: dict[str, dict], page: str) -> str:
    """Every role of ``text`` as the book renders it."""

    def one(match: re.Match) -> str:
        name, target = match["name"], match["target"]
        explicit = re.fullmatch(r"(?P<text>.*?)\s*<(?P<label>[^<>]+)>", target, re.DOTALL)
        label = explicit["label"] if explicit else target
        if name in {"glue", "glue:text", "glue:md", "glue:any"}:
            key, _, spec = target.partition(":")
            return _glued_text(book, key, glue, page, spec)
        if name in {"ref", "doc", "prf:ref"}:
            if explicit:
                shown = book.plain(explicit["text"])
            elif name == "doc":
                shown = book.titles.get(label, label)
            else:
                found = book.targets.get(label)
                shown = (book.number_text(label) if found and found.number is not None
                         and not found.title else found.title if found and found.title
                         else label)
            return book.link(shown, label, page)
        if name == "numref":
            shown = book.number_text(label, explicit["text"] if explicit else None)
            return book.link(shown, label, page)
        if name == "eq":
            return book.link(f"({book.number_text(label)})", label, page)
        if name in {"cite", "cite:t"}:
            return cite(book, target, textual=True)
        if name == "cite:p":
            return cite(book, target, textual=False)
        if name == "math":
            return f"${target}$"
        if name in {"func", "class", "meth", "mod", "attr", "obj", "data", "py:func"}:
            return f"`{target.lstrip('~')}`"
        return target  # {term}, {abbr}, ...: the text itself

    return ROLE.sub(one, text)


def _directives(text: str):
    """``(name, argument, options, body)`` of each top-level fenced directive of ``text``."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        end = _closing(lines, i, m["fence"])
        options, body = _options(lines[i + 1:end])
        yield m["name"], m["arg"], options, body
        i = end + 1


def _closing(lines: list[str], start: int, fence: str) -> int:
    char, size = fence[0], len(fence)
    for j in range(start + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped and set(stripped) == {char} and len(stripped) >= size and \
                not FENCE.match(lines[j]):
            return j
    return len(lines)


def _options(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    options, i = {}, 0
    if lines and lines[0].strip() == "---":  # YAML options block
        end = next((j for j in range(1, len(lines)) if lines[j].strip() == "---"), 0)
        options = {str(k): str(v) for k, v in
                   (yaml.safe_load("\n".join(lines[1:end])) or {}).items()}
        i = end + 1
    while i < len(lines) and (m := re.match(r"^:([\w-]+):\s*(.*)$", lines[i])):
        options[m[1]] = m[2]
        i += 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    return options, lines[i:]


def _quote(lines: list[str]) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in lines]


def _source_of(page_dir: Path, path: str, options: dict[str, str]) -> str:
    file = (page_dir / path).resolve()
    source = file.read_text(encoding="utf-8")
    name = options.get("pyobject")
    if not name:
        return source.rstrip("\n")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node.name == name:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "\n".join(source.splitlines()[start - 1:node.end_lineno])
    raise KeyError(f"{path} has no function or class {name!r}")


def markdown(book: Book, text: str, glue: dict[str, dict], page: str,
             top: bool = True) -> str:
    """One Markdown cell's MyST source as plain Markdown (roles and directives resolved,
    the chapter's headings numbered as the site numbers them)."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        heading = HEADING.match(line) if top else None
        if heading and (page, heading["title"]) in book.sections:
            number = book.sections[(page, heading["title"])]
            out.append(f"{heading['hashes']} {number}. {heading['title']}")
            i += 1
            continue
        if TARGET.match(line):
            out.append(f'<a id="{TARGET.match(line)["label"]}"></a>')
            i += 1
            continue
        if line.startswith("%"):  # a MyST comment
            i += 1
            continue
        m = FENCE.match(line)
        if not m:
            out.append(line)
            i += 1
            continue
        end = _closing(lines, i, m["fence"])
        options, body = _options(lines[i + 1:end])
        out.extend(_directive(book, m["name"], m["arg"], options,
                              markdown(book, "\n".join(body), glue, page, top=False)
                              .splitlines(), glue, page))
        i = end + 1
    text = "\n".join(out)
    text = resolve_roles(book, text, glue, page)
    text = LABELLED_MATH.sub(lambda m: _tagged(book, m["label"]), text)
    return book.expand_macros(text)


def _tagged(book: Book, label: str) -> str:
    return f"\\tag{{{book.number_text(label)}}}\n$$"


def _directive(book: Book, name: str, arg: str, options: dict[str, str], body: list[str],
               glue: dict[str, dict], page: str) -> list[str]:
    arg = resolve_roles(book, arg, glue, page)
    label = options.get("label")
    anchor = [f'<a id="{label}"></a>'] if label else []
    if name == "exercise":
        title = book.number_text(label) if label else book.word("exercise")
        return [*anchor, f"#### {title}" + (f"{book.word('colon')}{arg}" if arg else ""),
                "", *body]
    if name.startswith("prf:"):
        kind = book.word(name[4:]) if name[4:] in KINDS else name[4:].title()
        target = book.targets.get(label or "")
        if target is not None and target.number is not None:
            kind = f"{kind} {target.number}"
        heading = f"**{kind}** ({arg})" if arg else f"**{kind}**"
        return [*anchor, *_quote([heading, "", *body])]
    if name in {"admonition", "note", "tip", "warning", "important", "caution", "hint",
                "seealso", "attention", "danger", "error"}:
        title = arg or name.title()
        return [*anchor, *_quote([f"**{title}**", "", *body])]
    if name == "literalinclude":
        language = options.get("language", "python")
        code = _source_of(ROOT / "book" / book.lang, arg, options)
        return ["```" + language, *code.splitlines(), "```"]
    if name == "math":
        return ["$$", *body, "$$"]
    if name in {"code-block", "code", "sourcecode"}:
        return ["```" + arg, *body, "```"]
    if name == "tableofcontents":
        return [f"- {book.link(book.titles.get(p, p), p, page)}" for p in book_pages()[1:]
                if p in book.titles]
    if name in {"solution-start", "solution-end"}:
        raise ValueError("solutions are folded by export(), cell by cell")
    # bibliography, eval-rst, and any other directive the book does not use in a
    # notebook: what it typesets is on the website
    return [f"*{book.word('see_book')}*"]


def _split_solutions(source: str) -> list[tuple[str, bool | None]]:
    """A Markdown cell's source in pieces ``(text, flag)``.

    Returns pieces with a flag telling whether each piece *starts* a solution
    (``True``), *ends* one (``False``) or is plain text (``None``).
    """
    pieces, lines, current = [], source.splitlines(), []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m and m["name"] in {"solution-start", "solution-end"}:
            pieces.append(("\n".join(current), None))
            current = []
            pieces.append(("", m["name"] == "solution-start"))
            i = _closing(lines, i, m["fence"]) + 1
            continue
        current.append(lines[i])
        i += 1
    pieces.append(("\n".join(current), None))
    return [(t.strip("\n"), flag) for t, flag in pieces if flag is not None or t.strip()]


def _fold(cell: nbformat.NotebookNode, summary: str) -> None:
    """Fold one cell of a solution."""
    if cell.cell_type == "markdown":
        cell.source = (f"<details><summary><b>{summary}</b></summary>\n\n{cell.source}\n\n"
                       "</details>")
    else:
        jupyter = cell.metadata.setdefault("jupyter", {})
        jupyter["source_hidden"] = True
        jupyter["outputs_hidden"] = True
        cell.metadata["tags"] = [*cell.metadata.get("tags", []), "solution"]


def export(executed: nbformat.NotebookNode, page: str, book: Book) -> nbformat.NotebookNode:
    """The executed MyST ``page`` as a notebook that reads like the book.

    Parameters
    ----------
    executed : nbformat.NotebookNode
        The page as executed (outputs and glued values in it). Not changed.
    page : str
        Its name in ``_toc.yml``.
    book : Book
        The edition's labels and numbers.

    Raises
    ------
    KeyError
        For a glue name the notebook does not glue, or a reference to a label the
        edition does not have.
    """
    notebook = nbformat.from_dict(nbformat.reads(nbformat.writes(
        nbformat.from_dict(executed)), as_version=4))
    glue = glued_outputs(notebook)
    solution = book.word("solution")
    cells, folding = [], False
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if "remove-cell" in tags:
            continue
        if cell.cell_type != "markdown":
            if "remove-input" in tags or "hide-input" in tags:
                cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
            if "remove-output" in tags or "hide-output" in tags:
                cell.metadata.setdefault("jupyter", {})["outputs_hidden"] = True
            if folding:
                _fold(cell, solution)
            cells.append(cell)
            figure = cell.metadata.get("mystnb", {}).get("figure", {})
            if cell.cell_type == "code" and figure.get("name"):
                caption = markdown(book, str(figure.get("caption", "")), glue, page)
                number = book.number_text(figure["name"])
                text = f'<a id="{figure["name"]}"></a>\n\n**{number}**{book.word("colon")}' \
                       f"{caption}"
                caption_cell = nbformat.v4.new_markdown_cell(text)
                if folding:
                    _fold(caption_cell, solution)
                cells.append(caption_cell)
            continue
        for text, starts in _split_solutions(cell.source):
            if starts is not None:
                folding = starts
                continue
            new = nbformat.v4.new_markdown_cell(markdown(book, text, glue, page))
            if folding:
                _fold(new, solution)
            cells.append(new)
    notebook.cells = cells
    for k, cell in enumerate(notebook.cells):  # stable ids: the same page, the same file
        cell["id"] = f"cell-{k}"
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                       "name": "python3"}
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    return notebook


def unresolved(notebook: nbformat.NotebookNode) -> list[str]:
    """The MyST left in an exported notebook's Markdown: roles and directive fences."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found += [m.group(0) for m in ROLE.finditer(cell.source)]
            found += [line for line in cell.source.splitlines() if FENCE.match(line)]
    return found

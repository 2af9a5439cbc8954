"""The editions stay in step: same pages, labels, code, glue keys, citations.

Every page exists as ``book/<lang>/NAME.md`` for every language of
``helpers.languages`` (``en``, ``zh``); each edition is compared with the first. Only
prose, captions, the declared language line (``LANG = "en"`` / ``LANG = "zh"``), code
comments and strings of output text (a string with non-ASCII characters in the
translation) may differ; cell options and tags are identical. Each failure message
names the page and the difference.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import jupytext
import pytest
import yaml

from helpers.languages import LANG_LINE, LANGUAGES, REGISTRY

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

REFERENCE, *TRANSLATIONS = LANGUAGES
PAGES = sorted(p.name for p in (BOOK / REFERENCE).glob("*.md"))

LABEL_PATTERNS = {
    "target": re.compile(r"^\(([\w-]+)\)=\s*$", re.MULTILINE),
    "directive label": re.compile(r"^:label:\s*(\S+)", re.MULTILINE),
    "figure name": re.compile(r"^\s+name:\s*(\S+)", re.MULTILINE),
    "equation label": re.compile(r"\$\$\s*\(([\w-]+)\)"),
    "solution": re.compile(r"\{solution-start\}\s*(\S+)"),
    "glue key": re.compile(r"\{glue(?::\w+)?\}`([\w.-]+)"),
    "citation": re.compile(r"\{cite(?::\w+)?\}`([^`]+)`"),
}


def _read(lang: str, page: str) -> str:
    return (BOOK / lang / page).read_text(encoding="utf-8")


def _items(pattern: re.Pattern, text: str) -> list[str]:
    found = []
    for match in pattern.findall(text):
        found.extend(k.strip() for k in match.split(","))
    return sorted(found)


@pytest.mark.parametrize("lang", TRANSLATIONS)
def test_same_pages_in_every_edition(lang):
    ref = {p.name for p in (BOOK / REFERENCE).glob("*.md")}
    other = {p.name for p in (BOOK / lang).glob("*.md")}
    assert ref == other, (f"only in {REFERENCE}: {sorted(ref - other)}; "
                          f"only in {lang}: {sorted(other - ref)}")


@pytest.mark.parametrize("lang", TRANSLATIONS)
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("kind", sorted(LABEL_PATTERNS))
def test_same_labels(page, kind, lang):
    pattern = LABEL_PATTERNS[kind]
    ref, other = _items(pattern, _read(REFERENCE, page)), _items(pattern, _read(lang, page))
    assert ref == other, (f"{page}: {kind}s differ: only in {REFERENCE} "
                          f"{sorted(set(ref) - set(other))}, only in {lang} "
                          f"{sorted(set(other) - set(ref))}")


def code_tokens(source: str) -> list[tuple[str, str]]:
    """The code of a cell as tokens, without comments and layout.

    Comments may be translated (a Chinese reader sees Chinese comments), so they are
    left out, as are blank lines and the text of indentation tokens. Strings stay.
    """
    tokens = []
    readline = io.StringIO(source.rstrip("\n") + "\n").readline
    for tok in tokenize.generate_tokens(readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER):
            continue
        text = "" if tok.type in (tokenize.INDENT, tokenize.DEDENT) else tok.string
        tokens.append((tokenize.tok_name[tok.type], text))
    return tokens


def same_code(ref: str, other: str) -> bool:
    """Same tokens, comments aside; a string may differ where the translation's is
    output text (it holds non-ASCII characters, e.g. Chinese)."""
    a, b = code_tokens(ref), code_tokens(other)
    return len(a) == len(b) and all(
        x == y or (x[0] == y[0] == "STRING" and not y[1].isascii()) for x, y in zip(a, b))


def test_parity_ignores_comments_and_translated_output_text_only():
    assert same_code("x = f(1)  # the mean\n", "x = f(1)  # 平均值\n")
    assert same_code('print("accuracy")', 'print("准确率")')
    assert same_code("# a comment\n\ny = 2\n", "y = 2\n")
    assert not same_code("x = f(1)", "x = f(2)")
    assert not same_code('key = "a"', 'key = "b"')  # not output text: must agree
    assert not same_code("if a:\n    b()\nc()", "if a:\n    b()\n    c()")


def _code_cells(lang: str, page: str) -> list[tuple[str, str]]:
    notebook = jupytext.read(BOOK / lang / page)
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = LANG_LINE.sub('LANG = "<lang>"', cell.source)
        figure = cell.metadata.get("mystnb", {}).get("figure", {}).get("name", "")
        tags = ",".join(cell.metadata.get("tags", []))
        cells.append((source, f"figure={figure} tags={tags}"))
    return cells


@pytest.mark.parametrize("lang", TRANSLATIONS)
@pytest.mark.parametrize("page", PAGES)
def test_code_cells_identical_except_language_line(page, lang):
    ref, other = _code_cells(REFERENCE, page), _code_cells(lang, page)
    assert len(ref) == len(other), (f"{page}: {len(ref)} code cells in {REFERENCE}, "
                                    f"{len(other)} in {lang}")
    for k, ((a, a_opts), (b, b_opts)) in enumerate(zip(ref, other)):
        assert a_opts == b_opts, (f"{page}: code cell {k}: options differ between "
                                  f"{REFERENCE} and {lang}: {a_opts} / {b_opts}")
        assert same_code(a, b), (f"{page}: code cell {k} differs between {REFERENCE} and "
                                 f"{lang}:\n{a}\n---\n{b}")


@pytest.mark.parametrize("page", PAGES)
def test_language_line_declares_the_edition(page):
    for lang in LANGUAGES:
        declared = LANG_LINE.findall(_read(lang, page))
        code = "{code-cell}" in _read(lang, page)
        if code:
            assert declared == [lang], f"{lang}/{page}: expected one line LANG = \"{lang}\""


@pytest.mark.parametrize("page", PAGES)
def test_errata_in_every_edition(page):
    counts = {lang: len(re.findall(r"\{admonition\}\s*" + re.escape(REGISTRY[lang].erratum),
                                   _read(lang, page)))
              for lang in LANGUAGES}
    assert len(set(counts.values())) == 1, f"{page}: erratum boxes per edition {counts}"


def _terminology() -> list[dict]:
    return yaml.safe_load((BOOK / "terminology.yml").read_text(encoding="utf-8"))


def test_terminology_table_is_well_formed():
    terms = _terminology()
    assert len(terms) >= 20
    for term in terms:
        assert set(term) <= {"en", "zh", "avoid"} and term["en"] and term["zh"], term
        assert term["zh"] not in term.get("avoid", []), term


def _chinese_sources() -> list[Path]:
    paths = sorted((BOOK / "zh").glob("*.md"))
    paths += sorted((ROOT / "coursework" / "zh").glob("*.md"))
    return [p for p in paths if p.name != "glossary.md"]


#: What may stand for "…" in an avoided variant: a few characters of one clause.
_GAP = r"[^。，；：、！？\n]{0,8}?"


def avoided(variant: str) -> re.Pattern:
    """The pattern of an avoided variant of ``book/terminology.yml``. A "…" in it stands
    for up to eight characters of the same clause, so "一个…标准误" also finds
    "一个二项分布标准误" (the words a writer puts between the parts)."""
    return re.compile(_GAP.join(map(re.escape, variant.split("…"))))


def test_avoided_variants_are_found_with_words_in_between():
    assert avoided("一个…标准误").search("（一个二项分布标准误）")
    assert avoided("一个…标准误").search("一个标准误")
    assert not avoided("一个…标准误").search("一个模型。它的标准误")
    assert avoided("Jupyter 笔记本").search("Jupyter 笔记本") and not avoided(
        "Jupyter 笔记本").search("Jupyter 的笔记本")


def _avoided_in(text: str, where: str) -> None:
    for term in _terminology():
        for variant in term.get("avoid", []):
            found = avoided(variant).search(text)
            assert not found, (
                f"{where} uses {found.group(0)!r} ({variant!r}); the book's term for "
                f"{term['en']!r} is {term['zh']!r} (book/terminology.yml)")


@pytest.mark.parametrize("path", _chinese_sources(), ids=lambda p: p.name)
def test_chinese_pages_avoid_listed_variants(path):
    text = path.read_text(encoding="utf-8")
    # Errata boxes quote the source article verbatim, which may use other words.
    erratum = re.escape(REGISTRY["zh"].erratum)
    text = re.sub(r"(:::|```)\{admonition\} " + erratum + r".*?\n\1", "", text, flags=re.DOTALL)
    _avoided_in(text, str(path.relative_to(ROOT)))


def _generated_chinese_texts() -> list[tuple[str, str]]:
    """The Chinese texts that code puts on pages and in notebooks: figures' and tables'
    text and verdicts (helpers/texts), coursework's texts and grader messages, the
    downloaded notebooks' and the bundle's texts (tools/text.toml)."""
    from helpers.i18n import TEXTS, read_texts

    texts = []
    for path in [*sorted(TEXTS.glob("*.toml")), ROOT / "coursework" / "text.toml",
                 ROOT / "tools" / "text.toml"]:
        texts += [(f"{path.relative_to(ROOT)} [{key}]", entry["zh"])
                  for key, entry in read_texts(path).items() if isinstance(entry["zh"], str)]
    return texts


def test_generated_chinese_texts_avoid_listed_variants():
    texts = _generated_chinese_texts()
    assert len(texts) > 300
    for where, text in texts:
        _avoided_in(text, where)


#: ``*中文*``: single-asterisk emphasis around Chinese text (outside code and math).
_ITALIC_CHINESE = re.compile(
    r"(?<![*\\A-Za-z0-9_])\*(?![*\s])[^*\n`$]*?[\u4e00-\u9fff][^*\n`$]*?(?<![*\s])\*"
    r"(?![*A-Za-z0-9_])")


@pytest.mark.parametrize("path", _chinese_sources(), ids=lambda p: p.name)
def test_chinese_emphasis_is_bold_not_italic(path):
    """Chinese has no italics; a slanted CJK glyph is a fake. Emphasis is **bold**."""
    text = re.sub(r"```\{code-cell\}.*?\n```", "", path.read_text(encoding="utf-8"),
                  flags=re.DOTALL)
    found = _ITALIC_CHINESE.findall(text)
    assert not found, f"{path.relative_to(ROOT)}: italic Chinese {found[:5]}; use **bold**"


def test_italic_chinese_pattern():
    assert _ITALIC_CHINESE.findall("剪枝*掩码*是") == ["*掩码*"]
    assert not _ITALIC_CHINESE.findall("剪枝**掩码**是，$a*b*c$ 与 *Kernel → Run*")


#: Comments that are instructions to a tool, not prose: the same in every edition.
PRAGMA = re.compile(r"#\s*(noqa|type:|doctest:|pragma|fmt:|pylint:)")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def untranslated_comments(source: str) -> list[str]:
    """The comments of a code cell written in English words and no Chinese character.

    A comment that only names code (``# W ⊙ M``, ``# (n, d)``) has no English word of
    two letters or more outside backquotes; a pragma (``# noqa``) is not prose.
    """
    found = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return found
    for token in tokens:
        text = token.string
        if token.type != tokenize.COMMENT or PRAGMA.match(text) or _CJK_CHAR.search(text):
            continue
        prose = re.sub(r"`[^`]*`", "", text.lstrip("#"))
        if len(re.findall(r"\b[A-Za-z]{2,}\b", prose)) >= 2:
            found.append(text)
    return found


def test_untranslated_comments_are_found():
    assert untranslated_comments("x = 1  # the first layer\n") == ["# the first layer"]
    assert untranslated_comments("x = 1  # 第一层 (fc1)\n") == []
    assert untranslated_comments("import os  # noqa: F401\n") == []
    assert untranslated_comments("y = w * m  # `w * m`\n") == []


@pytest.mark.parametrize("lang", [code for code in TRANSLATIONS if REGISTRY[code].cjk])
@pytest.mark.parametrize("page", PAGES)
def test_code_comments_are_in_the_edition_language(page, lang):
    notebook = jupytext.read(BOOK / lang / page)
    english = [comment for cell in notebook.cells if cell.cell_type == "code"
               for comment in untranslated_comments(cell.source)]
    assert not english, f"{lang}/{page}: comments still in English: {english}"

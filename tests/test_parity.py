"""The two editions stay in step: same pages, labels, code, glue keys, citations.

Every page exists as ``book/en/NAME.md`` and ``book/zh/NAME.md``. Only prose,
captions, the declared language line (``LANG = "en"`` / ``LANG = "zh"``), code
comments and strings of output text (a Chinese string in ``book/zh``) may differ;
cell options and tags are identical. Each failure message names the page and the
difference.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
LANG_LINE = re.compile(r'^LANG = "(en|zh)"$', re.MULTILINE)

PAGES = sorted(p.name for p in (BOOK / "en").glob("*.md"))

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


def test_same_pages_in_both_editions():
    en = {p.name for p in (BOOK / "en").glob("*.md")}
    zh = {p.name for p in (BOOK / "zh").glob("*.md")}
    assert en == zh, f"only in en: {sorted(en - zh)}; only in zh: {sorted(zh - en)}"


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("kind", sorted(LABEL_PATTERNS))
def test_same_labels(page, kind):
    pattern = LABEL_PATTERNS[kind]
    en, zh = _items(pattern, _read("en", page)), _items(pattern, _read("zh", page))
    assert en == zh, (f"{page}: {kind}s differ: only in en {sorted(set(en) - set(zh))}, "
                      f"only in zh {sorted(set(zh) - set(en))}")


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def code_tokens(source: str) -> list[tuple[str, str]]:
    """The code of a cell as tokens, without comments and layout.

    Comments may be translated (a Chinese reader sees Chinese comments), so they are
    left out; so are blank lines and indentation tokens' text. Strings stay.
    """
    tokens = []
    readline = io.StringIO(source.rstrip("\n") + "\n").readline
    for tok in tokenize.generate_tokens(readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER):
            continue
        kind = tokenize.tok_name[tok.type]
        tokens.append((kind, "" if tok.type in (tokenize.INDENT, tokenize.DEDENT) else tok.string))
    return tokens


def same_code(en: str, zh: str) -> bool:
    """Same tokens, comments aside; a string may differ where the Chinese one is
    output text (it holds Chinese characters)."""
    a, b = code_tokens(en), code_tokens(zh)
    return len(a) == len(b) and all(
        x == y or (x[0] == y[0] == "STRING" and _CJK.search(y[1])) for x, y in zip(a, b))


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


@pytest.mark.parametrize("page", PAGES)
def test_code_cells_identical_except_language_line(page):
    """Same code, cell options and tags; comments and output text may be translated."""
    en, zh = _code_cells("en", page), _code_cells("zh", page)
    assert len(en) == len(zh), f"{page}: {len(en)} code cells in en, {len(zh)} in zh"
    for k, ((a, a_opts), (b, b_opts)) in enumerate(zip(en, zh)):
        assert a_opts == b_opts, f"{page}: code cell {k}: options differ: {a_opts} / {b_opts}"
        assert same_code(a, b), f"{page}: code cell {k} differs between en and zh:\n{a}\n---\n{b}"


def test_parity_ignores_comments_and_chinese_output_text_only():
    assert same_code("x = f(1)  # the mean\n", "x = f(1)  # 平均值\n")
    assert same_code('print("accuracy")', 'print("准确率")')
    assert same_code("# a comment\n\ny = 2\n", "y = 2\n")
    assert not same_code("x = f(1)", "x = f(2)")
    assert not same_code('key = "a"', 'key = "b"')  # not output text: must agree
    assert not same_code("if a:\n    b()\nc()", "if a:\n    b()\n    c()")


@pytest.mark.parametrize("page", PAGES)
def test_language_line_declares_the_edition(page):
    for lang in ("en", "zh"):
        declared = LANG_LINE.findall(_read(lang, page))
        code = "{code-cell}" in _read(lang, page)
        if code:
            assert declared == [lang], f"{lang}/{page}: expected one line LANG = \"{lang}\""


@pytest.mark.parametrize("page", PAGES)
def test_errata_in_both_editions(page):
    en = len(re.findall(r"\{admonition\}\s*Erratum", _read("en", page)))
    zh = len(re.findall(r"\{admonition\}\s*勘误", _read("zh", page)))
    assert en == zh, f"{page}: {en} Erratum boxes in en, {zh} 勘误 boxes in zh"


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


@pytest.mark.parametrize("path", _chinese_sources(), ids=lambda p: p.name)
def test_chinese_pages_avoid_listed_variants(path):
    text = path.read_text(encoding="utf-8")
    # Errata boxes quote the source article verbatim, which may use other words.
    text = re.sub(r"(:::|```)\{admonition\} 勘误.*?\n\1", "", text, flags=re.DOTALL)
    for term in _terminology():
        for variant in term.get("avoid", []):
            assert variant not in text, (
                f"{path.relative_to(ROOT)} uses {variant!r}; the book's term for "
                f"{term['en']!r} is {term['zh']!r} (book/terminology.yml)")

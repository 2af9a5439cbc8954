"""No verdict typed by hand: find comparative words in the book's prose.

A comparison of two measured quantities ("int8 is slower than fp32", "L1 is ahead of L2",
"no difference") must take its verdict from :mod:`helpers.stats` through glue::

    result = stats.latency_ratio(times_int8, times_fp32, names=(...))
    glue("bg_int8_speed_verdict", result.verdict(LANG), display=False)

and the prose reads "… {glue:text}`bg_int8_speed_verdict` …". The verdict then changes
with the numbers, in both languages.

This module scans the prose of every page (code cells, math, inline code, glue roles,
directive options and MyST comments are not prose) for the phrases in
``tools/text.toml`` (``verdict_phrases``, regular expressions; on whole words and
ignoring case in a language that has them, ``Language.word_boundaries`` and
``Language.cased``) and reports each as a :class:`Finding` with the page, line and
what to do.

Non-comparative uses, and claims that are not about our measurements (a paper's
reported speed-up, a general fact), are allowed by a MyST comment line directly above
the paragraph, naming the phrases and the reason::

    % verdict-ok: faster, slower — the papers' reported claims, not our measurements
    Han et al. report that pruned layers run 3× faster ...

The comment is invisible in the rendered book. It covers that one paragraph, only the
phrases it names, and needs a reason after the dash. It never covers a sentence that
also holds a glued verdict (a glue key ending in ``_verdict`` or ``_word``): there a
hand-typed verdict word would repeat, or contradict, the computed one.

Run ``python tools/verdict_check.py`` to list the findings of every page;
``tests/test_verdicts.py`` fails on any.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers.languages import REGISTRY, check_language
from tools import text as tool_text

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

ALLOW = re.compile(r"^%\s*verdict-ok:\s*(?P<phrases>[^—]+?)\s*(?:—|--)\s*(?P<reason>.*)$")
VERDICT_GLUE = re.compile(r"\{glue(?::\w+)?\}`[\w.-]*_(?:verdict|word)`")
GLUE = re.compile(r"\{glue(?::\w+)?\}`[^`]*`")
ROLE = re.compile(r"\{(?:ref|numref|doc|eq|cite(?::\w+)?|term|download)\}`[^`]*`")
INLINE_CODE = re.compile(r"`[^`]*`")
INLINE_MATH = re.compile(r"\$[^$\n]+\$")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
HOW_TO_FIX = """\
A verdict about our measurements must come from helpers.stats through glue, e.g.
    result = stats.compare_accuracy(correct_a, correct_b, names=(...))
    glue("page_thing_verdict", result.verdict(LANG), display=False)   # or result.word(LANG)
and the prose says {glue:text}`page_thing_verdict` instead of the typed word. If the
phrase is not a verdict on our measurements (a paper's claim, a general fact, another
sense of the word), put this MyST comment on the line directly above the paragraph:
    % verdict-ok: PHRASE — REASON
(see the docstring of tools/verdict_check.py)."""


@dataclass(frozen=True)
class Finding:
    """One hand-typed verdict phrase: where it is and what to do."""

    page: str
    line: int
    phrase: str
    context: str
    problem: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.problem}\n    …{self.context}…"


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of the prose lines of a MyST page; everything else blanked.

    Skips front matter, code cells and fenced code, ``$$`` math and math directives,
    directive option lines and MyST comments (kept, as markers, for the allow-list).
    """
    lines = text.splitlines()
    out: list[tuple[int, str]] = []
    i = 0
    if lines and lines[0].strip() == "---":  # front matter
        i = 1
        while i < len(lines) and lines[i].strip() != "---":
            i += 1
        i += 1
    fence: str | None = None
    in_math = False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        number = i + 1
        i += 1
        opening = re.match(r"^(`{3,}|~{3,})\s*(\{[\w:-]+\})?", stripped)
        if fence is not None:
            if stripped.startswith(fence) and stripped.strip("`~") == "":
                fence = None
                out.append((number, ""))  # a paragraph break
            continue
        if opening:
            directive = opening.group(2) or ""
            prose_directive = directive and not re.match(
                r"\{(?:code-cell|code|code-block|math|raw|glue:\w+|glue|list-table|"
                r"csv-table|bibliography|tableofcontents|toctree|mermaid)\}", directive)
            if prose_directive:  # exercise, note, figure, solution: the body is prose
                out.append((number, ""))
                continue
            if stripped.count(opening.group(1)) >= 2 and stripped.endswith(opening.group(1)) \
                    and len(stripped) > 2 * len(opening.group(1)):
                continue  # a one-line fence
            fence = opening.group(1)
            out.append((number, ""))
            continue
        if re.match(r"^(`{3,}|~{3,})$", stripped):  # closing a prose directive
            out.append((number, ""))
            continue
        if stripped.startswith("$$"):
            if not (stripped.endswith("$$") and len(stripped) > 2 and stripped != "$$"
                    and stripped.count("$$") >= 2):
                in_math = not in_math
            out.append((number, ""))
            continue
        if in_math:
            continue
        if re.match(r"^:[\w-]+:", stripped) or re.match(r"^\(.*\)=$", stripped) \
                or stripped.startswith("+++"):
            out.append((number, ""))
            continue
        if stripped.startswith("%"):
            out.append((number, stripped))
            continue
        out.append((number, line))
    return out


def _paragraphs(text: str) -> list[tuple[list[str], list[tuple[int, str]]]]:
    """Paragraphs of prose: (allow-list comments above it, its lines)."""
    result = []
    comments: list[str] = []
    current: list[tuple[int, str]] = []
    for number, line in _prose_lines(text):
        if line.startswith("%"):
            if current:
                result.append((comments, current))
                comments, current = [], []
            comments.append(line)
        elif not line.strip():
            if current:
                result.append((comments, current))
                comments, current = [], []
        else:
            current.append((number, line))
    if current:
        result.append((comments, current))
    return result


def _clean(line: str) -> str:
    """A prose line with glue, roles, code, inline math and link targets blanked out."""
    line = GLUE.sub(lambda m: " " * len(m.group()), line)
    for pattern in (ROLE, INLINE_CODE, INLINE_MATH, LINK_TARGET):
        line = pattern.sub(lambda m: " " * len(m.group()), line)
    return line


def _sentences(lines: list[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """(first line number, raw sentence, cleaned sentence) of one paragraph."""
    raw = " ".join(text for _, text in lines)
    starts = []
    offset = 0
    for number, text in lines:
        starts.append((offset, number))
        offset += len(text) + 1
    out = []
    begin = 0
    for match in re.finditer(r"(?<=[.!?;。！？；])\s+|(?<=[。！？；])", raw):
        out.append((begin, raw[begin:match.end()]))
        begin = match.end()
    if begin < len(raw):
        out.append((begin, raw[begin:]))
    result = []
    for start, sentence in out:
        number = max(n for o, n in starts if o <= start)
        result.append((number, sentence, _clean(sentence)))
    return result


def check_text(text: str, lang: str, page: str = "<page>") -> list[Finding]:
    """The hand-typed verdict phrases in one page's MyST source ``text`` in ``lang``.

    Returns an empty list for a clean page. Raises ValueError for an allow-list comment
    without a reason, or for an unknown ``lang``.
    """
    language = REGISTRY[check_language(lang)]
    flags = re.IGNORECASE if language.cased else 0
    boundary = (lambda p: rf"\b{p}\b") if language.word_boundaries else (lambda p: p)
    phrases = [re.compile(boundary(p), flags) for p in tool_text.tr("verdict_phrases", lang)]
    always = [re.compile(p, flags) for p in tool_text.tr("verdict_allowed", lang)]
    findings = []
    for comments, lines in _paragraphs(text):
        allowed: list[re.Pattern] = []
        for comment in comments:
            if not re.match(r"^%\s*verdict-ok", comment):
                continue
            match = ALLOW.match(comment)
            if not match or not match.group("reason").strip():
                raise ValueError(f"{page}: allow-list comment {comment!r} needs phrases and a "
                                 f"reason: '% verdict-ok: PHRASE, PHRASE — REASON'")
            for phrase in match.group("phrases").split(","):
                phrase = phrase.strip()
                if phrase:
                    allowed.append(re.compile(boundary(re.escape(phrase)), flags))
        for number, sentence, clean in _sentences(lines):
            if clean.rstrip(" *_").endswith(("?", "？")):
                continue  # a question asks; it states no verdict
            holds_verdict = bool(VERDICT_GLUE.search(sentence))
            for pattern in phrases:
                for match in pattern.finditer(clean):
                    around = clean[max(0, match.start() - 40):match.end() + 40]
                    if any(a.search(around) for a in always):
                        continue
                    here = clean[match.start():match.end()]
                    covered = any(a.fullmatch(here) or a.search(here) for a in allowed)
                    context = " ".join(clean[max(0, match.start() - 50):
                                             match.end() + 50].split())
                    if covered and holds_verdict:
                        findings.append(Finding(
                            page, number, here, context,
                            f"'{here}' is typed by hand in a sentence that also glues a "
                            f"computed verdict; the two can disagree. Remove the word: the "
                            f"glued verdict says it"))
                    elif not covered:
                        findings.append(Finding(
                            page, number, here, context,
                            f"hand-typed verdict '{here}': glue it from helpers.stats, or "
                            f"add '% verdict-ok: {here} — <reason>' above the paragraph"))
    return findings


def check_page(path: Path) -> list[Finding]:
    """:func:`check_text` of one page file; its language is its folder's name."""
    path = Path(path)
    return check_text(path.read_text(encoding="utf-8"), path.parent.name,
                      f"{path.parent.name}/{path.name}")


def book_pages() -> list[Path]:
    """Every page of every edition, in the order of ``_toc.yml`` (``tools.toc``) and of
    the language registry."""
    from helpers.languages import LANGUAGES
    from tools import toc

    return [BOOK / lang / f"{page}.md" for lang in LANGUAGES for page in toc.book_pages()
            if (BOOK / lang / f"{page}.md").is_file()]


def main() -> int:
    findings = [f for page in book_pages() for f in check_page(page)]
    for finding in findings:
        print(finding)
    print(f"{len(findings)} hand-typed verdict phrase(s) in {len(book_pages())} pages")
    if findings:
        print(HOW_TO_FIX)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

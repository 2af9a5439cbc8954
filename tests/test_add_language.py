"""The README's "Checklist: add a language", followed step by step to the letter.

In a copy of the working tree (what git tracks or would), a dummy third language ``xx`` is
added as the checklist says, and nothing else: its entry in the registry, its texts in
every text file (a pseudo-translation: the English text and a marker), its pages, the
landing page's link and a search term. Then one page of its edition is built, strictly,
and its HTML read. A step the build needs and the checklist does not name fails here:
name it in the checklist. The repository itself is never modified.

It takes 10–20 s: one strict Sphinx build of the edition's title page and
bibliography (no page executed), marked slow.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = "xx"
MARK = f" ‹{CODE}›"
TITLE = "L1 Regularization and Neural-Network Pruning" + MARK
#: The pages built: the title page and the one its table of contents needs.
PAGES = ("index.md", "references.md")

pytestmark = pytest.mark.slow


def _checklist() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("### Checklist: add a language", 1)[1].split("\n### ", 1)[0]


def _copy_repository(to: Path) -> None:
    """The working tree's files that git tracks or would (not those it ignores)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)


def _toml_value(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string


def _add_texts(path: Path) -> int:
    """Step 2: a line ``xx = …`` under every key of a text file (the English text with
    the marker; lists of phrases as they are); returns the number of keys."""
    texts = tomllib.loads(path.read_text(encoding="utf-8"))
    lines = []
    for key, entry in texts.items():
        english = entry["en"]
        entry[CODE] = english if isinstance(english, list) else english + MARK
        lines.append(f"[{json.dumps(key, ensure_ascii=False)}]")
        lines += [f"{lang} = {_toml_value(text)}" for lang, text in entry.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return len(texts)


def test_the_checklist_adds_a_language(tmp_path):
    checklist = _checklist()
    repo = tmp_path / "repo"
    _copy_repository(repo)

    # 1. One entry in helpers/languages.py (REGISTRY), English's rules but for the
    #    citations (its own style, to show that the extension registers it).
    assert "`helpers/languages.py` (`REGISTRY`)" in checklist
    languages = repo / "helpers" / "languages.py"
    source = languages.read_text(encoding="utf-8")
    entry = (f'        Language(code="{CODE}", name="Pseudo", sphinx="{CODE}", html="{CODE}", '
             f'search="en", title="{TITLE}", search_text="Search{MARK}", '
             f'erratum="Erratum{MARK}", figure="Fig.{MARK}", '
             f'citation_persons={{"other": " et al.{MARK}"}}),\n')
    end = source.index("\n    )\n}\n", source.index("REGISTRY: dict"))
    languages.write_text(source[:end + 1] + entry + source[end + 1:], encoding="utf-8")

    # 2. Its text under every key of every text file.
    files = [*sorted((repo / "helpers" / "texts").glob("*.toml")),
             repo / "tools" / "text.toml", repo / "coursework" / "text.toml"]
    for named in ("`helpers/texts/*.toml`", "`tools/text.toml`", "`coursework/text.toml`"):
        assert named in checklist
    assert sum(map(_add_texts, files)) > 400

    # 3. The pages: book/xx/ as book/en/ with LANG = "xx" (here the one page built);
    #    the assignments in coursework/xx/ likewise.
    assert "`book/<code>/`" in checklist and "`coursework/<code>/`" in checklist
    (repo / "book" / CODE).mkdir()
    for page in PAGES:
        text = (repo / "book" / "en" / page).read_text(encoding="utf-8")
        text = text.replace('LANG = "en"', f'LANG = "{CODE}"')
        (repo / "book" / CODE / page).write_text(text, encoding="utf-8")
    shutil.copytree(repo / "coursework" / "en", repo / "coursework" / CODE)

    # 4. The landing page links the edition and its notebooks.
    assert "`book/index.html`" in checklist
    landing = repo / "book" / "index.html"
    link = (f'      <a class="edition" href="{CODE}/index.html" hreflang="{CODE}">{TITLE}</a>\n'
            f'      <a href="{CODE}/l1-pruning-book-notebooks-{CODE}.zip" download>zip</a>\n')
    html = landing.read_text(encoding="utf-8")
    landing.write_text(html.replace("    </nav>", link + "    </nav>"), encoding="utf-8")

    # 5. What readers of the edition will search for.
    assert "`tests/browser/search_terms.toml`" in checklist
    with open(repo / "tests" / "browser" / "search_terms.toml", "a", encoding="utf-8") as f:
        f.write(f'\n[[search]]\nlang = "{CODE}"\nquery = "digits"\npage = "how-to-use"\n')

    # The edition, strictly built by the build's own function, from its title page and
    # the bibliography alone (pages without code: nothing is executed).
    (repo / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n"
                                   "  - file: references\n", encoding="utf-8")
    script = f"""
import sys
import helpers.i18n, tools
from helpers.i18n import listing, tr
from tools import build_book
assert helpers.i18n.__file__.startswith({str(repo)!r}) and tools.__file__.startswith({str(repo)!r})
from tools import notebooks_bundle, verdict_check
# the edition's texts and rules, where the pages, the verdict check and the bundle read them
assert tr("accuracy", "{CODE}") == "accuracy{MARK}", tr("accuracy", "{CODE}")
assert listing(["a", "b"], "{CODE}") == "a, b"
assert len(verdict_check.check_text("The pruned network is Faster.\\n", "{CODE}")) == 1
assert "{MARK}" in notebooks_bundle.readme("{CODE}", "helpers.whl")
sys.exit(build_book.build_edition("{CODE}", strict=True, build=build_book.BUILD))
"""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    env.pop("BOOK_EXPERIMENT_CACHE", None)
    run = subprocess.run([sys.executable, "-c", script], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    page = (repo / "_build" / "html" / CODE / "index.html").read_text(encoding="utf-8")
    assert re.search(rf"<title>[^<]*{re.escape(TITLE)}[^<]*</title>", page)
    assert re.search(rf'<html[^>]*\blang="{CODE}"', page)
    assert f'placeholder="Search{MARK}"' in page
    # the other editions' switches know the new one, and it knows them
    assert 'hreflang="zh-CN"' in page and 'href="../zh/index.html"' in page
    assert str(ROOT) not in page  # built from the copy

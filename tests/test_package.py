"""The shape of the package: lazy submodules, no import cycle, one language registry."""

from __future__ import annotations

import ast
import subprocess
import sys
import re
from pathlib import Path

import pytest

import helpers

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "helpers").glob("*.py"))


def _imports_of_package_root(path: Path) -> list[str]:
    """Names a module imports from ``helpers/__init__`` (``from . import X`` of a non-module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            root = (node.level == 1 and node.module is None) or node.module == "helpers"
            if root:
                found += [a.name for a in node.names if a.name not in helpers.SUBMODULES]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "helpers"]
    return found


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "__init__.py"],
                         ids=lambda p: p.name)
def test_no_module_imports_from_the_package_root(path):
    assert _imports_of_package_root(path) == []


def test_every_module_is_listed_as_a_submodule():
    names = {p.stem for p in MODULES if not p.stem.startswith("_")}
    assert names == set(helpers.SUBMODULES)


def test_import_helpers_is_cheap_and_submodules_load_on_use():
    """``import helpers`` loads no torch; and a page that only reads results pays for
    torch and matplotlib, not for the second or so that scikit-learn and scipy.stats
    take to import: no module imports them when it is imported, only the functions
    that use them."""
    from helpers import experiments

    modules = [f"helpers.{m}" for m in helpers.SUBMODULES] + [
        f"helpers.experiments.{c}" for c in experiments.CHAPTERS]
    code = ("import sys, helpers; assert 'torch' not in sys.modules, 'torch loaded';"
            "helpers.prune; assert 'helpers.prune' in sys.modules;"
            "assert helpers.get_device().type in ('cpu', 'cuda');"
            "assert helpers.LANGUAGES == tuple(helpers.languages.REGISTRY);"
            f"import {', '.join(modules)};"
            "heavy = sorted(m for m in sys.modules"
            "               if m.split('.')[0] in ('sklearn', 'pandas') or"
            "               m.startswith(('scipy.stats', 'scipy.optimize')));"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        helpers.no_such_thing  # noqa: B018
    assert {"prune", "get_device", "LANGUAGES"} <= set(dir(helpers))


def test_one_rule_chooses_the_weights():
    """L1 penalties, pruning, the layer table and quantisation act on the same weights."""
    from torch import nn

    from helpers import l1, layers, metrics, prune, quant, structured

    model = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(), nn.Linear(4, 3), nn.ReLU(),
                          nn.ConvTranspose1d(3, 1, 1), nn.BatchNorm1d(1))
    chosen = list(prune.prunable_parameters(model))
    assert chosen == ["0.weight", "2.weight"]
    assert [f"{name}.weight" for name, _ in layers.weight_layers(model)] == chosen
    assert [row["name"] + ".weight" for row in metrics.layer_table(model)] == chosen
    expected = sum(p.abs().sum() for n, p in model.named_parameters() if n in chosen)
    assert float(l1.l1_penalty(model, 1.0).detach()) == pytest.approx(float(expected.detach()))
    rounded = quant.quantize_model_weights(model, bits=8)
    assert [n for n, p in model.named_parameters()
            if not bool((p == dict(rounded.named_parameters())[n]).all())] == chosen
    assert set(structured._PRODUCERS) <= set(layers.WEIGHT_LAYERS)


def test_no_file_changes_the_import_path():
    """Modules are imported as installed packages or with ``python -m``: no path hacks."""
    listed = subprocess.run(["git", "ls-files", "*.py", "*.md"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()
    pattern = "sys" + ".path."
    offenders = [name for name in listed if (ROOT / name).is_file()
                 and any(pattern + verb in (ROOT / name).read_text(encoding="utf-8")
                         for verb in ("insert", "append", "extend"))]
    assert offenders == []


def test_the_language_switch_links_every_other_edition():
    """The Sphinx extension reads the registry: one link per other edition."""
    import importlib.util
    from types import SimpleNamespace

    from helpers.languages import LANGUAGES, REGISTRY

    spec = importlib.util.spec_from_file_location("bilingual", ROOT / "book/_ext/bilingual.py")
    bilingual = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bilingual)
    for here in LANGUAGES:
        context = {}
        labels = {"pruning-torch": ("pruning", "pruning-torch", "The same masks"),
                  "l1-norms": ("l1-regularization", "l1-norms", "Norms")}
        app = SimpleNamespace(srcdir=str(ROOT / "book" / here),
                              env=SimpleNamespace(domaindata={"std": {"labels": labels}}))
        bilingual._page_context(app, "pruning", "page.html", context, None)
        others = [code for code in LANGUAGES if code != here]
        # the switch knows this page's labels (the same place in the other edition)
        assert all(c["anchors"] == "pruning-torch" for c in context["counterparts"])
        assert [c["url"] for c in context["counterparts"]] == [
            f"../{code}/pruning.html" for code in others]
        assert [c["lang"] for c in context["counterparts"]] == [
            REGISTRY[code].html for code in others]
        assert context["metatags"].count('rel="alternate"') == len(others)
    with pytest.raises(ValueError, match="book/<lang>"):
        bilingual._edition(SimpleNamespace(srcdir="/tmp/book/fr"))


def test_the_builds_read_the_registry():
    from helpers.languages import REGISTRY
    from tools import build_book, coursework

    assert set(build_book.EDITIONS) == set(REGISTRY)
    assert build_book.EDITIONS["zh"]["language"] == REGISTRY["zh"].sphinx
    assert coursework.LANG_LINE.search('x = 1\nLANG = "zh"\n').group(1) == "zh"


#: Every file of translated texts: one table per key, one text per language code.
TEXT_FILES = sorted([*(ROOT / "helpers" / "texts").glob("*.toml"), ROOT / "tools" / "text.toml",
                     ROOT / "coursework" / "text.toml"])


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_text_file_has_every_key_in_every_language(path):
    from helpers.i18n import read_texts
    from helpers.languages import LANGUAGES

    texts = read_texts(path)
    assert texts
    for key, entry in texts.items():
        assert set(entry) == set(LANGUAGES), f"{path.name} [{key}]"
        assert all(entry.values()), f"{path.name} [{key}]"


def test_the_texts_ship_with_the_package():
    """Downloaded notebooks call tr() from the installed wheel: helpers/texts/*.toml is
    package data, and i18n reads every file of it (each key in one file only)."""
    import tomllib

    from helpers.i18n import TEXT, TEXTS, read_texts

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "texts/*.toml" in setuptools["tool"]["setuptools"]["package-data"]["helpers"]
    assert TEXTS == ROOT / "helpers" / "texts"
    keys = [key for path in sorted(TEXTS.glob("*.toml")) for key in read_texts(path)]
    assert len(keys) == len(set(keys)) == len(TEXT)


def _owner(name: str) -> str | None:
    """The chapter whose texts a file may name (a page of it, its experiments' module; the
    benchmark's package writes the benchmark appendix, the coursework's masters the
    coursework page), or None for code that belongs to no chapter."""
    path = Path(name)
    if path.parts[0] == "book" and path.parent.name in _languages() and path.suffix == ".md":
        return path.stem.replace("-", "_")
    if path.parent.as_posix() == "helpers/experiments" and not path.stem.startswith("__"):
        return path.stem
    if path.parts[0] == "benchmarks":
        return "benchmark_results"
    if path.parts[0] == "coursework":
        return "coursework"
    return None


def _languages():
    from helpers.languages import LANGUAGES

    return LANGUAGES


def test_chapter_texts_are_named_by_their_chapter_only():
    """helpers/texts/<chapter>.toml holds the texts of one chapter (named as its page and
    its experiments' module): no other chapter's page or module, and no code outside the
    chapters, names one of its keys; common.toml holds the rest. Keys that are one plain
    word ("uniform", "yes") are left out: code says such words for other reasons."""
    from helpers.i18n import TEXTS, read_texts
    from tools.toc import book_pages

    chapters = {page.replace("-", "_") for page in book_pages()}
    files = {path.stem: {key for key in read_texts(path) if re.search(r"[_-]", key)}
             for path in TEXTS.glob("*.toml")}
    assert set(files) - {"common"} <= chapters, "a text file named after no chapter"
    listed = subprocess.run(["git", "ls-files", "*.py", "*.md"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()
    strays = []
    for name in listed:
        if name.startswith("tests/") or name == "helpers/i18n.py" or not (ROOT / name).is_file():
            continue
        source = (ROOT / name).read_text(encoding="utf-8")
        named = set(re.findall(r"[\"'](\w[\w-]*)[\"']", source))
        for chapter, keys in files.items():
            if chapter != "common" and _owner(name) != chapter:
                strays += [(name, chapter, key) for key in sorted(named & keys)]
    assert strays == [], "keys named outside their chapter: move them to common.toml"


def test_one_key_per_text():
    """No two entries of helpers.i18n.TEXT (every file of helpers/texts) say the same
    thing in every language."""
    from helpers.i18n import TEXT

    by_text: dict[tuple, list[str]] = {}
    for key, texts in TEXT.items():
        by_text.setdefault(tuple(sorted(texts.items())), []).append(key)
    duplicates = [keys for keys in by_text.values() if len(keys) > 1]
    # "accuracy" is the column key of every results table and the word itself; its header
    # says which accuracy the tables report. "l1_name_<estimator>" names every estimator
    # of the L1 chapter's comparisons by its key.
    assert duplicates == [["test_accuracy", "col_accuracy"], ["l1_ridge", "l1_name_ridge"]]


def test_every_literal_text_key_exists():
    import re

    from helpers.i18n import TEXT
    from tools import text as tool_text

    known = {"": TEXT, "tool_text.": tool_text.texts()}  # tools' texts: tools/text.toml
    listed = subprocess.run(["git", "ls-files", "*.py", "*.md"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()
    missing = sorted({(name, key) for name in listed if name != "tests/test_plot.py"
                      and (ROOT / name).is_file()
                      for where, key in re.findall(
                          r"\b(tool_text\.)?tr\(\s*[\"'](\w+)[\"']\s*[,)]",
                          (ROOT / name).read_text(encoding="utf-8"))
                      if key not in known[where]})
    assert missing == []


def _module_map() -> set[str]:
    """The names of the README's module map (``.name`` continues the previous package)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Module map", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    names: set[str] = set()
    for row in section.splitlines():
        if not row.startswith("| `"):
            continue
        package = ""
        for name in re.findall(r"`([^`]+)`", row.split("|")[1]):
            if name.startswith("."):
                name = package + name
            else:
                package = name.rsplit(".", 1)[0]
            names.add(name.removesuffix(".py").replace("/", ".").removesuffix(".__init__"))
    return names


def test_readme_module_map_names_every_module():
    """Every module of helpers, tools and benchmarks is in the README's module map, itself
    or through its package (derived from the files, not from a second list)."""
    listed = _module_map()
    missing = []
    for package in ("helpers", "tools", "benchmarks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "results" in parts or parts[-1] in {"__init__", "__main__"}:
                continue
            module = ".".join(parts)
            if not any(".".join(parts[:k]) in listed for k in range(2, len(parts) + 1)):
                missing.append(module)
    assert not missing, f"README's module map lacks {missing}"

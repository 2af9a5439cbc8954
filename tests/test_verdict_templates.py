"""Every verdict template, rendered with every name it can receive, reads as a sentence.

A verdict (helpers.stats.Comparison.verdict, Equivalence.verdict) glues two names into
a template: "{a}比{b}高 … 个百分点". A name that is an adjective or a verb phrase
(「稠密」, 「移除 50% 的神经元」) or that carries its own colon makes the sentence
ungrammatical, so every name a verdict receives is a key of the noun-phrase table
(helpers.i18n.NOUN_PHRASES, after helpers.i18n.VERDICT_NAMES). Here every template is
rendered with every name of that table, in both languages, and checked for doubled
punctuation, ASCII punctuation inside Chinese, and the edition's CJK/Latin spacing
(helpers.i18n.spaced); and the code of the book is scanned for the names it passes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import pytest

from helpers import stats
from helpers.i18n import NOUN_PHRASES, TEXT, VERDICT_NAMES, spaced, verdict_name
from helpers.languages import LANGUAGES, REGISTRY

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"p": "90", "amount": 0.5}

#: One comparison per template of Comparison.verdict (pp, other units, speed-ups).
COMPARISONS = {
    "stats_ahead_pp": dict(estimate=1.2, low=0.4, high=2.0, unit="pp"),
    "stats_behind_pp": dict(estimate=-3.7, low=-5.6, high=-1.9, unit="pp"),
    "stats_same_pp": dict(estimate=0.1, low=-0.8, high=1.1, unit="pp"),
    "stats_identical": dict(estimate=0.0, low=0.0, high=0.0, unit="pp"),
    "stats_ahead": dict(estimate=-0.09, low=-0.12, high=-0.05, unit="lm_perplexity",
                        higher_is_better=False),
    "stats_behind": dict(estimate=18.0, low=5.0, high=30.0, unit="l1_test_mse",
                         higher_is_better=False),
    "stats_same": dict(estimate=-18.0, low=-105.0, high=69.0, unit="l1_test_mse",
                       higher_is_better=False),
    "stats_faster": dict(estimate=2.0, low=1.8, high=2.2, unit="×", kind="ratio"),
    "stats_slower": dict(estimate=0.5, low=0.4, high=0.6, unit="×", kind="ratio"),
    "stats_same_speed": dict(estimate=1.0, low=0.9, high=1.1, unit="×", kind="ratio"),
    "stats_speed_undecided": dict(estimate=1.2, low=0.3, high=3.3, unit="×", kind="ratio"),
}
#: Equivalence decisions: (comparison fields, margin, non_inferiority).
EQUIVALENCES = {
    "stats_equivalent": (dict(estimate=0.1, low=-0.3, high=0.4), 0.5, False),
    "stats_equivalence_undecided": (dict(estimate=0.1, low=-1.2, high=1.7), 0.5, False),
    "stats_not_equivalent": (dict(estimate=-3.0, low=-5.3, high=-2.1), 0.5, False),
    "stats_non_inferior": (dict(estimate=0.1, low=-0.3, high=0.4), 0.5, True),
    "stats_non_inferiority_undecided": (dict(estimate=0.1, low=-1.2, high=1.7), 0.5, True),
    "stats_inferior": (dict(estimate=-3.0, low=-5.3, high=-2.1), 0.5, True),
}
SENTENCE_KEYS = sorted(k for k in TEXT if k.startswith("stats_")
                       and not k.startswith(("stats_word_", "stats_unit_")))


def _name(key: str, lang: str) -> str:
    return TEXT[key][lang].format(**FIELDS)


def _comparison(names, *, unit="pp", kind="difference", higher_is_better=True, **values):
    return stats.Comparison(names, confidence=0.95, p_value=None, method="t", unit=unit,
                            kind=kind, higher_is_better=higher_is_better, **values)


def render_all(a: str, b: str, lang: str) -> dict[str, str]:
    """Every verdict template rendered in ``lang`` with the names ``a`` and ``b`` (texts)."""
    out = {}
    for key, fields in COMPARISONS.items():
        out[key] = _comparison((a, b), **fields).verdict(lang)
    for key, (fields, margin, non_inferiority) in EQUIVALENCES.items():
        comparison = stats.Comparison((a, b), confidence=0.90, p_value=None, method="t",
                                      unit="pp", **fields)
        out[key] = stats.equivalence(comparison, margin,
                                     non_inferiority=non_inferiority).verdict(lang)
    return out


def test_every_sentence_template_is_rendered():
    assert set(COMPARISONS) | set(EQUIVALENCES) == set(SENTENCE_KEYS)


_CJK = r"[\u4e00-\u9fff]"
_WIDE = "，。；：、（）“”！？"


def sentence_problems(text: str, lang: str) -> list[str]:
    """What keeps ``text`` from reading as one sentence in ``lang`` (empty: nothing)."""
    problems = []
    for doubled in ("。。", "，，", "；；", "：：", "、、", "..", ",,", ";;", "::"):
        if doubled in text:
            problems.append(f"doubled {doubled!r}")
    if REGISTRY[lang].cjk:
        if text.count("：") > 1:
            problems.append("more than one 「：」 (a name or a run of colons)")
        if re.search(f"{_CJK}\\s*[;:,]|[;:,]\\s*{_CJK}", text):
            problems.append("ASCII ; : or , inside Chinese text")
        if "）（" in text:
            problems.append("two asides back to back 「）（」")
        if spaced(text, lang) != text:
            problems.append("no space where Chinese meets Latin or a digit")
        if re.search(f" [{_WIDE}]|[{_WIDE}] ", text):
            problems.append("a space beside full-width punctuation")
    else:
        if re.search(_CJK, text):
            problems.append("Chinese in an edition written without it")
        if text.count(":") - text.count("2:4") > 1:
            problems.append("more than one colon")
    return problems


def test_sentence_problems_are_found():
    assert sentence_problems("实测：CNN：Network Slimming 比稠密 CNN 更快：加速比 2.00×", "zh")
    assert sentence_problems("A 比 B 高。。", "zh")
    assert sentence_problems("移除 25% 时; 移除 50% 时", "zh")
    assert sentence_problems("即Network Slimming 比稠密网络更快", "zh")
    assert not sentence_problems("2:4 稀疏的网络比稠密网络高 1.2 个百分点（95% 置信区间 0.4 至 2.0）",
                                 "zh")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", NOUN_PHRASES)
def test_every_template_reads_with_every_name(key, lang):
    name = _name(key, lang)
    partner = _name("prune_c_dense", lang)
    for a, b in ((name, partner), (partner, name)):
        for template, text in render_all(a, b, lang).items():
            assert name in text and partner in text, (template, text)
            problems = sentence_problems(text, lang)
            assert not problems, f"{template} with {key!r}: {problems}: {text}"


#: Chinese words that are no noun: an adjective or a verb a name may not be or end in.
_NOT_A_HEAD = re.compile(r"(^(稠密|稀疏|随机|更快|更慢|剪枝|移除|微调)$|的$|[：；;]|(?<!\d):(?!\d)|(移除|剪掉|剪枝|置零)\s*\d+%$)")
#: English words that are no noun phrase on their own.
_BARE_EN = {"dense", "random", "sparse", "iterative", "magnitude", "global", "uniform",
            "layer-wise magnitude", "global magnitude", "one-shot", "dynamic int8",
            "scikit-learn's"}


@pytest.mark.parametrize("key", NOUN_PHRASES)
def test_every_name_is_a_noun_phrase(key):
    assert key in TEXT and verdict_name(key) == key, key
    zh, en = _name(key, "zh"), _name(key, "en")
    head = re.sub(r"（[^（）]*）$", "", zh).strip()  # a trailing aside qualifies the head
    assert not _NOT_A_HEAD.search(head), f"{key}: 「{zh}」 is no noun phrase"
    assert " + " not in zh and "+" not in head, f"{key}: 「{zh}」 glues two names with +"
    assert en.lower() not in _BARE_EN and not re.search(r"(?<!\d):(?!\d)|;|\s\+\s", en), \
        f"{key}: {en!r} is no noun phrase"


def test_every_label_with_a_verdict_name_maps_to_the_table():
    for label, name in VERDICT_NAMES.items():
        assert label in TEXT and name in NOUN_PHRASES, (label, name)


# ------------------------------------------------------------- the names the code passes

CALLS = {"compare_accuracy", "compare_examples", "compare_paired", "latency_ratio",
         "mcnemar", "Comparison", "_compare", "_speedup", "compare"}


def _sources():
    for path in sorted((ROOT / "helpers" / "experiments").glob("*.py")):
        yield path, path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "book" / "en").glob("*.md")):
        cells = jupytext.read(path).cells
        yield path, "\n".join(c.source for c in cells if c.cell_type == "code"
                              and not c.source.lstrip().startswith(("%", "!")))


def _keys(node, assigned) -> set[str]:
    """The i18n keys among the string constants of ``node``, following names assigned
    in the same source (``names = (...)``, ``COLUMNS = {...}``)."""
    keys = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub.value in TEXT:
            keys.add(sub.value)
        elif isinstance(sub, ast.Name) and sub.id in assigned:
            for value in assigned.pop(sub.id):
                keys |= _keys(value, assigned)
    return keys


def names_passed() -> dict[str, set[str]]:
    """Each i18n key the book's code passes as a verdict's name, with where."""
    found: dict[str, set[str]] = {}
    for path, code in _sources():
        tree = ast.parse(code)
        assigned: dict[str, list] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.attr if isinstance(node.func, ast.Attribute) else \
                getattr(node.func, "id", "")
            args = [k.value for k in node.keywords if k.arg == "names"]
            if func in ("_compare", "_speedup") and len(node.args) >= 3:
                args.append(node.args[2])
            if func == "label" and node.args:  # helpers.experiments.pruning's names
                args.append(node.args[0])
            if func not in CALLS | {"label"}:
                continue
            for arg in args:
                for key in _keys(arg, dict(assigned)):
                    found.setdefault(key, set()).add(path.name)
    return found


def test_the_code_names_verdicts_by_noun_phrases_only():
    found = names_passed()
    assert len(found) > 40  # the scan reaches the experiments and the pages
    outside = {verdict_name(key): sorted(where) for key, where in found.items()
               if verdict_name(key) not in NOUN_PHRASES}
    assert not outside, f"verdict names outside helpers.i18n.NOUN_PHRASES: {outside}"


def test_comparison_verdicts_have_no_colon_of_their_own():
    """Pages introduce a verdict with 「：」 (「实测：{glue}」); a verdict with a colon of
    its own would make two in a row, so Comparison's Chinese templates have none."""
    for key in COMPARISONS:
        assert "：" not in TEXT[key]["zh"] and ":" not in TEXT[key]["zh"], key

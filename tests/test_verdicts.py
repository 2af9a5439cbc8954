"""No verdict typed by hand: every page's prose passes tools/verdict_check.py.

A comparative statement about a measured quantity ("faster", "ahead", "no difference",
更快, 领先, …) must take its verdict from helpers.stats through glue. The check can
fail: the tests below feed it small bad pages.
"""

from __future__ import annotations

import pytest

from tools import verdict_check as vc

#: Pages whose prose still types verdicts by hand. A page listed here is expected to
#: fail (strictly: once it passes, the test says so, and the page leaves this list).
PENDING: set[str] = set()

PAGES = vc.book_pages()


def _name(path):
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("page", [
    pytest.param(p, id=_name(p), marks=pytest.mark.xfail(
        _name(p) in PENDING, strict=True, reason="verdicts not yet glued"))
    for p in PAGES])
def test_page_has_no_hand_typed_verdict(page):
    findings = vc.check_page(page)
    assert not findings, (
        f"{len(findings)} hand-typed verdict phrase(s) in {_name(page)}:\n"
        + "\n".join(str(f) for f in findings) + "\n\n" + vc.HOW_TO_FIX)


def test_pending_pages_exist():
    assert PENDING <= {_name(p) for p in PAGES}


BAD_EN = """\
# A page

```{code-cell} ipython3
glue("int8_speed_verdict", result.verdict(LANG), display=False)
faster = 3  # code is not prose
```

Int8 is faster than fp32 at batch 1, and L1 beats L2.

The sparse model is {glue:text}`int8_speed_verdict`.
"""


def test_a_bad_page_fails_and_says_what_to_do():
    findings = vc.check_text(BAD_EN, "en", "en/bad.md")
    assert [(f.line, f.phrase) for f in findings] == [(8, "faster"), (8, "beats")]
    message = str(findings[0])
    assert message.startswith("en/bad.md:8: hand-typed verdict 'faster'")
    assert "% verdict-ok: faster — <reason>" in message
    assert "glue" in vc.HOW_TO_FIX and "helpers.stats" in vc.HOW_TO_FIX


def test_a_bad_chinese_page_fails():
    page = "剪枝之后，稀疏模型比稠密模型更快，L1 领先 L2。\n\n{glue:text}`x_verdict`。\n"
    assert [f.phrase for f in vc.check_text(page, "zh")] == ["更快", "领先"]


def test_verdicts_of_degree_and_of_speed_are_caught():
    page = ("The penalty trained far worse, and the zeroed model runs as slowly as the "
            "dense one; after fine-tuning the variants end close together.\n")
    assert [f.phrase for f in vc.check_text(page, "en")] == ["far worse", "as slowly as",
                                                             "close together"]
    zh = "剪枝后的模型和稠密模型一样快，误差远远最小。\n"
    assert sorted(f.phrase for f in vc.check_text(zh, "zh")) == sorted(["一样快", "远远"])


def test_glue_code_math_questions_and_other_senses_are_not_verdicts():
    page = """\
Is the sparse model faster?

The result: {glue:text}`bg_speed_verdict`, see `faster()` and $a \\text{ faster}$.

$$
\\text{faster} = 1
$$

There is a precise statement behind it.
"""
    assert vc.check_text(page, "en") == []


def test_the_allow_list_covers_one_paragraph_and_needs_a_reason():
    allowed = """\
% verdict-ok: faster — Han et al.'s reported claim, not our measurement
Han et al. report that pruned layers run 3× faster.

Our pruned layer is faster.
"""
    findings = vc.check_text(allowed, "en")
    assert [(f.line, f.phrase) for f in findings] == [(4, "faster")]
    with pytest.raises(ValueError, match="needs phrases and a reason"):
        vc.check_text("% verdict-ok: faster\nIt is faster.\n", "en")
    with pytest.raises(ValueError, match="needs phrases and a reason"):
        vc.check_text("% verdict-ok: faster — \nIt is faster.\n", "en")


def test_an_allowed_word_beside_a_glued_verdict_is_a_contradiction_risk():
    page = """\
% verdict-ok: slower — the general fact, not our measurement
CSR is slower here: {glue:text}`prune_csr_verdict`.
"""
    findings = vc.check_text(page, "en")
    assert len(findings) == 1 and "also glues a computed verdict" in findings[0].problem


def test_a_crashing_kernel_is_not_a_collapse():
    assert vc.check_text("超时或使内核崩溃的单元会被去掉。\n", "zh") == []
    assert [f.phrase for f in vc.check_text("剪枝后准确率崩溃。\n", "zh")] == ["崩溃"]


def test_unknown_language_is_rejected():
    with pytest.raises(ValueError, match="lang"):
        vc.check_text("text", "fr")

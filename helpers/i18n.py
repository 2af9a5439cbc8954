"""The text of figures, tables and verdicts in every language of the book.

Notebook code is identical in every edition; only the declared ``LANG`` differs.
Plot text therefore comes from the texts of ``helpers/texts/*.toml`` (one file per
chapter, beside the package's code, and one for the library):
``tr("accuracy", LANG)``. Keep the Chinese terms in step with the book's terminology
table (glossary page). Punctuation and spacing rules are the edition's
(:class:`helpers.languages.Language`).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ._checks import check_language
from .languages import REGISTRY

__all__ = ["TEXT", "tr", "column_header", "verdict_name"]

#: Where the texts live, shipped with the package: one TOML file per chapter
#: (``<chapter>.toml``, named as ``helpers/experiments/<chapter>.py``: the texts of its
#: figures, tables and verdicts) and ``common.toml`` (the texts of the library and of
#: several chapters). Each file has one table per key, one string per language.
TEXTS = Path(__file__).resolve().with_name("texts")


def read_texts(path) -> dict[str, dict]:
    """The texts of one TOML file: ``{key: {lang: text}}``, where a text is a string (or,
    for lists of phrases, a list of strings). The book's text files are all in this
    format: ``[key]`` then ``en = "…"``, ``zh = "…"``, one line per language."""
    with open(path, "rb") as f:
        table = tomllib.load(f)
    for key, texts in table.items():
        if not isinstance(texts, dict) or not all(
                isinstance(text, str) or (isinstance(text, list)
                                          and all(isinstance(t, str) for t in text))
                for text in texts.values()):
            raise ValueError(f"{path}: [{key}] must hold one text per language code")
    return table


def _all_texts() -> dict[str, dict[str, str]]:
    text: dict[str, dict[str, str]] = {}
    for path in sorted(TEXTS.glob("*.toml")):
        for key, texts in read_texts(path).items():
            if key in text:
                raise ValueError(f"{path.name}: key {key!r} is in another file of {TEXTS} too")
            text[key] = texts
    return text


#: key -> {"en": ..., "zh": ...}: every file of :data:`TEXTS` (one key per text).
TEXT: dict[str, dict[str, str]] = _all_texts()

#: How a verdict names what a label names (legends, table rows): the key of a noun
#: phrase for each label key that is not one in both languages ("dense" → "the dense
#: network" / 稠密网络). Read by :meth:`helpers.stats.Comparison.named`; every name a
#: verdict receives is a key of :data:`NOUN_PHRASES` (tests/test_verdict_templates.py).
VERDICT_NAMES: dict[str, str] = {
    "dense": "prune_c_dense", "bm_dense": "prune_c_dense", "prune_random": "pipe_random",
    "prune_iterative": "v_prune_iterative", "prune_layerwise": "v_prune_layerwise",
    "prune_global": "v_prune_global", "prune_oneshot": "v_prune_oneshot",
    "prune_erk": "v_prune_erk", "prune_lamp": "v_prune_lamp",
    "prune_oneshot_short": "v_prune_oneshot_short", "prune_v_csr": "v_prune_csr",
    "prune_v_unstructured": "v_prune_unstructured", "prune_v_neurons": "v_prune_neurons",
    "prune_uniform": "v_prune_uniform", "lm_magnitude": "pipe_magnitude",
    "lm_cell_layer_magnitude": "v_lm_layer_magnitude",
    "lm_cell_row_magnitude": "v_lm_row_magnitude",
    "lm_cell_layer_wanda": "v_lm_layer_wanda", "lm_cell_row_wanda": "v_lm_row_wanda",
    "faq_dense": "v_faq_dense", "faq_nm_24": "v_faq_nm_24",
    "faq_unstructured50": "v_faq_unstructured50", "bg_int8": "v_bg_int8",
    "l1_sklearn_cd": "v_l1_sklearn_cd", "pipe_l1": "v_pipe_l1", "pipe_l2": "v_pipe_l2",
    "prune_crit_l2": "v_crit_l2", "prune_crit_l2_out": "v_crit_l2_out",
    "prune_crit_activation": "v_crit_activation", "prune_crit_taylor": "v_crit_taylor",
    "prune_gradual": "v_prune_gradual", "pipe_dense_budget": "v_pipe_dense_budget",
    # the background's timed pruned model runs on the dense kernel (its table row, the
    # stored model, is CSR); the pipeline's |γ| column
    "bg_pruned": "bg_v_pruned", "pipe_gamma": "pipe_gamma_name",
}

#: Every key whose text may name a side of a verdict, each a noun phrase in every
#: language (a network, a model, a method, a criterion): what a comparison's names
#: become after :data:`VERDICT_NAMES`. tests/test_verdict_templates.py renders every
#: verdict template with each of them and checks that the code names no other.
NOUN_PHRASES: tuple[str, ...] = (
    # background
    "bg_baseline", "bg_judge_baseline", "bg_judge_dense", "bg_judge_pruned", "bg_v_pruned",
    "v_bg_int8", "kmeans", "uniform",
    # L1
    "l1_ols", "l1_name_lasso_min", "l1_name_ridge", "l1_our_cd", "v_l1_sklearn_cd",
    "l1_v_proximal", "l1_v_subgradient", "l1_v_none",
    # pruning
    "prune_c_dense", "prune_c_same_budget", "prune_c_pruned",
    "prune_c_pruned_raw", "prune_c_neurons", "prune_m_cnn_pruned",
    "prune_m_cnn_same_budget", "v_prune_layerwise", "v_prune_global",
    "v_prune_iterative", "v_prune_gradual", "v_prune_oneshot", "v_prune_oneshot_short",
    "v_crit_l2", "v_crit_l2_out", "v_crit_activation", "v_crit_taylor",
    "prune_crit_random", "prune_dense_kernel", "prune_csr_kernel", "prune_torch_hooked",
    "v_prune_csr", "v_prune_unstructured", "v_prune_neurons", "prune_tailored",
    "v_prune_uniform", "v_prune_erk", "v_prune_lamp",
    # pipeline
    "pipe_magnitude", "v_pipe_l1", "v_pipe_l2", "col_pipe_slimming", "pipe_slimming",
    "pipe_gamma_name", "pipe_dense_mlp", "v_pipe_dense_budget", "pipe_dense_cnn",
    "pipe_v_magnitude", "pipe_v_best_int8", "pipe_v_best_fp32", "pipe_q2_fp32",
    "pipe_q2_int8", "pipe_q2_pruned", "pipe_q2_pruned_int8", "pipe_random",
    "pipe_shared", "pipe_csr_int8", "pipe_global", "pipe_layerwise",
    # residual networks
    "res_pruned", "res_v_recal", "res_v_raw", "Torch-Pruning", "res_group_norm",
    # language models
    "lm_wanda", "lm_sparsegpt", "lm_owl", "lm_uniform_wanda", "v_lm_layer_magnitude",
    "lm_heads_importance", "lm_heads_random", "lm_cal_train", "lm_cal_val",
    "lm_strided", "lm_non_overlapping",
    "v_lm_row_magnitude", "v_lm_layer_wanda", "v_lm_row_wanda",
    # training sparse networks
    "st_rewind", "st_init", "st_reinit", "st_snip", "st_grasp", "st_synflow", "st_shuffled",
    "st_gradual", "st_static", "st_set", "st_rigl", "st_movement", "st_finetuned",
    # FAQ
    "v_faq_dense", "faq_pruned", "faq_pruned_int8", "faq_dense_budget", "faq_l1_penalty",
    "faq_plain", "faq_layer_dense", "faq_layer_masked", "faq_layer_slim", "v_faq_nm_24",
    "v_faq_unstructured50", "faq_distilled", "faq_scratch",
)


def verdict_name(key: str) -> str:
    """The key of the noun phrase by which a verdict names ``key`` (:data:`VERDICT_NAMES`).

    Examples
    --------
    >>> tr(verdict_name("dense"), "en"), tr(verdict_name("prune_c_dense"), "en")
    ('the dense network', 'the dense network')
    """
    return VERDICT_NAMES.get(key, key)


def column_header(column: str, lang: str) -> str:
    """The header of a table column: the text of ``"col_" + column``, else of ``column``.

    Introduced in :doc:`background` (:func:`helpers.metrics.format_table`). A column
    whose header is the word its key already names (``"sparsity"``) needs no
    ``col_`` entry of its own; one text per meaning.
    """
    return tr(f"col_{column}" if f"col_{column}" in TEXT else column, lang)


def listing(items, lang: str, *, clauses: bool = False) -> str:
    """``items`` (strings) joined as a list in ``lang``: "a, b, c" / "a、b、c"; with
    ``clauses``, "a; b" / "a；b".

    Introduced in :doc:`how-to-use`: generated text uses the page's punctuation.

    Examples
    --------
    >>> listing(["0.01", "0.1", "1"], "zh")
    '0.01、0.1、1'
    """
    check_language(lang)
    language = REGISTRY[lang]
    return (language.clause_separator if clauses else language.list_separator).join(
        map(str, items))


#: Where Chinese meets a Latin letter or a digit (the edition puts a space there).
_CJK_LATIN = re.compile(r"(?<=[\u4e00-\u9fff])(?=[A-Za-z0-9\u2212|‖])"
                        r"|(?<=[A-Za-z0-9%×|‖])(?=[\u4e00-\u9fff])")


def spaced(text: str, lang: str) -> str:
    """``text`` with a space wherever Chinese meets a Latin letter or a digit, in an
    edition that writes Chinese (:attr:`helpers.languages.Language.cjk`), as its
    typography wants; unchanged in the others. For text assembled from parts whose
    script is not known in advance (a method's name in a template).

    Examples
    --------
    >>> spaced("2:4下Wanda对幅值剪枝", "zh")
    '2:4 下 Wanda 对幅值剪枝'
    >>> spaced("逐行比较 |W|不如整层比较", "zh")
    '逐行比较 |W| 不如整层比较'
    """
    check_language(lang)
    return _CJK_LATIN.sub(" ", text) if REGISTRY[lang].cjk else text


def aside(text: str, lang: str) -> str:
    """A parenthetical remark after a value: " (text)" / "（text）".

    Examples
    --------
    >>> "96.72 ± 0.66" + aside("−0.17", "zh")
    '96.72 ± 0.66（−0.17）'
    """
    check_language(lang)
    return REGISTRY[lang].aside.format(text)


def tr(key: str, lang: str) -> str:
    """The text for ``key`` in language ``lang`` (one of ``helpers.languages.LANGUAGES``).

    Introduced in :doc:`how-to-use`.

    Examples
    --------
    >>> from helpers.i18n import tr
    >>> tr('accuracy', 'en'), tr('accuracy', 'zh')
    ('accuracy', '准确率')
    """
    check_language(lang)
    try:
        return TEXT[key][lang]
    except KeyError:
        raise KeyError(f"no text for {key!r} in {lang!r} in helpers/texts/*.toml; add it "
                       f"in every language") from None

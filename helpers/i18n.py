"""English and Chinese text for figures and tables.

Notebook code is identical in both editions; only the declared ``LANG`` differs.
Plot text therefore comes from this table: ``tr("accuracy", LANG)``. Keep the
Chinese terms in step with the book's terminology table (glossary page).
"""

from __future__ import annotations

from ._checks import check_language

__all__ = ["TEXT", "tr"]

#: key -> {"en": ..., "zh": ...}
TEXT: dict[str, dict[str, str]] = {
    "epoch": {"en": "epoch", "zh": "轮次"},
    "accuracy": {"en": "accuracy", "zh": "准确率"},
    "val_accuracy": {"en": "validation accuracy", "zh": "验证集准确率"},
    "test_accuracy": {"en": "test accuracy", "zh": "测试集准确率"},
    "train_loss": {"en": "training loss", "zh": "训练损失"},
    "learning_curve": {"en": "Learning curve of the digits MLP",
                       "zh": "手写数字 MLP 的学习曲线"},
    "sparsity": {"en": "sparsity", "zh": "稀疏度"},
    "weight": {"en": "weight", "zh": "权重"},
    "count": {"en": "count", "zh": "数量"},
    "parameters": {"en": "parameters", "zh": "参数量"},
    "points": {"en": "percentage points", "zh": "个百分点"},
    "avoid": {"en": "not", "zh": "不用"},
    # --- background chapter, metrics, quantisation ---
    # --- L1 chapter ---
    # --- pruning chapter ---
    # --- pipeline chapter ---
    # --- FAQ chapter ---
    # --- benchmark appendix ---
    # --- coursework ---
}


def tr(key: str, lang: str) -> str:
    """The text for ``key`` in language ``lang`` ("en" or "zh").

    Introduced in :doc:`how-to-use`.
    """
    check_language(lang)
    try:
        return TEXT[key][lang]
    except KeyError:
        raise KeyError(f"no text for {key!r} in helpers.i18n.TEXT; add it in both "
                       f"languages") from None

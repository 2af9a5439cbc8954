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
    "col_name": {"en": "layer", "zh": "层"},
    "col_kind": {"en": "type", "zh": "类型"},
    "col_shape": {"en": "weight shape", "zh": "权重形状"},
    "col_parameters": {"en": "parameters", "zh": "参数量"},
    "col_nonzero": {"en": "nonzero", "zh": "非零参数"},
    "col_sparsity": {"en": "sparsity", "zh": "稀疏度"},
    "col_weight_sparsity": {"en": "weight sparsity", "zh": "权重稀疏度"},
    "col_macs": {"en": "MACs", "zh": "乘加次数"},
    "col_model": {"en": "model", "zh": "模型"},
    "col_scheme": {"en": "storage format", "zh": "存储格式"},
    "col_bytes": {"en": "bytes", "zh": "字节"},
    "col_kb": {"en": "size (KB)", "zh": "大小（KB）"},
    "col_ratio": {"en": "compression ratio", "zh": "压缩率"},
    "col_latency_ms": {"en": "latency (ms)", "zh": "延迟（毫秒）"},
    "col_iqr_ms": {"en": "IQR (ms)", "zh": "四分位距（毫秒）"},
    "col_accuracy": {"en": "test accuracy", "zh": "测试集准确率"},
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

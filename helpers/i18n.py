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
    "col_layers": {"en": "weight layers", "zh": "权重层数"},
    "col_latency_one": {"en": "latency, 1 digit: ms (IQR)", "zh": "延迟，1 张图：毫秒（四分位距）"},
    "col_latency_all": {"en": "latency, test split: ms (IQR)",
                        "zh": "延迟，整个测试集：毫秒（四分位距）"},
    "small_cnn": {"en": "small CNN", "zh": "小型 CNN"},
    "bg_params_macs": {"en": "Parameters and MACs per example",
                       "zh": "参数量与每个样本的乘加次数"},
    "bg_baseline": {"en": "baseline (fp32)", "zh": "基线（fp32）"},
    "bg_pruned": {"en": "90% of weights zero (CSR)", "zh": "90% 权重为零（CSR）"},
    "bg_int8": {"en": "dynamic int8", "zh": "动态 int8 量化"},
    # --- L1 chapter ---
    # --- pruning chapter ---
    "prune_layerwise": {"en": "layer-wise magnitude", "zh": "逐层幅值剪枝"},
    "prune_global": {"en": "global magnitude", "zh": "全局幅值剪枝"},
    "prune_random": {"en": "random", "zh": "随机剪枝"},
    "prune_no_finetune": {"en": "right after pruning", "zh": "剪枝后立即评估"},
    "prune_finetuned": {"en": "after fine-tuning", "zh": "微调后"},
    "prune_dense_level": {"en": "dense model", "zh": "稠密模型"},
    "prune_step": {"en": "training step", "zh": "训练步数"},
    "prune_schedule_title": {"en": "Cubic sparsity schedule", "zh": "三次稀疏度调度"},
    "prune_layer_amount": {"en": "fraction of this layer's weights pruned",
                           "zh": "该层被剪掉的权重比例"},
    "prune_sensitivity_title": {"en": "One layer at a time, no fine-tuning",
                                "zh": "每次只剪一层，不微调"},
    "prune_neurons_removed": {"en": "fraction of hidden neurons removed",
                              "zh": "移除的隐藏层神经元比例"},
    "prune_crit_l2": {"en": "L2 norm, incoming weights", "zh": "输入权重的 L2 范数"},
    "prune_crit_l2_out": {"en": "L2 norm, outgoing weights", "zh": "输出权重的 L2 范数"},
    "prune_crit_activation": {"en": "mean activation", "zh": "平均激活值"},
    "prune_crit_taylor": {"en": "Taylor |a·∂L/∂a|", "zh": "泰勒准则 |a·∂L/∂a|"},
    "prune_crit_random": {"en": "random", "zh": "随机"},
    "prune_crit_finetuned": {"en": "{criterion}, fine-tuned", "zh": "{criterion}，微调后"},
    "prune_latency": {"en": "latency (ms), batch 256", "zh": "推理延迟（毫秒，批大小 256）"},
    "prune_eff_macs": {"en": "effective MACs per example", "zh": "每个样本的有效乘加次数"},
    "prune_models_title": {"en": "784-300-100-10 MLP", "zh": "784-300-100-10 MLP"},
    "prune_layer_title": {"en": "One 300×784 layer", "zh": "单个 300×784 的层"},
    "prune_dense_kernel": {"en": "dense kernel", "zh": "稠密算子"},
    "prune_csr_kernel": {"en": "CSR kernel", "zh": "CSR 稀疏算子"},
    "prune_v_dense": {"en": "dense", "zh": "稠密"},
    "prune_v_unstructured": {"en": "90% weights zero, dense kernel",
                             "zh": "90% 权重为零，稠密算子"},
    "prune_v_csr": {"en": "90% weights zero, CSR", "zh": "90% 权重为零，CSR"},
    "prune_v_neurons": {"en": "{amount:.0%} neurons removed", "zh": "移除 {amount:.0%} 神经元"},
    "prune_never": {"en": "none of the measured sparsities", "zh": "所测的任何稀疏度下都没有"},
    "prune_m_dense": {"en": "digits MLP, dense", "zh": "手写数字 MLP，稠密"},
    "prune_m_magnitude": {"en": "digits MLP, {sparsity:.0%} of weights pruned",
                          "zh": "手写数字 MLP，剪掉 {sparsity:.0%} 权重"},
    "prune_m_neurons": {"en": "digits MLP, {amount:.0%} of neurons removed",
                        "zh": "手写数字 MLP，移除 {amount:.0%} 神经元"},
    "prune_m_cnn": {"en": "small CNN, dense", "zh": "小型 CNN，稠密"},
    "prune_m_cnn_pruned": {"en": "small CNN, {amount:.0%} of channels removed",
                           "zh": "小型 CNN，移除 {amount:.0%} 通道"},
    "col_layerwise_sparsity": {"en": "sparsity (layer-wise)", "zh": "稀疏度（逐层）"},
    "col_global_sparsity": {"en": "sparsity (global)", "zh": "稀疏度（全局）"},
    # --- pipeline chapter ---
    # --- FAQ chapter ---
    # --- benchmark appendix ---
    "bm_dense": {"en": "dense", "zh": "稠密模型"},
    "bm_random": {"en": "random pruning", "zh": "随机剪枝"},
    "bm_magnitude_layer": {"en": "magnitude, layer-wise", "zh": "幅值剪枝（逐层）"},
    "bm_magnitude_global": {"en": "magnitude, global", "zh": "幅值剪枝（全局）"},
    "bm_iterative": {"en": "iterative prune–retrain", "zh": "迭代剪枝与重训练"},
    "bm_gradual": {"en": "gradual (cubic schedule)", "zh": "渐进剪枝（三次调度）"},
    "bm_l1_prune": {"en": "L1 (proximal) + pruning", "zh": "L1（近端）+ 剪枝"},
    "bm_l2_prune": {"en": "L2 + pruning", "zh": "L2 + 剪枝"},
    "bm_neurons": {"en": "neuron removal", "zh": "神经元剪枝（物理移除）"},
    "bm_fp32": {"en": "fp32", "zh": "fp32"},
    "bm_int8": {"en": "int8", "zh": "int8"},
    "bm_shared": {"en": "k-means sharing", "zh": "k-means 权重共享"},
    "bm_band": {"en": "dense ± {tol:g} pp", "zh": "稠密模型 ± {tol:g} 个百分点"},
    "bm_target": {"en": "target", "zh": "目标"},
    "bm_x_compression": {"en": "compression ratio (dense / nonzero weights)",
                         "zh": "压缩率（稠密权重数 / 非零权重数）"},
    "bm_x_storage": {"en": "storage compression (dense fp32 bytes / bytes)",
                     "zh": "存储压缩率（稠密 fp32 字节数 / 字节数）"},
    "bm_y_accuracy": {"en": "test accuracy (%)", "zh": "测试集准确率（%）"},
    "bm_title_accuracy": {"en": "Accuracy against compression (mean ± std over seeds)",
                          "zh": "准确率与压缩率（多个种子的均值 ± 标准差）"},
    "bm_title_storage": {"en": "Accuracy against storage", "zh": "准确率与存储大小"},
    "bm_x_neurons": {"en": "hidden neurons removed (%)", "zh": "移除的隐藏神经元（%）"},
    "bm_y_speedup": {"en": "ratio to the dense model", "zh": "相对稠密模型的倍数"},
    "bm_flop_ratio": {"en": "FLOP ratio", "zh": "FLOP 比"},
    "bm_speedup_batch": {"en": "measured speed-up, batch {batch}",
                         "zh": "实测加速比（批大小 {batch}）"},
    "bm_title_speed": {"en": "Fewer FLOPs, less time", "zh": "更少的 FLOP，更短的时间"},
    "bm_title_neuron_acc": {"en": "Accuracy after neuron removal",
                            "zh": "移除神经元后的准确率"},
    "bm_efficiency": {"en": "speed-up / FLOP ratio", "zh": "加速比 / FLOP 比"},
    "bm_claim_weights": {"en": "fewer nonzero weights", "zh": "非零权重减少"},
    "bm_claim_storage": {"en": "smaller storage (with indices)",
                         "zh": "存储缩小（含索引）"},
    "bm_claim_neurons": {"en": "hidden neurons removed", "zh": "移除的隐藏神经元"},
    "bm_met": {"en": "met", "zh": "达到"},
    "bm_missed": {"en": "missed", "zh": "未达到"},
    "col_bm_method": {"en": "method", "zh": "方法"},
    "col_bm_level": {"en": "sparsity / neurons removed", "zh": "稀疏度 / 移除的神经元"},
    "col_bm_nonzero": {"en": "nonzero weights", "zh": "非零权重"},
    "col_bm_ratio": {"en": "compression ratio", "zh": "压缩率"},
    "col_bm_macs": {"en": "MACs", "zh": "乘加次数"},
    "col_bm_accuracy": {"en": "test accuracy (%)", "zh": "测试集准确率（%）"},
    "col_bm_kb": {"en": "storage (KB)", "zh": "存储（KB）"},
    "col_bm_storage_ratio": {"en": "storage ratio", "zh": "存储压缩率"},
    "col_bm_latency": {"en": "latency (ms)", "zh": "延迟（毫秒）"},
    "col_bm_claim": {"en": "claim", "zh": "指标"},
    "col_bm_paper": {"en": "paper (MNIST)", "zh": "论文（MNIST）"},
    "col_bm_target": {"en": "target", "zh": "目标"},
    "col_bm_ours": {"en": "this benchmark", "zh": "本基准测试"},
    "col_bm_met": {"en": "target met?", "zh": "是否达到目标"},
    # --- coursework ---
    "cw_log_alpha": {"en": "log10(alpha)", "zh": "log10(alpha)"},
    "cw_coefficient": {"en": "coefficient", "zh": "系数"},
    "cw_diabetes_path": {"en": "Lasso path of the diabetes data",
                         "zh": "糖尿病数据的 Lasso 正则化路径"},
    "cw_sparsity_curve": {"en": "Accuracy after pruning and fine-tuning",
                          "zh": "剪枝并微调后的准确率"},
    "cw_layerwise": {"en": "layer-wise masks", "zh": "逐层掩码"},
    "cw_global": {"en": "global masks", "zh": "全局掩码"},
    "cw_dense": {"en": "dense baseline", "zh": "稠密基线"},
    "cw_sparse90": {"en": "90% of weights pruned", "zh": "剪掉 90% 权重"},
    "cw_shrunk": {"en": "neurons removed", "zh": "移除神经元后"},
    "cw_compressed": {"en": "compressed", "zh": "压缩后"},
    "cw_pruned": {"en": "pruned and fine-tuned", "zh": "剪枝并微调后"},
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

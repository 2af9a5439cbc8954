"""English and Chinese text for figures and tables.

Notebook code is identical in both editions; only the declared ``LANG`` differs.
Plot text therefore comes from this table: ``tr("accuracy", LANG)``. Keep the
Chinese terms in step with the book's terminology table (glossary page).
"""

from __future__ import annotations

import re

from ._checks import check_language
from .languages import REGISTRY

__all__ = ["TEXT", "tr", "column_header", "verdict_name"]

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
    "sparsity_pct": {"en": "sparsity (%)", "zh": "稀疏度（%）"},
    "weight": {"en": "weight", "zh": "权重"},
    "count": {"en": "count", "zh": "数量"},
    "parameters": {"en": "parameters", "zh": "参数量"},
    "points": {"en": "percentage points", "zh": "个百分点"},
    "avoid": {"en": "variants not used (tests check)", "zh": "不用的译法（测试会检查）"},
    "bits": {"en": "bits", "zh": "位"},
    "dense": {"en": "dense", "zh": "稠密网络"},
    "kmeans": {"en": "k-means sharing", "zh": "k-means 权重共享"},
    "uniform": {"en": "uniform quantisation", "zh": "均匀量化"},
    # --- background chapter, metrics, quantisation ---
    "col_name": {"en": "layer", "zh": "层"},
    "col_kind": {"en": "type", "zh": "类型"},
    "col_shape": {"en": "weight shape", "zh": "权重形状"},
    "col_nonzero": {"en": "nonzero", "zh": "非零参数"},
    "col_weight_sparsity": {"en": "weight sparsity", "zh": "权重稀疏度"},
    "col_macs": {"en": "MACs", "zh": "乘加次数"},
    "col_model": {"en": "model", "zh": "模型"},
    "col_scheme": {"en": "storage format", "zh": "存储格式"},
    "col_bytes": {"en": "bytes", "zh": "字节"},
    "col_kb": {"en": "size (KB)", "zh": "大小（KB）"},
    "col_kib": {"en": "size (KiB)", "zh": "大小（KiB）"},
    "col_ratio": {"en": "storage compression ratio", "zh": "存储压缩率"},
    "col_param_ratio": {"en": "parameter compression ratio", "zh": "参数压缩率"},
    "col_latency_ms": {"en": "latency (ms)", "zh": "延迟（毫秒）"},
    "col_iqr_ms": {"en": "IQR (ms)", "zh": "四分位距（毫秒）"},
    "col_accuracy": {"en": "test accuracy", "zh": "测试集准确率"},
    "col_layers": {"en": "weight layers", "zh": "权重层数"},
    "col_latency_one": {"en": "latency, 1 digit: ms (IQR)", "zh": "单张图像延迟/毫秒（四分位距）"},
    "col_latency_all": {"en": "latency, test split: ms (IQR)",
                        "zh": "整个测试集延迟/毫秒（四分位距）"},
    "small_cnn": {"en": "small CNN", "zh": "小型 CNN"},
    "bg_params_macs": {"en": "Parameters and MACs per example",
                       "zh": "参数量与每个样本的乘加次数"},
    "bg_baseline": {"en": "baseline (fp32)", "zh": "基线（fp32）"},
    "bg_pruned": {"en": "90% of weights zero (CSR)", "zh": "权重 90% 为零的模型（CSR 存储）"},
    "bg_int8": {"en": "dynamic int8", "zh": "动态 int8 量化"},
    "bg_judge_baseline": {"en": "the baseline", "zh": "基线"},
    # a verdict's name: the timed copy of the pruned model runs on the dense kernel
    "bg_v_pruned": {"en": "the 90%-pruned model on the dense kernel",
                    "zh": "权重 90% 为零、用稠密计算核运行的模型"},
    "bg_judge_dense": {"en": "the dense model with the same budget",
                       "zh": "同等预算的稠密模型"},
    "bg_judge_pruned": {"en": "the pruned model", "zh": "剪枝后的模型"},
    "col_seed": {"en": "seed", "zh": "种子"},
    "col_bg_baseline": {"en": "baseline, 30 epochs", "zh": "基线，30 轮"},
    "col_bg_dense": {"en": "dense, same budget (30 + 10 epochs)",
                     "zh": "同等预算的稠密模型（30 + 10 轮）"},
    "col_bg_pruned": {"en": "90% pruned + 10 epochs of fine-tuning",
                      "zh": "剪掉 90% + 微调 10 轮"},
    # --- L1 chapter ---
    "l1_ball_l1": {"en": r"L1 ball $\Vert w\Vert_1 \leq 1$",
                   "zh": r"L1 球 $\Vert w\Vert_1 \leq 1$"},
    "l1_ball_l2": {"en": r"L2 ball $\Vert w\Vert_2 \leq 1$",
                   "zh": r"L2 球 $\Vert w\Vert_2 \leq 1$"},
    "l1_constrained": {"en": "constrained solution", "zh": "约束下的解"},
    "l1_identity": {"en": "identity", "zh": "恒等映射"},
    "l1_l2_shrinkage": {"en": "L2 shrinkage x/(1+t)", "zh": "L2 收缩 x/(1+t)"},
    "l1_soft_threshold": {"en": "soft-thresholding S_t(x)", "zh": "软阈值 S_t(x)"},
    "l1_output": {"en": "output", "zh": "输出"},
    "l1_iteration": {"en": "iteration (coordinate descent: epoch)",
                     "zh": "迭代次数（坐标下降为轮数）"},
    "l1_duality_gap": {"en": "duality gap", "zh": "对偶间隙"},
    "l1_iteration_plain": {"en": "iteration", "zh": "迭代次数"},
    "l1_suboptimality": {"en": "objective − minimum", "zh": "目标函数值 − 最小值"},
    "pipe_q_per_tensor": {"en": "one scale per tensor", "zh": "逐张量缩放"},
    "pipe_q_per_channel": {"en": "one scale per row", "zh": "逐行缩放"},
    "pipe_q_row": {"en": "row (sorted by its largest |w|)", "zh": "行（按最大 |w| 排序）"},
    "pipe_q_max_error": {"en": "largest rounding error", "zh": "最大舍入误差"},
    "l1_alpha_log": {"en": "α (log scale)", "zh": "α（对数坐标）"},
    "coefficient": {"en": "coefficient", "zh": "系数"},
    "l1_cv_mse": {"en": "cross-validated MSE", "zh": "交叉验证均方误差"},
    "l1_ols": {"en": "least squares", "zh": "最小二乘"},
    "l1_ridge": {"en": "ridge", "zh": "岭回归"},
    "l1_estimate": {"en": "Lasso estimate", "zh": "Lasso 估计"},
    "true_coef": {"en": "true coefficient", "zh": "真实系数"},
    "l1_feature_index": {"en": "feature index", "zh": "特征编号"},
    "l1_exact_zeros": {"en": "exact zeros", "zh": "精确为零"},
    "l1_subgradient": {"en": "penalty in the loss (subgradient)",
                       "zh": "损失中加惩罚项（次梯度）"},
    "l1_proximal": {"en": "proximal step (soft-thresholding)", "zh": "近端步（软阈值）"},
    "l1_dead_neurons": {"en": "neurons without incoming weights",
                        "zh": "个神经元的输入权重全部为零"},
    "l1_short_subgradient": {"en": "the penalty in the loss", "zh": "损失中的惩罚项"},
    "l1_short_proximal": {"en": "the proximal step", "zh": "近端步"},
    "l1_short_none": {"en": "no penalty", "zh": "无惩罚项"},
    # verdicts' names: the networks trained each way
    "l1_v_subgradient": {"en": "the network trained with the penalty in the loss",
                         "zh": "在损失中加惩罚项训练的网络"},
    "l1_v_proximal": {"en": "the network trained with the proximal step",
                      "zh": "用近端步训练的网络"},
    "l1_v_none": {"en": "the network trained without a penalty", "zh": "不加惩罚训练的网络"},
    "l1_our_cd": {"en": "helpers' coordinate descent", "zh": "helpers 的坐标下降"},
    "l1_sklearn_cd": {"en": "scikit-learn's", "zh": "scikit-learn 的坐标下降"},
    "l1_name_lasso_min": {"en": "the Lasso", "zh": "Lasso"},
    "l1_name_ridge": {"en": "ridge", "zh": "岭回归"},
    "l1_test_mse": {"en": "test MSE", "zh": "测试集均方误差"},
    "col_l1_method": {"en": "L1 by", "zh": "L1 的实现方式"},
    "col_momentum": {"en": "momentum", "zh": "动量"},
    "col_zeros_seeds": {"en": "exact zeros, first layer (%), seeds 0–4",
                        "zh": "第一层精确为零的权重（%），种子 0–4"},
    "col_acc_seeds": {"en": "test accuracy (%), seeds 0–4", "zh": "测试集准确率（%），种子 0–4"},
    # --- pruning chapter ---
    "prune_layerwise": {"en": "layer-wise magnitude", "zh": "逐层幅值剪枝"},
    "prune_global": {"en": "global magnitude", "zh": "全局幅值剪枝"},
    "prune_random": {"en": "random", "zh": "随机剪枝"},
    "prune_no_finetune": {"en": "right after pruning", "zh": "剪枝后立即评估"},
    "finetuned": {"en": "after fine-tuning", "zh": "微调后"},
    "prune_dense_level": {"en": "dense model", "zh": "稠密模型"},
    "prune_step": {"en": "training step", "zh": "训练步数"},
    "prune_schedule_title": {"en": "Cubic sparsity schedule", "zh": "三次稀疏度调度"},
    "prune_layer_amount": {"en": "fraction of this layer's weights pruned",
                           "zh": "该层被剪掉的权重比例"},
    "prune_sensitivity_title": {"en": "One layer at a time, no fine-tuning",
                                "zh": "每次只剪一层，不微调"},
    "prune_neurons_removed": {"en": "fraction of hidden neurons removed",
                              "zh": "移除的隐藏层神经元比例"},
    "prune_crit_l2": {"en": "L2 norm, incoming weights", "zh": "输入权重 L2 范数准则"},
    "prune_crit_l2_out": {"en": "L2 norm, outgoing weights", "zh": "输出权重 L2 范数准则"},
    "prune_crit_activation": {"en": "mean activation", "zh": "平均激活值准则"},
    "prune_crit_taylor": {"en": "Taylor |a·∂L/∂a|", "zh": "泰勒准则（|a·∂L/∂a|）"},
    "prune_crit_random": {"en": "random removal", "zh": "随机移除"},
    "prune_crit_finetuned": {"en": "{criterion}, fine-tuned", "zh": "{criterion}，微调后"},
    # the pruning chapter's reading of pr_n75 (best criterion against random removal),
    # chosen by the comparison's outcome (Comparison.favours_a)
    "prune_n75_ahead": {"en": "at this amount the criterion chosen on validation keeps "
                              "more accuracy than random removal",
                        "zh": "在这个比例下，按验证集选出的准则保住的准确率高于随机移除"},
    "prune_n75_behind": {"en": "at this amount random removal keeps more accuracy than the "
                               "criterion chosen on validation",
                         "zh": "在这个比例下，随机移除保住的准确率反而高于按验证集选出的准则"},
    "prune_n75_same": {"en": "at this amount the criterion chosen on validation is not "
                             "shown to pick neurons any better than chance",
                       "zh": "在这个比例下，没有证据表明按验证集选出的准则比随机挑选更会挑神经元"},
    "prune_latency": {"en": "latency (ms), batch 256", "zh": "推理延迟（毫秒，批大小 256）"},
    "prune_eff_macs": {"en": "effective MACs per example", "zh": "每个样本的有效乘加次数"},
    "prune_models_title": {"en": "784-300-100-10 MLP", "zh": "784-300-100-10 MLP"},
    "prune_layer_title": {"en": "One 300×784 layer", "zh": "单个 300×784 的层"},
    "prune_dense_kernel": {"en": "dense kernel", "zh": "稠密计算核"},
    "prune_csr_kernel": {"en": "CSR kernel", "zh": "CSR 稀疏计算核"},
    "prune_v_unstructured": {"en": "90% weights zero, dense kernel",
                             "zh": "权重 90% 为零的网络（稠密计算核）"},
    "prune_v_csr": {"en": "90% weights zero, CSR", "zh": "权重 90% 为零的网络（CSR）"},
    "prune_v_neurons": {"en": "{amount:.0%} neurons removed",
                        "zh": "移除 {amount:.0%} 神经元的网络"},
    "prune_csr_from": {"en": "the interval favoured CSR at every sparsity from {p} on",
                       "zh": "从 {p} 的稀疏度起，置信区间在所测的每个稀疏度下都有利于 CSR"},
    "prune_csr_never": {"en": "the interval favoured CSR at none of the measured sparsities",
                        "zh": "在所测的任何稀疏度下，置信区间都不偏向 CSR"},
    "prune_m_dense": {"en": "digits MLP, dense", "zh": "手写数字 MLP，稠密"},
    "prune_m_magnitude": {"en": "digits MLP, {sparsity:.0%} of weights pruned",
                          "zh": "手写数字 MLP，剪掉 {sparsity:.0%} 的权重"},
    "prune_m_neurons": {"en": "digits MLP, {amount:.0%} of neurons removed",
                        "zh": "手写数字 MLP，移除 {amount:.0%} 神经元"},
    "prune_m_cnn": {"en": "small CNN, dense", "zh": "小型 CNN，稠密"},
    "prune_m_cnn_pruned": {"en": "the small CNN with {amount:.0%} of its channels removed",
                           "zh": "移除 {amount:.0%} 通道的小型 CNN"},
    "prune_same_budget_level": {"en": "dense, same budget", "zh": "稠密模型（同等预算）"},
    "prune_c_dense": {"en": "the dense network", "zh": "稠密网络"},
    "prune_c_same_budget": {"en": "the dense network with the same budget",
                            "zh": "同等训练预算的稠密网络"},
    "prune_c_pruned": {"en": "the {p}%-pruned network", "zh": "剪枝 {p}% 的网络"},
    "prune_c_pruned_raw": {"en": "the {p}%-pruned network before fine-tuning",
                           "zh": "剪枝 {p}%、尚未微调的网络"},
    "prune_c_neurons": {"en": "the network without {p}% of its hidden neurons",
                        "zh": "移除 {p}% 隐藏神经元的网络"},
    "prune_m_cnn_same_budget": {"en": "the dense small CNN with the same budget",
                                "zh": "同等预算的稠密小型 CNN"},
    "prune_tailored": {"en": "tailored masks", "zh": "按层定制的掩码"},
    "prune_uniform": {"en": "uniform {p}%", "zh": "统一剪枝 {p}%"},
    "prune_torch_hooked": {"en": "torch-pruned copy with its hook",
                           "zh": "带前向钩子的 torch 剪枝副本"},
    "col_per_seed": {"en": "per seed (%)", "zh": "各随机种子（%）"},
    "col_mean_std": {"en": "mean ± std (%)", "zh": "均值 ± 标准差（%）"},
    "prune_oneshot": {"en": "one-shot, 8 epochs", "zh": "一次性剪枝（微调 8 轮）"},
    "prune_iterative": {"en": "iterative", "zh": "迭代剪枝"},
    "prune_gradual": {"en": "gradual (cubic schedule)", "zh": "渐进剪枝（三次调度）"},
    "prune_oneshot_short": {"en": "one-shot, 2 epochs", "zh": "一次性剪枝（微调 2 轮）"},
    "col_val_pruned": {"en": "validation, after pruning", "zh": "验证集（剪枝后）"},
    "col_val_finetuned": {"en": "validation, after fine-tuning", "zh": "验证集（微调后）"},
    "col_layerwise_sparsity": {"en": "sparsity (layer-wise)", "zh": "稀疏度（逐层）"},
    "col_global_sparsity": {"en": "sparsity (global)", "zh": "稀疏度（全局）"},
    # --- pipeline chapter ---
    "pipe_dense_mlp": {"en": "dense MLP", "zh": "稠密 MLP"},
    "pipe_dense_budget": {"en": "dense MLP, same budget", "zh": "稠密 MLP（同等预算）"},
    "pipe_q2_pruned": {"en": "the pruned MLP in fp32", "zh": "剪枝后的 fp32 MLP"},
    "pipe_q2_pruned_int8": {"en": "the pruned MLP in int8", "zh": "剪枝后的 int8 MLP"},
    "pipe_q2_fp32": {"en": "the dense MLP in fp32", "zh": "稠密的 fp32 MLP"},
    "pipe_q2_int8": {"en": "the dense MLP in int8", "zh": "稠密的 int8 MLP"},
    "pipe_v_magnitude": {"en": "the magnitude-pruned MLP", "zh": "幅值剪枝后的 MLP"},
    "pipe_v_best_int8": {"en": "its int8 version", "zh": "它的 int8 版本"},
    "pipe_v_best_fp32": {"en": "its fp32 version", "zh": "它的 fp32 版本"},
    "pipe_magnitude": {"en": "magnitude pruning", "zh": "幅值剪枝"},
    "pipe_l1": {"en": "L1 (proximal) + pruning", "zh": "L1 近端训练后剪枝"},
    "pipe_l2": {"en": "L2 + pruning", "zh": "L2 训练后剪枝"},
    "pipe_dense_cnn": {"en": "dense CNN", "zh": "稠密 CNN"},
    "pipe_gamma": {"en": "channels by |γ|, no L1 (CNN)", "zh": "按 |γ| 剪通道的 CNN（无 L1）"},
    "pipe_slimming": {"en": "Network Slimming (CNN)", "zh": "Network Slimming（CNN）"},
    "range": {"en": "{low}–{high}", "zh": "{low} 至 {high}"},
    "l1_ex_coef_diff": {"en": "largest coefficient difference: {d}",
                        "zh": "系数的最大差值：{d}"},
    "l1_ex_nonzero_wrong": {"en": "nonzero coefficients of Lasso(alpha=20): {n}",
                            "zh": "Lasso(alpha=20) 的非零系数个数：{n}"},
    "pipe_ex_prediction_interval": {"en": "95% prediction interval: {low} to {high}",
                                    "zh": "95% 预测区间：{low} 至 {high}"},
    "l1_nn_no_zero": {"en": "no first-layer weight is exactly zero in any run",
                      "zh": "任何一次运行中都没有一个第一层权重精确为零"},
    "l1_nn_some_zero": {"en": "at most {p}% of the first-layer weights are exactly zero in "
                              "any run",
                        "zh": "任何一次运行中第一层权重精确为零的比例都不超过 {p}%"},
    "pipe_han_holds": {"en": "holds here", "zh": "在这里成立"},
    "pipe_han_fails": {"en": "does not hold here", "zh": "在这里不成立"},
    "pipe_han_open": {"en": "is neither confirmed nor refuted here",
                      "zh": "在这里既未得到证实，也未被推翻"},
    "pipe_gamma_name": {"en": "|γ|-ranked channel pruning without L1",
                        "zh": "不加 L1、仅按 |γ| 剪通道的网络"},
    "pipe_x": {"en": "parameter compression ratio (parameters / nonzero parameters)",
               "zh": "参数压缩率（参数量 / 非零参数量）"},
    "test_accuracy_pct": {"en": "test accuracy (%)", "zh": "测试集准确率（%）"},
    "pipe_panel_pruned": {"en": "right after pruning", "zh": "剪枝后、微调前"},
    "col_pipe_reg": {"en": "regulariser", "zh": "正则化"},
    "col_pipe_lambda": {"en": "λ", "zh": "λ"},
    "col_pipe_val_trained": {"en": "val. acc. trained (%)", "zh": "训练后验证集准确率（%）"},
    "col_pipe_zeros": {"en": "zero weights", "zh": "为零的权重"},
    "col_pipe_val_pruned": {"en": "val. acc. pruned (%)", "zh": "剪枝后验证集准确率（%）"},
    "col_pipe_val_ft": {"en": "val. acc. fine-tuned (%)", "zh": "微调后验证集准确率（%）"},
    "col_pipe_chosen": {"en": "chosen", "zh": "选中"},
    "col_pipe_level": {"en": "pruned", "zh": "剪枝比例"},
    "col_pipe_l1": {"en": "L1 + pruning", "zh": "L1 + 剪枝"},
    "col_pipe_gamma": {"en": "channels by γ, no L1", "zh": "按 γ 剪通道（无 L1）"},
    "col_pipe_slimming": {"en": "Network Slimming", "zh": "Network Slimming"},
    "col_pipe_fp32": {"en": "test acc. fp32 (%)", "zh": "测试集准确率 fp32（%）"},
    "col_pipe_int8": {"en": "test acc. int8 (%)", "zh": "测试集准确率 int8（%）"},
    "col_storage_kb": {"en": "storage (KB)", "zh": "存储（KB）"},
    "col_pipe_macs": {"en": "MACs, dense kernels", "zh": "乘加次数（稠密计算）"},
    "col_pipe_macs_eff": {"en": "MACs, nonzero weights", "zh": "乘加次数（仅非零权重）"},
    "pipe_random": {"en": "random pruning", "zh": "随机剪枝"},
    "pipe_layerwise": {"en": "pruning layer by layer", "zh": "逐层阈值剪枝"},
    "pipe_global": {"en": "pruning with one global threshold", "zh": "全局统一阈值剪枝"},
    "pipe_shared": {"en": "shared weights (5-bit values and relative indices)",
                    "zh": "共享权重（5 位数值与 5 位相对索引）"},
    "pipe_csr_int8": {"en": "int8 CSR (16-bit indices)",
                      "zh": "int8 CSR（16 位索引）"},
    "pipe_of_weights": {"en": "{p}% of weights", "zh": "{p}% 的权重"},
    "pipe_of_channels": {"en": "{p}% of channels", "zh": "{p}% 的通道"},
    "col_pipe_test_pruned": {"en": "test acc. pruned (%)", "zh": "剪枝后测试集准确率（%）"},
    "col_pipe_test_ft": {"en": "test acc. fine-tuned (%)", "zh": "微调后测试集准确率（%）"},
    "col_pipe_scope": {"en": "threshold", "zh": "阈值"},
    # --- FAQ chapter ---
    "faq_lasso": {"en": "Lasso (L1)", "zh": "Lasso（L1）"},
    "faq_ridge": {"en": "ridge (L2)", "zh": "岭回归（L2）"},
    "faq_feature": {"en": "feature", "zh": "特征"},
    "faq_lasso_ridge_title": {"en": "L1 gives exact zeros, L2 only small values",
                              "zh": "L1 得到精确的零，L2 只得到较小的值"},
    "faq_dense": {"en": "dense 64-300-100-10", "zh": "稠密 64-300-100-10"},
    "faq_pruned": {"en": "the 90%-pruned, fine-tuned network", "zh": "剪枝 90% 并微调的网络"},
    "faq_dense_budget": {"en": "the dense network with the same ten extra epochs",
                         "zh": "多训练十轮的稠密网络"},
    "faq_pruned_int8": {"en": "the 90%-pruned, fine-tuned int8 network",
                        "zh": "剪枝 90%、微调并量化为 int8 的网络"},
    "faq_l1_penalty": {"en": "the L1-trained network, 90% pruned",
                       "zh": "L1 训练后剪枝 90% 的网络"},
    "faq_plain": {"en": "the plainly trained network, 90% pruned",
                  "zh": "普通训练后剪枝 90% 的网络"},
    "faq_nm_24": {"en": "2:4 sparsity", "zh": "2:4 稀疏"},
    "faq_unstructured50": {"en": "unstructured 50%", "zh": "50% 非结构化稀疏"},
    "faq_layer_dense": {"en": "dense layer", "zh": "稠密层"},
    "faq_layer_masked": {"en": "layer with 90% of weights zeroed", "zh": "权重 90% 置零的层"},
    "faq_layer_slim": {"en": "layer with 90% of neurons removed", "zh": "移除 90% 神经元的层"},
    "faq_tolerance": {"en": "unpruned − 1 point", "zh": "未剪枝 − 1 个百分点"},
    "faq_layer_fraction": {"en": "fraction of the layer's weights pruned",
                           "zh": "该层被剪掉的权重比例"},
    "faq_val_accuracy_pct": {"en": "validation accuracy (%)", "zh": "验证集准确率（%）"},
    "faq_sensitivity_title": {"en": "Sensitivity of each layer to pruning",
                              "zh": "各层对剪枝的敏感度"},
    "faq_subgradient": {"en": "L1 penalty, subgradient", "zh": "L1 惩罚项，次梯度"},
    "faq_proximal": {"en": "L1, proximal step", "zh": "L1，近端步"},
    "faq_exactly_zero": {"en": "exactly 0", "zh": "恰好为 0"},
    "faq_tiny": {"en": "0 < |w| < 0.001", "zh": "0 < |w| < 0.001"},
    "faq_not_tiny": {"en": "|w| ≥ 0.001", "zh": "|w| ≥ 0.001"},
    "faq_share_of_weights": {"en": "share of the weights (%)", "zh": "权重占比（%）"},
    "faq_zeros_title": {"en": "Small is not zero", "zh": "很小不等于零"},
    "faq_scratch": {"en": "the student trained alone", "zh": "单独训练的学生模型"},
    "faq_distilled": {"en": "the distilled student", "zh": "经蒸馏的学生模型"},
    "col_faq_effective_macs": {"en": "MACs of nonzero weights", "zh": "非零权重的乘加次数"},
    "col_faq_nonzero_params": {"en": "nonzero parameters", "zh": "非零参数量"},
    "col_faq_noise_0": {"en": "clean (%)", "zh": "无噪声（%）"},
    "col_faq_noise_05": {"en": "noise σ = 0.5 (%)", "zh": "噪声 σ = 0.5（%）"},
    "col_faq_noise_1": {"en": "noise σ = 1 (%)", "zh": "噪声 σ = 1（%）"},
    # --- benchmark appendix ---
    "bm_dense": {"en": "dense", "zh": "稠密模型"},
    "bm_with_variant": {"en": "{method} with {variant}", "zh": "{method}加{variant}"},
    "bm_l1_l2_unsettled": {
        "en": "So this benchmark does not settle Han et al.'s observation that L2 did "
              "better than L1 after retraining.",
        "zh": "所以这个基准测试无法判定 Han 等人“重新训练之后 L2 优于 L1”的观察。"},
    "bm_l1_l2_agrees": {
        "en": "This agrees with Han et al.'s observation that L2 did better than L1 after "
              "retraining.",
        "zh": "这与 Han 等人“重新训练之后 L2 优于 L1”的观察一致。"},
    "bm_l1_l2_against": {
        "en": "This runs against Han et al.'s observation that L2 did better than L1 after "
              "retraining.",
        "zh": "这与 Han 等人“重新训练之后 L2 优于 L1”的观察相反。"},
    "bm_magnitude_layer": {"en": "magnitude, layer-wise", "zh": "逐层幅值剪枝"},
    "bm_magnitude_global": {"en": "magnitude, global", "zh": "全局幅值剪枝"},
    "bm_iterative": {"en": "iterative prune–retrain", "zh": "迭代剪枝（剪枝后重新训练）"},
    "bm_neurons": {"en": "neuron removal", "zh": "神经元剪枝"},
    "bm_fp32": {"en": "fp32", "zh": "fp32"},
    "bm_int8": {"en": "int8", "zh": "int8"},
    "bm_band": {"en": "dense ± {tol:g} pp", "zh": "稠密模型 ± {tol:g} 个百分点"},
    "bm_target": {"en": "target", "zh": "目标"},
    "bm_x_compression": {"en": "parameter compression ratio (dense / nonzero weights)",
                         "zh": "参数压缩率（稠密权重数 / 非零权重数）"},
    "bm_x_storage": {"en": "storage compression", "zh": "存储压缩率"},
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
    "bm_met": {"en": "met", "zh": "已达到"},
    "bm_missed": {"en": "missed", "zh": "未达到"},
    "col_bm_method": {"en": "method", "zh": "方法"},
    "col_bm_level": {"en": "sparsity / neurons removed", "zh": "稀疏度 / 移除的神经元"},
    "col_bm_nonzero": {"en": "nonzero weights", "zh": "非零权重"},
    "col_bm_claim": {"en": "claim", "zh": "指标"},
    "col_bm_paper": {"en": "paper (MNIST)", "zh": "论文（MNIST）"},
    "col_bm_ours": {"en": "this benchmark", "zh": "本基准测试"},
    "col_bm_met": {"en": "target met?", "zh": "是否达到目标"},
    "col_bm_epochs": {"en": "epochs", "zh": "训练轮数"},
    "col_bm_no_loss": {"en": "no loss at equal budget?", "zh": "同等预算下无损失？"},
    "bm_epochs_of": {"en": "{epochs} epochs", "zh": "{epochs} 轮"},
    "bm_dense_of_epochs": {"en": "dense, {epochs} epochs", "zh": "稠密网络（{epochs} 轮）"},
    "bm_random_reaches": {"en": "random pruning: {ratio}×", "zh": "随机剪枝：{ratio}×"},
    # --- statistics: verdicts of helpers.stats.Comparison ---
    "stats_word_ahead": {"en": "ahead", "zh": "占优"},
    "stats_word_behind": {"en": "behind", "zh": "处于劣势"},
    "stats_word_faster": {"en": "faster", "zh": "更快"},
    "stats_word_slower": {"en": "slower", "zh": "更慢"},
    "stats_word_same": {"en": "no detectable difference", "zh": "未检测到差异"},
    "stats_word_undecided": {"en": "cannot tell", "zh": "无法判断"},
    # Accuracy gaps are given as the size of the gap, with its interval (both positive).
    "stats_ahead_pp": {"en": "{a} ahead of {b} by {abs} pp ({conf} CI {low} to {high})",
                       "zh": "{a}比{b}高 {abs} 个百分点（{conf} 置信区间 {low} 至 {high}）"},
    "stats_behind_pp": {"en": "{a} behind {b} by {abs} pp ({conf} CI {low} to {high})",
                        "zh": "{a}比{b}低 {abs} 个百分点（{conf} 置信区间 {low} 至 {high}）"},
    "stats_identical": {"en": "no difference between {a} and {b}: they are right on exactly "
                              "the same test examples",
                        "zh": "{a}与{b}没有差别，两者答对的测试样本完全相同"},
    "stats_same_pp": {"en": "no detectable difference between {a} and {b} "
                            "({conf} CI {low} to {high} pp)",
                      "zh": "{a}与{b}之间未检测到差异（{conf} 置信区间 {low} 至 "
                            "{high} 个百分点）"},
    "stats_ahead": {"en": "{a} ahead of {b}: difference in {unit} {est} ({conf} CI {low} "
                          "to {high})",
                    "zh": "{a}优于{b}，{unit}之差（前者减后者）为 {est}（{conf} 置信区间 "
                          "{low} 至 {high}）"},
    "stats_behind": {"en": "{a} behind {b}: difference in {unit} {est} ({conf} CI {low} "
                           "to {high})",
                     "zh": "{a}不如{b}，{unit}之差（前者减后者）为 {est}（{conf} 置信区间 "
                           "{low} 至 {high}）"},
    "stats_same": {"en": "no detectable difference between {a} and {b}: difference in "
                         "{unit} {est} ({conf} CI {low} to {high})",
                   "zh": "{a}与{b}之间未检测到差异，{unit}之差（前者减后者）为 {est}（{conf} "
                         "置信区间 {low} 至 {high}）"},
    "stats_faster": {"en": "{a} faster than {b}: speed-up {est}× ({conf} CI {low} to {high}×)",
                     "zh": "{a}比{b}更快，加速比 {est}×（{conf} 置信区间 {low} 至 {high}×）"},
    "stats_slower": {"en": "{a} slower than {b}: speed-up {est}× ({conf} CI {low} to {high}×)",
                     "zh": "{a}比{b}更慢，加速比 {est}×（{conf} 置信区间 {low} 至 {high}×）"},
    "stats_same_speed": {"en": "no detectable difference in speed between {a} and {b}: "
                               "speed-up {est}× ({conf} CI {low} to {high}×)",
                         "zh": "{a}与{b}之间未检测到速度差异，加速比 {est}×（{conf} "
                               "置信区间 {low} 至 {high}×）"},
    "stats_speed_undecided": {"en": "the timings cannot tell {a} from {b}: speed-up {est}× "
                                    "({conf} CI {low} to {high}×, too wide to decide)",
                              "zh": "计时结果分不出{a}与{b}的快慢，加速比 {est}×（{conf} "
                                    "置信区间 {low} 至 {high}×，区间过宽，无从判断）"},
    # --- language models: the 2 × 2 ablation of Wanda (helpers.experiments.language_models)
    "lm_nll": {"en": "test loss (nats per character)", "zh": "测试损失（每字符，nat）"},
    "lm_cell_layer_magnitude": {"en": "|W| across the layer (magnitude)",
                                "zh": "整层比较 |W|（幅值剪枝）"},
    "lm_cell_row_magnitude": {"en": "|W| within each row", "zh": "逐行比较 |W|"},
    "lm_cell_layer_wanda": {"en": "|W|·‖X‖ across the layer", "zh": "整层比较 |W|·‖X‖"},
    "lm_cell_row_wanda": {"en": "|W|·‖X‖ within each row (Wanda)",
                          "zh": "逐行比较 |W|·‖X‖（Wanda）"},
    "lm_abl_group": {"en": "In this model, Wanda's deficit against magnitude pruning comes "
                           "from the group in which it compares scores, not from its score: "
                           "within each row, its score helps.",
                     "zh": "在这个模型中，Wanda 相对幅值剪枝的劣势来自它比较分数的范围，而不是"
                           "它的分数：在每一行之内，它的分数是有帮助的。"},
    "lm_abl_mixed": {"en": "In this model the two effects do not separate as simply; read "
                           "each verdict on its own.",
                     "zh": "在这个模型中，两个效应并不能这样简单地分开；请逐一阅读上面的每个结论。"},
    "lm_am_held": {"en": "{held} of the {total} verdicts on one model hold across the models",
                   "zh": "单个模型上的 {total} 个结论中，有 {held} 个在多个模型上依然成立"},
    "lm_am_changed": {"en": "{a} against {b} at {pattern}, “{one}” on one model and "
                            "“{across}” across models",
                      "zh": "{pattern}下{a}对{b}，单个模型上为“{one}”，多个模型上为“{across}”"},
    "col_lm_verdict_models": {"en": "verdict (over models and test windows)",
                              "zh": "结论（跨模型与测试窗口）"},
    "col_lm_group": {"en": "scores compared", "zh": "比较范围"},
    "col_lm_score_w": {"en": "score |W|", "zh": "分数 |W|"},
    "col_lm_score_wx": {"en": "score |W|·‖X‖", "zh": "分数 |W|·‖X‖"},
    "lm_group_layer": {"en": "across the layer", "zh": "整层"},
    "lm_group_row": {"en": "within each row", "zh": "逐行"},
    # --- statistics: verdicts of helpers.stats.Equivalence ({unit} may be empty) ---
    "stats_word_shown": {"en": "shown", "zh": "已证实"},
    "stats_word_not_shown": {"en": "not shown", "zh": "未能证实"},
    "stats_word_refuted": {"en": "refuted", "zh": "被否定"},
    "stats_equivalent": {"en": "{a} within ±{margin}{unit} of {b}: shown ({conf} CI of the "
                               "difference {low} to {high}{unit})",
                         "zh": "{a}与{b}之差在 ±{margin}{unit}以内：已证实（差值的 {conf} "
                               "置信区间为 {low} 至 {high}{unit}）"},
    "stats_equivalence_undecided": {
        "en": "{a} within ±{margin}{unit} of {b}: not shown ({conf} CI of the difference "
              "{low} to {high}{unit}, wider than the margin)",
        "zh": "{a}与{b}之差在 ±{margin}{unit}以内：未能证实（差值的 {conf} 置信区间为 {low} "
              "至 {high}{unit}，超出了这一范围）"},
    "stats_not_equivalent": {"en": "{a} and {b} differ by more than {margin}{unit} ({conf} CI "
                                   "of the difference {low} to {high}{unit})",
                             "zh": "{a}与{b}之差超过 {margin}{unit}（差值的 {conf} 置信区间为 "
                                   "{low} 至 {high}{unit}）"},
    "stats_non_inferior": {"en": "{a} no more than {margin}{unit} worse than {b}: shown "
                                 "({conf} CI of the difference {low} to {high}{unit})",
                           "zh": "{a}比{b}差不超过 {margin}{unit}：已证实（差值的 {conf} "
                                 "置信区间为 {low} 至 {high}{unit}）"},
    "stats_non_inferiority_undecided": {
        "en": "{a} no more than {margin}{unit} worse than {b}: not shown ({conf} CI of the "
              "difference {low} to {high}{unit}, past the margin)",
        "zh": "{a}比{b}差不超过 {margin}{unit}：未能证实（差值的 {conf} 置信区间为 {low} 至 "
              "{high}{unit}，越过了这一界限）"},
    "stats_inferior": {"en": "{a} worse than {b} by more than {margin}{unit} ({conf} CI of "
                             "the difference {low} to {high}{unit})",
                       "zh": "{a}比{b}差超过 {margin}{unit}（差值的 {conf} 置信区间为 {low} "
                             "至 {high}{unit}）"},
    "stats_unit_pp": {"en": " pp", "zh": " 个百分点"},
    # --- separators and asides of generated text (helpers.i18n.listing, aside) ---
    "sep_list": {"en": ", ", "zh": "、"},
    "sep_clause": {"en": "; ", "zh": "；"},
    "fmt_aside": {"en": " ({})", "zh": "（{}）"},
    # --- the API page's lead-in of an entry (book/_ext/api_reference.py) ---
    # ({aside}: an aside of the docstring in brackets, or nothing)
    "api_introduced": {"en": "Introduced in {doc}{aside}.", "zh": "首次介绍于：{doc}{aside}。"},
    "api_introduced_section": {"en": "Introduced in {doc}, section {section}{aside}.",
                               "zh": "首次介绍于：{doc} › {section}{aside}。"},
    # --- coursework ---
    "col_submission": {"en": "submission", "zh": "提交的 notebook"},
    "col_score": {"en": "score", "zh": "得分"},
    "col_seconds": {"en": "seconds", "zh": "用时（秒）"},
    "cw_log_alpha": {"en": "log10(alpha)", "zh": "log10(alpha)"},
    "cw_diabetes_path": {"en": "Lasso path of the diabetes data",
                         "zh": "糖尿病数据的 Lasso 正则化路径"},
    "cw_sparsity_curve": {"en": "Accuracy after pruning and fine-tuning",
                          "zh": "剪枝并微调后的准确率"},
    "cw_layerwise": {"en": "layer-wise masks", "zh": "逐层掩码"},
    "cw_global": {"en": "global masks", "zh": "全局掩码"},
    "cw_dense": {"en": "dense baseline", "zh": "稠密基线"},
    "cw_sparse90": {"en": "90% of weights pruned", "zh": "剪掉 90% 的权重"},
    "cw_shrunk": {"en": "neurons removed", "zh": "移除神经元后"},
    "cw_compressed": {"en": "compressed", "zh": "压缩后"},
    "cw_pruned": {"en": "pruned and fine-tuned", "zh": "剪枝并微调后"},
    # --- residual networks chapter ---
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "col_res_group": {"en": "group", "zh": "依赖组"},
    "col_res_producers": {"en": "layers whose channels are removed",
                          "zh": "被移除通道的层"},
    "col_res_consumers": {"en": "layers that read them", "zh": "读取这些通道的层"},
    "col_res_size": {"en": "channels", "zh": "通道数"},
    "res_pruned": {"en": "the pruned network", "zh": "剪枝后的网络"},
    "res_removed": {"en": "{p}% removed", "zh": "移除 {p}%"},
    "res_mac_ratio": {"en": "MAC ratio (dense / pruned)", "zh": "乘加次数之比（稠密 / 剪枝后）"},
    "res_speedup": {"en": "measured speed-up", "zh": "实测加速比"},
    "res_dense_ft": {"en": "dense, same extra epochs", "zh": "稠密网络，同样多的额外轮次"},
    "res_pruned_raw": {"en": "50% of channels removed, not fine-tuned",
                       "zh": "移除 50% 通道，未微调"},
    "res_pruned_recal": {"en": "50% of channels removed, BatchNorm recalibrated",
                         "zh": "移除 50% 通道，重新校准 BatchNorm"},
    "res_v_recal": {"en": "the recalibrated network", "zh": "重新校准后的网络"},
    "res_v_raw": {"en": "the network right after removal", "zh": "刚移除通道的网络"},
    "res_pruned_ft": {"en": "50% of channels removed, recalibrated and fine-tuned",
                      "zh": "移除 50% 通道，重新校准并微调后"},
    "res_relation": {"en": "at {p}% removed, MAC ratio {macs}, speed-up {low}× to {high}× ({where})",
                     "zh": "移除 {p}% 时，乘加次数之比 {macs}，加速比 {low}× 至 {high}×（{where}）"},
    "res_below": {"en": "below the MAC ratio", "zh": "低于乘加次数之比"},
    "res_above": {"en": "above the MAC ratio", "zh": "高于乘加次数之比"},
    "res_within": {"en": "consistent with the MAC ratio", "zh": "与乘加次数之比一致"},
    "res_in_common": {"en": "{n} of the {total} stream channels kept by both criteria",
                      "zh": "两种准则保留的残差流通道中有 {n} 个相同（共保留 {total} 个）"},
    "res_group_norm": {"en": "group norm of the filters", "zh": "本章的卷积核组范数准则"},
    # a verdict's name (Comparison.named): the residual chapter's exercise 2 names the
    # library's criterion by the library
    "Torch-Pruning": {"en": "Torch-Pruning's group magnitude",
                      "zh": "Torch-Pruning 的组幅值准则"},
    "res_inner_only": {"en": "half of the block-internal channels",
                       "zh": "只剪掉一半块内通道的网络"},
    "res_all_groups": {"en": "half of every group's channels", "zh": "每个依赖组各剪掉一半通道的网络"},
    # --- language models chapter ---
    "lm_magnitude": {"en": "magnitude", "zh": "幅值剪枝"},
    "lm_wanda": {"en": "Wanda", "zh": "Wanda"},
    "lm_sparsegpt": {"en": "SparseGPT", "zh": "SparseGPT"},
    "lm_perplexity": {"en": "test perplexity", "zh": "测试集困惑度"},
    "lm_val_perplexity": {"en": "validation perplexity", "zh": "验证集困惑度"},
    "lm_loss": {"en": "training loss (nats per character)", "zh": "训练损失（每字符，nat）"},
    "col_lm_criterion": {"en": "criterion", "zh": "剪枝准则"},
    "col_lm_unstructured": {"en": "50% unstructured", "zh": "50% 非结构化"},
    "col_lm_nm": {"en": "2:4", "zh": "2:4"},
    "col_lm_error": {"en": "reconstruction error on the calibration data",
                     "zh": "校准数据上的重构误差"},
    "col_lm_samples": {"en": "calibration windows", "zh": "校准窗口数"},
    "col_lm_pattern": {"en": "pattern", "zh": "稀疏模式"},
    "col_lm_comparison": {"en": "comparison", "zh": "比较"},
    "col_lm_verdict": {"en": "verdict (paired over calibration samples)",
                       "zh": "结论（按校准样本配对）"},
}

#: How a verdict names what a label names (legends, table rows): the key of a noun
#: phrase for each label key that is not one in both languages ("dense" → "the dense
#: network" / 稠密网络). Read by :meth:`helpers.stats.Comparison.named`; every name a
#: verdict receives is a key of :data:`NOUN_PHRASES` (tests/test_verdict_templates.py).
VERDICT_NAMES: dict[str, str] = {
    "dense": "prune_c_dense", "bm_dense": "prune_c_dense", "prune_random": "pipe_random",
    "prune_iterative": "v_prune_iterative", "prune_layerwise": "v_prune_layerwise",
    "prune_global": "v_prune_global", "prune_oneshot": "v_prune_oneshot",
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
TEXT.update({
    "v_prune_iterative": {"en": "iterative pruning", "zh": "迭代剪枝"},
    "v_prune_layerwise": {"en": "layer-wise magnitude pruning", "zh": "逐层幅值剪枝"},
    "v_prune_global": {"en": "global magnitude pruning", "zh": "全局幅值剪枝"},
    "v_prune_oneshot": {"en": "one-shot pruning with 8 epochs of fine-tuning",
                        "zh": "一次性剪枝（微调 8 轮）"},
    "v_prune_oneshot_short": {"en": "one-shot pruning with 2 epochs of fine-tuning",
                              "zh": "一次性剪枝（微调 2 轮）"},
    "v_prune_csr": {"en": "the 90%-pruned network on the CSR kernel",
                    "zh": "权重 90% 为零的网络（CSR）"},
    "v_prune_unstructured": {"en": "the 90%-pruned network on the dense kernel",
                             "zh": "权重 90% 为零的网络（稠密计算核）"},
    "v_prune_neurons": {"en": "the network with {amount:.0%} of its neurons removed",
                        "zh": "移除 {amount:.0%} 神经元的网络"},
    "v_prune_uniform": {"en": "uniform {p}% masks", "zh": "统一剪枝 {p}% 的掩码"},
    "v_lm_layer_magnitude": {"en": "ranking |W| across the layer (magnitude)",
                             "zh": "整层比较 |W| 的准则（幅值剪枝）"},
    "v_lm_row_magnitude": {"en": "ranking |W| within each row",
                           "zh": "逐行比较 |W| 的准则"},
    "v_lm_layer_wanda": {"en": "ranking |W|·‖X‖ across the layer",
                         "zh": "整层比较 |W|·‖X‖ 的准则"},
    "v_lm_row_wanda": {"en": "ranking |W|·‖X‖ within each row (Wanda)",
                       "zh": "逐行比较 |W|·‖X‖ 的准则（Wanda）"},
    "v_faq_dense": {"en": "the dense 64-300-100-10 network",
                    "zh": "稠密的 64-300-100-10 网络"},
    "v_faq_nm_24": {"en": "the 2:4-sparse network", "zh": "2:4 稀疏的网络"},
    "v_faq_unstructured50": {"en": "the network with 50% unstructured sparsity",
                             "zh": "50% 非结构化稀疏的网络"},
    "v_bg_int8": {"en": "the dynamically quantised int8 model",
                  "zh": "动态 int8 量化的模型"},
    "v_l1_sklearn_cd": {"en": "scikit-learn's coordinate descent",
                        "zh": "scikit-learn 的坐标下降"},
    "v_pipe_l1": {"en": "pruning after L1 (proximal) training", "zh": "L1 近端训练后剪枝"},
    "v_pipe_l2": {"en": "pruning after L2 training", "zh": "L2 训练后剪枝"},
    "v_crit_l2": {"en": "the L2 norm of incoming weights", "zh": "输入权重 L2 范数准则"},
    "v_crit_l2_out": {"en": "the L2 norm of outgoing weights", "zh": "输出权重 L2 范数准则"},
    "v_crit_activation": {"en": "the mean activation", "zh": "平均激活值准则"},
    "v_crit_taylor": {"en": "the Taylor criterion |a·∂L/∂a|", "zh": "泰勒准则（|a·∂L/∂a|）"},
    "v_prune_gradual": {"en": "gradual pruning (cubic schedule)", "zh": "渐进剪枝（三次调度）"},
    "v_pipe_dense_budget": {"en": "the dense MLP with the same budget",
                            "zh": "同等预算的稠密 MLP"},
})

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
    "v_prune_uniform",
    # pipeline
    "pipe_magnitude", "v_pipe_l1", "v_pipe_l2", "col_pipe_slimming", "pipe_slimming",
    "pipe_gamma_name", "pipe_dense_mlp", "v_pipe_dense_budget", "pipe_dense_cnn",
    "pipe_v_magnitude", "pipe_v_best_int8", "pipe_v_best_fp32", "pipe_q2_fp32",
    "pipe_q2_int8", "pipe_q2_pruned", "pipe_q2_pruned_int8", "pipe_random",
    "pipe_shared", "pipe_csr_int8", "pipe_global", "pipe_layerwise",
    # residual networks
    "res_pruned", "res_v_recal", "res_v_raw", "Torch-Pruning", "res_group_norm",
    # language models
    "lm_wanda", "lm_sparsegpt", "v_lm_layer_magnitude",
    "v_lm_row_magnitude", "v_lm_layer_wanda", "v_lm_row_wanda",
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
    return tr("sep_clause" if clauses else "sep_list", lang).join(map(str, items))


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
    return tr("fmt_aside", lang).format(text)


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
        raise KeyError(f"no text for {key!r} in helpers.i18n.TEXT; add it in both "
                       f"languages") from None

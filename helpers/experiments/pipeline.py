"""The experiments of the chapter :doc:`pipeline`.

The combined pipeline (a regulariser → pruning → fine-tuning → int8) on the MLP
64-300-100-10 and, for Network Slimming, on the small Conv-BatchNorm-ReLU network, both
on the 8×8 digits, every variant trained with the same seeds and budget:

:func:`dense_baseline`
    the dense MLP of each seed, and its control of equal budget;
:func:`lambda_search`
    the strength of L1 and L2, chosen by the validation accuracy right after pruning;
:func:`sparsity_sweep`
    the MLPs trained with each regulariser, pruned at every sparsity and fine-tuned,
    and the sparsity chosen per regulariser;
:func:`network_slimming`
    the CNN with and without the L1 penalty on its BatchNorm scales, its channels
    removed at every fraction and fine-tuned;
:func:`accuracy_comparisons`, :func:`results_table`
    the verdicts of the chapter, and each variant at its chosen level, in int8;
:func:`latency`, :func:`quantised_latency`
    forward passes timed in interleaved rounds (timed experiments: they run alone);
:func:`deep_compression`
    weight sharing, centroid fine-tuning and Huffman coding of the L1-pruned MLP;
:func:`random_pruning`, :func:`weight_sharing`, :func:`global_pruning`, :func:`one_call`
    the solutions of the chapter's exercises.

Comparisons are named with :func:`helpers.i18n.tr` keys: the page translates the names
into its language before it writes a verdict. Without the cache (``BOOK_EXPERIMENT_CACHE``
unset), the runs that later experiments reuse are computed once per process.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import data as _data
from .. import metrics, models, pipeline, quant, stats, train
from . import experiment

__all__ = [
    "Baseline", "LambdaSearch", "Sweep", "Slimming", "Table", "Latencies", "DeepCompression",
    "dense_baseline", "lambda_search", "sparsity_sweep", "network_slimming",
    "accuracy_comparisons", "results_table", "latency", "quantised_latency",
    "deep_compression", "random_pruning", "weight_sharing", "global_pruning", "one_call"]

#: Training seeds of every reported result (five would take the page past its budget).
SEEDS = (0, 1, 2)
#: The seed of the hyper-parameter searches, which no reported result uses.
TUNE_SEED = 10
#: Validation accuracy a compressed variant may give up against the dense baseline.
TOL = 0.01
#: Adam for the MLP; SGD with momentum for the CNN (as Liu et al. train); fine-tuning
#: with Adam, keeping the best validation epoch and stopping after ``patience`` epochs.
TRAIN = dict(epochs=15, lr=2e-3, batch_size=128)
CNN_TRAIN = dict(epochs=10, lr=0.05, batch_size=128, optimizer="sgd")
FINETUNE = dict(epochs=8, lr=1e-2, batch_size=128, patience=2)
#: The λ grids (L1: proximal strength; L2: weight decay) and the sparsity they are
#: judged at; the sparsities of the sweep.
GRID = (("l1", (0.03, 0.1, 0.3, 1.0)), ("l2", (1e-2, 3e-2, 1e-1, 3e-1)))
S_REF = 0.9
LEVELS = (0.8, 0.9, 0.95, 0.98)
#: Network Slimming: the λ grid, the channel fraction it is judged at, the fractions.
CNN_GRID = (0.03, 0.1, 0.3)
C_REF = 0.75
CHANNELS = (0.5, 0.75, 0.875)
#: Latency: rounds of interleaved timings, one timing of each model a round.
ROUNDS = dict(rounds=12, repeats=1, warmup=3, number=3)
#: The i18n keys of the MLP variants (no regulariser, L1, L2) and of the CNN's.
COLUMNS = {"none": "pipe_magnitude", "l1": "pipe_l1", "l2": "pipe_l2"}
CNN_COLUMNS = {"none": "pipe_gamma", "bn_l1": "pipe_slimming"}


def _mlp() -> nn.Module:
    return models.mlp([64, 300, 100, 10])


def _cnn() -> nn.Module:
    return models.small_cnn((16, 32))


def _digits():
    """The digits as vectors (the MLP) and as 8×8 images (the CNN)."""
    data = _data.load_digits_split()
    return data, data.as_images(8, 8)


def _correct(models_, data, split: str = "test") -> np.ndarray:
    """Per-example correctness of each model: bool array (n_models, n_examples)."""
    X, y = data.split(split)
    return np.stack([train.correct(m, X, y) for m in models_])


def _mean(results, key: str) -> float:
    return float(np.mean([getattr(r, key) for r in results]))


# --------------------------------------------------------------------- the dense MLP

@dataclass(frozen=True)
class Baseline:
    """What :func:`dense_baseline` returns.

    Attributes
    ----------
    models, same_budget : dict of int to nn.Module
        Per seed: the trained dense MLP, and a copy fine-tuned like a pruned one with
        nothing pruned (the control of equal budget).
    val, test : tuple of float
        Accuracy of each dense MLP on the validation and test splits.
    """

    models: dict
    same_budget: dict
    val: tuple
    test: tuple


@experiment(cost=3)
def dense_baseline(seeds: tuple[int, ...] = SEEDS) -> Baseline:
    """Train the dense MLP with each seed, and fine-tune a copy with nothing pruned.

    Introduced in :doc:`pipeline`, section *The dense baseline*.

    Returns
    -------
    Baseline
        The networks and their accuracies.
    """
    return _dense_baseline(tuple(seeds))


@functools.lru_cache(maxsize=None)
def _dense_baseline(seeds):
    data, _ = _digits()
    trained = {seed: pipeline.train_model(_mlp, data, seed=seed, **TRAIN)[0]
               for seed in seeds}
    same_budget = {seed: pipeline.prune_finetune(trained[seed], data, 0.0, seed=seed,
                                                 **FINETUNE).model for seed in seeds}
    return Baseline(trained, same_budget,
                    tuple(train.evaluate(m, data, "val") for m in trained.values()),
                    tuple(train.evaluate(m, data, "test") for m in trained.values()))


# --------------------------------------------------------------- choosing λ and the level

@dataclass(frozen=True)
class LambdaSearch:
    """What :func:`lambda_search` returns.

    Attributes
    ----------
    runs : dict
        ``{(regulariser, λ): (val_trained, zeros, val_pruned)}``: validation accuracy
        after training, fraction of weights exactly zero, validation accuracy right
        after pruning.
    best : dict
        ``{regulariser: λ}``, the most accurate after pruning (ties: after training),
        the grid extended beyond an end where the best lay
        (:func:`helpers.pipeline.choose_strength`); ``runs`` holds every λ tried.
    """

    runs: dict
    best: dict


@experiment(cost=3)
def lambda_search(grid: tuple = GRID, s_ref: float = S_REF,
                  tune_seed: int = TUNE_SEED) -> LambdaSearch:
    """Train the MLP with every λ of ``grid``, prune ``s_ref`` of each layer, evaluate.

    Introduced in :doc:`pipeline`, section *The strength of the regularizers*.

    Parameters
    ----------
    grid : tuple
        ``((regulariser, (λ, ...)), ...)``, regularisers of
        :func:`helpers.pipeline.train_model`.
    s_ref : float
        The fraction of each layer's weights pruned to judge a λ.
    tune_seed : int
        The seed of every run (no reported result uses it).

    Returns
    -------
    LambdaSearch
    """
    return _lambda_search(grid, s_ref, tune_seed)


@functools.lru_cache(maxsize=None)
def _lambda_search(grid, s_ref, tune_seed):
    data, _ = _digits()
    runs, best = {}, {}
    for reg, strengths in grid:
        def score(lam, reg=reg):
            model, _ = pipeline.train_model(_mlp, data, regulariser=reg, strength=lam,
                                            seed=tune_seed, **TRAIN)
            pruned = pipeline.prune_copy(model, s_ref)
            zeros = 1 - metrics.count_nonzero(model) / metrics.count_parameters(model)
            runs[reg, lam] = (train.evaluate(model, data, "val"), zeros,
                              train.evaluate(pruned, data, "val"))
            return runs[reg, lam][2], runs[reg, lam][0]

        best[reg] = pipeline.choose_strength(strengths, score).best
    order = [reg for reg, _ in grid]
    return LambdaSearch(dict(sorted(runs.items(), key=lambda kv: (order.index(kv[0][0]),
                                                                  kv[0][1]))), best)


@dataclass(frozen=True)
class Sweep:
    """What :func:`sparsity_sweep` and :func:`network_slimming` share.

    Attributes
    ----------
    trained : dict
        ``{regulariser: {seed: trained model}}``.
    results : dict
        ``{regulariser: {level: [helpers.pipeline.PruneResult per seed]}}``.
    chosen : dict
        ``{regulariser: level}``: the largest level whose mean validation accuracy
        after fine-tuning is within the tolerance of the dense model's.
    """

    trained: dict
    results: dict
    chosen: dict

    @property
    def final(self) -> dict:
        """``{regulariser: {seed: model}}`` at the chosen level, fine-tuned."""
        return {reg: dict(zip(self.trained[reg],
                              (r.model for r in levels[self.chosen[reg]])))
                for reg, levels in self.results.items()}


def _choose(levels, results, reference: float, tol: float) -> dict:
    """The level chosen for each regulariser (``pipeline.choose_largest_within``)."""
    return {reg: pipeline.choose_largest_within(
        levels, [_mean(results[reg][s], "val_finetuned") for s in levels],
        reference=reference, tolerance=tol) for reg in results}


@experiment(cost=12)
def sparsity_sweep(levels: tuple[float, ...] = LEVELS, tol: float = TOL) -> Sweep:
    """Train with L1 and L2 (λ of :func:`lambda_search`), prune at every level, fine-tune.

    Introduced in :doc:`pipeline`, section *How much to prune*. The dense MLPs of
    :func:`dense_baseline` are the variant without a regulariser. Each trained network is
    pruned layer-wise by magnitude at every sparsity of ``levels`` and fine-tuned
    (:func:`helpers.pipeline.prune_finetune`); the sparsity is then chosen per
    regulariser on the validation split, within ``tol`` of the dense MLP. The seeds
    are those of :func:`dense_baseline`.

    Returns
    -------
    Sweep
        With the regularisers ``"none"``, ``"l1"``, ``"l2"``.
    """
    return _sparsity_sweep(tuple(levels), tol)


@functools.lru_cache(maxsize=None)
def _sparsity_sweep(levels, tol):
    data, _ = _digits()
    baseline, best = dense_baseline(), lambda_search().best
    seeds = tuple(baseline.models)
    trained = {"none": baseline.models}
    for reg in best:
        trained[reg] = {seed: pipeline.train_model(
            _mlp, data, regulariser=reg, strength=best[reg], seed=seed, **TRAIN)[0]
            for seed in seeds}
    results = {reg: {s: [pipeline.prune_finetune(trained[reg][seed], data, s, seed=seed,
                                                 **FINETUNE) for seed in seeds]
                     for s in levels} for reg in trained}
    return Sweep(trained, results,
                 _choose(levels, results, float(np.mean(baseline.val)), tol))


# --------------------------------------------------------------------- Network Slimming

@dataclass(frozen=True)
class Slimming(Sweep):
    """What :func:`network_slimming` returns: a :class:`Sweep` over channel fractions.

    Attributes
    ----------
    runs : dict
        ``{λ: (val_trained, val_slimmed)}``: validation accuracy after training with
        the penalty, and right after removing ``c_ref`` of the channels.
    best : float
        The chosen λ (:func:`helpers.pipeline.choose_strength`: the grid extended
        beyond an end where the best lay; ``runs`` holds every λ tried).
    dense_val : tuple of float
        Validation accuracy of each CNN trained without the penalty.
    gamma : dict
        ``{regulariser: |γ|}`` of the two BatchNorm layers of the first seed's CNN.
    """

    runs: dict
    best: float
    dense_val: tuple
    gamma: dict


@experiment(cost=14)
def network_slimming(channels: tuple[float, ...] = CHANNELS, grid: tuple = CNN_GRID,
                     c_ref: float = C_REF, seeds: tuple[int, ...] = SEEDS,
                     tol: float = TOL, tune_seed: int = TUNE_SEED) -> Slimming:
    """Train the CNN with and without L1 on its BatchNorm scales, slim, fine-tune.

    Introduced in :doc:`pipeline`, section *Network Slimming*. λ is chosen on the
    validation split after removing ``c_ref`` of the channels (seed ``tune_seed``);
    every fraction of ``channels`` is removed by smallest ``|γ|`` from the networks of
    both regularisers (:func:`helpers.pipeline.slim_finetune`) and fine-tuned.

    Returns
    -------
    Slimming
        With the regularisers ``"none"`` and ``"bn_l1"``.
    """
    return _network_slimming(tuple(channels), tuple(grid), c_ref, tuple(seeds), tol,
                             tune_seed)


@functools.lru_cache(maxsize=None)
def _network_slimming(channels, grid, c_ref, seeds, tol, tune_seed):
    _, images = _digits()
    trained = {"none": {
        seed: pipeline.train_model(_cnn, images, seed=seed, **CNN_TRAIN)[0]
        for seed in seeds}}
    dense_val = tuple(train.evaluate(m, images, "val") for m in trained["none"].values())
    runs = {}

    def score(lam):
        model, _ = pipeline.train_model(_cnn, images, regulariser="bn_l1", strength=lam,
                                        seed=tune_seed, **CNN_TRAIN)
        slim = pipeline.slim_channels(model, c_ref)
        runs[lam] = (train.evaluate(model, images, "val"),
                     train.evaluate(slim, images, "val"))
        return runs[lam][1], runs[lam][0]

    best = pipeline.choose_strength(grid, score).best
    runs = dict(sorted(runs.items()))
    trained["bn_l1"] = {seed: pipeline.train_model(
        _cnn, images, regulariser="bn_l1", strength=best, seed=seed, **CNN_TRAIN)[0]
        for seed in seeds}
    first = seeds[0]
    gamma = {reg: torch.cat([trained[reg][first][k].weight.detach().abs().cpu()
                             for k in (1, 4)]) for reg in trained}
    results = {reg: {c: [pipeline.slim_finetune(trained[reg][seed], images, c, seed=seed,
                                                **FINETUNE) for seed in seeds]
                     for c in channels} for reg in trained}
    chosen = _choose(channels, results, float(np.mean(dense_val)), tol)
    return Slimming(trained, results, chosen, runs, best, dense_val, gamma)


# ------------------------------------------------------------------------- the verdicts

@experiment(cost=2)
def accuracy_comparisons(levels: tuple[float, ...] = (0.8, 0.9),
                         channels: tuple[float, ...] = (0.75, 0.875)) -> dict:
    """L1 against L2 and no regulariser, Network Slimming against ``|γ|`` alone.

    Introduced in :doc:`pipeline`, section *L1 or L2 before pruning?*. Every
    comparison pairs the seeds and the test images
    (:func:`helpers.stats.compare_accuracy`), right after pruning (``"pruned"``,
    :func:`helpers.pipeline.prune_copy` / :func:`~helpers.pipeline.slim_channels` of
    the trained networks) and after fine-tuning (``"finetuned"``).

    Returns
    -------
    dict
        ``"l1_<other>_<stage>_<level %>"`` (other: ``l2``, ``none``) for each of
        ``levels``; ``"cnn_<stage>_<‰ of channels>"`` for each of ``channels``;
        ``"l1_vs_l2_<stage>"``: a tuple of comparisons, one per level of the sweep.
    """
    data, images = _digits()
    sweep, slimming = sparsity_sweep(), network_slimming()
    correct = {  # stage -> (regulariser, sparsity) -> test correctness of every seed
        "pruned": lambda reg, s: _correct(
            (pipeline.prune_copy(m, s) for m in sweep.trained[reg].values()), data),
        "finetuned": lambda reg, s: _correct(
            (r.model for r in sweep.results[reg][s]), data)}
    out = {}
    for stage, rows in correct.items():
        for s in levels:
            for other in ("l2", "none"):
                out[f"l1_{other}_{stage}_{100 * s:.0f}"] = stats.compare_accuracy(
                    rows("l1", s), rows(other, s), names=(COLUMNS["l1"], COLUMNS[other]))
        out[f"l1_vs_l2_{stage}"] = tuple(stats.compare_accuracy(
            rows("l1", s), rows("l2", s), names=(COLUMNS["l1"], COLUMNS["l2"]))
            for s in sweep.results["l1"])
    names = ("col_pipe_slimming", "pipe_gamma_name")
    for c in channels:
        out[f"cnn_pruned_{1000 * c:.0f}"] = stats.compare_accuracy(*[_correct(
            (pipeline.slim_channels(m, c) for m in slimming.trained[reg].values()),
            images) for reg in ("bn_l1", "none")], names=names)
        out[f"cnn_finetuned_{1000 * c:.0f}"] = stats.compare_accuracy(*[_correct(
            (r.model for r in slimming.results[reg][c]), images)
            for reg in ("bn_l1", "none")], names=names)
    return out


def _table_row(label: str, level, models_by_seed: dict, data, references: dict) -> dict:
    """Mean (± std) over the seeds of :func:`helpers.pipeline.summarise`, no latency."""
    rows = [pipeline.summarise(m, data, reference=references[s], repeats=0)
            for s, m in models_by_seed.items()]
    avg = lambda key: float(np.mean([r[key] for r in rows]))  # noqa: E731
    return {"model": label, "pipe_level": level,
            "pipe_fp32": stats.format_mean_std([r["test_fp32"] for r in rows], scale=100),
            "pipe_int8": stats.format_mean_std([r["test_int8"] for r in rows], scale=100),
            "nonzero": round(avg("nonzero")), "storage_kb": avg("storage_bytes") / 1000,
            "param_ratio": avg("compression"), "pipe_macs": round(avg("macs")),
            "pipe_macs_eff": round(avg("macs_effective")),
            "fp32": avg("test_fp32"), "int8": avg("test_int8")}


@dataclass(frozen=True)
class Table:
    """What :func:`results_table` returns.

    Attributes
    ----------
    rows : dict
        ``{variant: row}`` for ``dense``, ``budget``, ``none``, ``l1``, ``l2``,
        ``cnn_dense``, ``cnn_none``, ``cnn_bn_l1``. A row's ``model`` is an i18n key,
        its ``pipe_level`` None or ``(i18n key, fraction)``; ``pipe_fp32`` and
        ``pipe_int8`` are test accuracies as mean ± std in %, ``fp32`` and ``int8``
        their means; the other columns are means over the seeds.
    best : str
        The MLP variant of the highest parameter compression ratio.
    comparisons : dict
        ``best_budget``, ``best_dense``, ``budget_gain``, ``int8``: the best variant
        against the dense MLP of equal budget and the dense MLP, that control against
        the dense MLP, and the best variant in int8 against fp32 (test images, seeds).
    """

    rows: dict
    best: str
    comparisons: dict


@experiment(cost=1)
def results_table() -> Table:
    """Each variant at its chosen level, its weights in int8, measured over the seeds.

    Introduced in :doc:`pipeline`, section *The results*
    (:func:`helpers.pipeline.summarise` without latency: :func:`latency` times them).

    Returns
    -------
    Table
    """
    data, images = _digits()
    baseline, sweep, slim = dense_baseline(), sparsity_sweep(), network_slimming()
    final, cnn_final = sweep.final, slim.final
    rows = {"dense": _table_row("pipe_dense_mlp", None, baseline.models, data,
                                baseline.models),
            "budget": _table_row("pipe_dense_budget", None, baseline.same_budget, data,
                                 baseline.models)}
    rows |= {reg: _table_row(COLUMNS[reg], ("pipe_of_weights", sweep.chosen[reg]),
                             final[reg], data, sweep.trained[reg]) for reg in final}
    rows["cnn_dense"] = _table_row("pipe_dense_cnn", None, slim.trained["none"], images,
                                   slim.trained["none"])
    rows |= {f"cnn_{reg}": _table_row(
        CNN_COLUMNS[reg], ("pipe_of_channels", slim.chosen[reg]), cnn_final[reg], images,
        slim.trained[reg]) for reg in cnn_final}
    best = max(("none", "l1", "l2"), key=lambda reg: rows[reg]["param_ratio"])
    best_rows = _correct(final[best].values(), data)
    budget, dense = _correct(baseline.same_budget.values(), data), _correct(
        baseline.models.values(), data)
    int8 = _correct((quant.quantize_model_weights(m, 8) for m in final[best].values()),
                    data)
    compare = stats.compare_accuracy
    comparisons = {
        "best_budget": compare(best_rows, budget,
                               names=(COLUMNS[best], "pipe_dense_budget")),
        "best_dense": compare(best_rows, dense, names=(COLUMNS[best], "pipe_dense_mlp")),
        "budget_gain": compare(budget, dense,
                               names=("pipe_dense_budget", "pipe_dense_mlp")),
        "int8": compare(int8, best_rows, names=("pipe_v_best_int8", "pipe_v_best_fp32"))}
    return Table(rows, best, comparisons)


# ----------------------------------------------------------------------------- latency

@dataclass(frozen=True)
class Latencies:
    """What :func:`latency` and :func:`quantised_latency` return.

    Attributes
    ----------
    latency : dict
        ``{model: helpers.metrics.Latency}`` (all the times of every round).
    comparisons : dict
        Speed-ups (:func:`helpers.stats.latency_ratio`), named with i18n keys.
    """

    latency: dict
    comparisons: dict


def _speedups(latency: dict, pairs, names: dict) -> dict:
    return {f"{a}_{b}": stats.latency_ratio(latency[a].times_ms, latency[b].times_ms,
                                            names=(names[a], names[b])) for a, b in pairs}


@experiment(cost=2, timed=True)
def latency(rounds: int = 12, repeats: int = 1, warmup: int = 3,
            number: int = 3) -> Latencies:
    """Time the forward pass of the table's networks (first seed) over the test split.

    Introduced in :doc:`pipeline`, section *The results*. The MLPs (dense, dense of
    equal budget, pruned after each regulariser) are timed in alternation, then the
    CNNs (dense, slimmed after each regulariser), on one CPU thread
    (:func:`helpers.metrics.compare_latency`).

    Returns
    -------
    Latencies
        Keys of :attr:`Table.rows`; comparisons ``none_dense`` (pruned MLP against the
        dense one) and ``cnn_bn_l1_cnn_dense`` (Network Slimming against the dense CNN).
    """
    data, images = _digits()
    baseline, sweep, slim = dense_baseline(), sparsity_sweep(), network_slimming()
    first = SEEDS[0]
    rounds = dict(rounds=rounds, repeats=repeats, warmup=warmup, number=number)
    timed = metrics.compare_latency(
        {"dense": baseline.models[first], "budget": baseline.same_budget[first],
         **{reg: m[first] for reg, m in sweep.final.items()}}, data.X_test, **rounds)
    timed |= {f"cnn_{k}": v for k, v in metrics.compare_latency(
        {"dense": slim.trained["none"][first], **{reg: m[first] for reg, m in
                                                  slim.final.items()}},
        images.X_test, **rounds).items()}
    names = {"none": "pipe_v_magnitude", "dense": "pipe_dense_mlp",
             "cnn_bn_l1": CNN_COLUMNS["bn_l1"], "cnn_dense": "pipe_dense_cnn"}
    pairs = [("none", "dense"), ("cnn_bn_l1", "cnn_dense")]
    return Latencies(timed, _speedups(timed, pairs, names))


@experiment(cost=1, timed=True)
def quantised_latency(rounds: int = 12, repeats: int = 1, warmup: int = 3,
                      number: int = 3) -> Latencies:
    """Time the dense and the magnitude-pruned MLP (first seed) in fp32 and in int8.

    Introduced in :doc:`pipeline`, section *Pruning, quantisation, or both?*. Int8 is
    PyTorch's dynamic quantisation (:func:`helpers.quant.dynamic_quantize`); the four
    models are timed in alternation over the test split, on one CPU thread.

    Returns
    -------
    Latencies
        Keys ``fp32``, ``int8``, ``pruned``, ``pruned_int8``; comparisons
        ``int8_fp32``, ``pruned_int8_pruned``, ``pruned_fp32``.
    """
    data, _ = _digits()
    first = SEEDS[0]
    dense, pruned = dense_baseline().models[first], sparsity_sweep().final["none"][first]
    speed = metrics.compare_latency(
        {"fp32": dense, "int8": quant.dynamic_quantize(dense),
         "pruned": pruned, "pruned_int8": quant.dynamic_quantize(pruned)},
        data.X_test, rounds=rounds, repeats=repeats, warmup=warmup, number=number)
    names = {"fp32": "pipe_q2_fp32", "int8": "pipe_q2_int8", "pruned": "pipe_q2_pruned",
             "pruned_int8": "pipe_q2_pruned_int8"}
    pairs = [("int8", "fp32"), ("pruned_int8", "pruned"), ("pruned", "fp32")]
    return Latencies(speed, _speedups(speed, pairs, names))


# ------------------------------------------------------------------- Deep Compression

@dataclass(frozen=True)
class DeepCompression:
    """What :func:`deep_compression` returns.

    Attributes
    ----------
    bytes : dict
        The model's size: ``fixed`` (``bits``-bit values and gaps), ``huffman`` (both
        streams Huffman-coded), ``entropy`` (their entropy bound); fp32 biases and
        codebooks included.
    dense_bytes : int
        The dense fp32 MLP's size.
    value_bits, gap_bits : float
        Huffman bits per stored value and per gap.
    accuracy : dict
        Test accuracy ``pruned`` (L1, pruned, fine-tuned), ``shared`` (k-means),
        ``tuned`` (after centroid fine-tuning).
    """

    bytes: dict
    dense_bytes: int
    value_bits: float
    gap_bits: float
    accuracy: dict


@experiment(cost=1)
def deep_compression(bits: int = 5, epochs: int = 3, lr: float = 1e-3) -> DeepCompression:
    """Deep Compression's three stages on the L1-trained, pruned MLP (first seed).

    Introduced in :doc:`pipeline`, section *Deep Compression's third stage*. Each
    layer's weights are shared by k-means with ``2^bits`` values
    (:func:`helpers.quant.kmeans_share_model`); a copy fine-tunes its centroids for
    ``epochs`` epochs (:class:`helpers.quant.CentroidFineTuning`); the streams of
    relative indices (``bits``-bit gaps) and values are Huffman-coded
    (:func:`helpers.quant.huffman_storage_bits`).

    Returns
    -------
    DeepCompression
    """
    data, _ = _digits()
    pruned = sparsity_sweep().final["l1"][SEEDS[0]]
    shared = quant.kmeans_share_model(pruned, bits)
    tuned = copy.deepcopy(pruned)
    tying = quant.CentroidFineTuning(tuned, bits)
    train.fit(tuned, data, epochs=epochs, lr=lr, after_step=tying, seed=0, progress=False)
    coded = quant.huffman_storage_bytes(tuned, gap_bits=bits)  # biases stay fp32
    sizes = {"fixed": metrics.storage_bytes(tuned, "relative+shared", value_bits=bits,
                                            gap_bits=bits),
             "huffman": coded["huffman"], "entropy": coded["entropy"]}
    return DeepCompression(
        sizes, metrics.storage_bytes(dense_baseline().models[SEEDS[0]], "dense32"),
        coded["values"] / coded["entries"], coded["gaps"] / coded["entries"],
        {key: train.evaluate(m, data, "test")
         for key, m in (("pruned", pruned), ("shared", shared), ("tuned", tuned))})


# ---------------------------------------------------------------------------- exercises

@experiment(cost=1)
def random_pruning() -> dict:
    """Exercise *random pruning*: random against magnitude masks, same sparsity.

    Introduced in :doc:`pipeline`, section *Exercises*. The dense MLPs are pruned at
    the sparsity chosen for magnitude pruning, weights drawn at random
    (``criterion="random"``), and fine-tuned like the magnitude-pruned ones.

    Returns
    -------
    dict
        ``pipe_random`` and ``pipe_magnitude``: the
        :class:`helpers.pipeline.PruneResult` of each seed; ``comparison``: random
        against magnitude after fine-tuning, on the validation split.
    """
    data, _ = _digits()
    sweep = sparsity_sweep()
    s = sweep.chosen["none"]
    rand = [pipeline.prune_finetune(model, data, s, criterion="random", seed=seed,
                                    **FINETUNE)
            for seed, model in sweep.trained["none"].items()]
    magnitude = sweep.results["none"][s]
    comparison = stats.compare_accuracy(
        _correct((r.model for r in rand), data, "val"),
        _correct((r.model for r in magnitude), data, "val"),
        names=("pipe_random", "pipe_magnitude"))
    return {"pipe_random": rand, "pipe_magnitude": magnitude, "comparison": comparison}


@experiment(cost=0.5)
def weight_sharing(bits: int = 5) -> dict:
    """Exercise *Deep Compression*: ``bits``-bit shared weights and relative indices.

    Introduced in :doc:`pipeline`, section *Exercises*. The L1-pruned MLP (first seed)
    stored as int8 CSR, and with its weights shared by k-means
    (:func:`helpers.quant.kmeans_share_model`) stored with ``bits``-bit values and gaps.

    Returns
    -------
    dict
        ``rows``: ``(i18n key, bytes, validation accuracy)`` of each storage;
        ``dense_bytes``; ``comparison``: shared against int8 CSR, validation split.
    """
    data, _ = _digits()
    model = sparsity_sweep().final["l1"][SEEDS[0]]
    shared = quant.kmeans_share_model(model, bits)
    int8 = quant.quantize_model_weights(model, 8)
    rows = [("pipe_csr_int8", int8,
             metrics.storage_bytes(model, "csr+int8", **pipeline.CSR_BITS)),
            ("pipe_shared", shared,
             metrics.storage_bytes(shared, "relative+shared", value_bits=bits,
                                   gap_bits=bits))]
    comparison = stats.compare_accuracy(
        *[_correct([m], data, "val")[0] for m in (shared, int8)],
        names=("pipe_shared", "pipe_csr_int8"))
    dense = dense_baseline().models[SEEDS[0]]
    return {"rows": [(key, size, train.evaluate(m, data, "val")) for key, m, size in rows],
            "dense_bytes": metrics.storage_bytes(dense, "dense32"),
            "comparison": comparison}


@experiment(cost=1)
def global_pruning(sparsity: float = 0.95) -> dict:
    """Exercise *one global threshold*: global against layer-wise magnitude pruning.

    Introduced in :doc:`pipeline`, section *Exercises*. The dense and the L2-trained MLP
    (first seed) are pruned to ``sparsity`` with one threshold per layer and with one
    for all layers (``scope``), then fine-tuned.

    Returns
    -------
    dict
        ``val``: ``{(regulariser, scope): (val_pruned, val_finetuned)}``;
        ``comparisons``: ``{regulariser: global against layer-wise}``, on the
        validation split after fine-tuning.
    """
    data, _ = _digits()
    trained = sparsity_sweep().trained
    first = SEEDS[0]
    val, comparisons, correct = {}, {}, {}
    for reg in ("none", "l2"):
        for scope in ("layer", "global"):
            result = pipeline.prune_finetune(trained[reg][first], data, sparsity,
                                             scope=scope, seed=first, **FINETUNE)
            val[reg, scope] = (result.val_pruned, result.val_finetuned)
            correct[scope] = _correct([result.model], data, "val")[0]
        comparisons[reg] = stats.compare_accuracy(
            correct["global"], correct["layer"], names=("pipe_global", "pipe_layerwise"))
    return {"val": val, "comparisons": comparisons}


@experiment(cost=1)
def one_call(seed: int = len(SEEDS)) -> dict:
    """Exercise *the pipeline in one call*: the chosen L1 configuration with a new seed.

    Introduced in :doc:`pipeline`, section *Exercises*
    (:func:`helpers.pipeline.run_pipeline`, with the chapter's λ and sparsity).

    Returns
    -------
    dict
        The row of :func:`helpers.pipeline.run_pipeline`.
    """
    data, _ = _digits()
    return pipeline.run_pipeline(
        _mlp, data, regulariser="l1", strength=lambda_search().best["l1"],
        sparsity=sparsity_sweep().chosen["l1"], train_epochs=TRAIN["epochs"],
        lr=TRAIN["lr"], batch_size=TRAIN["batch_size"],
        finetune_epochs=FINETUNE["epochs"], finetune_lr=FINETUNE["lr"],
        patience=FINETUNE["patience"], seed=seed, latency_repeats=0)  # no latency: not shown

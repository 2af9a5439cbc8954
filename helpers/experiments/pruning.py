"""The experiments of :doc:`pruning`: seeds, sparsity grids, schedules and timings.

Introduced in :doc:`pruning`. Every experiment trains (or times) what the chapter
compares and returns plain results; the page draws the figures and turns the
comparisons into sentences with :func:`verdict`. The names of a comparison here are
language-neutral labels (:func:`label`): an i18n key and the fields of its text.

The digits MLP of every experiment is :func:`train_dense`; pruning followed by
fine-tuning with the masks held fixed is :func:`prune_and_finetune`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from .. import data as _data
from .. import metrics, models, prune, stats, structured, train
from ..device import get_device
from ..i18n import tr, verdict_name
from . import experiment

__all__ = ["SEEDS", "Run", "label", "text", "verdict", "verdicts", "per_seed_row",
           "train_dense", "prune_and_finetune", "dense_mlps", "accuracy_vs_sparsity",
           "ALLOCATIONS", "allocation_rules",
           "schedules", "neuron_removal", "channel_pruning", "hook_latency", "mlp_latency",
           "csr_sweep"]

#: The seeds of every comparison of the chapter.
SEEDS = (0, 1, 2, 3, 4)


class Run(NamedTuple):
    """One pruned and fine-tuned model: validation accuracy and test correctness.

    ``test_before`` and ``test_after`` are bool arrays of shape (test images,), True
    where the model classifies the image right, before and after fine-tuning.
    """

    model: nn.Module
    val_before: float
    val_after: float
    test_before: np.ndarray | None
    test_after: np.ndarray


# ------------------------------------------------------------------ names and verdicts


def label(key: str, **fields: Any) -> str:
    """A language-neutral name: an i18n key and the fields of its text, as JSON.

    >>> label("prune_c_pruned", p="90")
    '["prune_c_pruned", {"p": "90"}]'
    """
    return json.dumps([key, fields], ensure_ascii=False)


def text(name: str, lang: str, *, noun: bool = False) -> str:
    """The text in ``lang`` of a :func:`label` (or of a plain i18n key); with ``noun``,
    of its verdict name (:func:`helpers.i18n.verdict_name`)."""
    key, fields = json.loads(name) if name.startswith("[") else (name, {})
    return tr(verdict_name(key) if noun else key, lang).format(**fields)


def verdict(comparison: stats.Comparison, lang: str) -> str:
    """The verdict in ``lang`` of a comparison whose names are labels or i18n keys."""
    names = tuple(text(n, lang, noun=True) for n in comparison.names)
    return dataclasses.replace(comparison, names=names).verdict(lang)


def verdicts(comparisons: Mapping[str, stats.Comparison], lang: str) -> dict[str, str]:
    """:func:`verdict` of each comparison, keyed ``<key>_verdict`` (the glue names)."""
    return {f"{key}_verdict": verdict(c, lang) for key, c in comparisons.items()}


def per_seed_row(name: str, correct: np.ndarray) -> dict[str, str]:
    """A row of a per-seed table: each seed's test accuracy (%) and mean ± std.

    ``correct`` has shape (seeds, test images).
    """
    accuracies = correct.mean(axis=1)
    return {"model": name, "per_seed": " · ".join(f"{100 * a:.1f}" for a in accuracies),
            "mean_std": stats.format_mean_std(accuracies, scale=100)}


def _compare(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> stats.Comparison:
    return stats.compare_accuracy(a, b, names=names)


def _speedup(a: metrics.Latency, b: metrics.Latency,
             names: tuple[str, str]) -> stats.Comparison:
    return stats.latency_ratio(a.times_ms, b.times_ms, names=names)


# ----------------------------------------------------------------------- the MLP


@functools.lru_cache(maxsize=1)
def _digits() -> _data.ClassificationData:
    return _data.load_digits_split()


def train_dense(seed: int, *, epochs: int = 10, lr: float = 1e-2) -> nn.Module:
    """The digits MLP (64-300-100-10) trained from ``seed`` with Adam.

    Introduced in :doc:`pruning`, section *Magnitude pruning*.
    """
    train.seed_everything(seed)
    model = models.mlp([64, 300, 100, 10]).to(get_device())
    train.fit(model, _digits(), epochs=epochs, lr=lr, seed=seed, progress=False)
    return model


@functools.lru_cache(maxsize=4)
def _trained(seeds: tuple[int, ...]) -> dict[int, nn.Module]:
    return {seed: train_dense(seed) for seed in seeds}


def _denses(seeds: Sequence[int]) -> dict[int, nn.Module]:
    """The dense MLPs of ``seeds`` (trained once per process), as fresh copies."""
    return {s: copy.deepcopy(m) for s, m in _trained(tuple(seeds)).items()}


def prune_and_finetune(model: nn.Module, masks: Mapping[str, torch.Tensor], *,
                       epochs: int = 2, seed: int = 0) -> Run:
    """Prune a copy of ``model`` with ``masks`` and fine-tune it (Adam, lr 0.01).

    Introduced in :doc:`pruning`, section *Accuracy against sparsity*. The masks are
    re-applied after every step (:class:`helpers.prune.MaskEnforcer`).

    Returns
    -------
    Run
        The fine-tuned copy, its validation accuracy and test correctness before and
        after fine-tuning.
    """
    data = _digits()
    X_test, y_test = data.split("test")
    pruned = prune.apply_masks(copy.deepcopy(model), masks)
    val_before, test_before = (train.evaluate(pruned, data, "val"),
                               train.correct(pruned, X_test, y_test))
    train.fit(pruned, data, epochs=epochs, lr=1e-2, seed=seed,
              after_step=prune.MaskEnforcer(masks), keep_start=True, progress=False)
    return Run(pruned, val_before, train.evaluate(pruned, data, "val"), test_before,
               train.correct(pruned, X_test, y_test))


def _same_budget(denses: Mapping[int, nn.Module], epochs: int) -> dict[int, Run]:
    """The control: each dense network fine-tuned like the pruned ones (no mask)."""
    return {seed: prune_and_finetune(m, prune.layerwise_masks(m, 0.0), epochs=epochs,
                                     seed=seed) for seed, m in denses.items()}


def _test_rows(models_: Sequence[nn.Module], X: torch.Tensor | None = None) -> np.ndarray:
    """Which test images each model classifies right: shape (models, images)."""
    X_test, y_test = _digits().split("test")
    return np.stack([train.correct(m, X_test if X is None else X, y_test)
                     for m in models_])


@experiment(cost=2)
def dense_mlps(seeds: Sequence[int] = SEEDS) -> dict[int, nn.Module]:
    """The dense digits MLPs of the chapter, one per seed (:func:`train_dense`).

    Returns
    -------
    dict
        ``{seed: model}``.
    """
    return _denses(seeds)


# ------------------------------------------------------------ accuracy vs sparsity

_MASKS = {"prune_layerwise": lambda m, s, seed: prune.layerwise_masks(m, s),
          "prune_global": lambda m, s, seed: prune.global_masks(m, s),
          "prune_random": lambda m, s, seed: prune.random_masks(m, s, seed=seed)}


@dataclasses.dataclass(frozen=True)
class SparsityRuns:
    """What :func:`accuracy_vs_sparsity` returns (see there)."""

    runs: dict
    same_budget: dict
    dense_rows: np.ndarray
    dense_val: float
    same_budget_val: float
    hold: float
    chosen: float
    comparisons: dict

    def mean_val(self, method: str, sparsity: float, field: str = "val_after") -> float:
        """Validation accuracy of ``method`` at ``sparsity``, mean over the seeds."""
        seeds = sorted(self.same_budget)
        return float(np.mean([getattr(self.runs[method, sparsity, s], field)
                              for s in seeds]))

    def rows(self, method: str, sparsity: float, field: str = "test_after") -> np.ndarray:
        """Test correctness of ``method`` at ``sparsity``: shape (seeds, images)."""
        return np.stack([getattr(self.runs[method, sparsity, s], field)
                         for s in sorted(self.same_budget)])

    @property
    def budget_rows(self) -> np.ndarray:
        """Test correctness of the same-budget control: shape (seeds, images)."""
        return np.stack([self.same_budget[s].test_after
                         for s in sorted(self.same_budget)])


@experiment(cost=6)
def accuracy_vs_sparsity(sparsities: Sequence[float] = (0.5, 0.8, 0.9, 0.95, 0.98),
                         seeds: Sequence[int] = SEEDS, epochs: int = 2,
                         tol: float = 0.01) -> SparsityRuns:
    """Layer-wise, global and random masks at each sparsity, fine-tuned for ``epochs``.

    Section *Accuracy against sparsity*. Each dense MLP is pruned by each method at
    each sparsity and fine-tuned with its masks; the control is the dense network
    fine-tuned for the same epochs (masks that prune nothing).

    Returns
    -------
    SparsityRuns
        ``runs[method, sparsity, seed]`` and ``same_budget[seed]`` (:class:`Run`);
        ``dense_rows`` (seeds, test images); ``dense_val`` and ``same_budget_val``,
        mean validation accuracies; ``hold``, the largest sparsity whose layer-wise
        masks stay within ``tol`` of the dense network before fine-tuning;
        ``chosen``, the largest whose fine-tuned models stay within ``tol`` of the
        control (both on validation); ``comparisons``, :class:`helpers.stats.Comparison`
        by glue key: ``pr_chosen`` (against the control), ``pr_chosen_unequal`` and
        ``pr_budget_gain`` (against the dense network), and, when ``sparsities``
        holds 0.9 and 0.98, ``pr_l90_raw``, ``pr_l90_random`` and ``pr_g98``.
    """
    denses = _denses(seeds)
    runs = {(method, s, seed): prune_and_finetune(
                denses[seed], make(denses[seed], s, seed), epochs=epochs, seed=seed)
            for method, make in _MASKS.items() for s in sparsities for seed in seeds}
    same_budget = _same_budget(denses, epochs)
    data = _digits()
    dense_val = float(np.mean([train.evaluate(m, data, "val") for m in denses.values()]))
    same_budget_val = float(np.mean([r.val_after for r in same_budget.values()]))
    result = SparsityRuns(runs, same_budget, _test_rows(list(denses.values())), dense_val,
                          same_budget_val, 0.0, 0.0, {})
    before = {s: result.mean_val("prune_layerwise", s, "val_before") for s in sparsities}
    hold = max((s for s in sparsities if before[s] >= dense_val - tol), default=0.0)
    chosen = max((s for s in sparsities
                  if result.mean_val("prune_layerwise", s) >= same_budget_val - tol),
                 default=sparsities[0])
    budget = np.stack([r.test_after for r in same_budget.values()])
    pruned = label("prune_c_pruned", p=f"{100 * chosen:.0f}")
    chosen_rows = result.rows("prune_layerwise", chosen)
    comparisons = {
        "pr_chosen": _compare(chosen_rows, budget, (pruned, "prune_c_same_budget")),
        "pr_chosen_unequal": _compare(chosen_rows, result.dense_rows,
                                      (pruned, "prune_c_dense")),
        "pr_budget_gain": _compare(budget, result.dense_rows,
                                   ("prune_c_same_budget", "prune_c_dense"))}
    if 0.9 in sparsities:  # the examples of the text
        comparisons["pr_l90_raw"] = _compare(
            result.rows("prune_layerwise", 0.9, "test_before"), result.dense_rows,
            (label("prune_c_pruned_raw", p=90), "prune_c_dense"))
        comparisons["pr_l90_random"] = _compare(
            result.rows("prune_layerwise", 0.9), result.rows("prune_random", 0.9),
            ("prune_layerwise", "prune_random"))
    if 0.98 in sparsities:
        comparisons["pr_g98"] = _compare(result.rows("prune_global", 0.98),
                                         result.rows("prune_layerwise", 0.98),
                                         ("prune_global", "prune_layerwise"))
    return dataclasses.replace(result, hold=hold, chosen=chosen, comparisons=comparisons)


# --------------------------------------------------------------- allocation rules

#: The allocation rules of section *How much of each layer* and the method of
#: :func:`accuracy_vs_sparsity` that each of its rules equals (computed there once).
ALLOCATIONS = {"prune_layerwise": "uniform", "prune_global": "global", "prune_erk": "erk",
               "prune_lamp": "lamp"}


@dataclasses.dataclass(frozen=True)
class AllocationRuns:
    """What :func:`allocation_rules` returns (see there)."""

    runs: dict
    allocations: dict
    seeds: tuple
    comparisons: dict

    def rows(self, rule: str, sparsity: float) -> np.ndarray:
        """Test correctness of ``rule`` at ``sparsity`` after fine-tuning: (seeds, images)."""
        return np.stack([self.runs[rule, sparsity, s].test_after for s in self.seeds])

    def mean_val(self, rule: str, sparsity: float) -> float:
        """Validation accuracy after fine-tuning, mean over the seeds."""
        return float(np.mean([self.runs[rule, sparsity, s].val_after for s in self.seeds]))


@experiment(cost=4)
def allocation_rules(sparsities: Sequence[float] = (0.95, 0.98), seeds: Sequence[int] = SEEDS,
                     epochs: int = 2) -> AllocationRuns:
    """Uniform, global, ERK and LAMP allocations at equal overall sparsity, fine-tuned.

    Section *How much of each layer*. Each rule of :data:`ALLOCATIONS` gives each
    layer of the dense MLP its fraction (:mod:`helpers.allocation`), the layer's
    smallest weights go (:func:`helpers.prune.layerwise_masks`), and the network is
    fine-tuned for ``epochs`` as in :func:`accuracy_vs_sparsity`, whose uniform
    (layer-wise) and global runs at the same sparsities are reused, not recomputed.

    Returns
    -------
    AllocationRuns
        ``runs[rule, sparsity, seed]`` (:class:`Run`); ``allocations[rule,
        sparsity]``, the fractions of seed 0's network by layer; ``comparisons`` by
        glue key ``pr_alloc_<rule>_<%>``: each rule against uniform on the test split.
    """
    from .. import allocation

    seeds = tuple(seeds)
    shared = accuracy_vs_sparsity(seeds=seeds, epochs=epochs)
    denses = _denses(seeds)
    runs, allocations = {}, {}
    for rule, name in ALLOCATIONS.items():
        for s in sparsities:
            allocations[rule, s] = allocation.RULES[name](denses[seeds[0]], s)
            for seed in seeds:
                if (rule, s, seed) in shared.runs:
                    runs[rule, s, seed] = shared.runs[rule, s, seed]
                    continue
                amounts = allocation.RULES[name](denses[seed], s)
                runs[rule, s, seed] = prune_and_finetune(
                    denses[seed], prune.layerwise_masks(denses[seed], amounts),
                    epochs=epochs, seed=seed)
    result = AllocationRuns(runs, allocations, seeds, {})
    comparisons = {f"pr_alloc_{ALLOCATIONS[rule]}_{100 * s:.0f}": _compare(
                       result.rows(rule, s), result.rows("prune_layerwise", s),
                       (rule, "prune_layerwise"))
                   for rule in ALLOCATIONS if rule != "prune_layerwise" for s in sparsities}
    return dataclasses.replace(result, comparisons=comparisons)


# -------------------------------------------------------------------- schedules


@dataclasses.dataclass(frozen=True)
class Schedules:
    """What :func:`schedules` returns (see there)."""

    correct: dict
    steps: list
    trace: list
    gradual_sparsity: list
    comparisons: dict


@experiment(cost=16)
def schedules(targets: Sequence[float] = (0.95, 0.98), seeds: Sequence[int] = SEEDS,
              rounds: int = 4, round_epochs: int = 2, pruning_epochs: int = 6,
              finetune_epochs: int = 2, n_pruning_steps: int = 10,
              short_epochs: int = 2) -> Schedules:
    """One-shot, iterative and gradual pruning to each target, at the same total epochs.

    Section *Iterative pruning* and *Gradual pruning*. One-shot pruning fine-tunes for
    ``rounds · round_epochs`` epochs; the iterative loop prunes in ``rounds`` rounds,
    each keeping the same fraction of what the previous one left, and retrains for
    ``round_epochs`` after each; the gradual schedule (cubic, ``n_pruning_steps``
    steps) spends ``pruning_epochs`` raising the sparsity and ``finetune_epochs`` at
    the target. The fourth arm is one-shot pruning with ``short_epochs`` only.

    Returns
    -------
    Schedules
        ``correct[method, target]``: test correctness, shape (seeds, images), for
        ``prune_oneshot``, ``prune_iterative``, ``prune_oneshot_short`` and
        ``prune_gradual``; ``steps``, the iterative sparsities to the last target;
        ``trace``, its rounds for the first seed (:class:`helpers.prune.PruneRound`);
        ``gradual_sparsity``, the sparsity after each epoch of the last gradual run;
        ``comparisons`` by glue key (``prune_<method>_<target %>`` against one-shot,
        ``pr_iter_short_<target %>``: iterative against the short one-shot arm).
    """
    data = _digits()
    X_test, y_test = data.split("test")
    denses = _denses(seeds)
    correct, comparisons = {}, {}
    for target in targets:
        steps = [1 - (1 - target) ** (k / rounds) for k in range(1, rounds + 1)]
        oneshot, iterative, short = [], [], []
        for seed in seeds:
            model = denses[seed]
            oneshot.append(prune_and_finetune(model, prune.layerwise_masks(model, target),
                                              epochs=rounds * round_epochs,
                                              seed=seed).test_after)
            pruned = copy.deepcopy(model)
            trail = prune.iterative_prune(pruned, data, sparsities=steps,
                                          epochs=round_epochs, lr=1e-2, seed=seed).rounds
            iterative.append(train.correct(pruned, X_test, y_test))
            trace = trail if seed == seeds[0] else trace
            short.append(prune_and_finetune(model, prune.layerwise_masks(model, target),
                                            epochs=short_epochs, seed=seed).test_after)
        correct["prune_oneshot", target] = np.stack(oneshot)
        correct["prune_iterative", target] = np.stack(iterative)
        correct["prune_oneshot_short", target] = np.stack(short)
    for target in targets:
        gradual = []
        for seed in seeds:
            model = copy.deepcopy(denses[seed])
            g = prune.gradual_prune(model, data, final_sparsity=target,
                                    pruning_epochs=pruning_epochs,
                                    finetune_epochs=finetune_epochs,
                                    n_pruning_steps=n_pruning_steps, lr=1e-2, seed=seed)
            gradual.append(train.correct(model, X_test, y_test))
        correct["prune_gradual", target] = np.stack(gradual)
    for target in targets:
        t = f"{100 * target:.0f}"
        for method in ("prune_iterative", "prune_gradual", "prune_oneshot_short"):
            comparisons[f"{method}_{t}"] = _compare(correct[method, target],
                                                    correct["prune_oneshot", target],
                                                    (method, "prune_oneshot"))
        comparisons[f"pr_iter_short_{t}"] = _compare(
            correct["prune_iterative", target], correct["prune_oneshot_short", target],
            ("prune_iterative", "prune_oneshot_short"))
    return Schedules(correct, steps, trace, list(g.sparsity), comparisons)


# --------------------------------------------------------------- neuron removal


@dataclasses.dataclass(frozen=True)
class NeuronRemoval:
    """What :func:`neuron_removal` returns (see there)."""

    val: dict
    tuned_val: dict
    best: str
    raw: dict
    tuned_test: float
    chosen: float
    model: nn.Module
    rows: np.ndarray
    comparisons: dict


@experiment(cost=2)
def neuron_removal(removed: Sequence[float] = (0.25, 0.5, 0.75, 0.9),
                   criteria: Sequence[str] = ("l2", "l2_out", "activation", "taylor",
                                              "random"),
                   seeds: Sequence[int] = SEEDS, epochs: int = 2, inspect: float = 0.75,
                   tol: float = 0.01) -> NeuronRemoval:
    """Remove a fraction of both hidden layers' neurons by each criterion; fine-tune.

    Section *Physical removal*. The last criterion is the random baseline. The best
    criterion (validation accuracy without fine-tuning, mean over the fractions and
    the seeds) has its networks fine-tuned for ``epochs``. ``inspect`` is one of
    ``removed``, and ``criteria`` ends with ``"random"``.

    Returns
    -------
    NeuronRemoval
        ``val[criterion, fraction]`` and ``tuned_val[fraction]``, mean validation
        accuracies before and after fine-tuning; ``best``, the criterion; ``raw``,
        test correctness (seeds, images) at ``inspect`` before fine-tuning, of
        ``best`` and ``"random"``; ``tuned_test``, mean test accuracy of ``best`` at
        ``inspect`` after it; ``chosen``, the largest fraction whose fine-tuned models
        stay within ``tol`` of the same-budget control on validation, ``model`` its
        network of the first seed and ``rows`` its test correctness;
        ``comparisons``: ``pr_n75`` (best against random at ``inspect``) and
        ``pr_neuron`` (``chosen`` against the control).
    """
    data = _digits()
    X_train, y_train = data.split("train")
    denses = _denses(seeds)
    shrunk = {(c, a, seed): structured.prune_units(
                  denses[seed], a, criterion=c, X=X_train, y=y_train, seed=seed)
              for c in criteria for a in removed for seed in seeds}

    def mean(c, a, split="val"):
        return float(np.mean([train.evaluate(shrunk[c, a, s], data, split)
                              for s in seeds]))

    val = {(c, a): mean(c, a) for c in criteria for a in removed}
    best = max(criteria[:-1], key=lambda c: sum(val[c, a] for a in removed))
    raw = {c: _test_rows([shrunk[c, inspect, s] for s in seeds])
           for c in (best, "random")}
    tuned_val = {}
    for a in removed:
        for seed in seeds:
            train.fit(shrunk[best, a, seed], data, epochs=epochs, lr=1e-2, seed=seed,
                      keep_start=True, progress=False)
        tuned_val[a] = mean(best, a)
    control = _same_budget(denses, epochs)
    control_val = float(np.mean([r.val_after for r in control.values()]))
    chosen = max((a for a in removed if tuned_val[a] >= control_val - tol),
                 default=removed[0])
    rows = _test_rows([shrunk[best, chosen, s] for s in seeds])
    budget = np.stack([r.test_after for r in control.values()])
    comparisons = {
        "pr_n75": _compare(raw[best], raw["random"],
                           (f"prune_crit_{best}", "prune_crit_random")),
        "pr_neuron": _compare(rows, budget, (label("prune_c_neurons",
                                                    p=f"{100 * chosen:.0f}"),
                                              "prune_c_same_budget"))}
    return NeuronRemoval(val, tuned_val, best, raw, mean(best, inspect, "test"), chosen,
                         shrunk[best, chosen, seeds[0]], rows, comparisons)


# ------------------------------------------------------------- channel pruning


@dataclasses.dataclass(frozen=True)
class ChannelPruning:
    """What :func:`channel_pruning` returns (see there)."""

    cnns: dict
    runs: dict
    rows: dict
    dense_rows: np.ndarray
    dense_val: float
    comparisons: dict

    def mean_val(self, amount: float, field: str = "val_after") -> float:
        """Validation accuracy at ``amount`` (``field`` of the runs), mean over seeds."""
        return float(np.mean([getattr(run, field) for (a, _), run in self.runs.items()
                              if a == amount]))


@experiment(cost=13)
def channel_pruning(amounts: Sequence[float] = (0.0, 0.25, 0.5, 0.75),
                    seeds: Sequence[int] = SEEDS, widths: Sequence[int] = (16, 32),
                    epochs: int = 10, finetune_epochs: int = 3,
                    compared: float = 0.5) -> ChannelPruning:
    """Small CNNs on the 8×8 digits, with a fraction of their channels removed (L1).

    Section *Channel pruning of a CNN*. Each CNN is trained for ``epochs``, then for
    each amount its channels of lowest filter L1 norm are removed and it is
    fine-tuned for ``finetune_epochs``; amount 0 removes nothing (the control), and
    ``amounts`` holds it and ``compared``.

    Returns
    -------
    ChannelPruning
        ``cnns[seed]``, the dense CNNs; ``runs[amount, seed]`` (:class:`Run`, no
        ``test_before``); ``rows[amount]`` and ``dense_rows``, test correctness
        (seeds, images); ``dense_val``, mean validation accuracy of the dense CNNs;
        ``comparisons``: ``pr_cnn50`` (``compared`` against the control).
    """
    device = get_device()
    images = _digits().as_images(8, 8)
    X_test, y_test = images.split("test")
    cnns, runs = {}, {}
    for seed in seeds:
        train.seed_everything(seed)
        cnns[seed] = models.small_cnn(tuple(widths)).to(device)
        train.fit(cnns[seed], images, epochs=epochs, lr=1e-2, seed=seed, progress=False)
        for amount in amounts:
            slim = (structured.prune_units(cnns[seed], amount, criterion="l1") if amount
                    else copy.deepcopy(cnns[seed]))
            before = train.evaluate(slim, images, "val")
            train.fit(slim, images, epochs=finetune_epochs, lr=1e-2, seed=seed,
                      keep_start=True, progress=False)
            runs[amount, seed] = Run(slim, before, train.evaluate(slim, images, "val"),
                                     None, train.correct(slim, X_test, y_test))
    rows = {a: np.stack([runs[a, s].test_after for s in seeds]) for a in amounts}
    dense_val = float(np.mean([train.evaluate(m, images, "val") for m in cnns.values()]))
    comparisons = {"pr_cnn50": _compare(rows[compared], rows[0.0],
                                        (label("prune_m_cnn_pruned", amount=compared),
                                         "prune_m_cnn_same_budget"))}
    return ChannelPruning(cnns, runs, rows, _test_rows(list(cnns.values()), X_test),
                          dense_val, comparisons)


# ------------------------------------------------------------------- latency


def _timed(models_by_name: dict, x: torch.Tensor, number: int = 10) -> dict:
    """Ten interleaved rounds; in each, every model is timed once (``number`` calls)."""
    return metrics.compare_latency(models_by_name, x, rounds=10, repeats=1, warmup=2,
                                   number=number)


@experiment(cost=4, timed=True)
def hook_latency(amount: float = 0.9, seed: int = 0) -> stats.Comparison:
    """A copy of the dense MLP pruned by ``torch.nn.utils.prune``, hook attached, timed.

    Section *The same masks with torch.nn.utils.prune*: global L1 pruning of
    ``amount``, against the dense network, on the validation images.

    Returns
    -------
    helpers.stats.Comparison
        The speed-up of the hooked copy over the dense network.
    """
    from torch.nn.utils import prune as torch_prune

    dense = _denses((seed,))[seed]
    hooked = copy.deepcopy(dense)
    torch_prune.global_unstructured(
        [(hooked.get_submodule(n.rsplit(".", 1)[0]), "weight")
         for n in prune.prunable_parameters(dense)],
        pruning_method=torch_prune.L1Unstructured, amount=amount)
    X_val, _ = _digits().split("val")
    latency = _timed({"hooked": hooked, "dense": dense}, X_val, number=20)
    return _speedup(latency["hooked"], latency["dense"],
                    ("prune_torch_hooked", "prune_c_dense"))


@dataclasses.dataclass(frozen=True)
class MLPLatency:
    """What :func:`mlp_latency` returns (see there)."""

    macs: dict
    median_ms: dict
    macs_ratio: dict
    comparisons: dict


@experiment(cost=2, timed=True)
def mlp_latency(sizes: Sequence[int] = (784, 300, 100, 10), batch: int = 256,
                sparsity: float = 0.9, removed: Sequence[float] = (0.5, 0.75, 0.9),
                compared: Sequence[float] = (0.5, 0.9), seed: int = 0) -> MLPLatency:
    """Latency of an MLP of random weights: dense, sparse (dense and CSR kernels), slim.

    Section *Does pruning make the network faster?* The variants: the dense network,
    ``sparsity`` of each layer's weights zeroed and run by the dense kernel or by CSR
    kernels, and networks with the ``removed`` fractions of their hidden neurons
    removed; ten interleaved rounds.

    Returns
    -------
    MLPLatency
        By variant name (an i18n key or :func:`label`): ``macs`` (effective, one
        example) and ``median_ms`` (one batch); ``macs_ratio[fraction]``, for each
        ``compared`` fraction, the dense MACs over those with ``fraction`` of the
        neurons removed; ``comparisons``:
        ``pr_speed_unstructured``, ``pr_speed_csr`` and ``pr_speed_neurons_<%>``
        against the dense network.
    """
    train.seed_everything(seed)
    big = models.mlp(list(sizes)).eval()
    x = torch.randn(batch, sizes[0])
    sparse = prune.apply_masks(copy.deepcopy(big), prune.layerwise_masks(big, sparsity))
    variants = {"dense": (big, big), "prune_v_unstructured": (sparse, sparse),
                "prune_v_csr": (prune.to_sparse_csr(sparse), sparse)}
    for amount in removed:
        variants[label("prune_v_neurons", amount=amount)] = (
            structured.prune_units(big, amount),) * 2
    latency = _timed({name: model for name, (model, _) in variants.items()}, x)
    macs = {name: metrics.macs(counted, (sizes[0],), effective=True)
            for name, (_, counted) in variants.items()}
    neurons = {a: label("prune_v_neurons", amount=a) for a in compared}
    compared = {"pr_speed_unstructured": "prune_v_unstructured",
                "pr_speed_csr": "prune_v_csr",
                **{f"pr_speed_neurons_{int(100 * a)}": n for a, n in neurons.items()}}
    return MLPLatency(
        macs, {name: lat.median_ms for name, lat in latency.items()},
        {a: macs["dense"] / macs[n] for a, n in neurons.items()},
        {key: _speedup(latency[name], latency["dense"], (name, "dense"))
         for key, name in compared.items()})


@dataclasses.dataclass(frozen=True)
class CSRSweep:
    """What :func:`csr_sweep` returns (see there)."""

    dense_ms: dict
    csr_ms: dict
    wins_from: float | None
    comparisons: dict


@experiment(cost=7, timed=True)
def csr_sweep(sparsities: Sequence[float] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99),
              shape: tuple[int, int] = (300, 784), batch: int = 256,
              seed: int = 0) -> CSRSweep:
    """One Linear layer of ``shape`` at each sparsity: dense kernel against CSR.

    Section *Does pruning make the network faster?*; ten interleaved rounds.

    Returns
    -------
    CSRSweep
        ``dense_ms[sparsity]`` and ``csr_ms[sparsity]``, median times of one batch;
        ``wins_from``, the smallest sparsity from which on CSR is detectably faster
        at every sparsity measured (None if none); ``comparisons``:
        ``pr_csr_<%>``, CSR against dense at each sparsity.
    """
    train.seed_everything(seed)
    x = torch.randn(batch, shape[1])
    layers = {}
    for s in sparsities:
        layer = nn.Linear(shape[1], shape[0])
        prune.apply_masks(layer, prune.layerwise_masks(layer, s))
        layers["dense", s], layers["csr", s] = layer, prune.CSRLinear(layer)
    latency = _timed(layers, x)
    comparisons = {s: _speedup(latency["csr", s], latency["dense", s],
                               ("prune_csr_kernel", "prune_dense_kernel"))
                   for s in sparsities}
    wins = [s for s in sparsities
            if all(comparisons[t].favours_a for t in sparsities if t >= s)]
    return CSRSweep({s: latency["dense", s].median_ms for s in sparsities},
                    {s: latency["csr", s].median_ms for s in sparsities},
                    wins[0] if wins else None,
                    {f"pr_csr_{100 * s:.0f}": c for s, c in comparisons.items()})

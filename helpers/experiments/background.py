"""The experiments of the chapter :doc:`background`.

The running example (the MLP 64-300-100-10 on the 8×8 digits) trained with five seeds,
its 90 % pruned and fine-tuned copies and the dense controls of equal budget
(:func:`training_runs`), and the latency of the baseline, a pruned copy and an int8
copy measured in interleaved rounds (:func:`speed`).

The comparisons returned are named with :func:`helpers.i18n.tr` keys (``"bg_baseline"``,
``"bg_judge_pruned"``...): the page translates the names into its language before it
writes a verdict.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from torch import nn

from .. import data as _data
from .. import metrics, models, prune, quant, stats, train
from ..device import get_device
from . import experiment

__all__ = ["Runs", "Speed", "speed", "training_runs"]

#: The running example's layer sizes and training: 30 epochs of Adam, best validation
#: epoch kept; the pruned copies and the dense controls train 10 more epochs.
SIZES = (64, 300, 100, 10)
EPOCHS, FINETUNE_EPOCHS, LR = 30, 10, 1e-3


def _baseline(data, seed: int) -> tuple[nn.Module, train.History]:
    """The running example trained with ``seed`` (initial weights and example order)."""
    train.seed_everything(seed)
    net = models.mlp(list(SIZES)).to(get_device())
    history = train.fit(net, data, epochs=EPOCHS, lr=LR, seed=seed, progress=False)
    return net, history


def _prune_and_finetune(net: nn.Module, data, seed: int, amount: float) -> nn.Module:
    """Zero the ``amount`` smallest weights (one global threshold), then fine-tune."""
    pruned = copy.deepcopy(net)
    masks = prune.global_masks(pruned, amount)
    prune.apply_masks(pruned, masks)
    train.fit(pruned, data, epochs=FINETUNE_EPOCHS, lr=LR, seed=seed,
              after_step=prune.MaskEnforcer(masks), keep_start=True, progress=False)
    return pruned


def _same_budget(net: nn.Module, data, seed: int) -> nn.Module:
    """The dense control: the same extra epochs at the same learning rate."""
    dense = copy.deepcopy(net)
    train.fit(dense, data, epochs=FINETUNE_EPOCHS, lr=LR, seed=seed, keep_start=True,
              progress=False)
    return dense


@dataclass(frozen=True)
class Runs:
    """What :func:`training_runs` returns (one entry per seed in each tuple).

    Attributes
    ----------
    baselines, pruned, dense : tuple of nn.Module
        The trained baselines, their pruned and fine-tuned copies, and the dense
        controls trained for the same extra epochs.
    histories : tuple of helpers.train.History
        The baselines' training histories.
    baseline_accuracy : tuple of float
        Test accuracy of each baseline (``helpers.train.evaluate``).
    correct : dict of str to ndarray
        ``"baseline"``, ``"dense"``, ``"pruned"``: per-example test correctness, bool
        arrays of shape ``(n_seeds, n_test)``.
    pruned_vs_dense, dense_vs_baseline : helpers.stats.Comparison
        Over seeds and test digits (``helpers.stats.compare_accuracy``).
    one_seed : helpers.stats.Comparison
        The pruned model against the dense control with the first seed alone
        (``helpers.stats.mcnemar``).
    """

    baselines: tuple[nn.Module, ...]
    histories: tuple[train.History, ...]
    pruned: tuple[nn.Module, ...]
    dense: tuple[nn.Module, ...]
    baseline_accuracy: tuple[float, ...]
    correct: dict[str, np.ndarray]
    pruned_vs_dense: stats.Comparison
    dense_vs_baseline: stats.Comparison
    one_seed: stats.Comparison


@experiment(cost=12)
def training_runs(seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
                  amount: float = 0.9) -> Runs:
    """Train the baseline, its pruned copy and the dense control of equal budget.

    Introduced in :doc:`background`, sections *Measuring the baseline*, *Storage
    formats* and *Judging a compression claim*. For each seed: the MLP 64-300-100-10
    trained for 30 epochs of Adam (lr 1e-3), the weights of the best validation epoch
    kept; a copy with the ``amount`` smallest-magnitude weights zeroed (one global
    threshold) and fine-tuned for 10 epochs with the zeros kept; and a dense copy
    trained for the same 10 epochs.

    Parameters
    ----------
    seeds : tuple of int
        The training seeds (initial weights and order of the examples).
    amount : float
        Fraction of the weights zeroed, in [0, 1).

    Returns
    -------
    Runs
        The networks, the baselines' histories and test accuracies, the per-example
        correctness on the test digits and the comparisons, named with the
        :func:`helpers.i18n.tr` keys ``"bg_judge_pruned"``, ``"bg_judge_dense"`` and
        ``"bg_judge_baseline"``.
    """
    digits = _data.load_digits_split()
    X_test, y_test = digits.split("test")
    baselines, histories = zip(*(_baseline(digits, seed) for seed in seeds))
    pruned = tuple(_prune_and_finetune(net, digits, seed, amount)
                   for net, seed in zip(baselines, seeds))
    dense = tuple(_same_budget(net, digits, seed)
                  for net, seed in zip(baselines, seeds))
    correct = {key: np.stack([train.correct(net, X_test, y_test) for net in nets])
               for key, nets in (("baseline", baselines), ("dense", dense),
                                 ("pruned", pruned))}
    names = {key: f"bg_judge_{key}" for key in correct}
    return Runs(
        baselines, histories, pruned, dense,
        tuple(train.evaluate(net, digits, "test") for net in baselines), correct,
        stats.compare_accuracy(correct["pruned"], correct["dense"],
                               names=(names["pruned"], names["dense"])),
        stats.compare_accuracy(correct["dense"], correct["baseline"],
                               names=(names["dense"], names["baseline"])),
        stats.mcnemar(correct["pruned"][0], correct["dense"][0],
                      names=(names["pruned"], names["dense"])))


@dataclass(frozen=True)
class Speed:
    """What :func:`speed` returns.

    Attributes
    ----------
    one_digit, test_split : dict of str to helpers.metrics.Latency
        ``"bg_baseline"``, ``"bg_pruned"``, ``"bg_int8"``: the latency of one test digit
        and of the whole test split.
    int8_one, int8_split, pruned_split : helpers.stats.Comparison
        Speed-ups over the baseline (``helpers.stats.latency_ratio``): of the int8
        model for one digit and for the test split, of the pruned one for the split.
    """

    one_digit: dict[str, metrics.Latency]
    test_split: dict[str, metrics.Latency]
    int8_one: stats.Comparison
    int8_split: stats.Comparison
    pruned_split: stats.Comparison


@experiment(cost=15, timed=True)
def speed(rounds: int = 5, repeats: int = 10) -> Speed:
    """Time the baseline, its 90 % pruned copy and its dynamic int8 copy, interleaved.

    Introduced in :doc:`background`, section *Storage, arithmetic and time move
    differently*. The networks of the first seed of :func:`training_runs`; the int8
    copy is ``helpers.quant.dynamic_quantize`` of the baseline. One CPU thread, in
    ``rounds`` rounds that alternate the three models
    (``helpers.metrics.compare_latency``), each with ``repeats`` timed repeats of 20
    calls (one digit) or 5 calls (the whole test split).

    Parameters
    ----------
    rounds, repeats : int
        Rounds of alternation, and timed repeats per model and round.

    Returns
    -------
    Speed
        The latencies and the speed-ups over the baseline, named with the
        :func:`helpers.i18n.tr` keys of the three models.
    """
    runs = training_runs()
    X_test, _ = _data.load_digits_split().split("test")
    nets = {"bg_baseline": runs.baselines[0], "bg_pruned": runs.pruned[0],
            "bg_int8": quant.dynamic_quantize(runs.baselines[0])}
    timing = dict(rounds=rounds, repeats=repeats, threads=1)
    one = metrics.compare_latency(nets, X_test[:1], number=20, **timing)
    split = metrics.compare_latency(nets, X_test, number=5, **timing)

    def ratio(latency, key):
        return stats.latency_ratio(latency[key].times_ms,
                                   latency["bg_baseline"].times_ms,
                                   names=(key, "bg_baseline"))

    return Speed(one, split, ratio(one, "bg_int8"), ratio(split, "bg_int8"),
                 ratio(split, "bg_pruned"))

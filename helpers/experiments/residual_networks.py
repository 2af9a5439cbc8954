"""The experiments of the chapter :doc:`residual-networks`.

A small residual CNN trained on the 8×8 digits with five seeds
(:func:`trained_networks`), the speed-up of its group-pruned copies timed against it
in interleaved rounds (:func:`speedups`), and the accuracy of a pruned copy right
after removal, after BatchNorm recalibration and after fine-tuning at the same budget
as the dense network (:func:`finetuning`).

The comparisons returned are named with :func:`helpers.i18n.tr` keys (``"res_pruned"``,
``"prune_c_dense"``): the page translates the names into its language before it
writes a verdict.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from torch import nn

from .. import data as _data
from .. import dependency, metrics, models, stats, train
from ..device import get_device
from . import experiment

__all__ = ["SEEDS", "CHANNELS", "BLOCKS", "AMOUNT", "TRAIN", "FINETUNE", "Trained",
           "Speedups", "Finetuned", "trained_networks", "speedups", "finetuning"]

#: The training seeds (initial weights and order of the examples).
SEEDS = (0, 1, 2, 3, 4)
#: The residual stream's channels and the number of residual blocks.
CHANNELS, BLOCKS = 32, 2
#: The fraction of every group's channels removed in the chapter's main example.
AMOUNT = 0.5
#: Training (long enough that validation accuracy has levelled off, about 98 %), and
#: fine-tuning after pruning (for the dense control too): SGD.
TRAIN = dict(epochs=16, lr=0.05, batch_size=128, optimizer="sgd", progress=False)
FINETUNE = dict(epochs=8, lr=0.02, batch_size=128, optimizer="sgd", progress=False)
#: Speed-ups and fine-tuning compare with these names (``helpers.i18n`` keys).
_NAMES = ("res_pruned", "prune_c_dense")


def _images():
    return _data.load_digits_split().as_images(8, 8)


@dataclass(frozen=True)
class Trained:
    """What :func:`trained_networks` returns.

    Attributes
    ----------
    nets : tuple of nn.Module
        One trained network per seed, in evaluation mode.
    val_accuracy : tuple of float
        Their validation accuracies.
    """

    nets: tuple[nn.Module, ...]
    val_accuracy: tuple[float, ...]


@experiment(cost=30)
def trained_networks(seeds: tuple[int, ...] = SEEDS, channels: int = CHANNELS,
                     blocks: int = BLOCKS) -> Trained:
    """Train ``helpers.models.residual_cnn(channels, blocks)`` once per seed.

    Introduced in :doc:`residual-networks`, section *A small residual network*. The
    seed fixes the initial weights and the order of the examples; training is
    :data:`TRAIN` (16 epochs of SGD, the best validation epoch kept).

    Returns
    -------
    Trained
        The networks and their validation accuracies.
    """
    images = _images()
    nets = []
    for seed in seeds:
        train.seed_everything(seed)
        model = models.residual_cnn(channels, blocks).to(get_device())
        train.fit(model, images, seed=seed, **TRAIN)
        nets.append(model.eval())
    return Trained(tuple(nets), tuple(train.evaluate(m, images, "val") for m in nets))


@dataclass(frozen=True)
class Speedups:
    """What :func:`speedups` returns; dicts are keyed by the amount removed.

    Attributes
    ----------
    dense_macs : int
        MACs per image of the dense network.
    mac_ratio : dict of float to float
        Dense MACs over pruned MACs.
    speedup : dict of float to helpers.stats.Comparison
        Speed-up of the pruned network over the dense one, with its interval over
        rounds (``helpers.stats.latency_ratio``), named ``("res_pruned",
        "prune_c_dense")``.
    """

    dense_macs: int
    mac_ratio: dict[float, float]
    speedup: dict[float, stats.Comparison]


@experiment(cost=10, timed=True)
def speedups(amounts: tuple[float, ...] = (0.25, 0.5, 0.75), rounds: int = 7,
             repeats: int = 5, batch: int = 64) -> Speedups:
    """Time the first seed's network pruned at ``amounts`` against the dense one.

    Introduced in :doc:`residual-networks`, section *What the smaller network gains*.
    The network is the first of :func:`trained_networks` (its default arguments).
    Each pruned copy removes that fraction of every group's channels
    (``helpers.dependency.prune_groups``). The forward pass of ``batch`` test images
    is timed on one CPU thread, all models in turn in each of ``rounds`` rounds
    (``helpers.metrics.compare_latency``, ``repeats`` repeats per round); the
    speed-up compares the per-round medians.

    Returns
    -------
    Speedups
        The MAC ratios and the measured speed-ups.
    """
    net = trained_networks().nets[0]
    pruned = {a: dependency.prune_groups(net, a) for a in amounts}
    dense_macs = metrics.macs(net, (1, 8, 8))
    mac_ratio = {a: dense_macs / metrics.macs(m, (1, 8, 8)) for a, m in pruned.items()}
    timed = metrics.compare_latency({"dense": net, **pruned}, _images().X_test[:batch],
                                    rounds=rounds, repeats=repeats, warmup=3)
    per_round = {k: np.median(np.reshape(v.times_ms, (rounds, repeats)), axis=1)
                 for k, v in timed.items()}
    return Speedups(dense_macs, mac_ratio, {
        a: stats.latency_ratio(per_round[a], per_round["dense"], names=_NAMES)
        for a in amounts})


@dataclass(frozen=True)
class Finetuned:
    """What :func:`finetuning` returns.

    Attributes
    ----------
    correct : dict of str to ndarray
        ``"dense"`` (fine-tuned), ``"pruned_raw"`` (right after removal),
        ``"pruned_recal"`` (its BatchNorm statistics recomputed, no gradient step),
        ``"pruned"`` (recalibrated, then fine-tuned): per-example test correctness,
        bool arrays of shape ``(n_seeds, n_test)``.
    raw_classes : tuple of int
        For each seed, how many different classes the pruned network predicts on
        the test images right after removal (1: every image in one class).
    versus : helpers.stats.Comparison
        The fine-tuned pruned network against the fine-tuned dense one, over seeds and
        test images (``helpers.stats.compare_accuracy``), named ``("res_pruned",
        "prune_c_dense")``.
    """

    correct: dict[str, np.ndarray]
    versus: stats.Comparison
    raw_classes: tuple[int, ...]


@experiment(cost=45)
def finetuning(amount: float = AMOUNT) -> Finetuned:
    """Fine-tune the pruned networks and the dense ones for the same epochs.

    Introduced in :doc:`residual-networks`, section *What the smaller network gains*.
    For each network of :func:`trained_networks` (its default arguments): remove
    ``amount`` of every group's channels (``helpers.dependency.prune_groups``),
    recompute the pruned copy's BatchNorm statistics on the training images
    (``helpers.train.recalibrate_batchnorm``), then train it and a dense copy with
    :data:`FINETUNE` (seed 100 + the training seed; both keep their starting weights
    if no epoch beats them on validation).

    Returns
    -------
    Finetuned
        Per-example test correctness and the comparison at an equal budget.
    """
    images = _images()

    def finetuned(model, seed):
        model = copy.deepcopy(model)
        train.fit(model, images, seed=100 + seed, keep_start=True, **FINETUNE)
        return model.eval()

    correct = {"dense": [], "pruned_raw": [], "pruned_recal": [], "pruned": []}
    classes = []
    for seed, model in zip(SEEDS, trained_networks().nets):
        small = dependency.prune_groups(model, amount)
        classes.append(len(train.predictions(small, images.X_test).unique()))
        recal = train.recalibrate_batchnorm(copy.deepcopy(small), images).eval()
        for key, m in (("dense", finetuned(model, seed)), ("pruned_raw", small),
                       ("pruned_recal", recal), ("pruned", finetuned(recal, seed))):
            correct[key].append(train.correct(m, images.X_test, images.y_test))
    correct = {key: np.stack(rows) for key, rows in correct.items()}
    versus = stats.compare_accuracy(correct["pruned"], correct["dense"], names=_NAMES)
    return Finetuned(correct, versus, tuple(classes))

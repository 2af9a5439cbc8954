"""The experiments of the chapter :doc:`sparse-training`.

Every experiment trains the digits MLP (64-300-100-10) with Adam (learning rate 0.01,
batches of 64, :data:`EPOCHS` epochs, the best validation epoch kept) from the
initial weights of each of :data:`SEEDS`, and compares the arms on the test images
with :func:`helpers.stats.compare_accuracy` (seeds and images paired):

* :func:`lottery_tickets`: iterative magnitude pruning with rewinding; each round's
  mask trained from the weights of epoch 1 (rewinding), from the initial weights (the
  original lottery ticket), from new random weights, and a random mask of the same
  layer densities from the initial weights, all at the same total epochs;
* :func:`pruning_at_init`: SNIP, GraSP and SynFlow masks of the untrained network,
  each against the same mask shuffled within every layer, and random pruning;
* :func:`sparse_from_scratch`: dense-to-sparse (gradual magnitude pruning from the
  initial weights) against sparse-to-sparse training (a fixed random mask, SET, RigL),
  at the same epochs and at the same training cost (:func:`helpers.sparse_training.
  training_cost`);
* :func:`movement_transfer`: a network trained on the digits 0–4, fine-tuned on 5–9,
  pruned by movement or by magnitude, then trained again for the same epochs.

The arms are named with :func:`helpers.i18n.tr` keys (``"st_rewind"``, …): the page
translates the names into its language before it writes a verdict.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import data as _data
from .. import models, prune, stats, train
from .. import sparse_training as sparse
from ..device import get_device
from . import experiment

__all__ = ["SEEDS", "SIZES", "EPOCHS", "FIT", "MARGIN", "Dense", "dense_networks",
           "TICKET_ARMS", "AT_INIT", "SCRATCH_ARMS", "MOVEMENT_ARMS", "PRETRAINED",
           "Tickets", "lottery_tickets",
           "AtInit", "pruning_at_init", "FromScratch", "sparse_from_scratch", "Movement",
           "movement_transfer", "network", "split_classes"]

#: The seeds: initial weights and order of the examples.
SEEDS = (0, 1, 2, 3, 4)
#: The network's layer sizes (LeNet-300-100 on 8×8 images).
SIZES = (64, 300, 100, 10)
#: Epochs of every training run (the dense network's too).
EPOCHS = 8
#: The optimiser of every run (``helpers.train.fit``'s arguments).
FIT = dict(lr=1e-2, batch_size=64, progress=False)
#: The equivalence margin, in percentage points of test accuracy.
MARGIN = 1.0


@functools.lru_cache(maxsize=1)
def _digits() -> _data.ClassificationData:
    return _data.load_digits_split()


def network(seed: int) -> nn.Module:
    """The untrained MLP of ``seed`` (its initial weights), on the book's device."""
    train.seed_everything(seed)
    return models.mlp(list(SIZES)).to(get_device())


def _steps_per_epoch(data: _data.ClassificationData) -> int:
    return len(data.loader("train", FIT["batch_size"]))


def _fit(model, data, epochs, seed, hooks=()):
    train.fit(model, data, epochs=epochs, seed=seed, after_step=list(hooks), **FIT)
    return model.eval()


def _sparse_fit(model, masks, data, epochs, seed):
    """Train ``model`` with ``masks`` applied and re-applied after every step."""
    prune.apply_masks(model, masks)
    return _fit(model, data, epochs, seed, [prune.MaskEnforcer(masks)])


def _correct(model, data) -> np.ndarray:
    return train.correct(model, *data.split("test"))


def _compare(correct, a, b) -> stats.Comparison:
    return stats.compare_accuracy(correct[a], correct[b], names=(a, b))


def _no_worse(correct, a, b) -> stats.Equivalence:
    """A no more than MARGIN worse than B (one-sided test at 5%, a 90% interval)."""
    return stats.equivalence(stats.compare_accuracy(correct[a], correct[b], names=(a, b),
                                                    confidence=0.90), MARGIN,
                             non_inferiority=True)


# ----------------------------------------------------------------- dense networks

@dataclass(frozen=True)
class Dense:
    """What :func:`dense_networks` returns; tuples have one entry per seed.

    Attributes
    ----------
    init : tuple of dict
        The initial weights (``state_dict``).
    early : tuple of dict
        The weights after ``rewind_step`` optimiser steps.
    nets : tuple of nn.Module
        The trained networks (:data:`EPOCHS` epochs, best validation epoch).
    correct : ndarray
        Their test correctness, bool, shape (seeds, images).
    rewind_step : int
        The step of ``early`` (the end of the first epoch).
    """

    init: tuple
    early: tuple
    nets: tuple
    correct: np.ndarray
    rewind_step: int


@experiment(cost=2)
def dense_networks(seeds: tuple[int, ...] = SEEDS, rewind_epochs: int = 1) -> Dense:
    """The dense MLP of every seed, with its initial weights and those of epoch 1.

    Introduced in :doc:`sparse-training`, section *Lottery tickets and rewinding*: the
    dense baseline of every section, and the weights a ticket is reset to
    (:class:`helpers.sparse_training.RewindPoint`).
    """
    data = _digits()
    step = rewind_epochs * _steps_per_epoch(data)
    init, early, nets = [], [], []
    for seed in seeds:
        net = network(seed)
        init.append(sparse.RewindPoint.capture(net).state)
        point = sparse.RewindPoint(step)
        nets.append(_fit(net, data, EPOCHS, seed, [point]))
        early.append(point.state)
    return Dense(tuple(init), tuple(early), tuple(nets),
                 np.stack([_correct(n, data) for n in nets]), step)


# ----------------------------------------------------------------- lottery tickets

#: The arms of :func:`lottery_tickets` (``helpers.i18n`` keys).
TICKET_ARMS = ("st_rewind", "st_init", "st_reinit", "pipe_random")


@dataclass(frozen=True)
class Tickets:
    """What :func:`lottery_tickets` returns.

    Attributes
    ----------
    sparsities : tuple of float
        The sparsity of each round's masks.
    correct : dict
        ``(arm, sparsity)`` → test correctness, bool array (seeds, images); arms
        :data:`TICKET_ARMS`; ``("dense", 0.0)``: the dense network.
    comparisons : dict
        ``"<arm>_<sparsity ‰>"`` → :class:`helpers.stats.Comparison` of the rewound
        ticket against ``arm`` (``init``, ``reinit``, ``random``) and
        ``"dense_<sparsity ‰>"`` of the rewound ticket against the dense network.

    The step rewound to is :func:`dense_networks`' ``rewind_step``.
    """

    sparsities: tuple[float, ...]
    correct: dict
    comparisons: dict


@experiment(cost=10)
def lottery_tickets(rounds: int = 3, keep: float = 0.3, rewind_epochs: int = 1,
                    seeds: tuple[int, ...] = SEEDS) -> Tickets:
    """Iterative magnitude pruning with rewinding, and the tickets' three controls.

    Introduced in :doc:`sparse-training`, section *Lottery tickets and rewinding*. For
    each seed the dense network is trained for :data:`EPOCHS` epochs, its weights at
    the end of epoch ``rewind_epochs`` kept (:class:`helpers.sparse_training.
    RewindPoint`). Each of ``rounds`` rounds keeps the fraction ``keep`` of every
    layer's remaining weights by magnitude (Frankle & Carbin's layer-wise pruning) and
    trains that mask four ways, each for ``EPOCHS`` epochs in all (the dense networks
    and their stored weights: :func:`dense_networks`):

    * ``st_rewind``: from the stored weights of epoch ``rewind_epochs``, for the
      remaining ``EPOCHS − rewind_epochs`` epochs (Frankle et al., ICML 2020); the
      next round prunes this network;
    * ``st_init``: from the initial weights (Frankle & Carbin, ICLR 2019);
    * ``st_reinit``: from new random weights (seed 1000 + seed);
    * ``pipe_random``: a random mask with the same density per layer, from the
      initial weights.

    Returns
    -------
    Tickets
    """
    data = _digits()
    dense = dense_networks(seeds, rewind_epochs)
    rows = {}
    sparsities = tuple(1 - keep ** r for r in range(1, rounds + 1))
    for i, seed in enumerate(seeds):
        net = dense.nets[i]
        ticket = net
        for s in sparsities:
            masks = prune.layerwise_masks(ticket, s)
            random = prune.random_masks(net, s, seed=seed)
            arms = {  # the network to train, its mask and its epochs
                "st_rewind": (sparse.rewind(copy.deepcopy(net), dense.early[i]), masks,
                              EPOCHS - rewind_epochs),
                "st_init": (sparse.rewind(copy.deepcopy(net), dense.init[i]), masks, EPOCHS),
                "st_reinit": (network(1000 + seed), masks, EPOCHS),
                "pipe_random": (sparse.rewind(copy.deepcopy(net), dense.init[i]), random,
                                EPOCHS)}
            for arm, (model, m, epochs) in arms.items():
                trained = _sparse_fit(model, m, data, epochs, seed)
                rows.setdefault((arm, s), []).append(_correct(trained, data))
                if arm == "st_rewind":
                    ticket = trained  # the next round prunes the trained ticket
    correct = {key: np.stack(r) for key, r in rows.items()} | {("dense", 0.0): dense.correct}
    comparisons = {}
    for s in sparsities:
        per = {arm: correct[arm, s] for arm in TICKET_ARMS} | {"dense": correct["dense", 0.0]}
        for other, key in (("st_init", "init"), ("st_reinit", "reinit"),
                           ("pipe_random", "random"), ("dense", "dense")):
            comparisons[f"{key}_{1000 * s:.0f}"] = _compare(per, "st_rewind", other)
    return Tickets(sparsities, correct, comparisons)


# ------------------------------------------------------------- pruning at initialisation

#: The criteria of :func:`pruning_at_init` (``helpers.i18n`` keys).
AT_INIT = ("st_snip", "st_grasp", "st_synflow")


def _at_init_masks(method: str, net: nn.Module, data, sparsity: float):
    X, y = data.split("train")
    if method == "st_snip":
        return sparse.score_masks(sparse.snip_scores(net, X, y), sparsity)
    if method == "st_grasp":
        return sparse.score_masks(sparse.grasp_scores(net, X, y), sparsity)
    return sparse.synflow_masks(net, sparsity, (SIZES[0],))


@dataclass(frozen=True)
class AtInit:
    """What :func:`pruning_at_init` returns.

    Attributes
    ----------
    correct : dict
        ``(arm, sparsity)`` → test correctness (seeds, images); arms: each of
        :data:`AT_INIT`, the same followed by ``"_shuffled"``, and ``"pipe_random"``;
        ``("dense", 0.0)``.
    densities : dict
        ``(method, sparsity)`` → the density of each layer in the first seed's masks.
    shuffled : dict
        ``"<method>_<sparsity ‰>"`` → the method against its shuffled masks
        (:class:`helpers.stats.Comparison`);
    no_worse : dict
        The same pairs the other way round, as :class:`helpers.stats.Equivalence`:
        are the shuffled masks no more than :data:`MARGIN` worse (non-inferiority,
        Frankle et al.'s "preserves or improves")?
    random : dict
        ``"<method>_<sparsity ‰>"`` → the method against random pruning.
    """

    correct: dict
    densities: dict
    shuffled: dict
    no_worse: dict
    random: dict


@experiment(cost=15)
def pruning_at_init(sparsities: tuple[float, ...] = (0.9, 0.98),
                    seeds: tuple[int, ...] = SEEDS) -> AtInit:
    """SNIP, GraSP and SynFlow before training, against their masks shuffled per layer.

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. For each
    seed and sparsity, every method scores the untrained network (SNIP and GraSP on
    the whole training split as one batch; SynFlow without data, 100 rounds) and keeps
    the highest scores over all layers (one global threshold, as the papers do); its
    shuffled copy keeps the same number of weights in each layer at random positions
    (:func:`helpers.sparse_training.shuffle_masks`, Frankle et al., ICLR 2021). Random
    pruning keeps the same fraction of every layer. Every mask is trained from the
    initial weights for :data:`EPOCHS` epochs.

    Returns
    -------
    AtInit
    """
    data = _digits()
    rows, densities = {}, {}
    for seed in seeds:
        net = network(seed)
        start = sparse.RewindPoint.capture(net)
        for s in sparsities:
            arms = {}
            for method in AT_INIT:
                masks = _at_init_masks(method, net, data, s)
                arms[method] = masks
                arms[f"{method}_shuffled"] = sparse.shuffle_masks(masks, seed=seed)
                if seed == seeds[0]:
                    densities[method, s] = [float(m.mean()) for m in masks.values()]
            arms["pipe_random"] = prune.random_masks(net, s, seed=seed)
            for arm, masks in arms.items():
                model = sparse.rewind(copy.deepcopy(net), start)
                rows.setdefault((arm, s), []).append(
                    _correct(_sparse_fit(model, masks, data, EPOCHS, seed), data))
    correct = {key: np.stack(r) for key, r in rows.items()}
    correct["dense", 0.0] = dense_networks(seeds).correct
    shuffled, no_worse, random = {}, {}, {}
    for s in sparsities:
        for method in AT_INIT:
            key = f"{method.removeprefix('st_')}_{1000 * s:.0f}"
            per = {method: correct[method, s], "st_shuffled": correct[f"{method}_shuffled", s],
                   "pipe_random": correct["pipe_random", s]}
            shuffled[key] = _compare(per, method, "st_shuffled")
            no_worse[key] = _no_worse(per, "st_shuffled", method)
            random[key] = _compare(per, method, "pipe_random")
    return AtInit(correct, densities, shuffled, no_worse, random)


# ------------------------------------------------------------ sparse training from scratch

#: The arms of :func:`sparse_from_scratch` (``helpers.i18n`` keys).
SCRATCH_ARMS = ("st_gradual", "st_static", "st_set", "st_rigl")


@dataclass(frozen=True)
class FromScratch:
    """What :func:`sparse_from_scratch` returns.

    Attributes
    ----------
    sparsity : float
        The final sparsity of every arm.
    epochs : dict
        ``(arm, budget)`` → epochs trained; budget ``"epochs"`` (:data:`EPOCHS` each)
        or ``"cost"`` (as many epochs as the gradual run's cost allows).
    cost : dict
        ``(arm, budget)`` → training cost in dense epochs
        (:func:`helpers.sparse_training.training_cost`, the first seed's run).
    correct : dict
        ``(arm, budget)`` → test correctness (seeds, images); ``("dense", "epochs")``.
    changed : dict
        ``(arm, budget)`` → the weights of the trained network (the epoch
        :func:`helpers.train.fit` kept) outside the starting mask, as a fraction of the
        weights kept (first seed).
    nonzero : dict
        ``(arm, budget)`` → fraction of the prunable weights nonzero in that network
        (first seed): ``1 − sparsity`` or less, for every arm.
    comparisons : dict
        ``"<arm>_<budget>"`` → the arm against gradual pruning.
    """

    sparsity: float
    epochs: dict
    cost: dict
    correct: dict
    changed: dict
    nonzero: dict
    comparisons: dict


def _cubic_densities(sparsity, pruning_epochs, epochs, steps, n_pruning_steps):
    """The density of every step of :func:`helpers.prune.gradual_prune`'s schedule."""
    frequency = pruning_epochs * steps // n_pruning_steps
    return [1 - prune.cubic_schedule(t - 1, sparsity, n_pruning_steps=n_pruning_steps,
                                     frequency=frequency) for t in range(1, epochs * steps + 1)]


@experiment(cost=18)
def sparse_from_scratch(sparsity: float = 0.95, pruning_epochs: int = 4,
                        n_pruning_steps: int = 10, update_every: int = 10,
                        drop_fraction: float = 0.3,
                        seeds: tuple[int, ...] = SEEDS) -> FromScratch:
    """Dense-to-sparse against sparse-to-sparse training, at equal epochs and cost.

    Introduced in :doc:`sparse-training`, section *Sparse training from scratch*. From
    each seed's initial weights:

    * ``st_gradual``: gradual magnitude pruning (:func:`helpers.prune.gradual_prune`,
      Zhu & Gupta's cubic schedule in ``n_pruning_steps`` steps over
      ``pruning_epochs`` epochs, then the rest of :data:`EPOCHS` at ``sparsity``);
    * ``st_static``: a random mask of ``sparsity`` in every layer, fixed;
    * ``st_set``, ``st_rigl``: the same starting mask, rewired every
      ``update_every`` steps until 75% of training (RigL's ``T_end``), dropping a
      fraction ``drop_fraction`` decaying on a cosine
      (:class:`helpers.sparse_training.DynamicSparsity`).

    The sparse arms train twice: for :data:`EPOCHS` epochs (``"epochs"``), and for as
    many epochs as the gradual run's training cost pays at their density
    (``"cost"``; :func:`helpers.sparse_training.training_cost`, RigL's dense
    gradients included).

    Returns
    -------
    FromScratch
    """
    data = _digits()
    steps = _steps_per_epoch(data)
    gradual = sparse.training_cost(_cubic_densities(sparsity, pruning_epochs, EPOCHS,
                                                    steps, n_pruning_steps)) / steps
    per_epoch = (1 - sparsity)  # the cost of an epoch at the final density
    epochs = {("st_gradual", "epochs"): EPOCHS, ("dense", "epochs"): EPOCHS}
    for arm in ("st_static", "st_set", "st_rigl"):
        epochs[arm, "epochs"] = EPOCHS
        n = math.floor(gradual / per_epoch)
        while arm == "st_rigl" and _rigl_cost(n, steps, sparsity, update_every) > gradual:
            n -= 1  # RigL's dense gradients cost a little more than a sparse step
        epochs[arm, "cost"] = n
    rows, cost, changed, nonzero = {}, {}, {}, {}
    for seed in seeds:
        net = network(seed)
        model = copy.deepcopy(net)
        prune.gradual_prune(model, data, final_sparsity=sparsity,
                            pruning_epochs=pruning_epochs,
                            finetune_epochs=EPOCHS - pruning_epochs,
                            n_pruning_steps=n_pruning_steps, lr=FIT["lr"], seed=seed)
        rows.setdefault(("st_gradual", "epochs"), []).append(_correct(model.eval(), data))
        start = prune.random_masks(net, sparsity, seed=seed)
        for (arm, budget), n in epochs.items():
            if arm in ("dense", "st_gradual"):
                continue
            hooks = [] if arm == "st_static" else [sparse.DynamicSparsity(
                start, method=arm.removeprefix("st_"), update_every=update_every,
                end_step=int(0.75 * n * steps), drop_fraction=drop_fraction, seed=seed)]
            # a dynamic hook applies its own, moving masks; the fixed mask its enforcer
            model = prune.apply_masks(copy.deepcopy(net), start)
            model = _fit(model, data, n, seed, hooks or [prune.MaskEnforcer(start)])
            rows.setdefault((arm, budget), []).append(_correct(model, data))
            if seed == seeds[0]:
                at = [u["step"] for u in hooks[0].updates] if hooks else []
                cost[arm, budget] = sparse.training_cost([per_epoch] * (n * steps),
                                                         dense_gradient_at=at
                                                         if arm == "st_rigl" else ()) / steps
                weights = prune.prunable_parameters(model)  # the kept (best) epoch's
                nonzero[arm, budget] = float(sum(int(w.count_nonzero()) for w in
                                                 weights.values())
                                             / sum(w.numel() for w in weights.values()))
                changed[arm, budget] = float(sum(
                    int(((w != 0) & (start[k] == 0)).sum()) for k, w in weights.items())
                    / sum(start[k].sum() for k in start))
    cost["st_gradual", "epochs"], cost["dense", "epochs"] = gradual, float(EPOCHS)
    correct = {key: np.stack(r) for key, r in rows.items()}
    correct["dense", "epochs"] = dense_networks(seeds).correct
    comparisons = {f"{arm.removeprefix('st_')}_{budget}": stats.compare_accuracy(
        correct[arm, budget], correct["st_gradual", "epochs"], names=(arm, "st_gradual"))
        for arm, budget in correct if arm not in ("st_gradual", "dense")}
    comparisons["gradual_dense"] = stats.compare_accuracy(
        correct["st_gradual", "epochs"], correct["dense", "epochs"],
        names=("st_gradual", "dense"))
    return FromScratch(sparsity, epochs, cost, correct, changed, nonzero, comparisons)


def _rigl_cost(epochs: int, steps: int, sparsity: float, update_every: int) -> float:
    """RigL's cost in dense epochs: its updates every ``update_every`` steps before
    75% of training compute the dense gradient."""
    total, end = epochs * steps, int(0.75 * epochs * steps)
    at = [t for t in range(update_every, end, update_every)]
    return sparse.training_cost([1 - sparsity] * total, dense_gradient_at=at) / steps


# ------------------------------------------------------------------ movement pruning

def split_classes(data: _data.ClassificationData, classes) -> _data.ClassificationData:
    """The examples of ``classes`` only, in every split (labels unchanged)."""
    keep = torch.tensor(sorted(classes))
    parts = {}
    for split in ("train", "val", "test"):
        X, y = data.split(split)
        rows = torch.isin(y, keep)
        parts[f"X_{split}"], parts[f"y_{split}"] = X[rows], y[rows]
    return _data.ClassificationData(**parts, name=f"{data.name} {keep.tolist()}",
                                    n_classes=data.n_classes)


#: The pretrained layers that :func:`movement_transfer` prunes (not the new head).
PRETRAINED = ("0.weight", "2.weight")
#: The arms of :func:`movement_transfer` (``helpers.i18n`` keys).
MOVEMENT_ARMS = ("st_movement", "pipe_magnitude", "pipe_random")


@dataclass(frozen=True)
class Movement:
    """What :func:`movement_transfer` returns.

    Attributes
    ----------
    sparsities : tuple of float
        The sparsities pruned.
    correct : dict
        ``(arm, sparsity)`` → test correctness on the digits 5–9 (seeds, images);
        ``("st_finetuned", 0.0)``: the fine-tuned dense network.
    overlap : dict
        ``sparsity`` → fraction of the weights kept by movement that magnitude keeps
        too (mean over seeds).
    moved : float
        Mean relative change of the pretrained layers' weights during fine-tuning,
        ‖ΔW‖ / ‖W‖ (over the two layers and the seeds).
    comparisons : dict
        ``"<arm>_<sparsity ‰>"`` → movement against ``arm`` (``magnitude``,
        ``random``).
    """

    sparsities: tuple[float, ...]
    correct: dict
    overlap: dict
    moved: float
    comparisons: dict


@experiment(cost=2)
def movement_transfer(sparsities: tuple[float, ...] = (0.9, 0.97), finetune_epochs: int = 5,
                      finetune_lr: float = 1e-3, retrain_epochs: int = 2,
                      seeds: tuple[int, ...] = SEEDS) -> Movement:
    """Movement against magnitude pruning when a pretrained network is fine-tuned.

    Introduced in :doc:`sparse-training`, section *Movement pruning*. For each seed the
    network is trained on the digits 0–4 (:data:`EPOCHS` epochs); its last layer is
    replaced by a new one (seed 2000 + seed) and the whole network fine-tuned on 5–9
    for ``finetune_epochs`` epochs at ``finetune_lr`` while
    :class:`helpers.sparse_training.MovementScores` accumulates ``−∂L/∂W ⊙ W`` over
    the two pretrained layers (:data:`PRETRAINED`). These are pruned to each sparsity
    (one threshold over both, the new head kept whole) by movement, by magnitude, or
    at random with magnitude's density per layer
    (:func:`helpers.sparse_training.shuffle_masks`), and each is trained again with its
    mask for ``retrain_epochs`` epochs at ``finetune_lr``.

    Returns
    -------
    Movement
    """
    digits = _digits()
    first, second = split_classes(digits, range(5)), split_classes(digits, range(5, 10))
    rows, overlap, moved = {}, {s: [] for s in sparsities}, []
    tune = dict(FIT, lr=finetune_lr)
    for seed in seeds:
        net = _fit(network(seed), first, EPOCHS, seed)
        torch.manual_seed(2000 + seed)
        net[-1] = nn.Linear(SIZES[-2], SIZES[-1]).to(get_device())  # a new head
        before = {k: v.detach().clone()
                  for k, v in prune.prunable_parameters(net, PRETRAINED).items()}
        scores = sparse.MovementScores(net, PRETRAINED)
        train.fit(net, second, epochs=finetune_epochs, seed=seed, after_step=scores, **tune)
        net.eval()
        moved += [float((p.detach() - before[k]).norm() / before[k].norm())
                  for k, p in prune.prunable_parameters(net, PRETRAINED).items()]
        rows.setdefault(("st_finetuned", 0.0), []).append(_correct(net, second))
        for s in sparsities:
            magnitude = prune.global_masks(net, s, names=PRETRAINED)
            arms = {"st_movement": sparse.movement_masks(scores, s),
                    "pipe_magnitude": magnitude,
                    "pipe_random": sparse.shuffle_masks(magnitude, seed=seed)}
            kept = arms["st_movement"]
            overlap[s].append(float(sum((kept[k] * magnitude[k]).sum() for k in kept)
                                    / sum(kept[k].sum() for k in kept)))
            for arm, masks in arms.items():
                model = prune.apply_masks(copy.deepcopy(net), masks)
                train.fit(model, second, epochs=retrain_epochs, seed=seed, keep_start=True,
                          after_step=prune.MaskEnforcer(masks), **tune)
                rows.setdefault((arm, s), []).append(_correct(model.eval(), second))
    correct = {key: np.stack(r) for key, r in rows.items()}
    comparisons = {f"{other.removeprefix('pipe_')}_{1000 * s:.0f}": stats.compare_accuracy(
        correct["st_movement", s], correct[other, s], names=("st_movement", other))
        for s in sparsities for other in ("pipe_magnitude", "pipe_random")}
    return Movement(sparsities, correct, {s: float(np.mean(v)) for s, v in overlap.items()},
                    float(np.mean(moved)), comparisons)

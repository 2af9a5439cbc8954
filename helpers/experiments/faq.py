"""The experiments of the FAQ chapter: its networks, seed loops and comparisons.

Introduced in :doc:`faq`. Every network is LeNet-300-100 on the digits, trained with one
SGD recipe (:data:`SGD`) from explicit seeds; the comparisons are over the seeds
:data:`SEEDS` and the test images (:func:`helpers.stats.compare_accuracy`). A
comparison's ``names`` are keys of :mod:`helpers.i18n`, read in a page's language with
:meth:`helpers.stats.Comparison.named`.

The networks several sections share (:func:`networks`, :func:`l1_networks`,
:func:`exact_zeros`) are trained once per process even without the on-disk cache.
"""

from __future__ import annotations

import copy
import functools
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .. import (distill, l1, metrics, models, pipeline, prune, quant, stats, structured,
               train)
from ..data import ClassificationData, load_digits_split
from ..device import get_device
from . import experiment

__all__ = ["SEEDS", "SGD", "Networks", "networks", "compression", "l1_networks",
           "l1_then_prune", "latency", "sensitivity", "exact_zeros", "noise_robustness",
           "distillation", "nm_versus_unstructured"]

#: The seeds every comparison of the chapter is repeated with.
SEEDS = (0, 1, 2, 3, 4)

#: The training recipe of every network of the chapter (:func:`helpers.train.fit`).
SGD = MappingProxyType(dict(optimizer="sgd", lr=0.05, epochs=15, progress=False))

SIZES = (64, 300, 100, 10)  # LeNet-300-100 on the 8×8 digits


@functools.lru_cache(maxsize=1)
def _digits() -> ClassificationData:
    """The digits' splits, loaded once per process (nothing here changes them)."""
    return load_digits_split()


def _mlp(sizes, seed: int) -> nn.Module:
    train.seed_everything(seed)
    return models.mlp(list(sizes)).to(get_device())


def _train_mlp(data: ClassificationData, seed: int, **options) -> nn.Module:
    """LeNet-300-100 trained from ``seed`` with the chapter's recipe."""
    model = _mlp(SIZES, seed)
    train.fit(model, data, seed=seed, **{**SGD, **options})
    return model


def _correct(models_, X, y) -> np.ndarray:
    """Which images each model classifies right: shape (models, images)."""
    return np.stack([train.correct(m, X, y) for m in models_])


def _test_correct(models_) -> np.ndarray:
    return _correct(models_, *_digits().split("test"))


# ------------------------------------------------------------------ Q2: the networks

class Networks(NamedTuple):
    """Per seed: the dense teacher, its pruned and fine-tuned copy, the control."""

    teachers: tuple[nn.Module, ...]
    pruned: tuple[nn.Module, ...]
    budget: tuple[nn.Module, ...]


@functools.lru_cache(maxsize=4)
def _networks(seeds, amount, finetune_epochs) -> Networks:
    data = _digits()
    teachers, pruned, budget = [], [], []
    for seed in seeds:
        teachers.append(_train_mlp(data, seed))
        # prune `amount` and fine-tune; the control prunes 0% with the same epochs
        for share, store in ((amount, pruned), (0.0, budget)):
            model = copy.deepcopy(teachers[-1])
            masks = prune.layerwise_masks(model, share)
            prune.apply_masks(model, masks)
            train.fit(model, data, seed=seed, after_step=prune.MaskEnforcer(masks),
                      keep_start=True, **{**SGD, "epochs": finetune_epochs})
            store.append(model)
    return Networks(tuple(teachers), tuple(pruned), tuple(budget))


@experiment(cost=2)
def networks(seeds: tuple = SEEDS, amount: float = 0.9,
             finetune_epochs: int = 10) -> Networks:
    """Train a teacher per seed, prune ``amount`` of each layer and fine-tune it.

    The control, the teacher fine-tuned for the same epochs with nothing pruned, has
    the same training budget as the pruned network.

    Returns
    -------
    Networks
        ``teachers``, ``pruned`` and ``budget``: one trained model per seed each.
    """
    return _networks(tuple(seeds), amount, finetune_epochs)


@experiment(cost=1)
def compression(bits: int = 8) -> dict:
    """Q2's comparisons over the seeds: pruned against its controls, and quantised.

    Returns
    -------
    dict
        ``accuracy``: test accuracy per seed of ``"dense"``, ``"pruned"`` and
        ``"budget"`` (arrays); ``comparisons``, by glue name:
        ``"faq_q2_pruned_verdict"`` (pruned against the dense network of equal budget),
        ``"faq_q2_unequal_verdict"`` (against the teacher) and ``"faq_q2_int8_verdict"``
        (the pruned networks quantised to ``bits``, against themselves unquantised).
    """
    nets = networks()
    rows = {key: _test_correct(getattr(nets, field)) for key, field
            in [("dense", "teachers"), ("pruned", "pruned"), ("budget", "budget")]}
    quantised = _test_correct(quant.quantize_model_weights(m, bits=bits)
                              for m in nets.pruned)
    compare = stats.compare_accuracy
    return {"accuracy": {key: r.mean(axis=1) for key, r in rows.items()},
            "comparisons": {
                "faq_q2_pruned_verdict": compare(rows["pruned"], rows["budget"],
                                         names=("faq_pruned", "faq_dense_budget")),
                "faq_q2_unequal_verdict": compare(rows["pruned"], rows["dense"],
                                          names=("faq_pruned", "faq_dense")),
                "faq_q2_int8_verdict": compare(quantised, rows["pruned"],
                                       names=("faq_pruned_int8", "faq_pruned"))}}


# ------------------------------------------------------------------ Q3: L1, then prune

@functools.lru_cache(maxsize=4)
def _l1_networks(seeds, strength) -> tuple[nn.Module, ...]:
    data = _digits()
    return tuple(_train_mlp(data, seed, penalty=lambda m: l1.l1_penalty(m, strength))
                 for seed in seeds)


@experiment(cost=2)
def l1_networks(seeds: tuple = SEEDS, strength: float = 3e-3) -> tuple[nn.Module, ...]:
    """The teachers of :func:`networks` trained again with ``strength · Σ|w|`` added.

    Returns
    -------
    tuple of nn.Module
        One trained model per seed.
    """
    return _l1_networks(tuple(seeds), strength)


@experiment(cost=1)
def l1_then_prune(strength: float = 3e-3, amount: float = 0.9) -> dict:
    """Prune ``amount`` of each layer of the plain and the L1-trained networks.

    Returns
    -------
    dict
        ``dense`` and ``pruned``: mean test accuracy over the seeds of ``"plain"`` and
        ``"l1"`` (dicts of floats), the first unpruned, the second pruned without
        fine-tuning; ``comparisons``: ``"faq_q3_verdict"``, L1 against plain, both
        pruned; ``strength``.
    """
    by_key = {"plain": networks().teachers, "l1": l1_networks(strength=strength)}
    dense = {key: float(_test_correct(ms).mean()) for key, ms in by_key.items()}
    rows = {key: _test_correct(pipeline.prune_copy(m, amount) for m in ms)
            for key, ms in by_key.items()}
    comparison = stats.compare_accuracy(rows["l1"], rows["plain"],
                                        names=("faq_l1_penalty", "faq_plain"))
    return {"strength": strength, "dense": dense,
            "pruned": {key: float(r.mean()) for key, r in rows.items()},
            "comparisons": {"faq_q3_verdict": comparison}}


# ------------------------------------------------------------------ speed

@experiment(cost=3, timed=True)
def latency(width: int = 1024, batch_size: int = 64, amount: float = 0.9,
            rounds: int = 20, seed: int = 0) -> dict:
    """Time a dense layer, the layer with ``amount`` of its weights zeroed, and slimmed.

    A ``width``-``width``-10 MLP, the same with the weights of its first layer masked,
    and a smaller copy without ``amount`` of its hidden neurons, timed on a batch in
    ``rounds`` interleaved rounds (:func:`helpers.metrics.compare_latency`).

    Returns
    -------
    dict
        ``models`` (``{key: model}``, dense first) and ``batch``; ``rows``: per model
        its nonzero weights, MACs, effective MACs, median and IQR time (ms);
        ``comparisons``: ``"faq_layer_masked_verdict"`` and
        ``"faq_layer_slim_verdict"``, the speed-ups of the masked and the slim layer
        over the dense one.
    """
    train.seed_everything(seed)
    wide = models.mlp([width, width, 10])
    batch = torch.randn(batch_size, width)
    masked = copy.deepcopy(wide)
    prune.apply_masks(masked, prune.layerwise_masks(masked, amount, names=["0.weight"]))
    layers = {"faq_layer_dense": wide, "faq_layer_masked": masked,
              "faq_layer_slim": structured.prune_units(wide, amount)}
    times = metrics.compare_latency(layers, batch, rounds=rounds, repeats=1, warmup=3,
                                    number=5)
    rows = [{"model": key, "nonzero": metrics.count_nonzero(model),
             "macs": metrics.macs(model, (width,)),
             "faq_effective_macs": metrics.macs(model, (width,), effective=True),
             "latency_ms": times[key].median_ms, "iqr_ms": times[key].iqr_ms}
            for key, model in layers.items()]
    dense = times["faq_layer_dense"].times_ms
    comparisons = {f"{key}_verdict": stats.latency_ratio(
        times[key].times_ms, dense, names=(key, "faq_layer_dense"))
        for key in ("faq_layer_masked", "faq_layer_slim")}
    return {"models": layers, "batch": batch, "rows": rows, "comparisons": comparisons}


# ------------------------------------------------------------------ choosing sparsity

@experiment(cost=1)
def sensitivity(amounts: tuple = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98),
                tolerance: float = 0.01, finetune_epochs: int = 10) -> dict:
    """Scan the layers of the seed-0 teacher, prune each as allowed, and fine-tune.

    Each layer gets the largest of ``amounts`` whose validation accuracy (that layer
    alone pruned, no fine-tuning) is at most ``tolerance`` below the teacher's.

    Returns
    -------
    dict
        ``amounts``, ``tolerance``, ``scan`` (layer → validation accuracies at
        ``amounts``), ``baseline`` (the teacher's), ``chosen`` (layer → amount), and
        after fine-tuning the ``sparsity`` of the masks and the ``val`` and ``test``
        accuracies.
    """
    data = _digits()
    teacher = networks().teachers[0]
    scan = prune.sensitivity_scan(teacher, data, list(amounts))  # validation split
    baseline = train.evaluate(teacher, data, "val")
    floor = baseline - tolerance
    chosen = {name: max([a for a, acc in zip(amounts, accs) if acc >= floor],
                        default=0.0) for name, accs in scan.items()}
    tuned = copy.deepcopy(teacher)
    masks = prune.layerwise_masks(tuned, chosen)
    prune.apply_masks(tuned, masks)
    train.fit(tuned, data, after_step=prune.MaskEnforcer(masks), keep_start=True,
              **{**SGD, "epochs": finetune_epochs})
    return {"amounts": amounts, "tolerance": tolerance, "scan": scan,
            "baseline": baseline, "chosen": chosen,
            "sparsity": prune.masks_sparsity(masks),
            "val": train.evaluate(tuned, data, "val"),
            "test": train.evaluate(tuned, data, "test")}


# ------------------------------------------------------------------ exact zeros

def _weights(model: nn.Module) -> torch.Tensor:
    """All weights of the Linear layers of ``model`` as one vector (biases excluded)."""
    return torch.cat([p.detach().flatten()
                      for p in prune.prunable_parameters(model).values()])


@functools.lru_cache(maxsize=4)
def _exact_zeros(strength, threshold) -> dict:
    data = _digits()
    proximal = _mlp(SIZES, 0)
    train.fit(proximal, data, after_step=l1.ProximalL1(strength, SGD["lr"]), **SGD)
    l1_model = l1_networks(strength=strength)[0]
    thresholded = copy.deepcopy(l1_model)
    l1.prox_l1_step(thresholded, threshold)  # one soft-thresholding step after training
    return {"proximal": proximal, "subgradient_weights": _weights(l1_model),
            "proximal_weights": _weights(proximal),
            "thresholded_zeros": float((_weights(thresholded) == 0).float().mean()),
            "proximal_accuracy": train.evaluate(proximal, data, "test"),
            "thresholded_accuracy": train.evaluate(thresholded, data, "test")}


@experiment(cost=1)
def exact_zeros(strength: float = 3e-3, threshold: float = 1e-3) -> dict:
    """Seed 0 trained with a proximal L1 step, and the L1 network soft-thresholded once.

    Returns
    -------
    dict
        ``proximal``: the network trained with :class:`helpers.l1.ProximalL1`;
        ``subgradient_weights`` and ``proximal_weights``: the weights of the L1 network
        of :func:`l1_networks` (seed 0) and of ``proximal`` as vectors;
        ``thresholded_zeros``: the share of exact zeros after one soft-thresholding
        step at ``threshold``; ``proximal_accuracy`` and ``thresholded_accuracy``:
        test accuracies.
    """
    return _exact_zeros(strength, threshold)


# ------------------------------------------------------------------ robustness

@experiment(cost=1)
def noise_robustness(sigmas: tuple = (0.0, 0.5, 1.0), seed: int = 0) -> dict:
    """Test accuracy under Gaussian noise added to the standardised test images.

    Returns
    -------
    dict
        ``rows``: per model (the seed-0 teacher, pruned and proximal networks) the
        accuracy in % at each ``sigma`` (keys ``faq_noise_0``, ``faq_noise_05``, ...);
        ``comparisons``: ``"faq_robust_verdict"``, pruned against its dense control
        over the seeds at σ = 1.
    """
    X_test, y_test = _digits().split("test")
    noise = torch.randn(X_test.shape, generator=torch.Generator().manual_seed(seed))
    nets = networks()
    rows = []
    for key, model in [("faq_dense", nets.teachers[0]), ("faq_pruned", nets.pruned[0]),
                       ("faq_proximal", exact_zeros()["proximal"])]:
        row = {"model": key}
        for sigma in sigmas:
            acc = train.accuracy(model, X_test + sigma * noise, y_test)
            row[f"faq_noise_{sigma:g}".replace(".", "")] = 100 * acc
        rows.append(row)
    noisy = X_test + noise
    comparison = stats.compare_accuracy(_correct(nets.pruned, noisy, y_test),
                                        _correct(nets.budget, noisy, y_test),
                                        names=("faq_pruned", "faq_dense_budget"))
    return {"rows": rows, "comparisons": {"faq_robust_verdict": comparison}}


# ------------------------------------------------------------------ distillation

@experiment(cost=3)
def distillation(temperature: float = 4.0, alpha: float = 0.9) -> dict:
    """Students with the nonzero parameters of the pruned teacher, alone and distilled.

    Per seed, a 64-h-10 student is trained alone and with the seed-0 teacher
    (:func:`helpers.distill.fit_student`), h chosen so that it has as many parameters
    as the 90%-pruned teacher has nonzero ones.

    Returns
    -------
    dict
        ``width`` (h); ``parameters`` and ``accuracy`` (test, per seed) of
        ``"faq_dense"``, ``"faq_pruned"``, ``"faq_scratch"`` and ``"faq_distilled"``;
        ``comparisons``: ``"faq_kd_verdict"`` (distilled against alone) and
        ``"faq_kd_pruned_verdict"`` (pruned against distilled).
    """
    data = _digits()
    nets = networks()
    teacher = nets.teachers[0]
    budget = metrics.count_nonzero(nets.pruned[0])
    width = round((budget - 10) / 75)  # a 64-h-10 MLP has 64h + h + 10h + 10 parameters
    students = {"faq_scratch": [], "faq_distilled": []}
    for seed in SEEDS:
        for key, trained in students.items():
            student = _mlp((64, width, 10), seed)
            if key == "faq_scratch":
                train.fit(student, data, seed=seed, **SGD)
            else:
                distill.fit_student(student, teacher, data, temperature=temperature,
                                    alpha=alpha, seed=seed, **SGD)
            trained.append(student)
    rows = {key: _test_correct(trained) for key, trained in students.items()}
    rows.update(faq_dense=_test_correct(nets.teachers),
                faq_pruned=_test_correct(nets.pruned))
    size = metrics.count_parameters(student)
    parameters = {"faq_dense": metrics.count_nonzero(teacher), "faq_pruned": budget,
                  "faq_scratch": size, "faq_distilled": size}
    compare = stats.compare_accuracy
    comparisons = {f"{a}_verdict": compare(rows[x], rows[y], names=(x, y))
                   for a, x, y in [("faq_kd", "faq_distilled", "faq_scratch"),
                                   ("faq_kd_pruned", "faq_pruned", "faq_distilled")]}
    return {"width": width, "parameters": parameters,
            "accuracy": {key: r.mean(axis=1) for key, r in rows.items()},
            "comparisons": comparisons}


# ------------------------------------------------------------------ N:M sparsity

@experiment(cost=1)
def nm_versus_unstructured(n: int = 2, m: int = 4, amount: float = 0.5) -> dict:
    """N:M masks against unstructured magnitude pruning of ``amount`` of each layer.

    Both applied to each seed's teacher, without fine-tuning.

    Returns
    -------
    dict
        ``comparisons``: ``"faq_nm_verdict"``, N:M against unstructured over the seeds
        and test images (named by the i18n keys of 2:4 and 50%).
    """
    teachers = networks().teachers
    nm_models = []
    for model in teachers:
        nm_model = copy.deepcopy(model)
        nm_models.append(prune.apply_masks(nm_model, prune.nm_masks(nm_model, n, m)))
    unstructured = _test_correct(pipeline.prune_copy(t, amount) for t in teachers)
    comparison = stats.compare_accuracy(_test_correct(nm_models), unstructured,
                                        names=("faq_nm_24", "faq_unstructured50"))
    return {"comparisons": {"faq_nm_verdict": comparison}}

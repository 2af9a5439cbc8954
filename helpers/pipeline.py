"""The combined pipeline: train with a regulariser → prune → fine-tune → quantise.

Introduced in :doc:`pipeline`. Every step is a function of another module; this module
only chains them and measures the result, so that each variant of the chapter's
experiment is one call and one table row:

``train_model``
    train a fresh network with no regulariser, proximal L1 on the weights, L2 (weight
    decay), or L1 on the BatchNorm scale factors (Network Slimming);
``prune_copy`` / :func:`helpers.structured.slim_channels`
    the pruning step alone: layer-wise magnitude masks, or physical removal of the
    channels with the smallest BatchNorm scales (Network Slimming, with the other
    channel methods in :mod:`helpers.structured`; ``pipeline.slim_channels`` is the
    same function);
``prune_finetune`` / ``slim_finetune``
    the same, each followed by fine-tuning; accuracy is recorded right after pruning
    and after fine-tuning;
``summarise``
    int8 quantisation of the weights, then accuracy, nonzero parameters, storage in
    bytes, MACs and measured latency;
``run_pipeline``
    all of the above, one row (the stages chained: ``pipeline_stages``);
``choose_largest_within``, ``choose_strength``
    choosing a level, or a regulariser's strength, on the validation split (results
    over seeds are reported with :func:`helpers.stats.format_mean_std`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real

import torch
from torch import nn

from ._checks import (
    check_fraction, check_model, check_nonnegative, check_plain_weights, check_positive_int,
    checked,
)
from .data import ClassificationData, check_data
from .device import get_device
from .l1 import ProximalL1, l1_penalty
from .metrics import (
    compression_ratio, count_nonzero, count_parameters, macs, measure_latency, storage_bytes,
)
from .prune import CRITERIA as prune_criteria
from .prune import MaskEnforcer, apply_masks, global_masks, layerwise_masks, masks_sparsity
from .quant import quantize_model_weights
from .structured import _scored_layers, slim_channels
from .train import History, evaluate, fit, seed_everything

__all__ = ["REGULARISERS", "MASK_CRITERIA", "CSR_BITS", "PruneResult", "batchnorm_scales",
           "train_model", "prune_copy", "prune_finetune", "slim_finetune",
           "storage_scheme", "summarise", "run_pipeline", "pipeline_stages",
           "choose_largest_within", "StrengthSearch", "choose_strength"]

#: The regularisers of :func:`train_model`: none, proximal L1 on the weights of the
#: Linear/Conv layers, L2 as weight decay, L1 on the BatchNorm scales (Network Slimming).
REGULARISERS = ("none", "l1", "l2", "bn_l1")

#: Widths of the CSR column indices and row pointers counted by :func:`summarise`:
#: 16 bits address every column and every nonzero of the book's models.
CSR_BITS = {"index_bits": 16, "pointer_bits": 16}


def batchnorm_scales(model: nn.Module) -> list[str]:
    """Names of the BatchNorm scale factors γ (``"<layer>.weight"``) of ``model``.

    Introduced in :doc:`pipeline`, section *Network Slimming*: the parameters that
    Liu et al. (2017) penalise with L1.

    Raises
    ------
    ValueError
        If the model has no BatchNorm layer with a learnable scale.
    """
    check_model(model)
    check_plain_weights(model, "batchnorm_scales()")
    names = [f"{name}.weight" for name, m in model.named_modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None]
    if not names:
        raise ValueError("model has no BatchNorm layer with a scale factor to penalise")
    return names


def train_model(build: Callable[[], nn.Module], data: ClassificationData, *,
                regulariser: str = "none", strength: float = 0.0, epochs: int = 20,
                lr: float = 1e-3, batch_size: int = 128, optimizer: str = "adam",
                seed: int = 0) -> tuple[nn.Module, History]:
    """Build a fresh network with seed ``seed`` and train it with one regulariser.

    Introduced in :doc:`pipeline`, section *The experiment*. Adam (or SGD with momentum)
    on the training split, keeping the weights of the best validation epoch
    (:func:`helpers.train.fit`).

    ============ =============================================================
    regulariser  what ``strength`` (λ) does
    ============ =============================================================
    ``"none"``   nothing (``strength`` must be 0)
    ``"l1"``     proximal L1 on the Linear/Conv weights: after every step,
                 soft-thresholding by ``lr · λ`` (:class:`helpers.l1.ProximalL1`)
    ``"l2"``     weight decay λ, i.e. the gradient of ``(λ/2)‖w‖²`` on every
                 parameter
    ``"bn_l1"``  Network Slimming: ``λ Σ|γ|`` over the BatchNorm scales added to
                 the loss, trained with its subgradient as Liu et al. (2017) do
                 (they use SGD: pass ``optimizer="sgd"``; Adam rescales the
                 subgradient of every γ and shrinks them all alike)
    ============ =============================================================

    Parameters
    ----------
    build : callable
        Returns a new, untrained model, e.g. ``lambda: helpers.models.mlp([64, 300,
        100, 10])``; it is called after seeding, so the initial weights depend on
        ``seed`` only.
    data : ClassificationData
    regulariser : str
        One of :data:`REGULARISERS`.
    strength : float
        λ ≥ 0.
    epochs, lr, batch_size, optimizer, seed
        Passed to :func:`helpers.train.fit` (``seed`` also orders the batches).

    Returns
    -------
    model : nn.Module
        On :func:`helpers.get_device`.
    history : helpers.train.History
    """
    _check_build(build)
    check_data(data)
    if regulariser not in REGULARISERS:
        raise ValueError(f"regulariser must be one of {REGULARISERS}, got {regulariser!r}")
    strength = check_nonnegative(strength, "strength")
    if regulariser == "none" and strength != 0:
        raise ValueError(f"strength must be 0 without a regulariser, got {strength}")
    seed_everything(seed)
    model = build().to(get_device())
    hooks: dict = {}
    if regulariser == "l1":
        hooks["after_step"] = ProximalL1(strength, lr)
    elif regulariser == "l2":
        hooks["weight_decay"] = strength
    elif regulariser == "bn_l1":
        names = batchnorm_scales(model)
        hooks["penalty"] = lambda m: l1_penalty(m, strength, params=names)
    history = fit(model, data, epochs=epochs, lr=lr, batch_size=batch_size,
                  optimizer=optimizer, seed=seed, progress=False, **hooks)
    return model, history


@dataclass
class PruneResult:
    """What :func:`prune_finetune` and :func:`slim_finetune` return.

    Attributes
    ----------
    model : nn.Module
        The pruned and fine-tuned model (a new object; the input model is unchanged).
    amount : float
        Fraction of the prunable weights that the masks zero (:func:`prune_finetune`),
        or fraction of the channels removed (:func:`slim_finetune`).
    val_pruned, test_pruned : float
        Accuracy right after pruning, before fine-tuning.
    val_finetuned, test_finetuned : float
        Accuracy after fine-tuning (weights of the best validation epoch).
    history : helpers.train.History
        The fine-tuning run; ``history.best_epoch`` is the epoch kept.
    """

    model: nn.Module
    amount: float
    val_pruned: float
    test_pruned: float
    val_finetuned: float
    test_finetuned: float
    history: History


def _accuracies(model: nn.Module, data: ClassificationData) -> tuple[float, float]:
    return evaluate(model, data, "val"), evaluate(model, data, "test")


#: Weight criteria of :func:`prune_finetune`: :data:`helpers.prune.CRITERIA` itself.
MASK_CRITERIA = prune_criteria


def prune_finetune(model: nn.Module, data: ClassificationData, sparsity: float, *,
                   criterion: str | Callable = "magnitude", scope: str = "layer",
                   epochs: int = 10,
                   lr: float = 1e-2,
                   batch_size: int = 128, patience: int | None = None,
                   seed: int = 0) -> PruneResult:
    """Prune a copy of ``model`` layer-wise, then fine-tune it with the masks.

    Introduced in :doc:`pipeline`, section *The experiment*. The same fraction
    ``sparsity`` of the weights of every Linear/Conv layer is zeroed: those of smallest
    magnitude (:func:`helpers.prune.layerwise_masks`; weights that are already zero go
    first) or, as the baseline a criterion must beat, weights drawn at random
    (:func:`helpers.prune.random_masks` with ``seed``), or those of lowest score under
    any other weight criterion. With ``scope="global"`` one threshold serves all
    layers together (:func:`helpers.prune.global_masks`), so ``sparsity`` is then the
    fraction of all their weights. Accuracy is measured, and the
    copy is fine-tuned with a :class:`helpers.prune.MaskEnforcer`, so pruned weights
    stay zero. Fine-tuning keeps the weights of its best validation epoch: the number
    of fine-tuning epochs is chosen on the validation split, up to ``epochs``.

    Parameters
    ----------
    model : nn.Module
        A trained model; it is not changed.
    data : ClassificationData
    sparsity : float
        Fraction in [0, 1] of each layer's weights to prune.
    criterion : str or callable
        Which weights go: a name of :data:`MASK_CRITERIA` (``"magnitude"``,
        ``"random"``) or a callable ``score(weight, *, generator)``
        (:data:`helpers.prune.CRITERIA`); the generator is seeded with ``seed``.
    scope : {"layer", "global"}
        A threshold per layer, or one for all layers.
    epochs, lr, batch_size, patience, seed
        Fine-tuning, passed to :func:`helpers.train.fit` (``patience`` stops it when
        validation accuracy has not improved for that many epochs).
    """
    check_model(model)
    check_plain_weights(model, "prune_finetune()")
    check_data(data)
    sparsity = check_fraction(sparsity, "sparsity")
    check_positive_int(epochs, "epochs")
    MASK_CRITERIA.resolve(criterion)
    if scope not in ("layer", "global"):
        raise ValueError(f"scope must be 'layer' or 'global', got {scope!r}")
    pruned = copy.deepcopy(model)
    make = layerwise_masks if scope == "layer" else global_masks
    masks = make(pruned, sparsity, criterion=criterion, seed=seed)
    apply_masks(pruned, masks)
    val_pruned, test_pruned = _accuracies(pruned, data)
    history = fit(pruned, data, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                  after_step=MaskEnforcer(masks), patience=patience, keep_start=True,
                  progress=False)
    return PruneResult(pruned, masks_sparsity(masks), val_pruned, test_pruned,
                       *_accuracies(pruned, data), history)


def prune_copy(model: nn.Module, sparsity: float) -> nn.Module:
    """A copy of ``model`` with the fraction ``sparsity`` of each layer's weights zeroed.

    Introduced in :doc:`pipeline`, section *Choosing on the validation split*: the
    pruning step of :func:`prune_finetune` alone (layer-wise magnitude masks), to see
    what pruning costs before any fine-tuning.
    """
    check_plain_weights(check_model(model), "prune_copy()")
    pruned = copy.deepcopy(model)
    return apply_masks(pruned, layerwise_masks(pruned, check_fraction(sparsity, "sparsity")))


def slim_finetune(model: nn.Module, data: ClassificationData, fraction: float, *,
                  epochs: int = 10, lr: float = 1e-2, batch_size: int = 128,
                  patience: int | None = None, seed: int = 0) -> PruneResult:
    """Remove the channels with the smallest ``|γ|`` (:func:`slim_channels`), then fine-tune.

    Introduced in :doc:`pipeline`, section *Network Slimming*. No masks are needed: the
    removed channels no longer exist. ``amount`` of the result is the fraction of
    channels removed. Other arguments as in :func:`prune_finetune`.
    """
    check_plain_weights(check_model(model), "slim_finetune()")
    check_data(data)
    check_positive_int(epochs, "epochs")
    batchnorm_scales(model)  # a clear error for models without BatchNorm
    n_before = sum(len(s) for s in _scored_layers(model, "bn_scale").values())
    slim = slim_channels(model, fraction)
    n_after = sum(len(s) for s in _scored_layers(slim, "bn_scale").values())
    val_pruned, test_pruned = _accuracies(slim, data)
    history = fit(slim, data, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                  patience=patience, keep_start=True, progress=False)
    return PruneResult(slim, 1 - n_after / n_before, val_pruned, test_pruned,
                       *_accuracies(slim, data), history)


def storage_scheme(model: nn.Module) -> str:
    """``"csr+int8"`` if sparse int8 storage is smaller than dense int8, else ``"int8"``.

    Introduced in :doc:`pipeline`, section *What is counted*. The indices of a sparse
    format cost more than they save unless enough weights are zero; with
    :data:`CSR_BITS` a nonzero costs 8 + 16 bits instead of 8, so CSR wins only above
    about two thirds sparsity.
    """
    sparse = storage_bytes(check_model(model), "csr+int8", **CSR_BITS)
    return "csr+int8" if sparse < storage_bytes(model, "int8") else "int8"


def summarise(model: nn.Module, data: ClassificationData, *,
              reference: nn.Module | None = None, repeats: int = 20,
              warmup: int = 5) -> dict:
    """Quantise ``model``'s weights to int8 and measure it: one row of the chapter's table.

    Introduced in :doc:`pipeline`, section *What is counted*.

    * ``test_fp32`` / ``test_int8``: test accuracy before and after rounding every
      Linear/Conv weight to symmetric int8 with one scale per output channel
      (:func:`helpers.quant.quantize_model_weights`; zeros stay zero);
    * ``parameters`` / ``nonzero``: parameters of ``model`` and how many are not zero;
    * ``scheme`` / ``storage_bytes``: the cheaper of dense int8 and CSR int8
      (:func:`storage_scheme`) and its bytes (:func:`helpers.metrics.storage_bytes`:
      int8 values, 16-bit column indices and row pointers for CSR, one fp32 scale per
      row; biases and BatchNorm parameters in fp32);
    * ``dense_bytes`` / ``compression``: fp32 bytes of ``reference`` (the unpruned
      model; by default ``model`` itself, right for masks that keep the shapes) and
      ``dense_bytes / storage_bytes``;
    * ``macs`` / ``macs_effective``: multiply-accumulates per example with dense
      kernels, and counting only nonzero weights;
    * ``latency_ms`` / ``latency_iqr_ms``: measured fp32 forward pass over the whole
      test split, one CPU thread, median and interquartile range of ``repeats``
      (NaN with ``repeats=0``, e.g. to time several models side by side with
      :func:`helpers.metrics.compare_latency` instead).

    Parameters
    ----------
    model : nn.Module
        A float model (pruned, slimmed or dense).
    data : ClassificationData
        Its test split is evaluated and timed; the example shape comes from it.
    reference : nn.Module, optional
        The uncompressed model for ``dense_bytes``.
    repeats, warmup : int
        Of the latency measurement (:func:`helpers.metrics.measure_latency`);
        ``repeats=0`` skips it.
    """
    check_model(model)
    check_plain_weights(model, "summarise() (it quantises the weights)")
    check_data(data)
    reference = model if reference is None else check_model(reference)
    X_test, _ = data.split("test")
    input_shape = tuple(X_test.shape[1:])
    scheme = storage_scheme(model)
    stored = storage_bytes(model, scheme, **(CSR_BITS if scheme == "csr+int8" else {}))
    dense = storage_bytes(reference, "dense32")
    check_positive_int(repeats, "repeats", allow_zero=True)
    if repeats:
        latency = measure_latency(model, X_test, repeats=repeats, warmup=warmup, threads=1)
        median, iqr = latency.median_ms, latency.iqr_ms
    else:
        median = iqr = float("nan")
    return {
        "test_fp32": evaluate(model, data, "test"),
        "test_int8": evaluate(quantize_model_weights(model, 8), data, "test"),
        "parameters": count_parameters(model),
        "nonzero": count_nonzero(model),
        "scheme": scheme,
        "storage_bytes": stored,
        "dense_bytes": dense,
        "compression": compression_ratio(dense, stored),
        "macs": macs(model, input_shape),
        "macs_effective": macs(model, input_shape, effective=True),
        "latency_ms": median,
        "latency_iqr_ms": iqr,
    }


def run_pipeline(build: Callable[[], nn.Module], data: ClassificationData, *,
                 regulariser: str = "none", strength: float = 0.0,
                 sparsity: float | None = None, channels: float | None = None,
                 train_epochs: int = 20, finetune_epochs: int = 10, lr: float = 1e-3,
                 finetune_lr: float = 1e-2, patience: int | None = None,
                 batch_size: int = 128, optimizer: str = "adam", seed: int = 0,
                 latency_repeats: int = 20) -> dict:
    """Train → prune → fine-tune → quantise → measure: one row of the chapter's table.

    Introduced in :doc:`pipeline`, section *Exercises* (the pipeline in one call). Chains
    :func:`train_model`, then :func:`prune_finetune` (``sparsity``: layer-wise
    magnitude pruning) or :func:`slim_finetune` (``channels``: fraction of channels
    removed), or neither (the dense baseline), then :func:`summarise`. ``optimizer``
    is that of training; fine-tuning uses Adam with ``finetune_lr`` for at most
    ``finetune_epochs`` epochs, stopping after ``patience`` epochs without improvement.

    Returns
    -------
    dict
        The keys of :func:`summarise`, plus ``regulariser``, ``strength``, ``seed``,
        ``amount`` (the sparsity or channel fraction reached, 0 for the baseline),
        ``val_trained`` (validation accuracy after training), ``val_pruned`` /
        ``test_pruned`` (right after pruning) and ``val_finetuned`` (after
        fine-tuning). Without pruning, the "pruned" and "fine-tuned" accuracies are
        those of the trained model.
    """
    if sparsity is not None and channels is not None:
        raise ValueError("give at most one of sparsity and channels")
    if sparsity is not None:
        prune = functools.partial(prune_finetune, sparsity=sparsity)
    elif channels is not None:
        prune = functools.partial(slim_finetune, fraction=channels)
    else:
        prune = _no_pruning
    train = dict(regulariser=regulariser, strength=strength, epochs=train_epochs, lr=lr,
                 batch_size=batch_size, optimizer=optimizer, seed=seed)
    finetune = dict(epochs=finetune_epochs, lr=finetune_lr, batch_size=batch_size,
                    patience=patience, seed=seed)
    model, result, measured = pipeline_stages(build, data, prune, train=train,
                                              finetune=finetune, repeats=latency_repeats)
    row = {"regulariser": regulariser, "strength": strength, "seed": seed,
           "amount": result.amount, "val_trained": evaluate(model, data, "val"),
           "val_pruned": result.val_pruned, "test_pruned": result.test_pruned,
           "val_finetuned": result.val_finetuned}
    row.update(measured)
    return row


def _check_build(build) -> None:
    if not callable(build) or isinstance(build, nn.Module):
        raise TypeError("build must be a callable that returns a new model, "
                        f"got {type(build).__name__}")


def _check_stages(build, data, prune, *, train, finetune, repeats=20) -> None:
    _check_build(build)
    check_data(data)
    if not callable(prune) or isinstance(prune, nn.Module):
        raise TypeError("prune must be a pruning step such as prune_finetune (a callable "
                        f"(model, data, **finetune) -> PruneResult), got {type(prune).__name__}")
    for value, name, goes_to in ((train, "train", "train_model"), (finetune, "finetune", "prune")):
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a dict of keyword arguments for {goes_to}, "
                            f"e.g. {{'epochs': 10}}, got {type(value).__name__}")
    check_positive_int(repeats, "repeats", allow_zero=True)


@checked(_check_stages)
def pipeline_stages(build: Callable[[], nn.Module], data: ClassificationData,
                    prune: Callable[..., PruneResult], *, train: dict, finetune: dict,
                    repeats: int = 20) -> tuple[nn.Module, PruneResult, dict]:
    """The stages of the chapter's pipeline, one after the other, for one network.

    Introduced in :doc:`pipeline`, section *The experiment*. ``train`` goes to
    :func:`train_model`, ``finetune`` to ``prune`` (e.g. :func:`prune_finetune` with
    its sparsity); :func:`summarise` quantises and measures. Returns the trained
    model, the pruned and fine-tuned :class:`PruneResult` and the measurements.
    """
    model, _ = train_model(build, data, **train)  # 1. train with a regulariser
    result = prune(model, data, **finetune)  # 2.-3. prune, fine-tune under the mask
    # 4.-5. int8 weights; storage (dense or CSR), accuracy, MACs, latency
    measured = summarise(result.model, data, reference=model, repeats=repeats)
    return model, result, measured


def _no_pruning(model: nn.Module, data: ClassificationData, **_) -> PruneResult:
    """The pruning step of the dense baseline: the trained model, as it is."""
    val, test = _accuracies(model, data)
    return PruneResult(model, 0.0, val, test, val, test, History())


def choose_largest_within(levels: Sequence[float], val_accuracy: Sequence[float], *,
                          reference: float, tolerance: float) -> float | None:
    """The largest level whose validation accuracy is at least ``reference − tolerance``.

    Introduced in :doc:`pipeline`, section *Choosing on the validation split*: the
    highest sparsity (or λ, or channel fraction) that costs at most ``tolerance`` of
    validation accuracy against the baseline's ``reference``. Returns ``None`` when no
    level qualifies. Only validation accuracies may be passed here, never test ones.
    """
    levels, val_accuracy = list(levels), list(val_accuracy)
    if len(levels) != len(val_accuracy):
        raise ValueError(f"levels and val_accuracy must have the same length, got "
                         f"{len(levels)} and {len(val_accuracy)}")
    tolerance = check_nonnegative(tolerance, "tolerance")
    if isinstance(reference, bool) or not isinstance(reference, Real):
        raise TypeError(f"reference must be a number, got {type(reference).__name__}")
    ok = [lv for lv, acc in zip(levels, val_accuracy) if acc >= reference - tolerance]
    return max(ok) if ok else None


@dataclass(frozen=True)
class StrengthSearch:
    """What :func:`choose_strength` returns.

    Attributes
    ----------
    scores : dict
        Every strength tried → its score, in increasing order of strength.
    best : float
        The strength of highest score (the first of equal scores).
    extended : tuple of float
        The strengths added beyond the given grid, in the order they were tried.
    """

    scores: dict
    best: float
    extended: tuple


def _check_choose_strength(grid, score, *, extend=2) -> None:
    if not callable(score):
        raise TypeError(f"score must be a function of the strength, got "
                        f"{type(score).__name__}")
    if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence):
        raise TypeError(f"grid must be a sequence of strengths, got {type(grid).__name__}")
    if len(grid) < 2:
        raise ValueError(f"grid needs at least two strengths to be extended, got {list(grid)}")
    for lam in grid:
        if isinstance(lam, bool) or not isinstance(lam, Real) or not lam > 0:
            raise ValueError(f"every strength of grid must be a positive number, got {lam!r}")
    if list(grid) != sorted(set(grid)):
        raise ValueError(f"grid must be increasing without repeats, got {list(grid)}")
    check_positive_int(extend, "extend", allow_zero=True)


@checked(_check_choose_strength)
def choose_strength(grid: Sequence[float], score: Callable[[float], object], *,
                    extend: int = 2) -> StrengthSearch:
    """The strength of highest validation score, the grid extended until it is inside.

    Introduced in :doc:`pipeline`, section *The strength of the regularizers*. Each
    strength of ``grid`` (increasing, positive; a log grid such as 0.03, 0.1, 0.3) is
    scored with ``score(λ)`` (anything comparable, e.g. a tuple of validation
    accuracies; higher is better). While the best lies at an end of the strengths
    tried, the grid grows by one strength beyond that end, at the spacing of the grid
    two steps back (×10 above ``grid[-2]``, ÷10 below ``grid[1]``: half a decade for a
    1-3-10 grid), at most ``extend`` times: a choice at the edge of a grid says only
    that the grid was too short. Which end a search reaches can depend on a machine's
    floating-point arithmetic, so a fixed grid is not enough.

    Returns
    -------
    StrengthSearch
        The scores of every strength tried, the best, and the strengths added.

    Raises
    ------
    TypeError, ValueError
        For a score that is not callable, a grid of fewer than two strengths or one
        that is not increasing and positive, ``extend`` not a non-negative int.
    RuntimeError
        When the best is still at an end after ``extend`` extensions (name the
        strengths and their scores: extend the grid in that direction).
    """
    strengths, scores, added = sorted(grid), {}, []
    for lam in strengths:
        scores[lam] = score(lam)
    while True:
        best = max(strengths, key=scores.__getitem__)
        if strengths[0] < best < strengths[-1]:
            break
        if len(added) == extend:
            tried = ", ".join(f"{k:g}: {v}" for k, v in sorted(scores.items()))
            raise RuntimeError(f"the best strength, {best:g}, is at an end of the grid "
                               f"after {extend} extension(s) (scores: {tried}); extend "
                               f"the grid beyond it")
        new = strengths[-2] * 10 if best == strengths[-1] else strengths[1] / 10
        new = float(f"{new:.12g}")  # 0.3 · 10 is 3, not 3.0000000000000004
        scores[new] = score(new)
        added.append(new)
        strengths = sorted(scores)
    return StrengthSearch(dict(sorted(scores.items())), best, tuple(added))

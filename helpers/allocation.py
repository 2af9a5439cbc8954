"""Where to prune: layer-wise sparsity allocation at one overall sparsity.

A *rule* takes a network and an overall sparsity and says how much of each layer to
prune: ``{parameter name: fraction}``, which :func:`helpers.prune.layerwise_masks`
takes as its ``amount``. The fractions, weighted by the layers' sizes, add up to the
overall sparsity (up to the rounding of each layer to whole weights).

* :func:`uniform`: the same fraction of every layer;
* :func:`global_magnitude`: one magnitude threshold for all layers (Han et al., 2015),
  so layers with many small weights lose more;
* :func:`erk`: Erdős–Rényi-Kernel (Evci et al., 2020, RigL; Mocanu et al., 2018 for
  fully connected layers): a layer's density proportional to the sum of its
  dimensions over their product, so large layers are pruned more;
* :func:`lamp`: one threshold on LAMP scores (Lee et al., 2021;
  :func:`helpers.prune.lamp_scores`);
* :func:`owl`: outlier-weighted layer-wise sparsity for language models (Yin et al.,
  2024), from each block's share of outlier Wanda scores (:func:`outlier_ratio`);
  :func:`owl_sparsities` computes it for a model and its calibration data, as
  :func:`helpers.layerwise.prune_layerwise` takes it.

The rules that need only the network are in :data:`RULES` (``{name: rule}``), the
registry every caller takes a rule from by name or as a callable
``rule(model, sparsity, *, names) -> {name: fraction}``.

Introduced in :doc:`pruning`, section *How much of each layer*.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import torch
from torch import nn

from ._checks import check_float_tensor, check_fraction, check_nonnegative
from .criteria import Registry
from .layers import linear_weight
from .prune import global_masks, prunable_parameters

__all__ = ["RULES", "Allocation", "uniform", "global_magnitude", "erk", "lamp",
           "outlier_ratio", "owl", "owl_sparsities", "overall_sparsity"]

#: Parameter name → fraction of its weights to prune.
Allocation = dict[str, float]

#: Allocation rules by name: ``rule(model, sparsity, *, names) -> Allocation``.
RULES = Registry("allocation", "rule(model, sparsity, *, names) -> {name: fraction}")


def overall_sparsity(model: nn.Module, allocation: Mapping[str, float], *,
                     names: Iterable[str] | None = None) -> float:
    """The fraction of all selected weights that ``allocation`` prunes (weighted by size).

    Raises ValueError when ``allocation`` names a parameter that is not selected or
    leaves one out (the check of :func:`helpers.prune.layerwise_masks`).
    """
    params = prunable_parameters(model, names)
    if set(allocation) != set(params):
        raise ValueError(f"the allocation must name exactly the pruned parameters "
                         f"{list(params)}, got {sorted(allocation)}")
    total = sum(p.numel() for p in params.values())
    return sum(check_fraction(allocation[n], f"allocation[{n!r}]") * p.numel()
               for n, p in params.items()) / total


@RULES.register("uniform")
def uniform(model: nn.Module, sparsity: float, *,
            names: Iterable[str] | None = None) -> Allocation:
    """The same fraction ``sparsity`` of every selected layer.

    Examples
    --------
    >>> from helpers.models import mlp
    >>> from helpers.allocation import uniform
    >>> uniform(mlp([8, 4, 2]), 0.5)
    {'0.weight': 0.5, '2.weight': 0.5}
    """
    sparsity = check_fraction(sparsity, "sparsity")
    return {n: sparsity for n in prunable_parameters(model, names)}


def _fractions(masks: Mapping[str, torch.Tensor]) -> Allocation:
    return {n: 1.0 - m.count_nonzero().item() / m.numel() for n, m in masks.items()}


@RULES.register("global")
def global_magnitude(model: nn.Module, sparsity: float, *,
                     names: Iterable[str] | None = None) -> Allocation:
    """The fractions that one magnitude threshold for all layers takes from each
    (:func:`helpers.prune.global_masks`; Han et al., 2015)."""
    return _fractions(global_masks(model, check_fraction(sparsity, "sparsity"), names=names))


@RULES.register("lamp")
def lamp(model: nn.Module, sparsity: float, *,
         names: Iterable[str] | None = None) -> Allocation:
    """The fractions that one threshold on LAMP scores takes from each layer (Lee et
    al., 2021): :func:`helpers.prune.global_masks` with ``criterion="lamp"``.

    Every layer keeps at least its largest weight (it scores 1) unless the sparsity
    asks for more than all the other weights together.
    """
    return _fractions(global_masks(model, check_fraction(sparsity, "sparsity"),
                                   names=names, criterion="lamp"))


@RULES.register("erk")
def erk(model: nn.Module, sparsity: float, *, names: Iterable[str] | None = None,
        power: float = 1.0) -> Allocation:
    """Erdős–Rényi-Kernel fractions (Evci et al., 2020, RigL's ``get_sparsities``).

    A layer of shape ``(d_1, …, d_k)`` (a Linear layer's ``(out, in)``, a
    convolution's ``(out, in, k_h, k_w)``) gets the density

    .. math:: 1 - s_\\ell = \\varepsilon \\left(\\frac{\\sum_i d_i}{\\prod_i d_i}\\right)^{p},

    with ``ε`` chosen so that the layers together keep ``1 - sparsity`` of their
    weights; a layer whose density would exceed 1 is kept dense and ``ε`` is solved
    again for the others, as in the reference code, until every density is at most 1.

    Parameters
    ----------
    model : nn.Module
        The network (read only).
    sparsity : float
        Overall fraction of the selected weights to prune, in [0, 1].
    names : iterable of str, optional
        Which parameters (:func:`helpers.prune.prunable_parameters`).
    power : float
        RigL's ``erk_power_scale`` (1: ERK; 0: uniform), nonnegative.

    Returns
    -------
    dict
        Parameter name → fraction to prune, in [0, 1].

    Raises
    ------
    ValueError
        When ``sparsity`` is outside [0, 1] or ``power`` negative, and the errors of
        :func:`helpers.prune.prunable_parameters`.

    Examples
    --------
    >>> from helpers.models import mlp
    >>> from helpers.allocation import erk, overall_sparsity
    >>> net = mlp([64, 300, 100, 10])
    >>> {n: round(s, 3) for n, s in erk(net, 0.9).items()}  # the largest layer loses most
    {'0.weight': 0.891, '2.weight': 0.923, '4.weight': 0.368}
    >>> round(overall_sparsity(net, erk(net, 0.9)), 6)
    0.9
    """
    sparsity = check_fraction(sparsity, "sparsity")
    power = check_nonnegative(power, "power")
    params = prunable_parameters(model, names)
    shapes = {n: tuple(p.shape) for n, p in params.items()}
    raw = {n: (sum(s) / math.prod(s)) ** power for n, s in shapes.items()}
    dense: set[str] = set()
    while True:
        # weights to keep in the layers not yet dense, and their raw densities' weight
        keep = sum(math.prod(s) for s in shapes.values()) * (1 - sparsity) \
            - sum(math.prod(shapes[n]) for n in dense)
        divisor = sum(raw[n] * math.prod(shapes[n]) for n in shapes if n not in dense)
        eps = keep / divisor if divisor > 0 else 0.0
        free = [n for n in shapes if n not in dense]
        largest = max((raw[n] for n in free), default=0.0)
        if not free or eps * largest <= 1:
            break
        dense |= {n for n in free if raw[n] == largest}
    return {n: 0.0 if n in dense else min(1.0, max(0.0, 1 - eps * raw[n])) for n in shapes}


def outlier_ratio(scores: torch.Tensor, m: float = 5.0) -> float:
    """The fraction of ``scores`` above ``m`` times their mean (OWL's outlier ratio).

    Yin et al. (2024) score a block's weights with Wanda (``|W_ij| · ‖X_j‖₂``,
    :func:`helpers.layerwise.wanda_scores`), concatenate the scores of the block's
    linear layers and count those above ``m`` (their ``M``, 5 by default) times the
    mean.

    Parameters
    ----------
    scores : torch.Tensor
        Nonnegative scores, any shape (flattened).
    m : float
        The multiple of the mean above which a score is an outlier, positive.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> import torch
    >>> from helpers.allocation import outlier_ratio
    >>> outlier_ratio(torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 91.0]))
    0.1
    """
    scores = check_float_tensor(scores, "scores").detach()
    if bool((scores < 0).any()):
        raise ValueError("scores must be nonnegative (magnitudes, Wanda scores)")
    if isinstance(m, bool) or not isinstance(m, (int, float)) or not m > 0:
        raise ValueError(f"m must be a positive number (OWL uses 5), got {m!r}")
    return int((scores > m * scores.mean()).sum()) / scores.numel()


def owl(ratios: Mapping[str, float] | Sequence[float], sparsity: float,
        lam: float = 0.08) -> Allocation | list[float]:
    """OWL's sparsity of each block from its outlier ratio (Yin et al., 2024).

    The ratios are scaled linearly onto ``[0, 2·lam]``, shifted to have the mean
    ``1 - sparsity``, and read as densities: the block with the most outliers keeps
    ``2·lam`` more of its weights than the one with the fewest, and the blocks'
    sparsities average ``sparsity`` (an unweighted mean over blocks, as in the paper's
    code, where all blocks have the same size). Equal ratios give ``sparsity`` for all.

    Parameters
    ----------
    ratios : mapping or sequence of float
        Each block's outlier ratio (:func:`outlier_ratio`), in [0, 1].
    sparsity : float
        The mean sparsity, in [0, 1].
    lam : float
        OWL's λ (0.08 for LLaMA in the paper), with ``lam ≤ min(sparsity, 1 -
        sparsity)`` so that every sparsity stays in [0, 1].

    Returns
    -------
    dict or list
        Each block's sparsity, keyed as ``ratios``.

    Raises
    ------
    ValueError
        For an empty ``ratios``, a ratio or ``sparsity`` outside [0, 1], or ``lam``
        negative or too large for ``sparsity``.

    Examples
    --------
    >>> from helpers.allocation import owl
    >>> [round(s, 3) for s in owl([0.01, 0.02, 0.03], 0.5, lam=0.08)]
    [0.58, 0.5, 0.42]
    """
    keys = list(ratios) if isinstance(ratios, Mapping) else None
    values = [ratios[k] for k in keys] if keys is not None else list(ratios)
    if not values:
        raise ValueError("ratios is empty: give one outlier ratio per block")
    values = [check_fraction(v, "an outlier ratio") for v in values]
    sparsity = check_fraction(sparsity, "sparsity")
    lam = check_nonnegative(lam, "lam")
    if lam > min(sparsity, 1 - sparsity) + 1e-12:
        raise ValueError(f"lam={lam} would push a block's sparsity outside [0, 1] at "
                         f"sparsity {sparsity}: choose lam ≤ {min(sparsity, 1 - sparsity)}")
    low, high = min(values), max(values)
    spread = [(v - low) / (high - low) * 2 * lam if high > low else 0.0 for v in values]
    mean = sum(spread) / len(spread)
    result = [min(1.0, max(0.0, 1 - (v - mean + 1 - sparsity))) for v in spread]
    return dict(zip(keys, result)) if keys is not None else result


def owl_sparsities(model: nn.Module, calibration: torch.Tensor, sparsity: float, *,
                   lam: float = 0.08, m: float = 5.0, names: Iterable[str] | None = None,
                   batch_size: int = 64) -> Allocation:
    """OWL's sparsity of every linear layer of a language model (Yin et al., 2024).

    Introduced in :doc:`language-models`, section *How much of each block*. As in the
    paper's code: the inputs of the dense model's linear layers on ``calibration``
    (:func:`helpers.layerwise.layer_inputs`) give each weight its Wanda score
    ``|W_ij| · ‖X_j‖₂``; a block's outlier ratio (:func:`outlier_ratio`) counts the
    scores of all its layers together; :func:`owl` turns the ratios into the blocks'
    sparsities, and every layer of a block gets its block's.

    Parameters
    ----------
    model : nn.Module
        The language model, its blocks the items of an ``nn.ModuleList`` (as
        :class:`helpers.language_model.TinyTransformer`'s or a transformers decoder's).
    calibration : torch.Tensor
        A batch of model inputs (ids of shape ``(samples, time)``).
    sparsity, lam, m : float
        The mean sparsity over blocks, OWL's λ and M (:func:`owl`, :func:`outlier_ratio`).
    names : iterable of str, optional
        The linear layers (default: :func:`helpers.layerwise.linear_layers`).
    batch_size : int
        Calibration samples per forward pass.

    Returns
    -------
    dict
        Layer name → fraction to prune, for ``prune_layerwise(..., sparsity=…)``.

    Raises
    ------
    ValueError
        For a layer in no block, and the errors of :func:`owl` and
        :func:`helpers.layerwise.layer_inputs`.
    """
    from . import layerwise  # layerwise imports prune, as this module does

    inputs = layerwise.layer_inputs(model, calibration, names, batch_size=batch_size)
    modules = dict(model.named_modules())
    scores: dict[str, list[torch.Tensor]] = {}
    for name, x in inputs.items():
        weight = linear_weight(modules[name]).detach()
        scores.setdefault(layerwise.block_of(model, name), []).append(
            layerwise.wanda_scores(weight, x.double().norm(dim=0)).reshape(-1).float())
    blocks = owl({block: outlier_ratio(torch.cat(parts), m) for block, parts in
                  scores.items()}, sparsity, lam)
    return {name: blocks[layerwise.block_of(model, name)] for name in inputs}

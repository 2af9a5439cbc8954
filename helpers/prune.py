"""Unstructured (weight) pruning: magnitude masks, fine-tuning with masks, schedules.

A *mask* is a tensor of the shape of the parameter it belongs to, 1 where the weight
is kept and 0 where it is pruned (the convention of ``torch.nn.utils.prune``). A set
of masks is a ``dict`` from parameter names (as in ``model.named_parameters()``, for
example ``"0.weight"``) to masks. Masks are applied by multiplying the parameters in
place: nothing is stored in the model, so a pruned model is an ordinary model whose
weights contain zeros.

Structured pruning (importance of neurons and channels, and their physical removal)
lives in :mod:`helpers.structured`; its public functions are re-exported here.

Introduced in :doc:`pruning`.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils import prune as torch_prune

from ._checks import (
    check_amount, check_finite, check_float_tensor, check_fraction, check_int_in_range,
    check_model, check_nonnegative, check_plain_weights, check_positive_int, checked,
)
from .criteria import Registry
from .data import ClassificationData, check_data
from .layers import distinct_weights
from .train import evaluate, fit

__all__ = [
    "CRITERIA", "Masks", "lowest_mask", "magnitude_mask", "prunable_parameters", "layerwise_masks",
    "global_masks", "random_masks", "threshold_masks", "masks_sparsity", "apply_masks",
    "MaskEnforcer", "make_permanent", "PruneRound", "IterativeResult", "iterative_prune",
    "cubic_schedule", "cubic_sparsity", "GradualPruner", "GradualResult", "gradual_prune",
    "sensitivity_scan", "CSRLinear", "to_sparse_csr", "nm_mask", "nm_mask_kernel",
    "nm_masks", "lamp_scores",
]

#: Parameter name → mask (1 = kept, 0 = pruned).
Masks = dict[str, torch.Tensor]

_SCOPES = ("layer", "global")

#: Weight criteria by name, for every function that makes masks (``criterion=``): a
#: callable ``score(weight, *, generator)`` returning one score per weight (the
#: lowest are pruned), ``weight`` detached. ``"magnitude"`` scores ``|w|``;
#: ``"random"`` draws uniform scores from ``generator`` (seeded by ``seed``), the
#: baseline a criterion must beat. Register another with
#: ``@CRITERIA.register("name")``.
CRITERIA = Registry("weight", "score(weight, *, generator) -> scores of weight's shape")


@CRITERIA.register("magnitude")
def _magnitude(weight: torch.Tensor, *, generator: torch.Generator | None = None):
    return weight.abs()


@CRITERIA.register("random")
def _random(weight: torch.Tensor, *, generator: torch.Generator | None = None):
    return torch.rand(weight.shape, generator=generator)


def _check_lamp_scores(weight, *, generator=None) -> None:
    check_float_tensor(weight, "weight")


@CRITERIA.register("lamp")
@checked(_check_lamp_scores)
def lamp_scores(weight: torch.Tensor, *, generator=None) -> torch.Tensor:
    """LAMP scores (Lee et al., 2021): ``w_u² / Σ_{v ≥ u} w_v²``, the weights of the
    layer sorted by magnitude, so each layer's largest weight scores 1 and one
    threshold serves all layers (:func:`helpers.allocation.lamp`); ties by position;
    zeros score 0.

    Introduced in :doc:`pruning`, section *How much of each layer*. ``weight``: any
    shape (read only); returns scores in [0, 1] of its shape; ``generator`` is unused.
    """
    squares = weight.detach().reshape(-1) ** 2
    order = torch.sort(squares, stable=True).indices  # the smallest first
    ordered = squares[order]
    tails = ordered.flip(0).cumsum(0).flip(0)  # the sum of the squares not smaller
    scores = torch.zeros_like(squares)
    scores[order] = ordered / tails.where(tails > 0, torch.ones_like(tails))
    return scores.reshape(weight.shape)


def _weight_scores(criterion, params: Mapping[str, torch.Tensor],
                   generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Each parameter's scores under ``criterion`` (checked: its shape, float, finite)."""
    rule = CRITERIA.resolve(criterion)
    scores = {}
    with torch.no_grad():
        for n, p in params.items():
            s = rule(p.detach(), generator=generator)
            if not isinstance(s, torch.Tensor) or s.shape != p.shape:
                got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                raise ValueError(f"weight criterion {CRITERIA.name_of(rule)!r} must return "
                                 f"scores of the weight's shape {tuple(p.shape)} for {n!r}, "
                                 f"got {got}")
            scores[n] = check_float_tensor(s, f"the scores of {n!r}")
    return scores


def _generator(seed) -> torch.Generator:
    return torch.Generator().manual_seed(check_positive_int(seed, "seed", allow_zero=True))


# --------------------------------------------------------------------------- masks


def _check_lowest_mask(scores, n_prune) -> None:
    check_float_tensor(scores, "scores")
    check_int_in_range(n_prune, "n_prune", 0, scores.numel())


@checked(_check_lowest_mask)
def lowest_mask(scores: torch.Tensor, n_prune: int) -> torch.Tensor:
    """The mask that prunes the ``n_prune`` lowest scores: 0 there, 1 elsewhere.

    Introduced in :doc:`pruning`, section *Magnitude pruning* (scores ``|W|``).
    Among equal scores the smaller row-major index goes first (a stable sort).
    ``scores``: a non-empty floating-point tensor of finite values; ``0 <= n_prune
    <= scores.numel()``, else TypeError or ValueError.
    """
    flat = scores.reshape(-1)
    order = torch.sort(flat, stable=True).indices
    mask = torch.ones_like(flat)
    mask[order[:n_prune]] = 0
    return mask.reshape(scores.shape)


def _global_mask(scores: Mapping[str, torch.Tensor], params: Mapping[str, torch.Tensor],
                 amount: float | int) -> dict[str, torch.Tensor]:
    """Masks removing the ``amount`` lowest scores across all tensors, split per tensor."""
    n_prune = check_amount(amount, sum(s.numel() for s in scores.values()))
    flat = lowest_mask.unchecked(torch.cat([s.reshape(-1) for s in scores.values()]), n_prune)
    masks, start = {}, 0
    for n, p in params.items():
        masks[n] = flat[start:start + p.numel()].reshape(p.shape).to(device=p.device,
                                                                      dtype=p.dtype)
        start += p.numel()
    return masks


def magnitude_mask(tensor: torch.Tensor, amount: float) -> torch.Tensor:
    """Mask that prunes the ``round(amount · numel)`` weights of smallest magnitude.

    Introduced in :doc:`pruning`, section *Magnitude pruning*.

    Parameters
    ----------
    tensor : torch.Tensor
        A floating-point tensor of finite values (a layer's weights).
    amount : float or int
        As in ``torch.nn.utils.prune``: a float is the fraction in [0, 1] of the
        entries to prune, exactly ``round(amount * tensor.numel())`` of them (Python's
        ``round``); an int is their number (``amount=1`` prunes one entry).

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``tensor``; 1 for kept entries, 0 for pruned.

    Notes
    -----
    Ties in ``|w|`` are broken deterministically: among equal magnitudes the entry
    with the smaller flat (row-major) index is pruned first. On tie-free data the
    mask equals the one of ``torch.nn.utils.prune.l1_unstructured``, whose order
    among ties is not specified.

    Examples
    --------
    >>> import torch
    >>> from helpers.prune import magnitude_mask
    >>> magnitude_mask(torch.tensor([0.1, -2.0, 0.5, 3.0]), 0.5)  # keep the largest half
    tensor([0., 1., 0., 1.])
    """
    tensor = check_float_tensor(tensor, "tensor")
    n_prune = check_amount(amount, tensor.numel())
    with torch.no_grad():
        return lowest_mask.unchecked(tensor.detach().abs(), n_prune)


def _check_n_m(n, m) -> tuple[int, int]:
    """``n`` and ``m`` of an N:M pattern: integers with ``0 <= n <= m``, ``m >= 1``."""
    m = check_positive_int(m, "m")
    n = check_positive_int(n, "n", allow_zero=True)
    if n > m:
        raise ValueError(f"n must be at most m, got n={n}, m={m}")
    return n, m


def _check_nm_width(width: int, m: int, what: str) -> None:
    """The one N:M policy on widths: ``width`` inputs must be a multiple of ``m``.

    An N:M pattern keeps ``n`` of every ``m`` consecutive inputs; a last group of
    fewer than ``m`` inputs has no such pattern, and the formats that run N:M sparsity
    (2:4 on NVIDIA's sparse tensor cores, Mishra et al. 2021) have no partial groups.
    Every N:M function of ``helpers`` therefore refuses another width with a
    ValueError naming ``what`` (the tensor or layer), rather than padding it or
    leaving its last inputs dense.
    """
    if width % m:
        raise ValueError(
            f"{what} has {width} inputs, not a multiple of m={m}: an N:M pattern keeps n "
            f"of every m consecutive inputs and has no partial groups; leave it out of "
            f"N:M pruning (prune it unstructured instead), or pad its inputs with zeros "
            f"to {-(-width // m) * m}")


def nm_mask(weight: torch.Tensor, n: int = 2, m: int = 4, *,
            scores: torch.Tensor | None = None) -> torch.Tensor:
    """N:M mask: in every group of ``m`` consecutive inputs of each output, keep ``n``.

    Introduced in :doc:`language-models`, section *The 2:4 pattern*. The groups run
    along the input dimension (dimension 1: the columns of a Linear weight, the input
    channels of a Conv weight, at each output and kernel position), as NVIDIA's
    sparse tensor cores expect for 2:4 sparsity (Mishra et al. 2021); with ``n=2,
    m=4`` exactly half of the weights are pruned. A layer whose number of inputs is
    not a multiple of ``m`` is refused (the policy of every N:M function here, see
    Raises).

    Parameters
    ----------
    weight : torch.Tensor
        Shape ``(out, in, ...)`` with ``in`` a multiple of ``m``; floating point, finite.
    n, m : int
        Keep ``n`` of every ``m`` (``0 <= n <= m``).
    scores : torch.Tensor, optional
        Importance of each weight, of ``weight``'s shape; by default ``|weight|``
        (magnitude). Wanda and SparseGPT pass their own scores
        (:mod:`helpers.layerwise`). Ties go to the earlier input.

    Returns
    -------
    torch.Tensor
        Mask of ``weight``'s shape, dtype and device: 1 kept, 0 pruned.

    Raises
    ------
    ValueError
        If ``weight`` has fewer than two dimensions, ``n > m``, or ``scores`` has
        another shape; and if ``in`` is not a multiple of ``m``: an N:M pattern has
        no partial groups (nor has the hardware format), so such a layer is left out
        of N:M pruning or padded with zero inputs, never pruned in part.
    """
    n, m = _check_nm(weight, n, m, "weight")
    if scores is None:
        scores = weight.detach().abs()
    else:
        scores = check_float_tensor(scores, "scores").detach()
        if scores.shape != weight.shape:
            raise ValueError(f"scores has shape {tuple(scores.shape)} but weight has "
                             f"shape {tuple(weight.shape)}")
    return nm_mask_kernel.unchecked(scores, n, m).to(dtype=weight.dtype).contiguous()


def _check_nm(tensor, n, m, name: str) -> tuple[int, int]:
    """An N:M pattern of ``tensor`` ``(out, in, ...)``: checked ``n``, ``m`` and width."""
    check_float_tensor(tensor, name)
    n, m = _check_n_m(n, m)
    if tensor.dim() < 2:
        raise ValueError(f"{name} must have at least two dimensions (out, in, ...), "
                         f"got shape {tuple(tensor.shape)}")
    _check_nm_width(tensor.shape[1], m, name)
    return n, m


def _check_nm_mask_kernel(scores, n, m) -> None:
    _check_nm(scores, n, m, "scores")


@checked(_check_nm_mask_kernel)
def nm_mask_kernel(scores: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Keep the ``n`` highest ``scores`` of every ``m`` consecutive ones along dim 1.

    Introduced in :doc:`faq`, section *N:M sparsity in hardware*. ``scores`` has shape
    ``(out, in, ...)``, ``in`` a multiple of ``m``; the mask has its shape and dtype
    (1 kept, 0 pruned), ties go to the earlier input. Arguments as in :func:`nm_mask`.
    """
    # Move the input dimension last and cut it into groups of m.
    moved = scores.movedim(1, -1)
    groups = moved.reshape(-1, m)
    order = torch.sort(groups, dim=1, descending=True, stable=True).indices
    mask = torch.zeros_like(groups)
    mask.scatter_(1, order[:, :n], 1.0)
    return mask.reshape(moved.shape).movedim(-1, 1)


def nm_masks(model: nn.Module, n: int = 2, m: int = 4, *,
             names: Iterable[str] | None = None) -> Masks:
    """Magnitude N:M masks (:func:`nm_mask`) for the selected parameters of ``model``.

    Introduced in :doc:`language-models`, section *The 2:4 pattern*. ``names`` as in
    :func:`prunable_parameters`; every selected parameter's input dimension must be a
    multiple of ``m`` (a first layer with 1 or 3 input channels is not: name the
    others), else ValueError naming it (see :func:`nm_mask`). The model is not changed.
    """
    params = _checked_params(model, names)
    n, m = _check_n_m(n, m)
    for name, p in params.items():
        if p.dim() >= 2:
            _check_nm_width(p.shape[1], m, f"parameter {name!r}")
    return {name: nm_mask(p.detach(), n, m) for name, p in params.items()}


def prunable_parameters(model: nn.Module,
                        names: Iterable[str] | None = None) -> dict[str, nn.Parameter]:
    """The parameters that pruning acts on, by name, in the model's order.

    Introduced in :doc:`pruning`, section *Layer-wise and global thresholds*.

    Parameters
    ----------
    model : nn.Module
        The network.
    names : str or iterable of str, optional
        Parameter names as in ``model.named_parameters()``. By default: the
        ``weight`` of every ``nn.Linear`` and ``nn.Conv1d/2d/3d`` layer and the input
        projections (``in_proj_weight``) of every ``nn.MultiheadAttention`` (biases,
        embeddings and normalisation parameters are not pruned). The same rule
        chooses the weights of :func:`helpers.l1.l1_penalty` and of
        :func:`helpers.quant.quantize_model_weights`.

    Returns
    -------
    dict
        Name → parameter. A tensor shared by several layers (tied parameters) appears
        once, under the first name that selects it: it is one tensor, so it gets one
        mask, and pruning it prunes it in every layer that uses it.

    Raises
    ------
    ValueError
        For a name that the model does not have, for a model without Linear or
        Conv layers, or for a model still pruned with ``torch.nn.utils.prune`` or
        parametrised with ``torch.nn.utils.parametrize`` (call
        :func:`make_permanent` first).
    """
    return distinct_weights(model, names, what="pruning")


def _checked_params(model: nn.Module, names) -> dict[str, nn.Parameter]:
    params = prunable_parameters(model, names)
    for name, p in params.items():
        check_finite(p.detach(), f"parameter {name!r}")
    return params


def _amounts(amount: float | int | Mapping[str, float | int],
             params: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """How many weights of each parameter to prune: one amount, or a mapping with every name.

    Amounts are read as in ``torch.nn.utils.prune``: a float is a fraction, an int a count.
    """
    if isinstance(amount, Mapping):
        unknown = set(amount) - set(params)
        if unknown:
            raise ValueError(f"amount names parameters that are not pruned: {sorted(unknown)}")
        missing = [n for n in params if n not in amount]
        if missing:
            raise ValueError(f"amount has no entry for {missing}")
        return {n: check_amount(amount[n], p.numel(), f"amount[{n!r}]")
                for n, p in params.items()}
    return {n: check_amount(amount, p.numel()) for n, p in params.items()}


def layerwise_masks(model: nn.Module, amount: float | Mapping[str, float], *,
                    names: Iterable[str] | None = None,
                    criterion: str | Callable = "magnitude", seed: int = 0) -> Masks:
    """Masks pruning the same fraction of every layer (or one per layer), lowest scores first.

    Introduced in :doc:`pruning`, section *Layer-wise and global thresholds*.

    Parameters
    ----------
    model : nn.Module
        The network (its weights are read, not changed).
    amount : float, int or mapping
        Fraction (float) or number (int, as in ``torch.nn.utils.prune``) of the
        weights of each selected parameter to prune, or a mapping from every selected
        parameter name to its own amount.
    names : iterable of str, optional
        Which parameters to prune (see :func:`prunable_parameters`).
    criterion : str or callable
        A name of :data:`CRITERIA` (``"magnitude"``: the smallest ``|w|`` go, ties to
        the smaller index) or a callable ``score(weight, *, generator)``.
    seed : int
        Seeds the generator handed to the criterion (``"random"`` draws from it).

    Raises
    ------
    TypeError, ValueError
        For an unknown criterion or one that is not callable, scores of another shape
        than the weight's, and the errors of :func:`prunable_parameters`.

    Examples
    --------
    >>> from helpers.models import mlp
    >>> from helpers.prune import layerwise_masks, masks_sparsity
    >>> from helpers.train import seed_everything
    >>> _ = seed_everything(0)
    >>> masks = layerwise_masks(mlp([8, 4, 2]), 0.5)
    >>> sorted(masks), masks_sparsity(masks)
    (['0.weight', '2.weight'], 0.5)
    """
    generator = _generator(seed)
    params = _checked_params(model, names)
    counts = _amounts(amount, params)
    scores = _weight_scores(criterion, params, generator)
    return {n: lowest_mask.unchecked(scores[n], counts[n]).to(device=p.device, dtype=p.dtype)
            for n, p in params.items()}


def global_masks(model: nn.Module, amount: float, *,
                 names: Iterable[str] | None = None,
                 criterion: str | Callable = "magnitude", seed: int = 0) -> Masks:
    """Masks with one threshold for all selected parameters together (magnitude by default).

    Introduced in :doc:`pruning`, section *Layer-wise and global thresholds*. Exactly
    ``round(amount · N)`` weights are pruned, N being the total number of selected
    weights (an int ``amount`` is that number itself, as in ``torch.nn.utils.prune``);
    layers with many small weights lose more of them. Ties are broken by
    position in the concatenation of the parameters (in the model's order) and then
    by flat index; on tie-free data the masks equal those of
    ``torch.nn.utils.prune.global_unstructured`` with ``L1Unstructured``.
    ``criterion`` and ``seed`` as in :func:`layerwise_masks`.

    Examples
    --------
    >>> from helpers.models import mlp
    >>> from helpers.prune import global_masks, masks_sparsity
    >>> from helpers.train import seed_everything
    >>> _ = seed_everything(0)
    >>> masks = global_masks(mlp([8, 4, 2]), 0.75)
    >>> masks_sparsity(masks)  # one threshold for all layers
    0.75
    """
    generator = _generator(seed)
    params = _checked_params(model, names)
    return _global_mask(_weight_scores(criterion, params, generator), params, amount)


def random_masks(model: nn.Module, amount: float | Mapping[str, float], *, seed: int,
                 names: Iterable[str] | None = None) -> Masks:
    """Masks pruning ``round(amount · numel)`` weights of each layer chosen at random.

    Introduced in :doc:`pruning`, section *Accuracy against sparsity*: the baseline
    that a pruning criterion must beat. ``amount`` as in :func:`layerwise_masks` (an
    int is a number of weights). The choice depends only on ``seed`` (an
    explicit generator; the global random state is not touched):
    :func:`layerwise_masks` with ``criterion="random"``.
    """
    return layerwise_masks(model, amount, names=names, criterion="random", seed=seed)


def threshold_masks(model: nn.Module, quality: float, *,
                    names: Iterable[str] | None = None) -> Masks:
    """Han et al.'s rule: prune the weights with ``|w| ≤ quality × std(layer's weights)``.

    Introduced in :doc:`pruning`, section *Iterative pruning*. The standard deviation
    is that of the whole weight tensor of each layer as it is now (entries already
    pruned count as zeros), so the same ``quality`` prunes a different fraction of
    each layer.
    """
    quality = check_nonnegative(quality, "quality")
    params = _checked_params(model, names)
    with torch.no_grad():
        return {n: (p.detach().abs() > quality * p.detach().std()).to(p.dtype)
                for n, p in params.items()}


def _check_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> dict[str, nn.Parameter]:
    if not isinstance(masks, Mapping):
        raise TypeError(f"masks must be a mapping from parameter names to tensors, "
                        f"got {type(masks).__name__}")
    check_plain_weights(model, "applying masks")
    params = dict(model.named_parameters(remove_duplicate=False))  # tied: every name
    masked: dict[int, str] = {}
    for name, mask in masks.items():
        if name not in params:
            raise ValueError(f"model has no parameter named {name!r}; "
                             f"available: {list(dict(model.named_parameters()))}")
        other = masked.setdefault(id(params[name]), name)
        if other != name:
            raise ValueError(f"masks {other!r} and {name!r} name the same tensor (tied "
                             f"parameters); give it one mask, e.g. the product of both")
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"mask {name!r} must be a torch.Tensor, got {type(mask).__name__}")
        if mask.shape != params[name].shape:
            raise ValueError(f"mask {name!r} has shape {tuple(mask.shape)} but the parameter "
                             f"has shape {tuple(params[name].shape)}")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError(f"mask {name!r} must contain only 0 and 1")
    return {name: params[name] for name in masks}


def masks_sparsity(masks: Mapping[str, torch.Tensor]) -> float:
    """Fraction of all mask entries that are 0 (pruned).

    Introduced in :doc:`pruning`, section *Magnitude pruning*.

    Examples
    --------
    >>> import torch
    >>> from helpers.prune import masks_sparsity
    >>> masks_sparsity({'a': torch.tensor([True, False]), 'b': torch.tensor([False, False])})
    0.75
    """
    if not isinstance(masks, Mapping) or not masks:
        raise ValueError("masks must be a non-empty mapping from names to tensors")
    zeros = sum(int((m == 0).sum()) for m in masks.values())
    return zeros / sum(m.numel() for m in masks.values())


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """Multiply each named parameter by its mask, in place; return ``model``.

    Introduced in :doc:`pruning`, section *Magnitude pruning*.

    Raises
    ------
    ValueError
        For a mask whose name is not a parameter of ``model``, whose shape differs
        from the parameter's, or which holds values other than 0 and 1; for two masks
        of one tensor (tied parameters: any of its names may carry its one mask).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.prune import apply_masks
    >>> layer = nn.Linear(2, 1)
    >>> mask = torch.tensor([[True, False]])
    >>> _ = apply_masks(layer, {'weight': mask})
    >>> (layer.weight == 0).tolist()
    [[False, True]]
    """
    for name, param in _check_masks(model, masks).items():
        param.mul_(masks[name].to(device=param.device, dtype=param.dtype))
    return model


class MaskEnforcer:
    r"""Keeps pruned weights at zero during fine-tuning.

    Introduced in :doc:`pruning`, section *Accuracy against sparsity*. Pass an instance
    as ``after_step`` to :func:`helpers.train.fit`: after every optimiser step it
    multiplies the parameters by their masks again: the loss gradient of a pruned
    weight :math:`w_{ij}` is :math:`\delta_i a_j`, generally nonzero, and momentum carries
    it on, so without the masks pruned weights would grow back. (Weight decay alone
    cannot revive an exact zero: it adds :math:`\lambda w = 0`, and decoupled decay
    multiplies by :math:`1 - \eta\lambda`.) :meth:`mask_gradients` additionally zeroes
    the gradients of pruned weights, so that they receive no update at all.

    Parameters
    ----------
    masks : mapping
        Parameter name → mask, as returned by :func:`layerwise_masks` and friends.
        They are checked against a model (:func:`apply_masks`' errors) the first time
        they are applied to it, and read then: the steps that follow only multiply.
    """

    def __init__(self, masks: Mapping[str, torch.Tensor]):
        if not isinstance(masks, Mapping) or not masks:
            raise ValueError("masks must be a non-empty mapping from parameter names "
                             "to tensors")
        self.masks: Masks = dict(masks)
        self._layout: tuple = ()
        self._applied: list[tuple[nn.Parameter, torch.Tensor]] = []

    def __call__(self, model: nn.Module) -> None:
        # the parameters, their dtypes and devices: a change (another model, a new
        # parametrisation, a move to the GPU) checks the masks against it again
        layout = (id(model), *((id(p), p.dtype, p.device) for p in model.parameters()))
        if layout != self._layout:
            self._applied = [(param, self.masks[name].to(device=param.device,
                                                          dtype=param.dtype))
                             for name, param in _check_masks(model, self.masks).items()]
            self._layout = layout
        with torch.no_grad():
            for param, mask in self._applied:
                param.mul_(mask)

    def mask_gradients(self, model: nn.Module) -> list[torch.utils.hooks.RemovableHandle]:
        """Register gradient hooks that multiply each gradient by its mask.

        Returns the hook handles; call ``handle.remove()`` on each to undo. Frozen
        parameters (``requires_grad=False``) receive no gradient and get no hook.
        """
        params = _check_masks(model, self.masks)
        handles = []
        for name, param in params.items():
            if not param.requires_grad:
                continue
            mask = self.masks[name].to(device=param.device, dtype=param.dtype)
            handles.append(param.register_hook(lambda g, m=mask: g * m))
        return handles


def make_permanent(model: nn.Module) -> nn.Module:
    """Remove weight re-parametrisations, keeping the effective weights; return ``model``.

    Introduced in :doc:`pruning`, section *The same masks with torch.nn.utils.prune*.
    For every module pruned with ``torch.nn.utils.prune`` this calls
    ``prune.remove(module, name)``: ``name_orig`` and the ``name_mask`` buffer go,
    and ``name`` becomes an ordinary parameter holding ``name_orig * name_mask``.
    Parametrisations registered with ``torch.nn.utils.parametrize`` are removed the
    same way (``remove_parametrizations(..., leave_parametrized=True)``). Masks
    applied with :func:`apply_masks` are already permanent (the zeros are in the
    weights), so such models are returned unchanged. The helpers that read or write
    weights ask for this call when a model still carries re-parametrisations.
    """
    check_model(model)
    for module in model.modules():
        methods = [h for h in module._forward_pre_hooks.values()
                   if isinstance(h, torch_prune.BasePruningMethod)]
        for method in methods:
            # A PruningContainer (after repeated calls) holds its parameter name too.
            torch_prune.remove(module, method._tensor_name)
        if parametrize.is_parametrized(module):
            for tensor_name in list(module.parametrizations):
                parametrize.remove_parametrizations(module, tensor_name,
                                                    leave_parametrized=True)
    return model


# ------------------------------------------------------------------ iterative pruning


@dataclass
class PruneRound:
    """One round of prune → fine-tune.

    Attributes
    ----------
    sparsity : float
        Fraction of the selected weights that are zero after the round.
    val_acc_pruned : float
        Validation accuracy right after pruning, before fine-tuning.
    val_acc_finetuned : float
        Validation accuracy after fine-tuning with the masks.
    """

    sparsity: float
    val_acc_pruned: float
    val_acc_finetuned: float


@dataclass
class IterativeResult:
    """What :func:`iterative_prune` returns: the final masks and one row per round."""

    masks: Masks
    rounds: list[PruneRound] = field(default_factory=list)


def _check_scope(scope: str) -> str:
    if scope not in _SCOPES:
        raise ValueError(f"scope must be one of {_SCOPES}, got {scope!r}")
    return scope


def _sparsity_masks(model: nn.Module, sparsity: float, scope: str, names,
                    previous: Masks | None, criterion="magnitude",
                    generator: torch.Generator | None = None) -> Masks:
    """Masks reaching ``sparsity`` (lowest scores first) that keep every pruned weight pruned."""
    params = _checked_params(model, names)
    scores = _weight_scores(criterion, params, generator)
    if previous is not None:
        # Already pruned weights score -inf, below every score: masks only shrink.
        scores = {n: torch.where(previous[n].to(s.device) == 0, -torch.inf, s)
                  for n, s in scores.items()}
    if scope == "layer":
        return {n: lowest_mask.unchecked(s, round(sparsity * s.numel())).to(
            device=params[n].device, dtype=params[n].dtype) for n, s in scores.items()}
    return _global_mask(scores, params, sparsity)


def iterative_prune(model: nn.Module, data: ClassificationData, *,
                    sparsities: Sequence[float] | None = None,
                    qualities: Sequence[float] | None = None, scope: str = "layer",
                    names: Iterable[str] | None = None, epochs: int = 3, lr: float = 1e-3,
                    seed: int = 0, progress: bool = False,
                    criterion: str | Callable = "magnitude", **fit_kwargs) -> IterativeResult:
    """Han et al.'s (2015) loop: prune, fine-tune with the masks, prune more, …

    Introduced in :doc:`pruning`, section *Iterative pruning*. ``model`` is pruned
    and fine-tuned in place. Weights pruned in one round stay pruned in the next.

    Parameters
    ----------
    model : nn.Module
        A trained network.
    data : ClassificationData
        Fine-tuning uses its training split; the rows report validation accuracy.
    sparsities : sequence of float, optional
        Target sparsity of each round (non-decreasing fractions), reached with
        masks of the given ``scope`` under ``criterion``.
    qualities : sequence of float, optional
        Instead of targets: the quality parameter of each round; a weight is pruned
        when ``|w| ≤ quality × std`` of its layer's weights (:func:`threshold_masks`).
        Give exactly one of ``sparsities`` and ``qualities``.
    scope : {"layer", "global"}
        With ``sparsities``: the same fraction of every layer, or one global threshold.
    names : iterable of str, optional
        Which parameters to prune (see :func:`prunable_parameters`).
    epochs, lr, seed, progress, **fit_kwargs
        Fine-tuning of each round, passed to :func:`helpers.train.fit` (round ``r``
        uses ``seed + r`` for the order of batches).
    criterion : str or callable
        With ``sparsities``: a weight criterion as in :func:`layerwise_masks`
        (default magnitude); its generator is seeded with ``seed``.
    """
    check_data(data)
    _check_scope(scope)
    CRITERIA.resolve(criterion)
    generator = _generator(seed)
    if (sparsities is None) == (qualities is None):
        raise ValueError("give exactly one of sparsities and qualities")
    if sparsities is not None:
        targets = [check_fraction(s, f"sparsities[{k}]") for k, s in enumerate(sparsities)]
        if any(b < a for a, b in zip(targets, targets[1:])):
            raise ValueError(f"sparsities must be non-decreasing, got {targets}")
    else:
        targets = [check_nonnegative(q, f"qualities[{k}]") for k, q in enumerate(qualities)]
    if not targets:
        raise ValueError("iterative pruning needs at least one round")
    check_positive_int(epochs, "epochs")

    result = IterativeResult(masks={})
    previous: Masks | None = None
    for r, target in enumerate(targets):
        if sparsities is not None:
            masks = _sparsity_masks(model, target, scope, names, previous, criterion,
                                    generator)
        else:
            masks = threshold_masks(model, target, names=names)
            if previous is not None:
                masks = {n: m * previous[n] for n, m in masks.items()}
        apply_masks(model, masks)
        acc_pruned = evaluate(model, data, "val")
        fit(model, data, epochs=epochs, lr=lr, after_step=MaskEnforcer(masks),
            keep_start=True, seed=seed + r, progress=progress, desc=f"round {r + 1}",
            **fit_kwargs)
        result.rounds.append(PruneRound(masks_sparsity(masks), acc_pruned,
                                        evaluate(model, data, "val")))
        previous = masks
    result.masks = previous
    return result


# -------------------------------------------------------------------- gradual pruning


def cubic_schedule(step: int, final_sparsity: float, *, initial_sparsity: float = 0.0,
                   begin_step: int = 0, n_pruning_steps: int, frequency: int = 1) -> float:
    """Zhu & Gupta's (2017) gradual sparsity schedule.

    Introduced in :doc:`pruning`, section *Gradual pruning*:

    .. math:: s_t = s_f + (s_i - s_f)\\left(1 - \\frac{t - t_0}{n\\,\\Delta t}\\right)^3,
              \\quad t \\in \\{t_0, t_0 + \\Delta t, \\dots, t_0 + n\\Delta t\\}.

    Sparsity changes only at the pruning steps ``t₀ + kΔt``; between them it stays at
    the value of the last pruning step. Before ``t₀`` it is ``s_i``, after
    ``t₀ + nΔt`` it is ``s_f``.

    Parameters
    ----------
    step : int
        Training step t (≥ 0).
    final_sparsity, initial_sparsity : float
        s_f and s_i, fractions with ``s_i ≤ s_f``.
    begin_step : int
        t₀.
    n_pruning_steps : int
        n, the number of pruning steps.
    frequency : int
        Δt, training steps between two pruning steps.

    Examples
    --------
    >>> from helpers.prune import cubic_schedule
    >>> [round(cubic_schedule(s, 0.9, n_pruning_steps=4), 3) for s in range(5)]
    [0.0, 0.52, 0.787, 0.886, 0.9]
    """
    arguments = _check_schedule(
        (step, final_sparsity, initial_sparsity, begin_step, n_pruning_steps, frequency),
        ("step", "final_sparsity", "initial_sparsity", "begin_step", "n_pruning_steps",
         "frequency"))
    return cubic_sparsity.unchecked(*arguments)


def _check_schedule(values: tuple, names: tuple) -> tuple:
    """The arguments ``(t, s_f, s_i, t0, n, dt)`` of the cubic schedule, checked, by the
    ``names`` their caller gives them."""
    t = check_positive_int(values[0], names[0], allow_zero=True)
    s_f, s_i = (check_fraction(v, name) for v, name in zip(values[1:3], names[1:3]))
    if s_i > s_f:
        raise ValueError(f"{names[2]} ({s_i}) must not exceed {names[1]} ({s_f})")
    t0 = check_positive_int(values[3], names[3], allow_zero=True)
    n = check_positive_int(values[4], names[4])
    dt = check_positive_int(values[5], names[5])
    return t, s_f, s_i, t0, n, dt


def _check_cubic_sparsity(t, s_f, s_i, t0, n, dt) -> None:
    _check_schedule((t, s_f, s_i, t0, n, dt), ("t", "s_f", "s_i", "t0", "n", "dt"))


@checked(_check_cubic_sparsity)
def cubic_sparsity(t: int, s_f: float, s_i: float, t0: int, n: int, dt: int) -> float:
    """Zhu & Gupta's sparsity at step ``t``: from ``s_i`` to ``s_f`` in ``n`` steps.

    Introduced in :doc:`pruning`, section *Gradual pruning*. The sparsity moves only
    at the pruning steps ``t0 + k·dt``, ``k`` clipped to ``0 … n``. Arguments as in
    :func:`cubic_schedule` (``0 <= s_i <= s_f <= 1``; ``t, t0 >= 0``; ``n, dt >= 1``).
    """
    k = min(max((t - t0) // dt, 0), n)
    return s_f + (s_i - s_f) * (1 - k / n) ** 3


class GradualPruner:
    """An ``after_step`` hook that prunes along :func:`cubic_schedule`.

    Introduced in :doc:`pruning`, section *Gradual pruning*. It counts optimiser
    steps; whenever the scheduled sparsity rises it recomputes magnitude masks
    (weights already pruned stay pruned), and after every step it re-applies the
    current masks.

    Parameters
    ----------
    final_sparsity, initial_sparsity, begin_step, n_pruning_steps, frequency
        The schedule (see :func:`cubic_schedule`).
    scope : {"layer", "global"}
        Same fraction of every layer, or one global threshold.
    names : iterable of str, optional
        Which parameters to prune (see :func:`prunable_parameters`).
    criterion : str or callable
        A weight criterion as in :func:`layerwise_masks` (default magnitude).
    seed : int
        Seeds the generator handed to the criterion.
    """

    def __init__(self, final_sparsity: float, *, initial_sparsity: float = 0.0,
                 begin_step: int = 0, n_pruning_steps: int = 10, frequency: int = 1,
                 scope: str = "layer", names: Iterable[str] | None = None,
                 criterion: str | Callable = "magnitude", seed: int = 0):
        self.schedule = dict(final_sparsity=final_sparsity, initial_sparsity=initial_sparsity,
                             begin_step=begin_step, n_pruning_steps=n_pruning_steps,
                             frequency=frequency)
        cubic_schedule(0, **self.schedule)  # validates the arguments
        self.scope = _check_scope(scope)
        self.names = None if names is None else list(names)
        self.criterion = CRITERIA.resolve(criterion)
        self.generator = _generator(seed)
        self.step = 0
        self.sparsity = 0.0
        self.masks: Masks | None = None

    def sparsity_at(self, step: int) -> float:
        """The scheduled sparsity at training step ``step``."""
        return cubic_schedule(step, **self.schedule)

    def __call__(self, model: nn.Module) -> None:
        self.step += 1
        target = self.sparsity_at(self.step)
        if self.masks is None or target > self.sparsity:
            self.masks = _sparsity_masks(model, target, self.scope, self.names, self.masks,
                                         self.criterion, self.generator)
            self.sparsity = target
        apply_masks(model, self.masks)


@dataclass
class GradualResult:
    """What :func:`gradual_prune` returns.

    Attributes
    ----------
    masks : dict
        The final masks.
    sparsity : list of float
        Sparsity of the masks at the end of each epoch.
    val_accuracy : list of float
        Validation accuracy at the end of each epoch.
    """

    masks: Masks
    sparsity: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)


def gradual_prune(model: nn.Module, data: ClassificationData, *, final_sparsity: float,
                  pruning_epochs: int, finetune_epochs: int = 0,
                  initial_sparsity: float = 0.0, n_pruning_steps: int = 10,
                  scope: str = "layer", names: Iterable[str] | None = None,
                  lr: float = 1e-3, batch_size: int = 64, seed: int = 0,
                  progress: bool = False, criterion: str | Callable = "magnitude",
                  **fit_kwargs) -> GradualResult:
    """Train while sparsity rises along Zhu & Gupta's cubic schedule, then fine-tune.

    Introduced in :doc:`pruning`, section *Gradual pruning*. The ``n_pruning_steps``
    pruning steps are spread evenly over the optimiser steps of the first
    ``pruning_epochs`` epochs (t₀ = 0), so the final sparsity is reached by their end;
    ``finetune_epochs`` more epochs train at the final sparsity, keeping the weights
    of the best validation epoch among them. ``model`` is changed in place.

    Each epoch of the pruning phase is one call of :func:`helpers.train.fit` (epoch
    ``e`` shuffles with ``seed + e``), so that its weights, not those of an earlier,
    less sparse epoch, are kept. ``criterion`` chooses the weights as in
    :func:`layerwise_masks` (default magnitude; its generator seeded with ``seed``).
    """
    check_data(data)
    check_positive_int(pruning_epochs, "pruning_epochs")
    check_positive_int(finetune_epochs, "finetune_epochs", allow_zero=True)
    check_positive_int(n_pruning_steps, "n_pruning_steps")
    steps_per_epoch = len(data.loader("train", batch_size))
    frequency = pruning_epochs * steps_per_epoch // n_pruning_steps
    if frequency < 1:
        raise ValueError(f"{n_pruning_steps} pruning steps do not fit into "
                         f"{pruning_epochs * steps_per_epoch} training steps")
    pruner = GradualPruner(final_sparsity, initial_sparsity=initial_sparsity,
                           n_pruning_steps=n_pruning_steps, frequency=frequency,
                           scope=scope, names=names, criterion=criterion, seed=seed)
    result = GradualResult(masks={})
    common = dict(lr=lr, batch_size=batch_size, after_step=pruner, progress=progress,
                  **fit_kwargs)
    for epoch in range(pruning_epochs):
        history = fit(model, data, epochs=1, seed=seed + epoch, desc=f"epoch {epoch + 1}",
                      **common)
        result.sparsity.append(masks_sparsity(pruner.masks))
        result.val_accuracy.extend(history.val_accuracy)
    if finetune_epochs:
        history = fit(model, data, epochs=finetune_epochs, seed=seed + pruning_epochs,
                      keep_start=True, desc="fine-tuning", **common)
        result.sparsity.extend([masks_sparsity(pruner.masks)] * history.epochs)
        result.val_accuracy.extend(history.val_accuracy)
    result.masks = pruner.masks
    return result


# ---------------------------------------------------------------- sensitivity scan


def sensitivity_scan(model: nn.Module, data: ClassificationData, amounts: Sequence[float], *,
                     names: Iterable[str] | None = None,
                     which: str = "val") -> dict[str, list[float]]:
    """Accuracy when one layer at a time is magnitude-pruned, at several amounts.

    Introduced in :doc:`pruning`, section *Sensitivity of each layer*. ``model`` is
    not changed (each trial prunes a copy). No fine-tuning: the scan measures how
    much each layer tolerates before retraining, to choose per-layer amounts.

    Returns
    -------
    dict
        Parameter name → list of accuracies on split ``which``, one per amount.
    """
    check_data(data)
    amounts = list(amounts)
    if not amounts:
        raise ValueError("amounts is empty")
    params = _checked_params(model, names)
    smallest = min(p.numel() for p in params.values())
    for k, a in enumerate(amounts):  # a float is a fraction, an int a count per layer
        check_amount(a, smallest, f"amounts[{k}]")
    scan: dict[str, list[float]] = {}
    for name in params:
        row = []
        for amount in amounts:
            trial = copy.deepcopy(model)
            apply_masks(trial, layerwise_masks(trial, amount, names=[name]))
            row.append(evaluate(trial, data, which))
        scan[name] = row
    return scan


# ------------------------------------------------------------------- sparse kernels


def _csr(weight: torch.Tensor) -> torch.Tensor:
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state"
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support",
                                category=UserWarning)
        return weight.detach().to_sparse_csr()


class CSRLinear(nn.Module):
    """An ``nn.Linear`` for inference whose weight is a ``torch.sparse`` CSR matrix.

    Introduced in :doc:`pruning`, section *Does pruning make the network faster?*.
    Only the nonzero weights are stored (values, column indices, row pointers) and
    multiplied: ``y = (W_csr @ xᵀ)ᵀ + b``. The weight is not a trainable parameter.

    Parameters
    ----------
    linear : nn.Linear
        The (pruned) layer to convert; it is not changed.
    """

    def __init__(self, linear: nn.Linear):
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"CSRLinear converts an nn.Linear, got {type(linear).__name__}")
        check_plain_weights(linear, "CSRLinear")
        check_finite(linear.weight.detach(), "weight")
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = _csr(linear.weight)
        self.bias = None if linear.bias is None else nn.Parameter(
            linear.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.sparse.mm(self.weight, x.reshape(-1, self.in_features).T).T
        y = y.reshape(*x.shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        nnz = self.weight.values().numel()
        return f"in_features={self.in_features}, out_features={self.out_features}, nnz={nnz}"


def to_sparse_csr(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` replaced by a :class:`CSRLinear`.

    Introduced in :doc:`pruning`, section *Does pruning make the network faster?*.
    The copy computes the same outputs (up to rounding) with sparse kernels.
    """
    check_model(model)
    check_plain_weights(model, "to_sparse_csr()")
    if isinstance(model, nn.Linear):
        return CSRLinear(model)
    new = copy.deepcopy(model)
    for name, module in list(new.named_children()):
        setattr(new, name, to_sparse_csr(module))
    return new

"""Training sparse networks: pruning at initialisation, sparse training, tickets, movement.

Every function works with the book's masks (:data:`helpers.prune.Masks`: parameter
name → 0/1 tensor of the weight's shape, over the weights of
:func:`helpers.prune.prunable_parameters`) and with scores of the same layout, whose
**lowest** entries are pruned (:func:`score_masks` turns scores into masks, globally or
per layer, as :func:`helpers.prune.global_masks` does with magnitudes).

* pruning at initialisation, before any training:

  - :func:`snip_scores`: SNIP's connection sensitivity ``|∂L/∂w ⊙ w|`` on one batch
    (Lee, Ajanthan & Torr, ICLR 2019);
  - :func:`grasp_scores`: GraSP's gradient-flow score (Wang, Zhang & Grosse, ICLR
    2020), from a Hessian-gradient product, oriented so that the lowest are pruned;
  - :func:`synflow_scores` and :func:`synflow_masks`: SynFlow, data-free and iterative
    (Tanaka, Kunin, Yamins & Ganguli, NeurIPS 2020);
  - :func:`shuffle_masks`: each layer's mask permuted within the layer, the control of
    Frankle, Dziugaite, Roy & Carbin (ICLR 2021) that keeps only the layers' densities;

* sparse training from scratch: :class:`DynamicSparsity`, an ``after_step`` hook that
  drops the smallest active weights and grows as many inactive ones, at random (SET,
  Mocanu et al., Nature Communications 2018) or by gradient (RigL, Evci et al., ICML
  2020), every layer keeping its number of weights (:func:`drop_and_grow`,
  :func:`cosine_drop_fraction`);
* lottery tickets with rewinding (Frankle & Carbin, ICLR 2019; Frankle, Dziugaite, Roy
  & Carbin, ICML 2020): :class:`RewindPoint` stores the weights of step k,
  :func:`rewind` loads them into a network and applies its masks;
* movement pruning (Sanh, Wolf & Rush, NeurIPS 2020): :class:`MovementScores`
  accumulates ``−∂L/∂W ⊙ W`` over fine-tuning steps, :func:`movement_masks` keeps the
  weights that moved away from zero;
* the cost of training at a sparsity, in dense steps, as RigL's paper counts it:
  :func:`training_cost`.

The weight criteria of :data:`helpers.prune.CRITERIA` score one weight tensor alone
(``score(weight, *, generator)``); SNIP and GraSP need the network and a batch, SynFlow
the whole network, so their scores are functions of the model here, not entries of
that registry.

Introduced in :doc:`sparse-training`; first met in :doc:`faq`, section *Training sparse
networks*.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from ._checks import (
    check_finite, check_float_tensor, check_fraction, check_model, check_plain_weights,
    check_positive_int, checked,
)
from .prune import Masks, _check_masks, _check_scope, apply_masks, prunable_parameters
from .train import evaluation_mode

__all__ = [
    "Scores", "score_masks", "snip_scores", "snip_kernel", "grasp_scores", "grasp_kernel",
    "synflow_scores", "synflow_kernel", "synflow_masks", "synflow_loop", "shuffle_masks",
    "cosine_drop_fraction", "drop_and_grow", "DynamicSparsity", "RewindPoint", "rewind",
    "MovementScores", "movement_masks", "training_cost",
]

#: Parameter name → one score per weight (the lowest are pruned).
Scores = dict[str, torch.Tensor]


# ------------------------------------------------------------------ checks

def _check_scores(scores, name: str = "scores") -> None:
    """A non-empty mapping name → floating-point tensor without NaN or +inf."""
    if not isinstance(scores, Mapping) or not scores:
        raise TypeError(f"{name} must be a non-empty mapping from parameter names to "
                        f"tensors (as snip_scores returns), got {type(scores).__name__}")
    for key, s in scores.items():
        if not isinstance(s, torch.Tensor) or not s.is_floating_point():
            got = s.dtype if isinstance(s, torch.Tensor) else type(s).__name__
            raise TypeError(f"{name}[{key!r}] must be a floating-point tensor, got {got}")
        if s.numel() == 0:
            raise ValueError(f"{name}[{key!r}] is empty")
        if bool(torch.isnan(s).any()) or bool((s == torch.inf).any()):
            raise ValueError(f"{name}[{key!r}] contains NaN or +inf; only -inf (a weight "
                             f"that must stay pruned) is allowed")


def _check_mask_values(masks, name: str = "masks") -> None:
    """A non-empty mapping name → tensor of 0s and 1s."""
    if not isinstance(masks, Mapping) or not masks:
        raise TypeError(f"{name} must be a non-empty mapping from parameter names to 0/1 "
                        f"tensors (helpers.prune.Masks), got {type(masks).__name__}")
    for key, m in masks.items():
        if not isinstance(m, torch.Tensor):
            raise TypeError(f"{name}[{key!r}] must be a torch.Tensor, got "
                            f"{type(m).__name__}")
        if m.numel() == 0:
            raise ValueError(f"{name}[{key!r}] is empty")
        if not bool(((m == 0) | (m == 1)).all()):
            raise ValueError(f"{name}[{key!r}] must contain only 0 and 1")


def _check_batch(model, X, y) -> None:
    """A model with prunable weights, inputs ``X`` and class indices ``y`` of its length."""
    prunable_parameters(check_model(model))
    check_float_tensor(X, "X")
    if not isinstance(y, torch.Tensor) or y.is_floating_point() or y.dtype == torch.bool \
            or y.is_complex():
        got = y.dtype if isinstance(y, torch.Tensor) else type(y).__name__
        raise TypeError(f"y must be a tensor of class indices (torch.long), got {got}")
    if y.dim() != 1 or len(y) != len(X):
        raise ValueError(f"y must have one class index per example of X: shape "
                         f"({len(X)},), got {tuple(y.shape)}")


def _check_temperature(temperature) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature must be a number, got {type(temperature).__name__}")
    if not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a finite number > 0 (GraSP's code uses "
                         f"200), got {temperature}")
    return float(temperature)


def _check_input_shape(input_shape) -> tuple[int, ...]:
    if isinstance(input_shape, Integral) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    if not isinstance(input_shape, Sequence) or isinstance(input_shape, str) \
            or not input_shape:
        raise TypeError(f"input_shape must be the shape of one example without the batch "
                        f"dimension, e.g. (64,) or (1, 28, 28), got {input_shape!r}")
    return tuple(check_positive_int(d, "each dimension of input_shape") for d in input_shape)


def _device(model: nn.Module) -> torch.device:
    return next(iter(prunable_parameters(model).values())).device


# ------------------------------------------------------------------ scores → masks

def _check_score_masks(scores, sparsity, *, scope="global") -> None:
    _check_scores(scores)
    check_fraction(sparsity, "sparsity")
    _check_scope(scope)


@checked(_check_score_masks)
def score_masks(scores: Mapping[str, torch.Tensor], sparsity: float, *,
                scope: str = "global") -> Masks:
    """Masks that prune the lowest ``scores``: ``round(sparsity · N)`` of them.

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. The masks
    of every score function of this module (:func:`snip_scores`, :func:`grasp_scores`,
    :func:`synflow_scores`, :class:`MovementScores`), as
    :func:`helpers.prune.global_masks` and :func:`helpers.prune.layerwise_masks` make
    them from magnitudes. Ties go to the earlier position (the layers in ``scores``'
    order, then row-major).

    Parameters
    ----------
    scores : mapping
        Parameter name → floating-point scores of the weight's shape; ``-inf`` marks a
        weight that must stay pruned (it is pruned first); NaN and ``+inf`` are refused.
    sparsity : float
        Fraction in [0, 1] to prune: of all the weights together (``scope="global"``,
        one threshold, N their total number) or of each layer (``"layer"``, N its size).
    scope : {"global", "layer"}
        One threshold for all layers, or the same fraction of each.

    Returns
    -------
    dict
        Name → mask of the scores' shape, dtype and device: 1 kept, 0 pruned.

    Raises
    ------
    TypeError, ValueError
        For scores that are not a non-empty mapping of floating-point tensors, hold
        NaN or +inf; a sparsity outside [0, 1]; an unknown scope.

    Examples
    --------
    >>> import torch
    >>> from helpers.sparse_training import score_masks
    >>> score_masks({"a": torch.tensor([3.0, 1.0]), "b": torch.tensor([2.0, 0.5])}, 0.5)
    {'a': tensor([1., 0.]), 'b': tensor([1., 0.])}
    """
    if scope == "layer":
        return {n: _lowest(s, round(sparsity * s.numel())) for n, s in scores.items()}
    flat = torch.cat([s.detach().reshape(-1).to(torch.float64) for s in scores.values()])
    mask, start, masks = _lowest(flat, round(sparsity * flat.numel())), 0, {}
    for n, s in scores.items():
        masks[n] = mask[start:start + s.numel()].reshape(s.shape).to(s)
        start += s.numel()
    return masks


def _lowest(scores: torch.Tensor, n_prune: int) -> torch.Tensor:
    order = torch.sort(scores.detach().reshape(-1), stable=True).indices
    mask = torch.ones(scores.numel(), dtype=scores.dtype, device=scores.device)
    mask[order[:n_prune]] = 0
    return mask.reshape(scores.shape)


# ------------------------------------------------------------------ pruning at init

def _trainable_copies(model: nn.Module) -> dict[str, torch.Tensor]:
    """The prunable weights as new leaves that require grad (sharing their storage)."""
    return {n: p.detach().requires_grad_() for n, p in prunable_parameters(model).items()}


def _check_kernel_batch(model, X, y, *rest) -> None:
    _check_batch(model, X, y)


@checked(_check_kernel_batch)
def snip_kernel(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> Scores:
    """SNIP's connection sensitivity ``|∂L/∂w ⊙ w|`` (Lee et al., ICLR 2019).

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. ``L`` is
    the mean cross-entropy of ``model(X)`` against ``y``, in evaluation mode; the
    gradients are taken with respect to copies of the weights
    (``torch.func.functional_call``), so no ``.grad`` changes. Arguments as in
    :func:`snip_scores`, on the model's device.
    """
    weights = _trainable_copies(model)
    with evaluation_mode(model):  # afterwards, every module's own mode again
        loss = F.cross_entropy(functional_call(model, weights, (X,)), y)
    grads = torch.autograd.grad(loss, list(weights.values()))
    return {n: (g * w).abs().detach() for (n, w), g in zip(weights.items(), grads)}


def snip_scores(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> Scores:
    """SNIP: each weight's connection sensitivity on one batch, ``|∂L/∂w ⊙ w|``.

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. Lee,
    Ajanthan & Torr, "SNIP: Single-shot network pruning based on connection
    sensitivity", ICLR 2019: the sensitivity of the loss to removing a connection, to
    first order ``|g ⊙ w|``, computed once at initialisation; the weights of lowest
    sensitivity are pruned (``score_masks(snip_scores(model, X, y), sparsity)``). The
    authors normalise the scores by their sum, which changes no ranking; it is left out.

    Parameters
    ----------
    model : nn.Module
        A classifier (its weights are read, not changed). It runs in evaluation mode
        (dropout off, BatchNorm with its running statistics), as in the reference
        code of Tanaka et al. (2020) by default; every module's mode is restored.
    X : torch.Tensor
        One batch of inputs, shape ``(batch, *input_shape)``, floating point.
    y : torch.Tensor
        Its class indices, shape ``(batch,)``, integer.

    Returns
    -------
    dict
        Parameter name → nonnegative scores of the weight's shape and dtype, for every
        weight of :func:`helpers.prune.prunable_parameters` (frozen weights included);
        the lowest are pruned.

    Raises
    ------
    TypeError, ValueError
        For a model that is not a module or has no Linear/Conv weight, or carries a
        ``torch.nn.utils.prune`` re-parametrisation (call
        :func:`helpers.prune.make_permanent` first); for ``X`` not a floating-point
        tensor of finite values, ``y`` not integer class indices of ``X``'s length.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.sparse_training import snip_scores
    >>> layer = nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[1.0, -2.0], [0.0, 3.0]]))
    >>> # logits (-1, 3): ∂L/∂W = (softmax - onehot) xᵀ = ±0.982 in every entry
    >>> snip_scores(layer, torch.tensor([[1.0, 1.0]]), torch.tensor([0]))["weight"]
    tensor([[0.9820, 1.9640],
            [0.0000, 2.9460]])
    """
    _check_batch(model, X, y)
    device = _device(model)
    return snip_kernel.unchecked(model, X.to(device), y.to(device))


def _check_grasp_kernel(model, X, y, temperature) -> None:
    _check_batch(model, X, y)
    _check_temperature(temperature)


@checked(_check_grasp_kernel)
def grasp_kernel(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                 temperature: float) -> Scores:
    """``w ⊙ Hg`` by double backpropagation: GraSP's ``S = −w ⊙ Hg``, negated.

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. ``g =
    ∇L``; ``∇(g · ḡ) = Hg`` with ``ḡ`` held constant. ``L``: cross-entropy of ``model(X)
    / temperature`` in evaluation mode. Arguments as in :func:`grasp_scores`; no
    ``.grad`` changes.
    """
    weights = _trainable_copies(model)
    with evaluation_mode(model):
        logits = functional_call(model, weights, (X,)) / temperature
    grads = torch.autograd.grad(F.cross_entropy(logits, y), list(weights.values()),
                                create_graph=True)
    g_dot_g = sum((g * g.detach()).sum() for g in grads)  # one factor held constant
    hg = torch.autograd.grad(g_dot_g, list(weights.values()), materialize_grads=True)
    return {n: (w * h).detach() for (n, w), h in zip(weights.items(), hg)}


def grasp_scores(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *,
                 temperature: float = 1.0) -> Scores:
    """GraSP's score, oriented like every score here: the **lowest** are pruned.

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. Wang,
    Zhang & Grosse, "Picking winning tickets before training by preserving gradient
    flow", ICLR 2020: removing the weight ``δ = −w`` changes the gradient norm ``gᵀg``
    by about ``2 δᵀHg``, and GraSP scores ``S = −w ⊙ Hg`` (``H`` the Hessian of the
    loss, ``g`` its gradient) and removes the weights with the **largest** ``S``, those
    whose removal reduces the gradient flow least (their ``pruner/GraSP.py``: ``-theta_q
    Hg``, the top ones removed). This function returns ``−S = w ⊙ Hg``, so that
    ``score_masks(grasp_scores(...), sparsity)`` prunes the same weights; Tanaka et
    al.'s re-implementation returns the same ``Hg ⊙ w`` ("negate to remove top
    percent"). The scores are signed: negative ones are pruned first.

    Parameters
    ----------
    model : nn.Module
        A classifier (read only), run in evaluation mode as in :func:`snip_scores`.
    X, y : torch.Tensor
        One batch and its class indices, as in :func:`snip_scores`. The authors use 10
        (CIFAR-10) or 100 examples per class.
    temperature : float
        The logits are divided by it before the softmax (> 0); the authors' code uses
        200 (which flattens the softmax at initialisation), the paper's formula 1.

    Returns
    -------
    dict
        Parameter name → ``w ⊙ Hg`` of the weight's shape and dtype (signed; the
        lowest are pruned). ``Hg`` is over the prunable weights only (biases and
        normalisation parameters held fixed), as in the authors' code.

    Raises
    ------
    TypeError, ValueError
        As :func:`snip_scores`, and for a temperature that is not a positive number.

    Examples
    --------
    >>> import torch
    >>> from helpers.models import mlp
    >>> from helpers.sparse_training import grasp_scores, score_masks
    >>> _ = torch.manual_seed(0)
    >>> net = mlp([4, 3, 2])
    >>> scores = grasp_scores(net, torch.randn(8, 4), torch.arange(8) % 2)
    >>> [tuple(s.shape) for s in scores.values()]
    [(3, 4), (2, 3)]
    >>> round(float(1 - sum(m.sum() for m in score_masks(scores, 0.5).values()) / 18), 2)
    0.5
    """
    _check_batch(model, X, y)
    temperature = _check_temperature(temperature)
    device = _device(model)
    return grasp_kernel.unchecked(model, X.to(device), y.to(device), temperature)


@torch.no_grad()
def _linearised(model: nn.Module) -> nn.Module:
    """A float64 copy in evaluation mode with every parameter and buffer made ``|·|``."""
    net = copy.deepcopy(model).double().eval()
    for tensor in net.state_dict().values():  # weights, biases, BatchNorm statistics
        if tensor.is_floating_point():
            tensor.abs_()
    for p in net.parameters():
        p.grad = None
    return net


def _check_synflow_kernel(net, input_shape) -> None:
    prunable_parameters(check_model(net, "net"))
    _check_input_shape(input_shape)


@checked(_check_synflow_kernel)
def synflow_kernel(net: nn.Module, input_shape: Sequence[int]) -> Scores:
    """SynFlow's scores ``∂R/∂w ⊙ w`` of a linearised network, ``R = 1ᵀ f(1)``.

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. ``net``
    has every parameter replaced by ``|θ|`` (float64, evaluation mode;
    :func:`synflow_scores` makes such a copy), so ``R`` sums the products of the weights
    along every input-output path. The input: ones of shape ``(1, *input_shape)``.
    Scores in float64, nonnegative.
    """
    weights = _trainable_copies(net)
    ones = torch.ones(1, *input_shape, dtype=torch.float64, device=_device(net))
    flow = functional_call(net, weights, (ones,)).sum()
    grads = torch.autograd.grad(flow, list(weights.values()), materialize_grads=True)
    return {n: (g * w).detach() for (n, w), g in zip(weights.items(), grads)}


def synflow_scores(model: nn.Module, input_shape: Sequence[int]) -> Scores:
    """SynFlow's synaptic saliency of every weight, without data (one round).

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. Tanaka,
    Kunin, Yamins & Ganguli, "Pruning neural networks without any data by iteratively
    conserving synaptic flow", NeurIPS 2020: in a copy of the network whose parameters
    are all replaced by their absolute values (weights, biases and BatchNorm's
    parameters and statistics, as their ``SynFlow.score`` does with the whole
    ``state_dict``), in float64 and evaluation mode, an input of ones gives ``R = 1ᵀ
    f(1)``, the sum over all paths of the products of their weights; a weight's score is
    ``∂R/∂w ⊙ w``, the flow through it. For a network without biases each layer's scores
    sum to ``R``.

    Parameters
    ----------
    model : nn.Module
        The network (not changed: the scores come from a copy).
    input_shape : sequence of int
        One example's shape without the batch dimension, e.g. ``(64,)``.

    Returns
    -------
    dict
        Parameter name → nonnegative scores, float64, of the weight's shape.

    Raises
    ------
    TypeError, ValueError
        For a model that is not a module, has no Linear/Conv weight or is
        re-parametrised (call :func:`helpers.prune.make_permanent` first); for an
        ``input_shape`` that is not a sequence of positive ints.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.sparse_training import synflow_scores
    >>> net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Linear(2, 1, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0, -2.0], [3.0, 0.5]]))
    ...     _ = net[1].weight.copy_(torch.tensor([[2.0, -1.0]]))
    >>> synflow_scores(net, (2,))["0.weight"]  # |w_ij| · |v_i|
    tensor([[2.0000, 4.0000],
            [3.0000, 0.5000]], dtype=torch.float64)
    """
    check_model(model)
    check_plain_weights(model, "synflow_scores()")
    prunable_parameters(model)
    input_shape = _check_input_shape(input_shape)
    return synflow_kernel.unchecked(_linearised(model), input_shape)


def _check_synflow_loop(net, sparsity, input_shape, iterations) -> None:
    _check_synflow_kernel(net, input_shape)
    check_fraction(sparsity, "sparsity")
    check_positive_int(iterations, "iterations")


@checked(_check_synflow_loop)
def synflow_loop(net: nn.Module, sparsity: float, input_shape: Sequence[int],
                 iterations: int) -> Masks:
    """SynFlow's iterative pruning of a linearised network ``net`` (changed in place).

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. Round
    ``k`` of ``iterations`` scores the weights left (:func:`synflow_kernel`) and prunes,
    with one global threshold, down to the sparsity ``1 − (1 −
    sparsity)^(k/iterations)``; a pruned weight stays pruned. Arguments as in
    :func:`synflow_masks`.
    """
    masks = {n: torch.ones_like(w) for n, w in prunable_parameters(net).items()}
    for k in range(1, iterations + 1):
        scores = synflow_kernel.unchecked(net, input_shape)
        scores = {n: s.where(masks[n] > 0, -torch.inf) for n, s in scores.items()}
        masks = score_masks.unchecked(scores, 1 - (1 - sparsity) ** (k / iterations))
        apply_masks(net, masks)
    return masks


def synflow_masks(model: nn.Module, sparsity: float, input_shape: Sequence[int],
                  iterations: int = 100) -> Masks:
    """SynFlow's masks: prune to ``sparsity`` in ``iterations`` rounds, without data.

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. Tanaka et
    al. (NeurIPS 2020) score (:func:`synflow_scores`) and prune repeatedly, on an
    exponential schedule: after round ``k`` the sparsity is ``1 − (1 −
    sparsity)^(k/iterations)`` (their ``sparse = sparsity**((epoch + 1) / epochs)``, in
    densities), each round with one global threshold; re-scoring after each round is
    what keeps a layer from being cut off entirely (their "layer collapse"). The model
    is not changed: the rounds run on a linearised copy (:func:`synflow_loop`).

    Parameters
    ----------
    model : nn.Module
        The network (read only).
    sparsity : float
        Final fraction of all prunable weights to prune, in [0, 1]: exactly
        ``round(sparsity · N)`` of the N weights are pruned.
    input_shape : sequence of int
        One example's shape without the batch dimension, e.g. ``(64,)``.
    iterations : int
        Rounds of scoring and pruning (> 0; the paper uses 100).

    Returns
    -------
    dict
        Parameter name → mask of the weight's shape, dtype and device (1 kept).

    Raises
    ------
    TypeError, ValueError
        As :func:`synflow_scores`, and for a sparsity outside [0, 1] or a number of
        iterations that is not a positive int.

    Examples
    --------
    >>> import torch
    >>> from helpers.models import mlp
    >>> from helpers.prune import masks_sparsity
    >>> from helpers.sparse_training import synflow_masks
    >>> _ = torch.manual_seed(0)
    >>> masks = synflow_masks(mlp([64, 32, 10]), 0.9, (64,), iterations=10)
    >>> round(masks_sparsity(masks), 4), masks["0.weight"].dtype  # 2131 of 2368 weights
    (0.8999, torch.float32)
    """
    check_model(model)
    check_plain_weights(model, "synflow_masks()")
    params = prunable_parameters(model)
    sparsity = check_fraction(sparsity, "sparsity")
    input_shape = _check_input_shape(input_shape)
    iterations = check_positive_int(iterations, "iterations")
    masks = synflow_loop.unchecked(_linearised(model), sparsity, input_shape, iterations)
    return {n: masks[n].to(dtype=p.dtype, device=p.device) for n, p in params.items()}


def _check_shuffle(masks, seed) -> None:
    _check_mask_values(masks)
    check_positive_int(seed, "seed", allow_zero=True)


@checked(_check_shuffle)
def shuffle_masks(masks: Mapping[str, torch.Tensor], seed: int) -> Masks:
    """Each layer's mask randomly permuted within the layer (Frankle et al., ICLR 2021).

    Introduced in :doc:`sparse-training`, section *Pruning at initialisation*. "Pruning
    neural networks at initialization: why are we missing the mark?": if a method's
    masks, shuffled, train as well, the method found only how much of each layer to
    keep. Each layer keeps its number of ones; ``masks`` (name → 0/1 tensor) is not
    changed; the permutations are drawn from a ``torch.Generator`` seeded with ``seed``
    (an int ≥ 0), one per layer in order. Raises TypeError or ValueError for masks that
    are not 0/1 tensors or a bad seed. (Tanaka et al.'s ``Pruner.shuffle`` binds the
    permuted mask to a local name only, so their masks stay as they were.)
    """
    generator = torch.Generator().manual_seed(seed)
    shuffled = {}
    for name, mask in masks.items():
        order = torch.randperm(mask.numel(), generator=generator).to(mask.device)
        shuffled[name] = mask.reshape(-1)[order].reshape(mask.shape).clone()
    return shuffled


# ------------------------------------------------------------------ dynamic sparse training

def _check_cosine(step, end_step, drop_fraction) -> None:
    check_positive_int(step, "step", allow_zero=True)
    check_positive_int(end_step, "end_step")
    check_fraction(drop_fraction, "drop_fraction")


@checked(_check_cosine)
def cosine_drop_fraction(step: int, end_step: int, drop_fraction: float) -> float:
    """RigL's drop fraction at ``step``: ``α/2 · (1 + cos(π t / T_end))``, 0 from T_end.

    Introduced in :doc:`sparse-training`, section *Sparse training from scratch*. Evci
    et al. (ICML 2020), eq. 1: the fraction of each layer's active weights that an
    update replaces decays from ``α`` (the ``drop_fraction``, in [0, 1]) at step 0 to 0
    at ``end_step`` (``T_end`` > 0); ``step`` ≥ 0. TypeError or ValueError otherwise.

    Examples
    --------
    >>> from helpers.sparse_training import cosine_drop_fraction
    >>> [round(cosine_drop_fraction(t, 100, 0.3), 3) for t in (0, 50, 100)]
    [0.3, 0.15, 0.0]
    """
    if step >= end_step:
        return 0.0
    return drop_fraction / 2 * (1 + math.cos(math.pi * step / end_step))


def _check_drop_and_grow(mask, weight, grow_scores, n, regrow_dropped=False) -> None:
    _check_mask_values({"mask": mask}, "the mask")
    check_float_tensor(weight, "weight")
    check_float_tensor(grow_scores, "grow_scores")
    if not mask.shape == weight.shape == grow_scores.shape:
        raise ValueError(f"mask, weight and grow_scores must have one shape, got "
                         f"{tuple(mask.shape)}, {tuple(weight.shape)} and "
                         f"{tuple(grow_scores.shape)}")
    if not isinstance(regrow_dropped, bool):
        raise TypeError(f"regrow_dropped must be True or False, got {regrow_dropped!r}")
    active = int(mask.count_nonzero())
    limit = active if regrow_dropped else min(active, mask.numel() - active)
    check_positive_int(n, "n", allow_zero=True)
    if n > limit:
        raise ValueError(f"n={n} exceeds the {active} active weights or the "
                         f"{mask.numel() - active} inactive ones that could grow; "
                         f"choose n ≤ {limit}")


@checked(_check_drop_and_grow)
def drop_and_grow(mask: torch.Tensor, weight: torch.Tensor, grow_scores: torch.Tensor,
                  n: int, regrow_dropped: bool = False) -> torch.Tensor:
    """One layer's update of SET and RigL: drop ``n`` active weights, grow ``n``.

    Introduced in :doc:`sparse-training`, section *Sparse training from scratch*. Drops
    the ``n`` active weights of smallest ``|weight|`` and grows the ``n`` of highest
    ``grow_scores`` among those inactive before the update (or, ``regrow_dropped=True``,
    also among the dropped, as RigL's code does). All three tensors of one shape;
    returns the new 0/1 mask (mask's dtype).
    """
    active = mask.reshape(-1) > 0
    drop_scores = weight.detach().abs().reshape(-1).where(active, torch.inf)
    drop = torch.sort(drop_scores, stable=True).indices[:n]  # smallest |w| first
    kept = active.clone()
    kept[drop] = False
    closed = kept if regrow_dropped else active  # who may not grow
    candidates = grow_scores.detach().reshape(-1).where(~closed, -torch.inf)
    grow = torch.sort(candidates, descending=True, stable=True).indices[:n]
    kept[grow] = True
    return kept.reshape(mask.shape).to(mask.dtype)


_METHODS = ("rigl", "set")


class DynamicSparsity:
    """An ``after_step`` hook for sparse training from scratch: SET and RigL.

    Introduced in :doc:`sparse-training`, section *Sparse training from scratch*. Pass
    it to :func:`helpers.train.fit` as ``after_step`` with masks of the sparsity to
    train at (e.g. :func:`helpers.prune.random_masks`, or densities from
    :func:`helpers.allocation.erk`), after :func:`helpers.prune.apply_masks`. It counts
    optimiser steps ``t = 1, 2, …``; at every update step (``t`` a multiple of
    ``update_every`` and ``t < end_step``) each layer drops the ``⌊f(t) · active⌋``
    active weights of smallest ``|w|`` and grows as many (:func:`drop_and_grow`), with
    ``f(t) = α/2 · (1 + cos(π t / T_end))`` (:func:`cosine_drop_fraction`):

    * ``method="rigl"`` (Evci, Gale, Menick, Castro & Elsen, "Rigging the lottery:
      making all tickets winners", ICML 2020): grows the inactive weights of largest
      ``|∂L/∂w|``, the dense gradient of the step just taken (``.grad`` holds it: a
      pruned weight is stored as zero and still receives its gradient);
    * ``method="set"`` (Mocanu et al., "Scalable training of artificial neural
      networks with adaptive sparse connectivity inspired by network science", Nature
      Communications 2018): grows inactive weights at random (seeded), here with
      RigL's drop rule and schedule, as in RigL's SET baseline.

    Grown weights start at 0; every layer keeps exactly its number of active weights.
    Between updates, and after them, the weights outside the masks are set to zero, as
    :class:`helpers.prune.MaskEnforcer` does.

    A weight dropped in an update is not regrown in the same update: growth is among the
    connections inactive before it (``regrow_dropped=False``), so every update swaps
    exactly ``k`` weights. RigL's code (``sparse_optimizers_base._get_update_op``) and
    Algorithm 1 of the paper grow among all the connections inactive after the drop,
    the just-dropped included; one regrown that way keeps its value, so fewer than
    ``k`` weights change. ``regrow_dropped=True`` does that.

    Two differences from RigL's code remain: the update follows the optimiser step
    (RigL's replaces the step on update iterations), and the optimiser's state of a
    grown weight is not reset (RigL sets its momentum to zero; :func:`helpers.train.fit`
    does not hand its optimiser to hooks, and Adam's moments of a pruned weight go on
    accumulating its gradients).

    Parameters
    ----------
    masks : mapping
        Parameter name → 0/1 mask (:data:`helpers.prune.Masks`), checked against the
        model at the first call; copied, not changed (the current masks are
        ``self.masks``).
    method : {"rigl", "set"}
        How to grow.
    update_every : int
        ``ΔT``, optimiser steps between updates (> 0; RigL uses 100).
    end_step : int
        ``T_end``, the step from which the masks stay fixed (> 0; RigL: 75% of
        training).
    drop_fraction : float
        ``α`` in [0, 1], the fraction replaced at step 0 (RigL: 0.3).
    seed : int
        Seeds SET's random growth (unused by RigL).
    regrow_dropped : bool
        Let an update regrow the weights it dropped (RigL's code), see above.

    Attributes
    ----------
    masks : dict
        The current masks.
    step : int
        Optimiser steps seen.
    updates : list of dict
        One entry per update: ``{"step", "drop_fraction", "changed"}``, ``changed``
        mapping each layer to the number of its weights dropped (and grown).

    Raises
    ------
    TypeError, ValueError
        At construction, for masks that are not a non-empty mapping of 0/1 tensors, an
        unknown method, and arguments outside their ranges; at a call, for masks that
        do not fit the model (:func:`helpers.prune.apply_masks`' errors), a
        re-parametrised model (call :func:`helpers.prune.make_permanent` first) and,
        with RigL, a masked weight without a gradient at an update step.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.sparse_training import DynamicSparsity
    >>> layer = nn.Linear(3, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[0.5, 2.0, 0.0]]))
    >>> layer.weight.grad = torch.tensor([[0.0, 0.0, -4.0]])
    >>> hook = DynamicSparsity({"weight": torch.tensor([[1.0, 1.0, 0.0]])},
    ...                        update_every=1, end_step=10, drop_fraction=1.0)
    >>> hook(layer)  # drops ⌊f(1) · 2⌋ = 1 weight: the smaller, 0.5; grows the third
    >>> hook.masks["weight"], layer.weight.detach()
    (tensor([[0., 1., 1.]]), tensor([[0., 2., 0.]]))
    """

    def __init__(self, masks: Mapping[str, torch.Tensor], *, method: str = "rigl",
                 update_every: int = 100, end_step: int, drop_fraction: float = 0.3,
                 seed: int = 0, regrow_dropped: bool = False):
        _check_mask_values(masks)
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
        self.method = method
        self.update_every = check_positive_int(update_every, "update_every")
        self.end_step = check_positive_int(end_step, "end_step")
        self.drop_fraction = check_fraction(drop_fraction, "drop_fraction")
        self.generator = torch.Generator().manual_seed(
            check_positive_int(seed, "seed", allow_zero=True))
        if not isinstance(regrow_dropped, bool):
            raise TypeError(f"regrow_dropped must be True or False, got {regrow_dropped!r}")
        self.regrow_dropped = regrow_dropped
        self.masks: Masks = {n: m.detach().clone() for n, m in masks.items()}
        self.step = 0
        self.updates: list[dict] = []
        self._layout: tuple = ()
        self._params: dict[str, nn.Parameter] = {}

    def _parameters(self, model: nn.Module) -> dict[str, nn.Parameter]:
        layout = (id(model), *((id(p), p.shape) for p in model.parameters()))
        if layout != self._layout:  # a new model: check the masks against it
            self._params = _check_masks(model, self.masks)
            self._layout = layout
        return self._params

    def _grow_scores(self, name: str, param: torch.Tensor) -> torch.Tensor:
        if self.method == "set":
            return torch.rand(param.shape, generator=self.generator).to(param.device)
        if param.grad is None:
            raise ValueError(f"parameter {name!r} has no gradient at step {self.step}: "
                             f"RigL grows by gradient, so the hook must run after "
                             f"backward (as fit's after_step) on trainable weights")
        check_finite(param.grad, f"the gradient of {name!r}")
        return param.grad.detach().abs()

    def __call__(self, model: nn.Module) -> None:
        params = self._parameters(model)
        self.step += 1
        update = self.step % self.update_every == 0 and self.step < self.end_step
        fraction = cosine_drop_fraction.unchecked(self.step, self.end_step,
                                                  self.drop_fraction)
        changed = {}
        with torch.no_grad():
            for name, param in params.items():
                old = self.masks[name].to(param.device)
                keep = old
                if update:
                    active = int(old.count_nonzero())
                    n = int(fraction * active)
                    if not self.regrow_dropped:
                        n = min(n, old.numel() - active)
                    new = drop_and_grow.unchecked(old, param, self._grow_scores(name, param),
                                                  n, self.regrow_dropped)
                    keep = old * new  # grown weights start at 0, dropped ones go
                    self.masks[name], changed[name] = new, n
                param.mul_(keep.to(param.dtype))
        if update:
            self.updates.append({"step": self.step, "drop_fraction": fraction,
                                 "changed": changed})


# ------------------------------------------------------------------ lottery tickets

def _state_of(model: nn.Module, what: str) -> dict[str, torch.Tensor]:
    check_model(model)
    check_plain_weights(model, what)
    return copy.deepcopy(model.state_dict())


class RewindPoint:
    """An ``after_step`` hook that keeps a copy of the network at step ``at_step``.

    Introduced in :doc:`sparse-training`, section *Lottery tickets and rewinding*. The
    lottery ticket hypothesis (Frankle & Carbin, "The lottery ticket hypothesis: finding
    sparse, trainable neural networks", ICLR 2019) resets the weights a pruned network
    keeps to their values at initialisation; for deeper networks Frankle, Dziugaite, Roy
    & Carbin ("Linear mode connectivity and the lottery ticket hypothesis", ICML 2020)
    rewind them to their values early in training, at step ``k``. Pass the hook to
    :func:`helpers.train.fit` as ``after_step``: after the ``at_step``-th optimiser step
    it stores a deep copy of ``model.state_dict()`` (weights, biases, buffers) in
    ``self.state``; later steps leave it. For ``k = 0``, the initialisation, call
    :meth:`capture` before training. :func:`rewind` loads the state back.

    Parameters
    ----------
    at_step : int
        ``k`` ≥ 1, counted over every call (several :func:`~helpers.train.fit` calls
        with one hook continue the count).

    Attributes
    ----------
    state : dict or None
        The stored state, ``None`` until step ``at_step``.
    step : int
        Optimiser steps seen.

    Raises
    ------
    TypeError, ValueError
        For ``at_step`` not a positive int (0: use :meth:`capture`); at a call, for a
        re-parametrised model (call :func:`helpers.prune.make_permanent` first).

    Examples
    --------
    >>> from torch import nn
    >>> from helpers.sparse_training import RewindPoint
    >>> point = RewindPoint(2)
    >>> layer = nn.Linear(2, 1)
    >>> point(layer); point.state is None
    True
    >>> point(layer); sorted(point.state)
    ['bias', 'weight']
    """

    def __init__(self, at_step: int):
        if at_step == 0 and not isinstance(at_step, bool):
            raise ValueError("at_step=0 is the initialisation, before any step: call "
                             "RewindPoint.capture(model) before training instead")
        self.at_step = check_positive_int(at_step, "at_step")
        self.step = 0
        self.state: dict[str, torch.Tensor] | None = None

    @classmethod
    def capture(cls, model: nn.Module) -> RewindPoint:
        """A point at step 0 holding a deep copy of ``model``'s state now (read only)."""
        point = cls.__new__(cls)
        point.at_step, point.step = 0, 0
        point.state = _state_of(model, "RewindPoint.capture()")
        return point

    def __call__(self, model: nn.Module) -> None:
        self.step += 1
        if self.step == self.at_step:
            self.state = _state_of(model, "RewindPoint")


def _check_rewind(model, state, masks=None) -> None:
    check_model(model)
    check_plain_weights(model, "rewind()")
    if isinstance(state, RewindPoint):
        if state.state is None:
            raise ValueError(f"the RewindPoint(at_step={state.at_step}) was not reached: "
                             f"training ran {state.step} steps; choose an earlier step")
        state = state.state
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a RewindPoint or a state_dict, got "
                        f"{type(state).__name__}")
    own = model.state_dict()
    if set(state) != set(own):
        raise ValueError(f"state does not fit the model: missing "
                         f"{sorted(set(own) - set(state))}, unexpected "
                         f"{sorted(set(state) - set(own))}")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(own[key].shape):
            raise ValueError(f"state[{key!r}] has shape {tuple(tensor.shape)}, the model's "
                             f"{tuple(own[key].shape)}: it was stored from another network")
    if masks is not None:
        _check_masks(model, masks)


@checked(_check_rewind)
def rewind(model: nn.Module, state: RewindPoint | Mapping[str, torch.Tensor],
           masks: Mapping[str, torch.Tensor] | None = None) -> nn.Module:
    """Load the stored weights into ``model`` and apply ``masks``: a lottery ticket.

    Introduced in :doc:`sparse-training` (*Lottery tickets and rewinding*) (Frankle &
    Carbin, ICLR 2019; Frankle et al., ICML 2020). ``state``: a reached
    :class:`RewindPoint` or a ``state_dict`` of this network; ``masks`` (optional): name
    → 0/1 mask, as :func:`helpers.prune.apply_masks` takes. ``model`` changes in place
    and is returned; ``state`` is copied from, not shared. TypeError or ValueError for a
    state of another network or misfit masks.
    """
    stored = state.state if isinstance(state, RewindPoint) else state
    model.load_state_dict(stored)
    return model if masks is None else apply_masks(model, masks)


# ------------------------------------------------------------------ movement pruning

class MovementScores:
    """An ``after_step`` hook that accumulates movement scores ``S ← S − ∂L/∂W ⊙ W``.

    Introduced in :doc:`sparse-training`, section *Movement pruning*. Sanh, Wolf & Rush,
    "Movement pruning: adaptive sparsity by fine-tuning", NeurIPS 2020: during
    fine-tuning a weight that moves away from zero (its gradient of the opposite sign to
    it) gains score, one that moves towards zero loses it; their first-order score is
    ``S = −Σ_t (∂L/∂W)⁽ᵗ⁾ ⊙ W⁽ᵗ⁾`` (up to the learning rate), ``W⁽ᵗ⁾`` the weights at
    which step ``t``'s gradient was taken. The hook keeps a copy of the weights after
    each call (those of the next gradient; at construction, the starting ones), so the
    sum is exact whatever the optimiser. The lowest scores are pruned
    (:func:`movement_masks`). Place it after a :class:`helpers.prune.MaskEnforcer` in a
    list of hooks, so that it sees the masked weights. In the paper the scores are
    parameters trained alongside the weights (a straight-through estimator), the mask is
    recomputed from them at every step and the sparsity rises on a cubic schedule; here
    the scores accumulate during ordinary fine-tuning and the caller makes masks from
    them when it chooses (once, or at the sparsities of
    :func:`helpers.prune.cubic_schedule`).

    Parameters
    ----------
    model : nn.Module
        The network about to be fine-tuned (read, not changed).
    names : iterable of str, optional
        The weights to score (default: :func:`helpers.prune.prunable_parameters`);
        each must be trainable.

    Attributes
    ----------
    scores : dict
        Parameter name → accumulated score, of the weight's shape and dtype.
    steps : int
        Steps accumulated.

    Raises
    ------
    TypeError, ValueError
        For a model that is not a module, is re-parametrised (call
        :func:`helpers.prune.make_permanent` first), holds non-finite weights, or a
        selected weight that is frozen; at a call, for a weight without a gradient
        (the hook runs after backward, as ``after_step``).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.sparse_training import MovementScores
    >>> layer = nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[1.0, -1.0]]))
    >>> scores = MovementScores(layer)
    >>> layer.weight.grad = torch.tensor([[-0.5, -0.5]])  # the first grows, the second shrinks
    >>> scores(layer); scores.scores["weight"]
    tensor([[ 0.5000, -0.5000]])
    """

    def __init__(self, model: nn.Module, names: Iterable[str] | None = None):
        params = prunable_parameters(model, names)
        for name, p in params.items():
            check_finite(p.detach(), f"parameter {name!r}")
            if not p.requires_grad:
                raise ValueError(f"parameter {name!r} is frozen (requires_grad=False) and "
                                 f"does not move; leave it out with names=")
        self.names = list(params)
        self.scores: Scores = {n: torch.zeros_like(p.detach()) for n, p in params.items()}
        self._weights = {n: p.detach().clone() for n, p in params.items()}
        self.steps = 0

    def __call__(self, model: nn.Module) -> None:
        params = prunable_parameters(model, self.names)
        for name, p in params.items():
            if p.grad is None:
                raise ValueError(f"parameter {name!r} has no gradient: MovementScores "
                                 f"runs after backward, as fit's after_step")
        with torch.no_grad():
            for name, p in params.items():
                self.scores[name] -= p.grad * self._weights[name]
                self._weights[name] = p.detach().clone()
        self.steps += 1


def movement_masks(scores: MovementScores | Mapping[str, torch.Tensor], sparsity: float,
                   *, scope: str = "global") -> Masks:
    """Movement pruning's masks: keep the weights of highest movement score.

    Introduced in :doc:`sparse-training` (*Movement pruning*) (Sanh, Wolf & Rush,
    NeurIPS 2020, hard movement pruning's top-v selection): :func:`score_masks` of the
    accumulated scores.

    Parameters
    ----------
    scores : MovementScores or mapping
        The hook, or its ``scores`` (name → floating-point tensor).
    sparsity : float
        Fraction to prune, in [0, 1].
    scope : {"global", "layer"}
        One threshold for all layers, or the same fraction of each.

    Returns
    -------
    dict
        Name → 0/1 mask of the scores' shape and dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`score_masks`; ValueError for a hook that has not seen a step yet.

    Examples
    --------
    >>> import torch
    >>> from helpers.sparse_training import movement_masks
    >>> movement_masks({"w": torch.tensor([0.3, -0.2, 0.1, 0.0])}, 0.5)
    {'w': tensor([1., 0., 1., 0.])}
    """
    if isinstance(scores, MovementScores):
        if scores.steps == 0:
            raise ValueError("the MovementScores hook has seen no step: pass it to "
                             "fit(..., after_step=...) first")
        scores = scores.scores
    return score_masks(scores, sparsity, scope=scope)


# ------------------------------------------------------------------ training cost

def _check_training_cost(densities, *, dense_gradient_at=()) -> None:
    if isinstance(densities, (str, bytes)) or not isinstance(densities, Sequence):
        raise TypeError(f"densities must be a sequence of floats (one per step), got "
                        f"{type(densities).__name__}")
    for d in densities:
        check_fraction(d, "every density")
    if isinstance(dense_gradient_at, (str, bytes)) or not isinstance(dense_gradient_at,
                                                                     Iterable):
        raise TypeError(f"dense_gradient_at must be step numbers, got "
                        f"{type(dense_gradient_at).__name__}")
    for t in dense_gradient_at:
        check_positive_int(t, "every step of dense_gradient_at")
        if t > len(densities):
            raise ValueError(f"dense_gradient_at names step {t}, but the run has only "
                             f"{len(densities)} steps")


@checked(_check_training_cost)
def training_cost(densities: Sequence[float], *,
                  dense_gradient_at: Iterable[int] = ()) -> float:
    """The floating-point operations of a training run, in dense training steps.

    Introduced in :doc:`sparse-training`, section *Sparse training from scratch*. Evci
    et al. (ICML 2020, section 4 and appendix H) count a training step as three products
    of the layer's size: the forward pass, the gradient of the activations and the
    gradient of the weights, each ``d · f_D`` for a layer of density ``d`` (``f_D`` a
    dense forward pass). A dense step costs 1 here, a step at density ``d`` costs ``d``;
    a step at which RigL computes the dense weight gradient to choose where to grow
    costs ``(2d + 1)/3`` instead (their ``(3 f_S ΔT + 2 f_S + f_D)/ (ΔT + 1)`` per step,
    averaged over an update period). The count is of multiply-adds that sparse kernels
    would do; a dense kernel multiplying zeros, as PyTorch on a CPU does here, takes the
    dense time whatever the density.

    Parameters
    ----------
    densities : sequence of float
        The density (fraction of weights kept, in [0, 1]) of each training step
        ``t = 1, 2, …``: one overall density, or of the layers that dominate the cost.
    dense_gradient_at : iterable of int
        The steps (1-based) at which the dense gradient is computed, e.g.
        ``[u["step"] for u in DynamicSparsity(...).updates]``.

    Returns
    -------
    float
        The run's cost in dense steps (divide by the steps of an epoch for dense
        epochs).

    Raises
    ------
    TypeError, ValueError
        For densities that are not a sequence of fractions, or a step of
        ``dense_gradient_at`` outside ``1 … len(densities)``.

    Examples
    --------
    >>> from helpers.sparse_training import training_cost
    >>> training_cost([1.0] * 10)              # ten dense steps
    10.0
    >>> round(training_cost([0.1] * 10), 3)    # ten steps at 90% sparsity
    1.0
    >>> round(training_cost([0.1] * 10, dense_gradient_at=[5]), 3)  # one RigL update
    1.3
    """
    cost = [float(d) for d in densities]
    for t in set(dense_gradient_at):
        cost[t - 1] = (2 * cost[t - 1] + 1) / 3
    return float(sum(cost))

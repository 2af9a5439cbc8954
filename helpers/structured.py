"""Structured pruning: importance of neurons and channels, and their physical removal.

A *unit* is a neuron of an ``nn.Linear`` layer (one row of its weight) or a channel
of an ``nn.Conv2d`` layer (one filter). Removing a unit deletes its row or filter,
the matching entries of a BatchNorm that follows, and the weights that read the
unit in the next Linear or Conv layer: the result is a smaller *dense* network that
computes the same function as the original with that unit's output set to zero.

The functions work on flat ``nn.Sequential`` networks such as
:func:`helpers.models.mlp` and :func:`helpers.models.small_cnn`; layers are named as
in ``model.named_children()`` (``"0"``, ``"2"``, …). Between a layer and the next
Linear/Conv layer there may be the layers of :data:`helpers.layers.LAYER_KINDS` of
the kinds :data:`helpers.layers.STRUCTURED_KINDS`: one BatchNorm, activations with
f(0) = 0 (ReLU, LeakyReLU, ELU, GELU, SiLU, Tanh, …), Dropout, Identity, 2-D pooling
(after a Conv), and a Flatten.

Which units go is decided by a *unit criterion* (:data:`CRITERIA`, or any callable
``score(model, layer, *, X, y, batch_size, generator)`` returning one score per unit,
see :mod:`helpers.criteria`): the weight norms of Li et al. (2017), the BatchNorm
scales of Network Slimming (Liu et al. 2017, :func:`slim_channels`), activations, the
Taylor criterion of Molchanov et al. (2017), or random scores.

Where the units lie in an activation: a Conv2d's channels are axis 1 of
``(N, C, H, W)``; a Linear layer's neurons are the *last* axis of its output, also
when it is applied per position to inputs of shape ``(N, …, features)`` (a token-wise
MLP). A Flatten then interleaves them: after a Conv the next Linear reads the
columns of channel ``c`` as one block of ``H·W``, after a per-position Linear it
reads neuron ``u`` at columns ``u, u + units, u + 2·units, …``. Layouts that mix a
unit with its neighbours (pooling after a Linear, a Flatten that keeps the batch
axis elsewhere, a BatchNorm without affine parameters, whose output for a silenced
unit is not zero) are rejected with an error. These layout rules, and the removal
itself, are those of :mod:`helpers.dependency`: a layer, its BatchNorm and the next
layer form a dependency group of one producer, removed by
:func:`helpers.dependency.slice_group`.

Introduced in :doc:`pruning`, section *Structured pruning*.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral

import torch
from torch import nn

from ._checks import (
    check_amount, check_finite, check_fraction, check_model, check_plain_weights,
    check_positive_int,
)
from .criteria import Registry
from .dependency import (
    DependencyGroup, _check_affine, _check_indices, _unit_of_column, _zero, slice_group,
)
from .layers import layers_of_kind
from .train import evaluation_mode

__all__ = ["removable_layers", "neuron_importance", "lowest", "zero_units",
           "remove_neurons", "remove_channels", "prune_units", "slim_channels",
           "remove_dead_neurons", "CRITERIA"]

#: Unit criteria by name (filled below): ``score(model, layer, *, X, y, batch_size,
#: generator)`` returns one score per neuron or channel of ``layer`` (the lowest go
#: first); ``X``, ``y`` are the data passed by the caller (or None), ``generator`` a
#: ``torch.Generator`` seeded by the caller's ``seed``. Register another with
#: ``@CRITERIA.register("name")``.
CRITERIA = Registry("unit", "score(model, layer, *, X, y, batch_size, generator) -> "
                            "one score per unit")

#: The layer kinds of :data:`helpers.layers.LAYER_KINDS` that structured removal reads:
#: the producers (neurons of Linear, channels of Conv2d, all in ``WEIGHT_LAYERS``), a
#: BatchNorm, and the modules that pass each unit on alone, mapping a zero unit to zero.
_PRODUCERS = layers_of_kind("producer")
_BATCHNORMS = layers_of_kind("norm")
_PASS_THROUGH = layers_of_kind("elementwise", "pool")
_POOLS = layers_of_kind("pool")
_FLATTEN = layers_of_kind("flatten")


@dataclass
class _Block:
    """A prunable layer, what follows it, and the layer that reads its units."""

    producer: nn.Module
    bn: nn.Module | None
    consumer: nn.Module
    flatten: bool        # a Flatten between the producer and a Linear consumer
    probe: nn.Module     # the module whose output is "the unit's activation"
    consumer_name: str
    producer_name: str
    bn_name: str | None

    def group(self) -> DependencyGroup:
        """The layers as a dependency group of one producer (the removal engine's input)."""
        n = _n_units(self.producer)
        columns = _unit_of_column(self.consumer.weight.shape[1], n,
                                  isinstance(self.producer, nn.Linear))
        layout = () if len(columns) == n else \
            ((self.consumer_name, "in", tuple(columns.tolist())),)
        norms = () if self.bn is None else (self.bn_name,)
        return DependencyGroup((self.producer_name,), norms, (self.consumer_name,), n, layout)


def _children(model: nn.Module) -> list[tuple[str, nn.Module]]:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"structured pruning works on a flat nn.Sequential, "
                        f"got {type(model).__name__}")
    check_plain_weights(model, "structured pruning")
    children = list(model.named_children())
    names = {id(m): n for n, m in children}
    repeated = [names[id(m)] for m in model if any(True for _ in m.parameters())
                and sum(m is other for other in model) > 1]
    if repeated:
        raise ValueError(f"layer {repeated[0]!r} appears more than once in the Sequential; "
                         f"structured pruning removes the units of one layer at a time: use "
                         f"helpers.dependency.prune_groups, which prunes a reused layer as "
                         f"one group")
    owners: dict[int, str] = {}
    for name, module in children:
        for p in module.parameters():
            if owners.setdefault(id(p), name) != name:
                raise ValueError(f"layers {owners[id(p)]!r} and {name!r} share a parameter "
                                 f"(tied weights); structured pruning removes the units of "
                                 f"one layer at a time and would untie them: use "
                                 f"helpers.dependency.prune_groups, which prunes them as one")
    return children


def _block(model: nn.Module, layer: str) -> _Block:
    children = _children(model)
    names = [n for n, _ in children]
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a layer name (str) such as {names[0]!r}, "
                        f"got {type(layer).__name__}")
    if layer not in names:
        raise ValueError(f"model has no layer named {layer!r}; layers: {names}")
    i = names.index(layer)
    producer = children[i][1]
    if not isinstance(producer, _PRODUCERS) or (
            isinstance(producer, nn.Conv2d) and producer.groups != 1):
        raise TypeError(f"layer {layer!r} is a {type(producer).__name__}; only nn.Linear "
                        f"and (ungrouped) nn.Conv2d layers have removable units")
    bn, bn_name, flatten, probe = None, None, False, producer
    linear = isinstance(producer, nn.Linear)
    for name, module in children[i + 1:]:
        if isinstance(module, _BATCHNORMS) and bn is None and not flatten:
            expected = nn.BatchNorm1d if linear else nn.BatchNorm2d
            if not isinstance(module, expected):
                raise TypeError(f"{type(module).__name__} {name!r} cannot follow a "
                                f"{type(producer).__name__} ({layer!r}); expected "
                                f"{expected.__name__}")
            if module.num_features != _n_units(producer):
                raise ValueError(f"BatchNorm {name!r} has {module.num_features} features but "
                                 f"layer {layer!r} has {_n_units(producer)} units")
            _check_affine(name, module, layer)
            bn = probe = module
            bn_name = name
        elif isinstance(module, _PASS_THROUGH):
            if isinstance(module, _POOLS) and (flatten or linear):
                where = "a Flatten" if flatten else f"Linear layer {layer!r}"
                raise TypeError(f"pooling module {name!r} after {where} pools across "
                                f"units; its units cannot be pruned through it")
            if not flatten:
                probe = module
        elif isinstance(module, _FLATTEN):
            if flatten:
                raise TypeError(f"two Flatten modules after layer {layer!r}")
            if (module.start_dim, module.end_dim) != (1, -1):
                raise TypeError(f"Flatten {name!r} has start_dim={module.start_dim}, "
                                f"end_dim={module.end_dim}; only nn.Flatten() (1, -1) "
                                f"keeps the units of {layer!r} apart from the batch")
            flatten = True
        elif isinstance(module, nn.Linear):
            if isinstance(producer, nn.Conv2d) and not flatten:
                raise TypeError(f"Linear {name!r} follows Conv {layer!r} without a Flatten")
            if module.in_features % _n_units(producer):
                raise ValueError(f"Linear {name!r} has {module.in_features} inputs, not a "
                                 f"multiple of the {_n_units(producer)} units of {layer!r}")
            return _Block(producer, bn, module, flatten, probe, name, layer, bn_name)
        elif isinstance(module, nn.Conv2d):
            if not isinstance(producer, nn.Conv2d) or flatten or module.groups != 1:
                raise TypeError(f"Conv {name!r} cannot read the units of layer {layer!r}")
            return _Block(producer, bn, module, flatten, probe, name, layer, bn_name)
        else:
            raise TypeError(f"unsupported module {type(module).__name__} ({name!r}) between "
                            f"layer {layer!r} and the next Linear/Conv layer")
    raise ValueError(f"layer {layer!r} is the output layer: its units are the model's "
                     f"outputs and cannot be removed")


def _n_units(module: nn.Module) -> int:
    return module.out_features if isinstance(module, nn.Linear) else module.out_channels


def _consumer_weight_per_unit(block: _Block) -> torch.Tensor:
    """The consumer's weights grouped by the unit they read: shape (units, out, …)."""
    w = block.consumer.weight.detach()
    owner = block.group().owner(block.consumer_name, "in").to(w.device)
    order = torch.sort(owner, stable=True).indices  # each unit's columns, in order
    n = _n_units(block.producer)
    return w[:, order].reshape(w.shape[0], n, -1, *w.shape[2:]).transpose(0, 1)


def _per_unit(block: _Block, a: torch.Tensor) -> torch.Tensor:
    """An activation as ``(examples, units, positions)``; the unit axis must fit."""
    n = _n_units(block.producer)
    if isinstance(block.producer, nn.Linear):
        if block.bn is not None and a.dim() > 2:
            raise ValueError(f"a BatchNorm1d after a Linear layer normalises axis 1, but the "
                             f"layer's {n} units are the last axis of its {a.dim()}-D "
                             f"output; this model cannot be pruned by units")
        if a.dim() < 2 or a.shape[-1] != n:
            raise ValueError(f"expected the {n} units as the last axis of the activation, "
                             f"got shape {tuple(a.shape)}")
        return a.reshape(a.shape[0], -1, n).transpose(1, 2)
    if a.dim() < 2 or a.shape[1] != n:
        raise ValueError(f"expected the {n} channels as axis 1 of the activation, "
                         f"got shape {tuple(a.shape)}")
    return a.reshape(a.shape[0], n, -1)


def removable_layers(model: nn.Module) -> list[str]:
    """Names of the layers whose neurons or channels can be removed (all but the last).

    Introduced in :doc:`pruning`, section *Structured pruning*.
    """
    out = []
    for name, module in _children(model):
        if isinstance(module, _PRODUCERS):
            try:
                _block(model, name)
            except ValueError:
                continue
            out.append(name)
    return out


def _activations(model: nn.Module, block: _Block, X: torch.Tensor, y: torch.Tensor | None,
                 batch_size: int) -> torch.Tensor:
    """Per-example unit scores: mean |a| (y is None) or |mean over positions of a·∂L/∂a|."""
    device = next(model.parameters()).device
    store: dict[str, torch.Tensor] = {}

    def hook(module, inputs, output):
        if y is not None:
            # A leaf of its own: ∂L/∂a without touching the parameters' .grad, and
            # also when the caller has frozen the parameters.
            output = output.detach().requires_grad_(True)
        store["a"] = output
        return output

    handle = block.probe.register_forward_hook(hook)
    scores = []
    try:
        with evaluation_mode(model):
            for start in range(0, len(X), batch_size):
                xb = X[start:start + batch_size].to(device)
                if y is None:
                    with torch.no_grad():
                        model(xb)
                    scores.append(_per_unit(block, store["a"]).abs().mean(dim=2))
                else:
                    yb = y[start:start + batch_size].to(device)
                    with torch.enable_grad():
                        # Summed loss: each example's gradient is its own.
                        loss = nn.functional.cross_entropy(model(xb), yb, reduction="sum")
                        a = store["a"]
                        (grad,) = torch.autograd.grad(loss, [a])
                    scores.append(_per_unit(block, a.detach() * grad).mean(dim=2).abs())
    finally:
        handle.remove()
    return torch.cat(scores).mean(dim=0)


def _check_unit_data(name: str, X, y, need_y: bool) -> None:
    """The data of an activation-based criterion: X (and y) given, matching, finite."""
    if X is None or (need_y and y is None):
        raise ValueError(f"criterion {name!r} needs data: pass {'X and y' if need_y else 'X'}")
    if not isinstance(X, torch.Tensor) or len(X) == 0:
        raise ValueError("X must be a non-empty tensor of examples")
    check_finite(X, "X")
    if y is not None and (not isinstance(y, torch.Tensor) or len(y) != len(X)):
        raise ValueError(f"y must be a tensor with one label per example of X ({len(X)})")


def _weight_norm(p: int, outgoing: bool):
    """The criterion: norm ``p`` of each unit's incoming (or outgoing) weights."""
    def score(model, layer, **_):
        block = _block(model, layer)
        w = _consumer_weight_per_unit(block) if outgoing else block.producer.weight.detach()
        return w.flatten(1).norm(p=p, dim=1)
    return score


for _name, _p, _outgoing in (("l1", 1, False), ("l2", 2, False), ("l1_out", 1, True),
                             ("l2_out", 2, True)):
    CRITERIA.register(_name)(_weight_norm(_p, _outgoing))


@CRITERIA.register("bn_scale")
def _bn_scale(model, layer, **_):
    block = _block(model, layer)
    if block.bn is None:
        raise ValueError(f"criterion 'bn_scale' needs a BatchNorm after layer {layer!r}, "
                         f"and there is no BatchNorm after it")
    return block.bn.weight.detach().abs()


@CRITERIA.register("activation")
def _activation(model, layer, *, X=None, y=None, batch_size=256, **_):
    _check_unit_data("activation", X, y, need_y=False)
    return _activations(model, _block(model, layer), X, None, batch_size)


@CRITERIA.register("taylor")
def _taylor(model, layer, *, X=None, y=None, batch_size=256, **_):
    _check_unit_data("taylor", X, y, need_y=True)
    return _activations(model, _block(model, layer), X, y, batch_size)


@CRITERIA.register("random")
def _random(model, layer, *, generator=None, **_):
    return torch.rand(_n_units(_block(model, layer).producer), generator=generator)


def _unit_scores(model: nn.Module, layer: str, rule, *, X=None, y=None,
                 batch_size: int = 256, generator: torch.Generator | None = None):
    """``rule``'s scores of the units of ``layer``, checked: one finite float per unit."""
    block = _block(model, layer)
    for name, p in block.producer.named_parameters():
        check_finite(p.detach(), f"layer {layer!r} {name}")
    scores = rule(model, layer, X=X, y=y, batch_size=batch_size, generator=generator)
    n = _n_units(block.producer)
    if not isinstance(scores, torch.Tensor) or scores.shape != (n,):
        got = tuple(scores.shape) if isinstance(scores, torch.Tensor) else \
            type(scores).__name__
        raise ValueError(f"unit criterion {CRITERIA.name_of(rule)!r} must return one score "
                         f"per unit of layer {layer!r}, shape ({n},), got {got}")
    check_finite(scores.detach(), f"the scores of layer {layer!r}")
    return scores.detach().cpu()


def _seeded(seed) -> torch.Generator:
    return torch.Generator().manual_seed(check_positive_int(seed, "seed", allow_zero=True))


def neuron_importance(model: nn.Module, layer: str, criterion: str | Callable = "l1", *,
                      X: torch.Tensor | None = None, y: torch.Tensor | None = None,
                      batch_size: int = 256, seed: int = 0) -> torch.Tensor:
    """One importance score per neuron (Linear) or channel (Conv2d) of ``layer``.

    Introduced in :doc:`pruning`, section *Which neurons matter*. Low scores mark
    the units to remove first.

    Parameters
    ----------
    model : nn.Sequential
        The network (not changed).
    layer : str
        Name of a Linear or Conv2d layer that is not the output layer.
    criterion : str or callable
        A name of :data:`CRITERIA`: ``"l1"`` / ``"l2"``: norm of the unit's incoming
        weights (its row, or its filter: the criterion of Li et al. 2017);
        ``"l1_out"`` / ``"l2_out"``: norm of its outgoing weights in the next layer;
        ``"bn_scale"``: ``|γ|`` of the BatchNorm that follows (Network Slimming);
        ``"activation"``: mean absolute activation (after BatchNorm and ReLU) over
        ``X``, averaged over positions; ``"taylor"``: the first-order Taylor
        criterion of Molchanov et al. (2017), ``|mean over positions of a · ∂L/∂a|``
        averaged over the examples of ``(X, y)``, L the cross-entropy (without their
        per-layer normalisation); ``"random"``: uniform scores drawn with ``seed``.
        Or a callable ``score(model, layer, *, X, y, batch_size, generator)``
        returning one score per unit (see :mod:`helpers.criteria`).
    X, y : torch.Tensor, optional
        Data for ``"activation"`` (X) and ``"taylor"`` (X and y); use the
        training or validation split, never the test split.
    batch_size : int
        Examples per forward pass.
    seed : int
        Seeds the generator handed to the criterion (``"random"`` draws from it).

    Returns
    -------
    torch.Tensor
        Shape ``(units,)``, on the CPU.

    Raises
    ------
    TypeError
        For a criterion that is neither a name nor callable, or a layer that has no
        removable units.
    ValueError
        For an unknown criterion name, a criterion that lacks its data (X, y) or its
        BatchNorm, scores of the wrong shape, or a layer that cannot be pruned.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.structured import neuron_importance
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> with torch.no_grad():
    ...     _ = model[0].weight.copy_(torch.tensor([[1.0, -1.0], [0.1, 0.0], [0.0, 3.0]]))
    >>> neuron_importance(model, '0', 'l1')
    tensor([2.0000, 0.1000, 3.0000])
    """
    rule = CRITERIA.resolve(criterion)
    return _unit_scores(model, layer, rule, X=X, y=y, batch_size=batch_size,
                        generator=_seeded(seed))


def lowest(scores: torch.Tensor, amount: float) -> list[int]:
    """Indices of the ``round(amount · len(scores))`` lowest scores, ascending by score.

    Introduced in :doc:`pruning`, section *Which neurons matter*. Ties go to the
    smaller index first (a stable sort), as in :func:`helpers.prune.magnitude_mask`.
    An int ``amount`` is the number of indices, as in ``torch.nn.utils.prune``.

    Examples
    --------
    >>> import torch
    >>> from helpers.structured import lowest
    >>> lowest(torch.tensor([2.0, 0.1, 3.0, 0.5]), 0.5)
    [1, 3]
    """
    if not isinstance(scores, torch.Tensor) or scores.dim() != 1 or len(scores) == 0:
        raise ValueError("scores must be a non-empty one-dimensional tensor")
    check_finite(scores, "scores")
    n = check_amount(amount, len(scores))
    order = torch.sort(scores, stable=True).indices
    return order[:n].tolist()


@torch.no_grad()
def zero_units(model: nn.Module, layer: str, indices: Sequence[int]) -> nn.Module:
    """Set the outputs of some units of ``layer`` to zero, in place; return ``model``.

    Introduced in :doc:`pruning`, section *Physical removal*. Zeroes the units' rows
    or filters and biases and, if a BatchNorm follows, their scale γ and shift β, so
    the units output exactly 0 (in evaluation mode): the *structured mask* that
    :func:`remove_neurons` / :func:`remove_channels` turn into a smaller model.
    """
    block = _block(model, layer)
    idx = _check_indices(indices, _n_units(block.producer), f"layer {layer!r}", "units")
    _zero(dict(model.named_children()), block.group(), idx)
    return model


def _drop_units(model: nn.Module, layer: str, indices) -> None:
    """Remove units of ``layer`` from ``model`` itself (the caller's own copy)."""
    block = _block(model, layer)
    n = _n_units(block.producer)
    drop = set(_check_indices(indices, n, f"layer {layer!r}", "units"))
    if drop:
        keep = torch.tensor([i for i in range(n) if i not in drop], dtype=torch.long)
        slice_group.unchecked(dict(model.named_children()), block.group(), keep)


def _remove_units(model: nn.Module, layer: str, indices,
                  kind: type | tuple[type, ...]) -> nn.Module:
    block = _block(model, layer)
    if not isinstance(block.producer, kind):
        raise TypeError(f"layer {layer!r} is a {type(block.producer).__name__}, "
                        f"expected {kind.__name__}")
    _check_indices(indices, _n_units(block.producer), f"layer {layer!r}", "units")
    new = copy.deepcopy(model)
    _drop_units(new, layer, indices)
    return new


def remove_neurons(model: nn.Module, layer: str, indices: Sequence[int]) -> nn.Module:
    """A smaller copy of ``model`` without the given neurons of Linear ``layer``.

    Introduced in :doc:`pruning`, section *Physical removal*. Deletes the neurons'
    rows (and biases) in ``layer``, their entries in a BatchNorm1d that follows, and
    the matching columns of the next Linear layer. ``model`` is not changed; the copy
    keeps the layer names, so several layers can be shrunk one after the other. It
    computes the same outputs as ``zero_units(model, layer, indices)``.

    Examples
    --------
    >>> from torch import nn
    >>> from helpers.structured import remove_neurons
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> smaller = remove_neurons(model, '0', [1])
    >>> smaller[0], smaller[2]
    (Linear(in_features=4, out_features=2, bias=True), Linear(in_features=2, out_features=2, bias=True))
    """
    return _remove_units(model, layer, indices, nn.Linear)


def remove_channels(model: nn.Module, layer: str, indices: Sequence[int]) -> nn.Module:
    """A smaller copy of ``model`` without the given channels of Conv2d ``layer``.

    Introduced in :doc:`pruning`, section *Channel pruning of a CNN*. Deletes the
    channels' filters (and biases), their BatchNorm2d entries (γ, β, running mean and
    variance), and what reads them: the input channels of the next Conv2d, or, after
    a Flatten, the block of ``H·W`` columns of each channel in the next Linear.
    ``model`` is not changed; the copy computes, in evaluation mode, the same outputs
    as ``zero_units(model, layer, indices)``.
    """
    return _remove_units(model, layer, indices, nn.Conv2d)


def prune_units(model: nn.Module, amount: float, *, criterion: str | Callable = "l2",
                layers: Sequence[str] | None = None, X: torch.Tensor | None = None,
                y: torch.Tensor | None = None, seed: int = 0) -> nn.Module:
    """A smaller copy of ``model`` without the lowest-scoring units of each layer.

    Introduced in :doc:`pruning`, section *Physical removal*. For each layer in
    ``layers`` (by default :func:`removable_layers`), first to last, removes
    ``round(amount · units)`` neurons or channels with the lowest
    :func:`neuron_importance` under ``criterion`` (a name of :data:`CRITERIA` or a
    callable unit criterion), scored on the network as shrunk so far.
    ``criterion="random"`` removes units chosen at random instead (the baseline; they
    depend only on ``seed``, which seeds one generator for all layers). ``model`` is
    not changed. An int ``amount`` is the number of units removed from each layer (as
    ``amount`` of ``torch.nn.utils.prune.ln_structured``); every layer keeps at least
    one unit. Errors as in :func:`neuron_importance`.
    """
    if not isinstance(amount, Integral):
        check_fraction(amount, "amount", inclusive_high=False)
    rule = CRITERIA.resolve(criterion)
    generator = _seeded(seed)
    names = removable_layers(model) if layers is None else list(layers)
    new = copy.deepcopy(model)
    for layer in names:
        scores = _unit_scores(new, layer, rule, X=X, y=y, generator=generator)
        n_drop = check_amount(amount, len(scores), allow_all=False)
        _drop_units(new, layer, lowest(scores, n_drop))  # on the one copy
    return new


def _scored_layers(model: nn.Module, criterion) -> dict[str, torch.Tensor]:
    """``{layer: scores}`` of the removable layers that ``criterion`` can score (a layer
    whose criterion raises ValueError, e.g. one without a BatchNorm for ``"bn_scale"``,
    is left out)."""
    rule = CRITERIA.resolve(criterion)
    scores, why = {}, []
    for layer in removable_layers(model):
        try:
            scores[layer] = _unit_scores(model, layer, rule)
        except ValueError as error:
            why.append(str(error))
    if not scores:
        reason = f" ({why[0]})" if why else ""
        raise ValueError(f"no layer of the model can be scored with criterion "
                         f"{CRITERIA.name_of(rule)!r}{reason}")
    return scores


def slim_channels(model: nn.Module, fraction: float, *,
                  criterion: str | Callable = "bn_scale") -> nn.Module:
    """A smaller copy of ``model`` without the channels whose BatchNorm scale ``|γ|`` is smallest.

    Introduced in :doc:`pipeline`, section *Network Slimming*. As in Liu et al. (2017)
    the threshold is global: the scales of all BatchNorm layers are ranked together and
    the ``round(fraction · N)`` smallest channels go, N being the number of channels
    followed by a BatchNorm. A layer always keeps at least one channel: a channel
    whose removal would empty its layer is skipped and the next smallest is taken.
    Channels are removed physically (as :func:`remove_channels`, or
    :func:`remove_neurons` for Linear layers), so the result is a smaller dense
    network.

    Parameters
    ----------
    model : nn.Sequential
        A flat network with BatchNorm after its layers, e.g.
        :func:`helpers.models.small_cnn`; it is not changed.
    fraction : float
        Fraction in [0, 1] of the channels to remove.
    criterion : str or callable
        The unit criterion ranked across layers (:data:`CRITERIA`, or a callable
        unit criterion); by default ``"bn_scale"``, Network Slimming's ``|γ|``.
        Layers it cannot score (ValueError) are left whole.

    Raises
    ------
    ValueError
        For a ``fraction`` outside [0, 1], or a model with no layer the criterion can
        score (for ``"bn_scale"``: no BatchNorm after a prunable layer).
    """
    check_model(model)
    check_plain_weights(model, "slim_channels()")
    fraction = check_fraction(fraction, "fraction")
    scores = _scored_layers(model, criterion)
    entries = [(float(s), layer, i) for layer, layer_scores in scores.items()
               for i, s in enumerate(layer_scores)]
    entries.sort(key=lambda e: e[0])  # stable: ties keep layer order, then index
    remaining = {layer: len(s) for layer, s in scores.items()}
    drop: dict[str, list[int]] = {layer: [] for layer in scores}
    budget = round(fraction * len(entries))
    for _, layer, i in entries:
        if budget == 0:
            break
        if remaining[layer] > 1:
            drop[layer].append(i)
            remaining[layer] -= 1
            budget -= 1
    slim = copy.deepcopy(model)
    for layer, indices in drop.items():
        _drop_units(slim, layer, indices)  # on the one copy
    return slim


def remove_dead_neurons(model: nn.Sequential) -> nn.Sequential:
    """Remove the hidden neurons that cannot affect the output: a smaller, equivalent model.

    Introduced in :doc:`benchmark-results` (the benchmark measures every pruned model
    after this clean-up). Heavy weight pruning leaves neurons whose outgoing weights are
    all zero, or whose incoming weights are all zero and whose bias is ≤ 0 (so ReLU
    outputs 0). Removing them with :func:`remove_neurons` changes no output and saves
    their biases and rows. Repeated until nothing changes (removing a neuron can
    disconnect one in the layer before). At least one neuron per layer is kept.

    Parameters
    ----------
    model : nn.Sequential
        A flat sequential network as :func:`removable_layers` accepts (Linear or
        Conv layers; the units of any layout). It is not changed. A unit whose
        incoming weights are zero counts as dead only when a ReLU alone follows it
        (no BatchNorm, no other activation), since only then is its output 0.

    Returns
    -------
    nn.Sequential
        A copy with the dead neurons removed (``model`` itself if there are none); the
        same outputs for every input.
    """
    changed, copied = True, False
    while changed:
        changed = False
        for name in removable_layers(model):
            block = _block(model, name)
            layer = block.producer
            with torch.no_grad():
                # read by nothing: every weight of the next layer on this unit is zero
                no_out = (_consumer_weight_per_unit(block).flatten(1) == 0).all(dim=1)
                # outputs ReLU(b) = 0 whatever the input; only where nothing but ReLU,
                # Dropout or Identity follows (another activation or a BatchNorm maps
                # the constant to a nonzero value)
                between = _between(model, name, block.consumer_name)
                if all(isinstance(m, (nn.ReLU, nn.Dropout, nn.Identity)) for m in between) \
                        and any(isinstance(m, nn.ReLU) for m in between):
                    no_in = (layer.weight.flatten(1) == 0).all(dim=1)
                    if layer.bias is not None:
                        no_in &= layer.bias <= 0
                else:
                    no_in = torch.zeros_like(no_out)
            dead = torch.nonzero(no_out | no_in).reshape(-1).tolist()
            dead = dead[:_n_units(layer) - 1]
            if dead:
                if not copied:  # one copy, then removal in place
                    model, copied = copy.deepcopy(model), True
                _drop_units(model, name, dead)
                changed = True
                break
    return model


def _between(model: nn.Module, first: str, last: str) -> list[nn.Module]:
    """The modules strictly between the layers named ``first`` and ``last``."""
    names = [n for n, _ in model.named_children()]
    return [model.get_submodule(n) for n in names[names.index(first) + 1:names.index(last)]]

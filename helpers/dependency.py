"""Dependency groups: channels that must be removed together, and their removal.

In a residual network ``y = x + f(x)`` the channels of ``x`` and of ``f(x)`` are
added one to one: removing channel ``c`` from the layer that produced ``x`` but not
from the last layer of ``f`` makes the addition fail, and removing it from both
breaks every other layer that reads or writes the same stream. Fang et al. (*DepGraph:
Towards Any Structural Pruning*, CVPR 2023) call the layers coupled in this way a
*dependency group*: its channels can be removed only together, everywhere at once.

This module finds the groups of a network by tracing it with ``torch.fx`` and
following each layer's output channels through the operations that act channel by
channel (BatchNorm, activations, pooling, Flatten) to the layers that read them; an
addition merges the channels of its two inputs into one group. It removes a group's
channels physically (:func:`remove_group`, which slices every layer of the group with
:func:`slice_group`), with the same outputs as zeroing them (:func:`zero_group`).
It is the teaching version of what the Torch-Pruning library
(``torch_pruning.DependencyGraph``) does for any model.

Supported layers: ``nn.Conv2d`` (ungrouped) and ``nn.Linear`` produce and read
channels; ``nn.BatchNorm1d/2d`` follow them; ReLU, LeakyReLU, GELU, Tanh, Dropout,
Identity, max/average pooling and Flatten pass them through; ``+`` (``operator.add``,
``torch.add``) couples them. Anything else raises ``TypeError``.

Introduced in :doc:`residual-networks`.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral

import torch
from torch import fx, nn
from torch.nn import functional as F

from ._checks import check_amount, check_finite, check_fraction, check_plain_weights

__all__ = ["DependencyGroup", "dependency_groups", "group_importance", "zero_group",
           "slice_group", "remove_group", "prune_groups", "torch_pruning_importance"]

_PRODUCERS = (nn.Conv2d, nn.Linear)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_PASS_MODULES = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.Tanh, nn.Dropout, nn.Dropout2d,
                 nn.Identity, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                 nn.AdaptiveMaxPool2d, nn.Flatten)
_PASS_FUNCTIONS = (F.relu, torch.relu, torch.flatten, F.adaptive_avg_pool2d,
                   F.max_pool2d, F.avg_pool2d)
_ADD_FUNCTIONS = (operator.add, torch.add, operator.iadd)
_INPUT, _OUTPUT = "<input>", "<output>"


@dataclass(frozen=True)
class DependencyGroup:
    """Layers whose channels are coupled: channel ``c`` of the group is removed everywhere.

    Introduced in :doc:`residual-networks`, section *Dependency groups*.

    Attributes
    ----------
    producers : tuple of str
        Names of the Conv2d/Linear layers whose output channels (rows, filters and
        biases) form the group; their outputs are added to each other, or there is
        one producer.
    norms : tuple of str
        BatchNorm layers that normalise these channels (γ, β and running statistics).
    consumers : tuple of str
        Conv2d/Linear layers that read these channels (their input columns).
    size : int
        Number of channels in the group.
    """

    producers: tuple[str, ...]
    norms: tuple[str, ...]
    consumers: tuple[str, ...]
    size: int


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def _tensor_args(node: fx.Node) -> list[fx.Node]:
    return [a for a in node.args if isinstance(a, fx.Node)]


def _trace(model: nn.Module):
    """Channel spaces of the traced graph: who produces, normalises and reads each."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_plain_weights(model, "dependency groups")
    try:
        graph = fx.symbolic_trace(model).graph
    except Exception as err:  # fx raises many kinds of errors for untraceable code
        raise TypeError(f"cannot trace {type(model).__name__} with torch.fx: {err}") from err
    modules = dict(model.named_modules())
    space: dict[fx.Node, str] = {}
    sets = _UnionFind()
    norms: list[tuple[str, str]] = []        # (space, BatchNorm name)
    consumers: list[tuple[str, str]] = []    # (space, layer name)
    for node in graph.nodes:
        if node.op == "placeholder":
            space[node] = sets.find(_INPUT)
        elif node.op == "output":
            for arg in _tensor_args(node):
                sets.union(space[arg], _OUTPUT)
        elif node.op == "get_attr":
            raise TypeError(f"the model reads the tensor {node.target!r} directly; only "
                            f"layers and additions are supported")
        elif node.op == "call_module":
            module = modules[node.target]
            (arg,) = _tensor_args(node)
            if isinstance(module, _PRODUCERS):
                if isinstance(module, nn.Conv2d) and module.groups != 1:
                    raise TypeError(f"grouped convolution {node.target!r} is not supported")
                consumers.append((space[arg], node.target))
                space[node] = sets.find(node.target)
            elif isinstance(module, _NORMS):
                norms.append((space[arg], node.target))
                space[node] = space[arg]
            elif isinstance(module, _PASS_MODULES):
                space[node] = space[arg]
            else:
                raise TypeError(f"unsupported layer {node.target!r} of type "
                                f"{type(module).__name__}")
        elif node.op == "call_function" and node.target in _ADD_FUNCTIONS:
            a, b = _tensor_args(node)
            sets.union(space[a], space[b])
            space[node] = space[a]
        elif (node.op == "call_function" and node.target in _PASS_FUNCTIONS) or (
                node.op == "call_method" and node.target in ("relu", "flatten")):
            space[node] = space[_tensor_args(node)[0]]
        elif node.op == "call_method" and node.target == "add":
            a, b = _tensor_args(node)
            sets.union(space[a], space[b])
            space[node] = space[a]
        else:
            raise TypeError(f"unsupported operation {node.op} {node.target!r}; supported: "
                            f"Conv2d, Linear, BatchNorm, activations, pooling, Flatten "
                            f"and additions")
    return modules, sets, norms, consumers


def _size(module: nn.Module) -> int:
    return module.out_channels if isinstance(module, nn.Conv2d) else module.out_features


def dependency_groups(model: nn.Module) -> list[DependencyGroup]:
    """The prunable dependency groups of ``model``, in the order of their first layer.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. The model is
    traced with ``torch.fx`` (not run). Groups that reach the model's input or output
    (the logits) are not prunable and are left out.

    Raises
    ------
    TypeError
        For a model that cannot be traced or uses an unsupported layer or operation.
    ValueError
        If the layers of a group disagree on its number of channels.
    """
    modules, sets, norms, consumers = _trace(model)
    blocked = {sets.find(_INPUT), sets.find(_OUTPUT)}
    order = [name for name, m in modules.items() if isinstance(m, _PRODUCERS)]
    groups: dict[str, dict[str, list[str]]] = {}
    for name in order:
        root = sets.find(name)
        if root in blocked or name not in sets.parent:
            continue
        groups.setdefault(root, {"producers": [], "norms": [], "consumers": []})
        groups[root]["producers"].append(name)
    for key, kind in ((norms, "norms"), (consumers, "consumers")):
        for space, name in key:
            root = sets.find(space)
            if root in groups:
                groups[root][kind].append(name)
    out = []
    for parts in groups.values():
        sizes = {_size(modules[p]) for p in parts["producers"]}
        sizes |= {modules[b].num_features for b in parts["norms"]}
        if len(sizes) != 1:
            raise ValueError(f"layers {parts['producers'] + parts['norms']} are coupled but "
                             f"have different numbers of channels {sorted(sizes)}")
        size = sizes.pop()
        for c in parts["consumers"]:
            mod = modules[c]
            width = mod.in_channels if isinstance(mod, nn.Conv2d) else mod.in_features
            if width % size:
                raise ValueError(f"layer {c!r} reads {width} inputs, not a multiple of the "
                                 f"{size} channels of its group")
        out.append(DependencyGroup(tuple(parts["producers"]), tuple(parts["norms"]),
                                   tuple(dict.fromkeys(parts["consumers"])), size))
    return out


def _check_group(model: nn.Module, group) -> dict[str, nn.Module]:
    if not isinstance(group, DependencyGroup):
        raise TypeError(f"group must be a DependencyGroup (from dependency_groups), got "
                        f"{type(group).__name__}")
    check_plain_weights(model, "dependency groups")
    modules = dict(model.named_modules())
    for name in group.producers + group.norms + group.consumers:
        if name not in modules:
            raise ValueError(f"the model has no layer {name!r}: the group belongs to "
                             f"another model; call dependency_groups(model) again")
    if any(_size(modules[p]) != group.size for p in group.producers):
        raise ValueError("the group's size no longer matches the model (it was pruned "
                         "since); call dependency_groups(model) again")
    return modules


def group_importance(model: nn.Module, group: DependencyGroup) -> torch.Tensor:
    """L2 norm of each channel's incoming weights over all producers of the group.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. Channel
    ``c`` scores ``sqrt(Σ_producers ‖W_p[c]‖²)``: the filters (or rows) that write
    channel ``c`` anywhere in the group, the criterion of Li et al. (2017) extended
    to a group. Shape ``(group.size,)``, on the CPU.
    """
    modules = _check_group(model, group)
    total = torch.zeros(group.size, dtype=torch.float64)
    for name in group.producers:
        w = modules[name].weight.detach()
        check_finite(w, f"weight of {name!r}")
        total += w.flatten(1).double().pow(2).sum(dim=1).cpu()
    return total.sqrt().float()


def _check_indices(indices, size: int) -> list[int]:
    if isinstance(indices, torch.Tensor):
        indices = indices.tolist()
    indices = list(indices)
    if any(isinstance(i, bool) or not isinstance(i, int) for i in indices):
        raise TypeError("indices must be integers")
    bad = [i for i in indices if not 0 <= i < size]
    if bad:
        raise ValueError(f"indices {bad} out of range for a group of {size} channels")
    if len(set(indices)) != len(indices):
        raise ValueError("indices contain duplicates")
    if len(indices) == size:
        raise ValueError(f"cannot remove all {size} channels of a group")
    return sorted(indices)


@torch.no_grad()
def zero_group(model: nn.Module, group: DependencyGroup, indices: Sequence[int]) -> nn.Module:
    """Set channels of a group to zero everywhere, in place; return ``model``.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. Zeroes the
    channels' filters and biases in every producer and γ and β in every BatchNorm, so
    (in evaluation mode) the channels are 0 wherever they appear: the structured mask
    that :func:`remove_group` turns into a smaller network.
    """
    modules = _check_group(model, group)
    idx = _check_indices(indices, group.size)
    for name in group.producers + group.norms:
        module = modules[name]
        module.weight[idx] = 0
        if module.bias is not None:
            module.bias[idx] = 0
    return model


def _slice(tensor, keep: torch.Tensor, dim: int):
    """The entries ``keep`` of ``tensor`` along ``dim``: a Parameter for a Parameter."""
    if tensor is None:
        return None
    out = tensor.detach().index_select(dim, keep.to(tensor.device)).clone()
    if isinstance(tensor, nn.Parameter):
        return nn.Parameter(out, requires_grad=tensor.requires_grad)
    return out


def _fit_sizes(module: nn.Module) -> None:
    """Set a Conv2d's or Linear's size attributes from its (sliced) weight."""
    if isinstance(module, nn.Conv2d):
        module.out_channels, module.in_channels = module.weight.shape[:2]
    else:
        module.out_features, module.in_features = module.weight.shape


def slice_group(layers: Mapping[str, nn.Module], group: DependencyGroup,
                keep: torch.Tensor) -> None:
    """Keep only the channels ``keep`` of ``group`` in every layer of it, in place.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. ``layers``
    maps names to modules; ``keep`` holds the kept channels' indices, sorted.
    """
    for name in group.producers:  # the filter (row) and bias that write each channel
        p = layers[name]
        p.weight, p.bias = _slice(p.weight, keep, 0), _slice(p.bias, keep, 0)
    for name in group.norms:  # each channel's γ, β and running statistics
        bn = layers[name]
        for attr in ("weight", "bias", "running_mean", "running_var"):
            setattr(bn, attr, _slice(getattr(bn, attr), keep, 0))
        bn.num_features = len(keep)
    for name in group.consumers:  # the input columns that read each channel
        c = layers[name]  # a Linear after a Flatten reads a block of columns per channel
        per = 1 if isinstance(c, nn.Conv2d) else c.in_features // group.size
        cols = (keep[:, None] * per + torch.arange(per)).reshape(-1)
        c.weight = _slice(c.weight, cols, 1)
    for name in group.producers + group.consumers:
        _fit_sizes(layers[name])


def remove_group(model: nn.Module, group: DependencyGroup,
                 indices: Sequence[int]) -> nn.Module:
    """A smaller copy of ``model`` without the given channels of ``group``.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. Deletes the
    channels' filters (and biases) in every producer, their BatchNorm entries (γ, β,
    running mean and variance), and the input columns that read them in every
    consumer (for a Linear after a Flatten, the block of columns of each channel).
    ``model`` is not changed; in evaluation mode the copy computes the same outputs as
    ``zero_group(copy.deepcopy(model), group, indices)``.
    """
    _check_group(model, group)
    drop = set(_check_indices(indices, group.size))
    new = copy.deepcopy(model)
    if not drop:
        return new
    keep = torch.tensor([i for i in range(group.size) if i not in drop], dtype=torch.long)
    slice_group(dict(new.named_modules()), group, keep)
    return new


def prune_groups(model: nn.Module, amount: float, *,
                 scores: Mapping[DependencyGroup, torch.Tensor] | None = None) -> nn.Module:
    """A smaller copy of ``model`` with the lowest-scoring channels of every group removed.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. Each
    prunable group (:func:`dependency_groups`) loses ``round(amount · size)`` channels
    with the lowest scores: ``scores[group]`` if given, else
    :func:`group_importance`. Ties go to the smaller index. ``model`` is not changed.
    An int ``amount`` is the number of channels removed from each group, as
    ``amount`` of ``torch.nn.utils.prune.ln_structured``; every group keeps one.

    Raises
    ------
    ValueError
        For ``amount`` outside [0, 1) or scores of the wrong length.
    """
    if not isinstance(amount, Integral):
        check_fraction(amount, "amount", inclusive_high=False)
    groups = dependency_groups(model)
    if scores is not None and not isinstance(scores, Mapping):
        raise TypeError("scores must map each DependencyGroup to a tensor of scores")
    chosen = {}
    for group in groups:
        s = group_importance(model, group) if scores is None else scores.get(group)
        if s is None:
            raise ValueError(f"scores has no entry for the group of {group.producers}")
        if not isinstance(s, torch.Tensor) or s.shape != (group.size,):
            raise ValueError(f"scores for the group of {group.producers} must have shape "
                             f"({group.size},)")
        check_finite(s, "scores")
        order = torch.sort(s.detach().cpu(), stable=True).indices
        chosen[group] = order[:check_amount(amount, group.size, allow_all=False)].tolist()
    new = copy.deepcopy(model)
    for group, idx in chosen.items():
        new = remove_group(new, group, idx) if idx else new
    return new


def torch_pruning_importance(model: nn.Module,
                             scores: Mapping[DependencyGroup, torch.Tensor]):
    """A Torch-Pruning importance that hands each group the scores given here.

    Introduced in :doc:`residual-networks`, section *The same with Torch-Pruning*. Pass
    it as ``importance=`` to ``torch_pruning.pruner.MetaPruner(model, ...)`` (the
    same ``model`` object): for each group that Torch-Pruning builds, it returns
    ``scores[g]`` of the :class:`DependencyGroup` ``g`` that contains the group's
    root layer, so both routes rank the channels identically.

    Raises
    ------
    ModuleNotFoundError
        If the ``torch-pruning`` package is not installed.
    ValueError
        When called on a Torch-Pruning group whose root layer is in none of the
        given groups.
    """
    import torch_pruning as tp

    if not isinstance(scores, Mapping) or not all(
            isinstance(g, DependencyGroup) for g in scores):
        raise TypeError("scores must map DependencyGroup objects to tensors of scores")
    names = {module: name for name, module in model.named_modules()}
    by_producer = {p: s for g, s in scores.items() for p in g.producers}

    class GivenImportance(tp.importance.Importance):
        def __call__(self, group):
            name = names.get(group[0].dep.target.module)
            if name not in by_producer:
                raise ValueError(f"no scores for the Torch-Pruning group rooted at {name!r}")
            return by_producer[name].detach().cpu()

    return GivenImportance()

"""Dependency groups: channels that must be removed together, and their removal.

In a residual network ``y = x + f(x)`` the channels of ``x`` and of ``f(x)`` are
added one to one: removing channel ``c`` from the layer that produced ``x`` but not
from the last layer of ``f`` makes the addition fail, and removing it from both
breaks every other layer that reads or writes the same stream. Fang et al. (*DepGraph:
Towards Any Structural Pruning*, CVPR 2023) call the layers coupled in this way a
*dependency group*: its channels can be removed only together, everywhere at once.

This module finds the groups of a network by tracing it with ``torch.fx``. Every
index of a layer's parameters (an output channel: a filter or a row and its bias; an
input channel: a column; a BatchNorm entry) is followed through the graph, and
indices that must go together are merged into one *channel*: an addition or an
elementwise product pairs the channels of its inputs, a depthwise convolution pairs
each output channel with its input channel, a concatenation puts channels side by
side, a layer applied twice or a weight shared by two layers is the same index
everywhere. The channels written by the same layers form a group. It removes a
group's channels physically (:func:`remove_group`, which slices every layer of the
group with :func:`slice_group`), with the same outputs as zeroing them
(:func:`zero_group`). It is the teaching version of what the Torch-Pruning library
(``torch_pruning.DependencyGraph``) does for any model.

Supported layers: ``nn.Conv2d`` (also grouped: channel ``c`` of every group goes
together; and depthwise: an output channel with the input channel it filters) and
``nn.Linear`` produce and read channels; ``nn.BatchNorm1d/2d`` with affine parameters
follow them; activations with f(0) = 0 (ReLU, ReLU6, LeakyReLU, ELU, GELU, SiLU,
Hardswish, Mish, Tanh), Dropout, Identity, 2-D max/average pooling, ``mean`` over
positions and ``flatten(1)`` pass them through. Operations: ``+`` and ``-`` (pair the
channels), ``*`` (also by a per-channel gate broadcast over positions: a
squeeze-and-excitation block), division by a number, ``torch.cat`` along the channels
(each part at its offset) or another axis, ``chunk`` along the channels (the chunks
stay equal: channel ``c`` of every chunk goes together), ``split`` into sizes written
in the code (those channels are not pruned), ``split``/``chunk`` along other axes,
``x.shape``, ``view``/``reshape`` to ``(N, -1)``. A layer may be applied more than
once, and Conv2d/Linear/BatchNorm layers may share parameters (tied weights: pruned as
one, and still shared after). Sigmoid, Hardsigmoid and an added constant map a
removed channel to a nonzero value: allowed where a product with the group's zero or a
BatchNorm follows, an error where a layer would read it. Anything else (attention,
LayerNorm, permutes, indexing into the channels, Conv1d, transposed convolutions, …)
raises ``TypeError`` naming the layer and the operation.

Layouts (one rule, shared with :mod:`helpers.structured`): a Conv2d's channels are
axis 1 of ``(N, C, H, W)``; a Linear layer's units are the *last* axis of its output,
also when it is applied per position to ``(N, …, features)``. A ``flatten(1)`` then
gives each channel several columns: after a Conv the block ``c·HW … c·HW + HW − 1``,
after a per-position Linear the columns ``u, u + units, u + 2·units, …``.

Introduced in :doc:`residual-networks`.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Number

import torch
from torch import fx, nn
from torch.nn import functional as F

from ._checks import (
    check_amount, check_finite, check_fraction, check_model, check_plain_weights, checked,
)
from .criteria import Registry
from .layers import layers_of_kind

__all__ = ["CRITERIA", "DependencyGroup", "dependency_groups", "group_importance", "zero_group",
           "slice_group", "remove_group", "prune_groups", "torch_pruning_importance"]

#: Group criteria by name (filled below): ``score(model, group)`` returns one score
#: per channel of the :class:`DependencyGroup` (the lowest go first). ``"l2"`` is
#: :func:`group_importance`. Register another with ``@CRITERIA.register("name")``.
CRITERIA = Registry("group", "score(model, group) -> one score per channel of the group")

# The layer modules by kind: the one table, helpers.layers.LAYER_KINDS. Their
# functional forms and tensor methods are listed here, where the graph names them.
_PRODUCERS = layers_of_kind("producer")
_NORMS = layers_of_kind("norm")
# Channel by channel, and a zero channel stays zero.
_ELEMENTWISE = layers_of_kind("elementwise")
_ELEMENTWISE_FUNCTIONS = (F.relu, torch.relu, F.relu6, F.leaky_relu, F.elu, F.gelu, F.silu,
                          F.hardswish, F.mish, torch.tanh, F.dropout, F.dropout2d, torch.neg,
                          operator.neg)
_ELEMENTWISE_METHODS = ("relu", "relu_", "tanh", "neg", "contiguous", "clone")
_POOLS = layers_of_kind("pool")
_POOL_FUNCTIONS = (F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d, F.adaptive_max_pool2d)
# Channel by channel, but a zero channel becomes f(0) ≠ 0: only as a gate.
_GATES = layers_of_kind("gate")
_FLATTEN = layers_of_kind("flatten")
_GATE_FUNCTIONS = (torch.sigmoid, F.sigmoid, F.hardsigmoid)
_ADD = (operator.add, operator.iadd, torch.add, operator.sub, operator.isub, torch.sub)
_MUL = (operator.mul, operator.imul, torch.mul)
_CAT = (torch.cat, torch.concat, torch.concatenate)
_SYMBOLS = {operator.add: "+", operator.iadd: "+=", operator.sub: "-", operator.isub: "-=",
            operator.mul: "*", operator.imul: "*=", operator.truediv: "/",
            operator.getitem: "indexing [...]", operator.matmul: "@"}
_BLOCKED = 0  # the atom of the model's input and outputs: never removed
_AXES = {"out": "output channels", "norm": "entries", "in": "input channels"}


@dataclass(frozen=True)
class DependencyGroup:
    """Layers whose channels are coupled: channel ``c`` of the group is removed everywhere.

    Introduced in :doc:`residual-networks`, section *Dependency groups*.

    Attributes
    ----------
    producers : tuple of str
        Names of the Conv2d/Linear layers whose output channels (rows, filters and
        biases) form the group: their outputs are added or multiplied to each other,
        pass through a depthwise convolution, or there is one producer.
    norms : tuple of str
        BatchNorm layers that normalise these channels (γ, β and running statistics).
    consumers : tuple of str
        Conv2d/Linear layers that read these channels (their input columns).
    size : int
        Number of channels in the group.
    layout : tuple of (str, str, tuple of int)
        ``(layer, axis, owner)`` for every layer whose indices along ``axis``
        (``"out"``: rows or filters and biases, ``"norm"``: BatchNorm entries,
        ``"in"``: input columns) are not the group's channels one to one: ``owner[i]``
        is the channel that index ``i`` belongs to, or -1 for an index of another
        group or of none (after a concatenation, a Flatten, a grouped convolution).
        Layers not listed have index ``c`` for channel ``c``.
    """

    producers: tuple[str, ...]
    norms: tuple[str, ...]
    consumers: tuple[str, ...]
    size: int
    layout: tuple[tuple[str, str, tuple[int, ...]], ...] = ()

    def owner(self, name: str, axis: str) -> torch.Tensor:
        """The channel of each index of layer ``name`` along ``axis`` (-1: none here)."""
        for layer, role, owner in self.layout:
            if (layer, role) == (name, axis):
                return torch.tensor(owner, dtype=torch.long)
        return torch.arange(self.size)

    def kept(self, name: str, axis: str, keep: torch.Tensor) -> torch.Tensor:
        """Indices of layer ``name`` along ``axis`` that stay if the group keeps ``keep``."""
        stays = torch.zeros(self.size + 1, dtype=torch.bool)
        stays[keep.cpu()] = True
        stays[-1] = True  # owner -1: an index of no channel of this group
        return torch.nonzero(stays[self.owner(name, axis)]).reshape(-1)


# --- the layout rule -------------------------------------------------------------------

def _unit_of_column(width: int, units: int, channels_last: bool) -> torch.Tensor:
    """Which of ``units`` units each of ``width`` columns of a flattened activation holds.

    The one layout rule of :mod:`helpers.dependency` and :mod:`helpers.structured`:
    after ``flatten(1)`` of ``(N, C, positions…)`` channel ``c`` is the block of
    columns ``c·P … c·P + P − 1``; of ``(N, positions…, units)`` (a Linear applied per
    position) unit ``u`` is read at ``u, u + units, u + 2·units, …``. Without positions
    (``width == units``) both are column ``u`` for unit ``u``.
    """
    if width % units:
        raise ValueError(f"{width} columns are not a multiple of the {units} channels "
                         f"they are flattened from")
    columns = torch.arange(width)
    return columns % units if channels_last else columns // (width // units)


def _check_affine(name: str, norm: nn.Module, layer: str) -> None:
    """A BatchNorm without γ and β maps a silenced channel to −mean/std, not to zero."""
    if not norm.affine:
        raise ValueError(f"BatchNorm {name!r} has no affine parameters, so a silenced "
                         f"channel of {layer!r} would still output -mean/std; use "
                         f"BatchNorm with affine=True")


# --- tracing: which indices go together ------------------------------------------------

@dataclass(frozen=True)
class _Flow:
    """A traced tensor: the atom (merged index) at each position of its channel axis."""

    atoms: tuple[int, ...]
    last: bool                   # channels on the last axis (a Linear's units), else axis 1
    rank: int | None             # number of dimensions, when known
    origin: str                  # the layer that wrote the channels, for messages
    flat: bool = False           # flatten(1) of positions: several columns per channel
    lit: tuple[str, ...] = ()    # per position, what makes a zeroed channel nonzero there

    def live(self, position: int) -> str:
        return self.lit[position] if self.lit else ""

    def but(self, **changes) -> _Flow:
        return _Flow(**{**self.__dict__, **changes})

    def axis(self) -> str:
        """Where the channels lie, in words that compare equal for equal layouts."""
        if self.flat:
            return "flattened, last" if self.last else "flattened, axis 1"
        return "axis 1" if self.rank == 2 or not self.last else "last axis"

    def is_channel_dim(self, dim) -> bool:
        if not isinstance(dim, Integral) or self.flat:
            return False
        if not self.last or self.rank == 2:
            return dim == 1 or (self.rank is not None and dim == 1 - self.rank)
        return dim == -1 or (self.rank is not None and dim == self.rank - 1)


class _Same:
    """The parts of a tensor split along an axis other than the channels."""

    def __init__(self, value):
        self.value = value


_META = object()  # a value that is not a tensor of channels (a shape, a size)


def _width(module: nn.Module, axis: str) -> int:
    if axis == "norm":
        return module.num_features
    return module.weight.shape[0 if axis == "out" else 1]


def _describe(node: fx.Node, modules: Mapping[str, nn.Module]) -> str:
    """The operation of a traced node, as the model's code writes it."""
    if node.op == "call_module":
        return f"layer {node.target!r} ({type(modules[node.target]).__name__})"
    if node.op == "call_method":
        return f"the tensor method .{node.target}()"
    if node.target is getattr:
        return f"the attribute .{node.args[1]}"
    if node.target in _SYMBOLS:
        return f"the operation {_SYMBOLS[node.target]}"
    module = getattr(node.target, "__module__", None) or "torch"
    return f"{module}.{getattr(node.target, '__name__', node.target)}"


def _flows(value) -> list[_Flow]:
    if isinstance(value, _Flow):
        return [value]
    if isinstance(value, _Same):
        return _flows(value.value)
    if isinstance(value, (tuple, list)):
        return [f for v in value for f in _flows(v)]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _flows(v)]
    return []


class _Tracer:
    """Follows every index of a model's layers through its ``torch.fx`` graph."""

    def __init__(self, model: nn.Module):
        try:
            graph = fx.symbolic_trace(model).graph
        except Exception as err:  # fx raises many kinds of errors for untraceable code
            raise TypeError(f"cannot trace {type(model).__name__} with torch.fx: "
                            f"{err}") from err
        self.modules = dict(model.named_modules())
        self.parent = [_BLOCKED]
        self.members: dict[tuple[str, str], range] = {}
        values: dict[fx.Node, object] = {}
        for node in graph.nodes:
            self.node = node
            args = fx.node.map_arg(node.args, values.__getitem__)
            kwargs = fx.node.map_arg(node.kwargs, values.__getitem__)
            values[node] = self.step(node, args, kwargs)
        self.tie()

    # --- atoms: one per index, merged when indices must go together
    def find(self, a: int) -> int:
        parent = self.parent
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        self.parent[max(a, b)] = min(a, b)  # the blocked atom 0 stays a root

    def block(self, value) -> None:
        for flow in _flows(value):
            for a in flow.atoms:
                self.union(a, _BLOCKED)

    def member(self, name: str, axis: str) -> range:
        """The atoms of the indices of layer ``name`` along ``axis``, created once."""
        if (name, axis) not in self.members:
            start = len(self.parent)
            width = _width(self.modules[name], axis)
            self.parent.extend(range(start, start + width))
            self.members[name, axis] = range(start, start + width)
        return self.members[name, axis]

    def unsupported(self, why: str = "", args=()) -> TypeError:
        after = _flows(args)
        where = f" on the channels of layer {after[0].origin!r}" if after else ""
        return TypeError(f"unsupported: {_describe(self.node, self.modules)}{where} (traced "
                         f"node {self.node.name!r}){': ' + why if why else ''}; "
                         f"helpers.dependency handles the layers and operations listed in "
                         f"its module docstring")

    def read(self, name: str, axis: str, x: _Flow | None, *, zeroed: bool = False) -> None:
        """Layer ``name`` reads the channels of ``x`` at its indices along ``axis``."""
        indices = self.member(name, axis)
        if x is None:  # the model's input: these indices stay
            for index in indices:
                self.union(index, _BLOCKED)
            return
        if x.flat:
            units = _unit_of_column(len(indices), len(x.atoms), x.last).tolist()
        elif len(indices) == len(x.atoms):
            units = range(len(indices))
        else:
            raise ValueError(f"layer {name!r} reads {len(indices)} channels but receives "
                             f"the {len(x.atoms)} channels of {x.origin!r}")
        for index, unit in zip(indices, units):
            if x.lit and x.live(unit) and not zeroed:
                raise TypeError(f"layer {name!r} reads the channels of {x.origin!r} after "
                                f"{x.live(unit)}, which makes a removed (zeroed) channel "
                                f"nonzero: removing it would change the outputs")
            self.union(index, x.atoms[unit])

    # --- one node of the graph
    def step(self, node: fx.Node, args, kwargs):
        if node.op == "placeholder":
            return None  # the model's input: its channels are never removed
        if node.op == "output":
            self.block(args)
            return None
        if node.op == "get_attr":
            raise TypeError(f"unsupported: the model reads the tensor {node.target!r} "
                            f"directly, not through a layer (a class token, a positional "
                            f"embedding, a layer scale); helpers.dependency cannot slice it")
        if node.op == "call_module":
            return self.call_module(node.target, args, kwargs)
        return self.call(node.target, args, kwargs)

    def call_module(self, name: str, args, kwargs):
        module = self.modules[name]
        if isinstance(module, nn.MultiheadAttention):
            raise TypeError(f"unsupported: layer {name!r} is an nn.MultiheadAttention, whose "
                            f"heads couple the channels of its query, key and value "
                            f"projections; helpers.dependency does not prune attention "
                            f"(Torch-Pruning does)")
        if isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)):
            raise TypeError(f"unsupported: layer {name!r} ({type(module).__name__}) "
                            f"normalises several channels together, so removing one changes "
                            f"the others and removal cannot equal zeroing")
        if len(args) != 1 or kwargs:
            raise self.unsupported("a layer called with more than one tensor", args)
        (x,) = args
        if isinstance(module, nn.Conv2d):
            return self.conv(name, module, x)
        if isinstance(module, nn.Linear):
            if x is not None and x.axis() == "axis 1" and x.rank != 2:
                raise TypeError(f"layer {name!r} (Linear) reads the last axis, but the "
                                f"channels of {x.origin!r} are axis 1 of a "
                                f"{x.rank or 'multi'}-D tensor; flatten or average them "
                                f"first")
            self.read(name, "in", x)
            out = self.member(name, "out")
            return _Flow(tuple(out), last=True, rank=None if x is None else x.rank,
                         origin=name)
        if isinstance(module, _NORMS):
            if x is None:
                self.read(name, "norm", None)
                return None
            _check_affine(name, module, x.origin)
            two_d = isinstance(module, nn.BatchNorm2d)
            if (two_d and x.axis() != "axis 1") or (
                    x.axis() == "last axis" and x.rank is not None):
                raise TypeError(f"{type(module).__name__} {name!r} normalises axis 1, but "
                                f"the channels of {x.origin!r} lie on the {x.axis()} of a "
                                f"{x.rank}-D tensor")
            self.read(name, "norm", x, zeroed=True)  # γ = β = 0: the channel is 0 after it
            return x.but(lit=())
        if isinstance(module, _ELEMENTWISE):
            return x
        if isinstance(module, _POOLS):
            return self.pool(x, args)
        if isinstance(module, _GATES):
            return self.gate(x, f"{type(module).__name__} {name!r}")
        if isinstance(module, _FLATTEN):
            return self.flatten(x, module.start_dim, module.end_dim, args)
        raise TypeError(f"unsupported layer {name!r} of type {type(module).__name__}; "
                        f"helpers.dependency handles the layers listed in its module "
                        f"docstring")

    def conv(self, name: str, conv: nn.Conv2d, x: _Flow | None) -> _Flow:
        if x is not None and x.axis() != "axis 1":
            raise TypeError(f"layer {name!r} (Conv2d) reads axis 1, but the channels of "
                            f"{x.origin!r} lie on the {x.axis()}")
        if x is not None and len(x.atoms) != conv.in_channels:
            raise ValueError(f"layer {name!r} reads {conv.in_channels} channels but receives "
                             f"the {len(x.atoms)} channels of {x.origin!r}")
        out = self.member(name, "out")
        if conv.groups == 1:
            self.read(name, "in", x)
        elif conv.groups == conv.in_channels:  # depthwise: output o filters input o // k
            multiplier = conv.out_channels // conv.groups
            for o, atom in enumerate(out):
                self.union(atom, _BLOCKED if x is None else x.atoms[o // multiplier])
        else:  # grouped: input column j of every group, output j of every group, together
            width, per_out = conv.in_channels // conv.groups, conv.out_channels // conv.groups
            columns = self.member(name, "in")
            if x is None:
                self.read(name, "in", None)
            for j, atom in enumerate(() if x is None else x.atoms):
                if x.live(j):
                    raise TypeError(f"layer {name!r} reads the channels of {x.origin!r} "
                                    f"after {x.live(j)}, which makes a removed channel "
                                    f"nonzero")
                self.union(columns[j % width], atom)
            for o, atom in enumerate(out):
                self.union(atom, out[o % per_out])
        return _Flow(tuple(out), last=False, rank=4, origin=name)

    def pool(self, x, args):
        if x is not None and x.axis() != "axis 1":
            raise self.unsupported(f"pooling over positions after {x.origin!r}, whose "
                                   f"channels lie on the {x.axis()}, pools across channels",
                                   args)
        return x

    def gate(self, x, what: str):
        return None if x is None else x.but(lit=(f"{what} (f(0) ≠ 0)",) * len(x.atoms))

    def flatten(self, x, start, end, args):
        if x is None:
            return None
        rank = x.rank
        start = start + rank if rank is not None and start < 0 else start
        end = end + rank if rank is not None and end < 0 else end
        if not x.last and not x.flat and rank is not None and 2 <= start <= end < rank:
            return x.but(rank=rank - (end - start))  # positions merged; channels stay axis 1
        if start != 1 or end not in (-1, None if rank is None else rank - 1):
            raise self.unsupported(f"flatten(start_dim={start}, end_dim={end}) mixes the "
                                   f"channels with other axes; only flatten(1) keeps them",
                                   args)
        return x.but(rank=2) if x.flat or rank == 2 else x.but(flat=True, rank=2)

    def pair(self, a, b, product: bool, args):
        """``a + b`` or ``a * b``: channel ``c`` of one meets channel ``c`` of the other."""
        if a is None or b is None:  # with the model's input: its channels stay
            self.block((a, b))
            return a if b is None else b
        if a.axis() != b.axis() or (a.rank and b.rank and a.rank != b.rank):
            raise self.unsupported(f"the channels of {a.origin!r} ({a.axis()}) and of "
                                   f"{b.origin!r} ({b.axis()}) do not line up", args)
        if len(a.atoms) == len(b.atoms):
            for p, q in zip(a.atoms, b.atoms):
                self.union(p, q)
            lit = tuple((a.live(i) and b.live(i)) if product else (a.live(i) or b.live(i))
                        for i in range(len(a.atoms)))
            return a.but(lit=lit if any(lit) else ())
        if 1 in (len(a.atoms), len(b.atoms)):  # one channel broadcast over all
            one, many = (a, b) if len(a.atoms) == 1 else (b, a)
            self.block(one)
            lit = many.lit if product else (f"adding the one channel of {one.origin!r}",
                                            ) * len(many.atoms)
            return many.but(lit=lit)
        raise ValueError(f"{_describe(self.node, self.modules)} combines the "
                         f"{len(a.atoms)} channels of {a.origin!r} with the "
                         f"{len(b.atoms)} of {b.origin!r}")

    def call(self, target, args, kwargs):
        method = isinstance(target, str)

        def is_(functions=(), methods=()):
            return target in methods if method else any(target is f for f in functions)

        x = args[0] if args else None
        if is_((getattr,)):
            if args[1] in ("shape", "dtype", "device", "ndim", "is_cuda"):
                return _META
            raise self.unsupported("", args)
        if is_((len,), ("size", "dim")):
            return _META
        if x is _META or (isinstance(x, Number) and not _flows(args)):
            return _META  # arithmetic on shapes
        if is_((operator.getitem,)):
            if isinstance(x, _Same):
                return x.value
            if isinstance(x, tuple):
                return x[args[1]]
            if x is None:
                return None
            raise self.unsupported("indexing into the channels", args)
        if is_(_ELEMENTWISE_FUNCTIONS, _ELEMENTWISE_METHODS):
            return x
        if is_(_POOL_FUNCTIONS):
            return self.pool(x, args)
        if is_(_GATE_FUNCTIONS, ("sigmoid", "sigmoid_")):
            return self.gate(x, _describe(self.node, self.modules))
        if is_((torch.flatten,), ("flatten",)):
            start = _arg(args, kwargs, 1, "start_dim", 0)
            return self.flatten(x, start, _arg(args, kwargs, 2, "end_dim", -1), args)
        if is_((torch.reshape,), ("view", "reshape")):
            shape = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) \
                else args[1:]
            if len(shape) == 2 and shape[1] == -1 and not _flows(shape):
                return self.flatten(x, 1, -1, args)
            raise self.unsupported("only a view or reshape to (batch, -1) is handled", args)
        if is_(_ADD, ("add", "add_", "sub", "sub_")) or is_(_MUL, ("mul", "mul_")):
            product = is_(_MUL, ("mul", "mul_"))
            a, b = args[0], args[1]
            if isinstance(b, Number) or isinstance(a, Number):
                x, c = (a, b) if isinstance(b, Number) else (b, a)
                if x is None or product or c == 0:
                    return x
                return x.but(lit=(f"adding the constant {c}",) * len(x.atoms))
            return self.pair(a, b, product, args)
        if is_((operator.truediv,), ("div", "div_")) and isinstance(args[1], Number):
            return x
        if is_(_CAT):
            return self.cat(list(x), _arg(args, kwargs, 1, "dim", 0), args)
        if is_((torch.chunk, torch.split), ("chunk", "split")):
            how = _arg(args, kwargs, 1, "chunks" if "chunk" in str(target) else
                       "split_size_or_sections")
            dim = _arg(args, kwargs, 2, "dim", 0)
            return self.split(x, how, dim, "chunk" in getattr(target, "__name__", target))
        if is_((torch.mean,), ("mean",)):
            return self.mean(x, _arg(args, kwargs, 1, "dim"),
                             _arg(args, kwargs, 2, "keepdim", False), args)
        raise self.unsupported("", args)

    def cat(self, parts, dim, args):
        if any(p is None for p in parts):  # with the model's input: offsets unknown
            self.block(parts)
            return None
        first = parts[0]
        if any(p.axis() != first.axis() for p in parts):
            raise self.unsupported("the parts' channels do not lie on the same axis", args)
        if first.is_channel_dim(dim):  # side by side: offsets
            lit = tuple(p.live(i) for p in parts for i in range(len(p.atoms)))
            return first.but(atoms=sum((p.atoms for p in parts), ()),
                             lit=lit if any(lit) else (), origin="+".join(
                                 dict.fromkeys(p.origin for p in parts)))
        if first.flat:
            raise self.unsupported("concatenating flattened channels", args)
        result = first
        for part in parts[1:]:  # along another axis: the same channels everywhere
            result = self.pair(result, part, False, args)
        return result

    def split(self, x, how, dim, chunk: bool):
        if x is None:
            return _Same(None)
        if not x.is_channel_dim(dim):
            return _Same(x)
        positions = torch.arange(len(x.atoms))
        pieces = positions.chunk(how) if chunk else positions.split(how)
        if chunk and len(pieces) == how and len({len(p) for p in pieces}) == 1:
            for piece in pieces[1:]:  # equal chunks stay equal: position i of each together
                for i, j in zip(pieces[0].tolist(), piece.tolist()):
                    self.union(x.atoms[i], x.atoms[j])
        else:  # sizes written in the model's code cannot change: these channels stay
            self.block(x)
        return tuple(x.but(atoms=tuple(x.atoms[i] for i in p.tolist()),
                           lit=tuple(x.live(i) for i in p.tolist()) if x.lit else ())
                     for p in pieces)

    def mean(self, x, dim, keepdim, args):
        if x is None:
            return None
        dims = (dim,) if isinstance(dim, Integral) else tuple(dim or ())
        if x.rank is None or not dims or x.flat:
            raise self.unsupported("a mean over axes that may hold the channels", args)
        dims = {d % x.rank for d in dims}
        channel = 1 if x.axis() == "axis 1" else x.rank - 1
        if channel in dims or 0 in dims:
            raise self.unsupported("a mean over the channels or the batch", args)
        return x.but(rank=x.rank if keepdim else x.rank - len(dims))

    # --- shared parameters
    def tie(self) -> None:
        """Layers that share a parameter share its indices: merge them."""
        owners: dict[int, list[tuple[str, str]]] = {}
        for name, module in self.modules.items():
            for attr, p in module.named_parameters(recurse=False):
                owners.setdefault(id(p), []).append((name, attr))
        for shared in owners.values():
            names = [name for name, _ in shared]
            if len(shared) < 2 or not any((name, axis) in self.members for name in names
                                         for axis in ("out", "in", "norm")):
                continue
            kinds = {(type(self.modules[n]), attr, getattr(self.modules[n], "groups", 1))
                     for n, attr in shared}
            first = self.modules[names[0]]
            if len(kinds) > 1 or not isinstance(first, _PRODUCERS + _NORMS):
                raise TypeError(f"unsupported: layers {names} share a parameter; "
                                f"helpers.dependency prunes shared parameters only between "
                                f"layers of the same kind (Conv2d, Linear, BatchNorm)")
            attr = shared[0][1]
            axes = ("norm",) if isinstance(first, _NORMS) else \
                ("out", "in") if attr == "weight" else ("out",)
            for axis in axes:
                for other in names[1:]:
                    for a, b in zip(self.member(names[0], axis), self.member(other, axis)):
                        self.union(a, b)

    # --- the groups
    def groups(self) -> list[DependencyGroup]:
        """Channels (merged atoms) written by the same layers, grouped; blocked ones out."""
        root = self.parent
        for a in range(len(root)):  # a parent is a smaller atom: one pass finds the roots
            root[a] = root[root[a]]
        blocked = root[_BLOCKED]
        order = {name: k for k, name in enumerate(self.modules)}
        members = sorted(self.members.items(), key=lambda m: (order[m[0][0]], m[0][1]))
        first: dict[int, tuple[int, int]] = {}  # channel -> its first (producer, row)
        link: dict[int, int] = {}  # channel -> a channel of the same group

        def top(c: int) -> int:
            while link.get(c, c) != c:
                c = link[c]
            return c

        for (name, axis), atoms in members:
            if axis != "out":
                continue
            written = [r for r in dict.fromkeys(root[a] for a in atoms) if r != blocked]
            for i, a in enumerate(atoms):
                first.setdefault(root[a], (order[name], i))
            for r in written[1:]:  # one layer's channels: one group
                if top(r) != top(written[0]):
                    link[top(r)] = top(written[0])
        channels: dict[int, list[int]] = {}  # a channel of each group -> its channels
        for r in sorted(first, key=first.get):
            if r != blocked:
                channels.setdefault(top(r), []).append(r)
        index = {r: (g, k) for g, rs in enumerate(channels.values())
                 for k, r in enumerate(rs)}
        owners: list[dict[tuple[str, str], list[int]]] = [{} for _ in channels]
        for key, atoms in members:
            for i, a in enumerate(atoms):
                if root[a] in index:
                    g, k = index[root[a]]
                    owners[g].setdefault(key, [-1] * len(atoms))[i] = k
        out = []
        for rs, owner in zip(channels.values(), owners):
            identity = list(range(len(rs)))
            names = {axis: tuple(n for n, a in owner if a == axis)
                     for axis in ("out", "norm", "in")}
            layout = tuple((n, a, tuple(o)) for (n, a), o in owner.items() if o != identity)
            out.append(DependencyGroup(names["out"], names["norm"], names["in"], len(rs),
                                       layout))
        return out


def _arg(args, kwargs, index: int, name: str, default=None):
    return args[index] if len(args) > index else kwargs.get(name, default)


def dependency_groups(model: nn.Module) -> list[DependencyGroup]:
    """The prunable dependency groups of ``model``, in the order of their first layer.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. The model is
    traced with ``torch.fx`` (not run). Channels that reach the model's input or
    output (the logits), or whose number is written in the model's code (``split``
    sizes), are not prunable and are left out.

    Raises
    ------
    TypeError
        For a model that cannot be traced, or an unsupported layer or operation (the
        message names it and the traced node).
    ValueError
        If layers that are coupled disagree on a number of channels, or for a
        BatchNorm without affine parameters.

    Examples
    --------
    >>> from torch import nn
    >>> from helpers.dependency import dependency_groups
    >>> model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    >>> dependency_groups(model)
    [DependencyGroup(producers=('0',), norms=(), consumers=('2',), size=6, layout=())]
    """
    check_plain_weights(check_model(model), "dependency groups")
    return _Tracer(model).groups()


def _check_layers(layers: Mapping[str, nn.Module], group) -> None:
    """The layers of ``group`` are in ``layers``, of the right kind and size."""
    if not isinstance(group, DependencyGroup):
        raise TypeError(f"group must be a DependencyGroup (from dependency_groups), got "
                        f"{type(group).__name__}")
    for names, axis, kinds in ((group.producers, "out", _PRODUCERS),
                               (group.norms, "norm", _NORMS),
                               (group.consumers, "in", _PRODUCERS)):
        for name in names:
            if name not in layers:
                raise ValueError(f"the model has no layer {name!r}: the group belongs to "
                                 f"another model; call dependency_groups(model) again")
            if not isinstance(layers[name], kinds):
                raise TypeError(f"layer {name!r} is a {type(layers[name]).__name__}, not "
                                f"one of {[k.__name__ for k in kinds]}")
            if _width(layers[name], axis) != len(group.owner(name, axis)):
                raise ValueError("the group's size no longer matches the model (it was "
                                 "pruned since); call dependency_groups(model) again")
    for name in group.norms:
        _check_affine(name, layers[name], group.producers[0] if group.producers else name)


def _check_group(model: nn.Module, group) -> dict[str, nn.Module]:
    check_plain_weights(check_model(model), "dependency groups")
    layers = dict(model.named_modules())
    _check_layers(layers, group)
    return layers


def group_importance(model: nn.Module, group: DependencyGroup) -> torch.Tensor:
    """L2 norm of each channel's incoming weights over all producers of the group.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. Channel
    ``c`` scores ``sqrt(Σ_producers ‖W_p[c]‖²)``: the filters (or rows) that write
    channel ``c`` anywhere in the group; a weight shared by several layers counts
    once. This is the filter-norm criterion of Li et al. (2017, arXiv:1608.08710)
    extended to a group, with the L2 norm where they rank filters by the L1 norm
    (the L2 norm is also the default of Torch-Pruning's
    ``GroupMagnitudeImportance``, which, unlike this function, also scores the
    consumers' input columns and the BatchNorm scales). Shape ``(group.size,)``,
    on the CPU.
    """
    return _importance(_check_group(model, group), group)


CRITERIA.register("l2")(group_importance)


def _importance(layers: Mapping[str, nn.Module], group: DependencyGroup) -> torch.Tensor:
    total = torch.zeros(group.size, dtype=torch.float64)
    seen = set()
    for name in group.producers:
        w = layers[name].weight
        if id(w) in seen:
            continue
        seen.add(id(w))
        check_finite(w.detach(), f"weight of {name!r}")
        owner = group.owner(name, "out")
        rows = w.detach().flatten(1).double().pow(2).sum(dim=1).cpu()
        total.index_add_(0, owner[owner >= 0], rows[owner >= 0])
    return total.sqrt().float()


def _check_indices(indices, size: int, owner: str = "a group",
                   unit: str = "channels") -> list[int]:
    """``indices`` as a sorted list of distinct ints in 0..size-1, not all of them."""
    if isinstance(indices, torch.Tensor):
        indices = indices.tolist()
    indices = list(indices)
    if any(isinstance(i, bool) or not isinstance(i, Integral) for i in indices):
        raise TypeError("indices must be integers")
    bad = [i for i in indices if not 0 <= i < size]
    if bad:
        raise ValueError(f"indices {bad} out of range for {owner} with {size} {unit}")
    if len(set(indices)) != len(indices):
        raise ValueError("indices contain duplicates")
    if len(indices) == size:
        raise ValueError(f"cannot remove all {size} {unit} of {owner}")
    return sorted(int(i) for i in indices)


@torch.no_grad()
def _zero(layers: Mapping[str, nn.Module], group: DependencyGroup, drop: list[int]) -> None:
    """Zero the rows (and biases) of the channels ``drop`` in producers and BatchNorms."""
    drop = torch.tensor(drop, dtype=torch.long)
    for names, axis in ((group.producers, "out"), (group.norms, "norm")):
        for name in names:
            module = layers[name]
            rows = torch.nonzero(torch.isin(group.owner(name, axis), drop)).reshape(-1)
            rows = rows.to(module.weight.device)
            module.weight[rows] = 0
            if module.bias is not None:
                module.bias[rows] = 0


def zero_group(model: nn.Module, group: DependencyGroup, indices: Sequence[int]) -> nn.Module:
    """Set channels of a group to zero everywhere, in place; return ``model``.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. Zeroes the
    channels' filters and biases in every producer and γ and β in every BatchNorm, so
    (in evaluation mode) the channels are 0 wherever they appear: the structured mask
    that :func:`remove_group` turns into a smaller network.
    """
    layers = _check_group(model, group)
    _zero(layers, group, _check_indices(indices, group.size))
    return model


def _slice(tensor, keep: torch.Tensor, dim: int):
    """The entries ``keep`` of ``tensor`` along ``dim``: a Parameter for a Parameter."""
    if tensor is None:
        return None
    out = tensor.detach().index_select(dim, keep.to(tensor.device))  # a new tensor
    if isinstance(tensor, nn.Parameter):
        return nn.Parameter(out, requires_grad=tensor.requires_grad)
    return out


def _fit_sizes(module: nn.Module) -> None:
    """Set a Conv2d's or Linear's size attributes from its (sliced) weight."""
    if isinstance(module, nn.Conv2d):
        out, per_group = module.weight.shape[:2]
        if module.groups > 1 and module.groups == module.in_channels:  # depthwise
            module.groups = out // (module.out_channels // module.groups)
        module.out_channels, module.in_channels = out, per_group * module.groups
    else:
        module.out_features, module.in_features = module.weight.shape


def _check_slice(layers, group, keep) -> None:
    if not isinstance(layers, Mapping):
        raise TypeError(f"layers must map layer names to modules (e.g. "
                        f"dict(model.named_modules())), got {type(layers).__name__}")
    _check_layers(layers, group)
    if not isinstance(keep, torch.Tensor) or keep.dtype != torch.long or keep.dim() != 1:
        raise TypeError("keep must be a one-dimensional torch.long tensor of the indices "
                        "of the channels to keep")
    if len(keep) == 0:
        raise ValueError("keep is empty: a group keeps at least one channel")
    if bool((keep[1:] <= keep[:-1]).any()) or keep.min() < 0 or keep.max() >= group.size:
        raise ValueError(f"keep must hold sorted, distinct indices in 0..{group.size - 1}")


@checked(_check_slice)
def slice_group(layers: Mapping[str, nn.Module], group: DependencyGroup,
                keep: torch.Tensor) -> None:
    """Keep only the channels ``keep`` of ``group`` in every layer of it, in place.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. ``layers``
    maps names to modules; ``keep`` holds the kept channels' indices, sorted.
    ``group.kept(name, axis, keep)`` gives a layer's indices that stay: index ``c``
    for channel ``c``, or as the group's ``layout`` says (offsets, flattened columns).
    """
    for name in group.producers:  # the filter (row) and bias that write each channel
        p = layers[name]
        rows = group.kept(name, "out", keep)
        p.weight, p.bias = _slice(p.weight, rows, 0), _slice(p.bias, rows, 0)
    for name in group.norms:  # each channel's γ, β and running statistics
        bn = layers[name]
        rows = group.kept(name, "norm", keep)
        for attr in ("weight", "bias", "running_mean", "running_var"):
            setattr(bn, attr, _slice(getattr(bn, attr), rows, 0))
        bn.num_features = len(rows)
    for name in group.consumers:  # the input columns that read each channel
        c = layers[name]
        c.weight = _slice(c.weight, group.kept(name, "in", keep), 1)
    for name in dict.fromkeys(group.producers + group.consumers):
        _fit_sizes(layers[name])


def _merge(chosen: Sequence[tuple[DependencyGroup, list[int]]]):
    """One group of all the groups' channels, and the channels it keeps."""
    owners: dict[tuple[str, str], torch.Tensor] = {}
    keep, offset = [], 0
    for group, drop in chosen:
        for names, axis in ((group.producers, "out"), (group.norms, "norm"),
                            (group.consumers, "in")):
            for name in names:
                owner = group.owner(name, axis)
                owner = torch.where(owner >= 0, owner + offset, -1)
                previous = owners.get((name, axis))
                owners[name, axis] = owner if previous is None else torch.where(
                    previous >= 0, previous, owner)
        dropped = set(drop)
        keep += [offset + k for k in range(group.size) if k not in dropped]
        offset += group.size
    names = {axis: tuple(n for n, a in owners if a == axis) for axis in ("out", "norm", "in")}
    layout = tuple((n, a, tuple(o.tolist())) for (n, a), o in owners.items())
    return (DependencyGroup(names["out"], names["norm"], names["in"], offset, layout),
            torch.tensor(keep, dtype=torch.long))


def _emptied(group: DependencyGroup, keep: torch.Tensor) -> str | None:
    """A layer of ``group`` left without any index if only the channels ``keep`` stay."""
    for names, axis in ((group.producers, "out"), (group.norms, "norm"),
                        (group.consumers, "in")):
        for name in names:
            if not len(group.kept(name, axis, keep)):
                return f"layer {name!r} without {_AXES[axis]}"
    return None


def _remove(model: nn.Module, chosen) -> nn.Module:
    """A copy of ``model`` without the channels ``drop`` of each ``(group, drop)``."""
    chosen = [(group, drop) for group, drop in chosen if drop]
    if not chosen:
        return copy.deepcopy(model)
    group, keep = _merge(chosen)
    emptied = _emptied(group, keep)
    if emptied:
        raise ValueError(f"removing these channels would leave {emptied}; remove fewer")
    new = copy.deepcopy(model)
    shared: dict[int, tuple[nn.Module, str]] = {}
    ties = []  # (module, attr) that share the parameter of (module, attr) before them
    for module in new.modules():
        for attr, p in module.named_parameters(recurse=False):
            if id(p) in shared:
                ties.append((module, attr, *shared[id(p)]))
            shared.setdefault(id(p), (module, attr))
    slice_group.unchecked(dict(new.named_modules()), group, keep)
    for module, attr, source, source_attr in ties:  # still shared, not two copies
        setattr(module, attr, getattr(source, source_attr))
    return new


def remove_group(model: nn.Module, group: DependencyGroup,
                 indices: Sequence[int]) -> nn.Module:
    """A smaller copy of ``model`` without the given channels of ``group``.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. Deletes the
    channels' filters (and biases) in every producer, their BatchNorm entries (γ, β,
    running mean and variance), and the input columns that read them in every
    consumer (after a Flatten, every column of the channel). Parameters shared by
    several layers stay shared. ``model`` is not changed; in evaluation mode the copy
    computes the same outputs as ``zero_group(copy.deepcopy(model), group, indices)``.

    Raises
    ------
    ValueError
        For indices out of range, repeated, all of the group's, or all the channels
        of one of its layers (a layer cannot have none).
    """
    _check_group(model, group)
    return _remove(model, [(group, _check_indices(indices, group.size))])


def _n_removed(amount, size: int) -> int:
    """How many of a group's ``size`` channels ``amount`` removes, as Torch-Pruning does.

    An int is a count (at most ``size − 1``); a fraction keeps
    ``int(size · (1 − amount))`` channels, the rule of ``torch_pruning``'s pruners (0.3
    of 64 removes 20, where ``round(0.3 · 64)`` would remove 19), and a group that this
    would empty (one of a single channel) is left whole, as they leave it.
    """
    if isinstance(amount, Integral):
        return check_amount(amount, size, allow_all=False)
    removed = size - int(size * (1 - check_fraction(amount, "amount", inclusive_high=False)))
    return 0 if removed == size else removed


def prune_groups(model: nn.Module, amount: float, *,
                 scores: Mapping[DependencyGroup, torch.Tensor] | None = None,
                 criterion: str | Callable = "l2") -> nn.Module:
    """A smaller copy of ``model`` with the lowest-scoring channels of every group removed.

    Introduced in :doc:`residual-networks`, section *Dependency groups*. Each
    prunable group (:func:`dependency_groups`) keeps ``int(size · (1 − amount))``
    of its channels, as Torch-Pruning's pruners do, and loses the others, those with
    the lowest scores: ``scores[group]`` if given, else those of ``criterion`` (a
    name of :data:`CRITERIA`, by default ``"l2"``: :func:`group_importance`, or a
    callable ``score(model, group)``). A
    group is left whole, as they leave it, where this would empty it (a group of one
    channel) or one of its layers (a layer that writes only some of the group's
    channels, e.g. one part of a concatenation, and all of them score lowest).
    Ties go to the smaller index. ``model`` is not changed (it is copied once). An
    int ``amount`` is the number of channels removed from each group, as ``amount``
    of ``torch.nn.utils.prune.ln_structured``; every group keeps one.

    Raises
    ------
    TypeError
        For ``scores`` that is not a mapping, or a criterion that is neither a name
        nor callable.
    ValueError
        For a fraction ``amount`` outside [0, 1), a count that would empty a group,
        scores of the wrong length, or an unknown criterion name.

    Examples
    --------
    >>> from torch import nn
    >>> from helpers.dependency import prune_groups
    >>> model = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 2))
    >>> prune_groups(model, 0.3)[2]  # keeps int(64 · 0.7) = 44, as Torch-Pruning
    Linear(in_features=44, out_features=2, bias=True)
    """
    if not isinstance(amount, Integral):
        check_fraction(amount, "amount", inclusive_high=False)
    rule = CRITERIA.resolve(criterion)
    groups = dependency_groups(model)
    if scores is not None and not isinstance(scores, Mapping):
        raise TypeError("scores must map each DependencyGroup to a tensor of scores")
    chosen = []
    for group in groups:
        s = rule(model, group) if scores is None else scores.get(group)
        if s is None:
            raise ValueError(f"scores has no entry for the group of {group.producers}")
        if not isinstance(s, torch.Tensor) or s.shape != (group.size,):
            source = "scores" if scores is not None else \
                f"criterion {CRITERIA.name_of(rule)!r}"
            raise ValueError(f"{source} for the group of {group.producers} must have shape "
                             f"({group.size},)")
        check_finite(s, "scores")
        order = torch.sort(s.detach().cpu(), stable=True).indices
        n = _n_removed(amount, group.size)
        if _emptied(group, order[n:]):  # left whole, as Torch-Pruning leaves it
            n = 0
        chosen.append((group, order[:n].tolist()))
    return _remove(model, chosen)


def torch_pruning_importance(model: nn.Module,
                             scores: Mapping[DependencyGroup, torch.Tensor]):
    """A Torch-Pruning importance that hands each group the scores given here.

    Introduced in :doc:`residual-networks`, section *The same with Torch-Pruning*. Pass
    it as ``importance=`` to ``torch_pruning.pruner.MetaPruner(model, ...)`` (the
    same ``model`` object): for each group that Torch-Pruning builds, it returns, for
    every output channel of the group's root layer, the score ``scores[g]`` of the
    channel of the :class:`DependencyGroup` ``g`` that it belongs to, so both routes
    rank the channels identically (also where one channel is several filters, as
    around grouped convolutions).

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
    by_layer: dict[tuple[str, str], list] = {}
    for g, s in scores.items():
        for layers, axis in ((g.producers, "out"), (g.consumers, "in")):
            for name in layers:
                by_layer.setdefault((name, axis), []).append((g, s.detach().cpu()))

    class GivenImportance(tp.importance.Importance):
        def __call__(self, group):
            dep = group[0].dep
            name = names.get(dep.target.module)
            axis = "in" if "in_channels" in getattr(dep.handler, "__name__", "") else "out"
            if (name, axis) not in by_layer:
                raise ValueError(f"no scores for the Torch-Pruning group rooted at {name!r}")
            given = by_layer[name, axis]
            width = len(given[0][0].owner(name, axis))
            importance = torch.full((width,), float("inf"))
            for g, s in given:
                owner = g.owner(name, axis)
                importance[owner >= 0] = s[owner[owner >= 0]].float()
            return importance

    return GivenImportance()

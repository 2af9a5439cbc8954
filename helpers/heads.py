"""Attention heads as dependency groups: their importance, zeroing and removal.

A head of a block of :class:`helpers.language_model.TinyTransformer` owns
``3 × head_dim`` rows of the block's query-key-value layer (its queries, keys and
values, with their biases) and the ``head_dim`` input columns of the output
projection that read its output. These rows and columns can only go together: they
form one *dependency group* (:class:`helpers.dependency.DependencyGroup`) whose
channels are the heads. :func:`head_groups` builds the group of every block (the
tracer of :func:`helpers.dependency.dependency_groups` refuses attention; here the
layout is written out), so :func:`helpers.dependency.zero_group`,
:func:`helpers.dependency.remove_group` and
:func:`helpers.dependency.group_importance` work on heads as on channels.

Zeroing a head's values (and biases) makes its output zero, whatever its attention
pattern; removing its rows and columns computes the same outputs with a smaller
model (:func:`remove_heads`, tested equal to :func:`zero_heads`). Which heads to
remove: :func:`head_importance`, the gradient importance of Michel, Levy and Neubig
(*Are Sixteen Heads Really Better than One?*, NeurIPS 2019).

Introduced in :doc:`language-models`, section *Removing attention heads*.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch.nn import functional as F

from . import dependency
from .language_model import TinyTransformer
from .train import evaluation_mode

__all__ = ["Heads", "head_groups", "head_importance", "zero_heads", "remove_heads",
           "count_heads"]

#: Block index → the indices of its heads (in the block's current numbering).
Heads = Mapping[int, Sequence[int]]


def _check_model(model) -> TinyTransformer:
    if not isinstance(model, TinyTransformer):
        raise TypeError(f"model must be a helpers.language_model.TinyTransformer, got "
                        f"{type(model).__name__}")
    return model


def head_groups(model: TinyTransformer) -> dict[int, dependency.DependencyGroup]:
    """The attention heads of each block as one dependency group.

    Introduced in :doc:`language-models`, section *Removing attention heads*. Group
    ``i`` has one channel per head of block ``i``: producer ``blocks.{i}.qkv``
    (row ``r`` belongs to head ``(r mod d) // head_dim``, ``d`` the width of the
    queries: the head's query, key and value rows) and consumer ``blocks.{i}.proj``
    (column ``c`` to head ``c // head_dim``).

    Returns
    -------
    dict
        Block index → :class:`helpers.dependency.DependencyGroup` of ``n_heads``
        channels.
    """
    groups = {}
    for i, block in enumerate(_check_model(model).blocks):
        inner, width = block.n_heads * block.head_dim, block.head_dim
        rows = tuple((r % inner) // width for r in range(3 * inner))
        columns = tuple(c // width for c in range(inner))
        qkv, proj = f"blocks.{i}.qkv", f"blocks.{i}.proj"
        groups[i] = dependency.DependencyGroup(
            producers=(qkv,), norms=(), consumers=(proj,), size=block.n_heads,
            layout=((qkv, "out", rows), (proj, "in", columns)))
    return groups


def count_heads(model: TinyTransformer) -> list[int]:
    """The number of heads of each block."""
    return [block.n_heads for block in _check_model(model).blocks]


def _check_heads(model, heads) -> dict[int, list[int]]:
    sizes = count_heads(model)
    if not isinstance(heads, Mapping):
        raise TypeError("heads must map block indices to lists of head indices, e.g. "
                        f"{{0: [1, 3]}}; got {type(heads).__name__}")
    out = {}
    for block, chosen in heads.items():
        if isinstance(block, bool) or not isinstance(block, int) or not 0 <= block < len(sizes):
            raise ValueError(f"block {block!r} is not one of the model's blocks "
                             f"0..{len(sizes) - 1}")
        out[block] = dependency._check_indices(chosen, sizes[block], f"block {block}",
                                               "heads")
    return out


def zero_heads(model: TinyTransformer, heads: Heads) -> TinyTransformer:
    """Zero the given heads in place (queries, keys, values and their biases); return
    ``model``.

    Introduced in :doc:`language-models`, section *Removing attention heads*. A head
    whose values are zero outputs zero, so the model computes what
    :func:`remove_heads` computes with a smaller model.
    """
    heads = _check_heads(_check_model(model), heads)
    groups = head_groups(model)
    with torch.no_grad():
        for block, chosen in heads.items():
            dependency.zero_group(model, groups[block], chosen)
    return model


def remove_heads(model: TinyTransformer, heads: Heads) -> TinyTransformer:
    """A smaller copy of ``model`` without the given heads of each block.

    Introduced in :doc:`language-models`, section *Removing attention heads*. Each
    block's head group is cut with :func:`helpers.dependency.remove_group`: the
    heads' rows of the query-key-value layer and the columns of the output
    projection that read them. ``model`` is not changed; the copy computes the same
    outputs as :func:`zero_heads` on a copy.

    Raises
    ------
    ValueError
        For a block or head that does not exist, a repeated head, or all the heads
        of a block.
    """
    heads = _check_heads(_check_model(model), heads)
    new = model
    for block, chosen in heads.items():
        if chosen:
            new = dependency.remove_group(new, head_groups(new)[block], chosen)
    return new if new is not model else copy.deepcopy(model)


def _check_windows(model: TinyTransformer, windows) -> torch.Tensor:
    if (not isinstance(windows, torch.Tensor) or windows.dim() != 2
            or windows.dtype != torch.long):
        raise TypeError("windows must be a (n, length) torch.long tensor of token ids, "
                        "e.g. helpers.language_model.sample_windows(tokens, n, length)")
    if not 2 <= windows.shape[1] <= model.context + 1:
        raise ValueError(f"windows must hold 2 to context + 1 = {model.context + 1} "
                         f"tokens each, got {windows.shape[1]}")
    return windows


def head_importance(model: TinyTransformer, windows: torch.Tensor) -> torch.Tensor:
    """Michel et al.'s importance of every head: ``E |∂L/∂ξ_h|``.

    Introduced in :doc:`language-models`, section *Removing attention heads*. With a
    gate ξ_h = 1 multiplying head ``h``'s output ``a_h``, the derivative of the loss
    ``L`` of a window is ``Σ a_h · ∂L/∂a_h`` (over positions and the head's
    features); its absolute value, averaged over ``windows`` (shape ``(n, length)``,
    each predicting its next characters), is the expected change of the loss if the
    head were removed, to first order. Shape ``(n_blocks, n_heads)`` (blocks with
    fewer heads padded with NaN), on the CPU; the lowest go first. The model's
    weights, gradients and mode are left as they were.
    """
    windows = _check_windows(_check_model(model), windows)
    x, y = windows[:, :-1], windows[:, 1:]
    inputs = {}
    hooks = [block.proj.register_forward_hook(
        lambda m, args, out, i=i: inputs.__setitem__(i, args[0])) for i, block in
        enumerate(model.blocks)]
    saved = [p.grad for p in model.parameters()]
    try:
        with evaluation_mode(model), torch.enable_grad():
            logits = model(x.to(next(model.parameters()).device))
            losses = F.cross_entropy(logits.transpose(1, 2), y.to(logits.device),
                                     reduction="none").mean(dim=1)
            a = [inputs[i] for i in range(len(model.blocks))]
            grads = torch.autograd.grad(losses.sum(), a)
    finally:
        for hook in hooks:
            hook.remove()
        for p, g in zip(model.parameters(), saved):
            p.grad = g
    out = torch.full((len(a), max(count_heads(model))), float("nan"))
    for i, (ai, gi) in enumerate(zip(a, grads)):
        n, width = model.blocks[i].n_heads, model.blocks[i].head_dim
        gate = (ai * gi).reshape(*ai.shape[:2], n, width).sum(dim=(1, 3))  # (windows, heads)
        out[i, :n] = gate.abs().mean(dim=0).detach().cpu()
    return out

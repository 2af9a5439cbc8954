"""Small utilities shared by the structured-pruning and robustness tests."""

from __future__ import annotations

import copy

import torch
from torch import nn


def randomise_batchnorm(model: nn.Module, gen: torch.Generator) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters (as after training)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen))
                m.running_mean.copy_(torch.randn(n, generator=gen))
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
    return model


# --- dependency groups: the oracles of the tests ------------------------------------------

def n_removed(amount: float, size: int) -> int:
    """Channels Torch-Pruning removes from a group of ``size`` (its pruners' rule)."""
    return size - int(size * (1 - amount))


def random_scores(groups, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return {g: torch.rand(g.size, generator=gen) for g in groups}


def zeroed(model: nn.Module, scores: dict, amount: float) -> nn.Module:
    """A copy with the lowest-scoring channels of every group set to zero."""
    from helpers import dependency

    model = copy.deepcopy(model)
    for group, s in scores.items():
        drop = torch.sort(s, stable=True).indices[:n_removed(amount, group.size)]
        dependency.zero_group(model, group, drop)
    return model


def torch_pruned(model: nn.Module, x: torch.Tensor, scores: dict, amount: float,
                 ignored: tuple[str, ...]) -> nn.Module:
    """A copy pruned by Torch-Pruning's MetaPruner under the same scores."""
    import torch_pruning as tp

    from helpers import dependency

    model = copy.deepcopy(model)
    pruner = tp.pruner.MetaPruner(
        model, x, importance=dependency.torch_pruning_importance(model, scores),
        pruning_ratio=amount, ignored_layers=[model.get_submodule(n) for n in ignored])
    pruner.step()
    return model


def shapes(model: nn.Module) -> list:
    return [(name, tuple(p.shape)) for name, p in model.named_parameters()]


def gap(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        return (a(x) - b(x)).abs().max().item()

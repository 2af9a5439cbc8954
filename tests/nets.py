"""Small utilities shared by the structured-pruning and robustness tests."""

from __future__ import annotations

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

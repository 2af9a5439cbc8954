"""helpers.models (LeNet-5, small CNN) and structured pruning in helpers.prune."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers import models


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_lenet5_has_the_431k_parameters_of_han_et_al():
    model = models.lenet5()
    assert _n_params(model) == 431_080
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("channels", [(8,), (16, 32), (4, 6, 8)])
def test_small_cnn_layout(channels):
    model = models.small_cnn(channels, n_classes=7)
    assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 7)
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    bns = [m for m in model if isinstance(m, nn.BatchNorm2d)]
    assert [c.out_channels for c in convs] == list(channels)
    assert [b.num_features for b in bns] == list(channels)


@pytest.mark.parametrize("kwargs, error", [
    ({"channels": ()}, ValueError), ({"channels": (0,)}, ValueError),
    ({"image_size": 7}, ValueError), ({"kernel_size": 4}, ValueError),
    ({"n_classes": 2.5}, TypeError),
])
def test_small_cnn_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        models.small_cnn(**kwargs)

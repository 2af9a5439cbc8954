"""helpers.layers: one table of layer kinds, read by both removal engines."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers import dependency, structured
from helpers.layers import (
    LAYER_KINDS, STRUCTURED_KINDS, layer_kind, layers_of_kind, weight_layers,
)

#: How to build one layer of each class of the table (the rest take no argument).
ARGUMENTS = {nn.Linear: (6, 6), nn.Conv2d: (4, 4, 1), nn.BatchNorm1d: (6,),
             nn.BatchNorm2d: (4,), nn.MaxPool2d: (2,), nn.AvgPool2d: (2,),
             nn.AdaptiveAvgPool2d: (2,), nn.AdaptiveMaxPool2d: (2,)}
#: Channels on axis 1 of an image for these kinds; the others follow a Linear layer.
ON_IMAGES = {nn.Conv2d, nn.BatchNorm2d, nn.Dropout2d, *layers_of_kind("pool")}


class Gated(nn.Module):
    """``h * gate(h)``: a gate where a product with the gated channels follows."""

    def __init__(self, middle: nn.Module):
        super().__init__()
        self.first, self.middle, self.last = nn.Linear(3, 6), middle, nn.Linear(6, 2)

    def forward(self, x):
        h = self.first(x)
        return self.last(h * self.middle(h))


def _model_with(cls) -> nn.Module:
    """A small network with one layer of class ``cls`` between two producers."""
    middle = cls(*ARGUMENTS.get(cls, ()))
    if LAYER_KINDS.get(cls) == "gate":
        return Gated(middle)
    if cls is nn.Flatten or cls in ON_IMAGES:
        tail = [] if cls is nn.Flatten else [middle, nn.Flatten()]
        width = 4 * (4 if LAYER_KINDS[cls] == "pool" else 16)  # channels × positions
        first = [nn.Conv2d(2, 4, 1), middle] if cls is nn.Flatten else [nn.Conv2d(2, 4, 1)]
        return nn.Sequential(*first, *tail, nn.Linear(width, 2))
    return nn.Sequential(nn.Linear(3, 6), middle, nn.Linear(6, 2))


def _example(model) -> torch.Tensor:
    first = next(m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    return torch.randn(2, 2, 4, 4) if isinstance(first, nn.Conv2d) else torch.randn(2, 3)


def _structured_accepts(model) -> bool:
    try:
        return structured.removable_layers(model) != []
    except TypeError:
        return False


def _dependency_accepts(model) -> bool:
    try:
        groups = dependency.dependency_groups(model)
    except TypeError:
        return False
    model.eval()
    small = dependency.prune_groups(model, 1)  # the engine removes through it, too
    x = _example(model)
    return bool(groups) and small(x).shape == model(x).shape


@pytest.mark.parametrize("cls", list(LAYER_KINDS), ids=lambda c: c.__name__)
def test_each_engine_accepts_exactly_the_kinds_of_the_table(cls):
    model = _model_with(cls)
    kind = LAYER_KINDS[cls]
    if not isinstance(model, Gated):
        assert _structured_accepts(model) == (kind in STRUCTURED_KINDS)
    else:
        assert not _structured_accepts(nn.Sequential(nn.Linear(3, 6), cls(), nn.Linear(6, 2)))
    assert _dependency_accepts(model)


@pytest.mark.parametrize("module", [nn.Softplus(), nn.LayerNorm(6), nn.PReLU()],
                         ids=lambda m: type(m).__name__)
def test_kinds_outside_the_table_are_rejected_by_both_engines(module):
    model = nn.Sequential(nn.Linear(3, 6), module, nn.Linear(6, 2))
    assert layer_kind(module) is None
    assert not _structured_accepts(model)
    assert not _dependency_accepts(model)


def test_the_engines_read_their_kinds_from_the_table():
    assert set(structured._PRODUCERS) == set(dependency._PRODUCERS) == \
        set(layers_of_kind("producer"))
    assert set(structured._BATCHNORMS) == set(dependency._NORMS) == set(layers_of_kind("norm"))
    assert set(structured._PASS_THROUGH) == set(dependency._ELEMENTWISE) | set(
        dependency._POOLS) == set(layers_of_kind("elementwise", "pool"))
    assert set(dependency._GATES) == set(layers_of_kind("gate"))
    assert set(STRUCTURED_KINDS) == set(LAYER_KINDS.values()) - {"gate"}


def test_layer_kind_of_a_subclass_and_errors():
    class MyReLU(nn.ReLU):
        pass

    assert layer_kind(MyReLU()) == "elementwise"
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        layer_kind("relu")
    with pytest.raises(ValueError, match="unknown layer kind"):
        layers_of_kind("convolution")


def test_weight_layers_are_the_rule_for_which_weights():
    model = nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(), nn.Linear(4, 3), nn.ReLU())
    assert [name for name, _ in weight_layers(model)] == ["0", "2"]

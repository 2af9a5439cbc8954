"""What practitioners pass: inputs replayed from public bug reports and questions.

Four kinds of input that once gave silently wrong results, each checked as a kind:

1. structured removal when a Linear layer sees more than two dimensions (a per-position
   MLP, a Flatten after it) — a property over small random architectures;
2. models that carry ``torch.nn.utils.prune`` or ``torch.nn.utils.parametrize``
   re-parametrisations — every public function that reads or writes weights;
3. the Lasso's convergence reports at its edges (α = 0, rank-deficient X, α ≥ α_max);
4. arguments that mirror torch or scikit-learn (an integer ``amount`` is a count, the
   input types of scikit-learn's ``Lasso``);

and, for every public function that takes a model, no change to the caller's model
beyond the function's job (train/eval mode, BatchNorm statistics, ``requires_grad``).
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import structured

# ------------------------------------------------------- 1. structured removal, any layout

_ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.GELU, nn.Identity)


def _randomise_bn(model: nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen))
                m.running_mean.copy_(torch.randn(n, generator=gen))
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)


@st.composite
def _architectures(draw):
    """A model, an input, a removable layer name and the units to remove."""
    seed = draw(st.integers(0, 2**16))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n = draw(st.integers(2, 6))
    act = draw(st.sampled_from(_ACTIVATIONS))()
    if draw(st.booleans()):  # a Linear producer, applied per position when lead != ()
        lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        features = draw(st.integers(1, 4))
        layers = [nn.Linear(features, n)]
        if not lead and draw(st.booleans()):
            layers.append(nn.BatchNorm1d(n))
        layers += [act, nn.Dropout(0.5)]
        if draw(st.booleans()):
            positions = 1
            for d in lead:
                positions *= d
            layers += [nn.Flatten(), nn.Linear(positions * n, 2)]
        else:
            layers.append(nn.Linear(n, 2))
        x = torch.randn(3, *lead, features, generator=gen)
    else:  # a Conv producer
        size = draw(st.integers(3, 5))
        layers = [nn.Conv2d(2, n, 3, padding=1)]
        if draw(st.booleans()):
            layers.append(nn.BatchNorm2d(n))
        layers.append(act)
        pool = draw(st.sampled_from([None, nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(2)]))
        spatial = size
        if pool is not None:
            layers.append(pool)
            spatial = size // 2 if isinstance(pool, nn.MaxPool2d) else 2
        if draw(st.booleans()):
            layers += [nn.Flatten(), nn.Linear(n * spatial * spatial, 2)]
        else:
            layers.append(nn.Conv2d(n, 2, 1))
        x = torch.randn(3, 2, size, size, generator=gen)
    model = nn.Sequential(*layers)
    _randomise_bn(model, gen)
    drop = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n - 1, unique=True))
    return model.eval(), x, drop


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_architectures())
def test_removal_equals_zeroing_for_any_accepted_layout(case):
    model, x, drop = case
    removal = (structured.remove_neurons if isinstance(model[0], nn.Linear)
               else structured.remove_channels)
    small = removal(model, "0", drop)
    zeroed = structured.zero_units(copy.deepcopy(model), "0", drop)
    assert torch.allclose(small(x), zeroed(x), atol=1e-5)
    n = structured._n_units(model[0])
    assert structured._n_units(small[0]) == n - len(drop)
    # one score per unit, for every criterion that reads the data
    y = torch.zeros(len(x), *model(x).shape[1:-1], dtype=torch.long)
    for criterion in ("activation", "taylor"):
        if criterion == "taylor" and model(x).dim() != 2:
            continue  # cross-entropy over (N, classes) only
        scores = structured.neuron_importance(model, "0", criterion, X=x, y=y)
        assert scores.shape == (n,)
    scores = structured.neuron_importance(zeroed, "0", "activation", X=x)
    assert bool((scores[drop] == 0).all())


def test_per_position_linear_then_flatten_is_removed_correctly():
    """The reported input: a Linear applied per position of a sequence, then flattened."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Flatten(), nn.Linear(15, 2)).eval()
    x = torch.randn(6, 3, 4)
    small = structured.remove_neurons(model, "0", [1, 3])
    zeroed = structured.zero_units(copy.deepcopy(model), "0", [1, 3])
    assert torch.allclose(small(x), zeroed(x), atol=1e-6)
    for criterion in ("activation", "taylor"):
        scores = structured.neuron_importance(model, "0", criterion, X=x,
                                              y=torch.zeros(6, dtype=torch.long))
        assert scores.shape == (5,)
    expected = torch.relu(model[0](x)).abs().mean(dim=(0, 1)).detach()
    assert torch.allclose(structured.neuron_importance(model, "0", "activation", X=x),
                          expected, atol=1e-6)
    out = structured.neuron_importance(model, "0", "l1_out")
    assert torch.allclose(out, model[3].weight.detach().reshape(2, 3, 5).abs().sum(dim=(0, 1)))
    smaller = structured.prune_units(model, 0.4, criterion="activation", X=x)
    assert smaller[0].out_features == 3 and smaller[3].in_features == 9


@pytest.mark.parametrize("layers, match", [
    ([nn.Linear(4, 6), nn.ReLU(), nn.MaxPool1d(2), nn.Linear(3, 2)], "pools across units"),
    ([nn.Linear(4, 6), nn.Flatten(0), nn.Linear(6, 2)], "start_dim"),
    ([nn.Linear(4, 6), nn.BatchNorm2d(6), nn.Linear(6, 2)], "BatchNorm1d"),
    ([nn.Linear(4, 6), nn.BatchNorm1d(6, affine=False), nn.Linear(6, 2)], "affine"),
    ([nn.Conv2d(1, 6, 3), nn.BatchNorm1d(6), nn.Conv2d(6, 2, 1)], "BatchNorm2d"),
])
def test_layouts_that_mix_units_are_rejected(layers, match):
    with pytest.raises((TypeError, ValueError), match=match):
        structured.zero_units(nn.Sequential(*layers), "0", [0])


def test_batchnorm1d_over_positions_is_rejected_when_data_shows_it():
    # BatchNorm1d(3) after Linear(4, 3) on (N, 3, 4) normalises the 3 positions, not units
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="normalises axis 1"):
        structured.neuron_importance(model.eval(), "0", "activation", X=torch.randn(5, 3, 4))

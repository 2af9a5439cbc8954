"""helpers.allocation: layer-wise sparsity, against the papers' formulas and reference code."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import allocation, prune
from helpers.models import mlp


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 30), nn.ReLU(), nn.Linear(30, 10))


# ------------------------------------------------------------------------------ ERK

def rigl_get_sparsities(shapes: dict[str, tuple[int, ...]], sparsity: float,
                        power: float = 1.0) -> dict[str, float]:
    """A transcription of RigL's ``sparse_utils.get_sparsities`` (ERK, no custom map)."""
    dense_layers: set[str] = set()
    while True:
        divisor, rhs, raw = 0.0, 0.0, {}
        for name, shape in shapes.items():
            n_param = np.prod(shape)
            n_zeros, n_ones = n_param * sparsity, n_param * (1 - sparsity)
            if name in dense_layers:
                rhs -= n_zeros
            else:
                rhs += n_ones
                raw[name] = (np.sum(shape) / np.prod(shape)) ** power
                divisor += raw[name] * n_param
        if not raw:          # every layer dense (sparsity 0 up to rounding)
            return dict.fromkeys(shapes, 0.0)
        eps = rhs / divisor
        max_prob = max(raw.values())
        if max_prob * eps > 1:
            dense_layers |= {n for n, p in raw.items() if p == max_prob}
        else:
            break
    return {n: 0.0 if n in dense_layers else 1 - eps * raw[n] for n in shapes}


def test_erk_by_hand():
    # a 4×4 and a 2×2 layer: raw densities 8/16 and 4/4; keep 10 of 20 weights
    net = nn.Sequential(nn.Linear(4, 4, bias=False), nn.Linear(4, 2, bias=False),
                        nn.Linear(2, 2, bias=False))
    got = allocation.erk(net, 0.5, names=["0.weight", "2.weight"])
    eps = 10 / (0.5 * 16 + 1.0 * 4)
    assert got == pytest.approx({"0.weight": 1 - 0.5 * eps, "2.weight": 1 - eps})
    assert allocation.overall_sparsity(net, got, names=["0.weight", "2.weight"]) == \
        pytest.approx(0.5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40)), min_size=1, max_size=5),
       st.floats(0.0, 1.0), st.sampled_from([0.0, 0.5, 1.0]))
def test_erk_equals_the_reference_code(sizes, sparsity, power):
    layers = [nn.Linear(n_in, n_out, bias=False) for n_out, n_in in sizes]
    net = nn.Sequential(*layers)
    shapes = {f"{k}.weight": (n_out, n_in) for k, (n_out, n_in) in enumerate(sizes)}
    got = allocation.erk(net, sparsity, power=power)
    if sparsity < 1:
        want = rigl_get_sparsities(shapes, sparsity, power)
        assert got == pytest.approx(want, abs=1e-9)
    assert all(0 <= s <= 1 for s in got.values())
    assert allocation.overall_sparsity(net, got) == pytest.approx(sparsity, abs=1e-9)


def test_erk_counts_every_dimension_of_a_convolution():
    net = _net()
    got = allocation.erk(net, 0.8)
    raw = {"0.weight": (4 + 1 + 3 + 3) / (4 * 1 * 3 * 3), "3.weight": (30 + 144) / (30 * 144),
           "5.weight": (10 + 30) / (10 * 30)}
    want = rigl_get_sparsities({"0.weight": (4, 1, 3, 3), "3.weight": (30, 144),
                                "5.weight": (10, 30)}, 0.8)
    assert got == pytest.approx(want)
    assert got["0.weight"] == 0.0 and raw["0.weight"] == max(raw.values())  # kept dense
    assert got["3.weight"] > got["5.weight"]           # the largest layer loses most


def test_power_zero_is_uniform():
    net = mlp([8, 6, 3])
    assert allocation.erk(net, 0.7, power=0) == pytest.approx(allocation.uniform(net, 0.7))


# ----------------------------------------------------------------------------- LAMP

def lamp_reference(weight: torch.Tensor) -> torch.Tensor:
    """A transcription of ``_normalize_scores`` of the LAMP paper's code (scores = w²)."""
    scores = weight ** 2
    sorted_scores, sorted_idx = scores.view(-1).sort(descending=False, stable=True)
    cumsum_temp = sorted_scores.cumsum(dim=0)
    cumsum = torch.zeros(cumsum_temp.shape)
    cumsum[1:] = cumsum_temp[:len(cumsum_temp) - 1]
    sorted_scores /= (scores.sum() - cumsum)
    new_scores = torch.zeros(cumsum.shape)
    new_scores[sorted_idx] = sorted_scores
    return new_scores.view(scores.shape)


def test_lamp_scores_by_hand_and_against_the_reference():
    w = torch.tensor([[3.0, -1.0], [2.0, 0.5]])
    squares = [0.25, 1.0, 4.0, 9.0]   # ascending; tails 14.25, 14, 13, 9
    assert prune.lamp_scores(w) == pytest.approx(torch.tensor(
        [[9 / 9, 1 / 14], [4 / 13, 0.25 / 14.25]]))
    assert sum(squares) == 14.25
    g = torch.Generator().manual_seed(0)
    for shape in [(7,), (5, 9), (3, 2, 3, 3)]:
        w = torch.randn(shape, generator=g)
        assert torch.allclose(prune.lamp_scores(w), lamp_reference(w.clone()), atol=1e-6)
        assert prune.lamp_scores(w).max() == pytest.approx(1.0)   # the largest scores 1
    assert torch.equal(prune.lamp_scores(torch.zeros(4)), torch.zeros(4))
    with pytest.raises(TypeError):
        prune.lamp_scores(torch.ones(3, dtype=torch.int64))


def test_lamp_keeps_a_weight_in_every_layer_and_hits_the_sparsity():
    net = _net(1)
    with torch.no_grad():
        net[5].weight.mul_(1e-3)      # a layer of tiny weights: global magnitude empties it
    n = sum(p.numel() for p in prune.prunable_parameters(net).values())
    sparsity = 0.98
    lamp, glob = allocation.lamp(net, sparsity), allocation.global_magnitude(net, sparsity)
    assert glob["5.weight"] == 1.0 and max(lamp.values()) < 1.0
    for rule in (lamp, glob):
        assert allocation.overall_sparsity(net, rule) == pytest.approx(
            round(sparsity * n) / n)
    masks = prune.global_masks(net, sparsity, criterion="lamp")
    assert {k: 1 - float(m.mean()) for k, m in masks.items()} == pytest.approx(lamp)


# ------------------------------------------------------------------------------ OWL

def test_owl_by_hand():
    # ratios 1 %, 2 %, 3 %: spread onto [0, 0.16], mean 0.08; densities 0.42, 0.5, 0.58
    assert allocation.owl([0.01, 0.02, 0.03], 0.5, lam=0.08) == pytest.approx(
        [0.58, 0.5, 0.42])
    got = allocation.owl({"a": 0.1, "b": 0.0, "c": 0.0, "d": 0.02}, 0.7, lam=0.05)
    assert np.mean(list(got.values())) == pytest.approx(0.7)
    assert min(got, key=got.get) == "a" and max(got.values()) - min(got.values()) == \
        pytest.approx(0.1)
    assert allocation.owl([0.2, 0.2], 0.6) == pytest.approx([0.6, 0.6])


def test_owl_refuses_what_would_leave_zero_to_one():
    with pytest.raises(ValueError, match="lam"):
        allocation.owl([0.1, 0.2], 0.05, lam=0.08)
    with pytest.raises(ValueError, match="empty"):
        allocation.owl([], 0.5)
    with pytest.raises(ValueError):
        allocation.owl([1.5], 0.5)


def test_outlier_ratio():
    assert allocation.outlier_ratio(torch.tensor([1.0] * 9 + [91.0])) == 0.1
    assert allocation.outlier_ratio(torch.ones(5)) == 0.0
    assert allocation.outlier_ratio(torch.tensor([0.0, 0.0, 1.0]), m=2) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="nonnegative"):
        allocation.outlier_ratio(torch.tensor([-1.0, 2.0]))
    with pytest.raises(ValueError, match="positive"):
        allocation.outlier_ratio(torch.ones(3), m=0)


# ---------------------------------------------------------------------- every rule

@pytest.mark.parametrize("name", ["uniform", "global", "erk", "lamp"])
def test_every_rule_feeds_layerwise_masks_at_the_overall_sparsity(name):
    net = _net(2)
    before = copy.deepcopy(net.state_dict())
    rule = allocation.RULES.resolve(name)
    amounts = rule(net, 0.9)
    masks = prune.layerwise_masks(net, amounts)
    n = sum(m.numel() for m in masks.values())
    assert prune.masks_sparsity(masks) == pytest.approx(0.9, abs=len(masks) / n)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_rules_check_their_arguments():
    net = mlp([6, 4, 2])
    with pytest.raises(ValueError, match="sparsity"):
        allocation.erk(net, 1.5)
    with pytest.raises(TypeError):
        allocation.uniform(net, "half")
    with pytest.raises(ValueError, match="power"):
        allocation.erk(net, 0.5, power=-1)
    with pytest.raises(ValueError, match="exactly"):
        allocation.overall_sparsity(net, {"0.weight": 0.5})
    with pytest.raises(ValueError, match="unknown allocation"):
        allocation.RULES.resolve("owl-ish")
    assert math.isclose(allocation.overall_sparsity(net, allocation.uniform(net, 0.25)), 0.25)


# ------------------------------------------------------------- OWL on a language model

def _lm(n_layers: int = 3):
    from helpers import language_model as lm

    torch.manual_seed(0)
    model = lm.TinyTransformer(7, context=8, d_model=16, n_layers=n_layers, n_heads=2)
    with torch.no_grad():   # one block with large weights: more outlier scores there
        for p in model.blocks[1].parameters():
            if p.dim() == 2:
                p[:, :2] *= 30
    return model, torch.randint(0, 7, (6, 8), generator=torch.Generator().manual_seed(1))


def test_owl_sparsities_follow_the_blocks_outlier_ratios():
    from helpers import layerwise

    model, calibration = _lm()
    got = allocation.owl_sparsities(model, calibration, 0.6, lam=0.1)
    names = layerwise.linear_layers(model)
    assert list(got) == names
    # the ratios by hand: Wanda scores of each block's layers together, M = 5
    inputs = layerwise.layer_inputs(model, calibration)
    modules = dict(model.named_modules())
    ratios = {}
    for block in ("blocks.0", "blocks.1", "blocks.2"):
        scores = torch.cat([(modules[n].weight.abs() * inputs[n].double().norm(dim=0))
                            .reshape(-1) for n in names if n.startswith(block + ".")])
        ratios[block] = float((scores > 5 * scores.mean()).double().mean())
    want = allocation.owl(ratios, 0.6, lam=0.1)
    assert got == pytest.approx({n: want[layerwise.block_of(model, n)] for n in names})
    assert np.mean(list(want.values())) == pytest.approx(0.6)
    assert min(want, key=want.get) == max(ratios, key=ratios.get)  # most outliers: least pruned


def test_prune_layerwise_takes_one_sparsity_per_layer():
    from helpers import layerwise

    model, calibration = _lm(2)
    owl = allocation.owl_sparsities(model, calibration, 0.5, lam=0.2)
    pruned = layerwise.prune_layerwise(model, "wanda", owl, calibration=calibration)
    layers = dict(pruned.named_modules())
    for name, s in owl.items():
        w = layers[name].weight
        # Wanda prunes s of each output row: round(s · in) per row
        assert int((w == 0).sum()) == w.shape[0] * round(s * w.shape[1]), name
    with pytest.raises(ValueError, match="missing"):
        layerwise.prune_layerwise(model, "wanda", {"blocks.0.fc1": 0.5},
                                  calibration=calibration)
    with pytest.raises(ValueError, match="sparsity"):
        layerwise.prune_layerwise(model, "wanda", dict.fromkeys(owl, 1.5),
                                  calibration=calibration)

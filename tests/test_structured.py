"""helpers.models (LeNet-5, small CNN) and structured pruning in helpers.prune."""

from __future__ import annotations

import copy
import types

import pytest
import torch
from torch import nn

from helpers import models, prune, structured, train
from nets import randomise_batchnorm


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


# ------------------------------------------------------------------ structured pruning

def _randomise_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters (as after training)."""
    return randomise_batchnorm(model, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("layer, drop", [("0", [0, 5, 9]), ("2", [1]), ("0", [])])
def test_removed_neurons_give_the_outputs_of_the_zeroed_model(layer, drop):
    torch.manual_seed(0)
    model = models.mlp([12, 10, 6, 3]).eval()
    small = structured.remove_neurons(model, layer, drop)
    zeroed = structured.zero_units(copy.deepcopy(model), layer, drop)
    X = torch.randn(50, 12)
    assert torch.allclose(small(X), zeroed(X), atol=1e-6)
    assert small[int(layer)].out_features == model[int(layer)].out_features - len(drop)
    assert _n_params(small) < _n_params(model) or not drop
    # the original is untouched
    assert model[int(layer)].out_features in (10, 6)


def test_removal_with_batchnorm1d_and_successive_layers():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 10), nn.BatchNorm1d(10), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(10, 7), nn.ReLU(), nn.Linear(7, 2))
    model = _randomise_bn(model).eval()
    small = structured.remove_neurons(structured.remove_neurons(model, "0", [2, 3]), "4", [0, 6])
    zeroed = structured.zero_units(structured.zero_units(copy.deepcopy(model), "0", [2, 3]), "4", [0, 6])
    X = torch.randn(40, 8)
    assert torch.allclose(small(X), zeroed(X), atol=1e-6)
    assert small[1].num_features == 8 and small[6].in_features == 5


@pytest.mark.parametrize("layer, drop", [("0", [3, 7, 8, 15]), ("3", list(range(0, 32, 3)))])
def test_removed_channels_give_the_outputs_of_the_zeroed_cnn(layer, drop):
    torch.manual_seed(2)
    model = _randomise_bn(models.small_cnn((16, 32))).eval()
    small = structured.remove_channels(model, layer, drop)
    zeroed = structured.zero_units(copy.deepcopy(model), layer, drop)
    X = torch.randn(20, 1, 8, 8)
    assert torch.allclose(small(X), zeroed(X), atol=1e-5)
    assert small[int(layer)].out_channels == model[int(layer)].out_channels - len(drop)
    # removing the channels differs from zeroing only the filters (BN shift remains)
    filters_only = copy.deepcopy(model)
    with torch.no_grad():
        filters_only[int(layer)].weight[drop] = 0
    assert not torch.allclose(small(X), filters_only(X), atol=1e-3)


def test_removed_channels_with_conv_bias_and_linear_after_flatten():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Conv2d(6, 5, 3, padding=1),
                          nn.BatchNorm2d(5), nn.ReLU(), nn.Flatten(), nn.Dropout(),
                          nn.Linear(5 * 6 * 6, 4))
    model = _randomise_bn(model).eval()
    small = structured.remove_channels(structured.remove_channels(model, "0", [1, 4]), "2", [0, 2, 3])
    zeroed = structured.zero_units(structured.zero_units(copy.deepcopy(model), "0", [1, 4]), "2",
                              [0, 2, 3])
    X = torch.randn(10, 1, 8, 8)
    assert torch.allclose(small(X), zeroed(X), atol=1e-5)
    assert small[7].in_features == 2 * 36


def test_importance_criteria(digits):
    train.seed_everything(0)
    model = models.mlp([64, 20, 10])
    train.fit(model, digits, epochs=2, lr=1e-2, progress=False)
    structured.zero_units(model, "0", [4])
    X, y = digits.split("train")
    for criterion in ("l1", "l2", "activation", "taylor"):
        scores = structured.neuron_importance(model, "0", criterion, X=X, y=y)
        assert scores.shape == (20,)
        assert bool((scores >= 0).all())
        assert float(scores[4]) == 0.0 and int((scores > 0).sum()) >= 15
    w = model[0].weight.detach()
    assert torch.allclose(structured.neuron_importance(model, "0", "l1"), w.abs().sum(dim=1))
    out = structured.neuron_importance(model, "0", "l2_out")
    assert torch.allclose(out, model[2].weight.detach().norm(dim=0))
    act = structured.neuron_importance(model, "0", "activation", X=X)
    assert torch.allclose(act, torch.relu(model[0](X)).mean(dim=0).detach(), atol=1e-5)


def test_channel_importance_and_lowest():
    torch.manual_seed(4)
    model = _randomise_bn(models.small_cnn((4, 6))).eval()
    assert torch.allclose(structured.neuron_importance(model, "0", "bn_scale"),
                          model[1].weight.detach().abs())
    l1 = structured.neuron_importance(model, "0", "l1")
    assert torch.allclose(l1, model[0].weight.detach().abs().sum(dim=(1, 2, 3)))
    out = structured.neuron_importance(model, "3", "l1_out")  # read by Linear after Flatten
    w = model[8].weight.detach().reshape(10, 6, 16)
    assert torch.allclose(out, w.abs().sum(dim=(0, 2)))
    X, y = torch.randn(30, 1, 8, 8), torch.randint(0, 10, (30,))
    assert structured.neuron_importance(model, "3", "taylor", X=X, y=y).shape == (6,)
    assert structured.lowest(torch.tensor([3.0, 1.0, 2.0, 1.0]), 0.5) == [1, 3]
    assert structured.removable_layers(model) == ["0", "3"]
    assert structured.removable_layers(models.mlp([5, 4, 3, 2])) == ["0", "2"]


def test_prune_units_shrinks_every_layer():
    torch.manual_seed(6)
    model = models.mlp([10, 20, 8, 3])
    small = structured.prune_units(model, 0.5)
    assert [small[0].out_features, small[2].out_features] == [10, 4]
    assert small(torch.randn(4, 10)).shape == (4, 3)
    assert model[0].out_features == 20
    cnn = structured.prune_units(models.small_cnn((8, 12)), 0.25, criterion="bn_scale")
    assert [cnn[0].out_channels, cnn[3].out_channels] == [6, 9]
    with pytest.raises(ValueError, match="amount"):
        structured.prune_units(model, 1.0)
    a, b, c = (structured.prune_units(model, 0.5, criterion="random", seed=s) for s in (1, 1, 2))
    assert torch.equal(a[0].weight, b[0].weight) and a[0].out_features == 10
    assert not torch.equal(a[0].weight, c[0].weight)


def test_structured_bad_inputs():
    mlp = models.mlp([6, 5, 2])
    with pytest.raises(ValueError, match="no layer named"):
        structured.remove_neurons(mlp, "7", [0])
    with pytest.raises(TypeError, match="layer name"):
        structured.remove_neurons(mlp, 0, [0])
    with pytest.raises(ValueError, match="output layer"):
        structured.remove_neurons(mlp, "2", [0])
    with pytest.raises(TypeError, match="ReLU"):
        structured.remove_neurons(mlp, "1", [0])
    with pytest.raises(ValueError, match="out of range"):
        structured.remove_neurons(mlp, "0", [5])
    with pytest.raises(ValueError, match="all 5 units"):
        structured.remove_neurons(mlp, "0", range(5))
    with pytest.raises(ValueError, match="duplicates"):
        structured.remove_neurons(mlp, "0", [1, 1])
    with pytest.raises(TypeError, match="expected Conv2d"):
        structured.remove_channels(mlp, "0", [0])
    with pytest.raises(TypeError, match="Sigmoid"):
        structured.remove_neurons(nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1)),
                             "0", [0])
    with pytest.raises(TypeError, match="nn.Sequential"):
        structured.neuron_importance(nn.Linear(3, 3), "0")
    with pytest.raises(ValueError, match="criterion"):
        structured.neuron_importance(mlp, "0", "gradient")
    with pytest.raises(ValueError, match="bn_scale"):
        structured.neuron_importance(mlp, "0", "bn_scale")
    with pytest.raises(ValueError, match="needs data"):
        structured.neuron_importance(mlp, "0", "taylor", X=torch.randn(3, 6))
    with torch.no_grad():
        mlp[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        structured.neuron_importance(mlp, "0", "l1")
    with pytest.raises(ValueError, match="amount"):
        structured.lowest(torch.ones(3), 1.2)


def test_remove_dead_neurons_keeps_the_outputs():
    torch.manual_seed(0)
    model = models.mlp([6, 8, 5, 3])
    with torch.no_grad():
        model[2].weight[:, [1, 4]] = 0           # neurons 1 and 4 of layer 0: no outputs
        model[0].weight[6] = 0                   # neuron 6: no inputs …
        model[0].bias[6] = -0.5                  # … and ReLU(bias) = 0
        model[0].weight[7] = 0                   # neuron 7: no inputs, positive bias: kept
        model[0].bias[7] = 0.5
        model[4].weight[:, 2] = 0                # neuron 2 of layer 2: no outputs
    x = torch.randn(20, 6)
    smaller = structured.remove_dead_neurons(model)
    assert [m.out_features for m in smaller if isinstance(m, torch.nn.Linear)] == [5, 4, 3]
    torch.testing.assert_close(smaller(x), model(x))


def test_remove_dead_neurons_keeps_one_neuron_per_layer():
    model = models.mlp([4, 3, 2])
    with torch.no_grad():
        model[2].weight.zero_()
    smaller = structured.remove_dead_neurons(model)
    assert smaller[0].out_features == 1


def _tied():
    torch.manual_seed(0)
    a, b, c = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 4)
    b.weight = a.weight
    return nn.Sequential(a, nn.ReLU(), b, nn.ReLU(), c)


@pytest.mark.parametrize("call", [
    lambda m: structured.zero_units(m, "0", [1, 3]),
    lambda m: structured.remove_neurons(m, "0", [1, 3]),  # was 0.050 away from zeroing
    lambda m: structured.prune_units(m, 0.5),
])
def test_tied_layers_are_named_not_untied(call):
    """Issue 24, item 5 as a kind: zeroing a's rows zeroed b's, removal untied them."""
    with pytest.raises(ValueError, match="'0' and '2' share a parameter"):
        call(_tied())


def test_a_layer_applied_twice_is_named_and_a_shared_activation_is_fine():
    shared = nn.Linear(6, 6)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                          nn.Linear(6, 2))
    with pytest.raises(ValueError, match="layer '2' appears more than once"):
        structured.remove_neurons(model, "2", [1])  # was a shape error in the forward pass
    act = nn.ReLU()
    model = nn.Sequential(nn.Linear(4, 6), act, nn.Linear(6, 5), act, nn.Linear(5, 2)).eval()
    x = torch.randn(3, 4)
    small = structured.remove_neurons(model, "2", [0, 4])
    zeroed = structured.zero_units(copy.deepcopy(model), "2", [0, 4])
    assert torch.allclose(small(x), zeroed(x), atol=1e-6)


def test_prune_units_copies_the_model_once(monkeypatch):
    model = models.mlp([6, 5, 4, 3])
    copies = []
    monkeypatch.setattr(structured, "copy", types.SimpleNamespace(
        deepcopy=lambda m: copies.append(m) or copy.deepcopy(m)))
    small = structured.prune_units(model, 0.4)
    assert copies == [model]  # was one copy per layer
    assert [small[0].out_features, small[2].out_features] == [3, 2]
    assert structured.remove_dead_neurons(model) is model and copies == [model]

"""helpers.quant: rounding error bounds, per-channel scales, torch's dynamic int8, k-means."""

from __future__ import annotations

import warnings

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays
from torch import nn
from torch.nn.utils import prune

from helpers import data, metrics, models, quant, train

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
matrices = arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=finite)


def _error_and_step(x, qt):
    return (x.double() - qt.dequantize().double()).abs(), qt.scale


@settings(max_examples=60, deadline=None)
@given(x=matrices, bits=st.integers(2, 16), scheme=st.sampled_from(quant.SCHEMES),
       per_channel=st.booleans())
def test_round_trip_error_is_at_most_half_a_step(x, bits, scheme, per_channel):
    x = torch.from_numpy(x)
    qt = quant.quantize(x, bits, scheme, per_channel=per_channel)
    error, step = _error_and_step(x, qt)
    # half a step, plus the float32 rounding of the result
    assert bool((error <= step / 2 + 1e-6 * x.abs().max().double() + 1e-30).all())
    levels = 2 ** bits
    if scheme == "symmetric":
        assert int(qt.q.abs().max()) <= levels // 2 - 1
    else:
        assert 0 <= int(qt.q.min()) and int(qt.q.max()) <= levels - 1
    # zero is represented exactly: pruned weights stay pruned
    assert bool((quant.dequantize(qt)[x == 0] == 0).all())


@settings(max_examples=40, deadline=None)
@given(x=matrices, scheme=st.sampled_from(quant.SCHEMES))
def test_per_channel_step_is_at_most_the_per_tensor_step(x, scheme):
    x = torch.from_numpy(x)
    per_tensor = quant.quantize(x, 8, scheme)
    per_channel = quant.quantize(x, 8, scheme, per_channel=True)
    assert per_channel.scale.shape == (x.shape[0], 1)
    nonconstant = x.abs().amax(dim=1) > 0
    assert bool((per_channel.scale[nonconstant] <= per_tensor.scale * (1 + 1e-12)).all())


def test_per_channel_error_is_smaller_on_channels_of_different_scale():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(8, 50, generator=g) * torch.logspace(-2, 0, 8).unsqueeze(1)
    for scheme in quant.SCHEMES:
        e_tensor = (w - quant.quantize(w, 4, scheme).dequantize()).pow(2).mean()
        e_channel = (w - quant.quantize(w, 4, scheme, per_channel=True).dequantize()).pow(2).mean()
        assert e_channel < 0.5 * e_tensor


def test_affine_uses_all_levels_for_one_sided_values():
    x = torch.linspace(0, 1, 256)
    sym = quant.quantize(x, 8, "symmetric")
    aff = quant.quantize(x, 8, "affine")
    assert aff.scale < sym.scale
    assert int(aff.zero_point) == 0 and int(aff.q.max()) == 255
    assert len(torch.unique(aff.q)) == 256


def test_per_channel_along_another_axis_and_all_zero_channels():
    x = torch.tensor([[0.0, 2.0], [0.0, -4.0]])
    qt = quant.quantize(x, 4, per_channel=True, axis=1)
    assert qt.scale.shape == (1, 2)
    assert torch.equal(qt.dequantize()[:, 0], torch.zeros(2))
    # column 1: step 4/7 (4 bits, symmetric); -4 is on the grid, 2 is not
    assert float(qt.scale[0, 1]) == pytest.approx(4 / 7)
    assert float(qt.dequantize()[1, 1]) == pytest.approx(-4.0)
    assert abs(float(qt.dequantize()[0, 1]) - 2.0) <= 2 / 7 + 1e-6


def test_quantize_errors():
    x = torch.ones(3)
    for bits in (1, 17):
        with pytest.raises(ValueError, match="bits must lie in 2..16"):
            quant.quantize(x, bits)
    with pytest.raises(TypeError, match="bits must be an integer"):
        quant.quantize(x, 8.0)
    with pytest.raises(ValueError, match="unknown quantisation scheme"):
        quant.quantize(x, 8, "logarithmic")
    with pytest.raises(ValueError, match="NaN"):
        quant.quantize(torch.tensor([1.0, float("nan")]))
    with pytest.raises(TypeError, match="floating-point"):
        quant.quantize(torch.arange(3))
    with pytest.raises(ValueError, match="axis"):
        quant.quantize(x, per_channel=True, axis=2)
    with pytest.raises(ValueError, match="channel axis"):
        quant.quantize(torch.tensor(1.0), per_channel=True)
    with pytest.raises(TypeError, match="QuantizedTensor"):
        quant.dequantize(x)


def test_quantize_model_weights_returns_a_quantised_copy():
    torch.manual_seed(0)
    model = models.mlp([6, 5, 3])
    with torch.no_grad():
        model[0].weight[0, :3] = 0.0
    original = [p.clone() for p in model.parameters()]
    fake = quant.quantize_model_weights(model, bits=3)
    for p, q in zip(model.parameters(), original):
        assert torch.equal(p, q)  # the original is untouched
    for layer in (fake[0], fake[2]):
        for row in layer.weight:
            assert len(torch.unique(row)) <= 2 ** 3 - 1  # symmetric: levels −3 … 3
    assert torch.equal(fake[0].weight[0, :3], torch.zeros(3))
    assert torch.equal(fake[0].bias, model[0].bias)


@pytest.fixture(scope="module")
def trained_mlp():
    digits = data.load_digits_split()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny network trains fastest on one thread
    try:
        train.seed_everything(0)
        model = models.mlp([64, 32, 10])
        train.fit(model, digits, epochs=4, lr=1e-2, batch_size=128, progress=False)
    finally:
        torch.set_num_threads(threads)
    return model, digits


def test_dynamic_quantisation_keeps_accuracy_and_warns_nothing(trained_mlp):
    model, digits = trained_mlp
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qmodel = quant.dynamic_quantize(model)
        X, y = digits.split("val")
        # helpers.train.accuracy looks up the device of the model's first parameter,
        # and a dynamically quantised MLP has none: compare predictions directly.
        q_acc = float((qmodel(X).argmax(dim=1) == y).float().mean())
    assert caught == []
    acc = train.accuracy(model, X, y)
    assert acc > 0.9
    assert abs(q_acc - acc) <= 0.02
    assert isinstance(model[0], nn.Linear)  # the original is untouched
    assert "quantized" in type(qmodel[0]).__module__
    # the int8 model still multiplies the same number of times
    assert metrics.macs(qmodel, (64,)) == metrics.macs(model, (64,))
    with pytest.raises(TypeError, match="quantised"):
        metrics.count_parameters(qmodel)


def test_dynamic_quantisation_makes_the_saved_model_about_four_times_smaller():
    model = models.mlp([64, 300, 100, 10])
    ratio = metrics.serialized_bytes(model) / metrics.serialized_bytes(
        quant.dynamic_quantize(model))
    assert 3.0 < ratio < 4.0  # int8 weights; fp32 biases, scales and file overhead remain


def test_dynamic_quantize_errors():
    with pytest.raises(ValueError, match="no nn.Linear"):
        quant.dynamic_quantize(nn.Sequential(nn.Conv2d(1, 1, 3)))
    with pytest.raises(TypeError, match="nn.Module"):
        quant.dynamic_quantize(torch.ones(2))
    layer = nn.Linear(3, 3)
    prune.l1_unstructured(layer, "weight", amount=0.5)
    with pytest.raises(ValueError, match="make_permanent"):
        quant.dynamic_quantize(layer)


@settings(max_examples=25, deadline=None)
@given(x=arrays(np.float32, st.integers(1, 200), elements=finite), bits=st.integers(2, 6))
def test_kmeans_sharing_uses_few_values_and_keeps_zeros(x, bits):
    w = torch.from_numpy(x)
    w[::3] = 0.0  # some pruned weights
    shared = quant.kmeans_share(w, bits)
    nonzero = shared.weight[shared.weight != 0]
    assert len(torch.unique(nonzero)) <= 2 ** bits
    assert torch.equal(shared.weight[w == 0], torch.zeros(int((w == 0).sum())))
    assert bool((shared.assignments[w == 0] == -1).all())
    assert bool((shared.assignments[w != 0] >= 0).all())
    assert shared.codebook.shape == (2 ** bits,)
    values = set(shared.codebook.tolist())
    assert set(nonzero.tolist()) <= values


def test_kmeans_lowers_the_error_of_its_linear_initialisation():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(4000, generator=g)
    shared = quant.kmeans_share(w, 3)
    init = torch.linspace(float(w.min()), float(w.max()), 8)
    nearest = init[(w.unsqueeze(1) - init).abs().argmin(dim=1)]
    assert (w - shared.weight).pow(2).sum() < 0.8 * (w - nearest).pow(2).sum()
    assert shared.iterations >= 2


def test_kmeans_recovers_clusters_exactly():
    w = torch.tensor([-1.0, -1.0, 0.0, 2.0, 2.0, 0.5, 0.5])
    shared = quant.kmeans_share(w, 2)
    assert torch.equal(shared.weight, w)


def test_kmeans_share_model_and_errors():
    torch.manual_seed(0)
    model = models.mlp([20, 30, 4])
    shared = quant.kmeans_share_model(model, 2)
    for layer in (shared[0], shared[2]):
        assert len(torch.unique(layer.weight)) <= 4
    assert not torch.equal(shared[0].weight, model[0].weight)
    with pytest.raises(ValueError, match="bits"):
        quant.kmeans_share(torch.ones(3), 1)
    with pytest.raises(ValueError, match="NaN"):
        quant.kmeans_share(torch.tensor([float("nan")]), 4)
    assert torch.equal(quant.kmeans_share(torch.zeros(3), 4).weight, torch.zeros(3))

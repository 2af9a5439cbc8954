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


def test_lloyd_step_by_hand():
    values = torch.tensor([0.0, 1.0, 3.0, 4.0], dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1])  # 3.0 starts in the wrong cluster
    centroids, labels = quant.lloyd_step(values, labels,
                                         torch.tensor([0.0, 4.0], dtype=torch.float64))
    assert centroids.tolist() == [4 / 3, 4.0] and labels.tolist() == [0, 0, 1, 1]
    centroids, labels = quant.lloyd_step(values, labels, centroids)
    assert centroids.tolist() == [0.5, 3.5] and labels.tolist() == [0, 0, 1, 1]
    # a centroid without values stays where it is
    empty = quant.lloyd_step(values, torch.zeros(4, dtype=torch.int64),
                             torch.tensor([1.0, 9.0], dtype=torch.float64))[0]
    assert empty.tolist() == [2.0, 9.0]


def test_scale_and_round_is_quantize_arithmetic():
    x = torch.tensor([[-1.5, 0.0, 0.3], [2.0, 0.7, 0.1]], dtype=torch.float64)
    for scheme in quant.SCHEMES:
        lo, hi = x.min(dim=1, keepdim=True).values, x.max(dim=1, keepdim=True).values
        q, scale, zero = quant.scale_and_round(x, lo, hi, 8, scheme)
        qt = quant.quantize(x, 8, scheme, per_channel=True)
        assert torch.equal(q.to(torch.int32), qt.q) and torch.equal(scale, qt.scale)
        assert torch.equal(zero.to(torch.int32), qt.zero_point)
    q, scale, _ = quant.scale_and_round(x, x.min(), x.max(), 8)
    assert scale == 2.0 / 127 and q.abs().max() == 127 and q[0, 1] == 0


_D = torch.float64


@pytest.mark.parametrize("call, error, match", [
    # lo > hi: a negative affine scale turns the grid upside down
    (lambda: quant.scale_and_round(torch.ones(3), torch.tensor(1.0), torch.tensor(-1.0), 8,
                                   "affine"), ValueError, "lo must not exceed hi"),
    (lambda: quant.scale_and_round(torch.ones(3), torch.tensor(-1.0), torch.tensor(1.0), 1),
     ValueError, "bits must lie in 2..16"),
    (lambda: quant.scale_and_round(torch.ones(3), torch.tensor(-1.0), torch.tensor(1.0), 8,
                                   "asymmetric"), ValueError, "unknown quantisation scheme"),
    (lambda: quant.scale_and_round(torch.ones(2, 3), torch.zeros(3, 1), torch.ones(3, 1), 8),
     ValueError, r"lo has shape \(3, 1\), which does not broadcast"),
    (lambda: quant.scale_and_round(torch.ones(3), -1.0, 1.0, 8), TypeError,
     "lo must be a floating-point torch.Tensor"),
    (lambda: quant.lloyd_step(torch.ones(3, dtype=_D), torch.zeros(3, dtype=torch.int64),
                              torch.tensor([2.0, 1.0], dtype=_D)),
     ValueError, "centroids must be sorted"),
    (lambda: quant.lloyd_step(torch.ones(3, dtype=_D), torch.tensor([0, 1, 2]),
                              torch.tensor([1.0, 2.0], dtype=_D)),
     ValueError, r"labels must lie in 0..1"),
    (lambda: quant.lloyd_step(torch.ones(3, dtype=_D), torch.zeros(2, dtype=torch.int64),
                              torch.tensor([1.0, 2.0], dtype=_D)),
     TypeError, r"labels must be an int64 tensor of shape \(3,\)"),
    (lambda: quant.lloyd_step(torch.ones(3, 1, dtype=_D), torch.zeros(3, dtype=torch.int64),
                              torch.tensor([1.0, 2.0], dtype=_D)),
     ValueError, "values must be one-dimensional"),
])
def test_the_kernels_on_the_pages_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


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


# --- Deep Compression's third stage: Huffman coding, centroid fine-tuning -------------

def test_huffman_code_lengths_of_a_hand_checked_case():
    # counts a:5, b:2, c:1, d:1 -> merge c+d (2), then b+(cd) (4), then a+(bcd) (9):
    # a gets 1 bit, b 2 bits, c and d 3 bits; 5·1 + 2·2 + 1·3 + 1·3 = 15 bits
    symbols = list("aaaaabbcd")
    assert quant.huffman_code_lengths(symbols) == {"a": 1, "b": 2, "c": 3, "d": 3}
    assert quant.huffman_bits(symbols) == 15
    # four equally frequent symbols need exactly 2 bits each: the entropy bound is met
    assert quant.huffman_bits(list("abcd") * 3) == 24 == quant.entropy_bits(list("abcd") * 3)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=2, max_size=200).filter(lambda s: len(set(s)) > 1))
def test_huffman_length_lies_within_the_entropy_bound(symbols):
    n = len(symbols)
    bits, bound = quant.huffman_bits(symbols), quant.entropy_bits(symbols)
    assert bound - 1e-9 <= bits < bound + n          # H ≤ L < H + 1 per symbol
    lengths = quant.huffman_code_lengths(symbols)
    assert sum(2.0 ** -length for length in lengths.values()) == pytest.approx(1.0)  # Kraft


def test_huffman_accepts_tensors_and_arrays_and_rejects_empty_input():
    x = torch.tensor([[1, 1], [2, 3]])
    assert quant.huffman_bits(x) == quant.huffman_bits(x.numpy()) == quant.huffman_bits(
        [1, 1, 2, 3]) == 6
    assert quant.huffman_code_lengths([7, 7, 7]) == {7: 1}
    with pytest.raises(ValueError, match="empty"):
        quant.huffman_bits([])


def test_relative_index_stream_inserts_fillers_for_long_gaps():
    w = torch.zeros(20)
    w[[0, 2, 19]] = torch.tensor([1.0, 2.0, 3.0])
    gaps, values = metrics.relative_index_stream(w, gap_bits=3)  # gaps 1..8
    assert gaps.tolist() == [1, 2, 8, 8, 1] and values.tolist() == [1, 2, 0, 0, 3]
    assert len(gaps) * (32 + 3) == metrics.storage_bits(w, "relative", gap_bits=3)
    with pytest.raises(TypeError):
        metrics.relative_index_stream([1.0, 0.0])


def test_huffman_storage_is_at_most_fixed_width_and_above_the_entropy():
    torch.manual_seed(0)
    w = torch.randn(50, 40)
    w[w.abs() < 1.2] = 0
    shared = quant.kmeans_share(w, 4).weight
    coded = quant.huffman_storage_bits(shared, gap_bits=5)
    fixed = metrics.storage_bits(shared, "relative+shared", value_bits=4, gap_bits=5)
    assert coded["total"] <= fixed
    assert coded["values"] >= coded["values_entropy"] and coded["gaps"] >= coded["gaps_entropy"]
    assert coded["codebook"] == 32 * len(torch.unique(shared[shared != 0]))
    assert quant.huffman_storage_bits(torch.zeros(3, 3))["total"] == 0


def test_huffman_storage_bytes_of_a_model_sums_its_layers_and_keeps_biases_in_fp32():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 4))
    with torch.no_grad():
        for m in model[0], model[2]:
            m.weight[m.weight.abs() < 0.1] = 0
    shared = quant.kmeans_share_model(model, 3)
    before = {k: v.clone() for k, v in shared.state_dict().items()}
    coded = quant.huffman_storage_bytes(shared, gap_bits=4)
    layers = [quant.huffman_storage_bits(m.weight, gap_bits=4) for m in (shared[0], shared[2])]
    biases = 20 + 4
    assert coded["huffman"] == pytest.approx((32 * biases + sum(c["total"] for c in layers)) / 8)
    assert coded["entropy"] <= coded["huffman"]
    assert coded["values"] == sum(c["values"] for c in layers)
    assert coded["entries"] == sum(len(metrics.relative_index_stream(m.weight, 4)[0])
                                   for m in (shared[0], shared[2]))
    assert all(torch.equal(v, before[k]) for k, v in shared.state_dict().items())
    # below the fixed-width codes of the same streams
    assert coded["huffman"] <= metrics.storage_bytes(shared, "relative+shared", value_bits=3,
                                                     gap_bits=4)
    with pytest.raises(TypeError, match="nn.Module"):
        quant.huffman_storage_bytes(torch.zeros(3, 3))


def test_centroid_fine_tuning_keeps_shared_values_and_zeros():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    with torch.no_grad():
        model[0].weight[:, :2] = 0
    tying = quant.CentroidFineTuning(model, bits=2)
    before = model[0].weight.detach().clone()
    assert len(torch.unique(before[before != 0])) <= 4
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        tying(model)
    after = model[0].weight.detach()
    assert torch.equal(after == 0, before == 0)             # zeros stay zero
    assert len(torch.unique(after[after != 0])) <= 4        # still 2^bits values
    assert not torch.equal(after, before)                   # the centroids moved
    labels = tying.assignments["0.weight"]
    for k in labels.unique().tolist():                      # one value per cluster
        if k >= 0:
            assert len(torch.unique(after[labels == k])) == 1

"""helpers.metrics: parameter and MAC counts by hand, storage formulas, latency."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import given, settings
from torch import nn
from torch.nn.utils import prune

from helpers import metrics, models
from helpers import prune as helpers_prune


def _linear(n_in, n_out, weight=None, bias=None):
    layer = nn.Linear(n_in, n_out)
    with torch.no_grad():
        if weight is not None:
            layer.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        if bias is not None:
            layer.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return layer


# ------------------------------------------------------------------ parameters


def test_lenet_300_100_has_266610_parameters():
    model = models.mlp([784, 300, 100, 10])
    by_hand = (784 * 300 + 300) + (300 * 100 + 100) + (100 * 10 + 10)
    assert by_hand == 266_610
    assert metrics.count_parameters(model) == by_hand


def test_lenet5_and_small_cnn_parameters_by_hand():
    lenet = models.lenet5()
    by_hand = (20 * 1 * 25 + 20) + (50 * 20 * 25 + 50) + (800 * 500 + 500) + (500 * 10 + 10)
    assert metrics.count_parameters(lenet) == by_hand
    cnn = models.small_cnn((4, 6))  # conv without bias, BatchNorm scale + shift
    by_hand = 4 * 1 * 9 + 2 * 4 + 6 * 4 * 9 + 2 * 6 + (6 * 16 * 10 + 10)
    assert metrics.count_parameters(cnn) == by_hand


def test_count_nonzero_counts_weights_and_biases():
    layer = _linear(3, 2, weight=[[0, 1, 2], [0, 0, 3]], bias=[0, 5])
    assert metrics.count_nonzero(layer) == 4
    assert metrics.count_nonzero(layer, per_parameter=True) == {"weight": 3, "bias": 1}


def test_shared_parameters_are_counted_once():
    layer = nn.Linear(4, 4)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert metrics.count_parameters(model) == 20


def test_torch_prune_counts_the_masked_weight():
    layer = _linear(2, 2, weight=[[1, 2], [3, 4]], bias=[1, 1])
    prune.custom_from_mask(layer, "weight", torch.tensor([[1, 0], [0, 1]]))
    assert metrics.count_parameters(layer) == 6
    assert metrics.count_nonzero(layer, per_parameter=True) == {"bias": 2, "weight": 2}


def test_layer_table_rows():
    model = nn.Sequential(_linear(3, 2, weight=[[0, 1, 2], [0, 0, 3]], bias=[0, 5]), nn.ReLU(),
                          nn.Conv2d(1, 2, 3, bias=False))
    rows = metrics.layer_table(model)
    assert [r["name"] for r in rows] == ["0", "2"]
    first = rows[0]
    assert (first["kind"], first["shape"], first["parameters"], first["nonzero"]) == (
        "Linear", (2, 3), 8, 4)
    assert first["sparsity"] == pytest.approx(0.5)
    assert first["weight_sparsity"] == pytest.approx(0.5)
    assert rows[1]["kind"] == "Conv2d" and rows[1]["parameters"] == 18


def test_format_table_uses_the_page_language():
    rows = metrics.layer_table(models.mlp([4, 3, 2]))
    en = metrics.format_table(rows, "en").data
    zh = metrics.format_table(rows, "zh").data
    assert en.splitlines()[0].startswith("| layer | type |")
    assert "稀疏度" in zh.splitlines()[0]
    assert "3×4" in en and "0.0%" in en
    assert len(en.splitlines()) == 2 + len(rows)
    custom = metrics.format_table(rows, "en", ["name", "sparsity"],
                                  formats={"sparsity": ".2f"}).data
    assert custom.splitlines()[2] == "| 0 | 0.00 |"


def test_format_table_errors():
    with pytest.raises(ValueError, match="at least one row"):
        metrics.format_table([], "en")
    with pytest.raises(ValueError, match="no column"):
        metrics.format_table([{"name": "a"}], "en", ["name", "macs"])
    with pytest.raises(KeyError, match="no text"):
        metrics.format_table([{"unheard_of": 1}], "en")
    with pytest.raises(ValueError, match="lang"):
        metrics.format_table([{"name": "a"}], "fr")


def test_counting_rejects_non_modules():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        metrics.count_parameters(torch.zeros(3))


# ------------------------------------------------------------------ MACs


def test_macs_of_an_mlp_by_hand():
    model = models.mlp([784, 300, 100, 10])
    assert metrics.macs(model, (784,)) == 784 * 300 + 300 * 100 + 100 * 10
    assert metrics.flops(model, (784,)) == 2 * (784 * 300 + 300 * 100 + 100 * 10)


def test_linear_macs_per_position():
    # A Linear layer applied to a (5, 3) input acts on each of the 5 rows.
    assert metrics.macs(nn.Linear(3, 2), (5, 3)) == 5 * 3 * 2


def test_conv_macs_by_hand():
    model = nn.Sequential(nn.Conv2d(2, 3, kernel_size=3), nn.ReLU(),
                          nn.Conv2d(4 - 1, 4, kernel_size=3, padding=1, groups=1))
    # 5×5 input, no padding: 3×3 output positions, each 3 filters of 2×3×3.
    first = 3 * 3 * (3 * 2 * 3 * 3)
    # padding 1 keeps 3×3 positions, 4 filters of 3×3×3.
    second = 3 * 3 * (4 * 3 * 3 * 3)
    assert metrics.macs_by_layer(model, (2, 5, 5)) == {"0": first, "2": second}


def test_grouped_conv_and_batchnorm_macs():
    model = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False),
                          nn.BatchNorm2d(4), nn.MaxPool2d(2), nn.Flatten())
    counts = metrics.macs_by_layer(model, (4, 6, 6))
    assert counts["0"] == 6 * 6 * (4 * 2 * 3 * 3)  # each filter sees 4/2 channels
    assert counts["1"] == 4 * 6 * 6  # one multiply-add per element
    assert set(counts) == {"0", "1"}  # pooling and flatten have no MACs


def test_effective_macs_count_only_nonzero_weights():
    layer = _linear(3, 2, weight=[[0, 1, 2], [0, 0, 3]])
    assert metrics.macs(layer, (3,)) == 6
    assert metrics.macs(layer, (3,), effective=True) == 3
    conv = nn.Conv2d(1, 2, 3, bias=False)
    with torch.no_grad():
        conv.weight[0].zero_()
    assert metrics.macs(conv, (1, 4, 4), effective=True) == 2 * 2 * 9


def test_macs_restores_mode_and_leaves_batchnorm_statistics_alone():
    model = models.small_cnn((4,))
    model.train()
    before = model[1].running_mean.clone()
    metrics.macs(model, (1, 8, 8))
    assert model.training
    assert torch.equal(model[1].running_mean, before)


def test_macs_errors():
    with pytest.raises(TypeError, match="Embedding"):
        metrics.macs(nn.Sequential(nn.Embedding(10, 3)), (1,))
    with pytest.raises(TypeError, match="LayerNorm"):
        metrics.macs(nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3)), (3,))
    with pytest.raises(ValueError, match="does not fit"):
        metrics.macs(nn.Linear(3, 2), (4,))
    with pytest.raises(TypeError, match="sequence"):
        metrics.macs(nn.Linear(3, 2), 3)
    with pytest.raises(ValueError, match="> 0"):
        metrics.macs(nn.Linear(3, 2), (0,))


# ------------------------------------------------------------------ storage


def test_dense_and_int8_storage_by_hand():
    w = torch.ones(3, 4)
    assert metrics.storage_bits(w, "dense32") == 32 * 12
    assert metrics.storage_bits(w, "int8") == 8 * 12 + 32 * 3  # per-row fp32 scales
    assert metrics.storage_bits(w, "int8", per_channel=False) == 8 * 12 + 32


def test_csr_storage_by_hand():
    w = torch.tensor([[0.0, 1.0, 0.0, 2.0],
                      [0.0, 0.0, 0.0, 3.0]])
    # 3 values, 3 column indices, 2 + 1 row pointers
    assert metrics.storage_bits(w, "csr") == 3 * 32 + 3 * 32 + 3 * 32
    assert metrics.storage_bits(w, "csr", index_bits=16, pointer_bits=8) == 96 + 48 + 24
    assert metrics.storage_bits(w, "csr+int8", index_bits=16, pointer_bits=8) == (
        3 * 8 + 48 + 24 + 2 * 32)
    assert metrics.storage_bits(w, "csr+shared", index_bits=16, pointer_bits=8,
                                value_bits=2) == 3 * 2 + 48 + 24 + 4 * 32


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 6), cols=st.integers(1, 6), density=st.floats(0, 1),
       seed=st.integers(0, 10_000))
def test_csr_storage_matches_torch_sparse_csr(rows, cols, density, seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g) * (torch.rand(rows, cols, generator=g) < density)
    csr = w.to_sparse_csr()
    torch_bytes = (csr.values().numel() * csr.values().element_size()
                   + csr.col_indices().numel() * csr.col_indices().element_size()
                   + csr.crow_indices().numel() * csr.crow_indices().element_size())
    assert csr.col_indices().element_size() == 8  # torch uses int64 indices
    assert metrics.storage_bytes(w, "csr", index_bits=64, pointer_bits=64) == torch_bytes


def test_relative_index_storage_with_filler_zeros():
    # Deep Compression's example: 3-bit gaps reach at most 8 positions.
    w = torch.zeros(20)
    w[[1, 4, 15]] = torch.tensor([1.0, 2.0, 3.0])
    # gaps 2, 3, 11: the gap of 11 > 8 needs one filler zero -> 4 entries.
    assert metrics.storage_bits(w, "relative", gap_bits=3) == 4 * (32 + 3)
    w[19] = 4.0  # gap 4: no filler
    assert metrics.storage_bits(w, "relative", gap_bits=3) == 5 * (32 + 3)
    # the first gap counts from position -1: a gap of exactly 8 fits, 9 needs one
    # filler, 17 needs two
    for last, entries in ((7, 1), (8, 2), (15, 2), (16, 3)):
        v = torch.zeros(20)
        v[last] = 1.0
        assert metrics.storage_bits(v, "relative", gap_bits=3) == entries * 35, last
    assert metrics.storage_bits(w, "relative+shared", gap_bits=3, value_bits=2) == (
        5 * (2 + 3) + 4 * 32)


def test_relative_storage_of_zero_and_full_tensors():
    assert metrics.storage_bits(torch.zeros(4, 4), "relative") == 0
    assert metrics.storage_bits(torch.ones(4, 4), "relative", gap_bits=1) == 16 * 33


def test_model_storage_compresses_only_layer_weights():
    model = models.mlp([4, 3, 2])
    n = metrics.count_parameters(model)
    assert metrics.storage_bytes(model) == 4 * n
    with torch.no_grad():
        model[0].weight.zero_()
    # layer 0: no values, 4 row pointers; biases and layer 2 dense
    expected = math.ceil(4 * 32 / 8) + 4 * 3 + math.ceil((6 * 32 * 2 + 3 * 32) / 8) + 4 * 2
    assert metrics.storage_bytes(model, "csr") == expected


def test_storage_errors():
    w = torch.ones(2, 2)
    with pytest.raises(ValueError, match="unknown storage scheme"):
        metrics.storage_bits(w, "zip")
    with pytest.raises(ValueError, match="needs value_bits"):
        metrics.storage_bits(w, "csr+shared")
    with pytest.raises(ValueError, match="only to the"):
        metrics.storage_bits(w, "csr", value_bits=4)
    with pytest.raises(ValueError, match="value_bits must lie in 2..16"):
        metrics.storage_bits(w, "csr+shared", value_bits=17)
    with pytest.raises(ValueError, match="index_bits"):
        metrics.storage_bits(w, "csr", index_bits=0)
    with pytest.raises(ValueError, match="NaN"):
        metrics.storage_bits(torch.tensor([1.0, float("nan")]), "csr")
    with pytest.raises(TypeError, match="torch.Tensor"):
        metrics.storage_bits([1.0, 2.0], "csr")


def test_compression_ratio():
    assert metrics.compression_ratio(1070, 27) == pytest.approx(1070 / 27)
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="compressed"):
            metrics.compression_ratio(10, bad)
    with pytest.raises(TypeError, match="number"):
        metrics.compression_ratio("10", 2)


def test_serialized_bytes_is_close_to_dense_storage():
    model = models.mlp([64, 300, 100, 10])
    dense = metrics.storage_bytes(model)
    assert dense < metrics.serialized_bytes(model) < 1.1 * dense


# ------------------------------------------------------------------ latency


def test_latency_is_positive_and_restores_threads_and_mode():
    model = models.mlp([8, 16, 2])
    model.train()
    before = torch.get_num_threads()
    target = 2 if before != 2 else 1
    result = metrics.measure_latency(model, torch.randn(4, 8), repeats=7, warmup=2,
                                     threads=target, number=3)
    assert torch.get_num_threads() == before
    assert model.training
    assert result.threads == target
    assert len(result.times_ms) == 7 and all(t > 0 for t in result.times_ms)
    assert 0 < result.q1_ms <= result.median_ms <= result.q3_ms
    assert result.iqr_ms == pytest.approx(result.q3_ms - result.q1_ms)


def test_latency_errors():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="repeats"):
        metrics.measure_latency(model, torch.zeros(1, 2), repeats=0)
    with pytest.raises(TypeError, match="example_input"):
        metrics.measure_latency(model, [[0.0, 0.0]])
    with pytest.raises(TypeError, match="threads"):
        metrics.measure_latency(model, torch.zeros(1, 2), threads=1.5)


def test_compare_latency_pools_rounds_in_alternation():
    calls = []
    small, large = models.mlp([8, 4, 2]), models.mlp([8, 64, 64, 2])
    small.register_forward_hook(lambda *args: calls.append("small"))
    large.register_forward_hook(lambda *args: calls.append("large"))
    results = metrics.compare_latency({"small": small, "large": large}, torch.randn(2, 8),
                                      rounds=3, repeats=4, warmup=1)
    assert list(results) == ["small", "large"]
    assert all(len(r.times_ms) == 12 and r.median_ms > 0 for r in results.values())
    # alternation: small (1 + 4 calls), large (1 + 4), small, ...
    assert calls[:10] == ["small"] * 5 + ["large"] * 5 and calls[10] == "small"
    with pytest.raises(TypeError, match="non-empty dict"):
        metrics.compare_latency({}, torch.randn(2, 8))
    with pytest.raises(ValueError, match="rounds"):
        metrics.compare_latency({"small": small}, torch.randn(2, 8), rounds=0)


class _Attention(torch.nn.Module):
    """An attention layer and its read-out: the projections live in the attention module."""

    def __init__(self, separate: bool = False):
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(8, 2, kdim=6 if separate else None,
                                                vdim=6 if separate else None)
        self.head = torch.nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.attn(x, x, x)[0])


@pytest.mark.parametrize("separate", [False, True])
def test_attention_projections_are_weights_of_the_table_and_the_storage(separate):
    """The input projections that pruning, L1 and quantisation act on
    (``_checks.distinct_weights``) are rows of ``layer_table`` and are stored in the
    scheme asked for, as a Linear layer's weight would be."""
    from helpers import prune

    model = _Attention(separate)
    selected = prune.prunable_parameters(model)
    prune.apply_masks(model, prune.global_masks(model, 0.7))
    rows = {r["name"]: r for r in metrics.layer_table(model)}
    projections = [n for n in selected if n.startswith("attn.") and "out_proj" not in n]
    assert projections and set(projections) <= set(rows)
    for name in projections:
        weight = dict(model.named_parameters())[name]
        assert rows[name]["shape"] == tuple(weight.shape)
        assert rows[name]["weight_sparsity"] == pytest.approx(
            float((weight == 0).float().mean()))
    assert set(rows) == set(n.removesuffix(".weight") if n.endswith(".weight") else n
                            for n in selected)
    # CSR storage of the pruned projections: smaller than dense storage of them
    dense = metrics.storage_bytes(model, "dense32")
    sparse = metrics.storage_bytes(model, "csr")
    expected = dense - sum(metrics.storage_bytes(dict(model.named_parameters())[n], "dense32")
                           - metrics.storage_bytes(dict(model.named_parameters())[n], "csr")
                           for n in selected)
    assert sparse == expected


# --------------------------------------------------------------------------- 2:4 on hardware

def _two_four(rows=64, cols=128, seed=0):
    torch.manual_seed(seed)
    w = torch.randn(rows, cols)
    return w * helpers_prune.nm_mask(w, 2, 4)


def test_semi_structured_bytes_are_nine_sixteenths_of_dense_fp16():
    w = _two_four()
    # half the values in fp16 (16 bits) plus a 2-bit position for each
    assert metrics.semi_structured_bytes(w) == 64 * 128 // 2 * 18 // 8
    assert metrics.semi_structured_bytes(w) / (w.numel() * 2) == 9 / 16


def test_semi_structured_on_a_cpu_times_nothing_and_says_why():
    w = _two_four()
    before = w.clone()
    result = metrics.semi_structured(w, device="cpu")
    assert result.latency is None and result.speedup is None and result.reason == "no_cuda"
    assert result.memory_ratio == pytest.approx(16 / 9)
    assert torch.equal(w, before)
    for lang in ("en", "zh"):
        text = result.describe(lang)
        assert "CUDA" in text and f"{result.dense_bytes / 2**20:.1f}" in text
        assert f"{metrics.SEMI_STRUCTURED_MAX_SPEEDUP:g}" in text
        assert "Mishra" in text


@pytest.mark.parametrize("weight, match", [
    (torch.randn(64, 128), "not 2:4 sparse"),
    (torch.zeros(48, 128), "multiple of 32 rows"),
    (torch.zeros(64, 96), "64 columns"),
    (torch.zeros(64, 128, 1), "2-D"),
])
def test_semi_structured_refuses_what_torch_cannot_convert(weight, match):
    with pytest.raises(ValueError, match=match):
        metrics.semi_structured(weight)
    with pytest.raises(ValueError, match=match):
        metrics.semi_structured_bytes(weight)


def test_semi_structured_refuses_non_tensors_and_bad_counts():
    with pytest.raises(TypeError, match="torch.Tensor"):
        metrics.semi_structured([[1.0, 0.0]])
    with pytest.raises(ValueError, match="batch"):
        metrics.semi_structured(_two_four(), batch=0)


@pytest.mark.skipif(not torch.cuda.is_available()
                    or torch.cuda.get_device_capability() < (8, 0),
                    reason="needs a CUDA GPU with sparse tensor cores (Ampere or later)")
def test_semi_structured_on_a_gpu_matches_the_dense_product_and_times_both():
    w = _two_four(1024, 1024)
    result = metrics.semi_structured(w, batch=1024, rounds=2, repeats=3)
    assert result.reason is None and result.latency is not None
    assert result.max_error < 0.05  # fp16 products of 1,024 terms
    assert result.speedup > 0
    assert "ms" in result.describe("en")

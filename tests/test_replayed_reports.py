"""Reported inputs of pruning, layer-wise pruning, L1 and quantisation, against oracles.

Each input replays a public bug report or maintainer thread (Torch-Pruning, the
SparseGPT and Wanda repositories, pytorch/ao, scikit-learn, AutoAWQ) that once gave a
silently wrong result or an unclear error here. The oracles are outside ``helpers``: a
float64 port of the reference SparseGPT ``fasterprune``, the reference Wanda metric,
scikit-learn's ``KMeans``, ``torch.nn.utils.prune`` and torch's own rule that a tied
tensor is one parameter (``model.parameters()``).

1. SparseGPT with inputs that are zero on every calibration token (dead ReLU units);
2. k-means weight sharing with empty clusters;
3. N:M patterns on layers whose width is not a multiple of M;
4. tied parameters (one tensor under two names);
5. low-precision models, ``nn.MultiheadAttention``, GPT-2-style ``Conv1D`` layers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from torch import nn
from torch.nn.utils import prune as torch_prune

from helpers import l1, quant
from helpers import layers
from helpers import layerwise as lw
from helpers import prune

# ------------------------------------------------------------ 1. SparseGPT, dead inputs


def _quantizer(W, bits):
    """A port of the reference ``Quantizer`` (gptq's quant.py; per channel, asymmetric):
    ``find_params(W, weight=True)`` and ``quantize``; returns a column's quantiser."""
    maxq = 2 ** bits - 1
    xmin = torch.minimum(W.min(dim=1).values, torch.zeros(W.shape[0], dtype=W.dtype))
    xmax = torch.maximum(W.max(dim=1).values, torch.zeros(W.shape[0], dtype=W.dtype))
    both_zero = (xmin == 0) & (xmax == 0)
    xmin[both_zero], xmax[both_zero] = -1, +1
    scale = (xmax - xmin) / maxq
    zero = torch.round(-xmin / scale)
    return lambda x: scale * (torch.clamp(torch.round(x / scale) + zero, 0, maxq) - zero)


def _fasterprune(W, H, sparsity, prunen=0, prunem=0, blocksize=128, percdamp=.01,
                 bits=None):
    """A float64 port of ``SparseGPT.fasterprune`` (IST-DASLab/sparsegpt, sparsegpt.py).

    Without quantisation or timing; returns the new weight. The reference accumulates
    ``H = 2XᵀX / n`` (``add_batch``), ``helpers.layerwise.hessian`` gives ``XᵀX / n``;
    the sweep does not depend on the scale, except through the 1 that both put on the
    diagonal of a dead input, so the tests pass both the same ``H``.
    """
    W, H = W.clone().double(), H.clone().double()
    quantize = _quantizer(W, bits) if bits else None  # find_params before the sweep
    columns = W.shape[1]
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(columns)
    H[diag, diag] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    Hinv = torch.linalg.cholesky(H, upper=True)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        W1 = W[:, i1:i2].clone()
        Q1, Err1 = torch.zeros_like(W1), torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        if prunen == 0:
            tmp = W1 ** 2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
            thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
            mask1 = tmp <= thresh
        else:
            mask1 = torch.zeros_like(W1) == 1
        for i in range(i2 - i1):
            w, d = W1[:, i], Hinv1[i, i]
            if prunen != 0 and i % prunem == 0:
                tmp = (W1[:, i:(i + prunem)] ** 2
                       / (torch.diag(Hinv1)[i:(i + prunem)].reshape((1, -1))) ** 2)
                mask1.scatter_(1, i + torch.topk(tmp, prunen, dim=1, largest=False)[1], True)
            q = w.clone()
            q[mask1[:, i]] = 0
            if quantize is not None:
                q = quantize(q)
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return W


def _same_count(k: int, numel: int) -> float:
    """A sparsity at which both prune ``k`` of a block's ``numel`` weights.

    The reference prunes the ``int(s · numel) + 1`` lowest saliencies of a block,
    ``helpers`` ``round(s · numel)``.
    """
    return (k - 0.25) / numel


def _dead_layer():
    """The reported layer: 16 of 64 inputs zero on every token, their weights large."""
    gen = torch.Generator().manual_seed(0)
    W, X = torch.randn(32, 64, generator=gen), torch.randn(512, 64, generator=gen)
    X[:, :16] = 0
    W[:, :16] *= 5
    return W, X


@pytest.mark.parametrize("pattern", ["unstructured", "2:4"])
def test_sparsegpt_with_dead_inputs_is_the_reference(pattern):
    W, X = _dead_layer()
    if pattern == "unstructured":
        s = _same_count(1024, W.numel())
        new, mask = lw.sparsegpt(W, lw.hessian(X), s)
        reference = _fasterprune(W, lw.hessian(X), s)
    else:
        new, mask = lw.sparsegpt(W, lw.hessian(X), n=2, m=4)
        reference = _fasterprune(W, lw.hessian(X), 0, prunen=2, prunem=4)
    torch.testing.assert_close(new.double(), reference, rtol=0, atol=1e-5)
    assert torch.all(new[:, :16] == 0) and torch.all(mask[:, :16] == 0)
    assert torch.all(new[mask == 0] == 0)
    # Reported: layer error 208 (the dead inputs' weights kept) against 26.6.
    error = lw.reconstruction_error(W, new, X)
    assert error == pytest.approx(lw.reconstruction_error(W, reference.float(), X), rel=1e-4)


@pytest.mark.parametrize("bits", [3, 4])
def test_joint_2_4_and_quantisation_is_the_reference(bits):
    """SparseGPT's joint sparsification and quantisation (its quantizer passed to
    fasterprune), on the layer with dead inputs: 2:4 and ``bits`` per kept weight."""
    W, X = _dead_layer()
    new, mask = lw.sparsegpt(W, lw.hessian(X), n=2, m=4, bits=bits)
    reference = _fasterprune(W, lw.hessian(X), 0, prunen=2, prunem=4, bits=bits)
    torch.testing.assert_close(new.double(), reference, rtol=0, atol=1e-5)
    assert torch.all(new[mask == 0] == 0)
    grid = lw.row_grid(W.double(), bits)  # every kept weight on its row's grid
    for j in range(0, W.shape[1], 7):
        torch.testing.assert_close(grid(new[:, j].double()), new[:, j].double(),
                                   rtol=0, atol=1e-6)


def test_sparsegpt_at_the_reported_sparsity_is_as_good_as_the_reference():
    W, X = _dead_layer()
    new, _ = lw.sparsegpt(W, lw.hessian(X), 0.5)  # prunes 1024, the reference 1025
    reference = _fasterprune(W, lw.hessian(X), 0.5)
    assert lw.reconstruction_error(W, new, X) <= lw.reconstruction_error(
        W, reference.float(), X)


def test_prune_layerwise_sparsegpt_after_dead_relu_units_is_the_reference():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 8))
    with torch.no_grad():
        model[0].bias[:20] = -50  # 20 units that never fire
    calibration = torch.randn(400, 16)
    s = _same_count(256, 8 * 64)
    pruned = lw.prune_layerwise(model, "sparsegpt", s, calibration=calibration,
                                names=["2"])
    x = model[1](model[0](calibration)).detach()
    assert torch.all(x[:, :20] == 0)
    W = model[2].weight.detach()
    reference = _fasterprune(W, lw.hessian(x), s)
    torch.testing.assert_close(pruned[2].weight.detach().double(), reference, rtol=0,
                               atol=1e-5)
    # Reported: 0.418 against 0.001 on the report's network.
    assert lw.reconstruction_error(W, pruned[2].weight, x) == pytest.approx(
        lw.reconstruction_error(W, reference.float(), x), rel=1e-4)


class _OPTBlock(nn.Module):
    """An OPT-style ReLU MLP block with a residual connection."""

    def __init__(self, d: int = 32):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(x)))


def test_prune_layerwise_on_an_opt_block_with_dead_neurons_is_the_reference():
    torch.manual_seed(1)
    block = _OPTBlock()
    with torch.no_grad():
        block.fc1.bias[:13] = -50  # 10 % of the 128 neurons are dead
    calibration = torch.randn(400, 32)
    s = _same_count(2048, 4096)  # both layers hold 4096 weights in one block
    pruned = lw.prune_layerwise(block, "sparsegpt", s, calibration=calibration,
                                names=["fc1", "fc2"])
    fc1 = _fasterprune(block.fc1.weight.detach(), lw.hessian(calibration), s)
    x = torch.relu(calibration @ fc1.float().T + block.fc1.bias).detach()
    fc2 = _fasterprune(block.fc2.weight.detach(), lw.hessian(x), s)
    torch.testing.assert_close(pruned.fc1.weight.detach().double(), fc1, rtol=0, atol=1e-5)
    torch.testing.assert_close(pruned.fc2.weight.detach().double(), fc2, rtol=0, atol=1e-5)
    # Reported: fc2's error doubled.
    W2 = block.fc2.weight.detach()
    assert lw.reconstruction_error(W2, pruned.fc2.weight, x) == pytest.approx(
        lw.reconstruction_error(W2, fc2.float(), x), rel=1e-4)


def test_wanda_prunes_dead_inputs_first_as_the_reference():
    W, X = _dead_layer()
    mask = lw.wanda_mask(W, X.double().norm(dim=0), 0.5)
    # The reference (locuslab/wanda, prune_wanda): |W| · sqrt(scaler_row), scaler_row the
    # mean square of each input; the int(in · s) lowest of each row are pruned.
    metric = W.abs() * torch.sqrt((X.double() ** 2).mean(dim=0)).float()
    pruned = torch.sort(metric, dim=-1, stable=True)[1][:, :int(W.shape[1] * 0.5)]
    expected = torch.ones_like(W).scatter_(1, pruned, 0.0)
    assert torch.equal(mask, expected)
    assert torch.all(mask[:, :16] == 0)


# ------------------------------------------------------------ 2. k-means, empty clusters

_REPORTED = torch.tensor([-0.05] * 50 + [0.05] * 50 + [1.0])


def _sklearn_shared(values: torch.Tensor, bits: int) -> torch.Tensor:
    """scikit-learn's KMeans (Lloyd) from the same linear initialisation."""
    v = values.double().numpy().reshape(-1, 1)
    init = np.linspace(v.min(), v.max(), 2 ** bits).reshape(-1, 1)
    with pytest.warns(Warning, match="distinct clusters"):  # 3 values, 4 clusters
        km = KMeans(2 ** bits, init=init, n_init=1, algorithm="lloyd").fit(v)
    return torch.from_numpy(km.cluster_centers_[km.labels_, 0]).to(values.dtype)


def test_kmeans_share_with_empty_clusters_is_scikit_learn():
    shared = quant.kmeans_share(_REPORTED, bits=2)
    # Reported: 100 of the 101 nonzero weights became 0.0.
    assert torch.equal(shared.weight, _REPORTED)
    assert torch.equal(shared.weight, _sklearn_shared(_REPORTED, 2))


def test_kmeans_share_model_and_centroid_fine_tuning_keep_each_value():
    model = nn.Sequential(nn.Linear(101, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(_REPORTED[None, :])
    assert torch.equal(quant.kmeans_share_model(model, 2)[0].weight, model[0].weight)
    tuned = nn.Sequential(nn.Linear(101, 1, bias=False))
    tuned.load_state_dict(model.state_dict())
    tying = quant.CentroidFineTuning(tuned, 2)
    assert torch.equal(tuned[0].weight, model[0].weight)
    tying(tuned)  # each cluster tied to its mean, in float32
    assert len(torch.unique(tuned[0].weight)) == 3
    torch.testing.assert_close(tuned[0].weight, model[0].weight)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(-10, 10, allow_nan=False, width=32).filter(bool),
                       min_size=1, max_size=8, unique=True),
       counts=st.lists(st.integers(1, 30), min_size=8, max_size=8),
       bits=st.integers(2, 3))
def test_at_most_two_to_the_bits_distinct_values_are_kept_exactly(values, counts, bits):
    values = values[:2 ** bits]
    weight = torch.tensor([v for v, c in zip(values, counts) for _ in range(c)])
    assert torch.equal(quant.kmeans_share(weight, bits).weight, weight)


# --------------------------------------------------- 3. N:M, widths not a multiple of M

_WIDTH = r"11 inputs, not a multiple of m=4.*pad its inputs with zeros to 12"


def _narrow_model():
    return nn.Sequential(nn.Linear(8, 11), nn.ReLU(), nn.Linear(11, 6), nn.ReLU(),
                         nn.Linear(6, 2))


@pytest.mark.parametrize("call", [
    lambda w: lw.sparsegpt(w, lw.hessian(torch.randn(200, 11)), n=2, m=4, block_size=16),
    lambda w: prune.nm_mask(w, 2, 4),
    lambda w: lw.wanda_mask(w, torch.ones(11), n=2, m=4),
    lambda w: prune.nm_mask_kernel(w.abs(), 2, 4),
    lambda w: lw.sparsegpt_sweep(w.double(), torch.eye(11, dtype=torch.double),
                                 lambda s: torch.ones_like(s), 4, 16),
], ids=["sparsegpt", "nm_mask", "wanda_mask", "nm_mask_kernel", "sparsegpt_sweep"])
def test_every_nm_function_refuses_a_width_that_m_does_not_divide(call):
    # Reported: sparsegpt left columns 8-10 dense; nm_mask and wanda_mask raised.
    with pytest.raises(ValueError, match=_WIDTH):
        call(torch.randn(6, 11))


@pytest.mark.parametrize("criterion", lw.CRITERIA)
def test_prune_layerwise_names_the_layer_that_m_does_not_divide(criterion):
    with pytest.raises(ValueError, match="layer '2' has " + _WIDTH):
        lw.prune_layerwise(_narrow_model(), criterion, n=2, m=4,
                           calibration=torch.randn(8, 8))


def test_nm_masks_names_the_parameter_that_m_does_not_divide():
    with pytest.raises(ValueError, match="parameter '2.weight' has " + _WIDTH):
        prune.nm_masks(_narrow_model(), 2, 4, names=["2.weight"])


# --------------------------------------------------------------- 4. tied parameters


def _tied():
    """The reported model: ``b`` uses ``a``'s weight."""
    torch.manual_seed(0)
    a, b, c = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 4)
    b.weight = a.weight
    return nn.Sequential(a, b, c)


def _distinct_weights(model):
    """Torch's rule: ``named_parameters()`` lists a shared tensor once."""
    return [p for n, p in model.named_parameters() if n.endswith("weight")]


def test_l1_penalties_count_a_tied_tensor_once():
    model = _tied()
    expected = 0.1 * sum(float(p.detach().abs().sum()) for p in _distinct_weights(model))
    # Reported: 3.1171 instead of 1.8211 (the shared weight counted twice).
    assert float(l1.l1_penalty(model, 0.1).detach()) == pytest.approx(expected, rel=1e-6)
    expected = 0.1 * sum(float(p.detach().norm(dim=1).sum())
                         for p in _distinct_weights(model))
    penalty = l1.group_lasso_penalty(model, 0.1).detach()
    assert float(penalty) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("step", [l1.prox_l1_step, l1.prox_group_step])
def test_proximal_steps_shrink_a_tied_tensor_once(step):
    model, once = _tied(), _tied()
    step(model, 0.05)
    for p in _distinct_weights(once):  # the oracle: each distinct tensor once
        holder = nn.Linear(p.shape[1], p.shape[0])
        holder.weight = p
        step(holder, 0.05, "weight")
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), once.parameters()))
    assert model[1].weight is model[0].weight


def test_global_masks_give_a_tied_tensor_one_mask_that_apply_masks_accepts():
    model = _tied()
    masks = prune.global_masks(model, 0.5)
    assert list(masks) == ["0.weight", "2.weight"]
    reference = _tied()  # torch.nn.utils.prune on the distinct tensors
    torch_prune.global_unstructured([(reference[0], "weight"), (reference[2], "weight")],
                                    torch_prune.L1Unstructured, amount=0.5)
    assert torch.equal(masks["0.weight"], reference[0].weight_mask)
    assert torch.equal(masks["2.weight"], reference[2].weight_mask)
    prune.apply_masks(model, masks)  # reported: rejected "1.weight"
    prune.MaskEnforcer(masks)(model)
    assert torch.equal(model[1].weight, model[0].weight)
    assert prune.masks_sparsity(masks) == 0.5


def test_a_tied_tensor_is_named_by_any_of_its_names_but_masked_once():
    model = _tied()
    masks = prune.layerwise_masks(model, 0.5, names=["1.weight", "0.weight"])
    assert list(masks) == ["1.weight"]
    prune.apply_masks(model, masks)
    assert torch.equal(model[0].weight == 0, masks["1.weight"] == 0)
    with pytest.raises(ValueError, match="'0.weight' and '1.weight' name the same tensor"):
        prune.apply_masks(model, {"0.weight": masks["1.weight"], "1.weight": masks["1.weight"]})


@pytest.mark.parametrize("transform", [
    lambda m: quant.quantize_model_weights(m, 4, "affine"),
    lambda m: quant.kmeans_share_model(m, 2),
], ids=["quantize_model_weights", "kmeans_share_model"])
def test_quantisation_transforms_a_tied_tensor_once_and_keeps_it_tied(transform):
    model = _tied()
    new = transform(model)
    assert new[1].weight is new[0].weight
    single = nn.Sequential(model[0], model[2])  # the oracle: the distinct layers alone
    expected = transform(single)
    assert torch.equal(new[0].weight, expected[0].weight)
    assert torch.equal(new[2].weight, expected[1].weight)


class _TiedLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.fc = nn.Linear(8, 8)
        self.head = nn.Linear(8, 10, bias=False)
        self.head.weight = self.embed.weight  # weight tying (Press & Wolf 2017)

    def forward(self, ids):
        return self.head(torch.relu(self.fc(self.embed(ids))))


@pytest.mark.parametrize("criterion", lw.CRITERIA)
def test_prune_layerwise_refuses_a_tied_read_out_and_names_the_tie(criterion):
    model = _TiedLM()
    # Reported: naming the tied head pruned the embedding without a word.
    with pytest.raises(ValueError, match=r"'head' shares its weight with \['embed.weight'\]"):
        lw.prune_layerwise(model, criterion, names=["fc", "head"],
                           calibration=torch.randint(0, 10, (4, 5)))
    pruned = lw.prune_layerwise(model, criterion, names=["fc"],
                                calibration=torch.randint(0, 10, (4, 5)))
    assert torch.equal(pruned.embed.weight, model.embed.weight)


# ----------------------------------------- 5. fp16 and bf16, attention, Conv1D layers


def test_wanda_on_a_float16_model_scores_in_float32():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).half()
    calibration = (torch.randn(20000, 8) * 1000).half()  # input norms above 65504
    # Reported: the error named input_norms, an argument the caller never passed.
    pruned = lw.prune_layerwise(model, "wanda", 0.5, calibration=calibration)
    w = model[0].weight.detach()
    scores = w.float().abs() * calibration.double().norm(dim=0).float()  # the fp32 oracle
    expected = torch.ones_like(scores).scatter_(
        1, torch.sort(scores, dim=1, stable=True)[1][:, :4], 0.0)
    assert torch.equal(pruned[0].weight != 0, expected.bool())


def test_inputs_that_overflow_in_float16_are_named_with_their_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4), nn.ReLU(),
                          nn.Linear(4, 2)).half()
    with torch.no_grad():
        model[0].weight.fill_(1000.0)  # outputs of 8 · 1000 · 10 overflow float16
    calibration = torch.full((4, 8), 10.0).half()
    with pytest.raises(ValueError, match=r"inputs of layer '2' .* contain NaN or infinity "
                                         r"\(in torch.float16\)"):
        lw.prune_layerwise(model, "sparsegpt", calibration=calibration)


def test_wanda_masks_of_a_bfloat16_weight_are_those_of_float32_scoring():
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(256, 256, generator=gen).bfloat16()
    norms = torch.rand(256, generator=gen, dtype=torch.float64) * 100
    # Reported: bf16 scoring differed from fp32 on 0.08 % of the mask.
    expected = lw.wanda_mask(w.float(), norms, 0.5)
    assert torch.equal(lw.wanda_mask(w, norms, 0.5).float(), expected)
    expected = lw.wanda_mask(w.float(), norms, n=2, m=4)
    assert torch.equal(lw.wanda_mask(w, norms, n=2, m=4).float(), expected)


class _Attention(nn.Module):
    """The reported case: 768 of the 1,088 matrix weights are the attention's in_proj."""

    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 2)
        self.fc1 = nn.Linear(16, 16)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(torch.relu(self.fc1(self.attn(x, x, x)[0])))


def test_global_masks_prune_the_input_projections_of_attention():
    torch.manual_seed(0)
    model = _Attention()
    masks = prune.global_masks(model, 0.5)
    assert list(masks) == ["attn.in_proj_weight", "attn.out_proj.weight", "fc1.weight",
                           "fc.weight"]
    torch_prune.global_unstructured(
        [(model.attn, "in_proj_weight"), (model.attn.out_proj, "weight"),
         (model.fc1, "weight"), (model.fc, "weight")], torch_prune.L1Unstructured,
        amount=0.5)
    assert torch.equal(masks["attn.in_proj_weight"], model.attn.in_proj_weight_mask)
    assert torch.equal(masks["fc.weight"], model.fc.weight_mask)


def test_prune_layerwise_names_the_attention_it_cannot_prune():
    torch.manual_seed(0)
    model, calibration = _Attention(), torch.randn(5, 3, 16)
    # Reported: the in_proj_weight stayed dense without a word (and Wanda crashed on
    # the out_proj, which the attention never calls).
    with pytest.raises(ValueError, match=r"MultiheadAttention \['attn'\].*names=\['fc1'\]"):
        lw.prune_layerwise(model, "wanda", calibration=calibration)
    with pytest.raises(ValueError, match="'attn.out_proj' is the out_proj"):
        lw.prune_layerwise(model, "wanda", calibration=calibration, names=["attn.out_proj"])
    pruned = lw.prune_layerwise(model, "wanda", calibration=calibration, names=["fc1"])
    assert (pruned.fc1.weight == 0).float().mean() == 0.5


class Conv1D(nn.Module):
    """A GPT-2-style layer (transformers' Conv1D): ``x @ weight + bias``, weight (in, out)."""

    def __init__(self, nx: int, nf: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(nx, nf) * 0.1)
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return x @ self.weight + self.bias


def test_a_model_of_conv1d_layers_gets_the_right_message_in_both_branches(monkeypatch):
    model = nn.Sequential(Conv1D(8, 16), nn.ReLU(), Conv1D(16, 8))
    # Reported: both branches said "fewer than two nn.Linear layers; name the layers".
    # Now both name the layers that hold matrix weights and the fix: register the class.
    with pytest.raises(ValueError, match=r"no linear layer to prune; '0' \(Conv1D\), "
                                         r"'2' \(Conv1D\) hold matrix weights.*"
                                         r"add its class to helpers.layers.LINEAR_LAYERS"):
        lw.prune_layerwise(model, "magnitude")
    with pytest.raises(ValueError, match=r"'0' is a Conv1D, not an nn.Linear layer.*"
                                         r"LINEAR_LAYERS.*linear layers: \[\]"):
        lw.prune_layerwise(model, "magnitude", names=["0"])
    # the fix the messages name works: registered with its layout, the layers are
    # pruned (by default all but the last, the read-out, as in the papers)
    monkeypatch.setitem(layers.LINEAR_LAYERS, Conv1D, "in, out")
    pruned = lw.prune_layerwise(model, "magnitude", 0.5)
    assert float((pruned[0].weight == 0).float().mean()) == 0.5
    assert torch.equal(pruned[2].weight, model[2].weight)


class _Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.unused = nn.Linear(4, 2), nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)


def test_a_layer_the_model_never_calls_is_named():
    model = _Unused()
    with pytest.raises(ValueError, match="'unused' received no input"):
        lw.prune_layerwise(model, "wanda", names=["unused"], calibration=torch.randn(8, 4))

"""helpers.layerwise (Wanda, SparseGPT) and the N:M masks of helpers.prune."""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import layerwise as lw
from helpers import prune


def _layer(seed: int, out: int = 12, inp: int = 16, tokens: int = 200):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(out, inp, generator=gen)
    # Correlated inputs of uneven scale, as in a trained network.
    x = torch.randn(tokens, inp, generator=gen) @ torch.randn(inp, inp, generator=gen)
    x = x * torch.rand(inp, generator=gen) * 3
    return w, x


# ------------------------------------------------------------------------- N:M masks

@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(1, 6), groups=st.integers(1, 5),
       n=st.integers(0, 4))
def test_nm_mask_keeps_n_of_every_m_along_the_input(seed, rows, groups, n):
    w = torch.randn(rows, 4 * groups, generator=torch.Generator().manual_seed(seed))
    mask = prune.nm_mask(w, n, 4)
    per_group = mask.reshape(rows, groups, 4)
    assert torch.all(per_group.sum(-1) == n)
    # The kept entries are the largest of their group.
    kept = torch.where(per_group.bool(), w.abs().reshape(rows, groups, 4), torch.inf)
    dropped = torch.where(per_group.bool(), -torch.inf, w.abs().reshape(rows, groups, 4))
    if 0 < n < 4:
        assert torch.all(kept.min(-1).values >= dropped.max(-1).values)


def test_nm_mask_of_a_conv_groups_input_channels():
    w = torch.randn(3, 8, 2, 2)
    mask = prune.nm_mask(w)
    assert mask.shape == w.shape
    assert torch.all(mask.reshape(3, 2, 4, 2, 2).sum(2) == 2)


def test_nm_masks_of_a_model():
    model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
    masks = prune.nm_masks(model)
    assert set(masks) == {"0.weight", "2.weight"}
    assert prune.masks_sparsity(masks) == 0.5


def test_nm_mask_bad_inputs():
    with pytest.raises(ValueError, match="multiple of m"):
        prune.nm_mask(torch.randn(2, 6))
    with pytest.raises(ValueError, match="at most m"):
        prune.nm_mask(torch.randn(2, 8), 5, 4)
    with pytest.raises(ValueError, match="two dimensions"):
        prune.nm_mask(torch.randn(8))
    with pytest.raises(TypeError, match="floating-point"):
        prune.nm_mask(torch.ones(2, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="shape"):
        prune.nm_mask(torch.randn(2, 8), scores=torch.randn(2, 4))
    with pytest.raises(ValueError, match="multiple of m"):
        prune.nm_masks(nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)))


# ---------------------------------------------------------------------------- Wanda

@pytest.mark.parametrize("sparsity", [0.0, 0.25, 0.5, 0.9])
def test_wanda_with_unit_norms_is_per_row_magnitude(sparsity):
    w, _ = _layer(0)
    mask = lw.wanda_mask(w, torch.ones(w.shape[1]), sparsity)
    expected = torch.stack([prune.magnitude_mask(row, sparsity) for row in w])
    assert torch.equal(mask, expected)
    assert torch.equal(lw.wanda_mask(w, torch.ones(w.shape[1]), n=2, m=4), prune.nm_mask(w))


def test_wanda_weighs_inputs_by_their_norm():
    w = torch.ones(1, 4)
    mask = lw.wanda_mask(w, torch.tensor([1.0, 4.0, 2.0, 3.0]), 0.5)
    assert mask.tolist() == [[0, 1, 0, 1]]


def test_wanda_bad_inputs():
    w, _ = _layer(0)
    with pytest.raises(ValueError, match="input_norms"):
        lw.wanda_mask(w, torch.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        lw.wanda_mask(w, -torch.ones(w.shape[1]))
    with pytest.raises(ValueError, match="both n and m"):
        lw.wanda_mask(w, torch.ones(w.shape[1]), n=2)
    with pytest.raises(ValueError, match="sparsity"):
        lw.wanda_mask(w, torch.ones(w.shape[1]), 1.5)


# ------------------------------------------------------------------------- SparseGPT

def test_sparsegpt_at_sparsity_zero_returns_the_weights():
    w, x = _layer(1)
    new, mask = lw.sparsegpt(w, lw.hessian(x), 0.0)
    assert torch.equal(new, w)
    assert torch.all(mask == 1)


@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.8])
def test_sparsegpt_with_identity_hessian_is_magnitude(sparsity):
    w, _ = _layer(2)
    new, mask = lw.sparsegpt(w, torch.eye(w.shape[1]), sparsity)
    assert torch.equal(mask, prune.magnitude_mask(w, sparsity))
    assert torch.allclose(new, w * mask)
    new, mask = lw.sparsegpt(w, torch.eye(w.shape[1]), n=2, m=4)
    assert torch.equal(mask, prune.nm_mask(w))
    assert torch.allclose(new, w * mask)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("pattern", [dict(sparsity=0.5), dict(sparsity=0.7),
                                     dict(n=2, m=4), dict(sparsity=0.5, block_size=4)])
def test_sparsegpt_is_never_worse_than_zeroing_the_same_mask(seed, pattern):
    w, x = _layer(seed)
    new, mask = lw.sparsegpt(w, lw.hessian(x), **pattern)
    assert torch.all(new[mask == 0] == 0)
    err = lw.reconstruction_error(w, new, x)
    assert err <= lw.reconstruction_error(w, w * mask, x) + 1e-9
    # ... and it beats magnitude pruning with its own mask.
    magnitude = prune.nm_mask(w) if "n" in pattern else prune.magnitude_mask(
        w, pattern["sparsity"])
    assert err <= lw.reconstruction_error(w, w * magnitude, x)


def test_sparsegpt_bad_inputs():
    w, x = _layer(0)
    with pytest.raises(ValueError, match="hessian must have shape"):
        lw.sparsegpt(w, torch.eye(3))
    with pytest.raises(ValueError, match="multiple of m"):
        lw.sparsegpt(w, lw.hessian(x), n=2, m=4, block_size=6)
    with pytest.raises(ValueError, match="NaN"):
        lw.sparsegpt(w, torch.full((16, 16), float("nan")))
    with pytest.raises(ValueError, match="positive definite"):
        lw.sparsegpt(w, -torch.eye(16), damping=0.0)
    with pytest.raises(ValueError, match="matrix"):
        lw.sparsegpt(torch.randn(16), torch.eye(16))


# ------------------------------------------------------------------ a whole network

@pytest.fixture
def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                         nn.Linear(8, 3))


@pytest.mark.parametrize("criterion", lw.CRITERIA)
@pytest.mark.parametrize("pattern", [dict(sparsity=0.5), dict(n=2, m=4)])
def test_prune_layerwise_prunes_all_but_the_read_out(mlp, criterion, pattern):
    before = {k: v.clone() for k, v in mlp.state_dict().items()}
    calibration = torch.randn(32, 8)
    new = lw.prune_layerwise(mlp, criterion, calibration=calibration, **pattern)
    for name in ("0.weight", "2.weight"):
        assert (new.state_dict()[name] == 0).float().mean() == 0.5
    assert torch.equal(new.state_dict()["4.weight"], before["4.weight"])
    for k, v in mlp.state_dict().items():
        assert torch.equal(v, before[k])


def test_prune_layerwise_bad_inputs(mlp):
    with pytest.raises(ValueError, match="criterion"):
        lw.prune_layerwise(mlp, "obd")
    with pytest.raises(ValueError, match="calibration"):
        lw.prune_layerwise(mlp, "wanda")
    with pytest.raises(ValueError, match="not an nn.Linear"):
        lw.prune_layerwise(mlp, "magnitude", names=["1"])
    with pytest.raises(TypeError, match="torch.nn.Module"):
        lw.linear_layers(None)


def test_a_criterion_is_a_name_or_a_callable(mlp):
    """The names are the registry's callables; any callable with the same signature
    prunes the same way (one that reads no data says so and needs no calibration),
    and one that returns the wrong thing is named in the error."""
    calibration = torch.randn(32, 8)
    for name, rule in lw.CRITERIA.items():
        by_name = lw.prune_layerwise(mlp, name, calibration=calibration)
        by_object = lw.prune_layerwise(mlp, rule, calibration=calibration)
        for a, b in zip(by_name.state_dict().values(), by_object.state_dict().values()):
            assert torch.equal(a, b)

    def halve(weight, inputs, *, sparsity, n, m):      # a criterion of one's own
        assert inputs is None
        return weight * 0.5

    halve.needs_calibration = False
    new = lw.prune_layerwise(mlp, halve)
    assert torch.equal(new[0].weight, 0.5 * mlp[0].weight)
    with pytest.raises(ValueError, match="calibration"):
        lw.prune_layerwise(mlp, lambda w, x, **k: w)    # reads data by default
    with pytest.raises(ValueError, match=r"tensor of shape \(16, 8\)"):
        lw.prune_layerwise(mlp, lambda w, x, **k: w[:1], calibration=calibration)
    with pytest.raises(TypeError, match="a callable"):
        lw.prune_layerwise(mlp, 3)
    with pytest.raises(ValueError, match="'magnitude', 'wanda', 'sparsegpt'"):
        lw.prune_layerwise(mlp, "obd")


# ------------------------------------------------- calibration order: layer or block

def _tiny_lm():
    from helpers.language_model import TinyTransformer
    torch.manual_seed(0)
    model = TinyTransformer(11, context=8, d_model=16, n_layers=2, n_heads=2).eval()
    calibration = torch.randint(0, 11, (6, 8), generator=torch.Generator().manual_seed(1))
    return model, calibration


def _recorded(model, calibration, criterion, monkeypatch, **kwargs):
    """The pruned model, and what each layer was calibrated on, by name.

    For SparseGPT the inputs ``(tokens, in)`` passed to ``hessian``; for Wanda the
    input norms passed to ``wanda_mask``.
    """
    seen = []
    target = "hessian" if criterion == "sparsegpt" else "wanda_mask"
    original = getattr(lw, target)

    def spy(x, *args, **kwargs):
        seen.append(x if criterion == "sparsegpt" else args[0])
        return original(x, *args, **kwargs)

    monkeypatch.setattr(lw, target, spy)
    new = lw.prune_layerwise(model, criterion, calibration=calibration, **kwargs)
    monkeypatch.setattr(lw, target, original)
    return new, dict(zip(lw.linear_layers(model), seen, strict=True))


def _inputs(model, name, calibration):
    """The inputs of layer ``name`` of ``model`` on ``calibration``, ``(tokens, in)``."""
    layer = dict(model.named_modules())[name]
    store = []
    handle = layer.register_forward_hook(lambda m, i, o: store.append(i[0]))
    with torch.no_grad():
        model(calibration)
    handle.remove()
    return store[0].reshape(-1, layer.in_features)


@pytest.mark.parametrize("pattern", [dict(sparsity=0.5), dict(n=2, m=4)])
def test_prune_layerwise_default_records_inputs_after_every_layer(pattern):
    model, calibration = _tiny_lm()
    expected = copy.deepcopy(model)
    for name in lw.linear_layers(model):  # the true-sequential order, written out
        layer = dict(expected.named_modules())[name]
        w = layer.weight.detach()
        new_w, _ = lw.sparsegpt(w, lw.hessian(_inputs(expected, name, calibration)),
                                **pattern)
        with torch.no_grad():
            layer.weight.copy_(new_w)
    default = lw.prune_layerwise(model, "sparsegpt", calibration=calibration, **pattern)
    layer = lw.prune_layerwise(model, "sparsegpt", calibration=calibration,
                               sequential="layer", **pattern)
    for k, v in expected.state_dict().items():
        assert torch.equal(default.state_dict()[k], v), k
        assert torch.equal(layer.state_dict()[k], v), k


def test_block_calibrates_every_layer_of_a_block_on_the_block_input(monkeypatch):
    model, calibration = _tiny_lm()
    by_layer, seen_layer = _recorded(model, calibration, "sparsegpt", monkeypatch)
    by_block, seen_block = _recorded(model, calibration, "sparsegpt", monkeypatch,
                                     sequential="block")
    names = lw.linear_layers(model)
    assert names[:4] == ["blocks.0.qkv", "blocks.0.proj", "blocks.0.fc1", "blocks.0.fc2"]
    # The first layer of the model sees the same inputs either way; the other layers
    # of its block do not (under "layer" they see qkv pruned, under "block" they do not).
    assert torch.equal(seen_block["blocks.0.qkv"], seen_layer["blocks.0.qkv"])
    for name in names[1:]:
        assert not torch.allclose(seen_block[name], seen_layer[name]), name
    # Under "block", every layer of block b was calibrated on the model with blocks
    # before b pruned and block b dense: the inputs that "layer" records for the
    # block's first layer, in that state.
    pruned = dict(by_block.named_parameters())
    for b in range(2):
        state = copy.deepcopy(model)
        with torch.no_grad():
            for name, p in state.named_parameters():
                if any(name.startswith(f"blocks.{c}.") for c in range(b)):
                    p.copy_(pruned[name])
        for name in names:
            if name.startswith(f"blocks.{b}."):
                assert torch.equal(seen_block[name], _inputs(state, name, calibration))
    # and the first layer of each block: under "layer" too, in the state "layer" made
    layer_params = dict(by_layer.named_parameters())
    state = copy.deepcopy(model)
    with torch.no_grad():
        for name, p in state.named_parameters():
            if name.startswith("blocks.0."):
                p.copy_(layer_params[name])
    assert torch.equal(seen_layer["blocks.1.qkv"], _inputs(state, "blocks.1.qkv",
                                                           calibration))


def test_block_and_layer_differ_for_wanda_but_not_for_magnitude(monkeypatch):
    model, calibration = _tiny_lm()
    _, norms_layer = _recorded(model, calibration, "wanda", monkeypatch)
    _, norms_block = _recorded(model, calibration, "wanda", monkeypatch,
                                      sequential="block")
    assert torch.equal(norms_layer["blocks.0.qkv"], norms_block["blocks.0.qkv"])
    assert not torch.allclose(norms_layer["blocks.0.fc1"], norms_block["blocks.0.fc1"])
    magnitude = [lw.prune_layerwise(model, "magnitude", sequential=order)
                 for order in lw.SEQUENTIAL]
    for k, v in magnitude[0].state_dict().items():
        assert torch.equal(magnitude[1].state_dict()[k], v)


def test_layer_inputs_records_every_layer_in_one_pass():
    model, calibration = _tiny_lm()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    inputs = lw.layer_inputs(model, calibration, batch_size=4)  # batches of 4 and 2
    assert list(inputs) == lw.linear_layers(model) and model.training
    for name, x in inputs.items():
        assert torch.equal(x, _inputs(model.eval(), name, calibration)), name
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    with pytest.raises(ValueError, match="non-empty"):
        lw.layer_inputs(model, calibration[:0])
    with pytest.raises(ValueError, match="not an nn.Linear"):
        lw.layer_inputs(model, calibration, names=["blocks.0.ln1"])


def test_prune_layerwise_sequential_bad_inputs(mlp):
    model, calibration = _tiny_lm()
    with pytest.raises(ValueError, match=r"sequential must be one of \('layer', 'block'\)"):
        lw.prune_layerwise(model, "wanda", calibration=calibration, sequential="tensor")
    with pytest.raises(ValueError, match="in none; use sequential='layer'"):
        lw.prune_layerwise(mlp, "wanda", calibration=torch.randn(4, 8), sequential="block")
    with pytest.raises(ValueError, match="must follow one another"):
        lw.prune_layerwise(model, "wanda", calibration=calibration, sequential="block",
                           names=["blocks.0.qkv", "blocks.1.qkv", "blocks.0.fc1"])



# ------------------------------------------------------------ the kernels on the page

@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5])
def test_wanda_row_mask_is_the_mask_of_wanda_mask(sparsity):
    w, x = _layer(3)
    norms = x.norm(dim=0)
    k = round(sparsity * w.shape[1])
    assert torch.equal(lw.wanda_row_mask(w, norms, k), lw.wanda_mask(w, norms, sparsity))


@pytest.mark.parametrize("pattern", [dict(sparsity=0.5, block_size=128),
                                     dict(sparsity=0.6, block_size=5),
                                     dict(n=2, m=4, block_size=8)])
def test_sparsegpt_sweep_is_what_sparsegpt_computes(pattern):
    w, x = _layer(4, inp=20)  # 20 inputs: the last block is incomplete
    H = lw.hessian(x)
    new, mask = lw.sparsegpt(w, H, **pattern)
    n, m = pattern.get("n"), pattern.get("m")
    choose = functools.partial(lw._obs_mask, sparsity=pattern.get("sparsity", 0.5),
                               n=n, m=m)
    W = w.double().clone()
    kernel_mask = lw.sparsegpt_sweep(W, H + 0.01 * H.diagonal().mean() * torch.eye(20),
                                     choose, m, pattern["block_size"])
    assert torch.equal(W.float(), new)
    assert torch.equal(kernel_mask.float(), mask)


def test_sparsegpt_block_with_identity_factor_only_masks():
    w, _ = _layer(5)
    W1 = w.double().clone()
    mask, errors = lw.sparsegpt_block(W1, torch.eye(16, dtype=torch.double),
                                      lambda s: prune.nm_mask(s), 4)
    assert torch.equal(mask, prune.nm_mask(w.double()))
    assert torch.equal(W1, w.double() * mask)
    assert torch.equal(errors, w.double() * (1 - mask))


def test_nm_mask_kernel_keeps_the_n_highest_scores_of_each_group():
    scores = torch.tensor([[0.1, 0.4, 0.3, 0.2, 5.0, 1.0, 1.0, 0.0]])
    mask = prune.nm_mask_kernel(scores, 2, 4)  # a tie goes to the earlier input
    assert mask.tolist() == [[0, 1, 1, 0, 1, 1, 0, 0]]
    assert torch.equal(prune.nm_mask(scores), mask)


_U = torch.eye(4, dtype=torch.double)
_KEEP = torch.ones_like  # a prune callable that keeps everything


@pytest.mark.parametrize("call, error, match", [
    # k = -1 would prune all but one weight of every row
    (lambda: lw.wanda_row_mask(torch.randn(3, 4), torch.ones(4), -1), ValueError,
     "k must lie in 0..4"),
    (lambda: lw.wanda_row_mask(torch.randn(3, 4), torch.ones(5), 1), ValueError,
     "input_norms must be a tensor of shape"),
    (lambda: lw.wanda_row_mask(torch.randn(3, 4), -torch.ones(4), 1), ValueError,
     "non-negative"),
    (lambda: lw.sparsegpt_block(torch.randn(3, 4, dtype=torch.double),
                                _U + torch.ones(4, 4, dtype=torch.double).tril(-1), _KEEP, 4),
     ValueError, "U1 must be upper triangular"),
    (lambda: lw.sparsegpt_block(torch.randn(3, 4, dtype=torch.double), -_U, _KEEP, 4),
     ValueError, "positive diagonal"),
    (lambda: lw.sparsegpt_block(torch.randn(3, 4), _U, _KEEP, 4), TypeError,
     "U1 has dtype torch.float64 but W1 has torch.float32"),
    (lambda: lw.sparsegpt_block(torch.randn(3, 4, dtype=torch.double), _U, None, 4),
     TypeError, "prune must be a callable"),
    (lambda: lw.sparsegpt_block(torch.randn(3, 4, dtype=torch.double), _U, _KEEP, 0),
     ValueError, "group must be > 0"),
    (lambda: lw.sparsegpt_sweep(torch.randn(3, 4, dtype=torch.double), _U[:3, :3], _KEEP,
                                None, 4), ValueError, r"H must be a tensor of shape \(4, 4\)"),
    (lambda: lw.sparsegpt_sweep(torch.randn(3, 4, dtype=torch.double),
                                _U + torch.ones(4, 4, dtype=torch.double).triu(1), _KEEP,
                                None, 4), ValueError, "H must be symmetric"),
    (lambda: lw.sparsegpt_sweep(torch.randn(3, 8, dtype=torch.double),
                                torch.eye(8, dtype=torch.double), _KEEP, 4, 6),
     ValueError, r"block_size \(6\) must be a multiple of group \(4\)"),
    (lambda: lw.sparsegpt_sweep(torch.randn(3, 4, dtype=torch.double), _U, _KEEP, None, 0),
     ValueError, "block_size must be > 0"),
])
def test_the_kernels_on_the_pages_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------------ GPTQ

def _fasterquant(W, H, bits, blocksize=128, percdamp=.01):
    """A float64 port of ``GPTQ.fasterquant`` (IST-DASLab/gptq, gptq.py; per-channel
    asymmetric quantiser, no groups, no act-order)."""
    from test_replayed_reports import _quantizer

    W, H = W.clone().double(), H.clone().double()
    quantize = _quantizer(W, bits)
    columns = W.shape[1]
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H[torch.arange(columns), torch.arange(columns)] += percdamp * torch.mean(torch.diag(H))
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)),
                                 upper=True)
    Q = torch.zeros_like(W)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        W1, Hinv1 = W[:, i1:i2].clone(), Hinv[i1:i2, i1:i2]
        Q1, Err1 = torch.zeros_like(W1), torch.zeros_like(W1)
        for i in range(i2 - i1):
            w, d = W1[:, i], Hinv1[i, i]
            q = quantize(w)
            Q1[:, i] = q
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        Q[:, i1:i2] = Q1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    return Q


def _correlated_layer(seed=0, out=24, inputs=160, tokens=600):
    gen = torch.Generator().manual_seed(seed)
    mix = torch.randn(inputs, inputs, generator=gen) / inputs ** 0.5
    X = torch.randn(tokens, inputs, generator=gen) @ (torch.eye(inputs) + 2 * mix)
    return torch.randn(out, inputs, generator=gen), X


@pytest.mark.parametrize("bits, block_size", [(4, 128), (3, 32), (8, 128)])
def test_gptq_is_the_reference(bits, block_size):
    W, X = _correlated_layer()
    X[:, 5] = 0  # a dead input
    got = lw.gptq(W, lw.hessian(X), bits, block_size=block_size)
    want = _fasterquant(W, lw.hessian(X), bits, blocksize=block_size)
    torch.testing.assert_close(got.double(), want, rtol=0, atol=1e-5)
    assert got.dtype == W.dtype and torch.all(got[:, 5] == 0)


def test_gptq_rounds_to_the_grid_and_beats_rounding_to_nearest_here():
    W, X = _correlated_layer(1)
    H = lw.hessian(X)
    grid = lw.row_grid(W, 4)
    rtn = torch.stack([grid(W[:, j]) for j in range(W.shape[1])], dim=1)
    q = lw.gptq(W, H, 4)
    for j in range(0, W.shape[1], 9):
        torch.testing.assert_close(grid(q[:, j]), q[:, j])
    # GPTQ minimises the layer's output error column by column; on these correlated
    # inputs it is well below rounding each weight to the nearest level
    assert lw.reconstruction_error(W, q, X) < \
        0.8 * lw.reconstruction_error(W, rtn, X)
    assert torch.equal(lw.row_grid(torch.zeros(2, 3), 4)(torch.zeros(2)),
                       torch.zeros(2))


def test_gptq_and_row_grid_check_their_arguments():
    W, X = _correlated_layer()
    with pytest.raises(ValueError, match="bits"):
        lw.gptq(W, lw.hessian(X), 1)
    with pytest.raises(TypeError, match="bits"):
        lw.gptq(W, lw.hessian(X), None)
    with pytest.raises(TypeError, match="quantize"):
        lw.sparsegpt_sweep(W.double(), lw.hessian(X).double(),
                                  lambda s: torch.ones_like(s), None, 128, quantize="4")

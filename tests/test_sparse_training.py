"""helpers.sparse_training: against hand cases, autograd references and the papers' code."""

from __future__ import annotations

import ast
import copy
import inspect
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from helpers import prune
from helpers import sparse_training as sp
from helpers.models import mlp
from helpers.train import fit

_FAST = settings(max_examples=25, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


def _net(seed: int = 0, sizes=(6, 5, 4, 3)) -> nn.Sequential:
    torch.manual_seed(seed)
    return mlp(list(sizes))


def _batch(n: int = 12, features: int = 6, classes: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=gen), torch.arange(n) % classes


def _state(model: nn.Module) -> dict:
    return {"modes": [m.training for m in model.modules()],
            "requires_grad": [p.requires_grad for p in model.parameters()],
            "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
            "tensors": {k: v.clone() for k, v in model.state_dict().items()}}


def _same_state(a: dict, b: dict) -> bool:
    return (a["modes"] == b["modes"] and a["requires_grad"] == b["requires_grad"]
            and all((x is None and y is None) or (x is not None and y is not None
                                                  and torch.equal(x, y))
                    for x, y in zip(a["grads"], b["grads"]))
            and a["tensors"].keys() == b["tensors"].keys()
            and all(torch.equal(a["tensors"][k], b["tensors"][k]) for k in a["tensors"]))


def _active(masks) -> dict[str, int]:
    return {n: int(m.count_nonzero()) for n, m in masks.items()}


# ------------------------------------------------------------------ score_masks

def test_score_masks_prune_the_lowest_globally_or_per_layer():
    scores = {"a": torch.tensor([[4.0, 1.0], [3.0, 0.5]]), "b": torch.tensor([2.0, 5.0])}
    glob = sp.score_masks(scores, 0.5)
    assert glob["a"].tolist() == [[1.0, 0.0], [1.0, 0.0]] and glob["b"].tolist() == [0.0, 1.0]
    layer = sp.score_masks(scores, 0.5, scope="layer")
    assert layer["a"].tolist() == [[1.0, 0.0], [1.0, 0.0]] and layer["b"].tolist() == [0.0, 1.0]
    # -inf goes first, whatever else; the dtype and shape follow the scores
    marked = {"a": torch.tensor([-torch.inf, 9.0, 1.0], dtype=torch.float64)}
    out = sp.score_masks(marked, 1 / 3)
    assert out["a"].tolist() == [0.0, 1.0, 1.0] and out["a"].dtype == torch.float64
    # ties: the earlier position first
    assert sp.score_masks({"t": torch.ones(4)}, 0.5)["t"].tolist() == [0.0, 0.0, 1.0, 1.0]


@_FAST
@given(sizes=st.lists(st.integers(1, 20), min_size=1, max_size=4),
       sparsity=st.floats(0, 1), seed=st.integers(0, 2**16))
def test_score_masks_prune_exactly_the_rounded_count(sizes, sparsity, seed):
    gen = torch.Generator().manual_seed(seed)
    scores = {f"l{i}": torch.randn(n, generator=gen) for i, n in enumerate(sizes)}
    glob = sp.score_masks(scores, sparsity)
    assert sum(int((m == 0).sum()) for m in glob.values()) == round(sparsity * sum(sizes))
    kept = torch.cat([s[m > 0] for s, m in zip(scores.values(), glob.values())])
    dropped = torch.cat([s[m == 0] for s, m in zip(scores.values(), glob.values())])
    if len(kept) and len(dropped):
        assert dropped.max() <= kept.min()
    layer = sp.score_masks(scores, sparsity, scope="layer")
    assert all(int((layer[n] == 0).sum()) == round(sparsity * s.numel())
               for n, s in scores.items())


@pytest.mark.parametrize("args, kwargs, error, match", [
    (("scores", 0.5), {}, TypeError, "non-empty mapping"),
    (({}, 0.5), {}, TypeError, "non-empty mapping"),
    (({"a": torch.tensor([1, 2])}, 0.5), {}, TypeError, "floating-point"),
    (({"a": torch.tensor([1.0, torch.nan])}, 0.5), {}, ValueError, "NaN or \\+inf"),
    (({"a": torch.tensor([1.0, torch.inf])}, 0.5), {}, ValueError, "only -inf"),
    (({"a": torch.ones(2)}, 1.5), {}, ValueError, r"\[0, 1\]"),
    (({"a": torch.ones(2)}, 0.5), {"scope": "local"}, ValueError, "scope must be one of"),
])
def test_score_masks_reject_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        sp.score_masks(*args, **kwargs)


# ------------------------------------------------------------------ SNIP

def test_snip_on_a_linear_layer_equals_the_hand_gradient():
    torch.manual_seed(0)
    layer = nn.Linear(4, 3)
    X, y = _batch(7, 4, 3)
    # cross-entropy of softmax(XWᵀ + b): ∂L/∂W = (P − Y)ᵀ X / n
    P = torch.softmax(X @ layer.weight.detach().T + layer.bias.detach(), dim=1)
    grad = (P - F.one_hot(y, 3).float()).T @ X / len(X)
    scores = sp.snip_scores(layer, X, y)
    assert list(scores) == ["weight"]
    assert torch.allclose(scores["weight"], (grad * layer.weight.detach()).abs(), atol=1e-6)


def test_snip_runs_in_evaluation_mode_and_leaves_the_model_as_it_was():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(5, 3)).train()
    model[0].weight.requires_grad_(False)  # a frozen weight is scored too
    X, y = _batch()
    F.cross_entropy(model(X), y).backward()  # grads and BatchNorm statistics to keep
    before = _state(model)
    first, second = sp.snip_scores(model, X, y), sp.snip_scores(model, X, y)
    assert _same_state(before, _state(model))
    assert all(torch.equal(first[n], second[n]) for n in first)  # no dropout noise
    reference = copy.deepcopy(model).eval()
    reference.zero_grad()
    reference[0].weight.requires_grad_(True)
    F.cross_entropy(reference(X), y).backward()
    for name, w in prune.prunable_parameters(reference).items():
        assert torch.allclose(first[name], (w.grad * w).abs().detach(), atol=1e-6)


# ------------------------------------------------------------------ GraSP

def _flat_loss(model, names, temperature, X, y):
    """The loss as a function of the prunable weights, flattened into one vector."""
    shapes = [p.shape for p in prune.prunable_parameters(model).values()]

    def loss(flat):
        weights, start = {}, 0
        for name, shape in zip(names, shapes):
            weights[name] = flat[start:start + shape.numel()].reshape(shape)
            start += shape.numel()
        return F.cross_entropy(torch.func.functional_call(model, weights, (X,))
                               / temperature, y)
    return loss


@pytest.mark.parametrize("temperature", [1.0, 200.0])
def test_grasp_hessian_gradient_product_equals_autograd_hvp(temperature):
    model = _net(1).double()
    X, y = _batch(16)
    X = X.double()
    params = prune.prunable_parameters(model)
    names = list(params)
    flat = torch.cat([p.detach().reshape(-1) for p in params.values()])
    loss = _flat_loss(model, names, temperature, X, y)
    g = torch.func.grad(loss)(flat)
    _, hg = torch.autograd.functional.hvp(loss, flat, g)
    scores = sp.grasp_scores(model, X, y, temperature=temperature)
    got = torch.cat([scores[n].reshape(-1) for n in names])
    assert torch.allclose(got, flat * hg, rtol=1e-8, atol=1e-14)
    # and a central finite difference of the gradient along g
    eps = 1e-6
    fd = (torch.func.grad(loss)(flat + eps * g) - torch.func.grad(loss)(flat - eps * g)) / (
        2 * eps)
    assert torch.allclose(flat * fd, got, rtol=1e-4, atol=1e-9 * float(got.abs().max()))


def test_grasp_prunes_what_the_authors_code_prunes():
    """GraSP's ``pruner/GraSP.py``: S = −θ ⊙ Hg, the int(ratio · N) largest removed."""
    model = _net(2).double()
    X, y = _batch(16)
    X = X.double()
    scores = sp.grasp_scores(model, X, y)
    S = {n: -s for n, s in scores.items()}  # the authors' grads[...] = -theta * Hg
    all_scores = torch.cat([s.reshape(-1) for s in S.values()])
    norm = all_scores.sum().abs() + 1e-10
    ratio = 0.5
    n_remove = int(len(all_scores) * ratio)
    threshold = torch.topk(all_scores / norm, n_remove, sorted=True)[0][-1]
    reference = {n: ((s / norm) <= threshold).double() for n, s in S.items()}
    # their rule keeps the threshold's own weight (<=): it removes n_remove − 1
    ours = sp.score_masks(scores, (n_remove - 1) / len(all_scores))
    assert all(torch.equal(ours[n], reference[n]) for n in S)
    assert any(bool((s < 0).any()) for s in scores.values())  # signed scores


def test_grasp_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(5, 3)).train()
    model[1].eval()
    X, y = _batch()
    F.cross_entropy(model(X), y).backward()
    before = _state(model)
    sp.grasp_scores(model, X, y, temperature=200)
    assert _same_state(before, _state(model))


@pytest.mark.parametrize("call, error, match", [
    (lambda m, X, y: sp.snip_scores("net", X, y), TypeError, "torch.nn.Module"),
    (lambda m, X, y: sp.snip_scores(nn.ReLU(), X, y), ValueError, "no nn.Linear"),
    (lambda m, X, y: sp.snip_scores(m, X.long(), y), TypeError, "floating-point"),
    (lambda m, X, y: sp.snip_scores(m, X, y.float()), TypeError, "class indices"),
    (lambda m, X, y: sp.snip_scores(m, X, y[:-1]), ValueError, "one class index"),
    (lambda m, X, y: sp.snip_scores(m, X * torch.nan, y), ValueError, "NaN"),
    (lambda m, X, y: sp.snip_kernel(m, X, y[:-1]), ValueError, "one class index"),
    (lambda m, X, y: sp.grasp_scores(m, X, y, temperature=0), ValueError, "> 0"),
    (lambda m, X, y: sp.grasp_scores(m, X, y, temperature="hot"), TypeError, "number"),
    (lambda m, X, y: sp.grasp_kernel(m, X, y, -1.0), ValueError, "> 0"),
])
def test_scores_from_data_reject_bad_arguments(call, error, match):
    X, y = _batch()
    with pytest.raises(error, match=match):
        call(_net(), X, y)


# ------------------------------------------------------------------ SynFlow

def test_synflow_two_layers_has_the_closed_form():
    """R = 1ᵀ|W₂|(|W₁|1 + |b₁|) + 1ᵀ|b₂|: w¹_ij scores |w¹_ij|·Σ_k|w²_ki|, w²_ki scores
    |w²_ki|·(Σ_j|w¹_ij| + |b¹_i|)."""
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    W1, b1, W2 = (t.detach().double().abs() for t in (net[0].weight, net[0].bias,
                                                      net[2].weight))
    scores = sp.synflow_scores(net, (3,))
    assert torch.allclose(scores["0.weight"], W1 * W2.sum(0)[:, None])
    assert torch.allclose(scores["2.weight"], W2 * (W1.sum(1) + b1)[None, :])
    assert scores["0.weight"].dtype == torch.float64
    assert net[0].weight.dtype == torch.float32 and bool((net[0].weight < 0).any())


@_FAST
@given(widths=st.lists(st.integers(1, 6), min_size=2, max_size=5), seed=st.integers(0, 999))
def test_synflow_conserves_the_flow_in_every_layer(widths, seed):
    """Without biases R is linear in each layer's weights: each layer's scores sum to R."""
    torch.manual_seed(seed)
    layers = []
    for n_in, n_out in zip(widths, widths[1:]):
        layers += [nn.Linear(n_in, n_out, bias=False), nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    ones = torch.ones(widths[0], dtype=torch.float64)
    for layer in net:
        if isinstance(layer, nn.Linear):
            ones = layer.weight.detach().double().abs() @ ones
    flow = float(ones.sum())
    for s in sp.synflow_scores(net, (widths[0],)).values():
        assert float(s.sum()) == pytest.approx(flow, rel=1e-9)


@_FAST
@given(sparsity=st.floats(0, 1), iterations=st.integers(1, 8), seed=st.integers(0, 999))
def test_synflow_masks_reach_the_sparsity_exactly(sparsity, iterations, seed):
    net = _net(seed, (5, 6, 4, 3))
    before = _state(net)
    masks = sp.synflow_masks(net, sparsity, (5,), iterations=iterations)
    total = sum(m.numel() for m in masks.values())
    assert sum(int((m == 0).sum()) for m in masks.values()) == round(sparsity * total)
    assert list(masks) == list(prune.prunable_parameters(net))
    assert _same_state(before, _state(net))  # the model's weights untouched


def test_synflow_one_round_is_the_global_threshold_of_its_scores():
    net = _net(4)
    once = sp.synflow_masks(net, 0.6, (6,), iterations=1)
    expected = sp.score_masks(sp.synflow_scores(net, (6,)), 0.6)
    assert all(torch.equal(once[n], expected[n].float()) for n in once)


def test_synflow_iterations_avoid_layer_collapse():
    """A narrow last layer: one-shot pruning removes every path, 100 rounds do not."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(20, 40, bias=False), nn.ReLU(), nn.Linear(40, 2, bias=False))
    with torch.no_grad():
        net[2].weight.mul_(1e-3)  # the last layer's scores dwarfed… at first
    one_shot = sp.score_masks({n: p.detach().abs() for n, p in
                               prune.prunable_parameters(net).items()}, 0.98)
    assert int(one_shot["2.weight"].sum()) == 0  # magnitude cuts the network off
    masks = sp.synflow_masks(net, 0.98, (20,), iterations=100)
    pruned = copy.deepcopy(net)
    prune.apply_masks(pruned, masks)
    assert sp.synflow_scores(pruned, (20,))["2.weight"].sum() > 0  # paths remain


@pytest.mark.parametrize("call, error, match", [
    (lambda m: sp.synflow_scores(m, "64"), TypeError, "input_shape"),
    (lambda m: sp.synflow_scores(m, (0,)), ValueError, "> 0"),
    (lambda m: sp.synflow_scores(m, ()), TypeError, "input_shape"),
    (lambda m: sp.synflow_scores(None, (6,)), TypeError, "torch.nn.Module"),
    (lambda m: sp.synflow_masks(m, 1.2, (6,)), ValueError, r"\[0, 1\]"),
    (lambda m: sp.synflow_masks(m, 0.5, (6,), iterations=0), ValueError, "> 0"),
    (lambda m: sp.synflow_masks(m, 0.5, (6,), iterations=2.5), TypeError, "integer"),
    (lambda m: sp.synflow_kernel(m, (6.0,)), TypeError, "integer"),
    (lambda m: sp.synflow_loop(m, 0.5, (6,), 0), ValueError, "> 0"),
])
def test_synflow_rejects_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call(_net())


def test_synflow_accepts_an_int_input_shape():
    net = _net()
    a, b = sp.synflow_scores(net, 6), sp.synflow_scores(net, (6,))
    assert all(torch.equal(a[n], b[n]) for n in a)


# ------------------------------------------------------------------ shuffled masks

@_FAST
@given(seed=st.integers(0, 2**16), sparsity=st.floats(0, 1))
def test_shuffled_masks_keep_each_layers_count_and_leave_the_masks(seed, sparsity):
    masks = prune.random_masks(_net(), sparsity, seed=seed % 97)
    originals = {n: m.clone() for n, m in masks.items()}
    shuffled = sp.shuffle_masks(masks, seed)
    assert _active(shuffled) == _active(masks)
    assert all(s.shape == masks[n].shape and s.dtype == masks[n].dtype
               for n, s in shuffled.items())
    assert all(torch.equal(masks[n], originals[n]) for n in masks)  # not in place
    again = sp.shuffle_masks(masks, seed)
    assert all(torch.equal(shuffled[n], again[n]) for n in masks)  # seeded


def test_shuffled_masks_move_the_ones():
    masks = prune.random_masks(mlp([64, 32, 10]), 0.8, seed=0)
    a, b = sp.shuffle_masks(masks, 0), sp.shuffle_masks(masks, 1)
    assert not torch.equal(a["0.weight"], masks["0.weight"])
    assert not torch.equal(a["0.weight"], b["0.weight"])


@pytest.mark.parametrize("args, error, match", [
    (([], 0), TypeError, "mapping"),
    (({"a": torch.tensor([0.0, 2.0])}, 0), ValueError, "only 0 and 1"),
    (({"a": [1, 0]}, 0), TypeError, "torch.Tensor"),
    (({"a": torch.ones(2)}, -1), ValueError, ">= 0"),
    (({"a": torch.ones(2)}, 0.5), TypeError, "integer"),
])
def test_shuffle_masks_rejects_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        sp.shuffle_masks(*args)


# ------------------------------------------------------------------ SET and RigL

def test_cosine_drop_fraction_follows_rigls_schedule():
    assert sp.cosine_drop_fraction(0, 100, 0.3) == pytest.approx(0.3)
    assert sp.cosine_drop_fraction(25, 100, 0.3) == pytest.approx(0.15 * (1 + math.sqrt(0.5)))
    assert sp.cosine_drop_fraction(100, 100, 0.3) == 0.0
    assert sp.cosine_drop_fraction(150, 100, 0.3) == 0.0
    with pytest.raises(ValueError, match="end_step must be > 0"):
        sp.cosine_drop_fraction(1, 0, 0.3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sp.cosine_drop_fraction(1, 10, 1.3)


def test_drop_and_grow_by_hand():
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0]])
    weight = torch.tensor([[0.1, -3.0, 0.2, 9.0, 9.0, 9.0]])  # inactive values ignored
    grads = torch.tensor([[5.0, 5.0, 5.0, 0.1, 2.0, 1.0]])    # active grads ignored
    new = sp.drop_and_grow(mask, weight, grads, 2)
    # drops 0.1 and 0.2 (smallest |w| of the active), grows the inactive with |g| 2 and 1
    assert new.tolist() == [[0.0, 1.0, 0.0, 0.0, 1.0, 1.0]]
    assert sp.drop_and_grow(mask, weight, grads, 0).tolist() == mask.tolist()
    # with RigL's code's rule a just-dropped weight of large gradient may come back
    regrown = sp.drop_and_grow(mask, weight, grads, 2, regrow_dropped=True)
    assert regrown.tolist() == [[1.0, 1.0, 1.0, 0.0, 0.0, 0.0]]


@_FAST
@given(shape=st.tuples(st.integers(1, 6), st.integers(1, 6)), density=st.floats(0, 1),
       fraction=st.floats(0, 1), regrow=st.booleans(), seed=st.integers(0, 2**16))
def test_drop_and_grow_keeps_the_count_and_never_regrows_a_dropped_weight(
        shape, density, fraction, regrow, seed):
    gen = torch.Generator().manual_seed(seed)
    mask = (torch.rand(shape, generator=gen) < density).float()
    weight, grads = torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)
    active = int(mask.sum())
    n = int(fraction * active)
    if not regrow:
        n = min(n, mask.numel() - active)
    new = sp.drop_and_grow(mask, weight, grads, n, regrow_dropped=regrow)
    assert int(new.sum()) == active and new.dtype == mask.dtype
    if not regrow:
        assert int((mask * (1 - new)).sum()) == n  # exactly n dropped …
        assert int(((1 - mask) * new).sum()) == n  # … and n grown, among the inactive
        kept = weight.abs()[(mask * new) > 0]
        dropped = weight.abs()[(mask * (1 - new)) > 0]
        if len(kept) and len(dropped):
            assert dropped.max() <= kept.min()


@pytest.mark.parametrize("args, kwargs, error, match", [
    ((torch.ones(3), torch.ones(3), torch.ones(3), 1), {}, ValueError, "n ≤ 0"),
    ((torch.tensor([1.0, 0.0]), torch.ones(3), torch.ones(3), 0), {}, ValueError,
     "one shape"),
    ((torch.tensor([1.0, 0.0]), torch.ones(2), torch.ones(2), -1), {}, ValueError, ">= 0"),
    ((torch.tensor([1.0, 0.0]), torch.ones(2), torch.ones(2), 0), {"regrow_dropped": 1},
     TypeError, "True or False"),
    ((torch.tensor([1.0, 0.5]), torch.ones(2), torch.ones(2), 0), {}, ValueError,
     "only 0 and 1"),
])
def test_drop_and_grow_rejects_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        sp.drop_and_grow(*args, **kwargs)


def _sgd_steps(model, hooks, steps, seed=0, lr=0.1):
    """Plain SGD steps on random data, calling the hooks as fit's after_step does."""
    X, y = _batch(32, model[0].in_features, model[-1].out_features, seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for t in range(steps):
        batch = slice(8 * (t % 4), 8 * (t % 4) + 8)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(X[batch]), y[batch]).backward()
        opt.step()
        for hook in hooks:
            hook(model)


def test_rigl_grows_the_inactive_weights_of_largest_gradient():
    torch.manual_seed(0)
    layer = nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -0.05, 0.0, 0.0], [0.0, 0.0, 0.3, 2.0]]))
    mask = (layer.weight != 0).float()
    layer.weight.grad = torch.tensor([[0.0, 0.0, -0.7, 0.1], [3.0, 0.2, 0.0, 0.0]])
    hook = sp.DynamicSparsity({"weight": mask}, update_every=1, end_step=100,
                              drop_fraction=1.0)
    hook(layer)  # f(1) = 0.9998: ⌊0.9998 · 4⌋ = 3 dropped: 0.05, 0.3, 0.5; 2.0 stays
    # grown: the three inactive of largest |g|, 3.0, 0.7 and 0.2 (not 0.1)
    assert hook.masks["weight"].tolist() == [[0.0, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 1.0]]
    assert layer.weight.detach().tolist() == [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]
    assert hook.updates == [{"step": 1, "drop_fraction": pytest.approx(
        sp.cosine_drop_fraction(1, 100, 1.0)), "changed": {"weight": 3}}]
    assert torch.equal(mask, (mask > 0).float())  # the caller's masks unchanged


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from(["rigl", "set"]), density=st.floats(0.05, 0.95),
       update_every=st.integers(1, 3), drop=st.floats(0, 1), regrow=st.booleans(),
       seed=st.integers(0, 999))
def test_dynamic_sparsity_keeps_every_layers_count_exactly(method, density, update_every,
                                                           drop, regrow, seed):
    model = _net(seed, (6, 8, 5, 3))
    masks = prune.random_masks(model, 1 - density, seed=seed)
    prune.apply_masks(model, masks)
    hook = sp.DynamicSparsity(masks, method=method, update_every=update_every, end_step=7,
                              drop_fraction=drop, seed=seed, regrow_dropped=regrow)
    counts = _active(masks)

    def check(m):
        assert _active(hook.masks) == counts
        for name, p in prune.prunable_parameters(m).items():
            assert bool((p.detach()[hook.masks[name] == 0] == 0).all())

    _sgd_steps(model, [hook, check], 9, seed)
    assert [u["step"] for u in hook.updates] == [t for t in range(1, 7)
                                                 if t % update_every == 0]


def test_grown_weights_start_at_zero_and_the_masks_stop_at_end_step():
    model = _net(5, (6, 16, 3))
    masks = prune.random_masks(model, 0.7, seed=0)
    prune.apply_masks(model, masks)
    grown = {n: [] for n in masks}

    def record(m):
        if hook.updates and hook.updates[-1]["step"] == hook.step:
            for name, p in prune.prunable_parameters(m).items():
                new = hook.masks[name] * (1 - previous[name])
                grown[name] += p.detach()[new > 0].tolist()
        previous.update({n: k.clone() for n, k in hook.masks.items()})

    previous = {n: k.clone() for n, k in masks.items()}
    hook = sp.DynamicSparsity(masks, update_every=2, end_step=5, drop_fraction=0.5)
    _sgd_steps(model, [hook, record], 10)
    assert all(g and set(g) == {0.0} for g in grown.values())
    assert [u["step"] for u in hook.updates] == [2, 4]


def test_set_growth_is_seeded_and_random():
    def run(seed):
        model = _net(0, (6, 10, 3))
        masks = prune.random_masks(model, 0.6, seed=0)
        prune.apply_masks(model, masks)
        hook = sp.DynamicSparsity(masks, method="set", update_every=1, end_step=3,
                                  seed=seed)
        _sgd_steps(model, [hook], 2)
        return hook.masks["0.weight"]

    assert torch.equal(run(0), run(0)) and not torch.equal(run(0), run(1))


def test_dynamic_sparsity_trains_with_fit(digits):
    model = _net(0, (64, 32, 10))
    masks = prune.random_masks(model, 0.8, seed=0)
    prune.apply_masks(model, masks)
    hook = sp.DynamicSparsity(masks, update_every=5, end_step=40)
    history = fit(model, digits, epochs=2, lr=1e-2, after_step=hook, progress=False)
    assert _active(hook.masks) == _active(masks) and len(hook.updates) == 6  # 34 steps
    assert history.val_accuracy[-1] > 0.5
    # fit restored its best epoch's weights: zero outside that epoch's masks
    weights = prune.prunable_parameters(model)
    assert all(int(weights[n].count_nonzero()) <= k for n, k in _active(masks).items())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"masks": {}}, TypeError, "non-empty mapping"),
    ({"masks": {"0.weight": torch.full((5, 6), 0.5)}}, ValueError, "only 0 and 1"),
    ({"method": "snip"}, ValueError, "method must be one of"),
    ({"update_every": 0}, ValueError, "update_every must be > 0"),
    ({"end_step": -3}, ValueError, "end_step must be > 0"),
    ({"drop_fraction": 1.5}, ValueError, r"\[0, 1\]"),
    ({"seed": -1}, ValueError, "seed must be >= 0"),
    ({"regrow_dropped": "yes"}, TypeError, "True or False"),
])
def test_dynamic_sparsity_rejects_bad_arguments(kwargs, error, match):
    args = {"masks": {"0.weight": torch.ones(5, 6)}, "end_step": 10, **kwargs}
    with pytest.raises(error, match=match):
        sp.DynamicSparsity(args.pop("masks"), **args)


def test_dynamic_sparsity_rejects_misfit_masks_and_a_missing_gradient():
    model = _net()
    with pytest.raises(ValueError, match="no parameter named"):
        sp.DynamicSparsity({"nope": torch.ones(2)}, end_step=5)(model)
    with pytest.raises(ValueError, match="has shape"):
        sp.DynamicSparsity({"0.weight": torch.ones(2)}, end_step=5)(model)
    hook = sp.DynamicSparsity({"0.weight": torch.ones(5, 6)}, update_every=1, end_step=5)
    with pytest.raises(ValueError, match="has no gradient.*after backward"):
        hook(model)


# ------------------------------------------------------------------ rewinding

def test_rewind_restores_the_stored_iterate_exactly(digits):
    model = _net(0, (64, 16, 10))
    start = sp.RewindPoint.capture(model)
    point, seen = sp.RewindPoint(3), {}

    def spy(m):
        if point.step == 3:
            seen["state"] = {k: v.clone() for k, v in m.state_dict().items()}

    fit(model, digits, epochs=1, after_step=[point, spy], progress=False)
    assert point.step == 17 and sorted(point.state) == sorted(seen["state"])
    assert all(torch.equal(point.state[k], seen["state"][k]) for k in seen["state"])
    masks = prune.global_masks(model, 0.8)
    ticket = sp.rewind(copy.deepcopy(model), point, masks)
    for name, p in ticket.named_parameters():
        expected = seen["state"][name] * masks.get(name, 1)
        assert torch.equal(p.detach(), expected)
    # the point is copied from, not shared; step 0 is the initialisation
    with torch.no_grad():
        ticket[0].weight.add_(1.0)
    assert torch.equal(point.state["0.weight"], seen["state"]["0.weight"])
    sp.rewind(model, start)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in start.state.items())
    assert start.at_step == 0


@pytest.mark.parametrize("call, error, match", [
    (lambda m: sp.RewindPoint(0), ValueError, "RewindPoint.capture"),
    (lambda m: sp.RewindPoint(-2), ValueError, "at_step must be > 0"),
    (lambda m: sp.RewindPoint(1.5), TypeError, "integer"),
    (lambda m: sp.RewindPoint.capture("m"), TypeError, "torch.nn.Module"),
    (lambda m: sp.rewind(m, sp.RewindPoint(5)), ValueError, "was not reached"),
    (lambda m: sp.rewind(m, [1, 2]), TypeError, "RewindPoint or a state_dict"),
    (lambda m: sp.rewind(m, sp.RewindPoint.capture(_net(0, (6, 7, 4, 3)))), ValueError,
     "has shape"),
    (lambda m: sp.rewind(m, {"0.weight": torch.ones(5, 6)}), ValueError, "missing"),
    (lambda m: sp.rewind(m, sp.RewindPoint.capture(m), {"x": torch.ones(1)}), ValueError,
     "no parameter named"),
])
def test_rewinding_rejects_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call(_net())


# ------------------------------------------------------------------ movement pruning

def test_movement_scores_sum_minus_gradient_times_weight_over_steps():
    model = _net(0, (6, 5, 3))
    X, y = _batch(24)
    hook = sp.MovementScores(model)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    expected = {n: torch.zeros_like(p) for n, p in prune.prunable_parameters(model).items()}
    for t in range(5):
        before = {n: p.detach().clone() for n, p in prune.prunable_parameters(model).items()}
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(X[4 * t:4 * t + 8]), y[4 * t:4 * t + 8]).backward()
        for n, p in prune.prunable_parameters(model).items():
            expected[n] -= p.grad * before[n]  # the weights the gradient was taken at
        opt.step()
        hook(model)
    assert hook.steps == 5
    assert all(torch.allclose(hook.scores[n], expected[n], atol=1e-7) for n in expected)
    masks = sp.movement_masks(hook, 0.5, scope="layer")
    assert all(torch.equal(masks[n], sp.score_masks(expected, 0.5, scope="layer")[n])
               for n in masks)


def test_movement_scores_reward_moving_away_from_zero():
    layer = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -1.0]]))
    hook = sp.MovementScores(layer)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(3):  # the loss pulls both weights upwards: w₁ grows, |w₂| shrinks
        opt.zero_grad()
        (-layer.weight.sum()).backward()
        opt.step()
        hook(layer)
    # S = −Σ g·w with g = −1: Σ w₁ = 1 + 1.1 + 1.2, Σ w₂ = −1 − 0.9 − 0.8
    assert hook.scores["weight"].reshape(-1).tolist() == pytest.approx([3.3, -2.7])
    assert sp.movement_masks(hook, 0.5)["weight"].tolist() == [[1.0, 0.0]]


def test_movement_pruning_rejects_bad_arguments():
    model = _net()
    model[0].weight.requires_grad_(False)
    with pytest.raises(ValueError, match="frozen"):
        sp.MovementScores(model)
    hook = sp.MovementScores(model, names=["2.weight"])
    with pytest.raises(ValueError, match="no gradient"):
        hook(model)
    with pytest.raises(ValueError, match="seen no step"):
        sp.movement_masks(hook, 0.5)
    with pytest.raises(ValueError, match="unknown parameter name"):
        sp.MovementScores(model, names=["9.weight"])
    with pytest.raises(TypeError, match="non-empty mapping"):
        sp.movement_masks([0.1], 0.5)
    with pytest.raises(ValueError, match="scope"):
        sp.movement_masks({"w": torch.ones(2)}, 0.5, scope="row")


# ------------------------------------------------------------------ the kernels

KERNELS = ("snip_kernel", "grasp_kernel", "synflow_kernel", "synflow_loop",
           "shuffle_masks", "cosine_drop_fraction", "drop_and_grow", "rewind")


@pytest.mark.parametrize("name", KERNELS)
def test_kernels_check_their_arguments_and_are_short_enough_to_show(name):
    assert hasattr(getattr(sp, name), "unchecked")
    source = inspect.getsource(sp)
    node = next(n for n in ast.walk(ast.parse(source))
                if isinstance(n, ast.FunctionDef) and n.name == name)
    start = min([d.lineno for d in node.decorator_list] + [node.lineno])
    lines = source.splitlines()[start - 1:node.end_lineno]
    assert len(lines) <= 25 and max(map(len, lines)) <= 88


# --- training_cost: RigL's count of a run's operations ----------------------------------

def test_training_cost_matches_rigls_formula_over_an_update_period():
    # Evci et al. (2020), appendix H: (3 f_S ΔT + 2 f_S + f_D) / (ΔT + 1) per step, in
    # units of f_D; a dense step is 3 f_D, so divide by 3 for "dense steps".
    d, period = 0.2, 9
    steps = [d] * (period + 1)
    paper = (3 * d * period + 2 * d + 1) / (period + 1) / 3
    ours = sp.training_cost(steps, dense_gradient_at=[period + 1]) / (period + 1)
    assert ours == pytest.approx(paper)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30), st.data())
def test_training_cost_is_between_sparse_and_dense(densities, data):
    steps = data.draw(st.sets(st.integers(1, len(densities))))
    cost = sp.training_cost(densities, dense_gradient_at=steps)
    assert sum(densities) - 1e-9 <= cost <= len(densities) + 1e-9
    assert cost == pytest.approx(sum(densities) + sum((1 - densities[t - 1]) / 3
                                                      for t in steps))


@pytest.mark.parametrize("densities, at, error, match", [
    ("0.5", (), TypeError, "sequence"),
    ([0.5, 1.5], (), ValueError, "density"),
    ([0.5, 0.5], (3,), ValueError, "only 2 steps"),
    ([0.5, 0.5], (0,), ValueError, "dense_gradient_at"),
    ([0.5, 0.5], 1, TypeError, "step numbers"),
])
def test_training_cost_refuses(densities, at, error, match):
    with pytest.raises(error, match=match):
        sp.training_cost(densities, dense_gradient_at=at)

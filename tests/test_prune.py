"""helpers.prune: magnitude masks, masks during fine-tuning, schedules, clear errors."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import prune as torch_prune

from helpers import models, prune, train


@pytest.fixture(scope="module")
def trained(digits):
    train.seed_everything(0)
    model = models.mlp([64, 32, 16, 10])
    train.fit(model, digits, epochs=4, lr=1e-2, progress=False)
    return model


def _zeros(mask: torch.Tensor) -> int:
    return int((mask == 0).sum())


# ------------------------------------------------------ agreement with torch.nn.utils.prune


@pytest.mark.parametrize("shape", [(7,), (5, 13), (300, 64), (4, 3, 3, 3)])
@pytest.mark.parametrize("amount", [0.0, 0.1, 0.33, 0.5, 0.9, 1.0])
def test_magnitude_mask_equals_torch_l1_unstructured(shape, amount):
    torch.manual_seed(sum(shape))
    weight = torch.randn(shape)  # continuous: no ties
    holder = nn.Module()
    holder.weight = nn.Parameter(weight.clone())
    torch_prune.l1_unstructured(holder, "weight", amount=amount)
    ours = prune.magnitude_mask(weight, amount)
    assert ours.dtype == weight.dtype and ours.shape == weight.shape
    assert torch.equal(ours, holder.weight_mask)


@pytest.mark.parametrize("amount", [0.2, 0.5, 0.77, 0.95])
def test_global_masks_equal_torch_global_unstructured(amount):
    torch.manual_seed(1)
    model = models.mlp([64, 30, 20, 10])
    ours = prune.global_masks(model, amount)
    theirs = copy.deepcopy(model)
    linears = [m for m in theirs if isinstance(m, nn.Linear)]
    torch_prune.global_unstructured([(m, "weight") for m in linears],
                                    pruning_method=torch_prune.L1Unstructured, amount=amount)
    assert list(ours) == ["0.weight", "2.weight", "4.weight"]
    for name, lin in zip(ours, linears):
        assert torch.equal(ours[name], lin.weight_mask)
    total = sum(m.numel() for m in ours.values())
    assert sum(_zeros(m) for m in ours.values()) == round(amount * total)


def test_layerwise_masks_match_torch_per_layer():
    torch.manual_seed(2)
    model = models.mlp([64, 30, 10])
    ours = prune.layerwise_masks(model, {"0.weight": 0.8, "2.weight": 0.3})
    for name, amount in (("0.weight", 0.8), ("2.weight", 0.3)):
        layer = copy.deepcopy(model[int(name[0])])
        torch_prune.l1_unstructured(layer, "weight", amount=amount)
        assert torch.equal(ours[name], layer.weight_mask)


def test_ties_are_broken_by_position():
    weight = torch.tensor([[1.0, -1.0, 0.5], [1.0, 2.0, -0.5]])
    mask = prune.magnitude_mask(weight, 0.5)  # 3 of 6: both 0.5s, then the first 1.0
    assert mask.tolist() == [[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]


# ------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 20), cols=st.integers(1, 20), amount=st.floats(0, 1),
       seed=st.integers(0, 10_000), ties=st.booleans())
def test_mask_has_exactly_round_amount_numel_zeros(rows, cols, amount, seed, ties):
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(rows, cols, generator=gen)
    if ties:
        weight = weight.round()  # many equal magnitudes
    mask = prune.magnitude_mask(weight, amount)
    assert _zeros(mask) == round(amount * weight.numel())
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    kept, pruned = weight.abs()[mask == 1], weight.abs()[mask == 0]
    if len(kept) and len(pruned):
        assert pruned.max() <= kept.min()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 200), a=st.floats(0, 1), b=st.floats(0, 1),
       seed=st.integers(0, 10_000), ties=st.booleans())
def test_masks_are_monotone_in_amount(n, a, b, seed, ties):
    low, high = sorted((a, b))
    weight = torch.randn(n, generator=torch.Generator().manual_seed(seed))
    if ties:
        weight = (weight * 2).round()
    m_low, m_high = prune.magnitude_mask(weight, low), prune.magnitude_mask(weight, high)
    assert bool((m_high <= m_low).all())  # pruning more keeps a subset


@settings(max_examples=30, deadline=None)
@given(amount=st.floats(0, 1), seed=st.integers(0, 1000))
def test_global_and_random_masks_counts(amount, seed):
    torch.manual_seed(seed)
    model = models.mlp([8, 6, 4])
    total = sum(p.numel() for n, p in model.named_parameters() if n.endswith("weight"))
    g = prune.global_masks(model, amount)
    assert sum(_zeros(m) for m in g.values()) == round(amount * total)
    r = prune.random_masks(model, amount, seed=seed)
    for name, mask in r.items():
        assert _zeros(mask) == round(amount * mask.numel())


def test_random_masks_depend_only_on_the_seed():
    model = models.mlp([64, 30, 10])
    a = prune.random_masks(model, 0.5, seed=3)
    torch.manual_seed(123)  # global state must not matter
    b = prune.random_masks(model, 0.5, seed=3)
    c = prune.random_masks(model, 0.5, seed=4)
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert not all(torch.equal(a[n], c[n]) for n in a)


@settings(max_examples=100, deadline=None)
@given(s_i=st.floats(0, 1), s_f=st.floats(0, 1), t0=st.integers(0, 50),
       n=st.integers(1, 30), dt=st.integers(1, 10))
def test_cubic_schedule_starts_ends_and_is_monotone(s_i, s_f, t0, n, dt):
    s_i, s_f = sorted((s_i, s_f))
    kw = dict(initial_sparsity=s_i, begin_step=t0, n_pruning_steps=n, frequency=dt)
    values = [prune.cubic_schedule(t, s_f, **kw) for t in range(t0 + n * dt + 5)]
    assert values[0] == pytest.approx(s_i) and values[t0] == pytest.approx(s_i)
    assert values[t0 + n * dt] == pytest.approx(s_f) and values[-1] == pytest.approx(s_f)
    assert all(b >= a - 1e-12 for a, b in zip(values, values[1:]))


def test_cubic_schedule_formula_and_front_loading():
    s = [prune.cubic_schedule(k, 0.9, n_pruning_steps=4) for k in range(5)]
    assert s == pytest.approx([0.9 - 0.9 * (1 - k / 4) ** 3 for k in range(5)])
    increments = [b - a for a, b in zip(s, s[1:])]
    assert increments == sorted(increments, reverse=True)  # fastest at the start


def test_cubic_sparsity_is_the_kernel_of_cubic_schedule():
    kw = dict(initial_sparsity=0.1, begin_step=3, n_pruning_steps=5, frequency=2)
    for t in range(20):
        assert prune.cubic_sparsity(t, 0.8, 0.1, 3, 5, 2) == prune.cubic_schedule(t, 0.8, **kw)


def test_lowest_mask_hand_case_and_magnitude_mask():
    scores = torch.tensor([[0.3, 0.1], [0.1, 2.0]])  # a tie: the first 0.1 goes first
    assert torch.equal(prune.lowest_mask(scores, 1), torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
    w = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(prune.lowest_mask(w.abs(), 12), prune.magnitude_mask(w, 0.4))


@pytest.mark.parametrize("call, error, match", [
    # order[:-3] would prune all but three scores
    (lambda: prune.lowest_mask(torch.rand(4, 4), -3), ValueError, "n_prune must lie in 0..16"),
    (lambda: prune.lowest_mask(torch.rand(4), 5), ValueError, "n_prune must lie in 0..4"),
    (lambda: prune.lowest_mask(torch.rand(4), 1.5), TypeError, "n_prune must be an integer"),
    (lambda: prune.lowest_mask(torch.tensor([1.0, float("nan")]), 1), ValueError, "NaN"),
    (lambda: prune.lowest_mask([0.1, 0.2], 1), TypeError, "scores must be a torch.Tensor"),
    (lambda: prune.cubic_sparsity(3, 0.5, 0.8, 0, 4, 1), ValueError,
     r"s_i \(0.8\) must not exceed s_f"),
    (lambda: prune.cubic_sparsity(3, 0.9, 0.0, 0, 0, 1), ValueError, "n must be > 0"),
    (lambda: prune.cubic_sparsity(3, 0.9, 0.0, 0, 4, 0), ValueError, "dt must be > 0"),
    (lambda: prune.cubic_sparsity(-1, 0.9, 0.0, 0, 4, 1), ValueError, "t must be >= 0"),
    (lambda: prune.cubic_sparsity(3, 1.5, 0.0, 0, 4, 1), ValueError, r"s_f must lie in"),
    (lambda: prune.nm_mask_kernel(torch.rand(2, 8), 5, 4), ValueError, "n must be at most m"),
    (lambda: prune.nm_mask_kernel(torch.rand(8), 2, 4), ValueError, "two dimensions"),
    (lambda: prune.nm_mask_kernel(torch.rand(2, 6), 2, 4), ValueError, "not a multiple of m"),
    (lambda: prune.nm_mask_kernel(torch.rand(2, 8), 2, 0), ValueError, "m must be > 0"),
])
def test_the_kernels_on_the_pages_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_the_wrappers_call_the_kernels_once_checked():
    assert prune.lowest_mask.unchecked(torch.rand(4), -3).sum() == 3  # what a check stops
    w = torch.randn(4, 8)
    assert torch.equal(prune.nm_mask_kernel.unchecked(w.abs(), 2, 4), prune.nm_mask(w))


# ---------------------------------------------------------------- fine-tuning


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_masks_survive_fine_tuning_with_the_hook(digits, trained, optimizer):
    model = copy.deepcopy(trained)
    masks = prune.layerwise_masks(model, 0.7)
    prune.apply_masks(model, masks)
    train.fit(model, digits, epochs=2, lr=1e-2, weight_decay=1e-3, optimizer=optimizer,
              batch_size=256,
              after_step=prune.MaskEnforcer(masks), progress=False)
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        assert bool((params[name][mask == 0] == 0).all())
        assert bool((params[name][mask == 1] != 0).all())
    # Without the hook the pruned weights come back.
    free = copy.deepcopy(trained)
    prune.apply_masks(free, masks)
    train.fit(free, digits, epochs=1, lr=1e-2, optimizer=optimizer, batch_size=256,
              progress=False)
    assert int((dict(free.named_parameters())["0.weight"] != 0).sum()) > masks[
        "0.weight"].sum()


def test_mask_gradients_zeroes_gradients_of_pruned_weights(digits, trained):
    model = copy.deepcopy(trained)
    masks = prune.layerwise_masks(model, 0.5)
    handles = prune.MaskEnforcer(masks).mask_gradients(model)
    X, y = digits.split("train")
    nn.functional.cross_entropy(model(X[:100]), y[:100]).backward()
    grad = model[0].weight.grad
    assert bool((grad[masks["0.weight"] == 0] == 0).all())
    assert bool((grad[masks["0.weight"] == 1] != 0).any())
    for h in handles:
        h.remove()


def test_make_permanent_removes_torch_reparametrisation():
    torch.manual_seed(0)
    model = models.mlp([10, 8, 3])
    torch_prune.l1_unstructured(model[0], "weight", amount=0.5)
    torch_prune.l1_unstructured(model[0], "weight", amount=0.5)  # compounds: 75%
    with pytest.raises(RuntimeError):
        copy.deepcopy(model)
    with pytest.raises(ValueError, match="make_permanent"):
        prune.layerwise_masks(model, 0.5)
    expected = model[0].weight.detach().clone()
    prune.make_permanent(model)
    assert "0.weight_orig" not in dict(model.named_parameters())
    assert not hasattr(model[0], "weight_mask")
    assert torch.equal(model[0].weight.detach(), expected)
    assert _zeros(model[0].weight) == 60
    copy.deepcopy(model)  # works again


def test_iterative_prune_reaches_targets_and_keeps_pruned_weights(digits, trained):
    model = copy.deepcopy(trained)
    result = prune.iterative_prune(model, digits, sparsities=[0.5, 0.8], epochs=1,
                                   lr=1e-2, scope="global")
    assert [r.sparsity for r in result.rounds] == pytest.approx([0.5, 0.8], abs=1e-3)
    assert prune.masks_sparsity(result.masks) == pytest.approx(0.8, abs=1e-3)
    params = dict(model.named_parameters())
    for name, mask in result.masks.items():
        assert bool((params[name][mask == 0] == 0).all())
    last = result.rounds[-1]
    assert last.val_acc_finetuned >= last.val_acc_pruned - 0.02
    assert last.val_acc_finetuned > 0.8


def test_iterative_prune_with_quality_parameter(digits, trained):
    model = copy.deepcopy(trained)
    result = prune.iterative_prune(model, digits, qualities=[0.5, 1.0], epochs=1)
    s = [r.sparsity for r in result.rounds]
    assert 0 < s[0] < s[1] < 1
    # quality × std rule on a fresh copy reproduces the first round's masks
    first = prune.threshold_masks(copy.deepcopy(trained), 0.5)
    w = dict(trained.named_parameters())["0.weight"].detach()
    assert torch.equal(first["0.weight"], (w.abs() > 0.5 * w.std()).float())


def test_gradual_prune_reaches_the_final_sparsity(digits, trained):
    model = copy.deepcopy(trained)
    result = prune.gradual_prune(model, digits, final_sparsity=0.6, pruning_epochs=2,
                                 finetune_epochs=1, n_pruning_steps=5, lr=1e-2)
    assert len(result.sparsity) == len(result.val_accuracy) == 3
    assert result.sparsity[0] < result.sparsity[1] == pytest.approx(0.6, abs=1e-2)
    for name, p in model.named_parameters():
        if name in result.masks:
            assert _zeros(p) >= _zeros(result.masks[name])
    assert train.evaluate(model, digits, "val") > 0.8


def test_sensitivity_scan(digits, trained):
    before = [p.detach().clone() for p in trained.parameters()]
    scan = prune.sensitivity_scan(trained, digits, [0.0, 0.5, 1.0])
    assert list(scan) == ["0.weight", "2.weight", "4.weight"]
    base = train.evaluate(trained, digits, "val")
    for accs in scan.values():
        assert accs[0] == pytest.approx(base)
        assert accs[2] < 0.2  # a layer with no weights left
    assert all(torch.equal(a, b) for a, b in zip(before, trained.parameters()))


def test_sparse_csr_model_computes_the_same_outputs():
    torch.manual_seed(5)
    model = models.mlp([20, 30, 5])
    prune.apply_masks(model, prune.layerwise_masks(model, 0.8))
    sparse = prune.to_sparse_csr(model)
    assert isinstance(sparse[0], prune.CSRLinear) and isinstance(model[0], nn.Linear)
    assert sparse[0].weight.values().numel() == int((model[0].weight != 0).sum())
    X = torch.randn(17, 20)
    with torch.no_grad():
        assert torch.allclose(sparse(X), model(X), atol=1e-5)
    with pytest.raises(TypeError, match="nn.Linear"):
        prune.CSRLinear(nn.Conv2d(1, 1, 3))


# ----------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("amount, error", [(-0.1, ValueError), (1.5, ValueError),
                                           (float("nan"), ValueError), ("0.5", TypeError),
                                           (True, TypeError)])
def test_bad_amount(amount, error):
    with pytest.raises(error, match="amount"):
        prune.magnitude_mask(torch.randn(5), amount)
    with pytest.raises(error, match="amount"):
        prune.global_masks(models.mlp([4, 3]), amount)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights(bad):
    w = torch.randn(4, 4)
    w[1, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        prune.magnitude_mask(w, 0.5)
    model = models.mlp([4, 4, 2])
    with torch.no_grad():
        model[0].weight[0, 0] = bad
    with pytest.raises(ValueError, match="0.weight"):
        prune.layerwise_masks(model, 0.5)


def test_bad_tensors():
    with pytest.raises(TypeError, match="torch.Tensor"):
        prune.magnitude_mask([1.0, 2.0], 0.5)
    with pytest.raises(TypeError, match="floating-point"):
        prune.magnitude_mask(torch.arange(4), 0.5)


def test_mask_shape_mismatch_and_bad_values():
    model = models.mlp([4, 3, 2])
    with pytest.raises(ValueError, match="shape"):
        prune.apply_masks(model, {"0.weight": torch.ones(4, 3)})
    with pytest.raises(ValueError, match="only 0 and 1"):
        prune.apply_masks(model, {"0.weight": torch.full((3, 4), 0.5)})
    with pytest.raises(TypeError, match="mapping"):
        prune.apply_masks(model, [torch.ones(3, 4)])


def test_unknown_names():
    model = models.mlp([4, 3, 2])
    with pytest.raises(ValueError, match=r"unknown parameter name\(s\) \['1.weight'\]"):
        prune.layerwise_masks(model, 0.5, names=["1.weight"])
    with pytest.raises(ValueError, match="no parameter named"):
        prune.apply_masks(model, {"fc.weight": torch.ones(3, 4)})
    # one name may be given as a string, as for helpers.l1.l1_penalty
    assert list(prune.layerwise_masks(model, 0.5, names="0.weight")) == ["0.weight"]
    with pytest.raises(TypeError, match="must be strings"):
        prune.layerwise_masks(model, 0.5, names=[0])
    with pytest.raises(ValueError, match="no entry"):
        prune.layerwise_masks(model, {"0.weight": 0.5})
    # a selected parameter that is not a weight matrix is allowed
    masks = prune.layerwise_masks(model, 0.5, names=["0.bias"])
    assert list(masks) == ["0.bias"]


def test_unsupported_models_and_arguments(digits):
    with pytest.raises(ValueError, match="no nn.Linear or nn.Conv"):
        prune.layerwise_masks(nn.Sequential(nn.BatchNorm1d(3)), 0.5)
    with pytest.raises(TypeError, match="nn.Module"):
        prune.layerwise_masks("model", 0.5)
    model = models.mlp([64, 8, 10])
    with pytest.raises(ValueError, match="exactly one"):
        prune.iterative_prune(model, digits, sparsities=[0.5], qualities=[1.0])
    with pytest.raises(ValueError, match="non-decreasing"):
        prune.iterative_prune(model, digits, sparsities=[0.5, 0.3])
    with pytest.raises(ValueError, match="scope"):
        prune.iterative_prune(model, digits, sparsities=[0.5], scope="row")
    with pytest.raises(TypeError, match="ClassificationData"):
        prune.sensitivity_scan(model, (None, None), [0.5])
    with pytest.raises(ValueError, match="must not exceed"):
        prune.cubic_schedule(3, 0.5, initial_sparsity=0.8, n_pruning_steps=4)
    with pytest.raises(ValueError, match="do not fit"):
        prune.gradual_prune(model, digits, final_sparsity=0.5, pruning_epochs=1,
                            n_pruning_steps=1000)


# ----------------------------------------------------------------- benchmarks


def test_benchmark_scripts_run_on_tiny_sizes(capsys):
    from benchmarks import pruned_latency, sparse_matmul

    rows = pruned_latency.main(sizes=(32, 16, 8, 4), removed=(0.5,), batch=8, repeats=2,
                               warmup=0)
    assert [r["model"] for r in rows] == ["dense", "unstructured", "neurons removed"]
    assert rows[0]["speedup"] == 1.0 and rows[1]["mac_ratio"] == pytest.approx(2.0, rel=0.05)
    assert rows[2]["parameters"] < rows[1]["parameters"] == rows[0]["parameters"]
    rows = sparse_matmul.main(layers={"tiny": (16, 8)}, sparsities=(0.5, 0.9), repeats=2,
                              warmup=0)
    assert [r["sparsity"] for r in rows] == [0.5, 0.9]
    assert all(r["dense_ms"] > 0 and r["csr_ms"] > 0 for r in rows)
    out = capsys.readouterr().out
    assert "| dense |" in out and "| tiny | 50% |" in out
    assert sparse_matmul.break_even([dict(layer="a", sparsity=s, speedup=v) for s, v in
                                     ((0.5, 0.3), (0.8, 1.2), (0.9, 0.9), (0.95, 2.0))]) == {
        "a": 0.95}


def test_mask_enforcer_checks_a_model_once_and_again_when_it_changes(monkeypatch):
    """The masks are checked the first time they meet a model; later steps only
    multiply, until the model's parameters (or their dtype or device) change."""
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    masks = prune.layerwise_masks(model, 0.5)
    enforce = prune.MaskEnforcer(masks)
    checks = []
    real_check = prune._check_masks
    monkeypatch.setattr(prune, "_check_masks",
                        lambda m, k: checks.append(m) or real_check(m, k))
    for _ in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)  # a step that revives every pruned weight
        enforce(model)
        for name, p in model.named_parameters():
            if name in masks:
                assert torch.equal(p == 0, masks[name] == 0)
    assert checks == [model]
    model.double()  # new dtype: the masks are converted and checked again
    enforce(model)
    assert len(checks) == 2 and model[0].weight.dtype == torch.float64
    other = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="has shape"):
        enforce(other)

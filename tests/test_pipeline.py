"""helpers.pipeline: train with a regulariser → prune → fine-tune → quantise, one row."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import metrics, models, pipeline, prune, stats, train


@pytest.fixture(scope="module")
def images(digits):
    return digits.as_images(8, 8)


def _mlp():
    return models.mlp([64, 24, 10])


def _cnn():
    return models.small_cnn((6, 8))


def _weights(model):
    return [m.weight.detach() for m in model if isinstance(m, (nn.Linear, nn.Conv2d))]


# --- training with a regulariser -------------------------------------------------------------

def test_train_model_is_repeatable_and_regularisers_act(digits):
    kw = dict(epochs=3, lr=1e-2, batch_size=128, seed=1)
    plain, hist = pipeline.train_model(_mlp, digits, **kw)
    again, _ = pipeline.train_model(_mlp, digits, **kw)
    for a, b in zip(_weights(plain), _weights(again)):
        assert torch.equal(a, b)
    assert hist.epochs == 3
    zeros = lambda m: sum(int((w == 0).sum()) for w in _weights(m))  # noqa: E731
    l1_model, _ = pipeline.train_model(_mlp, digits, regulariser="l1", strength=0.5, **kw)
    assert zeros(plain) == 0 and zeros(l1_model) > 100  # the proximal step gives exact zeros
    l2_model, _ = pipeline.train_model(_mlp, digits, regulariser="l2", strength=0.3, **kw)
    norm = lambda m: float(sum(w.norm() ** 2 for w in _weights(m)))  # noqa: E731
    assert norm(l2_model) < norm(plain)


def test_bn_l1_with_sgd_shrinks_batchnorm_scales(images):
    kw = dict(epochs=4, lr=0.05, batch_size=128, optimizer="sgd", seed=0)
    plain, _ = pipeline.train_model(_cnn, images, **kw)
    slim, _ = pipeline.train_model(_cnn, images, regulariser="bn_l1", strength=0.1, **kw)
    scales = lambda m: torch.cat([m[k].weight.detach().abs() for k in (1, 4)])  # noqa: E731
    assert scales(slim).median() < 0.5 * scales(plain).median()


def test_batchnorm_scales_names(images):
    assert pipeline.batchnorm_scales(_cnn()) == ["1.weight", "4.weight"]
    with pytest.raises(ValueError, match="no BatchNorm"):
        pipeline.batchnorm_scales(_mlp())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"regulariser": "l0"}, ValueError, "regulariser must be one of"),
    ({"regulariser": "l1", "strength": -1.0}, ValueError, "strength"),
    ({"regulariser": "none", "strength": 0.1}, ValueError, "strength must be 0"),
    ({"regulariser": "bn_l1", "strength": 0.1}, ValueError, "no BatchNorm"),
    ({"optimizer": "lbfgs"}, ValueError, "optimizer"),
])
def test_train_model_rejects_bad_arguments(digits, kwargs, error, match):
    with pytest.raises(error, match=match):
        pipeline.train_model(_mlp, digits, epochs=1, **kwargs)


def test_train_model_needs_a_builder(digits):
    with pytest.raises(TypeError, match="build must be a callable"):
        pipeline.train_model(_mlp(), digits, epochs=1)


# --- pruning and fine-tuning -----------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(digits):
    model, _ = pipeline.train_model(_mlp, digits, epochs=4, lr=1e-2, batch_size=128, seed=0)
    return model


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9])
def test_prune_finetune_keeps_the_pruned_weights_at_zero(digits, trained, sparsity):
    before = copy.deepcopy(trained.state_dict())
    out = pipeline.prune_finetune(trained, digits, sparsity, epochs=2, lr=1e-2,
                                  batch_size=128, seed=0)
    for k, v in trained.state_dict().items():  # the trained model is not changed
        assert torch.equal(v, before[k])
    for w_new, w_old in zip(_weights(out.model), _weights(trained)):
        n_zero = int((w_new == 0).sum())
        assert n_zero >= round(sparsity * w_new.numel())  # layer-wise: every layer
    assert out.amount == pytest.approx(sparsity, abs=1e-2)
    for acc in (out.val_pruned, out.test_pruned, out.val_finetuned, out.test_finetuned):
        assert 0.0 <= acc <= 1.0
    assert out.val_finetuned == pytest.approx(train.evaluate(out.model, digits, "val"))
    assert out.test_finetuned == pytest.approx(train.evaluate(out.model, digits, "test"))


def test_prune_finetune_reports_accuracy_right_after_pruning(digits, trained):
    out = pipeline.prune_finetune(trained, digits, 0.95, epochs=3, lr=1e-2, batch_size=128,
                                  seed=0)
    pruned = copy.deepcopy(trained)
    prune.apply_masks(pruned, prune.layerwise_masks(pruned, 0.95))
    assert out.val_pruned == pytest.approx(train.evaluate(pruned, digits, "val"))
    assert out.test_pruned == pytest.approx(train.evaluate(pruned, digits, "test"))
    assert out.val_finetuned > out.val_pruned  # fine-tuning recovers what pruning lost


def test_prune_finetune_random_criterion_and_patience(digits, trained):
    kw = dict(epochs=6, lr=1e-2, batch_size=128, seed=3)
    rand = pipeline.prune_finetune(trained, digits, 0.9, criterion="random", **kw)
    expected = copy.deepcopy(trained)
    prune.apply_masks(expected, prune.random_masks(expected, 0.9, seed=3))
    assert rand.val_pruned == pytest.approx(train.evaluate(expected, digits, "val"))
    magnitude = pipeline.prune_finetune(trained, digits, 0.9, **kw)
    assert magnitude.val_pruned > rand.val_pruned  # magnitude beats chance before tuning
    early = pipeline.prune_finetune(trained, digits, 0.1, patience=1, **kw)
    assert early.history.epochs < 6  # little to recover at 10%: stops early


def test_prune_finetune_global_scope(digits, trained):
    out = pipeline.prune_finetune(trained, digits, 0.7, scope="global", epochs=1, lr=1e-2,
                                  batch_size=128)
    expected = prune.global_masks(trained, 0.7)
    for (name, w), mask in zip(prune.prunable_parameters(out.model).items(),
                               expected.values()):
        assert torch.all(w.detach()[mask == 0] == 0), name
    per_layer = [float((m == 0).float().mean()) for m in expected.values()]
    assert max(per_layer) - min(per_layer) > 0.05  # one threshold: layers differ
    assert out.amount == pytest.approx(0.7, abs=1e-3)


@pytest.mark.parametrize("kwargs, match", [
    ({"sparsity": 1.5}, "sparsity"), ({"sparsity": 0.5, "criterion": "taylor"}, "criterion"),
    ({"sparsity": 0.5, "scope": "net"}, "scope"),
])
def test_prune_finetune_rejects_bad_arguments(digits, trained, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pipeline.prune_finetune(trained, digits, epochs=1, **kwargs)


def test_prune_finetune_takes_any_weight_criterion_in_either_scope(digits, trained):
    """Random scores ranked globally: one threshold over all layers, as for magnitude."""
    out = pipeline.prune_finetune(trained, digits, 0.5, criterion="random", scope="global",
                                  epochs=1, seed=3)
    assert out.amount == pytest.approx(0.5, abs=1e-3)


# --- Network Slimming ------------------------------------------------------------------------

def _cnn_with_scales(scales1, scales2):
    model = models.small_cnn((len(scales1), len(scales2)))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor(scales1))
        model[4].weight.copy_(torch.tensor(scales2))
    return model


def test_slim_channels_removes_the_smallest_scales_globally():
    model = _cnn_with_scales([0.9, -0.05, 0.5, 0.01], [0.3, 0.02, -0.8, 0.04, 0.6, 0.7])
    slim = pipeline.slim_channels(model, 0.4)  # 4 of 10 channels: |γ| 0.01, 0.02, 0.04, 0.05
    assert slim[0].out_channels == 2 and slim[3].out_channels == 4
    assert torch.allclose(slim[1].weight.detach(), torch.tensor([0.9, 0.5]))
    assert torch.allclose(slim[4].weight.detach(), torch.tensor([0.3, -0.8, 0.6, 0.7]))
    assert slim(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert model[0].out_channels == 4  # the original is not changed


def test_slim_channels_keeps_one_channel_per_layer():
    model = _cnn_with_scales([0.01, 0.02], [0.5, 0.6, 0.7])
    slim = pipeline.slim_channels(model, 0.4)  # 2 of 5 would empty the first layer
    assert slim[0].out_channels == 1 and slim[3].out_channels == 2
    assert float(slim[1].weight.detach()) == pytest.approx(0.02)


def test_slim_channels_with_zero_fraction_is_a_copy():
    model = _cnn()
    slim = pipeline.slim_channels(model, 0.0)
    assert slim is not model
    x = torch.randn(3, 1, 8, 8)
    model.eval(), slim.eval()
    assert torch.equal(model(x), slim(x))


@given(st.lists(st.floats(0.01, 2.0), min_size=2, max_size=6),
       st.lists(st.floats(0.01, 2.0), min_size=2, max_size=6),
       st.floats(0.0, 0.95))
@settings(max_examples=30, deadline=None)
def test_slim_channels_count_property(s1, s2, fraction):
    model = _cnn_with_scales(s1, s2)
    slim = pipeline.slim_channels(model, fraction)
    kept = slim[0].out_channels + slim[3].out_channels
    removed = len(s1) + len(s2) - kept
    assert slim[0].out_channels >= 1 and slim[3].out_channels >= 1
    assert removed <= round(fraction * (len(s1) + len(s2)))
    # every channel kept has |γ| at least as large as every channel removed in its layer
    for layer, scales in ((1, s1), (4, s2)):
        kept_scales = sorted(abs(float(g)) for g in slim[layer].weight.detach())
        removed_scales = sorted(abs(g) for g in scales)[:len(scales) - len(kept_scales)]
        if removed_scales:
            assert min(kept_scales) >= max(removed_scales) - 1e-6


def test_slim_finetune(images):
    model, _ = pipeline.train_model(_cnn, images, epochs=2, lr=1e-2, batch_size=128, seed=0)
    out = pipeline.slim_finetune(model, images, 0.5, epochs=2, lr=1e-2, batch_size=128, seed=0)
    assert out.amount == pytest.approx(0.5, abs=0.08)  # fraction of channels removed
    assert metrics.count_parameters(out.model) < metrics.count_parameters(model)
    assert out.val_finetuned == pytest.approx(train.evaluate(out.model, images, "val"))


def test_slim_rejects_models_without_batchnorm():
    with pytest.raises(ValueError, match="no BatchNorm"):
        pipeline.slim_channels(_mlp(), 0.5)


# --- choosing on the validation split --------------------------------------------------------

def test_choose_largest_within_tolerance():
    levels = [0.5, 0.8, 0.9, 0.95]
    val = [0.97, 0.968, 0.961, 0.93]
    assert pipeline.choose_largest_within(levels, val, reference=0.97, tolerance=0.01) == 0.9
    assert pipeline.choose_largest_within(levels, val, reference=0.97, tolerance=0.0) == 0.5
    assert pipeline.choose_largest_within(levels, val, reference=0.99, tolerance=0.0) is None


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=8),
       st.floats(0, 1), st.floats(0, 0.1))
def test_choose_largest_within_property(pairs, reference, tolerance):
    levels, val = zip(*pairs)
    chosen = pipeline.choose_largest_within(levels, val, reference=reference,
                                            tolerance=tolerance)
    ok = [lv for lv, a in pairs if a >= reference - tolerance]
    assert chosen == (max(ok) if ok else None)


def test_choose_strength_interior_best_needs_no_extension():
    calls = []
    search = pipeline.choose_strength([0.03, 0.1, 0.3],
                                      lambda lam: (calls.append(lam), -abs(lam - 0.1))[1])
    assert search.best == 0.1 and search.extended == () and calls == [0.03, 0.1, 0.3]


def test_choose_strength_extends_past_the_upper_end():
    # the reported case: on another processor the best CNN strength was the grid's last
    search = pipeline.choose_strength([0.03, 0.1, 0.3], lambda lam: -abs(lam - 1.0))
    assert search.extended == (1.0, 3.0) and search.best == 1.0
    assert list(search.scores) == [0.03, 0.1, 0.3, 1.0, 3.0]


def test_choose_strength_extends_past_the_lower_end():
    search = pipeline.choose_strength([0.03, 0.1, 0.3, 1.0], lambda lam: -abs(lam - 0.01))
    assert search.extended == (0.01, 0.003) and search.best == 0.01


@given(st.floats(-4, 2), st.integers(0, 3))
def test_choose_strength_best_is_inside_or_it_says_so(log_peak, extend):
    score = lambda lam: -abs(math.log10(lam) - log_peak)  # noqa: E731
    try:
        search = pipeline.choose_strength([0.01, 0.03, 0.1, 0.3], score, extend=extend)
    except RuntimeError as err:
        assert "extend the grid" in str(err)
        return
    tried = list(search.scores)
    assert tried == sorted(tried) and len(search.extended) <= extend
    assert tried[0] < search.best < tried[-1]
    assert search.best == max(tried, key=score)


@pytest.mark.parametrize("grid, score, extend, error, match", [
    ([0.1, 0.3], "not callable", 2, TypeError, "score must be a function"),
    ([0.1], abs, 2, ValueError, "at least two"),
    ([0.3, 0.1], abs, 2, ValueError, "increasing"),
    ([0.0, 0.1], abs, 2, ValueError, "positive"),
    ("0.1", abs, 2, TypeError, "sequence"),
    ([0.1, 0.3], abs, -1, ValueError, "extend"),
])
def test_choose_strength_refuses(grid, score, extend, error, match):
    with pytest.raises(error, match=match):
        pipeline.choose_strength(grid, score, extend=extend)


def test_choose_strength_at_the_end_after_every_extension_raises():
    with pytest.raises(RuntimeError, match="at an end of the grid after 1"):
        pipeline.choose_strength([0.1, 0.3], lambda lam: lam, extend=1)


def test_choose_largest_within_rejects_mismatch():
    with pytest.raises(ValueError, match="same length"):
        pipeline.choose_largest_within([0.5, 0.9], [0.9], reference=0.9, tolerance=0.01)


# --- quantise and measure --------------------------------------------------------------------

def test_summarise(digits, trained):
    out = pipeline.prune_finetune(trained, digits, 0.8, epochs=1, lr=1e-2, batch_size=128,
                                  seed=0)
    row = pipeline.summarise(out.model, digits, repeats=3)
    dense_bytes = metrics.storage_bytes(trained, "dense32")
    assert row["storage_bytes"] == metrics.storage_bytes(out.model, "csr+int8",
                                                         **pipeline.CSR_BITS)
    assert row["compression"] == pytest.approx(dense_bytes / row["storage_bytes"])
    assert row["nonzero"] == metrics.count_nonzero(out.model)
    assert row["parameters"] == metrics.count_parameters(trained)
    assert row["macs_effective"] < row["macs"] == metrics.macs(trained, (64,))
    assert row["test_fp32"] == pytest.approx(train.evaluate(out.model, digits, "test"))
    assert abs(row["test_int8"] - row["test_fp32"]) < 0.05
    assert row["latency_ms"] > 0
    # a dense model is stored as dense int8: no indices
    dense_row = pipeline.summarise(trained, digits, repeats=3)
    assert dense_row["scheme"] == "int8"
    assert dense_row["storage_bytes"] == metrics.storage_bytes(trained, "int8")
    assert 3.5 < dense_row["compression"] < 4.0


def test_summarise_uses_the_cheaper_storage_format(digits, trained):
    assert pipeline.storage_scheme(trained) == "int8"
    sparse = copy.deepcopy(trained)
    prune.apply_masks(sparse, prune.layerwise_masks(sparse, 0.9))
    assert pipeline.storage_scheme(sparse) == "csr+int8"


def test_summarise_without_latency(digits, trained):
    row = pipeline.summarise(trained, digits, repeats=0)
    assert math.isnan(row["latency_ms"]) and math.isnan(row["latency_iqr_ms"])


def test_summarise_rejects_bad_input(digits, trained):
    with pytest.raises(TypeError, match="model"):
        pipeline.summarise("model", digits)
    with pytest.raises(ValueError, match="repeats"):
        pipeline.summarise(trained, digits, repeats=-1)


# --- one row ---------------------------------------------------------------------------------

def test_run_pipeline_row(digits):
    kw = dict(regulariser="l1", strength=0.3, sparsity=0.8, train_epochs=3,
              finetune_epochs=2, lr=1e-2, finetune_lr=1e-2, patience=1, batch_size=128,
              seed=0, latency_repeats=3)
    row = pipeline.run_pipeline(_mlp, digits, **kw)
    again = pipeline.run_pipeline(_mlp, digits, **kw)
    for key in ("val_pruned", "test_pruned", "val_finetuned", "test_fp32", "test_int8",
                "nonzero", "storage_bytes", "macs_effective"):
        assert row[key] == again[key]  # seeded: everything but the latency repeats
    assert row["regulariser"] == "l1" and row["amount"] == pytest.approx(0.8, abs=1e-2)
    assert row["nonzero"] < 0.3 * row["parameters"]


def test_run_pipeline_slimming(images):
    row = pipeline.run_pipeline(_cnn, images, regulariser="bn_l1", strength=0.05,
                                channels=0.25, train_epochs=2, finetune_epochs=1, lr=1e-2,
                                batch_size=128, seed=0, latency_repeats=3)
    assert row["scheme"] == "int8"  # a slimmed model is smaller and dense
    assert row["macs"] == row["macs_effective"] < metrics.macs(_cnn(), (1, 8, 8))
    assert row["dense_bytes"] == metrics.storage_bytes(_cnn(), "dense32")  # the unslimmed CNN
    assert row["compression"] == pytest.approx(row["dense_bytes"] / row["storage_bytes"])
    assert row["parameters"] < metrics.count_parameters(_cnn())


def test_run_pipeline_without_pruning_is_the_dense_baseline(digits):
    row = pipeline.run_pipeline(_mlp, digits, train_epochs=2, lr=1e-2, batch_size=128,
                                seed=0, latency_repeats=3)
    assert row["amount"] == 0.0 and row["regulariser"] == "none"
    assert row["val_pruned"] == row["val_finetuned"]
    assert row["nonzero"] == row["parameters"] == metrics.count_parameters(_mlp())


def test_pipeline_stages_chain_the_steps(digits):
    train = dict(regulariser="l1", strength=0.3, epochs=2, lr=1e-2, seed=0)
    finetune = dict(epochs=1, lr=1e-2, seed=0)
    model, result, row = pipeline.pipeline_stages(
        _mlp, digits, lambda m, d, **kw: pipeline.prune_finetune(m, d, 0.8, **kw),
        train=train, finetune=finetune, repeats=0)
    alone, _ = pipeline.train_model(_mlp, digits, **train)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), alone.parameters()))
    assert result.amount == pytest.approx(0.8, abs=1e-2)
    assert row == {**pipeline.summarise(result.model, digits, reference=model, repeats=0),
                   "latency_ms": row["latency_ms"], "latency_iqr_ms": row["latency_iqr_ms"]}


@pytest.mark.parametrize("change, error, match", [
    ({"build": _mlp()}, TypeError, "build must be a callable"),
    ({"prune": "prune_finetune"}, TypeError, "prune must be a pruning step"),
    ({"train": "epochs=2"}, TypeError, "train must be a dict of keyword arguments"),
    ({"finetune": None}, TypeError, "finetune must be a dict of keyword arguments"),
    ({"repeats": -1}, ValueError, "repeats must be >= 0"),
    ({"data": "digits"}, TypeError, "data"),
])
def test_pipeline_stages_checks_its_arguments_before_training(digits, change, error, match):
    calls = []
    args = dict(build=lambda: calls.append("build") or _mlp(), data=digits,
                prune=pipeline.prune_finetune, train={"epochs": 1}, finetune={"epochs": 1},
                repeats=0)
    args.update(change)
    with pytest.raises(error, match=match):
        pipeline.pipeline_stages(args.pop("build"), args.pop("data"), args.pop("prune"), **args)
    assert calls == []                  # nothing was trained


def test_run_pipeline_takes_at_most_one_level(digits):
    with pytest.raises(ValueError, match="at most one of sparsity and channels"):
        pipeline.run_pipeline(_mlp, digits, sparsity=0.5, channels=0.5, train_epochs=1)


# --- mean ± std ------------------------------------------------------------------------------

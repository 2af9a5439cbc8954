"""One notion of a criterion: registries by name, callables, and clear errors.

Each kind of criterion is registered here from outside the package, as a reader
would add one, and pruned with through the public entry points: a new criterion
needs no change of the package (README, "Checklist: add a pruning criterion").
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from helpers import dependency, layerwise, pipeline, prune, structured
from helpers.criteria import Registry


@pytest.fixture
def registered():
    """Register into a registry for one test, and take the names out again after it."""
    added = []

    def register(registry, name, criterion):
        added.append((registry, name))
        return registry.register(name)(criterion)

    yield register
    for registry, name in added:
        registry.pop(name, None)


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(),
                         nn.Linear(4, 3))


# --- the registry ------------------------------------------------------------------------

def test_registry_resolves_names_and_callables_and_keeps_order():
    reg = Registry("unit", "score(model, layer) -> scores")
    reg.register("b")(len)
    reg.register("a")(abs)
    assert list(reg) == ["b", "a"] and reg.resolve("a") is abs and reg.resolve(max) is max
    assert reg.name_of(abs) == "a" and reg.name_of(max) == "max"


@pytest.mark.parametrize("call, error, match", [
    (lambda r: r.resolve("nope"), ValueError, r"unknown unit criterion 'nope'; pass one of"),
    (lambda r: r.resolve(3), TypeError, r"must be a name of \('a',\) or a callable score"),
    (lambda r: r.register("a")(abs), ValueError, "registered already"),
    (lambda r: r.register(1), TypeError, "non-empty string"),
    (lambda r: r.register("b")(3), TypeError, "only a callable"),
])
def test_registry_errors_name_the_fix(call, error, match):
    reg = Registry("unit", "score(model, layer) -> scores")
    reg.register("a")(len)
    with pytest.raises(error, match=match):
        call(reg)


def test_the_registries_keep_the_names_the_pages_use():
    assert list(structured.CRITERIA) == ["l1", "l2", "l1_out", "l2_out", "bn_scale",
                                         "activation", "taylor", "random"]
    assert list(prune.CRITERIA) == ["magnitude", "random", "lamp"]
    assert pipeline.MASK_CRITERIA is prune.CRITERIA
    assert list(dependency.CRITERIA) == ["l2"]
    assert dependency.CRITERIA["l2"] is dependency.group_importance
    assert list(layerwise.CRITERIA) == ["magnitude", "wanda", "sparsegpt"]
    assert all(isinstance(r, dict) for r in (structured.CRITERIA, prune.CRITERIA,
                                              dependency.CRITERIA, layerwise.CRITERIA))


# --- every entry point: a name or a callable, else a clear error ---------------------------

def _digits_like():
    from helpers.data import ClassificationData

    gen = torch.Generator().manual_seed(0)
    X = torch.randn(24, 6, generator=gen)
    y = torch.arange(24) % 3
    return ClassificationData(X, y, X[:12], y[:12], X[12:], y[12:], "tiny", 3)


ENTRY_POINTS = {
    "prune.layerwise_masks": lambda c: prune.layerwise_masks(_mlp(), 0.5, criterion=c),
    "prune.global_masks": lambda c: prune.global_masks(_mlp(), 0.5, criterion=c),
    "prune.iterative_prune": lambda c: prune.iterative_prune(
        _mlp(), _digits_like(), sparsities=[0.5], epochs=1, criterion=c),
    "prune.gradual_prune": lambda c: prune.gradual_prune(
        _mlp(), _digits_like(), final_sparsity=0.5, pruning_epochs=1, n_pruning_steps=1,
        criterion=c),
    "prune.GradualPruner": lambda c: prune.GradualPruner(0.5, criterion=c),
    "pipeline.prune_finetune": lambda c: pipeline.prune_finetune(
        _mlp(), _digits_like(), 0.5, epochs=1, criterion=c),
    "structured.neuron_importance": lambda c: structured.neuron_importance(_mlp(), "0", c),
    "structured.prune_units": lambda c: structured.prune_units(_mlp(), 0.5, criterion=c),
    "structured.slim_channels": lambda c: structured.slim_channels(_mlp(), 0.5, criterion=c),
    "dependency.prune_groups": lambda c: dependency.prune_groups(_mlp(), 0.5, criterion=c),
    "layerwise.prune_layerwise": lambda c: layerwise.prune_layerwise(_mlp(), c, 0.5),
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_an_unknown_name_is_a_value_error_listing_the_names(name):
    with pytest.raises(ValueError, match=r"unknown .*criterion 'no_such'; pass one of"):
        ENTRY_POINTS[name]("no_such")


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_a_criterion_that_is_not_callable_is_a_type_error_naming_the_signature(name):
    with pytest.raises(TypeError, match=r"criterion must be a name of .* or a callable"):
        ENTRY_POINTS[name](42)


def test_scores_of_the_wrong_shape_are_rejected():
    with pytest.raises(ValueError, match=r"must return scores of the weight's shape"):
        prune.layerwise_masks(_mlp(), 0.5, criterion=lambda w, *, generator: w.sum())
    with pytest.raises(ValueError, match=r"one score per unit of layer '0', shape \(5,\)"):
        structured.prune_units(_mlp(), 0.5, criterion=lambda m, l, **_: torch.ones(3))
    with pytest.raises(ValueError, match=r"criterion '<lambda>' for the group"):
        dependency.prune_groups(_mlp(), 0.5, criterion=lambda m, g: torch.ones(1))


# --- a criterion of each kind, added from outside the package --------------------------------

def _last_units(model, layer, **_):
    """A unit criterion: the later a unit, the more important (so the first ones go)."""
    n = model.get_submodule(layer).out_features
    return torch.arange(n, dtype=torch.float32)


def test_a_unit_criterion_registered_outside_the_package_prunes(registered):
    register = registered
    register(structured.CRITERIA, "test_index", _last_units)
    model = _mlp()
    by_name = structured.prune_units(model, 2, criterion="test_index")
    by_callable = structured.prune_units(model, 2, criterion=_last_units)
    assert torch.equal(by_name[0].weight, model[0].weight[2:])
    assert torch.equal(by_callable[2].weight, model[2].weight[2:, 2:])
    assert torch.equal(structured.neuron_importance(model, "0", "test_index"),
                       torch.arange(5.0))
    assert [m.out_features for m in by_name if isinstance(m, nn.Linear)] == [3, 2, 3]


def _negative_magnitude(weight, *, generator=None):
    """A weight criterion: the largest weights go first (the opposite of magnitude)."""
    return -weight.abs()


def test_a_weight_criterion_registered_outside_the_package_prunes(registered):
    registered(prune.CRITERIA, "test_largest", _negative_magnitude)
    model = _mlp()
    masks = prune.layerwise_masks(model, 0.5, criterion="test_largest")
    w = model[0].weight.detach().abs()
    assert float(w[masks["0.weight"] == 0].min()) >= float(w[masks["0.weight"] == 1].max())
    assert prune.masks_sparsity(prune.global_masks(model, 0.5, criterion="test_largest")) \
        == pytest.approx(0.5, abs=0.01)
    result = pipeline.prune_finetune(model, _digits_like(), 0.5, epochs=1,
                                     criterion="test_largest")
    assert result.amount == pytest.approx(0.5, abs=0.01)


def _first_channels(model, group):
    """A group criterion: channel c scores c (the first channels go)."""
    return torch.arange(group.size, dtype=torch.float32)


def test_a_group_criterion_registered_outside_the_package_prunes(registered):
    registered(dependency.CRITERIA, "test_first", _first_channels)
    model = _mlp()
    small = dependency.prune_groups(model, 2, criterion="test_first")
    assert torch.equal(small[0].weight, model[0].weight[2:])
    assert torch.equal(dependency.prune_groups(model, 2, criterion=_first_channels)[2].weight,
                       small[2].weight)


def test_the_built_in_names_give_what_they_gave_as_if_chains():
    """The registries' callables compute what the name meant before."""
    model = _mlp()
    assert torch.equal(structured.neuron_importance(model, "0", "l2"),
                       model[0].weight.detach().norm(dim=1))
    gen = torch.Generator().manual_seed(3)
    expected = torch.rand(5, generator=gen)
    assert torch.equal(structured.neuron_importance(model, "0", "random", seed=3), expected)
    a = prune.random_masks(model, 0.5, seed=1)
    b = prune.layerwise_masks(model, 0.5, criterion="random", seed=1)
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert all(torch.equal(prune.magnitude_mask(p.detach(), 0.5), m)
               for (n, p), m in zip(prune.prunable_parameters(model).items(),
                                     prune.layerwise_masks(model, 0.5).values()))


# --- a benchmark method, added from outside the benchmark ------------------------------------

def test_a_benchmark_method_registered_outside_the_benchmark_runs(digits):
    from benchmarks.compression import experiment, report

    @experiment.method("test_dense", epochs=lambda config, k: config.dense_epochs,
                       text="bm_magnitude_layer")
    def method_test_dense(dense, data, config, seed):
        for s in config.sparsities:
            yield s, dense, {}

    try:
        config = replace(experiment.QUICK, hidden=(8,), seeds=(0,), sparsities=(0.5,),
                         methods=("test_dense",), dense_epochs=1, latency_batches=(1,),
                         latency_rounds=1, latency_repeats=1)
        results = experiment.run(config, digits, progress=False)
        assert {r["method"] for r in results["rows"]} == {"test_dense"}
        assert experiment.method_epochs(config, "test_dense", 0) == 1
        assert report.method_label("test_dense", "en") == \
            report.method_label("magnitude_layer", "en")
        with pytest.raises(ValueError, match="registered already"):
            experiment.method("test_dense", epochs=len, text="x")
    finally:
        del experiment.REGISTRY["test_dense"]
    with pytest.raises(ValueError, match="unknown method"):
        replace(experiment.QUICK, methods=("test_dense",))

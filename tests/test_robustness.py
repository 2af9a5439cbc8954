"""What practitioners pass: inputs replayed from public bug reports and questions.

Four kinds of input that once gave silently wrong results, each checked as a kind:

1. structured removal when a Linear layer sees more than two dimensions (a per-position
   MLP, a Flatten after it) — a property over small random architectures;
2. models that carry ``torch.nn.utils.prune`` or ``torch.nn.utils.parametrize``
   re-parametrisations — every public function that reads or writes weights;
3. the Lasso's convergence reports at its edges (α = 0, rank-deficient X, α ≥ α_max);
4. arguments that mirror torch or scikit-learn (an integer ``amount`` is a count, the
   input types of scikit-learn's ``Lasso``);

and, for every public function that takes a model, no change to the caller's model
beyond the function's job (train/eval mode, BatchNorm statistics, ``requires_grad``).
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import structured
from nets import randomise_batchnorm

# ------------------------------------------------------- 1. structured removal, any layout

_ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.GELU, nn.Identity)


@st.composite
def _architectures(draw):
    """A model, an input, a removable layer name and the units to remove."""
    seed = draw(st.integers(0, 2**16))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    n = draw(st.integers(2, 6))
    act = draw(st.sampled_from(_ACTIVATIONS))()
    if draw(st.booleans()):  # a Linear producer, applied per position when lead != ()
        lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        features = draw(st.integers(1, 4))
        layers = [nn.Linear(features, n)]
        if not lead and draw(st.booleans()):
            layers.append(nn.BatchNorm1d(n))
        layers += [act, nn.Dropout(0.5)]
        if draw(st.booleans()):
            positions = 1
            for d in lead:
                positions *= d
            layers += [nn.Flatten(), nn.Linear(positions * n, 2)]
        else:
            layers.append(nn.Linear(n, 2))
        x = torch.randn(3, *lead, features, generator=gen)
    else:  # a Conv producer
        size = draw(st.integers(3, 5))
        layers = [nn.Conv2d(2, n, 3, padding=1)]
        if draw(st.booleans()):
            layers.append(nn.BatchNorm2d(n))
        layers.append(act)
        pool = draw(st.sampled_from([None, nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(2)]))
        spatial = size
        if pool is not None:
            layers.append(pool)
            spatial = size // 2 if isinstance(pool, nn.MaxPool2d) else 2
        if draw(st.booleans()):
            layers += [nn.Flatten(), nn.Linear(n * spatial * spatial, 2)]
        else:
            layers.append(nn.Conv2d(n, 2, 1))
        x = torch.randn(3, 2, size, size, generator=gen)
    model = nn.Sequential(*layers)
    randomise_batchnorm(model, gen)
    drop = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n - 1, unique=True))
    return model.eval(), x, drop


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_architectures())
def test_removal_equals_zeroing_for_any_accepted_layout(case):
    model, x, drop = case
    removal = (structured.remove_neurons if isinstance(model[0], nn.Linear)
               else structured.remove_channels)
    small = removal(model, "0", drop)
    zeroed = structured.zero_units(copy.deepcopy(model), "0", drop)
    assert torch.allclose(small(x), zeroed(x), atol=1e-5)
    n = structured._n_units(model[0])
    assert structured._n_units(small[0]) == n - len(drop)
    # one score per unit, for every criterion that reads the data
    y = torch.zeros(len(x), *model(x).shape[1:-1], dtype=torch.long)
    for criterion in ("activation", "taylor"):
        if criterion == "taylor" and model(x).dim() != 2:
            continue  # cross-entropy over (N, classes) only
        scores = structured.neuron_importance(model, "0", criterion, X=x, y=y)
        assert scores.shape == (n,)
    scores = structured.neuron_importance(zeroed, "0", "activation", X=x)
    assert bool((scores[drop] == 0).all())
    # units that nothing reads are found and removed without changing any output
    unread = copy.deepcopy(model)
    with torch.no_grad():
        consumer = unread[len(unread) - 1]
        if isinstance(consumer, nn.Conv2d):
            consumer.weight[:, drop] = 0
        else:
            block = structured._block(unread, "0")
            owner = block.group().owner(block.consumer_name, "in")
            consumer.weight[:, torch.isin(owner, torch.tensor(drop))] = 0
    cleaned = structured.remove_dead_neurons(unread)
    assert structured._n_units(cleaned[0]) == n - len(drop)
    assert torch.allclose(cleaned(x), unread(x), atol=1e-5)


def test_per_position_linear_then_flatten_is_removed_correctly():
    """The reported input: a Linear applied per position of a sequence, then flattened."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Flatten(), nn.Linear(15, 2)).eval()
    x = torch.randn(6, 3, 4)
    small = structured.remove_neurons(model, "0", [1, 3])
    zeroed = structured.zero_units(copy.deepcopy(model), "0", [1, 3])
    assert torch.allclose(small(x), zeroed(x), atol=1e-6)
    for criterion in ("activation", "taylor"):
        scores = structured.neuron_importance(model, "0", criterion, X=x,
                                              y=torch.zeros(6, dtype=torch.long))
        assert scores.shape == (5,)
    expected = torch.relu(model[0](x)).abs().mean(dim=(0, 1)).detach()
    assert torch.allclose(structured.neuron_importance(model, "0", "activation", X=x),
                          expected, atol=1e-6)
    out = structured.neuron_importance(model, "0", "l1_out")
    assert torch.allclose(out, model[3].weight.detach().reshape(2, 3, 5).abs().sum(dim=(0, 1)))
    smaller = structured.prune_units(model, 0.4, criterion="activation", X=x)
    assert smaller[0].out_features == 3 and smaller[3].in_features == 9


@pytest.mark.parametrize("layers, match", [
    ([nn.Linear(4, 6), nn.ReLU(), nn.MaxPool2d(2), nn.Linear(3, 2)], "pools across units"),
    ([nn.Linear(4, 6), nn.ReLU(), nn.MaxPool1d(2), nn.Linear(3, 2)], "unsupported module"),
    ([nn.Linear(4, 6), nn.Flatten(0), nn.Linear(6, 2)], "start_dim"),
    ([nn.Linear(4, 6), nn.BatchNorm2d(6), nn.Linear(6, 2)], "BatchNorm1d"),
    ([nn.Linear(4, 6), nn.BatchNorm1d(6, affine=False), nn.Linear(6, 2)], "affine"),
    ([nn.Conv2d(1, 6, 3), nn.BatchNorm1d(6), nn.Conv2d(6, 2, 1)], "BatchNorm2d"),
])
def test_layouts_that_mix_units_are_rejected(layers, match):
    with pytest.raises((TypeError, ValueError), match=match):
        structured.zero_units(nn.Sequential(*layers), "0", [0])


def test_batchnorm1d_over_positions_is_rejected_when_data_shows_it():
    # BatchNorm1d(3) after Linear(4, 3) on (N, 3, 4) normalises the 3 positions, not units
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="normalises axis 1"):
        structured.neuron_importance(model.eval(), "0", "activation", X=torch.randn(5, 3, 4))


# ------------------------------------ 2. re-parametrised models, 5. no side effects: setup

import importlib  # noqa: E402
import inspect  # noqa: E402
import pkgutil  # noqa: E402

import helpers  # noqa: E402
from helpers import data as hdata  # noqa: E402
from helpers import allocation, dependency, distill, l1, layers, layerwise, metrics  # noqa: E402
from helpers import pipeline  # noqa: E402
from helpers import prune  # noqa: E402
from helpers import language_model as lm  # noqa: E402
from helpers import quant, train  # noqa: E402
from helpers import heads  # noqa: E402
from helpers import sparse_training as sparse  # noqa: E402

#: Every public module of helpers, found rather than listed.
_MODULES = tuple(importlib.import_module(f"helpers.{m.name}")
                 for m in pkgutil.iter_modules(helpers.__path__) if not m.name.startswith("_"))
_MODEL_ARGS = {"model", "student", "teacher", "linear", "models", "reference"}


def _takes_a_model(obj) -> bool:
    targets = [obj]
    if inspect.isclass(obj):
        targets = [obj.__init__, getattr(obj, "__call__", None)]
    for target in targets:
        try:
            if _MODEL_ARGS & set(inspect.signature(target).parameters):
                return True
        except (TypeError, ValueError):
            continue
    return False


#: Public names with a model-like argument that do not take a network, and why.
NOT_A_MODEL_FUNCTION = {
    "pipeline.PruneResult": "a record of results (its field `model` is stored, not read)",
    "pipeline.choose_largest_within": "`reference` is an accuracy, not a model",
}


def _public_model_functions() -> set[str]:
    """Every public function or class of helpers that takes a model (re-exports once)."""
    found = set()
    for mod in _MODULES:
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if (callable(obj) and getattr(obj, "__module__", None) == mod.__name__
                    and _takes_a_model(obj)):
                found.add(f"{mod.__name__.split('.')[-1]}.{name}")
    return found - set(NOT_A_MODEL_FUNCTION)


def _tiny_data() -> hdata.ClassificationData:
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(24, 6, generator=gen)
    y = torch.arange(24) % 3
    return hdata.ClassificationData(X, y, X[:12], y[:12], X[12:], y[12:], "tiny", 3)


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    randomise_batchnorm(model, torch.Generator().manual_seed(1))
    return model


def _distillation_penalty(model, d):
    penalty = distill.DistillationPenalty(model, temperature=2.0)
    student = _model().train()
    with penalty.attached(student):
        student(d.X_train[:4])
        return penalty(student)


def _mask_gradients(model, d):
    handles = prune.MaskEnforcer({"0.weight": torch.ones(5, 6)}).mask_gradients(model)
    for handle in handles:
        handle.remove()


_NO_PROGRESS = {"epochs": 1, "progress": False}
_TOKENS = torch.arange(40) % 5


def _tiny_lm() -> lm.TinyTransformer:
    torch.manual_seed(0)
    return lm.TinyTransformer(5, context=4, d_model=8, n_layers=1, n_heads=2)


def _first_group(m):
    return dependency.dependency_groups(m)[0]


def _with_a_gradient(m, d, hook):
    """Call an ``after_step`` hook that reads ``.grad`` as fit would, after a backward
    pass (in evaluation mode); the caller's gradients are put back afterwards."""
    grads = [p.grad for p in m.parameters()]
    with train.evaluation_mode(m):
        nn.functional.cross_entropy(m(d.X_train), d.y_train).backward()
    try:
        return hook(m)
    finally:
        for p, g in zip(m.parameters(), grads):
            p.grad = g


#: The model each function is called with, when not the small MLP of ``_model``.
MODELS = {"language_model.train_lm": _tiny_lm, "language_model.perplexity": _tiny_lm,
          "language_model.window_losses": _tiny_lm, "layerwise.block_of": _tiny_lm,
          "language_model.strided_losses": _tiny_lm,
          "allocation.owl_sparsities": _tiny_lm, "heads.head_groups": _tiny_lm,
          "heads.count_heads": _tiny_lm, "heads.zero_heads": _tiny_lm,
          "heads.remove_heads": _tiny_lm, "heads.head_importance": _tiny_lm}

#: How each public function that takes a model is called: (model, data) -> result.
CALLS = {
    "l1.l1_penalty": lambda m, d: l1.l1_penalty(m, 0.1),
    "l1.group_lasso_penalty": lambda m, d: l1.group_lasso_penalty(m, 0.1),
    "l1.prox_l1_step": lambda m, d: l1.prox_l1_step(m, 0.05),
    "l1.prox_group_step": lambda m, d: l1.prox_group_step(m, 0.05),
    "l1.ProximalL1": lambda m, d: l1.ProximalL1(0.1, 0.5)(m),
    "l1.ProximalGroupL1": lambda m, d: l1.ProximalGroupL1(0.1, 0.5)(m),
    "metrics.count_parameters": lambda m, d: metrics.count_parameters(m),
    "metrics.count_nonzero": lambda m, d: metrics.count_nonzero(m, per_parameter=True),
    "metrics.layer_table": lambda m, d: metrics.layer_table(m),
    "metrics.macs_by_layer": lambda m, d: metrics.macs_by_layer(m, (6,), effective=True),
    "metrics.macs": lambda m, d: metrics.macs(m, (6,), effective=True),
    "metrics.flops": lambda m, d: metrics.flops(m, (6,), effective=True),
    "metrics.storage_bytes": lambda m, d: metrics.storage_bytes(m, "csr+int8"),
    "metrics.serialized_bytes": lambda m, d: metrics.serialized_bytes(m) > 0,
    "metrics.measure_latency": lambda m, d: metrics.measure_latency(
        m, d.X_val, repeats=1, warmup=0).median_ms > 0,
    "metrics.compare_latency": lambda m, d: len(metrics.compare_latency(
        {"a": m}, d.X_val, repeats=1, warmup=0)),
    "quant.quantize_model_weights": lambda m, d: quant.quantize_model_weights(m, 8),
    "quant.dynamic_quantize": lambda m, d: quant.dynamic_quantize(m),
    "quant.kmeans_share_model": lambda m, d: quant.kmeans_share_model(m, 2),
    "quant.CentroidFineTuning": lambda m, d: quant.CentroidFineTuning(m, 2)(m),
    "quant.huffman_storage_bytes": lambda m, d: quant.huffman_storage_bytes(m)["huffman"] > 0,
    "prune.prunable_parameters": lambda m, d: prune.prunable_parameters(m),
    "prune.layerwise_masks": lambda m, d: prune.layerwise_masks(m, 0.5),
    "prune.global_masks": lambda m, d: prune.global_masks(m, 0.5),
    "allocation.uniform": lambda m, d: allocation.uniform(m, 0.5),
    "allocation.global_magnitude": lambda m, d: allocation.global_magnitude(m, 0.5),
    "allocation.erk": lambda m, d: allocation.erk(m, 0.5),
    "allocation.lamp": lambda m, d: allocation.lamp(m, 0.5),
    "allocation.overall_sparsity": lambda m, d: allocation.overall_sparsity(
        m, allocation.uniform(m, 0.5)),
    "prune.random_masks": lambda m, d: prune.random_masks(m, 0.5, seed=0),
    "prune.threshold_masks": lambda m, d: prune.threshold_masks(m, 0.5),
    "prune.apply_masks": lambda m, d: prune.apply_masks(m, {"0.weight": torch.zeros(5, 6)}),
    "prune.MaskEnforcer": lambda m, d: (
        prune.MaskEnforcer({"0.weight": torch.zeros(5, 6)})(m), _mask_gradients(m, d)),
    "prune.make_permanent": lambda m, d: prune.make_permanent(m),
    "prune.iterative_prune": lambda m, d: prune.iterative_prune(
        m, d, sparsities=[0.5], epochs=1),
    "prune.GradualPruner": lambda m, d: prune.GradualPruner(0.5, n_pruning_steps=1)(m),
    "prune.gradual_prune": lambda m, d: prune.gradual_prune(
        m, d, final_sparsity=0.5, pruning_epochs=1, n_pruning_steps=1),
    "prune.sensitivity_scan": lambda m, d: prune.sensitivity_scan(m, d, [0.5]),
    "prune.CSRLinear": lambda m, d: prune.CSRLinear(m[0]),
    "prune.to_sparse_csr": lambda m, d: prune.to_sparse_csr(m),
    "structured.removable_layers": lambda m, d: structured.removable_layers(m),
    "structured.neuron_importance": lambda m, d: structured.neuron_importance(
        m, "0", "taylor", X=d.X_train, y=d.y_train),
    "structured.zero_units": lambda m, d: structured.zero_units(m, "0", [0]),
    "structured.remove_neurons": lambda m, d: structured.remove_neurons(m, "0", [0]),
    "structured.remove_channels": lambda m, d: structured.remove_channels(m, "0", [0]),
    "structured.prune_units": lambda m, d: structured.prune_units(
        m, 0.4, criterion="activation", X=d.X_train),
    "pipeline.batchnorm_scales": lambda m, d: pipeline.batchnorm_scales(m),
    "pipeline.prune_finetune": lambda m, d: pipeline.prune_finetune(m, d, 0.5, epochs=1),
    "pipeline.prune_copy": lambda m, d: pipeline.prune_copy(m, 0.5),
    "structured.slim_channels": lambda m, d: structured.slim_channels(m, 0.4),
    "layers.weight_layers": lambda m, d: layers.weight_layers(m),
    "layers.select_weights": lambda m, d: layers.select_weights(m),
    "layers.distinct_weights": lambda m, d: layers.distinct_weights(m),
    "pipeline.slim_finetune": lambda m, d: pipeline.slim_finetune(m, d, 0.4, epochs=1),
    "pipeline.storage_scheme": lambda m, d: pipeline.storage_scheme(m),
    "pipeline.summarise": lambda m, d: pipeline.summarise(m, d, repeats=0),
    "distill.DistillationPenalty": _distillation_penalty,
    "distill.fit_student": lambda m, d: distill.fit_student(_model(), m, d, **_NO_PROGRESS),
    "train.accuracy": lambda m, d: train.accuracy(m, d.X_val, d.y_val),
    "train.predictions": lambda m, d: train.predictions(m, d.X_val),
    "train.correct": lambda m, d: train.correct(m, d.X_val, d.y_val).tolist(),
    "train.evaluate": lambda m, d: train.evaluate(m, d),
    "train.fit": lambda m, d: train.fit(m, d, **_NO_PROGRESS),
    "prune.nm_masks": lambda m, d: prune.nm_masks(m, 1, 2, names=["6.weight"]),
    "structured.remove_dead_neurons": lambda m, d: structured.remove_dead_neurons(m),
    "layerwise.linear_layers": lambda m, d: layerwise.linear_layers(m),
    "layerwise.block_of": lambda m, d: layerwise.block_of(m, layerwise.linear_layers(m)[0]),
    "allocation.owl_sparsities": lambda m, d: allocation.owl_sparsities(
        m, _TOKENS.reshape(-1, 4), 0.5),
    "layerwise.layer_inputs": lambda m, d: layerwise.layer_inputs(m, d.X_train),
    "layerwise.prune_layerwise": lambda m, d: layerwise.prune_layerwise(
        m, "wanda", 0.5, calibration=d.X_train),
    "dependency.dependency_groups": lambda m, d: dependency.dependency_groups(m),
    "dependency.group_importance": lambda m, d: dependency.group_importance(
        m, _first_group(m)),
    "dependency.zero_group": lambda m, d: dependency.zero_group(m, _first_group(m), [0]),
    "dependency.remove_group": lambda m, d: dependency.remove_group(m, _first_group(m), [0]),
    "dependency.prune_groups": lambda m, d: dependency.prune_groups(m, 1),
    "dependency.torch_pruning_importance": lambda m, d: dependency.torch_pruning_importance(
        m, {g: dependency.group_importance(m, g) for g in dependency.dependency_groups(m)}),
    "language_model.train_lm": lambda m, d: lm.train_lm(m, _TOKENS, steps=2, batch_size=2),
    "language_model.perplexity": lambda m, d: lm.perplexity(m, _TOKENS),
    "language_model.window_losses": lambda m, d: lm.window_losses(m, _TOKENS),
    "language_model.strided_losses": lambda m, d: lm.strided_losses(m, _TOKENS, stride=2),
    "heads.head_groups": lambda m, d: heads.head_groups(m),
    "heads.count_heads": lambda m, d: heads.count_heads(m),
    "heads.zero_heads": lambda m, d: heads.zero_heads(m, {0: [1]}),
    "heads.remove_heads": lambda m, d: heads.remove_heads(m, {0: [1]}),
    "heads.head_importance": lambda m, d: heads.head_importance(m, _TOKENS.reshape(-1, 5)),
    "train.recalibrate_batchnorm": lambda m, d: train.recalibrate_batchnorm(m, d),
    "sparse_training.snip_scores": lambda m, d: sparse.snip_scores(m, d.X_train, d.y_train),
    "sparse_training.snip_kernel": lambda m, d: sparse.snip_kernel(m, d.X_train, d.y_train),
    "sparse_training.grasp_scores": lambda m, d: sparse.grasp_scores(m, d.X_train, d.y_train),
    "sparse_training.grasp_kernel": lambda m, d: sparse.grasp_kernel(
        m, d.X_train, d.y_train, 1.0),
    "sparse_training.synflow_scores": lambda m, d: sparse.synflow_scores(m, (6,)),
    "sparse_training.synflow_masks": lambda m, d: sparse.synflow_masks(
        m, 0.5, (6,), iterations=2),
    "sparse_training.DynamicSparsity": lambda m, d: _with_a_gradient(m, d, sparse.DynamicSparsity(
        {"4.weight": torch.ones(4, 5), "6.weight": torch.eye(3, 4)}, update_every=1,
        end_step=5, drop_fraction=0.5)),
    "sparse_training.RewindPoint": lambda m, d: sparse.RewindPoint(1)(m),
    "sparse_training.rewind": lambda m, d: sparse.rewind(
        m, sparse.RewindPoint.capture(m), {"0.weight": torch.ones(5, 6)}),
    "sparse_training.MovementScores": lambda m, d: _with_a_gradient(
        m, d, sparse.MovementScores(m, names=["4.weight", "6.weight"])),
}

#: Functions that read the effective weights of a re-parametrised model: the same
#: result as on the model made permanent.
READS_EFFECTIVE_WEIGHTS = {
    "metrics.count_parameters", "metrics.count_nonzero", "metrics.layer_table",
    "metrics.macs_by_layer", "metrics.macs", "metrics.flops", "metrics.storage_bytes",
    "pipeline.storage_scheme", "train.accuracy", "train.evaluate", "train.predictions",
    "train.correct", "language_model.perplexity", "layerwise.layer_inputs",
    "language_model.window_losses", "allocation.owl_sparsities", "heads.head_importance",
    "language_model.strided_losses",
}
#: Functions that only run the model forward or train it (torch's re-parametrisations
#: are made for that), read only its layout, or whose job is the re-parametrisation.
RUNS_THE_MODEL = {
    "metrics.serialized_bytes", "metrics.measure_latency", "metrics.compare_latency",
    "distill.DistillationPenalty", "distill.fit_student", "train.fit",
    "prune.make_permanent", "language_model.train_lm", "layerwise.linear_layers",
    "layers.weight_layers", "layerwise.block_of",
    "train.recalibrate_batchnorm", "heads.head_groups", "heads.count_heads",
}


def test_every_public_function_that_takes_a_model_is_covered():
    found = _public_model_functions()
    assert found == set(CALLS), (
        f"not in CALLS: {sorted(found - set(CALLS))}; "
        f"no longer public: {sorted(set(CALLS) - found)}")


# ------------------------------------------------------------- 2. re-parametrised models

class _Half(nn.Module):
    """A parametrisation: every other weight forced to zero."""

    def forward(self, w):
        mask = torch.ones_like(w).flatten()
        mask[::2] = 0
        return w * mask.reshape(w.shape)


def _reparametrised(kind: str, build=_model) -> nn.Module:
    model = build()
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if kind == "prune":
        torch.nn.utils.prune.global_unstructured(
            [(linears[0], "weight"), (linears[1], "weight")],
            pruning_method=torch.nn.utils.prune.L1Unstructured, amount=0.3)
    else:
        torch.nn.utils.parametrize.register_parametrization(linears[0], "weight", _Half())
    return model


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("kind", ["prune", "parametrize"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_reparametrised_models_give_effective_weights_or_ask_for_make_permanent(name, kind):
    d = _tiny_data()
    build = MODELS.get(name, _model)
    model = _reparametrised(kind, build).eval()
    if name in READS_EFFECTIVE_WEIGHTS:
        plain = prune.make_permanent(_reparametrised(kind, build).eval())
        assert _same(CALLS[name](model, d), CALLS[name](plain, d))
    elif name in RUNS_THE_MODEL:
        CALLS[name](model, d)
    else:
        with pytest.raises(ValueError, match=r"make_permanent\(model\) first"):
            CALLS[name](model, d)


@pytest.mark.parametrize("kind", ["prune", "parametrize"])
def test_make_permanent_keeps_the_effective_weights(kind):
    model = _reparametrised(kind).eval()
    x = _tiny_data().X_val
    before = model(x)
    prune.make_permanent(model)
    assert torch.equal(model(x), before)
    assert set(dict(model.named_parameters())) == set(dict(_model().named_parameters()))
    structured.zero_units(model, "0", [0])  # now accepted, and the zeros stay
    assert bool((model[0](x)[:, 0] == 0).all())


def test_the_reported_input_zero_units_after_global_unstructured():
    from helpers import models

    model = models.mlp([6, 5, 4, 3])
    torch.nn.utils.prune.global_unstructured(
        [(model[0], "weight"), (model[2], "weight")],
        pruning_method=torch.nn.utils.prune.L1Unstructured, amount=0.3)
    for call in (lambda: structured.zero_units(model, "0", [0]),
                 lambda: prune.to_sparse_csr(model),
                 lambda: structured.remove_neurons(model, "0", [0]),
                 lambda: structured.prune_units(model, 0.4),
                 lambda: pipeline.prune_copy(model, 0.5)):
        with pytest.raises(ValueError, match=r"torch.nn.utils.prune.*make_permanent"):
            call()


# ----------------------------------------------- 5. no side effects on the caller's model

#: Functions whose job is to change the model in place (its parameters and buffers);
#: they too must leave each module's train/eval mode and requires_grad as they were.
CHANGES_THE_MODEL = {
    "l1.prox_l1_step", "l1.prox_group_step", "l1.ProximalL1", "l1.ProximalGroupL1",
    "prune.apply_masks", "prune.MaskEnforcer", "prune.make_permanent",
    "prune.iterative_prune", "prune.GradualPruner", "prune.gradual_prune",
    "structured.zero_units", "train.fit", "dependency.zero_group", "language_model.train_lm",
    "quant.CentroidFineTuning", "train.recalibrate_batchnorm", "sparse_training.DynamicSparsity",
    "sparse_training.rewind", "heads.zero_heads",
}
#: Functions that cannot run on the test model; each is listed with the reason.
NOT_FOR_THIS_MODEL = {
    "structured.remove_channels": "the model has no Conv2d (tested on a CNN elsewhere)",
}


def _state(model: nn.Module) -> dict:
    return {
        "modes": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "tensors": {k: v.clone() for k, v in model.state_dict().items()},
    }


@pytest.mark.parametrize("mode", ["eval", "train, mixed"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_functions_leave_the_callers_model_as_it_was(name, mode):
    if name in NOT_FOR_THIS_MODEL:
        pytest.skip(NOT_FOR_THIS_MODEL[name])
    d = _tiny_data()
    model = MODELS.get(name, _model)()
    if mode == "eval":
        model.eval()
    else:  # a caller's mixture: training mode, one module in eval mode, one frozen
        model.train()
        modules = [m for m in model.modules() if m is not model]
        modules[len(modules) // 2].eval()
        for p in next(m for m in modules if any(True for _ in m.parameters())).parameters():
            p.requires_grad_(False)
    before = _state(model)
    CALLS[name](model, d)
    after = _state(model)
    assert after["modes"] == before["modes"], "train/eval mode changed"
    assert after["requires_grad"] == before["requires_grad"], "requires_grad changed"
    if name in CHANGES_THE_MODEL:
        return
    assert _same(after["tensors"], before["tensors"]), "parameters or buffers changed"
    assert _same(after["grads"], before["grads"]), ".grad changed"


# ------------------------------------------------------ 3. the Lasso's convergence reports

import warnings  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import Lasso, LinearRegression  # noqa: E402


def _regression(n=40, p=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    return X, X @ rng.normal(size=p) + rng.normal(size=n)


def _rank_deficient():
    X, y = _regression()
    return np.column_stack([X, X[:, 0], 2 * X[:, 1]]), y  # 8 columns, rank 6


def _wide():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(10, 30))
    return X, X[:, :3].sum(axis=1)


_SOLVERS = {
    "coordinate_descent": l1.coordinate_descent,
    "ista": l1.ista,
    "fista": lambda X, y, a, **kw: l1.fista(X, y, a, precompute=False, **kw),
}


def _quiet(f, *args, **kwargs):
    """Call f; fail on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return f(*args, **kwargs)


@pytest.mark.parametrize("solver", sorted(_SOLVERS))
@pytest.mark.parametrize("data", [_regression, _rank_deficient, _wide])
def test_alpha_zero_is_least_squares_and_reported_as_converged(solver, data):
    X, y = data()
    res = _quiet(_SOLVERS[solver], X, y, 0.0)
    assert res.converged and res.gap[-1] >= 0
    ols = LinearRegression().fit(X, y)
    rss = np.sum((y - X @ res.coef - res.intercept) ** 2)
    rss_ols = np.sum((y - ols.predict(X)) ** 2)
    # the reported gap is the true suboptimality at alpha = 0, within the tolerance
    assert 0 <= (rss - rss_ols) / (2 * len(y)) <= res.gap[-1] + 1e-12
    assert res.gap[-1] <= res.tol * np.sum((y - y.mean()) ** 2) / len(y)
    if data is _regression:  # unique solution: to a tight tolerance, least squares'
        tight = _quiet(_SOLVERS[solver], X, y, 0.0, tol=1e-14, max_iter=100_000)
        assert tight.converged and np.allclose(tight.coef, ols.coef_, atol=1e-6)


def test_the_reported_input_alpha_zero_on_40_by_6():
    X, y = _regression()
    ols = LinearRegression().fit(X, y).coef_
    for solve in _SOLVERS.values():
        res = _quiet(solve, X, y, 0.0)
        assert res.converged and res.gap[-1] <= 1e-4 * np.var(y)
        assert np.allclose(res.coef, ols, atol=0.05)
    path = _quiet(l1.lasso_path, X, y, alphas=[1.0, 0.1, 0.0])
    assert path.gaps[-1] <= 1e-4 * np.var(y)
    assert np.allclose(path.coefs[:, -1], ols, atol=0.05)


@pytest.mark.parametrize("solver", sorted(_SOLVERS))
@pytest.mark.parametrize("data", [_regression, _rank_deficient, _wide])
def test_tiny_alpha_and_alpha_above_alpha_max_are_certified(solver, data):
    X, y = data()
    top = l1.alpha_max(X, y)
    for alpha in (top, 2 * top):
        res = _quiet(_SOLVERS[solver], X, y, alpha)
        assert res.converged and res.n_iter == 0 and not res.coef.any()
    res = _quiet(_SOLVERS[solver], X, y, 1e-8 * top, max_iter=20_000)
    assert res.converged


def test_convergence_warnings_name_the_cause():
    X, y = _regression()
    Xd, yd = _wide()
    cases = [
        (lambda: l1.ista(X, y, 0.0, max_iter=1), "alpha=0 is ordinary least squares"),
        (lambda: l1.ista(Xd, yd, 1e-3 * l1.alpha_max(Xd, yd), max_iter=5), r"X has rank \d+ < 30 columns"),
        (lambda: l1.fista(X, y, 0.1, tol=0.0, max_iter=3), "tol=0"),
        (lambda: l1.ista(X, y, 0.1, max_iter=1), "increase max_iter"),
        (lambda: l1.lasso_path(X, y, alphas=[0.1], tol=0.0, max_iter=2), "tol=0"),
        (lambda: l1.lasso_path(Xd, yd, alphas=[1e-3], max_iter=2), "collinear columns"),
    ]
    for call, cause in cases:
        with pytest.warns(ConvergenceWarning, match=cause):
            res = call()
        if hasattr(res, "converged"):
            assert not res.converged


def test_lasso_matches_scikit_learn_at_alpha_zero_and_above():
    X, y = _regression()
    sk = Lasso(alpha=0.1, tol=1e-10).fit(X, y)
    assert np.allclose(l1.coordinate_descent(X, y, 0.1, tol=1e-10).coef, sk.coef_, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns at alpha=0
        sk = Lasso(alpha=0.0, tol=1e-10, max_iter=100_000).fit(X, y)
    ours = _quiet(l1.coordinate_descent, X, y, 0.0, tol=1e-10)
    assert np.allclose(ours.coef, sk.coef_, atol=1e-6)


# --------------------------------------- 4. arguments that mirror torch and scikit-learn

def _count_pruned(masks) -> int:
    return sum(int((m == 0).sum()) for m in masks.values())


def test_an_integer_amount_is_a_count_as_in_torch():
    from helpers import models

    torch.manual_seed(0)
    model = models.mlp([6, 5, 4, 3])
    # the reported input: global_masks(model, 1) pruned every weight
    assert _count_pruned(prune.global_masks(model, 1)) == 1
    reference = copy.deepcopy(model)
    params = [(reference[0], "weight"), (reference[2], "weight"), (reference[4], "weight")]
    torch.nn.utils.prune.global_unstructured(
        params, pruning_method=torch.nn.utils.prune.L1Unstructured, amount=7)
    ours = prune.global_masks(model, 7)
    assert all(torch.equal(ours[f"{i}.weight"], reference[i].weight_mask) for i in (0, 2, 4))
    layer = copy.deepcopy(model[0])
    torch.nn.utils.prune.l1_unstructured(layer, "weight", amount=3)
    assert torch.equal(prune.magnitude_mask(model[0].weight, 3), layer.weight_mask)
    sizes = {"0.weight": 30, "2.weight": 20, "4.weight": 12}
    for masks in (prune.layerwise_masks(model, 2), prune.random_masks(model, 2, seed=0),
                  prune.layerwise_masks(model, {n: 2 for n in sizes})):
        assert {n: int((m == 0).sum()) for n, m in masks.items()} == {n: 2 for n in sizes}
    # a float is a fraction: 1.0 is everything, 0.5 half
    assert _count_pruned(prune.global_masks(model, 1.0)) == sum(sizes.values())
    assert structured.lowest(torch.arange(5.0), 2) == [0, 1]
    assert structured.lowest(torch.arange(5.0), 1.0) == [0, 1, 2, 3, 4]
    small = structured.prune_units(model, 1)
    assert [small[0].out_features, small[2].out_features] == [4, 3]
    small = dependency.prune_groups(model, 1)
    assert [small[0].out_features, small[2].out_features] == [4, 3]
    assert structured.prune_units(model, 0.6)[0].out_features == 2


@pytest.mark.parametrize("call, match", [
    (lambda m: prune.global_masks(m, 63), "0..62"),
    (lambda m: prune.layerwise_masks(m, 13), "0..12"),
    (lambda m: prune.global_masks(m, -1), "count"),
    (lambda m: prune.global_masks(m, True), "fraction .* or a count"),
    (lambda m: prune.global_masks(m, 1.5), r"\[0, 1\]"),
    (lambda m: structured.prune_units(m, 4), "0..3"),
    (lambda m: structured.prune_units(m, 1.0), r"\[0, 1\)"),
    (lambda m: structured.lowest(torch.ones(3), 4), "0..3"),
    (lambda m: dependency.prune_groups(m, 4), "0..3"),
    (lambda m: prune.sensitivity_scan(m, _tiny_data(), [0.5, 13]), "0..12"),
])
def test_amounts_out_of_range_are_rejected_clearly(call, match):
    from helpers import models

    with pytest.raises((TypeError, ValueError), match=match):
        call(models.mlp([6, 5, 4, 3]))


def test_the_amount_arguments_are_all_checked():
    """Every public function with an ``amount`` argument is covered above."""
    covered = {"prune.magnitude_mask", "prune.layerwise_masks", "prune.global_masks",
               "prune.random_masks", "prune.sensitivity_scan", "structured.lowest",
               "structured.prune_units", "dependency.prune_groups"}
    found = {f"{mod.__name__.split('.')[-1]}.{name}" for mod in _MODULES
             for name in getattr(mod, "__all__", ())
             if callable(getattr(mod, name))
             and getattr(getattr(mod, name), "__module__", None) == mod.__name__
             and {"amount", "amounts"} & set(_parameters(getattr(mod, name)))}
    assert found - set(NOT_A_MODEL_FUNCTION) == covered, sorted(found ^ covered)


def _parameters(obj) -> set[str]:
    try:
        return set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return set()


def _lasso_inputs():
    X, y = _regression()
    return X, y


@pytest.mark.parametrize("convert", [
    lambda X, y: (X.tolist(), y.tolist()),
    lambda X, y: (X.astype(np.float32), y.astype(np.float32)),
    lambda X, y: (torch.tensor(X, requires_grad=True), torch.tensor(y)),
    lambda X, y: (__import__("pandas").DataFrame(X), __import__("pandas").Series(y)),
], ids=["lists", "float32", "torch", "pandas"])
def test_the_inputs_scikit_learn_lasso_accepts_are_accepted(convert):
    X, y = _lasso_inputs()
    reference = l1.coordinate_descent(X, y, 0.1, tol=1e-10)
    Xc, yc = convert(X, y)
    for solve in (l1.coordinate_descent, l1.ista, l1.fista):
        res = solve(Xc, yc, 0.1, tol=1e-10, max_iter=100_000)
        atol = 1e-5 if isinstance(Xc, np.ndarray) and Xc.dtype == np.float32 else 1e-7
        assert np.allclose(res.coef, reference.coef, atol=atol)
    assert l1.lasso_path(Xc, yc, n_alphas=3).coefs.shape == (6, 3)
    assert np.isfinite(l1.alpha_max(Xc, yc))


@pytest.mark.parametrize("X, y, error, match", [
    (__import__("scipy").sparse.csr_matrix(np.eye(4)), np.ones(4), TypeError, "toarray"),
    (np.eye(4) * 1j, np.ones(4), TypeError, "complex"),
    (np.ones(4), np.ones(4), ValueError, r"reshape\(-1, 1\)"),
    (np.eye(4), np.ones((4, 1)), ValueError, r"ravel\(\)"),
    ([["a", "b"], ["c", "d"]], [1.0, 2.0], TypeError, "real numbers"),
    ([[1.0, 2.0], [3.0]], [1.0, 2.0], TypeError, "real numbers"),
], ids=["sparse", "complex", "1-D X", "column y", "strings", "ragged"])
def test_other_inputs_are_rejected_with_the_fix(X, y, error, match):
    for call in (lambda: l1.coordinate_descent(X, y, 0.1), lambda: l1.lasso_path(X, y),
                 lambda: l1.alpha_max(X, y)):
        with pytest.raises(error, match=match):
            call()


def test_a_checked_kernel_validates_first_and_keeps_its_bare_form():
    from helpers._checks import checked

    calls = []

    def positive(x):
        if x < 0:
            raise ValueError("x must be >= 0; pass its absolute value")

    @checked(positive)
    def double(x):
        """Twice x."""
        calls.append(x)
        return 2 * x

    assert double(3) == 6 and double.__doc__ == "Twice x." and double.__name__ == "double"
    with pytest.raises(ValueError, match="x must be >= 0"):
        double(-1)
    assert calls == [3]                 # the kernel never ran on the bad input
    assert double.unchecked(-1) == -2


#: Kernels shown on a page whose every argument goes straight to checked helpers (the
#: test below shows the error each bad argument gets).
CHECKED_BY_CALLEES = {"helpers.experiments.pruning.prune_and_finetune"}


def _kernels_on_pages() -> set[str]:
    """``module.function`` of every ``{literalinclude}`` ``:pyobject:`` of the book."""
    import re
    from pathlib import Path

    shown = set()
    pattern = re.compile(r"```\{literalinclude\} \.\./\.\./(helpers/[\w/]+)\.py\n:pyobject: (\w+)")
    for page in Path(__file__).resolve().parent.parent.glob("book/*/*.md"):
        for path, name in pattern.findall(page.read_text(encoding="utf-8")):
            shown.add(f"{path.replace('/', '.')}.{name}")
    return shown


def test_every_kernel_a_page_shows_checks_its_arguments():
    import importlib

    shown = _kernels_on_pages()
    assert len(shown) >= 15, sorted(shown)
    unchecked = []
    for dotted in sorted(shown):
        module, name = dotted.rsplit(".", 1)
        kernel = getattr(importlib.import_module(module), name)
        if not hasattr(kernel, "unchecked") and dotted not in CHECKED_BY_CALLEES:
            unchecked.append(dotted)
    assert not unchecked, f"kernels shown without argument checks (use _checks.checked): {unchecked}"


def test_every_kernel_a_page_shows_is_short_enough_to_read():
    """As the page shows it (``:pyobject:`` includes the decorator): at most 25 lines,
    none over 88 characters."""
    import ast
    import inspect
    import importlib

    too_long = []
    for dotted in sorted(_kernels_on_pages()):
        module, name = dotted.rsplit(".", 1)
        source = inspect.getsource(importlib.import_module(module))
        node = next(n for n in ast.walk(ast.parse(source))
                    if isinstance(n, ast.FunctionDef) and n.name == name)
        start = min([d.lineno for d in node.decorator_list] + [node.lineno])
        lines = source.splitlines()[start - 1:node.end_lineno]
        if len(lines) > 25 or max(map(len, lines)) > 88:
            too_long.append(f"{dotted}: {len(lines)} lines, {max(map(len, lines))} characters")
    assert not too_long, too_long


@pytest.mark.parametrize("change, error, match", [
    ({"model": "a model"}, TypeError, "model must be a torch.nn.Module"),
    ({"masks": "masks"}, TypeError, "masks must be a mapping"),
    ({"masks": {"nope": torch.ones(1)}}, ValueError, "no parameter named 'nope'"),
    ({"epochs": 0}, ValueError, "epochs must be > 0"),
    ({"seed": "a"}, TypeError, "seed must be an integer"),
])
def test_prune_and_finetune_rejects_bad_arguments_through_its_callees(change, error, match):
    from helpers import models, prune
    from helpers.experiments import pruning as ex

    model = models.mlp([64, 16, 10])
    args = {"model": model, "masks": prune.layerwise_masks(model, 0.5), "epochs": 1, "seed": 0}
    args.update(change)
    with pytest.raises(error, match=match):
        ex.prune_and_finetune(args.pop("model"), args.pop("masks"), **args)

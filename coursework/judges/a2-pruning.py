"""Judges of assignment 2 (pruning a network): run by the grader, never in the sandbox.

One function per check of the master ``coursework/<lang>/a2-pruning.md`` (same order,
points and messages), judging what the probe of the same name in
``coursework/probes/a2-pruning.py`` got back. None means passed.
"""

import functools

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

import helpers
from tools.coursework.judging import TensorData, case

def _target():
    from tools.coursework.build import load_settings

    return float(load_settings()["a2-pruning"]["min_accuracy_at_90"])


def _tensor(value, shape=None):
    if not isinstance(value, TensorData):
        raise TypeError("not a tensor")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise ValueError("shape")
    return np.asarray(value, dtype=float)


def _weights(model):
    return {f"{name}.weight": m.weight.detach().numpy() for name, m in model.named_modules()
            if isinstance(m, nn.Linear)}


def _load(sizes, state):
    """An mlp of ``sizes`` with the student's tensors (checked names and shapes)."""
    net = helpers.models.mlp(sizes)
    reference = net.state_dict()
    if not isinstance(state, dict) or set(state) != set(reference):
        raise ValueError("names")
    net.load_state_dict({k: torch.as_tensor(np.asarray(state[k], dtype=np.float32)
                                            ).reshape(reference[k].shape) for k in reference})
    return net


@functools.cache
def _data():
    return helpers.data.load_digits_split()


@case("a2_magnitude", "magnitude_demo")
def magnitude_demo(got, inputs, say):
    expected = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    if not (isinstance(got, TensorData) and got.shape == expected.shape
            and np.array_equal(np.asarray(got, dtype=float), expected)):
        return say("a2_m_magnitude", w=inputs["w"].tolist(), expected=expected.tolist(), got=got)


@case("a2_magnitude", "magnitude_random", hidden=True)
def magnitude_random(got, inputs, say):
    layer = nn.Linear(30, 17)
    with torch.no_grad():
        layer.weight.copy_(inputs["w"])
    torch_prune.l1_unstructured(layer, "weight", amount=0.37)
    expected = layer.weight_mask.numpy()
    shape = tuple(inputs["w"].shape)
    if not (np.array_equal(_tensor(got["m37"], shape), expected)
            and _tensor(got["m0"], shape).sum() == 510 and _tensor(got["m1"], shape).sum() == 0):
        return say("a2_m_magnitude_hidden")


@case("a2_masks", "layerwise_80")
def layerwise_80(got, inputs, say):
    weights = _weights(inputs["model"])
    expected = {n: round(round(0.8 * w.size) / w.size, 3) for n, w in weights.items()}
    shown = {n: round(1 - float(np.mean(np.asarray(m, dtype=float))), 3)
             for n, m in got.items()} if isinstance(got, dict) else got
    if shown != expected or not all(np.shape(got[n]) == w.shape for n, w in weights.items()):
        return say("a2_m_layerwise", expected=expected, got=shown)


@case("a2_masks", "global_80")
def global_80(got, inputs, say):
    weights = _weights(inputs["model"])
    if not isinstance(got, dict) or set(got) != set(weights):
        return say("a2_m_global_keys", expected=sorted(weights),
                   got=sorted(map(str, got)) if isinstance(got, dict) else got)
    masks = {k: np.asarray(got[k], dtype=float).reshape(weights[k].shape) for k in weights}
    pruned = np.concatenate([np.abs(weights[k]).ravel()[masks[k].ravel() == 0] for k in weights])
    kept = np.concatenate([np.abs(weights[k]).ravel()[masks[k].ravel() != 0] for k in weights])
    expected = round(0.8 * sum(w.size for w in weights.values()))
    if not (len(pruned) == expected and len(kept) and pruned.max() <= kept.min()):
        return say("a2_m_global", expected=expected, got=len(pruned),
                   largest=float(pruned.max()) if len(pruned) else float("nan"),
                   smallest=float(kept.min()) if len(kept) else float("nan"))


@case("a2_masks", "masks_small", hidden=True)
def masks_small(got, inputs, say):
    net = inputs["model"]
    ref_global = helpers.prune.global_masks(net, 0.6)
    ref_layer = helpers.prune.layerwise_masks(net, 0.3)
    mine_global, mine_layer = got["global"], got["layer"]
    if not (set(mine_global) == set(ref_global) and all(
            np.array_equal(_tensor(mine_global[k], ref_global[k].shape), ref_global[k].numpy())
            and np.array_equal(_tensor(mine_layer[k], ref_layer[k].shape), ref_layer[k].numpy())
            for k in ref_global)):
        return say("a2_m_masks_hidden")


@case("a2_finetune", "finetune_80")
def finetune_80(got, inputs, say):
    net = _load([64, 128, 64, 10], got)
    masks = inputs["masks"]
    zeros_kept = all(bool(torch.all(p[masks[k] == 0] == 0)) for k, p in net.named_parameters()
                     if k in masks)
    before = inputs["model"][0].weight.detach() * masks["0.weight"]
    trained = not torch.equal(net[0].weight.detach() * masks["0.weight"], before)
    if not (zeros_kept and trained):
        return say("a2_m_finetune", zeros=zeros_kept, trained=trained)


@case("a2_finetune", "curve")
def curve(got, inputs, say):
    target = _target()
    global_ = got.get("global") if isinstance(got, dict) else None
    value = global_.get(0.9) if isinstance(global_, dict) else None
    if not (isinstance(global_, dict) and set(global_) == {0.5, 0.8, 0.9, 0.95}
            and isinstance(value, (int, float)) and not isinstance(value, bool)
            and value >= target):
        return say("a2_m_curve", target=target, got=value)


@case("a2_finetune", "finetune_90", hidden=True)
def finetune_90(got, inputs, say):
    target = _target()
    net = _load([64, 128, 64, 10], got)
    kept = sum(int(m.sum()) for m in inputs["masks"].values())
    if not (helpers.metrics.count_nonzero(net) <= kept + 202
            and helpers.train.evaluate(net, _data(), "test") >= target):
        return say("a2_m_finetune_hidden", target=target)


@case("a2_importance", "importance_tiny")
def importance_tiny(got, inputs, say):
    if not (isinstance(got, TensorData) and got.shape == (2,)
            and np.allclose(np.asarray(got, dtype=float), [3.5, 0.2])):
        return say("a2_m_importance", got=got)


@case("a2_importance", "importance_small", hidden=True)
def importance_small(got, inputs, say):
    net = inputs["model"]
    for name in ("0", "2"):
        ref = helpers.structured.neuron_importance(net, name, "l1").numpy()
        if not np.allclose(_tensor(got[name], ref.shape), ref):
            return say("a2_m_importance_hidden")


@case("a2_remove", "remove_shapes")
def remove_shapes(got, inputs, say):
    shapes = [tuple(s) for s in got["shapes"]]
    if not (shapes == [(3, 4), (3,), (3, 3), (3,)] and tuple(got["original"]) == (5, 4)):
        return say("a2_m_remove_shapes", got=shapes)


@case("a2_remove", "remove_outputs")
def remove_outputs(got, inputs, say):
    zeroed = helpers.models.mlp([4, 5, 3])
    zeroed.load_state_dict(inputs["model"].state_dict())
    with torch.no_grad():
        zeroed[0].weight[[0, 2]] = 0
        zeroed[0].bias[[0, 2]] = 0
        expected = zeroed(inputs["x"]).numpy()
    if not np.allclose(_tensor(got, expected.shape), expected, atol=1e-6):
        return say("a2_m_remove_outputs")


@case("a2_remove", "remove_twice", hidden=True)
def remove_twice(got, inputs, say):
    net = inputs["model"]
    ref = helpers.structured.remove_neurons(
        helpers.structured.remove_neurons(net, "2", [1, 4, 5, 14]), "0", [0, 29]).state_dict()
    if not (isinstance(got, dict) and set(got) == set(ref) and all(
            np.allclose(_tensor(got[k], ref[k].shape), ref[k].numpy()) for k in ref)):
        return say("a2_m_remove_hidden")


@case("a2_latency", "latency_sleepy")
def latency_sleepy(got, inputs, say):
    if not (isinstance(got, float) and 4.0 <= got < 60.0):
        return say("a2_m_latency", got=got)


@case("a2_latency", "latency_hiccup", hidden=True)
def latency_hiccup(got, inputs, say):
    if not (isinstance(got, (int, float)) and not isinstance(got, bool) and 1.0 <= got < 15.0):
        return say("a2_m_latency_hidden", got=got)

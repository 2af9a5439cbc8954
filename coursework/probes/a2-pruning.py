"""Probes of assignment 2 (pruning a network): run inside the grading sandbox.

Inputs are built here (trusted code, before any of the student's code runs, and again
by the grader to judge); the student's graded functions are called by name. What is
right is decided by ``coursework/judges/a2-pruning.py``, never here.
"""

import copy
import itertools
import time

import torch
from torch import nn

import helpers

PROBES = {}


def probe(question, inputs):
    def register(call):
        PROBES[call.__name__] = {"question": question, "inputs": inputs, "call": call}
        return call
    return register


def untrained():
    """The assignment's network shape, untrained (seed 0)."""
    helpers.train.seed_everything(0)
    return helpers.models.mlp([64, 128, 64, 10])


def baseline():
    """The assignment's trained network, as its set-up cell trains it."""
    data = helpers.data.load_digits_split()
    helpers.train.seed_everything(0)
    model = helpers.models.mlp([64, 128, 64, 10])
    helpers.train.fit(model, data, epochs=15, lr=1e-3, progress=False)
    return model


def _w_demo():
    return {"w": torch.tensor([[0.5, -0.1, 0.3], [-0.7, 0.05, 0.2]])}


def _layer37():
    torch.manual_seed(3)
    return {"w": nn.Linear(30, 17).weight.detach().clone()}


def _untrained():
    return {"model": untrained()}


def _net(seed):
    def build():
        helpers.train.seed_everything(seed)
        return {"model": helpers.models.mlp([20, 30, 15, 4])}
    return build


def _finetune_public():
    model = untrained()
    return {"model": model, "masks": helpers.prune.global_masks(model, 0.8),
            "data": helpers.data.load_digits_split()}


def _finetune_hidden():
    model = baseline()
    return {"model": model, "masks": helpers.prune.global_masks(model, 0.9),
            "data": helpers.data.load_digits_split()}


def _tiny():
    tiny = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        tiny[0].weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.1, -0.1]]))
        tiny[2].weight.copy_(torch.tensor([[3.0, -4.0]]))
    return {"model": tiny}


def _small_net():
    helpers.train.seed_everything(1)
    net = helpers.models.mlp([4, 5, 3])
    return {"model": net, "x": torch.randn(8, 4)}


def _nothing():
    return {}


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@probe("a2_magnitude", _w_demo)
def magnitude_demo(student, inputs):
    return student.magnitude_mask(inputs["w"].clone(), 0.5)


@probe("a2_magnitude", _layer37)
def magnitude_random(student, inputs):
    w = inputs["w"]
    return {"m37": student.magnitude_mask(w.clone(), 0.37),
            "m0": student.magnitude_mask(w.clone(), 0.0),
            "m1": student.magnitude_mask(w.clone(), 1.0)}


@probe("a2_masks", _untrained)
def layerwise_80(student, inputs):
    return student.layerwise_masks(copy.deepcopy(inputs["model"]), 0.8)


@probe("a2_masks", _untrained)
def global_80(student, inputs):
    return student.global_masks(copy.deepcopy(inputs["model"]), 0.8)


@probe("a2_masks", _net(5))
def masks_small(student, inputs):
    net = inputs["model"]
    return {"global": student.global_masks(copy.deepcopy(net), 0.6),
            "layer": student.layerwise_masks(copy.deepcopy(net), 0.3)}


@probe("a2_finetune", _finetune_public)
def finetune_80(student, inputs):
    net = copy.deepcopy(inputs["model"])
    masks = {k: v.clone() for k, v in inputs["masks"].items()}
    student.finetune(net, masks, inputs["data"], epochs=2)
    return state(net)


@probe("a2_finetune", _nothing)
def curve(student, inputs):
    return student.curve


@probe("a2_finetune", _finetune_hidden)
def finetune_90(student, inputs):
    net = copy.deepcopy(inputs["model"])
    masks = {k: v.clone() for k, v in inputs["masks"].items()}
    student.finetune(net, masks, inputs["data"])
    return state(net)


@probe("a2_importance", _tiny)
def importance_tiny(student, inputs):
    return student.neuron_importance(copy.deepcopy(inputs["model"]), "0")


@probe("a2_importance", _net(6))
def importance_small(student, inputs):
    net = inputs["model"]
    return {name: student.neuron_importance(copy.deepcopy(net), name) for name in ("0", "2")}


@probe("a2_remove", _small_net)
def remove_shapes(student, inputs):
    net = copy.deepcopy(inputs["model"])
    shrunk = student.remove_neurons(net, "0", [0, 2])
    return {"shapes": [list(p.shape) for p in shrunk.parameters()],
            "original": list(net[0].weight.shape)}


@probe("a2_remove", _small_net)
def remove_outputs(student, inputs):
    shrunk = student.remove_neurons(copy.deepcopy(inputs["model"]), "0", [0, 2])
    with torch.no_grad():
        return shrunk(inputs["x"].clone())


@probe("a2_remove", _net(7))
def remove_twice(student, inputs):
    net = copy.deepcopy(inputs["model"])
    mine = student.remove_neurons(student.remove_neurons(net, "2", [1, 4, 5, 14]), "0", [0, 29])
    return state(mine)


@probe("a2_latency", _nothing)
def latency_sleepy(student, inputs):
    sleepy = nn.Identity()
    sleepy.register_forward_pre_hook(lambda module, args: time.sleep(0.004))
    return student.median_latency_ms(sleepy, torch.zeros(1), repeats=10, warmup=1)


@probe("a2_latency", _nothing)
def latency_hiccup(student, inputs):
    calls = itertools.count(1)
    hiccup = nn.Identity()
    hiccup.register_forward_pre_hook(
        lambda module, args: time.sleep(0.08 if next(calls) % 4 == 0 else 0.001))
    return student.median_latency_ms(hiccup, torch.zeros(1), repeats=24, warmup=0)

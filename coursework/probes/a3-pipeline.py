"""Probes of assignment 3 (the compression challenge): run inside the grading sandbox.

The student's models leave the sandbox as data: every tensor they hold (parameters and
buffers), and, for a ``nn.Sequential`` of ``Linear``/``ReLU`` layers, the layers in
order. The grader rebuilds the model from these tensors and measures it itself; the
student's ``forward`` is never trusted. What is right is decided by
``coursework/judges/a3-pipeline.py``.
"""

import torch
from torch import nn

import helpers

PROBES = {}
#: Layers the grader can rebuild (others make the model unsupported).
LAYERS = {nn.Linear: "linear", nn.ReLU: "relu", nn.Identity: "identity",
          nn.Dropout: "identity", nn.Flatten: "flatten"}


def probe(question, inputs):
    def register(call):
        PROBES[call.__name__] = {"question": question, "inputs": inputs, "call": call}
        return call
    return register


def describe(model):
    """A model as data: its layers (when the grader can rebuild them) and every tensor."""
    if not isinstance(model, nn.Module):
        return {"kind": type(model).__name__}
    tensors = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        tensors[name] = p.detach().clone()
    for name, b in model.named_buffers(remove_duplicate=False):
        tensors[name] = b.detach().clone()
    for name, value in vars(model).items():        # tensors kept as plain attributes
        if torch.is_tensor(value) and name not in tensors:
            tensors[name] = value.detach().clone()
    layers = None
    if type(model) is nn.Sequential and all(type(m) in LAYERS for m in model):
        layers = []
        for m in model:
            kind = LAYERS[type(m)]
            if kind == "linear":
                layers.append({"kind": kind, "weight": m.weight.detach().clone(),
                               "bias": None if m.bias is None else m.bias.detach().clone()})
            else:
                layers.append({"kind": kind})
    return {"kind": "module", "layers": layers, "tensors": tensors,
            "modules": [type(m).__name__ for m in model.modules()][:200]}


def _tiny():
    tiny = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        tiny[0].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 0], [0.5, 0, 0, -2.0]]))
        tiny[2].weight.copy_(torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))
    return {"model": tiny}


def _pruned_lenet():
    helpers.train.seed_everything(4)
    net = helpers.models.mlp([64, 300, 100, 10])
    helpers.prune.apply_masks(net, helpers.prune.global_masks(net, 0.9))
    return {"model": net}


def _nothing():
    return {}


@probe("a3_storage", _tiny)
def csr_tiny(student, inputs):
    return student.csr_int8_bytes(inputs["model"])


@probe("a3_storage", _pruned_lenet)
def csr_lenet(student, inputs):
    return student.csr_int8_bytes(inputs["model"])


@probe("a3_targets", _nothing)
def compressed(student, inputs):
    return describe(student.compressed)


@probe("a3_table", _nothing)
def table(student, inputs):
    rows = student.table
    return {"table": rows if isinstance(rows, list) else None,
            "reference": describe(student.reference), "compressed": describe(student.compressed)}

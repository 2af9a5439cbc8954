"""Judges of assignment 3 (the compression challenge): run by the grader, never in the sandbox.

The student's model is rebuilt here from the tensors the probe sent (a ``nn.Sequential``
of ``Linear`` and ``ReLU`` layers, as ``helpers.models.mlp`` makes) and measured with
``helpers.pipeline.summarise``; storage counts every tensor the model holds: tensors
beyond the Linear layers' weights and biases are added at 4 bytes per entry.
"""

import functools

import numpy as np
import torch
from torch import nn

import helpers
import helpers.pipeline
import helpers.quant
from tools.coursework.build import load_settings
from tools.coursework.judging import case

REFERENCE_BYTES = 202_440


def _settings():
    return load_settings()["a3-pipeline"]


@functools.cache
def _data():
    return helpers.data.load_digits_split()


def rebuild(described):
    """``(model, extra_bytes)`` from a probe's description, or a ``ValueError``."""
    if not isinstance(described, dict) or described.get("kind") != "module" \
            or not isinstance(described.get("layers"), list):
        raise ValueError("unsupported model")
    layers, used = [], 0
    for layer in described["layers"]:
        kind = layer.get("kind")
        if kind == "linear":
            weight = np.asarray(layer["weight"], dtype=np.float32)
            if weight.ndim != 2:
                raise ValueError("weight")
            linear = nn.Linear(weight.shape[1], weight.shape[0], bias=layer["bias"] is not None)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(weight))
                used += weight.size
                if layer["bias"] is not None:
                    bias = np.asarray(layer["bias"], dtype=np.float32).reshape(weight.shape[0])
                    linear.bias.copy_(torch.from_numpy(bias))
                    used += bias.size
            layers.append(linear)
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind in ("identity", "flatten"):
            layers.append(nn.Identity() if kind == "identity" else nn.Flatten())
        else:
            raise ValueError("layer")
    tensors = described.get("tensors")
    if not isinstance(tensors, dict):
        raise ValueError("tensors")
    held = sum(np.asarray(t).size for t in tensors.values())
    return nn.Sequential(*layers).eval(), 4 * max(held - used, 0)


def measure(described):
    """``summarise``'s row for the student's model, storage including every tensor."""
    model, extra = rebuild(described)
    row = helpers.pipeline.summarise(model, _data(), reference=helpers.models.mlp([64, 300, 100, 10]),
                                     repeats=0)
    row["storage_bytes"] += extra
    row["compression"] = row["dense_bytes"] / row["storage_bytes"]
    return row, model


@case("a3_storage", "csr_tiny")
def csr_tiny(got, inputs, say):
    if not (isinstance(got, int) and not isinstance(got, bool) and got == 66):
        return say("a3_m_csr", got=got)


@case("a3_storage", "csr_lenet", hidden=True)
def csr_lenet(got, inputs, say):
    expected = helpers.metrics.storage_bytes(inputs["model"], "csr+int8", **helpers.pipeline.CSR_BITS)
    if not (isinstance(got, (int, float)) and not isinstance(got, bool) and got == expected):
        return say("a3_m_csr_hidden", expected=expected)


@case("a3_targets", "compressed", points=2)
def targets_storage(got, inputs, say):
    s = _settings()
    kib, ratio = s["max_storage_kib"], s["min_compression_ratio"]
    try:
        row, _ = measure(got)
    except (ValueError, KeyError, TypeError):
        return say("a3_m_storage", kib=kib, ratio=ratio, got_kib=float("nan"),
                   scheme="?", got_ratio=float("nan"))
    if not (row["storage_bytes"] <= kib * 1024 and row["compression"] >= ratio):
        return say("a3_m_storage", kib=kib, ratio=ratio, got_kib=row["storage_bytes"] / 1024,
                   scheme=row["scheme"], got_ratio=row["compression"])


@case("a3_targets", "compressed", points=2)
def targets_val(got, inputs, say):
    target = _settings()["min_test_accuracy"]
    try:
        model, _ = rebuild(got)
    except (ValueError, KeyError, TypeError):
        return say("a3_m_val", target=target, got=float("nan"))
    val = helpers.train.evaluate(helpers.quant.quantize_model_weights(model, 8), _data(), "val")
    if not val >= target:
        return say("a3_m_val", target=target, got=val)


@case("a3_targets", "compressed", points=2, hidden=True)
def targets_test(got, inputs, say):
    s = _settings()
    target, kib = s["min_test_accuracy"], s["max_storage_kib"]
    try:
        row, _ = measure(got)
    except (ValueError, KeyError, TypeError):
        return say("a3_m_test", target=target, got=float("nan"), kib=kib)
    if not (row["test_int8"] >= target and row["dense_bytes"] == REFERENCE_BYTES
            and row["storage_bytes"] <= kib * 1024):
        return say("a3_m_test", target=target, got=row["test_int8"], kib=kib)


def _rows(got):
    table = got.get("table")
    if not (isinstance(table, list) and table and all(isinstance(r, dict) for r in table)):
        raise ValueError("table")
    return table[0], table[-1]


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@case("a3_table", "table")
def table_rows(got, inputs, say):
    try:
        expected, _ = measure(got["compressed"])
        reference, _ = rebuild(got["reference"])
        first, last = _rows(got)
    except (ValueError, KeyError, TypeError):
        return say("a3_m_table", bytes="?", ratio=float("nan"), got_bytes=None, got_ratio=None)
    got_bytes, got_ratio = _number(last.get("storage_bytes")), _number(last.get("compression"))
    if not (first.get("parameters") == 50610
            and first.get("nonzero") == helpers.metrics.count_nonzero(reference)
            and got_bytes == expected["storage_bytes"] and got_ratio is not None
            and abs(got_ratio - expected["compression"]) < 1e-9):
        return say("a3_m_table", bytes=expected["storage_bytes"], ratio=expected["compression"],
                   got_bytes=last.get("storage_bytes"), got_ratio=last.get("compression"))


@case("a3_table", "table", hidden=True)
def table_hidden(got, inputs, say):
    try:
        expected, _ = measure(got["compressed"])
        _, last = _rows(got)
    except (ValueError, KeyError, TypeError):
        return say("a3_m_table_hidden")
    ratio, accuracy = _number(last.get("compression")), _number(last.get("test_int8"))
    if not ("model" in last and ratio is not None and abs(ratio - expected["compression"]) < 1e-9
            and last.get("nonzero") == expected["nonzero"] and accuracy is not None
            and abs(accuracy - expected["test_int8"]) < 1e-12):
        return say("a3_m_table_hidden")

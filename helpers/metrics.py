"""Measuring a model: parameters, nonzeros, multiply-accumulates, storage and latency.

Compression is judged by several numbers that do not move together: a model can have
fewer *parameters* without needing fewer *multiply-accumulates*, and fewer of either
without running faster. This module measures each of them separately:

``count_parameters`` / ``count_nonzero`` / ``layer_table``
    how many weights and biases there are, and how many are not zero;
``macs`` / ``macs_by_layer`` / ``flops``
    the multiply-accumulates of one forward pass, dense or counting only nonzero weights;
``storage_bits`` / ``storage_bytes`` / ``serialized_bytes``
    bytes in a stated storage format (dense fp32, CSR, relative indices, int8, shared
    weights) or as actually saved by ``torch.save``;
``measure_latency`` / ``compare_latency``
    measured wall-clock time of a forward pass (median and interquartile range), of one
    model or of several measured in alternation.

Accuracy is measured by :func:`helpers.train.evaluate`.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from ._checks import (
    check_finite, check_float_tensor, check_int_in_range, check_model, check_positive_int,
)
from .layers import ATTENTION_PROJECTIONS, WEIGHT_LAYERS, weight_attributes
from .train import evaluation_mode
from .i18n import column_header

__all__ = [
    "STORAGE_SCHEMES", "Latency", "count_parameters", "count_nonzero", "layer_table",
    "format_table", "macs", "macs_by_layer", "flops", "storage_bits", "storage_bytes",
    "relative_index_stream",
    "serialized_bytes", "compression_ratio", "measure_latency", "compare_latency",
    "SEMI_STRUCTURED_MAX_SPEEDUP", "SemiStructured", "semi_structured_bytes",
    "semi_structured",
]

#: Storage formats understood by :func:`storage_bits` and :func:`storage_bytes`.
STORAGE_SCHEMES = ("dense32", "int8", "csr", "csr+int8", "csr+shared", "relative",
                   "relative+shared")

_FLOAT_BITS = 32  # fp32 values, scales and codebook entries


# --------------------------------------------------------------------------- helpers


def _is_quantized_module(module: nn.Module) -> bool:
    return type(module).__module__.startswith("torch.ao.nn.quantized")


def _reject_quantized(model: nn.Module, what: str) -> None:
    for name, module in model.named_modules():
        if _is_quantized_module(module):
            raise TypeError(
                f"{what} measures float models, but layer {name!r} is a quantised "
                f"{type(module).__name__}; measure the float model before quantising it, "
                f"or use serialized_bytes() for the bytes a quantised model occupies")


def _parameters(model: nn.Module) -> list[tuple[str, nn.Module, str, torch.Tensor]]:
    """Every parameter once, as ``(qualified name, module, attribute, tensor)``.

    A weight pruned with ``torch.nn.utils.prune`` is stored as ``weight_orig`` plus a
    mask, one parametrised with ``torch.nn.utils.parametrize`` as
    ``parametrizations.weight.original``; the tensor the model computes with is the
    attribute ``weight``, so that is the one reported (under the name ``weight``).
    """
    check_model(model)
    out, seen = [], set()
    for module_name, module in model.named_modules():
        if parametrize.is_parametrized(module):
            # torch.nn.utils.parametrize: report the tensor the module computes with
            for attr, parametrization in module.parametrizations.items():
                seen.update(id(p) for p in parametrization.parameters())
                name = f"{module_name}.{attr}" if module_name else attr
                out.append((name, module, attr, getattr(module, attr).detach()))
        for attr, param in module.named_parameters(recurse=False):
            if id(param) in seen:
                continue
            seen.add(id(param))
            if attr.endswith("_orig") and hasattr(module, attr[:-5]):
                attr = attr[:-5]
                param = getattr(module, attr)
            name = f"{module_name}.{attr}" if module_name else attr
            out.append((name, module, attr, param.detach()))
    return out


def _nonzero(tensor: torch.Tensor) -> int:
    return int(torch.count_nonzero(tensor))


# --------------------------------------------------------------------------- counting


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (weights, biases, BatchNorm scales and shifts) of ``model``.

    Introduced in :doc:`background`, section *Why models grow*. Shared parameters are
    counted once; buffers (BatchNorm running statistics, pruning masks) are not
    parameters and are not counted.

    Parameters
    ----------
    model : nn.Module
        Any float PyTorch model.

    Returns
    -------
    int
        The total number of scalar parameters.

    Examples
    --------
    >>> from helpers.metrics import count_parameters
    >>> from helpers.models import mlp
    >>> count_parameters(mlp([4, 3, 2]))  # (4*3 + 3) + (3*2 + 2)
    23
    """
    _reject_quantized(check_model(model), "count_parameters()")
    return sum(t.numel() for _, _, _, t in _parameters(model))


def count_nonzero(model: nn.Module, *, per_parameter: bool = False) -> int | dict[str, int]:
    """Number of parameters of ``model`` that are not exactly zero.

    Introduced in :doc:`background`, section *Measuring the baseline*; the pruning
    chapters report it after every step. Weights and biases both count. For a weight
    pruned with ``torch.nn.utils.prune`` the masked weight is counted, not
    ``weight_orig``.

    Parameters
    ----------
    model : nn.Module
        Any float PyTorch model.
    per_parameter : bool
        If true, return ``{parameter name: nonzero count}`` instead of the total.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.metrics import count_nonzero
    >>> layer = nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = layer.weight.zero_()
    >>> count_nonzero(layer)  # the two biases
    2
    """
    _reject_quantized(check_model(model), "count_nonzero()")
    counts = {name: _nonzero(t) for name, _, _, t in _parameters(model)}
    return counts if per_parameter else sum(counts.values())


def layer_table(model: nn.Module) -> list[dict]:
    """One row per weight that pruning acts on: its size and how many parameters are zero.

    Introduced in :doc:`background`, section *Measuring the baseline*; render the rows
    with :func:`format_table`.

    Parameters
    ----------
    model : nn.Module
        A float model; each ``nn.Linear`` and ``nn.Conv1d/2d/3d`` layer gets a row, and
        each input projection of an ``nn.MultiheadAttention`` (named after the
        parameter, e.g. ``"attn.in_proj_weight"``, with its part of the bias).

    Returns
    -------
    list of dict
        Each row has the keys ``name`` (the module's name in the model), ``kind`` (its
        class, e.g. ``"Linear"``), ``shape`` (the weight's shape, a tuple),
        ``parameters`` and ``nonzero`` (weight and bias together), ``sparsity``
        (fraction of those parameters that are zero) and ``weight_sparsity`` (fraction
        of the weight alone, biases excluded: the figure a pruning method sets).
    """
    _reject_quantized(check_model(model), "layer_table()")
    rows = []
    for name, module, weight, bias in _weight_tensors(model):
        tensors = [weight] + ([bias] if bias is not None else [])
        n = sum(t.numel() for t in tensors)
        nz = sum(_nonzero(t) for t in tensors)
        kind = type(module)
        if parametrize.is_parametrized(module):  # a class made by torch, e.g. ParametrizedLinear
            kind = kind.__bases__[0]
        rows.append({
            "name": name,
            "kind": kind.__name__,
            "shape": tuple(weight.shape),
            "parameters": n,
            "nonzero": nz,
            "sparsity": 1 - nz / n,
            "weight_sparsity": 1 - _nonzero(weight) / weight.numel(),
        })
    return rows


def _weight_tensors(model: nn.Module):
    """``(row name, module, weight, bias or None)`` of each weight that pruning acts on.

    A Linear or Conv layer's row is named after the layer; each input projection of an
    ``nn.MultiheadAttention`` (:data:`helpers.layers.ATTENTION_PROJECTIONS`) gets a row
    named after the parameter, with its part of ``in_proj_bias``.
    """
    for name, module in model.named_modules():
        for attr in weight_attributes(module):
            weight = getattr(module, attr).detach()
            if attr == "weight":
                bias = module.bias
                yield name, module, weight, bias.detach() if bias is not None else None
                continue
            part = module.in_proj_bias
            if part is not None:
                part = part.detach()
                if attr != "in_proj_weight":   # q, k, v: a third of the bias each
                    k = ATTENTION_PROJECTIONS.index(attr) - 1
                    part = part[k * module.embed_dim:(k + 1) * module.embed_dim]
            yield f"{name}.{attr}" if name else attr, module, weight, part


def _format_cell(key: str, value, formats: dict) -> str:
    if key in formats:
        fmt = formats[key]
        text = fmt(value) if callable(fmt) else format(value, fmt)
    elif isinstance(value, bool):
        text = str(value)
    elif isinstance(value, (int, np.integer)):
        text = f"{value:,}"
    elif isinstance(value, (float, np.floating)):
        text = f"{100 * value:.1f}%" if "sparsity" in key else f"{value:,.3g}"
    elif isinstance(value, tuple):
        text = "×".join(str(v) for v in value)
    else:
        text = str(value)
    return text.replace("|", "\\|")


def format_table(rows: Sequence[dict], lang: str, columns: Sequence[str] | None = None,
                 *, formats: dict | None = None):
    """Render table rows (a list of dicts) as a Markdown table in language ``lang``.

    Introduced in :doc:`background`, section *Measuring the baseline*. The header of
    column ``key`` is :func:`helpers.i18n.column_header` (the text of ``"col_" + key``, or
    of ``key``), so the same code prints
    an English table on an English page and a Chinese one on a Chinese page.

    Parameters
    ----------
    rows : sequence of dict
        For example the rows of :func:`layer_table`.
    lang : str
        Language of the header, one of ``helpers.languages.LANGUAGES``.
    columns : sequence of str, optional
        Keys to show, in order; by default the keys of the first row, except
        ``weight_sparsity``.
    formats : dict, optional
        ``{key: format spec or callable}`` overriding the default formatting: integers
        with thousands separators, keys containing "sparsity" as percentages, other
        floats with three significant digits, shapes as ``300×64``.

    Returns
    -------
    IPython.display.Markdown
        Displayed as a table in a notebook; its text is in ``.data``.
    """
    from IPython.display import Markdown

    rows = list(rows)
    if not rows:
        raise ValueError("format_table() needs at least one row")
    if columns is None:
        columns = [k for k in rows[0] if k != "weight_sparsity"]
    columns = list(columns)
    for k, row in enumerate(rows):
        missing = [c for c in columns if c not in row]
        if missing:
            raise ValueError(f"row {k} has no column(s) {missing}")
    formats = dict(formats or {})
    header = [column_header(c, lang) for c in columns]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(":--" if c in ("name", "kind", "model", "scheme") else "--:"
                            for c in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_format_cell(c, row[c], formats) for c in columns)
                     + " |")
    return Markdown("\n".join(lines))


# --------------------------------------------------------------------------- MACs


def _check_input_shape(input_shape) -> tuple[int, ...]:
    if isinstance(input_shape, int) or not isinstance(input_shape, Sequence):
        raise TypeError("input_shape must be a sequence of ints (the shape of one example, "
                        f"without the batch dimension), got {input_shape!r}")
    if not input_shape:
        raise ValueError("input_shape must not be empty")
    return tuple(check_positive_int(s, f"input_shape[{k}]") for k, s in enumerate(input_shape))


def _layer_macs(module: nn.Module, output: torch.Tensor, effective: bool) -> int:
    """MACs of one example through ``module`` (the batch has one example)."""
    if isinstance(module, nn.Linear):
        positions = output.numel() // module.out_features
        weight = module.weight.detach()
    elif isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        positions = output[0, 0].numel()  # output positions per channel
        weight = module.weight.detach()
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        return output.numel()  # one multiply-add (scale and shift) per element
    else:  # a dynamically quantised Linear: int8 weights, same arithmetic
        positions = output.numel() // module.out_features
        weight = module.weight().dequantize()
    return positions * (_nonzero(weight) if effective else weight.numel())


def _counted(module: nn.Module) -> bool:
    import torch.ao.nn.quantized.dynamic as nnqd

    return isinstance(module, WEIGHT_LAYERS + (nn.modules.batchnorm._BatchNorm, nnqd.Linear))


def macs_by_layer(model: nn.Module, input_shape: Sequence[int], *,
                  effective: bool = False) -> dict[str, int]:
    """Multiply-accumulates (MACs) of each layer for one example of shape ``input_shape``.

    Introduced in :doc:`background`, section *Measuring the baseline*. Counted by
    forward hooks during one forward pass of a zero input (in evaluation mode; the
    model's mode is restored):

    * ``Linear``: ``in_features × out_features`` per position;
    * ``Conv1d/2d/3d``: the weight's size per output position (``C_out × C_in/groups ×
      kernel``), every position counted as if padding were data;
    * ``BatchNorm``: one multiply-add per output element (it can be folded into the
      preceding layer, which makes it free);
    * layers without parameters (activations, pooling, ``Flatten``): zero.

    Bias additions are not counted. With ``effective=True`` only the nonzero weights
    count: what an ideal sparse kernel would compute after unstructured pruning.

    Parameters
    ----------
    model : nn.Module
        The model; a layer with parameters of any other type raises ``TypeError``.
    input_shape : sequence of int
        Shape of one example without the batch dimension, e.g. ``(64,)`` or ``(1, 8, 8)``.
    effective : bool
        Count only nonzero weights.

    Returns
    -------
    dict
        ``{layer name: MACs}`` for the counted layers, in forward order.
    """
    check_model(model)
    shape = _check_input_shape(input_shape)
    inside_counted = {id(sub) for m in model.modules() if _counted(m)
                      for sub in m.modules()}  # e.g. the packed int8 weights of a layer
    for name, module in model.named_modules():
        if id(module) in inside_counted:
            continue
        if any(True for _ in module.parameters(recurse=False)) or (
                _is_quantized_module(module) and not list(module.children())):
            raise TypeError(
                f"macs() cannot count layer {name!r} of type {type(module).__name__}; "
                "supported: Linear, Conv1d/2d/3d, BatchNorm and layers without parameters")
    names = {module: name for name, module in model.named_modules()}
    counts: dict[str, int] = {}

    def hook(module, inputs, output):
        counts[names[module]] = counts.get(names[module], 0) + _layer_macs(
            module, output, effective)

    handles = [m.register_forward_hook(hook) for m in model.modules() if _counted(m)]
    params = list(model.parameters())
    device = params[0].device if params else torch.device("cpu")
    try:
        with evaluation_mode(model), torch.inference_mode():
            model(torch.zeros((1, *shape), device=device))
    except RuntimeError as err:
        raise ValueError(f"input_shape {shape} does not fit the model: {err}") from None
    finally:
        for h in handles:
            h.remove()
    return counts


def macs(model: nn.Module, input_shape: Sequence[int], *, effective: bool = False) -> int:
    """Total multiply-accumulates of one forward pass; see :func:`macs_by_layer`.

    Introduced in :doc:`background`, section *Measuring the baseline*.

    Examples
    --------
    >>> from helpers.metrics import macs
    >>> from helpers.models import mlp
    >>> macs(mlp([64, 32, 10]), (64,))  # 64*32 + 32*10
    2368
    """
    return sum(macs_by_layer(model, input_shape, effective=effective).values())


def flops(model: nn.Module, input_shape: Sequence[int], *, effective: bool = False) -> int:
    """Floating-point operations of one forward pass: two (a multiply and an add) per MAC.

    Introduced in :doc:`background`, section *Measuring the baseline*.
    """
    return 2 * macs(model, input_shape, effective=effective)


# --------------------------------------------------------------------------- storage


def relative_index_stream(weight: torch.Tensor, gap_bits: int = 5
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """The entries of Deep Compression's relative-index encoding of a weight tensor.

    Introduced in :doc:`pipeline`, section *Deep Compression's third stage*. Walking
    the flattened tensor, each stored entry records the gap to the previous stored
    entry (1 … ``2^gap_bits``) and a value; a gap too long for ``gap_bits`` bits is
    bridged by filler entries of value 0 every ``2^gap_bits`` positions (Han et al.
    2016, Figure 3). :func:`storage_bits` counts these entries; Huffman coding
    (:func:`helpers.quant.huffman_bits`) codes the two streams.

    Returns
    -------
    gaps : torch.Tensor of int64, shape (e,)
    values : torch.Tensor, shape (e,)
        The stored values, 0 for fillers; ``e`` = nonzeros + fillers.
    """
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    check_int_in_range(gap_bits, "gap_bits", 1, 32)
    flat = weight.detach().reshape(-1)
    positions = torch.nonzero(flat).reshape(-1).to(torch.int64)
    span = 2 ** gap_bits
    gaps, values, last = [], [], -1
    for position in positions.tolist():
        while position - last > span:  # a filler zero, span positions on
            last += span
            gaps.append(span)
            values.append(0.0)
        gaps.append(position - last)
        values.append(float(flat[position]))
        last = position
    return (torch.tensor(gaps, dtype=torch.int64),
            torch.tensor(values, dtype=flat.dtype if flat.is_floating_point() else None))


def _relative_entries(weight: torch.Tensor, gap_bits: int) -> int:
    """Entries of the relative-index encoding: the nonzeros plus the filler zeros."""
    positions = torch.nonzero(weight.reshape(-1)).reshape(-1).to(torch.int64)
    if positions.numel() == 0:
        return 0
    gaps = torch.diff(positions, prepend=positions.new_tensor([-1]))
    span = 2 ** gap_bits
    fillers = torch.div(gaps - 1, span, rounding_mode="floor")  # ceil(gap / span) - 1
    return int(positions.numel() + fillers.sum())


def storage_bits(weight: torch.Tensor, scheme: str = "dense32", *, index_bits: int = 32,
                 pointer_bits: int = 32, gap_bits: int = 5, value_bits: int | None = None,
                 per_channel: bool = True) -> int:
    """Bits needed to store one weight tensor in the storage format ``scheme``.

    Introduced in :doc:`background`, section *Storage formats*. The tensor is viewed as a
    matrix with ``rows = weight.shape[0]`` (output units or channels) and everything else
    flattened into the columns; ``n`` is its size and ``z`` its number of nonzeros.

    ==================== ==========================================================
    scheme               bits
    ==================== ==========================================================
    ``dense32``          ``32 n``
    ``int8``             ``8 n + 32 s``; ``s`` fp32 scales: one per row if
                         ``per_channel`` else one (symmetric, so no zero points)
    ``csr``              ``32 z + index_bits · z + pointer_bits · (rows + 1)``:
                         values, column indices, row pointers
    ``csr+int8``         ``8 z + index_bits · z + pointer_bits · (rows + 1) + 32 s``
    ``csr+shared``       ``value_bits · z + index_bits · z + pointer_bits · (rows + 1)
                         + 32 · 2^value_bits``: cluster indices and an fp32 codebook
    ``relative``         ``(32 + gap_bits) · e``
    ``relative+shared``  ``(value_bits + gap_bits) · e + 32 · 2^value_bits``
    ==================== ==========================================================

    The relative-index encoding of Deep Compression (Han et al. 2016) walks the
    flattened tensor and stores, for each nonzero, its value and the gap to the
    previous stored entry in ``gap_bits`` bits (gaps 1 … 2^gap_bits). When a gap is
    larger, a filler zero is stored every 2^gap_bits positions, so ``e`` = ``z`` +
    fillers. Han et al. use 5 bits for fully connected and 8 for convolutional layers.
    No row pointers are counted for it.

    Parameters
    ----------
    weight : torch.Tensor
        The tensor (any shape; a 1-D tensor is one row). NaN or infinity raise.
    scheme : str
        One of :data:`STORAGE_SCHEMES`.
    index_bits, pointer_bits : int
        Widths of CSR column indices and row pointers (1..64). ``torch`` itself uses
        64 for both; 32 is common (SciPy's default).
    gap_bits : int
        Width of a relative index (1..32).
    value_bits : int, optional
        Bits of a shared-weight cluster index (2..16); required by the ``+shared``
        schemes, which store ``2^value_bits`` fp32 centroids.
    per_channel : bool
        One int8 scale per row (output channel) rather than one per tensor.

    Examples
    --------
    >>> import torch
    >>> from helpers.metrics import storage_bits
    >>> w = torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    >>> storage_bits(w, 'dense32'), storage_bits(w, 'csr')
    (128, 160)
    """
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    if scheme not in STORAGE_SCHEMES:
        raise ValueError(f"unknown storage scheme {scheme!r}; choose one of {STORAGE_SCHEMES}")
    check_finite(weight.detach(), "weight")
    check_int_in_range(index_bits, "index_bits", 1, 64)
    check_int_in_range(pointer_bits, "pointer_bits", 1, 64)
    check_int_in_range(gap_bits, "gap_bits", 1, 32)
    if scheme.endswith("+shared"):
        if value_bits is None:
            raise ValueError(f"scheme {scheme!r} needs value_bits (bits per shared weight)")
        check_int_in_range(value_bits, "value_bits", 2, 16)
    elif value_bits is not None:
        raise ValueError(f"value_bits applies only to the '+shared' schemes, not {scheme!r}")
    weight = weight.detach()
    n = weight.numel()
    rows = weight.shape[0] if weight.dim() >= 2 else 1
    z = _nonzero(weight)
    scales = _FLOAT_BITS * (rows if per_channel else 1)
    csr_structure = index_bits * z + pointer_bits * (rows + 1)
    if scheme == "dense32":
        return _FLOAT_BITS * n
    if scheme == "int8":
        return 8 * n + scales
    if scheme == "csr":
        return _FLOAT_BITS * z + csr_structure
    if scheme == "csr+int8":
        return 8 * z + csr_structure + scales
    if scheme == "csr+shared":
        return value_bits * z + csr_structure + _FLOAT_BITS * 2 ** value_bits
    entries = _relative_entries(weight, gap_bits)
    if scheme == "relative":
        return (_FLOAT_BITS + gap_bits) * entries
    return (value_bits + gap_bits) * entries + _FLOAT_BITS * 2 ** value_bits


def storage_bytes(model: nn.Module | torch.Tensor, scheme: str = "dense32", **options) -> int:
    """Bytes to store a model (or one tensor) when its layer weights use ``scheme``.

    Introduced in :doc:`background`, section *Storage formats*. The weights of Linear
    and Conv layers, and the input projections of attention layers, are stored as
    :func:`storage_bits` describes (with the same keyword
    ``options``); biases, BatchNorm parameters and every other parameter stay dense fp32
    (they are few). Each tensor is rounded up to whole bytes. Buffers (BatchNorm running
    statistics) are not counted.

    Parameters
    ----------
    model : nn.Module or torch.Tensor
        A float model, or a single tensor.
    scheme : str
        One of :data:`STORAGE_SCHEMES`.
    **options
        ``index_bits``, ``pointer_bits``, ``gap_bits``, ``value_bits``, ``per_channel``.
    """
    if isinstance(model, torch.Tensor):
        return math.ceil(storage_bits(model, scheme, **options) / 8)
    _reject_quantized(check_model(model), "storage_bytes()")
    total = 0
    for _, module, attr, tensor in _parameters(model):
        compressed = attr in weight_attributes(module)
        bits = storage_bits(tensor, scheme if compressed else "dense32",
                            **(options if compressed else {}))
        total += math.ceil(bits / 8)
    return total


def serialized_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: what a saved model really occupies.

    Introduced in :doc:`background`, section *Storage, arithmetic and time move
    differently*. Unlike :func:`storage_bytes` this includes buffers and the file
    format's overhead, and it works for quantised models too.
    """
    buffer = io.BytesIO()
    torch.save(check_model(model).state_dict(), buffer)
    return buffer.getbuffer().nbytes


def compression_ratio(dense: float, compressed: float) -> float:
    """``dense / compressed``: how many times smaller the compressed model is.

    Introduced in :doc:`background`, section *Storage formats*. Use the same unit for
    both (bytes, parameters or MACs); a ratio of 12 is what papers write as "12×".

    Examples
    --------
    >>> from helpers.metrics import compression_ratio
    >>> compression_ratio(dense=1000, compressed=250)
    4.0
    """
    for value, name in ((dense, "dense"), (compressed, "compressed")):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(dense) / float(compressed)


# --------------------------------------------------------------------------- latency


@dataclass(frozen=True)
class Latency:
    """Measured latency of a forward pass, in milliseconds.

    Attributes
    ----------
    median_ms, q1_ms, q3_ms : float
        Median and quartiles over the repeats.
    times_ms : tuple of float
        Every repeat (already divided by the number of calls per repeat).
    threads : int
        Number of intra-op CPU threads used.
    """

    median_ms: float
    q1_ms: float
    q3_ms: float
    times_ms: tuple[float, ...] = field(repr=False)
    threads: int = 1

    @property
    def iqr_ms(self) -> float:
        """Interquartile range ``q3 − q1``: the spread of the middle half of the repeats."""
        return self.q3_ms - self.q1_ms


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency(model: nn.Module, example_input: torch.Tensor, *, repeats: int = 50,
                    warmup: int = 10, threads: int | None = 1, number: int = 1) -> Latency:
    """Measure how long ``model(example_input)`` takes: median and interquartile range.

    Introduced in :doc:`background`, section *Storage, arithmetic and time move
    differently*. The model runs in evaluation mode under ``torch.inference_mode``;
    ``warmup`` untimed calls come first (allocations, kernel selection), then
    ``repeats`` timed repeats of ``number`` calls each. On CPU the number of intra-op
    threads is fixed to ``threads`` and restored afterwards (as is the model's mode), so
    results are comparable between models; on a GPU the device is synchronised before
    each clock reading. Timings on a shared machine are noisy: compare medians measured
    side by side, and report the spread.

    Parameters
    ----------
    model : nn.Module
        The model (float or quantised).
    example_input : torch.Tensor
        A batch, moved to the model's device.
    repeats, warmup, number : int
        Timed repeats, untimed warm-up calls, and calls per timed repeat.
    threads : int or None
        CPU threads during the measurement; ``None`` keeps the current setting.
    """
    check_model(model)
    if not isinstance(example_input, torch.Tensor):
        raise TypeError("example_input must be a torch.Tensor, got "
                        f"{type(example_input).__name__}")
    check_positive_int(repeats, "repeats")
    check_positive_int(warmup, "warmup", allow_zero=True)
    check_positive_int(number, "number")
    if threads is not None:
        check_positive_int(threads, "threads")
    params = list(model.parameters())
    device = params[0].device if params else torch.device("cpu")
    x = example_input.to(device)
    old_threads = torch.get_num_threads()
    times = []
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        with evaluation_mode(model), torch.inference_mode():
            for _ in range(warmup):
                model(x)
            _synchronize(device)
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(number):
                    model(x)
                _synchronize(device)
                times.append((time.perf_counter() - start) * 1e3 / number)
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(old_threads)
    q1, median, q3 = np.percentile(times, [25, 50, 75])
    return Latency(float(median), float(q1), float(q3), tuple(times), used)


def compare_latency(models: dict[str, nn.Module], example_input: torch.Tensor, *,
                    rounds: int = 5, repeats: int = 10, warmup: int = 5,
                    threads: int | None = 1, number: int = 1) -> dict[str, Latency]:
    """Measure several models in alternation, so that a changing load affects all alike.

    Introduced in :doc:`background`, section *Storage, arithmetic and time move
    differently*. In each of ``rounds`` rounds every model is measured in turn by
    :func:`measure_latency` (``repeats`` timed repeats after ``warmup`` calls); the
    result of a model pools the repeats of all its rounds. On a shared machine this
    is fairer than measuring one model after the other.

    Parameters
    ----------
    models : dict
        ``{name: model}``; each gets ``example_input`` (moved to its device).
    example_input : torch.Tensor
    rounds, repeats, warmup, threads, number
        As in :func:`measure_latency`; ``rounds`` > 0.

    Returns
    -------
    dict
        ``{name: Latency}`` in the order of ``models``.
    """
    if not isinstance(models, dict) or not models:
        raise TypeError("models must be a non-empty dict {name: model}")
    check_positive_int(rounds, "rounds")
    times: dict[str, list[float]] = {name: [] for name in models}
    used = {}
    for _ in range(rounds):
        for name, model in models.items():
            result = measure_latency(model, example_input, repeats=repeats, warmup=warmup,
                                     threads=threads, number=number)
            times[name].extend(result.times_ms)
            used[name] = result.threads
    out = {}
    for name, values in times.items():
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        out[name] = Latency(float(median), float(q1), float(q3), tuple(values), used[name])
    return out


# --------------------------------------------------------------------------- 2:4 on hardware

#: The most that NVIDIA's sparse tensor cores speed up a 2:4-sparse matrix product:
#: twice the dense math throughput (Mishra et al. 2021); whole models gain less.
SEMI_STRUCTURED_MAX_SPEEDUP = 2.0

#: The smallest weight torch converts to its 2:4 format in fp16 (rows, columns); the
#: shape must be a multiple of it (``torch.sparse.SparseSemiStructuredTensorCUTLASS``).
_SEMI_STRUCTURED_SHAPE = (32, 64)


@dataclass(frozen=True)
class SemiStructured:
    """A 2:4-sparse layer in the format of sparse tensor cores: what it stores, and how
    fast its product runs where the hardware exists (:func:`semi_structured`).

    Attributes
    ----------
    dense_bytes, sparse_bytes : int
        The weight in fp16, dense; and as 2:4 (the kept half of the values in fp16 and
        a 2-bit position for each).
    latency : dict or None
        ``{"2:4": Latency, "dense": Latency}`` of ``x @ W.T`` measured in alternation
        (:func:`compare_latency`); ``None`` where nothing could be measured.
    reason : str or None
        Why nothing was measured: ``"no_cuda"`` (no CUDA GPU) or ``"no_sparse_cores"``
        (a GPU older than Ampere); :meth:`describe` words it.
    device : str
        Where it was measured, or would have been.
    max_error : float or None
        The largest difference between the two products' outputs.
    """

    dense_bytes: int
    sparse_bytes: int
    latency: dict[str, Latency] | None
    reason: str | None
    device: str
    max_error: float | None = None

    @property
    def memory_ratio(self) -> float:
        """Dense fp16 bytes over 2:4 bytes: 16 / 9 ≈ 1.78."""
        return self.dense_bytes / self.sparse_bytes

    @property
    def speedup(self) -> float | None:
        """The dense product's median time over the 2:4 product's; ``None`` unmeasured."""
        if self.latency is None:
            return None
        return self.latency["dense"].median_ms / self.latency["2:4"].median_ms

    def describe(self, lang: str) -> str:
        """What was measured, or why nothing was and what the hardware promises, as a
        sentence in ``lang``."""
        from .i18n import tr

        sizes = dict(dense=f"{self.dense_bytes / 2**20:.1f}",
                     sparse=f"{self.sparse_bytes / 2**20:.1f}", ratio=f"{self.memory_ratio:.2f}",
                     share=f"{100 / self.memory_ratio:.0f}")
        if self.latency is None:
            return tr("ss_unmeasured", lang).format(
                reason=tr(f"ss_reason_{self.reason}", lang), device=self.device,
                most=f"{SEMI_STRUCTURED_MAX_SPEEDUP:g}", **sizes)
        return tr("ss_measured", lang).format(
            device=self.device, sparse_ms=f"{self.latency['2:4'].median_ms:.3f}",
            dense_ms=f"{self.latency['dense'].median_ms:.3f}",
            speedup=f"{self.speedup:.2f}", most=f"{SEMI_STRUCTURED_MAX_SPEEDUP:g}",
            error=f"{self.max_error:.2g}", **sizes)


def _check_two_four(weight) -> torch.Tensor:
    weight = check_float_tensor(weight, "weight")
    if weight.dim() != 2:
        raise ValueError(f"weight must be a 2-D (out, in) matrix, got shape "
                         f"{tuple(weight.shape)}")
    rows, cols = _SEMI_STRUCTURED_SHAPE
    if weight.shape[0] % rows or weight.shape[1] % cols:
        raise ValueError(f"a 2:4 weight for sparse tensor cores must have a multiple of "
                         f"{rows} rows and of {cols} columns, got shape "
                         f"{tuple(weight.shape)}; pad the layer or use a larger one")
    per_group = (weight.detach().reshape(weight.shape[0], -1, 4) != 0).sum(-1)
    if (per_group > 2).any():
        raise ValueError("weight is not 2:4 sparse: some group of 4 consecutive inputs "
                         f"keeps {int(per_group.max())} nonzero weights; apply "
                         "helpers.prune.nm_mask(weight, 2, 4) first")
    return weight


def semi_structured_bytes(weight: torch.Tensor) -> int:
    """Bytes of a 2:4-sparse weight in the format of sparse tensor cores.

    Introduced in :doc:`faq`, section *N:M sparsity in hardware*. Half the values are
    kept, in fp16 (16 bits each), with a 2-bit position inside its group of four:
    ``numel / 2 × 18`` bits, 9/16 of the dense fp16 matrix (Mishra et al. 2021).

    Raises
    ------
    TypeError
        If ``weight`` is not a floating-point tensor.
    ValueError
        If it is not a 2-D 2:4-sparse matrix of a shape torch converts (multiples of
        32 rows and 64 columns).
    """
    weight = _check_two_four(weight)
    return weight.numel() // 2 * (16 + 2) // 8


def semi_structured(weight: torch.Tensor, *, batch: int = 4096, rounds: int = 5,
                    repeats: int = 10, device: torch.device | str | None = None
                    ) -> SemiStructured:
    """Convert a 2:4-sparse weight to torch's semi-structured format and time ``x @ W.T``
    against the dense product, where the hardware has sparse tensor cores.

    Introduced in :doc:`faq`, section *N:M sparsity in hardware*. On a CUDA GPU of
    compute capability 8.0 or more (Ampere and later), the weight in fp16 is converted
    by ``torch.sparse.to_sparse_semi_structured`` and both products of a batch of
    ``batch`` random inputs are timed in alternation (:func:`compare_latency`); the two
    outputs are compared. Elsewhere (a CPU, an older GPU) nothing is timed and
    ``reason`` says why; the storage figures hold everywhere.

    Parameters
    ----------
    weight : torch.Tensor
        Shape ``(out, in)``, 2:4-sparse along ``in`` (:func:`helpers.prune.nm_mask`),
        ``out`` a multiple of 32 and ``in`` of 64; not changed.
    batch, rounds, repeats : int
        Rows of the input; rounds and timed repeats of :func:`compare_latency`.
    device : torch.device or str, optional
        Where to measure; by default the first CUDA GPU if there is one.

    Returns
    -------
    SemiStructured

    Raises
    ------
    TypeError
        If ``weight`` is not a floating-point tensor.
    ValueError
        If it is not 2:4-sparse or not of a shape torch converts (the message says
        which), or a count is not a positive int.
    """
    weight = _check_two_four(weight)
    check_positive_int(batch, "batch")
    check_positive_int(rounds, "rounds")
    check_positive_int(repeats, "repeats")
    device = torch.device(device if device is not None
                          else "cuda" if torch.cuda.is_available() else "cpu")
    sizes = dict(dense_bytes=weight.numel() * 2, sparse_bytes=semi_structured_bytes(weight))
    if device.type != "cuda":
        return SemiStructured(**sizes, latency=None, device=str(device), reason="no_cuda")
    if torch.cuda.get_device_capability(device) < (8, 0):
        return SemiStructured(**sizes, latency=None, reason="no_sparse_cores",
                              device=torch.cuda.get_device_name(device))
    from torch.sparse import to_sparse_semi_structured

    half = weight.detach().to(device, torch.float16)
    dense = nn.Linear(*reversed(half.shape), bias=False, device=device, dtype=torch.float16)
    sparse = nn.Linear(*reversed(half.shape), bias=False, device=device, dtype=torch.float16)
    dense.weight = nn.Parameter(half.clone(), requires_grad=False)
    sparse.weight = nn.Parameter(to_sparse_semi_structured(half), requires_grad=False)
    x = torch.randn(batch, half.shape[1], device=device, dtype=torch.float16)
    with torch.inference_mode():
        error = float((dense(x) - sparse(x)).abs().max())
    latency = compare_latency({"2:4": sparse, "dense": dense}, x, rounds=rounds,
                              repeats=repeats, threads=None)
    return SemiStructured(**sizes, latency=latency, reason=None,
                          device=torch.cuda.get_device_name(device), max_error=error)

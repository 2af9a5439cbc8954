"""Quantisation: fewer bits per weight.

``quantize`` / ``dequantize``
    uniform integer quantisation, symmetric or affine (with a zero point), per tensor
    or per output channel (its arithmetic: ``scale_and_round``);
``quantize_model_weights``
    a copy of a model whose layer weights are rounded to that grid ("fake"
    quantisation: the values are quantised, the arithmetic stays fp32);
``dynamic_quantize``
    PyTorch's own post-training dynamic int8 quantisation of Linear layers (int8
    weights and int8 matrix kernels);
``kmeans_share`` / ``kmeans_share_model``
    weight sharing by k-means as in Deep Compression (Han et al. 2016; one iteration:
    ``lloyd_step``);
``CentroidFineTuning``
    fine-tuning of the shared values, Deep Compression's trained quantisation;
``huffman_code_lengths`` / ``huffman_bits`` / ``entropy_bits`` / ``huffman_storage_bits``
    Huffman coding of the quantised values and index gaps, Deep Compression's third stage.
"""

from __future__ import annotations

import copy
import heapq
import math
import warnings
from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn

from ._checks import (
    check_finite, check_float_tensor, check_int_in_range, check_positive_int, checked,
)
from .layers import distinct_weights
from .metrics import relative_index_stream

__all__ = ["SCHEMES", "QuantizedTensor", "quantize", "scale_and_round", "dequantize",
           "quantize_model_weights", "dynamic_quantize", "SharedWeights", "lloyd_step",
           "kmeans_share", "kmeans_share_model",
           "CentroidFineTuning", "huffman_code_lengths", "huffman_bits", "entropy_bits",
           "huffman_storage_bits", "huffman_storage_bytes"]

#: Quantisation schemes understood by :func:`quantize`.
SCHEMES = ("symmetric", "affine")


def _check_bits(bits) -> int:
    return check_int_in_range(bits, "bits", 2, 16)


@dataclass(frozen=True)
class QuantizedTensor:
    """Integers plus the scale and zero point that map them back to real numbers.

    ``real ≈ (q − zero_point) · scale``. The grid's step is ``scale``; rounding to
    the nearest grid point is off by at most half a step.

    Attributes
    ----------
    q : torch.Tensor
        The integers (int32), in ``[-(2^(b-1) - 1), 2^(b-1) - 1]`` (symmetric) or
        ``[0, 2^b - 1]`` (affine).
    scale, zero_point : torch.Tensor
        Float64 step and int32 zero point: scalars, or shaped to broadcast along the
        channel axis when ``per_channel``.
    bits : int
    scheme : {"symmetric", "affine"}
    per_channel : bool
    dtype : torch.dtype
        The dtype of the original tensor, restored by :meth:`dequantize`.
    """

    q: torch.Tensor
    scale: torch.Tensor
    zero_point: torch.Tensor
    bits: int
    scheme: str
    per_channel: bool
    dtype: torch.dtype

    def dequantize(self) -> torch.Tensor:
        """The real values on the grid: ``(q − zero_point) · scale``."""
        return ((self.q - self.zero_point).to(torch.float64) * self.scale).to(self.dtype)


def quantize(x: torch.Tensor, bits: int = 8, scheme: str = "symmetric", *,
             per_channel: bool = False, axis: int = 0) -> QuantizedTensor:
    """Round a tensor to a uniform grid of ``2^bits`` integer levels.

    Introduced in :doc:`background`, section *The toolbox*.

    * **symmetric**: ``scale = max|x| / (2^(b−1) − 1)``, zero point 0, integers in
      ``[−(2^(b−1) − 1), 2^(b−1) − 1]``. Zero maps to zero, so pruned weights stay
      exactly zero.
    * **affine** (asymmetric): the range ``[min(x, 0), max(x, 0)]`` is split into
      ``2^b − 1`` steps; ``zero_point = round(−min / scale)`` is the integer that
      represents 0 exactly. It uses the levels fully when the values are one-sided
      (e.g. after a ReLU).

    ``q = clamp(round(x / scale) + zero_point)``; every value lies inside the range,
    so the rounding error ``|x − dequantize(q)|`` is at most ``scale / 2``. A range
    of zero (an all-zero tensor or channel) gets scale 1.

    Parameters
    ----------
    x : torch.Tensor
        Floating-point values; NaN or infinity raise ``ValueError``.
    bits : int
        Bits per integer, 2..16.
    scheme : {"symmetric", "affine"}
    per_channel : bool
        One scale (and zero point) per slice along ``axis`` (the output channel of a
        weight) instead of one per tensor. Each channel's step is then at most the
        per-tensor step.
    axis : int
        The channel axis for ``per_channel``.

    Examples
    --------
    >>> import torch
    >>> from helpers.quant import dequantize, quantize
    >>> x = torch.tensor([-1.0, 0.0, 0.5, 1.0])
    >>> qt = quantize(x, bits=8)
    >>> qt.q.tolist(), bool((dequantize(qt) - x).abs().max() <= qt.scale / 2)
    ([-127, 0, 64, 127], True)
    """
    x = check_float_tensor(x, "x").detach()
    bits = _check_bits(bits)
    _check_scheme(scheme)
    xd = x.to(torch.float64)
    if per_channel:
        if x.dim() == 0:
            raise ValueError("per_channel quantisation needs a tensor with a channel axis")
        if not -x.dim() <= axis < x.dim():
            raise ValueError(f"axis {axis} out of range for a {x.dim()}-D tensor")
        axis = axis % x.dim()
        moved = xd.movedim(axis, 0).reshape(x.shape[axis], -1)
        lo, hi = moved.min(dim=1).values, moved.max(dim=1).values
        shape = [1] * x.dim()
        shape[axis] = x.shape[axis]
        lo, hi = lo.reshape(shape), hi.reshape(shape)
    else:
        lo, hi = (xd.min(), xd.max()) if x.numel() else (xd.new_zeros(()), xd.new_zeros(()))
    q, scale, zero_point = scale_and_round.unchecked(xd, lo, hi, bits, scheme)
    return QuantizedTensor(q.to(torch.int32), scale, zero_point.to(torch.int32), bits, scheme,
                           per_channel, x.dtype)


def _check_scheme(scheme) -> str:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown quantisation scheme {scheme!r}; choose one of {SCHEMES}")
    return scheme


def _check_scale_and_round(x, lo, hi, bits, scheme="symmetric") -> None:
    check_float_tensor(x, "x")
    for name, bound in (("lo", lo), ("hi", hi)):
        if not isinstance(bound, torch.Tensor) or not bound.is_floating_point():
            raise TypeError(f"{name} must be a floating-point torch.Tensor (a scalar, or "
                            f"shaped to broadcast along the channel axis), got "
                            f"{type(bound).__name__}")
        if bound.dim() > x.dim() or any(b not in (1, s) for b, s in zip(
                reversed(bound.shape), reversed(x.shape))):
            raise ValueError(f"{name} has shape {tuple(bound.shape)}, which does not "
                             f"broadcast to x's shape {tuple(x.shape)}")
        check_finite(bound, name)
    if bool((lo > hi).any()):
        raise ValueError("lo must not exceed hi: they are the smallest and largest value "
                         "of x (per tensor or per channel)")
    _check_bits(bits)
    _check_scheme(scheme)


@checked(_check_scale_and_round)
def scale_and_round(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bits: int,
                    scheme: str = "symmetric"):
    """Uniform quantisation of ``x`` to ``bits``-bit integers, given its range.

    Introduced in :doc:`pipeline`, section *Quantisation in brief*. ``lo``, ``hi``: the
    smallest and largest value (per tensor, or per channel shaped to broadcast).
    Returns ``q = clamp(round(x / s) + z)``, the scale ``s`` and the zero point ``z``
    (floats); :func:`quantize` computes the range and stores ``q`` as integers.
    """
    if scheme == "symmetric":  # z = 0, s = max|x| / (2^(b-1) - 1)
        qmin, qmax = -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
        scale = torch.maximum(hi.abs(), lo.abs()) / qmax
    else:  # affine: [min(x, 0), max(x, 0)] in 2^b - 1 steps
        qmin, qmax = 0, 2 ** bits - 1
        lo, hi = lo.clamp(max=0), hi.clamp(min=0)
        scale = (hi - lo) / qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # all zero: s = 1
    zero_point = (torch.zeros_like(scale) if scheme == "symmetric"
                  else torch.round(-lo / scale).clamp(qmin, qmax))
    q = torch.clamp(torch.round(x / scale) + zero_point, qmin, qmax)
    return q, scale, zero_point


def dequantize(qt: QuantizedTensor) -> torch.Tensor:
    """Map quantised integers back to real values: ``(q − zero_point) · scale``.

    Introduced in :doc:`background`, section *The toolbox*.

    Examples
    --------
    >>> import torch
    >>> from helpers.quant import dequantize, quantize
    >>> dequantize(quantize(torch.tensor([-1.0, 1.0]), bits=8))
    tensor([-1.,  1.])
    """
    if not isinstance(qt, QuantizedTensor):
        raise TypeError(f"dequantize() needs a QuantizedTensor, got {type(qt).__name__}")
    return qt.dequantize()


def _weights(model: nn.Module, what: str) -> dict[str, nn.Parameter]:
    """The weights quantisation acts on: those of :func:`helpers.prune.prunable_parameters`
    (Linear and Conv weights, attention projections), each tied tensor once."""
    return distinct_weights(model, what=what, required=False)


def _map_weights(model: nn.Module, what: str, transform) -> nn.Module:
    """A copy of ``model`` whose layer weights are replaced by ``transform(weight)``."""
    names = list(_weights(model, what))
    result = copy.deepcopy(model)
    params = dict(result.named_parameters(remove_duplicate=False))
    with torch.no_grad():
        for name in names:
            params[name].copy_(transform(params[name]))
    return result


def quantize_model_weights(model: nn.Module, bits: int = 8, scheme: str = "symmetric", *,
                           per_channel: bool = True) -> nn.Module:
    """A copy of ``model`` whose Linear and Conv weights are rounded to a ``bits``-bit grid.

    Introduced in :doc:`background`, section *The toolbox*. "Fake" quantisation: the
    weights take only ``2^bits`` values per channel (or per tensor) but are stored and
    multiplied as fp32, which shows the accuracy cost of a bit width on any device.
    Biases and BatchNorm parameters are left alone; the original model is unchanged.
    Zeros stay zero (both schemes represent 0 exactly). The weights are those that
    pruning selects (:func:`helpers.prune.prunable_parameters`: attention projections
    too, and a tensor tied between layers rounded once).

    Parameters
    ----------
    model : nn.Module
    bits, scheme, per_channel
        As in :func:`quantize`; ``per_channel`` uses the output channel (axis 0).
    """
    _check_bits(bits)
    return _map_weights(model, "quantising", lambda w: quantize(
        w, bits, scheme, per_channel=per_channel).dequantize())


def dynamic_quantize(model: nn.Module) -> nn.Module:
    """PyTorch's post-training dynamic int8 quantisation of the Linear layers of a copy.

    Introduced in :doc:`background`, section *Storage, arithmetic and time move
    differently*. Calls ``torch.ao.quantization.quantize_dynamic(copy, {nn.Linear},
    dtype=torch.qint8)`` on a CPU copy: each Linear weight is stored as int8 with one
    fp32 scale (per tensor); at run time activations are quantised on the fly and the
    matrix products use int8 kernels (fbgemm / x86). Other layers (Conv, BatchNorm)
    stay fp32. The returned model runs on the CPU only; the original is unchanged.

    In torch 2.13, ``torch.ao.quantization`` is deprecated in favour of the separate
    ``torchao`` package and emits a ``DeprecationWarning`` (and a ``UserWarning`` about
    quantised tensor types) while converting; the kernels themselves work. These two
    warnings, and only these, are silenced here so that the book's pages stay clean.
    """
    _weights(model, "quantising")
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        raise ValueError("dynamic_quantize() found no nn.Linear layer to quantise")
    cpu_copy = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.ao.quantization is deprecated",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="torch.quantize_per_tensor, "
                                "torch.quantize_per_channel", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(cpu_copy, {nn.Linear},
                                                      dtype=torch.qint8)


@dataclass(frozen=True)
class SharedWeights:
    """The result of :func:`kmeans_share`.

    Attributes
    ----------
    weight : torch.Tensor
        The shared weights: each nonzero replaced by its cluster's centroid, zeros kept.
    codebook : torch.Tensor
        The ``2^bits`` centroids (sorted).
    assignments : torch.Tensor
        Int64 cluster index of each weight, −1 where the weight is zero.
    iterations : int
        Lloyd iterations run.
    """

    weight: torch.Tensor
    codebook: torch.Tensor
    assignments: torch.Tensor
    iterations: int


def _assign(values: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the nearest of the sorted ``centroids`` for each value (1-D)."""
    midpoints = (centroids[1:] + centroids[:-1]) / 2
    return torch.searchsorted(midpoints, values)


def _check_lloyd_step(values, labels, centroids) -> None:
    for name, tensor in (("values", values), ("centroids", centroids)):
        check_float_tensor(tensor, name)
        if tensor.dim() != 1:
            raise ValueError(f"{name} must be one-dimensional, got shape "
                             f"{tuple(tensor.shape)}; pass {name}.reshape(-1)")
    if bool((centroids[1:] < centroids[:-1]).any()):
        raise ValueError("centroids must be sorted in increasing order; pass "
                         "torch.sort(centroids).values")
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64 \
            or labels.shape != values.shape:
        raise TypeError(f"labels must be an int64 tensor of shape {tuple(values.shape)}, "
                        f"one cluster index per value")
    if bool(((labels < 0) | (labels >= len(centroids))).any()):
        raise ValueError(f"labels must lie in 0..{len(centroids) - 1}, one index of "
                         f"centroids per value")


@checked(_check_lloyd_step)
def lloyd_step(values: torch.Tensor, labels: torch.Tensor,
               centroids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One iteration of one-dimensional k-means: update the centroids, then assign.

    Introduced in :doc:`pipeline`, section *Deep Compression's third stage*. Each of
    the sorted ``centroids`` (k,) moves to the mean of its ``values`` (n,) (``labels``,
    int64 in [0, k)); one without values stays (:func:`kmeans_share` gives it a value
    first). Returns the sorted centroids and the index of each value's nearest
    centroid.
    """
    k = len(centroids)
    sums = torch.zeros(k, dtype=values.dtype, device=values.device).index_add_(
        0, labels, values)
    counts = torch.bincount(labels, minlength=k)
    centroids = torch.where(counts > 0, sums / counts.clamp(min=1), centroids)
    centroids = torch.sort(centroids).values
    return centroids, _assign(values, centroids)


def _fill_empty(values: torch.Tensor, labels: torch.Tensor,
                centroids: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Labels in which each empty cluster holds a value far from its centroid; any moved?

    As scikit-learn's ``KMeans`` relocates empty clusters: the values farthest from
    their centroids move, one to each empty cluster (the stable sort takes the first
    of equal distances); a value on its centroid stays, as moving it gains nothing.
    """
    empty = torch.nonzero(torch.bincount(labels, minlength=len(centroids)) == 0)[:, 0]
    if len(empty) == 0:
        return labels, False
    distance = (values - centroids[labels]).abs()
    far = torch.sort(distance, descending=True, stable=True).indices[:len(empty)]
    far = far[distance[far] > 0]
    if len(far) == 0:
        return labels, False
    labels = labels.clone()
    labels[far] = empty[:len(far)]
    return labels, True


def kmeans_share(weight: torch.Tensor, bits: int, *, max_iter: int = 50) -> SharedWeights:
    """Weight sharing by one-dimensional k-means, as in Deep Compression.

    Introduced in :doc:`background`, section *The toolbox* (exercise on weight sharing).
    Han et al. (2016) cluster the weights of each layer into ``k = 2^bits`` groups and
    store, per weight, only the ``bits``-bit index of its group plus one fp32 codebook
    of centroids. As in their paper:

    * only the **nonzero** weights are clustered; pruned (zero) weights stay exactly
      zero and get assignment −1;
    * the centroids start **linearly** spaced between the smallest and the largest
      nonzero weight (the initialisation they found best, because it keeps the rare
      large weights represented);
    * Lloyd's iterations (assign each weight to its nearest centroid, move each
      centroid to the mean of its weights, :func:`lloyd_step`) run until the
      assignments stop changing, at most ``max_iter`` times. A cluster left empty
      first takes the weight farthest from its centroid, as scikit-learn's
      ``KMeans`` relocates empty clusters, so that no centroid is wasted: a layer
      with at most ``2^bits`` distinct nonzero values keeps them all exactly.

    The result has at most ``2^bits`` distinct nonzero values (the codebook may
    repeat a value when there are fewer). (Han et al. then fine-tune the centroids
    with the summed gradients of their weights: :class:`CentroidFineTuning`.)

    Parameters
    ----------
    weight : torch.Tensor
        A floating-point tensor of any shape; NaN or infinity raise.
    bits : int
        Bits per cluster index, 2..16.
    max_iter : int
        Maximum number of Lloyd iterations.

    Examples
    --------
    >>> import torch
    >>> from helpers.quant import kmeans_share
    >>> shared = kmeans_share(torch.tensor([0.1, 0.12, 0.0, 0.9, 1.0, -0.5]), bits=2)
    >>> shared.assignments.tolist()  # -1: the zero stays zero
    [1, 2, -1, 3, 3, 0]
    """
    weight = check_float_tensor(weight, "weight").detach()
    bits = _check_bits(bits)
    check_positive_int(max_iter, "max_iter")
    k = 2 ** bits
    flat = weight.reshape(-1)
    mask = flat != 0
    values = flat[mask].to(torch.float64)
    assignments = torch.full(flat.shape, -1, dtype=torch.int64, device=flat.device)
    if values.numel() == 0:
        codebook = torch.zeros(k, dtype=weight.dtype, device=weight.device)
        return SharedWeights(weight.clone(), codebook, assignments.reshape(weight.shape), 0)
    centroids = torch.linspace(float(values.min()), float(values.max()), k,
                               dtype=torch.float64, device=values.device)
    labels = _assign(values, centroids)
    iterations = 0
    for iterations in range(1, max_iter + 1):
        filled, moved = _fill_empty(values, labels, centroids)
        centroids, new_labels = lloyd_step.unchecked(values, filled, centroids)
        if not moved and torch.equal(new_labels, labels):
            break
        labels = new_labels
    shared = torch.zeros_like(flat)
    shared[mask] = centroids[labels].to(weight.dtype)
    assignments[mask] = labels
    return SharedWeights(shared.reshape(weight.shape), centroids.to(weight.dtype),
                         assignments.reshape(weight.shape), iterations)


def kmeans_share_model(model: nn.Module, bits: int, *, max_iter: int = 50) -> nn.Module:
    """A copy of ``model`` whose Linear and Conv weights are shared per layer by k-means.

    Introduced in :doc:`background`, section *The toolbox* (exercise on weight sharing).
    Each layer gets its own codebook of ``2^bits`` centroids (:func:`kmeans_share`);
    the weights are those of :func:`quantize_model_weights`; biases and other
    parameters are left alone, and so is the original model. Deep
    Compression used 8 bits for convolutional and 5 for fully connected layers.
    """
    _check_bits(bits)
    return _map_weights(model, "sharing weights",
                        lambda w: kmeans_share(w, bits, max_iter=max_iter).weight)


class CentroidFineTuning:
    """Fine-tune shared weights as centroids: Deep Compression's trained quantisation.

    Introduced in :doc:`pipeline`, section *Deep Compression's third stage*. The
    constructor shares the weights of every Linear and Conv layer of ``model`` (the
    weights of :func:`quantize_model_weights`) by
    k-means (:func:`kmeans_share`, ``2^bits`` values per layer; zeros stay zero) and
    writes the shared values into ``model``. Passed as ``after_step`` to
    :func:`helpers.train.fit`, it then ties every cluster back to one value after each
    optimiser step: the mean of its weights. With plain SGD this moves each centroid by
    the learning rate times the *mean* gradient of its weights; Han et al. (2016) use
    the *sum*, the same direction with a learning rate scaled by the cluster's size.
    Pruned weights stay zero and the assignments never change, so the model keeps at
    most ``2^bits`` distinct nonzero values per layer.

    Parameters
    ----------
    model : nn.Module
        Modified in place: its layer weights become the shared values.
    bits : int
        Bits per cluster index, 2..16.
    """

    def __init__(self, model: nn.Module, bits: int, *, max_iter: int = 50):
        bits = _check_bits(bits)
        #: Parameter name → cluster index of each weight (−1: zero).
        self.assignments: dict[str, torch.Tensor] = {}
        self.bits = bits
        with torch.no_grad():
            for name, weight in _weights(model, "fine-tuning centroids").items():
                shared = kmeans_share(weight, bits, max_iter=max_iter)
                weight.copy_(shared.weight)
                self.assignments[name] = shared.assignments

    def __call__(self, model: nn.Module) -> None:
        k = 2 ** self.bits
        with torch.no_grad():
            for name, weight in _weights(model, "fine-tuning centroids").items():
                labels = self.assignments[name].reshape(-1).to(weight.device)
                flat = weight.reshape(-1)
                kept = labels >= 0
                sums = torch.zeros(k, dtype=flat.dtype, device=flat.device).index_add_(
                    0, labels[kept], flat[kept])
                counts = torch.bincount(labels[kept], minlength=k).clamp(min=1)
                tied = torch.zeros_like(flat)
                tied[kept] = (sums / counts)[labels[kept]]
                weight.copy_(tied.reshape(weight.shape))


def _symbol_counts(symbols) -> Counter:
    if isinstance(symbols, torch.Tensor):
        symbols = symbols.detach().reshape(-1).tolist()
    elif hasattr(symbols, "tolist"):  # a NumPy array
        symbols = symbols.reshape(-1).tolist()
    counts = Counter(symbols)
    if not counts:
        raise ValueError("Huffman coding needs at least one symbol; got an empty sequence")
    return counts


def huffman_code_lengths(symbols) -> dict:
    """Code length in bits of each distinct symbol in an optimal prefix code.

    Introduced in :doc:`pipeline`, section *Deep Compression's third stage*. Huffman's
    algorithm (1952): repeatedly merge the two least frequent groups of symbols; every
    merge adds one bit to the code of each symbol in both groups. Frequent symbols get
    short codes, and the average length ``L`` per symbol satisfies ``H ≤ L < H + 1``,
    ``H`` the entropy of the symbol frequencies (:func:`entropy_bits`). A sequence of a
    single distinct symbol gets a 1-bit code.

    Parameters
    ----------
    symbols : sequence, NumPy array or torch.Tensor
        The sequence to code (hashable items; tensors and arrays are flattened).

    Returns
    -------
    dict
        Symbol → code length in bits.

    Raises
    ------
    ValueError
        For an empty sequence.
    """
    counts = _symbol_counts(symbols)
    lengths = dict.fromkeys(counts, 0)
    if len(counts) == 1:
        return dict.fromkeys(counts, 1)
    # (count, tie-breaker, symbols of the group); the tie-breaker keeps the order fixed
    heap = [(count, k, [symbol]) for k, (symbol, count) in enumerate(counts.items())]
    heapq.heapify(heap)
    tie = len(heap)
    while len(heap) > 1:
        count_a, _, group_a = heapq.heappop(heap)
        count_b, _, group_b = heapq.heappop(heap)
        for symbol in group_a + group_b:
            lengths[symbol] += 1
        heapq.heappush(heap, (count_a + count_b, tie, group_a + group_b))
        tie += 1
    return lengths


def huffman_bits(symbols) -> int:
    """Bits to Huffman-code a sequence: the sum of its symbols' code lengths.

    Introduced in :doc:`pipeline`, section *Deep Compression's third stage*. The code
    table itself (a few bits per distinct symbol) is not counted. See
    :func:`huffman_code_lengths`.
    """
    counts = _symbol_counts(symbols)
    lengths = huffman_code_lengths(symbols)
    return sum(counts[s] * lengths[s] for s in counts)


def entropy_bits(symbols) -> float:
    """``n · H``: the Shannon lower bound on the bits of any symbol-by-symbol code.

    Introduced in :doc:`pipeline`, section *Deep Compression's third stage*. ``H`` is
    the entropy ``−Σ p log2 p`` of the symbol frequencies and ``n`` the length of the
    sequence; :func:`huffman_bits` lies in ``[n·H, n·H + n)``.
    """
    counts = _symbol_counts(symbols)
    n = sum(counts.values())
    return -sum(c * math.log2(c / n) for c in counts.values())


def huffman_storage_bits(weight: torch.Tensor, *, gap_bits: int = 5) -> dict[str, float]:
    """Deep Compression's storage of one shared, sparse weight tensor, Huffman-coded.

    Introduced in :doc:`pipeline`, section *Deep Compression's third stage*. The
    relative-index encoding (:func:`helpers.metrics.relative_index_stream`) gives two
    streams, the stored values (shared weights; 0 for fillers) and the index gaps; each
    is Huffman-coded, and the codebook of distinct values is stored in fp32.

    Returns
    -------
    dict
        ``values``, ``gaps`` (Huffman-coded bits of each stream), ``codebook``
        (``32 ×`` distinct nonzero values), ``total``, and ``values_entropy``,
        ``gaps_entropy`` (the bounds ``n · H`` of :func:`entropy_bits`), ``entries``
        (the length of each stream: stored weights and fillers). An all-zero tensor
        stores nothing.
    """
    weight = check_float_tensor(weight, "weight")
    gaps, values = relative_index_stream(weight, gap_bits)
    if gaps.numel() == 0:
        return dict.fromkeys(("values", "gaps", "codebook", "total", "values_entropy",
                              "gaps_entropy", "entries"), 0)
    result = {"values": huffman_bits(values), "gaps": huffman_bits(gaps),
              "entries": gaps.numel(),
              "codebook": 32 * len(set(values.tolist()) - {0.0}),
              "values_entropy": entropy_bits(values), "gaps_entropy": entropy_bits(gaps)}
    result["total"] = result["values"] + result["gaps"] + result["codebook"]
    return result


def huffman_storage_bytes(model: nn.Module, *, gap_bits: int = 5) -> dict[str, float]:
    """Deep Compression's storage of a whole model: each layer's weights Huffman-coded
    (:func:`huffman_storage_bits`), every other parameter (biases) in fp32.

    Introduced in :doc:`pipeline`, section *Deep Compression's third stage*; the
    compression benchmark's "shared" variant counts it on Fashion-MNIST. The weights
    are those of :func:`helpers.prune.prunable_parameters` (Linear and Conv layers),
    each tied tensor once; apply it to a shared model (:func:`kmeans_share_model`,
    :class:`CentroidFineTuning`): a model of all-distinct values codes badly.

    Parameters
    ----------
    model : nn.Module
        A float model; not changed.
    gap_bits : int
        Bits of each relative index before coding (:func:`helpers.metrics.relative_index_stream`).

    Returns
    -------
    dict
        ``huffman``: bytes of the coded streams, codebooks and fp32 parameters;
        ``entropy``: the same with each stream at its entropy bound; ``values``,
        ``gaps``: coded bits of all value and gap streams; ``entries``: how many
        entries the streams hold (stored weights and fillers).
    """
    weights = _weights(model, "Huffman coding")
    coded = [huffman_storage_bits(w.detach(), gap_bits=gap_bits) for w in weights.values()]
    other_bits = 32 * (sum(p.numel() for p in model.parameters())
                       - sum(w.numel() for w in weights.values()))
    return {"huffman": (other_bits + sum(c["total"] for c in coded)) / 8,
            "entropy": (other_bits + sum(c["values_entropy"] + c["gaps_entropy"]
                                         + c["codebook"] for c in coded)) / 8,
            **{key: sum(c[key] for c in coded) for key in ("values", "gaps", "entries")}}

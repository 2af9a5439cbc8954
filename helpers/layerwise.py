"""Layer-wise pruning with calibration data: Wanda and SparseGPT.

Magnitude pruning looks at the weights only. The two methods here also look at the
*inputs* each linear layer receives on a small sample of real data (the calibration
data), and prune one layer at a time so that the layer's outputs on that sample
change as little as possible:

* **Wanda** (Sun, Liu, Bair and Kolter 2023, arXiv 2306.11695) scores weight
  ``W[i, j]`` by ``|W[i, j]| · ‖X_j‖₂``, the norm of input ``j`` over all calibration
  tokens, and prunes the lowest scores of each output row. The weights that survive
  are not changed.
* **SparseGPT** (Frantar and Alistarh 2023, arXiv 2301.00774) minimises the layer's
  reconstruction error ``‖W Xᵀ − Ŵ Xᵀ‖²``, whose Hessian for each row of ``W`` is
  ``H = XᵀX`` (``(in, in)``, as :func:`hessian` computes; the paper writes ``X`` as
  ``(in, tokens)``, hence its ``2XXᵀ``). This layer-wise objective for the optimal
  brain surgeon comes from AdaPrune (Hubara et al. 2021, arXiv 2102.08124) and OBC
  (Frantar, Singh and Alistarh 2022, arXiv 2208.11580). SparseGPT walks through the
  columns (inputs) and, each time it prunes weights of a column, updates the columns
  not yet visited with the optimal-brain-surgeon correction of Hassibi and Stork
  (1993), computed from the inverse of ``H`` restricted to those columns; the rows of
  one Cholesky factor of ``H⁻¹`` supply all these inverses (:func:`sparsegpt`).

A weight matrix has shape ``(out, in)``; inputs ``X`` have shape ``(tokens, in)``.
The layers pruned are those of :data:`helpers.layers.LINEAR_LAYERS`: ``nn.Linear``,
and the ``Conv1D`` of GPT-2 in transformers, whose weight is stored as ``(in, out)``
and read through :func:`helpers.layers.linear_weight` as ``(out, in)``.
Both criteria, and magnitude for comparison, give unstructured masks (a fraction of
each layer) or N:M masks (:func:`helpers.prune.nm_mask`).

Introduced in :doc:`language-models`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable, Mapping

import torch
from torch import nn

from ._checks import (
    check_finite, check_fraction, check_int_in_range, check_plain_weights,
    check_positive_int, checked,
)
from .criteria import Registry
from .layers import linear_weight
from .quant import scale_and_round
from .prune import (
    _check_n_m, _check_nm_width, lowest_mask, magnitude_mask, nm_mask, nm_mask_kernel,
)
from .train import evaluation_mode

__all__ = ["CRITERIA", "SEQUENTIAL", "wanda_scores", "wanda_row_mask", "wanda_mask",
           "hessian", "sparsegpt_block", "sparsegpt_sweep", "sparsegpt", "row_grid", "gptq",
           "reconstruction_error", "linear_layers", "layer_inputs", "block_of",
           "prune_layerwise",
           "magnitude_criterion", "wanda_criterion", "sparsegpt_criterion"]

#: The criteria of :func:`prune_layerwise` by name (defined below): ``"magnitude"``,
#: ``"wanda"``, ``"sparsegpt"``.
CRITERIA = Registry("calibrated layer", "criterion(weight, inputs, *, sparsity, n, m) "
                    "-> the new weight")


def _check_matrix(tensor, name: str) -> torch.Tensor:
    """``tensor`` detached, if it is a non-empty floating-point matrix of finite values."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if not tensor.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {tensor.dtype}")
    if tensor.dim() != 2 or tensor.numel() == 0:
        raise ValueError(f"{name} must be a non-empty matrix (out, in), got shape "
                         f"{tuple(tensor.shape)}")
    check_finite(tensor, name)
    return tensor.detach()


def _check_weight(weight) -> torch.Tensor:
    return _check_matrix(weight, "weight")


def _check_pattern(sparsity: float, n: int | None, m: int | None) -> float:
    if (n is None) != (m is None):
        raise ValueError("give both n and m for an N:M pattern, or neither")
    sparsity = check_fraction(sparsity, "sparsity")
    if n is not None:
        _check_n_m(n, m)
    return sparsity


def _score_dtype(weight: torch.Tensor) -> torch.dtype:
    """Scores and statistics in float32 at least, whatever the model's dtype.

    In float16 an input norm over many tokens overflows (above 65504), and in
    bfloat16 (8 bits of mantissa) rounding reorders close scores; computed in float32,
    the masks of a float16 or bfloat16 layer are those of float32 scoring of the same
    weights (AutoAWQ computes its activation statistics in float32 for the same reason).
    """
    return torch.promote_types(weight.dtype, torch.float32)


def wanda_scores(weight: torch.Tensor, input_norms: torch.Tensor) -> torch.Tensor:
    """Wanda's importance ``|W[i, j]| · ‖X_j‖₂``; shape ``(out, in)`` like ``weight``.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. ``input_norms`` has shape
    ``(in,)``: the L2 norm of each input feature over all calibration tokens
    (non-negative). The scores are in float32 for a float16 or bfloat16 weight (else
    in its dtype): low-precision scores overflow or reorder.
    """
    weight, input_norms = _check_wanda(weight, input_norms)
    return weight.abs() * input_norms[None, :]


def _check_wanda(weight, input_norms) -> tuple[torch.Tensor, torch.Tensor]:
    """The checked weight and its input norms, both in the scores' dtype, on its device."""
    weight = _check_weight(weight)
    if not isinstance(input_norms, torch.Tensor) or input_norms.shape != weight.shape[1:]:
        raise ValueError(f"input_norms must be a tensor of shape ({weight.shape[1]},), one "
                         f"norm per input of the layer")
    check_finite(input_norms, "input_norms")
    if bool((input_norms < 0).any()):
        raise ValueError("input_norms must be non-negative (they are norms)")
    dtype = _score_dtype(weight)
    return weight.to(dtype), input_norms.to(device=weight.device, dtype=dtype)


def _check_wanda_row_mask(weight, input_norms, k) -> None:
    weight, _ = _check_wanda(weight, input_norms)
    check_int_in_range(k, "k", 0, weight.shape[1])


@checked(_check_wanda_row_mask)
def wanda_row_mask(weight: torch.Tensor, input_norms: torch.Tensor,
                   k: int) -> torch.Tensor:
    """Wanda's mask: prune the ``k`` lowest scores ``|W[i, j]| · ‖X_j‖₂`` of each row.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. ``weight`` ``(out, in)``, ``input_norms`` ``(in,)`` in its dtype;
    returns the mask (1 kept) of ``weight``'s shape. Arguments as in
    :func:`wanda_mask`, with ``0 <= k <= in``.
    """
    scores = weight.abs() * input_norms[None, :]
    # Each output row is compared with itself, not with the whole layer.
    rows = [lowest_mask(row, k) for row in scores]
    return torch.stack(rows).to(weight.dtype)


def wanda_mask(weight: torch.Tensor, input_norms: torch.Tensor, sparsity: float = 0.5, *,
               n: int | None = None, m: int | None = None) -> torch.Tensor:
    """Wanda mask: prune the lowest ``|W|·‖X‖`` scores of each output row.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. Unstructured: each row
    loses ``round(sparsity · in)`` weights (Wanda compares weights within an output
    row, not across the layer). With ``n`` and ``m``: the N:M pattern of
    :func:`helpers.prune.nm_mask` on the same scores (``sparsity`` is then ignored).
    The scores are computed in float32 for a float16 or bfloat16 weight
    (:func:`wanda_scores`), so the mask is that of float32 scoring. An input that is
    zero on every token (norm 0) scores 0: its weights are pruned first, as in the
    reference implementation.

    Parameters
    ----------
    weight : torch.Tensor
        Shape ``(out, in)``.
    input_norms : torch.Tensor
        Shape ``(in,)``; with all ones the mask is per-row magnitude pruning.
    sparsity : float
        Fraction of each row to prune, in [0, 1].
    n, m : int, optional
        Keep ``n`` of every ``m`` consecutive inputs instead; ``in`` must be a
        multiple of ``m`` (:func:`helpers.prune.nm_mask`).

    Returns
    -------
    torch.Tensor
        Mask of ``weight``'s shape and dtype (1 kept, 0 pruned).

    Raises
    ------
    ValueError
        For norms of another shape or negative, a sparsity outside [0, 1], and an
        N:M pattern whose ``m`` does not divide ``in``.
    """
    sparsity = _check_pattern(sparsity, n, m)
    scored, norms = _check_wanda(weight, input_norms)
    if n is not None:
        return nm_mask(weight, n, m, scores=wanda_scores(scored, norms))
    k = round(sparsity * weight.shape[1])
    return wanda_row_mask.unchecked(scored, norms, k).to(weight.dtype)


def hessian(inputs: torch.Tensor) -> torch.Tensor:
    """The layer-wise Hessian ``H = XᵀX / tokens`` of the reconstruction error.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. ``inputs`` has shape
    ``(tokens, in)`` (or ``(..., in)``, flattened); returns ``(in, in)`` in float64.
    ``‖W Xᵀ − Ŵ Xᵀ‖² / tokens = Σ_rows (w − ŵ) H (w − ŵ)ᵀ``.
    """
    if not isinstance(inputs, torch.Tensor) or not inputs.is_floating_point() \
            or inputs.dim() < 2 or inputs.numel() == 0:
        raise TypeError("inputs must be a non-empty floating-point tensor of shape "
                        "(tokens, in)")
    check_finite(inputs, "inputs")
    x = inputs.detach().reshape(-1, inputs.shape[-1]).double()
    return x.T @ x / len(x)


def _obs_mask(saliency: torch.Tensor, *, sparsity: float, n: int | None,
              m: int | None) -> torch.Tensor:
    """SparseGPT's mask of a group of columns from their OBS saliencies ``(out, g)``.

    Unstructured: the lowest ``round(sparsity · entries)`` of the group are pruned.
    N:M (a group is ``m`` columns): :func:`helpers.prune.nm_mask_kernel`.
    """
    if n is None:
        return lowest_mask.unchecked(saliency, round(sparsity * saliency.numel()))
    return nm_mask_kernel.unchecked(saliency, n, m)


def _check_factor(W, U, names: tuple[str, str]) -> torch.Tensor:
    """``W`` ``(out, b)`` and a matrix ``U`` ``(b, b)`` of its dtype; returns ``W``."""
    W = _check_matrix(W, names[0])
    if not isinstance(U, torch.Tensor) or U.shape != (W.shape[1],) * 2:
        raise ValueError(f"{names[1]} must be a tensor of shape ({W.shape[1]}, "
                         f"{W.shape[1]}), a row and a column per column of {names[0]}")
    if U.dtype != W.dtype:
        raise TypeError(f"{names[1]} has dtype {U.dtype} but {names[0]} has {W.dtype}; "
                        f"give both the same (sparsegpt() sweeps in float64)")
    check_finite(U, names[1])
    return W


def _check_prune(prune) -> None:
    if not callable(prune):
        raise TypeError(f"prune must be a callable that maps saliencies to a mask, "
                        f"got {type(prune).__name__}")


def _check_quantize(quantize) -> None:
    if quantize is not None and not callable(quantize):
        raise TypeError(f"quantize must be None or a callable that rounds a column of "
                        f"weights to its grid, got {type(quantize).__name__}")


def _check_sparsegpt_block(W1, U1, prune, group, quantize=None) -> None:
    _check_factor(W1, U1, ("W1", "U1"))
    if not torch.equal(U1, U1.triu()) or not bool((torch.diagonal(U1) > 0).all()):
        raise ValueError("U1 must be upper triangular with a positive diagonal: the "
                         "block's part of the upper Cholesky factor of H⁻¹")
    _check_prune(prune)
    check_positive_int(group, "group")
    _check_quantize(quantize)


@checked(_check_sparsegpt_block)
def sparsegpt_block(W1: torch.Tensor, U1: torch.Tensor, prune: Callable, group: int,
                    quantize: Callable | None = None):
    """Prune a block of columns left to right, each column's error spread to its right.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. ``W1`` ``(out, b)`` is updated in place; ``U1`` ``(b, b)`` is the
    block's part of the upper Cholesky factor ``U`` of ``H⁻¹``. Every ``group``
    columns, ``prune`` maps the saliencies ``w² / U_qq²`` to their mask; ``quantize``
    (GPTQ) rounds each column's kept weights. Returns the mask and the errors
    ``(w − ŵ) / U_qq`` (both ``(out, b)``).
    """
    d = torch.diagonal(U1)
    mask, errors = torch.ones_like(W1), torch.zeros_like(W1)
    for i in range(W1.shape[1]):
        if i % group == 0:  # the mask of the next group, just before it is visited
            cols = slice(i, i + group)
            mask[:, cols] = prune(W1[:, cols] ** 2 / d[None, cols] ** 2)
        w = W1[:, i]
        q = w * mask[:, i] if quantize is None else quantize(w * mask[:, i])
        errors[:, i] = (w - q) / d[i]
        W1[:, i:] -= errors[:, i, None] * U1[i, i:][None, :]  # the OBS update
        W1[:, i] = q
    return mask, errors


def _check_sparsegpt_sweep(W, H, prune, group, block_size, quantize=None) -> None:
    W = _check_factor(W, H, ("W", "H"))
    tolerance = 1e3 * torch.finfo(H.dtype).eps * float(H.abs().max())
    if not torch.allclose(H, H.T, rtol=0, atol=tolerance):
        raise ValueError("H must be symmetric (a Hessian XᵀX, damped); pass (H + H.T) / 2")
    _check_prune(prune)
    check_positive_int(block_size, "block_size")
    if group is not None:
        check_positive_int(group, "group")
        if block_size % group:
            raise ValueError(f"block_size ({block_size}) must be a multiple of group "
                             f"({group}), or a group would straddle two blocks")
        _check_nm_width(W.shape[1], group, "W")
    _check_quantize(quantize)


@checked(_check_sparsegpt_sweep)
def sparsegpt_sweep(W: torch.Tensor, H: torch.Tensor, prune: Callable,
                    group: int | None, block_size: int,
                    quantize: Callable | None = None) -> torch.Tensor:
    """SparseGPT's column sweep over ``W`` ``(out, in)``, in place; returns the mask.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. ``H`` ``(in, in)``: the damped Hessian (symmetric positive definite,
    of ``W``'s dtype). Blocks of ``block_size`` columns go through
    :func:`sparsegpt_block` (``group`` None: one mask per block; ``m`` for N:M, a
    divisor of ``block_size`` and of ``in``), with ``quantize`` if given; the columns
    after a block get its updates at once (Frantar & Alistarh, section 3).
    """
    # U: the upper Cholesky factor of H⁻¹; its rows hold the OBS updates.
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)),
                              upper=True)
    mask = torch.ones_like(W)
    for i1 in range(0, W.shape[1], block_size):
        i2 = min(i1 + block_size, W.shape[1])
        W1 = W[:, i1:i2].clone()
        mask[:, i1:i2], errors = sparsegpt_block(W1, U[i1:i2, i1:i2], prune,
                                                 group or i2 - i1, quantize)
        W[:, i1:i2] = W1
        W[:, i2:] -= errors @ U[i1:i2, i2:]  # the block's updates, at once
    return mask


def row_grid(weight: torch.Tensor, bits: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """GPTQ's quantiser of a layer: round a column to each output row's grid.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. The grid of row ``i`` has ``2^bits`` levels evenly spaced over
    ``[min(W[i], 0), max(W[i], 0)]`` of ``weight`` ``(out, in)`` as given (the affine
    scheme of :func:`helpers.quant.scale_and_round`, per output channel), as GPTQ's
    ``Quantizer.find_params(W, weight=True)`` sets it before the sweep. The returned
    function maps a column ``(out,)`` to its dequantised values; 0 stays 0.
    """
    weight = _check_weight(weight).detach()
    bits = check_int_in_range(bits, "bits", 2, 16)
    lo, hi = weight.min(dim=1).values, weight.max(dim=1).values

    def quantize(column: torch.Tensor) -> torch.Tensor:
        q, scale, zero = scale_and_round.unchecked(column, lo, hi, bits, "affine")
        return scale * (q - zero)
    return quantize


@torch.no_grad()
def sparsegpt(weight: torch.Tensor, hessian: torch.Tensor, sparsity: float = 0.5, *,
              n: int | None = None, m: int | None = None, block_size: int = 128,
              damping: float = 0.01, bits: int | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """SparseGPT: prune one layer and update its remaining weights (Frantar & Alistarh 2023).

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. Every row ``w`` of the
    weight is pruned against the same Hessian ``H``; the error of row ``w`` is
    ``(w − ŵ) H (w − ŵ)ᵀ``. The columns are visited left to right. Pruning entry
    ``q`` of a row, with ``F = {q, …, in − 1}`` the columns not yet visited, changes
    them by ``δ_F = −(w_q / [H_F⁻¹]_qq) · H_F⁻¹[q, :]``, the optimal brain surgeon
    update (Hassibi & Stork 1993) for ``H_F``, the Hessian restricted to ``F``. With
    ``H⁻¹ = UᵀU`` (``U`` upper triangular), ``H_F⁻¹ = U_FFᵀ U_FF``, whose row ``q``
    is ``U_qq · U[q, q:]``: the update is ``−(w_q / U_qq) · U[q, q:]`` (Frantar &
    Alistarh, section 3). The mask is chosen per block of ``block_size`` columns,
    just before the block is visited, by the OBS saliency ``w_q² / [H_F⁻¹]_qq =
    w² / U_qq²``: the lowest ``round(sparsity · entries)`` of the block, or for N:M
    the lowest of each group of ``m`` in each row.

    Parameters
    ----------
    weight : torch.Tensor
        Shape ``(out, in)``; not changed.
    hessian : torch.Tensor
        Shape ``(in, in)``, symmetric positive semi-definite, e.g. :func:`hessian`.
    sparsity : float
        Fraction to prune, in [0, 1] (ignored for N:M).
    n, m : int, optional
        Keep ``n`` of every ``m`` consecutive inputs instead.
    block_size : int
        Columns per block (lazy batch and adaptive mask selection); a multiple of
        ``m`` for N:M.
    damping : float
        ``damping × mean(diag H)`` is added to the diagonal before inverting
        (numerical stability; the paper uses 1%).
    bits : int, optional
        Also round every kept weight to its row's grid of ``2^bits`` levels
        (:func:`row_grid`) as the sweep visits it, so that later columns compensate
        the rounding error too: SparseGPT's joint sparsification and quantisation
        (e.g. 2:4 and 4 bits). With ``sparsity=0`` this is GPTQ (:func:`gptq`).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The pruned and updated weight (``weight``'s dtype; with ``bits``, the
        dequantised values on the grid) and its mask (1 kept).

    Raises
    ------
    ValueError
        For a Hessian of the wrong shape or not positive definite after damping, and
        for an N:M pattern whose ``m`` does not divide ``in`` (the policy of
        :func:`helpers.prune.nm_mask`) or ``block_size``.

    Notes
    -----
    An input that is zero on every calibration token (a zero diagonal of ``H``, e.g.
    a dead ReLU unit) gets a diagonal of 1 and its weights are set to zero and
    masked, as in the reference implementation (and GPTQ): they never change the
    outputs on the calibration data, and kept, they would take the place of weights
    that do. The mask can then prune more than ``sparsity``.

    One deviation from the reference ``fasterprune`` (IST-DASLab/sparsegpt): for an
    unstructured pattern it prunes the saliencies ``<=`` the one at sorted position
    ``int(sparsity · entries)`` of a block, ``int(sparsity · entries) + 1`` weights
    (barring ties); here a block loses ``round(sparsity · entries)``, so that the
    layer's sparsity is the one asked for. For N:M the two agree.
    """
    weight = _check_weight(weight)
    sparsity = _check_pattern(sparsity, n, m)
    check_positive_int(block_size, "block_size")
    if m is not None:
        _check_nm_width(weight.shape[1], m, "weight")
        if block_size % m:
            raise ValueError(f"block_size ({block_size}) must be a multiple of m ({m})")
    if not isinstance(hessian, torch.Tensor) or hessian.shape != (weight.shape[1],) * 2:
        raise ValueError(f"hessian must have shape ({weight.shape[1]}, {weight.shape[1]}), "
                         f"the number of inputs squared")
    check_finite(hessian, "hessian")
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    W = weight.double().clone()
    quantize = None if bits is None else row_grid(W, bits)  # the original rows' ranges
    H = hessian.detach().double().clone()
    dead = torch.diagonal(H) == 0  # inputs that are zero on every token
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    H += damping * torch.diagonal(H).mean() * torch.eye(len(H), dtype=H.dtype,
                                                        device=H.device)
    prune = functools.partial(_obs_mask, sparsity=sparsity, n=n, m=m)
    try:  # N:M: a mask every m columns
        mask = sparsegpt_sweep.unchecked(W, H, prune, m, block_size, quantize)
    except torch.linalg.LinAlgError as err:
        raise ValueError("the Hessian is not positive definite even after damping; "
                         "increase damping or use more calibration data") from err
    mask[:, dead] = 0.0
    return W.to(weight.dtype), mask.to(weight.dtype)


def gptq(weight: torch.Tensor, hessian: torch.Tensor, bits: int = 4, *,
         block_size: int = 128, damping: float = 0.01) -> torch.Tensor:
    """GPTQ: quantise one layer to ``bits`` per weight, the rounding errors compensated
    by the columns not yet visited (Frantar et al. 2023).

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. SparseGPT's sweep with nothing pruned and every weight rounded to its
    row's grid (:func:`row_grid`): :func:`sparsegpt` with ``sparsity=0`` and
    ``bits``, equal to the reference ``GPTQ.fasterquant`` (per-channel asymmetric
    quantiser, no groups, columns in their order). Returns the dequantised weight of
    ``weight``'s shape and dtype; an input zero on every calibration token gets zero
    weights, as in the reference.
    """
    if bits is None:
        raise TypeError("bits must be an integer in 2..16 (GPTQ quantises)")
    return sparsegpt(weight, hessian, 0.0, block_size=block_size, damping=damping,
                     bits=bits)[0]


def reconstruction_error(weight: torch.Tensor, new_weight: torch.Tensor,
                         inputs: torch.Tensor) -> float:
    """``‖W Xᵀ − Ŵ Xᵀ‖²_F / tokens``: how much a layer's outputs change on ``inputs``.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. Shapes: ``weight`` and
    ``new_weight`` ``(out, in)``, ``inputs`` ``(tokens, in)``.
    """
    weight, new_weight = _check_weight(weight), _check_weight(new_weight)
    if weight.shape != new_weight.shape:
        raise ValueError(f"weights differ in shape: {tuple(weight.shape)} and "
                         f"{tuple(new_weight.shape)}")
    delta = (weight - new_weight).double()
    return float(torch.einsum("ij,jk,ik->", delta, hessian(inputs), delta))


#: How to prune a layer that holds a matrix weight but is not a linear layer.
_CONVERT = ("to prune such a layer, add its class to helpers.layers.LINEAR_LAYERS with "
            "the layout of its weight, 'out, in' (as nn.Linear: x @ weight.T) or "
            "'in, out' (x @ weight, as GPT-2's Conv1D)")


def _attention(model: nn.Module) -> dict[str, str]:
    """``out_proj`` name → name of its ``nn.MultiheadAttention``, for each one in ``model``."""
    return {f"{name}.out_proj" if name else "out_proj": name or "(the model)"
            for name, mod in model.named_modules() if isinstance(mod, nn.MultiheadAttention)}


def _linears(model: nn.Module) -> list[str]:
    """The linear layers (:data:`helpers.layers.LINEAR_LAYERS`) that the model calls
    itself (not an attention's out_proj)."""
    inside = _attention(model)
    return [name for name, mod in model.named_modules()
            if linear_weight(mod) is not None and name not in inside]


def _not_linear(model: nn.Module) -> list[str]:
    """Layers that hold a matrix weight but are not linear layers (nor embeddings)."""
    return [f"{name!r} ({type(mod).__name__})" for name, mod in model.named_modules()
            if linear_weight(mod) is None
            and not isinstance(mod, (nn.Embedding, nn.EmbeddingBag))
            and isinstance(getattr(mod, "weight", None), torch.Tensor)
            and mod.weight.dim() == 2]


def _tied_to(model: nn.Module, module: nn.Module) -> list[str]:
    """The names under which other modules of ``model`` hold ``module``'s weight."""
    return [f"{owner}.{p}" if owner else p
            for owner, mod in model.named_modules(remove_duplicate=False)
            if mod is not module
            for p, tensor in mod.named_parameters(recurse=False)
            if tensor is module.weight]


def linear_layers(model: nn.Module) -> list[str]:
    """Names of the linear layers that :func:`prune_layerwise` prunes by default.

    Introduced in :doc:`language-models`, section *Pruning the language model*: every
    layer of :data:`helpers.layers.LINEAR_LAYERS` (``nn.Linear``, GPT-2's ``Conv1D``)
    in the order the model registers them, except the last one (the read-out to the
    vocabulary, ``lm_head`` in a transformers causal LM, which Wanda and SparseGPT
    leave dense, as they leave the embeddings). The ``out_proj`` of an
    ``nn.MultiheadAttention`` is not listed: the attention module multiplies by its
    weight inside its own forward pass, where no hook sees the layer's inputs.

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module``.
    ValueError
        For a model with fewer than two such layers; the message names layers that
        hold a matrix weight without being linear layers, and says how to add their
        class to :data:`helpers.layers.LINEAR_LAYERS`.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    names = _linears(model)
    if len(names) >= 2:
        return names[:-1]
    others = _not_linear(model)
    hint = (f"; {', '.join(others)} hold matrix weights but are not linear layers: "
            f"{_CONVERT}" if others else "")
    if not names:
        raise ValueError(f"model has no linear layer to prune{hint}")
    modules = dict(model.named_modules())
    tied = _tied_to(model, modules[names[0]])
    own = (f"; it shares its weight with {tied}, so it cannot be pruned alone" if tied
           else f"; to prune it, pass names=[{names[0]!r}]")
    raise ValueError(f"model has one linear layer, {names[0]!r}, which the default "
                     f"leaves dense as the read-out{own}{hint}")


def _check_layers(model: nn.Module, names: Iterable[str] | None) -> list[str]:
    """The layers to prune: nn.Linear layers of ``model`` that it calls, none tied."""
    attention = _attention(model)
    if names is None:
        if attention:
            others = _linears(model)[:-1]
            raise ValueError(
                f"nn.MultiheadAttention {sorted(set(attention.values()))} multiplies by "
                f"its weights (in_proj_weight, out_proj.weight) inside its own forward "
                f"pass, where prune_layerwise cannot record their inputs; pass the other "
                f"layers to prune, leaving attention dense (names={others}), or prune "
                f"attention by magnitude with helpers.prune.layerwise_masks")
        return linear_layers(model)
    names = [names] if isinstance(names, str) else list(names)
    modules = dict(model.named_modules())
    for name in names:
        module = modules.get(name)
        if name in attention:
            raise ValueError(f"{name!r} is the out_proj of nn.MultiheadAttention "
                             f"{attention[name]!r}, which multiplies by its weight inside "
                             f"its own forward pass, where prune_layerwise cannot record "
                             f"its inputs; leave it out of names")
        if module is None or linear_weight(module) is None:
            what = ("not a module of the model" if module is None else
                    f"a {type(module).__name__}, not an nn.Linear layer nor another "
                    f"layer of helpers.layers.LINEAR_LAYERS")
            if isinstance(getattr(module, "weight", None), torch.Tensor) \
                    and module.weight.dim() == 2:
                what += f"; {_CONVERT}"
            raise ValueError(f"{name!r} is {what}; the model's linear layers: "
                             f"{_linears(model)}")
        tied = _tied_to(model, module)
        if tied:
            raise ValueError(f"{name!r} shares its weight with {tied} (tied parameters): "
                             f"pruning it would prune that too, with a mask chosen from "
                             f"{name!r}'s inputs alone; leave it out of names, or untie it "
                             f"first (layer.weight = nn.Parameter(layer.weight.detach()"
                             f".clone()))")
    return names


class _Done(Exception):
    """Raised by a hook to end a forward pass once its inputs are recorded."""


def _next_block(model: nn.Module, names: list[str]) -> nn.Module | None:
    """The block after the one that holds all of ``names``, or None.

    A block is an item of an ``nn.ModuleList`` (:func:`block_of`); None when the
    layers are in no block, in different blocks, or in the list's last block.
    """
    try:
        blocks = {block_of(model, name) for name in names}
    except ValueError:
        return None
    if len(blocks) != 1:
        return None
    parent, _, index = blocks.pop().rpartition(".")
    items = dict(model.named_modules())[parent]
    return items[int(index) + 1] if int(index) + 1 < len(items) else None


def _layer_inputs(model: nn.Module, layers: dict[str, nn.Module],
                  calibration: torch.Tensor, batch_size: int) -> dict[str, torch.Tensor]:
    """The inputs each of ``layers`` receives on the calibration data, ``(tokens, in)``.

    One pass of ``model`` over the calibration batch records them all, so every layer
    sees the model as it is now (``layers`` by name). When all the layers are in one
    block of an ``nn.ModuleList``, each forward pass ends where the next block starts:
    what follows cannot change their inputs.
    """
    store: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    widths = {name: linear_weight(layer).shape[1] for name, layer in layers.items()}
    handles = [layer.register_forward_hook(
        lambda module, inputs, output, name=name: store[name].append(
            inputs[0].detach().reshape(-1, widths[name])))
        for name, layer in layers.items()]
    after = _next_block(model, list(layers))
    if after is not None:
        def stop(module, inputs):
            raise _Done
        handles.append(after.register_forward_pre_hook(stop))
    device = linear_weight(next(iter(layers.values()))).device
    try:
        with torch.no_grad():
            for start in range(0, len(calibration), batch_size):
                try:
                    model(calibration[start:start + batch_size].to(device))
                except _Done:
                    pass
    finally:
        for handle in handles:
            handle.remove()
    inputs = {}
    for name, recorded in store.items():
        if not recorded:
            raise ValueError(f"layer {name!r} received no input on the calibration "
                             f"data: the model does not call it; leave it out of names")
        inputs[name] = torch.cat(recorded)
        if not bool(torch.isfinite(inputs[name]).all()):
            raise ValueError(f"the inputs of layer {name!r} on the calibration data "
                             f"contain NaN or infinity (in {inputs[name].dtype}); check "
                             f"the calibration data, or run the model in float32 "
                             f"(float16 overflows above 65504)")
    return inputs


def layer_inputs(model: nn.Module, calibration: torch.Tensor,
                 names: Iterable[str] | None = None, *,
                 batch_size: int = 64) -> dict[str, torch.Tensor]:
    """The inputs that linear layers of ``model`` receive on calibration data.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. One pass over ``calibration`` (in batches of ``batch_size``, in
    evaluation mode, without gradients) records the inputs of every layer of
    ``names`` at once; the model is not changed. Their column norms are Wanda's
    ``‖X_j‖₂``, their :func:`hessian` SparseGPT's ``H``.

    Parameters
    ----------
    model : nn.Module
        The network (e.g. :class:`helpers.language_model.TinyTransformer`).
    calibration : torch.Tensor
        A non-empty batch of model inputs (for the language model: ids of shape
        ``(samples, time)``).
    names : iterable of str, optional
        Names of linear layers; default :func:`linear_layers`.
    batch_size : int
        Calibration samples per forward pass.

    Returns
    -------
    dict of str to torch.Tensor
        Layer name ``->`` its inputs, shape ``(tokens, in)`` (all positions of all
        samples), in the order of ``names``.

    Raises
    ------
    ValueError
        For an empty calibration batch, a name that is not a linear layer of the
        model (:data:`helpers.layers.LINEAR_LAYERS`; as :func:`prune_layerwise`), a
        layer that the model does not
        call, and inputs that are not finite.
    """
    check_positive_int(batch_size, "batch_size")
    names = _check_layers(model, names)
    if not isinstance(calibration, torch.Tensor) or len(calibration) == 0:
        raise ValueError("calibration must be a non-empty batch of model inputs")
    modules = dict(model.named_modules())
    with evaluation_mode(model):  # every module's own mode afterwards
        return _layer_inputs(model, {name: modules[name] for name in names}, calibration,
                             batch_size)


# ------------------------------------------------------------------------ criteria
#
# A criterion of prune_layerwise is a callable
#     criterion(weight, inputs, *, sparsity, n, m) -> the layer's new weight
# with ``weight`` of shape (out, in), ``inputs`` the layer's inputs on the calibration
# data, shape (tokens, in) (None when the callable's attribute ``needs_calibration``
# is False), and the pattern (``n``, ``m`` for N:M, else ``sparsity``).


def magnitude_criterion(weight: torch.Tensor, inputs: torch.Tensor | None = None, *,
                        sparsity: float = 0.5, n: int | None = None,
                        m: int | None = None) -> torch.Tensor:
    """``weight`` with its lowest ``|W|`` zeroed, the whole layer compared
    (:func:`helpers.prune.magnitude_mask`), or magnitude N:M; reads no data."""
    mask = nm_mask(weight, n, m) if n is not None else magnitude_mask(weight, sparsity)
    return weight * mask


magnitude_criterion.needs_calibration = False


def wanda_criterion(weight: torch.Tensor, inputs: torch.Tensor, *, sparsity: float = 0.5,
                    n: int | None = None, m: int | None = None) -> torch.Tensor:
    """``weight`` with :func:`wanda_mask` applied, the input norms computed from
    ``inputs`` in float64."""
    return weight * wanda_mask(weight, inputs.double().norm(dim=0), sparsity, n=n, m=m)


def sparsegpt_criterion(weight: torch.Tensor, inputs: torch.Tensor, *,
                        sparsity: float = 0.5, n: int | None = None,
                        m: int | None = None) -> torch.Tensor:
    """:func:`sparsegpt`'s pruned and updated weight, with the Hessian of ``inputs``."""
    return sparsegpt(weight, hessian(inputs), sparsity, n=n, m=m)[0]


CRITERIA.register("magnitude")(magnitude_criterion)
CRITERIA.register("wanda")(wanda_criterion)
CRITERIA.register("sparsegpt")(sparsegpt_criterion)


#: The orders of calibration understood by :func:`prune_layerwise`.
SEQUENTIAL = ("layer", "block")


def block_of(model: nn.Module, name: str) -> str:
    """The block of layer ``name``: its ancestor that is an item of an ``nn.ModuleList``.

    Introduced in :doc:`language-models`, section *Pruning the language model*: the unit
    that ``sequential="block"`` calibrates in one pass and that OWL gives one sparsity
    (:func:`helpers.allocation.owl_sparsities`). Raises ValueError for a layer in no
    ``nn.ModuleList``.

    The outermost such ancestor (``blocks.0`` for ``blocks.0.fc1`` in
    :class:`helpers.language_model.TinyTransformer`, ``model.decoder.layers.3`` in a
    transformers OPT model).
    """
    modules = dict(model.named_modules())
    parts = name.split(".")
    for i in range(1, len(parts)):
        if isinstance(modules.get(".".join(parts[:i])), nn.ModuleList):
            return ".".join(parts[:i + 1])
    raise ValueError(f"sequential='block' needs the model's blocks in an nn.ModuleList "
                     f"(as TinyTransformer.blocks): layer {name!r} is in none; use "
                     f"sequential='layer'")


def _calibration_groups(model: nn.Module, names: list[str],
                        sequential: str) -> list[list[str]]:
    """``names`` split into the groups whose inputs are recorded in one pass."""
    if sequential == "layer":
        return [[name] for name in names]
    groups: list[list[str]] = []
    blocks: list[str] = []
    for name in names:
        block = block_of(model, name)
        if blocks and blocks[-1] == block:
            groups[-1].append(name)
        elif block in blocks:
            raise ValueError(f"with sequential='block' the layers of block {block!r} "
                             f"must follow one another in names; {name!r} comes after "
                             f"layers of another block")
        else:
            blocks.append(block)
            groups.append([name])
    return groups


def prune_layerwise(model: nn.Module, criterion: str | Callable,
                    sparsity: float | Mapping[str, float] = 0.5, *,
                    calibration: torch.Tensor | None = None, n: int | None = None,
                    m: int | None = None, names: Iterable[str] | None = None,
                    batch_size: int = 64, sequential: str = "layer") -> nn.Module:
    """A copy of ``model`` whose linear layers are pruned one by one with ``criterion``.

    Introduced in :doc:`language-models`, section *Pruning the language model*. The
    linear layers are those of :data:`helpers.layers.LINEAR_LAYERS`: ``nn.Linear``,
    and GPT-2's ``Conv1D`` (transformers), pruned as the ``nn.Linear`` with its
    transposed weight, so that its mask has the ``Conv1D``'s own shape ``(in, out)``.
    Hugging Face causal LMs of the LLaMA, OPT and GPT-2 families are pruned as the
    papers prune them (``python -m benchmarks.language_models``): the linear layers
    of the decoder blocks; the embeddings and the read-out ``lm_head`` stay dense,
    and a read-out tied to the embedding stays tied.

    * ``"magnitude"``: the lowest ``|W|`` of each layer (the whole layer compared,
      :func:`helpers.prune.magnitude_mask`), or magnitude N:M; no data needed.
    * ``"wanda"``: :func:`wanda_mask` with the input norms of the layer (computed in
      float64, scored in float32 at least, whatever the model's dtype).
    * ``"sparsegpt"``: :func:`sparsegpt` with the Hessian of the layer's inputs.
    * a callable ``criterion(weight, inputs, *, sparsity, n, m)`` that returns the
      layer's new weight (the three above are :data:`CRITERIA`'s values); one with
      the attribute ``needs_calibration = False`` gets ``inputs=None`` and needs no
      calibration data. :doc:`language-models` passes two to separate Wanda's score
      from its comparison group.

    The layers are pruned in the order of ``names``, and their inputs are recorded on
    the calibration data after earlier layers were pruned, so a layer can compensate
    their errors. ``sequential`` says which earlier layers:

    * ``"layer"`` (the default, used in :doc:`language-models`): each layer's inputs
      are recorded after *every* layer before it was pruned, those of its own block
      included: the "true-sequential" option of SparseGPT's reference code for LLaMA
      (``llama.py --true-sequential``).
    * ``"block"``: all the layers of a block are calibrated on inputs recorded in one
      pass, after the earlier blocks were pruned and before any layer of the block
      is: what SparseGPT's ``opt.py`` and Wanda's ``prune_wanda`` do, block by block.
      A block is the item of an ``nn.ModuleList`` that holds the layer (the outermost
      one: ``blocks.0`` in :class:`helpers.language_model.TinyTransformer`); a layer
      in no ``nn.ModuleList`` has no block, and is an error.

    Magnitude reads no data, so ``sequential`` does not change its result. Biases are
    not pruned. The model is run in evaluation mode and not changed. When the layers
    calibrated in one pass lie in one block, each forward pass stops where the next
    block starts (a pre-hook on it), so a model's later blocks and read-out are not
    run for them (this assumes that the model runs its blocks in order, each once, as
    the decoders of transformers do).

    Parameters
    ----------
    model : nn.Module
        The network (e.g. :class:`helpers.language_model.TinyTransformer`).
    criterion : {"magnitude", "wanda", "sparsegpt"} or callable
    sparsity : float or mapping
        Fraction of each layer's weights to prune (ignored for N:M), or a mapping from
        every layer of ``names`` to its own fraction (a layer-wise allocation such as
        OWL's, :func:`helpers.allocation.owl_sparsities`).
    calibration : torch.Tensor, optional
        A batch of model inputs (for the language model: ids of shape ``(samples,
        time)``) from the training data; required for Wanda and SparseGPT.
    n, m : int, optional
        N:M pattern (``n=2, m=4`` for 2:4); every layer's number of inputs must be
        a multiple of ``m`` (:func:`helpers.prune.nm_mask`).
    names : iterable of str, optional
        Names of linear layers; default :func:`linear_layers`.
    batch_size : int
        Calibration samples per forward pass.
    sequential : {"layer", "block"}
        Record each layer's inputs after all earlier layers were pruned, or after the
        earlier blocks only (see above).

    Raises
    ------
    TypeError
        For a criterion that is neither a name nor a callable.
    ValueError
        For an unknown criterion or ``sequential``, a callable criterion that returns
        something other than a tensor of the weight's shape, a missing or empty calibration
        batch, with ``sequential="block"`` a layer in no ``nn.ModuleList`` or the
        layers of a block not consecutive in ``names``, a name that is not a linear
        layer of the model (:data:`helpers.layers.LINEAR_LAYERS`; the message says
        how to add a layer class that holds a matrix weight), a layer whose width an
        N:M pattern does not divide, a layer whose weight is tied to another module's
        (pruning it would prune both, with a mask chosen for one), a layer that the
        model does not call on the calibration data, or, by default, a model with an
        ``nn.MultiheadAttention`` (which multiplies by its weights inside its own
        forward pass: pass ``names`` to prune the other layers).
    """
    rule = CRITERIA.resolve(criterion)
    needs_data = getattr(rule, "needs_calibration", True)
    if sequential not in SEQUENTIAL:
        raise ValueError(f"sequential must be one of {SEQUENTIAL}, got {sequential!r}")
    check_positive_int(batch_size, "batch_size")
    check_plain_weights(model, "prune_layerwise()")
    names = _check_layers(model, names)
    if isinstance(sparsity, Mapping):
        if set(sparsity) != set(names):
            raise ValueError(f"a mapping of sparsities must name exactly the layers pruned "
                             f"{names}: missing {[k for k in names if k not in sparsity]}, "
                             f"unknown {sorted(set(sparsity) - set(names))}")
        sparsities = {k: _check_pattern(sparsity[k], n, m) for k in names}
    else:
        sparsities = dict.fromkeys(names, _check_pattern(sparsity, n, m))
    modules = dict(model.named_modules())
    if m is not None:
        for name in names:
            _check_nm_width(linear_weight(modules[name]).shape[1], m, f"layer {name!r}")
    if needs_data:
        if not isinstance(calibration, torch.Tensor) or len(calibration) == 0:
            raise ValueError(f"criterion {criterion!r} needs calibration data: pass a "
                             f"non-empty batch of model inputs as calibration=")
    groups = _calibration_groups(model, names, sequential)
    new = copy.deepcopy(model).eval()
    modules = dict(new.named_modules())
    for group in groups:
        inputs = {}
        if needs_data:  # one pass records the inputs of the whole group
            inputs = _layer_inputs(new, {name: modules[name] for name in group},
                                   calibration, batch_size)
        for name in group:
            weight = linear_weight(modules[name])  # (out, in), a view of the layer's
            w = weight.detach()
            new_w = rule(w, inputs.get(name), sparsity=sparsities[name], n=n, m=m)
            if not isinstance(new_w, torch.Tensor) or new_w.shape != w.shape:
                raise ValueError(f"criterion {getattr(rule, '__name__', rule)!r} must return "
                                 f"the new weight of layer {name!r}, a tensor of shape "
                                 f"{tuple(w.shape)}; got "
                                 f"{getattr(new_w, 'shape', type(new_w).__name__)}")
            with torch.no_grad():
                weight.copy_(new_w)
    return new

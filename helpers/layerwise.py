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
  reconstruction error ``‖W Xᵀ − Ŵ Xᵀ‖²`` with the Hessian ``H = X Xᵀ``: it walks
  through the columns (inputs) and, each time it prunes weights of a column, updates
  the columns not yet visited with the optimal-brain-surgeon correction of Hassibi
  and Stork (1993), computed from the inverse Hessian.

A weight matrix has shape ``(out, in)``; inputs ``X`` have shape ``(tokens, in)``.
Both criteria, and magnitude for comparison, give unstructured masks (a fraction of
each layer) or N:M masks (:func:`helpers.prune.nm_mask`).

Introduced in :doc:`language-models`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable

import torch
from torch import nn

from ._checks import check_finite, check_fraction, check_plain_weights, check_positive_int
from .prune import lowest_mask, magnitude_mask, nm_mask

__all__ = ["CRITERIA", "wanda_scores", "wanda_row_mask", "wanda_mask", "hessian",
           "sparsegpt_block", "sparsegpt_sweep", "sparsegpt", "reconstruction_error",
           "linear_layers", "prune_layerwise"]

#: Criteria understood by :func:`prune_layerwise`.
CRITERIA = ("magnitude", "wanda", "sparsegpt")


def _check_weight(weight) -> torch.Tensor:
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    if not weight.is_floating_point():
        raise TypeError(f"weight must be a floating-point tensor, got {weight.dtype}")
    if weight.dim() != 2 or weight.numel() == 0:
        raise ValueError(f"weight must be a non-empty matrix (out, in), got shape "
                         f"{tuple(weight.shape)}")
    check_finite(weight, "weight")
    return weight.detach()


def _check_pattern(sparsity: float, n: int | None, m: int | None) -> float:
    if (n is None) != (m is None):
        raise ValueError("give both n and m for an N:M pattern, or neither")
    sparsity = check_fraction(sparsity, "sparsity")
    if n is not None:
        check_positive_int(m, "m")
        check_positive_int(n, "n", allow_zero=True)
        if n > m:
            raise ValueError(f"n must be at most m, got n={n}, m={m}")
    return sparsity


def wanda_scores(weight: torch.Tensor, input_norms: torch.Tensor) -> torch.Tensor:
    """Wanda's importance ``|W[i, j]| · ‖X_j‖₂``; shape ``(out, in)`` like ``weight``.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. ``input_norms`` has shape
    ``(in,)``: the L2 norm of each input feature over all calibration tokens
    (non-negative).
    """
    weight, input_norms = _check_wanda(weight, input_norms)
    return weight.abs() * input_norms[None, :]


def _check_wanda(weight, input_norms) -> tuple[torch.Tensor, torch.Tensor]:
    """The checked weight and its input norms, in the weight's dtype and device."""
    weight = _check_weight(weight)
    if not isinstance(input_norms, torch.Tensor) or input_norms.shape != weight.shape[1:]:
        raise ValueError(f"input_norms must be a tensor of shape ({weight.shape[1]},), one "
                         f"norm per input of the layer")
    check_finite(input_norms, "input_norms")
    if bool((input_norms < 0).any()):
        raise ValueError("input_norms must be non-negative (they are norms)")
    return weight, input_norms.to(weight)


def wanda_row_mask(weight: torch.Tensor, input_norms: torch.Tensor,
                   k: int) -> torch.Tensor:
    """Wanda's mask: prune the ``k`` lowest scores ``|W[i, j]| · ‖X_j‖₂`` of each row.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. ``weight`` ``(out, in)``, ``input_norms`` ``(in,)`` in its dtype;
    returns the mask (1 kept) of ``weight``'s shape. Unchecked: see :func:`wanda_mask`.
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

    Parameters
    ----------
    weight : torch.Tensor
        Shape ``(out, in)``.
    input_norms : torch.Tensor
        Shape ``(in,)``; with all ones the mask is per-row magnitude pruning.
    sparsity : float
        Fraction of each row to prune, in [0, 1].
    n, m : int, optional
        Keep ``n`` of every ``m`` consecutive inputs instead.

    Returns
    -------
    torch.Tensor
        Mask of ``weight``'s shape and dtype (1 kept, 0 pruned).
    """
    sparsity = _check_pattern(sparsity, n, m)
    weight, input_norms = _check_wanda(weight, input_norms)
    if n is not None:
        return nm_mask(weight, n, m, scores=wanda_scores(weight, input_norms))
    return wanda_row_mask(weight, input_norms, round(sparsity * weight.shape[1]))


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
    N:M: :func:`helpers.prune.nm_mask` of the saliencies; an incomplete last group
    (fewer than ``m`` columns) is kept whole.
    """
    if n is None:
        return lowest_mask(saliency, round(sparsity * saliency.numel()))
    if saliency.shape[1] == m:
        return nm_mask(saliency, n, m)
    return torch.ones_like(saliency)


def sparsegpt_block(W1: torch.Tensor, U1: torch.Tensor, prune: Callable, group: int):
    """Prune a block of columns left to right, each column's error spread to its right.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. ``W1`` ``(out, b)`` is updated in place; ``U1`` ``(b, b)`` is the
    block's part of the upper Cholesky factor ``U`` of ``H⁻¹``. Every ``group``
    columns, ``prune`` maps the saliencies ``w² / U_qq²`` to their mask. Returns the
    mask and the errors ``(w − ŵ) / U_qq`` (both ``(out, b)``).
    """
    d = torch.diagonal(U1)
    mask, errors = torch.ones_like(W1), torch.zeros_like(W1)
    for i in range(W1.shape[1]):
        if i % group == 0:  # the mask of the next group, just before it is visited
            cols = slice(i, i + group)
            mask[:, cols] = prune(W1[:, cols] ** 2 / d[None, cols] ** 2)
        w = W1[:, i]
        q = w * mask[:, i]
        errors[:, i] = (w - q) / d[i]
        W1[:, i:] -= errors[:, i, None] * U1[i, i:][None, :]  # the OBS update
        W1[:, i] = q
    return mask, errors


def sparsegpt_sweep(W: torch.Tensor, H: torch.Tensor, prune: Callable,
                    group: int | None, block_size: int) -> torch.Tensor:
    """SparseGPT's column sweep over ``W`` ``(out, in)``, in place; returns the mask.

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. ``H`` ``(in, in)``: the damped Hessian. Blocks of ``block_size``
    columns go through :func:`sparsegpt_block` (``group`` None: one mask per block);
    the columns after a block get its updates at once (Frantar & Alistarh, section 3).
    """
    # U: the upper Cholesky factor of H⁻¹; its rows hold the OBS updates.
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)),
                              upper=True)
    mask = torch.ones_like(W)
    for i1 in range(0, W.shape[1], block_size):
        i2 = min(i1 + block_size, W.shape[1])
        W1 = W[:, i1:i2].clone()
        mask[:, i1:i2], errors = sparsegpt_block(W1, U[i1:i2, i1:i2], prune,
                                                 group or i2 - i1)
        W[:, i1:i2] = W1
        W[:, i2:] -= errors @ U[i1:i2, i2:]  # the block's updates, at once
    return mask


@torch.no_grad()
def sparsegpt(weight: torch.Tensor, hessian: torch.Tensor, sparsity: float = 0.5, *,
              n: int | None = None, m: int | None = None, block_size: int = 128,
              damping: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """SparseGPT: prune one layer and update its remaining weights (Frantar & Alistarh 2023).

    Introduced in :doc:`language-models`, section *From Optimal Brain Surgeon to
    SparseGPT*. Every row ``w`` of the
    weight is pruned against the same Hessian ``H``; the error of row ``w`` is
    ``(w − ŵ) H (w − ŵ)ᵀ``. The columns are visited left to right. Pruning entry
    ``q`` of a row changes it by ``δ = −(w_q / [H⁻¹]_qq) · H⁻¹[q, :]``, the optimal
    brain surgeon update (Hassibi & Stork 1993) restricted to the columns not yet
    visited; with the upper Cholesky factor ``U`` of ``H⁻¹`` these restricted updates
    are ``−(w_q / U_qq) · U[q, q:]`` (Frantar & Alistarh, section 3). The mask is
    chosen per block of ``block_size`` columns, just before the block is visited, by
    the OBS saliency ``w² / U_qq²``: the lowest ``round(sparsity · entries)`` of the
    block, or for N:M the lowest of each group of ``m`` in each row.

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
        (numerical stability; the paper uses 1%). Inputs that are always zero get a
        diagonal of 1.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The pruned and updated weight (``weight``'s dtype) and its mask (1 kept).

    Raises
    ------
    ValueError
        For a Hessian of the wrong shape or not positive definite after damping.
    """
    weight = _check_weight(weight)
    sparsity = _check_pattern(sparsity, n, m)
    check_positive_int(block_size, "block_size")
    if m is not None and block_size % m:
        raise ValueError(f"block_size ({block_size}) must be a multiple of m ({m})")
    if not isinstance(hessian, torch.Tensor) or hessian.shape != (weight.shape[1],) * 2:
        raise ValueError(f"hessian must have shape ({weight.shape[1]}, {weight.shape[1]}), "
                         f"the number of inputs squared")
    check_finite(hessian, "hessian")
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    W = weight.double().clone()
    H = hessian.detach().double().clone()
    dead = torch.diagonal(H) == 0
    H[dead, dead] = 1.0
    H += damping * torch.diagonal(H).mean() * torch.eye(len(H), dtype=H.dtype,
                                                        device=H.device)
    prune = functools.partial(_obs_mask, sparsity=sparsity, n=n, m=m)
    try:
        mask = sparsegpt_sweep(W, H, prune, m, block_size)  # N:M: a mask every m columns
    except torch.linalg.LinAlgError as err:
        raise ValueError("the Hessian is not positive definite even after damping; "
                         "increase damping or use more calibration data") from err
    return W.to(weight.dtype), mask.to(weight.dtype)


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


def linear_layers(model: nn.Module) -> list[str]:
    """Names of the ``nn.Linear`` layers that :func:`prune_layerwise` prunes by default.

    Introduced in :doc:`language-models`, section *Pruning the language model*: every
    Linear layer in the order the model registers them, except the last one (the
    read-out to the vocabulary, which Wanda and SparseGPT leave dense, as they leave
    the embeddings).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    names = [name for name, mod in model.named_modules() if isinstance(mod, nn.Linear)]
    if len(names) < 2:
        raise ValueError("model has fewer than two nn.Linear layers; name the layers to "
                         "prune explicitly")
    return names[:-1]


def _layer_inputs(model: nn.Module, layer: nn.Linear, calibration: torch.Tensor,
                  batch_size: int) -> torch.Tensor:
    """The inputs ``layer`` receives on the calibration data, shape ``(tokens, in)``."""
    store: list[torch.Tensor] = []
    handle = layer.register_forward_hook(
        lambda module, inputs, output: store.append(inputs[0].detach().reshape(
            -1, module.in_features)))
    device = layer.weight.device
    try:
        with torch.no_grad():
            for start in range(0, len(calibration), batch_size):
                model(calibration[start:start + batch_size].to(device))
    finally:
        handle.remove()
    return torch.cat(store)


def prune_layerwise(model: nn.Module, criterion: str, sparsity: float = 0.5, *,
                    calibration: torch.Tensor | None = None, n: int | None = None,
                    m: int | None = None, names: Iterable[str] | None = None,
                    batch_size: int = 64) -> nn.Module:
    """A copy of ``model`` whose Linear layers are pruned one by one with ``criterion``.

    Introduced in :doc:`language-models`, section *Pruning the language model*.

    * ``"magnitude"``: the lowest ``|W|`` of each layer (the whole layer compared,
      :func:`helpers.prune.magnitude_mask`), or magnitude N:M; no data needed.
    * ``"wanda"``: :func:`wanda_mask` with the input norms of the layer.
    * ``"sparsegpt"``: :func:`sparsegpt` with the Hessian of the layer's inputs.

    The layers are pruned in the order of ``names``; the inputs of each layer are
    recorded on the calibration data *after* the layers before it were pruned, so a
    layer can compensate the errors of earlier ones (as in both papers, which go
    through the network block by block). Biases are not pruned. The model is run in
    evaluation mode and not changed.

    Parameters
    ----------
    model : nn.Module
        The network (e.g. :class:`helpers.language_model.TinyTransformer`).
    criterion : {"magnitude", "wanda", "sparsegpt"}
    sparsity : float
        Fraction of each layer's weights to prune (ignored for N:M).
    calibration : torch.Tensor, optional
        A batch of model inputs (for the language model: ids of shape ``(samples,
        time)``) from the training data; required for Wanda and SparseGPT.
    n, m : int, optional
        N:M pattern (``n=2, m=4`` for 2:4).
    names : iterable of str, optional
        Names of Linear modules; default :func:`linear_layers`.
    batch_size : int
        Calibration samples per forward pass.

    Raises
    ------
    ValueError
        For an unknown criterion, a missing or empty calibration batch, or a name that
        is not a Linear layer of the model.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    sparsity = _check_pattern(sparsity, n, m)
    check_positive_int(batch_size, "batch_size")
    check_plain_weights(model, "prune_layerwise()")
    names = linear_layers(model) if names is None else list(names)
    modules = dict(model.named_modules())
    for name in names:
        if not isinstance(modules.get(name), nn.Linear):
            raise ValueError(f"{name!r} is not an nn.Linear layer of the model; "
                             f"Linear layers: {linear_layers(model)}")
    if criterion != "magnitude":
        if not isinstance(calibration, torch.Tensor) or len(calibration) == 0:
            raise ValueError(f"criterion {criterion!r} needs calibration data: pass a "
                             f"non-empty batch of model inputs as calibration=")
    new = copy.deepcopy(model).eval()
    modules = dict(new.named_modules())
    for name in names:
        layer = modules[name]
        w = layer.weight.detach()
        if criterion == "magnitude":
            mask = nm_mask(w, n, m) if n is not None else magnitude_mask(w, sparsity)
            new_w = w * mask
        else:
            x = _layer_inputs(new, layer, calibration, batch_size)
            if criterion == "wanda":
                norms = x.double().norm(dim=0).to(w.dtype)
                new_w = w * wanda_mask(w, norms, sparsity, n=n, m=m)
            else:
                new_w, _ = sparsegpt(w, hessian(x), sparsity, n=n, m=m)
        with torch.no_grad():
            layer.weight.copy_(new_w)
    return new

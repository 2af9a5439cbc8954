"""Input validation shared by the helpers: every check names what was wrong."""

from __future__ import annotations

import functools
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch

from .languages import LANGUAGES, check_language  # noqa: F401 (re-exported)


def checked(check):
    """Decorate a kernel so that ``check(*args, **kwargs)`` validates its arguments first.

    A kernel is the few lines of an algorithm that a chapter shows (``{literalinclude}``);
    its body stays the lesson, and the decorator line says that its arguments are checked.
    ``check`` takes the kernel's arguments and raises ``TypeError``/``ValueError`` naming
    the problem and the fix. ``kernel.unchecked`` is the bare function, for a caller that
    has validated the same arguments already (an inner loop).
    """
    def decorate(kernel):
        @functools.wraps(kernel)
        def run(*args, **kwargs):
            check(*args, **kwargs)
            return kernel(*args, **kwargs)
        run.unchecked = kernel
        return run
    return decorate


def check_fraction(value, name: str, *, inclusive_high: bool = True) -> float:
    """Return ``value`` as a float in [0, 1] (or [0, 1)), else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    ok = 0.0 <= value <= 1.0 if inclusive_high else 0.0 <= value < 1.0
    if not ok:
        bounds = "[0, 1]" if inclusive_high else "[0, 1)"
        raise ValueError(f"{name} must lie in {bounds}, got {value}")
    return value


def check_positive_int(value, name: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an int > 0 (or >= 0), else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return int(value)


def check_int_in_range(value, name: str, low: int, high: int) -> int:
    """Return ``value`` as an int with ``low <= value <= high``, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must lie in {low}..{high}, got {value}")
    return int(value)


def check_nonnegative(value, name: str) -> float:
    """Return ``value`` as a finite float >= 0, else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def check_finite(array, name: str) -> None:
    """Raise ValueError if a numpy array or torch tensor holds NaN or infinity."""
    if isinstance(array, torch.Tensor):
        bad = not bool(torch.isfinite(array).all())
    else:
        bad = not bool(np.isfinite(np.asarray(array, dtype=float)).all())
    if bad:
        raise ValueError(f"{name} contains NaN or infinite values")


def check_plain_weights(model, what: str) -> None:
    """Raise ValueError if ``model`` carries weight re-parametrisations (TypeError if it
    is not a module).

    A module pruned with ``torch.nn.utils.prune`` keeps ``weight_orig`` and a
    ``weight_mask`` and recomputes ``weight`` before every forward pass; one with a
    ``torch.nn.utils.parametrize`` parametrisation recomputes it from
    ``parametrizations.weight.original``. Writing to ``weight`` is then undone at the
    next forward pass, and copying the model fails; ``what`` (the caller, e.g.
    ``"zero_units()"``) names who needs plain weights.
    """
    from torch.nn.utils import parametrize
    from torch.nn.utils import prune as torch_prune

    check_model(model)
    for name, module in model.named_modules():
        pruned = [h._tensor_name for h in module._forward_pre_hooks.values()
                  if isinstance(h, torch_prune.BasePruningMethod)]
        if pruned:
            kind, tensors = "torch.nn.utils.prune", pruned
        elif parametrize.is_parametrized(module):
            kind, tensors = "torch.nn.utils.parametrize", list(module.parametrizations)
        else:
            continue
        where = f"module {name!r}" if name else "the model"
        raise ValueError(f"{what} needs plain weights, but {where} carries a {kind} "
                         f"re-parametrisation of {', '.join(map(repr, tensors))}; call "
                         f"helpers.prune.make_permanent(model) first")


@contextmanager
def evaluation_mode(model):
    """Evaluation mode for the ``with`` block; afterwards every module's own mode again.

    ``model.train(was_training)`` would instead set one mode for all submodules and
    lose a caller's mixture (e.g. a network in training mode with frozen BatchNorm
    layers in evaluation mode).
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def check_model(model, name: str = "model"):
    """Return ``model`` if it is a ``torch.nn.Module``, else raise TypeError."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return model


def check_data(data, name: str = "data"):
    """Return ``data`` if it is a :class:`helpers.data.ClassificationData`, else raise TypeError."""
    from .data import ClassificationData  # data.py itself uses the checks above

    if not isinstance(data, ClassificationData):
        raise TypeError(f"{name} must be a helpers.data.ClassificationData, "
                        f"got {type(data).__name__}")
    return data


def check_float_tensor(tensor, name: str) -> torch.Tensor:
    """Return ``tensor`` if it is a non-empty floating-point tensor of finite values.

    Raises TypeError for another type or an integer dtype, ValueError for an empty
    tensor or one holding NaN or infinity.
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if not tensor.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {tensor.dtype}")
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty")
    check_finite(tensor.detach(), name)
    return tensor


# --- which weights: the one rule ----------------------------------------------------------

#: Layers whose weight is a matrix (Linear) or a filter bank (Conv): the layers that
#: L1 penalties, pruning and quantisation act on, and the rows of
#: :func:`helpers.metrics.layer_table`.
WEIGHT_LAYERS = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)


def weight_layers(model) -> list[tuple[str, torch.nn.Module]]:
    """``(name, layer)`` of every layer of ``model`` in :data:`WEIGHT_LAYERS`, in order."""
    return [(name, module) for name, module in check_model(model).named_modules()
            if isinstance(module, WEIGHT_LAYERS)]


def select_weights(model, names=None, *, what: str = "selecting weights") -> dict:
    """The parameters of ``model`` that L1 penalties and pruning act on, by name.

    ``names`` is a parameter name, an iterable of them (as in
    ``model.named_parameters()``), or None for the ``weight`` of every layer in
    :data:`WEIGHT_LAYERS` (biases and normalisation parameters excluded). Raises
    TypeError for a name that is not a string, ValueError for an unknown name, an
    empty selection, or a model that still carries ``torch.nn.utils.prune`` or
    ``parametrize`` re-parametrisations (see :func:`check_plain_weights`); ``what``
    names the caller in that message.
    """
    check_plain_weights(check_model(model), what)
    params = dict(model.named_parameters())
    if names is None:
        selected = {f"{m_name}.weight" if m_name else "weight": m.weight
                    for m_name, m in weight_layers(model)}
        if not selected:
            raise ValueError("model has no nn.Linear or nn.Conv layer whose weights could "
                             "be selected; pass the parameter names explicitly")
        return selected
    names = [names] if isinstance(names, str) else list(names)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise TypeError(f"parameter names must be strings, got {bad!r}")
    if not names:
        raise ValueError("names is empty: select at least one parameter")
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"unknown parameter name(s) {missing}; the model has "
                         f"{list(params)}")
    return {n: params[n] for n in names}


def check_amount(amount, total: int, name: str = "amount", *, allow_all: bool = True) -> int:
    """How many of ``total`` items an ``amount`` prunes, read as ``torch.nn.utils.prune`` does.

    An ``int`` is a **count** (``amount=1`` prunes one weight, not all of them); a
    ``float`` is a fraction in [0, 1] of ``total``, rounded with Python's ``round``.
    With ``allow_all=False`` at least one item must remain. Raises TypeError or
    ValueError naming the problem.
    """
    if isinstance(amount, bool) or not isinstance(amount, Real):
        raise TypeError(f"{name} must be a fraction (float) or a count (int), "
                        f"got {type(amount).__name__}")
    limit = total if allow_all else total - 1
    if isinstance(amount, Integral):
        count = int(amount)
        if not 0 <= count <= limit:
            raise ValueError(f"{name}={count} is a count (an int, as in torch.nn.utils.prune) "
                             f"and must lie in 0..{limit} for {total} items; for a fraction "
                             f"pass a float, e.g. {name}={min(count, 1):.1f}")
        return count
    fraction = check_fraction(amount, name, inclusive_high=allow_all)
    count = round(fraction * total)
    if count > limit:
        raise ValueError(f"{name}={fraction} would remove all {total} items; at least one "
                         f"must remain")
    return count


#: The input projections of ``nn.MultiheadAttention``: one stacked matrix, or three when
#: query, key and value differ in size.
ATTENTION_PROJECTIONS = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")


def weight_attributes(module) -> tuple[str, ...]:
    """The weights of ``module`` that L1 penalties, pruning and quantisation act on, by
    attribute name: ``("weight",)`` for a layer in :data:`WEIGHT_LAYERS`, the input
    projections (:data:`ATTENTION_PROJECTIONS`) it has for an ``nn.MultiheadAttention``,
    none otherwise. The one rule behind :func:`distinct_weights` and the metrics."""
    if isinstance(module, WEIGHT_LAYERS):
        return ("weight",)
    if isinstance(module, torch.nn.MultiheadAttention):
        return tuple(p for p in ATTENTION_PROJECTIONS if getattr(module, p, None) is not None)
    return ()


def distinct_weights(model, names=None, *, what: str = "selecting weights",
                     required: bool = True) -> dict:
    """The weights that L1 penalties, pruning and quantisation act on: each tensor once.

    :func:`select_weights`, with two additions. By default the input projections of
    every ``nn.MultiheadAttention`` are selected too (:data:`ATTENTION_PROJECTIONS`:
    the query, key and value matrices that Linear layers hold elsewhere; its
    ``out_proj`` is a Linear layer already). And a tensor that several names share
    (tied parameters, e.g. a language model's read-out tied to its embedding, Press
    & Wolf 2017) is selected once, under the first name that selects it, so that a
    penalty counts it once, a proximal step shrinks it once and it gets one mask;
    any of its names may be passed in ``names``. Errors as in :func:`select_weights`;
    with ``required=False`` a model without such weights gives an empty dict.
    """
    check_model(model)
    if names is None:
        names = []
        for m_name, module in model.named_modules():
            prefix = f"{m_name}." if m_name else ""
            names += [prefix + attr for attr in weight_attributes(module)]
        if not names and not required:
            check_plain_weights(model, what)
            return {}
        if not names:
            return select_weights(model, None, what=what)  # raises: nothing to select
    names = [names] if isinstance(names, str) else list(names)
    every = dict(model.named_parameters(remove_duplicate=False))
    listed = {id(p): n for n, p in model.named_parameters()}
    canonical = [listed[id(every[n])] if isinstance(n, str) and n in every else n
                 for n in names]
    selected = select_weights(model, canonical, what=what)
    distinct, seen = {}, set()
    for name, first in zip(names, canonical):
        if id(selected[first]) not in seen:
            seen.add(id(selected[first]))
            distinct[name] = selected[first]
    return distinct

"""Input validation shared by the helpers: every check names what was wrong.

Argument checks only. The rule for "which weights" is public in :mod:`helpers.layers`,
the check of a data set is :func:`helpers.data.check_data`, and the context manager
:func:`helpers.train.evaluation_mode` lives with training and evaluation.
"""

from __future__ import annotations

import functools
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


def check_model(model, name: str = "model"):
    """Return ``model`` if it is a ``torch.nn.Module``, else raise TypeError."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return model


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

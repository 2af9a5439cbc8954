"""Input validation shared by the helpers: every check names what was wrong."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch

from .languages import LANGUAGES


def check_language(lang: str) -> str:
    """Return ``lang`` if it is one of the book's languages, else raise ValueError."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    return lang


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

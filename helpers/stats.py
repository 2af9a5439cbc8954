"""Statistics for comparing compressed models: one place for "mean ± std" and friends.

Every "± std" in the book is the *sample* standard deviation over seeds
(:func:`mean_std`), formatted by :func:`format_mean_std`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import check_positive_int

__all__ = ["mean_std", "format_mean_std"]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``; 0 for a single value).

    Introduced in :doc:`pipeline`, section *The dense baseline*: results over seeds are
    reported as mean ± std, with this one statistic everywhere in the book.

    Examples
    --------
    >>> from helpers.stats import mean_std
    >>> [round(v, 6) for v in mean_std([0.90, 0.92, 0.94])]  # sample std (n - 1)
    [0.92, 0.02]
    """
    values = np.asarray(list(values), dtype=float)
    if values.size == 0:
        raise ValueError("mean_std() needs at least one value")
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), std


def format_mean_std(values: Sequence[float], *, scale: float = 1.0, digits: int = 1) -> str:
    """``"mean ± std"`` of ``values`` times ``scale`` (100 for percentages).

    Introduced in :doc:`pipeline`, section *The dense baseline*.

    Examples
    --------
    >>> from helpers.stats import format_mean_std
    >>> format_mean_std([0.90, 0.92, 0.94], scale=100)
    '92.0 ± 2.0'
    """
    check_positive_int(digits, "digits", allow_zero=True)
    mean, std = mean_std(values)
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"

"""The small networks used throughout the book."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ._checks import check_positive_int

__all__ = ["mlp"]


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """A fully connected ReLU network ``Linear → ReLU → … → Linear``.

    Introduced in :doc:`how-to-use`. ``mlp([64, 300, 100, 10])`` is LeNet-300-100
    (LeCun et al. 1998) with the 64 inputs of the 8×8 digits; the pruning chapters
    remove whole neurons from it.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first and number of classes last (at least two entries).
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes needs an input and an output width, got {sizes}")
    for k, s in enumerate(sizes):
        check_positive_int(s, f"sizes[{k}]")
    layers: list[nn.Module] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if k < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)

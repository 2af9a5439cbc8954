"""The small networks used throughout the book."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import check_positive_int

__all__ = ["mlp", "lenet5", "small_cnn", "ResidualBlock", "ResidualCNN", "residual_cnn"]


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """A fully connected ReLU network ``Linear → ReLU → … → Linear``.

    Introduced in :doc:`how-to-use`. ``mlp([64, 300, 100, 10])`` is LeNet-300-100
    (LeCun et al. 1998) with the 64 inputs of the 8×8 digits; the pruning chapters
    remove whole neurons from it.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first and number of classes last (at least two entries).

    Examples
    --------
    >>> from helpers.models import mlp
    >>> mlp([64, 32, 10])
    Sequential(
      (0): Linear(in_features=64, out_features=32, bias=True)
      (1): ReLU()
      (2): Linear(in_features=32, out_features=10, bias=True)
    )
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


def lenet5(n_classes: int = 10) -> nn.Sequential:
    """LeNet-5 for 28×28 grey-scale images, in the Caffe variant pruned by Han et al.

    Introduced in :doc:`pruning`, section *Iterative pruning*. Two 5×5 convolutions
    (20 and 50 filters), each followed by 2×2 max pooling, then the fully connected
    layers 800 → 500 → ``n_classes``. With 10 classes it has 431,080 parameters, the
    "431K" LeNet-5 of Han et al. (2015, Table 1), i.e. Caffe's 20-50-500 variant; the
    original LeNet-5 of LeCun et al. (1998) is a different network of about 60K
    parameters.

    Parameters
    ----------
    n_classes : int
        Number of output classes.

    Examples
    --------
    >>> import torch
    >>> from helpers.models import lenet5
    >>> lenet5()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """
    check_positive_int(n_classes, "n_classes")
    return nn.Sequential(
        nn.Conv2d(1, 20, kernel_size=5), nn.MaxPool2d(2),
        nn.Conv2d(20, 50, kernel_size=5), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(50 * 4 * 4, 500), nn.ReLU(),
        nn.Linear(500, n_classes),
    )


def small_cnn(channels: Sequence[int] = (16, 32), *, in_channels: int = 1,
              image_size: int = 8, n_classes: int = 10,
              kernel_size: int = 3) -> nn.Sequential:
    """A small CNN for the 1×8×8 digits: ``Conv → BatchNorm → ReLU`` blocks, a head.

    Introduced in :doc:`pruning`, section *Channel pruning of a CNN*; the
    :doc:`pipeline` chapter slims it with Network Slimming. Each block is a
    ``kernel_size``×``kernel_size`` convolution with "same" padding and no bias (the
    BatchNorm shift plays its role), BatchNorm and ReLU; a 2×2 max pooling follows the
    last block, then ``Flatten → Linear``. With the defaults the layout is::

        Conv(1→16) BN ReLU  Conv(16→32) BN ReLU  MaxPool(2)  Flatten  Linear(32·4·4→10)

    Every channel of a block can be removed physically by
    :func:`helpers.structured.remove_channels`.

    Parameters
    ----------
    channels : sequence of int
        Output channels of each block (at least one block).
    in_channels : int
        Channels of the input images.
    image_size : int
        Height (= width) of the input images; must be even (for the pooling).
    n_classes : int
        Number of output classes.
    kernel_size : int
        Odd kernel size of the convolutions.

    Examples
    --------
    >>> import torch
    >>> from helpers.models import small_cnn
    >>> small_cnn()(torch.zeros(5, 1, 8, 8)).shape
    torch.Size([5, 10])
    """
    channels = list(channels)
    if not channels:
        raise ValueError("channels needs at least one block, got an empty sequence")
    for k, c in enumerate(channels):
        check_positive_int(c, f"channels[{k}]")
    check_positive_int(in_channels, "in_channels")
    check_positive_int(image_size, "image_size")
    check_positive_int(n_classes, "n_classes")
    check_positive_int(kernel_size, "kernel_size")
    if image_size % 2:
        raise ValueError(f"image_size must be even (2×2 pooling), got {image_size}")
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd ('same' padding), got {kernel_size}")
    layers: list[nn.Module] = []
    for c_in, c_out in zip([in_channels] + channels[:-1], channels):
        layers += [nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False),
                   nn.BatchNorm2d(c_out), nn.ReLU()]
    side = image_size // 2
    layers += [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(channels[-1] * side * side, n_classes)]
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """``y = ReLU(x + BN(Conv(ReLU(BN(Conv(x))))))``: a basic residual block (He et al. 2016).

    Introduced in :doc:`residual-networks`. Both convolutions are 3×3 with "same"
    padding and no bias; ``conv1`` maps ``channels → hidden``, ``conv2`` maps
    ``hidden → channels``, so the block's output has the shape of its input and the
    addition couples the channels of ``conv2`` with those of ``x``.
    """

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        check_positive_int(channels, "channels")
        check_positive_int(hidden, "hidden")
        self.conv1 = nn.Conv2d(channels, hidden, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(hidden, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(x + self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))))


class ResidualCNN(nn.Module):
    """A small residual CNN: a stem, residual blocks, global average pooling, a read-out.

    Introduced in :doc:`residual-networks`; built by :func:`residual_cnn`.
    Layout (input ``(batch, in_channels, H, W)``, output ``(batch, n_classes)``)::

        stem: Conv(in→C) BN ReLU   blocks: ResidualBlock(C, hidden) × n
        pool: AdaptiveAvgPool(1)   flatten   head: Linear(C→n_classes)

    The stem, the ``conv2`` of every block and the head's inputs share the C channels
    of the residual stream: one dependency group.
    """

    def __init__(self, channels: int, hidden: Sequence[int], in_channels: int,
                 n_classes: int):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(channels)
        self.stem_relu = nn.ReLU()
        self.blocks = nn.Sequential(*(ResidualBlock(channels, h) for h in hidden))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem_relu(self.stem_bn(self.stem(x))))
        return self.head(self.flatten(self.pool(x)))


def residual_cnn(channels: int = 32, n_blocks: int = 2, *, hidden: int | None = None,
                 in_channels: int = 1, n_classes: int = 10) -> ResidualCNN:
    """A :class:`ResidualCNN` for the 1×8×8 digits with ``n_blocks`` residual blocks.

    Introduced in :doc:`residual-networks`, section *A small residual network*.

    Parameters
    ----------
    channels : int
        Channels of the residual stream.
    n_blocks : int
        Number of residual blocks (at least one).
    hidden : int, optional
        Channels inside each block (default ``channels``).
    in_channels, n_classes : int
        Input channels and output classes.

    Raises
    ------
    ValueError, TypeError
        For a count that is not a positive integer.
    """
    check_positive_int(channels, "channels")
    check_positive_int(n_blocks, "n_blocks")
    hidden = channels if hidden is None else check_positive_int(hidden, "hidden")
    check_positive_int(in_channels, "in_channels")
    check_positive_int(n_classes, "n_classes")
    return ResidualCNN(channels, [hidden] * n_blocks, in_channels, n_classes)

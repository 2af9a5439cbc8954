"""The small networks used throughout the book."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ._checks import check_positive_int

__all__ = ["mlp", "lenet5", "small_cnn"]


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
    :func:`helpers.prune.remove_channels`.

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

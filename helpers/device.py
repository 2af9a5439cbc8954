"""Where the book's models run: the one device choice (a leaf module)."""

from __future__ import annotations

import torch


def get_device() -> torch.device:
    """Return the CUDA device when one is available, the CPU otherwise.

    Introduced in :doc:`how-to-use` ("Running the code").
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")

"""helpers: the code that *L1 Regularization and Neural-Network Pruning* teaches.

Every chapter of the book imports its code from here, so the text never carries a
second, drifting copy of an algorithm. Modules:

``data``     the bundled digits and diabetes data, synthetic sparse regression, MNIST files
``models``   the small networks used throughout (digits MLP, LeNet-300-100, LeNet-5, a CNN)
``train``    seeding, training and evaluation loops
``plot``     the house style for figures, bilingual labels and the CJK font
``i18n``     the English/Chinese text used in figures and tables

Each public function's docstring names the section of the book that introduces it.
"""

from __future__ import annotations

import torch

__version__ = "0.1.0"

#: The two editions of the book.
LANGUAGES = ("en", "zh")


def get_device() -> torch.device:
    """Return the CUDA device when one is available, the CPU otherwise.

    Introduced in :doc:`how-to-use` ("Running the code").
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# One import per line, in the order the book introduces them.
from . import i18n  # noqa: E402  (after get_device)
from . import plot  # noqa: E402
from . import data  # noqa: E402
from . import models  # noqa: E402
from . import train  # noqa: E402
from . import l1  # noqa: E402
from . import metrics  # noqa: E402
from . import quant  # noqa: E402
from . import mnist  # noqa: E402
from . import prune  # noqa: E402
from . import structured  # noqa: E402
from . import distill  # noqa: E402
from . import pipeline  # noqa: E402

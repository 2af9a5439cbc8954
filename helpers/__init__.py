"""helpers: the code that *L1 Regularization and Neural-Network Pruning* teaches.

Every chapter of the book imports its code from here, so the text never carries a
second, drifting copy of an algorithm. Modules:

``i18n``        the English/Chinese text used in figures and tables
``plot``        the house style for figures and the CJK font
``data``        the bundled digits and diabetes data, synthetic sparse regression
``mnist``       an optional loader of MNIST's IDX files (downloads only on request)
``models``      the small networks used throughout (digits MLP, LeNet-5, a small CNN)
``train``       seeding, training and evaluation loops with hooks
``l1``          soft-thresholding, Lasso solvers and paths, L1 penalties and proximal steps
``metrics``     parameters, nonzeros, MACs, storage in bytes, measured latency
``quant``       int8 quantisation, torch dynamic quantisation, k-means weight sharing
``prune``       unstructured pruning: magnitude and random masks, iterative and gradual
``structured``  neuron and channel importance and their physical removal
``distill``     knowledge distillation (the FAQ's demonstration)
``pipeline``    the combined L1 → prune → fine-tune → quantise pipeline
``stats``       mean ± std over seeds, and comparisons of compressed models
``dependency``  dependency groups of residual networks and their joint channel removal
``language_model``  a tiny character-level transformer, its text and perplexity
``layerwise``   calibration-based pruning of linear layers: Wanda and SparseGPT

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
from . import stats  # noqa: E402
from . import dependency  # noqa: E402
from . import language_model  # noqa: E402
from . import layerwise  # noqa: E402

"""helpers: the code that *L1 Regularization and Neural-Network Pruning* teaches.

Every chapter of the book imports its code from here, so the text never carries a
second, drifting copy of an algorithm. Modules:

``languages``   the registry of the book's languages (a leaf module)
``device``      the one device choice, :func:`get_device` (a leaf module)
``i18n``        the text used in figures and tables, in every language
``plot``        the house style for figures and the CJK font
``page``        a page's first call (style, threads, device) and its glue bookkeeping
``data``        the bundled digits and diabetes data, synthetic sparse regression
``mnist``       optional loaders of MNIST's and Fashion-MNIST's IDX files
``models``      the small networks used throughout (digits MLP, LeNet-5, a small CNN)
``layers``      layer kinds: how each passes channels, and which weights are compressed
``train``       seeding, training and evaluation loops with hooks
``l1``          soft-thresholding, Lasso solvers and paths, L1 penalties and proximal steps
``metrics``     parameters, nonzeros, MACs, storage in bytes, measured latency
``quant``       int8 quantisation, torch dynamic quantisation, k-means weight sharing
``criteria``    the one notion of a pruning criterion: registries of scores by name
``prune``       unstructured pruning: magnitude and random masks, iterative and gradual
``allocation``  where to prune: layer-wise sparsity (uniform, global, ERK, LAMP, OWL)
``sparse_training``  pruning at initialisation, SET/RigL, lottery tickets, movement
``structured``  neuron and channel importance and their physical removal
``distill``     knowledge distillation (the FAQ's demonstration)
``pipeline``    the combined L1 → prune → fine-tune → quantise pipeline
``stats``       mean ± std over seeds, and comparisons of compressed models
``dependency``  dependency groups of residual networks and their joint channel removal
``language_model``  a tiny character-level transformer, its text and perplexity
``heads``       attention heads as dependency groups: importance, zeroing, removal
``layerwise``   calibration-based pruning of linear layers: Wanda and SparseGPT

Each public function's docstring names the section of the book that introduces it.

Submodules load on first use (PEP 562), so ``import helpers`` is cheap and
``helpers.prune`` imports torch only when a page first touches it. No module of the
package imports from this file.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: The submodules, in the order the book introduces them.
SUBMODULES = ("languages", "device", "i18n", "plot", "page", "data", "models", "layers",
              "train", "l1", "metrics", "quant", "mnist", "criteria", "prune", "allocation",
              "sparse_training", "structured", "distill", "pipeline", "stats", "dependency",
              "language_model", "heads", "layerwise")

#: Names re-exported from a leaf submodule: ``helpers.get_device()``, ``helpers.LANGUAGES``.
_ATTRIBUTES = {"get_device": "device", "LANGUAGES": "languages"}

__all__ = [*SUBMODULES, *_ATTRIBUTES]


def __getattr__(name: str):
    """Import a submodule (or a leaf attribute) on first access (PEP 562)."""
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _ATTRIBUTES:
        value = getattr(importlib.import_module(f"{__name__}.{_ATTRIBUTES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

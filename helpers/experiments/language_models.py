"""Experiments of :doc:`language-models`: a tiny transformer, pruned three ways.

Introduced in :doc:`language-models`, section *Pruning the language model*.

:func:`tiny_transformer` trains the page's character-level model on the Python
documentation's topic help; :func:`compare_criteria` prunes its linear layers with
magnitude, Wanda and SparseGPT (:func:`helpers.layerwise.prune_layerwise`), at 50%
unstructured sparsity and to the 2:4 pattern, once per calibration sample, and pairs
the criteria's test perplexities sample by sample
(:func:`helpers.stats.compare_paired`).

Examples
--------
>>> from helpers.experiments import language_models as ex
>>> runs = ex.compare_criteria()                                  # doctest: +SKIP
>>> runs.comparisons["nm", "sparsegpt", "magnitude"].verdict("en")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import language_model as lm
from .. import layerwise, stats
from ..device import get_device
from ..train import seed_everything
from . import experiment

__all__ = ["PAIRS", "PATTERNS", "CriteriaRuns", "TinyLM", "compare_criteria",
           "tiny_transformer"]

#: The pruning patterns compared: keyword arguments of ``prune_layerwise``.
PATTERNS = {"unstructured": dict(sparsity=0.5), "nm": dict(n=2, m=4)}

#: The comparisons ``(a, b)`` of criteria, each paired over the calibration samples.
PAIRS = (("wanda", "magnitude"), ("sparsegpt", "magnitude"), ("sparsegpt", "wanda"))


@dataclass(frozen=True)
class TinyLM:
    """The trained model of :func:`tiny_transformer` and what the page reports of it.

    Attributes
    ----------
    corpus : helpers.language_model.CharCorpus
        The text, split into training, validation and test parts.
    model : helpers.language_model.TinyTransformer
        The trained model, on :func:`helpers.get_device`.
    losses : list of float
        Training loss (nats per character), one per step.
    test_perplexity, val_perplexity : float
        The dense model's perplexity on the test and validation text.
    """

    corpus: lm.CharCorpus
    model: lm.TinyTransformer
    losses: list[float]
    test_perplexity: float
    val_perplexity: float


@experiment(cost=15)
def tiny_transformer(context: int = 64, steps: int = 300, d_model: int = 64,
                     n_layers: int = 2, n_heads: int = 4, batch_size: int = 32,
                     lr: float = 1e-2, seed: int = 0) -> TinyLM:
    """Train the page's character-level transformer with AdamW on the topic help.

    Introduced in :doc:`language-models`, section *A tiny language model*. The
    weights are drawn after ``seed_everything(seed)``; the training windows depend
    on ``seed`` only (:func:`helpers.language_model.train_lm`).

    Returns
    -------
    TinyLM
        ``corpus``, ``model``, ``losses`` (one per step), ``test_perplexity``,
        ``val_perplexity``.
    """
    corpus = lm.load_corpus()
    seed_everything(seed)
    model = lm.TinyTransformer(corpus.vocab_size, context=context, d_model=d_model,
                               n_layers=n_layers, n_heads=n_heads).to(get_device())
    losses = lm.train_lm(model, corpus.train, steps=steps, batch_size=batch_size,
                         lr=lr, seed=seed)
    return TinyLM(corpus, model, losses, lm.perplexity(model, corpus.test),
                  lm.perplexity(model, corpus.val))


@dataclass(frozen=True)
class CriteriaRuns:
    """Test perplexities of the pruned model, per pattern and criterion.

    Attributes
    ----------
    perplexity : dict
        ``(pattern, criterion) ->`` tuple of test perplexities, one per calibration
        seed; ``pattern`` in ``"unstructured"``, ``"nm"``. Magnitude reads no data:
        its one value is repeated for every seed.
    comparisons : dict
        ``(pattern, a, b) ->`` :class:`helpers.stats.Comparison` of criterion ``a``
        with ``b`` (paired over the seeds, lower perplexity better), named by keys
        of :data:`helpers.i18n.TEXT` (:meth:`helpers.stats.Comparison.named`); its
        unit is the key ``"lm_perplexity"``.
    curve : dict
        ``criterion ->`` tuple of test perplexities at each of ``levels``
        (unstructured, calibration seed 0).
    levels : tuple of float
        The sparsities of ``curve``.
    n_cal, n_seeds : int
        Calibration windows per sample, and calibration seeds ``0 … n_seeds − 1``.
    """

    perplexity: dict[tuple[str, str], tuple[float, ...]]
    comparisons: dict[tuple[str, str, str], stats.Comparison]
    curve: dict[str, tuple[float, ...]]
    levels: tuple[float, ...]
    n_cal: int
    n_seeds: int


@experiment(cost=34)
def compare_criteria(n_cal: int = 32, n_seeds: int = 5,
                     levels: tuple[float, ...] = (0.3, 0.5, 0.7)) -> CriteriaRuns:
    """Prune :func:`tiny_transformer`'s model three ways, once per calibration sample.

    Introduced in :doc:`language-models`, section *Pruning the language model*. Each
    of the ``n_seeds`` calibration samples holds ``n_cal`` random training windows
    (:func:`helpers.language_model.calibration_inputs`, seeds ``0 … n_seeds − 1``);
    every pattern of ``PATTERNS`` and criterion prunes the model once per sample
    (magnitude once in all). The curve adds the other ``levels`` with sample 0.

    Returns
    -------
    CriteriaRuns
        ``perplexity``, ``comparisons`` (the ``PAIRS`` for each pattern),
        ``curve``, ``levels``, ``n_cal``, ``n_seeds``.
    """
    trained = tiny_transformer()
    model, corpus = trained.model, trained.corpus
    calibration = [lm.calibration_inputs(corpus.train, n_cal, model.context, seed=s)
                   for s in range(n_seeds)]

    def test_ppl(criterion: str, sample: int, **pattern) -> float:
        pruned = layerwise.prune_layerwise(model, criterion, **pattern,
                                           calibration=calibration[sample])
        return lm.perplexity(pruned, corpus.test)

    ppl = {}
    for pattern, kwargs in PATTERNS.items():
        for criterion in layerwise.CRITERIA:
            samples = [0] if criterion == "magnitude" else range(n_seeds)
            values = tuple(test_ppl(criterion, s, **kwargs) for s in samples)
            ppl[pattern, criterion] = values * (n_seeds // len(values))
    comparisons = {
        (p, a, b): stats.compare_paired(ppl[p, a], ppl[p, b],
                                        names=(f"lm_{a}", f"lm_{b}"),
                                        unit="lm_perplexity", higher_is_better=False)
        for p in PATTERNS for a, b in PAIRS}
    # The curve at 50% is the first sample of the grid.
    curve = {c: tuple(ppl["unstructured", c][0] if s == 0.5 else
                      test_ppl(c, 0, sparsity=s) for s in levels)
             for c in layerwise.CRITERIA}
    return CriteriaRuns(ppl, comparisons, curve, tuple(levels), n_cal, n_seeds)

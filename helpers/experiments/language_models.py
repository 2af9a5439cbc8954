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

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import language_model as lm
from .. import layerwise, metrics, stats
from ..prune import magnitude_mask
from ..device import get_device
from ..train import seed_everything
from . import experiment

__all__ = ["PAIRS", "PATTERNS", "CriteriaRuns", "TinyLM", "compare_criteria",
           "tiny_transformer", "row_magnitude", "layer_wanda", "ABLATION", "Ablation",
           "ablation", "MODEL_SEEDS", "AcrossModels", "across_models", "OwlRuns",
           "owl_allocation", "HEAD_CRITERIA", "HeadRemoval", "head_removal", "STRIDES",
           "LENGTHS", "CALIBRATION_TEXTS", "Evaluation", "evaluation"]

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
    first_sample_losses : dict
        ``(pattern, criterion) ->`` the test windows' losses of the model pruned with
        calibration sample 0 (:func:`helpers.language_model.window_losses`), whose
        mean's ``exp`` is its perplexity; :func:`across_models` reads them.
    """

    perplexity: dict[tuple[str, str], tuple[float, ...]]
    comparisons: dict[tuple[str, str, str], stats.Comparison]
    curve: dict[str, tuple[float, ...]]
    levels: tuple[float, ...]
    n_cal: int
    n_seeds: int
    first_sample_losses: dict[tuple[str, str], np.ndarray]


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

    def test_losses(criterion: str, sample: int, **pattern) -> np.ndarray:
        pruned = layerwise.prune_layerwise(model, criterion, **pattern,
                                           calibration=calibration[sample])
        return lm.window_losses(pruned, corpus.test).numpy()

    def test_ppl(criterion: str, sample: int, **pattern) -> float:
        return _perplexity(test_losses(criterion, sample, **pattern))

    ppl, first = {}, {}
    for pattern, kwargs in PATTERNS.items():
        for criterion in layerwise.CRITERIA:
            samples = [0] if criterion == "magnitude" else range(n_seeds)
            losses = [test_losses(criterion, s, **kwargs) for s in samples]
            first[pattern, criterion] = losses[0]
            values = tuple(_perplexity(row) for row in losses)
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
    return CriteriaRuns(ppl, comparisons, curve, tuple(levels), n_cal, n_seeds, first)


def _perplexity(losses: np.ndarray | torch.Tensor) -> float:
    """``exp`` of the mean loss (per window or per character, nats):
    :func:`helpers.language_model.perplexity` of stored losses."""
    return math.exp(float(torch.as_tensor(losses).mean()))


# ------------------------------------------------------ the 2 × 2 ablation of Wanda


def row_magnitude(weight: torch.Tensor, inputs=None, *, sparsity: float = 0.5,
                  n: int | None = None, m: int | None = None) -> torch.Tensor:
    """Magnitude pruning within each output row: Wanda's mask with all input norms
    equal (a criterion of :func:`helpers.layerwise.prune_layerwise`; reads no data)."""
    ones = torch.ones(weight.shape[1], dtype=weight.dtype, device=weight.device)
    return weight * layerwise.wanda_mask(weight, ones, sparsity, n=n, m=m)


row_magnitude.needs_calibration = False


def layer_wanda(weight: torch.Tensor, inputs: torch.Tensor, *, sparsity: float = 0.5,
                n: int | None = None, m: int | None = None) -> torch.Tensor:
    """Wanda's scores ``|W_ij|·‖X_j‖`` compared across the whole layer, as magnitude
    pruning compares ``|W_ij|`` (a criterion of :func:`helpers.layerwise.prune_layerwise`;
    unstructured only)."""
    if n is not None:
        raise ValueError("layer_wanda is unstructured: an N:M pattern compares within "
                         "groups of a row already")
    scores = layerwise.wanda_scores(weight, inputs.double().norm(dim=0))
    return weight * magnitude_mask(scores, sparsity).to(weight.dtype)


#: The four cells: (comparison group, score) -> criterion of ``prune_layerwise``.
ABLATION = {("layer", "magnitude"): "magnitude", ("row", "magnitude"): row_magnitude,
            ("layer", "wanda"): layer_wanda, ("row", "wanda"): "wanda"}


@dataclass(frozen=True)
class Ablation:
    """What :func:`ablation` returns.

    Attributes
    ----------
    perplexity : dict
        ``(group, score) ->`` test perplexity of the pruned model.
    losses : dict
        ``(group, score) ->`` its loss on each test window (nats per character),
        :func:`helpers.language_model.window_losses`.
    comparisons : dict
        Each effect, paired over the test windows (:func:`helpers.stats.compare_paired`,
        lower is better), named by :data:`helpers.i18n.TEXT` keys:
        ``"group_magnitude"`` (per row against the whole layer, score ``|W|``),
        ``"group_wanda"`` (the same with Wanda's score), ``"score_row"`` (Wanda's
        score against ``|W|``, per row) and ``"score_layer"`` (the same across the
        layer).
    n_windows : int
        Test windows.
    """

    perplexity: dict[tuple[str, str], float]
    losses: dict[tuple[str, str], np.ndarray]
    comparisons: dict[str, stats.Comparison]
    n_windows: int


@experiment(cost=12)
def ablation(sparsity: float = 0.5, sample: int = 0, n_cal: int = 32) -> Ablation:
    """Separate Wanda's two differences from magnitude pruning: its score and the group
    in which it compares scores.

    Introduced in :doc:`language-models`, section *Pruning the language model*. The
    model of :func:`tiny_transformer` is pruned at ``sparsity`` (unstructured) by each
    criterion of :data:`ABLATION`, the data-reading ones with calibration sample
    ``sample`` of ``n_cal`` windows (as in :func:`compare_criteria`); each effect is
    the difference in test loss, window by window.

    Returns
    -------
    Ablation
    """
    trained = tiny_transformer()
    model, corpus = trained.model, trained.corpus
    calibration = lm.calibration_inputs(corpus.train, n_cal, model.context, seed=sample)
    losses = {}
    for cell, criterion in ABLATION.items():
        pruned = layerwise.prune_layerwise(model, criterion, sparsity, calibration=calibration)
        losses[cell] = lm.window_losses(pruned, corpus.test).numpy()

    def effect(a, b):
        return stats.compare_paired(losses[a], losses[b],
                                    names=(f"lm_cell_{a[0]}_{a[1]}", f"lm_cell_{b[0]}_{b[1]}"),
                                    unit="lm_nll", higher_is_better=False)

    comparisons = {
        "group_magnitude": effect(("row", "magnitude"), ("layer", "magnitude")),
        "group_wanda": effect(("row", "wanda"), ("layer", "wanda")),
        "score_row": effect(("row", "wanda"), ("row", "magnitude")),
        "score_layer": effect(("layer", "wanda"), ("layer", "magnitude"))}
    return Ablation({cell: _perplexity(v) for cell, v in losses.items()}, losses,
                    comparisons, len(next(iter(losses.values()))))


# ---------------------------------------------------- verdicts across trained models

#: The training seeds of the models compared in :func:`across_models`.
MODEL_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class AcrossModels:
    """What :func:`across_models` returns.

    Attributes
    ----------
    dense_perplexity : tuple of float
        Each trained model's test perplexity.
    perplexity : dict
        ``(pattern, criterion) ->`` tuple of test perplexities, one per model.
    comparisons : dict
        ``(pattern, a, b) ->`` :class:`helpers.stats.Comparison` of criterion ``a``
        with ``b`` on the test loss (nats per character), over the models and the
        test windows (:func:`helpers.stats.compare_examples`, lower is better).
    n_windows : int
        Test windows.
    """

    dense_perplexity: tuple[float, ...]
    perplexity: dict[tuple[str, str], tuple[float, ...]]
    comparisons: dict[tuple[str, str, str], stats.Comparison]
    n_windows: int


@experiment(cost=30)  # below compare_criteria: it reads compare_criteria's results
def across_models(seeds: tuple[int, ...] = MODEL_SEEDS, n_cal: int = 32) -> AcrossModels:
    """The criteria compared over several trained models, not one.

    Introduced in :doc:`language-models`, section *Pruning the language model*. For
    each training seed: the model of :func:`tiny_transformer` with that seed, pruned by
    every criterion and pattern of :data:`PATTERNS` with calibration sample ``seed``
    (``n_cal`` windows), and scored window by window on the test text
    (:func:`helpers.language_model.window_losses`). Each comparison's interval adds
    what changes from model to model (training and calibration) and the test text's
    own sampling error (:func:`helpers.stats.compare_examples`).

    Returns
    -------
    AcrossModels
    """
    losses, dense = {}, {}
    # The page's model (seed 0) last: the other experiments train it, perhaps already,
    # and compare_criteria prunes it with calibration sample 0, which is this one.
    for seed in sorted(seeds, key=lambda s: s == 0):
        trained = tiny_transformer(seed=seed)
        model, corpus = trained.model, trained.corpus
        dense[seed] = trained.test_perplexity
        if seed == 0:
            for key, row in compare_criteria(n_cal=n_cal).first_sample_losses.items():
                losses.setdefault(key, {})[seed] = row
            continue
        calibration = lm.calibration_inputs(corpus.train, n_cal, model.context, seed=seed)
        for pattern, kwargs in PATTERNS.items():
            for criterion in layerwise.CRITERIA:
                pruned = layerwise.prune_layerwise(model, criterion, **kwargs,
                                                   calibration=calibration)
                losses.setdefault((pattern, criterion), {})[seed] = \
                    lm.window_losses(pruned, corpus.test).numpy()
    losses = {key: np.stack([rows[s] for s in seeds]) for key, rows in losses.items()}
    comparisons = {
        (p, a, b): stats.compare_examples(losses[p, a], losses[p, b],
                                          names=(f"lm_{a}", f"lm_{b}"), unit="lm_nll",
                                          higher_is_better=False)
        for p in PATTERNS for a, b in PAIRS}
    return AcrossModels(tuple(dense[s] for s in seeds),
                        {key: tuple(_perplexity(row) for row in rows)
                         for key, rows in losses.items()},
                        comparisons, losses[next(iter(losses))].shape[1])


# ------------------------------------------------------------ OWL: how much of each block


@dataclass(frozen=True)
class OwlRuns:
    """What :func:`owl_allocation` returns.

    Attributes
    ----------
    sparsity, lam : float
        The mean sparsity over blocks and OWL's λ.
    block_sparsity : dict
        ``seed ->`` ``{block: sparsity}`` that OWL gave each model's blocks.
    perplexity : dict
        ``"uniform"`` / ``"owl"`` ``->`` tuple of test perplexities, one per model.
    comparison : helpers.stats.Comparison
        OWL against uniform Wanda on the test loss (nats per character), over the
        models and the test windows (:func:`helpers.stats.compare_examples`).
    """

    sparsity: float
    lam: float
    block_sparsity: dict[int, dict[str, float]]
    perplexity: dict[str, tuple[float, ...]]
    comparison: stats.Comparison


@experiment(cost=10)
def owl_allocation(seeds: tuple[int, ...] = MODEL_SEEDS, sparsity: float = 0.7,
                   lam: float = 0.08, n_cal: int = 32) -> OwlRuns:
    """Wanda at ``sparsity`` with every block alike, and with OWL's blocks' sparsities.

    Introduced in :doc:`language-models`, section *How much of each block*. For each
    model of :func:`across_models` (training seed ``seed``, calibration sample
    ``seed``), OWL's allocation (:func:`helpers.allocation.owl_sparsities`, λ =
    ``lam``, M = 5) and uniform sparsity, both of mean ``sparsity`` over the blocks
    (all blocks are the same size, so both prune the same number of weights), are
    each pruned with Wanda and scored window by window on the test text.
    """
    from .. import allocation

    losses, blocks = {"uniform": {}, "owl": {}}, {}
    for seed in sorted(seeds, key=lambda s: s == 0):
        trained = tiny_transformer(seed=seed)
        model, corpus = trained.model, trained.corpus
        calibration = lm.calibration_inputs(corpus.train, n_cal, model.context, seed=seed)
        owl = allocation.owl_sparsities(model, calibration, sparsity, lam=lam)
        blocks[seed] = {layerwise.block_of(model, name): s for name, s in owl.items()}
        for key, amount in (("uniform", sparsity), ("owl", owl)):
            pruned = layerwise.prune_layerwise(model, "wanda", amount, calibration=calibration)
            losses[key][seed] = lm.window_losses(pruned, corpus.test).numpy()
    rows = {key: np.stack([values[s] for s in seeds]) for key, values in losses.items()}
    comparison = stats.compare_examples(rows["owl"], rows["uniform"],
                                        names=("lm_owl", "lm_uniform_wanda"),
                                        unit="lm_nll", higher_is_better=False)
    return OwlRuns(sparsity, lam, {s: blocks[s] for s in seeds},
                   {key: tuple(_perplexity(r) for r in rows[key]) for key in rows},
                   comparison)


# ------------------------------------------------------------ attention heads

#: The head criteria compared: each scores every head of a block, the lowest removed.
HEAD_CRITERIA = ("importance", "random")


@dataclass(frozen=True)
class HeadRemoval:
    """What :func:`head_removal` returns.

    Attributes
    ----------
    removed : tuple of int
        Heads removed per block (of ``n_heads``).
    n_heads : int
        Heads per block of the dense models.
    perplexity : dict
        ``(criterion, k) ->`` tuple of test perplexities, one per model; ``("dense",
        0)`` the dense models' (:attr:`TinyLM.test_perplexity`).
    comparisons : dict
        ``(k, "importance", "random") ->`` :class:`helpers.stats.Comparison` of the
        two criteria on the test loss (nats per character), over the models and the
        test windows (:func:`helpers.stats.compare_examples`, lower is better).
    parameters : dict
        ``k ->`` parameters of the model without ``k`` heads per block; ``0``: dense.
    zeroing_difference : float
        The largest difference between the logits of a model with heads removed and
        the same model with them zeroed, over the test windows (first model, the most
        heads removed).
    """

    removed: tuple[int, ...]
    n_heads: int
    perplexity: dict[tuple[str, int], tuple[float, ...]]
    comparisons: dict[tuple[int, str, str], stats.Comparison]
    parameters: dict[int, int]
    zeroing_difference: float


def _head_scores(model: lm.TinyTransformer, windows: torch.Tensor, criterion: str,
                 seed: int) -> torch.Tensor:
    """Every head's score under ``criterion``, shape ``(n_blocks, n_heads)``."""
    from .. import heads

    if criterion == "importance":
        return heads.head_importance(model, windows)
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(len(model.blocks), model.blocks[0].n_heads, generator=generator)


@experiment(cost=4)
def head_removal(seeds: tuple[int, ...] = MODEL_SEEDS, removed: tuple[int, ...] = (1, 2),
                 n_cal: int = 32) -> HeadRemoval:
    """Remove the ``k`` least important heads of every block, or ``k`` at random.

    Introduced in :doc:`language-models`, section *Removing attention heads*. For each
    model of :func:`across_models` (training seed ``seed``), ``n_cal`` random training
    windows (seed ``seed``) score the heads by Michel et al.'s gradient importance
    (:func:`helpers.heads.head_importance`), or the scores are drawn at random (seed
    ``seed``). The ``k`` lowest of each block are removed
    (:func:`helpers.heads.remove_heads`) and the smaller model scored window by window
    on the test text.
    """
    from .. import heads

    losses, dense, parameters, difference = {}, {}, {}, 0.0
    for seed in seeds:
        trained = tiny_transformer(seed=seed)
        model, corpus = trained.model, trained.corpus
        dense[seed] = trained.test_perplexity
        parameters[0] = metrics.count_parameters(model)
        generator = torch.Generator().manual_seed(seed)
        windows = lm.sample_windows(corpus.train, n_cal, model.context, generator=generator)
        for criterion in HEAD_CRITERIA:
            order = _head_scores(model, windows, criterion, seed).argsort(dim=1)
            for k in removed:
                chosen = {i: sorted(row[:k].tolist()) for i, row in enumerate(order)}
                small = heads.remove_heads(model, chosen)
                parameters[k] = metrics.count_parameters(small)
                losses.setdefault((criterion, k), {})[seed] = \
                    lm.window_losses(small, corpus.test).numpy()
                if seed == seeds[0] and k == max(removed) and criterion == "importance":
                    difference = _zeroing_difference(model, small, chosen, corpus.test)
    rows = {key: np.stack([values[s] for s in seeds]) for key, values in losses.items()}
    comparisons = {
        (k, a, b): stats.compare_examples(rows[a, k], rows[b, k],
                                          names=(f"lm_heads_{a}", f"lm_heads_{b}"),
                                          unit="lm_nll", higher_is_better=False)
        for k in removed for a, b in (HEAD_CRITERIA,)}
    perplexity = {key: tuple(_perplexity(r) for r in rows[key]) for key in rows}
    perplexity["dense", 0] = tuple(dense[s] for s in seeds)
    return HeadRemoval(tuple(removed), model.blocks[0].n_heads, perplexity, comparisons,
                       parameters, difference)


def _zeroing_difference(model, small, chosen, tokens: torch.Tensor) -> float:
    """The largest |logit| difference between ``small`` and ``model`` with the heads
    ``chosen`` zeroed, over the first 64 windows of ``tokens``."""
    import copy

    from .. import heads

    zeroed = heads.zero_heads(copy.deepcopy(model), chosen)
    x = tokens[:64 * model.context].view(64, model.context)
    with torch.no_grad():
        return float((small.eval()(x) - zeroed.eval()(x)).abs().max())


# ------------------------------------------------------ evaluating a language model

#: The strides and window lengths of :func:`evaluation` (characters).
STRIDES = (64, 32)
LENGTHS = (16, 64)
#: The calibration texts of :func:`evaluation`: the training topics, or topics that
#: neither training nor the test text holds (the validation split).
CALIBRATION_TEXTS = ("train", "val")


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluation` returns; tuples hold one value per model.

    Attributes
    ----------
    strided : dict
        ``(model, stride) ->`` tuple of test perplexities with windows of the model's
        context every ``stride`` characters
        (:func:`helpers.language_model.strided_losses`); model ``"dense"`` or
        ``"magnitude"`` (pruned to 50%).
    lengths : dict
        ``(model, length) ->`` tuple of test perplexities, non-overlapping windows of
        ``length`` characters.
    protocol : helpers.stats.Comparison
        The dense models' test loss per character (nats) scored with the smallest
        stride against without overlap, over the models and blocks of one window
        (:func:`helpers.stats.compare_examples`, lower is better).
    calibration : dict
        ``(criterion, text) ->`` tuple of test perplexities, Wanda and SparseGPT at 50%
        calibrated on ``n_cal`` windows of the text.
    calibration_comparisons : dict
        ``criterion ->`` the held-out topics' calibration against the training
        topics', over the models and the test windows.
    by_position : ndarray
        The dense models' mean test loss (nats) at each position of a non-overlapping
        window, shape ``(context,)``: position 0 predicts from one character.
    """

    strided: dict
    lengths: dict
    protocol: stats.Comparison
    calibration: dict
    calibration_comparisons: dict
    by_position: np.ndarray


@experiment(cost=14)
def evaluation(seeds: tuple[int, ...] = MODEL_SEEDS, strides: tuple[int, ...] = STRIDES,
               lengths: tuple[int, ...] = LENGTHS, n_cal: int = 32) -> Evaluation:
    """How the evaluation protocol and the calibration text move perplexity.

    Introduced in :doc:`language-models`, section *Evaluating a language model*. For
    the model of :func:`tiny_transformer` of each seed of ``seeds`` and its copy pruned
    to 50% by magnitude: test perplexity with windows of the model's context every
    ``stride`` characters, and without overlap with windows of each of ``lengths``;
    and Wanda and SparseGPT at 50% calibrated on ``n_cal`` windows (sample ``seed``)
    of each text of :data:`CALIBRATION_TEXTS`, scored on the test windows.

    Returns
    -------
    Evaluation
    """
    strided, per_length, blocks, positions = {}, {}, {}, []
    calibration, cal_losses = {}, {}
    for seed in seeds:
        trained = tiny_transformer(seed=seed)
        model, corpus = trained.model, trained.corpus
        context = model.context
        models = {"dense": model,
                  "magnitude": layerwise.prune_layerwise(model, "magnitude", 0.5)}
        for name, m in models.items():
            for stride in strides:
                losses = lm.strided_losses(m, corpus.test, stride=stride)
                strided.setdefault((name, stride), []).append(_perplexity(losses))
                if name == "dense":  # blocks of one window: neighbours share context
                    n = len(losses) // context * context
                    blocks.setdefault(stride, []).append(
                        losses[:n].view(-1, context).mean(dim=1).numpy())
                    if stride == context:  # the loss at each position of a window
                        positions.append(losses[:n].view(-1, context).mean(dim=0).numpy())
            for length in lengths:
                per_length.setdefault((name, length), []).append(
                    strided[name, length][-1] if length == context and length in strides
                    else lm.perplexity(m, corpus.test, length=length))
        texts = {"train": corpus.train, "val": corpus.val}
        for text in CALIBRATION_TEXTS:
            cal = lm.calibration_inputs(texts[text], n_cal, context, seed=seed)
            for criterion in ("wanda", "sparsegpt"):
                pruned = layerwise.prune_layerwise(model, criterion, 0.5, calibration=cal)
                losses = lm.window_losses(pruned, corpus.test).numpy()
                cal_losses.setdefault((criterion, text), []).append(losses)
                calibration.setdefault((criterion, text), []).append(_perplexity(losses))
    fine, coarse = min(strides), max(strides)
    n = min(len(row) for rows in (blocks[fine], blocks[coarse]) for row in rows)
    protocol = stats.compare_examples(
        *(np.stack([row[:n] for row in blocks[s]]) for s in (fine, coarse)),
        names=("lm_strided", "lm_non_overlapping"), unit="lm_nll", higher_is_better=False)
    cal_losses = {key: np.stack(rows) for key, rows in cal_losses.items()}
    comparisons = {c: stats.compare_examples(
        cal_losses[c, "val"], cal_losses[c, "train"],
        names=("lm_cal_val", "lm_cal_train"), unit="lm_nll", higher_is_better=False)
        for c in ("wanda", "sparsegpt")}
    return Evaluation({k: tuple(v) for k, v in strided.items()},
                      {k: tuple(v) for k, v in per_length.items()}, protocol,
                      {k: tuple(v) for k, v in calibration.items()}, comparisons,
                      np.mean(positions, axis=0))

"""Statistics for comparing compressed models: mean ± std, and comparisons with verdicts.

Every "± std" in the book is the *sample* standard deviation over seeds
(:func:`mean_std`), formatted by :func:`format_mean_std`.

Every comparative statement of the book ("ahead", "behind", "faster", "no detectable
difference") comes from a :class:`Comparison`, which holds an estimate, a confidence
interval and the method that produced them, and writes its own verdict in the page's
language (:meth:`Comparison.verdict`). A difference is called a difference only when the
interval excludes "no difference" (0 for a difference, 1 for a ratio).

- :func:`compare_accuracy`: two methods, several seeds, one shared test set; a paired
  bootstrap over seeds *and* test examples, so that both the training randomness and the
  test set's sampling error enter the interval (with one seed, McNemar's exact test too);
- :func:`mcnemar`: two models on one test set, McNemar's exact test (:func:`scipy.stats.binomtest`);
- :func:`compare_paired`: a metric per seed for two methods (perplexity, say); the paired
  t interval (:func:`scipy.stats.ttest_rel`);
- :func:`latency_ratio`: timings from interleaved rounds; the speed-up of A over B as a
  ratio of medians, with a paired bootstrap interval (:func:`scipy.stats.bootstrap`).

The methods are introduced in :doc:`background`, section *Judging a compression claim*.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np
import torch
from scipy import stats as _sps

from ._checks import check_language, check_positive_int

__all__ = ["mean_std", "format_mean_std", "Comparison", "compare_accuracy", "mcnemar",
           "compare_paired", "latency_ratio"]


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


# --------------------------------------------------------------------------- comparisons

_KINDS = ("difference", "ratio")
_CJK_LATIN = re.compile(r"(?<=[\u4e00-\u9fff])(?=[A-Za-z0-9\u2212])"
                        r"|(?<=[A-Za-z0-9%×])(?=[\u4e00-\u9fff])")


def _number(value: float, digits: int) -> str:
    """A number with a true minus sign (U+2212), as typeset in the book."""
    text = f"{value:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # no "−0.0"
    return text.replace("-", "\u2212")


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing method A with method B.

    Introduced in :doc:`background`, section *Judging a compression claim*.

    Attributes
    ----------
    names : tuple of str
        ``(A, B)``, the names used in the verdict.
    estimate, low, high : float
        The point estimate of A − B (``kind="difference"``) or of the speed-up of A over B
        (``kind="ratio"``), and its confidence interval ``[low, high]``.
    confidence : float
        The interval's confidence level, in (0, 1).
    p_value : float or None
        The p-value of the test of "no difference", where the method gives one.
    method : str
        How the interval was computed (shown in tables and captions).
    unit : str
        ``"pp"`` (percentage points), ``"×"`` (a ratio) or the metric's name.
    kind : {"difference", "ratio"}
    higher_is_better : bool
        Whether a positive difference (a ratio above 1) favours A.
    """

    names: tuple[str, str]
    estimate: float
    low: float
    high: float
    confidence: float
    p_value: float | None
    method: str
    unit: str
    kind: str = "difference"
    higher_is_better: bool = True

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {self.kind!r}")
        if not (isinstance(self.names, tuple) and len(self.names) == 2):
            raise ValueError(f"names must be a tuple (A, B), got {self.names!r}")
        _check_confidence(self.confidence)
        if not self.low <= self.estimate <= self.high:
            raise ValueError(f"the estimate {self.estimate} lies outside its interval "
                             f"[{self.low}, {self.high}]")

    @property
    def differs(self) -> bool:
        """True when the interval excludes "no difference" (0, or 1 for a ratio)."""
        null = 0.0 if self.kind == "difference" else 1.0
        return not self.low <= null <= self.high

    @property
    def favours_a(self) -> bool | None:
        """True if the interval says A is better, False if B is, None if it cannot tell."""
        if not self.differs:
            return None
        null = 0.0 if self.kind == "difference" else 1.0
        return (self.estimate > null) == self.higher_is_better

    def named(self, lang: str) -> "Comparison":
        """The comparison with its names and unit in ``lang``: a name (or the unit)
        that is a key of :data:`helpers.i18n.TEXT` becomes that key's text, any other
        stays as it is.

        An experiment (:mod:`helpers.experiments`) computes its comparisons once for
        every edition and names the sides by keys; a page reads them in its language.

        Examples
        --------
        >>> c = Comparison(("dense", "L1"), 1.0, 0.5, 1.5, 0.95, 0.01, "t", "pp")
        >>> c.named("zh").names
        ('稠密', 'L1')
        """
        check_language(lang)
        from dataclasses import replace

        from .i18n import TEXT

        def read(text: str) -> str:
            return TEXT[text][lang] if text in TEXT else text

        return replace(self, names=tuple(map(read, self.names)), unit=read(self.unit))

    def word(self, lang: str) -> str:
        """A short verdict word: "ahead", "behind", "faster", "slower" or "no detectable difference"."""
        check_language(lang)
        from .i18n import tr

        better = self.favours_a
        if better is None:
            return tr("stats_word_same", lang)
        if self.kind == "ratio":
            return tr("stats_word_faster" if better else "stats_word_slower", lang)
        return tr("stats_word_ahead" if better else "stats_word_behind", lang)

    def verdict(self, lang: str, digits: int | None = None) -> str:
        """The verdict as a sentence fragment in ``lang``, with its interval.

        For example ``"A ahead of B by 1.2 pp (95% CI 0.4 to 2.0)"``, ``"A behind B by
        3.7 pp (95% CI 1.9 to 5.6)"`` (an accuracy gap is given as its size, with the
        interval of that size) or ``"no detectable difference between A and B (95% CI
        −0.8 to 1.1 pp)"``; two models right on exactly the same examples get "no
        difference … the same test examples" instead of a zero-width interval. Other
        units give the signed difference A − B: ``"A behind B: difference in test
        perplexity 0.03 (95% CI 0.01 to 0.05)"``.
        ``digits`` defaults to 1 for differences and 2 for ratios. Names and a unit
        given as keys of :data:`helpers.i18n.TEXT` are read in ``lang`` (:meth:`named`),
        so one comparison, computed once, serves every edition.
        """
        check_language(lang)
        from .i18n import tr

        if digits is None:
            digits = 2 if self.kind == "ratio" else 1
        check_positive_int(digits, "digits", allow_zero=True)
        here = self.named(lang)
        a, b = here.names
        fields = dict(a=a, b=b, conf=f"{100 * self.confidence:g}%",
                      est=_number(self.estimate, digits),
                      abs=_number(abs(self.estimate), digits),
                      low=_number(self.low, digits), high=_number(self.high, digits),
                      unit=here.unit)
        better = self.favours_a
        if self.kind == "ratio":
            key = {True: "stats_faster", False: "stats_slower", None: "stats_same_speed"}[better]
        elif self.unit == "pp" and self.higher_is_better:
            if self.estimate == self.low == self.high == 0:
                key = "stats_identical"  # not an interval: the answers agree
            else:
                key = {True: "stats_ahead_pp", False: "stats_behind_pp",
                       None: "stats_same_pp"}[better]
            if better is False:  # "behind by 3.7 pp (CI 1.9 to 5.6)": the gap, positive
                fields.update(low=_number(-self.high, digits), high=_number(-self.low, digits))
        else:
            key = {True: "stats_ahead", False: "stats_behind", None: "stats_same"}[better]
        text = tr(key, lang).format(**fields)
        if lang == "zh":  # a space where Chinese meets a Latin name or a number
            text = _CJK_LATIN.sub(" ", text)
        return text

    def __str__(self) -> str:
        return self.verdict("en")


# ------------------------------------------------------------------------- input checks

def _check_confidence(confidence) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, Real):
        raise TypeError(f"confidence must be a real number, got {type(confidence).__name__}")
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95), "
                         f"got {confidence}")
    return float(confidence)


def _check_names(names) -> tuple[str, str]:
    if (isinstance(names, str) or not isinstance(names, Sequence) or len(names) != 2
            or not all(isinstance(n, str) and n for n in names)):
        raise ValueError(f"names must be two non-empty strings (A, B), got {names!r}")
    return (names[0], names[1])


def _as_numpy(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array, got {type(x).__name__}") from error


def _check_correct(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    """Two bool arrays of equal shape (n_seeds, n_examples); 1-D becomes one seed."""
    arrays = []
    for name, x in (("correct_a", correct_a), ("correct_b", correct_b)):
        x = _as_numpy(x, name)
        if x.dtype != bool:
            raise TypeError(f"{name} must be a bool array (True where the prediction is "
                            f"right, e.g. model(X).argmax(1) == y or train.correct()), "
                            f"got dtype {x.dtype}")
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2:
            raise ValueError(f"{name} must have shape (n_examples,) or (n_seeds, "
                             f"n_examples), got {x.shape}")
        if x.shape[1] == 0:
            raise ValueError(f"{name} holds no test examples")
        arrays.append(x)
    a, b = arrays
    if a.shape != b.shape:
        raise ValueError(f"correct_a and correct_b must have the same shape (the same seeds "
                         f"on the same test examples), got {a.shape} and {b.shape}")
    return a, b


def _check_values(values, name: str, *, positive: bool = False) -> np.ndarray:
    x = _as_numpy(values, name)
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer)
                               or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    x = x.astype(float)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per seed or round), "
                         f"got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values; drop the failed runs "
                         f"from both arms before comparing")
    if positive and (x <= 0).any():
        raise ValueError(f"{name} must hold positive times, got a minimum of {x.min()}")
    return x


# -------------------------------------------------------------------------- accuracies

def mcnemar(correct_a, correct_b, *, names: Sequence[str],
            confidence: float = 0.95) -> Comparison:
    """McNemar's exact test: two models' predictions on one test set.

    Only the discordant examples carry information: ``n_ab`` that A gets right and B
    wrong, ``n_ba`` the reverse. Under "no difference" ``n_ab ~ Binomial(n_ab + n_ba,
    1/2)``; the two-sided p-value is :func:`scipy.stats.binomtest`'s. The interval of the
    accuracy difference ``(n_ab − n_ba) / n`` (in pp) is the exact (Clopper–Pearson)
    interval of ``n_ab / (n_ab + n_ba)``, mapped to the difference (conditional on the
    number of discordant examples).

    Parameters
    ----------
    correct_a, correct_b : bool array of shape (n_examples,)
        True where each model's prediction is right, on the same examples in the same order.
    names : (str, str)
        The names of A and B in the verdict.
    confidence : float
        In (0, 1).

    Returns
    -------
    Comparison
        ``kind="difference"``, ``unit="pp"``, with the exact p-value.

    Raises
    ------
    TypeError, ValueError
        For arrays that are not bool, not 1-D, or not of equal length.

    References
    ----------
    McNemar (1947); Dietterich (1998) for its use in comparing classifiers.
    Introduced in :doc:`background`, section *Judging a compression claim*.
    """
    names = _check_names(names)
    confidence = _check_confidence(confidence)
    a, b = _check_correct(correct_a, correct_b)
    if a.shape[0] != 1:
        raise ValueError(f"mcnemar() compares two models on one test set; got {a.shape[0]} "
                         f"seeds, use compare_accuracy() for several")
    a, b = a[0], b[0]
    n = a.size
    n_ab = int(np.sum(a & ~b))
    n_ba = int(np.sum(~a & b))
    discordant = n_ab + n_ba
    estimate = 100.0 * (n_ab - n_ba) / n
    if discordant == 0:
        return Comparison(names, 0.0, 0.0, 0.0, confidence, 1.0, "McNemar exact test",
                          "pp")
    test = _sps.binomtest(n_ab, discordant, 0.5)
    ci = test.proportion_ci(confidence_level=confidence, method="exact")
    scale = 100.0 * discordant / n
    low, high = scale * (2 * ci.low - 1), scale * (2 * ci.high - 1)
    return Comparison(names, estimate, min(low, estimate), max(high, estimate), confidence,
                      float(test.pvalue), "McNemar exact test", "pp")


def compare_accuracy(correct_a, correct_b, *, names: Sequence[str],
                     confidence: float = 0.95, n_boot: int = 2000,
                     seed: int = 0) -> Comparison:
    """Paired comparison of two methods' accuracies over seeds and test examples.

    The difference A − B (in percentage points) of the mean accuracy over seeds, with a
    percentile interval from a two-level paired bootstrap: each replicate draws seeds with
    replacement *and* test examples with replacement, the same draws for A and B. The
    interval thus includes both the spread over training seeds and the test set's own
    sampling error, which the seed standard deviation alone leaves out (resampling both
    levels errs on the wide side). With one seed it is the example bootstrap, and
    McNemar's exact p-value (:func:`mcnemar`) is reported too.

    Introduced in :doc:`background`, section *Judging a compression claim*.

    Parameters
    ----------
    correct_a, correct_b : bool array of shape (n_seeds, n_examples) or (n_examples,)
        Row ``s`` is True where the model of method A (B) trained with seed ``s`` predicts
        the test example right; same seeds, same examples, same order for both.
        :func:`helpers.train.correct` gives one row.
    names : (str, str)
        The names of A and B in the verdict.
    confidence : float
        In (0, 1).
    n_boot : int
        Bootstrap replicates.
    seed : int
        Seeds the bootstrap's random draws (the result is reproducible).

    Returns
    -------
    Comparison
        ``kind="difference"``, ``unit="pp"``.

    Raises
    ------
    TypeError, ValueError
        For arrays that are not bool, of unequal shapes or empty, for ``confidence``
        outside (0, 1), a non-positive ``n_boot``.
    """
    names = _check_names(names)
    confidence = _check_confidence(confidence)
    check_positive_int(n_boot, "n_boot")
    check_positive_int(seed, "seed", allow_zero=True)
    a, b = _check_correct(correct_a, correct_b)
    n_seeds, n_examples = a.shape
    diff = a.astype(np.float64) - b.astype(np.float64)  # (S, N) in {-1, 0, 1}
    estimate = 100.0 * float(diff.mean())
    rng = np.random.default_rng(seed)
    replicates = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n_examples)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        # Counts of each seed / example in a resample: weights of one replicate's mean.
        w_seed = (rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=size)
                  if n_seeds > 1 else np.ones((size, 1)))
        w_example = rng.multinomial(n_examples, np.full(n_examples, 1 / n_examples),
                                    size=size)
        replicates[start:start + size] = np.einsum("bs,sn,bn->b", w_seed, diff, w_example)
    replicates *= 100.0 / (n_seeds * n_examples)
    tail = (1 - confidence) / 2
    low, high = np.quantile(replicates, [tail, 1 - tail])
    p_value, method = None, f"paired bootstrap over {n_seeds} seeds × {n_examples} examples"
    if n_seeds == 1:
        p_value = mcnemar(a[0], b[0], names=names, confidence=confidence).p_value
        method = f"paired bootstrap over {n_examples} examples; McNemar exact p"
    return Comparison(names, estimate, min(float(low), estimate), max(float(high), estimate),
                      confidence, p_value, method, "pp")


# ------------------------------------------------------------------- metrics per seed

def compare_paired(values_a, values_b, *, names: Sequence[str], unit: str = "",
                   higher_is_better: bool = True, confidence: float = 0.95) -> Comparison:
    """Paired comparison of a metric measured once per seed (or per example) for two methods.

    The mean difference A − B with the paired t interval and p-value
    (:func:`scipy.stats.ttest_rel`): value ``i`` of A and of B come from the same seed
    (or, for a per-example loss such as a squared error, the same test example).
    It sees only the spread over seeds: for accuracies on a shared test set prefer
    :func:`compare_accuracy`, which adds the test set's sampling error.

    Introduced in :doc:`background`, section *Judging a compression claim*.

    Parameters
    ----------
    values_a, values_b : array of shape (n_seeds,)
        Finite numbers, at least two seeds, the same length. Accuracies are passed in
        percent with ``unit="pp"``.
    names : (str, str)
        The names of A and B in the verdict.
    unit : str
        The metric's unit or name ("pp", "perplexity", ...).
    higher_is_better : bool
        False for losses, perplexities, latencies: a negative difference favours A.
    confidence : float
        In (0, 1).

    Returns
    -------
    Comparison
        ``kind="difference"``. When all differences are equal the interval is that one
        value (and the p-value 1 if it is 0, else 0).

    Raises
    ------
    TypeError, ValueError
        For non-numeric, non-1-D or unequal-length inputs, NaNs, fewer than two seeds,
        ``confidence`` outside (0, 1).
    """
    names = _check_names(names)
    confidence = _check_confidence(confidence)
    a = _check_values(values_a, "values_a")
    b = _check_values(values_b, "values_b")
    if a.size != b.size:
        raise ValueError(f"values_a and values_b must pair up seed by seed, got lengths "
                         f"{a.size} and {b.size}")
    if a.size < 2:
        raise ValueError("compare_paired() needs at least two seeds per method")
    diff = a - b
    estimate = float(diff.mean())
    if np.ptp(diff) == 0:
        low = high = estimate
        p_value = 1.0 if estimate == 0 else 0.0
    else:
        test = _sps.ttest_rel(a, b)
        ci = test.confidence_interval(confidence_level=confidence)
        low, high, p_value = float(ci.low), float(ci.high), float(test.pvalue)
    return Comparison(names, estimate, min(low, estimate), max(high, estimate), confidence,
                      p_value, f"paired t interval over {a.size} pairs", unit,
                      "difference", bool(higher_is_better))


# ----------------------------------------------------------------------------- latency

def latency_ratio(times_a, times_b, *, names: Sequence[str], confidence: float = 0.95,
                  n_boot: int = 2000, seed: int = 0) -> Comparison:
    """The speed-up of A over B, ``median(times_b) / median(times_a)``, with an interval.

    Round ``i`` timed A and B one after the other (interleaved, as
    :func:`helpers.metrics.compare_latency` does), so a slow moment of the machine hits
    both; the bootstrap therefore resamples rounds, keeping each pair together
    (:func:`scipy.stats.bootstrap`, ``paired=True``, percentile interval).
    A speed-up above 1 means A is faster.

    Introduced in :doc:`background`, section *Storage, arithmetic and time move
    differently*.

    Parameters
    ----------
    times_a, times_b : array of shape (n_rounds,)
        Positive times (any unit, the same for both), at least 3 rounds.
    names : (str, str)
        The names of A and B in the verdict.
    confidence : float
        In (0, 1).
    n_boot : int
        Bootstrap replicates.
    seed : int
        Seeds the bootstrap.

    Returns
    -------
    Comparison
        ``kind="ratio"``, ``unit="×"``.

    Raises
    ------
    TypeError, ValueError
        For non-numeric, non-1-D, unequal-length, non-positive or NaN times, fewer than 3
        rounds, ``confidence`` outside (0, 1).
    """
    names = _check_names(names)
    confidence = _check_confidence(confidence)
    check_positive_int(n_boot, "n_boot")
    check_positive_int(seed, "seed", allow_zero=True)
    a = _check_values(times_a, "times_a", positive=True)
    b = _check_values(times_b, "times_b", positive=True)
    if a.size != b.size:
        raise ValueError(f"times_a and times_b must come from the same interleaved rounds, "
                         f"got lengths {a.size} and {b.size}")
    if a.size < 3:
        raise ValueError("latency_ratio() needs at least 3 interleaved rounds")

    def speedup(ta, tb, axis=-1):
        return np.median(tb, axis=axis) / np.median(ta, axis=axis)

    estimate = float(speedup(a, b))
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        low = high = estimate
    else:
        result = _sps.bootstrap((a, b), speedup, paired=True, vectorized=True,
                                n_resamples=n_boot, confidence_level=confidence,
                                method="percentile", rng=np.random.default_rng(seed))
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return Comparison(names, estimate, min(low, estimate), max(high, estimate), confidence,
                      None, f"ratio of medians, paired bootstrap over {a.size} rounds", "×",
                      "ratio", True)

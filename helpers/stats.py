"""Statistics for comparing compressed models: mean ± std, and comparisons with verdicts.

Every "± std" in the book is the *sample* standard deviation over seeds
(:func:`mean_std`), formatted by :func:`format_mean_std`.

Every comparative statement of the book ("ahead", "behind", "faster", "no detectable
difference") comes from a :class:`Comparison`, which holds an estimate, a confidence
interval and the method that produced them, and writes its own verdict in the page's
language (:meth:`Comparison.verdict`). A difference is called a difference only when the
interval excludes "no difference" (0 for a difference, 1 for a ratio).

- :func:`compare_accuracy`: two methods, several seeds, one shared test set; a t interval
  over the seeds combined with the test set's own sampling error, so that both the
  training randomness and the choice of test examples enter the interval (with one
  seed, :func:`mcnemar`);
- :func:`mcnemar`: two models on one test set, McNemar's test with Tango's score
  interval, the interval that inverts it (:func:`paired_proportion_interval`);
- :func:`compare_paired`: a metric per seed for two methods (perplexity, say); the paired
  t interval (:func:`scipy.stats.ttest_rel`);
- :func:`latency_ratio`: timings from interleaved rounds; the speed-up of A over B as a
  ratio of medians, with a paired bootstrap interval (:func:`scipy.stats.bootstrap`).

"No detectable difference" is not "no loss": :func:`equivalence` reads a comparison's
interval against a tolerance (two one-sided tests, or non-inferiority), and
:func:`equivalence_power` says how often one test set can show it.

The methods are introduced in :doc:`background`, section *Judging a compression claim*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np
import torch

from ._checks import check_language, check_positive_int

__all__ = ["UNDECIDED_RATIO", "mean_std", "format_mean_std", "Comparison",
           "compare_accuracy", "mcnemar", "paired_proportion_interval", "compare_paired",
           "latency_ratio", "Equivalence", "equivalence", "equivalence_power",
           "compare_examples"]


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

#: A speed-up interval that includes 1 and spans more than this factor (high / low)
#: is too wide to decide anything (:attr:`Comparison.too_wide`).
UNDECIDED_RATIO = 2.0


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
    def too_wide(self) -> bool:
        """True for a speed-up whose interval includes 1 and spans more than a factor of
        :data:`UNDECIDED_RATIO` (e.g. 0.21 to 4.45×): such timings cannot tell the two
        apart, and the verdict says so rather than "no detectable difference"."""
        return (self.kind == "ratio" and not self.differs
                and self.high > UNDECIDED_RATIO * self.low)

    @property
    def favours_a(self) -> bool | None:
        """True if the interval says A is better, False if B is, None if it cannot tell."""
        if not self.differs:
            return None
        null = 0.0 if self.kind == "difference" else 1.0
        return (self.estimate > null) == self.higher_is_better

    def named(self, lang: str) -> "Comparison":
        """The comparison with its names and unit in ``lang``: a name (or the unit)
        that is a key of :data:`helpers.i18n.TEXT` becomes that key's text (a name the
        text of its noun phrase, :func:`helpers.i18n.verdict_name`), any other stays as
        it is.

        An experiment (:mod:`helpers.experiments`) computes its comparisons once for
        every edition and names the sides by keys; a page reads them in its language.

        Examples
        --------
        >>> c = Comparison(("dense", "L1"), 1.0, 0.5, 1.5, 0.95, 0.01, "t", "pp")
        >>> c.named("zh").names
        ('稠密网络', 'L1')
        """
        check_language(lang)
        from dataclasses import replace

        from .i18n import TEXT, verdict_name

        def read(text: str) -> str:
            return TEXT[text][lang] if text in TEXT else text

        names = tuple(read(verdict_name(name)) for name in self.names)
        return replace(self, names=names, unit=read(self.unit))

    def word(self, lang: str) -> str:
        """A short verdict word: "ahead", "behind", "faster", "slower", "no detectable
        difference" or, for a speed-up too wide to decide, "cannot tell"."""
        check_language(lang)
        from .i18n import tr

        better = self.favours_a
        if self.too_wide:
            return tr("stats_word_undecided", lang)
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
        perplexity 0.03 (95% CI 0.01 to 0.05)"``. A speed-up whose interval is too wide
        to decide (:attr:`too_wide`) reads "the timings cannot tell A from B …".
        ``digits`` defaults to 1 for differences and 2 for ratios. Names and a unit
        given as keys of :data:`helpers.i18n.TEXT` are read in ``lang`` (:meth:`named`),
        so one comparison, computed once, serves every edition.
        """
        check_language(lang)
        from .i18n import spaced, tr

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
        if self.too_wide:
            key = "stats_speed_undecided"
        elif self.kind == "ratio":
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
        return spaced(text, lang)  # a space where Chinese meets a Latin name or a number

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


def _check_values(values, name: str, *, positive: bool = False,
                  ndim: int = 1) -> np.ndarray:
    x = _as_numpy(values, name)
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer)
                               or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    x = x.astype(float)
    if x.ndim != ndim:
        shape = ("one-dimensional (one value per seed or round)" if ndim == 1 else
                 "two-dimensional (seeds × examples)")
        raise ValueError(f"{name} must be {shape}, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values; drop the failed runs "
                         f"from both arms before comparing")
    if positive and (x <= 0).any():
        raise ValueError(f"{name} must hold positive times, got a minimum of {x.min()}")
    return x


# -------------------------------------------------------------------------- accuracies

_PAIRED_METHODS = ("tango", "newcombe")


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a count (an integer), got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be a count >= 0, got {value}")
    return int(value)


def _tango_score(theta, n_ab, n_ba, n):
    """Tango's score statistic for "difference = theta" (arrays broadcast).

    ``(n_ab − n_ba − n·theta) / sqrt(n·(2·q + theta·(1 − theta)))``, where ``q`` is the
    maximum-likelihood probability of a B-only example under the constraint (Tango
    1998, eq. 3). At ``theta = 0`` it is McNemar's statistic ``(n_ab − n_ba) /
    sqrt(n_ab + n_ba)``; where the variance vanishes it is ±inf (0 when the numerator
    does).
    """
    a = 2.0 * n
    b = -n_ab - n_ba + (2.0 * n - n_ab + n_ba) * theta
    c = -n_ba * theta * (1.0 - theta)
    q = (np.sqrt(np.maximum(b * b - 4.0 * a * c, 0.0)) - b) / (2.0 * a)
    variance = n * (2.0 * q + theta * (1.0 - theta))
    numerator = n_ab - n_ba - n * theta
    with np.errstate(divide="ignore", invalid="ignore"):
        score = numerator / np.sqrt(np.maximum(variance, 0.0))
    return np.where(numerator == 0, 0.0,
                    np.where(variance > 0, score, np.copysign(np.inf, numerator)))


def _tango_limits(n_ab, n_ba, n, z):
    """Tango's interval ``{theta : |score(theta)| <= z}`` of each table, by bisection.

    The score decreases in ``theta``; 60 halvings of [−1, 1] reach float64 resolution,
    and all tables are solved at once (arrays broadcast).
    """
    n_ab, n_ba, n = np.broadcast_arrays(*(np.asarray(x, dtype=float)
                                          for x in (n_ab, n_ba, n)))
    estimate = (n_ab - n_ba) / n
    # Brackets: score(below) > z >= score(above), score(inside) >= -z > score(beyond).
    below, above = -np.ones_like(estimate), estimate.copy()
    inside, beyond = estimate.copy(), np.ones_like(estimate)
    for _ in range(60):
        middle = (below + above) / 2
        out = _tango_score(middle, n_ab, n_ba, n) > z
        below, above = np.where(out, middle, below), np.where(out, above, middle)
        middle = (inside + beyond) / 2
        out = _tango_score(middle, n_ab, n_ba, n) < -z
        inside, beyond = np.where(out, inside, middle), np.where(out, middle, beyond)
    low = np.where(_tango_score(-1.0, n_ab, n_ba, n) <= z, -1.0, above)
    high = np.where(_tango_score(1.0, n_ab, n_ba, n) >= -z, 1.0, inside)
    return low, high


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    centre = (successes + z * z / 2) / (n + z * z)
    half = z * np.sqrt(successes * (n - successes) / n + z * z / 4) / (n + z * z)
    return centre - half, centre + half


def _newcombe_limits(both, a_only, b_only, neither, z):
    """Newcombe's hybrid score interval (1998, method 10): Wilson intervals of both
    accuracies, combined by square-and-add with the corrected phi coefficient."""
    n = both + a_only + b_only + neither
    p_a, p_b = (both + a_only) / n, (both + b_only) / n
    low_a, high_a = _wilson(both + a_only, n, z)
    low_b, high_b = _wilson(both + b_only, n, z)
    margins = [both + a_only, b_only + neither, both + b_only, a_only + neither]
    phi = 0.0
    if min(margins) > 0:
        cross = both * neither - a_only * b_only
        cross = cross - n / 2 if cross > n / 2 else min(cross, 0)
        phi = cross / np.sqrt(float(np.prod(margins, dtype=float)))
    down_a, up_a, down_b, up_b = p_a - low_a, high_a - p_a, p_b - low_b, high_b - p_b
    difference = p_a - p_b
    return (difference - np.sqrt(down_a ** 2 - 2 * phi * down_a * up_b + up_b ** 2),
            difference + np.sqrt(up_a ** 2 - 2 * phi * up_a * down_b + down_b ** 2))


def paired_proportion_interval(both: int, a_only: int, b_only: int, neither: int, *,
                               confidence: float = 0.95,
                               method: str = "tango") -> tuple[float, float]:
    """Confidence interval of the difference of two paired proportions (accuracies).

    Two models answer the same ``n = both + a_only + b_only + neither`` examples;
    ``a_only`` are right for A alone, ``b_only`` for B alone. The difference of their
    accuracies is ``(a_only − b_only) / n``. Unlike an interval for the share of A
    among the discordant examples (conditional on their number), both methods here
    let the number of discordant examples vary too, so the interval is not bounded by
    the discordant share ``(a_only + b_only) / n``.

    - ``"tango"``: the score interval (Tango 1998), the values of the difference that
      the score test does not reject. Its test of "no difference" is McNemar's test
      (:func:`mcnemar`), so the interval excludes 0 exactly when McNemar's p < 1 −
      ``confidence``.
    - ``"newcombe"``: the hybrid score interval (Newcombe 1998, method 10): Wilson
      intervals of the two accuracies combined by square-and-add with their
      correlation. A closed form; it needs the concordant counts too.

    Introduced in :doc:`background`, section *Judging a compression claim*.

    Parameters
    ----------
    both, a_only, b_only, neither : int
        The paired 2 × 2 table: examples both models get right, only A, only B,
        neither. Counts >= 0, at least one example.
    confidence : float
        In (0, 1).
    method : {"tango", "newcombe"}

    Returns
    -------
    (float, float)
        The limits, as fractions in [−1, 1] (multiply by 100 for percentage points).

    Raises
    ------
    TypeError
        For a count that is not an integer.
    ValueError
        For a negative count, an empty table, ``confidence`` outside (0, 1), an unknown
        ``method``.

    References
    ----------
    T. Tango, "Equivalence test and confidence interval for the difference in
    proportions for the paired-sample design", Statistics in Medicine 17:891–908
    (1998). R. G. Newcombe, "Improved confidence intervals for the difference between
    binomial proportions based on paired data", Statistics in Medicine 17:2635–2650
    (1998). M. W. Fagerland, S. Lydersen, P. Laake, "Recommended tests and confidence
    intervals for paired binomial proportions", Statistics in Medicine 33:2850–2875
    (2014).

    Examples
    --------
    >>> from helpers.stats import paired_proportion_interval
    >>> [round(x, 4) for x in paired_proportion_interval(59, 6, 16, 80)]  # Tango
    [-0.124, -0.0054]
    >>> [round(x, 4) for x in paired_proportion_interval(36, 12, 2, 0, method="newcombe")]
    [0.0569, 0.3404]
    """
    from scipy import stats as sps
    counts = [_check_count(x, name) for x, name in
              ((both, "both"), (a_only, "a_only"), (b_only, "b_only"), (neither, "neither"))]
    confidence = _check_confidence(confidence)
    if method not in _PAIRED_METHODS:
        raise ValueError(f"method must be one of {_PAIRED_METHODS}, got {method!r}")
    n = sum(counts)
    if n == 0:
        raise ValueError("the table holds no examples")
    z = float(sps.norm.isf((1 - confidence) / 2))
    if method == "newcombe":
        low, high = _newcombe_limits(*counts, z)
    else:
        low, high = _tango_limits(counts[1], counts[2], n, z)
    return float(low), float(high)


def mcnemar(correct_a, correct_b, *, names: Sequence[str],
            confidence: float = 0.95) -> Comparison:
    """McNemar's test and Tango's interval: two models' predictions on one test set.

    Only the discordant examples carry evidence about "no difference": ``n_ab`` that
    A gets right and B wrong, ``n_ba`` the reverse. McNemar's statistic is ``(n_ab −
    n_ba) / sqrt(n_ab + n_ba)``, compared with the standard normal (McNemar 1947,
    without continuity correction: Fagerland et al. 2013 find its size close to the
    nominal level, and the exact conditional test conservative). The interval of the
    accuracy difference ``(n_ab − n_ba) / n`` is Tango's score interval
    (:func:`paired_proportion_interval`), which inverts the same score test: it
    excludes 0 exactly when p < 1 − ``confidence``, so the verdict and the p-value
    cannot disagree, and it is not bounded by the share of discordant examples.

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
        ``kind="difference"``, ``unit="pp"``, with McNemar's p-value. Two models right
        on exactly the same examples give the interval [0, 0] and p = 1.

    Raises
    ------
    TypeError, ValueError
        For arrays that are not bool, not 1-D, or not of equal length.

    References
    ----------
    McNemar (1947); Tango (1998); Fagerland, Lydersen & Laake, "The McNemar test for
    binary matched-pairs data: mid-p and asymptotic are better than exact
    conditional", BMC Medical Research Methodology 13:91 (2013); Dietterich (1998) for
    its use in comparing classifiers.
    Introduced in :doc:`background`, section *Judging a compression claim*.
    """
    from scipy import stats as sps
    names = _check_names(names)
    confidence = _check_confidence(confidence)
    a, b = _check_correct(correct_a, correct_b)
    if a.shape[0] != 1:
        raise ValueError(f"mcnemar() compares two models on one test set; got {a.shape[0]} "
                         f"seeds, use compare_accuracy() for several")
    a, b = a[0], b[0]
    n_ab, n_ba = int(np.sum(a & ~b)), int(np.sum(~a & b))
    method = "McNemar test, Tango score interval"
    if n_ab + n_ba == 0:
        return Comparison(names, 0.0, 0.0, 0.0, confidence, 1.0, method, "pp")
    statistic = (n_ab - n_ba) / np.sqrt(n_ab + n_ba)
    p_value = float(2 * sps.norm.sf(abs(statistic)))
    z = float(sps.norm.isf((1 - confidence) / 2))
    low, high = (100.0 * float(x) for x in _tango_limits(n_ab, n_ba, a.size, z))
    estimate = 100.0 * (n_ab - n_ba) / a.size
    return Comparison(names, estimate, min(low, estimate), max(high, estimate), confidence,
                      p_value, method, "pp")


_ACCURACY_METHODS = ("seeds+examples", "bootstrap")


def _variance_parts(diff: np.ndarray) -> tuple[float, float]:
    """The variance of the mean of ``diff`` (n_seeds, n_examples), in two parts.

    A two-way random-effects decomposition (seeds × examples) of the per-example
    differences. ``seeds``: the variance of the mean over seeds, s²/S of the per-seed
    mean differences, but at least what the within-seed noise alone gives
    (``MS_error / (S·N)``); it has S − 1 degrees of freedom. ``examples``: the share
    that all seeds have in common because they are scored on the same examples,
    ``max(MS_examples − MS_error, 0) / (S·N)``, estimated from N − 1 degrees of
    freedom.
    """
    n_seeds, n_examples = diff.shape
    grand = diff.mean()
    seed_means, example_means = diff.mean(axis=1), diff.mean(axis=0)
    ms_examples = n_seeds * np.sum((example_means - grand) ** 2) / (n_examples - 1)
    residual = diff - seed_means[:, None] - example_means[None, :] + grand
    ms_error = np.sum(residual ** 2) / ((n_seeds - 1) * (n_examples - 1))
    seeds = max(float(seed_means.var(ddof=1)) / n_seeds, ms_error / (n_seeds * n_examples))
    examples = max(ms_examples - ms_error, 0.0) / (n_seeds * n_examples)
    return seeds, examples


def _square_and_add_width(p_one_sided, seeds: float, examples: float, df: int):
    """Half-width of the square-and-add interval at one-sided level ``p_one_sided``:
    ``sqrt(t²·seeds + z²·examples)`` with t on ``df`` degrees of freedom."""
    from scipy import stats as sps
    with np.errstate(over="ignore"):  # t quantiles of tiny p overflow to inf: so be it
        return np.sqrt((sps.t.isf(p_one_sided, df) ** 2 * seeds if seeds else 0.0)
                       + (sps.norm.isf(p_one_sided) ** 2 * examples if examples else 0.0))


def _square_and_add_p(distance: float, seeds: float, examples: float, df: int) -> float:
    """The one-sided p at which the square-and-add half-width equals ``distance``."""
    from scipy import optimize
    if distance <= 0:
        return 0.5 if distance == 0 else 1.0 - _square_and_add_p(-distance, seeds,
                                                                 examples, df)
    if seeds + examples == 0:
        return 0.0
    tiny = 1e-300
    if _square_and_add_width(tiny, seeds, examples, df) <= distance:
        return 0.0
    return float(optimize.brentq(
        lambda p: _square_and_add_width(p, seeds, examples, df) - distance, tiny, 0.5,
        xtol=1e-300, rtol=1e-12))


def _bootstrap_interval(diff: np.ndarray, confidence: float, n_boot: int,
                        seed: int) -> tuple[float, float]:
    """Percentile interval (pp) of a two-level paired bootstrap over seeds and examples."""
    n_seeds, n_examples = diff.shape
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
    return float(low), float(high)


def compare_accuracy(correct_a, correct_b, *, names: Sequence[str],
                     confidence: float = 0.95, method: str = "seeds+examples",
                     n_boot: int = 2000, seed: int = 0) -> Comparison:
    """Paired comparison of two methods' accuracies over seeds and test examples.

    The difference A − B (in percentage points) of the mean accuracy over seeds. Its
    error has two sources: the training seeds (seed-to-seed spread of the gap) and the
    test examples, which all seeds share (the test set's own sampling error, which the
    seed standard deviation leaves out). The default interval (``"seeds+examples"``)
    gives each its own interval and adds them by square-and-add, as Newcombe's method
    combines two intervals (the MOVER of Zou & Donner 2008)::

        estimate ± sqrt(t²(S − 1) · v_seeds + z² · v_examples)

    where ``v_seeds`` is s²/S of the per-seed mean differences (at least the
    within-seed noise) and ``v_examples`` the variance the seeds have in common from
    the shared examples (a two-way random-effects decomposition, seeds × examples).
    The t quantile on S − 1 degrees of freedom is what few seeds cost: with 2 seeds
    it is 12.7 instead of 2.0. Its p-value is the level at which the interval just
    reaches 0, so the interval excludes 0 exactly when p < 1 − ``confidence``.

    ``method="bootstrap"`` is a percentile interval of a two-level paired bootstrap
    (seeds and examples resampled, the same draws for A and B), with no p-value. With
    2–3 seeds that disagree it covers less than its nominal level (a bootstrap of S
    values holds only (S − 1)/S of their variance), and more than it when they agree:
    see ``tests/test_stats_coverage.py``.

    With one seed the seed spread cannot be estimated; the comparison is then
    :func:`mcnemar` (Tango's interval, McNemar's p) for either method.

    Introduced in :doc:`background`, section *Judging a compression claim*.

    Parameters
    ----------
    correct_a, correct_b : bool array of shape (n_seeds, n_examples) or (n_examples,)
        Row ``s`` is True where the model of method A (B) trained with seed ``s`` predicts
        the test example right; same seeds, same examples, same order for both.
        :func:`helpers.train.correct` gives one row. At least two examples.
    names : (str, str)
        The names of A and B in the verdict.
    confidence : float
        In (0, 1).
    method : {"seeds+examples", "bootstrap"}
    n_boot : int
        Bootstrap replicates (``method="bootstrap"``).
    seed : int
        Seeds the bootstrap's random draws (the result is reproducible).

    Returns
    -------
    Comparison
        ``kind="difference"``, ``unit="pp"``. When every per-example difference is the
        same, the interval is that one value.

    Raises
    ------
    TypeError, ValueError
        For arrays that are not bool, of unequal shapes or empty, for ``confidence``
        outside (0, 1), an unknown ``method``, a non-positive ``n_boot``.

    References
    ----------
    G. Y. Zou, A. Donner, "Construction of confidence limits about effect measures: a
    general approach", Statistics in Medicine 27:1693–1702 (2008); Newcombe (1998);
    X. Bouthillier et al., "Accounting for variance in machine learning benchmarks",
    MLSys (2021), on the two sources of variance.
    """
    names = _check_names(names)
    confidence = _check_confidence(confidence)
    if method not in _ACCURACY_METHODS:
        raise ValueError(f"method must be one of {_ACCURACY_METHODS}, got {method!r}")
    check_positive_int(n_boot, "n_boot")
    check_positive_int(seed, "seed", allow_zero=True)
    a, b = _check_correct(correct_a, correct_b)
    n_seeds, n_examples = a.shape
    if n_seeds == 1:
        return mcnemar(a[0], b[0], names=names, confidence=confidence)
    if n_examples < 2:
        raise ValueError("compare_accuracy() needs at least two test examples")
    diff = a.astype(np.float64) - b.astype(np.float64)  # (S, N) in {-1, 0, 1}
    estimate = 100.0 * float(diff.mean())
    where = f"{n_seeds} seeds × {n_examples} examples"
    if method == "bootstrap":
        low, high = _bootstrap_interval(diff, confidence, n_boot, seed)
        return Comparison(names, estimate, min(low, estimate), max(high, estimate),
                          confidence, None, f"paired bootstrap over {where}", "pp")
    return _seeds_and_examples(100.0 * diff, names, confidence, "pp", True)


def _seeds_and_examples(diff: np.ndarray, names, confidence: float, unit: str,
                        higher_is_better: bool) -> Comparison:
    """The square-and-add comparison of per-example differences ``diff`` (S, N), S ≥ 2."""
    n_seeds, n_examples = diff.shape
    estimate = float(diff.mean())
    seeds, examples = _variance_parts(diff)
    tail = (1 - confidence) / 2
    half = float(_square_and_add_width(tail, seeds, examples, n_seeds - 1))
    p_value = min(1.0, 2 * _square_and_add_p(abs(estimate), seeds, examples, n_seeds - 1))
    return Comparison(tuple(names), estimate, estimate - half, estimate + half, confidence,
                      p_value, f"t over seeds and normal over examples, square-and-add; "
                               f"{n_seeds} seeds × {n_examples} examples", unit,
                      higher_is_better=higher_is_better)


def compare_examples(values_a, values_b, *, names: Sequence[str], unit: str = "",
                     higher_is_better: bool = True, confidence: float = 0.95) -> Comparison:
    """Paired comparison of a metric measured per test example, over seeds and examples.

    :func:`compare_accuracy` for a real-valued metric: ``values_a[s, i]`` is the metric
    (a loss, a squared error) of method A's model of seed ``s`` on test example ``i``,
    and ``values_b`` the same for B, on the same examples in the same order. The
    estimate is the mean of A − B; its interval adds the seed-to-seed spread (a t
    interval on S − 1 degrees of freedom) and the error the seeds share because they
    are scored on the same examples (normal), by square-and-add, with the p-value at
    which the interval just reaches 0. :doc:`language-models` compares criteria over
    several trained models and the windows of the test text this way.

    Parameters
    ----------
    values_a, values_b : array of shape (n_seeds, n_examples)
        Finite numbers; at least two seeds and two examples, the same shape.
    names : (str, str)
        The names of A and B in the verdict.
    unit : str
        The metric's unit or name.
    higher_is_better : bool
        False for losses: a negative difference favours A.
    confidence : float
        In (0, 1).

    Returns
    -------
    Comparison
        ``kind="difference"``.

    Raises
    ------
    TypeError
        For values that are not real numbers.
    ValueError
        For arrays of other shapes than two equal (S ≥ 2, N ≥ 2) ones, values that
        are not finite, ``confidence`` outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.stats import compare_examples
    >>> rng = np.random.default_rng(0)
    >>> b = rng.normal(1.0, 0.3, size=(3, 200))           # 3 models × 200 test windows
    >>> a = b - 0.1 + rng.normal(0, 0.05, size=b.shape)    # A's loss 0.1 lower
    >>> compare_examples(a, b, names=("A", "B"), unit="loss",
    ...                  higher_is_better=False).favours_a
    True
    """
    _check_confidence(confidence)
    a = _check_values(values_a, "values_a", ndim=2)
    b = _check_values(values_b, "values_b", ndim=2)
    if a.shape != b.shape or a.shape[0] < 2 or a.shape[1] < 2:
        raise ValueError(f"values_a and values_b must have the same shape (n_seeds >= 2, "
                         f"n_examples >= 2); got {a.shape} and {b.shape}")
    return _seeds_and_examples(a - b, names, confidence, unit, higher_is_better)


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
    from scipy import stats as sps
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
        test = sps.ttest_rel(a, b)
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
    from scipy import stats as sps
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
        result = sps.bootstrap((a, b), speedup, paired=True, vectorized=True,
                                n_resamples=n_boot, confidence_level=confidence,
                                method="percentile", rng=np.random.default_rng(seed))
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return Comparison(names, estimate, min(low, estimate), max(high, estimate), confidence,
                      None, f"ratio of medians, paired bootstrap over {a.size} rounds", "×",
                      "ratio", True)


# ------------------------------------------------------------------------- equivalence

_DECISIONS = {False: ("equivalent", "not equivalent", "undecided"),
              True: ("non-inferior", "inferior", "undecided")}
#: The texts of each decision, in the order of ``_DECISIONS``: (word, sentence).
_DECISION_TEXTS = {
    False: (("stats_word_shown", "stats_equivalent"),
            ("stats_word_refuted", "stats_not_equivalent"),
            ("stats_word_not_shown", "stats_equivalence_undecided")),
    True: (("stats_word_shown", "stats_non_inferior"),
           ("stats_word_refuted", "stats_inferior"),
           ("stats_word_not_shown", "stats_non_inferiority_undecided"))}


@dataclass(frozen=True)
class Equivalence:
    """Whether A − B lies within a tolerance: the outcome of :func:`equivalence`.

    Introduced in :doc:`background`, section *Judging a compression claim*.

    Attributes
    ----------
    comparison : Comparison
        The comparison whose interval the decision reads (level 1 − 2α).
    margin : float
        The tolerance, > 0, in the comparison's unit (pp for accuracies).
    alpha : float
        The level of each one-sided test, ``(1 − comparison.confidence) / 2``.
    non_inferiority : bool
        False: two one-sided tests, "within ± margin". True: one, "A not worse than B
        by more than the margin".
    decision : str
        ``"equivalent"`` (the interval lies inside (−margin, margin)), ``"not
        equivalent"`` (it lies wholly beyond one end) or ``"undecided"``; with
        ``non_inferiority``: ``"non-inferior"``, ``"inferior"`` or ``"undecided"``.
    """

    comparison: Comparison
    margin: float
    alpha: float
    non_inferiority: bool
    decision: str

    @property
    def shown(self) -> bool:
        """True when the data show "no loss" (equivalent, or non-inferior)."""
        return self.decision == _DECISIONS[self.non_inferiority][0]

    def _texts(self) -> tuple[str, str]:
        """The keys of this decision's word and sentence (``_DECISION_TEXTS``)."""
        return _DECISION_TEXTS[self.non_inferiority][
            _DECISIONS[self.non_inferiority].index(self.decision)]

    def word(self, lang: str) -> str:
        """"shown", "not shown" or "refuted" (the claim of no loss), in ``lang``."""
        check_language(lang)
        from .i18n import tr

        return tr(self._texts()[0], lang)

    def verdict(self, lang: str, digits: int = 1) -> str:
        """The decision as a sentence fragment in ``lang``, with the interval it reads.

        For example ``"pruned within ±0.5 pp of the dense network: shown (90% CI of the
        difference −0.3 to 0.4 pp)"``, ``"… not shown (90% CI of the difference −1.2 to
        1.7 pp, wider than the margin)"`` or ``"pruned and the dense network differ by
        more than 0.5 pp (…)"``; with ``non_inferiority``, ``"A no more than 0.5 pp worse
        than B: …"``. The interval is of A − B, at the comparison's level (1 − 2α). A name
        that is a text key reads as its noun phrase (``"dense"``: the dense network,
        ``helpers.i18n.VERDICT_NAMES``).

        Examples
        --------
        >>> c = Comparison(("pruned", "dense"), 0.1, -0.3, 0.4, 0.90, None, "t", "pp")
        >>> equivalence(c, 0.5).verdict("en")
        'pruned within ±0.5 pp of the dense network: shown (90% CI of the difference −0.3 to 0.4 pp)'
        >>> equivalence(c, 0.25, non_inferiority=True).verdict("en")
        'pruned no more than 0.25 pp worse than the dense network: not shown (90% CI of the difference −0.3 to 0.4 pp, past the margin)'
        """
        check_language(lang)
        from .i18n import spaced, tr

        check_positive_int(digits, "digits", allow_zero=True)
        here = self.comparison.named(lang)
        a, b = here.names
        unit = tr("stats_unit_pp", lang) if here.unit == "pp" else (
            f" {here.unit}" if here.unit else "")
        text = tr(self._texts()[1], lang).format(
            a=a, b=b, unit=unit, margin=f"{self.margin:g}",
            conf=f"{100 * self.comparison.confidence:g}%",
            low=_number(self.comparison.low, digits), high=_number(self.comparison.high, digits))
        return spaced(text, lang)  # a space where Chinese meets a Latin name or a number

    def __str__(self) -> str:
        return self.verdict("en")


def equivalence(comparison: Comparison, margin: float, *,
                non_inferiority: bool = False) -> Equivalence:
    """Is A − B within ± ``margin`` (equivalence), or not worse by more (non-inferiority)?

    "No detectable difference" only says that the data cannot exclude 0; a claim of
    "no loss" needs the data to exclude every loss larger than the tolerance. Two
    one-sided tests (TOST, Schuirmann 1987) at level α each reject both "A − B ≤
    −margin" and "A − B ≥ margin" exactly when the 1 − 2α confidence interval lies
    inside (−margin, margin): the decision is read from ``comparison``'s interval, so
    a 90% interval gives the usual α = 0.05. Non-inferiority is the one test on the
    side of a loss: A − B > −margin (A − B < margin when lower values are better).
    An interval wholly beyond the margin shows the opposite ("not equivalent",
    "inferior"); one that straddles it cannot tell ("undecided").

    Introduced in :doc:`background`, section *Judging a compression claim*.

    Parameters
    ----------
    comparison : Comparison
        A difference (``kind="difference"``), e.g. from :func:`compare_accuracy` with
        ``confidence=0.90``.
    margin : float
        The tolerance, > 0, in the comparison's unit (e.g. 0.5 for half a point).
    non_inferiority : bool
        Test one side only.

    Returns
    -------
    Equivalence

    Raises
    ------
    TypeError
        For a ``comparison`` that is not a :class:`Comparison`, a non-numeric margin.
    ValueError
        For a ratio comparison, a margin that is not finite and > 0.

    References
    ----------
    D. J. Schuirmann, "A comparison of the two one-sided tests procedure and the power
    approach for assessing the equivalence of average bioavailability", Journal of
    Pharmacokinetics and Biopharmaceutics 15:657–680 (1987); R. L. Berger, J. C. Hsu,
    "Bioequivalence trials, intersection-union tests and equivalence confidence
    sets", Statistical Science 11:283–319 (1996); D. Lakens, "Equivalence tests",
    Social Psychological and Personality Science 8:355–362 (2017).

    Examples
    --------
    >>> from helpers.stats import Comparison, equivalence
    >>> c = Comparison(("pruned", "dense"), 0.1, -0.3, 0.4, 0.90, None, "t", "pp")
    >>> equivalence(c, 0.5).decision, equivalence(c, 0.25).decision
    ('equivalent', 'undecided')
    """
    if not isinstance(comparison, Comparison):
        raise TypeError(f"comparison must be a helpers.stats.Comparison, "
                        f"got {type(comparison).__name__}")
    if comparison.kind != "difference":
        raise ValueError("equivalence() reads a difference; for a ratio compare the "
                         "logarithms (or the times) as a difference")
    if isinstance(margin, bool) or not isinstance(margin, Real):
        raise TypeError(f"margin must be a real number, got {type(margin).__name__}")
    margin = float(margin)
    if not (np.isfinite(margin) and margin > 0):
        raise ValueError(f"margin must be a finite number > 0 (the tolerance, in "
                         f"{comparison.unit or 'the unit of the comparison'}), got {margin}")
    # In the orientation where larger is better for A, a loss is a negative difference.
    sign = 1.0 if comparison.higher_is_better else -1.0
    low, high = sorted((sign * comparison.low, sign * comparison.high))
    shown, opposite, undecided = _DECISIONS[bool(non_inferiority)]
    if non_inferiority:
        decision = shown if low > -margin else opposite if high < -margin else undecided
    else:
        decision = (shown if -margin < low and high < margin
                    else opposite if low > margin or high < -margin else undecided)
    return Equivalence(comparison, margin, (1 - comparison.confidence) / 2,
                       bool(non_inferiority), decision)


def equivalence_power(n: int, discordant: float, margin: float, *, difference: float = 0.0,
                      confidence: float = 0.90, non_inferiority: bool = False) -> float:
    """The probability that one test set shows equivalence (or non-inferiority).

    Two models are compared on ``n`` test examples (:func:`mcnemar`, Tango's interval at
    ``confidence``, read by :func:`equivalence`). If they disagree on a share
    ``discordant`` of the population and their true accuracy difference is
    ``difference``, the counts ``(n_ab, n_ba)`` are trinomial; the power is summed
    exactly over all tables of non-negligible probability (> 1e-12 in total left out).
    Scan ``n`` for the size a claim needs; with several seeds the seed spread adds to
    this (``tests/test_stats_coverage.py`` simulates both).

    Introduced in :doc:`background`, section *Judging a compression claim*.

    Parameters
    ----------
    n : int
        Test examples, > 0.
    discordant : float
        The share of examples (in %) on which the models disagree, in (0, 100].
    margin : float
        The tolerance in pp, > 0.
    difference : float
        The true accuracy difference A − B in pp; ``|difference| <= discordant``.
    confidence : float
        The level of the interval (0.90: TOST at α = 0.05).
    non_inferiority : bool
        Power of the one-sided claim instead.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    TypeError, ValueError
        For a non-integer or non-positive ``n``, shares outside their ranges, a margin
        that is not > 0, ``confidence`` outside (0, 1).

    References
    ----------
    Tango (1998); J. Nam, "Establishing equivalence of two treatments and sample size
    requirements in matched-pairs design", Biometrics 53:1422–1430 (1997).

    Examples
    --------
    >>> from helpers.stats import equivalence_power
    >>> round(equivalence_power(360, discordant=4.0, margin=0.5), 3)  # 360 test digits
    0.0
    >>> round(equivalence_power(20_000, discordant=4.0, margin=0.5), 2)
    0.94
    """
    from scipy import stats as sps
    n = check_positive_int(n, "n")
    confidence = _check_confidence(confidence)
    for value, name in ((discordant, "discordant"), (margin, "margin"),
                        (difference, "difference")):
        if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
            raise TypeError(f"{name} must be a finite real number (in %), got {value!r}")
    if not 0 < discordant <= 100:
        raise ValueError(f"discordant must lie in (0, 100] (a share in %), got {discordant}")
    if not margin > 0:
        raise ValueError(f"margin must be > 0 (in pp), got {margin}")
    if abs(difference) > discordant:
        raise ValueError(f"|difference| = {abs(difference)} cannot exceed the discordant "
                         f"share {discordant}: only discordant examples differ")
    psi, theta = discordant / 100, difference / 100
    share_ab = (psi + theta) / (2 * psi)  # P(A right | the models disagree)
    # The tables of non-negligible probability: m = n_ab + n_ba, then n_ab given m.
    m = np.arange(*(int(x) for x in sps.binom.ppf([1e-13, 1 - 1e-13], n, psi) + [0, 1]))
    first, last = (sps.binom.ppf(q, m, share_ab).astype(int) for q in (1e-13, 1 - 1e-13))
    total = np.repeat(m, last - first + 1)
    n_ab = np.concatenate([np.arange(lo, hi + 1) for lo, hi in zip(first, last)])
    probability = (sps.binom.pmf(total, n, psi)
                   * sps.binom.pmf(n_ab, total, share_ab))
    z = float(sps.norm.isf((1 - confidence) / 2))
    low, high = _tango_limits(n_ab, total - n_ab, n, z)
    bound = margin / 100
    shows = low > -bound if non_inferiority else (low > -bound) & (high < bound)
    return float(min(1.0, probability[shows].sum()))

"""Tests of helpers.stats: mean ± std, and comparisons with their verdicts."""

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import comb

import helpers
from helpers import stats, train

NAMES = ("A", "B")


def test_mean_std():
    mean, std = stats.mean_std([0.9, 0.95, 1.0])
    assert mean == pytest.approx(0.95)
    assert std == pytest.approx(np.std([0.9, 0.95, 1.0], ddof=1))
    assert stats.mean_std([0.5]) == (0.5, 0.0)
    assert stats.format_mean_std([0.9, 0.95, 1.0], scale=100, digits=1) == "95.0 ± 5.0"
    with pytest.raises(ValueError, match="at least one"):
        stats.mean_std([])
    assert math.isfinite(stats.mean_std([1, 2])[1])


# ----------------------------------------------------------------- accuracy comparisons

def _correct(n_seeds, n, acc, rng):
    return rng.random((n_seeds, n)) < acc


def test_identical_models_show_no_difference():
    rng = np.random.default_rng(0)
    a = _correct(5, 360, 0.95, rng)
    result = stats.compare_accuracy(a, a.copy(), names=NAMES)
    assert (result.estimate, result.low, result.high) == (0.0, 0.0, 0.0)
    assert not result.differs and result.favours_a is None
    assert result.word("en") == "no detectable difference"
    assert result.verdict("en") == ("no difference between A and B: they are right on "
                                    "exactly the same test examples")
    assert result.verdict("zh") == "A 与 B 没有差别，两者答对的测试样本完全相同"
    one = stats.compare_accuracy(a[0], a[0], names=NAMES)
    assert one.p_value == 1.0 and not one.differs


def test_thirty_flipped_answers_of_360_are_detected():
    rng = np.random.default_rng(1)
    b = _correct(1, 360, 0.95, rng)[0]
    right = np.flatnonzero(b)
    a = b.copy()
    a[rng.choice(right, 30, replace=False)] = False  # A gets 30 answers wrong that B had right
    for result in (stats.compare_accuracy(a, b, names=NAMES), stats.mcnemar(a, b, names=NAMES)):
        assert result.estimate == pytest.approx(-100 * 30 / 360)
        assert result.differs and result.favours_a is False
        assert result.high < 0
        # McNemar's statistic (0 - 30) / sqrt(30), two-sided normal p.
        assert result.p_value == pytest.approx(math.erfc(math.sqrt(30 / 2)))
        assert result.word("en") == "behind" and result.word("zh") == "处于劣势"
        # The gap and its interval are both given as positive sizes.
        verdict = result.verdict("en")
        gap_low, gap_high = (float(x) for x in verdict.split("CI ")[1].rstrip(")").split(" to "))
        assert verdict.startswith("A behind B by 8.3 pp (95% CI ")
        assert gap_low == pytest.approx(-result.high, abs=0.05) and 0 < gap_low < 8.3 <= gap_high
        assert result.verdict("zh").startswith("A 比 B 低 8.3 个百分点（95% 置信区间 ")
    # The same flips spread over 5 seeds are still detected.
    b5 = _correct(5, 360, 0.95, rng)
    a5 = b5.copy()
    for row in a5:
        row[rng.choice(np.flatnonzero(row), 30, replace=False)] = False
    result = stats.compare_accuracy(a5, b5, names=NAMES)
    assert result.differs and result.high < 0 and result.p_value < 0.05
    swapped = stats.compare_accuracy(b5, a5, names=NAMES)
    assert swapped.favours_a and swapped.word("en") == "ahead"
    assert swapped.estimate == pytest.approx(-result.estimate)


def test_mcnemar_matches_a_hand_computed_statistic():
    # 20 examples: A right and B wrong on 2, the reverse on 8, both right on the rest.
    # McNemar: z = (2 - 8) / sqrt(10) = -1.897, two-sided p = erfc(|z| / sqrt 2) = 0.058.
    a = np.array([True] * 2 + [False] * 8 + [True] * 10)
    b = np.array([False] * 2 + [True] * 8 + [True] * 10)
    result = stats.mcnemar(a, b, names=NAMES)
    by_hand = math.erfc(6 / math.sqrt(10) / math.sqrt(2))
    assert by_hand == pytest.approx(0.0578, abs=1e-4)
    assert result.p_value == pytest.approx(by_hand)
    assert result.estimate == pytest.approx(100 * (2 - 8) / 20)
    assert not result.differs  # p = 0.058 and the interval includes 0
    assert result.low < result.estimate < result.high
    assert stats.mcnemar(a, a, names=NAMES).p_value == 1.0
    # The exact conditional test is more conservative: 2 * P(X <= 2 | 10, 1/2) = 0.109.
    assert 2 * sum(comb(10, k) for k in range(3)) / 2 ** 10 == pytest.approx(0.109375)


def test_accuracy_interval_includes_test_sampling_error():
    # Two methods of equal true accuracy with a seed spread of zero: the interval must
    # still be about ±2 × sqrt(discordant) / n wide, not zero.
    rng = np.random.default_rng(2)
    a, b = _correct(3, 360, 0.9, rng), _correct(3, 360, 0.9, rng)
    a = np.repeat(a[:1], 3, axis=0)
    b = np.repeat(b[:1], 3, axis=0)
    result = stats.compare_accuracy(a, b, names=NAMES)
    assert result.high - result.low > 3.0


def test_accuracy_interval_coverage_on_simulated_data():
    # Examples differ in difficulty, seeds shift each method's accuracy; the true
    # difference is known. The nominal 90% interval must cover it about as often
    # (tests/test_stats_coverage.py measures it at the book's seed counts).
    rng = np.random.default_rng(3)
    n_rep, covered, true = 150, 0, 0.0
    for rep in range(n_rep):
        difficulty = rng.beta(8, 1.2, size=300)  # per-example probability of success
        offset_a = rng.normal(0, 0.02, size=(4, 1))
        offset_b = rng.normal(0, 0.02, size=(4, 1))
        a = rng.random((4, 300)) < np.clip(difficulty + offset_a, 0, 1)
        b = rng.random((4, 300)) < np.clip(difficulty + offset_b, 0, 1)
        result = stats.compare_accuracy(a, b, names=NAMES, confidence=0.9, n_boot=400,
                                        seed=rep)
        covered += result.low <= true <= result.high
    assert covered / n_rep >= 0.85


def test_compare_accuracy_accepts_torch_and_is_reproducible():
    rng = np.random.default_rng(4)
    a, b = _correct(2, 100, 0.8, rng), _correct(2, 100, 0.8, rng)
    first = stats.compare_accuracy(torch.from_numpy(a), torch.from_numpy(b), names=NAMES)
    assert first == stats.compare_accuracy(a, b, names=NAMES)


# ------------------------------------------------------------------ paired and latency

def test_compare_paired_matches_scipy_t_interval():
    from scipy import stats as sps

    a = np.array([30.1, 29.5, 31.0, 30.4, 29.9])
    b = np.array([32.0, 31.2, 32.5, 31.9, 31.7])
    result = stats.compare_paired(a, b, names=NAMES, unit="perplexity",
                                  higher_is_better=False)
    d = a - b
    half = sps.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert result.estimate == pytest.approx(d.mean())
    assert (result.low, result.high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert result.differs and result.favours_a  # lower perplexity is better
    assert result.word("en") == "ahead"
    assert "perplexity −1.7" in result.verdict("en")
    same = stats.compare_paired(a, a + 0.0, names=NAMES)
    assert same.low == same.high == 0.0 and not same.differs
    noisy = stats.compare_paired([90, 95, 92], [91, 93, 94], names=NAMES, unit="pp")
    assert not noisy.differs and noisy.verdict("en").startswith("no detectable difference")


def test_latency_ratio():
    rng = np.random.default_rng(5)
    load = rng.lognormal(0, 0.3, size=30)  # a machine's load hits both in a round
    slow = 2.0 * load * rng.lognormal(0, 0.02, size=30)
    fast = 1.0 * load * rng.lognormal(0, 0.02, size=30)
    result = stats.latency_ratio(fast, slow, names=("sparse", "dense"))
    assert result.kind == "ratio" and result.unit == "×"
    assert result.estimate == pytest.approx(np.median(slow) / np.median(fast))
    assert result.low < 2.0 < result.high or abs(result.estimate - 2) < 0.2
    assert result.differs and result.word("en") == "faster" and result.word("zh") == "更快"
    assert result.verdict("en").startswith("sparse faster than the dense network: speed-up ")
    reverse = stats.latency_ratio(slow, fast, names=("dense", "sparse"))
    assert reverse.word("en") == "slower" and reverse.high < 1
    same = stats.latency_ratio(fast, fast * rng.lognormal(0, 0.01, 30), names=NAMES)
    assert not same.differs and same.word("en") == "no detectable difference"
    assert "置信区间" in same.verdict("zh")


def test_latency_ratio_coverage_on_simulated_data():
    rng = np.random.default_rng(6)
    covered, n_rep = 0, 100
    for rep in range(n_rep):
        a = rng.lognormal(0, 0.2, size=40)
        b = 1.5 * rng.lognormal(0, 0.2, size=40)  # true ratio of medians: 1.5
        result = stats.latency_ratio(a, b, names=NAMES, confidence=0.9, n_boot=300,
                                     seed=rep)
        covered += result.low <= 1.5 <= result.high
    assert covered / n_rep >= 0.8


# ----------------------------------------------------------------- verdicts and inputs

def test_verdicts_in_both_languages():
    ahead = stats.Comparison(("int8", "fp32"), 1.23, 0.4, 2.0, 0.95, None, "m", "pp")
    assert ahead.verdict("en") == "int8 ahead of fp32 by 1.2 pp (95% CI 0.4 to 2.0)"
    assert ahead.verdict("zh") == "int8 比 fp32 高 1.2 个百分点（95% 置信区间 0.4 至 2.0）"
    behind = stats.Comparison(("int8", "fp32"), -3.7, -5.6, -1.9, 0.95, None, "m", "pp")
    assert behind.verdict("en") == "int8 behind fp32 by 3.7 pp (95% CI 1.9 to 5.6)"
    assert behind.verdict("zh") == "int8 比 fp32 低 3.7 个百分点（95% 置信区间 1.9 至 5.6）"
    ppl = stats.Comparison(("Wanda", "SparseGPT"), 0.03, 0.01, 0.05, 0.95, None, "m",
                           "test perplexity", higher_is_better=False)
    assert ppl.verdict("en") == ("Wanda behind SparseGPT: difference in test perplexity 0.0 "
                                 "(95% CI 0.0 to 0.1)")
    assert ppl.verdict("en", digits=2).endswith("0.03 (95% CI 0.01 to 0.05)")
    same = stats.Comparison(("剪枝", "稠密模型"), -0.04, -0.8, 1.1, 0.9, None, "m", "pp")
    assert same.verdict("en") == ("no detectable difference between 剪枝 and 稠密模型 "
                                  "(90% CI −0.8 to 1.1 pp)")
    assert same.verdict("zh") == "剪枝与稠密模型之间未检测到差异（90% 置信区间 −0.8 至 1.1 个百分点）"
    slow = stats.Comparison(("int8", "fp32"), 0.37, 0.33, 0.41, 0.95, None, "m", "×", "ratio")
    assert slow.verdict("en") == "int8 slower than fp32: speed-up 0.37× (95% CI 0.33 to 0.41×)"
    assert slow.verdict("zh").startswith("int8 比 fp32 更慢")
    assert str(slow) == slow.verdict("en")
    with pytest.raises(ValueError, match="lang"):
        slow.verdict("fr")
    with pytest.raises(ValueError, match="outside its interval"):
        stats.Comparison(NAMES, 3.0, 0.0, 1.0, 0.95, None, "m", "pp")
    with pytest.raises(ValueError, match="kind"):
        stats.Comparison(NAMES, 1.0, 0.0, 2.0, 0.95, None, "m", "pp", "odds")


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, 95])
def test_confidence_outside_0_1_is_rejected(confidence):
    a = np.ones(10, dtype=bool)
    with pytest.raises(ValueError, match="confidence must lie strictly between 0 and 1"):
        stats.compare_accuracy(a, a, names=NAMES, confidence=confidence)
    with pytest.raises(ValueError, match="confidence"):
        stats.latency_ratio([1.0, 2, 3], [1.0, 2, 3], names=NAMES, confidence=confidence)
    with pytest.raises(ValueError, match="confidence"):
        stats.compare_paired([1.0, 2], [1.0, 2], names=NAMES, confidence=confidence)


def test_bad_accuracy_inputs_are_rejected():
    a = np.ones((2, 10), dtype=bool)
    with pytest.raises(TypeError, match="bool array"):
        stats.compare_accuracy(a.astype(float), a, names=NAMES)
    with pytest.raises(ValueError, match="same shape"):
        stats.compare_accuracy(a, a[:, :9], names=NAMES)
    with pytest.raises(ValueError, match="same shape"):
        stats.compare_accuracy(a, a[:1], names=NAMES)
    with pytest.raises(ValueError, match=r"shape \(n_examples,\)"):
        stats.compare_accuracy(a[None], a[None], names=NAMES)
    with pytest.raises(ValueError, match="no test examples"):
        stats.compare_accuracy(a[:, :0], a[:, :0], names=NAMES)
    with pytest.raises(ValueError, match="names"):
        stats.compare_accuracy(a, a, names="AB")
    with pytest.raises(ValueError, match="names"):
        stats.compare_accuracy(a, a, names=("A", ""))
    with pytest.raises(ValueError, match="n_boot"):
        stats.compare_accuracy(a, a, names=NAMES, n_boot=0)
    with pytest.raises(ValueError, match="at least two test examples"):
        stats.compare_accuracy(a[:, :1], a[:, :1], names=NAMES)
    with pytest.raises(ValueError, match="compare_accuracy"):
        stats.mcnemar(a, a, names=NAMES)


def test_bad_paired_and_latency_inputs_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        stats.compare_paired([1.0, np.nan], [1.0, 2.0], names=NAMES)
    with pytest.raises(ValueError, match="lengths 3 and 2"):
        stats.compare_paired([1.0, 2, 3], [1.0, 2], names=NAMES)
    with pytest.raises(ValueError, match="at least two seeds"):
        stats.compare_paired([1.0], [2.0], names=NAMES)
    with pytest.raises(TypeError, match="real numbers"):
        stats.compare_paired([True, False], [True, True], names=NAMES)
    with pytest.raises(TypeError, match="real numbers"):
        stats.compare_paired(["a", "b"], ["c", "d"], names=NAMES)
    with pytest.raises(ValueError, match="one-dimensional"):
        stats.compare_paired(np.ones((2, 2)), np.ones((2, 2)), names=NAMES)
    with pytest.raises(ValueError, match="positive times"):
        stats.latency_ratio([1.0, 0.0, 2.0], [1.0, 1.0, 1.0], names=NAMES)
    with pytest.raises(ValueError, match="at least 3"):
        stats.latency_ratio([1.0, 2.0], [1.0, 2.0], names=NAMES)
    with pytest.raises(ValueError, match="interleaved rounds"):
        stats.latency_ratio([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], names=NAMES)
    with pytest.raises(ValueError, match="NaN"):
        stats.latency_ratio([1.0, np.inf, 3.0], [1.0, 2.0, 3.0], names=NAMES)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(7)
    a, b = _correct(3, 50, 0.8, rng), _correct(3, 50, 0.8, rng)
    a0, b0 = a.copy(), b.copy()
    stats.compare_accuracy(a, b, names=NAMES)
    assert (a == a0).all() and (b == b0).all()


def test_train_correct_feeds_compare_accuracy():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    X = torch.randn(50, 4)
    y = model(X).argmax(1)
    y[:5] = (y[:5] + 1) % 3  # five wrong labels
    right = train.correct(model, X, y)
    assert right.dtype == bool and right.shape == (50,) and right.sum() == 45
    assert train.accuracy(model, X, y) == pytest.approx(0.9)
    assert torch.equal(train.predictions(model, X, batch_size=7), model(X).argmax(1))
    result = stats.compare_accuracy(right, np.ones(50, dtype=bool), names=NAMES)
    assert result.estimate == pytest.approx(-10.0)


def test_named_translates_keys_and_keeps_other_names():
    c = stats.Comparison(("dense", "my model"), 1.0, 0.5, 1.5, 0.95, 0.01, "t", "pp")
    assert c.named("en").names == ("the dense network", "my model")  # verdict_name
    assert c.named("zh").names == (helpers.i18n.tr("dense", "zh"), "my model")
    assert c.named("zh").estimate == c.estimate and c.names == ("dense", "my model")
    with pytest.raises(ValueError):
        c.named("fr")
    perplexity = stats.Comparison(("dense", "L1"), 1.0, 0.5, 1.5, 0.95, None, "t",
                                  "lm_perplexity")
    assert perplexity.named("zh").unit == helpers.i18n.tr("lm_perplexity", "zh")


def test_verdict_reads_names_given_as_keys_in_the_language():
    c = stats.Comparison(("dense", "my model"), 1.0, 0.5, 1.5, 0.95, 0.01, "t", "pp")
    assert c.verdict("zh") == c.named("zh").verdict("zh")
    assert c.verdict("zh").startswith(helpers.i18n.tr("dense", "zh"))
    assert c.verdict("en").startswith("the dense network ahead of my model")


# ------------------------------------------------- paired proportions: Newcombe and Tango

#: Newcombe (1998, Statistics in Medicine 17:2635), the 95% limits of method 10 for his
#: example tables (both right, A only, B only, neither; difference = (A only − B only) / n).
NEWCOMBE_METHOD_10 = [
    (36, 12, 2, 0, 0.0569, 0.3404), (20, 12, 2, 16, 0.0562, 0.3292),
    (18, 12, 2, 18, 0.0562, 0.3290), (36, 14, 0, 0, 0.1528, 0.4167),
    (35, 14, 0, 1, 0.1461, 0.4175), (18, 14, 0, 18, 0.1441, 0.3963),
    (2, 97, 1, 0, 0.8721, 0.9854), (1, 97, 1, 1, 0.8736, 0.9850),
    (0, 29, 1, 0, 0.6666, 0.9882), (2, 98, 0, 0, 0.9178, 0.9945),
    (1, 98, 0, 1, 0.9171, 0.9916), (0, 30, 0, 0, 0.8395, 1.0),
    (54, 0, 0, 0, -0.0664, 0.0664), (53, 0, 0, 1, -0.0729, 0.0729),
    (30, 0, 0, 24, -0.0358, 0.0358), (29, 0, 0, 25, -0.0354, 0.0354),
    (28, 0, 0, 26, -0.0352, 0.0352), (27, 0, 0, 27, -0.0351, 0.0351)]


@pytest.mark.parametrize("both, a_only, b_only, neither, low, high", NEWCOMBE_METHOD_10)
def test_newcombe_interval_reproduces_his_table(both, a_only, b_only, neither, low, high):
    result = stats.paired_proportion_interval(both, a_only, b_only, neither,
                                              method="newcombe")
    # Published to 4 decimals; (1, 97, 1, 1) gives 0.87367, printed 0.8736.
    assert result == pytest.approx((low, high), abs=1.01e-4)


def _tango_score(theta, b, c, n):
    """Tango (1998), eqs. 3-4, float64, written out: the score of "difference = theta"."""
    A, B, C = 2 * n, -b - c + (2 * n - b + c) * theta, -c * theta * (1 - theta)
    q21 = (math.sqrt(B * B - 4 * A * C) - B) / (2 * A)
    return (b - c - n * theta) / math.sqrt(n * (2 * q21 + theta * (1 - theta)))


def _tango_by_brentq(b, c, n, confidence=0.95):
    from scipy import optimize
    from scipy.stats import norm

    z, est = norm.isf((1 - confidence) / 2), (b - c) / n
    low = optimize.brentq(lambda t: _tango_score(t, b, c, n) - z, -1 + 1e-12, est)
    high = optimize.brentq(lambda t: _tango_score(t, b, c, n) + z, est, 1 - 1e-12)
    return low, high


def test_tango_interval_reproduces_published_values():
    # Fagerland, Lydersen & Laake (2014; book 2017, Table 8.x): Cavo et al. 2012.
    assert stats.paired_proportion_interval(59, 6, 16, 80) == pytest.approx(
        (-0.1240, -0.0054), abs=5.1e-5)
    assert stats.paired_proportion_interval(59, 6, 16, 80, method="newcombe") == pytest.approx(
        (-0.1186, -0.0046), abs=5.1e-5)
    # Chang et al. (2023), Table 3, to 3 decimals: Tango 0.139 to 0.321.
    assert stats.paired_proportion_interval(7, 25, 2, 68) == pytest.approx(
        (0.139, 0.321), abs=5.1e-4)
    # Every answer right for A alone, 3 of 3: (−0.1230, 1).
    assert stats.paired_proportion_interval(0, 3, 0, 0) == pytest.approx((-0.1230, 1.0),
                                                                         abs=5.1e-5)
    # No discordant example: the limits are ±z²/(n + z²) (both methods, Newcombe's table).
    z2 = 1.959963984540054 ** 2
    for method in ("tango", "newcombe"):
        assert stats.paired_proportion_interval(54, 0, 0, 0, method=method) == pytest.approx(
            (-z2 / (54 + z2), z2 / (54 + z2)), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(b=st.integers(0, 60), c=st.integers(0, 60), rest=st.integers(1, 400),
       confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_tango_limits_are_where_the_score_reaches_z(b, c, rest, confidence):
    assume(b + c > 0)  # no discordant example: the closed form above
    n = b + c + rest
    low, high = stats.paired_proportion_interval(rest, b, c, 0, confidence=confidence)
    assert (low, high) == pytest.approx(_tango_by_brentq(b, c, n, confidence), abs=1e-9)


def test_reported_input_interval_is_not_bounded_by_the_discordant_share():
    # Issue 25 / review a11: n_ab = 0, n_ba = 7 on 360 gave "95 % CI 0.4 to 1.9", the
    # upper end equal to the estimate 7/360 = 1.94 pp (the discordant share).
    a = np.ones(360, dtype=bool)
    a[:7] = False
    result = stats.mcnemar(a, np.ones(360, dtype=bool), names=NAMES)
    assert result.estimate == pytest.approx(-100 * 7 / 360)
    oracle = [100 * x for x in _tango_by_brentq(0, 7, 360)]
    assert (result.low, result.high) == pytest.approx(oracle, abs=1e-7)
    assert -result.low > 3.9 > 100 * 7 / 360  # the gap may be twice the discordant share
    assert result.verdict("en") == "A behind B by 1.9 pp (95% CI 0.9 to 4.0)"
    # The rendered background verdict (n_ab = 1, n_ba = 8) was "1.9 pp (95% CI 0.1 to 2.5)".
    a, b = np.ones(360, dtype=bool), np.ones(360, dtype=bool)
    a[:8], b[8] = False, False
    assert stats.mcnemar(a, b, names=NAMES).verdict("en") == (
        "A behind B by 1.9 pp (95% CI 0.4 to 4.1)")


def test_mcnemar_interval_and_p_value_never_disagree():
    # Tango's interval inverts McNemar's score test: on every table of 360 examples with
    # up to 30 discordant of each kind, "the interval excludes 0" <=> p < 0.05.
    from scipy.stats import binomtest

    disagree_exact = []
    for n_ab in range(31):
        for n_ba in range(31):
            a = np.zeros(360, dtype=bool)
            b = np.zeros(360, dtype=bool)
            a[:n_ab] = True
            b[n_ab:n_ab + n_ba] = True
            result = stats.mcnemar(a, b, names=NAMES)
            assert result.differs == (result.p_value < 0.05)
            if n_ab + n_ba and result.differs != (binomtest(n_ab, n_ab + n_ba).pvalue < 0.05):
                disagree_exact.append(binomtest(n_ab, n_ab + n_ba).pvalue)
    # The exact conditional test is conservative: it disagrees on 42 of 960 tables,
    # each time calling "no difference" at an exact p between 0.05 and 0.13.
    assert len(disagree_exact) == 42
    assert 0.05 <= min(disagree_exact) <= max(disagree_exact) < 0.13


def test_bad_paired_tables_are_rejected():
    with pytest.raises(TypeError, match="count"):
        stats.paired_proportion_interval(1.5, 1, 1, 1)
    with pytest.raises(ValueError, match=">= 0"):
        stats.paired_proportion_interval(1, -1, 1, 1)
    with pytest.raises(ValueError, match="no examples"):
        stats.paired_proportion_interval(0, 0, 0, 0)
    with pytest.raises(ValueError, match="method"):
        stats.paired_proportion_interval(1, 1, 1, 1, method="wald")
    with pytest.raises(ValueError, match="confidence"):
        stats.paired_proportion_interval(1, 1, 1, 1, confidence=95)


# ------------------------------------------ accuracies over seeds: the default interval

def _square_and_add_by_hand(a, b, confidence):
    """Two-way ANOVA (seeds × examples) by its sums of squares, float64, in pp."""
    from scipy.stats import norm, t

    d = a.astype(float) - b.astype(float)
    S, N = d.shape
    grand = d.mean()
    ss_seeds = N * sum((row.mean() - grand) ** 2 for row in d)
    ss_examples = S * sum((col.mean() - grand) ** 2 for col in d.T)
    ss_error = ((d - grand) ** 2).sum() - ss_seeds - ss_examples
    ms_seeds, ms_examples = ss_seeds / (S - 1), ss_examples / (N - 1)
    ms_error = ss_error / ((S - 1) * (N - 1))
    v_seeds = max(ms_seeds, ms_error) / (S * N)
    v_examples = max(ms_examples - ms_error, 0) / (S * N)
    q = (1 + confidence) / 2
    half = math.sqrt(t.ppf(q, S - 1) ** 2 * v_seeds + norm.ppf(q) ** 2 * v_examples)
    return 100 * grand, 100 * (grand - half), 100 * (grand + half)


@settings(max_examples=40, deadline=None)
@given(seeds=st.integers(2, 6), n=st.integers(2, 400), accuracy=st.floats(0.5, 1.0),
       draw=st.integers(0, 2 ** 32 - 1), confidence=st.sampled_from([0.8, 0.9, 0.95]))
def test_accuracy_interval_matches_the_anova_by_hand_and_its_p_value(seeds, n, accuracy,
                                                                     draw, confidence):
    a, b = np.random.default_rng(draw).random((2, seeds, n)) < accuracy
    result = stats.compare_accuracy(a, b, names=NAMES, confidence=confidence)
    assert (result.estimate, result.low, result.high) == pytest.approx(
        _square_and_add_by_hand(a, b, confidence), abs=1e-9)
    if result.low < result.high:  # the p-value is the level at which 0 is a limit
        assert result.differs == (result.p_value < 1 - confidence)
        if 1e-6 < result.p_value < 1 - 1e-6:
            at_p = stats.compare_accuracy(a, b, names=NAMES, confidence=1 - result.p_value)
            assert min(abs(at_p.low), abs(at_p.high)) == pytest.approx(0, abs=1e-6)


def test_accuracy_interval_with_one_seed_is_mcnemar():
    rng = np.random.default_rng(8)
    a, b = _correct(1, 360, 0.93, rng), _correct(1, 360, 0.95, rng)
    for method in ("seeds+examples", "bootstrap"):
        assert stats.compare_accuracy(a, b, names=NAMES, method=method) == stats.mcnemar(
            a[0], b[0], names=NAMES)


def test_seeds_that_agree_by_chance_still_leave_the_test_set_error():
    # Two seeds with the same accuracy gap, on different examples: the seeds' own spread
    # is 0, but each seed's 10 discordant answers are noise; the interval keeps it.
    a, b = np.ones((2, 360), dtype=bool), np.ones((2, 360), dtype=bool)
    a[0, :5], b[0, 5:10], a[1, 10:15], b[1, 15:20] = False, False, False, False
    result = stats.compare_accuracy(a, b, names=NAMES)
    assert result.estimate == 0 and result.high - result.low > 10  # t with 1 df


def test_bootstrap_method_is_kept_without_a_p_value():
    rng = np.random.default_rng(9)
    a, b = _correct(3, 200, 0.9, rng), _correct(3, 200, 0.9, rng)
    result = stats.compare_accuracy(a, b, names=NAMES, method="bootstrap", n_boot=500)
    assert result.p_value is None and result.method.startswith("paired bootstrap")
    assert result.low <= result.estimate <= result.high
    with pytest.raises(ValueError, match="method"):
        stats.compare_accuracy(a, b, names=NAMES, method="t")


# ------------------------------------------------------------ equivalence and its power

@settings(max_examples=80, deadline=None)
@given(d=st.lists(st.floats(-3, 3, allow_nan=False), min_size=2, max_size=8),
       margin=st.floats(0.05, 3), higher_is_better=st.booleans())
def test_tost_decisions_match_scipy_one_sided_t_tests(d, margin, higher_is_better):
    from scipy.stats import ttest_1samp

    d = np.array(d)
    assume(np.ptp(d) > 1e-6)
    b = np.linspace(1, 2, d.size)
    result = stats.compare_paired(b + d, b, names=NAMES, confidence=0.90,
                                  higher_is_better=higher_is_better)

    def p(shift, alternative):  # one-sided t test of mean(d) against shift
        return ttest_1samp(d - shift, 0.0, alternative=alternative).pvalue

    p_above_low, p_below_high = p(-margin, "greater"), p(margin, "less")
    assume(min(abs(x - 0.05) for x in (p_above_low, p_below_high)) > 1e-9)
    tost = stats.equivalence(result, margin)
    assert (tost.decision == "equivalent") == (max(p_above_low, p_below_high) < 0.05)
    assert (tost.decision == "not equivalent") == (p(margin, "greater") < 0.05
                                                   or p(-margin, "less") < 0.05)
    assert tost.alpha == pytest.approx(0.05) and tost.shown == (tost.decision == "equivalent")
    one = stats.equivalence(result, margin, non_inferiority=True)
    # A loss is a negative difference when higher is better, a positive one otherwise.
    p_no_loss = p_above_low if higher_is_better else p_below_high
    assert (one.decision == "non-inferior") == (p_no_loss < 0.05)


def test_tost_on_paired_accuracies_matches_tango_one_sided_score_tests():
    from scipy.stats import norm

    z = norm.isf(0.05)
    for n_ab, n_ba, n in [(40, 38, 20_000), (40, 38, 3000), (5, 30, 800), (90, 10, 400)]:
        a, b = np.ones(n, dtype=bool), np.ones(n, dtype=bool)
        b[:n_ab], a[n_ab:n_ab + n_ba] = False, False
        result = stats.mcnemar(a, b, names=NAMES, confidence=0.90)
        for margin in (0.25, 0.5, 1.0, 2.0, 5.0):
            above = _tango_score(-margin / 100, n_ab, n_ba, n) > z  # rejects "<= -margin"
            below = _tango_score(margin / 100, n_ab, n_ba, n) < -z  # rejects ">= margin"
            decision = stats.equivalence(result, margin).decision
            assert (decision == "equivalent") == (above and below)


def test_equivalence_reads_the_interval():
    c = stats.Comparison(("pruned", "dense"), -0.2, -0.45, 0.1, 0.90, None, "m", "pp")
    assert stats.equivalence(c, 0.5).decision == "equivalent"
    assert stats.equivalence(c, 0.4).decision == "undecided"
    assert stats.equivalence(c, 0.4, non_inferiority=True).decision == "undecided"
    assert stats.equivalence(c, 0.5, non_inferiority=True).decision == "non-inferior"
    assert stats.equivalence(c, 0.05).decision == "undecided"
    far = stats.Comparison(("pruned", "dense"), -2.0, -3.0, -1.0, 0.90, None, "m", "pp")
    assert stats.equivalence(far, 0.5).decision == "not equivalent"
    assert stats.equivalence(far, 0.5, non_inferiority=True).decision == "inferior"
    assert not stats.equivalence(far, 0.5).shown
    # Lower is better (a perplexity): a loss is a positive difference.
    ppl = stats.Comparison(("Wanda", "dense"), 0.3, 0.2, 0.4, 0.90, None, "m", "ppl",
                           higher_is_better=False)
    assert stats.equivalence(ppl, 0.5, non_inferiority=True).decision == "non-inferior"
    assert stats.equivalence(ppl, 0.1, non_inferiority=True).decision == "inferior"
    identical = stats.Comparison(NAMES, 0.0, 0.0, 0.0, 0.90, 1.0, "m", "pp")
    assert stats.equivalence(identical, 0.01).shown


def test_bad_equivalence_inputs_are_rejected():
    c = stats.Comparison(NAMES, 0.1, -0.3, 0.4, 0.90, None, "m", "pp")
    for margin in (0, -0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="margin"):
            stats.equivalence(c, margin)
    with pytest.raises(TypeError, match="margin"):
        stats.equivalence(c, True)
    with pytest.raises(TypeError, match="Comparison"):
        stats.equivalence((0.1, -0.3, 0.4), 0.5)
    ratio = stats.Comparison(NAMES, 1.1, 0.9, 1.3, 0.90, None, "m", "×", "ratio")
    with pytest.raises(ValueError, match="ratio"):
        stats.equivalence(ratio, 0.1)


def test_equivalence_power_matches_the_normal_approximation_for_large_n():
    # At difference 0 and large n the Tango TOST behaves as the Wald one:
    # power = 2 Φ(margin sqrt(n) / sqrt(discordant) − z_0.95) − 1 (Nam 1997).
    from scipy.stats import norm

    for n, psi, margin in [(6000, 0.04, 0.008), (8000, 0.10, 0.01)]:
        shift = margin * math.sqrt(n / psi) - norm.isf(0.05)
        power = stats.equivalence_power(n, 100 * psi, 100 * margin)
        assert power == pytest.approx(2 * norm.cdf(shift) - 1, abs=0.01)
        one = stats.equivalence_power(n, 100 * psi, 100 * margin, non_inferiority=True)
        assert one == pytest.approx(norm.cdf(shift), abs=0.01)


def test_equivalence_power_matches_simulated_test_sets():
    # 2000 test sets of 1500 examples, 8% discordant, A 0.5 pp behind: how often does
    # mcnemar + equivalence show "within ±2 pp"? The enumeration must agree to 3 SE.
    rng = np.random.default_rng(10)
    n, p_ab, p_ba, reps = 1500, 0.0375, 0.0425, 2000
    counts = rng.multinomial(n, [p_ab, p_ba, 1 - p_ab - p_ba], size=reps)
    shown = 0
    tables, times = np.unique(counts, axis=0, return_counts=True)
    for (n_ab, n_ba, rest), k in zip(tables, times):
        low, high = stats.paired_proportion_interval(int(rest), int(n_ab), int(n_ba), 0,
                                                     confidence=0.90)
        shown += k * (-0.02 < low and high < 0.02)
    power = stats.equivalence_power(n, 8.0, 2.0, difference=-0.5)
    assert 0.2 < power < 0.98  # informative, not a certainty
    assert shown / reps == pytest.approx(power, abs=3 * math.sqrt(power * (1 - power) / reps))


def test_bad_power_inputs_are_rejected():
    with pytest.raises(ValueError, match="discordant"):
        stats.equivalence_power(360, 0.0, 0.5)
    with pytest.raises(ValueError, match="cannot exceed"):
        stats.equivalence_power(360, 2.0, 0.5, difference=3.0)
    with pytest.raises(ValueError, match="margin"):
        stats.equivalence_power(360, 2.0, -0.5)
    with pytest.raises(TypeError, match="integer"):
        stats.equivalence_power(360.0, 2.0, 0.5)
    with pytest.raises(TypeError, match="discordant"):
        stats.equivalence_power(360, float("nan"), 0.5)


def test_a_speed_up_too_wide_to_decide_says_so():
    """The pipeline's rendered "0.61× (95% CI 0.21 to 4.45×)" must not read as "no
    detectable difference": the timings of that build cannot tell."""
    wide = stats.Comparison(("magnitude pruning", "dense MLP"), 0.61, 0.21, 4.45, 0.95,
                            None, "ratio of medians", "×", "ratio")
    assert wide.too_wide and wide.favours_a is None
    assert wide.word("en") == "cannot tell" and wide.word("zh") == "无法判断"
    assert wide.verdict("en") == ("the timings cannot tell magnitude pruning from dense MLP: "
                                  "speed-up 0.61× (95% CI 0.21 to 4.45×, too wide to decide)")
    assert "区间过宽" in wide.verdict("zh")
    # the boundary: a factor of UNDECIDED_RATIO is still narrow enough; a decided one is
    # never "too wide", however wide
    edge = stats.Comparison(("a", "b"), 1.0, 0.7, 0.7 * stats.UNDECIDED_RATIO, 0.95, None,
                            "m", "×", "ratio")
    assert not edge.too_wide and edge.word("en") == "no detectable difference"
    decided = stats.Comparison(("a", "b"), 3.0, 1.2, 9.0, 0.95, None, "m", "×", "ratio")
    assert not decided.too_wide and decided.word("en") == "faster"
    accuracy = stats.Comparison(("a", "b"), 0.5, -4.0, 5.0, 0.95, 0.7, "m", "pp")
    assert not accuracy.too_wide  # differences have no such rule: equivalence() decides
    noisy = np.random.default_rng(0).lognormal(0, 1.0, size=(2, 12))
    assert stats.latency_ratio(*noisy, names=("a", "b")).too_wide


_CJK = "\u4e00-\u9fff"
#: The Chinese edition's typography, which generated verdicts must follow as the
#: hand-written prose does.
_ZH_RULES = {
    "ASCII punctuation beside Chinese": re.compile(rf"[{_CJK}][,;:()]|[,;:()][{_CJK}]"),
    "no space between Chinese and Latin or digits":
        re.compile(rf"[{_CJK}][A-Za-z0-9]|[A-Za-z0-9%×][{_CJK}]"),
    "doubled punctuation": re.compile(r"[：，；。、（]{2}"),
    "a space beside full-width punctuation": re.compile(r" [：，；。、（）]|[：，；。、（] "),
}


@pytest.mark.parametrize("names", [("稠密网络", "剪枝后"), ("Wanda", "SparseGPT"),
                                   ("lm_wanda", "dense"), ("稠密网络", "L1")])
def test_chinese_verdicts_follow_the_editions_typography(names):
    """Every verdict template, Chinese names and Latin ones: full-width punctuation, a
    space where Chinese meets Latin or digits, none beside full-width punctuation."""
    cases = [("difference", "pp", True, e, lo, hi) for e, lo, hi in
             [(1.0, 0.4, 1.6), (-1.0, -1.6, -0.4), (0.1, -0.5, 0.7), (0.0, 0.0, 0.0)]]
    cases += [("ratio", "×", True, e, lo, hi) for e, lo, hi in
              [(2.0, 1.8, 2.2), (0.5, 0.4, 0.6), (1.0, 0.9, 1.1), (0.61, 0.21, 4.45)]]
    cases += [("difference", "lm_perplexity", False, e, lo, hi) for e, lo, hi in
              [(-0.1, -0.2, -0.05), (0.1, 0.05, 0.2), (0.0, -0.1, 0.1)]]
    for kind, unit, higher, estimate, low, high in cases:
        text = stats.Comparison(names, estimate, low, high, 0.95, None, "t", unit,
                                kind=kind, higher_is_better=higher).verdict("zh")
        broken = [rule for rule, pattern in _ZH_RULES.items() if pattern.search(text)]
        assert not broken, f"{text!r}: {broken}"


@pytest.mark.parametrize("names", [("稠密网络", "剪枝后"), ("Wanda", "SparseGPT")])
def test_chinese_equivalence_verdicts_follow_the_editions_typography(names):
    for low, high in [(-0.3, 0.4), (-1.2, 1.7), (0.6, 1.4), (-1.4, -0.6)]:
        c = stats.Comparison(names, (low + high) / 2, low, high, 0.90, None, "t", "pp")
        for non_inferiority in (False, True):
            text = stats.equivalence(c, 0.5, non_inferiority=non_inferiority).verdict("zh")
            broken = [rule for rule, pattern in _ZH_RULES.items() if pattern.search(text)]
            assert not broken, f"{text!r}: {broken}"


def test_equivalence_verdicts_say_shown_not_shown_or_refuted():
    """Each decision has its own sentence, with the interval it was read from; a claim
    of no loss is "shown" only when the interval lies inside the margin."""
    def verdict(low, high, **kw):
        c = stats.Comparison(("pruned", "dense"), (low + high) / 2, low, high, 0.90, None,
                             "t", "pp")
        e = stats.equivalence(c, 0.5, **kw)
        return e.word("en"), e.verdict("en")

    assert verdict(-0.3, 0.4) == (
        "shown", "pruned within ±0.5 pp of the dense network: shown (90% CI of the difference "
        "−0.3 to 0.4 pp)")
    word, text = verdict(-1.2, 1.7)
    assert word == "not shown" and "not shown" in text and "−1.2 to 1.7 pp" in text
    assert verdict(0.6, 1.4)[0] == "refuted"
    assert verdict(0.6, 1.4)[1].startswith("pruned and the dense network differ by more than 0.5 pp")
    assert verdict(-0.3, 1.4, non_inferiority=True)[0] == "shown"
    assert verdict(-0.8, 1.4, non_inferiority=True)[0] == "not shown"
    assert verdict(-1.4, -0.6, non_inferiority=True)[1].startswith(
        "pruned worse than the dense network by more than 0.5 pp")


def test_compare_examples_is_compare_accuracy_for_real_values():
    """On correctness (as 0/100) it gives compare_accuracy's interval exactly; on losses
    a lower A is ahead; bad shapes and values are errors that say what is wanted."""
    rng = np.random.default_rng(3)
    a, b = rng.random((3, 300)) < 0.9, rng.random((3, 300)) < 0.85
    acc = stats.compare_accuracy(a, b, names=("a", "b"))
    ex = stats.compare_examples(100.0 * a, 100.0 * b, names=("a", "b"), unit="pp")
    assert (ex.estimate, ex.low, ex.high, ex.p_value) == pytest.approx(
        (acc.estimate, acc.low, acc.high, acc.p_value))
    loss_b = rng.normal(1.0, 0.3, size=(3, 200))
    loss_a = loss_b - 0.1 + rng.normal(0, 0.05, size=loss_b.shape)
    c = stats.compare_examples(loss_a, loss_b, names=("a", "b"), unit="loss",
                               higher_is_better=False)
    assert c.favours_a and c.high < 0 and "behind" not in c.verdict("en")
    with pytest.raises(ValueError, match="two-dimensional"):
        stats.compare_examples(loss_a[0], loss_b[0], names=("a", "b"))
    with pytest.raises(ValueError, match="same shape"):
        stats.compare_examples(loss_a[:1], loss_b[:1], names=("a", "b"))
    with pytest.raises(ValueError, match="NaN"):
        stats.compare_examples(np.full((2, 3), np.nan), loss_b[:2, :3], names=("a", "b"))
    with pytest.raises(TypeError, match="real numbers"):
        stats.compare_examples(a, b, names=("a", "b"))

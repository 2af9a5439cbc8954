"""Tests of helpers.stats."""

import math

import numpy as np

import pytest

from helpers import stats


def test_mean_std():
    mean, std = stats.mean_std([0.9, 0.95, 1.0])
    assert mean == pytest.approx(0.95)
    assert std == pytest.approx(np.std([0.9, 0.95, 1.0], ddof=1))
    assert stats.mean_std([0.5]) == (0.5, 0.0)
    assert stats.format_mean_std([0.9, 0.95, 1.0], scale=100, digits=1) == "95.0 ± 5.0"
    with pytest.raises(ValueError, match="at least one"):
        stats.mean_std([])
    assert math.isfinite(stats.mean_std([1, 2])[1])

"""helpers.data: the diabetes data and synthetic sparse regression problems."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import data


def test_diabetes_shapes_names_and_scaling():
    X, y, names = data.load_diabetes()
    assert X.shape == (442, 10) and y.shape == (442,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert names == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert np.allclose(X.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(np.linalg.norm(X, axis=0), 1.0)
    raw, y_raw, _ = data.load_diabetes(scaled=False)
    assert np.array_equal(y, y_raw) and raw[:, 0].max() > 50  # age in years


def test_diabetes_bad_argument():
    with pytest.raises(TypeError, match="scaled must be True or False"):
        data.load_diabetes(scaled="yes")


def test_sparse_regression_truth_and_noise():
    X, y, coef = data.make_sparse_regression(500, 40, 5, noise=0.5, seed=1)
    assert X.shape == (500, 40) and y.shape == (500,) and coef.shape == (40,)
    support = np.flatnonzero(coef)
    assert len(support) == 5
    assert np.all((np.abs(coef[support]) >= 1) & (np.abs(coef[support]) <= 2))
    residual = y - X @ coef
    assert residual.std() == pytest.approx(0.5, rel=0.15)
    noiseless = data.make_sparse_regression(500, 40, 5, noise=0.0, seed=1)
    assert np.allclose(noiseless[1], noiseless[0] @ noiseless[2])


def test_sparse_regression_is_seeded():
    a = data.make_sparse_regression(50, 10, 3, seed=7)
    b = data.make_sparse_regression(50, 10, 3, seed=7)
    c = data.make_sparse_regression(50, 10, 3, seed=8)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])


@settings(max_examples=10, deadline=None)
@given(rho=st.floats(0.0, 0.9))
def test_equicorrelated_design(rho):
    X, _, _ = data.make_sparse_regression(4000, 6, 2, correlation=rho, seed=0)
    corr = np.corrcoef(X, rowvar=False)
    off_diagonal = corr[~np.eye(6, dtype=bool)]
    assert np.allclose(off_diagonal, rho, atol=0.06)
    assert np.allclose(X.var(axis=0), 1.0, atol=0.1)


def test_ar1_design():
    X, _, _ = data.make_sparse_regression(20000, 5, 1, correlation=0.8, design="ar1")
    corr = np.corrcoef(X, rowvar=False)
    expected = 0.8 ** np.abs(np.subtract.outer(np.arange(5), np.arange(5)))
    assert np.allclose(corr, expected, atol=0.03)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_informative": 11}, ValueError, "cannot exceed n_features"),
    ({"correlation": 1.0}, ValueError, r"correlation must lie in \[0, 1\)"),
    ({"noise": -1.0}, ValueError, "noise must be a finite number >= 0"),
    ({"design": "toeplitz"}, ValueError, "design must be"),
    ({"n_samples": 0}, ValueError, "n_samples must be > 0"),
])
def test_sparse_regression_bad_arguments(kwargs, error, match):
    args = {"n_samples": 20, "n_features": 10, "n_informative": 3, **kwargs}
    with pytest.raises(error, match=match):
        data.make_sparse_regression(**args)

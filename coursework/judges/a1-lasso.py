"""Judges of assignment 1 (the Lasso from scratch): run by the grader, never in the sandbox.

One function per check of the master ``coursework/<lang>/a1-lasso.md`` (same order,
same points, same message), judging what the probe of the same name in
``coursework/probes/a1-lasso.py`` got back. Each returns None when the check passes,
else the student's message.
"""

import functools

import numpy as np
from sklearn.linear_model import Lasso
from sklearn.linear_model import lasso_path as sklearn_lasso_path

import helpers
from tools.coursework.judging import case


def _vector(value, length=None):
    array = np.asarray(value, dtype=float)
    if array.ndim != 1 or (length is not None and len(array) != length):
        raise ValueError("shape")
    return array


@functools.cache
def _lasso(alpha, rows=None):
    X, y = _data()
    if rows is not None:
        X, y = X[:rows], y[:rows]
    return Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=200_000).fit(X, y).coef_


@functools.cache
def _data():
    X, y, _ = helpers.data.load_diabetes()
    return X, y - y.mean()


@case("a1_soft_threshold", "soft_demo")
def soft_demo(got, inputs, say):
    x = inputs["x"]
    expected = np.array([-2.0, 0.0, 0.0, 0.0, 2.0])
    if not (isinstance(got, np.ndarray) and got.shape == expected.shape
            and np.allclose(got, expected)):
        return say("a1_m_soft", x=x.tolist(), expected=expected.tolist(), got=got)


@case("a1_soft_threshold", "soft_random", hidden=True)
def soft_random(got, inputs, say):
    x = inputs["x"]
    if not (np.shape(got["t06"]) == x.shape and np.allclose(got["t06"], helpers.l1.soft_threshold(x, 0.6))
            and np.shape(got["t0"]) == x.shape and np.allclose(got["t0"], x)):
        return say("a1_m_soft_hidden")


@case("a1_ista", "ista_02")
def ista_close(got, inputs, say):
    expected = _lasso(0.2)
    got_ = np.asarray(got, dtype=float)
    if not (got_.shape == expected.shape and np.allclose(got_, expected, atol=1e-3)):
        index = int(np.argmax(np.abs(got_ - expected))) if got_.shape == expected.shape else "-"
        return say("a1_m_ista", _expected=np.array2string(expected, precision=6),
                   got=got_, index=index)


@case("a1_ista", "ista_02")
def ista_zeros(got, inputs, say):
    expected = _lasso(0.2)
    got_ = _vector(got)
    if not (got_.shape == expected.shape and np.array_equal(got_ == 0, expected == 0)):
        return say("a1_m_ista_zeros", expected=np.flatnonzero(expected == 0).tolist(),
                   got=np.flatnonzero(got_ == 0).tolist())


@case("a1_ista", "ista_big_small", hidden=True)
def ista_big_small(got, inputs, say):
    X, y = inputs["X"], inputs["y"]
    big, small = _vector(got["big"], X.shape[1]), _vector(got["small"], X.shape[1])
    objective = helpers.l1.lasso_objective
    if not (np.all(big == 0) and objective(X, y, small, 0.03)
            <= objective(X, y, _lasso(0.03), 0.03) + 1e-6):
        return say("a1_m_ista_hidden1")


@case("a1_ista", "ista_warm", hidden=True)
def ista_warm(got, inputs, say):
    warm, sub = _vector(got["warm"], 10), _vector(got["sub"], 10)
    if not (np.allclose(warm, inputs["ref_mid"], atol=1e-6)
            and np.allclose(sub, _lasso(0.5, 200), atol=1e-3)):
        return say("a1_m_ista_hidden2")


@case("a1_path", "alpha_max")
def alpha_max(got, inputs, say):
    X, y = inputs["X"], inputs["y"]
    if isinstance(got, bool) or not isinstance(got, (int, float)) or not np.isfinite(got) \
            or got <= 0:
        return say("a1_m_alpha_max", got=got)
    above = Lasso(alpha=1.001 * got, fit_intercept=False, tol=1e-12).fit(X, y).coef_
    below = Lasso(alpha=0.95 * got, fit_intercept=False, tol=1e-12).fit(X, y).coef_
    if not (np.all(above == 0) and np.any(below != 0)):
        return say("a1_m_alpha_max", got=got)


@case("a1_path", "path_small")
def path_small(got, inputs, say):
    p = inputs["X"].shape[1]
    got_ = np.asarray(got, dtype=float) if isinstance(got, np.ndarray) else None
    if got_ is None or got_.shape != (3, p) or not np.all(got_[0] == 0) or not np.any(got_[2] != 0):
        return say("a1_m_path", p=p, got=got)


@case("a1_path", "path_grid25", hidden=True)
def path_grid25(got, inputs, say):
    ref = sklearn_lasso_path(inputs["X"], inputs["y"], alphas=inputs["alphas"], tol=1e-10)[1].T
    got_ = np.asarray(got, dtype=float)
    if got_.shape != ref.shape or not np.max(np.abs(got_ - ref)) <= 1e-3 * np.max(np.abs(ref)):
        return say("a1_m_path_hidden")


@case("a1_path", "path_answers", hidden=True)
def path_gap(got, inputs, say):
    X, y = _data()
    alphas = _vector(got["alphas"])
    path = np.asarray(got["path"], dtype=float)
    gap = got["path_gap"]
    if not (1 <= len(alphas) <= 1000 and np.all(np.isfinite(alphas)) and np.all(alphas > 0)
            and path.shape == (len(alphas), X.shape[1])
            and isinstance(gap, (int, float)) and not isinstance(gap, bool)):
        return say("a1_m_path_gap")
    ref_gap = float(np.max(np.abs(path - sklearn_lasso_path(X, y, alphas=alphas)[1].T)))
    if not (np.isclose(gap, ref_gap, rtol=1e-6, atol=1e-9) and gap < 1e-3 * np.max(np.abs(path))):
        return say("a1_m_path_gap")


def _order(path, names):
    nonzero = path != 0
    first = {names[j]: int(np.argmax(nonzero[:, j])) for j in range(len(names)) if nonzero[:, j].any()}
    return sorted(first, key=lambda name: (first[name], names.index(name)))


@case("a1_interpret", "entry_order")
def order_public(got, inputs, say):
    _, _, names = helpers.data.load_diabetes()
    names = list(names)
    order = got["entry_order"]
    path = np.asarray(got["path"], dtype=float)
    if path.ndim != 2 or path.shape[1] != len(names):
        return say("a1_m_order", expected="?", got=order)
    expected = _order(path, names)
    if not (isinstance(order, (list, tuple)) and list(order) == expected):
        return say("a1_m_order", expected=expected, got=order)


@case("a1_interpret", "entry_order", hidden=True)
def order_hidden(got, inputs, say):
    X, y = _data()
    _, _, names = helpers.data.load_diabetes()
    grid = np.max(np.abs(X.T @ y)) / len(y) * np.geomspace(1, 0.01, 100)
    ref = sklearn_lasso_path(X, y, alphas=grid, tol=1e-10)[1].T
    order = got["entry_order"]
    if not (isinstance(order, (list, tuple)) and list(order)[:4] == _order(ref, list(names))[:4]):
        return say("a1_m_order_hidden")

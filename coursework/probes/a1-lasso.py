"""Probes of assignment 1 (the Lasso from scratch): run inside the grading sandbox.

Each probe builds its inputs (``inputs``: trusted code, run before any of the student's
code and again by the grader to judge) and calls the student's graded objects by name
(``call``). Nothing here says what the right answer is: the judges in
``coursework/judges/a1-lasso.py`` (never in the sandbox) do.
"""

import numpy as np

import helpers

PROBES = {}


def probe(question, inputs):
    def register(call):
        PROBES[call.__name__] = {"question": question, "inputs": inputs, "call": call}
        return call
    return register


def diabetes():
    X, y, names = helpers.data.load_diabetes()
    return {"X": X, "y": y - y.mean(), "names": list(names)}


def true_alpha_max(X, y):
    return float(np.max(np.abs(X.T @ y)) / len(y))


def _soft_demo():
    return {"x": np.array([-3.0, -0.5, 0.0, 0.5, 3.0])}


def _soft_random():
    return {"x": np.random.default_rng(7).normal(size=(4, 6))}


def _warm():
    from sklearn.linear_model import Lasso

    d = diabetes()
    d["ref_mid"] = Lasso(alpha=0.5, fit_intercept=False, tol=1e-12,
                         max_iter=200_000).fit(d["X"], d["y"]).coef_
    return d


def _small_grid():
    d = diabetes()
    d["alphas"] = true_alpha_max(d["X"], d["y"]) * np.array([1.001, 0.5, 0.1])
    return d


def _grid25():
    d = diabetes()
    d["alphas"] = true_alpha_max(d["X"], d["y"]) * np.geomspace(1, 0.02, 25)
    return d


def _nothing():
    return {}


@probe("a1_soft_threshold", _soft_demo)
def soft_demo(student, inputs):
    return student.soft_threshold(inputs["x"].copy(), 1.0)


@probe("a1_soft_threshold", _soft_random)
def soft_random(student, inputs):
    return {"t06": student.soft_threshold(inputs["x"].copy(), 0.6),
            "t0": student.soft_threshold(inputs["x"].copy(), 0.0)}


@probe("a1_ista", diabetes)
def ista_02(student, inputs):
    return student.ista(inputs["X"].copy(), inputs["y"].copy(), 0.2)


@probe("a1_ista", diabetes)
def ista_big_small(student, inputs):
    return {"big": student.ista(inputs["X"].copy(), inputs["y"].copy(), 5.0),
            "small": student.ista(inputs["X"].copy(), inputs["y"].copy(), 0.03)}


@probe("a1_ista", _warm)
def ista_warm(student, inputs):
    X, y = inputs["X"], inputs["y"]
    return {"warm": student.ista(X.copy(), y.copy(), 0.5, w0=inputs["ref_mid"].copy(),
                                 max_iter=5),
            "sub": student.ista(X[:200].copy(), y[:200].copy(), 0.5)}


@probe("a1_path", diabetes)
def alpha_max(student, inputs):
    return student.alpha_max(inputs["X"].copy(), inputs["y"].copy())


@probe("a1_path", _small_grid)
def path_small(student, inputs):
    return student.lasso_path(inputs["X"].copy(), inputs["y"].copy(), inputs["alphas"].copy())


@probe("a1_path", _grid25)
def path_grid25(student, inputs):
    return student.lasso_path(inputs["X"].copy(), inputs["y"].copy(), inputs["alphas"].copy())


@probe("a1_path", _nothing)
def path_answers(student, inputs):
    return {"path": student.path, "alphas": student.alphas, "path_gap": student.path_gap}


@probe("a1_interpret", _nothing)
def entry_order(student, inputs):
    return {"entry_order": student.entry_order, "path": student.path}

"""Benchmark: the helpers' Lasso solvers against scikit-learn's coordinate descent.

Run with ``.venv/bin/python -m benchmarks.lasso_solvers``. Prints a Markdown table:
for a 2000 × 500 sparse regression problem (one ``alpha``) and for a path of 100
``alpha`` values with warm starts, the best-of-``repeats`` wall time of each solver,
its ratio to scikit-learn's, and the difference of the objectives reached, all at
the same duality-gap tolerance (the solvers share scikit-learn's definition of the
gap and of ``tol``). Both sides run with one BLAS thread. ``main()`` returns the rows
for a combined benchmark runner.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.linear_model import Lasso
from sklearn.linear_model import lasso_path as sk_lasso_path

from helpers import data, l1

N_SAMPLES, N_FEATURES, N_INFORMATIVE = 2000, 500, 25


def _best_time(fn, repeats: int):
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _row(problem, solver, seconds, reference_seconds, objective, reference_objective):
    return {"problem": problem, "solver": solver, "seconds": seconds,
            "ratio_to_sklearn": seconds / reference_seconds,
            "objective_difference": objective - reference_objective}


def single_alpha(X, y, alpha, tol, repeats):
    """Rows for one Lasso fit at ``alpha``."""
    objective = lambda coef, b: l1.lasso_objective(X, y, coef, alpha, intercept=b)  # noqa: E731
    t_sk, model = _best_time(lambda: Lasso(alpha=alpha, tol=tol, max_iter=100_000).fit(X, y),
                             repeats)
    ref = objective(model.coef_, model.intercept_)
    name = f"one alpha ({N_SAMPLES}x{N_FEATURES}, alpha = 0.05 alpha_max)"
    rows = [_row(name, "scikit-learn Lasso", t_sk, t_sk, ref, ref)]
    solvers = {
        "helpers coordinate_descent": lambda: l1.coordinate_descent(X, y, alpha, tol=tol),
        "helpers coordinate_descent, Gram matrix": lambda: l1.coordinate_descent(
            X, y, alpha, tol=tol, precompute=True),
        "helpers fista": lambda: l1.fista(X, y, alpha, tol=tol),
    }
    for solver, fn in solvers.items():
        seconds, res = _best_time(fn, repeats)
        rows.append(_row(name, solver, seconds, t_sk, objective(res.coef, res.intercept), ref))
    return rows


def path(X, y, tol, repeats):
    """Rows for a path of 100 alphas (eps = 1e-3) with warm starts."""
    Xc, yc = X - X.mean(0), y - y.mean()
    alphas = np.geomspace(1, 1e-3, 100) * l1.alpha_max(X, y)

    def total_objective(coefs):
        return sum(l1.lasso_objective(Xc, yc, coefs[:, k], a) for k, a in enumerate(alphas))

    t_sk, (_, coefs_sk, _) = _best_time(
        lambda: sk_lasso_path(Xc, yc, alphas=alphas, tol=tol, max_iter=100_000), repeats)
    ref = total_objective(coefs_sk)
    name = "path (100 alphas, warm starts; objectives summed)"
    rows = [_row(name, "scikit-learn lasso_path", t_sk, t_sk, ref, ref)]
    seconds, ours = _best_time(lambda: l1.lasso_path(X, y, alphas=alphas, tol=tol), repeats)
    rows.append(_row(name, "helpers lasso_path", seconds, t_sk,
                     total_objective(ours.coefs), ref))
    return rows


def main(repeats: int = 3, tol: float = 1e-4) -> list[dict]:
    """Run the benchmark; return one dict per (problem, solver) row."""
    X, y, _ = data.make_sparse_regression(N_SAMPLES, N_FEATURES, N_INFORMATIVE, noise=1.0,
                                          correlation=0.3, seed=0)
    alpha = 0.05 * l1.alpha_max(X, y)
    # One BLAS thread for both sides: scikit-learn's coordinate descent is
    # single-threaded, and threads only add noise on a shared machine.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("error")  # a solver that does not converge spoils the table
        return single_alpha(X, y, alpha, tol, repeats) + path(X, y, tol, repeats)


def markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = ["| problem | solver | time (s) | time / scikit-learn | objective − scikit-learn's |",
             "| --- | --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['problem']} | {r['solver']} | {r['seconds']:.4f} | "
                     f"{r['ratio_to_sklearn']:.2f} | {r['objective_difference']:+.2e} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tol", type=float, default=1e-4)
    args = parser.parse_args()
    print(markdown(main(args.repeats, args.tol)))

"""L1 regularization: soft-thresholding, Lasso solvers, L1 and group-lasso tools for torch.

Introduced in :doc:`l1-regularization`.

Conventions
-----------
All Lasso code here uses scikit-learn's objective

.. math:: P_\\alpha(w) = \\frac{1}{2n}\\lVert y - Xw\\rVert_2^2 + \\alpha\\lVert w\\rVert_1 ,

with ``n`` the number of samples. Much of the literature (Tibshirani 1996, and the
article this book corrects) writes :math:`\\tfrac12\\lVert y - Xw\\rVert_2^2 +
\\lambda\\lVert w\\rVert_1` instead; both have the same minimiser when
:math:`\\lambda = n\\alpha` (:func:`lambda_from_alpha`, :func:`alpha_from_lambda`).
With ``fit_intercept=True`` (the default, as in scikit-learn) the intercept is not
penalised: ``X`` and ``y`` are centred, the Lasso is solved on the centred data, and
the intercept is ``mean(y) - mean(X) @ w``.

Every solver stops on the duality gap, defined as in scikit-learn: a dual-feasible
point is obtained by rescaling the residual, and the solver stops once
``gap <= tol * ||y - mean(y)||² / n``, so ``tol`` means the same as scikit-learn's.
At ``alpha = 0`` (ordinary least squares) the rescaled residual is dual feasible
only when ``Xᵀr = 0`` exactly, so the dual point is the least-squares residual
instead, which makes the gap exactly the suboptimality ``P(w) − P*``; for
``alpha > 0`` that point is tried once more before a solver reports that it did not
converge (it certifies solutions for a tiny ``alpha`` and rank-deficient ``X``). A
``ConvergenceWarning`` names the likely cause: ``alpha = 0``, collinear columns,
``tol = 0``, or too few iterations.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.linalg.blas import daxpy
from torch import nn

from ._checks import check_finite, check_nonnegative, check_positive_int, checked
from .layers import distinct_weights

__all__ = [
    "soft_threshold", "prox_l1", "lambda_from_alpha", "alpha_from_lambda",
    "lasso_objective", "alpha_max", "duality_gap",
    "LassoResult", "ista_step", "ista", "fista", "coordinate_descent_epoch",
    "coordinate_descent", "LassoPath", "lasso_path",
    "LassoCV", "lasso_cv",
    "l1_penalty", "group_lasso_penalty", "prox_l1_step", "prox_l1_weights", "prox_group_step",
    "ProximalL1", "ProximalGroupL1",
]

ArrayOrTensor = np.ndarray | torch.Tensor


# --- soft-thresholding and conventions ---------------------------------------------------

def soft_threshold(x: ArrayOrTensor | float, t: float) -> ArrayOrTensor:
    """The soft-thresholding operator :math:`S_t(x) = \\sign(x)\\max(|x| - t, 0)`.

    Introduced in :doc:`l1-regularization`, section *Soft-thresholding*. It is the
    proximal operator of :math:`t\\lVert\\cdot\\rVert_1`: :math:`S_t(x)` minimises
    :math:`\\tfrac12\\lVert z - x\\rVert^2 + t\\lVert z\\rVert_1`, element by element.
    Entries with :math:`|x| \\le t` become exactly zero; the others move towards
    zero by ``t``.

    Parameters
    ----------
    x : ndarray, torch.Tensor or float
        Input; a tensor gives a tensor (same dtype and device), anything else a
        NumPy array.
    t : float
        The threshold, ``t >= 0``.

    Examples
    --------
    >>> from helpers.l1 import soft_threshold
    >>> soft_threshold([-3.0, 0.5, 2.0], 1.0)
    array([-2.,  0.,  1.])
    """
    t = check_nonnegative(t, "t")
    if not isinstance(x, torch.Tensor):
        x = np.asarray(x, dtype=np.float64)
    return prox_l1.unchecked(x, t)


def _check_real_array(x, name: str) -> None:
    """``x`` is a NumPy array or torch tensor of real numbers (not complex, not bool)."""
    if isinstance(x, np.ndarray):
        real = x.dtype.kind in "fiu"
    elif isinstance(x, torch.Tensor):
        real = not (x.is_complex() or x.dtype == torch.bool)
    else:
        raise TypeError(f"{name} must be a NumPy array or a torch.Tensor, got "
                        f"{type(x).__name__}; soft_threshold() converts other inputs")
    if not real:
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")


def _check_prox_l1(x, t) -> None:
    _check_real_array(x, "x")
    if not (isinstance(t, float) and 0.0 <= t < math.inf):  # the solvers' case, at once
        check_nonnegative(t, "t")


@checked(_check_prox_l1)
def prox_l1(x: ArrayOrTensor, t: float) -> ArrayOrTensor:
    """Soft-thresholding ``S_t(x) = sign(x) max(|x| − t, 0)``, the prox of ``t‖·‖₁``.

    Introduced in :doc:`l1-regularization`, section *Soft-thresholding*: the kernel of
    :func:`soft_threshold`, which also converts ``x``.

    Parameters
    ----------
    x : ndarray or torch.Tensor
        Real numbers, else TypeError.
    t : float
        The threshold, a finite ``t >= 0``, else ValueError.
    """
    if isinstance(x, torch.Tensor):
        return torch.sign(x) * torch.clamp(x.abs() - t, min=0)
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def lambda_from_alpha(alpha: float, n_samples: int) -> float:
    """``λ = n α``: scikit-learn's ``alpha`` in the ``½‖y − Xw‖² + λ‖w‖₁`` convention.

    Introduced in :doc:`l1-regularization`, section *The Lasso objective*.

    Examples
    --------
    >>> from helpers.l1 import lambda_from_alpha
    >>> lambda_from_alpha(0.1, n_samples=50)
    5.0
    """
    return check_nonnegative(alpha, "alpha") * check_positive_int(n_samples, "n_samples")


def alpha_from_lambda(lam: float, n_samples: int) -> float:
    """``α = λ / n``: the article's ``λ`` in scikit-learn's ``(1/2n)‖y − Xw‖² + α‖w‖₁``.

    Introduced in :doc:`l1-regularization`, section *The Lasso objective*.

    Examples
    --------
    >>> from helpers.l1 import alpha_from_lambda
    >>> alpha_from_lambda(5.0, n_samples=50)
    0.1
    """
    return check_nonnegative(lam, "lam") / check_positive_int(n_samples, "n_samples")


# --- input checks and the least-squares problem -----------------------------------------

def _as_float_array(A, name: str) -> np.ndarray:
    """``A`` as float64: what scikit-learn's ``Lasso`` takes (lists, NumPy arrays of any
    real dtype, pandas objects) and torch tensors; the rest raises a clear error."""
    from scipy import sparse

    if sparse.issparse(A):
        raise TypeError(f"{name} is a scipy.sparse matrix; these solvers work on dense "
                        f"arrays: pass {name}.toarray()")
    if isinstance(A, torch.Tensor):
        A = A.detach().cpu().numpy()
    try:
        A = np.asarray(A)
        if not np.iscomplexobj(A):
            return A.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must hold real numbers (an array, list or DataFrame), "
                        f"but converting it failed: {err}") from None
    raise TypeError(f"{name} holds complex numbers; the Lasso needs real ones")


def _as_xy(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = _as_float_array(X, "X")
    y = _as_float_array(y, "y")
    if X.ndim != 2:
        hint = "; for one feature pass X.reshape(-1, 1)" if X.ndim == 1 else ""
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}{hint}")
    if y.ndim != 1:
        hint = ("; for one column pass y.ravel() (several targets: one Lasso per column)"
                if y.ndim == 2 else "")
        raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}{hint}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} entries")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column, got {X.shape}")
    check_finite(X, "X")
    check_finite(y, "y")
    return X, y


def _as_coef(w, n_features: int) -> np.ndarray:
    w = _as_float_array(w, "w")
    if w.ndim != 1 or w.shape[0] != n_features:
        raise ValueError(f"w has {w.size} entries but X has {n_features} columns")
    check_finite(w, "w")
    return w


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return bool(value)


class _Problem:
    """The (centred) least-squares part of a Lasso problem, with or without a Gram matrix.

    Gives ``Xᵀ(y − Xw)``, ``‖y − Xw‖²`` and ``(y − Xw)ᵀy`` for one or several ``w``,
    either from ``X`` or, when ``n ≫ p``, from ``G = XᵀX`` and ``Xᵀy`` alone.
    """

    def __init__(self, X, y, fit_intercept: bool = True, precompute="auto",
                 auto_ratio: float = 2.0):
        X, y = _as_xy(X, y)
        fit_intercept = _check_bool(fit_intercept, "fit_intercept")
        self.n, self.p = X.shape
        if fit_intercept:
            self.X_mean, self.y_mean = X.mean(axis=0), float(y.mean())
            X, y = X - self.X_mean, y - self.y_mean
        else:
            self.X_mean, self.y_mean = np.zeros(self.p), 0.0
        self.X = np.asfortranarray(X)
        self.y = y
        self.yy = float(y @ y)
        self.Xty = self.X.T @ y
        if isinstance(precompute, str):
            if precompute != "auto":
                raise ValueError(f"precompute must be 'auto', True or False, got {precompute!r}")
            precompute = self.n > auto_ratio * self.p
        self.gram = self.X.T @ self.X if _check_bool(precompute, "precompute") else None
        self.col_sq = (np.diag(self.gram).copy() if self.gram is not None
                       else np.einsum("ij,ij->j", self.X, self.X))
        self._lipschitz = None
        self._least_squares: tuple[float, int] | None = None

    def xt_residual(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For the columns ``w`` of ``W`` (or one vector): ``Xᵀr``, ``‖r‖²``, ``rᵀy``."""
        if self.gram is not None:
            XtR = (self.Xty if W.ndim == 1 else self.Xty[:, None]) - self.gram @ W
            Ry = self.yy - self.Xty @ W
            R_norm2 = Ry - np.einsum("i...,i...->...", W, XtR)
        else:
            R = (self.y if W.ndim == 1 else self.y[:, None]) - self.X @ W
            XtR = self.X.T @ R
            Ry = self.y @ R
            R_norm2 = np.einsum("i...,i...->...", R, R)
        return XtR, R_norm2, Ry

    @property
    def lipschitz(self) -> float:
        """``‖X‖₂²``, the Lipschitz constant of the gradient of ``½‖y − Xw‖²``."""
        if self._lipschitz is None:
            A = self.gram if self.gram is not None else self.X
            if min(A.shape) <= 200:
                s = np.linalg.norm(A, 2)
                self._lipschitz = float(s if self.gram is not None else s * s)
            else:
                from scipy.sparse.linalg import LinearOperator, eigsh

                op = (self.gram if self.gram is not None else LinearOperator(
                    (self.p, self.p), matvec=lambda v: self.X.T @ (self.X @ v),
                    dtype=np.float64))
                top = eigsh(op, k=1, which="LA", tol=1e-10, v0=np.ones(self.p),
                            return_eigenvectors=False)
                self._lipschitz = float(top[0]) * (1 + 1e-8)
        return self._lipschitz

    def lam(self, alpha: float) -> float:
        return self.n * alpha

    @property
    def least_squares(self) -> tuple[float, int]:
        """``min_w ‖y − Xw‖²`` (ordinary least squares) and the rank of ``X``."""
        if self._least_squares is None:
            beta, _, rank, _ = np.linalg.lstsq(self.X, self.y, rcond=None)
            r = self.y - self.X @ beta
            self._least_squares = (float(r @ r), int(rank))
        return self._least_squares

    def least_squares_gap(self, w, lam, R_norm2) -> float:
        """The duality gap at the dual point ``θ = r*``, the least-squares residual.

        ``Xᵀr* = 0``, so ``r*`` is dual feasible for every ``λ ≥ 0``, with dual value
        ``½‖r*‖²``. At ``λ = 0`` it is the optimal dual point (the gap is then exactly
        ``P(w) − P*``); for ``λ > 0`` it is a fallback when the rescaled residual
        certifies nothing, as happens when ``λ`` is tiny.
        """
        primal = 0.5 * R_norm2 + lam * float(np.abs(w).sum())
        return max(primal - 0.5 * self.least_squares[0], 0.0)

    def gap(self, w, lam, XtR, R_norm2, Ry) -> tuple[float, float]:
        """Primal objective and duality gap, both in the ``λ`` (unnormalised) scale."""
        dual_norm = float(np.max(np.abs(XtR))) if XtR.size else 0.0
        scale = lam / dual_norm if dual_norm > lam else 1.0
        primal = 0.5 * R_norm2 + lam * float(np.abs(w).sum())
        dual = -0.5 * scale * scale * R_norm2 + scale * Ry
        return primal, primal - dual


def _check_alpha(alpha) -> float:
    return check_nonnegative(alpha, "alpha")


# --- objective, alpha_max, duality gap --------------------------------------------------

def lasso_objective(X, y, w, alpha: float, *, intercept: float = 0.0,
                    fit_intercept: bool = False) -> float:
    """The Lasso objective ``(1/2n)‖y − Xw − b‖² + α‖w‖₁``.

    Introduced in :doc:`l1-regularization`, section *The Lasso objective*
    (scikit-learn's convention; multiply by ``n`` for the ``λ`` convention).

    Parameters
    ----------
    X, y : array-like of shape (n, p) and (n,)
    w : array-like of shape (p,)
    alpha : float
        ``alpha >= 0``.
    intercept : float
        ``b``; ignored when ``fit_intercept=True``.
    fit_intercept : bool
        Use the best intercept for this ``w`` (equivalently, centre ``X`` and ``y``).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.l1 import lasso_objective
    >>> lasso_objective(np.eye(2), [1.0, -3.0], [0.0, 0.0], alpha=1.0)
    2.5
    """
    problem = _Problem(X, y, fit_intercept, precompute=False)
    w = _as_coef(w, problem.p)
    alpha = _check_alpha(alpha)
    b = 0.0 if fit_intercept else float(intercept)
    r = problem.y - problem.X @ w - b
    return float(0.5 * (r @ r) / problem.n + alpha * np.abs(w).sum())


def alpha_max(X, y, *, fit_intercept: bool = True) -> float:
    """The smallest ``α`` for which the Lasso solution is ``w = 0``: ``max_j |X_jᵀ y| / n``.

    Introduced in :doc:`l1-regularization`, section *Why L1 gives exact zeros*
    (``X`` and ``y`` centred when ``fit_intercept=True``).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.l1 import alpha_max
    >>> alpha_max(np.eye(2), [1.0, -3.0], fit_intercept=False)
    1.5
    """
    problem = _Problem(X, y, fit_intercept, precompute=False)
    return float(np.max(np.abs(problem.Xty))) / problem.n


def duality_gap(X, y, w, alpha: float, *, fit_intercept: bool = False) -> float:
    """The duality gap of ``w`` for the Lasso in scikit-learn's convention.

    Introduced in :doc:`l1-regularization`, section *Algorithms*. The dual point is the
    residual ``r = y − Xw`` scaled into the dual feasible set,
    ``θ = r · min(1, nα / ‖Xᵀr‖_∞)``; the gap ``P(w) − D(θ) ≥ 0`` bounds how far
    ``P(w)`` is above the minimum, and is 0 exactly at a solution.
    The value is in the scale of ``(1/2n)‖y − Xw‖² + α‖w‖₁`` (scikit-learn's internal
    gap is ``n`` times larger).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.l1 import duality_gap
    >>> duality_gap(np.eye(2), [1.0, -3.0], [0.0, 0.0], alpha=1.5)  # w = 0 solves it at alpha_max
    np.float64(0.0)
    """
    problem = _Problem(X, y, fit_intercept, precompute=False)
    w = _as_coef(w, problem.p)
    lam = problem.lam(_check_alpha(alpha))
    _, gap = problem.gap(w, lam, *problem.xt_residual(w))
    return gap / problem.n


# --- results -----------------------------------------------------------------------------

@dataclass
class LassoResult:
    """What a Lasso solver returns.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
    intercept : float
    alpha : float
    objective, gap : ndarray
        History of the objective (scikit-learn's scale) and of the duality gap (same
        scale), one entry per check, starting with the starting point; the last entry
        belongs to ``coef``. At ``alpha = 0`` the gap is the exact suboptimality
        ``P(w) − P*`` (the dual point is the least-squares residual).
    iterations : ndarray of int
        The iteration (ISTA, FISTA) or epoch (coordinate descent) of each check.
    n_iter : int
        Iterations or epochs run.
    converged : bool
        Whether the duality gap reached the tolerance.
    tol : float
        The relative tolerance asked for.
    """

    coef: np.ndarray
    intercept: float
    alpha: float
    objective: np.ndarray
    gap: np.ndarray
    iterations: np.ndarray
    n_iter: int
    converged: bool
    tol: float


def _warn_not_converged(message: str, stacklevel: int) -> None:
    """Warn with scikit-learn's ``ConvergenceWarning`` (imported here: importing
    scikit-learn takes about a second, which a page that never warns need not pay)."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.warn(message, ConvergenceWarning, stacklevel=stacklevel)


class _Recorder:
    """Collects the history of a solver and decides when to stop."""

    def __init__(self, problem: _Problem, alpha: float, tol: float):
        self.problem, self.alpha, self.tol = problem, alpha, tol
        self.lam = problem.lam(alpha)
        self.threshold = tol * problem.yy  # the gap is compared in the λ scale
        self.objective: list[float] = []
        self.gap: list[float] = []
        self.iterations: list[int] = []

    def check(self, iteration: int, w, XtR, R_norm2, Ry) -> bool:
        primal, gap = self.problem.gap(w, self.lam, XtR, R_norm2, Ry)
        if self.lam == 0:
            # The rescaled residual is dual feasible at λ = 0 only if Xᵀr = 0 exactly;
            # the least-squares residual always is, and it is the optimal dual point.
            gap = self.problem.least_squares_gap(w, self.lam, R_norm2)
        self.objective.append(primal / self.problem.n)
        self.gap.append(gap / self.problem.n)
        self.iterations.append(iteration)
        return gap <= self.threshold

    def settle(self, w, iteration: int, converged: bool) -> bool:
        """After the last iteration: try the least-squares dual point before giving up."""
        if converged or self.lam == 0:
            return converged
        XtR, R_norm2, Ry = self.problem.xt_residual(np.asarray(w, dtype=np.float64))
        gap = self.problem.least_squares_gap(w, self.lam, R_norm2)
        if gap / self.problem.n < self.gap[-1]:
            self.objective.append(self.problem.gap(w, self.lam, XtR, R_norm2, Ry)[0]
                                  / self.problem.n)
            self.gap.append(gap / self.problem.n)
            self.iterations.append(iteration)
        return bool(gap <= self.threshold)

    def warning(self, name: str, n_iter: int) -> str:
        """Why ``name`` stopped short of the tolerance, naming the cause."""
        gap, tol = self.gap[-1], self.threshold / self.problem.n
        head = f"{name} did not converge in {n_iter} iterations: duality gap {gap:.3e}"
        if self.tol == 0:
            return (f"{head} > 0; tol=0 asks for an exactly zero gap, which rounding "
                    f"errors rarely allow; pass tol > 0 (and, if the gap is large, "
                    f"increase max_iter)")
        head = f"{head} > tolerance {tol:.3e}"
        rank = self.problem.least_squares[1]
        if self.alpha == 0:
            return (f"{head}. alpha=0 is ordinary least squares, without the L1 penalty: "
                    f"{name} converges slowly on it when columns are correlated "
                    f"(X has rank {rank} with {self.problem.p} columns); solve it with "
                    f"numpy.linalg.lstsq or sklearn.linear_model.LinearRegression, or "
                    f"increase max_iter")
        if rank < self.problem.p:
            return (f"{head}. X has rank {rank} < {self.problem.p} columns (collinear "
                    f"columns, or more columns than samples), so the solution is not "
                    f"unique and {name} converges slowly along the degenerate directions; "
                    f"increase max_iter, or drop collinear columns")
        return f"{head}; increase max_iter (or check the scale of the features)"

    def result(self, w, n_iter: int, converged: bool, name: str) -> LassoResult:
        converged = self.settle(w, n_iter, converged)
        if not converged:
            _warn_not_converged(self.warning(name, n_iter), stacklevel=4)
        p = self.problem
        w = np.asarray(w, dtype=np.float64).copy()
        return LassoResult(coef=w, intercept=float(p.y_mean - p.X_mean @ w), alpha=self.alpha,
                           objective=np.array(self.objective), gap=np.array(self.gap),
                           iterations=np.array(self.iterations, dtype=int), n_iter=n_iter,
                           converged=converged, tol=self.tol)


def _setup(X, y, alpha, fit_intercept, tol, max_iter, w0, precompute):
    problem = _Problem(X, y, fit_intercept, precompute)
    alpha = _check_alpha(alpha)
    tol = check_nonnegative(tol, "tol")
    check_positive_int(max_iter, "max_iter")
    w = np.zeros(problem.p) if w0 is None else _as_coef(w0, problem.p).copy()
    return problem, _Recorder(problem, alpha, tol), w


# --- ISTA and FISTA ----------------------------------------------------------------------

def _check_vector(v, name: str, size: int | None = None) -> None:
    """``v`` is a one-dimensional float64 NumPy array (of ``size`` entries)."""
    if not isinstance(v, np.ndarray) or v.dtype != np.float64 or v.ndim != 1:
        raise TypeError(f"{name} must be a one-dimensional float64 NumPy array, got "
                        f"{getattr(v, 'dtype', type(v).__name__)} of shape "
                        f"{getattr(v, 'shape', '?')}; pass np.asarray({name}, dtype=float)")
    if size is not None and v.shape != (size,):
        raise ValueError(f"{name} has shape {v.shape}, expected ({size},)")


def _check_ista_step(w, xt_residual, step, lam) -> None:
    _check_vector(w, "w")
    _check_vector(xt_residual, "xt_residual", len(w))
    check_nonnegative(step, "step")
    check_nonnegative(lam, "lam")


@checked(_check_ista_step)
def ista_step(w: np.ndarray, xt_residual: np.ndarray, step: float,
              lam: float) -> np.ndarray:
    """One proximal gradient (ISTA) step for ``½‖y − Xw‖² + λ‖w‖₁``.

    Introduced in :doc:`l1-regularization`, section *Algorithms*. A gradient step on
    the least-squares term, whose negative gradient is ``xt_residual = Xᵀ(y − Xw)``,
    then soft-thresholding. With ``step = 1/‖X‖₂²`` and ``λ = nα`` it is the book's
    ``S_{α/L}(w − ∇f(w)/L)``, ``L = ‖X‖₂²/n``. Returns the new ``w``, shape (p,).
    ``w`` and ``xt_residual``: float64 arrays (p,); ``step, lam >= 0``.
    """
    return prox_l1(w + step * xt_residual, step * lam)


def ista(X, y, alpha: float, *, fit_intercept: bool = True, tol: float = 1e-4,
         max_iter: int = 10_000, w0=None, precompute="auto") -> LassoResult:
    """The iterative soft-thresholding algorithm (ISTA) for the Lasso.

    Introduced in :doc:`l1-regularization`, section *Algorithms*
    (Daubechies, Defrise & De Mol 2004). A proximal gradient method: a gradient step
    on the least-squares term with step ``1/L`` (``L = ‖X‖₂²/n``) followed by
    soft-thresholding at ``α/L``. The objective decreases at every iteration, at the
    rate ``O(1/k)``.

    Parameters
    ----------
    X, y : array-like of shape (n, p) and (n,)
    alpha : float
        Regularization strength in scikit-learn's convention
        (``λ = n·alpha``, see :func:`lambda_from_alpha`).
    fit_intercept : bool
        Centre ``X`` and ``y`` and return an unpenalised intercept.
    tol : float
        Stop when the duality gap is ``<= tol * ||y - mean(y)||² / n`` (as scikit-learn).
    max_iter : int
        Maximum number of iterations; a ``ConvergenceWarning`` is issued when they
        run out before the tolerance is met.
    w0 : array-like of shape (p,), optional
        Starting point (warm start); zeros by default.
    precompute : "auto" or bool
        Work with the Gram matrix ``XᵀX`` (``"auto"``: when ``n > 2p``).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.l1 import ista
    >>> result = ista(np.eye(2), [1.0, -3.0], alpha=0.5, fit_intercept=False, tol=1e-10)
    >>> result.coef.round(4) + 0.0, result.converged
    (array([ 0., -2.]), True)
    """
    problem, rec, w = _setup(X, y, alpha, fit_intercept, tol, max_iter, w0, precompute)
    step = 1.0 / problem.lipschitz if problem.lipschitz > 0 else 0.0
    XtR, R_norm2, Ry = problem.xt_residual(w)
    if rec.check(0, w, XtR, R_norm2, Ry):
        return rec.result(w, 0, True, "ISTA")
    converged = False
    for k in range(1, max_iter + 1):
        w = ista_step.unchecked(w, XtR, step, rec.lam)
        XtR, R_norm2, Ry = problem.xt_residual(w)
        if rec.check(k, w, XtR, R_norm2, Ry):
            converged = True
            break
    return rec.result(w, k, converged, "ISTA")


def fista(X, y, alpha: float, *, fit_intercept: bool = True, tol: float = 1e-4,
          max_iter: int = 10_000, w0=None, precompute="auto") -> LassoResult:
    """FISTA, the accelerated proximal gradient method of Beck & Teboulle (2009).

    Introduced in :doc:`l1-regularization`, section *Algorithms*. ISTA's step taken
    from an extrapolated point ``z = w_k + (t_{k-1} − 1)/t_k · (w_k − w_{k−1})``;
    the objective converges at the rate ``O(1/k²)`` (not monotonically).
    Parameters as in :func:`ista`.

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.l1 import fista
    >>> result = fista(np.eye(2), [1.0, -3.0], alpha=0.5, fit_intercept=False, tol=1e-10)
    >>> result.coef.round(4) + 0.0, result.converged
    (array([ 0., -2.]), True)
    """
    problem, rec, w = _setup(X, y, alpha, fit_intercept, tol, max_iter, w0, precompute)
    step = 1.0 / problem.lipschitz if problem.lipschitz > 0 else 0.0
    XtR, R_norm2, Ry = problem.xt_residual(w)
    if rec.check(0, w, XtR, R_norm2, Ry):
        return rec.result(w, 0, True, "FISTA")
    z, XtR_z, t = w, XtR, 1.0
    converged = False
    for k in range(1, max_iter + 1):
        w_new = ista_step.unchecked(z, XtR_z, step, rec.lam)  # from z, not w
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        z = w_new + ((t - 1.0) / t_new) * (w_new - w)
        w, t = w_new, t_new
        # one matrix product gives what both the gap at w and the next step at z need
        XtR2, R_norm2, Ry = problem.xt_residual(np.column_stack([w, z]))
        XtR, XtR_z = XtR2[:, 0], XtR2[:, 1]
        if rec.check(k, w, XtR, R_norm2[0], Ry[0]):
            converged = True
            break
    return rec.result(w, k, converged, "FISTA")


# --- coordinate descent ---------------------------------------------------------------------

def _check_cd_epoch(w, state, lam, col_sq, features, *, X=None, gram=None) -> None:
    if X is None and gram is None:
        raise ValueError("give X (state is then the residual y − Xw) or gram = XᵀX "
                         "(state is then Xᵀr; gram is used when both are given)")
    A, name = (X, "X") if gram is None else (gram, "gram")
    if not isinstance(A, np.ndarray) or A.ndim != 2 or A.dtype != np.float64:
        raise TypeError(f"{name} must be a two-dimensional float64 NumPy array")
    p = A.shape[1]
    if gram is not None and gram.shape != (p, p):
        raise ValueError(f"gram must be square, got shape {gram.shape}")
    _check_vector(w, "w", p)
    _check_vector(col_sq, "col_sq", p)
    _check_vector(state, "state", A.shape[0])
    for name, v in (("w", w), ("state", state)):  # both are updated in place
        if not (v.flags.writeable and v.flags.c_contiguous):
            raise ValueError(f"{name} is updated in place and must be a writeable, "
                             f"contiguous array; pass {name}.copy()")
    check_nonnegative(lam, "lam")
    if isinstance(features, (range, list, tuple, np.ndarray)):  # an iterator stays unread
        bad = [j for j in features
               if isinstance(j, (bool, np.bool_)) or not isinstance(j, (int, np.integer))
               or not 0 <= j < p]
        if bad:
            raise ValueError(f"features must be column indices in 0..{p - 1}, got "
                             f"{bad[:5]}")


@checked(_check_cd_epoch)
def coordinate_descent_epoch(w: np.ndarray, state: np.ndarray, lam: float,
                             col_sq: np.ndarray, features: Iterable[int], *,
                             X: np.ndarray | None = None,
                             gram: np.ndarray | None = None) -> float:
    """One cyclic pass (epoch) of coordinate descent for ``½‖y − Xw‖² + λ‖w‖₁``.

    In place, for each ``j``: ``w_j ← S_λ(ρ)/c_j``, ``ρ = X_jᵀr + c_j w_j``, ``c_j =
    col_sq[j] = ‖X_j‖²``; ``state`` is ``r = y − Xw`` (give ``X``) or ``Xᵀr`` (``gram``
    ``= XᵀX``). Returns the largest change (:doc:`l1-regularization`, *Algorithms*).
    """
    d_max = 0.0
    for j in features:
        norm2 = col_sq[j]
        if norm2 == 0.0:
            continue
        old = w[j]
        rho = (state[j] if gram is not None else X[:, j] @ state) + norm2 * old
        new = (rho - lam if rho > lam else rho + lam if rho < -lam else 0.0) / norm2
        if new != old:  # state += (old − new) · (column j of X or of XᵀX)
            delta = old - new
            daxpy(gram[j] if gram is not None else X[:, j], state, a=delta)
            w[j] = new
            d_max = max(d_max, abs(delta))
    return d_max


def _cd_epoch(problem: _Problem, w: np.ndarray, state: np.ndarray, lam: float,
              features: Iterable[int]) -> float:
    """:func:`coordinate_descent_epoch` on ``problem``'s data (residual or Gram state)."""
    return coordinate_descent_epoch.unchecked(w, state, lam, problem.col_sq, features,
                                              X=problem.X, gram=problem.gram)


#: With working sets, the duality gap is checked at least every this many epochs.
_CHECK_EVERY = 5
#: A working set grows by at least this many features at a time.
_MIN_ADD = 10


def _cd_solve(problem: _Problem, rec: _Recorder, w: np.ndarray, max_iter: int,
              working_set: bool, strong: np.ndarray | None = None) -> tuple[np.ndarray, int, bool]:
    """Cyclic coordinate descent with duality-gap checks (shared by the path)."""
    lam = rec.lam
    if problem.gram is not None:
        state = problem.xt_residual(w)[0].copy()
        stats = lambda: (state, *_gram_norms(problem, w, state))  # noqa: E731
    else:
        state = problem.y - problem.X @ w
        stats = lambda: (problem.X.T @ state, float(state @ state),  # noqa: E731
                         float(state @ problem.y))
    XtR, R_norm2, Ry = stats()
    if rec.check(0, w, XtR, R_norm2, Ry):
        return w, 0, True
    everything = range(problem.p)
    if not working_set:
        for epoch in range(1, max_iter + 1):
            _cd_epoch(problem, w, state, lam, everything)
            if rec.check(epoch, w, *stats()):
                return w, epoch, True
        return w, max_iter, False

    # Working sets (Friedman et al. 2010, section 2.6): sweep only over the features
    # in the working set until their updates are small (at most _CHECK_EVERY
    # epochs), then check the duality gap and the optimality condition
    # |X_jᵀr| <= λ of all features at once, in one vectorised product. The worst
    # violators join the working set, at most as many as it already has nonzeros.
    ws = w != 0
    if strong is not None:
        ws |= strong
    _add_violators(ws, XtR, lam, w)
    inner_tol = max(rec.tol, 1e-12) ** 0.5
    epoch = 0
    while epoch < max_iter:
        features = np.flatnonzero(ws).tolist()
        for _ in range(_CHECK_EVERY):
            if epoch >= max_iter:
                break
            d_max = _cd_epoch(problem, w, state, lam, features)
            epoch += 1
            w_max = float(np.abs(w).max()) if features else 0.0
            if w_max == 0.0 or d_max <= inner_tol * w_max:
                break
        XtR, R_norm2, Ry = stats()
        if rec.check(epoch, w, XtR, R_norm2, Ry):
            return w, epoch, True
        candidate = _polish(problem, w, lam)
        if candidate is not None:
            XtR_c, R_norm2_c, Ry_c = problem.xt_residual(candidate)
            primal_c = problem.gap(candidate, lam, XtR_c, R_norm2_c, Ry_c)[0]
            if primal_c <= rec.objective[-1] * problem.n:
                w[:] = candidate
                state[:] = XtR_c if problem.gram is not None else problem.y - problem.X @ w
                XtR = XtR_c
                if rec.check(epoch, w, XtR_c, R_norm2_c, Ry_c):
                    return w, epoch, True
        if not _add_violators(ws, XtR, lam, w):
            inner_tol *= 0.1  # the working set is right; solve it more accurately
    return w, epoch, False


def _add_violators(ws: np.ndarray, XtR: np.ndarray, lam: float, w: np.ndarray) -> bool:
    """Add to the working set the features that violate |X_jᵀr| <= λ most; any added?"""
    score = np.where(ws, 0.0, np.abs(XtR) - lam)
    n_violators = int(np.count_nonzero(score > 0))
    if n_violators == 0:
        return False
    n_add = min(n_violators, max(_MIN_ADD, int(np.count_nonzero(w))))
    ws[np.argpartition(-score, n_add - 1)[:n_add]] = True
    return True


def _polish(problem: _Problem, w: np.ndarray, lam: float,
            max_steps: int = 5) -> np.ndarray | None:
    """A better point than ``w``: the exact minimiser on ``w``'s support and signs.

    On the support ``A`` with signs ``s`` the optimality condition reads
    ``X_Aᵀ(y − X_A v) = λ s``, a linear system (the step LARS takes between its
    kinks). If a sign of ``v`` differs from ``s``, move from ``w`` towards ``v`` only
    until the first coefficient reaches zero, drop it, and solve again (at most
    ``max_steps`` times); on that segment the objective decreases. Returns ``None``
    when ``X_AᵀX_A`` is singular.
    """
    w = w.copy()
    for _ in range(max_steps):
        support = np.flatnonzero(w)
        if support.size == 0 or support.size > problem.n:
            return None
        signs = np.sign(w[support])
        if problem.gram is not None:
            gram = problem.gram[np.ix_(support, support)]
        else:
            columns = problem.X[:, support]
            gram = columns.T @ columns
        try:
            v = cho_solve(cho_factor(gram), problem.Xty[support] - lam * signs)
        except LinAlgError:
            return None
        flipped = np.sign(v) != signs
        if not flipped.any():
            w[support] = v
            return w
        old = w[support]
        t = old[flipped] / (old[flipped] - v[flipped])  # where each one reaches zero
        k = int(np.argmin(t))
        w[support] = old + t[k] * (v - old)
        w[support[np.flatnonzero(flipped)[k]]] = 0.0
    return w


def _gram_norms(problem: _Problem, w: np.ndarray, XtR: np.ndarray) -> tuple[float, float]:
    Ry = problem.yy - float(problem.Xty @ w)
    return Ry - float(w @ XtR), Ry


def coordinate_descent(X, y, alpha: float, *, fit_intercept: bool = True,
                       tol: float = 1e-4, max_iter: int = 1_000, w0=None,
                       precompute=False, working_set: bool = True) -> LassoResult:
    """Cyclic coordinate descent for the Lasso (Friedman, Hastie & Tibshirani 2010).

    Introduced in :doc:`l1-regularization`, section *Algorithms*. Each coordinate in
    turn is set to its exact minimiser with the others fixed,
    ``w_j ← S_{nα}(X_jᵀ r + ‖X_j‖² w_j) / ‖X_j‖²``, where ``r = y − Xw`` is kept up to
    date. Speed-ups, all in NumPy: column norms are computed once; the residual
    (or, with a Gram matrix, ``Xᵀr``) is updated in place; with ``working_set=True``
    sweeps run over a small working set of features and the optimality condition of
    all the others is checked in one matrix product.

    Parameters
    ----------
    X, y, alpha, fit_intercept, tol, w0
        As in :func:`ista`.
    max_iter : int
        Maximum number of epochs (passes over the working set or all features).
    precompute : bool or "auto"
        Covariance updates with the Gram matrix ``XᵀX`` (``"auto"``: when ``n > 2p``).
        Computing ``XᵀX`` costs about as much as ``p`` epochs' worth of dot
        products, so it pays off mostly along a path (:func:`lasso_path`); the
        default ``False`` is scikit-learn's default for ``Lasso``.
    working_set : bool
        Sweep over a working set (fast); ``False`` sweeps over all features every
        epoch and checks the duality gap after each (the textbook algorithm).

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.l1 import coordinate_descent
    >>> result = coordinate_descent(np.eye(2), [1.0, -3.0], alpha=0.5, fit_intercept=False)
    >>> result.coef + 0.0, result.converged
    (array([ 0., -2.]), True)
    """
    problem, rec, w = _setup(X, y, alpha, fit_intercept, tol, max_iter, w0, precompute)
    working_set = _check_bool(working_set, "working_set")
    w, n_iter, converged = _cd_solve(problem, rec, w, max_iter, working_set)
    return rec.result(w, n_iter, converged, "Coordinate descent")


# --- the Lasso path ---------------------------------------------------------------------------

@dataclass
class LassoPath:
    """The solutions of the Lasso along a decreasing grid of ``alpha``.

    Attributes
    ----------
    alphas : ndarray of shape (n_alphas,)
        Decreasing.
    coefs : ndarray of shape (n_features, n_alphas)
        Column ``k`` solves the Lasso at ``alphas[k]`` (the layout of
        ``sklearn.linear_model.lasso_path``).
    intercepts, gaps : ndarray of shape (n_alphas,)
        Intercepts and final duality gaps (scikit-learn's objective scale).
    n_iters : ndarray of shape (n_alphas,)
        Epochs of coordinate descent for each ``alpha``.
    """

    alphas: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    gaps: np.ndarray
    n_iters: np.ndarray = field(repr=False)


def _grid(problem: _Problem, alphas, n_alphas: int, eps: float) -> np.ndarray:
    """The given ``alphas`` sorted decreasingly, or scikit-learn's geometric grid."""
    if alphas is None:
        check_positive_int(n_alphas, "n_alphas")
        if check_nonnegative(eps, "eps") == 0:
            raise ValueError("eps must be > 0 (the ratio alpha_min / alpha_max)")
        top = float(np.max(np.abs(problem.Xty))) / problem.n
        grid = np.geomspace(top, top * eps, num=n_alphas) if top > 0 else np.zeros(n_alphas)
    else:
        grid = np.asarray(alphas, dtype=np.float64)
        if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise ValueError(f"alphas must be a non-empty 1-D sequence of finite numbers "
                             f">= 0, got {alphas!r}")
        grid = np.sort(grid)[::-1]
    return grid


def lasso_path(X, y, alphas: Sequence[float] | None = None, n_alphas: int = 100,
               eps: float = 1e-3, *, fit_intercept: bool = True, tol: float = 1e-4,
               max_iter: int = 1_000, precompute="auto") -> LassoPath:
    """The Lasso path by coordinate descent with warm starts.

    Introduced in :doc:`l1-regularization`, section *The Lasso path on the diabetes
    data*. By default the grid is that of ``sklearn.linear_model.lasso_path``:
    ``n_alphas`` values spaced geometrically from :func:`alpha_max` down to
    ``eps * alpha_max``. Each solution starts from the previous one, and the
    sequential strong rule (Tibshirani et al. 2012) guesses its working set: feature
    ``j`` enters early when ``|X_jᵀr| > 2α_new − α_old`` (times ``n``).

    Unlike scikit-learn's ``lasso_path``, which never centres, ``fit_intercept=True``
    (the default) centres ``X`` and ``y`` first, as :class:`sklearn.linear_model.Lasso`
    does; pass ``fit_intercept=False`` for scikit-learn's ``lasso_path`` behaviour.
    Other parameters as in :func:`coordinate_descent`.

    Examples
    --------
    >>> from helpers.data import make_sparse_regression
    >>> from helpers.l1 import lasso_path
    >>> X, y, w_true = make_sparse_regression(50, 10, 3, seed=0)
    >>> path = lasso_path(X, y, n_alphas=5)
    >>> path.coefs.shape, (path.coefs[:, 0] != 0).sum()  # at alpha_max every weight is zero
    ((10, 5), np.int64(0))
    """
    problem = _Problem(X, y, fit_intercept, precompute, auto_ratio=1.0)
    tol = check_nonnegative(tol, "tol")
    check_positive_int(max_iter, "max_iter")
    grid = _grid(problem, alphas, n_alphas, eps)
    coefs = np.zeros((problem.p, grid.size))
    gaps, n_iters = np.zeros(grid.size), np.zeros(grid.size, dtype=int)
    w = np.zeros(problem.p)
    XtR = problem.Xty
    previous = None
    for k, alpha in enumerate(grid):
        rec = _Recorder(problem, float(alpha), tol)
        strong = None
        if previous is not None:
            strong = np.abs(XtR) > 2 * rec.lam - problem.lam(previous)
        w, n_iters[k], converged = _cd_solve(problem, rec, w, max_iter, True, strong)
        if not rec.settle(w, n_iters[k], converged):
            _warn_not_converged(rec.warning(f"the Lasso path at alpha={alpha:.3g}",
                                            n_iters[k]), stacklevel=3)
        XtR = problem.xt_residual(w)[0]
        coefs[:, k], gaps[k], previous = w, rec.gap[-1], float(alpha)
    intercepts = problem.y_mean - problem.X_mean @ coefs
    return LassoPath(alphas=grid, coefs=coefs, intercepts=np.asarray(intercepts, dtype=float),
                     gaps=gaps, n_iters=n_iters)


@dataclass
class LassoCV:
    """Cross-validated prediction error along a Lasso path.

    Attributes
    ----------
    alphas : ndarray of shape (n_alphas,)
        Decreasing grid, computed once from all the data passed in.
    mse : ndarray of shape (n_folds, n_alphas)
        Mean squared error on each held-out fold.
    mse_mean, mse_se : ndarray of shape (n_alphas,)
        Mean over folds and its standard error.
    alpha_min : float
        The ``alpha`` with the smallest mean error.
    alpha_1se : float
        The largest ``alpha`` whose mean error is within one standard error of the
        smallest (the "one-standard-error rule", Hastie et al. 2015, section 2.3):
        a sparser model that predicts about as well.
    """

    alphas: np.ndarray
    mse: np.ndarray
    mse_mean: np.ndarray
    mse_se: np.ndarray
    alpha_min: float
    alpha_1se: float


def lasso_cv(X, y, *, n_folds: int = 5, alphas: Sequence[float] | None = None,
             n_alphas: int = 100, eps: float = 1e-3, seed: int | None = None,
             fit_intercept: bool = True, tol: float = 1e-4) -> LassoCV:
    """Choose the Lasso's ``alpha`` by K-fold cross-validation with :func:`lasso_path`.

    Introduced in :doc:`l1-regularization`, section *L1 against L2*. Pass the
    training data only: the folds are cut from it (``sklearn.model_selection.KFold``,
    shuffled with ``seed`` unless ``seed`` is ``None``), the path is fitted on each
    fold's other ``n_folds − 1`` parts and scored on the fold. With ``seed=None`` the
    folds, grid and errors are those of ``sklearn.linear_model.LassoCV(cv=n_folds)``.
    Other parameters as in :func:`lasso_path`.
    """
    from sklearn.model_selection import KFold

    X, y = _as_xy(X, y)
    check_positive_int(n_folds, "n_folds")
    if n_folds < 2 or n_folds > len(y):
        raise ValueError(f"n_folds must be between 2 and the number of samples "
                         f"({len(y)}), got {n_folds}")
    alphas = _grid(_Problem(X, y, fit_intercept, precompute=False), alphas, n_alphas, eps)
    if seed is not None:
        check_positive_int(seed, "seed", allow_zero=True)
    folds = KFold(n_folds, shuffle=seed is not None, random_state=seed).split(X)
    errors = []
    for train, test in folds:
        path = lasso_path(X[train], y[train], alphas=alphas, fit_intercept=fit_intercept,
                          tol=tol)
        prediction = X[test] @ path.coefs + path.intercepts
        errors.append(np.mean((y[test, None] - prediction) ** 2, axis=0))
    mse = np.array(errors)
    mean, se = mse.mean(axis=0), mse.std(axis=0, ddof=1) / np.sqrt(n_folds)
    best = int(np.argmin(mean))
    within = np.flatnonzero(mean <= mean[best] + se[best])
    grid = path.alphas
    return LassoCV(alphas=grid, mse=mse, mse_mean=mean, mse_se=se,
                   alpha_min=float(grid[best]), alpha_1se=float(grid[within.min()]))


# --- L1 in torch models -----------------------------------------------------------------------

def _select(model: nn.Module, params: str | Iterable[str] | None) -> list[torch.Tensor]:
    """The parameters named in ``params``, each tensor once (tied ones too); by default
    the weights of Linear/Conv layers and attention projections (the one rule of
    :func:`helpers.prune.prunable_parameters`)."""
    return list(distinct_weights(model, params, what="an L1 penalty or proximal step").values())


def _check_strength(strength) -> float:
    return check_nonnegative(strength, "strength")


def l1_penalty(model: nn.Module, strength: float,
               params: str | Iterable[str] | None = None) -> torch.Tensor:
    """``strength · Σ|w|`` over the chosen parameters of ``model``, to add to a loss.

    Introduced in :doc:`l1-regularization`, section *L1 in a neural network*. Use it
    as ``fit(..., penalty=lambda m: l1_penalty(m, 1e-4))``. Autograd then uses the
    subgradient ``sign(w)``, which does **not** make weights exactly zero; see
    :class:`ProximalL1` for that.

    Parameters
    ----------
    model : nn.Module
    strength : float
        The penalty's weight ``λ >= 0`` (per batch-mean loss).
    params : str or iterable of str, optional
        Names as in ``model.named_parameters()``; by default the weights (not the
        biases) of all Linear and Conv layers and the input projections of
        ``nn.MultiheadAttention`` (:func:`helpers.prune.prunable_parameters`). A
        tensor shared by several layers (tied parameters) counts once, as in
        ``model.parameters()``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.l1 import l1_penalty
    >>> layer = nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
    >>> round(l1_penalty(layer, 0.1).item(), 4)  # 0.1 * (|1| + |-2|); biases are not penalised
    0.3
    """
    strength = _check_strength(strength)
    return strength * sum(p.abs().sum() for p in _select(model, params))


def _rows(p: torch.Tensor) -> torch.Tensor:
    """One row per output neuron or channel (a 1-D parameter: one entry per row)."""
    return p.reshape(p.shape[0], -1) if p.dim() > 1 else p.reshape(-1, 1)


def group_lasso_penalty(model: nn.Module, strength: float,
                        params: str | Iterable[str] | None = None) -> torch.Tensor:
    """``strength · Σ_rows ‖row‖₂``: the group lasso with one group per neuron.

    Introduced in :doc:`l1-regularization`, section *L1 in a neural network*
    (Yuan & Lin 2006). A row of a Linear weight holds a neuron's incoming weights
    (of a Conv weight, one output channel), so the penalty pushes whole neurons to
    zero. Parameters as in :func:`l1_penalty`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.l1 import group_lasso_penalty
    >>> layer = nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))
    >>> round(group_lasso_penalty(layer, 0.1).item(), 4)  # 0.1 * (5 + 0): one norm per row
    0.5
    """
    strength = _check_strength(strength)
    return strength * sum(_rows(p).norm(dim=1).sum() for p in _select(model, params))


@torch.no_grad()
def prox_l1_step(model: nn.Module, threshold: float,
                 params: str | Iterable[str] | None = None) -> None:
    """Soft-threshold the chosen parameters in place: ``w ← S_threshold(w)``.

    Introduced in :doc:`l1-regularization`, section *L1 in a neural network*.
    Parameters as in :func:`l1_penalty`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.l1 import prox_l1_step
    >>> layer = nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[1.0, -0.2]]))
    >>> prox_l1_step(layer, 0.5)
    >>> layer.weight.data + 0.0
    tensor([[0.5000, 0.0000]])
    """
    threshold = check_nonnegative(threshold, "threshold")
    prox_l1_weights.unchecked(_select(model, params), threshold)


def _check_prox_l1_weights(weights, threshold) -> None:
    check_nonnegative(threshold, "threshold")
    if isinstance(weights, torch.Tensor):
        raise TypeError("weights must be an iterable of tensors, e.g. [layer.weight] or "
                        "model.parameters(), not one tensor")
    if isinstance(weights, (list, tuple)):  # an iterator stays unread
        seen = set()
        for k, w in enumerate(weights):
            if not isinstance(w, torch.Tensor) or not w.is_floating_point():
                raise TypeError(f"weights[{k}] must be a floating-point torch.Tensor, got "
                                f"{getattr(w, 'dtype', type(w).__name__)}")
            if id(w) in seen:
                raise ValueError(f"weights[{k}] is a tensor listed before (tied "
                                 f"parameters); list each tensor once, or it is shrunk "
                                 f"twice")
            seen.add(id(w))


@checked(_check_prox_l1_weights)
@torch.no_grad()
def prox_l1_weights(weights: Iterable[torch.Tensor], threshold: float) -> None:
    """The proximal step of ``λ‖w‖₁`` on a network: ``w ← S_τ(w)`` for each tensor.

    Introduced in :doc:`l1-regularization`, section *L1 in a neural network*: run
    after each optimiser step, with ``τ = λ ·`` the step, it is proximal gradient
    descent on ``loss + λ Σ|w|``; every weight with ``|w| <= τ`` becomes exactly
    zero. The kernel of :func:`prox_l1_step`; ``threshold = τ >= 0``, each tensor
    listed once (a tensor shared by two layers is one tensor).
    """
    for w in weights:
        w.copy_(prox_l1(w, threshold))


@torch.no_grad()
def prox_group_step(model: nn.Module, threshold: float,
                    params: str | Iterable[str] | None = None) -> None:
    """Group soft-thresholding of each row: ``w_i ← w_i · max(0, 1 − threshold/‖w_i‖)``.

    Introduced in :doc:`l1-regularization`, section *L1 in a neural network*. The
    proximal operator of the group-lasso penalty: rows (neurons) with norm at most
    ``threshold`` become exactly zero. Parameters as in :func:`l1_penalty`.
    """
    threshold = check_nonnegative(threshold, "threshold")
    for p in _select(model, params):
        rows = _rows(p)
        norms = rows.norm(dim=1, keepdim=True)
        factor = torch.clamp(1 - threshold / torch.clamp(norms, min=1e-30), min=0)
        p.copy_((rows * factor).reshape(p.shape))


class ProximalL1:
    """An ``after_step`` hook: soft-threshold the chosen weights by ``lr · strength``.

    Introduced in :doc:`l1-regularization`, section *L1 in a neural network*.
    ``fit(..., lr=lr, after_step=ProximalL1(strength, lr))`` performs proximal
    (stochastic) gradient descent on ``loss + strength · Σ|w|``: the optimiser steps
    on the loss alone, then the prox of the penalty sets every weight with
    ``|w| <= lr · strength`` to exactly zero. (With Adam the gradient step is
    rescaled per weight, so this is the usual heuristic, not an exact proximal
    method; it still gives exact zeros.)

    Parameters
    ----------
    strength : float
        The penalty's weight ``λ >= 0``.
    lr : float
        The optimiser's learning rate.
    params : str or iterable of str, optional
        As in :func:`l1_penalty`.
    """

    def __init__(self, strength: float, lr: float,
                 params: str | Iterable[str] | None = None):
        self.threshold = _check_strength(strength) * check_nonnegative(lr, "lr")
        self.params = params

    def __call__(self, model: nn.Module) -> None:
        prox_l1_step(model, self.threshold, self.params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threshold={self.threshold:g}, params={self.params!r})"


class ProximalGroupL1(ProximalL1):
    """An ``after_step`` hook: group soft-thresholding of rows (neurons) by ``lr · strength``.

    Introduced in :doc:`l1-regularization`, section *L1 in a neural network*; the
    proximal step of :func:`group_lasso_penalty`. Parameters as in :class:`ProximalL1`.
    """

    def __call__(self, model: nn.Module) -> None:
        prox_group_step(model, self.threshold, self.params)


"""helpers.l1: soft-thresholding, Lasso solvers checked against scikit-learn, torch L1 tools."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso
from sklearn.linear_model import lasso_path as sk_lasso_path

from helpers import data, l1, models, train

SOLVERS = {"ista": l1.ista, "fista": l1.fista, "cd": l1.coordinate_descent}


# --- soft-thresholding -----------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
thresholds = st.floats(0.0, 1e3, allow_nan=False, allow_infinity=False)
vectors = arrays(np.float64, st.integers(1, 20), elements=finite)


@given(x=vectors, t=thresholds)
def test_soft_threshold_is_odd_and_shrinks_by_at_most_t(x, t):
    z = l1.soft_threshold(x, t)
    assert np.array_equal(l1.soft_threshold(-x, t), -z)
    assert np.all(np.abs(z) <= np.abs(x))
    assert np.all(np.abs(x) - np.abs(z) <= t * (1 + 1e-12) + 1e-9)
    assert np.all(np.sign(z) * np.sign(x) >= 0)  # never flips a sign


@given(x=vectors, t=thresholds)
def test_soft_threshold_is_zero_exactly_on_the_interval(x, t):
    z = l1.soft_threshold(x, t)
    inside = np.abs(x) <= t
    assert np.all(z[inside] == 0)
    assert np.all(z[~inside] != 0)


@settings(max_examples=50)
@given(x=finite, t=thresholds, trial=st.floats(-1e6, 1e6))
def test_soft_threshold_is_the_proximal_operator(x, t, trial):
    def h(z):
        return 0.5 * (z - x) ** 2 + t * abs(z)

    z = float(l1.soft_threshold(x, t))
    scale = max(1.0, x * x, t * abs(x))
    assert h(z) <= h(trial) + 1e-12 * scale
    for dz in (1e-3, -1e-3):  # a local check near the claimed minimiser
        assert h(z) <= h(z + dz) + 1e-12 * scale


@given(x=vectors, t=thresholds)
def test_soft_threshold_torch_and_numpy_agree(x, t):
    z_np = l1.soft_threshold(x, t)
    z_torch = l1.soft_threshold(torch.from_numpy(x), t)
    assert isinstance(z_torch, torch.Tensor) and z_torch.dtype == torch.float64
    assert np.array_equal(z_torch.numpy(), z_np)


def test_prox_l1_hand_case_and_wrapper():
    x = np.array([-3.0, -1.0, 0.5, 2.0])
    assert np.array_equal(l1.prox_l1(x, 1.0), [-2.0, 0.0, 0.0, 1.0])
    assert np.array_equal(l1.prox_l1(x, 1.0), l1.soft_threshold(x, 1.0))
    assert torch.equal(l1.prox_l1(torch.from_numpy(x), 1.0),
                       l1.soft_threshold(torch.from_numpy(x), 1.0))


def test_soft_threshold_bad_threshold():
    with pytest.raises(ValueError, match="t must be a finite number >= 0"):
        l1.soft_threshold(np.ones(3), -0.5)


_X, _W = np.eye(3), np.zeros(3)


@pytest.mark.parametrize("call, error, match", [
    # a negative threshold would push every entry away from zero
    (lambda: l1.prox_l1(np.ones(3), -0.5), ValueError, "t must be a finite number >= 0"),
    (lambda: l1.prox_l1(np.ones(3), float("nan")), ValueError, "t must be a finite"),
    (lambda: l1.prox_l1([1.0, 2.0], 0.5), TypeError, r"soft_threshold\(\) converts"),
    (lambda: l1.prox_l1(np.ones(3) * 1j, 0.5), TypeError, "real numbers"),
    (lambda: l1.ista_step(np.zeros(3), np.ones(4), 0.1, 1.0), ValueError,
     r"xt_residual has shape \(4,\), expected \(3,\)"),
    (lambda: l1.ista_step(np.zeros(3), np.ones(3), -0.1, 1.0), ValueError, "step must be"),
    (lambda: l1.ista_step([0.0], np.ones(1), 0.1, 1.0), TypeError, "float64 NumPy array"),
    (lambda: l1.coordinate_descent_epoch(_W.copy(), np.ones(3), 0.5, np.ones(3), range(3)),
     ValueError, "give X"),
    (lambda: l1.coordinate_descent_epoch(_W.copy(), np.ones(3, dtype=np.float32), 0.5,
                                         np.ones(3), range(3), X=_X),
     TypeError, "state must be a one-dimensional float64"),  # daxpy would update a copy
    (lambda: l1.coordinate_descent_epoch(_W.copy(), np.ones(6)[::2], 0.5, np.ones(3),
                                         range(3), X=_X),
     ValueError, "state is updated in place"),
    (lambda: l1.coordinate_descent_epoch(_W.copy(), np.ones(3), 0.5, np.ones(3), [0, -1],
                                         X=_X),
     ValueError, r"features must be column indices in 0..2, got \[-1\]"),
    (lambda: l1.coordinate_descent_epoch(_W.copy(), np.ones(3), -0.5, np.ones(3), range(3),
                                         X=_X),
     ValueError, "lam must be"),
    (lambda: l1.coordinate_descent_epoch(_W.copy(), np.ones(2), 0.5, np.ones(3), range(3),
                                         X=_X),
     ValueError, r"state has shape \(2,\), expected \(3,\)"),
    (lambda: l1.prox_l1_weights([torch.ones(2)], -1.0), ValueError, "threshold must be"),
    (lambda: l1.prox_l1_weights(torch.ones(2, 2), 0.1), TypeError, "not one tensor"),
    (lambda: l1.prox_l1_weights([np.ones(2)], 0.1), TypeError, r"weights\[0\] must be"),
])
def test_the_kernels_on_the_pages_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_prox_l1_weights_rejects_a_tensor_listed_twice():
    w = torch.ones(3)
    with pytest.raises(ValueError, match=r"weights\[1\] is a tensor listed before"):
        l1.prox_l1_weights([w, w], 0.1)
    assert torch.equal(w, torch.ones(3))  # nothing shrunk
    l1.prox_l1_weights(iter([w]), 0.25)  # an iterator is not read by the check
    assert torch.equal(w, torch.full((3,), 0.75))


def test_lambda_alpha_conversion():
    assert l1.lambda_from_alpha(0.1, 50) == pytest.approx(5.0)
    assert l1.alpha_from_lambda(5.0, 50) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="n_samples must be > 0"):
        l1.lambda_from_alpha(0.1, 0)


# --- Lasso solvers against scikit-learn --------------------------------------------------

def _problem(name):
    if name == "diabetes":
        X, y, _ = data.load_diabetes()
        return X, y, 0.05
    n, p, k, rho, frac = {
        "n>p": (120, 30, 5, 0.0, 0.1),
        "n<p": (40, 100, 5, 0.0, 0.1),
        "correlated": (100, 40, 6, 0.7, 0.05),
        "near alpha_max": (80, 20, 3, 0.0, 0.95),
    }[name]
    X, y, _ = data.make_sparse_regression(n, p, k, noise=0.5, correlation=rho, seed=3)
    return X, y, frac * l1.alpha_max(X, y)


def _sklearn(X, y, alpha, fit_intercept=True):
    model = Lasso(alpha=alpha, fit_intercept=fit_intercept, tol=1e-12, max_iter=1_000_000)
    return model.fit(X, y)


PROBLEMS = ["n>p", "n<p", "correlated", "near alpha_max", "diabetes"]


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_solver_matches_sklearn(problem, solver):
    X, y, alpha = _problem(problem)
    reference = _sklearn(X, y, alpha)
    result = SOLVERS[solver](X, y, alpha, tol=1e-10, max_iter=200_000)
    assert result.converged
    ours = l1.lasso_objective(X, y, result.coef, alpha, intercept=result.intercept)
    theirs = l1.lasso_objective(X, y, reference.coef_, alpha, intercept=reference.intercept_)
    assert abs(ours - theirs) <= 1e-6 * abs(theirs)
    scale = max(1.0, np.abs(reference.coef_).max())
    assert np.allclose(result.coef, reference.coef_, atol=1e-3 * scale)
    assert result.intercept == pytest.approx(reference.intercept_, abs=1e-3 * scale)
    assert result.objective[-1] == pytest.approx(ours, rel=1e-9)
    assert result.gap[-1] <= 1e-10 * np.sum((y - y.mean()) ** 2) / len(y)


@pytest.mark.parametrize("solver", SOLVERS)
def test_alpha_max_gives_all_zeros(solver):
    X, y, _ = _problem("n>p")
    a_max = l1.alpha_max(X, y)
    result = SOLVERS[solver](X, y, a_max)
    assert np.all(result.coef == 0) and result.n_iter <= 1
    assert result.intercept == pytest.approx(y.mean())
    assert np.all(_sklearn(X, y, a_max).coef_ == 0)
    below = SOLVERS[solver](X, y, 0.99 * a_max, tol=1e-10)
    assert np.count_nonzero(below.coef) >= 1


def test_alpha_max_is_the_kkt_bound():
    X, y, _ = _problem("correlated")
    centred = X - X.mean(0), y - y.mean()
    assert l1.alpha_max(X, y) == pytest.approx(
        np.abs(centred[0].T @ centred[1]).max() / len(y))
    assert l1.alpha_max(X, y, fit_intercept=False) == pytest.approx(
        np.abs(X.T @ y).max() / len(y))


def test_without_intercept_matches_sklearn():
    X, y, alpha = _problem("n>p")
    y = y + 3.0
    reference = _sklearn(X, y, alpha, fit_intercept=False)
    result = l1.coordinate_descent(X, y, alpha, fit_intercept=False, tol=1e-10)
    assert result.intercept == 0.0
    assert np.allclose(result.coef, reference.coef_, atol=1e-6)


def test_optimality_conditions_hold_at_the_solution():
    X, y, alpha = _problem("correlated")
    w = l1.coordinate_descent(X, y, alpha, tol=1e-12).coef
    Xc, yc = X - X.mean(0), y - y.mean()
    correlation = Xc.T @ (yc - Xc @ w) / len(y)
    assert np.all(np.abs(correlation) <= alpha * (1 + 1e-6))
    active = w != 0
    assert np.allclose(correlation[active], alpha * np.sign(w[active]), rtol=1e-5)


def test_duality_gap_and_objective_conventions():
    X, y, alpha = _problem("n>p")
    n = len(y)
    w = np.zeros(X.shape[1])
    w[:3] = 0.1
    Xc, yc = X - X.mean(0), y - y.mean()
    expected = 0.5 * np.sum((yc - Xc @ w) ** 2) / n + alpha * np.abs(w).sum()
    assert l1.lasso_objective(Xc, yc, w, alpha) == pytest.approx(expected)
    assert l1.lasso_objective(X, y, w, alpha, fit_intercept=True) == pytest.approx(expected)
    # lambda convention: the same minimiser, objective multiplied by n
    lam = l1.lambda_from_alpha(alpha, n)
    assert 0.5 * np.sum((yc - Xc @ w) ** 2) + lam * np.abs(w).sum() == pytest.approx(n * expected)
    gap = l1.duality_gap(X, y, w, alpha, fit_intercept=True)
    solution = l1.coordinate_descent(X, y, alpha, tol=1e-12)
    assert gap > 0
    # the gap bounds the suboptimality
    assert expected - solution.objective[-1] <= gap * (1 + 1e-9)
    assert l1.duality_gap(X, y, solution.coef, alpha, fit_intercept=True) <= 1e-10


def test_histories_and_fista_beats_ista():
    X, y, alpha = _problem("correlated")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        slow = l1.ista(X, y, alpha, tol=1e-12, max_iter=200)
        fast = l1.fista(X, y, alpha, tol=1e-12, max_iter=200)
    assert len(slow.gap) == len(slow.objective) == slow.n_iter + 1 == 201
    assert np.array_equal(slow.iterations, np.arange(201))
    assert np.all(np.diff(slow.objective) <= 1e-12)  # ISTA is a descent method
    assert np.all(slow.gap >= -1e-12)
    assert fast.gap[-1] < slow.gap[-1]
    assert not slow.converged


def test_non_convergence_warns():
    X, y, alpha = _problem("correlated")
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        l1.ista(X, y, alpha, tol=1e-14, max_iter=5)


@pytest.mark.parametrize("precompute", [True, False])
def test_coordinate_descent_variants_agree(precompute):
    X, y, alpha = _problem("n>p")
    reference = _sklearn(X, y, alpha)
    for working_set in (True, False):
        result = l1.coordinate_descent(X, y, alpha, tol=1e-10, precompute=precompute,
                                       working_set=working_set)
        assert np.allclose(result.coef, reference.coef_, atol=1e-5)


def _centred_problem():
    X, y, alpha = _problem("n>p")
    return np.asfortranarray(X - X.mean(axis=0)), y - y.mean(), alpha


def test_ista_steps_repeated_are_the_solver():
    X, y, alpha = _centred_problem()
    result = l1.ista(X, y, alpha, fit_intercept=False, precompute=False, tol=1e-8)
    w, step, lam = np.zeros(X.shape[1]), 1.0 / np.linalg.norm(X, 2) ** 2, len(y) * alpha
    for _ in range(result.n_iter):
        w = l1.ista_step(w, X.T @ (y - X @ w), step, lam)
    assert result.n_iter > 1 and np.array_equal(w, result.coef)


@pytest.mark.parametrize("precompute", [True, False])
def test_coordinate_descent_epochs_repeated_are_the_solver(precompute):
    X, y, alpha = _centred_problem()
    result = l1.coordinate_descent(X, y, alpha, fit_intercept=False, tol=1e-8,
                                   precompute=precompute, working_set=False)
    w, lam = np.zeros(X.shape[1]), len(y) * alpha
    gram = X.T @ X if precompute else None
    col_sq = np.diag(gram).copy() if precompute else np.einsum("ij,ij->j", X, X)
    state = X.T @ y if precompute else y.copy()
    for _ in range(result.n_iter):
        l1.coordinate_descent_epoch(w, state, lam, col_sq, range(X.shape[1]), X=X,
                                    gram=gram)
    assert result.n_iter > 1 and np.array_equal(w, result.coef)


def test_coordinate_descent_epoch_hand_case():
    X, y = np.eye(2), np.array([1.0, -3.0])  # one epoch solves an orthogonal problem
    w, residual = np.zeros(2), y.copy()
    change = l1.coordinate_descent_epoch(w, residual, 0.5, np.ones(2), range(2), X=X)
    assert np.array_equal(w, [0.5, -2.5]) and change == 2.5
    assert np.array_equal(residual, y - X @ w)


def test_warm_start_needs_fewer_iterations():
    X, y, alpha = _problem("correlated")
    cold = l1.coordinate_descent(X, y, alpha, tol=1e-10)
    warm = l1.coordinate_descent(X, y, alpha, tol=1e-10, w0=cold.coef)
    assert warm.n_iter < cold.n_iter


# --- the Lasso path ------------------------------------------------------------------------

def test_path_matches_sklearn_lasso_path():
    X, y, _ = data.load_diabetes()
    path = l1.lasso_path(X, y, fit_intercept=False, tol=1e-10)
    alphas, coefs, _ = sk_lasso_path(X, y, eps=1e-3, tol=1e-10)
    assert path.coefs.shape == coefs.shape == (10, 100)
    assert np.allclose(path.alphas, alphas, rtol=1e-12)
    assert np.allclose(path.coefs, coefs, atol=1e-4 * np.abs(coefs).max())
    assert np.all(path.coefs[:, 0] == 0)


def test_path_with_intercept_equals_path_on_centred_data():
    X, y, _ = _problem("n<p")
    path = l1.lasso_path(X, y, n_alphas=20, eps=1e-2, tol=1e-10)
    alphas, coefs, _ = sk_lasso_path(X - X.mean(0), y - y.mean(), alphas=path.alphas,
                                     tol=1e-10)
    assert np.allclose(path.coefs, coefs, atol=1e-4 * np.abs(coefs).max())
    assert np.allclose(path.intercepts, y.mean() - X.mean(0) @ path.coefs)
    assert path.alphas[0] == pytest.approx(l1.alpha_max(X, y))
    assert np.all(np.diff(path.alphas) < 0)


def test_path_with_given_alphas_and_bad_alphas():
    X, y, _ = _problem("n>p")
    path = l1.lasso_path(X, y, alphas=[0.5, 0.1, 0.01])
    assert np.allclose(path.alphas, [0.5, 0.1, 0.01])
    with pytest.raises(ValueError, match="alphas must be"):
        l1.lasso_path(X, y, alphas=[0.1, -0.1])
    with pytest.raises(ValueError, match="eps must be > 0"):
        l1.lasso_path(X, y, eps=0.0)


def test_cross_validation_matches_sklearn_lasso_cv():
    from sklearn.linear_model import LassoCV

    X, y, _ = data.load_diabetes()
    cv = l1.lasso_cv(X, y, n_folds=5, n_alphas=30, tol=1e-10)
    reference = LassoCV(cv=5, alphas=cv.alphas, tol=1e-10).fit(X, y)
    assert np.allclose(cv.alphas, reference.alphas_)
    assert np.allclose(cv.mse.T, reference.mse_path_, rtol=1e-6)
    assert cv.alpha_min == pytest.approx(reference.alpha_)
    assert cv.alpha_1se >= cv.alpha_min
    k = int(np.flatnonzero(cv.alphas == cv.alpha_1se)[0])
    assert cv.mse_mean[k] <= cv.mse_mean.min() + cv.mse_se[np.argmin(cv.mse_mean)]
    shuffled = l1.lasso_cv(X, y, n_folds=3, n_alphas=10, seed=0)
    assert shuffled.mse.shape == (3, 10)
    with pytest.raises(ValueError, match="n_folds must be between 2"):
        l1.lasso_cv(X, y, n_folds=1)


# --- bad input -------------------------------------------------------------------------------

def test_negative_alpha_is_rejected():
    X, y, _ = _problem("n>p")
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        l1.coordinate_descent(X, y, -0.1)


@pytest.mark.parametrize("where", ["X", "y"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_is_rejected(where, bad):
    X, y, alpha = _problem("n>p")
    X, y = X.copy(), y.copy()
    (X if where == "X" else y)[3] = bad
    with pytest.raises(ValueError, match=f"{where} contains NaN or infinite values"):
        l1.fista(X, y, alpha)


def test_shape_mismatch_is_rejected():
    X, y, alpha = _problem("n>p")
    with pytest.raises(ValueError, match="X has 120 rows but y has 119 entries"):
        l1.ista(X, y[:-1], alpha)
    with pytest.raises(ValueError, match="X must be 2-D"):
        l1.alpha_max(X[:, 0], y)
    with pytest.raises(ValueError, match="w has 29 entries but X has 30 columns"):
        l1.lasso_objective(X, y, np.zeros(29), alpha)


# --- L1 in torch models ----------------------------------------------------------------------

def _net():
    torch.manual_seed(0)
    return models.mlp([4, 3, 2])


def test_l1_penalty_value_and_default_parameters():
    net = _net()
    weights = net[0].weight.abs().sum() + net[2].weight.abs().sum()
    assert torch.allclose(l1.l1_penalty(net, 0.5), 0.5 * weights)
    only_first = l1.l1_penalty(net, 1.0, params=["0.weight"])
    assert torch.allclose(only_first, net[0].weight.abs().sum())
    l1.l1_penalty(net, 1.0).backward()
    assert torch.equal(net[0].weight.grad, torch.sign(net[0].weight.detach()))
    assert net[0].bias.grad is None  # biases are not penalised by default


def test_group_lasso_penalty_sums_row_norms():
    net = _net()
    expected = net[0].weight.norm(dim=1).sum() + net[2].weight.norm(dim=1).sum()
    assert torch.allclose(l1.group_lasso_penalty(net, 1.0), expected)


def test_unknown_parameter_name_is_rejected():
    with pytest.raises(ValueError, match=r"unknown parameter name\(s\) \['3.weight'\]"):
        l1.l1_penalty(_net(), 1.0, params=["0.weight", "3.weight"])


def test_proximal_steps():
    net = _net()
    before = net[0].weight.detach().clone()
    l1.prox_l1_step(net, 0.2, params=["0.weight"])
    assert torch.equal(net[0].weight.detach(), l1.soft_threshold(before, 0.2))
    hook = l1.ProximalL1(strength=10.0, lr=0.1)  # threshold 1: all these weights vanish
    hook(net)
    assert all(torch.count_nonzero(net[k].weight) == 0 for k in (0, 2))
    assert torch.count_nonzero(net[0].bias) > 0

    net = _net()
    norms = net[0].weight.detach().norm(dim=1)
    t = float(norms.sort().values[:2].mean())  # between the two smallest row norms
    l1.prox_group_step(net, t, params=["0.weight"])
    rows = net[0].weight.detach().norm(dim=1)
    assert torch.all(rows[norms <= t] == 0)
    assert torch.allclose(rows[norms > t], norms[norms > t] - t)
    l1.ProximalGroupL1(strength=1e6, lr=1.0)(net)
    assert torch.count_nonzero(net[2].weight) == 0


def test_prox_l1_weights_is_the_proximal_step():
    net, reference = _net(), _net()
    reference.load_state_dict(net.state_dict())
    l1.prox_l1_weights([net[0].weight, net[2].weight], 0.2)
    l1.prox_l1_step(reference, 0.2)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), reference.parameters()))
    assert torch.count_nonzero(net[0].weight) < net[0].weight.numel()


def test_proximal_step_gives_exact_zeros_where_the_subgradient_penalty_does_not():
    digits = data.load_digits_split()
    strength, lr = 0.03, 0.1

    def trained(**hooks):
        train.seed_everything(0)
        net = models.mlp([64, 32, 10])
        train.fit(net, digits, epochs=3, lr=lr, optimizer="sgd", progress=False, **hooks)
        return net, train.evaluate(net, digits, "val")

    plain, _ = trained(penalty=lambda m: l1.l1_penalty(m, strength))
    prox, acc_prox = trained(after_step=l1.ProximalL1(strength, lr))
    zeros = lambda m: float((m[0].weight == 0).float().mean())  # noqa: E731
    assert zeros(plain) < 0.01
    assert zeros(prox) > 0.3
    assert acc_prox > 0.8

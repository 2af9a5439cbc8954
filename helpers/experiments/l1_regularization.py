"""The experiments of the chapter :doc:`l1-regularization`.

Introduced in :doc:`l1-regularization`. Two timings of the Lasso solvers on the
diabetes data (section *Algorithms*: helpers' coordinate descent against
scikit-learn's; section *The Lasso path on the diabetes data*: the cost of a whole
path in single fits), and the digits MLP trained with an L1 penalty (section *L1 in a
neural network*): the penalty in the loss against the proximal step over seeds and
optimisers, the sparsity–accuracy trade-off of the proximal step, and the group
proximal step of the exercise *ex-l1-group*.

The comparisons name their two sides with keys of :mod:`helpers.i18n` (``names``);
the page puts them into its language with :func:`helpers.i18n.tr`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from .. import data, l1, models, stats, train
from ..device import get_device
from . import experiment

__all__ = ["SolverSpeed", "PathCost", "NetworkRun", "NetworkL1", "Tradeoff",
           "solver_speed", "path_cost", "network_l1", "sparsity_tradeoff",
           "group_lasso_neurons"]


# --- timings of the Lasso solvers --------------------------------------------------

def _seconds(fit: Callable[[], object]) -> float:
    start = time.perf_counter()
    fit()
    return time.perf_counter() - start


class SolverSpeed(NamedTuple):
    """What :func:`solver_speed` returns.

    Attributes
    ----------
    ours, theirs : ndarray of shape (rounds,)
        Seconds per fit of :func:`helpers.l1.coordinate_descent` and of
        ``sklearn.linear_model.Lasso``.
    speed : helpers.stats.Comparison
        The speed-up of ours over scikit-learn's (names ``l1_our_cd``,
        ``l1_sklearn_cd``).
    """

    ours: np.ndarray
    theirs: np.ndarray
    speed: stats.Comparison


@experiment(cost=0.5, timed=True)
def solver_speed(alpha_fraction: float = 0.01, tol: float = 1e-4,
                 rounds: int = 21) -> SolverSpeed:
    """Time helpers' and scikit-learn's coordinate descent on the diabetes data.

    Both fit the Lasso at ``alpha = alpha_fraction · alpha_max`` to the same
    duality-gap tolerance ``tol``, in ``rounds`` interleaved rounds on one thread.

    Returns
    -------
    SolverSpeed
        The times of each round and their :func:`helpers.stats.latency_ratio`.
    """
    from sklearn.linear_model import Lasso
    from threadpoolctl import threadpool_limits

    X, y, _ = data.load_diabetes()
    alpha = alpha_fraction * l1.alpha_max(X, y)
    ours, theirs = [], []
    with threadpool_limits(1):
        for _ in range(rounds):  # interleaved rounds
            ours.append(_seconds(lambda: l1.coordinate_descent(X, y, alpha, tol=tol)))
            theirs.append(_seconds(lambda: Lasso(alpha=alpha, tol=tol).fit(X, y)))
    speed = stats.latency_ratio(ours, theirs, names=("l1_our_cd", "l1_sklearn_cd"))
    return SolverSpeed(np.array(ours), np.array(theirs), speed)


class PathCost(NamedTuple):
    """What :func:`path_cost` returns.

    Attributes
    ----------
    path, single : ndarray of shape (rounds,)
        Seconds for the whole path (:func:`helpers.l1.lasso_path`) and for one cold
        fit at its smallest ``alpha``.
    cost : helpers.stats.Comparison
        The path's time in single fits (``estimate``, ``low``, ``high``): the
        speed-up of one fit over the path.
    """

    path: np.ndarray
    single: np.ndarray
    cost: stats.Comparison


@experiment(cost=1, timed=True)
def path_cost(rounds: int = 11) -> PathCost:
    """Time the Lasso path on the diabetes data against one cold fit at its end.

    ``rounds`` interleaved rounds on one thread: the path of 100 values of ``alpha``
    with warm starts, then :func:`helpers.l1.coordinate_descent` from zero at the
    path's smallest ``alpha``.

    Returns
    -------
    PathCost
        The times of each round and their :func:`helpers.stats.latency_ratio`.
    """
    from threadpoolctl import threadpool_limits

    X, y, _ = data.load_diabetes()
    smallest = l1.lasso_path(X, y).alphas[-1]
    path_times, single_times = [], []
    with threadpool_limits(1):
        for _ in range(rounds):
            path_times.append(_seconds(lambda: l1.lasso_path(X, y)))
            single_times.append(_seconds(lambda: l1.coordinate_descent(X, y, smallest)))
    cost = stats.latency_ratio(single_times, path_times, names=("fit", "path"))
    return PathCost(np.array(path_times), np.array(single_times), cost)


# --- L1 in the digits MLP ----------------------------------------------------------

#: The optimisers: momentum μ → learning rate η, both with η/(1 − μ) = 1.
OPTIMISERS = ((0.0, 1.0), (0.9, 0.1))


def _effective_step(momentum: float, lr: float) -> float:
    """The long-run step of a constant gradient with momentum: η / (1 − μ)."""
    return lr / (1 - momentum)


def _train_mlp(digits, seed: int, momentum: float, lr: float, epochs: int, **hook):
    """The 64-64-10 MLP trained with SGD and ``hook``: the network, its validation
    accuracy."""
    train.seed_everything(seed)
    net = models.mlp([64, 64, 10]).to(get_device())
    train.fit(net, digits, epochs=epochs, lr=lr, optimizer="sgd", momentum=momentum,
              seed=seed, progress=False, **hook)
    return net, train.evaluate(net, digits, "val")


def _hooks(method: str, lam: float, step: float) -> dict:
    """The ``fit`` arguments of one way to apply the penalty."""
    if method == "subgradient":
        return {"penalty": lambda m: l1.l1_penalty(m, lam)}
    if method == "proximal":
        return {"after_step": l1.ProximalL1(lam, step)}
    return {}


class NetworkRun(NamedTuple):
    """One trained network of :func:`network_l1`.

    Attributes
    ----------
    weights : torch.Tensor of shape (4096,)
        The first layer's weights, flattened, on the CPU.
    zeros, near : float
        Fractions of them exactly zero, and within ``λ ·`` the effective step of zero.
    correct : ndarray of bool, shape (n_test,)
        Which test digits it classifies correctly.
    """

    weights: torch.Tensor
    zeros: float
    near: float
    correct: np.ndarray


class NetworkL1(NamedTuple):
    """What :func:`network_l1` returns.

    Attributes
    ----------
    runs : dict
        ``(method, momentum)`` → a tuple of :class:`NetworkRun`, one per seed; methods
        ``"subgradient"`` (penalty in the loss), ``"proximal"`` and ``"none"``.
    versus : dict
        ``momentum`` → the test accuracy of the proximal step against the penalty in
        the loss (:func:`helpers.stats.compare_accuracy`, names ``l1_v_*``).
    cost : helpers.stats.Comparison
        The proximal step against no penalty, with the last optimiser (μ = 0.9).
    lam, tau : float
        The penalty's strength; the last optimiser's threshold ``λ · η/(1 − μ)``.
    n_test : int
        Test digits.
    """

    runs: dict
    versus: dict
    cost: stats.Comparison
    lam: float
    tau: float
    n_test: int


def _names(*methods: str) -> tuple[str, ...]:
    return tuple(f"l1_v_{m}" for m in methods)


@experiment(cost=2)
def network_l1(lam: float = 0.003, epochs: int = 5, seeds: int = 5,
               optimisers: tuple = OPTIMISERS) -> NetworkL1:
    """Train the digits MLP with the L1 penalty in the loss, with the proximal step, and
    without a penalty, for each optimiser ``(momentum, learning rate)`` and seed.

    The proximal step thresholds at ``lam`` times the optimiser's effective step
    ``η/(1 − μ)``, so that both ways apply the same penalty.

    Returns
    -------
    NetworkL1
        The runs, the accuracy comparisons and the settings.
    """
    digits = data.load_digits_split()
    X_test, y_test = digits.split("test")
    runs = {}
    for momentum, lr in optimisers:
        step = _effective_step(momentum, lr)
        for method in ("subgradient", "proximal", "none"):
            for seed in range(seeds):
                net, _ = _train_mlp(digits, seed, momentum, lr, epochs,
                                    **_hooks(method, lam, step))
                w = net[0].weight.detach().cpu().flatten()
                runs.setdefault((method, momentum), []).append(NetworkRun(
                    w, float((w == 0).float().mean()),
                    float((w.abs() <= lam * step).float().mean()),
                    train.correct(net, X_test, y_test)))
    runs = {key: tuple(value) for key, value in runs.items()}

    def correct(method, momentum):
        return np.stack([r.correct for r in runs[method, momentum]])

    versus = {mu: stats.compare_accuracy(correct("proximal", mu),
                                         correct("subgradient", mu),
                                         names=_names("proximal", "subgradient"))
              for mu, _ in optimisers}
    last = optimisers[-1][0]  # the momentum of the last optimiser (0.9)
    cost = stats.compare_accuracy(correct("proximal", last), correct("none", last),
                                  names=_names("proximal", "none"))
    tau = lam * _effective_step(*optimisers[-1])
    return NetworkL1(runs, versus, cost, lam, tau, len(y_test))


class Tradeoff(NamedTuple):
    """What :func:`sparsity_tradeoff` returns: one entry per strength.

    Attributes
    ----------
    strengths, sparsity, accuracy : tuple of float
        ``λ``; the fraction of exact zeros among all weights; validation accuracy.
    """

    strengths: tuple
    sparsity: tuple
    accuracy: tuple


@experiment(cost=1.5)
def sparsity_tradeoff(strengths: tuple = (0.0, 0.001, 0.003, 0.01, 0.02),
                      momentum: float = 0.9, lr: float = 0.1, epochs: int = 5,
                      seed: int = 0) -> Tradeoff:
    """Sparsity and validation accuracy of the digits MLP trained with the proximal L1
    step, for each strength (threshold ``λ · η/(1 − μ)``).

    Returns
    -------
    Tradeoff
    """
    digits = data.load_digits_split()
    sparsity, accuracy = [], []
    for s in strengths:
        hook = l1.ProximalL1(s, _effective_step(momentum, lr))
        net, acc = _train_mlp(digits, seed, momentum, lr, epochs, after_step=hook)
        weights = torch.cat([net[k].weight.detach().flatten() for k in (0, 2)])
        sparsity.append(float((weights == 0).float().mean()))
        accuracy.append(acc)
    return Tradeoff(tuple(strengths), tuple(sparsity), tuple(accuracy))


@experiment(cost=1)
def group_lasso_neurons(strengths: tuple = (0.02, 0.05), momentum: float = 0.9,
                        lr: float = 0.1, epochs: int = 5, seed: int = 0) -> dict:
    """The digits MLP with the group proximal step on its first layer (one group per
    neuron), for each strength: how many of its 64 neurons lose all their weights.

    Returns
    -------
    dict
        ``strength`` → ``(dead neurons, validation accuracy)``.
    """
    digits = data.load_digits_split()
    found = {}
    for s in strengths:
        hook = l1.ProximalGroupL1(s, _effective_step(momentum, lr), params=["0.weight"])
        net, acc = _train_mlp(digits, seed, momentum, lr, epochs, after_step=hook)
        found[s] = (int((net[0].weight.detach().abs().sum(dim=1) == 0).sum()), acc)
    return found

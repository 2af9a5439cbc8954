"""helpers.experiments.sparse_training: the chapter's arms get the budgets they state."""

from __future__ import annotations

import math

import pytest
import torch

from helpers import data as _data
from helpers import prune
from helpers.experiments import sparse_training as ex


def test_split_classes_keeps_only_those_classes_in_every_split():
    digits = _data.load_digits_split()
    low = ex.split_classes(digits, range(5))
    for split in ("train", "val", "test"):
        X, y = low.split(split)
        _, y_all = digits.split(split)
        assert set(y.tolist()) == set(range(5)) and len(y) == int((y_all < 5).sum())
        assert X.shape[1] == digits.n_features
    assert low.n_classes == digits.n_classes  # labels unchanged: 0-4 keep their outputs


def test_dense_networks_store_the_initial_and_the_early_weights():
    dense = ex.dense_networks(seeds=(0,))
    assert dense.rewind_step == len(_data.load_digits_split().loader("train", 64))
    init, early = dense.init[0], dense.early[0]
    assert torch.equal(init["0.weight"], ex.network(0)[0].weight.detach())
    assert not torch.equal(init["0.weight"], early["0.weight"])
    assert dense.correct.shape == (1, len(_data.load_digits_split().y_test))


def test_lottery_tickets_train_every_arm_of_every_round():
    tickets = ex.lottery_tickets(rounds=2, keep=0.5, seeds=(0,))
    assert tickets.sparsities == pytest.approx((0.5, 0.75))
    for s in tickets.sparsities:
        for arm in ex.TICKET_ARMS:
            assert tickets.correct[arm, s].shape == tickets.correct["dense", 0.0].shape
    assert set(tickets.comparisons) == {f"{o}_{k}" for o in ("init", "reinit", "random",
                                                             "dense") for k in (500, 750)}


def test_the_sparse_arms_cost_no_more_than_gradual_pruning():
    scratch = ex.sparse_from_scratch(seeds=(0,))
    gradual = scratch.cost["st_gradual", "epochs"]
    steps = len(_data.load_digits_split().loader("train", 64))
    for arm in ("st_static", "st_set", "st_rigl"):
        assert scratch.cost[arm, "cost"] <= gradual + 1e-9
        assert scratch.cost[arm, "epochs"] < gradual
        # one epoch more would cost more than the gradual run
        more = ex._rigl_cost(scratch.epochs[arm, "cost"] + 1, steps, scratch.sparsity, 10) \
            if arm == "st_rigl" else (scratch.epochs[arm, "cost"] + 1) * (1 - scratch.sparsity)
        assert more > gradual
    assert scratch.changed["st_static", "epochs"] == 0.0
    assert 0 < scratch.changed["st_rigl", "epochs"] < 1
    for key, density in scratch.nonzero.items():  # no arm keeps more than its weights
        assert density <= 1 - scratch.sparsity + 1e-6, key
    # the grown weights are trained: SET and RigL keep (almost) their full count, not
    # the starting mask's weights that survived (the fault of a fixed mask's enforcer)
    for arm in ("st_set", "st_rigl"):
        assert scratch.nonzero[arm, "epochs"] > 0.98 * (1 - scratch.sparsity), arm


def test_the_gradual_schedule_ends_at_the_target_density():
    steps = 17
    densities = ex._cubic_densities(0.95, 4, 8, steps, 10)
    assert densities[0] == 1.0 and densities[-1] == pytest.approx(0.05)
    assert all(a >= b for a, b in zip(densities, densities[1:]))  # never grows back


def test_movement_transfer_reports_every_arm_and_the_overlap():
    moved = ex.movement_transfer(sparsities=(0.9,), seeds=(0,))
    assert 0 <= moved.overlap[0.9] <= 1 and 0 < moved.moved < math.inf
    assert moved.correct["st_movement", 0.9].shape == moved.correct["st_finetuned", 0.0].shape
    net = ex.network(0)
    assert set(ex.PRETRAINED) < set(prune.prunable_parameters(net))

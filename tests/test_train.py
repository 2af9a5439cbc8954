"""helpers.train and helpers.models: repeatable training, hooks, clear errors."""

from __future__ import annotations

import pytest
import torch

from helpers import models, train
from helpers.data import ClassificationData


def _train(digits, seed, **kwargs):
    train.seed_everything(seed)
    model = models.mlp([64, 16, 10])
    history = train.fit(model, digits, epochs=3, lr=1e-2, progress=False, seed=seed, **kwargs)
    return model, history


def test_two_seeded_runs_give_identical_weights(digits):
    a, _ = _train(digits, 0)
    b, _ = _train(digits, 0)
    c, _ = _train(digits, 1)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_training_learns_and_keeps_best_epoch(digits):
    model, history = _train(digits, 0)
    assert history.epochs == 3
    assert history.train_loss[-1] < history.train_loss[0]
    best = max(history.val_accuracy)
    assert history.val_accuracy[history.best_epoch] == best
    assert train.evaluate(model, digits, "val") == pytest.approx(best)
    assert best > 0.85


def test_keep_start_never_ends_below_the_starting_weights(digits):
    """Continued training that only makes a trained network worse gives it back with
    ``keep_start`` (the control of an equal budget never ends below its parent); without
    it, the best of the (worse) epochs is kept."""
    model, _ = _train(digits, 0)
    start = train.evaluate(model, digits, "val")
    weights = [p.detach().clone() for p in model.parameters()]
    kept, ruined = (models.mlp([64, 16, 10]) for _ in range(2))
    for copy_ in (kept, ruined):
        copy_.load_state_dict(model.state_dict())
    history = train.fit(kept, digits, epochs=2, lr=10.0, optimizer="sgd", keep_start=True,
                        progress=False)
    assert history.best_epoch == -1 and history.start_accuracy == pytest.approx(start)
    assert max(history.val_accuracy) < start
    assert all(torch.equal(a, b) for a, b in zip(kept.parameters(), weights))
    train.fit(ruined, digits, epochs=2, lr=10.0, optimizer="sgd", progress=False)
    assert train.evaluate(ruined, digits, "val") < start
    # an epoch that improves on the start is kept as before
    fresh = models.mlp([64, 16, 10])
    history = train.fit(fresh, digits, epochs=2, lr=1e-2, keep_start=True, progress=False)
    assert history.best_epoch >= 0 and history.start_accuracy < 0.5
    with pytest.raises(TypeError, match="keep_start"):
        train.fit(fresh, digits, epochs=1, keep_start="yes", progress=False)


def test_after_step_hook_runs_every_step(digits):
    calls = []
    _train(digits, 0, after_step=lambda m: calls.append(1), batch_size=100)
    assert len(calls) == 3 * 11  # 1077 examples in batches of 100


def test_each_epoch_visits_every_training_example_once_in_a_new_order(digits):
    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(64, 10)

        def forward(self, x):
            if self.training:
                seen.append(x.detach().clone())
            return self.linear(x)

    train.fit(Recorder(), digits, epochs=2, batch_size=100, progress=False)
    X = digits.X_train
    epochs = [torch.cat(seen[:11]), torch.cat(seen[11:])]
    assert [len(b) for b in seen[:11]] == [100] * 10 + [len(X) - 1000]
    key = lambda T: sorted(map(tuple, T.tolist()))  # noqa: E731
    for batches in epochs:
        assert key(batches) == key(X)  # every example once
    assert not torch.equal(epochs[0], epochs[1])  # reshuffled
    assert not torch.equal(epochs[0], X)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_momentum_reaches_the_optimiser(digits, optimizer):
    default, _ = _train(digits, 0, optimizer=optimizer)
    explicit, _ = _train(digits, 0, optimizer=optimizer, momentum=0.9)
    without, _ = _train(digits, 0, optimizer=optimizer, momentum=0.0)
    pairs = list(zip(default.parameters(), explicit.parameters(), without.parameters()))
    assert all(torch.equal(a, b) for a, b, _ in pairs)  # 0.9 is the default
    assert not all(torch.equal(a, c) for a, _, c in pairs)


def test_plain_sgd_takes_the_plain_gradient_step(digits):
    # One step of momentum-free SGD on a linear model: w <- w - lr * grad.
    torch.manual_seed(0)
    model = torch.nn.Linear(64, 10)
    start = [p.detach().clone() for p in model.parameters()]
    one = ClassificationData(digits.X_train[:32], digits.y_train[:32], digits.X_val,
                                  digits.y_val, digits.X_test, digits.y_test, "digits", 10)
    train.fit(model, one, epochs=1, batch_size=32, optimizer="sgd", momentum=0.0, lr=0.1,
              progress=False)
    reference = torch.nn.Linear(64, 10)
    with torch.no_grad():
        for p, s in zip(reference.parameters(), start):
            p.copy_(s)
    loss = torch.nn.functional.cross_entropy(reference(one.X_train), one.y_train)
    loss.backward()
    for p, r in zip(model.parameters(), reference.parameters()):
        assert torch.allclose(p, r.detach() - 0.1 * r.grad, atol=1e-6)


def test_penalty_is_added_to_the_loss(digits):
    # A huge L1 penalty drives the weights towards zero.
    model, _ = _train(digits, 0, penalty=lambda m: 10 * sum(p.abs().sum() for p in m.parameters()))
    plain, _ = _train(digits, 0)
    norm = lambda m: sum(float(p.detach().abs().sum()) for p in m.parameters())  # noqa: E731
    assert norm(model) < 0.2 * norm(plain)


def test_early_stopping(digits):
    train.seed_everything(0)
    model = models.mlp([64, 16, 10])
    history = train.fit(model, digits, epochs=200, lr=1e-2, patience=2, progress=False)
    assert history.epochs < 200
    assert history.epochs - 1 - history.best_epoch == 2


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": 0}, ValueError, "epochs must be > 0"),
    ({"lr": -1.0}, ValueError, "lr must be a finite number >= 0"),
    ({"optimizer": "lbfgs"}, ValueError, "optimizer must be"),
    ({"patience": 0}, ValueError, "patience must be > 0"),
    ({"momentum": 1.0}, ValueError, r"momentum must lie in \[0, 1\)"),
    ({"momentum": -0.1}, ValueError, "momentum must lie in"),
    ({"momentum": "high"}, TypeError, "momentum must be a real number"),
    ({"batch_size": 0}, ValueError, "batch_size must be > 0"),
])
def test_bad_training_arguments(digits, kwargs, error, match):
    with pytest.raises(error, match=match):
        train.fit(models.mlp([64, 10]), digits, progress=False, **kwargs)


def test_accuracy_checks_lengths():
    model = models.mlp([4, 2])
    with pytest.raises(ValueError, match="differ in length"):
        train.accuracy(model, torch.zeros(3, 4), torch.zeros(2, dtype=torch.long))


def test_mlp_shapes_and_errors():
    net = models.mlp([64, 300, 100, 10])
    assert sum(p.numel() for p in net.parameters()) == 64 * 300 + 300 + 300 * 100 + 100 + 1010
    assert net(torch.zeros(2, 64)).shape == (2, 10)
    with pytest.raises(ValueError, match="needs an input and an output"):
        models.mlp([64])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be > 0"):
        models.mlp([64, 0, 10])
    with pytest.raises(TypeError, match="seed must be an integer"):
        train.seed_everything(1.5)


def test_accuracy_of_a_model_without_parameters():
    # torch's dynamically quantised Linear layers keep no nn.Parameter at all.
    class Threshold(torch.nn.Module):
        def forward(self, x):
            return torch.stack([-x[:, 0], x[:, 0]], dim=1)

    X = torch.tensor([[-1.0], [2.0], [3.0]])
    assert train.accuracy(Threshold(), X, torch.tensor([0, 1, 0])) == pytest.approx(2 / 3)


def test_recalibrate_batchnorm_recomputes_the_statistics_and_nothing_else(digits):
    """After pruning upstream the stored statistics are stale; recalibration replaces
    them by those of the training split (exactly, with one batch of the whole split),
    changes no weight and gives every module its own mode back."""
    train.seed_everything(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.BatchNorm1d(16),
                                torch.nn.ReLU(), torch.nn.Linear(16, 10))
    train.fit(model, digits, epochs=1, progress=False)
    bn = model[1]
    bn.running_mean.fill_(5.0)
    bn.running_var.fill_(100.0)
    weights = [p.detach().clone() for p in model.parameters()]
    model.train()
    model[1].eval()                          # a caller's mixture of modes
    X = digits.split("train")[0]
    assert train.recalibrate_batchnorm(model, digits, batch_size=len(X)) is model
    with torch.no_grad():
        h = model[0](X)
    assert torch.allclose(bn.running_mean, h.mean(0), atol=1e-5)
    assert torch.allclose(bn.running_var, h.var(0, unbiased=True), rtol=1e-4)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), weights))
    assert model.training and not model[1].training and bn.momentum == 0.1
    train.recalibrate_batchnorm(model, digits)      # batches of 256: close to the split's
    assert torch.allclose(bn.running_mean, h.mean(0), atol=0.05 * h.std().item())
    with pytest.raises(ValueError, match="no BatchNorm"):
        train.recalibrate_batchnorm(models.mlp([64, 16, 10]), digits)
    with pytest.raises(ValueError, match="batch_size"):
        train.recalibrate_batchnorm(model, digits, batch_size=0)

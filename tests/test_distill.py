"""helpers.distill: Hinton et al.'s distillation loss and training a student through fit."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from helpers import data, distill, models, train

# --- the loss --------------------------------------------------------------------------

logit_values = st.floats(-20, 20, allow_nan=False, allow_infinity=False, width=32)
temperatures = st.floats(0.5, 20, allow_nan=False)
alphas = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def batches(draw, max_n=6, max_c=5):
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(2, max_c))
    student = draw(arrays(np.float32, (n, c), elements=logit_values))
    teacher = draw(arrays(np.float32, (n, c), elements=logit_values))
    labels = draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return torch.from_numpy(student), torch.from_numpy(teacher), torch.from_numpy(labels)


def _by_hand(s, t, y, T, alpha):
    """The loss written out with NumPy in float64, one example at a time."""
    s, t = np.asarray(s, dtype=np.float64), np.asarray(t, dtype=np.float64)
    total = 0.0
    for zs, zt, label in zip(s, t, np.asarray(y)):
        p_s1 = np.exp(zs - zs.max()) / np.exp(zs - zs.max()).sum()
        hard = -math.log(p_s1[label])
        q = np.exp(zt / T - (zt / T).max()); q /= q.sum()  # noqa: E702
        p = np.exp(zs / T - (zs / T).max()); p /= p.sum()  # noqa: E702
        soft = float(np.sum(q * (np.log(q) - np.log(p))))
        total += (1 - alpha) * hard + alpha * T * T * soft
    return total / len(s)


def test_loss_matches_a_hand_computation():
    s = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    t = torch.tensor([[3.0, 1.0, -2.0], [-1.0, 2.0, 2.5]])
    y = torch.tensor([0, 2])
    T, alpha = 2.0, 0.7
    # Written out for these numbers: soft targets of the first example at T = 2 are
    # softmax([1.5, 0.5, -1.0]), and so on; the NumPy version below does the same.
    expected = _by_hand(s, t, y, T, alpha)
    assert float(distill.distillation_loss(s, t, y, T, alpha)) == pytest.approx(expected,
                                                                                rel=1e-6)
    # One term checked with nothing but math: example 1, hard part, alpha = 0.
    ce0 = -2.0 + math.log(math.exp(2.0) + math.exp(0.5) + math.exp(-1.0))
    ce1 = -3.0 + math.log(math.exp(0.0) + math.exp(1.0) + math.exp(3.0))
    assert float(distill.distillation_loss(s, t, y, T, 0.0)) == pytest.approx((ce0 + ce1) / 2,
                                                                              rel=1e-6)


@settings(max_examples=60, deadline=None)
@given(batch=batches(), T=temperatures, alpha=alphas)
def test_loss_agrees_with_the_numpy_version(batch, T, alpha):
    s, t, y = batch
    got = float(distill.distillation_loss(s, t, y, T, alpha))
    assert got == pytest.approx(_by_hand(s, t, y, T, alpha), rel=1e-4, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(batch=batches(), T=temperatures)
def test_alpha_zero_is_cross_entropy(batch, T):
    s, t, y = batch
    assert torch.allclose(distill.distillation_loss(s, t, y, T, 0.0), F.cross_entropy(s, y))


@settings(max_examples=60, deadline=None)
@given(batch=batches(), T=temperatures, alpha=alphas)
def test_soft_term_is_nonnegative_and_zero_for_a_perfect_student(batch, T, alpha):
    s, t, y = batch
    ce = F.cross_entropy(s, y)
    assert float(distill.distillation_loss(s, t, y, T, alpha)) >= (1 - alpha) * float(ce) - 1e-5
    same = distill.distillation_loss(t, t, y, T, alpha)
    assert float(same) == pytest.approx((1 - alpha) * float(F.cross_entropy(t, y)), abs=1e-5)


def test_t_squared_keeps_the_soft_gradient_at_the_scale_of_logit_differences():
    # Hinton et al. (2015), section 2.1: for large T and zero-mean logits, the gradient of
    # the soft cross-entropy is about (z_i - v_i) / (N T^2) per example; the T^2 factor
    # makes it (z_i - v_i) / N, independent of T (with an error that shrinks like 1/T).
    torch.manual_seed(0)
    n, c = 4, 5
    s = torch.randn(n, c, dtype=torch.float64); s -= s.mean(dim=1, keepdim=True)  # noqa: E702
    t = torch.randn(n, c, dtype=torch.float64); t -= t.mean(dim=1, keepdim=True)  # noqa: E702
    expected = (s - t) / c / n  # the loss is a mean over the batch
    for T in (100.0, 1000.0):
        s_ = s.clone().requires_grad_(True)
        distill.soft_target_loss(s_, t, T).backward()
        assert float((s_.grad - expected).abs().max()) < 0.2 / T


def test_soft_target_loss_is_the_alpha_one_loss():
    torch.manual_seed(1)
    s, t = torch.randn(3, 4), torch.randn(3, 4)
    y = torch.tensor([0, 1, 3])
    assert torch.allclose(distill.soft_target_loss(s, t, 3.0),
                          distill.distillation_loss(s, t, y, 3.0, 1.0))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"temperature": 0.0}, ValueError, "temperature must be > 0"),
    ({"temperature": float("inf")}, ValueError, "temperature must be a finite number"),
    ({"alpha": 1.5}, ValueError, r"alpha must lie in \[0, 1\]"),
    ({"alpha": "0.5"}, TypeError, "alpha must be a real number"),
    ({"teacher_logits": torch.zeros(2, 4)}, ValueError, "same shape"),
    ({"student_logits": torch.zeros(3)}, ValueError, "2-D"),
    ({"labels": torch.zeros(3, dtype=torch.long)}, ValueError, "one label per row"),
    ({"labels": torch.zeros(2)}, TypeError, "integer class indices"),
])
def test_loss_rejects_bad_inputs(kwargs, error, match):
    args = {"student_logits": torch.zeros(2, 3), "teacher_logits": torch.zeros(2, 3),
            "labels": torch.zeros(2, dtype=torch.long), "temperature": 2.0, "alpha": 0.5}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        distill.distillation_loss(**args)


# --- training a student through helpers.train.fit ---------------------------------------


@pytest.fixture(scope="module")
def small_digits(digits):
    """48 training examples: one batch of fit's default size 64."""
    return data.ClassificationData(digits.X_train[:48], digits.y_train[:48],
                                   digits.X_val[:40], digits.y_val[:40],
                                   digits.X_test[:40], digits.y_test[:40], "digits-48", 10)


@pytest.fixture(scope="module")
def teacher(digits):
    train.seed_everything(0)
    net = models.mlp([64, 32, 10])
    train.fit(net, digits, epochs=5, lr=1e-2, progress=False)
    return net


def _manual_step(student, teacher, data_, *, optimizer, lr, weight_decay, T, alpha):
    """One full-batch optimiser step on distillation_loss, written without fit."""
    X, y = data_.split("train")
    with torch.no_grad():
        teacher_logits = teacher(X)
    params = list(student.parameters())
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    opt.zero_grad()
    distill.distillation_loss(student(X), teacher_logits, y, T, alpha).backward()
    opt.step()
    return student


# SGD: the same steps up to rounding. Adam: the same up to its epsilon (1e-8), which
# shows only in weights whose gradient is tiny.
@pytest.mark.parametrize("optimizer, weight_decay, tol", [
    ("sgd", 0.0, 1e-6), ("sgd", 1e-2, 1e-6), ("adam", 0.0, 1e-4)])
def test_fit_student_takes_the_steps_of_the_distillation_loss(small_digits, teacher,
                                                               optimizer, weight_decay, tol):
    train.seed_everything(3)
    student = models.mlp([64, 8, 10])
    reference = _manual_step(copy.deepcopy(student), teacher, small_digits,
                             optimizer=optimizer, lr=0.05, weight_decay=weight_decay,
                             T=3.0, alpha=0.6)
    distill.fit_student(student, teacher, small_digits, temperature=3.0, alpha=0.6,
                        epochs=1, lr=0.05, weight_decay=weight_decay, optimizer=optimizer,
                        progress=False)
    moved = False
    for ours, theirs in zip(student.parameters(), reference.parameters()):
        assert torch.allclose(ours, theirs, atol=tol, rtol=0)
    for ours, start in zip(student.parameters(), _fresh_student(3).parameters()):
        moved |= not torch.allclose(ours, start)
    assert moved  # the step did something


def _fresh_student(seed):
    train.seed_everything(seed)
    return models.mlp([64, 8, 10])


def test_alpha_zero_student_equals_plain_fit(small_digits, teacher):
    a, b = _fresh_student(4), _fresh_student(4)
    distill.fit_student(a, teacher, small_digits, temperature=2.0, alpha=0.0, epochs=2,
                        lr=1e-2, progress=False)
    train.fit(b, small_digits, epochs=2, lr=1e-2, progress=False)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-7)


def test_fit_student_learns_and_leaves_no_trace(digits, teacher):
    teacher_state = copy.deepcopy(teacher.state_dict())
    teacher.train()
    student = _fresh_student(5)
    history = distill.fit_student(student, teacher, digits, temperature=4.0, alpha=0.5,
                                  epochs=4, lr=1e-2, progress=False)
    assert history.epochs == 4 and max(history.val_accuracy) > 0.85
    assert train.evaluate(student, digits, "val") == pytest.approx(max(history.val_accuracy))
    assert not student._forward_hooks  # the recording hook is removed
    assert teacher.training  # the teacher's mode is restored
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, teacher_state[k])  # and its weights are untouched


def test_cross_entropy_plus_penalty_is_the_scaled_distillation_loss(digits, teacher):
    X, y = digits.X_train[:32], digits.y_train[:32]
    student = _fresh_student(1)
    penalty = distill.DistillationPenalty(teacher, temperature=3.0, alpha=0.75)
    with penalty.attached(student):
        student.train()
        logits = student(X)
        fit_objective = F.cross_entropy(logits, y) + penalty(student)
    with torch.no_grad():
        expected = distill.distillation_loss(logits, teacher(X), y, 3.0, 0.75) / 0.25
    assert torch.allclose(fit_objective, expected, rtol=1e-5)


def test_penalty_needs_a_training_forward_pass(teacher):
    penalty = distill.DistillationPenalty(teacher, temperature=2.0, alpha=0.5)
    student = _fresh_student(0)
    with pytest.raises(RuntimeError, match="no recorded forward pass"):
        penalty(student)
    with penalty.attached(student):
        student.train()
        student(torch.zeros(2, 64))
        value = penalty(student)
        assert value.requires_grad and float(value.detach()) >= 0
        with pytest.raises(RuntimeError, match="no recorded forward pass"):
            penalty(student)  # each recorded pass is used once
        with torch.no_grad():
            student(torch.zeros(2, 64))  # evaluation passes are not recorded
        with pytest.raises(RuntimeError, match="no recorded forward pass"):
            penalty(student)
    assert not student._forward_hooks


@pytest.mark.parametrize("kwargs, error, match", [
    ({"alpha": 1.0}, ValueError, r"alpha must lie in \[0, 1\)"),
    ({"temperature": -1.0}, ValueError, "temperature must be > 0"),
    ({"teacher": "net"}, TypeError, "teacher must be a torch.nn.Module"),
    ({"teacher": models.mlp([64, 7])}, ValueError, "teacher and student disagree"),
    ({"data": "digits"}, TypeError, "ClassificationData"),
    ({"student": torch.nn.ReLU()}, ValueError, "student has no parameters"),
])
def test_fit_student_rejects_bad_arguments(digits, teacher, kwargs, error, match):
    args = {"student": _fresh_student(0), "teacher": teacher, "data": digits,
            "temperature": 2.0, "alpha": 0.5}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        distill.fit_student(args.pop("student"), args.pop("teacher"), args.pop("data"),
                            epochs=1, progress=False, **args)


def test_kernels_are_the_checked_losses():
    torch.manual_seed(0)
    s, t, y = torch.randn(8, 5), torch.randn(8, 5), torch.randint(0, 5, (8,))
    assert torch.equal(distill.distillation_kernel(s, t, y, 3.0, 0.7),
                       distill.distillation_loss(s, t, y, 3.0, 0.7))
    assert torch.equal(distill.soft_target_kernel(s, t, 3.0),
                       distill.soft_target_loss(s, t, 3.0))


@pytest.mark.parametrize("call, error, match", [
    (lambda s, t, y: distill.soft_target_kernel(s, t, 0.0), ValueError, "temperature must be > 0"),
    (lambda s, t, y: distill.soft_target_kernel(s, t[:, :3], 2.0), ValueError, "same shape"),
    (lambda s, t, y: distill.soft_target_kernel(s.numpy(), t, 2.0), TypeError, "torch.Tensor"),
    (lambda s, t, y: distill.distillation_kernel(s, t, y.float(), 2.0, 0.5), TypeError,
     "integer class indices"),
    (lambda s, t, y: distill.distillation_kernel(s, t, y[:4], 2.0, 0.5), ValueError,
     "one label per row"),
    (lambda s, t, y: distill.distillation_kernel(s, t, y, 2.0, 1.5), ValueError, r"alpha must lie"),
])
def test_kernels_shown_on_the_page_check_their_arguments(call, error, match):
    s, t, y = torch.randn(8, 5), torch.randn(8, 5), torch.randint(0, 5, (8,))
    with pytest.raises(error, match=match):
        call(s, t, y)

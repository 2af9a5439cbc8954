"""Knowledge distillation (Hinton, Vinyals & Dean 2015): a small student learns from a teacher.

Introduced in :doc:`faq`, section *Pruning or distillation?*. The student is trained on
a weighted sum of two objectives: the usual cross-entropy with the true labels, and the
cross-entropy with the teacher's *soft targets*, the teacher's class probabilities at a
raised temperature ``T``. The soft term is multiplied by ``T²`` so that its gradients
keep their size when ``T`` changes (Hinton et al., section 2).

``distillation_loss``
    the loss itself, for logits already computed;
``soft_target_loss``
    its soft part alone (``T²`` times the Kullback–Leibler divergence);
``distillation_kernel`` / ``soft_target_kernel``
    the same two formulas without argument checks, as the book shows them;
``DistillationPenalty`` / ``fit_student``
    train a student with that loss through :func:`helpers.train.fit`, whose
    ``penalty`` hook adds the teacher's term to fit's cross-entropy.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Real

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_fraction, checked
from .data import ClassificationData
from .train import History, evaluation_mode, fit

__all__ = ["distillation_loss", "soft_target_loss", "distillation_kernel",
           "soft_target_kernel", "DistillationPenalty", "fit_student"]


def _check_temperature(temperature) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, Real):
        raise TypeError(f"temperature must be a real number, got {type(temperature).__name__}")
    temperature = float(temperature)
    if not math.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return temperature


def _check_soft_target(student_logits, teacher_logits, T) -> None:
    _check_logits(student_logits, teacher_logits)
    _check_temperature(T)


def _check_distillation(student_logits, teacher_logits, labels, T, alpha) -> None:
    _check_soft_target(student_logits, teacher_logits, T)
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError("labels must be a tensor of integer class indices, got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)}")
    if labels.shape != student_logits.shape[:1]:
        raise ValueError(f"labels must hold one label per row of the logits: "
                         f"{tuple(labels.shape)} for logits {tuple(student_logits.shape)}")
    check_fraction(alpha, "alpha")


def _check_logits(student_logits, teacher_logits) -> None:
    for value, name in ((student_logits, "student_logits"), (teacher_logits, "teacher_logits")):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.dim() != 2:
            raise ValueError(f"{name} must be 2-D (examples × classes), "
                             f"got shape {tuple(value.shape)}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError("student_logits and teacher_logits must have the same shape, got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")


def soft_target_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                     temperature: float) -> torch.Tensor:
    """``T² · KL(softmax(z_t / T) ‖ softmax(z_s / T))``, averaged over the batch.

    Introduced in :doc:`faq`, section *Pruning or distillation?*. This is the soft part
    of :func:`distillation_loss`. Hinton et al. write it as the cross-entropy with the
    soft targets; the Kullback–Leibler divergence differs from it by the entropy of the
    teacher's soft targets, a constant for the student, so the gradients are the same and
    the value is 0 when the student matches the teacher. The teacher's logits are used
    as given (detach them, or compute them under ``torch.no_grad``).

    Parameters
    ----------
    student_logits, teacher_logits : torch.Tensor
        Logits of shape ``(examples, classes)``, the same shape.
    temperature : float
        ``T > 0``; larger values soften both distributions.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    return soft_target_kernel(student_logits, teacher_logits, _check_temperature(temperature))


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      labels: torch.Tensor, temperature: float = 4.0,
                      alpha: float = 0.5) -> torch.Tensor:
    """Hinton et al.'s (2015) distillation objective, averaged over the batch.

    Introduced in :doc:`faq`, section *Pruning or distillation?*:

    .. math:: (1 - \\alpha)\\,\\mathrm{CE}(\\mathrm{softmax}(z_s), y)
              + \\alpha\\,T^2\\,\\mathrm{KL}\\big(\\mathrm{softmax}(z_t/T)\\,\\|\\,
              \\mathrm{softmax}(z_s/T)\\big)

    The hard term uses temperature 1, as at test time. With ``alpha = 0`` the loss is
    the ordinary cross-entropy; with ``alpha = 1`` it is :func:`soft_target_loss`.

    Parameters
    ----------
    student_logits, teacher_logits : torch.Tensor
        Logits of shape ``(examples, classes)``; gradients flow into the student's.
    labels : torch.Tensor
        Integer class indices, one per example.
    temperature : float
        ``T > 0`` of the soft targets.
    alpha : float
        Weight in [0, 1] of the soft term.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    return distillation_kernel(student_logits, teacher_logits, labels,
                               _check_temperature(temperature), check_fraction(alpha, "alpha"))


@checked(_check_soft_target)
def soft_target_kernel(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                       T: float) -> torch.Tensor:
    """``T² · KL(softmax(z_t / T) ‖ softmax(z_s / T))``, averaged over the batch.

    Introduced in :doc:`faq`, section *Pruning or distillation?*. Logits of shape
    ``(examples, classes)``; a scalar. :func:`soft_target_loss` is the same function
    (argument ``temperature``), documented in full.
    """
    log_p_student = F.log_softmax(student_logits / T, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits / T, dim=1)
    kl = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    return T * T * kl


@checked(_check_distillation)
def distillation_kernel(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                        labels: torch.Tensor, T: float, alpha: float) -> torch.Tensor:
    """``(1 − α) · CE(z_s, y) + α · T² · KL``: Hinton et al.'s loss, batch-averaged.

    Introduced in :doc:`faq`, section *Pruning or distillation?*. Logits of shape
    ``(examples, classes)``, integer ``labels`` of shape ``(examples,)``; a scalar.
    :func:`distillation_loss` is the same function, documented in full.
    """
    hard = F.cross_entropy(student_logits, labels)
    soft = soft_target_kernel(student_logits, teacher_logits, T)
    return (1 - alpha) * hard + alpha * soft


class DistillationPenalty:
    """A ``penalty`` for :func:`helpers.train.fit` that adds a teacher's soft targets.

    Introduced in :doc:`faq`, section *Pruning or distillation?*. ``fit`` minimises
    ``CE + penalty(model)``; this penalty returns ``α/(1 − α) · T² · KL``, so that fit's
    objective is ``distillation_loss / (1 − α)``: the same minimiser, and, with the
    learning rate and weight decay adjusted as :func:`fit_student` does, the same
    optimiser steps.

    The penalty sees only the model, not the batch, so while it is *attached* to the
    student (:meth:`attached`) a forward hook records the student's input and logits of
    each training forward pass (in training mode with gradients enabled); the penalty
    uses that record once and runs the teacher on the recorded input.

    Parameters
    ----------
    teacher : nn.Module
        A trained network with the student's output shape; it is not trained, and it
        runs in evaluation mode (no dropout, BatchNorm statistics unchanged).
    temperature : float
        ``T > 0``.
    alpha : float
        Weight in [0, 1) of the soft term in :func:`distillation_loss`.
    """

    def __init__(self, teacher: nn.Module, temperature: float = 4.0, alpha: float = 0.5):
        if not isinstance(teacher, nn.Module):
            raise TypeError(f"teacher must be a torch.nn.Module, got {type(teacher).__name__}")
        self.teacher = teacher
        self.temperature = _check_temperature(temperature)
        self.alpha = check_fraction(alpha, "alpha", inclusive_high=False)
        self._record: tuple[torch.Tensor, torch.Tensor] | None = None

    def _remember(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if module.training and torch.is_grad_enabled():
            self._record = (inputs[0], output)

    @contextmanager
    def attached(self, student: nn.Module) -> Iterator["DistillationPenalty"]:
        """Record the student's training forward passes inside a ``with`` block."""
        if not isinstance(student, nn.Module):
            raise TypeError(f"student must be a torch.nn.Module, got {type(student).__name__}")
        handle = student.register_forward_hook(self._remember)
        try:
            yield self
        finally:
            handle.remove()
            self._record = None

    def __call__(self, model: nn.Module) -> torch.Tensor:
        if self._record is None:
            raise RuntimeError("DistillationPenalty has no recorded forward pass of the "
                               "student: use it inside `with penalty.attached(student):` "
                               "after a training forward pass (fit_student does this)")
        inputs, student_logits = self._record
        self._record = None
        # Evaluation mode: no dropout in the soft targets, no update of the teacher's
        # BatchNorm statistics; the caller's modes come back afterwards.
        with torch.no_grad(), evaluation_mode(self.teacher):
            teacher_logits = self.teacher(inputs)
        weight = self.alpha / (1 - self.alpha)
        return weight * soft_target_loss(student_logits, teacher_logits, self.temperature)


def fit_student(student: nn.Module, teacher: nn.Module, data: ClassificationData, *,
                temperature: float = 4.0, alpha: float = 0.5, lr: float = 1e-3,
                weight_decay: float = 0.0, optimizer: str = "adam",
                **fit_kwargs) -> History:
    """Train a student on :func:`distillation_loss` through :func:`helpers.train.fit`.

    Introduced in :doc:`faq`, section *Pruning or distillation?*. Everything else is
    fit's: the training split, the batches, the optimiser, keeping the weights of the
    best validation epoch, early stopping (``patience``) and the other ``fit_kwargs``.

    fit minimises ``distillation_loss / (1 − α)`` (see :class:`DistillationPenalty`).
    To take the optimiser steps of ``distillation_loss`` itself, weight decay is passed
    to fit divided by ``1 − α`` and, for SGD, the learning rate multiplied by ``1 − α``;
    Adam's steps do not depend on a constant factor of the loss (up to its ε). Hence
    ``α = 1`` (soft targets only) is not supported here.

    The teacher runs in evaluation mode (its modules' modes are restored afterwards)
    and must be on the student's device.

    Parameters
    ----------
    student : nn.Module
        Trained in place.
    teacher : nn.Module
        A trained network with the same number of outputs.
    data : ClassificationData
        As for :func:`helpers.train.fit`.
    temperature, alpha : float
        ``T > 0`` and the weight ``α`` in [0, 1) of the soft term.
    lr, weight_decay, optimizer, **fit_kwargs
        As for :func:`helpers.train.fit`, for the loss ``distillation_loss``.

    Returns
    -------
    History
        fit's record of the run.
    """
    if not isinstance(student, nn.Module):
        raise TypeError(f"student must be a torch.nn.Module, got {type(student).__name__}")
    penalty = DistillationPenalty(teacher, temperature, alpha)
    if not isinstance(data, ClassificationData):
        raise TypeError(f"data must be a helpers.data.ClassificationData, "
                        f"got {type(data).__name__}")
    params = list(student.parameters())
    if not params:
        raise ValueError("student has no parameters to train")
    device = params[0].device
    if any(p.device != device for p in teacher.parameters()):
        raise ValueError(f"teacher must be on the student's device ({device}); "
                         f"move it with teacher.to({str(device)!r})")
    with torch.no_grad(), evaluation_mode(student), evaluation_mode(teacher):
        probe = data.X_val[:2].to(device)
        shapes = tuple(student(probe).shape), tuple(teacher(probe).shape)
    if shapes[0] != shapes[1]:
        raise ValueError(f"teacher and student disagree on the output shape: "
                         f"{shapes[1]} and {shapes[0]}")
    scale = 1 - penalty.alpha
    if optimizer == "sgd":
        lr = lr * scale
    with penalty.attached(student):
        return fit(student, data, lr=lr, weight_decay=weight_decay / scale,
                   optimizer=optimizer, penalty=penalty, **fit_kwargs)

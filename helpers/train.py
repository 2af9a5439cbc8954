"""Seeding, training and evaluation loops.

The loops are deliberately plain PyTorch. Two hooks make every method of the book
a small variation of one loop:

``penalty(model) -> Tensor``
    added to the data loss before ``backward`` (an L1 or group-lasso term);
``after_step(model) -> None``
    called after every optimiser step (the proximal L1 step, or re-applying
    pruning masks so that pruned weights stay zero during fine-tuning).
"""

from __future__ import annotations

import copy
import random
import sys
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ._checks import check_fraction, check_nonnegative, check_positive_int
from .data import ClassificationData

__all__ = ["History", "seed_everything", "fit", "evaluate", "accuracy", "predictions",
           "correct", "recalibrate_batchnorm"]

Hook = Callable[[nn.Module], None]
#: ``after_epoch(model, history)``: called after every epoch of :func:`fit`.
EpochHook = Callable[[nn.Module, "History"], None]
Penalty = Callable[[nn.Module], torch.Tensor]


@contextmanager
def evaluation_mode(model):
    """Evaluation mode for the ``with`` block; afterwards every module's own mode again.

    What every helper that runs a caller's model uses (it changes no mode for good).

    ``model.train(was_training)`` would instead set one mode for all submodules and
    lose a caller's mixture (e.g. a network in training mode with frozen BatchNorm
    layers in evaluation mode).
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch so that a run can be repeated exactly.

    Introduced in :doc:`how-to-use`. Returns a ``torch.Generator`` seeded with the
    same value, for code that prefers an explicit generator.

    Examples
    --------
    >>> import torch
    >>> from helpers.train import seed_everything
    >>> _ = seed_everything(0); a = torch.rand(2)
    >>> _ = seed_everything(0); b = torch.rand(2)
    >>> torch.equal(a, b)
    True
    """
    check_positive_int(seed, "seed", allow_zero=True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass
class History:
    """What :func:`fit` records, one entry per epoch.

    ``best_epoch`` is the index of the epoch whose weights were kept, ``-1`` when they
    are the starting weights (``fit(..., keep_start=True)``, whose validation accuracy
    is ``start_accuracy``).
    """

    train_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = -1
    start_accuracy: float | None = None

    @property
    def epochs(self) -> int:
        """Number of epochs actually run (early stopping may end training sooner)."""
        return len(self.train_loss)


@torch.no_grad()
def predictions(model: nn.Module, X: torch.Tensor, *, batch_size: int = 1024) -> torch.Tensor:
    """The arg-max class of every example, shape ``(n,)``, on the CPU.

    Introduced in :doc:`how-to-use`. The model runs in evaluation mode (each module's
    mode is restored afterwards), in batches of ``batch_size`` on the device of its parameters.
    """
    check_positive_int(batch_size, "batch_size")
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
    # A dynamically quantised model (torch int8 kernels) has no parameters: CPU.
    device = next(model.parameters(), torch.empty(0)).device
    with evaluation_mode(model):
        out = [model(X[start:start + batch_size].to(device)).argmax(dim=1).cpu()
               for start in range(0, len(X), batch_size)]
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def correct(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *,
            batch_size: int = 1024) -> np.ndarray:
    """Per-example correctness: a bool array of shape ``(n,)``, True where the arg-max
    prediction equals the label.

    Introduced in :doc:`background`, section *Judging a compression claim*: rows of these
    (one per seed) are what :func:`helpers.stats.compare_accuracy` compares.
    """
    if len(X) != len(y):
        raise ValueError(f"X and y differ in length: {len(X)} and {len(y)}")
    if len(X) == 0:
        raise ValueError("cannot compute the accuracy of an empty set")
    return (predictions(model, X, batch_size=batch_size) == y.cpu()).numpy()


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *,
             batch_size: int = 1024) -> float:
    """Fraction of examples whose arg-max prediction equals the label.

    Introduced in :doc:`how-to-use`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from helpers.train import accuracy
    >>> model = nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.eye(2))
    >>> accuracy(model, torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), torch.tensor([0, 1, 1]))
    0.6666666666666666
    """
    return float(correct(model, X, y, batch_size=batch_size).mean())


def evaluate(model: nn.Module, data: ClassificationData, which: str = "val") -> float:
    """Accuracy of ``model`` on one split of ``data`` ("train", "val" or "test").

    Introduced in :doc:`how-to-use`.
    """
    X, y = data.split(which)
    return accuracy(model, X, y)


def _as_list(hooks: Hook | Iterable[Hook] | None) -> list[Hook]:
    if hooks is None:
        return []
    if callable(hooks):
        return [hooks]
    return list(hooks)


def fit(model: nn.Module, data: ClassificationData, *, epochs: int = 30,
        lr: float = 1e-3, batch_size: int = 64, weight_decay: float = 0.0,
        optimizer: str = "adam", momentum: float = 0.9, penalty: Penalty | None = None,
        after_step: Hook | Iterable[Hook] | None = None, patience: int | None = None,
        keep_start: bool = False, after_epoch: EpochHook | None = None, seed: int = 0,
        progress: bool = True, desc: str = "training") -> History:
    """Train a classifier with cross-entropy; keep the weights of the best validation epoch.

    Introduced in :doc:`how-to-use`; the hooks are introduced in the L1 and pruning
    chapters.

    Parameters
    ----------
    model : nn.Module
        Trained in place (on the device its parameters are on); afterwards each of
        its modules is back in the train/eval mode it had before.
    data : ClassificationData
        Training uses ``data``'s training split; validation accuracy after every epoch
        selects the epoch whose weights are kept (the test split is never looked at).
    epochs : int
        Maximum number of passes over the training split.
    lr, weight_decay : float
        Learning rate and L2 weight decay of the optimiser.
    optimizer : {"adam", "sgd"}
        Adam, or SGD (with ``momentum``).
    momentum : float
        In [0, 1): SGD's momentum coefficient μ, or Adam's β₁ (its momentum of the
        gradient; β₂ stays 0.999). The default 0.9 is the usual choice for both, and was
        fixed before this argument existed. With SGD, a gradient that stays the same
        moves a weight by ``lr / (1 − μ)`` per step in the long run, ten times ``lr`` at
        μ = 0.9: the *effective step* against which a proximal step's threshold is set
        (:doc:`l1-regularization`, section *L1 in a neural network*).
    penalty : callable, optional
        ``penalty(model)`` is added to the loss (for example an L1 term).
    after_step : callable or list of callables, optional
        Each is called as ``hook(model)`` after every optimiser step.
    patience : int, optional
        Stop when validation accuracy has not improved for this many epochs.
    keep_start : bool
        Count the starting weights as a candidate too (their validation accuracy is
        measured before the first epoch): training that does not improve on them
        gives them back, so fine-tuning never ends below where it started on the
        validation split. Use it to continue training a trained network — a pruned
        one under a mask, or the dense control of an equal training budget, which
        must not end below its parent (:doc:`background`). Leave it off when the hooks
        or the penalty must shape the weights the call returns (proximal L1, gradual
        pruning, weight tying): the starting weights do not have that shape.
    after_epoch : callable, optional
        Called as ``after_epoch(model, history)`` after every epoch's validation, with
        that epoch's weights (before the best ones are restored) and the history so
        far. The compression benchmark uses it to take the dense controls of several
        training budgets from one run (:doc:`benchmark-results`).
    seed : int
        Seeds the order of the training examples (a new permutation every epoch, drawn
        from one generator seeded with ``seed``); call :func:`seed_everything` before building
        the model to fix its initial weights as well.
    progress : bool
        Show a progress bar (on stdout) over epochs.
    """
    check_positive_int(epochs, "epochs")
    check_nonnegative(lr, "lr")
    check_nonnegative(weight_decay, "weight_decay")
    check_positive_int(batch_size, "batch_size")
    check_positive_int(seed, "seed", allow_zero=True)
    if not isinstance(keep_start, bool):
        raise TypeError(f"keep_start must be True or False, got {keep_start!r}")
    if after_epoch is not None and not callable(after_epoch):
        raise TypeError(f"after_epoch must be a function after_epoch(model, history), "
                        f"got {type(after_epoch).__name__}")
    momentum = check_fraction(momentum, "momentum", inclusive_high=False)
    if patience is not None:
        check_positive_int(patience, "patience")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr, betas=(momentum, 0.999),
                               weight_decay=weight_decay)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum,
                              weight_decay=weight_decay)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    hooks = _as_list(after_step)
    device = params[0].device
    # Mini-batches are slices of the training tensors, taken in a seeded random order
    # (one permutation per epoch), with no per-example Dataset indexing.
    X_train, y_train = (t.to(device) for t in data.split("train"))
    order = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    history = History()
    best_acc, best_state, since_best = -1.0, None, 0
    if keep_start:
        best_acc = history.start_accuracy = evaluate(model, data, "val")
        best_state = copy.deepcopy(model.state_dict())

    bar = tqdm(range(epochs), desc=desc, file=sys.stdout, disable=not progress,
               leave=False, dynamic_ncols=True)
    # Training mode while training; afterwards, the caller's mode of every module again.
    with evaluation_mode(model):
        for epoch in bar:
            model.train()
            total, count = 0.0, 0
            permutation = torch.randperm(len(X_train), generator=order).to(device)
            for start in range(0, len(X_train), batch_size):
                batch = permutation[start:start + batch_size]
                xb, yb = X_train[batch], y_train[batch]
                loss = loss_fn(model(xb), yb)
                objective = loss if penalty is None else loss + penalty(model)
                opt.zero_grad(set_to_none=True)
                objective.backward()
                opt.step()
                for hook in hooks:
                    hook(model)
                total += loss.item() * len(xb)
                count += len(xb)
            history.train_loss.append(total / count)
            val_acc = evaluate(model, data, "val")
            history.val_accuracy.append(val_acc)
            bar.set_postfix(loss=f"{total / count:.3f}", val_acc=f"{val_acc:.3f}")
            if val_acc > best_acc:
                best_acc, since_best = val_acc, 0
                best_state = copy.deepcopy(model.state_dict())
                history.best_epoch = epoch
            else:
                since_best += 1
            if after_epoch is not None:
                after_epoch(model, history)
            if since_best and patience is not None and since_best >= patience:
                break
    bar.close()
    model.load_state_dict(best_state)
    return history


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, data: ClassificationData, *,
                          batch_size: int = 256) -> nn.Module:
    """Recompute every BatchNorm layer's running statistics on the training split.

    Introduced in :doc:`residual-networks`, section *What the smaller network gains*.
    A BatchNorm layer normalises with the mean and variance its input had during
    training. Removing channels upstream changes what reaches it, so the stored
    statistics no longer fit, and the pruned network can collapse (every image in one
    class) although its weights are good. Recomputing the statistics with forward
    passes over the training images, without a gradient step, repairs much of it: the
    "adaptive BatchNorm" of EagleEye (Li et al. 2020), the cheap step before fine-tuning
    or before comparing pruning criteria. The work is done by PyTorch's
    ``torch.optim.swa_utils.update_bn`` (a cumulative average over the batches,
    momentum set aside); this function feeds it the training split in batches and
    restores every module's train/eval mode afterwards.

    Parameters
    ----------
    model : nn.Module
        Changed in place: only the BatchNorm layers' ``running_mean``,
        ``running_var`` and ``num_batches_tracked``. On the device of its parameters.
    data : ClassificationData
        Its training split (the inputs only) is passed through the model.
    batch_size : int
        Images per forward pass (> 0). Each statistic is the mean over the batches of
        that batch's statistic; one batch of the whole split gives the split's exact
        mean and (unbiased) variance. The forward passes run in training mode, as
        BatchNorm needs (dropout layers, if any, are active during them).

    Returns
    -------
    nn.Module
        ``model``.

    Raises
    ------
    ValueError
        If ``model`` has no BatchNorm layer that tracks running statistics (nothing
        to recalibrate).

    References
    ----------
    B. Li, B. Wu, J. Su, G. Wang, "EagleEye: Fast sub-net evaluation for efficient neural
    network pruning", ECCV 2020.
    """
    check_positive_int(batch_size, "batch_size")
    # the layers update_bn resets: every kind of BatchNorm that keeps running statistics
    if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
               for m in model.modules()):
        raise ValueError("model has no BatchNorm layer with running statistics: there is "
                         "nothing to recalibrate")
    device = next(model.parameters()).device
    X = data.split("train")[0].to(device)
    with evaluation_mode(model):
        torch.optim.swa_utils.update_bn(
            (X[start:start + batch_size] for start in range(0, len(X), batch_size)), model)
    return model

"""Data sets used in the book, all bundled with scikit-learn or generated locally.

Nothing here downloads anything unless a reader explicitly asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from ._checks import check_fraction, check_nonnegative, check_positive_int
from .experiments import cached

__all__ = ["ClassificationData", "load_digits_split", "load_diabetes", "make_sparse_regression"]


@dataclass(frozen=True)
class ClassificationData:
    """A fixed train/validation/test split of a classification data set, as tensors.

    Introduced in :doc:`how-to-use`; used by every chapter that trains a network.
    The test split is for the final report only: choices (epochs, λ, sparsity)
    are made on the validation split.

    Attributes
    ----------
    X_train, X_val, X_test : torch.Tensor
        Float32 inputs, standardised with the training split's mean and std.
    y_train, y_val, y_test : torch.Tensor
        Int64 class labels.
    name : str
        A short name for tables and plots.
    n_classes : int
        Number of classes.
    """

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    name: str
    n_classes: int

    @property
    def n_features(self) -> int:
        """Number of input features of one example (flattened)."""
        return int(np.prod(self.X_train.shape[1:]))

    def split(self, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(X, y)`` of the split named ``"train"``, ``"val"`` or ``"test"``."""
        if which not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {which!r}")
        return getattr(self, f"X_{which}"), getattr(self, f"y_{which}")

    def loader(self, which: str, batch_size: int = 64, *, shuffle: bool | None = None,
               seed: int = 0) -> DataLoader:
        """A DataLoader over one split; only the training split is shuffled by default.

        Shuffling uses its own seeded generator, so the order of batches is
        reproducible and independent of any other random numbers drawn.
        """
        check_positive_int(batch_size, "batch_size")
        X, y = self.split(which)
        shuffle = (which == "train") if shuffle is None else shuffle
        generator = torch.Generator().manual_seed(seed)
        return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle,
                          generator=generator)

    def as_images(self, height: int, width: int) -> "ClassificationData":
        """The same split with inputs reshaped to ``(n, 1, height, width)`` for a CNN."""
        if height * width != self.n_features:
            raise ValueError(f"cannot reshape {self.n_features} features into "
                             f"{height}x{width} images")
        reshape = lambda X: X.reshape(len(X), 1, height, width)  # noqa: E731
        return ClassificationData(reshape(self.X_train), self.y_train, reshape(self.X_val),
                                  self.y_val, reshape(self.X_test), self.y_test,
                                  self.name, self.n_classes)


def check_data(data, name: str = "data"):
    """Return ``data`` if it is a :class:`ClassificationData`, else raise TypeError.

    The argument check of every helper that takes a data set (``name`` names the
    argument in the message).
    """
    if not isinstance(data, ClassificationData):
        raise TypeError(f"{name} must be a helpers.data.ClassificationData, "
                        f"got {type(data).__name__}")
    return data


def _standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0  # constant pixels (the digits' borders) stay at zero
    return [(a - mean) / std for a in (train, *others)]


def load_digits_split(val_size: float = 0.2, test_size: float = 0.2, *,
                      split_seed: int = 0, standardize: bool = True) -> ClassificationData:
    """scikit-learn's 8×8 handwritten digits with a fixed stratified split.

    Introduced in :doc:`how-to-use`; the running example of every chapter.
    1,797 images of 64 pixels, 10 classes, bundled with scikit-learn (no download).
    With the defaults: 60% training, 20% validation, 20% test, stratified by class.

    Parameters
    ----------
    val_size, test_size : float
        Fractions of the whole data set for validation and test.
    split_seed : int
        Seed of the split. Keep it fixed: the book's numbers assume the default.
    standardize : bool
        Standardise pixels with the training split's mean and std.

    Returns
    -------
    ClassificationData
        A new object at every call. Where the book's cache is on
        (:mod:`helpers.experiments`), the split is read from it: scikit-learn, which
        takes about a second to import, is imported only by the first call.

    Raises
    ------
    ValueError
        For fractions outside [0, 1] or adding up to 1 or more, or a negative seed.
    TypeError
        For a seed that is not an integer (``None`` would draw a new split at every
        call), or a ``standardize`` that is not a bool.

    Examples
    --------
    >>> from helpers.data import load_digits_split
    >>> data = load_digits_split()
    >>> data.X_train.shape, len(data.X_val), len(data.X_test)
    (torch.Size([1077, 64]), 360, 360)
    """
    val_size = check_fraction(val_size, "val_size")
    test_size = check_fraction(test_size, "test_size")
    if val_size + test_size >= 1:
        raise ValueError(f"val_size + test_size must be < 1, got {val_size + test_size}")
    split_seed = check_positive_int(split_seed, "split_seed", allow_zero=True)
    if not isinstance(standardize, bool):
        raise TypeError(f"standardize must be True or False, got {standardize!r}")
    return _digits_split(val_size, test_size, split_seed, standardize)


@cached  # read from the book's cache where it is on: no page imports scikit-learn for it
def _digits_split(val_size: float, test_size: float, split_seed: int,
                  standardize: bool) -> ClassificationData:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=split_seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=val_size / (1 - test_size), stratify=y_rest,
        random_state=split_seed)
    if standardize:
        X_train, X_val, X_test = _standardise(X_train, X_val, X_test)
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
    i = lambda a: torch.as_tensor(a, dtype=torch.int64)  # noqa: E731
    return ClassificationData(t(X_train), i(y_train), t(X_val), i(y_val), t(X_test),
                              i(y_test), name="digits", n_classes=10)


# --- Regression data for the L1 chapter ---------------------------------------------

def load_diabetes(*, scaled: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The diabetes data of Efron et al. (2004), bundled with scikit-learn (no download).

    Introduced in :doc:`l1-regularization`, section *The Lasso path on the diabetes
    data*. 442 patients, 10 baseline variables (age, sex, body-mass index, mean
    blood pressure and six blood serum measurements ``s1``…``s6``); the target is a
    measure of disease progression one year later. This is the data set on which
    LARS and the Lasso path were first shown.

    Parameters
    ----------
    scaled : bool
        With the default, scikit-learn's version: every column centred and scaled to
        unit Euclidean norm (as in Efron et al.). ``False`` gives the raw values.

    Returns
    -------
    X : ndarray of shape (442, 10), float64
    y : ndarray of shape (442,), float64
    feature_names : list of str
        ``["age", "sex", "bmi", "bp", "s1", …, "s6"]``.
    """
    from sklearn.datasets import load_diabetes as _sk_load_diabetes

    if not isinstance(scaled, bool):
        raise TypeError(f"scaled must be True or False, got {type(scaled).__name__}")
    bunch = _sk_load_diabetes(scaled=scaled)
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.float64)
    return X, y, list(bunch.feature_names)


def make_sparse_regression(n_samples: int, n_features: int, n_informative: int, *,
                           noise: float = 1.0, correlation: float = 0.0,
                           design: str = "equicorrelated",
                           seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A linear model ``y = X w* + noise`` whose true coefficients ``w*`` are sparse.

    Introduced in :doc:`l1-regularization`, section *A Lasso example needs a sparse
    truth*, where the Lasso has to recover the support of ``w*``.

    The rows of ``X`` are independent Gaussian vectors with unit variances and
    correlation structure

    - ``design="equicorrelated"``: every pair of features has correlation
      ``correlation`` (a shared latent factor);
    - ``design="ar1"``: features ``i`` and ``j`` have correlation
      ``correlation ** |i - j|`` (neighbours are alike).

    ``w*`` has ``n_informative`` nonzero entries at positions drawn at random, with
    random signs and magnitudes drawn uniformly from [1, 2]. The noise is Gaussian
    with standard deviation ``noise``. Everything is drawn from
    ``numpy.random.default_rng(seed)``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), float64
    true_coef : ndarray of shape (n_features,)
        ``w*``; its support is ``np.flatnonzero(true_coef)``.

    Examples
    --------
    >>> from helpers.data import make_sparse_regression
    >>> X, y, w = make_sparse_regression(100, 20, 5, seed=0)
    >>> X.shape, y.shape, int((w != 0).sum())
    ((100, 20), (100,), 5)
    """
    check_positive_int(n_samples, "n_samples")
    check_positive_int(n_features, "n_features")
    check_positive_int(n_informative, "n_informative", allow_zero=True)
    if n_informative > n_features:
        raise ValueError(f"n_informative ({n_informative}) cannot exceed n_features "
                         f"({n_features})")
    noise = check_nonnegative(noise, "noise")
    correlation = check_fraction(correlation, "correlation", inclusive_high=False)
    if design not in ("equicorrelated", "ar1"):
        raise ValueError(f"design must be 'equicorrelated' or 'ar1', got {design!r}")
    check_positive_int(seed, "seed", allow_zero=True)

    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_samples, n_features))
    if design == "equicorrelated":
        shared = rng.standard_normal((n_samples, 1))
        X = np.sqrt(1.0 - correlation) * Z + np.sqrt(correlation) * shared
    else:
        X = np.empty_like(Z)
        X[:, 0] = Z[:, 0]
        innovation = np.sqrt(1.0 - correlation ** 2)
        for j in range(1, n_features):
            X[:, j] = correlation * X[:, j - 1] + innovation * Z[:, j]
    true_coef = np.zeros(n_features)
    support = rng.choice(n_features, size=n_informative, replace=False)
    signs = rng.choice([-1.0, 1.0], size=n_informative)
    true_coef[support] = signs * rng.uniform(1.0, 2.0, size=n_informative)
    y = X @ true_coef + noise * rng.standard_normal(n_samples)
    return X, y, true_coef

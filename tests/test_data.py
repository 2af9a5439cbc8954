"""helpers.data: the fixed digits split."""

from __future__ import annotations

import pytest
import torch

from helpers import data


def test_split_sizes_and_stratification(digits):
    sizes = [len(digits.split(s)[1]) for s in ("train", "val", "test")]
    assert sum(sizes) == 1797
    assert sizes == [1077, 360, 360]
    for which in ("train", "val", "test"):
        counts = torch.bincount(digits.split(which)[1], minlength=10).float()
        share = counts / counts.sum()
        assert share.min() > 0.08 and share.max() < 0.12  # about 10% per class


def test_splits_are_disjoint_and_fixed(digits):
    again = data.load_digits_split()
    assert torch.equal(digits.X_test, again.X_test)
    rows = {tuple(r.tolist()) for r in digits.X_train}
    assert not any(tuple(r.tolist()) in rows for r in digits.X_test[:50])


def test_standardised_with_training_statistics(digits):
    mean = digits.X_train.mean(0)
    std = digits.X_train.std(0, unbiased=False)
    assert torch.allclose(mean, torch.zeros(64), atol=1e-5)
    varying = std > 0
    assert torch.allclose(std[varying], torch.ones(int(varying.sum())), atol=1e-4)
    assert digits.X_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64


def test_loader_shuffles_reproducibly(digits):
    first = next(iter(digits.loader("train", 32, seed=3)))[1]
    again = next(iter(digits.loader("train", 32, seed=3)))[1]
    other = next(iter(digits.loader("train", 32, seed=4)))[1]
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(next(iter(digits.loader("test", 360)))[1], digits.y_test)


def test_as_images(digits):
    images = digits.as_images(8, 8)
    assert images.X_train.shape == (1077, 1, 8, 8)
    with pytest.raises(ValueError, match="cannot reshape 64 features"):
        digits.as_images(7, 7)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"val_size": 1.5}, ValueError, "val_size must lie in"),
    ({"test_size": -0.1}, ValueError, "test_size must lie in"),
    ({"val_size": 0.5, "test_size": 0.5}, ValueError, "must be < 1"),
    ({"val_size": "0.2"}, TypeError, "val_size must be a real number"),
])
def test_bad_split_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.load_digits_split(**kwargs)


def test_bad_split_name(digits):
    with pytest.raises(ValueError, match="split must be"):
        digits.split("validation")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"split_seed": None}, TypeError, "split_seed must be an integer"),
    ({"split_seed": -1}, ValueError, "split_seed must be >= 0"),
    ({"standardize": "yes"}, TypeError, "standardize must be True or False"),
])
def test_bad_seed_and_standardize(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.load_digits_split(**kwargs)


def test_with_the_cache_on_the_split_is_read_without_importing_scikit_learn(
        tmp_path, digits, monkeypatch):
    """The first call computes and stores the split; a later process reads it without
    importing scikit-learn, and gets the same tensors."""
    import os
    import subprocess
    import sys

    from helpers import experiments

    monkeypatch.setenv(experiments.ENV, str(tmp_path / "cache"))
    stored = data.load_digits_split()
    assert torch.equal(stored.X_train, digits.X_train)
    code = ("import sys, torch, helpers.data as d; s = d.load_digits_split();"
            "torch.save([s.X_train, s.y_test], sys.argv[1]);"
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "read.pt")],
                         env=dict(os.environ), check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
    X_train, y_test = torch.load(tmp_path / "read.pt")
    assert torch.equal(X_train, digits.X_train) and torch.equal(y_test, digits.y_test)

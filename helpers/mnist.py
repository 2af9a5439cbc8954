"""MNIST and Fashion-MNIST from their IDX files, for readers who want the papers' data.

The book itself runs on the 8×8 digits bundled with scikit-learn and never downloads
anything. LeNet-300-100 and LeNet-5, the networks of Han et al. (2015), were trained on
MNIST (LeCun et al. 1998): 60,000 training and 10,000 test images of 28×28 pixels.
:func:`load_mnist` reads the four standard files from a folder the reader names and
returns the same :class:`helpers.data.ClassificationData` as
:func:`helpers.data.load_digits_split`, so every chapter's code runs on it unchanged.
It downloads only when asked to (``download=True``).

Fashion-MNIST (Xiao et al. 2017) has MNIST's format, sizes and file names, with ten
kinds of clothing instead of digits, and is harder. :func:`load_fashion_mnist` reads it
where Debian's package ``dataset-fashion-mnist`` installs it
(:data:`FASHION_MNIST_DIR`), or from any folder holding the four files.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import urllib.error
import urllib.request
from numbers import Integral
from pathlib import Path

import numpy as np
import torch

from ._checks import check_fraction, check_positive_int
from .data import ClassificationData, _standardise

__all__ = ["FILES", "MIRRORS", "FASHION_MNIST_DIR", "FASHION_MNIST_PACKAGE",
           "FASHION_MNIST_CLASSES", "read_idx", "find_mnist_files", "download_mnist",
           "load_mnist", "load_fashion_mnist"]

#: The four files of MNIST, by role (each may also be gzipped: name + ".gz").
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: Where :func:`download_mnist` looks, in order (the gzipped files).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Where Debian's package :data:`FASHION_MNIST_PACKAGE` puts the four Fashion-MNIST
#: files (gzipped; the same names as MNIST's, :data:`FILES`).
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
#: The Debian package of Fashion-MNIST (``apt-get install dataset-fashion-mnist``).
FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
#: Fashion-MNIST's ten classes, by label (Xiao et al. 2017, Table 1).
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")

# IDX type codes (third byte of the magic number) -> big-endian numpy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":  # not gzip
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, OSError) as err:
        raise ValueError(f"{path} is a truncated or corrupt gzip file ({err}); "
                         "download it again") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (plain or gzipped) into a numpy array.

    Introduced in :doc:`background`, section *How to read and run this book*. The IDX
    format (LeCun et al.) is a 4-byte magic number — two zero bytes, a type code
    (``0x08`` unsigned byte, ``0x09`` signed byte, ``0x0B`` int16, ``0x0C`` int32,
    ``0x0D`` float32, ``0x0E`` float64) and the number of dimensions — then each
    dimension as a big-endian uint32, then the data in C order, big-endian.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        A bad magic number, an unknown type code, or a file whose data is shorter
        (truncated) or longer than its header says.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no IDX file at {path}")
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path} is truncated: {len(raw)} bytes, too short for an IDX header")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise ValueError(f"{path} is not an IDX file: bad magic number 0x{raw[:4].hex()} "
                         "(expected 00 00, a type code in "
                         f"{[hex(c) for c in _IDX_TYPES]} and a dimension count > 0)")
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: its header needs {header} bytes, "
                         f"the file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise ValueError(f"{path} is truncated: the header announces shape {shape} "
                         f"({expected} bytes of data), the file holds {found}")
    if found > expected:
        raise ValueError(f"{path} has {found - expected} bytes more than its header "
                         f"(shape {shape}) announces; is it an IDX file?")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def find_mnist_files(folder: str | os.PathLike) -> dict[str, Path]:
    """Paths of the four MNIST files in ``folder`` (plain or ``.gz``).

    Introduced in :doc:`background`, section *How to read and run this book*.

    Raises
    ------
    FileNotFoundError
        With a message that lists the missing files and says where to put them.
    """
    return _find_files(folder, "MNIST", (
        f"Put the four standard IDX files ({', '.join(FILES.values())}) in that folder, "
        f"e.g. from {MIRRORS[0]}, or call load_mnist(folder, download=True) on a machine "
        "with internet access."))


def _find_files(folder: str | os.PathLike, what: str, advice: str) -> dict[str, Path]:
    """The paths of the four IDX files of :data:`FILES` in ``folder`` (plain or ``.gz``);
    a ``FileNotFoundError`` naming the missing ones, then ``advice``, if any is absent."""
    folder = Path(folder)
    found, missing = {}, []
    for role, name in FILES.items():
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                found[role] = candidate
                break
        else:
            missing.append(name)
    if missing:
        where = folder.resolve() if folder.is_dir() else f"{folder.resolve()} (no such folder)"
        raise FileNotFoundError(f"{what} files missing in {where}: {', '.join(missing)} "
                                f"(plain or gzipped with '.gz'). {advice}")
    return found


def download_mnist(folder: str | os.PathLike, *, mirrors: tuple[str, ...] = MIRRORS,
                   timeout: float = 30.0) -> dict[str, Path]:
    """Download the gzipped MNIST files that are missing from ``folder``.

    Introduced in :doc:`background`, section *How to read and run this book*. Only
    called on explicit request. Each file is tried on every mirror in turn and written
    atomically (a partial download never appears under the final name).

    Raises
    ------
    ConnectionError
        When a file cannot be fetched from any mirror (for example, offline); the
        message says how to provide the files by hand.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        if (folder / name).is_file() or (folder / f"{name}.gz").is_file():
            continue
        errors = []
        for mirror in mirrors:
            url = f"{mirror}{name}.gz"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    payload = response.read()
            except (urllib.error.URLError, OSError, TimeoutError) as err:
                errors.append(f"{url}: {err}")
                continue
            with tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp:
                tmp.write(payload)
            os.replace(tmp.name, folder / f"{name}.gz")
            print(f"downloaded {url}")
            break
        else:
            raise ConnectionError(
                f"could not download {name}.gz ({'; '.join(errors)}). Without internet "
                f"access, copy the four MNIST IDX files ({', '.join(FILES.values())}, "
                f"plain or .gz) into {folder.resolve()} and call load_mnist() again.")
    return find_mnist_files(folder)


def _check_pair(images: np.ndarray, labels: np.ndarray, split: str, what: str) -> None:
    if images.ndim != 3 or labels.ndim != 1:
        raise ValueError(f"{what} {split} files have shapes {images.shape} and "
                         f"{labels.shape}; expected (n, height, width) images and (n,) labels")
    if len(images) != len(labels):
        raise ValueError(f"{what} {split} files disagree: {len(images)} images but "
                         f"{len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{what} {split} labels must lie in 0..9, found {labels.min()}.."
                         f"{labels.max()}")


def _check_val_size(val_size) -> None:
    if isinstance(val_size, bool) or not isinstance(val_size, (Integral, float)):
        raise TypeError(f"val_size must be an int or a float, got {type(val_size).__name__}")
    if isinstance(val_size, Integral):
        check_positive_int(val_size, "val_size")
    else:
        check_fraction(val_size, "val_size", inclusive_high=False)


def load_mnist(folder: str | os.PathLike, *, val_size: int | float = 10_000,
               split_seed: int = 0, standardize: bool = True,
               download: bool = False) -> ClassificationData:
    """MNIST as a :class:`~helpers.data.ClassificationData`, from the IDX files in ``folder``.

    Introduced in :doc:`background`, section *How to read and run this book*. The
    official test set (10,000 images) is the test split; a fixed, stratified
    validation split is taken from the 60,000 training images. Inputs are flattened to
    784 features (``.as_images(28, 28)`` gives images for a CNN) and, like the digits,
    standardised per pixel with the training split's mean and std (otherwise scaled to
    [0, 1]).

    Parameters
    ----------
    folder : path
        Folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each may end in
        ``.gz``).
    val_size : int or float
        Number (int) or fraction (float) of training images held out for validation.
    split_seed : int
        Seed of the validation split.
    standardize : bool
        Standardise pixels (else divide by 255).
    download : bool
        Download missing files first (:func:`download_mnist`). Off by default: without
        it, missing files raise ``FileNotFoundError`` with instructions.
    """
    _check_val_size(val_size)
    if download:
        download_mnist(folder)
    return _load_split(find_mnist_files(folder), "mnist", "MNIST", val_size=val_size,
                       split_seed=split_seed, standardize=standardize)


def load_fashion_mnist(folder: str | os.PathLike | None = None, *,
                       val_size: int | float = 10_000, split_seed: int = 0,
                       standardize: bool = True) -> ClassificationData:
    """Fashion-MNIST as a :class:`~helpers.data.ClassificationData`, from its IDX files.

    Introduced in :doc:`benchmark-results` (the compression benchmark's
    ``--data fashion-mnist``). Fashion-MNIST (Xiao et al. 2017) is a drop-in replacement
    for MNIST: 60,000 training and 10,000 test images of 28×28 grey pixels, ten
    classes (:data:`FASHION_MNIST_CLASSES`), the same four file names (:data:`FILES`).
    The official test set is the test split; a fixed validation split, stratified by
    class (1,000 images of each class with the default ``val_size``), is drawn from the
    60,000 training images with ``split_seed``, so a benchmark chooses on it and the
    test images choose nothing. Inputs are flattened to 784 features (``.as_images(28,
    28)`` gives ``(n, 1, 28, 28)`` images for LeNet-5) and standardised per pixel with
    the training split's mean and std (otherwise scaled to [0, 1]), as
    :func:`load_mnist` does. Nothing is downloaded.

    Parameters
    ----------
    folder : path, optional
        Folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each may end in
        ``.gz``). Default: :data:`FASHION_MNIST_DIR`, where Debian's package
        ``dataset-fashion-mnist`` installs them.
    val_size : int or float
        Number (int) or fraction (float) of training images held out for validation.
    split_seed : int
        Seed of the validation split.
    standardize : bool
        Standardise pixels (else divide by 255).

    Returns
    -------
    ClassificationData
        Named ``"fashion-mnist"``, 10 classes; ``X_*`` float32 of shape ``(n, 784)``,
        ``y_*`` int64 of shape ``(n,)``; 50,000 / 10,000 / 10,000 images by default.

    Raises
    ------
    FileNotFoundError
        A file is missing: the message names the missing files, Debian's package
        ``dataset-fashion-mnist`` and the ``folder`` argument for another copy.
    ValueError
        Inconsistent or corrupt files (:func:`read_idx`), or a ``val_size`` that
        leaves no training images or cannot be stratified.
    TypeError
        ``val_size`` is neither an int nor a float.
    """
    _check_val_size(val_size)
    where = FASHION_MNIST_DIR if folder is None else folder
    paths = _find_files(where, "Fashion-MNIST", (
        f"Install Debian's package {FASHION_MNIST_PACKAGE} "
        f"(apt-get install {FASHION_MNIST_PACKAGE}), which puts them in "
        f"{FASHION_MNIST_DIR}, or pass the folder of another copy: "
        "load_fashion_mnist(folder) (python -m benchmarks.compression --data fashion-mnist "
        "--data-dir PATH)."))
    return _load_split(paths, "fashion-mnist", "Fashion-MNIST", val_size=val_size,
                       split_seed=split_seed, standardize=standardize)


def _load_split(paths: dict[str, Path], name: str, what: str, *, val_size: int | float,
                split_seed: int, standardize: bool) -> ClassificationData:
    """The four IDX files of ``paths`` as a :class:`ClassificationData`: the official
    test set, and a seeded, stratified validation split of the training images."""
    arrays = {role: read_idx(path) for role, path in paths.items()}
    _check_pair(arrays["train_images"], arrays["train_labels"], "training", what)
    _check_pair(arrays["test_images"], arrays["test_labels"], "test", what)
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise ValueError(f"{what} training and test images differ in size: "
                         f"{arrays['train_images'].shape[1:]} and "
                         f"{arrays['test_images'].shape[1:]}")
    flat = lambda a: a.reshape(len(a), -1).astype(np.float32)  # noqa: E731
    X_rest, y_rest = flat(arrays["train_images"]), arrays["train_labels"].astype(np.int64)
    X_test, y_test = flat(arrays["test_images"]), arrays["test_labels"].astype(np.int64)
    if isinstance(val_size, Integral) and val_size >= len(y_rest):
        raise ValueError(f"val_size={val_size} leaves no training images "
                         f"(there are {len(y_rest)})")
    from sklearn.model_selection import train_test_split

    try:
        X_train, X_val, y_train, y_val = train_test_split(
            X_rest, y_rest, test_size=val_size, stratify=y_rest, random_state=split_seed)
    except ValueError as err:
        raise ValueError(f"cannot take a stratified validation split of size {val_size} "
                         f"from {len(y_rest)} training images: {err}") from None
    if standardize:
        X_train, X_val, X_test = _standardise(X_train, X_val, X_test)
    else:
        X_train, X_val, X_test = X_train / 255, X_val / 255, X_test / 255
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
    i = lambda a: torch.as_tensor(a, dtype=torch.int64)  # noqa: E731
    return ClassificationData(t(X_train), i(y_train), t(X_val), i(y_val), t(X_test),
                              i(y_test), name=name, n_classes=10)

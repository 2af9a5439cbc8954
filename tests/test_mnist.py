"""helpers.mnist: the IDX parser on tiny files written here; nothing is downloaded."""

from __future__ import annotations

import gzip
import io
import struct
import urllib.error

import numpy as np
import pytest
import torch

from helpers import mnist

SIDE = 4  # tiny 4×4 "images"


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """The IDX encoding of ``array``, written by hand from the format's definition."""
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(
        struct.pack(">I", d) for d in array.shape)
    return header + array.astype(dtype).tobytes()


def write(path, payload: bytes, gz: bool = False):
    if gz:
        path = path.with_name(path.name + ".gz")
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return path


def make_mnist(folder, n_train=40, n_test=20, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    files = {
        "train_images": rng.integers(0, 256, (n_train, SIDE, SIDE)),
        "train_labels": np.arange(n_train) % 10,
        "test_images": rng.integers(0, 256, (n_test, SIDE, SIDE)),
        "test_labels": np.arange(n_test) % 10,
    }
    for role, array in files.items():
        write(folder / mnist.FILES[role], idx_bytes(array), gz=gz)
    return files


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_plain_and_gzipped(tmp_path, gz):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write(tmp_path / "a-idx3-ubyte", idx_bytes(array), gz=gz)
    out = mnist.read_idx(path)
    assert out.dtype == np.uint8 and np.array_equal(out, array)


def test_read_idx_other_types_are_big_endian(tmp_path):
    shorts = np.array([1, -2, 300], dtype=np.int16)
    floats = np.array([[0.5, -1.25]], dtype=np.float32)
    assert np.array_equal(mnist.read_idx(write(tmp_path / "s", idx_bytes(shorts, 0x0B))), shorts)
    assert np.array_equal(mnist.read_idx(write(tmp_path / "f", idx_bytes(floats, 0x0D))), floats)


def test_read_idx_errors(tmp_path):
    good = idx_bytes(np.zeros((2, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="bad magic number 0x08080802"):
        mnist.read_idx(write(tmp_path / "magic", b"\x08\x08" + good[2:]))
    with pytest.raises(ValueError, match="bad magic"):
        mnist.read_idx(write(tmp_path / "type", b"\x00\x00\x07" + good[3:]))
    with pytest.raises(ValueError, match="truncated.*holds 5"):
        mnist.read_idx(write(tmp_path / "short", good[:-1]))
    with pytest.raises(ValueError, match="truncated.*header needs 12"):
        mnist.read_idx(write(tmp_path / "header", good[:9]))
    with pytest.raises(ValueError, match="truncated"):
        mnist.read_idx(write(tmp_path / "tiny", b"\x00\x00"))
    with pytest.raises(ValueError, match="2 bytes more"):
        mnist.read_idx(write(tmp_path / "long", good + b"\x00\x00"))
    with pytest.raises(ValueError, match="truncated or corrupt gzip"):
        mnist.read_idx(write(tmp_path / "gz", gzip.compress(good)[:-6]))
    with pytest.raises(FileNotFoundError, match="no IDX file"):
        mnist.read_idx(tmp_path / "absent")


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_gives_the_same_kind_of_data_as_the_digits(tmp_path, gz):
    files = make_mnist(tmp_path, gz=gz)
    data = mnist.load_mnist(tmp_path, val_size=10)
    assert data.name == "mnist" and data.n_classes == 10
    assert data.n_features == SIDE * SIDE
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (30, 10, 20)
    assert sorted(data.y_val.tolist()) == list(range(10))  # stratified
    assert data.X_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    assert torch.allclose(data.X_train.mean(dim=0), torch.zeros(SIDE * SIDE), atol=1e-5)
    assert torch.equal(data.y_test, torch.as_tensor(files["test_labels"]))
    assert data.as_images(SIDE, SIDE).X_test.shape == (20, 1, SIDE, SIDE)
    again = mnist.load_mnist(tmp_path, val_size=10)
    assert torch.equal(again.X_val, data.X_val)  # the split is fixed
    raw = mnist.load_mnist(tmp_path, val_size=0.25, standardize=False)
    assert len(raw.y_val) == 10
    assert torch.equal(raw.X_test * 255, torch.as_tensor(
        files["test_images"].reshape(20, -1), dtype=torch.float32))


def test_missing_files_say_what_to_put_where(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / mnist.FILES["test_labels"]).unlink()
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_mnist(tmp_path)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte" in message and str(tmp_path) in message
    assert "train-images" not in message.split(":")[1].split("(")[0]  # only the missing one
    assert "download=True" in message


def test_inconsistent_files(tmp_path):
    make_mnist(tmp_path)
    write(tmp_path / mnist.FILES["train_labels"], idx_bytes(np.zeros(39, dtype=np.uint8)))
    with pytest.raises(ValueError, match="40 images but 39 labels"):
        mnist.load_mnist(tmp_path, val_size=10)
    write(tmp_path / mnist.FILES["train_labels"], idx_bytes(np.full(40, 12, dtype=np.uint8)))
    with pytest.raises(ValueError, match="0..9"):
        mnist.load_mnist(tmp_path, val_size=10)


def test_bad_val_size(tmp_path):
    make_mnist(tmp_path)
    with pytest.raises(ValueError, match="leaves no training"):
        mnist.load_mnist(tmp_path, val_size=40)
    with pytest.raises(ValueError, match="stratified"):
        mnist.load_mnist(tmp_path, val_size=3)  # fewer than the 10 classes
    with pytest.raises(TypeError, match="val_size"):
        mnist.load_mnist(tmp_path, val_size="10")


def test_download_only_on_request_and_offline_message(tmp_path, monkeypatch):
    calls = []

    def offline(url, timeout):
        calls.append(url)
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(mnist.urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError):
        mnist.load_mnist(tmp_path)
    assert calls == []  # no download unless asked
    with pytest.raises(ConnectionError, match="could not download.*copy the four"):
        mnist.load_mnist(tmp_path, download=True)
    assert len(calls) == len(mnist.MIRRORS)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_download_writes_the_missing_files(tmp_path, monkeypatch):
    source = tmp_path / "source"
    source.mkdir()
    make_mnist(source, gz=True)
    target = tmp_path / "target"
    fetched = []

    def fake_urlopen(url, timeout):
        name = url.rsplit("/", 1)[1]
        fetched.append(name)
        return io.BytesIO((source / name).read_bytes())

    monkeypatch.setattr(mnist.urllib.request, "urlopen", fake_urlopen)
    data = mnist.load_mnist(target, val_size=10, download=True)
    assert len(data.y_test) == 20
    assert sorted(fetched) == sorted(f"{n}.gz" for n in mnist.FILES.values())
    mnist.load_mnist(target, val_size=10, download=True)
    assert len(fetched) == 4  # present files are not fetched again


# --------------------------------------------------------------------------- Fashion-MNIST

needs_fashion = pytest.mark.skipif(
    not all((mnist.FASHION_MNIST_DIR / f"{name}.gz").is_file() or
            (mnist.FASHION_MNIST_DIR / name).is_file() for name in mnist.FILES.values()),
    reason=f"Fashion-MNIST is not installed in {mnist.FASHION_MNIST_DIR} "
           f"(apt-get install {mnist.FASHION_MNIST_PACKAGE}; CI installs it)")


@needs_fashion
def test_fashion_mnist_from_debians_package():
    data = mnist.load_fashion_mnist()
    assert data.name == "fashion-mnist" and data.n_classes == 10
    assert len(mnist.FASHION_MNIST_CLASSES) == 10
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (50_000, 10_000, 10_000)
    assert data.n_features == 784
    # The validation split is stratified: 1,000 images of each class, as the test set.
    assert torch.bincount(data.y_val).tolist() == [1000] * 10
    assert torch.bincount(data.y_test).tolist() == [1000] * 10
    assert data.as_images(28, 28).X_val.shape == (10_000, 1, 28, 28)


def test_fashion_mnist_from_a_folder_of_another_copy(tmp_path):
    files = make_mnist(tmp_path, gz=True)
    data = mnist.load_fashion_mnist(tmp_path, val_size=10)
    assert data.name == "fashion-mnist" and data.n_features == SIDE * SIDE
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (30, 10, 20)
    assert sorted(data.y_val.tolist()) == list(range(10))  # stratified
    assert torch.equal(data.y_test, torch.as_tensor(files["test_labels"]))
    other = mnist.load_fashion_mnist(tmp_path, val_size=10, split_seed=1)
    assert not torch.equal(other.X_val, data.X_val)  # the seed draws the split
    same = mnist.load_mnist(tmp_path, val_size=10)  # one reader for both data sets
    assert torch.equal(same.X_val, data.X_val) and same.name == "mnist"


def test_missing_fashion_mnist_names_the_package_and_the_folder_option(tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(mnist, "FASHION_MNIST_DIR", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_fashion_mnist()
    message = str(info.value)
    assert "Fashion-MNIST" in message and "no such folder" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "load_fashion_mnist(folder)" in message and "--data-dir" in message
    make_mnist(tmp_path)
    (tmp_path / mnist.FILES["train_images"]).unlink()
    with pytest.raises(FileNotFoundError, match=r"missing in .*: train-images-idx3-ubyte \("):
        mnist.load_fashion_mnist(tmp_path)


def test_fashion_mnist_checks_its_arguments_and_files(tmp_path):
    make_mnist(tmp_path)
    with pytest.raises(TypeError, match="val_size"):
        mnist.load_fashion_mnist(tmp_path, val_size="10")
    with pytest.raises(ValueError, match="leaves no training"):
        mnist.load_fashion_mnist(tmp_path, val_size=40)
    write(tmp_path / mnist.FILES["test_labels"], idx_bytes(np.zeros(19, dtype=np.uint8)))
    with pytest.raises(ValueError, match="Fashion-MNIST test files disagree"):
        mnist.load_fashion_mnist(tmp_path, val_size=10)

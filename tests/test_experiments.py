"""helpers.experiments: each experiment computed once, cached by code and arguments."""

from __future__ import annotations

import threading
import time

import pytest

from helpers import experiments
from helpers.experiments import experiment

CALLS: list[tuple] = []


@experiment(cost=0.1)
def square(x: int = 3, *, offset: int = 0) -> int:
    """A stand-in experiment that records each time it really runs."""
    CALLS.append((x, offset))
    return x * x + offset


@experiment(cost=0.1)
def slow(x: int = 1) -> int:
    CALLS.append(("slow", x))
    time.sleep(0.5)
    return x


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(experiments.ENV, str(tmp_path))
    CALLS.clear()
    yield tmp_path
    CALLS.clear()


def test_without_the_environment_variable_every_call_computes(monkeypatch):
    monkeypatch.delenv(experiments.ENV, raising=False)
    CALLS.clear()
    assert experiments.cache_dir() is None
    assert square() == square() == 9
    assert CALLS == [(3, 0), (3, 0)]


def test_a_second_call_with_the_same_arguments_reads_the_cache(cache):
    assert square() == 9
    assert square() == 9
    assert square(4) == 16
    assert square(4, offset=1) == 17
    assert square(4, offset=1) == 17
    assert CALLS == [(3, 0), (4, 0), (4, 1)]
    # the results live under the fingerprint of the code
    assert (cache / experiments.fingerprint()).is_dir()


def test_a_cached_call_is_known_without_running_it(cache):
    registered = experiments._REGISTRY["test_experiments.square"]
    assert not registered.is_cached()
    square()
    assert registered.is_cached() and CALLS == [(3, 0)]
    square(5)  # other arguments: the default call is what is_cached looks at
    assert registered.is_cached()


def test_two_callers_at_once_compute_once(cache):
    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(7))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [7, 7]
    assert CALLS == [("slow", 7)]


def test_results_of_other_code_are_removed(tmp_path):
    stale = tmp_path / "0123456789abcdef"
    (stale / "joblib").mkdir(parents=True)
    fresh = experiments._cache_dir(tmp_path, "fedcba9876543210")
    assert fresh.is_dir() and not stale.exists()


def test_the_fingerprint_follows_the_source(monkeypatch, tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(experiments, "_PACKAGE", package)
    before = experiments.fingerprint()
    assert experiments.fingerprint() == before
    (package / "a.py").write_text("x = 2\n")
    assert experiments.fingerprint() != before


def test_the_wrapper_keeps_the_function_and_registers_it():
    assert square.__wrapped__.__name__ == "square"
    assert square.__doc__.startswith("A stand-in")
    registered = experiments._REGISTRY["test_experiments.square"]
    assert registered.cost == 0.1 and not registered.timed


def test_bad_cost_and_unknown_chapters_are_named():
    with pytest.raises(ValueError, match="cost must be"):
        experiment(cost=-1)
    with pytest.raises(ValueError, match="unknown chapter"):
        experiments.registered(["no_such_chapter"])


def test_compute_all_needs_a_cache(monkeypatch):
    monkeypatch.delenv(experiments.ENV, raising=False)
    with pytest.raises(RuntimeError, match=experiments.ENV):
        experiments.compute_all(())


def test_pages_map_to_their_chapter_modules(monkeypatch):
    monkeypatch.setattr(experiments, "CHAPTERS", ("l1_regularization", "pruning"))
    assert experiments.chapters_of(["index", "pruning", "l1-regularization"]) == (
        "l1_regularization", "pruning")


@experiments.cached
def cube(x: int) -> int:
    CALLS.append(("cube", x))
    return x ** 3


def test_cached_keeps_results_without_registering_an_experiment(cache):
    assert cube(2) == cube(2) == 8
    assert CALLS == [("cube", 2)]
    assert "test_experiments.cube" not in experiments._REGISTRY
    assert cube.__wrapped__(3) == 27

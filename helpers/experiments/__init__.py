"""The book's experiments: each chapter's seed loops, grids and training arms.

Introduced in :doc:`how-to-use`, section *Running the code*.

A page *calls* its experiments and shows what teaches (the algorithm, a figure, a
verdict); the bookkeeping of an experiment (seed loops, method × level grids, training
arms, latency rounds) lives here, one module per chapter::

    from helpers.experiments import pruning as ex
    runs = ex.accuracy_vs_sparsity()        # a plain results object

Every experiment is a function decorated with :func:`experiment`. Its results are
cached on disk with :class:`joblib.Memory`, keyed by the function, its arguments and a
fingerprint of the whole ``helpers`` package and of the library versions it runs on
(:func:`fingerprint`): a change of code or arguments computes again. Caching is on
when the environment variable ``BOOK_EXPERIMENT_CACHE`` names a folder: the book's
build, ``make test`` and ``make budget`` set it to ``_build/.experiments``, so each
experiment is computed once per book and both editions read the same results. A
reader running a notebook without it computes everything, as the page shows.

:func:`compute_all` computes every registered experiment before the pages run: the
independent ones on all cores (:class:`joblib.Parallel`, the longest first), then
the timed ones (latency rounds), one after the other, with no other experiment
competing for the processor.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CHAPTERS", "ENV", "Experiment", "cache_dir", "cached", "chapters_of",
           "compute_all", "experiment", "fingerprint", "registered"]

#: The environment variable that turns the cache on: the folder it lives in.
ENV = "BOOK_EXPERIMENT_CACHE"

_PACKAGE = Path(__file__).resolve().parent.parent

#: The chapter modules (each registers its experiments): every module of this package.
CHAPTERS = tuple(sorted(p.stem for p in Path(__file__).parent.glob("*.py")
                        if not p.stem.startswith("_")))


def chapters_of(pages: Sequence[str]) -> tuple[str, ...]:
    """The chapter modules of the book's pages (``"l1-regularization"`` →
    ``"l1_regularization"``); pages without experiments are left out."""
    wanted = {page.replace("-", "_") for page in pages}
    return tuple(c for c in CHAPTERS if c in wanted)


def fingerprint() -> str:
    """A hash of every source file of ``helpers`` and of the versions it computes with.

    Any change of the package's code, or of numpy, torch or scikit-learn, changes it:
    cached results are then computed again.
    """
    from importlib.metadata import version  # importing scikit-learn would take a second

    digest = hashlib.sha256()
    for name in ("numpy", "torch", "scikit-learn"):
        digest.update(f"{name}={version(name)};".encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path | None:
    """The folder of this code's cached results, or None when caching is off.

    ``$BOOK_EXPERIMENT_CACHE/<fingerprint>``; results of other fingerprints (older
    code) are removed when this one is first made.
    """
    root = os.environ.get(ENV)
    if not root:
        return None
    return _cache_dir(Path(root), fingerprint())


@functools.lru_cache(maxsize=None)
def _cache_dir(root: Path, key: str) -> Path:
    path = root / key
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        for old in root.iterdir():
            if old.is_dir() and old.name != key:
                shutil.rmtree(old, ignore_errors=True)
    return path


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: the function and how :func:`compute_all` schedules it.

    ``cost`` is the time it takes on one core of the book's reference machine, in
    seconds (the longest start first); ``timed`` experiments measure wall-clock time
    and run alone, after the others.
    """

    name: str
    function: Callable[..., Any]
    cost: float
    timed: bool

    def is_cached(self) -> bool:
        """Whether its call with the default arguments is in the cache already
        (without loading the results)."""
        folder = cache_dir()
        return folder is not None and _memorized(
            self.function.__wrapped__, folder).check_call_in_cache()


def _memorized(function: Callable[..., Any], folder: Path):
    import joblib

    return joblib.Memory(folder, verbose=0).cache(function)


_REGISTRY: dict[str, Experiment] = {}


def _name(function: Callable[..., Any]) -> str:
    """``"<module>.<function>"``: an experiment's name, and its results' key."""
    return f"{function.__module__.rsplit('.', 1)[-1]}.{function.__name__}"


def cached(function: Callable[..., Any]) -> Callable[..., Any]:
    """Keep ``function``'s results on disk when caching is on (see the module's text).

    Parameters
    ----------
    function : callable
        A function of picklable arguments whose result depends on nothing else (its
        code, the ``helpers`` package and the library versions are in the key).

    Returns
    -------
    callable
        ``function`` with its signature; with caching on it returns the stored
        results of an earlier call with the same arguments, and two processes asking
        for the same call at once compute it once (a file lock). The original is
        ``.__wrapped__``.
    """
    name = _name(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        folder = cache_dir()
        if folder is None:
            return function(*args, **kwargs)
        import joblib
        from filelock import FileLock

        stored = _memorized(function, folder)
        key = joblib.hash((name, args, sorted(kwargs.items())))
        (folder / "locks").mkdir(exist_ok=True)
        with FileLock(folder / "locks" / f"{name}-{key}.lock"):
            return stored(*args, **kwargs)

    wrapper.__wrapped__ = function
    return wrapper


def experiment(*, cost: float, timed: bool = False):
    """Register a chapter's experiment and cache its results (:func:`cached`).

    Parameters
    ----------
    cost : float
        Seconds it takes on one core (scheduling only: the longest start first).
    timed : bool, default False
        True when it measures wall-clock time: it then runs alone in
        :func:`compute_all`, after every other experiment.

    Returns
    -------
    callable
        A decorator: :func:`cached`, and the function is registered for
        :func:`compute_all`.

    Raises
    ------
    ValueError
        For a negative ``cost``.
    """
    if not isinstance(cost, (int, float)) or cost < 0:
        raise ValueError(f"cost must be a number of seconds >= 0, got {cost!r}")

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        stored, name = cached(function), _name(function)
        _REGISTRY[name] = Experiment(name, stored, float(cost), timed)
        return stored

    return decorate


def registered(chapters: Sequence[str] = CHAPTERS) -> list[Experiment]:
    """Every experiment of ``chapters`` (importing their modules), in book order."""
    unknown = set(chapters) - set(CHAPTERS)
    if unknown:
        raise ValueError(f"unknown chapter(s) {sorted(unknown)}; known: {CHAPTERS}")
    for chapter in chapters:
        importlib.import_module(f"{__name__}.{chapter}")
    return [e for e in _REGISTRY.values() if e.name.split(".")[0] in chapters]


def _run(name: str) -> tuple[str, float]:
    """Compute one experiment with its default arguments (in a worker): its time."""
    import torch

    torch.set_num_threads(1)  # as on the pages (helpers.page.setup)
    chapter = name.split(".")[0]
    importlib.import_module(f"{__name__}.{chapter}")
    started = time.perf_counter()
    _REGISTRY[name].function()
    return name, time.perf_counter() - started


def compute_all(chapters: Sequence[str] = CHAPTERS, jobs: int | None = None,
                log: Callable[[str], None] | None = print) -> dict[str, float]:
    """Compute (or find in the cache) every experiment of ``chapters``.

    The untimed experiments run on ``jobs`` processes (default: every core), the
    longest first; then the timed ones one after the other in this process, with
    nothing else of the build running beside them. Needs caching on (``ENV``).

    Returns
    -------
    dict
        Seconds each experiment took; those in the cache already are left out
        (and their results are not loaded).

    Raises
    ------
    RuntimeError
        When ``BOOK_EXPERIMENT_CACHE`` is not set (nothing would be kept).
    """
    from joblib import Parallel, delayed

    if cache_dir() is None:
        raise RuntimeError(f"set {ENV} to a folder: without a cache, computing the "
                           "experiments ahead of the pages keeps nothing")
    experiments = registered(chapters)
    jobs = jobs or os.cpu_count() or 1
    experiments = [e for e in experiments if not e.is_cached()]
    untimed = sorted((e for e in experiments if not e.timed), key=lambda e: -e.cost)
    timed = [e for e in experiments if e.timed]
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    if untimed:
        from joblib.externals.loky import get_reusable_executor

        workers = min(jobs, len(untimed))
        results = Parallel(n_jobs=workers, return_as="generator_unordered")(
            delayed(_run)(e.name) for e in untimed)
        for name, took in results:
            seconds[name] = took
            if log:
                log(f"[experiments] {name}: {took:.1f} s")
        # no idle worker stays behind (holding memory, or the timed runs' processor)
        if workers > 1:
            get_reusable_executor().shutdown(wait=True)
    for e in timed:
        name, took = _run(e.name)
        seconds[name] = took
        if log:
            log(f"[experiments] {name} (timed, alone): {took:.1f} s")
    if log:
        log(f"[experiments] {len(seconds)} experiment(s) in "
            f"{time.perf_counter() - started:.1f} s wall-clock, {jobs} process(es)")
    return seconds


def __getattr__(name: str):
    """Import a chapter module on first access (``helpers.experiments.pruning``)."""
    if name in CHAPTERS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.experiments [CHAPTER ...] [--jobs N]``."""
    import argparse

    parser = argparse.ArgumentParser(description="compute the book's experiments once")
    parser.add_argument("chapters", nargs="*", metavar="CHAPTER",
                        help=f"default: all of {', '.join(CHAPTERS)}")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args(argv)
    compute_all(args.chapters or CHAPTERS, args.jobs)
    return 0

"""Execute an edition's pages in one kernel, each from the state of a fresh one.

Used by the book's build (``tools.build_book``) and by its budget
(``tools.notebook_budget``)::

    from tools import execute_pages
    for run in execute_pages.run_pages(paths, timeout=600):
        ...  # run.notebook: the executed notebook; run.seconds, run.error, ...

Jupyter Book would execute every page in a kernel of its own. Starting a kernel and
importing torch, matplotlib and scikit-learn costs each page about 3 s of a core,
some 30 s per edition on the 2-core machine of the book's budget: more than the pages'
own work on some chapters. Here one kernel executes an edition's pages one after the
other. Before each page the kernel is put back into the state of a fresh one
(:data:`PRELUDE`): IPython's namespace is emptied (``%reset -f``); matplotlib's
settings, torch's random-number generator (seeded afresh in every process: pages seed
it themselves), thread count, default dtype and gradient mode, the warning filters and
the environment variables are restored to what they were when the kernel started;
open figures are closed; the working folder becomes the page's. What stays is what a fresh kernel would rebuild the same way:
the imported modules. A page that fails restarts the kernel for the next.

The build stores each executed notebook in the edition's jupyter-cache
(:func:`cache_notebook`), where Jupyter Book finds it and executes nothing; a page
that failed is left to Jupyter Book, which executes it on its own and reports the
error as usual. Every page is still executed on its own, in a fresh kernel, by
``make test`` (``pytest book/``): that is where a page that depends on another
would fail.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

try:
    from tools.pytest_myst_nbval import is_myst_notebook
    from tools.toc import book_pages
except ImportError:  # run beside tools/build_book.py as a script: tools/ is on sys.path
    from pytest_myst_nbval import is_myst_notebook
    from toc import book_pages

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["PRELUDE", "PageRun", "cache_notebook", "edition_pages", "is_cached",
           "run_pages"]

#: Run before every page (``{cwd}`` is the page's folder): back to a fresh kernel's
#: state, kept in the module ``_book_fresh_state`` when the first page begins.
PRELUDE = """\
%reset -f
import os as _os, sys as _sys, warnings as _warnings
import matplotlib as _mpl, matplotlib.pyplot as _plt, torch as _torch
_fresh = _sys.modules.get("_book_fresh_state")
if _fresh is None:  # the first page: remember the fresh kernel's state
    import types as _types
    _fresh = _sys.modules["_book_fresh_state"] = _types.ModuleType("_book_fresh_state")
    _fresh.rc, _fresh.filters = _mpl.rcParams.copy(), list(_warnings.filters)
    _fresh.environ = dict(_os.environ)
    _fresh.rng, _fresh.threads = _torch.get_rng_state(), _torch.get_num_threads()
    _fresh.dtype = _torch.get_default_dtype()
    del _types
else:
    _plt.close("all")
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        _mpl.rcParams.update(_fresh.rc)
    _warnings.filters[:] = _fresh.filters
    _warnings._filters_mutated()  # warnings already shown once are shown again
    _os.environ.clear()
    _os.environ.update(_fresh.environ)
    _torch.set_rng_state(_fresh.rng)
    _torch.set_num_threads(_fresh.threads)
    _torch.set_default_dtype(_fresh.dtype)
    _torch.set_grad_enabled(True)
_os.chdir({cwd!r})
del _os, _sys, _warnings, _mpl, _plt, _torch, _fresh
"""


@dataclass
class PageRun:
    """One page executed by :func:`run_pages`.

    ``seconds``: the page's cells; ``prelude_seconds``: the :data:`PRELUDE` before them;
    ``startup_seconds``: the kernel's start, for the first page and after a failure (0
    otherwise);
    ``cell_seconds``: ``(seconds, "cell i: first line")`` of each code cell;
    ``error``: the last line of the error, empty when the page ran; ``stderr``: whether
    a cell wrote to standard error; ``kernel_pid``: the kernel's process; ``watched``:
    what ``watch`` gave (see :func:`run_pages`).
    """

    path: Path
    notebook: nbformat.NotebookNode
    seconds: float = 0.0
    startup_seconds: float = 0.0
    prelude_seconds: float = 0.0
    cell_seconds: list = field(default_factory=list)
    error: str = ""
    stderr: bool = False
    kernel_pid: int | None = None
    watched: object = None


def edition_pages(lang: str, names: Iterable[str] | None = None) -> list[Path]:
    """The executable pages (MyST notebooks) of the edition ``lang``, in the order of
    ``_toc.yml``; with ``names``, only those."""
    wanted = book_pages() if names is None else [n for n in book_pages() if n in names]
    paths = [ROOT / "book" / lang / f"{name}.md" for name in wanted]
    return [p for p in paths if p.is_file() and is_myst_notebook(p)]


def read_page(path: Path) -> nbformat.NotebookNode:
    """A page (MyST Markdown) as a notebook, as Jupyter Book reads it (same hash)."""
    return jupytext.read(path)


def _first_line(source: str) -> str:
    return next((line for line in source.splitlines()
                 if line.strip() and not line.startswith("#")), "")


def _wait_until_ready(km: KernelManager, timeout: int) -> None:
    """Return when the kernel just started answers (so that its start is timed whole)."""
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
    finally:
        client.stop_channels()


def _run_in(km: KernelManager, notebook, cwd: Path, timeout: int) -> tuple[float, list, str]:
    """Execute ``notebook``'s cells in the running kernel of ``km``: the seconds, each
    code cell's ``(seconds, label)``, and the error ("" if none). A client of its own
    per notebook: nbclient writes each executed cell back into its notebook."""
    client = NotebookClient(notebook, km=km, timeout=timeout, allow_errors=False,
                            record_timing=False,  # as Jupyter Book: timings change the hash
                            resources={"metadata": {"path": str(cwd)}})
    with client.setup_kernel():
        try:
            return _execute(client, notebook)
        finally:
            client.kc.stop_channels()


def _execute(client: NotebookClient, notebook) -> tuple[float, list, str]:
    """Execute ``notebook``'s cells with ``client`` (whose kernel is running)."""
    cell_seconds, error = [], ""
    begin = time.perf_counter()
    try:
        for index, cell in enumerate(notebook.cells):
            started = time.perf_counter()
            client.execute_cell(cell, index)
            if cell.cell_type == "code":
                cell_seconds.append((time.perf_counter() - started,
                                     f"cell {index}: {_first_line(cell.source)[:60]}"))
    except CellExecutionError as err:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # IPython's colours
        lines = [line for line in plain.strip().splitlines() if line.strip()]
        error = lines[-1][:200] if lines else type(err).__name__
    except Exception as err:  # noqa: BLE001 - a timeout or a dead kernel: reported
        error = f"{type(err).__name__}: {err}"[:200]
    return time.perf_counter() - begin, cell_seconds, error


def run_pages(paths: Iterable[Path], *, timeout: int = 600, kernel_name: str = "python3",
              watch: Callable[[int], AbstractContextManager] | None = None
              ) -> Iterator[PageRun]:
    """Execute the pages ``paths`` in order, in one kernel; yield each as it is done.

    Parameters
    ----------
    paths : iterable of Path
        MyST-Markdown notebooks (the pages of one edition).
    timeout : int
        Seconds allowed per cell.
    kernel_name : str
        The Jupyter kernel.
    watch : callable, optional
        ``watch(kernel_pid)`` gives a context manager entered around each page (its
        prelude included), kept as ``PageRun.watched``: the budget's memory sampler.

    Yields
    ------
    PageRun
        The executed notebook and its times; a page that fails does not stop the
        others (the kernel is restarted for the next).
    """
    km: KernelManager | None = None
    try:
        for path in paths:
            path = Path(path).resolve()
            notebook = read_page(path)
            startup = 0.0
            if km is None:
                started = time.perf_counter()
                km = KernelManager(kernel_name=kernel_name)
                km.start_kernel(cwd=str(path.parent))
                _wait_until_ready(km, timeout)
                startup = time.perf_counter() - started
            run = PageRun(path, notebook, kernel_pid=km.provisioner.pid,
                          startup_seconds=startup)
            prelude = nbformat.v4.new_notebook(cells=[
                nbformat.v4.new_code_cell(PRELUDE.format(cwd=str(path.parent)))])
            with watch(run.kernel_pid) if watch else contextlib.nullcontext() as run.watched:
                run.prelude_seconds, _, failed = _run_in(km, prelude, path.parent, timeout)
                if failed:
                    raise RuntimeError(f"the kernel could not be reset before {path}: "
                                       f"{failed}")
                run.seconds, run.cell_seconds, run.error = _run_in(km, notebook,
                                                                   path.parent, timeout)
            run.stderr = any(out.get("output_type") == "stream" and out.get("name") == "stderr"
                             for cell in notebook.cells if cell.cell_type == "code"
                             for out in cell.get("outputs", []))
            _number_cells(notebook)
            if run.error:  # a fresh kernel for the next page
                km.shutdown_kernel(now=True)
                km = None
            yield run
    finally:
        if km is not None:
            km.shutdown_kernel(now=True)


def _number_cells(notebook) -> None:
    """Execution counts 1, 2, … as in a fresh kernel (the prelude took some)."""
    count = 0
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.get("execution_count") is not None:
            count += 1
            cell.execution_count = count
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = count


def _cache(folder: Path):
    from jupyter_cache import get_cache

    return get_cache(str(folder))


def is_cached(path: Path, folder: Path) -> bool:
    """Whether the jupyter-cache ``folder`` holds an executed copy of the page ``path``
    (matched, as Jupyter Book matches it, by the hash of its code)."""
    try:
        _cache(folder).match_cache_notebook(read_page(Path(path)))
    except KeyError:
        return False
    return True


def cache_notebook(run: PageRun, folder: Path) -> None:
    """Store an executed page in the jupyter-cache ``folder`` (an edition's), where
    Jupyter Book's ``execute_notebooks: cache`` finds it."""
    from jupyter_cache.base import CacheBundleIn

    if run.error:
        raise ValueError(f"{run.path} failed ({run.error}); a failed page is not cached")
    _cache(folder).cache_notebook_bundle(
        CacheBundleIn(run.notebook, str(run.path), data={"execution_seconds": run.seconds}),
        check_validity=False, overwrite=True)

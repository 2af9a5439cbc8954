"""The book's performance budget: execute every page and report its time and peak memory.

Usage (``make budget`` runs the first form)::

    .venv/bin/python -m tools.notebook_budget                 # every page, both editions
    .venv/bin/python -m tools.notebook_budget --lang en       # one edition
    .venv/bin/python -m tools.notebook_budget --pages pruning faq --json /tmp/budget.json

The pages (MyST-Markdown notebooks) are executed the way the book build executes
them (``tools.build_book``): the editions at the same time, one process each
(``--jobs``, by default one per CPU core up to the number of editions), each edition's
pages one after the other in one kernel, reset to a fresh kernel's state before each
page (:mod:`tools.execute_pages`). For each page it prints the execution time of its
cells and of that reset (the kernel's start, once per edition, is shown separately),
measured while the other edition runs beside it, and the peak resident memory of the
kernel's process tree during the page, sampled with psutil every 20 ms; ``--slowest N``
adds each page's N slowest cells.

The budget: each page at most 60 s and 2 GB on 2 CPU cores, and the whole book (both
editions, the experiments and kernel starts included) at most 150 s of wall-clock time,
each experiment computed once for both editions. The report
gives both that wall-clock time and the sum of the pages' times (the CPU time one
core would need), and the machine's speed before and after the run
(:func:`reference_ms`): the virtual 2-core machines vary by a factor of about two
from hour to hour, so two reports compare only together with it. It also counts the
CPU time that other processes and other virtual machines took during the run
(:func:`cpu_share`) and says when the machine was shared. Pages over budget are
marked ``OVER BUDGET``; a page that raises, or writes to stderr, is marked too. The
script only reports: it exits with status 0 whatever it finds (it is not a test).

As in the build, the pages' experiments (``helpers.experiments``) are computed first,
once for both editions, on every core (the timed ones alone afterwards); that step is
timed and counts towards the whole book, and the pages then read the results. By
default the run starts from an empty cache (a new temporary folder), the cost of a
fresh build; ``--cache DIR`` uses (and keeps) another, e.g. ``_build/.experiments``
for the cost of a rebuild after the experiments are known.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from helpers import experiments
from helpers.languages import LANGUAGES
from tools import execute_pages
from tools.toc import book_pages

ROOT = Path(__file__).resolve().parent.parent

PAGE_SECONDS = 60.0
PAGE_MEMORY_MB = 2048.0
BOOK_SECONDS = 150.0


@dataclass
class PageResult:
    """The measurements of one page."""

    lang: str
    page: str
    cells: int
    seconds: float
    startup_seconds: float
    peak_mb: float
    error: str = ""
    stderr: bool = False
    cell_seconds: list = field(default_factory=list)  # [(seconds, "cell i: first line")]

    @property
    def over_budget(self) -> bool:
        return self.seconds > PAGE_SECONDS or self.peak_mb > PAGE_MEMORY_MB

    @property
    def status(self) -> str:
        marks = []
        if self.error:
            marks.append(f"ERROR ({self.error})")
        if self.over_budget:
            marks.append("OVER BUDGET")
        if self.stderr:
            marks.append("stderr output")
        return ", ".join(marks) or "ok"


class TreeMemorySampler:
    """Samples the resident memory (RSS) of a process and all its descendants.

    The peak of the sum over the tree is kept in :attr:`peak_bytes`.
    """

    def __init__(self, pid: int, interval: float = 0.02):
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        total = 0
        for proc in [self.process, *self.process.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        self.peak_bytes = max(self.peak_bytes, total)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except psutil.NoSuchProcess:
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeMemorySampler":
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def reference_ms(repeats: int = 50) -> float:
    """The machine's speed now: median milliseconds of one forward pass of the digits
    MLP (64-300-100-10) on a batch of 1024, on one thread (lower is faster).

    The 2-core machines this book is measured on are virtual, and their speed varies
    from hour to hour; two budget reports compare only together with this figure.
    """
    import torch

    from helpers import metrics, models

    torch.manual_seed(0)
    model = models.mlp([64, 300, 100, 10]).eval()
    x = torch.randn(1024, 64)
    return metrics.measure_latency(model, x, repeats=repeats, warmup=5, threads=1).median_ms


@dataclass(frozen=True)
class CpuSnapshot:
    """Cumulative CPU seconds at one moment: the machine's busy time, this process
    tree's own time (this process and its reaped descendants) and the time the
    hypervisor gave to other virtual machines (steal)."""

    busy: float
    ours: float
    steal: float

    @classmethod
    def now(cls) -> "CpuSnapshot":
        t = psutil.cpu_times()
        busy = sum(getattr(t, name, 0.0) for name in ("user", "nice", "system", "irq",
                                                      "softirq"))
        ours = sum(r.ru_utime + r.ru_stime for r in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN)))
        return cls(busy, ours, getattr(t, "steal", 0.0))


def cpu_share(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU seconds spent between two snapshots, by this run (``ours``), by other
    processes on the machine (``others``) and by other virtual machines (``steal``).

    A run's times are comparable with another run's only when ``others`` and
    ``steal`` are small beside ``ours``: a build or test suite running beside the
    budget slows the pages without changing the book.
    """
    ours = after.ours - before.ours
    return {"ours": ours, "others": max(0.0, after.busy - before.busy - ours),
            "steal": max(0.0, after.steal - before.steal)}


def format_report(results: list[PageResult], wall_seconds: float | None = None,
                  jobs: int = 1, speed_ms: tuple[float, float] | None = None,
                  cpu: dict[str, float] | None = None,
                  experiments_seconds: float | None = None) -> str:
    """The table printed at the end, with the totals against the budget.

    ``wall_seconds`` is the wall-clock time of the whole run (``jobs`` editions at a
    time); without it, the sum of the pages' times stands in for it. ``speed_ms``:
    :func:`reference_ms` before and after the run. ``cpu``: :func:`cpu_share` of the
    run; when other processes or virtual machines took more than a tenth of the run's
    own CPU time, the report says that its times are not comparable.
    ``experiments_seconds``: the wall-clock time of computing the experiments before
    the pages (included in ``wall_seconds``).
    """
    lines = [f"{'edition':7}  {'page':22} {'cells':>5} {'exec s':>8} {'start s':>7} "
             f"{'peak MB':>8}  status",
             "-" * 78]
    for r in results:
        lines.append(f"{r.lang:7}  {r.page:22} {r.cells:5d} {r.seconds:8.1f} "
                     f"{r.startup_seconds:7.1f} {r.peak_mb:8.0f}  {r.status}")
    lines.append("-" * 78)
    for lang in LANGUAGES:
        part = [r for r in results if r.lang == lang]
        if part:
            lines.append(f"{lang:7}  total {sum(r.seconds for r in part):.1f} s execution, "
                         f"{sum(r.seconds + r.startup_seconds for r in part):.1f} s with "
                         f"kernel starts")
    total = sum(r.seconds for r in results)
    over = [f"{r.lang}/{r.page}" for r in results if r.over_budget]
    wall = total if wall_seconds is None else wall_seconds
    book = "ok" if wall <= BOOK_SECONDS else "OVER BUDGET"
    if experiments_seconds is not None:
        lines.append(f"experiments {experiments_seconds:.1f} s wall-clock, once for every "
                     f"edition, before the pages (which read their results)")
    lines.append(f"book     {wall:.1f} s wall-clock with {jobs} edition(s) at a time "
                 f"(budget {BOOK_SECONDS:.0f} s): {book}; the pages' times add up to "
                 f"{total:.1f} s")
    lines.append(f"pages over budget ({PAGE_SECONDS:.0f} s, {PAGE_MEMORY_MB:.0f} MB): "
                 + (", ".join(over) if over else "none"))
    failed = [f"{r.lang}/{r.page}" for r in results if r.error]
    if failed:
        lines.append("pages that failed: " + ", ".join(failed))
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    lines.append(f"machine: {os.cpu_count()} CPU cores"
                 + (f", load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end"
                    if load else ""))
    if speed_ms is not None:
        lines.append(f"machine speed (reference forward pass, lower is faster): "
                     f"{speed_ms[0]:.2f} ms before, {speed_ms[1]:.2f} ms after")
    if cpu is not None:
        shared = cpu["others"] + cpu["steal"] > 0.1 * cpu["ours"]
        lines.append(f"CPU time during the run: {cpu['ours']:.0f} s this run, "
                     f"{cpu['others']:.0f} s other processes, {cpu['steal']:.0f} s other "
                     f"virtual machines (steal)"
                     + (" — the machine was shared: these times are not comparable; "
                        "measure again on an idle machine" if shared else ""))
    return "\n".join(lines)


def execute_edition(lang: str, names: list[str], timeout: int,
                    slowest: int = 0) -> list[PageResult]:
    """Execute the pages ``names`` of one edition in order, in one kernel, as the
    build does (:func:`tools.execute_pages.run_pages`), printing each result."""
    results = []
    for run in execute_pages.run_pages(execute_pages.edition_pages(lang, names), timeout=timeout, watch=TreeMemorySampler):
        cells = sum(cell.cell_type == "code" for cell in run.notebook.cells)
        result = PageResult(lang, run.path.stem, cells, run.prelude_seconds + run.seconds,
                            run.startup_seconds, run.watched.peak_bytes / 2**20,
                            run.error, run.stderr, run.cell_seconds)
        report = [f"[budget] {lang}/{result.page}: {result.seconds:.1f} s, "
                  f"{result.peak_mb:.0f} MB — {result.status}"]
        for cell_time, label in sorted(result.cell_seconds, reverse=True)[:slowest]:
            report.append(f"    {cell_time:6.1f} s  {label}")
        print("\n".join(report), flush=True)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=LANGUAGES, action="append",
                        help="edition to execute (default: both)")
    parser.add_argument("--pages", nargs="+", metavar="NAME",
                        help="only these pages (file names without .md)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds allowed per cell (default 600)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--jobs", type=int, default=None,
                        help="editions executed at the same time (default: one per CPU "
                             "core, at most one per edition; 1 runs them one after the other)")
    parser.add_argument("--slowest", type=int, default=0, metavar="N",
                        help="also print each page's N slowest cells")
    parser.add_argument("--cache", type=Path, default=None, metavar="DIR",
                        help="the experiments' cache (default: a new, empty temporary "
                             "folder, removed afterwards)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="budget-experiments-") as tmp:
        os.environ[experiments.ENV] = str((args.cache or Path(tmp)).resolve())
        return run(args)


def run(args: argparse.Namespace) -> int:
    """The measurement itself (``main`` has set up the experiments' cache)."""

    names = book_pages()
    if args.pages:
        unknown = sorted(set(args.pages) - set(names))
        if unknown:
            raise SystemExit(f"no page named {unknown} in _toc.yml; pages: {names}")
        names = [n for n in names if n in args.pages]
    langs = args.lang or list(LANGUAGES)
    jobs = args.jobs if args.jobs is not None else min(os.cpu_count() or 1, len(langs))
    if jobs < 1:
        raise SystemExit("--jobs must be at least 1")
    speed_before = reference_ms()
    cpu_before = CpuSnapshot.now()
    started = time.perf_counter()
    experiments.compute_all(experiments.chapters_of(names), jobs=os.cpu_count())
    experiments_seconds = time.perf_counter() - started
    if jobs == 1 or len(langs) == 1:
        per_edition = [execute_edition(lang, names, args.timeout, args.slowest)
                       for lang in langs]
    else:
        with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
            per_edition = list(pool.map(execute_edition, langs, [names] * len(langs),
                                        [args.timeout] * len(langs),
                                        [args.slowest] * len(langs)))
    wall = time.perf_counter() - started
    cpu = cpu_share(cpu_before, CpuSnapshot.now())
    results = [result for edition in per_edition for result in edition]
    print()
    print(format_report(results, wall, jobs, (speed_before, reference_ms()), cpu,
                        experiments_seconds))
    if args.json:
        args.json.write_text(json.dumps(
            [asdict(r) | {"over_budget": r.over_budget, "status": r.status} for r in results],
            indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

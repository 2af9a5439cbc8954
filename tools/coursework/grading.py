"""Grading: one notebook in two sandboxed stages, judged here; a batch into grades tables.

1. ``execute`` (sandbox, no check in reach): the notebook runs; its variables are saved
   inside the sandbox and sent back through a pipe.
2. ``probe`` (a new sandbox, with the assignment's probes and nothing else of the
   grader): every graded object is called on the check inputs, each call in a fresh
   process under its own CPU-time limit; the values come back as plain data.
3. Judging (here, never in the sandbox): :func:`tools.coursework.judging.judge`
   compares the data with the expected values and clamps each question's score.

:func:`grade_notebook` does the three for one notebook; a batch (:func:`grade`, ``make
grade``) runs, for each hand-in, the autograder zip's entry point
(:func:`grade_with_autograder`, :mod:`tools.coursework.gradescope`), which calls it with
the zip's own grader, probes, judges and ``helpers`` — as Gradescope does.

The grader opens no file the sandbox wrote; what comes through the pipes is parsed
strictly and only the grader's own texts, with escaped and shortened values, reach the
grades table and the feedback.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import json
import os
import re
import shutil
import signal
import stat
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat

from helpers.languages import LANG_LINE, LANGUAGES

from . import judging
from .build import (ASSIGNMENTS, DEFAULT_OUT, load_settings, points_of, questions,
                    render_master, text)
from .sandbox import (BOX_IN, BOX_PROBES, BOX_WORK, Limits, open_channel, resolve_sandbox,
                      run_stage, stage_command)

#: Wall-clock backstop of one whole notebook (both stages).
NOTEBOOK_TIMEOUT = 3600
#: Largest handed-in notebook read.
SUBMISSION_CAP = 64 * 1024 * 1024


def read_regular(path: Path, cap: int) -> bytes:
    """The bytes of a regular file, no link followed, at most ``cap`` (else ValueError)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > cap:
            raise ValueError(f"{path.name}: not a regular file of at most {cap} bytes")
        data = b""
        while len(data) <= cap:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return data
            data += chunk
        raise ValueError(f"{path.name}: larger than {cap} bytes")
    finally:
        os.close(fd)


def identify(path: Path) -> tuple[str, str]:
    """``(assignment, lang)`` of a submitted notebook.

    The assignment comes from otter's metadata (``assignment_name``), the language
    from the notebook's ``LANG = "…"`` line (English when there is none).
    """
    notebook = nbformat.reads(read_regular(Path(path), SUBMISSION_CAP).decode("utf-8"),
                              as_version=4)
    name = notebook.metadata.get("otter", {}).get("assignment_name")
    if name not in ASSIGNMENTS:
        raise ValueError(f"{Path(path).name}: not one of the assignments {ASSIGNMENTS} "
                         f"(otter metadata names {name!r})")
    for cell in notebook.cells:
        match = LANG_LINE.search(cell.source) if cell.cell_type == "code" else None
        if match and match.group(1) in LANGUAGES:
            return name, match.group(1)
    return name, LANGUAGES[0]


def student_id(relative: Path) -> str:
    """The student of a submission: its first folder when the notebook is in a folder
    (``alice/a1-lasso.ipynb`` → ``alice``), else the file name's first part before
    ``_``, ``-`` followed by the assignment name, or ``.`` (``bob_a1-lasso.ipynb`` → ``bob``),
    else the file's stem."""
    if len(relative.parts) > 1:
        return relative.parts[0]
    stem = relative.stem
    for name in ASSIGNMENTS:
        for sep in ("_", "-", " ", "."):
            if sep + name in stem:
                return stem.split(sep + name)[0] or stem
    return stem


def named_assignment(relative: Path) -> str | None:
    """The assignment a file name mentions (``bob_a2-pruning.ipynb`` → ``a2-pruning``)."""
    found = [n for n in ASSIGNMENTS if n in relative.as_posix() or n[:2] + "_" in relative.name]
    return found[0] if len(found) == 1 else None


def _parse_notes(raw: bytes) -> dict:
    notes = json.loads(raw.decode("utf-8"))
    out = {"cpu_seconds": float(notes.get("cpu_seconds", 0.0))}
    for key in ("cpu", "idle", "wall", "crashed", "memory"):
        cells = notes.get(key, [])
        if not isinstance(cells, list) or not all(isinstance(c, int) for c in cells):
            raise ValueError("malformed notes")
        out[key] = cells[:20]
    out["state_error"] = "state_error" in notes
    return out


def _parse_probe_frame(raw: bytes, plan: list[str]) -> dict:
    frame = json.loads(raw.decode("utf-8"))
    if not isinstance(frame, dict) or frame.get("id") not in plan or \
            frame.get("status") not in ("done", "cpu", "wall", "crashed", "too_big"):
        raise ValueError("malformed probe result")
    outcome = {"id": frame["id"], "status": frame["status"],
               "cpu_seconds": float(frame.get("cpu_seconds", 0.0))}
    if outcome["status"] == "done":
        try:
            outcome["parsed"] = judging.parse_result(frame.get("result", ""))
        except (ValueError, TypeError, RecursionError):
            outcome["status"] = "crashed"
    return outcome


def grade_notebook(path: Path, lib: Path, lang: str, assignment: str, *, sandbox: str = "none",
                   limits: Limits = Limits(), notebook_timeout: float = NOTEBOOK_TIMEOUT,
                   from_scratch: dict[str, list[str]] | None = None,
                   points: dict[str, float] | None = None, tmp_root: Path | None = None) -> dict:
    """Grade one notebook; never raises.

    ``lib`` is the folder holding the autograder's ``helpers``. Returns ``{"questions":
    {name: {"score", "possible", "cases", "library_calls"}}, "notes": [...], "error": str |
    None, "seconds": float, "cpu_seconds": float, "log": str}`` (``log``: the tail of the
    stages' output, for the instructor only; ``cpu_seconds``: CPU time of both stages).
    """
    started = time.perf_counter()
    if points is None:
        points = {q.name: q.points for q in questions(render_master(lang, assignment))}
    outcome = {"questions": {}, "notes": [], "error": None, "cpu_seconds": 0.0, "log": ""}
    tmp = Path(tempfile.mkdtemp(prefix="notebook-", dir=tmp_root))
    try:
        _grade_in(tmp, Path(path), Path(lib), lang, assignment, sandbox, limits,
                  started + notebook_timeout, notebook_timeout, from_scratch or {}, points,
                  outcome)
    except Exception as error:       # the grader's own failure: an error row, not a crash
        outcome["error"] = f"{type(error).__name__}: {judging.clean(error)}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def _grade_in(tmp, path, lib, lang, assignment, sandbox, limits, deadline, notebook_timeout,
              from_scratch, points, outcome) -> None:
    inbox, work = tmp / "in", tmp / "work"
    inbox.mkdir()
    work.mkdir(mode=0o700)
    (inbox / "submission.ipynb").write_bytes(read_regular(path, SUBMISSION_CAP))
    read_end, write_end = open_channel()
    args = ["--out-fd", str(write_end), "execute", f"{BOX_IN}/submission.ipynb",
            "--work", BOX_WORK, "--cell-cpu", str(limits.cell_cpu),
            "--cell-idle", str(limits.cell_idle), "--cell-wall", str(limits.cell_wall)]
    if sandbox == "bwrap":
        args.append("--kill-strays")
    cmd = stage_command(args, sandbox=sandbox, lib=lib, inbox=inbox, work=work, limits=limits)
    run = run_stage(cmd, (read_end, write_end), cwd=tmp, timeout=deadline - time.perf_counter(),
                    limits=limits, out_cap=2 * 256 * 1024 * 1024, names={"notes", "state"})
    outcome["log"] = run.log
    frames = dict(run.frames)
    if run.code is None:
        outcome["error"] = text("cw_err_notebook_timeout", lang).format(seconds=notebook_timeout)
        return
    try:
        notes = _parse_notes(frames["notes"])
    except (KeyError, ValueError, TypeError):
        outcome["error"] = text("cw_err_execute", lang).format(
            reason="overflow" if run.overflow else f"exit {run.code}")
        return
    if notes["state_error"] or not frames.get("state"):
        outcome["error"] = text("cw_err_execute", lang).format(reason="no saved variables")
        return
    outcome["cpu_seconds"] += notes["cpu_seconds"]
    for key, seconds in (("cpu", limits.cell_cpu), ("idle", limits.cell_idle),
                         ("wall", limits.cell_wall)):
        for cell in notes[key]:
            outcome["notes"].append(text(f"cw_note_{key}", lang).format(cell=cell, seconds=seconds))
    for cell in notes["crashed"]:
        outcome["notes"].append(text("cw_note_crash", lang).format(cell=cell))
    for cell in notes["memory"]:
        outcome["notes"].append(text("cw_note_memory", lang).format(cell=cell,
                                                                    memory_mb=limits.memory_mb))

    # stage 2: a fresh inbox with the saved variables only
    shutil.rmtree(inbox)
    inbox.mkdir()
    (inbox / "state.pkl").write_bytes(frames.pop("state"))
    plan = judging.plan(assignment)
    read_end, write_end = open_channel()
    args = ["--out-fd", str(write_end), "probe", f"{BOX_IN}/state.pkl", "--probes", BOX_PROBES,
            "--plan", json.dumps(plan), "--blocked", json.dumps(from_scratch),
            "--call-cpu", str(limits.call_cpu), "--call-wall", str(limits.call_wall)]
    shutil.rmtree(work)
    work.mkdir(mode=0o700)
    cmd = stage_command(args, sandbox=sandbox, lib=lib, inbox=inbox, work=work, limits=limits,
                        probes=judging.probes_path(assignment))
    run = run_stage(cmd, (read_end, write_end), cwd=tmp,
                    timeout=max(deadline - time.perf_counter(), 1), limits=limits,
                    out_cap=len(plan) * 40 * 1024 * 1024, names={"result"})
    outcome["log"] += "\n" + run.log
    if run.code is None:
        outcome["error"] = text("cw_err_notebook_timeout", lang).format(seconds=notebook_timeout)
        return
    outcomes = {}
    for name, raw in run.frames:
        try:
            probe = _parse_probe_frame(raw, plan)
        except (ValueError, TypeError, UnicodeDecodeError):
            continue
        outcomes.setdefault(probe["id"], probe)
        outcome["cpu_seconds"] += probe["cpu_seconds"]
    if not outcomes:
        outcome["error"] = text("cw_err_check", lang).format(
            reason="overflow" if run.overflow else f"exit {run.code}")
        return
    outcome["questions"] = judging.judge(assignment, lang, outcomes, points, from_scratch,
                                         limits.describe())


# ------------------------------------------------------------------------- feedback


def question_scores(outcome: dict, points: dict[str, float]) -> dict[str, float]:
    """The score of each question of ``points`` in an outcome of :func:`grade_notebook`:
    0 for every question when grading failed (``outcome["error"]``) and for a question
    it did not reach. ``make grade`` and the autograder zip's entry point both use it."""
    if outcome["error"]:
        return {question: 0.0 for question in points}
    return {question: outcome["questions"].get(question, {}).get("score", 0.0)
            for question in points}


def feedback_text(row: dict, outcome: dict, lang: str, limits: Limits = Limits()) -> str:
    """What a student may read: per question the points, the messages of failed checks
    (public and hidden, never their code or expected values beyond what the message
    states), and library shortcuts found."""
    lines = [text("cw_fb_title", lang).format(assignment=row["assignment"],
                                              submission=row["submission"])]
    if outcome["error"]:
        lines += ["", text("cw_fb_error", lang).format(error=outcome["error"])]
    else:
        lines += ["", text("cw_fb_total", lang).format(total=row["total"],
                                                       possible=row["possible"])]
    for note in outcome["notes"]:
        lines.append(f"! {note}")
    for name, q in outcome["questions"].items():
        lines += ["", text("cw_fb_question", lang).format(
            question=name, score=f"{q['score']:g}", possible=f"{q['possible']:g}")]
        for call in q["library_calls"]:
            lines.append("  - " + text("cw_fb_library", lang).format(call=call))
        for case in q["cases"]:
            if case["passed"]:
                continue
            kind = text("cw_fb_hidden" if case["hidden"] else "cw_fb_public", lang)
            lines.append(f"  - {kind}: {case['message']}")
        if q["score"] == q["possible"]:
            lines.append("  - " + text("cw_fb_all_passed", lang))
    lines += ["", text("cw_fb_limits", lang).format(**limits.describe())]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- tables

GRADE_COLUMNS = ["student", "submission", "assignment", "lang", "total", "possible",
                 "percent"]
#: Text columns; a value starting with one of these is prefixed with ``'`` so that a
#: spreadsheet shows it as text, never as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    """Write a grades table atomically, UTF-8 with a byte-order mark (Excel reads it)."""
    partial = path.with_suffix(".csv.part")
    with open(partial, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=header, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: excel_safe(v) for k, v in row.items()} for row in rows)
    partial.replace(path)


def failed_outcome(error: str, *, seconds: float = 0.0, log: str = "") -> dict:
    """The outcome (as :func:`grade_notebook` returns it) of a grading that earned
    nothing, with its reason ``error`` (for the table and the feedback) and ``log`` (for
    the instructor only)."""
    return {"questions": {}, "notes": [], "error": error, "seconds": seconds,
            "cpu_seconds": 0.0, "log": log}


def grade_with_autograder(path: Path, autograder: Path, *, sandbox: str = "none",
                          limits: Limits = Limits(), notebook_timeout: float = NOTEBOOK_TIMEOUT,
                          tmp_root: Path | None = None) -> dict:
    """Grade one notebook with the autograder zip's own entry point, as Gradescope runs it.

    The zip is unpacked into ``ROOT/source`` and the notebook copied into
    ``ROOT/submission`` of a fresh folder; ``ROOT/source/run_otter.py`` (see
    :mod:`tools.coursework.gradescope`) grades it with the zip's grader, probes, judges
    and ``helpers``. Returns its outcome (as :func:`grade_notebook`) with ``results``, the
    ``results.json`` it wrote for Gradescope; never raises for a notebook's fault.
    """
    import subprocess
    import sys

    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="autograder-", dir=tmp_root))
    try:
        (root / "submission").mkdir()
        (root / "submission" / Path(path).name).write_bytes(read_regular(Path(path),
                                                                         SUBMISSION_CAP))
        with zipfile.ZipFile(autograder) as z:
            z.extractall(root / "source")
        env = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSEWORK_SANDBOX": sandbox,
               "COURSEWORK_LIMITS": json.dumps(limits.describe()),
               "COURSEWORK_TIMEOUT": str(notebook_timeout)}
        try:
            done = subprocess.run([sys.executable, str(root / "source" / "run_otter.py")],
                                  cwd=root, env=env, capture_output=True,
                                  timeout=notebook_timeout + 120)
        except subprocess.TimeoutExpired:
            return failed_outcome(f"the autograder took more than {notebook_timeout + 120:g} s",
                                  seconds=time.perf_counter() - started)
        try:
            outcome = json.loads(read_regular(root / "results" / "outcome.json",
                                              SUBMISSION_CAP))
            outcome["results"] = json.loads(read_regular(root / "results" / "results.json",
                                                         SUBMISSION_CAP))
        except (OSError, ValueError) as error:
            return failed_outcome(f"the autograder's entry point failed (exit "
                                  f"{done.returncode}): {judging.clean(error)}",
                                  seconds=time.perf_counter() - started,
                                  log=done.stderr.decode("utf-8", "replace")[-2000:])
        outcome["seconds"] = time.perf_counter() - started
        return outcome
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _grade_job(job: dict) -> dict:
    return grade_with_autograder(**job)


# ---------------------------------------------------------------- temporary folders

BATCH_PREFIX = "coursework-batch-"


def _remove_stale_batches() -> None:
    """Remove the temporary folders of grading runs whose process is gone (killed)."""
    for folder in Path(tempfile.gettempdir()).glob(BATCH_PREFIX + "*"):
        match = re.match(BATCH_PREFIX + r"(\d+)-", folder.name)
        if not match or not folder.is_dir() or folder.is_symlink():
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass


@contextlib.contextmanager
def batch_folder():
    """A temporary folder for one batch, removed at the end, on SIGTERM/SIGINT, and by
    the next run when this process was killed outright."""
    _remove_stale_batches()
    folder = Path(tempfile.mkdtemp(prefix=f"{BATCH_PREFIX}{os.getpid()}-"))
    previous = {}

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):     # not the main thread
            previous[signum] = signal.signal(signum, stop)
    atexit.register(shutil.rmtree, folder, True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# ---------------------------------------------------------------------------- batch


class _Gradebook:
    """The rows of a batch, one grades table per assignment, and each student's feedback:
    what :func:`grade` records as each notebook's outcome comes back."""

    def __init__(self, csv_dir: Path, feedback: Path | None, limits: Limits, quiet: bool):
        self.csv_dir, self.feedback, self.limits, self.quiet = csv_dir, feedback, limits, quiet
        self.rows: list[dict] = []
        self.points: dict[tuple[str, str], dict[str, float]] = {}   # (lang, name) → points

    def add(self, relative: Path) -> dict:
        row = {"student": student_id(relative), "submission": relative.as_posix()}
        self.rows.append(row)
        return row

    def write(self) -> None:
        """Rewrite every table (``grades-<assignment>.csv``, ``grades-unknown.csv``)."""
        columns: dict[str, list[str]] = {}
        for (_, name), points in self.points.items():
            columns.setdefault(name, list(points))
        self.csv_dir.mkdir(parents=True, exist_ok=True)
        for name in dict.fromkeys(row["assignment"] for row in self.rows):
            header = [*GRADE_COLUMNS, *columns.get(name, []), "seconds", "cpu_seconds",
                      "notes", "error"]
            _write_csv(self.csv_dir / f"grades-{name}.csv", header,
                       [r for r in self.rows if r["assignment"] == name])

    def record(self, row: dict, outcome: dict | Exception) -> None:
        """Score one notebook's outcome into its row, write its feedback and the tables."""
        if isinstance(outcome, Exception):
            outcome = failed_outcome(f"{type(outcome).__name__}: {judging.clean(outcome)}")
        lang = row["lang"]
        points = self.points[lang, row["assignment"]]
        row["seconds"] = f"{outcome['seconds']:.1f}"
        row["cpu_seconds"] = f"{outcome.get('cpu_seconds', 0.0):.1f}"
        notes = list(outcome["notes"])
        named = named_assignment(Path(row["submission"]))
        if named and named != row["assignment"]:
            notes.insert(0, text("cw_note_wrong_file", lang).format(
                named=named, assignment=row["assignment"]))
        if outcome["error"]:
            row["error"] = outcome["error"]
        else:
            scores = question_scores(outcome, points)
            row.update({question: f"{score:g}" for question, score in scores.items()})
            total, possible = sum(scores.values()), sum(points.values())
            row.update(total=f"{total:g}", possible=f"{possible:g}",
                       percent=f"{100 * total / possible:.1f}")
            calls = [c for q in outcome["questions"].values() for c in q["library_calls"]]
            if calls:
                notes.append(text("cw_note_library", lang).format(
                    calls=", ".join(sorted(set(calls)))))
        row["notes"] = "; ".join(notes)
        if self.feedback is not None:
            report = self.feedback / Path(row["submission"]).with_suffix(".txt")
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(feedback_text(row, {**outcome, "notes": notes}, lang,
                                            self.limits), encoding="utf-8")
            if "results" in outcome:      # what Gradescope would record
                report.with_suffix(".json").write_text(
                    json.dumps(outcome["results"], ensure_ascii=False), encoding="utf-8")
        self.write()
        if not self.quiet:
            score = row.get("error") or f"{row.get('total')} / {row.get('possible')}"
            print(f"[coursework] {row['submission']} ({row['assignment']}, {lang}): "
                  f"{score} in {row['seconds']} s", flush=True)


def _run_jobs(todo: list[tuple[dict, dict]], jobs: int, record) -> None:
    """Grade each ``(row, job)`` (``jobs`` at a time) and ``record(row, outcome)``; a pool
    broken by a dying worker is replaced once, then its notebooks are error rows."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    pending = list(todo)
    for attempt in range(2):
        if not pending:
            return
        if jobs == 1 or len(pending) == 1:
            for row, job in pending:
                try:
                    outcome = _grade_job(job)
                except Exception as error:
                    outcome = error
                record(row, outcome)
            return
        broken = []
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_grade_job, job): (row, job) for row, job in pending}
            for future in as_completed(futures):
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken.append(futures[future])
                    continue
                except Exception as error:
                    outcome = error
                record(futures[future][0], outcome)
        pending = broken
    for row, _ in pending:
        record(row, RuntimeError("the grading process died"))


def grade(submissions: Path, csv_dir: Path | None = None, *, out: Path = DEFAULT_OUT,
          feedback: Path | None = None, jobs: int = 1, sandbox: str = "auto",
          limits: Limits = Limits(), notebook_timeout: float = NOTEBOOK_TIMEOUT,
          quiet: bool = False) -> list[dict]:
    """Grade every ``*.ipynb`` below ``submissions``; write one grades table per assignment.

    ``csv_dir/grades-<assignment>.csv`` (default ``csv_dir = submissions``): one row per
    submission with the student, the submission's path, assignment, language, total,
    possible points, percentage, the points of each question, the seconds grading took
    (wall clock and CPU), and ``notes`` (cells stopped by a limit or that crashed the
    kernel, library shortcuts, a file name that names another assignment) or ``error``
    (why the notebook earned no points). Notebooks that are not one of the assignments
    go to ``grades-unknown.csv``. Each table is rewritten as every notebook finishes.
    ``jobs`` notebooks are graded at the same time, each in its own sandboxes. With
    ``feedback``, each student's feedback goes to ``feedback/<submission>.txt``.

    Each notebook is graded with its assignment's autograder zip under ``out`` (built
    with :func:`~tools.coursework.build.generate_one` where missing), and scored with
    the points recorded beside that zip (:func:`~tools.coursework.build.points_of`).
    """
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise NotADirectoryError(f"no folder of submissions at {submissions}")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    paths = sorted(p for p in submissions.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts
                   and (feedback is None or Path(feedback) not in p.parents))
    if not paths:
        raise FileNotFoundError(f"no .ipynb files below {submissions}")
    sandbox = resolve_sandbox(sandbox)
    if sandbox == "none":
        print("[coursework] WARNING: grading without a sandbox: student code runs as you, "
              "with your files and network (see the instructor guide)")
    book = _Gradebook(Path(csv_dir) if csv_dir else submissions,
                      Path(feedback) if feedback is not None else None, limits, quiet)
    settings = load_settings()
    started = time.perf_counter()
    with batch_folder() as folder:
        todo = []
        for path in paths:
            row = book.add(path.relative_to(submissions))
            try:
                name, lang = identify(path)
            except Exception as error:  # one broken submission must not stop the batch
                row.update(assignment="unknown",
                           error=f"{type(error).__name__}: {judging.clean(error)}")
                continue
            row.update(assignment=name, lang=lang)
            if (lang, name) not in book.points:
                book.points[lang, name] = points_of(lang, name, out, settings=settings)
            todo.append((row, {"path": path,
                               "autograder": out / lang / name / "autograder" / "autograder.zip",
                               "sandbox": sandbox, "limits": limits,
                               "notebook_timeout": notebook_timeout, "tmp_root": folder}))
        book.write()
        _run_jobs(todo, jobs, book.record)
    if not quiet:
        errors = sum(1 for r in book.rows if r.get("error"))
        print(f"[coursework] {len(book.rows)} submissions graded in "
              f"{time.perf_counter() - started:.0f} s ({jobs} at a time); {errors} error rows "
              f"(see the error column) -> " + ", ".join(
                  str(book.csv_dir / f"grades-{n}.csv")
                  for n in dict.fromkeys(r["assignment"] for r in book.rows)))
    return book.rows

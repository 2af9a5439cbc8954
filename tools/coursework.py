"""Coursework: build the assignments' student and instructor versions, and grade submissions.

Usage (``make coursework`` and ``make grade SUBMISSIONS=folder`` run these inside the
project's virtual environment)::

    python -m tools.coursework generate                  # every assignment, both languages
    python -m tools.coursework generate --lang en --assignment a1-lasso
    python -m tools.coursework grade SUBMISSIONS         # -> SUBMISSIONS/grades.csv
    python -m tools.coursework grade SUBMISSIONS --csv grades.csv --feedback feedback/ --jobs 2

The assignments are MyST-Markdown *masters* in ``coursework/<lang>/<name>.md``: a
notebook whose raw cells carry otter-grader's markers (``# BEGIN QUESTION``,
``# BEGIN SOLUTION``, ``# BEGIN TESTS`` …, see ``coursework/README.md``). ``generate``
reads a master with jupytext, fills in the settings of ``coursework/targets.toml``
(``{{ name }}`` placeholders), and runs ``otter assign`` on it. Output, per language and
assignment, in ``_build/coursework/<lang>/<name>/`` (not committed)::

    student/<name>.ipynb         hand this out (public checks inside the notebook)
    colab/<name>-colab.ipynb     the same for Google Colab (installs what it needs)
    autograder/<name>.ipynb      the instructor version: solutions and all checks
    autograder/autograder.zip    what ``grade`` uses (public and hidden checks)

``grade`` runs every ``*.ipynb`` under a folder through the autograder of its
assignment (found from the notebook's otter metadata; the language from its
``LANG = ...`` line), locally and without Docker (``otter.api.grade_submission``),
and writes one CSV row per submission with the points of each question. Otter's exit
code does not reflect the score, so the scores are read from its results object.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import logging
import os
import pprint
import re
import shutil
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
import yaml

from helpers._checks import check_language
from helpers.languages import LANG_LINE, LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "coursework"
SETTINGS = SOURCES / "targets.toml"
DEFAULT_OUT = ROOT / "_build" / "coursework"

ASSIGNMENTS = ("a1-lasso", "a2-pruning", "a3-pipeline")

#: ``{{ name }}`` in a master is replaced by the assignment's setting ``name``.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")


# ----------------------------------------------------------------------------- masters


def master_path(lang: str, name: str) -> Path:
    """The MyST-Markdown master of assignment ``name`` in language ``lang``."""
    check_language(lang)
    if name not in ASSIGNMENTS:
        raise ValueError(f"unknown assignment {name!r}; choose one of {ASSIGNMENTS}")
    return SOURCES / lang / f"{name}.md"


def load_settings(path: Path = SETTINGS) -> dict[str, dict]:
    """The assignments' settings (targets, thresholds): ``{assignment: {name: value}}``."""
    with open(path, "rb") as f:
        settings = tomllib.load(f)
    unknown = set(settings) - set(ASSIGNMENTS)
    if unknown:
        raise ValueError(f"{path}: sections for unknown assignments {sorted(unknown)}")
    return settings


def fill_placeholders(text: str, values: dict, where: str) -> str:
    """Replace every ``{{ name }}`` in ``text`` by ``values[name]`` (``repr`` for floats)."""
    def value(match: re.Match) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"{where}: no setting {key!r} in {SETTINGS.name} "
                           f"(known: {sorted(values)})")
        return str(values[key])
    return PLACEHOLDER.sub(value, text)


def render_master(lang: str, name: str, settings: dict | None = None) -> nbformat.NotebookNode:
    """The master as an ``.ipynb`` notebook, with the settings filled in."""
    settings = load_settings() if settings is None else settings
    path = master_path(lang, name)
    notebook = jupytext.read(path)
    values = settings.get(name, {})
    for k, cell in enumerate(notebook.cells):
        cell.source = fill_placeholders(cell.source, values, f"{path.name}, cell {k}")
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["coursework"] = {"assignment": name, "lang": lang}
    return notebook


def _raw_config(cell, marker: str) -> dict | None:
    """The YAML below ``marker`` in a raw cell (``# BEGIN QUESTION``), else None."""
    if cell.cell_type != "raw":
        return None
    lines = cell.source.strip().splitlines()
    if not lines or lines[0].strip() != marker:
        return None
    return yaml.safe_load("\n".join(lines[1:])) or {}


@dataclass(frozen=True)
class Question:
    """One graded question of an assignment."""

    name: str
    points: float


def questions(notebook: nbformat.NotebookNode) -> list[Question]:
    """The graded questions of a master notebook, in order, with their points."""
    found = []
    for cell in notebook.cells:
        config = _raw_config(cell, "# BEGIN QUESTION")
        if config is not None:
            points = config.get("points", 0)
            points = sum(points) if isinstance(points, list) else points
            found.append(Question(config["name"], float(points)))
    return found


def code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """Sources of the code and raw cells, with the language line made neutral.

    Two languages' versions of an assignment must give the same list: the same code,
    the same questions, points and checks (only Markdown differs).
    """
    return [LANG_LINE.sub('LANG = "<lang>"', c.source) for c in notebook.cells
            if c.cell_type in ("code", "raw")]


# ------------------------------------------------------------------------ generation


def _pins() -> dict[str, str]:
    """Exact versions from requirements.txt (name → version)."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def repository_url() -> str | None:
    """The book's repository, from the checkout's git remote (None without one)."""
    try:
        from tools.build_book import repository_url as from_checkout
    except ImportError:  # run as a script: tools/ itself is on sys.path
        from build_book import repository_url as from_checkout
    return from_checkout(ROOT)


COLAB_CELL = '''\
# Google Colab: install what this assignment needs (otter-grader and the book's
# `helpers` package). On your own machine, with the book's environment, this is skipped.
# Then write the public checks into ./tests, where `grader.check` finds them.
import os, sys, subprocess
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", {packages}], check=True)
os.makedirs("tests", exist_ok=True)
_PUBLIC_CHECKS = {checks}
for _name, _text in _PUBLIC_CHECKS.items():
    with open(os.path.join("tests", _name + ".py"), "w", encoding="utf-8") as _f:
        _f.write(_text)'''


def colab_variant(student: nbformat.NotebookNode, lang: str = "en") -> nbformat.NotebookNode:
    """The student notebook for Google Colab.

    Its first cell installs otter-grader (and ``helpers`` from the book's repository,
    when the checkout has a remote) when ``"google.colab" in sys.modules`` and writes
    the public checks (kept in the notebook's metadata otherwise, which otter cannot
    read on Colab) into ``tests/``. Without a repository, the second cell is the
    notebooks bundle's setup cell: it installs ``helpers`` from an uploaded wheel, or
    says where to get one.
    """
    notebook = nbformat.from_dict(json.loads(json.dumps(student)))
    tests = notebook.metadata.get("otter", {}).get("tests", {})
    checks = {name: "OK_FORMAT = True\n\ntest = " + pprint.pformat(test, width=100) + "\n"
              for name, test in tests.items()}
    pins = _pins()
    packages = [f"otter-grader=={pins['otter-grader']}", f"mplfonts=={pins['mplfonts']}"]
    url = repository_url()
    if url:
        packages.append(f"git+{url}")
    first = nbformat.v4.new_code_cell(COLAB_CELL.format(
        packages=", ".join(repr(p) for p in packages), checks=pprint.pformat(checks, width=100)))
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith("# Initialize Otter"):
            cell.source = '# Initialize Otter\nimport otter\ngrader = otter.Notebook(tests_dir="tests")'
            break
    else:
        raise ValueError("the student notebook has no otter initialisation cell")
    notebook.cells.insert(0, first)
    if not url:
        try:
            from tools.notebooks_bundle import setup_cell
        except ImportError:  # run as a script: tools/ itself is on sys.path
            from notebooks_bundle import setup_cell
        notebook.cells.insert(1, setup_cell(lang))
    for k, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{k}"
    return notebook


@contextlib.contextmanager
def _quiet(enabled: bool = True):
    """Silence otter's printing and logging (its summary tables, the kernel banner)."""
    if not enabled:
        yield
        return
    loggers = [logging.getLogger(n) for n in ("otter", "traitlets")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def generate_one(lang: str, name: str, out: Path = DEFAULT_OUT, *,
                 settings: dict | None = None, quiet: bool = True) -> Path:
    """Build the student, Colab and autograder versions of one assignment; return its folder."""
    from otter.assign import main as otter_assign

    notebook = render_master(lang, name, settings)
    target = out / lang / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix=f"coursework-{lang}-{name}-") as tmp:
        master = Path(tmp) / f"{name}.ipynb"
        nbformat.write(notebook, master)
        with _quiet(quiet):
            otter_assign(str(master), str(Path(tmp) / "dist"), no_pdfs=True, no_run_tests=True)
        for part in ("autograder", "student"):
            shutil.copytree(Path(tmp) / "dist" / part, target / part)
    zips = sorted((target / "autograder").glob("*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"otter assign wrote {len(zips)} autograder zips for {lang}/{name}")
    zips[0].rename(target / "autograder" / "autograder.zip")
    student = nbformat.read(target / "student" / f"{name}.ipynb", as_version=4)
    (target / "colab").mkdir()
    nbformat.write(colab_variant(student, lang), target / "colab" / f"{name}-colab.ipynb")
    return target


def generate(out: Path = DEFAULT_OUT, langs=LANGUAGES, names=ASSIGNMENTS, *,
             quiet: bool = True) -> list[Path]:
    """Build every assignment in every language; also write ``out/manifest.json``."""
    settings = load_settings()
    folders, manifest = [], {}
    for lang in langs:
        for name in names:
            started = time.perf_counter()
            folders.append(generate_one(lang, name, out, settings=settings, quiet=quiet))
            qs = questions(render_master(lang, name, settings))
            manifest.setdefault(lang, {})[name] = {
                "questions": {q.name: q.points for q in qs},
                "points": sum(q.points for q in qs)}
            print(f"[coursework] {lang}/{name}: {len(qs)} questions, "
                  f"{sum(q.points for q in qs):g} points "
                  f"({time.perf_counter() - started:.1f} s) -> {folders[-1]}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folders


def student_files(out: Path, lang: str) -> list[Path]:
    """The notebooks to hand out in one language (student and Colab versions)."""
    return [p for name in ASSIGNMENTS
            for p in (out / lang / name / "student" / f"{name}.ipynb",
                      out / lang / name / "colab" / f"{name}-colab.ipynb")]


# --------------------------------------------------------------------------- grading


def identify(path: Path) -> tuple[str, str]:
    """``(assignment, lang)`` of a submitted notebook.

    The assignment comes from otter's metadata (``assignment_name``), the language
    from the notebook's ``LANG = "…"`` line (English when there is none).
    """
    notebook = nbformat.read(path, as_version=4)
    name = notebook.metadata.get("otter", {}).get("assignment_name")
    if name not in ASSIGNMENTS:
        raise ValueError(f"{path}: not one of the assignments {ASSIGNMENTS} "
                         f"(otter metadata names {name!r})")
    for cell in notebook.cells:
        match = LANG_LINE.search(cell.source) if cell.cell_type == "code" else None
        if match:
            return name, match.group(1)
    return name, LANGUAGES[0]


def grade_notebook(path: Path, autograder: Path, *, quiet: bool = True) -> dict:
    """Grade one notebook; return ``{"scores": {question: points}, "possible", ...}``."""
    import otter.api

    started = time.perf_counter()
    with _quiet(quiet):
        results = otter.api.grade_submission(str(path), str(autograder), quiet=quiet)
    return {
        "scores": {q: float(r.score) for q, r in results.results.items()},
        "possible": {q: float(r.possible) for q, r in results.results.items()},
        "total": float(results.total),
        "max": float(results.possible),
        "seconds": time.perf_counter() - started,
        "report": results.summary(),
    }


def _grade_job(job: tuple[Path, Path, bool]) -> dict:
    path, autograder, quiet = job
    return grade_notebook(path, autograder, quiet=quiet)


def grade(submissions: Path, csv_path: Path | None = None, *, out: Path = DEFAULT_OUT,
          feedback: Path | None = None, jobs: int = 1, quiet: bool = True) -> list[dict]:
    """Grade every ``*.ipynb`` below ``submissions``; write the grades table (CSV).

    One row per submission: its path, assignment, language, total, possible points,
    percentage, the points of each question (in the assignment's order), and the
    seconds grading took. A notebook that cannot be graded (not one of the
    assignments, unreadable) gets a row with its error instead of scores; grading goes
    on with the others. Missing autograders are generated first. ``jobs`` notebooks
    are graded at the same time (each in its own process and kernel). With
    ``feedback``, each submission's full check report (public and hidden checks) is
    written to ``feedback/<submission>.txt``.
    """
    from concurrent.futures import ProcessPoolExecutor

    submissions = Path(submissions)
    if not submissions.is_dir():
        raise NotADirectoryError(f"no folder of submissions at {submissions}")
    csv_path = Path(csv_path) if csv_path else submissions / "grades.csv"
    paths = sorted(p for p in submissions.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
    if not paths:
        raise FileNotFoundError(f"no .ipynb files below {submissions}")
    settings = load_settings()
    rows, jobs_todo, columns = [], [], []
    for path in paths:
        row = {"submission": path.relative_to(submissions).as_posix()}
        rows.append(row)
        try:
            name, lang = identify(path)
            row.update(assignment=name, lang=lang)
            autograder = out / lang / name / "autograder" / "autograder.zip"
            if not autograder.exists():
                generate_one(lang, name, out, settings=settings)
            for q in questions(render_master(lang, name, settings)):
                if q.name not in columns:
                    columns.append(q.name)
            jobs_todo.append((row, (path, autograder, quiet)))
        except Exception as error:  # one broken submission must not stop the batch
            row["error"] = f"{type(error).__name__}: {error}"
            print(f"[coursework] {row['submission']}: cannot grade ({row['error']})")
    if jobs > 1 and len(jobs_todo) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_grade_job, job) for _, job in jobs_todo]
            outcomes = []
            for future in futures:
                try:
                    outcomes.append(future.result())
                except Exception as error:
                    outcomes.append(error)
    else:
        outcomes = []
        for _, job in jobs_todo:
            try:
                outcomes.append(_grade_job(job))
            except Exception as error:
                outcomes.append(error)
    for (row, _), result in zip(jobs_todo, outcomes):
        if isinstance(result, Exception):
            row["error"] = f"{type(result).__name__}: {result}"
            print(f"[coursework] {row['submission']}: grading failed ({row['error']})")
            continue
        for question, score in result["scores"].items():
            if question not in columns:
                columns.append(question)
            row[question] = f"{score:g}"
        row.update(total=f"{result['total']:g}", possible=f"{result['max']:g}",
                   percent=f"{100 * result['total'] / result['max']:.1f}",
                   seconds=f"{result['seconds']:.1f}")
        if feedback is not None:
            report = Path(feedback) / Path(row["submission"]).with_suffix(".txt")
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(result["report"], encoding="utf-8")
        print(f"[coursework] {row['submission']} ({row['assignment']}, {row['lang']}): "
              f"{row['total']} / {row['possible']} in {row['seconds']} s")
    header = ["submission", "assignment", "lang", "total", "possible", "percent",
              *columns, "seconds", "error"]
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    print(f"[coursework] {len(rows)} submissions -> {csv_path}")
    return rows


# ------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="build student, Colab and autograder versions")
    gen.add_argument("--out", type=Path, default=DEFAULT_OUT)
    gen.add_argument("--lang", choices=LANGUAGES, action="append")
    gen.add_argument("--assignment", choices=ASSIGNMENTS, action="append")
    gra = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    gra.add_argument("submissions", type=Path)
    gra.add_argument("--csv", type=Path, default=None,
                     help="where to write the grades (default: SUBMISSIONS/grades.csv)")
    gra.add_argument("--feedback", type=Path, default=None,
                     help="also write each submission's check report into this folder")
    gra.add_argument("--out", type=Path, default=DEFAULT_OUT,
                     help="folder of the generated autograders (default: _build/coursework)")
    gra.add_argument("--jobs", type=int, default=1,
                     help="notebooks graded at the same time (default: 1)")
    args = parser.parse_args(argv)
    if args.command == "generate":
        generate(args.out, args.lang or LANGUAGES, args.assignment or ASSIGNMENTS)
        return 0
    rows = grade(args.submissions, args.csv, out=args.out, feedback=args.feedback,
                 jobs=args.jobs)
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Coursework: build the assignments' student and instructor versions, and grade submissions.

Usage (``make coursework`` and ``make grade SUBMISSIONS=folder`` run these inside the
project's virtual environment)::

    python -m tools.coursework generate                  # every assignment, every language
    python -m tools.coursework generate --lang en --assignment a1-lasso
    python -m tools.coursework grade SUBMISSIONS         # -> SUBMISSIONS/grades-<name>.csv
    python -m tools.coursework grade SUBMISSIONS --feedback feedback/ --jobs 2 --sandbox bwrap

The assignments are MyST-Markdown *masters* in ``coursework/<lang>/<name>.md``: a
notebook whose raw cells carry otter-grader's markers (``# BEGIN QUESTION``,
``# BEGIN SOLUTION``, ``# BEGIN TESTS`` …, see ``coursework/README.md``). ``generate``
reads a master with jupytext, fills in the settings of ``coursework/targets.toml``
(``{{ name }}``) and the texts of ``coursework/text.toml`` in the master's language
(``{{ text.key }}``, ``{{ say.key }}``: messages, prompts, comments), and runs
``otter assign`` on it. Output, per language and assignment, in
``_build/coursework/<lang>/<name>/`` (not committed)::

    student/<name>.ipynb         hand this out (public checks inside the notebook)
    colab/<name>-colab.ipynb     the same for Google Colab (installs what it needs)
    autograder/<name>.ipynb      the instructor version: solutions and all checks
    autograder/autograder.zip    all checks, the environment and ``helpers`` (Gradescope-ready)

``grade`` grades every ``*.ipynb`` under a folder with the autograder zip of its
assignment (found from the notebook's otter metadata; the language from its
``LANG = ...`` line): each notebook in a fresh copy of the zip, in two processes (run
the notebook, then run the checks on its saved variables), inside a bubblewrap sandbox
where one works, with time limits per cell and per notebook. It writes one grades table
per assignment as each notebook finishes, and feedback students may read. The
instructor guide (``book/en/coursework.md``) says what is contained in each mode.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
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

#: Text of the coursework in every language: messages, prompts, comments, feedback.
TEXT_FILE = SOURCES / "text.toml"
ASSIGNMENTS = ("a1-lasso", "a2-pruning", "a3-pipeline")

#: ``{{ name }}`` in a master is replaced by the assignment's setting ``name``,
#: ``{{ text.key }}`` by the text ``key`` of ``text.toml`` in the master's language, and
#: ``{{ say.key }}`` by the same text as a Python string literal (messages, prompts).
PLACEHOLDER = re.compile(r"\{\{\s*(?:(say|text)\.)?([A-Za-z_]\w*)\s*\}\}")


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


def text(key: str, lang: str) -> str:
    """The coursework's text ``key`` in language ``lang`` (from ``coursework/text.toml``)."""
    entry = _texts().get(key)
    if entry is None:
        raise KeyError(f"{TEXT_FILE.name}: no text {key!r}")
    if lang not in entry:
        raise KeyError(f"{TEXT_FILE.name}: text {key!r} has no {lang!r} version")
    return entry[lang]


@functools.cache
def _texts() -> dict[str, dict[str, str]]:
    with open(TEXT_FILE, "rb") as f:
        return tomllib.load(f)


def fill_placeholders(text_: str, values: dict, where: str, lang: str | None = None) -> str:
    """Replace ``{{ name }}`` by ``values[name]``, ``{{ text.key }}`` / ``{{ say.key }}`` by
    the text ``key`` in ``lang`` (raw / as a Python string literal)."""
    def value(match: re.Match) -> str:
        kind, key = match.groups()
        if kind:
            if lang is None:
                raise KeyError(f"{where}: {{{{ {kind}.{key} }}}} needs a language")
            found = text(key, lang)
            return repr(found) if kind == "say" else found
        if key not in values:
            raise KeyError(f"{where}: no setting {key!r} in {SETTINGS.name} "
                           f"(known: {sorted(values)})")
        return str(values[key])
    return PLACEHOLDER.sub(value, text_)


def render_master(lang: str, name: str, settings: dict | None = None) -> nbformat.NotebookNode:
    """The master as an ``.ipynb`` notebook, with the settings filled in."""
    settings = load_settings() if settings is None else settings
    path = master_path(lang, name)
    notebook = jupytext.read(path)
    values = {k: v for k, v in settings.get(name, {}).items() if not isinstance(v, dict)}
    for k, cell in enumerate(notebook.cells):
        cell.source = fill_placeholders(cell.source, values, f"{path.name}, cell {k}", lang)
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
# {setup_comment}
import os, sys, subprocess
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", {packages}], check=True)
os.makedirs("tests", exist_ok=True)
_PUBLIC_CHECKS = {checks}
for _name, _text in _PUBLIC_CHECKS.items():
    with open(os.path.join("tests", _name + ".py"), "w", encoding="utf-8") as _f:
        _f.write(_text)'''


def colab_variant(student: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """The student notebook for Google Colab.

    Its first cell installs otter-grader (and ``helpers`` from the book's repository,
    when the checkout has a remote) when ``"google.colab" in sys.modules`` and writes
    the public checks (kept in the notebook's metadata otherwise, which otter cannot
    read on Colab) into ``tests/``. Without a repository, the second cell is the
    notebooks bundle's setup cell: it installs ``helpers`` from an uploaded wheel, or
    says where to get one. Grading never reads ``tests/``: the checks come from the
    autograder.
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
        setup_comment=text("colab_setup", lang).replace("\n", "\n# "),
        packages=", ".join(repr(p) for p in packages), checks=pprint.pformat(checks, width=100)))
    _set_init_cell(notebook, init_cell("", tests_dir="tests"))
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


#: What grading needs installed besides otter-grader: the notebooks' and ``helpers``'
#: imports, pinned as in ``requirements.txt`` (the autograder zip's environment).
GRADING_PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "matplotlib", "mplfonts",
                    "tqdm", "dill", "ipykernel", "nbclient")


def grading_requirements() -> list[str]:
    """``name==version`` for every package of ``GRADING_PACKAGES``."""
    pins = _pins()
    return [f"{name}=={pins[name]}" for name in GRADING_PACKAGES]


def init_cell(name: str, tests_dir: str | None = None) -> str:
    """The student notebook's first code cell: otter reads the public checks from this
    notebook's metadata, whatever the file is called now (``a1-lasso (1).ipynb``), or
    from ``tests_dir`` (Colab, where the notebook's file cannot be found)."""
    if tests_dir:
        return f'# Initialize Otter\nimport otter\ngrader = otter.Notebook(tests_dir="{tests_dir}")'
    return ("# Initialize Otter\nimport glob, json, otter\n"
            "grader = otter.Notebook(next((p for p in sorted(glob.glob(\"*.ipynb\")) if json.load("
            "open(p, encoding=\"utf-8\")).get(\"metadata\", {}).get(\"otter\", {})"
            f".get(\"assignment_name\") == {name!r}), None))")


def _set_init_cell(notebook: nbformat.NotebookNode, source: str) -> None:
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith("# Initialize Otter"):
            cell.source = source
            return
    raise ValueError("the student notebook has no otter initialisation cell")


def _translate_check_all(notebook: nbformat.NotebookNode, lang: str) -> None:
    """Otter's text above the ``grader.check_all()`` cell, in the notebook's language."""
    for before, cell in zip(notebook.cells, notebook.cells[1:]):
        if cell.cell_type == "code" and cell.source.strip() == "grader.check_all()" \
                and before.cell_type == "markdown":
            before.source = "---\n\n" + text("check_all_intro", lang)


def generate_one(lang: str, name: str, out: Path = DEFAULT_OUT, *,
                 settings: dict | None = None, quiet: bool = True) -> Path:
    """Build the student, Colab and autograder versions of one assignment; return its folder.

    The autograder zip is ready for Gradescope or otter's Docker grading: its
    ``environment.yml`` installs ``GRADING_PACKAGES`` at this project's pins, and it
    carries this project's ``helpers`` (``files/helpers``), which grading imports.
    """
    from otter.assign import main as otter_assign

    notebook = render_master(lang, name, settings)
    config_cell = next(c for c in notebook.cells if _raw_config(c, "# ASSIGNMENT CONFIG") is not None)
    config = _raw_config(config_cell, "# ASSIGNMENT CONFIG")
    config.update(requirements="requirements.txt", python_version="3.11",
                  autograder_files=["helpers"])
    config_cell.source = "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False)
    target = out / lang / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix=f"coursework-{lang}-{name}-") as tmp:
        master = Path(tmp) / f"{name}.ipynb"
        nbformat.write(notebook, master)
        (Path(tmp) / "requirements.txt").write_text("\n".join(grading_requirements()) + "\n",
                                                    encoding="utf-8")
        shutil.copytree(ROOT / "helpers", Path(tmp) / "helpers",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        with _quiet(quiet), contextlib.chdir(tmp):
            otter_assign(str(master), str(Path(tmp) / "dist"), no_pdfs=True, no_run_tests=True)
        for part in ("autograder", "student"):
            shutil.copytree(Path(tmp) / "dist" / part, target / part,
                            ignore=shutil.ignore_patterns("helpers", "requirements.txt"))
    zips = sorted((target / "autograder").glob("*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"otter assign wrote {len(zips)} autograder zips for {lang}/{name}")
    zips[0].rename(target / "autograder" / "autograder.zip")
    for path in (target / "autograder" / f"{name}.ipynb", target / "student" / f"{name}.ipynb"):
        version = nbformat.read(path, as_version=4)
        _translate_check_all(version, lang)
        nbformat.write(version, path)
    student_path = target / "student" / f"{name}.ipynb"
    student = nbformat.read(student_path, as_version=4)
    _set_init_cell(student, init_cell(name))
    for cell in student.cells:   # written answers are typed in place, also inside a question
        if "answer" in cell.metadata.get("tags", []):
            cell.metadata.update(editable=True, deletable=False)
    nbformat.write(student, student_path)
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
#
# A submission is graded in two stages, each a fresh process in a fresh work folder
# (``run_stage``; inside the sandbox when there is one):
#
# 1. ``execute``: the student's notebook runs top to bottom in a Jupyter kernel (nbclient;
#    a time limit per cell, errors do not stop it), without any check in reach; its last,
#    appended cell saves the notebook's variables with dill.
# 2. ``check``: a new Python process loads those variables and runs the assignment's checks
#    (otter-grader's ``OKTestFile``: public and hidden) from the autograder zip, which is
#    unpacked only for this stage. numpy, torch, ``helpers`` and otter are imported fresh
#    here, so what the notebook's cells patched (``np.allclose = ...``, otter's runner,
#    check files) does not reach the checks.

#: A ``grader.check("q")`` or ``grader.check_all()`` cell (dropped before stage 1).
CHECK_CALL = re.compile(r"^\s*grader\.(check\(\s*['\"][\w-]+['\"]\s*\)|check_all\(\s*\))\s*$")
#: Names in the notebook's namespace that are not the student's variables.
KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open", "grader"}
#: Default time limits in seconds: one cell, and one whole notebook (both stages).
CELL_TIMEOUT = 120
NOTEBOOK_TIMEOUT = 600

SAVE_STATE_CELL = '''\
def _coursework_save_state(path="state.pkl"):
    import pickle, sys, types
    import dill
    state = {"modules": sorted(m for m in list(sys.modules) if m.split(".")[0] == "helpers"),
             "variables": {}, "unsaved": []}
    for key, value in list(globals().items()):
        if key.startswith("_") or key in %r:
            continue
        if isinstance(value, types.ModuleType):
            state["variables"][key] = ("module", value.__name__)
            continue
        try:
            state["variables"][key] = ("value", dill.dumps(value))
        except Exception:
            state["unsaved"].append(key)
    with open(path, "wb") as f:
        pickle.dump(state, f)
_coursework_save_state()''' % (sorted(KERNEL_NAMES),)


def execute_stage(notebook: Path, state: Path, cell_timeout: float) -> dict:
    """Stage 1 (student code): run ``notebook``, save its variables to ``state``.

    Returns notes for the grades table: cells that ran past ``cell_timeout`` or crashed
    the kernel. The notebook is then run again from the start without that cell (at
    most three times), so the other questions still earn their points.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(notebook, as_version=4)
    code_number = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            code_number += 1
            cell.metadata["coursework_cell"] = code_number
    nb.cells = [c for c in nb.cells
                if not (c.cell_type == "code" and CHECK_CALL.match(c.source))]
    nb.cells.append(nbformat.v4.new_code_cell(SAVE_STATE_CELL))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    crashed, timed_out = [], []
    for _ in range(4):   # a cell that hangs or kills the kernel is dropped, then rerun
        current = {}
        client = NotebookClient(nb, timeout=cell_timeout, allow_errors=True,
                                kernel_name="python3",
                                resources={"metadata": {"path": str(state.parent)}})
        client.on_cell_start = lambda cell, cell_index: current.update(cell=cell)
        try:
            client.execute()
        except (DeadKernelError, CellTimeoutError) as error:
            bad = current.get("cell")
            if bad is None or bad is nb.cells[-1]:
                break
            lost = timed_out if isinstance(error, CellTimeoutError) else crashed
            lost.append(bad.metadata.get("coursework_cell"))
            nb.cells = [c for c in nb.cells if c is not bad]
            continue
        break
    return {"crashed": crashed, "timed_out": timed_out}


def _resolve(target: str):
    """The function named ``target`` ("package.module.function", "….Class.method")."""
    import importlib

    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            owner = getattr(owner, attr)
        return owner
    raise ValueError(f"cannot import {target!r}")


def _from_notebook(frame) -> str | None:
    """The name of the notebook's own function on the stack below ``frame``, if any
    (code typed in a notebook is compiled from files named ``…/ipykernel_…/….py``)."""
    while frame is not None:
        if "ipykernel_" in frame.f_code.co_filename:
            return frame.f_code.co_name
        frame = frame.f_back
    return None


@contextlib.contextmanager
def _forbidden(targets: list[str], calls: list[str]):
    """Record calls of the functions ``targets`` made from the notebook's own functions
    while the block runs (a profile hook compares code objects, so a reference the
    notebook took earlier, ``from sklearn.linear_model import Lasso``, is seen too)."""
    import inspect

    codes = {}
    for target in targets:
        function = inspect.unwrap(_resolve(target))
        code = getattr(function, "__code__", None)
        if code is not None:
            codes[code] = target
    if not codes:
        yield
        return

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            caller = _from_notebook(frame.f_back)
            if caller is not None:
                calls.append(f"{caller} → {codes[frame.f_code]}")

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(previous)


def check_stage(state: Path, checks: Path, results: Path, lang: str,
                from_scratch: dict[str, list[str]]) -> None:
    """Stage 2 (the checks): load the saved variables, run every check, write JSON."""
    import importlib
    import pickle

    import builtins
    import types

    # The notebook's functions keep ``__main__`` as their module: give them a fresh one,
    # so that no saved variable can replace a name this tool uses (``json``, ``re``, …).
    notebook_main = types.ModuleType("__main__")
    notebook_main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = notebook_main
    namespace = notebook_main.__dict__
    import dill
    from otter.test_files import OKTestFile

    dill._dill._main_module = notebook_main   # dill resolves ``__main__`` through this
    with open(state, "rb") as f:
        saved = pickle.load(f)
    for module in saved.get("modules", []):
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    unloaded = list(saved.get("unsaved", []))
    for key, (kind, payload) in saved["variables"].items():
        try:
            namespace[key] = importlib.import_module(payload) if kind == "module" \
                else dill.loads(payload)
        except Exception:
            unloaded.append(key)
    questions_out = {}
    for path in sorted(checks.glob("*.py")):
        test = OKTestFile.from_file(str(path))
        calls: list[str] = []
        with _quiet(), _forbidden(from_scratch.get(test.name, []), calls):
            test.run(dict(namespace))
        cases = []
        for result in test.test_case_results:
            cases.append({"hidden": bool(result.test_case.hidden), "passed": bool(result.passed),
                          "points": result.test_case.points,
                          "message": _assertion_message(result.message) if not result.passed
                          else ""})
        score = float(test.score)
        if calls:
            score = 0.0
        questions_out[test.name] = {"score": score, "possible": float(test.possible),
                                    "cases": cases, "library_calls": sorted(set(calls))}
    results.write_text(json.dumps({"questions": questions_out, "unloaded": unloaded,
                                   "cpu_seconds": _cpu_seconds()}, ensure_ascii=False),
                       encoding="utf-8")


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children (the kernel)."""
    import resource

    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def _assertion_message(report: str) -> str:
    """What a student may read of a failed check: the first exception it raised (type
    and message), without the check's code."""
    lines = report.splitlines()
    starts = [k for k, line in enumerate(lines) if line.strip() == "Exception raised:"]
    if not starts:
        return "unexpected output"
    block = []
    for line in lines[starts[0] + 1:]:
        if line.startswith("*****") or line.strip() in ("Trying:", "Failed example:"):
            break
        block.append(line)
    for k, line in enumerate(block):
        if re.match(r"^ {4}\S", line) and not line.strip().startswith("Traceback"):
            message = [line.strip()] + [l[4:] for l in block[k + 1:] if l.strip()]
            return "\n".join(message).strip()
    return block[-1].strip() if block else ""


# ------------------------------------------------------------------------ the sandbox

#: Where the sandbox shows the grading files (the rest of the host is not there).
BOX_WORK, BOX_LIB, BOX_TOOL, BOX_CHECKS = "/grading", "/grader/lib", "/grader/coursework.py", \
    "/grader/checks"
SANDBOXES = ("auto", "bwrap", "none")


def bwrap_works() -> bool:
    """Whether bubblewrap is installed and may create namespaces here."""
    import subprocess

    if not shutil.which("bwrap"):
        return False
    try:
        return subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-all", "true"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def resolve_sandbox(kind: str) -> str:
    """``"bwrap"`` or ``"none"``: ``auto`` uses bubblewrap when it works here."""
    if kind not in SANDBOXES:
        raise ValueError(f"sandbox must be one of {SANDBOXES}, got {kind!r}")
    if kind == "auto":
        return "bwrap" if bwrap_works() else "none"
    if kind == "bwrap" and not bwrap_works():
        raise RuntimeError("bubblewrap (bwrap) is missing or cannot create namespaces here: "
                           "install Debian's `bubblewrap`, or grade with --sandbox none")
    return kind


def _system_mounts() -> list[str]:
    """bwrap arguments that show the system and Python read-only (no home, no project)."""
    args = []
    for path in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin", "/etc"):
        p = Path(path)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), path]
        elif p.exists():
            args += ["--ro-bind", path, path]
    seen = set()
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        real = os.path.realpath(prefix)
        if real not in seen and not any(real.startswith(s) for s in ("/usr/",)):
            seen.add(real)
            args += ["--ro-bind", real, real]
    return args


def stage_command(stage_args: list[str], work: Path, *, sandbox: str, lib: Path,
                  checks: Path | None = None) -> tuple[list[str], Path]:
    """The command running ``tools/coursework.py <stage_args>`` and its working folder.

    With ``bwrap``: read-only system and Python, ``lib`` (the ``helpers`` of the
    autograder) read-only, ``work`` the only writable folder, no network, no other
    process visible, and ``checks`` present only when given (stage 2).
    """
    python = os.path.join(os.path.realpath(sys.prefix), "bin", "python")
    if not os.path.exists(python):
        python = sys.executable
    env = {"HOME": BOX_WORK, "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{BOX_WORK}/.config",
           "JUPYTER_RUNTIME_DIR": f"{BOX_WORK}/.jupyter", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
           "PATH": f"{os.path.dirname(python)}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    if sandbox == "none":
        env.update(HOME=str(work), MPLCONFIGDIR=str(work / ".config"),
                   JUPYTER_RUNTIME_DIR=str(work / ".jupyter"), PYTHONPATH=str(lib))
        argv = [python, str(Path(__file__).resolve()), *[a.replace(BOX_WORK, str(work))
                .replace(BOX_CHECKS, str(checks)) for a in stage_args]]
        return ["env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv], work
    env["PYTHONPATH"] = BOX_LIB
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", *_system_mounts(),
           "--ro-bind", str(lib), BOX_LIB, "--ro-bind", str(Path(__file__).resolve()), BOX_TOOL,
           "--bind", str(work), BOX_WORK, "--chdir", BOX_WORK, "--clearenv"]
    if checks is not None:
        cmd += ["--ro-bind", str(checks), BOX_CHECKS]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    return [*cmd, python, BOX_TOOL, *stage_args], work


def run_stage(cmd: list[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """Run one stage in its own process group; kill the whole group after ``timeout``."""
    import signal
    import subprocess

    with open(cwd / "stage.log", "wb") as log:
        process = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = None
    text = (cwd / "stage.log").read_text(encoding="utf-8", errors="replace")
    return code, text[-2000:]


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


def grade_notebook(path: Path, autograder: Path, lang: str, *, sandbox: str = "none",
                   cell_timeout: float = CELL_TIMEOUT,
                   notebook_timeout: float = NOTEBOOK_TIMEOUT,
                   from_scratch: dict[str, list[str]] | None = None) -> dict:
    """Grade one notebook in a fresh copy of ``autograder``; never raises.

    Returns ``{"questions": {name: {"score", "possible", "cases", "library_calls"}},
    "notes": [...], "error": str | None, "seconds": float, "cpu_seconds": float}``
    (``cpu_seconds``: the CPU time of both stages, kernel included, which unlike the
    wall-clock ``seconds`` does not grow when the machine is busy).
    """
    import zipfile

    started = time.perf_counter()
    outcome = {"questions": {}, "notes": [], "error": None, "cpu_seconds": 0.0}
    with tempfile.TemporaryDirectory(prefix="coursework-grade-") as tmp:
        tmp = Path(tmp)
        work, checks, lib = tmp / "work", tmp / "checks", tmp / "source"
        work.mkdir()
        with zipfile.ZipFile(autograder) as z:
            z.extractall(lib)
        (lib / "tests").rename(checks)
        lib = lib / "files"      # the autograder's copy of `helpers`
        shutil.copy(path, work / "submission.ipynb")
        deadline = started + notebook_timeout
        cmd, cwd = stage_command(["execute", f"{BOX_WORK}/submission.ipynb", "--state",
                                  f"{BOX_WORK}/state.pkl", "--cell-timeout",
                                  str(cell_timeout)], work, sandbox=sandbox, lib=lib)
        code, log = run_stage(cmd, cwd, deadline - time.perf_counter())
        if code is None:
            outcome["error"] = text("cw_err_notebook_timeout", lang).format(
                seconds=notebook_timeout)
        elif code != 0 or not (work / "state.pkl").exists():
            outcome["error"] = text("cw_err_execute", lang).format(log=_last_line(log))
        else:
            notes = json.loads((work / "notes.json").read_text(encoding="utf-8"))
            outcome["cpu_seconds"] += float(notes.get("cpu_seconds", 0))
            for cell in notes["timed_out"]:
                outcome["notes"].append(text("cw_note_timeout", lang).format(
                    cell=cell, seconds=cell_timeout))
            for cell in notes["crashed"]:
                outcome["notes"].append(text("cw_note_crash", lang).format(cell=cell))
            keep = {"state.pkl"}
            for item in work.iterdir():   # stage 2 sees the saved variables, nothing else
                if item.name not in keep:
                    shutil.rmtree(item) if item.is_dir() and not item.is_symlink() \
                        else item.unlink()
            (work / "from_scratch.json").write_text(json.dumps(from_scratch or {}),
                                                   encoding="utf-8")
            cmd, cwd = stage_command(["check", f"{BOX_WORK}/state.pkl", BOX_CHECKS, "--lang",
                                      lang, "--from-scratch", f"{BOX_WORK}/from_scratch.json",
                                      "--results", f"{BOX_WORK}/results.json"],
                                     work, sandbox=sandbox, lib=lib, checks=checks)
            code, log = run_stage(cmd, cwd, max(deadline - time.perf_counter(), 1))
            if code is None:
                outcome["error"] = text("cw_err_notebook_timeout", lang).format(
                    seconds=notebook_timeout)
            elif code != 0 or not (work / "results.json").exists():
                outcome["error"] = text("cw_err_check", lang).format(log=_last_line(log))
            else:
                results = json.loads((work / "results.json").read_text(encoding="utf-8"))
                outcome["questions"] = results["questions"]
                outcome["cpu_seconds"] += float(results.get("cpu_seconds", 0))
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def _last_line(log: str) -> str:
    lines = [line for line in log.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "?"


def feedback_text(row: dict, outcome: dict, lang: str) -> str:
    """What a student may read: per question the points, the messages of failed checks
    (public and hidden, without their code), and library shortcuts found."""
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
    return "\n".join(lines) + "\n"


def _grade_job(job: dict) -> dict:
    return grade_notebook(**job)


def _write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    """Write a grades table atomically, UTF-8 with a byte-order mark (Excel reads it)."""
    partial = path.with_suffix(".csv.part")
    with open(partial, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=header, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(path)


GRADE_COLUMNS = ["student", "submission", "assignment", "lang", "total", "possible",
                 "percent"]


def grade(submissions: Path, csv_dir: Path | None = None, *, out: Path = DEFAULT_OUT,
          feedback: Path | None = None, jobs: int = 1, sandbox: str = "auto",
          cell_timeout: float = CELL_TIMEOUT, notebook_timeout: float = NOTEBOOK_TIMEOUT,
          quiet: bool = False) -> list[dict]:
    """Grade every ``*.ipynb`` below ``submissions``; write one grades table per assignment.

    ``csv_dir/grades-<assignment>.csv`` (default ``csv_dir = submissions``): one row per
    submission with the student, the submission's path, assignment, language, total,
    possible points, percentage, the points of each question, the seconds grading took,
    and ``notes`` (cells stopped by a time limit or that crashed the kernel, library
    shortcuts) or ``error`` (why the notebook earned no points: not an assignment, ran
    past the notebook's time limit, …). Notebooks that are not one of the assignments go
    to ``grades-unknown.csv``. Each table is rewritten as every notebook finishes.
    ``jobs`` notebooks are graded at the same time, each in its own fresh copy of its
    autograder and (``sandbox``) its own sandbox. With ``feedback``, each student's
    feedback (points and messages, no check code) goes to ``feedback/<submission>.txt``.
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed

    submissions = Path(submissions)
    if not submissions.is_dir():
        raise NotADirectoryError(f"no folder of submissions at {submissions}")
    csv_dir = Path(csv_dir) if csv_dir else submissions
    paths = sorted(p for p in submissions.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts
                   and (feedback is None or Path(feedback) not in p.parents))
    if not paths:
        raise FileNotFoundError(f"no .ipynb files below {submissions}")
    sandbox = resolve_sandbox(sandbox)
    if sandbox == "none":
        print("[coursework] WARNING: grading without a sandbox: student code runs as you, "
              "with your files and network (see the instructor guide)")
    settings = load_settings()
    rows, todo, tables = [], [], {}
    for path in paths:
        relative = path.relative_to(submissions)
        row = {"student": student_id(relative), "submission": relative.as_posix()}
        rows.append(row)
        try:
            name, lang = identify(path)
        except Exception as error:  # one broken submission must not stop the batch
            row.update(assignment="unknown", error=f"{type(error).__name__}: {error}")
            continue
        row.update(assignment=name, lang=lang)
        autograder = out / lang / name / "autograder" / "autograder.zip"
        if not autograder.exists():
            generate_one(lang, name, out, settings=settings)
        todo.append((row, {"path": path, "autograder": autograder, "lang": lang,
                           "sandbox": sandbox, "cell_timeout": cell_timeout,
                           "notebook_timeout": notebook_timeout,
                           "from_scratch": settings.get(name, {}).get("from_scratch", {})}))
    for row in rows:
        name = row["assignment"]
        if name not in tables:
            columns = [q.name for q in questions(render_master(LANGUAGES[0], name, settings))] \
                if name in ASSIGNMENTS else []
            tables[name] = (csv_dir / f"grades-{name}.csv",
                            [*GRADE_COLUMNS, *columns, "seconds", "cpu_seconds", "notes",
                             "error"])

    def write_tables():
        for name, (csv_path, header) in tables.items():
            csv_path.parent.mkdir(parents=True, exist_ok=True)
            _write_csv(csv_path, header, [r for r in rows if r["assignment"] == name])

    def record(row: dict, outcome: dict | Exception) -> None:
        if isinstance(outcome, Exception):
            outcome = {"questions": {}, "notes": [], "seconds": 0.0,
                       "error": f"{type(outcome).__name__}: {outcome}"}
        lang = row["lang"]
        points = {q.name: q.points for q in questions(render_master(lang, row["assignment"],
                                                                    settings))}
        row["seconds"] = f"{outcome['seconds']:.1f}"
        row["cpu_seconds"] = f"{outcome.get('cpu_seconds', 0.0):.1f}"
        if outcome["error"]:
            row["error"] = outcome["error"]
        else:
            total = 0.0
            for question in points:
                score = outcome["questions"].get(question, {}).get("score", 0.0)
                row[question] = f"{score:g}"
                total += score
            possible = sum(points.values())
            row.update(total=f"{total:g}", possible=f"{possible:g}",
                       percent=f"{100 * total / possible:.1f}")
            calls = [c for q in outcome["questions"].values() for c in q["library_calls"]]
            notes = outcome["notes"] + ([text("cw_note_library", lang).format(
                calls=", ".join(calls))] if calls else [])
            row["notes"] = "; ".join(notes)
        if feedback is not None:
            report = Path(feedback) / Path(row["submission"]).with_suffix(".txt")
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(feedback_text(row, outcome, lang), encoding="utf-8")
        write_tables()
        if not quiet:
            score = row.get("error") or f"{row.get('total')} / {row.get('possible')}"
            print(f"[coursework] {row['submission']} ({row['assignment']}, {lang}): "
                  f"{score} in {row['seconds']} s", flush=True)

    write_tables()
    if jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_grade_job, job): row for row, job in todo}
            for future in as_completed(futures):
                try:
                    outcome = future.result()
                except Exception as error:
                    outcome = error
                record(futures[future], outcome)
    else:
        for row, job in todo:
            try:
                outcome = _grade_job(job)
            except Exception as error:
                outcome = error
            record(row, outcome)
    if not quiet:
        print(f"[coursework] {len(rows)} submissions -> "
              + ", ".join(str(p) for p, _ in tables.values()))
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
    gra.add_argument("--csv-dir", type=Path, default=None,
                     help="where to write grades-<assignment>.csv (default: SUBMISSIONS)")
    gra.add_argument("--feedback", type=Path, default=None,
                     help="write each student's feedback into this folder")
    gra.add_argument("--out", type=Path, default=DEFAULT_OUT,
                     help="folder of the generated autograders (default: _build/coursework)")
    gra.add_argument("--jobs", type=int, default=1,
                     help="notebooks graded at the same time (default: 1)")
    gra.add_argument("--sandbox", choices=SANDBOXES, default="auto",
                     help="bwrap: bubblewrap sandbox; none: no containment; auto (default): "
                          "bwrap when it works here")
    gra.add_argument("--cell-timeout", type=float, default=CELL_TIMEOUT,
                     help=f"seconds one cell may run (default {CELL_TIMEOUT})")
    gra.add_argument("--timeout", type=float, default=NOTEBOOK_TIMEOUT,
                     help=f"seconds one notebook may take in all (default {NOTEBOOK_TIMEOUT})")
    # the two stages of grading one notebook (run by `grade`, inside the sandbox)
    exe = sub.add_parser("execute", help=argparse.SUPPRESS)
    exe.add_argument("notebook", type=Path)
    exe.add_argument("--state", type=Path, required=True)
    exe.add_argument("--cell-timeout", type=float, default=CELL_TIMEOUT)
    chk = sub.add_parser("check", help=argparse.SUPPRESS)
    chk.add_argument("state", type=Path)
    chk.add_argument("checks", type=Path)
    chk.add_argument("--lang", default="en")
    chk.add_argument("--from-scratch", type=Path, required=True)
    chk.add_argument("--results", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "generate":
        generate(args.out, args.lang or LANGUAGES, args.assignment or ASSIGNMENTS)
        return 0
    if args.command == "execute":
        notes = execute_stage(args.notebook, args.state, args.cell_timeout)
        notes["cpu_seconds"] = _cpu_seconds()
        (args.state.parent / "notes.json").write_text(json.dumps(notes), encoding="utf-8")
        return 0
    if args.command == "check":
        check_stage(args.state, args.checks, args.results, args.lang,
                    json.loads(args.from_scratch.read_text(encoding="utf-8")))
        return 0
    rows = grade(args.submissions, args.csv_dir, out=args.out, feedback=args.feedback,
                 jobs=args.jobs, sandbox=args.sandbox, cell_timeout=args.cell_timeout,
                 notebook_timeout=args.timeout)
    return 1 if any(r.get("error") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

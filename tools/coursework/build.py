"""The masters of the assignments and the versions built from them (``generate``).

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
    autograder/autograder.zip    otter's autograder (Gradescope-ready) with ``helpers``

Grading (:mod:`tools.coursework.grading`) takes ``helpers`` from the zip and judges with
``coursework/probes`` and ``coursework/judges``; the masters' checks are what students
run in their notebook (``grader.check``) and document the hidden ones.
"""

from __future__ import annotations

import contextlib
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

from helpers.i18n import read_texts
from helpers.languages import LANG_LINE, LANGUAGES, check_language

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "coursework"
SETTINGS = SOURCES / "targets.toml"
DEFAULT_OUT = ROOT / "_build" / "coursework"

#: The file beside an assignment's autograder zip that lists its questions and points.
QUESTIONS_FILE = "questions.json"

#: Text of the coursework in every language: messages, prompts, comments, feedback.
TEXT_FILE = SOURCES / "text.toml"


def assignments(sources: Path = SOURCES) -> tuple[str, ...]:
    """The assignments: one per master of the first language (``sources/en/*.md``), in
    the order of their names (``a1-…``, ``a2-…``).

    Every other language, the targets, the probes, the judges and the book's coursework
    page follow this list (``tests/test_coursework.py`` checks each against it).

    Raises
    ------
    ValueError
        When the folder holds no master (a checkout without ``coursework/``).
    """
    found = tuple(sorted(path.stem for path in (sources / LANGUAGES[0]).glob("*.md")))
    if not found:
        raise ValueError(f"no master in {sources / LANGUAGES[0]}: the assignments are the "
                         "MyST-Markdown masters there (a1-lasso.md, …)")
    return found


ASSIGNMENTS = assignments()

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
    return read_texts(TEXT_FILE)  # the one reader of the book's text files


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


def repository_url() -> str | None:
    """The book's repository, from the checkout's git remote (None without one)."""
    try:
        from tools.repository import repository_url as from_checkout
    except ImportError:  # run as a script: tools/ itself is on sys.path
        from repository import repository_url as from_checkout
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
    pins = _book_pins().pins()
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
            from tools.notebooks_bundle import setup_cell, setup_cell_source
        except ImportError:  # run as a script: tools/ itself is on sys.path
            from notebooks_bundle import setup_cell, setup_cell_source
        notebook.cells.insert(1, setup_cell(setup_cell_source(lang)))
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


def _book_pins():
    """``tools.pins`` (imported when building: the autograder zip does not carry it)."""
    try:
        from tools import pins
    except ImportError:  # run as a script: tools/ itself is on sys.path
        import pins
    return pins


def grading_requirements() -> list[str]:
    """The autograder's ``requirements.txt``: PyTorch's CPU index
    (``tools.pins.PYTORCH_CPU_INDEX``), then ``name==version`` for every package of
    ``GRADING_PACKAGES``."""
    pins = _book_pins()
    versions = pins.pins()
    return [pins.PYTORCH_CPU_INDEX, *(f"{name}=={versions[name]}" for name in GRADING_PACKAGES)]


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
    from .autograder_zip import add_to_zip

    add_to_zip(target / "autograder" / "autograder.zip", name)
    for path in (target / "autograder" / f"{name}.ipynb", target / "student" / f"{name}.ipynb"):
        version = nbformat.read(path, as_version=4)
        _translate_check_all(version, lang)
        nbformat.write(version, path)
    student_path = target / "student" / f"{name}.ipynb"
    student = nbformat.read(student_path, as_version=4)
    _set_init_cell(student, init_cell(name))
    _state_limits(student, lang)
    for cell in student.cells:   # written answers are typed in place, also inside a question
        if "answer" in cell.metadata.get("tags", []):
            cell.metadata.update(editable=True, deletable=False)
    nbformat.write(student, student_path)
    (target / "colab").mkdir()
    nbformat.write(colab_variant(student, lang), target / "colab" / f"{name}-colab.ipynb")
    (target / QUESTIONS_FILE).write_text(json.dumps(
        {q.name: q.points for q in questions(notebook)}, indent=2), encoding="utf-8")
    return target


def points_of(lang: str, name: str, out: Path = DEFAULT_OUT, *,
              settings: dict | None = None) -> dict[str, float]:
    """The questions of one generated assignment and their points, as recorded beside its
    autograder zip (``out/<lang>/<name>/questions.json``): the points of the checks a
    hand-in is graded with. The assignment is generated first where it is missing.
    """
    path = out / lang / name / QUESTIONS_FILE
    if not path.is_file() or not (path.parent / "autograder" / "autograder.zip").is_file():
        generate_one(lang, name, out, settings=settings)
    return json.loads(path.read_text(encoding="utf-8"))


def _state_limits(notebook: nbformat.NotebookNode, lang: str) -> None:
    """Tell students the limits their notebook is graded under (a Markdown cell after
    the first one, the assignment's introduction)."""
    from .sandbox import Limits

    cell = nbformat.v4.new_markdown_cell(text("cw_notebook_limits", lang).format(
        **Limits().describe()))
    cell.metadata["tags"] = ["grading-limits"]
    first = next(k for k, c in enumerate(notebook.cells) if c.cell_type == "markdown")
    notebook.cells.insert(first + 1, cell)


def generate(out: Path = DEFAULT_OUT, langs=LANGUAGES, names=ASSIGNMENTS, *,
             quiet: bool = True) -> list[Path]:
    """Build every assignment in every language; also write ``out/manifest.json``."""
    settings = load_settings()
    folders, manifest = [], {}
    for lang in langs:
        for name in names:
            started = time.perf_counter()
            folders.append(generate_one(lang, name, out, settings=settings, quiet=quiet))
            points = points_of(lang, name, out)
            manifest.setdefault(lang, {})[name] = {"questions": points,
                                                   "points": sum(points.values())}
            print(f"[coursework] {lang}/{name}: {len(points)} questions, "
                  f"{sum(points.values()):g} points "
                  f"({time.perf_counter() - started:.1f} s) -> {folders[-1]}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folders


def student_files(out: Path, lang: str) -> list[Path]:
    """The notebooks to hand out in one language (student and Colab versions)."""
    return [p for name in ASSIGNMENTS
            for p in (out / lang / name / "student" / f"{name}.ipynb",
                      out / lang / name / "colab" / f"{name}-colab.ipynb")]



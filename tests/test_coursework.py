"""The coursework grades as intended (``tools/coursework.py``, ``coursework/``).

Every assignment is generated from its masters in both languages, then one batch of
hand-ins is graded exactly as an instructor would (``coursework.grade``, two at a time,
in the bubblewrap sandbox where it works here):

* per assignment: the instructor solution scores full marks, the unfilled student
  version zero, and a plausible wrong answer loses exactly its question's points;
* a Colab hand-in with a bug that only a hidden check finds loses exactly that check's
  point, out of the full points (the Colab cell's ``tests/`` folder is not used);
* a Chinese hand-in, renamed by the browser (``a1-lasso (1).ipynb``) in a folder with
  a Chinese name, gets Chinese feedback and a Chinese check message;
* hostile hand-ins: an infinite loop (stopped by the cell time limit, the rest graded),
  a notebook that deletes its ``tests/`` folder and tries to overwrite the autograder,
  one that rewrites its check files, patches numpy and otter's test runner (not fooled),
  one that calls the library instead of its own code (no points for that question);
* a notebook that is not an assignment becomes an error row; the rest is graded;
* attacks on the grader (issue #23): a notebook that forges its own results, one that
  plants links to ``/dev/zero`` and to a host file wherever the grader used to read,
  one whose saved objects try to read the checks while they are loaded, one that
  rebinds ``np`` and ``helpers`` to lenient objects, a library shortcut through a
  captured alias; honest work the old grader misjudged (a correct solution that
  prints, one that reuses a checked name later, one that hangs on a single hidden
  input); and resource bombs (processes, memory, disk, output), each costing only its
  cell while its neighbours are graded; a long legal cell on a CPU-starved run (the
  same grade as idle);
* the autograder zip: ``make grade`` grades every hand-in with the zip's own entry point
  (the one of Gradescope), so each hand-in's ``results.json`` carries the table's scores;
  the entry point run where Gradescope runs it (``/autograder``) and otter's local
  runner (``otter run -a``, through the zip's plugin) give the same grades on the
  hand-ins that fooled otter's own grading.

The module-scoped fixture ``graded`` runs the batch once; the tests read its tables.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from helpers.languages import LANGUAGES
from tools import coursework as cw
from tools import pins as book_pins

# otter-grader's configuration classes trigger a traitlets deprecation notice.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:traitlets")

ASSIGNMENTS = cw.ASSIGNMENTS
SANDBOX = "auto"
#: The batch's limits: CPU time (not wall-clock) per cell and per graded call, small
#: enough that the bombs below end quickly; every legal cell of the solutions needs far
#: less, however busy the machine. A cell without any CPU use is stopped after 10 s.
LIMITS = cw.Limits(cell_cpu=12, cell_idle=10, call_cpu=10, call_wall=120, memory_mb=4096)

#: One plausible mistake per assignment, in a question that no later question uses:
#: (question, text of the instructor notebook, replacement).
WRONG_ANSWERS = {
    "a1-lasso": (
        "a1_interpret",
        "entry_order = [feature_names[j] for j in sorted(entered, key=lambda j: "
        "(np.argmax(nonzero[:, j]), j))]",
        # ordered by the size of the final coefficient instead of the entry point
        "entry_order = [feature_names[j] for j in sorted(entered, key=lambda j: "
        "-abs(path[-1, j]))]"),
    "a2-pruning": (
        "a2_importance",
        "return model.get_submodule(layer).weight.detach().abs().sum(dim=1)",
        # the outgoing weights (next layer's columns) instead of the incoming row
        "return model[int(layer) + 2].weight.detach().abs().sum(dim=0)"),
    "a3-pipeline": (
        "a3_table",
        "helpers.metrics.format_table(shown, LANG)",
        # the rows in the wrong order: the compressed model first, the reference last
        "table = table[::-1]\nhelpers.metrics.format_table(shown, LANG)"),
}
#: A bug only a hidden check finds: prune floor(amount·n) weights instead of round().
FLOOR_BUG = ("n_prune = round(amount * weight.numel())",
             "n_prune = int(amount * weight.numel())")
#: The library instead of the student's own soft-thresholding.
LIBRARY_SOFT = ("x = np.asarray(x, dtype=float)\n    return np.sign(x)",
                "return helpers.l1.soft_threshold(x, t)\n    return np.sign(x)")
INFINITE_LOOP = "import time\nwhile True:\n    time.sleep(1)"
PATCHES = '''\
import numpy as np, glob, os
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.all = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True
import otter.test_files.ok_test as ok_test
ok_test.run_doctest = lambda *args, **kwargs: (True, "")
FAKE = "OK_FORMAT = True\\ntest = {'name': '%s', 'points': 100, 'suites': [{'cases': [{'code': '>>> True\\\\nTrue', 'hidden': False, 'locked': False}], 'scored': True, 'setup': '', 'teardown': '', 'type': 'doctest'}]}\\n"
os.makedirs("tests", exist_ok=True)
for q in ("a1_soft_threshold", "a1_ista", "a1_path", "a1_interpret"):
    with open(f"tests/{q}.py", "w") as f:
        f.write(FAKE % q)
def soft_threshold(x, t):
    return x
def ista(X, y, alpha, w0=None, max_iter=20_000, tol=1e-10):
    return np.zeros(X.shape[1])
def alpha_max(X, y):
    return 1.0
def lasso_path(X, y, alphas):
    return np.zeros((len(alphas), X.shape[1]))
path = lasso_path(X, y, [1.0])
path_gap = 0.0
entry_order = []
class FakeJson:   # a variable that shadows a module the grader uses
    dumps = staticmethod(lambda *args, **kwargs: "{}")
json = FakeJson()'''
VANDAL = '''\
import shutil, glob, os, helpers
shutil.rmtree("tests", ignore_errors=True)
victims = [{zip!r}, os.path.join(os.path.dirname(helpers.__file__), "l1.py")]
report = []
for victim in victims:
    try:
        with open(victim, "ab") as f:
            f.write(b"broken")
        report.append("wrote " + victim)
    except OSError as error:
        report.append(type(error).__name__)
hidden = glob.glob("/grader/**/a1_ista.py", recursive=True) + glob.glob("**/a1_ista.py", recursive=True)
print(report, hidden)'''


#: A line of a host file a hostile notebook aims links at; it must appear nowhere.
SECRET = "host-token-5f0c2e9a41"
#: Forged results: an object whose loading (in the grader's second stage) writes a
#: perfect score in every format the grader ever read, on every file descriptor, in
#: the work folder, then leaves.
FORGER = '''\
import os
class Forger:
    def __reduce__(self):
        return (exec, ("import os, json\\n"
                       "score = json.dumps({'questions': {q: {'score': 1200, 'possible': 12, 'cases': [], 'library_calls': []} for q in ('a1_soft_threshold', 'a1_ista', 'a1_path', 'a1_interpret')}})\\n"
                       "fake = json.dumps({'error': None, 'blocked': [], 'value': 12})\\n"
                       "open('results.json', 'w').write(score)\\n"
                       "for fd in range(3, 40):\\n"
                       "    try: os.write(fd, ('result %d\\\\n' % len(fake)).encode() + fake.encode())\\n"
                       "    except OSError: pass\\n"
                       "os._exit(0)\\n",))
forger = Forger()
with open("results.json", "w") as f:
    f.write('{"questions": {"a1_soft_threshold": {"score": 1200}}}')'''
#: Links where the old grader read files back: to /dev/zero and to a host file.
LINKS = '''\
import os
for name in ("notes.json", "results.json", "stage.log", "state.pkl", "from_scratch.json"):
    for folder in (".", "/grading"):
        target = "/dev/zero" if name in ("notes.json", "state.pkl") else {secret!r}
        try:
            os.symlink(target, os.path.join(folder, name))
        except OSError:
            pass
print(open("/proc/self/mountinfo").read()[:2000])'''
#: Objects whose loading reads whatever checks the sandbox holds and returns them
#: through a failing check's message and value.
SPY = '''\
class Spy:
    def __reduce__(self):
        return (eval, ("__import__('builtins').setattr(__import__('builtins'), 'LOOT', ''.join(open(p, errors='replace').read() for p in __import__('glob').glob('/grader/**/*.py', recursive=True) + __import__('glob').glob('/work/*/coursework/judges/*.py')))",))
spy = Spy()
def soft_threshold(x, t):
    import builtins
    raise ValueError(getattr(builtins, "LOOT", "nothing")[:100000])
def alpha_max(X, y):
    import builtins
    return getattr(builtins, "LOOT", "nothing")'''
#: Lenient stand-ins for the names the old checks read from the notebook.
REBIND = '''\
class Lenient:
    def __getattr__(self, name):
        return lambda *args, **kwargs: True
np = Lenient()
helpers = Lenient()
Lasso = Lenient()'''
#: Correct, but noisy: printing inside the graded functions.
PRINTING = ("def soft_threshold(x, t):", "def soft_threshold(x, t):\n    print('soft_threshold called with t =', t)")
#: Correct, but reusing names of the set-up cell after the questions.
REUSE = "n = 'reused'\np = None\nX, y = None, None\nfeature_names = ['nobody']"
#: Correct, except that ista hangs (CPU-bound) on one hidden input (alpha = 5).
HANG = ("def ista(X, y, alpha, w0=None, max_iter=20_000, tol=1e-10):",
        "def ista(X, y, alpha, w0=None, max_iter=20_000, tol=1e-10):\n"
        "    while alpha == 5.0:\n        pass")
#: A library shortcut through an alias taken at the top of the notebook.
ALIAS = ("x = np.asarray(x, dtype=float)\n    return np.sign(x)",
         "return lib_soft(x, t)\n    return np.sign(x)")
FORK_BOMB = """\
import os
def bomb():
    while True:
        try:
            os.fork()
        except OSError:
            pass
bomb()"""
MEMORY_BOMB = """\
def bomb():
    blocks = []
    while True:
        blocks.append(b"x" * 10**8)
bomb()"""
DISK_FILLER = """\
import os
for folder in (".", "/tmp", os.path.expanduser("~")):
    for k in range(40):
        try:
            with open(os.path.join(folder, f"filler-{k}"), "wb") as f:
                for _ in range(100):
                    f.write(b"0" * 10**7)
        except OSError as error:
            print(type(error).__name__)"""
FLOOD = """\
import os, sys
for _ in range(100):
    os.write(1, b"x" * 10**6)
    os.write(2, b"y" * 10**6)
    print("z" * 10**6)"""


def hostile_notebooks(built: Path, secret: Path) -> dict:
    """The attacks of issue #23 and the honest work the old grader misjudged."""
    a1 = built / "en" / "a1-lasso"
    solution, stub = a1 / "autograder" / "a1-lasso.ipynb", a1 / "student" / "a1-lasso.ipynb"
    made = {}

    def variant(relative, base, after_setup=None, append=None, replace=None):
        notebook = _read(base)
        if replace:
            _replace_once(notebook, *replace)
        if after_setup:
            _insert_after_setup(notebook, after_setup)
        if append:
            notebook.cells.append(nbformat.v4.new_code_cell(append))
        made[relative] = notebook

    variant("attacks/forger_a1-lasso.ipynb", stub, append=FORGER)
    variant("attacks/links_a1-lasso.ipynb", solution, after_setup=LINKS.format(secret=str(secret)))
    variant("attacks/spy_a1-lasso.ipynb", stub, append=SPY)
    variant("attacks/rebind_a1-lasso.ipynb", stub, append=PATCHES + "\n" + REBIND)
    variant("attacks/alias_a1-lasso.ipynb", solution, replace=ALIAS,
            after_setup="from helpers.l1 import soft_threshold as lib_soft")
    variant("honest/printing_reuse_a1-lasso.ipynb", solution, replace=PRINTING, append=REUSE)
    variant("honest/hang_a1-lasso.ipynb", solution, replace=HANG)
    variant("bombs/fork_a1-lasso.ipynb", solution, after_setup=FORK_BOMB)
    variant("bombs/memory_a1-lasso.ipynb", solution, after_setup=MEMORY_BOMB)
    variant("bombs/disk_a1-lasso.ipynb", solution, after_setup=DISK_FILLER)
    variant("bombs/flood_a1-lasso.ipynb", solution, after_setup=FLOOD)
    return made


def _replace_once(notebook: nbformat.NotebookNode, old: str, new: str) -> None:
    hits = [c for c in notebook.cells if old in c.source]
    assert len(hits) == 1 and hits[0].source.count(old) == 1, \
        f"the edit must match exactly once: {old!r}"
    hits[0].source = hits[0].source.replace(old, new)


def _insert_after_setup(notebook: nbformat.NotebookNode, source: str) -> None:
    k = next(k for k, c in enumerate(notebook.cells) if 'LANG = "' in c.source)
    notebook.cells.insert(k + 1, nbformat.v4.new_code_cell(source))


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("coursework-build")
    cw.generate(out)
    return out


def extract_lib(autograder: Path, folder: Path) -> Path:
    """The autograder zip's ``helpers`` (``files/helpers``), unpacked into ``folder``: the
    library to call ``grade_notebook`` with directly."""
    with zipfile.ZipFile(autograder) as z:
        z.extractall(folder, [m for m in z.namelist() if m.startswith("files/helpers/")])
    return folder / "files"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grade_batch(root: Path) -> dict:
    """Build the coursework under ``root/build``, write the batch's hand-ins under
    ``root/submissions`` and grade them (feedback in ``root/feedback``); a JSON summary.

    The tests' one batch. ``tests/conftest.py`` runs it in a background process (``python
    tests/test_coursework.py ROOT``) while the other tests run; the ``graded`` fixture
    runs it in-process when the background was not started.
    """
    began = time.perf_counter()
    built, subs, feedback = root / "build", root / "submissions", root / "feedback"
    cw.generate(built)
    feedback.mkdir()
    (root / "host").mkdir()
    secret = root / "host" / "token.txt"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    load_before = os.getloadavg()[0]

    def put(relative: str, notebook) -> None:
        (subs / relative).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, subs / relative)

    for name in ASSIGNMENTS:
        folder = built / "en" / name
        solution = _read(folder / "autograder" / f"{name}.ipynb")
        put(f"en/{name}/solution.ipynb", solution)
        _, old, new = WRONG_ANSWERS[name]
        wrong = _read(folder / "autograder" / f"{name}.ipynb")
        _replace_once(wrong, old, new)
        put(f"en/{name}/wrong.ipynb", wrong)
        put(f"en/{name}/stub.ipynb", _read(folder / "student" / f"{name}.ipynb"))
    # Colab: the instructor notebook behind the Colab set-up cell, with a hidden-check bug
    colab = cw.colab_variant(_read(built / "en" / "a2-pruning" / "autograder" / "a2-pruning.ipynb"), "en")
    _replace_once(colab, *FLOOR_BUG)
    put("colab/a2-pruning-colab.ipynb", colab)
    zh = _read(built / "zh" / "a1-lasso" / "autograder" / "a1-lasso.ipynb")
    _replace_once(zh, *WRONG_ANSWERS["a1-lasso"][1:])
    put("陈晓/a1-lasso (1).ipynb", zh)
    a1 = built / "en" / "a1-lasso"
    loop = _read(a1 / "autograder" / "a1-lasso.ipynb")
    _insert_after_setup(loop, INFINITE_LOOP)
    put("hostile/loop_a1-lasso.ipynb", loop)
    vandal = _read(a1 / "autograder" / "a1-lasso.ipynb")
    zip_path = a1 / "autograder" / "autograder.zip"
    _insert_after_setup(vandal, VANDAL.format(zip=str(zip_path)))
    put("hostile/vandal_a1-lasso.ipynb", vandal)
    patcher = _read(a1 / "student" / "a1-lasso.ipynb")
    patcher.cells.append(nbformat.v4.new_code_cell(PATCHES))
    put("hostile/patcher_a1-lasso.ipynb", patcher)
    library = _read(a1 / "autograder" / "a1-lasso.ipynb")
    _replace_once(library, *LIBRARY_SOFT)
    put("hostile/library_a1-lasso.ipynb", library)
    nbformat.write(nbformat.v4.new_notebook(), subs / "not-an-assignment.ipynb")
    zip_before = _digest(zip_path)
    started = time.perf_counter()
    for relative, notebook in hostile_notebooks(built, secret).items():
        put(relative, notebook)
    rows = cw.grade(subs, subs, out=built, feedback=feedback, jobs=2, sandbox=SANDBOX,
                    limits=LIMITS)
    seconds = time.perf_counter() - started
    # The zip's entry point at /autograder and otter's local runner on some of the
    # hand-ins, two at a time (each is a process of its own).
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        zips = ({name: pool.submit(run_zip_entry, built, subs / name, root / "zip" / f"{k}")
                 for k, name in enumerate(ZIP_SUBMISSIONS)} if cw.bwrap_works() else None)
        otters = {name: pool.submit(run_otter, built, subs / name, root / "otter" / f"{k}")
                  for k, name in enumerate(OTTER_SUBMISSIONS)}
        zip_results = None if zips is None else {n: f.result() for n, f in zips.items()}
        otter_results = {n: f.result() for n, f in otters.items()}
    return {"rows": rows, "seconds": seconds, "load": [load_before, os.getloadavg()[0]],
            "zip_unchanged": _digest(zip_path) == zip_before, "zip": zip_results,
            "otter": otter_results, "total_seconds": time.perf_counter() - began}


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory) -> dict:
    """The batch's rows by submission path, its tables, feedback, timing."""
    batch = getattr(request.config, "coursework_batch", None)    # see tests/conftest.py
    if batch is None:
        root = tmp_path_factory.mktemp("coursework-batch")
        summary, where = grade_batch(root), "in this process"
    else:
        root, summary = batch.root, batch.result()
        where = "in the background while the other tests ran"
    subs = root / "submissions"
    rows = summary["rows"]
    cpu = sum(float(r.get("cpu_seconds") or 0) for r in rows)
    tables = {}
    for path in sorted(subs.glob("grades-*.csv")):
        with open(path, encoding="utf-8-sig", newline="") as f:
            tables[path.name] = list(csv.DictReader(f))
    print(f"\n[coursework batch] {len(rows)} notebooks in {summary['seconds']:.0f} s, {cpu:.0f} s "
          f"of CPU time (sandbox: {cw.resolve_sandbox(SANDBOX)}, 2 at a time, {where})")
    for name in tables:
        print(f"--- {name}\n" + (subs / name).read_text(encoding="utf-8-sig"))
    return {"rows": {r["submission"]: r for r in rows}, "tables": tables, "subs": subs,
            "feedback": root / "feedback", "zip_unchanged": summary["zip_unchanged"],
            "zip": summary["zip"], "otter": summary["otter"],
            "seconds": summary["seconds"], "load": tuple(summary["load"])}


def _points(lang: str, name: str) -> dict[str, float]:
    return {q.name: q.points for q in cw.questions(cw.render_master(lang, name))}


def _scores(row: dict, lang: str, name: str) -> dict[str, float]:
    return {q: float(row[q]) for q in _points(lang, name)}


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solutions_score_full_marks(graded, name):
    row = graded["rows"][f"en/{name}/solution.ipynb"]
    assert not row.get("error") and not row.get("notes"), row
    assert _scores(row, "en", name) == _points("en", name)
    assert float(row["total"]) == float(row["possible"]) == sum(_points("en", name).values())


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_unfilled_student_versions_score_zero(graded, name):
    row = graded["rows"][f"en/{name}/stub.ipynb"]
    assert not row.get("error"), row
    assert row["lang"] == "en" and row["assignment"] == name
    assert float(row["total"]) == 0 and float(row["possible"]) == sum(_points("en", name).values())


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_wrong_answer_loses_exactly_its_question(graded, name):
    question = WRONG_ANSWERS[name][0]
    points = _points("en", name)
    row = graded["rows"][f"en/{name}/wrong.ipynb"]
    assert _scores(row, "en", name) == {**points, question: 0.0}, row


@pytest.mark.slow
def test_colab_hand_in_is_graded_on_every_hidden_check(graded):
    row = graded["rows"]["colab/a2-pruning-colab.ipynb"]
    points = _points("en", "a2-pruning")
    assert float(row["possible"]) == sum(points.values()), row
    # only the hidden check of Q1 (amount · n not an integer) sees the floor
    assert _scores(row, "en", "a2-pruning") == {**points, "a2_magnitude": points["a2_magnitude"] - 1}


@pytest.mark.slow
def test_chinese_renamed_hand_in_gets_chinese_feedback(graded):
    relative = "陈晓/a1-lasso (1).ipynb"
    row = graded["rows"][relative]
    points = _points("zh", "a1-lasso")
    assert row["student"] == "陈晓" and row["lang"] == "zh", row
    assert _scores(row, "zh", "a1-lasso") == {**points, "a1_interpret": 0}, row
    text = (graded["feedback"] / relative).with_suffix(".txt").read_text(encoding="utf-8")
    assert cw.text("cw_fb_total", "zh").split("{")[0] in text
    assert cw.text("cw_fb_public", "zh") in text
    assert "entry_order" in text and "Test case" not in text and ">>>" not in text
    message = next(line for line in text.splitlines() if cw.text("cw_fb_public", "zh") in line)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message.split(":", 1)[1]), message


@pytest.mark.slow
def test_tables_are_per_assignment_with_students_and_excel_safe(graded):
    subs = graded["subs"]
    assert set(graded["tables"]) == {f"grades-{n}.csv" for n in (*ASSIGNMENTS, "unknown")}
    raw = (subs / "grades-a1-lasso.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")            # UTF-8 with BOM: Excel reads Chinese
    header = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:3] == ["student", "submission", "assignment"]
    assert header[7:11] == list(_points("en", "a1-lasso"))
    students = {r["submission"]: r["student"] for r in graded["tables"]["grades-a1-lasso.csv"]}
    assert students["en/a1-lasso/solution.ipynb"] == "en"
    assert students["hostile/vandal_a1-lasso.ipynb"] == "hostile"


@pytest.mark.slow
def test_feedback_shows_points_and_messages_never_check_code(graded):
    text = (graded["feedback"] / "en" / "a1-lasso" / "stub.txt").read_text(encoding="utf-8")
    assert "a1_ista: 0 of 4 points" in text and "Score: 0 of 12 points" in text
    assert "NotImplementedError" in text
    for hidden_code in ("ref_small", "Xh, yh", "assert ", ">>>"):
        assert hidden_code not in text


@pytest.mark.slow
def test_infinite_loop_is_stopped_and_the_rest_graded(graded):
    row = graded["rows"]["hostile/loop_a1-lasso.ipynb"]
    assert not row.get("error"), row
    # code cell 1 is otter's, 2 the set-up, 3 the loop: it sleeps, so it is stopped as idle
    assert row["notes"] == cw.text("cw_note_idle", "en").format(cell=3, seconds=LIMITS.cell_idle)
    assert float(row["total"]) == float(row["possible"]), row


@pytest.mark.slow
def test_deleting_tests_and_vandalism_change_nothing(graded):
    row = graded["rows"]["hostile/vandal_a1-lasso.ipynb"]
    assert float(row["total"]) == float(row["possible"]) == 12 and not row["notes"], row
    assert graded["zip_unchanged"]


@pytest.mark.slow
def test_rewritten_checks_and_patched_numpy_do_not_fool_the_checks(graded):
    row = graded["rows"]["hostile/patcher_a1-lasso.ipynb"]
    assert not row.get("error"), row
    # the fake answers earn what they honestly earn: only an empty entry_order, which is
    # right for an all-zero path (Q4's public check), and nothing else
    assert _scores(row, "en", "a1-lasso") == {"a1_soft_threshold": 0, "a1_ista": 0,
                                              "a1_path": 0, "a1_interpret": 1}, row


@pytest.mark.slow
def test_library_shortcut_in_a_from_scratch_question_earns_nothing(graded):
    row = graded["rows"]["hostile/library_a1-lasso.ipynb"]
    assert float(row["a1_soft_threshold"]) == 0, row
    assert "helpers.l1.soft_threshold" in row["notes"]
    assert float(row["total"]) == 10, row     # the other questions use it and still pass


@pytest.mark.slow
def test_a_foreign_notebook_is_an_error_row_not_fatal(graded):
    row = graded["rows"]["not-an-assignment.ipynb"]
    assert "not one of the assignments" in row["error"] and not row.get("total")
    assert row["assignment"] == "unknown"


@pytest.mark.slow
def test_a_notebook_past_its_time_limit_is_an_error_row(built, tmp_path):
    notebook = _read(built / "en" / "a1-lasso" / "student" / "a1-lasso.ipynb")
    _insert_after_setup(notebook, "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                        "while True:\n    time.sleep(0.1)")
    nbformat.write(notebook, tmp_path / "slow.ipynb")
    lib = extract_lib(built / "en" / "a1-lasso" / "autograder" / "autograder.zip",
                                 tmp_path / "lib")
    outcome = cw.grade_notebook(tmp_path / "slow.ipynb", lib, "en", "a1-lasso",
                                sandbox=cw.resolve_sandbox(SANDBOX),
                                limits=cw.Limits(cell_idle=600), notebook_timeout=8)
    assert outcome["error"] == cw.text("cw_err_notebook_timeout", "en").format(seconds=8)
    assert outcome["seconds"] < 30


@pytest.mark.slow
def test_renamed_student_notebook_still_finds_its_public_checks(built, tmp_path):
    notebook = _read(built / "en" / "a1-lasso" / "student" / "a1-lasso.ipynb")
    nbformat.write(notebook, tmp_path / "a1-lasso (1).ipynb")
    init = next(c.source for c in notebook.cells if c.source.startswith("# Initialize Otter"))
    script = (init + "\nresult = grader.check('a1_soft_threshold', {'soft_threshold': lambda x, t: x, "
              "'np': __import__('numpy')})\nprint(len(result.test_case_results))")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "1"     # the one public case ran


def test_sandbox_is_used_where_bubblewrap_works():
    if not cw.bwrap_works():
        pytest.skip("bubblewrap cannot create namespaces on this machine")
    assert cw.resolve_sandbox("auto") == "bwrap"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_languages_share_code_questions_points(name):
    en, zh = (cw.jupytext.read(cw.master_path(lang, name)) for lang in ("en", "zh"))
    assert cw.questions(cw.render_master("en", name)) == cw.questions(cw.render_master("zh", name))
    assert len(cw.code_cells(en)) == len(cw.code_cells(zh))
    for k, (a, b) in enumerate(zip(cw.code_cells(en), cw.code_cells(zh))):
        assert a == b, f"{name}: code or raw cell {k} differs between en and zh:\n{a}\n---\n{b}"


def test_every_text_exists_in_every_language():
    for key, entry in cw._texts().items():
        assert set(entry) == set(cw.LANGUAGES), key


def _checks(zip_path: Path) -> dict[str, str]:
    with zipfile.ZipFile(zip_path) as z:
        return {n: z.read(n).decode() for n in z.namelist() if n.startswith("tests/")}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_languages_share_the_checks_but_not_their_messages(built, name):
    en = _checks(built / "en" / name / "autograder" / "autograder.zip")
    zh = _checks(built / "zh" / name / "autograder" / "autograder.zip")
    assert set(en) == set(zh) == {f"tests/{q}.py" for q in _points("en", name)}


def test_autograder_zip_is_ready_for_gradescope(built):
    with zipfile.ZipFile(built / "en" / "a2-pruning" / "autograder" / "autograder.zip") as z:
        names = set(z.namelist())
        environment = z.read("environment.yml").decode()
    assert {"run_autograder", "setup.sh", "environment.yml", "otter_config.json"} <= names
    assert "files/helpers/__init__.py" in names and "files/helpers/prune.py" in names
    # the grader of `make grade`, with this assignment's probes and judges
    assert {"tools/coursework/box.py", "tools/coursework/gradescope.py",
            "tools/coursework/otter_plugin.py", "coursework/probes/a2-pruning.py",
            "coursework/judges/a2-pruning.py", "coursework/text.toml"} <= names
    # every master, from which the grader derives the list of assignments
    assert {f"coursework/{lang}/{name}.md" for lang in LANGUAGES
            for name in ASSIGNMENTS} <= names
    with zipfile.ZipFile(built / "en" / "a2-pruning" / "autograder" / "autograder.zip") as z:
        config = json.loads(z.read("otter_config.json"))
    # otter run -a loads the plugin, which grades through the entry point
    assert config["plugins"] == [cw.gradescope.PLUGIN]
    module, _, name = cw.gradescope.PLUGIN.rpartition(".")
    assert getattr(__import__(module, fromlist=[name]), name).__name__ == name
    assert book_pins.PYTORCH_CPU_INDEX in environment  # PyTorch's CPU build, not CUDA's
    pins = book_pins.pins()
    for package in ("torch", "numpy", "scikit-learn", "matplotlib", "otter-grader"):
        assert f"{package}=={pins[package]}" in environment or \
            f"{package}[grading,plugins]=={pins[package]}" in environment, package


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_version_hides_solutions_and_hidden_checks(built, name):
    student = _read(built / "en" / name / "student" / f"{name}.ipynb")
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN SOLUTION" not in text and "# SOLUTION" not in text
    assert "NotImplementedError" in text
    tests = student.metadata["otter"]["tests"]
    cases = [case for t in tests.values() for s in t["suites"] for case in s["cases"]]
    assert cases and not any(case["hidden"] for case in cases)


def test_colab_variant_installs_only_on_colab_and_writes_public_checks(built, tmp_path):
    colab = _read(built / "en" / "a1-lasso" / "colab" / "a1-lasso-colab.ipynb")
    first = colab.cells[0].source
    assert '"google.colab" in sys.modules' in first and "otter-grader==" in first
    assert any('otter.Notebook(tests_dir="tests")' in c.source for c in colab.cells)
    if cw.repository_url() is None:  # helpers then comes from the bundle's wheel
        assert "book-setup" in colab.cells[1].metadata.get("tags", [])
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        exec(compile(first, "colab-cell", "exec"), {})  # off Colab: writes the checks only
    finally:
        os.chdir(cwd)
    written = {p.stem for p in (tmp_path / "tests").glob("*.py")}
    assert written == set(_points("en", "a1-lasso"))
    assert "hidden': True" not in (tmp_path / "tests" / "a1_ista.py").read_text()


def test_settings_reach_the_student_text_and_the_checks():
    settings = cw.load_settings()
    settings["a3-pipeline"] = {**settings["a3-pipeline"], "max_storage_kib": 77}
    notebook = cw.render_master("en", "a3-pipeline", settings)
    text = "\n".join(c.source for c in notebook.cells)
    assert "at most 77 KiB" in text and "<= 77 * 1024" in text and "{{" not in text


def test_unknown_placeholder_is_an_error():
    with pytest.raises(KeyError, match="no setting 'nope'"):
        cw.fill_placeholders("x = {{ nope }}", {"other": 1}, "test")
    with pytest.raises(KeyError, match="no text 'nope'"):
        cw.fill_placeholders("x = {{ say.nope }}", {}, "test", "en")


def test_student_id_from_folder_or_file_name():
    assert cw.student_id(Path("alice/a1-lasso.ipynb")) == "alice"
    assert cw.student_id(Path("bob_a1-lasso.ipynb")) == "bob"
    assert cw.student_id(Path("carol-a2-pruning (1).ipynb")) == "carol"
    assert cw.student_id(Path("dave.ipynb")) == "dave"


def test_points_are_read_from_beside_the_zip(tmp_path, built):
    """Grading scores with the points recorded when the zip was built, not a new reading
    of the master (which may have changed since)."""
    for lang in LANGUAGES:
        for name in ASSIGNMENTS:
            assert cw.points_of(lang, name, built) == _points(lang, name)
    folder = tmp_path / "en" / "a1-lasso"
    (folder / "autograder").mkdir(parents=True)
    (folder / "autograder" / "autograder.zip").write_bytes(b"")
    (folder / "questions.json").write_text('{"q1": 5, "q2": 7}', encoding="utf-8")
    assert cw.points_of("en", "a1-lasso", tmp_path) == {"q1": 5, "q2": 7}


def test_manifest_lists_every_assignment(built):
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    for lang in LANGUAGES:
        assert set(manifest[lang]) == set(ASSIGNMENTS)
        assert {n: m["points"] for n, m in manifest[lang].items()} == \
            {n: sum(_points(lang, n).values()) for n in ASSIGNMENTS}


# ------------------------------------------------------------------ issue #23: attacks


def _everything_written(graded) -> str:
    """Every table and every feedback file of the batch, as one text."""
    parts = [p.read_text(encoding="utf-8-sig") for p in graded["subs"].glob("grades-*.csv")]
    parts += [p.read_text(encoding="utf-8") for p in graded["feedback"].rglob("*.txt")]
    return "\n".join(parts)


@pytest.mark.slow
def test_forged_results_earn_nothing(graded):
    row = graded["rows"]["attacks/forger_a1-lasso.ipynb"]
    assert not row.get("error"), row
    assert float(row["total"]) == 0 and float(row["possible"]) == 12, row
    assert all(0 <= float(row[q]) <= p for q, p in _points("en", "a1-lasso").items())


@pytest.mark.slow
def test_links_to_dev_zero_and_host_files_do_not_stop_or_leak(graded):
    rows = graded["rows"]
    # the batch completed: every notebook has a row with a total or an error of its own
    assert all(r.get("total") or r.get("error") for r in rows.values())
    assert "BrokenProcessPool" not in _everything_written(graded)
    assert SECRET not in _everything_written(graded)
    row = rows["attacks/links_a1-lasso.ipynb"]
    assert row.get("error") or float(row["total"]) <= 12, row
    leftovers = list(Path(tempfile.gettempdir()).glob(f"coursework-batch-{os.getpid()}-*"))
    assert not leftovers, leftovers


@pytest.mark.slow
def test_objects_that_read_the_checks_leak_nothing(graded):
    row = graded["rows"]["attacks/spy_a1-lasso.ipynb"]
    assert float(row["total"]) == 0, row
    text = (graded["feedback"] / "attacks" / "spy_a1-lasso.txt").read_text(encoding="utf-8")
    for judged in ("def soft_random", "ref_gap", "_lasso(", "expected = np.array([-2.0",
                   "@case(", "min_accuracy_at_90"):
        assert judged not in text, judged
    assert max(len(line) for line in text.splitlines()) < 600


@pytest.mark.slow
def test_rebinding_np_and_helpers_gives_the_honest_grade(graded):
    row = graded["rows"]["attacks/rebind_a1-lasso.ipynb"]
    assert _scores(row, "en", "a1-lasso") == {"a1_soft_threshold": 0, "a1_ista": 0,
                                              "a1_path": 0, "a1_interpret": 1}, row


@pytest.mark.slow
def test_library_shortcut_through_an_alias_is_blocked(graded):
    row = graded["rows"]["attacks/alias_a1-lasso.ipynb"]
    assert float(row["a1_soft_threshold"]) == 0 and float(row["total"]) == 10, row
    assert "helpers.l1.soft_threshold" in row["notes"]


@pytest.mark.slow
def test_honest_work_the_old_grader_misjudged_gets_full_marks(graded):
    """A correct solution that prints inside its graded functions and reuses the set-up
    cell's names (``n``, ``X``, …) after the questions."""
    row = graded["rows"]["honest/printing_reuse_a1-lasso.ipynb"]
    assert not row.get("error") and not row.get("notes"), row
    assert float(row["total"]) == 12, row


@pytest.mark.slow
def test_a_hang_on_one_hidden_input_costs_only_that_check(graded):
    row = graded["rows"]["honest/hang_a1-lasso.ipynb"]
    assert float(row["total"]) == 11 and float(row["a1_ista"]) == 3, row
    text = (graded["feedback"] / "honest" / "hang_a1-lasso.txt").read_text(encoding="utf-8")
    assert cw.text("cw_fb_call_cpu", "en").format(seconds=LIMITS.call_cpu) in text


@pytest.mark.slow
@pytest.mark.parametrize("bomb", ["fork", "memory", "disk", "flood"])
def test_resource_bombs_cost_only_their_cell(graded, bomb):
    row = graded["rows"][f"bombs/{bomb}_a1-lasso.ipynb"]
    assert not row.get("error"), row
    assert float(row["total"]) == 12, row       # the other cells, and every question
    if bomb in ("fork", "memory"):
        assert "code cell 3 " in row["notes"], row
    # the machine's load stayed bounded (the sandbox's process limit)
    assert graded["load"][1] < graded["load"][0] + 2 * LIMITS.processes


def test_make_grade_and_the_zip_score_an_outcome_alike():
    """One function turns a grading outcome into scores for the tables of ``make grade``
    and for the zip's ``results.json``: a failed grading scores 0 everywhere, a question
    the grading did not reach scores 0."""
    points = {"q1": 2.0, "q2": 3.0}
    reached = {"error": None, "questions": {"q1": {"score": 1.5}}}
    assert cw.grading.question_scores(reached, points) == {"q1": 1.5, "q2": 0.0}
    failed = {"error": "the notebook ran out of time", "questions": {"q1": {"score": 2.0}}}
    assert cw.grading.question_scores(failed, points) == {"q1": 0.0, "q2": 0.0}


def test_the_entry_point_reads_its_settings_strictly(monkeypatch):
    """``make grade`` passes its sandbox, limits and time limit to the zip's entry point
    through the environment; without them it grades with what the notebooks state, and
    a malformed value is an error that names the variable."""
    for name in ("COURSEWORK_SANDBOX", "COURSEWORK_LIMITS", "COURSEWORK_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    settings = cw.gradescope.settings_from_environment()
    assert settings["limits"] == cw.Limits()
    assert settings["notebook_timeout"] == cw.NOTEBOOK_TIMEOUT
    monkeypatch.setenv("COURSEWORK_SANDBOX", "none")
    monkeypatch.setenv("COURSEWORK_LIMITS", json.dumps(LIMITS.describe()))
    monkeypatch.setenv("COURSEWORK_TIMEOUT", "90")
    assert cw.gradescope.settings_from_environment() == {
        "sandbox": "none", "limits": LIMITS, "notebook_timeout": 90.0}
    for value in ('{"cell_cpu": 1, "cpu": 2}', "[1, 2]", "12"):
        monkeypatch.setenv("COURSEWORK_LIMITS", value)
        with pytest.raises(ValueError, match="COURSEWORK_LIMITS"):
            cw.gradescope.settings_from_environment()
    monkeypatch.setenv("COURSEWORK_LIMITS", "{}")
    monkeypatch.setenv("COURSEWORK_TIMEOUT", "an hour")
    with pytest.raises(ValueError, match="COURSEWORK_TIMEOUT"):
        cw.gradescope.settings_from_environment()
    monkeypatch.setenv("COURSEWORK_TIMEOUT", "60")
    monkeypatch.setenv("COURSEWORK_SANDBOX", "docker")
    with pytest.raises(ValueError, match="sandbox"):
        cw.gradescope.settings_from_environment()


def test_a_broken_autograder_is_an_error_row_not_a_crash(tmp_path):
    """An autograder whose entry point fails gives an outcome with the reason (the
    instructor's table shows it), not an exception, and leaves no folder behind."""
    broken = tmp_path / "autograder.zip"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("run_otter.py", "import sys; sys.exit(3)\n")
    notebook = tmp_path / "a1-lasso.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    outcome = cw.grade_with_autograder(notebook, broken, tmp_root=scratch)
    assert outcome["error"].startswith("the autograder's entry point failed (exit 3)")
    assert cw.grading.question_scores(outcome, {"q": 1.0}) == {"q": 0.0}
    assert list(scratch.iterdir()) == []


def test_csv_fields_cannot_be_formulas():
    assert cw.excel_safe('=CONCAT("x","y")_a1-lasso.ipynb').startswith("'=")
    assert cw.excel_safe("@SUM(A1)").startswith("'") and cw.excel_safe("-1+2").startswith("'")
    assert cw.excel_safe("alice") == "alice" and cw.excel_safe(12) == 12


def test_points_of_the_judges_match_the_masters():
    from tools.coursework import judging

    for name in ASSIGNMENTS:
        cases = judging.cases_of(judging.judges_module(name))
        for question, points in _points("en", name).items():
            mine = [c.points for c in cases if c.question == question]
            assert sum(mine) == points, (name, question, mine)
        probes = judging.probes_module(name).PROBES
        assert {c.probe for c in cases} <= set(probes), name
        assert all(probes[c.probe]["question"] == c.question for c in cases), name


def test_every_place_of_an_assignment_follows_the_masters():
    """The assignments are the masters of the first language; everything else that
    names an assignment (the other languages, targets, probes, judges, the measured
    timings, the book's download table) is checked against that list, not kept beside it."""
    first, *others = LANGUAGES
    assert ASSIGNMENTS == tuple(sorted(p.stem for p in (cw.SOURCES / first).glob("*.md")))
    assert ASSIGNMENTS, "no master in coursework/" + first
    for lang in others:
        assert sorted(p.stem for p in (cw.SOURCES / lang).glob("*.md")) == list(ASSIGNMENTS)
    for kind in ("probes", "judges"):
        assert sorted(p.stem for p in (cw.SOURCES / kind).glob("*.py")) == list(ASSIGNMENTS)
    assert set(cw.load_settings()) <= set(ASSIGNMENTS)
    with open(cw.SOURCES / "timings.csv", newline="") as f:
        timed = {row["assignment"] for row in csv.DictReader(f)}
    assert timed == set(ASSIGNMENTS)  # the guide's table of grading costs
    for lang in LANGUAGES:
        page = (cw.ROOT / "book" / lang / "coursework.md").read_text(encoding="utf-8")
        for name in ASSIGNMENTS:
            assert f'href="coursework/{name}.ipynb"' in page, (lang, name)
            assert f'href="coursework/{name}-colab.ipynb"' in page, (lang, name)


def test_a_new_master_is_an_assignment(tmp_path):
    """Adding a master adds an assignment: the list is read from the folder."""
    first = LANGUAGES[0]
    (tmp_path / first).mkdir()
    for name in (*ASSIGNMENTS, "a4-extra"):
        (tmp_path / first / f"{name}.md").write_text("# x\n", encoding="utf-8")
    (tmp_path / first / "notes.txt").write_text("not a master", encoding="utf-8")
    assert cw.assignments(tmp_path) == (*ASSIGNMENTS, "a4-extra")
    assert cw.assignments() == ASSIGNMENTS
    with pytest.raises(ValueError, match="no master"):
        cw.assignments(tmp_path / "empty")


def test_results_from_the_sandbox_are_parsed_strictly():
    from tools.coursework import judging, sandbox

    with pytest.raises(ValueError):
        judging.parse_result('{"value": 1, "score": 12}')
    with pytest.raises(ValueError):
        judging.decode({"__array__": {"dtype": "|O", "shape": [1], "data": [1]}})
    with pytest.raises(ValueError):
        judging.decode({"__array__": {"dtype": "<f8", "shape": [10**9], "data": [1.0]}})
    with pytest.raises(ValueError):
        sandbox.parse_frames(b"result 99\n{}", {"result"})
    with pytest.raises(ValueError):
        sandbox.parse_frames(b"notes 2\n{}", {"result"})
    assert judging.clean("a\x1b[31mb\u202e" + "x" * 1000).startswith("a?[31mb?")
    assert len(judging.clean("x" * 1000)) == judging.SHOWN_CHARS


def test_reading_back_follows_no_link(tmp_path):
    (tmp_path / "link").symlink_to("/dev/zero")
    with pytest.raises(OSError):
        cw.read_regular(tmp_path / "link", 100)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ValueError):
        cw.read_regular(tmp_path / "fifo", 100)


def test_wrong_assignment_named_in_the_file_is_flagged():
    assert cw.named_assignment(Path("bob_a2-pruning.ipynb")) == "a2-pruning"
    assert cw.named_assignment(Path("bob.ipynb")) is None


LONG_CELL = """\
import time
start = time.process_time()
while time.process_time() - start < 4:      # a legal cell: 4 s of CPU time
    pass"""


@pytest.mark.slow
def test_a_long_legal_cell_gets_the_same_grade_on_a_starved_machine(built, tmp_path):
    """CPU time decides a cell's fate: 4 s of CPU under a 6 s limit passes although the
    grading gets half a core (a busy loop shares it), where the cell takes about 8 s of
    wall-clock time. The grade is the solution's grade when idle: full marks (see
    ``test_solutions_score_full_marks``)."""
    notebook = _read(built / "en" / "a1-lasso" / "autograder" / "a1-lasso.ipynb")
    _insert_after_setup(notebook, LONG_CELL)
    nbformat.write(notebook, tmp_path / "long.ipynb")
    lib = extract_lib(built / "en" / "a1-lasso" / "autograder" / "autograder.zip",
                                 tmp_path / "lib")
    limits = cw.Limits(cell_cpu=6, cell_idle=10, call_cpu=10)
    core = min(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                           preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    try:
        os.sched_setaffinity(0, {core})     # the grader and the sandbox inherit it
        starved = cw.grade_notebook(tmp_path / "long.ipynb", lib, "en", "a1-lasso",
                                    sandbox=cw.resolve_sandbox(SANDBOX), limits=limits,
                                    from_scratch=cw.load_settings()["a1-lasso"]["from_scratch"])
    finally:
        os.sched_setaffinity(0, before)
        hog.kill()
        _, _, usage = os.wait4(hog.pid, 0)
    assert not starved["error"] and not starved["notes"], starved["notes"]
    assert sum(q["score"] for q in starved["questions"].values()) == 12
    # the grading was starved: it had the core for well under its wall-clock time (other
    # processes of a busy machine may take their share too), and the busy loop had part
    assert starved["cpu_seconds"] < 0.7 * starved["seconds"], starved
    assert usage.ru_utime + usage.ru_stime > 0.15 * starved["seconds"]


#: Hand-ins that the zip's entry point also grades at /autograder, in the batch.
ZIP_SUBMISSIONS = ("attacks/forger_a1-lasso.ipynb",)
#: Hand-ins that ``otter run -a`` also grades, in the batch: those that fooled otter's own
#: runner in the trial (a library shortcut, a numpy patcher), and a forger of results.
OTTER_SUBMISSIONS = ("hostile/library_a1-lasso.ipynb", "hostile/patcher_a1-lasso.ipynb",
                     "attacks/forger_a1-lasso.ipynb")


def run_zip_entry(built: Path, submission: Path, root: Path) -> dict | str:
    """Run the autograder zip's entry point where Gradescope runs it (``/autograder``,
    bound with bubblewrap) on one hand-in; its ``results.json``, or why it failed."""
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(built / "en" / "a1-lasso" / "autograder" / "autograder.zip") as z:
        z.extractall(root / "source")
    (root / "submission" / submission.name).write_bytes(submission.read_bytes())
    done = subprocess.run(["bwrap", "--dev-bind", "/", "/", "--bind", str(root), "/autograder",
                           sys.executable, "/autograder/source/run_otter.py"],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stderr[-2000:]}"
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def run_otter(built: Path, submission: Path, root: Path) -> dict | str:
    """``otter run -a autograder.zip`` on one hand-in, as an instructor runs it locally;
    the ``results.json`` it writes, or why it failed."""
    root.mkdir(parents=True)
    otter = Path(sys.executable).with_name("otter")
    done = subprocess.run([str(otter), "run", "-a",
                           str(built / "en" / "a1-lasso" / "autograder" / "autograder.zip"),
                           "-o", str(root), "--no-logo", str(submission)],
                          capture_output=True, text=True, timeout=600, cwd=root)
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stdout[-1000:]} {done.stderr[-2000:]}"
    return json.loads((root / "results.json").read_text(encoding="utf-8"))


def _zip_scores(results: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"] if "max_score" in t}


@pytest.mark.slow
def test_every_hand_in_is_graded_by_the_zips_entry_point(graded):
    """``make grade`` grades each hand-in with the autograder zip's entry point (the one
    Gradescope runs): the ``results.json`` it wrote for every hand-in of the batch carries
    the scores of the grades table, and the error rows score 0."""
    checked = 0
    for submission, row in graded["rows"].items():
        if row["assignment"] == "unknown":
            continue
        results = json.loads((graded["feedback"] / Path(submission).with_suffix(".json"))
                             .read_text(encoding="utf-8"))
        if row.get("error"):
            assert results["score"] == 0, (submission, results["score"])
        else:
            assert results["score"] == float(row["total"]), (submission, results, row)
            assert _zip_scores(results) == _scores(row, row["lang"], row["assignment"])
        checked += 1
    assert checked == len(graded["rows"]) - 1


@pytest.mark.slow
@pytest.mark.parametrize("submission", ZIP_SUBMISSIONS)
def test_the_autograder_zip_grades_at_autograder_as_make_grade(graded, submission):
    """The zip's own entry point, run where Gradescope runs it (``/autograder``, bound
    with bubblewrap; with the batch), gives the scores of ``make grade``."""
    if graded["zip"] is None:
        pytest.skip("bubblewrap is needed to show the folder at /autograder")
    results = graded["zip"][submission]
    assert isinstance(results, dict), results
    row = graded["rows"][submission]
    assert results["score"] == float(row["total"]), (results, row)
    assert _zip_scores(results) == _scores(row, "en", "a1-lasso")


@pytest.mark.slow
@pytest.mark.parametrize("submission", OTTER_SUBMISSIONS)
def test_otter_run_grades_as_make_grade(graded, submission):
    """otter's local runner (``otter run -a``) grades through the zip's plugin, hence
    its entry point: the scores of ``make grade``, also for the hand-ins that fooled
    otter's own runner."""
    results = graded["otter"][submission]
    assert isinstance(results, dict), results
    row = graded["rows"][submission]
    assert _zip_scores(results) == _scores(row, "en", "a1-lasso"), (results, row)
    assert sum(_zip_scores(results).values()) == float(row["total"])
    assert results["output"].startswith(cw.text("cw_fb_title", "en").format(
        assignment="a1-lasso", submission=Path(submission).name))


if __name__ == "__main__":      # the background batch (tests/conftest.py)
    out = Path(sys.argv[1])
    summary = grade_batch(out)
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


def test_grade_writes_its_tables_into_a_new_folder(tmp_path):
    """Notebooks that are no assignment need no sandbox: the batch still writes its
    table, into a folder it makes."""
    subs = tmp_path / "handed-in"
    subs.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), subs / "notes.ipynb")
    rows = cw.grade(subs, tmp_path / "tables" / "week-1", out=tmp_path / "build", quiet=True)
    assert [r["assignment"] for r in rows] == ["unknown"]
    with open(tmp_path / "tables" / "week-1" / "grades-unknown.csv",
              encoding="utf-8-sig") as f:
        (row,) = csv.DictReader(f)
    assert row["student"] == "notes" and "not one of the assignments" in row["error"]

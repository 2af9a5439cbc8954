"""The coursework grades as intended (``tools/coursework.py``, ``coursework/``).

Every assignment is generated from its masters in both languages, then graded with
otter-grader exactly as an instructor would (``coursework.grade``, no Docker):

* the instructor version (the master's solutions) scores full marks;
* the unfilled student version scores zero, and the grader still finishes;
* a deliberately wrong answer to one question loses exactly that question's points;
* the Chinese and English masters have the same code, questions, points and checks,
  and generate the same check files. The English versions are graded in full; of the
  Chinese ones, the student version of assignment 1 is graded as well (a notebook run
  costs seconds: each imports torch in a fresh kernel).

Grading runs every notebook in a fresh kernel; the notebooks are graded two at a
time in one batch (a module-scoped fixture), and the tests read its grades table.
"""

from __future__ import annotations

import csv
import json
import os
import zipfile
from pathlib import Path

import nbformat
import pytest

from helpers.languages import LANGUAGES
from tools import coursework as cw

# otter-grader's configuration classes trigger a traitlets deprecation notice.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:traitlets")

ASSIGNMENTS = cw.ASSIGNMENTS
#: The Chinese student version that is graded (the others are checked for parity).
ZH_GRADED = "a1-lasso"

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


def _replace_once(notebook: nbformat.NotebookNode, old: str, new: str) -> None:
    hits = [c for c in notebook.cells if old in c.source]
    assert len(hits) == 1 and hits[0].source.count(old) == 1, \
        f"the wrong-answer edit must match exactly once: {old!r}"
    hits[0].source = hits[0].source.replace(old, new)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("coursework-build")
    cw.generate(out)
    return out


@pytest.fixture(scope="module")
def grades(built, tmp_path_factory) -> dict[str, dict]:
    """Grade solutions, stubs and wrong answers in one batch; rows by submission path."""
    subs = tmp_path_factory.mktemp("submissions")
    for name in ASSIGNMENTS:
        en = built / "en" / name
        folder = subs / "en" / name
        folder.mkdir(parents=True)
        solution = nbformat.read(en / "autograder" / f"{name}.ipynb", as_version=4)
        nbformat.write(solution, folder / "solution.ipynb")
        _, old, new = WRONG_ANSWERS[name]
        _replace_once(solution, old, new)
        nbformat.write(solution, folder / "wrong.ipynb")
        nbformat.write(nbformat.read(en / "student" / f"{name}.ipynb", as_version=4),
                       folder / "stub.ipynb")
    (subs / "zh" / ZH_GRADED).mkdir(parents=True)
    nbformat.write(nbformat.read(built / "zh" / ZH_GRADED / "student" / f"{ZH_GRADED}.ipynb",
                                 as_version=4), subs / "zh" / ZH_GRADED / "stub.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), subs / "not-an-assignment.ipynb")
    rows = cw.grade(subs, subs / "grades.csv", out=built, jobs=2)
    with open(subs / "grades.csv", encoding="utf-8") as f:
        assert [r["submission"] for r in csv.DictReader(f)] == [r["submission"] for r in rows]
    return {row["submission"]: row for row in rows}


def _points(lang: str, name: str) -> dict[str, float]:
    return {q.name: q.points for q in cw.questions(cw.render_master(lang, name))}


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solutions_score_full_marks(grades, name):
    row = grades[f"en/{name}/solution.ipynb"]
    points = _points("en", name)
    assert not row.get("error"), row
    assert {q: float(row[q]) for q in points} == points, row
    assert float(row["total"]) == float(row["possible"]) == sum(points.values())


@pytest.mark.slow
@pytest.mark.parametrize("lang, name", [("en", n) for n in ASSIGNMENTS] + [("zh", ZH_GRADED)])
def test_unfilled_student_versions_score_zero(grades, name, lang):
    row = grades[f"{lang}/{name}/stub.ipynb"]
    assert not row.get("error"), row
    assert row["lang"] == lang and row["assignment"] == name
    assert float(row["total"]) == 0 and float(row["possible"]) == sum(_points(lang, name).values())


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_wrong_answer_loses_exactly_its_question(grades, name):
    question = WRONG_ANSWERS[name][0]
    points = _points("en", name)
    row = grades[f"en/{name}/wrong.ipynb"]
    assert float(row[question]) == 0, row
    assert float(row["total"]) == sum(points.values()) - points[question], row
    assert all(float(row[q]) == p for q, p in points.items() if q != question), row


@pytest.mark.slow
def test_a_foreign_notebook_is_reported_not_fatal(grades):
    row = grades["not-an-assignment.ipynb"]
    assert "not one of the assignments" in row["error"] and not row.get("total")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_languages_share_code_questions_points(name):
    en, zh = cw.render_master("en", name), cw.render_master("zh", name)
    assert cw.questions(en) == cw.questions(zh)
    for k, (a, b) in enumerate(zip(cw.code_cells(en), cw.code_cells(zh))):
        assert a == b, f"{name}: code or raw cell {k} differs between en and zh:\n{a}\n---\n{b}"
    assert len(cw.code_cells(en)) == len(cw.code_cells(zh))


def _checks(zip_path: Path) -> dict[str, str]:
    with zipfile.ZipFile(zip_path) as z:
        return {n: z.read(n).decode() for n in z.namelist() if n.startswith("tests/")}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_languages_share_the_generated_checks(built, name):
    en = _checks(built / "en" / name / "autograder" / "autograder.zip")
    zh = _checks(built / "zh" / name / "autograder" / "autograder.zip")
    assert en == zh and set(en) == {f"tests/{q}.py" for q in _points("en", name)}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_version_hides_solutions_and_hidden_checks(built, name):
    student = nbformat.read(built / "en" / name / "student" / f"{name}.ipynb", as_version=4)
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN SOLUTION" not in text and "# SOLUTION" not in text
    assert "NotImplementedError" in text
    tests = student.metadata["otter"]["tests"]
    cases = [case for t in tests.values() for s in t["suites"] for case in s["cases"]]
    assert cases and not any(case["hidden"] for case in cases)


def test_colab_variant_installs_only_on_colab_and_writes_public_checks(built, tmp_path):
    colab = nbformat.read(built / "en" / "a1-lasso" / "colab" / "a1-lasso-colab.ipynb",
                          as_version=4)
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
    assert "at most 77 KB" in text and "<= 77 * 1024" in text and "{{" not in text


def test_unknown_placeholder_is_an_error():
    with pytest.raises(KeyError, match="no setting 'nope'"):
        cw.fill_placeholders("x = {{ nope }}", {"other": 1}, "test")


def test_manifest_lists_every_assignment(built):
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    for lang in LANGUAGES:
        assert set(manifest[lang]) == set(ASSIGNMENTS)
        assert {n: m["points"] for n, m in manifest[lang].items()} == \
            {n: sum(_points(lang, n).values()) for n in ASSIGNMENTS}

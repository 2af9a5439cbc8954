"""The autograder zip's entry point: grade the one submission as ``make grade`` does.

Gradescope unpacks the autograder zip into ``/autograder/source``, puts the student's
files into ``/autograder/submission`` and runs ``/autograder/source/run_autograder``,
which runs ``run_otter.py``; :func:`add_to_zip` makes that script call :func:`main`, so
the zip grades with the same two sandboxed steps (bubblewrap where it works there, else
none, with the same limits) and the same judges as ``make grade``, and writes
``/autograder/results/results.json`` in Gradescope's format.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

ENTRY = '''\
"""Grades the submission with tools.coursework (the sandbox computes, the grader judges)."""
import os, sys
ROOT = os.environ.get("AUTOGRADER_ROOT", "/autograder")
sys.path[:0] = [os.path.join(ROOT, "source"), os.path.join(ROOT, "source", "files")]
from tools.coursework.gradescope import main
main(ROOT)
'''


def add_to_zip(zip_path: Path, assignment: str) -> None:
    """Put the grader (``tools/coursework``), the texts, targets, masters, probes and
    judges of ``assignment`` into the autograder zip, and point ``run_otter.py`` at it."""
    from .build import ROOT

    files = {"tools/__init__.py": ROOT / "tools" / "__init__.py"}
    for path in sorted((ROOT / "tools" / "coursework").glob("*.py")):
        files[f"tools/coursework/{path.name}"] = path
    for name in ("text.toml", "targets.toml", f"probes/{assignment}.py",
                 f"judges/{assignment}.py", f"en/{assignment}.md", f"zh/{assignment}.md"):
        files[f"coursework/{name}"] = ROOT / "coursework" / name
    old = zip_path.with_suffix(".zip.old")
    zip_path.rename(old)
    with zipfile.ZipFile(old) as src, zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = ENTRY.encode() if item.filename == "run_otter.py" else src.read(item)
            if item.filename == "setup.sh":    # the sandbox, where the image allows it
                data += b"\napt-get install -y bubblewrap || true\n"
            dst.writestr(item, data)
        for arcname, path in files.items():
            dst.write(path, arcname)
    old.unlink()


def main(root: str = "/autograder") -> None:
    """Grade ``root/submission/*.ipynb``; write ``root/results/results.json``."""
    from .build import load_settings, questions, render_master, text
    from .grading import batch_folder, feedback_text, grade_notebook, identify, question_scores
    from .sandbox import Limits, resolve_sandbox

    base = Path(root)
    results = base / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    notebooks = sorted((base / "submission").glob("*.ipynb"))
    if len(notebooks) != 1:
        results.write_text(json.dumps({"score": 0, "output": f"expected one .ipynb file, "
                                       f"found {len(notebooks)}"}), encoding="utf-8")
        return
    path = notebooks[0]
    try:
        name, lang = identify(path)
    except Exception as error:
        results.write_text(json.dumps({"score": 0, "output": str(error)[:300]}), encoding="utf-8")
        return
    settings = load_settings()
    points = {q.name: q.points for q in questions(render_master(lang, name, settings))}
    limits = Limits()
    with batch_folder() as folder:
        outcome = grade_notebook(path, base / "source" / "files", lang, name,
                                 sandbox=resolve_sandbox(os.environ.get("COURSEWORK_SANDBOX",
                                                                        "auto")),
                                 limits=limits, points=points, tmp_root=folder,
                                 from_scratch=settings.get(name, {}).get("from_scratch", {}))
    scores = question_scores(outcome, points)
    total = sum(scores.values())
    row = {"assignment": name, "submission": path.name, "total": f"{total:g}",
           "possible": f"{sum(points.values()):g}"}
    tests = []
    for question, possible in points.items():
        q = outcome["questions"].get(question, {"score": 0.0, "cases": []})
        failed = [c["message"] for c in q["cases"] if not c["passed"]]
        tests.append({"name": question, "score": scores[question],
                      "max_score": possible, "output": "\n".join(failed)})
    results.write_text(json.dumps({
        "score": total, "tests": tests,
        "output": feedback_text(row, outcome, lang, limits)}, ensure_ascii=False),
        encoding="utf-8")
    print(f"{name} ({lang}): {total:g} / {sum(points.values()):g}", file=sys.stderr)

"""The autograder zip's entry point: the one way a notebook is graded.

Gradescope unpacks the autograder zip into ``/autograder/source``, puts the student's
files into ``/autograder/submission`` and runs ``/autograder/source/run_autograder``,
which runs ``run_otter.py``; :func:`tools.coursework.autograder_zip.add_to_zip` makes
that script call :func:`main`.
``make grade`` runs the same script for every hand-in (:func:`tools.coursework.grading.
grade_with_autograder`), and otter's local runner, ``otter run -a``, reaches it through
the plugin :class:`tools.coursework.otter_plugin.SandboxedGrading` — so the three grade
with the same code, probes, judges and ``helpers``: those in the zip.

:func:`grade_folder` grades the one notebook of ``ROOT/submission`` in the sandbox
(bubblewrap where it works, else none, with the same limits) and writes

* ``ROOT/results/results.json``: Gradescope's results (the score, each question's score
  and failed checks, the feedback as output);
* ``ROOT/results/outcome.json``: the grading's outcome for the instructor (notes, CPU
  time, the stages' log), which ``make grade`` turns into its tables.

How it runs is read from the environment, so that ``make grade`` can pass its settings:
``COURSEWORK_SANDBOX`` (``auto``, ``bwrap`` or ``none``; default ``auto``),
``COURSEWORK_LIMITS`` (a JSON object of :class:`~tools.coursework.sandbox.Limits`
fields; default the limits the student notebooks state) and ``COURSEWORK_TIMEOUT``
(wall-clock seconds for the whole notebook).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .autograder_zip import PLUGIN  # noqa: F401 (the plugin the zip names)


def settings_from_environment() -> dict:
    """``sandbox``, ``limits`` and ``notebook_timeout`` as the environment sets them
    (see the module's text); a malformed value is a ``ValueError`` naming the variable."""
    from .grading import NOTEBOOK_TIMEOUT
    from .sandbox import Limits, resolve_sandbox

    limits = os.environ.get("COURSEWORK_LIMITS", "{}")
    try:
        fields = json.loads(limits)
        limits = Limits(**fields)
    except (ValueError, TypeError) as error:
        raise ValueError(f"COURSEWORK_LIMITS must be a JSON object of the fields of Limits "
                         f"({', '.join(Limits.__dataclass_fields__)}); got {limits!r}: "
                         f"{error}") from None
    timeout = os.environ.get("COURSEWORK_TIMEOUT", str(NOTEBOOK_TIMEOUT))
    try:
        timeout = float(timeout)
    except ValueError:
        raise ValueError(f"COURSEWORK_TIMEOUT must be a number of seconds, got {timeout!r}") \
            from None
    return {"sandbox": resolve_sandbox(os.environ.get("COURSEWORK_SANDBOX", "auto")),
            "limits": limits, "notebook_timeout": timeout}


def grade_folder(root: Path, *, sandbox: str, limits, notebook_timeout: float) -> dict:
    """Grade ``root/submission/*.ipynb``; write ``root/results/results.json`` and
    ``root/results/outcome.json``; return the results."""
    from .build import load_settings, questions, render_master
    from .grading import (batch_folder, failed_outcome, feedback_text, grade_notebook,
                          identify, question_scores)

    base = Path(root)
    out = base / "results"
    out.mkdir(parents=True, exist_ok=True)
    notebooks = sorted((base / "submission").glob("*.ipynb"))
    name = lang = None
    if len(notebooks) != 1:
        outcome = failed_outcome(f"expected one .ipynb file, found {len(notebooks)}")
    else:
        try:
            name, lang = identify(notebooks[0])
        except Exception as error:
            outcome = failed_outcome(str(error)[:300])
    if name is None:
        results = {"score": 0, "output": outcome["error"]}
    else:
        settings = load_settings()
        points = {q.name: q.points for q in questions(render_master(lang, name, settings))}
        with batch_folder() as folder:
            outcome = grade_notebook(notebooks[0], base / "source" / "files", lang, name,
                                     sandbox=sandbox, limits=limits, points=points,
                                     notebook_timeout=notebook_timeout, tmp_root=folder,
                                     from_scratch=settings.get(name, {}).get("from_scratch", {}))
        scores = question_scores(outcome, points)
        total = sum(scores.values())
        row = {"assignment": name, "submission": notebooks[0].name, "total": f"{total:g}",
               "possible": f"{sum(points.values()):g}"}
        tests = []
        for question, possible in points.items():
            q = outcome["questions"].get(question, {"cases": []})
            failed = [c["message"] for c in q["cases"] if not c["passed"]]
            tests.append({"name": question, "score": scores[question],
                          "max_score": possible, "output": "\n".join(failed)})
        results = {"score": total, "tests": tests,
                   "output": feedback_text(row, outcome, lang, limits)}
    outcome.update(assignment=name, lang=lang)
    (out / "outcome.json").write_text(json.dumps(outcome, ensure_ascii=False), encoding="utf-8")
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    return results


def main(root: str = "/autograder") -> None:
    """The zip's entry point: grade ``root/submission/*.ipynb`` as the environment says."""
    results = grade_folder(Path(root), **settings_from_environment())
    possible = sum(t.get("max_score", 0) for t in results.get("tests", []))
    print(f"{results['score']:g} / {possible:g}", file=sys.stderr)

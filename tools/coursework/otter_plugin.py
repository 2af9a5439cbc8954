"""``otter run -a autograder.zip notebook.ipynb`` grades as Gradescope and ``make grade`` do.

otter's local runner does not run the zip's entry point: it would execute the notebook
itself, with the masters' checks in the student's kernel, outside any sandbox. The zip's
``otter_config.json`` names this plugin, which otter loads before grading (the project's
``pip install -e .`` makes ``tools.coursework`` importable). The plugin

1. runs the zip's entry point (``source/run_otter.py``, see
   :mod:`tools.coursework.gradescope`) on the submission, in a process of its own;
2. hands otter a notebook without cells and no checks to run, so that nothing of the
   student's runs outside the sandbox;
3. replaces otter's (empty) results with the entry point's: each question's score and
   failed checks, the feedback as output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.test_files.abstract_test import TestCase, TestCaseResult, TestFile


class JudgedQuestion(TestFile):
    """One question as the grader judged it (score, points, the failed checks' messages)."""

    def __init__(self, name: str, score: float, possible: float, output: str):
        case = TestCase(name=name, body="", hidden=False, points=possible,
                        success_message=None, failure_message=None)
        super().__init__(name, name, [case], all_or_nothing=False)
        self.test_case_results = [TestCaseResult(test_case=case, message=output or None,
                                                 passed=score == possible)]
        self.update_score(score)

    @classmethod
    def from_file(cls, path):
        raise NotImplementedError("a judged question is not read from a file")

    @classmethod
    def from_metadata(cls, s, path):
        raise NotImplementedError("a judged question is not read from metadata")

    def run(self, global_environment):
        raise NotImplementedError("a judged question is not run: the grader judged it")


class SandboxedGrading(AbstractOtterPlugin):
    """The plugin the autograder zip names (see the module's text)."""

    results: dict | None = None

    def before_grading(self, config):
        root = Path(config.autograder_dir).resolve()
        env = {**os.environ, "AUTOGRADER_ROOT": str(root)}
        done = subprocess.run([sys.executable, str(root / "source" / "run_otter.py")],
                              cwd=root, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"the autograder's entry point failed (exit "
                               f"{done.returncode}): {done.stderr[-2000:]}")
        self.results = json.loads((root / "results" / "results.json").read_text("utf-8"))
        # otter grades in the submission folder (the working directory now) with the
        # checks it copied to tests/: none of them is run, none needed
        shutil.rmtree("tests", ignore_errors=True)

    def before_execution(self, submission):
        return nbformat.v4.new_notebook(metadata=submission.metadata)

    def after_grading(self, results):
        results.clear_results()
        for test in self.results.get("tests", []):
            results.results[test["name"]] = JudgedQuestion(
                test["name"], test["score"], test["max_score"], test.get("output", ""))
        results.set_output(self.results.get("output", ""))

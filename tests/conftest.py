"""Fixtures shared by the unit tests, and the coursework batch graded in the background."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import data


@pytest.fixture(scope="session")
def digits() -> data.ClassificationData:
    """The bundled digits data in the book's fixed train/validation/test split.

    Shared by every test module: tests read it and never change it.
    """
    return data.load_digits_split()


# --- the coursework batch (tests/test_coursework.py), graded in the background -----------
#
# Grading the batch's notebooks in the sandbox takes minutes on two cores, while the unit
# tests and the pages (one kernel at a time) leave a core idle. So the batch starts in a
# process of its own once collection is over (after the pages' experiments, computed at
# that point with nothing else running, see tools/pytest_myst_nbval.py), and the tests
# that read it run last.

HERE = Path(__file__).resolve().parent


class BackgroundBatch:
    """``python tests/test_coursework.py ROOT``, started now, read by the ``graded`` fixture."""

    def __init__(self, root: Path):
        self.root = root
        self.log = open(root / "log.txt", "wb")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))}
        self.waited = None
        self.process = subprocess.Popen([sys.executable, str(HERE / "test_coursework.py"),
                                         str(root)], stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env, cwd=root)

    def result(self) -> dict:
        asked = time.monotonic()
        code = self.process.wait()
        self.waited = time.monotonic() - asked
        self.log.close()
        summary = self.root / "summary.json"
        if code != 0 or not summary.is_file():
            tail = (self.root / "log.txt").read_text(encoding="utf-8", errors="replace")[-4000:]
            raise RuntimeError(f"the coursework batch failed (exit {code}):\n{tail}")
        return json.loads(summary.read_text(encoding="utf-8"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _uses_batch(item) -> bool:
    return "graded" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items):
    """The tests that read the batch go last, so that the others run while it is graded."""
    items.sort(key=_uses_batch)       # stable: the order is kept within each part


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    config = session.config
    if config.option.collectonly or not any(map(_uses_batch, session.items)):
        return
    config.coursework_batch = BackgroundBatch(config._tmp_path_factory.mktemp("coursework-batch"))


def pytest_terminal_summary(terminalreporter, config):
    """How long the background batch took, and how long the tests waited for it (if they
    waited, the batch was the run's critical path)."""
    batch = getattr(config, "coursework_batch", None)
    summary = batch and batch.root / "summary.json"
    if batch is None or batch.waited is None or not summary.is_file():
        return
    seconds = json.loads(summary.read_text(encoding="utf-8")).get("total_seconds")
    terminalreporter.write_line(
        f"[coursework batch] graded in the background in {seconds:.0f} s; the tests that "
        f"read it waited {batch.waited:.0f} s for it")


def pytest_unconfigure(config):
    batch = getattr(config, "coursework_batch", None)
    if batch is not None:
        batch.stop()

"""The autograder zip's own files: its entry point, otter's plugin, the grader's sources.

:func:`add_to_zip` turns the zip that otter writes into the one every hand-in is graded
by (see :mod:`tools.coursework.gradescope`, whose :func:`~tools.coursework.gradescope.main`
the entry point calls). It imports nothing of the coursework: building the zip and
grading with it do not import each other.
"""

from __future__ import annotations

import json
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
#: otter's plugin that sends ``otter run -a`` through the entry point.
PLUGIN = "tools.coursework.otter_plugin.SandboxedGrading"


def add_to_zip(zip_path: Path, assignment: str) -> None:
    """Put the grader (``tools/coursework``), the texts, targets and masters, and the
    probes and judges of ``assignment`` into the autograder zip, point ``run_otter.py`` at it and
    name the plugin in ``otter_config.json`` (for ``otter run -a``)."""
    root = Path(__file__).resolve().parents[2]  # the checkout: tools/coursework/../..
    files = {"tools/__init__.py": root / "tools" / "__init__.py"}
    for path in sorted((root / "tools" / "coursework").glob("*.py")):
        files[f"tools/coursework/{path.name}"] = path
    for name in ("text.toml", "targets.toml", f"probes/{assignment}.py",
                 f"judges/{assignment}.py"):
        files[f"coursework/{name}"] = root / "coursework" / name
    # every master of every language: the grader derives the list of assignments
    # from them, and renders this one's in the submission's language
    for path in sorted((root / "coursework").glob("*/*.md")):
        files[path.relative_to(root).as_posix()] = path
    old = zip_path.with_suffix(".zip.old")
    zip_path.rename(old)
    with zipfile.ZipFile(old) as src, zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "run_otter.py":
                data = ENTRY.encode()
            elif item.filename == "otter_config.json":
                config = json.loads(data)
                config["plugins"] = [PLUGIN]
                data = json.dumps(config, indent=2).encode()
            elif item.filename == "setup.sh":    # the sandbox, where the image allows it
                data += b"\napt-get install -y bubblewrap || true\n"
            dst.writestr(item, data)
        for arcname, path in files.items():
            dst.write(path, arcname)
    old.unlink()

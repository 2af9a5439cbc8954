"""``python -m tools.coursework``: generate the assignments, grade a folder of hand-ins."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __doc__ as DOC
from .build import ASSIGNMENTS, DEFAULT_OUT, generate
from .grading import NOTEBOOK_TIMEOUT, grade
from .sandbox import SANDBOXES, Limits
from helpers.languages import LANGUAGES


def main(argv: list[str] | None = None) -> int:
    defaults = Limits()
    parser = argparse.ArgumentParser(prog="python -m tools.coursework",
                                     description=DOC.splitlines()[0])
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
    gra.add_argument("--cell-cpu", type=float, default=defaults.cell_cpu,
                     help=f"CPU seconds one cell may use (default {defaults.cell_cpu:g})")
    gra.add_argument("--call-cpu", type=float, default=defaults.call_cpu,
                     help=f"CPU seconds one graded call may use (default {defaults.call_cpu:g})")
    gra.add_argument("--memory-mb", type=int, default=defaults.memory_mb,
                     help=f"address space of each process (default {defaults.memory_mb})")
    gra.add_argument("--timeout", type=float, default=NOTEBOOK_TIMEOUT,
                     help=f"wall-clock seconds one notebook may take in all "
                          f"(default {NOTEBOOK_TIMEOUT})")
    args = parser.parse_args(argv)
    if args.command == "generate":
        generate(args.out, args.lang or LANGUAGES, args.assignment or ASSIGNMENTS)
        return 0
    limits = Limits(cell_cpu=args.cell_cpu, call_cpu=args.call_cpu, memory_mb=args.memory_mb)
    grade(args.submissions, args.csv_dir, out=args.out, feedback=args.feedback,
          jobs=args.jobs, sandbox=args.sandbox, limits=limits, notebook_timeout=args.timeout)
    return 0      # error rows are in the tables (and the summary), not in the exit status


if __name__ == "__main__":
    sys.exit(main())

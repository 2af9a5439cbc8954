"""Coursework: build the assignments' student and instructor versions, and grade submissions.

Usage (``make coursework`` and ``make grade SUBMISSIONS=folder`` run these inside the
project's virtual environment)::

    python -m tools.coursework generate                  # every assignment, every language
    python -m tools.coursework generate --lang en --assignment a1-lasso
    python -m tools.coursework grade SUBMISSIONS         # -> SUBMISSIONS/grades-<name>.csv
    python -m tools.coursework grade SUBMISSIONS --feedback feedback/ --jobs 2 --sandbox bwrap

The modules:

``build``
    the masters (``coursework/<lang>/<name>.md``, MyST with otter-grader's markers),
    their settings and texts, and ``generate``: student, Colab and instructor versions
    and the autograder zip in ``_build/coursework/<lang>/<name>/``.
``box``
    what runs inside the sandbox: the notebook (stage 1) and the calls of its graded
    objects on the check inputs (stage 2); it computes, it never judges.
``sandbox``
    the host's side of the sandbox: bubblewrap, the limits, reading the pipes.
``judging``
    expected values, tolerances, points and the verdict, outside the sandbox; the
    checks of each assignment are ``coursework/probes/<name>.py`` (inputs and calls, in
    the sandbox) and ``coursework/judges/<name>.py`` (the judgement, never in it).
``grading``
    one notebook (``grade_notebook``), one notebook through an autograder zip
    (``grade_with_autograder``) and a batch into grades tables and feedback (``grade``).
``gradescope``
    the autograder zip's entry point, the one way a hand-in is graded: by Gradescope,
    by ``make grade`` (through ``grade_with_autograder``) and by ``otter run -a``
    (through ``otter_plugin``, the plugin the zip names).

The instructor guide (``book/en/coursework.md``) says what is contained, and how.
"""

import jupytext  # noqa: F401  (tests read masters through this name)

from helpers.languages import LANG_LINE, LANGUAGES  # noqa: F401

from .build import (ASSIGNMENTS, DEFAULT_OUT, ROOT, SETTINGS, SOURCES, TEXT_FILE,  # noqa: F401
                    Question, _texts, assignments, code_cells, colab_variant,
                    fill_placeholders, generate, generate_one, grading_requirements,
                    init_cell, load_settings, master_path, points_of, questions,
                    render_master, repository_url, student_files, text)
from . import gradescope  # noqa: F401
from .grading import (NOTEBOOK_TIMEOUT, excel_safe, feedback_text, grade,  # noqa: F401
                      grade_notebook, grade_with_autograder, identify, named_assignment,
                      read_regular, student_id)
from .sandbox import Limits, SANDBOXES, bwrap_works, resolve_sandbox  # noqa: F401

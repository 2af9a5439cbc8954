"""The grader's side of a check: expected values, tolerances, points, the verdict.

Each assignment has two modules in ``coursework/``:

``probes/<assignment>.py``
    runs inside the sandbox (and here, to rebuild the same inputs): ``PROBES[id]`` has
    the ``question``, ``inputs()`` (trusted code: the check's inputs) and
    ``call(student, inputs)`` (calls the student's graded objects by name and returns
    what they gave back). It holds no expected value, tolerance or point.
``judges/<assignment>.py``
    never enters the sandbox: ``CASES``, one per check (public or hidden) of the
    assignment, each a function ``judge(got, inputs, say)`` that compares the probe's
    result (plain data, decoded by :func:`decode`) with values it computes here from the
    same inputs, and returns ``None`` (passed) or the message for the student.

The score of a question is the sum of the points of its passed cases, clamped to the
question's points, and zero when a probe of the question reached for a library shortcut.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .build import ROOT, text

PROBES_DIR = ROOT / "coursework" / "probes"
JUDGES_DIR = ROOT / "coursework" / "judges"
#: Longest text of a student's value or error shown in feedback.
SHOWN_CHARS = 300


@dataclass(frozen=True)
class Case:
    """One check: the question it belongs to, the probe whose result it reads, points."""

    question: str
    probe: str
    points: float
    hidden: bool
    judge: Callable


def case(question: str, probe: str, points: float = 1, hidden: bool = False):
    """Decorator for a judge module: ``@case("a1_ista", "ista_02")`` registers a check."""
    def register(judge):
        judge.case = Case(question, probe, float(points), hidden, judge)
        return judge
    return register


def cases_of(module) -> list[Case]:
    """The checks of a judges module, in the order they are defined."""
    return [v.case for v in vars(module).values() if callable(v) and hasattr(v, "case")]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def probes_module(assignment: str):
    """The probes of ``assignment`` (the same file the sandbox runs)."""
    return _load(probes_path(assignment), f"coursework_probes_{assignment.replace('-', '_')}")


def probes_path(assignment: str) -> Path:
    return PROBES_DIR / f"{assignment}.py"


@functools.cache
def judges_module(assignment: str):
    return _load(JUDGES_DIR / f"{assignment}.py", f"coursework_judges_{assignment.replace('-', '_')}")


@functools.cache
def inputs_of(assignment: str, probe: str) -> dict:
    """The inputs of a probe, built here (trusted) exactly as in the sandbox."""
    return probes_module(assignment).PROBES[probe]["inputs"]()


# ---------------------------------------------------------------- plain data, decoded


class TensorData(np.ndarray):
    """A torch tensor returned by the student, as a NumPy array (``is_tensor`` tells)."""


class Opaque:
    """A returned object the probe could not turn into data (its type name only)."""

    def __init__(self, kind: str):
        self.kind = str(kind)[:200]

    def __repr__(self):
        return f"<{self.kind}>"


_DTYPES = {"|b1", "<i1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u1", "<u2", "<u4", "<u8",
           "<f2", "<f4", "<f8"}


def decode(value, depth: int = 0):
    """Plain data from the sandbox (parsed JSON) → Python values, validated strictly."""
    if depth > 40:
        raise ValueError("nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v, depth + 1) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (tag, body), = value.items()
        if tag == "__tuple__" and isinstance(body, list):
            return tuple(decode(v, depth + 1) for v in body)
        if tag == "__dict__" and isinstance(body, list):
            out = {}
            for pair in body:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise ValueError("malformed dict")
                key = decode(pair[0], depth + 1)
                out[key if _hashable(key) else repr(key)] = decode(pair[1], depth + 1)
            return out
        if tag in ("__array__", "__tensor__") and isinstance(body, dict):
            dtype, shape, data = body.get("dtype"), body.get("shape"), body.get("data")
            if dtype not in _DTYPES or not isinstance(shape, list) or not isinstance(data, list) \
                    or not all(isinstance(n, int) and 0 <= n for n in shape) \
                    or math.prod(shape) != len(data) \
                    or not all(isinstance(x, (int, float, bool)) for x in data):
                raise ValueError("malformed array")
            array = np.array(data, dtype=np.dtype(dtype)).reshape(shape)
            return array.view(TensorData) if tag == "__tensor__" else array
        if tag == "__object__":
            return Opaque(body)
    raise ValueError("malformed value")


def _hashable(value) -> bool:
    try:
        hash(value)
        return True
    except TypeError:
        return False


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(message: str, limit: int = SHOWN_CHARS) -> str:
    """A text from the sandbox made safe to show: no control characters, at most ``limit``."""
    message = _CONTROL.sub("?", str(message))
    return message if len(message) <= limit else message[:limit - 1] + "…"


def shown(value) -> str:
    """How a student's value appears in a message: short, escaped."""
    if isinstance(value, np.ndarray):
        kind = "tensor(" if isinstance(value, TensorData) else "array("
        body = np.array2string(np.asarray(value), precision=6, threshold=40, separator=", ")
        return clean(kind + body + ")")
    return clean(repr(value))


class Say:
    """``say(key, **values)``: a text of ``text.toml`` in the student's language; values
    that are not plain numbers are shown through :func:`shown`."""

    def __init__(self, lang: str):
        self.lang = lang

    def __call__(self, key: str, **values) -> str:
        safe = {k: v if isinstance(v, (int, float)) and not isinstance(v, bool) else
                (v if isinstance(v, str) and k.startswith("_") else shown(v))
                for k, v in values.items()}
        safe = {k.lstrip("_"): v for k, v in safe.items()}
        return text(key, self.lang).format(**safe)


# -------------------------------------------------------------------------- verdicts


def _probe_failure(outcome: dict | None, say: Say, limits: dict) -> str | None:
    """Why a probe gave no value (its call raised, ran out of CPU time, …), or None."""
    if outcome is None:
        return say("cw_fb_no_result")
    status = outcome.get("status")
    if status == "cpu":
        return say("cw_fb_call_cpu", seconds=float(limits.get("call_cpu", 0)))
    if status == "wall":
        return say("cw_fb_call_wall", seconds=float(limits.get("call_wall", 0)))
    if status == "too_big":
        return say("cw_fb_call_big")
    if status != "done":
        return say("cw_fb_call_crash")
    result = outcome["parsed"]
    if result.get("blocked"):
        return say("cw_fb_library", _call=clean(", ".join(result["blocked"])))
    if result.get("error"):
        if result["error"] == "CPULimit":
            return say("cw_fb_call_cpu", seconds=float(limits.get("call_cpu", 0)))
        return say("cw_fb_raised", _error=clean(result["error"]))
    return None


def parse_result(raw: str) -> dict:
    """A probe's result from the sandbox: JSON of a fixed shape, else a ``ValueError``."""
    result = json.loads(raw)
    if not isinstance(result, dict) or set(result) - {"error", "blocked", "printed", "value"}:
        raise ValueError("malformed result")
    blocked = result.get("blocked", [])
    if not isinstance(blocked, list) or not all(isinstance(b, str) for b in blocked):
        raise ValueError("malformed result")
    error = result.get("error")
    if error is not None and not isinstance(error, str):
        raise ValueError("malformed result")
    return {"error": error, "blocked": [clean(b, 100) for b in blocked[:20]],
            "value": decode(result.get("value"))}


def judge(assignment: str, lang: str, outcomes: dict[str, dict], points: dict[str, float],
          blocked_targets: dict[str, list[str]], limits: dict) -> dict:
    """Every check of ``assignment`` on the probes' ``outcomes`` (by probe id).

    Returns ``{question: {"score", "possible", "cases": [...], "library_calls": [...]}}``;
    each score is clamped to ``points[question]``.
    """
    say = Say(lang)
    module = judges_module(assignment)
    out = {q: {"score": 0.0, "possible": float(p), "cases": [], "library_calls": []}
           for q, p in points.items()}
    for check in cases_of(module):
        if check.question not in out:
            continue
        outcome = outcomes.get(check.probe)
        message = _probe_failure(outcome, say, limits)
        if message is None:
            try:
                message = check.judge(outcome["parsed"]["value"],
                                      inputs_of(assignment, check.probe), say)
            except Exception as error:   # a value of the wrong kind: the check fails
                message = say("cw_fb_bad_value", _kind=clean(type(error).__name__))
        passed = message is None
        question = out[check.question]
        question["cases"].append({"hidden": check.hidden, "passed": passed,
                                  "points": check.points, "message": message or ""})
        if passed:
            question["score"] += check.points
        if outcome and outcome.get("status") == "done" and outcome["parsed"]["blocked"]:
            question["library_calls"] += outcome["parsed"]["blocked"]
    for name, question in out.items():
        question["library_calls"] = sorted(set(question["library_calls"]))
        if question["library_calls"]:
            question["score"] = 0.0
        question["score"] = min(max(question["score"], 0.0), question["possible"])
    return out


def plan(assignment: str) -> list[str]:
    """The probes every check of ``assignment`` needs, in order."""
    seen = []
    for check in cases_of(judges_module(assignment)):
        if check.probe not in seen:
            seen.append(check.probe)
    return seen

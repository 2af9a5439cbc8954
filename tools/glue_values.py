"""Every value the book glues into its prose, per edition: a snapshot to compare.

Usage::

    python -m tools.glue_values snapshot OUT.json               # both editions
    python -m tools.glue_values snapshot OUT.json --lang en --pages pruning faq
    python -m tools.glue_values compare BEFORE.json AFTER.json  # exit status 1 on a change

``snapshot`` executes each page (a MyST-Markdown notebook read with jupytext) in a
fresh kernel, in its own folder, as the book build does, and records every value
glued with ``myst_nb.glue``: its name and its displayed text (``text/plain``, or
``text/html`` / ``text/markdown`` when that is what is glued; a figure is recorded as
the SHA-256 of its PNG). ``compare`` reports the names whose values differ, those
present in one snapshot only, and leaves out the values that depend on wall-clock
timing: those the page glues with ``timed=True`` (latencies, speed-ups and verdicts
about them, which no two runs share; ``helpers.page.TIMED`` in the output's
metadata), recorded with the prefix ``TIMED_MARK``.

A restructuring of the code must leave the snapshot unchanged apart from the changes
it makes on purpose; ``compare --expect NAME ...`` lists those.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers.languages import LANGUAGES
from helpers.page import TIMED
from tools.pytest_myst_nbval import is_myst_notebook
from tools.toc import book_pages

ROOT = Path(__file__).resolve().parent.parent
GLUE_PREFIX = "application/papermill.record/"

#: How a snapshot records a value glued with ``timed=True``: before its text.
TIMED_MARK = "[timed] "


def is_timed(value: str) -> bool:
    """Whether a snapshot's value was glued with ``timed=True`` (see ``TIMED_MARK``)."""
    return value.startswith(TIMED_MARK)


def glued_data(output: dict) -> tuple[str, dict] | None:
    """``(name, mime bundle)`` of one cell output that ``glue`` wrote (the bundle's keys
    without myst-nb's prefix), or None if the output glues nothing."""
    meta = output.get("metadata", {}).get("scrapbook")
    if output.get("output_type") != "display_data" or not meta:
        return None
    return meta["name"], {key.removeprefix(GLUE_PREFIX): value
                          for key, value in output["data"].items()}


def glued_value(output: dict) -> tuple[str, str] | None:
    """``(name, displayed text)`` of one cell output, or None if it glues nothing; the
    text of a value glued with ``timed=True`` starts with ``TIMED_MARK``."""
    glued = glued_data(output)
    if glued is None:
        return None
    name, data = glued
    mark = TIMED_MARK if output.get("metadata", {}).get(TIMED) else ""
    for mime in ("image/png", "image/svg+xml"):
        if mime in data:
            return name, f"{mark}<{mime} sha256:{hashlib.sha256(str(data[mime]).encode()).hexdigest()[:16]}>"
    for mime in ("text/markdown", "text/html", "text/plain"):
        if mime in data:
            text = data[mime]
            return name, mark + ("".join(text) if isinstance(text, list) else text)
    return name, mark + repr(sorted(data))


def page_values(path: Path, timeout: int = 900) -> dict[str, str]:
    """Execute one page in a fresh kernel; its glued values by name.

    A page that raises is reported under the name ``ERROR`` with the values glued
    before the failing cell, so that one broken page does not hide the others.
    """
    notebook = jupytext.read(path)
    values = {}
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       shutdown_kernel="immediate",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except CellExecutionError as err:
        lines = [line for line in str(err).strip().splitlines() if line.strip()]
        values["ERROR"] = lines[-1] if lines else type(err).__name__
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            item = glued_value(output)
            if item is not None:
                values[item[0]] = item[1]
    return values


def snapshot(langs, pages=None, out: Path | None = None) -> dict:
    """``{lang: {page: {name: value}}}`` for the pages of ``_toc.yml``.

    With ``out``, the snapshot is written after each page (a long run can be followed,
    and what it has measured survives an interruption).
    """
    result: dict = {}
    for lang in langs:
        for name in book_pages():
            path = ROOT / "book" / lang / f"{name}.md"
            if (pages and name not in pages) or not path.is_file() or not is_myst_notebook(path):
                continue
            started = time.perf_counter()
            values = page_values(path)
            print(f"[glue] {lang}/{name}: {len(values)} values in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
            result.setdefault(lang, {})[name] = values
            if out is not None:
                write(result, out)
    return result


def write(values: dict, out: Path) -> None:
    """Write a snapshot as sorted, readable JSON."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(values, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                   encoding="utf-8")


def compare(before: dict, after: dict, expected=()) -> dict[str, list[str]]:
    """Classify every glued value of two snapshots.

    Returns lists of ``lang/page/name`` under ``identical``, ``changed`` (unexpected),
    ``expected`` (changed and listed in ``expected``, by name), ``nondeterministic``
    (left out), ``only_before`` and ``only_after``.
    """
    report: dict[str, list[str]] = {key: [] for key in (
        "identical", "changed", "expected", "nondeterministic", "only_before", "only_after")}
    for lang in sorted(set(before) | set(after)):
        pages_b, pages_a = before.get(lang, {}), after.get(lang, {})
        for page in sorted(set(pages_b) & set(pages_a)):
            b, a = pages_b[page], pages_a[page]
            for name in sorted(set(b) | set(a)):
                key = f"{lang}/{page}/{name}"
                if name not in a:
                    report["only_before"].append(key)
                elif name not in b:
                    report["only_after"].append(key)
                elif is_timed(a[name]) or is_timed(b[name]):
                    report["nondeterministic"].append(key)
                elif a[name] == b[name]:
                    report["identical"].append(key)
                elif name in expected:
                    report["expected"].append(f"{key}: {b[name]!r} -> {a[name]!r}")
                else:
                    report["changed"].append(f"{key}: {b[name]!r} -> {a[name]!r}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot", help="execute the pages, write their glued values")
    snap.add_argument("out", type=Path)
    snap.add_argument("--lang", action="append", choices=LANGUAGES)
    snap.add_argument("--pages", nargs="+", metavar="NAME")
    comp = sub.add_parser("compare", help="compare two snapshots")
    comp.add_argument("before", type=Path)
    comp.add_argument("after", type=Path)
    comp.add_argument("--expect", nargs="*", default=[], metavar="NAME",
                      help="glue names whose values change on purpose")
    args = parser.parse_args(argv)

    if args.command == "snapshot":
        values = snapshot(args.lang or LANGUAGES, args.pages, out=args.out)
        write(values, args.out)
        return 0 if not any("ERROR" in page for edition in values.values()
                            for page in edition.values()) else 1
    report = compare(json.loads(args.before.read_text(encoding="utf-8")),
                     json.loads(args.after.read_text(encoding="utf-8")), set(args.expect))
    for key, items in report.items():
        print(f"{key}: {len(items)}")
        if key != "identical":
            for item in items:
                print(f"  {item}")
    return 1 if report["changed"] or report["only_before"] or report["only_after"] else 0


if __name__ == "__main__":
    sys.exit(main())

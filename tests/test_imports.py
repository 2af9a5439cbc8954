"""No import cycle anywhere in the repository's code.

The graph has one node per module of ``helpers``, ``tools``, ``benchmarks`` and
``book/_ext`` and an edge for every import statement in it, at module level or inside
a function (a deferred import hides a cycle from Python, not from the reader), read
with ``ast`` without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Folders of code and the module name of a file in them: packages by their dotted
#: path, the book's Sphinx extensions by their file name (Sphinx puts book/_ext on the
#: path).
PACKAGES = ("helpers", "tools", "benchmarks")
EXTENSIONS = ROOT / "book" / "_ext"


def module_files() -> dict[str, Path]:
    """Module name → file, for every module of the repository's code."""
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    for path in sorted(EXTENSIONS.glob("*.py")):
        files[path.stem] = path
    return files


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imported_modules(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The repository's modules that ``name`` imports, anywhere in its file."""
    package = name if _is_package(path) else name.rpartition(".")[0]
    here = path.parent
    found = set()

    def add(target: str) -> None:
        # A bare name may be a sibling file (a script run with its folder on sys.path).
        for candidate in (target, f"{package}.{target}" if package else target):
            if candidate in known and known[candidate] != path:
                found.add(candidate)
                return
        sibling = here / f"{target.split('.')[0]}.py"
        if "." not in target and sibling.is_file() and sibling != path:
            found.add(next(n for n, p in known.items() if p == sibling))

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                if f"{source}.{alias.name}" in known:
                    add(f"{source}.{alias.name}")
                else:
                    add(source)
    return found


def import_graph() -> dict[str, set[str]]:
    known = module_files()
    return {name: imported_modules(name, path, known) for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, …, a]``, or None if it has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_the_imports():
    graph = import_graph()
    assert "helpers._checks" in graph["helpers.data"]
    assert "helpers.dependency" in graph["helpers.structured"]
    assert "tools.toc" in graph["tools.glue_values"]
    assert "helpers.structured" in graph["benchmarks.compression.experiment"]
    assert "bilingual" in graph


@pytest.mark.parametrize("graph, cycle", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": set()}, None),
    ({"a": {"a"}}, ["a", "a"]),
])
def test_find_cycle(graph, cycle):
    assert find_cycle(graph) == cycle


def test_no_import_cycle_anywhere():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


#: What the sandboxed stage of grading may import besides the standard library: the
#: kernel's runner (nbformat, nbclient), the saver of the notebook's variables (dill),
#: and the libraries the assignments' graded objects compute with.
GRADING_NEEDS = {"nbformat", "nbclient", "dill", "numpy", "torch", "matplotlib", "sklearn",
                 "helpers"}


def test_the_sandboxed_stage_imports_only_the_standard_library_and_grading_needs():
    """``tools/coursework/box.py`` runs beside untrusted code: at module level it
    imports only the standard library, and nowhere anything of the grader (``tools``)."""
    import sys

    path = ROOT / "tools" / "coursework" / "box.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def top(node) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name.split(".")[0] for alias in node.names]
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"box.py line {node.lineno}: a relative import"
            return [node.module.split(".")[0]]
        return []

    at_module_level = {name for node in tree.body for name in top(node)} - {"__future__"}
    assert at_module_level <= set(sys.stdlib_module_names), sorted(
        at_module_level - set(sys.stdlib_module_names))
    anywhere = {name for node in ast.walk(tree) for name in top(node)} - {"__future__"}
    outside = anywhere - set(sys.stdlib_module_names)
    assert outside <= GRADING_NEEDS, sorted(outside - GRADING_NEEDS)
    assert "tools" not in anywhere

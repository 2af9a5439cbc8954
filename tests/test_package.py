"""The shape of the package: lazy submodules, no import cycle, one language registry."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import helpers

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "helpers").glob("*.py"))


def _imports_of_package_root(path: Path) -> list[str]:
    """Names a module imports from ``helpers/__init__`` (``from . import X`` of a non-module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            root = (node.level == 1 and node.module is None) or node.module == "helpers"
            if root:
                found += [a.name for a in node.names if a.name not in helpers.SUBMODULES]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "helpers"]
    return found


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "__init__.py"],
                         ids=lambda p: p.name)
def test_no_module_imports_from_the_package_root(path):
    assert _imports_of_package_root(path) == []


def test_every_module_is_listed_as_a_submodule():
    names = {p.stem for p in MODULES if not p.stem.startswith("_")}
    assert names == set(helpers.SUBMODULES)


def test_import_helpers_is_cheap_and_submodules_load_on_use():
    code = ("import sys, helpers; assert 'torch' not in sys.modules, 'torch loaded';"
            "helpers.prune; assert 'helpers.prune' in sys.modules;"
            "assert helpers.get_device().type in ('cpu', 'cuda');"
            "assert helpers.LANGUAGES == tuple(helpers.languages.REGISTRY)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        helpers.no_such_thing  # noqa: B018
    assert {"prune", "get_device", "LANGUAGES"} <= set(dir(helpers))

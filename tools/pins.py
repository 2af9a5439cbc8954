"""The book's pinned versions (``requirements.txt``), read in one place for every tool.

The notebooks bundle's reader environment (``tools/notebooks_bundle.py``) and the
autograder's environment (``tools/coursework/build.py``) pin what they install to the
versions the book is built and tested with.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"

#: Where ``pip`` finds PyTorch's CPU build (``2.13.0+cpu``, which the pin
#: ``torch==2.13.0`` admits and pip prefers): PyPI's Linux wheel is the CUDA build,
#: with several GB of NVIDIA libraries that a CPU never uses. A requirements line.
PYTORCH_CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def pins(path: Path = REQUIREMENTS) -> dict[str, str]:
    """``{name: version}`` of every ``name==version`` line (names lower-case)."""
    found = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[name.strip().lower()] = version.strip()
    return found


def pin(name: str, path: Path = REQUIREMENTS) -> str:
    """``name==version`` as ``requirements.txt`` pins it.

    Raises
    ------
    ValueError
        When ``requirements.txt`` does not pin ``name``.
    """
    versions = pins(path)
    key = name.lower()
    if key not in versions:
        raise ValueError(f"requirements.txt pins no {name}; add {name}==VERSION to it")
    return f"{name}=={versions[key]}"

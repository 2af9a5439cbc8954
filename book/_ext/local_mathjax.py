"""Sphinx extension: serve MathJax from the site itself, so the book reads offline.

Sphinx loads MathJax from a CDN by default; a reader who opens ``_build/html``
without a network would see raw TeX. This extension copies MathJax 3 (the pinned
``django-static-mathjax`` package: ``tex-chtml.js`` and its web fonts) into each
edition's ``_static/mathjax/`` and points ``mathjax_path`` at it.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

#: What the page needs: the combined TeX-to-CHTML component and its fonts.
FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2")


def mathjax_es5() -> Path:
    """The ``es5`` folder of the installed MathJax 3 distribution."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "MathJax is not installed (package django-static-mathjax); "
            "install the book's requirements: pip install -r requirements.txt")
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        raise FileNotFoundError(f"tex-chtml.js not found in {es5}")
    return es5


def _point_at_local_copy(app, config) -> None:
    mathjax_es5()  # fail early, with a clear message, if it is missing
    config.mathjax_path = "mathjax/tex-chtml.js"


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_es5(), Path(app.outdir) / "_static" / "mathjax"
    for name in FILES:
        src, dst = source / name, target / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)


def setup(app):
    app.connect("config-inited", _point_at_local_copy)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Sphinx extension: the download menu's notebooks run outside the repository.

Every page's download menu (sphinx-book-theme) gets two things:

* ``.ipynb``: the executed notebook of the page as it reads in the book (glued
  numbers and verdicts as text, references resolved, directives as Markdown that
  Jupyter renders, solutions folded: ``tools/notebook_export.py``), with a setup
  cell first that installs the book's package ``helpers`` where it is missing (the
  cell comes from ``tools/notebooks_bundle.py`` through the config value
  ``notebook_setup_cell``). The notebooks bundle collects these files.
  The theme offers this button only when a launch button is configured; here it is
  offered on every notebook page, with or without a repository.
* ``notebooks (.zip)``: the edition's notebooks bundle (config value
  ``notebooks_bundle``, the zip's file name in the edition's root), which
  ``tools/build_book.py`` writes after the build.

With the config values empty (as in the PDF build) the extension does nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import nbformat

def edition_output_folder(app) -> None:
    """Give each edition its own folder of executed notebooks (and their images).

    myst-nb writes them to ``<outdir>/../jupyter_execute``: one folder for both editions,
    whose output folders (``_build/html/en``, ``_build/html/zh``) share a parent. The
    editions' notebooks have the same names, so an edition could offer the other's
    notebook for download (the editions are built at the same time; an incremental
    build of one edition alone would do the same). The folder becomes
    ``<outdir>/../jupyter_execute/<edition>``. Runs after myst-nb's own ``builder-inited``
    handler, which sets the shared folder.
    """
    config = getattr(app.env, "mystnb_config", None)
    if config is None:
        return
    folder = Path(app.outdir).parent / "jupyter_execute" / Path(app.outdir).name
    app.env.mystnb_config = config.copy(output_folder=str(folder.resolve()))


def _executed(app, pagename: str) -> Path | None:
    path = Path(app.env.mystnb_config.output_folder) / f"{pagename}.ipynb"
    return path if path.is_file() else None


def offer_notebook(app, pagename, templatename, context, doctree) -> None:
    """Before the theme's buttons: name the page's notebook download (``ipynb_source``)."""
    if app.config.notebook_setup_cell and _executed(app, pagename):
        context["ipynb_source"] = pagename + ".ipynb"


def _book(app):
    """The edition's labels and numbers (``tools.notebook_export.Book``), read once."""
    book = getattr(app, "notebook_export_book", None)
    if book is None:
        from tools import notebook_export, notebooks_bundle

        lang = Path(app.srcdir).name
        book = notebook_export.Book(lang, exported=set(notebooks_bundle.bundle_pages(lang)))
        app.notebook_export_book = book
    return book


def _with_all_outputs(app, pagename: str, executed: Path) -> nbformat.NotebookNode:
    """The page executed, every cell's outputs included.

    myst-nb's copy in ``jupyter_execute`` leaves out the outputs of cells tagged
    ``remove-cell``, where most pages glue their values; the execution cache keeps
    them (the build runs in cache mode), so the page's notebook is read from there.
    """
    from jupyter_cache import get_cache

    source = jupytext.read(app.env.doc2path(pagename))
    try:
        _, merged = get_cache(app.env.mystnb_config.execution_cache_path) \
            .merge_match_into_notebook(source)
    except KeyError:  # not in the cache: what myst-nb wrote is all there is
        return nbformat.read(executed, as_version=4)
    return merged


def write_notebook(app, pagename, templatename, context, doctree) -> None:
    """After the theme (which may copy the plain notebook): write it as the book reads,
    with the setup cell."""
    from tools import notebooks_bundle

    executed = _executed(app, pagename)
    if not (app.config.notebook_setup_cell and executed):
        return
    notebook = notebooks_bundle.download_notebook(
        _with_all_outputs(app, pagename, executed), pagename, _book(app),
        app.config.notebook_setup_cell)
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(nbformat.from_dict(notebook), ensure_ascii=False, indent=1),
                      encoding="utf-8")


def link_bundle(app, pagename, templatename, context, doctree) -> None:
    """Add the notebooks bundle to the download menu of every page."""
    bundle = app.config.notebooks_bundle
    if not bundle:
        return
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button["buttons"].insert(0, {
                "type": "link",
                "url": context["pathto"](bundle, 1),
                "text": app.config.notebooks_bundle_text or "notebooks (.zip)",
                "tooltip": app.config.notebooks_bundle_text or "notebooks (.zip)",
                "icon": "fas fa-file-zipper",
                "label": "download-bundle-button",
            })


def setup(app):
    app.add_config_value("notebook_setup_cell", "", "html")
    app.add_config_value("notebooks_bundle", "", "html")
    app.add_config_value("notebooks_bundle_text", "", "html")
    app.connect("builder-inited", edition_output_folder, priority=900)
    app.connect("html-page-context", offer_notebook, priority=500)
    app.connect("html-page-context", link_bundle, priority=502)
    app.connect("html-page-context", write_notebook, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

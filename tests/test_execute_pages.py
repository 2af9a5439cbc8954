"""tools.execute_pages: an edition's pages in one kernel, each from a fresh kernel's state."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from pages import write_page

from tools import execute_pages

ROOT = Path(__file__).resolve().parent.parent

def page(folder: Path, name: str, *cells: str) -> Path:
    """A MyST notebook with ``cells`` (code), written to ``folder/name.md``."""
    body = "".join(f"```{{code-cell}} ipython3\n{textwrap.dedent(c).strip()}\n```\n\n"
                   for c in cells)
    return write_page(folder / f"{name}.md", body, title=name)


def text(run: execute_pages.PageRun) -> str:
    """Everything the page's cells printed."""
    return "".join(out.get("text", "") for cell in run.notebook.cells
                   if cell.cell_type == "code" for out in cell.get("outputs", []))


STATE = """
import json, os, warnings
import matplotlib, torch
print(json.dumps({"defined": "leak" in globals(), "cwd": os.getcwd(),
                  "dpi": matplotlib.rcParams["figure.dpi"],
                  "draw": torch.rand(1).item(), "threads": torch.get_num_threads(),
                  "dtype": str(torch.get_default_dtype()), "grad": torch.is_grad_enabled(),
                  "env": os.environ.get("BOOK_TEST_LEAK"),
                  "filters": len(warnings.filters)}))
"""


def test_each_page_starts_from_the_state_of_a_fresh_kernel(tmp_path):
    """Whatever a page changes, the next page sees a fresh kernel (but for modules),
    its outputs numbered from 1; the kernel starts once."""
    spoiler = page(tmp_path / "a", "spoiler", """
        leak = 1
        import os, warnings
        import matplotlib, matplotlib.pyplot as plt, torch
        matplotlib.rcParams["figure.dpi"] = 17
        torch.rand(5)
        torch.set_num_threads(1)
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        os.environ["BOOK_TEST_LEAK"] = "yes"
        warnings.simplefilter("ignore")
        plt.figure()
        """, "1")
    probe = page(tmp_path / "b", "probe", STATE)
    before, first, after = list(execute_pages.run_pages([probe, spoiler, probe]))
    assert not first.error and not after.error, (first.error, after.error)
    fresh, seen = json.loads(text(before)), json.loads(text(after))
    assert seen == fresh  # the same random draw too: the generator's state is restored
    assert seen["cwd"] == str(tmp_path / "b") and not seen["defined"]
    assert seen["dpi"] != 17 and seen["env"] is None and seen["grad"]
    assert after.startup_seconds == 0 < before.startup_seconds
    assert len({run.kernel_pid for run in (before, first, after)}) == 1
    counts = [[c.execution_count for c in run.notebook.cells if c.cell_type == "code"]
              for run in (first, after)]
    assert counts == [[1, 2], [1]]  # as in a fresh kernel, the prelude's not counted
    assert first.notebook.cells[-1].outputs[0]["execution_count"] == 2


def test_a_page_that_fails_leaves_the_next_to_a_new_kernel_and_is_not_stored(tmp_path):
    broken = page(tmp_path, "broken", "x = 1", "raise ValueError('on purpose')",
                  "print('never')")
    probe = page(tmp_path, "probe", "print(x if 'x' in globals() else 'fresh')")
    runs = list(execute_pages.run_pages([broken, probe]))
    assert "ValueError: on purpose" in runs[0].error
    assert "never" not in text(runs[0])
    assert runs[1].error == "" and text(runs[1]) == "fresh\n"
    assert runs[1].startup_seconds > 0 and runs[1].kernel_pid != runs[0].kernel_pid
    with pytest.raises(ValueError, match="not cached"):
        execute_pages.cache_notebook(runs[0], tmp_path / "cache")


def test_a_stored_page_is_found_as_jupyter_book_reads_it(tmp_path):
    """The build stores executed pages in jupyter-cache; Jupyter Book (MyST-NB) must
    match them by the hash of the notebook it reads itself, or it executes again."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    path = page(tmp_path, "stored", "print(6 * 7)")
    folder = tmp_path / "cache"
    assert not execute_pages.is_cached(path, folder)
    run = next(execute_pages.run_pages([path]))
    execute_pages.cache_notebook(run, folder)
    assert execute_pages.is_cached(path, folder)
    as_myst_nb = read_myst_markdown_notebook(path.read_text(encoding="utf-8"),
                                             MdParserConfig(), add_source_map=True)
    _, merged = get_cache(str(folder)).merge_match_into_notebook(as_myst_nb)
    assert merged.cells[-1].outputs[0]["text"] == "42\n"


@pytest.mark.parametrize("name", ["pruning", "faq", "glossary"])
def test_the_books_pages_hash_as_myst_nb_reads_them(name):
    from jupyter_cache.cache.main import JupyterCacheBase
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    path = ROOT / "book" / "zh" / f"{name}.md"
    hashed = JupyterCacheBase.create_hashed_notebook
    ours = hashed(None, execute_pages.read_page(path))[1]
    theirs = hashed(None, read_myst_markdown_notebook(path.read_text(encoding="utf-8"),
                                                      MdParserConfig()))[1]
    assert ours == theirs

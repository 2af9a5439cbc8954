"""tools.glue_values: reading glued values from cell outputs and comparing snapshots."""

from __future__ import annotations

from tools import glue_values as gv


def test_glued_value_reads_the_displayed_text():
    output = {"output_type": "display_data",
              "metadata": {"scrapbook": {"name": "acc", "mime_prefix": gv.GLUE_PREFIX}},
              "data": {gv.GLUE_PREFIX + "text/plain": "'96.1'"}}
    assert gv.glued_value(output) == ("acc", "'96.1'")
    assert gv.glued_value({"output_type": "stream", "text": "x"}) is None


def test_compare_sorts_every_value():
    before = {"en": {"pruning": {"a": "1", "b": "2", "speed": gv.TIMED_MARK + "1.4",
                                 "gone": "x"}}}
    after = {"en": {"pruning": {"a": "1", "b": "3", "speed": gv.TIMED_MARK + "2.0",
                                "new": "y"}}}
    report = gv.compare(before, after)
    assert report["identical"] == ["en/pruning/a"]
    assert report["changed"] == ["en/pruning/b: '2' -> '3'"]
    assert report["nondeterministic"] == ["en/pruning/speed"]
    assert report["only_before"] == ["en/pruning/gone"]
    assert report["only_after"] == ["en/pruning/new"]
    assert gv.compare(before, after, expected={"b"})["expected"] == [
        "en/pruning/b: '2' -> '3'"]
    # a value that became timed (or stopped being) is left out of the equality check too
    assert gv.compare({"en": {"p": {"v": "1"}}},
                      {"en": {"p": {"v": gv.TIMED_MARK + "1"}}})["nondeterministic"] == [
        "en/p/v"]


def test_a_value_glued_with_timed_is_recorded_as_timed(tmp_path):
    """The flag travels from ``glue(..., timed=True)`` in a page's kernel through the
    executed notebook's output metadata to the snapshot."""
    page = tmp_path / "page.md"
    page.write_text("""---
jupytext:
  formats: md:myst
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  name: python3
  display_name: Python 3
---

```{code-cell} ipython3
from helpers.page import glue, glue_all
glue("latency_ms", "1.7", timed=True)
glue("accuracy", "96.1")
glue_all({"a": 1, "b": 2}, prefix="speed_", timed=True)
```
""", encoding="utf-8")
    values = gv.page_values(page, timeout=120)
    assert values == {"latency_ms": gv.TIMED_MARK + "'1.7'", "accuracy": "'96.1'",
                      "speed_a": gv.TIMED_MARK + "1", "speed_b": gv.TIMED_MARK + "2"}

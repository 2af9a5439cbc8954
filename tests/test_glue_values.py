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
    before = {"en": {"pruning": {"a": "1", "b": "2", "pr_speed_csr": "1.4", "gone": "x"}}}
    after = {"en": {"pruning": {"a": "1", "b": "3", "pr_speed_csr": "2.0", "new": "y"}}}
    report = gv.compare(before, after)
    assert report["identical"] == ["en/pruning/a"]
    assert report["changed"] == ["en/pruning/b: '2' -> '3'"]
    assert report["nondeterministic"] == ["en/pruning/pr_speed_csr"]
    assert report["only_before"] == ["en/pruning/gone"]
    assert report["only_after"] == ["en/pruning/new"]
    assert gv.compare(before, after, expected={"b"})["expected"] == [
        "en/pruning/b: '2' -> '3'"]
    # timing-dependent names are excluded on their own page only
    assert not gv.is_nondeterministic("benchmark-results", "pr_speed_csr")

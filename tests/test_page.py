"""helpers.page: the one setup call of every page and its glue bookkeeping."""

from __future__ import annotations

from unittest import mock

import matplotlib
import pytest
import torch

from helpers import i18n, page


def test_setup_sets_style_and_threads_and_returns_the_tools():
    before = torch.get_num_threads()
    try:
        device, tr, glue = page.setup("zh", threads=1)
        assert torch.get_num_threads() == 1
        assert device.type in ("cpu", "cuda")
        assert tr is i18n.tr and glue is page.glue
        assert matplotlib.rcParams["font.sans-serif"][0] != "DejaVu Sans"  # CJK font first
        page.setup("en", threads=None)
        assert matplotlib.rcParams["font.sans-serif"][0] == "DejaVu Sans"
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"lang": "fr"}, ValueError, "lang must be one of"),
    ({"lang": "en", "threads": 0}, ValueError, "threads"),
    ({"lang": "en", "threads": 1.5}, TypeError, "threads"),
])
def test_setup_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        page.setup(**kwargs)


def test_glue_all_glues_each_value_under_its_prefixed_name():
    with mock.patch("myst_nb.glue") as glued:
        page.glue_all({"min": "5", "max": "8"}, prefix="cw_")
        page.glue("one", 1)
    assert [c.args for c in glued.call_args_list] == [("cw_min", "5"), ("cw_max", "8"),
                                                      ("one", 1)]
    assert all(c.kwargs == {"display": False} for c in glued.call_args_list)
    with pytest.raises(TypeError, match="mapping"):
        page.glue_all([("a", 1)])
    with pytest.raises(TypeError, match="name"):
        page.glue("", 1)


def test_timed_glue_displays_the_value_and_marks_it():
    from IPython.core.formatters import format_display_data

    with mock.patch("myst_nb.glue") as glued:
        page.glue("ms", 1.25, timed=True)
        page.glue_all({"x": "2"}, prefix="p_", timed=True)
    for call, value in zip(glued.call_args_list, (1.25, "2")):
        data, metadata = format_display_data(call.args[1])
        assert data == format_display_data(value)[0]     # displayed as the value itself
        assert metadata[page.TIMED] is True
    assert [c.args[0] for c in glued.call_args_list] == ["ms", "p_x"]


def test_percent():
    assert page.percent(0.9613) == "96.1"
    assert page.percent(torch.tensor(0.5), digits=0) == "50"


def test_without_myst_nb_glue_shows_the_value(capsys):
    """A downloaded notebook runs where myst_nb is not installed: glue prints instead."""
    with mock.patch.dict("sys.modules", {"myst_nb": None}):  # import myst_nb fails
        page.glue("pr_n_weights", "50,200")
        page.glue_all({"a": 1}, prefix="x_")
        with pytest.raises(TypeError, match="name"):
            page.glue("", 1)
    assert capsys.readouterr().out == "pr_n_weights: 50,200\nx_a: 1\n"


def test_helpers_imports_and_a_page_runs_without_myst_nb(tmp_path):
    """The wheel alone (no myst_nb) imports helpers and runs a page's setup and glue."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['myst_nb'] = None\n"
            "import helpers\n"
            "device, tr, glue = helpers.page.setup('en')\n"
            "glue('answer', 42)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "answer: 42\n"

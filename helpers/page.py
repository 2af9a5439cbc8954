"""What every page of the book does first, in one call, and its glue bookkeeping.

Introduced in :doc:`how-to-use` ("Running the code"). Each chapter starts with::

    LANG = "en"

    import helpers

    device, tr, glue = helpers.page.setup(LANG)

which sets the house style of the figures for the page's language, runs torch on one
CPU thread (the book's networks are tiny: one thread is as fast and its timings are
steadier), and returns the device, the translation function :func:`helpers.i18n.tr`
and :func:`glue`, which hands computed values to the page's prose (``{glue:text}``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import torch

from ._checks import check_language, check_positive_int
from .device import get_device
from .i18n import tr
from .plot import use_house_style

__all__ = ["Page", "TIMED", "setup", "glue", "glue_all", "percent"]


class Page(NamedTuple):
    """What :func:`setup` returns: unpack it as ``device, tr, glue``."""

    device: torch.device
    tr: Callable[[str, str], str]
    glue: Callable[..., None]


def setup(lang: str, *, threads: int | None = 1) -> Page:
    """Prepare a page: house style for ``lang``, torch threads; return its tools.

    Parameters
    ----------
    lang : str
        The page's language, one of ``helpers.languages.LANGUAGES``.
    threads : int or None, default 1
        Number of CPU threads torch uses (``torch.set_num_threads``); None leaves it
        as it is.

    Returns
    -------
    Page
        ``(device, tr, glue)``: :func:`helpers.get_device`'s device, the translation
        function :func:`helpers.i18n.tr` and :func:`glue`.

    Raises
    ------
    ValueError
        For an unknown language or a thread count below 1.
    """
    check_language(lang)
    if threads is not None:
        torch.set_num_threads(check_positive_int(threads, "threads"))
    use_house_style(lang)
    return Page(get_device(), tr, glue)


#: The key of a glued output's metadata that marks a value measured with a timer
#: (``glue(..., timed=True)``): no two runs share it, so a comparison of two builds'
#: values (``tools/glue_values.py``) leaves it out.
TIMED = "timed"


class _Timed:
    """A value displayed as itself, with ``{TIMED: True}`` in its output's metadata."""

    def __init__(self, value: Any):
        self.value = value

    def _repr_mimebundle_(self, include=None, exclude=None):
        from IPython.core.formatters import format_display_data

        data, metadata = format_display_data(self.value, include, exclude)
        return data, {**metadata, TIMED: True}


def glue(name: str, value: Any, display: bool = False, *, timed: bool = False) -> None:
    """Glue ``value`` under ``name`` for the prose (``{glue:text}`name```).

    ``myst_nb.glue`` with ``display=False`` by default: a page's bookkeeping values
    are quoted in the text, not shown where they are computed.

    ``timed=True`` marks a value that depends on wall-clock time (a latency, a
    speed-up, a verdict about them): its output's metadata carries ``TIMED``, and a
    comparison of two builds' values treats it as one no two runs share.

    Without ``myst_nb`` (a downloaded notebook, whose text already quotes the book's
    values: ``tools/notebook_export.py``), the value is shown instead, as
    ``name: value``, so the reader sees what this run computed beside the book's.

    Raises
    ------
    TypeError
        When ``name`` is not a non-empty string.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        print(f"{name}: {value}")
        return
    myst_glue(name, _Timed(value) if timed else value, display=display)


def glue_all(values: Mapping[str, Any], prefix: str = "", *, timed: bool = False) -> None:
    """Glue every ``value`` of ``values`` under ``prefix + key`` (display off);
    ``timed`` as in :func:`glue`, for all of them."""
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a mapping of names to values, "
                        f"got {type(values).__name__}")
    for key, value in values.items():
        glue(f"{prefix}{key}", value, timed=timed)


def percent(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage without the sign: ``percent(0.9613) == "96.1"``."""
    return f"{100 * float(fraction):.{digits}f}"

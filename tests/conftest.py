"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from helpers import data


@pytest.fixture(scope="session")
def digits() -> data.ClassificationData:
    """The bundled digits data in the book's fixed train/validation/test split.

    Shared by every test module: tests read it and never change it.
    """
    return data.load_digits_split()

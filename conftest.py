"""Root pytest configuration: also collect the book's MyST notebooks (see tools/)."""

pytest_plugins = ["tools.pytest_myst_nbval"]

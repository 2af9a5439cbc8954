"""``python -m helpers.experiments``: compute every experiment of the book once."""

import sys

from helpers.experiments import main

sys.exit(main())

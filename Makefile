# The two commands of the README:
#   make book   build the website (both editions) into _build/html
#   make test   run the whole test suite (helpers' unit tests + every page executed)
# Each creates the virtual environment .venv on first use and installs
# requirements.txt into it; later runs reuse it until requirements.txt or
# pyproject.toml change.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book book-fresh test env clean

book: $(STAMP)
	$(BIN)/python -m tools.build_book

book-fresh: $(STAMP)
	$(BIN)/python -m tools.build_book --fresh

test: $(STAMP)
	$(BIN)/python -m pytest

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; run: make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

clean:
	rm -rf _build .pytest_cache

# The website as readers meet it, and the PDF editions (README: "The website in a
# browser"). Both need Debian's chromium and fonts-noto-cjk; `make pdf` also checks
# the PDFs with pdftotext (poppler-utils) when it is there.
#   make browser-test   build _build/html if needed (incremental), then tests/browser in
#                       headless Chromium; screenshots -> _build/screenshots/{en,zh}/
#   make pdf            _build/pdf/book-en.pdf and _build/pdf/book-zh.pdf
.PHONY: browser-test pdf

browser-test: $(STAMP)
	$(BIN)/python -m tools.build_book
	BOOK_BROWSER_TESTS=1 $(BIN)/python -m pytest tests/browser

pdf: $(STAMP)
	$(BIN)/python -m tools.build_book
	$(BIN)/python -m tools.build_pdf
	BOOK_BROWSER_TESTS=1 $(BIN)/python -m pytest tests/browser/test_book_pdf.py

# The compression benchmark (benchmarks/results/, the book's appendix page) and the
# performance budget of the book's pages (a report; it never fails).
.PHONY: benchmark budget bench-helpers

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.compression

bench-helpers: $(STAMP)
	$(BIN)/python -m benchmarks.helpers_perf

budget: $(STAMP)
	$(BIN)/python -m tools.notebook_budget

# Coursework (the book's page "Teaching with this book", book/*/coursework.md):
#   make coursework                  student, Colab and instructor (autograder) versions
#                                    of every assignment -> _build/coursework/{en,zh}/
#   make grade SUBMISSIONS=folder    grade every notebook below folder with its assignment's
#                                    autograder zip, as Gradescope does (run and call in
#                                    a sandbox, judge outside) -> folder/grades-<assignment>.csv
#                                    and folder/feedback/; JOBS=2 grades two notebooks at a
#                                    time; SANDBOX=auto|bwrap|none (auto: bubblewrap where
#                                    it works); exits 0 after a complete batch, error rows
#                                    are in the tables and the summary
.PHONY: coursework grade
JOBS ?= 1
SANDBOX ?= auto

coursework: $(STAMP)
	$(BIN)/python -m tools.coursework generate

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder [JOBS=2] [SANDBOX=bwrap]"; exit 2; }
	$(BIN)/python -m tools.coursework grade "$(SUBMISSIONS)" --jobs $(JOBS) --sandbox $(SANDBOX) --feedback "$(SUBMISSIONS)/feedback"

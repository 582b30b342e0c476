# CNNs and Generative Models: the two commands are `make book` and `make test`.
# Both create .venv (Python 3.11 preferred) and install the tested set from constraints.txt
# when it is missing or when pyproject.toml/constraints.txt changed, and only then.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9]*))
# nbgrader and nbval run notebooks on the kernel named "python3"; point Jupyter at the
# kernel of this virtual environment only, whatever kernels the machine has elsewhere.
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# nbgrader calls `alembic` (installed in .venv) to create its gradebook.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help install book test test-fast lab exercises autograde feedback grades benchmark robustness constraints clean

help:
	@echo "make book        build the executed book into _build/html"
	@echo "make test        run every test: unit tests, doctests, nbval over book/ and solutions/, grading checks, the book in Chromium"
	@echo "make lab         open JupyterLab (with nbgrader) in the project environment"
	@echo "make exercises   regenerate exercises/ from solutions/ with nbgrader generate_assignment"
	@echo "make autograde A=01-convolution   grade submitted/*/A in sandboxes, all cores at once, then 'make feedback A=...' and 'make grades'"
	@echo "make robustness NB=...   measure the figures a notebook asserts over seeds, code paths, threads"
	@echo "make benchmark   time the convolution paths and NMS (CPU, and CUDA when present) into benchmarks/results/"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.2"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,dev]"
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 --display-name "Python 3 (cnnlib)" >/dev/null
	touch $(STAMP)

install: $(STAMP)

# tools/build_book.py runs jupyter-book; a notebook that fails is named in one line at the end.
book: $(STAMP)
	$(BIN)/python tools/build_book.py

# The notebook runs fill the book's execution cache, so the browser test (run last) builds the
# book without executing anything again. The summary lists the slowest tests and notebooks.
test: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --durations=25 tests cnnlib book solutions

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" tests cnnlib

# In containers that run as root, Jupyter needs --allow-root.
lab: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

exercises: $(STAMP)
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment $$a --force --no-db || exit 1; done

# Instructor loop (book/appendices/instructor-guide.md): submissions live in
# submitted/<student>/<assignment>/<notebook>.ipynb (or use `nbgrader zip_collect`); scores go to
# gradebook.db, graded notebooks to autograded/, feedback to feedback/, the export to grades.csv.
# ARGS is passed on to nbgrader, e.g. ARGS="--student alice --force" to grade one student again.
# Each submission runs in a bubblewrap sandbox (coursegrader/sandbox.py); without bwrap autograde
# refuses, unless UNSANDBOXED=yes: students' code then runs as you, in the course root, one
# notebook after the other. Sandboxed, coursegrader.grade runs JOBS notebooks at once (default:
# every core; SCHEDULER=local or tcp://host:8786 for a dask cluster), then nbgrader records the
# scores; a table lists every student's score and any problem.
UNSANDBOXED ?=
JOBS ?=
SCHEDULER ?=
autograde: $(STAMP)
	@test -n "$(A)" || { echo "usage: make autograde A=01-convolution [ARGS='--student alice --force'] [JOBS=4] [UNSANDBOXED=yes]"; exit 2; }
	@if [ "$(UNSANDBOXED)" = yes ]; then \
	  echo "UNSANDBOXED=yes: every submission runs as $$(id -un), with access to everything you can read and write."; \
	elif ! $(BIN)/python -m coursegrader.sandbox; then \
	  echo "make autograde refuses to grade without the sandbox (see above)."; exit 2; \
	fi
	@# Record the assignment and its graded cells in gradebook.db (rewrites exercises/$(A) identically).
	$(BIN)/nbgrader generate_assignment $(A) --force
	@if [ "$(UNSANDBOXED)" = yes ]; then \
	  COURSEGRADER_UNSANDBOXED=yes $(BIN)/nbgrader autograde $(A) --create $(ARGS); \
	else \
	  $(BIN)/python -m coursegrader.grade $(A) $(if $(JOBS),--jobs $(JOBS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(ARGS); \
	fi || { echo "Some submissions could not be graded: the ERROR lines above name them. The others are in gradebook.db."; exit 1; }

feedback: $(STAMP)
	@test -n "$(A)" || { echo "usage: make feedback A=01-convolution [ARGS='--student alice --force']"; exit 2; }
	$(BIN)/nbgrader generate_feedback $(A) $(ARGS)

grades: $(STAMP)
	$(BIN)/nbgrader export --to grades.csv
	@echo "Scores written to grades.csv"

# Measure every figure a notebook asserts over seeds, CPU code paths and thread counts
# (tools/robustness.py), and refresh the table benchmarks/results/robustness.md.
robustness: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make robustness NB=book/02-architectures/01-lenet.ipynb"; exit 2; }
	$(BIN)/python tools/robustness.py $(NB) --json benchmarks/results/robustness.jsonl
	$(BIN)/python tools/robustness.py --report benchmarks/results/robustness.jsonl --markdown benchmarks/results/robustness.md

benchmark: $(STAMP)
	$(BIN)/python benchmarks/conv.py
	$(BIN)/python benchmarks/detection.py
	$(BIN)/python benchmarks/train_amp.py

constraints: $(STAMP)
	{ head -3 constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu/torch==\1/'; } > constraints.new && mv constraints.new constraints.txt

clean:
	rm -rf _build .jupyter_cache gradebook.db autograded feedback submitted grades.csv

# Psychotherapy outcome definitions: one Makefile for set-up, the main job and the tests.
# Every target that needs Python creates the local virtual environment (.venv) when it is missing
# and (re)installs the project when pyproject.toml changed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JOBS   ?= 2
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help venv reports test test-fast lab simulate validate benchmark lint format notebooks clean

help:  ## list the targets
	@echo "Targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'
	@echo ""
	@echo "Main job:  make reports   (every notebook on every configured run -> reports/index.html)"
	@echo "Tests:     make test"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e ".[data,test]"
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install the project with its data and test extras

reports: $(STAMP)  ## the main job: simulate the default cohort if absent, run every notebook, render HTML into reports/
	$(PY) -m analysis run --jobs $(JOBS) $(ARGS)

test: $(STAMP)  ## run the whole test suite (what CI runs)
	$(PY) -m pytest $(ARGS)

test-fast: $(STAMP)  ## the test suite without the slow tests
	$(PY) -m pytest -m "not slow" $(ARGS)

LAB_PORT ?= 8888
lab: $(STAMP)  ## JupyterLab on notebooks/ at http://127.0.0.1:8888/lab (no browser; LAB_PORT=N for another port; ARGS go to jupyter lab)
	@echo "JupyterLab serves notebooks/ at http://127.0.0.1:$(LAB_PORT)/lab (the token is printed below; Ctrl-C stops it)."
	$(PY) -m jupyter lab --notebook-dir=notebooks --no-browser --ip=127.0.0.1 --port=$(LAB_PORT) \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(ARGS)

simulate: $(STAMP)  ## generate a simulated cohort, e.g. make simulate ARGS="--clients 100000 --seed 7 --out data/big"
	$(PY) -m analysis simulate $(ARGS)

validate: $(STAMP)  ## check input files without running anything: ARGS="-f my_study/runs.yaml" or ARGS="file.csv --spec spec.yaml"
	$(PY) -m analysis validate $(ARGS)

benchmark: $(STAMP)  ## speed and memory benchmarks (prints tables; not part of the tests); ARGS="--quick": small sizes only
	$(PY) benchmarks/run_all.py $(ARGS)

LINT_PATHS := src tests benchmarks notebooks examples

lint: $(STAMP)  ## ruff lint and format check (what CI runs before the tests)
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)

notebooks: $(STAMP)  ## sync each notebook with its percent script (edit either; jupytext pairs them)
	$(PY) -m jupytext --sync notebooks/*.py

format: $(STAMP)  ## ruff format
	$(PY) -m ruff format $(LINT_PATHS)

# Only what the project generates: the rendered reports, the simulated default cohort, .venv and
# the caches the tests and the linter leave in the project folder. Nothing else in data/ (e.g. a
# cohort written with make simulate ARGS="--out data/big") and no folder of yours (my_study/ ...)
# is touched.
clean:  ## remove what the project generated: reports/ (but its README), data/simulated/, .venv, test caches
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf data/simulated
	rm -rf $(VENV)
	rm -rf .hypothesis .pytest_cache .ruff_cache src/analysis.egg-info

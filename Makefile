# integration-sim: `make run` (the main job) and `make test` work on a fresh machine with Python 3.11 and pip.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install run app test test-fast bench lint baseline area-configs places params clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11) on PATH, or: make PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,ray]"
	@# the project's own bytecode and compiled kernels, made once here rather than by every run (the bytecode
	@# even where PYTHONDONTWRITEBYTECODE is set; numba compiles an edited kernel again when it is next called)
	$(PY) -m compileall -q sim cli experiments app scripts >/dev/null
	$(PY) scripts/warm_kernels.py
	touch $(STAMP)

install: $(STAMP)  ## create .venv, install the pinned packages, compile the model's kernels (the others do it too)

run: $(STAMP)  ## the main job: every scenario x the five areas x 16 replicates (8 parameter sets) -> results/compare_scenarios/report.html
	$(PY) -m sim experiment=compare_scenarios

app: $(STAMP)  ## the explorer in the browser: prints its address (http://127.0.0.1:8765/ or the next free port)
	$(PY) -m app $(APP_ARGS)

test: $(STAMP)  ## the whole test suite (includes the slow tests; a few minutes on 2 cores)
	$(PY) -m pytest -n 2 tests

test-fast: $(STAMP)  ## the tests not marked slow
	$(PY) -m pytest -n 2 -m "not slow" tests

bench: $(STAMP)  ## speed and memory benchmark (full Bradford); prints figures
	$(PY) scripts/bench.py

lint: $(STAMP)  ## ruff, and the import contracts of the layers (lint-imports; see docs/architecture.md)
	$(PY) -m ruff check sim experiments cli tests scripts
	$(VENV)/bin/lint-imports

baseline: $(STAMP)  ## regenerate the stored regression baseline on purpose (tests/baseline.json)
	$(PY) scripts/make_baseline.py

area-configs: $(STAMP)  ## regenerate configs/area/*.yaml from data/census2021
	$(PY) scripts/build_area_configs.py

places: $(STAMP)  ## regenerate docs/places.md: the MSOA margins, residential and school segregation, every resident
	$(PY) scripts/places_report.py

params: $(STAMP)  ## regenerate configs/model/default.yaml and docs/parameters.md from sim/
	$(PY) scripts/gen_params.py

clean:  ## remove the virtual environment and caches (results are kept)
	rm -rf $(VENV) .pytest_cache .ruff_cache

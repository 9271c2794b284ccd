# Everything a fresh machine with Python 3.10+ and make needs: `make demo`, `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3 || command -v python)
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints.txt
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv test lint demo local-up airflow bench constraints clean system-test

help:
	@echo "make demo   - run the main job end to end on the local Redshift stack"
	@echo "make test   - lint and run the whole test suite"
	@echo "make airflow - Airflow standalone (UI on http://127.0.0.1:8080) with the example DAGs on the local stack"
	@echo "make bench  - run the benchmarks (not part of make test)"
	@echo "make system-test - the example DAGs' flow on your AWS account (see the README)"
	@echo "make lint   - ruff (style) and mypy (types: strict outside airflow_redshift_s3/local)"
	@echo "make constraints - re-resolve and pin every dependency in $(CONSTRAINTS)"

venv: $(STAMP)

# Recreated whenever the package metadata or the pinned versions change.
$(STAMP): setup.cfg pyproject.toml $(CONSTRAINTS) Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is required, found " + sys.version)'
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[local,test]'
	@# The Compose Specification's JSON schema, for the docker-compose.yaml test (shipped in this wheel).
	$(BIN)/python -m pip download --quiet --no-deps --dest $(VENV)/downloads docker-compose==1.29.2
	$(BIN)/python -c 'import glob, zipfile; z = zipfile.ZipFile(glob.glob("$(VENV)/downloads/docker_compose-1.29.2-*.whl")[0]); open("$(VENV)/compose_spec.json", "wb").write(z.read("compose/config/compose_spec.json"))'
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/airflow-redshift-s3 demo

airflow: $(STAMP)
	$(BIN)/airflow-redshift-s3 airflow

local-up: $(STAMP)
	$(BIN)/airflow-redshift-s3 local up

# The example DAGs' flow on real AWS (opt-in; README "System test on real AWS" lists the variables).
system-test: $(STAMP)
	REDSHIFT_S3_SYSTEM_TARGET=aws $(BIN)/python -m pytest tests/system -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	@ls bench/*.py >/dev/null 2>&1 || { echo "no benchmark yet"; exit 1; }
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Resolve the newest versions allowed by setup.cfg in a throw-away venv and pin them (Airflow's advice:
# install with a constraints file). Commit the result after `make test` passes with it.
constraints:
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/python -m pip install --quiet --upgrade pip
	.constraints-venv/bin/python -m pip install --quiet -e '.[local,test]'
	{ echo "# Resolved by 'make constraints' on Python $$(.constraints-venv/bin/python -c 'import platform; print(platform.python_version())')"; \
	  .constraints-venv/bin/python -m pip freeze --exclude-editable | grep -v '^airflow-provider-redshift-s3' ; } > $(CONSTRAINTS)
	rm -rf .constraints-venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

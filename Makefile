# Everything a fresh machine with Python 3.10+ and make needs: `make demo`, `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3 || command -v python)
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints.txt
STAMP := $(VENV)/.installed
# The pinned Amazon provider (its sdist holds the system tests the wheel leaves out).
AMAZON_PROVIDER_VERSION := $(shell sed -n 's/^apache-airflow-providers-amazon==//p' $(CONSTRAINTS))
# The lowest versions setup.cfg allows, in a virtualenv of their own (make test-lowest).
VENV_LOWEST ?= .venv-lowest
CONSTRAINTS_LOWEST := constraints-lowest.txt
STAMP_LOWEST := $(VENV_LOWEST)/.installed
# What the lowest run covers: the unit suite and the integration tests of what runs inside Airflow (the
# COPY operator and its DAG, the sensors, operators, triggers, hooks), and each example DAG's main
# dag.test() runs: on Airflow 3.2.0 each task start waits long on the in-process Execution API
# (test_setup_twice alone: 158 s on a loaded 2-core machine; test_two_days_and_a_rerun's four runs exceed
# pytest's 300 s), so the DAGs' other cases stay in make test; test_redshift_daily_report loads with the
# daily DAG. Airflow 3.2.0's dag.test() raises ValueError, not ParamValidationError, for a refused Param.
# Not there: the local stack's own tests (no Airflow in them), the reliability suite and the browser,
# Compose, scheduler, OpenLineage, demo and release tests (the pinned set runs them in make test; the
# lowest run stays within CI's time). The compose-spec check reads a schema only make venv downloads.
LOWEST_DAG_TESTS := tests/integration/dags/test_redshift_daily_report.py \
	tests/integration/dags/test_redshift_s3_setup.py::test_setup_twice \
	tests/integration/dags/test_s3_to_redshift_daily.py::test_a_scheduled_run_loads_the_day_that_has_ended \
	tests/integration/dags/test_s3_to_redshift_daily.py::test_a_past_day_without_its_marker_fails_at_once_and_says_how_to_rerun_it \
	tests/integration/dags/test_s3_to_redshift_manual.py::test_dry_run_then_load \
	tests/integration/dags/test_s3_to_redshift_manual.py::test_gzip_csv
LOWEST_TESTS ?= tests/unit tests/integration/transfers tests/integration/sensors \
	tests/integration/operators tests/integration/triggers tests/integration/hooks $(LOWEST_DAG_TESTS) \
	--deselect tests/unit/test_docker_compose.py::test_matches_the_compose_specification --durations=10
PYTEST_ARGS ?=

.PHONY: help venv test test-lowest lint demo local-up airflow bench constraints clean system-test

help:
	@echo "make demo   - run the main job end to end on the local Redshift stack"
	@echo "make test   - lint and run the whole test suite"
	@echo "make test-lowest - the unit and Airflow integration tests on the lowest supported versions"
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
	@# The Amazon provider's source release: its S3/Redshift system test, which a test runs on the local stack.
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: --dest $(VENV)/downloads \
		apache-airflow-providers-amazon==$(AMAZON_PROVIDER_VERSION)
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# From scratch each time the metadata or the lowest pins change: nothing of the pinned venv is reused.
$(STAMP_LOWEST): setup.cfg pyproject.toml $(CONSTRAINTS_LOWEST) Makefile
	rm -rf $(VENV_LOWEST)
	$(PYTHON) -m venv $(VENV_LOWEST)
	$(VENV_LOWEST)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_LOWEST)/bin/python -m pip install --quiet -c $(CONSTRAINTS_LOWEST) -e '.[local,test]'
	@touch $@

test-lowest: $(STAMP_LOWEST)
	$(VENV_LOWEST)/bin/python -m pytest -p no:cacheprovider $(LOWEST_TESTS) $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/airflow-redshift-s3 demo

airflow: $(STAMP)
	$(BIN)/airflow-redshift-s3 airflow

local-up: $(STAMP)
	$(BIN)/airflow-redshift-s3 local up

# The example DAGs' flow on real AWS (opt-in; README "System test on real AWS" lists the variables).
system-test: $(STAMP)
	REDSHIFT_S3_SYSTEM_TARGET=aws $(BIN)/python -m pytest tests/system/test_example_dags_flow.py \
	  -p no:cacheprovider $(PYTEST_ARGS)

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
	rm -rf $(VENV) $(VENV_LOWEST) .pytest_cache .ruff_cache *.egg-info

# Two commands on a fresh machine with Python 3.11+ and make: `make demo`, `make test`.
# Every dependency installs from a wheel (--only-binary); nothing needs a compiler.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
WHEELS := --only-binary=:all:

.PHONY: demo test lint image base-image manifests deploy-check bench-engine bench-serve clean help

help:
	@echo "make demo   - install and run the whole demo"
	@echo "make test   - install with test extras and run the test suite"
	@echo "make lint   - ruff, import-linter and mypy"
	@echo "make image  - build the container image (podman or docker), print its tags and size"
	@echo "make manifests    - render deploy/ (Kubernetes, ArgoCD, Argo) for the flagship project"
	@echo "make deploy-check - validate deploy/ offline, as CI does"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (python3.11+ on PATH)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(PIP) install $(WHEELS) hatchling editables
	$(PIP) install $(WHEELS) --no-build-isolation -e .
	@touch $@

# pyspark (the test extra's Spark) is published as source only: the one exception, built
# by setuptools (no compiler: Python files and Spark's jars).
$(VENV)/.test: pyproject.toml $(VENV)/.base
	$(PIP) install $(WHEELS) setuptools wheel
	$(PIP) install $(WHEELS) --no-binary=pyspark --no-build-isolation -e '.[test]'
	@touch $@

demo: $(VENV)/.base
	$(BIN)/mlcycle demo

# Whole files per worker, in collection order: the end-to-end demos (one long test per
# file) start first and the many short unit tests fill in at the end. xdist's default
# order (most tests first) ran the 140-s demo last, on one core, with the other idle.
test: $(VENV)/.test
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

# BASE_IMAGE=python:3.12-slim, IMAGE=ghcr.io/you/mlcycle and ENGINE=docker are honoured.
image:
	deploy/docker/build-image.sh

# A Python base from Debian packages (mmdebstrap), for machines without a registry.
base-image:
	deploy/docker/base-image.sh

# deploy/ is the templates of src/mlcycle/deploy rendered for the packaged example
# project; tests/unit/test_deploy_render.py fails when it is out of date.
manifests: $(VENV)/.base
	env -u MLCYCLE_PROJECT $(BIN)/mlcycle deploy render --env dev --env staging --env prod -o deploy

deploy-check: $(VENV)/.test
	$(BIN)/mlcycle deploy check deploy

clean:
	rm -rf $(VENV) .mlcycle .pytest_cache

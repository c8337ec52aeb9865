# Two commands on a fresh machine with Python 3.11+ and make: `make demo`, `make test`.
# Every dependency installs from a wheel (--only-binary); nothing needs a compiler.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
WHEELS := --only-binary=:all:

.PHONY: demo test lint bench-engine bench-serve clean help

help:
	@echo "make demo   - install and run the whole demo"
	@echo "make test   - install with test extras and run the test suite"
	@echo "make lint   - ruff and import-linter"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (python3.11+ on PATH)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(PIP) install $(WHEELS) hatchling editables
	$(PIP) install $(WHEELS) --no-build-isolation -e .
	@touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.base
	$(PIP) install $(WHEELS) --no-build-isolation -e '.[test]'
	@touch $@

demo: $(VENV)/.base
	$(BIN)/mlcycle demo

test: $(VENV)/.test
	$(BIN)/python -m pytest

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .mlcycle .pytest_cache

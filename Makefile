# The two commands a newcomer needs: `make serve` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: .venv serve test lint typecheck check clean

.venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

serve: .venv
	$(BIN)/wanode db upgrade
	$(BIN)/wanode serve

test: .venv
	$(BIN)/python -m pytest

lint: .venv
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: .venv
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

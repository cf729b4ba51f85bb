# The two commands a newcomer needs: `make serve` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The console's browser tests drive the distribution's Chromium (Playwright's own download is
# not used): installed here when missing, with sudo unless already root.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: .venv serve test lint typecheck check clean chromium

.venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

serve: .venv
	$(BIN)/wanode db upgrade
	$(BIN)/wanode serve

chromium:
	test -x $(CHROMIUM) || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

test: .venv chromium
	$(BIN)/python -m pytest

lint: .venv
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: .venv
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

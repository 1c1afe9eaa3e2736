# Quick start: `make demo` runs the whole loop on embedded defaults; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint typecheck demo clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check worker tests benchmarks migrations
	$(BIN)/mypy
	$(BIN)/pytest -n auto --dist loadfile --durations=15

demo: $(STAMP)
	$(BIN)/nps-worker demo

lint: $(STAMP)
	$(BIN)/ruff check worker tests benchmarks migrations
	$(BIN)/ruff format --check worker tests benchmarks migrations

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data demo-out

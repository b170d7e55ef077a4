# Every target sets itself up: on a fresh machine with only python3 and make, `make demo` and `make test` work.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest completions bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job: load the shipped sample data, then backtest sma_cross on GOOG daily and show the report.
demo: $(STAMP)
	$(BIN)/alphintra data sample
	$(BIN)/alphintra backtest run sma_cross --symbol GOOG --timeframe 1d --cash 10000 --fee 0.2% \
	  --param fast=10 --param slow=20

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check alphintra tests bench
	$(BIN)/ruff format --check alphintra tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Two processes on the two cores (a test module stays on one, with its module fixtures); the tests that measure
# time or CPU run afterwards on a quiet machine. Plain `pytest` runs everything in one process.
pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not serial"
	$(BIN)/python -m pytest -m serial

completions: $(STAMP)
	for sh in bash zsh fish; do $(BIN)/alphintra completions show $$sh > completions/$$( \
	  case $$sh in bash) echo alphintra.bash;; zsh) echo _alphintra;; fish) echo alphintra.fish;; esac); done

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	for f in bench/*.py; do $(BIN)/python $$f; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

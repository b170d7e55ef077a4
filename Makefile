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

# Two processes on the two cores (a test module stays on one, with its module fixtures). Then the daemon's
# end-to-end suites once more with the trading state on PostgreSQL (the tests marked both_backends ran on both
# already, among them the core scenario of the live-venue and TUI suites, whose other tests exercise the exchange
# and the screen rather than the store); last, by themselves on a quiet machine, the tests that measure time or
# CPU. Plain `pytest` runs everything but the PostgreSQL pass in one process.
DAEMON_E2E := tests/e2e/daemon tests/e2e/engine tests/e2e/scheduling
pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not serial"
	ALPHINTRA_TEST_STATE_BACKEND=postgresql $(BIN)/python -m pytest -n 2 --dist loadfile \
	  -m "not serial and not both_backends" $(DAEMON_E2E)
	$(BIN)/python -m pytest -m serial

completions: $(STAMP)
	for sh in bash zsh fish; do $(BIN)/alphintra completions show $$sh > completions/$$( \
	  case $$sh in bash) echo alphintra.bash;; zsh) echo _alphintra;; fish) echo alphintra.fish;; esac); done

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	for f in bench/*.py; do $(BIN)/python $$f; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

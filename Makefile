# The two commands of the README's quick start, and the checks behind them.
# Everything installs into .venv from pyproject.toml; the broker comes from Maven Central.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest kafka-start kafka-stop clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## demo: broker, worker, simulator and Prometheus (if installed), live; Ctrl-C stops them
demo: $(STAMP)
	$(BIN)/floorpulse demo

## test: lint, type-check, start the local broker if needed, and run every test
test: lint typecheck kafka-start pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

kafka-start: $(STAMP)
	$(BIN)/floorpulse kafka start

kafka-stop: $(STAMP)
	$(BIN)/floorpulse kafka stop

clean:
	-[ -x $(BIN)/floorpulse ] && $(BIN)/floorpulse kafka stop --wipe
	rm -rf $(VENV) .floorpulse *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis

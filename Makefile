# Two commands on a fresh machine with Python 3.11+ and make: `make run`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BIND   ?= 127.0.0.1
PORT   ?= 8080
# make load: HOST=https://… KEYS=keys.json for a remote target (default: a local mock it starts).
HOST   ?=
KEYS   ?=

.PHONY: run test lint format load bench soak clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/cbk-mock serve --host $(BIND) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

load: $(STAMP)
	$(BIN)/python -m loadtests $(if $(HOST),--host $(HOST)) $(if $(KEYS),--keys-file $(KEYS)) $(LOAD_ARGS)

bench: $(STAMP)
	$(BIN)/python -m loadtests.bench $(BENCH_ARGS)

# make soak SOAK_ARGS="--minutes 10 --max-books 50000" (add --workers 2 --redis-url URL for Redis)
soak: $(STAMP)
	$(BIN)/python -m loadtests.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis loadtests/reports

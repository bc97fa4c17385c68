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

# The spec tools from package.json (linters, Prism, openapi-typescript, TypeScript): `npm ci`.
NPM_STAMP := node_modules/.installed
DOCUMENTS := openapi.yaml mockserver/control-api.yaml
# Redocly CLI would otherwise send telemetry and look for updates.
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

.PHONY: run test lint format clients node-deps load bench soak clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

node-deps: $(NPM_STAMP)

run: $(STAMP)
	$(BIN)/cbk-mock serve --host $(BIND) --port $(PORT)

lint: $(STAMP) $(NPM_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	node_modules/.bin/redocly lint $(DOCUMENTS)
	node_modules/.bin/spectral lint --fail-severity=warn $(DOCUMENTS)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

# After changing openapi.yaml: regenerate examples/generated-clients and commit the result.
clients: $(STAMP) $(NPM_STAMP)
	$(BIN)/python examples/generated-clients/regenerate.py

load: $(STAMP)
	$(BIN)/python -m loadtests $(if $(HOST),--host $(HOST)) $(if $(KEYS),--keys-file $(KEYS)) $(LOAD_ARGS)

bench: $(STAMP)
	$(BIN)/python -m loadtests.bench $(BENCH_ARGS)

# make soak SOAK_ARGS="--minutes 10 --max-books 50000" (add --workers 2 --redis-url URL for Redis)
soak: $(STAMP)
	$(BIN)/python -m loadtests.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .hypothesis loadtests/reports

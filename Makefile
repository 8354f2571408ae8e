# The two commands of the README's Quickstart. Everything lives in .venv beside the checkout,
# so a Debian machine with a locked system pip works the same as any other.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test test-slow test-sweep lint install install-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[keras]'

# axe-core (the accessibility engine the browser tests run in each page) from the npm
# registry, beside the venv; AXE_VERSION pins it.
AXE_VERSION ?= 4.14.1
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js

install-test: $(BIN)/python $(AXE)
	$(BIN)/python -m pip install -q -e '.[test]'
	test -x /usr/bin/dot || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz)
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)

$(AXE):
	command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm)
	npm install -q --prefix $(VENV)/npm --no-save --no-audit --no-fund axe-core@$(AXE_VERSION)

serve: install
	$(BIN)/keras-explainer serve --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

test: install-test lint
	$(BIN)/python -m pytest -m "not slow and not sweep"

# The sweeps marked slow (keras.applications models, a share of each long sweep, the
# container image): CI runs them too.
test-slow: install-test
	$(BIN)/python -m pytest -m slow

# The long sweeps (every keras.applications architecture checked at its default size and
# exported, every writer-matrix model through the check): by hand, too long for CI (the
# README has their counts and durations).
test-sweep: install-test
	$(BIN)/python -m pytest -m "sweep and not slow"

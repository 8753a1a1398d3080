# devgen: the two commands of the README, and a few more for development.
#
#   make up     install what is needed, run the main job on an example, start the platform
#   make test   install the dev dependencies and run every check and test
#
# Each step is skipped when already done: the virtual environment is created
# once, and packages are installed again only when pyproject.toml changes.

PYTHON ?= python3.11
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The requirement `make up` turns into a tested service first (empty: skip it).
EXAMPLE ?= examples/library.txt
# Two workers: the suite mostly waits (databases created per test, real
# processes, sandboxes), so two halves the wall time even on two cores.
PYTEST_WORKERS ?= 2

BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.devgen-runtime.stamp
DEV_STAMP := $(VENV)/.devgen-dev.stamp
# checkov (the manifests' scanner) pins versions devgen's dependencies outgrew: own venv.
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.checkov.stamp

.DEFAULT_GOAL := help
.PHONY: help up test lint format bench clean bubblewrap container-tools chromium

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

up: $(RUNTIME_STAMP) bubblewrap ## Generate a tested service from $(EXAMPLE), then start the platform all-in-one
	@# A failed run is reported (and make says "ignored"); the platform starts anyway.
	$(if $(EXAMPLE),-$(BIN)/devgen generate $(EXAMPLE) --out generated/$(basename $(notdir $(EXAMPLE))))
	$(BIN)/devgen up --host $(HOST) --port $(PORT)

test: $(DEV_STAMP) $(CHECKOV_STAMP) bubblewrap container-tools chromium ## Lint, check formatting, import contracts and the chassis' types, run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(DEV_STAMP) ## Lint, formatting check, import contracts and mypy --strict on the chassis
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(DEV_STAMP) ## Rewrite the code in the project's format and apply safe lint fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(RUNTIME_STAMP) ## Authenticated request vs a bare route (prints "auth request ratio: N")
	$(BIN)/python bench/auth_request.py

clean: ## Remove the virtual environment and caches (the data in ./.devgen is kept)
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
		echo "$(PYTHON) was not found: install Python 3.11 (or run make PYTHON=/path/to/python3.11)"; \
		exit 1; }
	@# Debian and Ubuntu ship venv's pip bootstrap in a package of its own.
	@if ! $(PYTHON) -c 'import ensurepip' >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11-venv; \
		else \
			echo "$(PYTHON) cannot create virtual environments: sudo apt-get install python3.11-venv"; \
			exit 1; \
		fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# devgen runs a generated project's tests in its own environment too (codegen's local
# check), so the packages generated services pin (kit/pins.toml) constrain devgen's own.
PINS := src/devgen/kit/pins.toml
CONSTRAINTS := $(VENV)/pins-constraints.txt

$(CONSTRAINTS): $(PINS) | $(BIN)/python
	$(BIN)/python -c 'import sys, tomllib; pins = tomllib.load(open(sys.argv[1], "rb")); \
		print("\n".join(f"{n}=={v}" for group in pins.values() for n, v in group.items()))' $(PINS) > $@

$(RUNTIME_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e .
	@touch $@

$(DEV_STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	@touch $@ $(RUNTIME_STAMP)

# The executor runs untrusted code inside bubblewrap. Installed when missing if
# we may (root with apt-get); otherwise say how, and carry on: only the
# executor needs it.
bubblewrap:
	@if ! command -v bwrap >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing bubblewrap (the executor's sandbox)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; \
		else \
			echo "note: bubblewrap (bwrap) is missing; the executor's sandbox needs it:"; \
			echo "      sudo apt-get install bubblewrap   (or: sudo dnf install bubblewrap)"; \
		fi; \
	fi

$(CHECKOV_STAMP): | $(BIN)/python
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov>=3.2,<4'
	@touch $@

# The image test builds and runs the image with Debian's podman and runc on a base made
# with debootstrap. Installed like bubblewrap. (The manifest tests also need kubectl
# with kustomize v5, which this machine image carries; Debian's kubernetes-client is
# too old for it.)
container-tools:
	@missing=""; \
	command -v podman >/dev/null 2>&1 || missing="$$missing podman"; \
	[ -x /usr/sbin/runc ] || missing="$$missing runc"; \
	command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing="$$missing debootstrap"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing$$missing (the image and manifest tests)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "note:$$missing missing; the image and manifest tests need them:"; \
			echo "      sudo apt-get install$$missing"; \
		fi; \
	fi

# The console's browser tests (tests/browser) drive Debian's Chromium through
# Playwright; `playwright install` would download a browser build, which is
# not needed. Installed when missing if we may; otherwise those tests skip
# (and fail in CI) with the reason.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium (the console's browser tests)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "note: chromium is missing; the console's browser tests need it:"; \
			echo "      sudo apt-get install chromium"; \
		fi; \
	fi

# govuk-kpi — everyday commands. `make` (or `make help`) lists them.
# Every target installs what it needs, so each one works on a fresh clone.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?=

.PHONY: help install sample serve test lint format postgres-server clean distclean

help: ## Show this list of targets
	@echo "Usage: make <target> [PYTEST_ARGS='...']"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) $(NODE_STAMP) ## Create .venv and node_modules (the package, its dev tools, GOV.UK Frontend, axe-core); again only when pyproject.toml or package-lock.json change

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then echo "Creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@bash scripts/ensure-node-packages.sh

sample: install ## Build the sample warehouse (govuk-kpi sample)
	$(BIN)/govuk-kpi sample

SERVE_HOST ?= 127.0.0.1
SERVE_PORT ?= 8000

serve: install ## Serve the REST API and OData feed on http://127.0.0.1:8000 (SERVE_HOST=, SERVE_PORT= to change)
	$(BIN)/govuk-kpi serve --host $(SERVE_HOST) --port $(SERVE_PORT)

test: install postgres-server chromium ## Run the tests on SQLite and PostgreSQL (extra options: PYTEST_ARGS='-k name -x')
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install ## Check style, formatting, the import-layer contracts and types (runs all four, fails if any fails)
	@status=0; \
	echo "$(BIN)/ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "$(BIN)/ruff format --check ."; $(BIN)/ruff format --check . || status=1; \
	echo "$(BIN)/lint-imports"; $(BIN)/lint-imports || status=1; \
	echo "$(BIN)/mypy"; $(BIN)/mypy || status=1; \
	exit $$status

format: install ## Sort imports, apply safe lint fixes and reformat the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

postgres-server: ## Install Debian's PostgreSQL server binaries if missing (the tests start their own cluster)
	@bash scripts/ensure-postgres.sh

clean: ## Remove build output and tool caches (keeps .venv)
	rm -rf build dist .tmp .pytest_cache .ruff_cache .hypothesis .import_linter_cache
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 | xargs -0 rm -rf

distclean: clean ## Also remove .venv, so the next target reinstalls from scratch
	rm -rf $(VENV)

# -- reports ------------------------------------------------------------------------
.PHONY: reports lab chromium

reports: sample ## Build the sample warehouse, then every report of params/*.yaml into reports/<as-of>/ and reports/index.html
	$(BIN)/govuk-kpi reports build --jobs 2

# The kernelspec goes into .venv (--sys-prefix), not the home directory; root (a container)
# must say --allow-root or JupyterLab refuses to start.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: install ## Open JupyterLab on notebooks/ with the project's kernel (installs jupyterlab on first use)
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install jupyterlab
	$(BIN)/python -m ipykernel install --sys-prefix --name govuk-kpi --display-name "Python (govuk-kpi)"
	$(BIN)/jupyter lab $(LAB_ROOT) notebooks/

chromium: ## Install Debian's chromium if missing (the report-site browser tests drive it headless)
	@bash scripts/ensure-chromium.sh

# -- pipeline -----------------------------------------------------------------------
.PHONY: run

run: install ## The daily pipeline for yesterday (DATE=YYYY-MM-DD, or FROM= TO= to backfill; WORKERS=N)
	$(BIN)/govuk-kpi run $(if $(FROM),--from $(FROM) --to $(TO),$(if $(DATE),--date $(DATE))) --workers $${WORKERS:-1}

# arcollect: every routine action is a make target. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOTSTRAP ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
# Node 20 (the machine image's) still runs the CDK; silence jsii's end-of-life banner for it so real
# warnings stay visible. The value names the Node major versions to stay quiet for.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 20,22,24

.PHONY: help dev layer browser test test-unit test-integration test-infra test-browser lint deps format synth deploy diff demo bench reliability clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

dev: $(VENV)/.installed node_modules/.installed ## set up the venv (with the arcollect CLI) and the pinned CDK CLI

layer: $(VENV)/.installed ## build the Lambda dependency layer (skipped when requirements are unchanged)
	$(PY) tools/build_layer.py

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; it never downloads a
# browser of its own). Installed when missing and this user may (root, or sudo without a password);
# otherwise the browser tests skip, saying why.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
browser: ## install Debian's chromium for the browser tests, if missing
	@if [ ! -x /usr/bin/chromium ]; then \
	  sudo=""; if [ "$$(id -u)" -ne 0 ]; then sudo="sudo -n"; fi; \
	  echo "installing Debian's chromium"; \
	  ($$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: could not install chromium: the browser tests will be skipped"; \
	fi

test: dev layer lint browser ## lint, then every test suite (what CI runs)
	$(PY) -m pytest -n 2 --dist loadfile

test-unit: dev ## domain logic only, no AWS
	$(PY) -m pytest tests/unit

test-integration: dev layer ## handlers against moto
	$(PY) -m pytest tests/integration

test-infra: dev layer ## CDK assertions, cdk-nag, cfn-lint, real cdk synth
	$(PY) -m pytest tests/infra

test-browser: dev layer browser ## the portal in Debian's Chromium (Playwright, axe-core) and its API schema; screenshots in .artifacts/
	$(PY) -m pytest tests/e2e/browser

lint: dev ## ruff (lint and format check), mypy on the shared package, and the import contract (one-way layers)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) tools/imports.py check

deps: ## the package-level import graph, layer by layer (the contract is in tools/imports.py)
	@python3 tools/imports.py deps

format: dev ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

synth: dev layer ## cdk synth (cdk-nag gates it) and cfn-lint the template
	$(CDK) synth --quiet
	$(VENV)/bin/cfn-lint

diff: dev layer ## cdk diff against the deployed stack
	$(CDK) diff

deploy: dev layer ## cdk deploy (pass context with CDK_ARGS="-c senderEmail=ar@yourco.com")
	$(CDK) deploy $(CDK_ARGS)

demo: dev ## the whole system on the embedded local stack (NO_SERVE=1 ends after the summary)
	$(VENV)/bin/arcollect demo $(if $(NO_SERVE),--no-serve,)

bench: dev layer ## benchmarks; each figure is a `BENCH name value unit target=...` line
	$(PY) -m benchmarks

# The reliability suite at full size (make test runs it short): replays, crashes at step boundaries,
# ambiguous SES outcomes, generated ERP files, the portal under load. Each figure is a
# `RELIABILITY name value unit target=...` line at the end; a missed target fails the run.
reliability: dev layer browser ## the reliability suite at full size; each figure a `RELIABILITY name value unit target=...` line
	RELIABILITY_SCALE=full $(PY) -m pytest tests/reliability -n 2 --dist loadfile -p no:logging -q

clean: ## remove build output (keeps the venv and node_modules)
	rm -rf cdk.out .build .pytest_cache .mypy_cache .ruff_cache .local

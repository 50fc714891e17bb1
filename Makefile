# Session Warden developer tasks. `make dev` once, then `make check` before every push.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 (the Lambda runtime) when present, else python3 >= 3.11.
PY313 := $(shell PYENV_VERSION=3.13.0 pyenv which python3.13 2>/dev/null || command -v python3.13 2>/dev/null)
PYTHON ?= $(if $(PY313),$(PY313),python3)
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
# `sam build` for python3.13 needs a python3.13 on PATH.
SAM_PATH := $(if $(PY313),$(dir $(PY313)):,)$(PATH)
PYTEST_WORKERS ?= auto
# This machine and CI set PYTHONDONTWRITEBYTECODE=1, so each of the hundreds of `warden` processes the tests start
# would compile the project and its libraries afresh: let Python keep its bytecode (__pycache__ is git-ignored).
export PYTHONDONTWRITEBYTECODE :=
# An x86_64 copy of the stack, built to run its functions on this machine (the arm64 build is what deploys).
ARTIFACT_DIR := .aws-sam/x86

.PHONY: help dev tools test check fmt lint types validate build build-x86 artifact-test bench demo clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/warden: requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(SAM): 
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==1.170.0

dev: $(BIN)/warden ## create .venv with pinned dev dependencies and the project (editable)

tools: $(SAM) ## install the SAM CLI in its own venv (.tools/sam)

test: dev ## run the whole test suite
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal -q

fmt: dev ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

types: dev
	$(BIN)/mypy layers/warden/warden functions cli/warden_cli localcloud/warden_local

validate: tools ## sam validate --lint
	SAM_CLI_TELEMETRY=0 PATH="$(SAM_PATH)" $(SAM) validate --lint --region us-east-1

build: tools ## sam build (arm64, python3.13)
	SAM_CLI_TELEMETRY=0 PATH="$(SAM_PATH)" $(SAM) build --parallel

build-x86: tools dev ## sam build of an x86_64 copy of the template into .aws-sam/x86/build
	$(BIN)/python -m tests.artifact.x86_template template.yaml $(ARTIFACT_DIR)/template.yaml
	SAM_CLI_TELEMETRY=0 PATH="$(SAM_PATH)" $(SAM) build --parallel --cached --cache-dir $(ARTIFACT_DIR)/cache \
		--template-file $(ARTIFACT_DIR)/template.yaml --base-dir . --build-dir $(ARTIFACT_DIR)/build

artifact-test: dev ## run each built function in a bare python3.13 against the local cloud
ifeq ($(PY313),)
	@echo "artifact-test SKIPPED: no python3.13 (the Lambda runtime) on this machine, so the built functions are not run."
	@echo "  Install it (e.g. pyenv install 3.13.0) to test the built artifact."
else
artifact-test: build-x86
	WARDEN_ARTIFACT_BUILD=$(ARTIFACT_DIR)/build WARDEN_ARTIFACT_PYTHON="$(PY313)" $(BIN)/pytest -q --tb=short tests/artifact
endif

check: lint types validate build artifact-test test ## format check, ruff, mypy, sam validate --lint, sam build, built-artifact test, tests

bench: dev ## print the benchmark table (decision latency, import time, AWS calls, end-to-end)
	$(BIN)/python -m bench

demo: dev ## run `warden demo` on the embedded local cloud
	$(BIN)/warden demo

clean:
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache

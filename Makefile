# Everything a fresh machine needs is installed from this file: `make demo`, `make test`.
SHELL := /bin/bash
# Every recipe line fails loudly: on an error, an unset variable or a failing pipe stage.
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# A recipe that fails leaves no half-written target behind to look up to date next time.
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# The Lambda runtime is python3.13; pyenv's shim for it is unreliable here, so find the binary.
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Tools that stay out of the main venv, each installed once from a committed pin file.
NODE_STAMP := node_modules/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
TMP := .tmp
TRANSLATED := $(TMP)/translated.json
ASL_FILES := $(wildcard statemachines/*.asl.json)
# Plain CloudFormation deployed into each workload account (or as a StackSet): no SAM transform.
ACCOUNT_TEMPLATES := $(wildcard accounts/*.yaml)
BUILD_STAMP := .aws-sam/build/template.yaml
BUILD_INPUTS := template.yaml samconfig.toml \
	$(shell find functions layers statemachines -type f -not -path '*/__pycache__/*' -not -name '*.pyc')
BENCH_RUNTIME := $(TMP)/bench/runtime
BENCH_RUNTIME_STAMP := $(BENCH_RUNTIME)/.installed
LINT_PATHS := functions layers tooling tests emulator
PYTEST := $(BIN)/pytest

export SAM_CLI_TELEMETRY := 0
# sam build runs pip with the runtime's interpreter, so python3.13 must come first on PATH.
SAM := PATH="$(dir $(PYTHON)):$$PATH" $(BIN)/sam
REQUIRE_PYTHON = @test -n "$(PYTHON)" || { echo "python3.13 not found (set PYTHON=/path/to/python3.13)"; exit 1; }

.PHONY: faults-doc
# Rewrite the fault matrix in docs/faults.md from its test (the test fails while it is stale).
faults-doc: $(STAMP)
	MLOPSCP_WRITE_FAULTS=1 $(PYTEST) tests/e2e/test_fault_matrix.py -k docs_show

.PHONY: help install demo test lint bandit audit typecheck template-checks cfn-lint sam-validate asl checkov \
	template-contract build unit contract integration e2e bench bench-imports storm clean sdk pipeline-render browser prices \
	monitor-venv

help:
	@echo "make demo      run the demo scenarios on the embedded AWS emulator"
	@echo "make test      lint, type check, template checks, sam build and every test tier"
	@echo
	@echo "Steps of make test, each runnable alone:"
	@echo "  install          .venv (python3.13) with the tooling, test and template tools"
	@echo "  lint             ruff check + ruff format --check"
	@echo "  bandit           security lint of the Lambda code (functions/, layers/shared/)"
	@echo "  typecheck        mypy"
	@echo "  template-checks  cfn-lint, sam validate, ASL, checkov (also accounts/*.yaml), contract"
	@echo "  build            sam build into .aws-sam/build (no Docker)"
	@echo "  monitor-venv     .venv-monitor: the monitor job's Evidently environment"
	@echo "  unit contract integration e2e   the test tiers (tests/<tier>; integration: emulator/tests too)"
	@echo "make bench     import time, package sizes, triage speed, promotion cost, monitor job, incident storm, fleet reads -> docs/benchmarks.md"
	@echo "make bench-imports  only the cold-start import times -> that section of docs/benchmarks.md"
	@echo "make storm     10,000 events through the local stack (STORM_EVENTS=, STORM_ENDPOINTS=), scale and cost -> docs/benchmarks.md"
	@echo "make lock      compile the hash-pinned lock files from their inputs (lock-upgrade: newest)"
	@echo "make audit     pip-audit every lock file (needs the internet: CI, not these machines)"
	@echo "make faults-doc  rewrite the fault matrix in docs/faults.md from its test"

# ---------------------------------------------------------------- installs (stamp files)

# Every venv installs from its lock file only, every file checked against the lock's hashes (see
# "lock files" below); the project itself goes in editable, with no dependencies of its own and
# the locked build backend (no build isolation: nothing is fetched unpinned). So does the
# emulator (emulator/, a package of its own; its dependencies are in the same lock).
PIP_LOCKED := pip install --quiet --require-hashes
$(STAMP): requirements-dev.txt pyproject.toml emulator/pyproject.toml
	$(REQUIRE_PYTHON)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP_LOCKED) -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e emulator
	$(BIN)/pip check
	touch $@

install: $(STAMP)

# asl-validator and the ASL language service, pinned by package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# checkov pins an older boto3 than the project: it gets a venv of its own.
$(CHECKOV_STAMP): tooling/checks/checkov-requirements.txt
	$(REQUIRE_PYTHON)
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/$(PIP_LOCKED) -r $<
	touch $@

# The SageMaker Python SDK (~290 MB with v2) renders the retraining blueprint; it stays out of
# .venv and out of every Lambda. The render test runs under it with MLOPSCP_REQUIRE_SDK=1, so a
# missing SDK fails instead of skipping.
SDK_VENV := .venv-sdk
SDK_STAMP := $(SDK_VENV)/.installed
$(SDK_STAMP): pipelines/requirements-sdk.txt pyproject.toml
	$(REQUIRE_PYTHON)
	rm -rf $(SDK_VENV)
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/$(PIP_LOCKED) -r $<
	$(SDK_VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

sdk: $(SDK_STAMP)

# Re-render the committed definitions after changing tooling/mlopscp/pipelines/retrain.py or
# monitor.py.
pipeline-render: $(SDK_STAMP)
	$(SDK_VENV)/bin/mlopscp pipeline render
	$(SDK_VENV)/bin/mlopscp monitor render

# The monitor job's environment (Evidently, pandas, scipy: ~1 GB) for local runs, the demo and
# its tests, from the same pins as the job's image. Never in .venv, a Lambda or a layer.
MONITOR_VENV := .venv-monitor
MONITOR_STAMP := $(MONITOR_VENV)/.installed
$(MONITOR_STAMP): pipelines/monitor/requirements.txt
	$(REQUIRE_PYTHON)
	rm -rf $(MONITOR_VENV)
	$(PYTHON) -m venv $(MONITOR_VENV)
	$(MONITOR_VENV)/bin/$(PIP_LOCKED) -r $<
	touch $@

monitor-venv: $(MONITOR_STAMP)

demo: install $(MONITOR_STAMP)
	$(BIN)/mlopscp demo

# ---------------------------------------------------------------- lock files

# Each lock pins, with the sha256 of every file, what its .in file beside it asks for (the .venv
# lock: the dependencies and dev extras of pyproject.toml and emulator/pyproject.toml too).
# `make lock` compiles them all again, keeping every pin that still satisfies its input;
# `make lock-upgrade` moves every pin to the newest version allowed. Another venv: add its lock here (and install it with PIP_LOCKED).
LOCKS := requirements-dev.txt layers/deps/requirements.txt pipelines/requirements-sdk.txt \
	tooling/checks/checkov-requirements.txt tooling/bench/runtime-requirements.txt \
	pipelines/monitor/requirements.txt
UV ?= $(BIN)/uv
# Universal locks (every OS, python3.13 and later) unless a lock names its platform below.
LOCK_FLAGS := --quiet --generate-hashes --python-version 3.13 --custom-compile-command "make lock"
LOCK_TARGET := --universal
LOCK_INPUTS = $(patsubst %.txt,%.in,$*)
lock/requirements-dev.txt: LOCK_INPUTS = pyproject.toml emulator/pyproject.toml --extra dev \
	requirements-dev.in
# The Lambda layer: manylinux wheels for python3.13 on x86_64, as its Makefile installs them.
lock/layers/deps/requirements.txt: LOCK_TARGET = --python-platform x86_64-manylinux_2_17 \
	--only-binary :all:

.PHONY: lock lock-upgrade $(LOCKS:%=lock/%)
lock: $(LOCKS:%=lock/%)
lock-upgrade:
	$(MAKE) lock LOCK_UPGRADE=--upgrade

# uv comes from .venv (it is locked too); with a broken lock, `make lock UV=/path/to/uv`.
# uv keeps the pins of the file it writes to; an unchanged lock keeps its time stamp, so the
# venvs built from it are not rebuilt.
$(LOCKS:%=lock/%): lock/%: $(if $(filter $(BIN)/uv,$(UV)),$(STAMP))
	if [ -f $* ]; then cp $* $*.new; fi
	$(UV) pip compile $(LOCK_FLAGS) $(LOCK_TARGET) $(LOCK_UPGRADE) $(LOCK_INPUTS) -o $*.new
	if cmp -s $*.new $*; then rm $*.new; else mv $*.new $*; echo "$* updated"; fi

# ---------------------------------------------------------------- make test

test: lint bandit typecheck template-checks build unit contract integration e2e
	@echo "make test: all checks passed"

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# Security lint of the code that runs in Lambda (offline). A finding is fixed, or its line says
# `# nosec <id>  # why` (tests/contract/test_security_lint.py checks that each one does).
BANDIT_PATHS := functions layers/shared
bandit: $(STAMP)
	$(BIN)/bandit --quiet --recursive $(BANDIT_PATHS)

# The project's mypy configuration, then the check and benchmark scripts it does not list.
typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy tooling/checks tooling/bench tooling/prices

template-checks: cfn-lint sam-validate asl checkov template-contract

# cfn-lint 1.x checks the SAM source against SAM's schemas but does not run the transform: bad
# !GetAtt attributes, !Ref targets in policy templates and runtimes only show after translation.
# The translated template also carries the ASL inline, so cfn-lint validates it too (E3601).
$(TRANSLATED): template.yaml $(ASL_FILES) tooling/checks/translate_template.py | $(STAMP)
	$(BIN)/python tooling/checks/translate_template.py template.yaml $@

# The account templates (accounts/*.yaml) and the monitor's schedule template are plain
# CloudFormation: checked as they are.
ACCOUNT_TEMPLATES := $(wildcard accounts/*.yaml)
MONITOR_SCHEDULE := pipelines/monitor/schedule.yaml
cfn-lint: $(STAMP) $(TRANSLATED)
	$(BIN)/cfn-lint template.yaml
	$(BIN)/cfn-lint $(TRANSLATED) $(ACCOUNT_TEMPLATES) $(MONITOR_SCHEDULE)

# Plain validate runs the SAM translator (needs a region, not credentials); --lint is cfn-lint
# only and skips the translator, so both run.
sam-validate: $(STAMP)
	$(SAM) validate --region us-east-1
	$(SAM) validate --region us-east-1 --lint

# asl-validator checks the state graph (it exits 0 on JSON errors with --json-definition, so
# always --json-path); the language service catches misspelled fields inside Retry/Catch.
asl: $(NODE_STAMP)
	@test -n "$(ASL_FILES)" || { echo "no statemachines/*.asl.json found"; exit 1; }
	for asl in $(ASL_FILES); do node_modules/.bin/asl-validator --json-path "$$asl"; done
	node tooling/checks/asl_lint.mjs $(ASL_FILES)

# On the translated template (checkov runs its IAM checks only there), the account templates and
# the monitor's schedule template. Skips: .checkov.yaml (global) and the resources' Metadata;
# checkov_skips.py fails for a skip that is no longer needed or names no check.
CHECKOV_TEMPLATES := $(TRANSLATED) $(ACCOUNT_TEMPLATES) $(MONITOR_SCHEDULE)
checkov: $(CHECKOV_STAMP) $(TRANSLATED)
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml $(addprefix --file ,$(CHECKOV_TEMPLATES))
	$(CHECKOV_VENV)/bin/python tooling/checks/checkov_skips.py .checkov.yaml $(CHECKOV_TEMPLATES)

# What no tool checks: substitutions vs placeholders, error names, pattern lists, runtimes; log
# retention and IAM scoping (test_template_security.py).
template-contract: $(STAMP)
	$(PYTEST) tests/contract/test_template_contract.py tests/contract/test_template_security.py \
		tests/contract/test_accounts_contract.py

$(BUILD_STAMP): $(BUILD_INPUTS) | $(STAMP)
	$(REQUIRE_PYTHON)
	$(SAM) build
	touch $@

build: $(BUILD_STAMP)

# A tier runs once its folder holds a test module (then "no tests collected" fails it);
# until then it says so and passes.
define run_tier
	@if [ -n "$$(find tests/$(1) -name 'test_*.py' 2>/dev/null | head -n 1)" ]; then \
		echo "$(PYTEST) tests/$(1) $(2)"; $(PYTEST) tests/$(1) $(2); \
	else \
		echo "tests/$(1): no test modules yet, skipped"; \
	fi
endef

# Unit tests never touch the network: sockets are switched off.
unit: $(STAMP)
	$(call run_tier,unit,--disable-socket --allow-unix-socket)

# Renders both blueprints (retrain and monitor) under the SDK.
RENDER_TEST := tests/contract/test_retrain_pipeline_render.py
contract: $(STAMP) $(SDK_STAMP)
	$(call run_tier,contract,--ignore=$(RENDER_TEST))
	MLOPSCP_REQUIRE_SDK=1 $(SDK_VENV)/bin/python -m pytest $(RENDER_TEST)

# The monitor job's test runs the real script under .venv-monitor: a missing venv fails it.
# The emulator's own tests (emulator/tests, its own pytest settings) run in a session of their
# own: moto's state is per process.
integration: export MLOPSCP_REQUIRE_MONITOR := 1
integration: $(STAMP) $(MONITOR_STAMP)
	$(call run_tier,integration,)
	$(PYTEST) emulator/tests

# tests/e2e/test_approval_browser.py drives Debian's Chromium through Debian's chromedriver
# (selenium from .[dev]); test tools' own browser downloads do not work on these machines.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
CHROMIUM_STAMP := $(TMP)/chromium.installed
$(CHROMIUM_STAMP):
	if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	fi
	/usr/bin/chromedriver --version
	mkdir -p $(@D) && touch $@

browser: $(CHROMIUM_STAMP)

e2e: $(STAMP) $(CHROMIUM_STAMP) $(MONITOR_STAMP)
	$(call run_tier,e2e,)

# ---------------------------------------------------------------- make audit (not in make test)

# pip-audit over the exact pins of every lock (nothing installed). It needs a vulnerability
# service on the internet (PyPI's JSON API; OSV with AUDIT_SERVICE=osv), which these machines do
# not reach: run it in CI with internet access. Where the service is unreachable it fails,
# saying so, instead of reporting "no known vulnerabilities" (tooling/checks/audit.py).
AUDIT_SERVICE ?= pypi
audit: $(STAMP)
	$(BIN)/python tooling/checks/audit.py --service $(AUDIT_SERVICE) $(LOCKS)

# ---------------------------------------------------------------- make bench (not in make test)

# boto3 and its dependencies only, as the Lambda runtime provides them, for import timings.
$(BENCH_RUNTIME_STAMP): tooling/bench/runtime-requirements.txt | $(STAMP)
	rm -rf $(BENCH_RUNTIME)
	$(BIN)/$(PIP_LOCKED) --target $(BENCH_RUNTIME) -r $<
	touch $@

bench: $(BUILD_STAMP) $(BENCH_RUNTIME_STAMP) $(MONITOR_STAMP)
	mkdir -p $(TMP)/bench
	$(PYTEST) tests/benchmarks --benchmark-only --benchmark-json=$(TMP)/bench/triage.json
	$(BIN)/python tooling/bench/promotion_cost.py --out $(TMP)/bench/promotion.json
	$(BIN)/python tooling/bench/monitor_job.py --out $(TMP)/bench/monitor.json
	$(BIN)/python tooling/bench/incident_storm.py --out $(TMP)/bench/incidents.json
	$(BIN)/python tooling/bench/serving_sweep.py --out $(TMP)/bench/serving.json
	$(BIN)/python tooling/bench/report.py --triage-json $(TMP)/bench/triage.json \
		--runtime $(BENCH_RUNTIME) --promotion-json $(TMP)/bench/promotion.json \
		--monitor-json $(TMP)/bench/monitor.json --incidents-json $(TMP)/bench/incidents.json \
		--serving-json $(TMP)/bench/serving.json

# The serving price table from AWS's price list (needs network access to pricing.us-east-1.amazonaws.com);
# offline: python tooling/prices/sagemaker_hosting.py --offer FILE ... (docs/serving.md#the-price-table).
prices: $(STAMP)
	$(BIN)/python tooling/prices/sagemaker_hosting.py --download

# Only the cold-start import times (a few minutes): rewrites that section of docs/benchmarks.md.
bench-imports: $(BUILD_STAMP) $(BENCH_RUNTIME_STAMP)
	$(BIN)/python tooling/bench/report.py --runtime $(BENCH_RUNTIME) --imports-only

# A benchmark, not a test: the event storm on the emulator, then the scale and cost models from
# its measured calls per event. Rewrites only its own sections of docs/benchmarks.md (Storm,
# Scale, Cost); make bench keeps them.
STORM_EVENTS ?= 10000
STORM_ENDPOINTS ?= 500
storm: $(STAMP)
	mkdir -p $(TMP)/bench
	$(BIN)/python tooling/bench/event_storm.py --out $(TMP)/bench/storm.json \
		--events $(STORM_EVENTS) --endpoints $(STORM_ENDPOINTS) --docs docs/benchmarks.md
	$(BIN)/python tooling/bench/scale.py --storm-json $(TMP)/bench/storm.json --docs docs/benchmarks.md
	$(BIN)/python tooling/bench/cost.py --storm-json $(TMP)/bench/storm.json --docs docs/benchmarks.md

clean:
	rm -rf .aws-sam $(TMP)

# Everything a fresh machine needs is installed from this file: `make demo`, `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is python3.13; pyenv's shim for it is unreliable here, so find the binary.
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install demo test
help:
	@echo "make install   create .venv (python3.13) with the tooling, test and template tools"
	@echo "make demo      run the demo scenarios on the embedded AWS emulator"
	@echo "make test      lint, type check, template checks, sam build and every test tier"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "python3.13 not found (set PYTHON=/path/to/python3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(STAMP)

demo: install
	$(BIN)/mlopscp demo

# make demo: set up and run the example notebook on the embedded store.
# make test: set up everything (PostgreSQL, an S3 endpoint, Chromium included) and run the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q -c constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test soak bench lint docs clean

$(VENV)/.base:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip > $(VENV)/pip.log 2>&1 || { tail -40 $(VENV)/pip.log; exit 1; }
	touch $@

$(VENV)/.demo: $(VENV)/.base pyproject.toml constraints.txt
	$(PIP) -e '.[sklearn,dashboard]' >> $(VENV)/pip.log 2>&1 || { tail -40 $(VENV)/pip.log; exit 1; }
	touch $@

$(VENV)/.dev: $(VENV)/.base pyproject.toml constraints.txt
	$(PIP) -e '.[dev]' >> $(VENV)/pip.log 2>&1 || { tail -40 $(VENV)/pip.log; exit 1; }
	$(BIN)/python -m pip check
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	tools/demo

test: $(VENV)/.dev
	tools/system-deps
	tools/with-services tools/run-tests

soak: $(VENV)/.dev
	tools/system-deps
	MLOPS_SOAK=1 tools/with-services $(BIN)/pytest -m soak tests

bench: $(VENV)/.dev
	tools/system-deps
	tools/with-services tools/run-benchmarks

lint: $(VENV)/.dev
	tools/lint

clean:
	rm -rf $(VENV) .venv-peers ci-artifacts

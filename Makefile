# Caisse — every target does its own set-up from a clean clone (Python 3.11 + package registries).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_LINK_MODE := copy

.PHONY: help setup system-deps run test test-unit fuzz lint format bench clean

help:
	@echo "make run    start the whole suite on embedded PostgreSQL + Tansu broker"
	@echo "make test   run every test (unit, integration, api, e2e)"
	@echo "make lint   ruff + mypy";  echo "make bench  run the benchmarks under bench/"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	@touch $@

setup: $(VENV)/.synced

run: setup
	$(PY) -m caisse_shared.devstack run

# slapd lets the auth service's LDAP tests run against a real directory; where it cannot be
# installed (no root, no apt) those tests skip with a message and everything else still runs,
# except under CI=true, where a missing system dependency fails them (require_system_binary).
system-deps:
	@if ! command -v slapd >/dev/null 2>&1 && [ ! -x /usr/sbin/slapd ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing slapd (OpenLDAP) for the LDAP tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null) \
	      || echo "slapd could not be installed: LDAP tests will be skipped (fail under CI=true)"; \
	  else echo "slapd not installed and cannot be installed here: LDAP tests will be skipped (fail under CI=true)"; fi; \
	fi

test: setup system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: setup
	$(PY) -m pytest -m "not integration and not e2e" $(PYTEST_ARGS)

# The schemathesis runs of `make test`, longer: 200 examples per operation, 15 minutes per run.
fuzz: setup
	CAISSE_FUZZ_EXAMPLES=$${CAISSE_FUZZ_EXAMPLES:-200} CAISSE_FUZZ_SECONDS=$${CAISSE_FUZZ_SECONDS:-900} \
	  $(PY) -m pytest -m fuzz -p no:randomly $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(addprefix -p ,caisse_shared $(notdir $(wildcard services/*/src/caisse_*)))

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache

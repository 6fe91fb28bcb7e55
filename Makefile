# flownb developer / CI entry points.  GNU make.
#
#   make test      lint + pytest (installs .venv, Debian chromium and postgresql when needed)
#   make lint      ruff + mypy
#   make lab       JupyterLab on notebooks/ (installs only flownb + what the notebooks import)
#   make bench     python -m benchmarks
#   make clean     caches and build output (keeps .venv); `make distclean` also drops .venv
#
# Knobs: PYTHON, VENV, PYTEST_ARGS, LAB_ARGS, BENCH_ARGS, CHROMIUM, CI=true (missing browser = error)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:

PYTHON      ?= python3
VENV        ?= .venv
VPY         := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
LAB_STAMP   := $(VENV)/.installed-lab
BENCH_STAMP := $(VENV)/.installed-bench
CHROMIUM    ?= /usr/bin/chromium
PYTEST_ARGS ?=
LAB_ARGS    ?=
BENCH_ARGS  ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv browser lint test lab bench clean distclean

# Creates $(VENV) when it has no working Python. Debian's python3 needs the python3-venv
# package for `-m venv`; as root with apt-get, it is installed when missing.
define ENSURE_VENV
if ! "$(VPY)" -c 'import sys' >/dev/null 2>&1; then \
  echo "make: creating $(VENV) with $(PYTHON)"; \
  rm -rf "$(VENV)"; \
  if ! "$(PYTHON)" -m venv "$(VENV)"; then \
    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
      echo "make: installing Debian's python3-venv"; \
      rm -rf "$(VENV)"; \
      apt-get update -qq || true; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
      "$(PYTHON)" -m venv "$(VENV)"; \
    else \
      echo "make: '$(PYTHON) -m venv' failed (on Debian: apt-get install python3-venv)" >&2; \
      exit 1; \
    fi; \
  fi; \
fi
endef

## venv: .venv with the project (editable) and its test extras; re-installs only when
## pyproject.toml is newer than the stamp file.
venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(ENSURE_VENV)
	"$(VPY)" -m pip install --quiet --upgrade pip
	"$(VPY)" -m pip install --quiet -e ".[test]"
	@touch "$@"

## The lab's own install: the project (its dependencies include JupyterLab) and the
## `notebooks` extra (what the course notebooks import), with pip's output shown. pip is
## upgraded first, as for the test install: the pip a new venv comes with takes about 1.4x
## the CPU time for this install. A venv whose test install is current already has all of
## it (the test extra includes the notebooks extra: tests/test_make.py checks it), so
## nothing is installed then.
$(LAB_STAMP): pyproject.toml
	@$(ENSURE_VENV)
	@if [ -f "$(STAMP)" ] && [ "$(STAMP)" -nt pyproject.toml ]; then \
	  echo "make lab: $(VENV) already has the test install, which includes the lab's"; \
	else \
	  echo "make lab: installing flownb, JupyterLab and what the notebooks import into $(VENV)"; \
	  "$(VPY)" -m pip install --quiet --upgrade pip; \
	  "$(VPY)" -m pip install -e ".[notebooks]"; \
	fi
	@touch "$@"

$(BENCH_STAMP): $(STAMP)
	"$(VPY)" -m pip install --quiet -e ".[test,bench]"
	@touch "$@"

## browser: Debian's Chromium at $(CHROMIUM) for Playwright (never `playwright install`).
browser:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "make browser: $(CHROMIUM) missing; installing Debian chromium"; \
	  apt-get update -qq || echo "make browser: apt-get update failed" >&2; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-dejavu-core >/dev/null \
	    || echo "make browser: apt-get install chromium failed" >&2; \
	fi; \
	if [ -x "$(CHROMIUM)" ]; then \
	  echo "make browser: $$("$(CHROMIUM)" --version 2>/dev/null || echo chromium)"; \
	elif [ "$${CI:-}" = "true" ]; then \
	  echo "make browser: ERROR: $(CHROMIUM) not found and could not be installed" \
	       "(need root + apt-get: apt-get install chromium)" >&2; \
	  exit 1; \
	else \
	  echo "make browser: WARNING: $(CHROMIUM) not found; browser tests will be skipped" \
	       "(as root: apt-get install chromium)" >&2; \
	fi

## postgres: Debian's PostgreSQL server binaries, for the tests' throwaway server
## (tests/postgres_server.py runs initdb + pg_ctl from /usr/lib/postgresql/*/bin).
.PHONY: postgres
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "make postgres: no /usr/lib/postgresql/*/bin/initdb; installing Debian postgresql"; \
	  apt-get update -qq || echo "make postgres: apt-get update failed" >&2; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    postgresql >/dev/null || echo "make postgres: apt-get install postgresql failed" >&2; \
	fi; \
	if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "make postgres: $$(ls -d /usr/lib/postgresql/*/bin | tail -1)"; \
	elif [ "$${CI:-}" = "true" ]; then \
	  echo "make postgres: ERROR: PostgreSQL not found and could not be installed" \
	       "(need root + apt-get: apt-get install postgresql)" >&2; \
	  exit 1; \
	else \
	  echo "make postgres: WARNING: PostgreSQL not found; its tests will be skipped" \
	       "(as root: apt-get install postgresql)" >&2; \
	fi

## lint: ruff + mypy (mypy's file list is in pyproject.toml).
lint: venv
	"$(VENV)/bin/ruff" check flownb tests benchmarks notebooks scripts
	"$(VENV)/bin/mypy"

## test: lint first, then the pytest suite.
test: lint browser postgres
	"$(VPY)" -m pytest -q $(PYTEST_ARGS)

## lab: JupyterLab rooted at notebooks/ (no test tools installed for it).
lab: $(LAB_STAMP)
	@mkdir -p notebooks
	@root_flag=""; if [ "$$(id -u)" = 0 ]; then root_flag="--allow-root"; fi; \
	exec "$(VENV)/bin/jupyter" lab notebooks/ $$root_flag $(LAB_ARGS)

## notebooks: run the course notebooks on a fresh kernel and save them with their outputs
## and widget state (NOTEBOOKS_ARGS: notebook paths; default all of notebooks/).
.PHONY: notebooks
notebooks: venv
	"$(VPY)" scripts/execute_notebooks.py $(NOTEBOOKS_ARGS)

## bench: the benchmark suite (installs the bench extra on first use).
bench: $(BENCH_STAMP)
	"$(VPY)" -m benchmarks $(BENCH_ARGS)

clean:
	@rm -rf build dist ./*.egg-info .pytest_cache .mypy_cache .ruff_cache test-artifacts .hypothesis
	@find . -path "./$(VENV)" -prune -o -path ./.git -prune -o \
	  \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -prune -exec rm -rf {} +

distclean: clean
	@rm -rf "$(VENV)"

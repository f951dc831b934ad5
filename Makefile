# Two commands for everyone: `make run` (the nightly job once, on the demo unless configured) and
# `make test` (the whole suite). Both create and update the virtual environment in .venv themselves.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build of torch, installed before anything that depends on it (otherwise pip pulls CUDA builds).
# Elsewhere: make TORCH_INDEX=--index-url=https://download.pytorch.org/whl/cpu
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?=
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet
# Test files run in parallel, each file whole in one worker (its module fixtures stay together).
TEST_WORKERS ?= 2

.PHONY: run test lint typecheck check bench pii-eval spacy-model browser clean-venv help

help:
	@echo "make run    - run the nightly job once (bundled demo when no sources are configured)"
	@echo "make test   - run the whole test suite"
	@echo "make check  - ruff and mypy"
	@echo "make bench  - throughput and memory of each stage on this machine"
	@echo "make pii-eval     - span-level scores of the personal-data pack on its evaluation set"
	@echo "make spacy-model  - retrain the Swedish spaCy pipeline from ../shared/data (VAKTPOST_SHARED_DATA)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -e ".[test]"
	@touch $@

run: $(VENV)/.installed
	$(BIN)/vaktpost run

test: $(VENV)/.installed-test browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

check: lint typecheck

bench: $(VENV)/.installed
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.pii
	$(BIN)/python -m bench.classifier
	$(BIN)/python -m bench.store
	$(BIN)/python -m bench.review

# The review app's browser tests drive the system Chromium through Playwright (which never downloads its own).
# Installed from Debian when this runs as root with apt; otherwise those tests are skipped and say why.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; the browser tests will be skipped"; \
	  else echo "note: /usr/bin/chromium is missing (apt-get install chromium); the browser tests will be skipped"; fi; \
	fi

pii-eval: $(VENV)/.installed
	$(BIN)/python -m models.pii.evaluate

# Needs the corpora in ../shared/data (not part of the repository); about 45 minutes on 2 cores.
spacy-model: $(VENV)/.installed
	$(BIN)/python -m models.spacy.train

clean-venv:
	rm -rf $(VENV)

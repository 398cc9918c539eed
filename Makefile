# Two commands for a newcomer: `make build` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-from-pyproject
MKDOCS_FILE ?= mkdocs.yml
# mkdocs (the plugin renders) or zensical (installed into .venv/side/zensical on first use).
GENERATOR ?= mkdocs

.PHONY: build test test-fast bench status lint clean

# Re-install only when pyproject.toml changed (the stamp is older than it).
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,material]'
	@touch $@

# `make build STRICT=0`: let the site's own warnings (broken links...) through.
build: $(STAMP)
ifeq ($(GENERATOR),zensical)
	ZENSICAL=$$(PYTHONPATH=. $(PY) tests/sidevenv.py zensical) && export ZENSICAL && \
	$(PY) -m pipeline build --generator zensical -f $(MKDOCS_FILE)$(if $(FROZEN), --frozen)$(if $(filter 0,$(STRICT)), --no-strict)
else
	$(PY) -m pipeline build --generator $(GENERATOR) -f $(MKDOCS_FILE)$(if $(FROZEN), --frozen)$(if $(filter 0,$(STRICT)), --no-strict)
endif

test: $(STAMP)
	$(PY) -m pytest -q

# Everything but the tests that start a child build (mkdocs, properdocs, zensical).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

status: $(STAMP)
	$(PY) -m pipeline status -f $(MKDOCS_FILE)

bench: $(STAMP)
	$(PY) tests/bench.py

lint: $(STAMP)
	$(PY) -m ruff check pipeline tests
	$(PY) -m mypy pipeline --cache-dir $(VENV)/mypy_cache

clean:
	rm -rf site .enrich/cache .cache

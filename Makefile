# Two commands on a fresh machine:  make serve  (set up, build the index, run the service)
#                                   make test   (set up with test extras, run the whole suite)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8080
KB     ?= kb
INDEX  ?= index

.PHONY: setup setup-dev browser postgres index serve test test-later test-fast bench eval clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[st,test,postgres]'
	touch $@ $(VENV)/.runtime

setup: $(VENV)/.runtime          ## runtime only (no torch)
setup-dev: $(VENV)/.dev          ## runtime + sentence-transformers + test tools + psycopg

browser:                         ## Debian's Chromium + CJK fonts for the browser tests (apt-get, as root)
	@if ! dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji; \
	  else echo "note: /usr/bin/chromium missing; browser tests will be skipped (apt-get install chromium)"; fi; \
	fi

# The tests start their own throw-away cluster (initdb + pg_ctl in a temp dir); the package's own cluster
# is not wanted, so it is not created (createcluster.conf) where this target installs the package.
postgres:                        ## Debian's PostgreSQL server binaries for the Postgres storage tests (apt-get, as root)
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-common && \
	    sed -i 's/^#* *create_main_cluster *=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  else echo "note: PostgreSQL's initdb missing; the Postgres storage tests will be skipped (apt-get install postgresql)"; fi; \
	fi

index: setup                     ## build (incrementally) and publish the index of $(KB)
	$(PY) -m indexer build --kb $(KB) --out $(INDEX)

serve: index                     ## build the index, then serve it on $(HOST):$(PORT)
	$(PY) -m server --index $(INDEX) --host $(HOST) --port $(PORT)

test: setup-dev browser postgres ## the whole test suite (what CI runs), then again a year later
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-later

test-later: setup-dev            ## the suite but the real-model tests, with every clock a year ahead (libfaketime)
	$(PY) -m tests.later --days 365 -q -m "not real_model"

test-fast: setup-dev              ## the fast tier: no real model, no browser (seconds)
	$(PY) -m pytest -m "not real_model and not browser"

bench: setup-dev                 ## benchmarks: build, embedders, memory, serving latency
	$(PY) -m bench.build
	$(PY) -m bench.serve
	$(PY) -m bench.openloop
	$(PY) -m bench.metrics
	$(PY) -m bench.triage
	$(PY) -m bench.querylog
	$(PY) -m bench.report

eval: setup-dev                  ## retrieval accuracy on the shipped question set, as of the day its labels hold
	$(PY) -m eval --kb $(KB) --questions eval/questions/shipped.jsonl --as-of 2026-11-22 --compare

clean:
	rm -rf $(INDEX) artifacts .pytest_cache

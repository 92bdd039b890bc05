# The two commands a new user needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: demo test lint fmt bench install services clean

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "error: could not create $(VENV): install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

## Run the product: embedded mode (SQLite, in-memory store, simulated market), one process.
demo: $(STAMP)
	DEBUG=1 $(PY) manage.py demo

## Run lint and the whole test suite against real Redis and PostgreSQL (started if missing).
test: $(STAMP) lint
	@eval "$$(scripts/test-services.sh)" && \
	  $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Benchmarks (numbers go to docs/benchmarks.md).
bench: $(STAMP)
	@eval "$$(scripts/test-services.sh)" && \
	  $(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 .services

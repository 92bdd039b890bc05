# The two commands a new user needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
UV := uv==0.13.9

.PHONY: demo full test lint fmt bench soak install requirements services clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); scripts/apt-install.sh python3-venv && $(PYTHON) -m venv $(VENV); } \
	  || { echo "error: could not create $(VENV): install python3-venv (apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

## Run the product: embedded mode (SQLite, in-memory store, simulated market), one process.
demo: $(STAMP)
	DEBUG=1 $(PY) manage.py demo

## Run the full stack without Docker (PostgreSQL + Redis from DATABASE_URL / REDIS_URL), one process each.
full: $(STAMP)
	$(PY) manage.py full $(FULL_ARGS)

## Run lint and the whole test suite against real Redis and PostgreSQL (started if missing).
test: $(STAMP) lint
	@services=$$(scripts/test-services.sh) && eval "$$services" && \
	  $(PY) -m pytest $(PYTEST_ARGS)

## Style, types and the architecture's import rules (pyproject.toml [tool.importlinter]).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Benchmarks (numbers go to docs/benchmarks.md).
bench: $(STAMP)
	@services=$$(scripts/test-services.sh) && eval "$$services" && \
	  $(PY) -m benchmarks $(BENCH_ARGS)

## The full stack under faults for MINUTES minutes (default 30); figures go to docs/reliability.md.
MINUTES ?= 30
soak: $(STAMP)
	$(PY) -m soak --minutes $(MINUTES) --write docs/reliability.md

## Re-resolve the pins for Python 3.11 after editing requirements.in or requirements-dev.in.
requirements: $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check $(UV)
	$(VENV)/bin/uv pip compile -q --python-version 3.11 --no-annotate --custom-compile-command "make requirements" \
	  requirements.in -o requirements.txt
	$(VENV)/bin/uv pip compile -q --python-version 3.11 --no-annotate --custom-compile-command "make requirements" \
	  requirements-dev.in -o requirements-dev.txt

clean:
	rm -rf $(VENV) db.sqlite3 .services

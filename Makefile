# BitLoot developer commands. `make install` once, then `make test` / `make lint`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
PYTEST_ARGS ?=

.PHONY: install lock lint test test-fast schemas clean demo

$(VENV)/bin/uv:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

# Installs every package editable at the versions pinned in requirements/dev.txt.
install: $(VENV)/bin/uv
	VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet -r requirements/dev.txt

# Re-pins every dependency after a change to requirements/dev.in or a package's pyproject.toml.
lock: $(VENV)/bin/uv
	$(UV) pip compile requirements/dev.in -o requirements/dev.txt --python-version 3.11 --no-header

lint: install
	$(VENV)/bin/python tools/check_dependencies.py
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/*/src services/*/src sandboxes/*/src demo/src tools
	# Test directories reuse module names (conftest, support): check each on its own.
	for dir in $$(ls -d libs/*/tests services/*/tests sandboxes/*/tests demo/tests tests-e2e 2>/dev/null); do \
		MYPYPATH=$$dir $(VENV)/bin/mypy $$dir || exit 1; done

# Everything in one process (in-memory broker, embedded PostgreSQL, S3, SMTP, sandboxes):
# places 20 orders, prints a summary, serves the admin UI. `make demo ARGS="--orders 5 --no-serve"`.
demo: install
	$(PY) -m bitloot_demo $(ARGS)

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Writes the JSON Schemas and the AsyncAPI document of the bus under libs/contracts/schemas.
schemas: install
	$(VENV)/bin/bitloot-contracts export libs/contracts/schemas

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

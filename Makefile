# BitLoot developer commands. `make install` once, then `make test` / `make lint`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
PYTEST_ARGS ?=

.PHONY: install lock lint test test-fast schemas clean demo up compose-env deploy-check audit bench chaos \
	system-demo system-test system-deploy

# System packages (Debian's) and local servers each command needs, from one script that
# .ci/run uses too: installed or started when run as root; otherwise the script stops at
# once naming the one command to run.
SYSTEM := tools/system_packages.sh

$(VENV)/bin/uv:
	$(SYSTEM) ensure python
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

# Installs every package editable at the versions pinned in requirements/dev.txt.
install: $(VENV)/bin/uv
	VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet -r requirements/dev.txt

IMAGES := payments kinguin-gateway fulfillment delivery admin sandboxes

# Re-pins every dependency after a change to requirements/dev.in or a package's pyproject.toml;
# each service image's pins (requirements/images) are the development pins, restricted to
# what that service needs.
lock: $(VENV)/bin/uv
	$(UV) pip compile requirements/dev.in -o requirements/dev.txt --python-version 3.11 --no-header
	for image in $(IMAGES); do \
		$(UV) pip compile requirements/images/$$image.in -o requirements/images/$$image.txt \
			-c <(grep -v '^-e' requirements/dev.txt) --python-version 3.11 --no-header \
			--no-annotate --quiet || exit 1; done

# deptry: each package's src/ imports exactly what its pyproject.toml declares, so a service
# importing another service's package (not among its dependencies) fails too.
lint: install
	for dir in libs/* services/* sandboxes/* demo launch; do \
		$(VENV)/bin/deptry --no-ansi --config $$dir/pyproject.toml $$dir/src || exit 1; done
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/*/src services/*/src sandboxes/*/src demo/src launch/src tools bench chaos
	# Test directories reuse module names (conftest, support): check each on its own.
	for dir in $$(ls -d libs/*/tests services/*/tests sandboxes/*/tests demo/tests launch/tests deploy/tests tools/tests chaos/tests tests-e2e 2>/dev/null); do \
		MYPYPATH=$$dir $(VENV)/bin/mypy $$dir || exit 1; done

# Everything in one process (in-memory broker, embedded PostgreSQL, S3, SMTP, sandboxes):
# places 20 orders, prints a summary, serves the admin UI and the customer's pages on one
# port (the login and the first order's links printed). `make demo ARGS="--orders 5 --no-serve"`.
demo: system-demo install
	$(PY) -m bitloot_demo $(ARGS)

# The production topology on this machine: each service its own process against the local
# RabbitMQ and PostgreSQL, moto's S3 and an SMTP server, both sandboxes; a process that
# dies is restarted (bitloot_launch.supervisor). Ctrl-C stops it.
up: install
	$(PY) -m bitloot_demo.up $(ARGS)

# Fresh secrets for `docker compose up` in .env (never committed): the services' keys and
# the broker's, database's, object store's and Grafana's passwords. With SHOP_HOST and
# KEYS_HOST the customers' links name those hosts, served by the TLS proxy
# (`docker compose --profile proxy up`); without, the services' ports on localhost.
compose-env: install
	@test ! -e .env || { echo ".env exists; remove it first to replace its secrets"; exit 1; }
	(umask 077 && $(PY) -m bitloot_demo.compose_env $(if $(SHOP_HOST),--shop-host $(SHOP_HOST)) \
		$(if $(KEYS_HOST),--keys-host $(KEYS_HOST)) > .env.new) && mv .env.new .env \
		|| { rm -f .env.new; exit 1; }
	@echo "wrote .env"

COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

# The deployment files are current and valid: the configuration reference, the images
# (their pins start each service), the k8s manifests (kustomize + Kubernetes schemas; the
# PrometheusRule generated from the alert rules), the alert rules and Prometheus' config
# (promtool check, and the rules' unit tests: series that must and must not fire each
# alert), the TLS proxy's Caddyfile (caddy validate) and docker-compose.yml
# (`docker compose config`, which needs no engine). What they
# expose is checked on what they render to (tools/exposure.py): the overlays by
# tools/k8s.py, compose (proxy profile included) rendered from two generated .env files,
# so that a password the same in both is one fixed in the file, and again with
# deploy/compose/public.yml (real providers, no sandbox; test values for their settings).
deploy-check: system-deploy install
	$(PY) tools/settings_reference.py --check
	$(PY) tools/images.py check
	$(PY) tools/k8s.py check
	promtool check config deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/tests/*.yml
	BITLOOT_SHOP_HOST=shop.example.com BITLOOT_KEYS_HOST=keys.example.com \
		caddy validate --config deploy/caddy/Caddyfile --adapter caddyfile
	dir=$$(mktemp -d) && for run in 1 2; do \
		$(PY) -m bitloot_demo.compose_env > $$dir/$$run.env \
		&& $(COMPOSE) --env-file $$dir/$$run.env -f docker-compose.yml --profile proxy \
			config > $$dir/$$run.yml \
		&& $(PY) -m bitloot_demo.compose_env --shop-host shop.example.com \
			--keys-host keys.example.com > $$dir/public$$run.env 2>/dev/null \
		&& $(PY) tools/exposure.py fill-env $$dir/public$$run.env \
		&& $(COMPOSE) --env-file $$dir/public$$run.env -f docker-compose.yml \
			-f deploy/compose/public.yml --profile proxy config > $$dir/public$$run.yml \
		|| { rm -rf $$dir; exit 1; }; done \
		&& $(PY) tools/exposure.py compose $$dir/1.yml $$dir/2.yml \
		&& $(PY) tools/exposure.py public $$dir/public1.yml $$dir/public2.yml; \
		status=$$?; rm -rf $$dir; exit $$status

# Known vulnerabilities with a fix available in the pinned dependencies (PyPI's data).
audit: install
	$(PY) tools/audit.py

# Ingress, pipeline and history benchmarks against the production topology on this machine,
# each beside a baseline measured in the same run (bench/README.md); under 10 minutes.
# Prints a table against the targets and writes bench/results/latest.json.
bench: install
	$(PY) -m bench.run $(ARGS)

# Faults under steady load (chaos/README.md): 600 orders while a seeded random schedule of
# overlapping faults kills service instances (two of each, supervised), aims kills inside an
# IPN transaction, a purchase, a payout and an SMTP conversation, crashes PostgreSQL (also
# during recovery) and a node of the three-node RabbitMQ cluster, cuts connections, takes
# S3 and SMTP away and makes the providers misbehave; then proves from witnesses outside
# the services that every order was fulfilled and emailed once (or refunded), nothing was
# bought twice and no key or secret leaked. Its own servers; about 6 minutes, under 15.
# `make chaos ARGS="--orders 100 --seed N"`.
chaos: install
	$(PY) -m chaos.run $(ARGS)

# Chromium for the browser tests (Playwright drives Debian's), PostgreSQL and RabbitMQ
# (started unless the tests were given servers or a Docker engine answers).
test: system-test install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

system-demo:
	@$(SYSTEM) ensure demo

system-test:
	@$(SYSTEM) ensure test
	@$(SYSTEM) test-servers

system-deploy:
	@$(SYSTEM) ensure deploy

# Writes the JSON Schemas and the AsyncAPI document of the bus under libs/contracts/schemas.
schemas: install
	$(VENV)/bin/bitloot-contracts export libs/contracts/schemas

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

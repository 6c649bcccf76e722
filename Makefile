# Kabinet — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK_SUM = $(shell cat $(1) | cksum | cut -d' ' -f1)
# `make run` and friends need the runtime lock only; tests and lint add the development lock.
RUNTIME_STAMP := $(VENV)/.runtime-$(call LOCK_SUM,requirements.lock pyproject.toml)
DEV_STAMP := $(VENV)/.dev-$(call LOCK_SUM,requirements.lock requirements-dev.lock pyproject.toml)

.PHONY: install install-runtime run test lint format migrate declare-bus resend-unroutable replay-dlq bench asyncapi clean

install: $(DEV_STAMP) ## runtime and development dependencies (tests, lint, type checks)

install-runtime: $(RUNTIME_STAMP) ## what the services need to run, nothing more

$(RUNTIME_STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.runtime-* $(VENV)/.installed-* && touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.lock
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	rm -f $(VENV)/.dev-* && touch $@

run: install-runtime ## migrate and start everything; Ctrl-C stops it
	exec $(BIN)/python -m deploy.local.run

test: install ## the whole suite against the real PostgreSQL and RabbitMQ
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: install-runtime
	$(BIN)/python -m shared.cli migrate

declare-bus: install-runtime ## every consumer's queue and bindings from the event catalogue, stale ones removed
	$(BIN)/python -m shared.cli declare-bus

resend-unroutable: install-runtime ## events an older version gave up as unroutable are sent again
	$(BIN)/python -m shared.cli resend-unroutable $(SERVICE)

replay-dlq: install-runtime ## make replay-dlq SERVICE=licensing (types it does not handle are not sent back)
	$(BIN)/python -m shared.cli replay-dlq $(SERVICE)

bench: install ## the stack under wrk beside its anchors, then dongle's and helpdesk's own benches
	$(BIN)/python -m deploy.local.bench $(BENCH_ARGS)
	$(BIN)/python -m deploy.local.bench_dongle
	$(BIN)/python -m deploy.local.bench_helpdesk

asyncapi: install
	$(BIN)/python -m shared.events.asyncapi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .run

# Kabinet — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install run test lint format migrate replay-dlq bench asyncapi clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

run: install ## migrate and start everything; Ctrl-C stops it
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

migrate: install
	$(BIN)/python -m shared.cli migrate

replay-dlq: install ## make replay-dlq SERVICE=licensing
	$(BIN)/python -m shared.cli replay-dlq $(SERVICE)

bench: install
	$(BIN)/python -m deploy.local.bench

asyncapi: install
	$(BIN)/python -m shared.events.asyncapi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .run

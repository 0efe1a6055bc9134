# Mesochart: `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run demo-logins test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Demo data is loaded once; `make demo-logins` prints the logins again.
var/.demo-loaded: $(STAMP)
	mkdir -p var
	$(BIN)/mesochart migrate --no-input -v 0
	DEBUG=true $(BIN)/mesochart demo > /dev/null
	touch var/.demo-loaded

run: $(STAMP) var/.demo-loaded
	@$(BIN)/mesochart migrate --no-input -v 0
	@echo "Mesochart: http://$(HOST):$(PORT)/"
	@DEBUG=true $(BIN)/mesochart demo | sed -n '2,$$p'
	@# The background worker (messages, reminders, large imports) runs beside the server
	@# and stops with it; due messages are swept every minute.
	@DEBUG=true $(BIN)/mesochart worker --no-reload --no-startup-delay & worker=$$!; \
	DEBUG=true $(BIN)/mesochart send-due-messages --every 60 & sweeper=$$!; \
	trap 'kill $$worker $$sweeper 2>/dev/null; wait $$worker $$sweeper 2>/dev/null' EXIT INT TERM; \
	DEBUG=true $(BIN)/mesochart runserver --noreload $(HOST):$(PORT)

demo-logins: $(STAMP)
	DEBUG=true $(BIN)/mesochart demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check mesochart bench .ci/fault_test.py
	$(BIN)/ruff format --check mesochart bench .ci/fault_test.py
	$(BIN)/mypy mesochart

format: $(STAMP)
	$(BIN)/ruff format mesochart bench
	$(BIN)/ruff check --fix mesochart bench

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var test-artifacts *.egg-info

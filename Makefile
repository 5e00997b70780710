# The two commands the README opens with.
#   make run   set up a virtualenv, a config with SQLite in var/ and start the daemon
#   make test  set up the virtualenv with test extras and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

$(BIN)/ticket-gateway: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

gateway.toml:
	cp gateway.toml.example gateway.toml

.PHONY: run test check
run: $(BIN)/ticket-gateway gateway.toml
	$(BIN)/ticket-gateway --config gateway.toml rules check
	$(BIN)/ticket-gateway --config gateway.toml serve

test: $(BIN)/ticket-gateway
	$(BIN)/ticket-gateway rules check
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2

check: test

# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOME_DIR ?= demo

.PHONY: run test test-postgresql bench install clean

$(BIN)/canary: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/canary

# A local deployment on 127.0.0.1: demo lab, its canaries, listeners and dashboard.
run: install
	$(BIN)/canary demo --home $(HOME_DIR)

# As root (CI, a fresh machine) the services the suite needs are installed and started
# first; elsewhere tests that need a missing one skip (and fail when CI=true).
test: install
	@if [ "$$(id -u)" = 0 ]; then bash .ci/services.sh; fi
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite with every test deployment's store on PostgreSQL (.ci/run runs both).
test-postgresql: install
	CANARY_TEST_STORE=postgresql $(MAKE) test

bench: install
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(HOME_DIR)

# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOME_DIR ?= demo

.PHONY: run test test-postgresql bench fuzz install clean

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

# Fuzzing at length (tests/fuzz, atheris): FUZZ_SECONDS per target; findings land in $(FUZZ_DIR).
FUZZ_SECONDS ?= 600
FUZZ_DIR ?= .fuzz
fuzz: install
	rm -rf $(FUZZ_DIR) && mkdir -p $(FUZZ_DIR)/dns $(FUZZ_DIR)/scan
	cp tests/data/dns/*.bin $(FUZZ_DIR)/dns/
	$(BIN)/python tests/fuzz/make_corpus.py $(FUZZ_DIR)/scan
	$(BIN)/python tests/fuzz/fuzz_dns.py $(FUZZ_DIR)/dns -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_DIR)/
	$(BIN)/python tests/fuzz/fuzz_scan.py $(FUZZ_DIR)/scan -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_DIR)/

# The same suite with every test deployment's store on PostgreSQL (.ci/run runs both).
test-postgresql: install
	CANARY_TEST_STORE=postgresql $(MAKE) test

bench: install
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(HOME_DIR) $(FUZZ_DIR)

# qingshou: the two commands are `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# A Python >= 3.12: python3.13/python3.12 from PATH, else a pyenv-installed one.
PYTHON ?= $(shell \
  for p in python3.13 python3.12; do \
    if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
      command -v $$p; exit 0; fi; \
  done; \
  for d in $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13* $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*; do \
    if [ -x "$$d/bin/python" ]; then echo "$$d/bin/python"; exit 0; fi; \
  done)

.PHONY: run test lint format messages bench bench-compliance clean help

help:
	@echo "make run    start qingshou (web on http://127.0.0.1:$${PORT:-8000}, worker, scheduler; demo data)"
	@echo "make test   run the whole test suite (SQLite, then PostgreSQL when it answers; browser tests)"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "qingshou needs Python 3.12 or newer (python3.13 or python3.12 on PATH, or installed with pyenv)."; \
	  echo "Install one, e.g. 'apt-get install python3.12 python3.12-venv' or 'pyenv install 3.13', then rerun."; \
	  exit 1; fi
	@if [ ! -x $(BIN)/python ]; then echo "Creating $(VENV) with $(PYTHON)"; "$(PYTHON)" -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/qingshou up

test: $(STAMP)
	@bash scripts/ensure-chromium.sh
	@bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: $(STAMP)
	$(BIN)/python scripts/compile_messages.py

clean:
	rm -rf $(VENV) var .pytest_cache

bench: $(STAMP)
	$(BIN)/python bench/pages.py

bench-compliance: $(STAMP)
	$(BIN)/python bench/compliance.py

# Placement import: 100,000 and 1,000,000 generated rows into PostgreSQL (vs raw COPY) and SQLite (100,000).
bench-import: $(STAMP)
	$(BIN)/python bench/import.py $(ARGS)

bench-strategy: $(STAMP)
	$(BIN)/python bench/strategy.py

# Strategy simulator: 50,000 synthetic cases x 60 days through the real compliance engine and strategy rules;
# prints the table per strategy and the path of the cumulative-recovery chart (var/simulation/*.png).
SIM_ARGS ?= --cases 50000 --days 60 --capacity 1000 --strategies fifo,fifo_queue,balance,score,oracle,oracle_ev,oracle_free --seed 1
simulate: $(STAMP)
	QINGSHOU_VAR_DIR=$${QINGSHOU_VAR_DIR:-var} $(BIN)/qingshou simulate $(SIM_ARGS) --out $${QINGSHOU_VAR_DIR:-var}/simulation

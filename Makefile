# Bootstraps .venv on first use; every target works on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint schemas golden bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "retention-mcp needs Python 3.11 or newer (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@echo "retention-mcp: setting up $(VENV): installing retention-mcp with mcp, pydantic, duckdb, scipy, numpy, matplotlib and the test tools (pytest, ruff, mypy); on a fresh machine this takes a minute or two." >&2
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)
	@echo "retention-mcp: $(VENV) is ready." >&2

demo: $(STAMP)  ## start the server over stdio, list its tools, render every bundled example
	$(BIN)/retention-mcp demo

test: $(STAMP)  ## lint and type-check, then the whole test suite
	$(BIN)/ruff check server tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)  ## ruff, ruff format and mypy (over server/)
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench
	$(BIN)/mypy

schemas: $(STAMP)  ## regenerate schemas/ from the models
	$(BIN)/retention-mcp schemas export schemas

golden: $(STAMP)  ## rewrite the golden renderings after an intended template change
	$(BIN)/python -m tests.update_golden

bench: $(STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/call_overhead.py
	$(BIN)/python bench/plan_overhead.py
	$(BIN)/python bench/analytics_scale.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache .mypy_cache

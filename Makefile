# Bootstraps .venv on first use; every target works on a fresh machine with Python 3.11+ (and npm for `mcpb`).
# Two steps: `make demo` installs retention-mcp and its run-time packages only; `make test`, `make lint` and the
# other developer targets add the test tools (the `test` extra) on top, once.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
MCPB_VERSION ?= 2.1.2
MCPB   := .tools/mcpb/node_modules/.bin/mcpb
TS_SDK_VERSION ?= 1.32.2
TS_SDK := .tools/ts-client/node_modules/@modelcontextprotocol/sdk/package.json
EXT_APPS_VERSION ?= 2.0.4
MCP_CLIENT_VERSION ?= 2.4.0
ESBUILD_VERSION ?= 0.28.2
EXT_APPS := .tools/ext-apps/node_modules/@modelcontextprotocol/ext-apps/package.json
PACKAGING := build/packaging-deps.json
NPM    := $(shell command -v npm 2>/dev/null)

.PHONY: demo test check lint schemas golden bench bundle mcpb packaging-deps dist clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "retention-mcp needs Python 3.11 or newer (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@echo "retention-mcp: setting up $(VENV) for the demo: retention-mcp and its run-time packages only (mcp, pydantic, duckdb, numpy, scipy, matplotlib and what they need): about 110 MB to download, 470 MB installed, under a minute on a fast connection. The test tools come with make test or make lint." >&2
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e .
	@touch $(STAMP)
	@echo "retention-mcp: $(VENV) is ready for the demo." >&2

$(TEST_STAMP): $(STAMP)
	@echo "retention-mcp: adding the test tools to $(VENV): pytest, pytest-xdist, ruff, mypy, hypothesis, uv, psycopg, Playwright, Ibis, the schema converters of other MCP clients and the libraries the tests and benchmarks compare results with (lifelines, lifetimes, pandas, polars): about 240 MB more to download, 1.4 GB installed in all, about a minute on a fast connection." >&2
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(TEST_STAMP)
	@echo "retention-mcp: $(VENV) has the test tools." >&2

demo: $(STAMP)  ## start the server over stdio, list its tools, render every bundled example
	$(BIN)/retention-mcp demo

# Both test targets spread the tests over every core (pytest-xdist, -n auto); tests marked with one xdist_group run
# in one process. The packaging tier builds into build/ and dist/, so its tests form one group (tests/conftest.py):
# they run one at a time in one process while the other processes take the other tiers. PYTHONDONTWRITEBYTECODE is
# cleared for pytest: with it set, every process rewrites the asserts of every test module at each start (3 s per
# process here) instead of reading them back from __pycache__.
test: $(TEST_STAMP) packaging-deps  ## lint and type-check, then the whole test suite: every tier (no network beyond loopback)
	$(BIN)/ruff check server tests bench bundle
	$(BIN)/mypy
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n auto --dist loadgroup

check: $(TEST_STAMP)  ## the inner loop: the unit and in-memory MCP tiers (tests/unit, tests/mcp), no processes or packaging
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n auto --dist loadgroup -m "unit or mcp"

# Every download the packaging tests need, done before them (tests/packaging_deps.py); quick when nothing changed.
$(PACKAGING): $(TEST_STAMP) pyproject.toml bundle/build.py tests/packaging_deps.py
	$(BIN)/python -m tests.packaging_deps

packaging-deps: $(PACKAGING) $(if $(NPM),$(MCPB) $(TS_SDK) $(EXT_APPS))  ## fill uv's cache for the packaging tests; the mcpb CLI, the TypeScript MCP SDK and the MCP Apps host packages (npm)
	@$(if $(NPM),:,echo "npm is not installed: the bundle tests need the mcpb CLI, the client tests the TypeScript SDK, the browser tests the MCP Apps packages (npm)")

lint: $(TEST_STAMP)  ## ruff, ruff format, mypy (over server/) and the layer contract (tests/unit/test_layers.py)
	$(BIN)/ruff check server tests bench bundle
	$(BIN)/ruff format --check server tests bench bundle
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "not process" tests/unit/test_layers.py

schemas: $(STAMP)  ## regenerate schemas/ from the models
	$(BIN)/retention-mcp schemas export schemas

golden: $(TEST_STAMP)  ## rewrite the golden renderings after an intended template change
	$(BIN)/python -m tests.update_golden

bench: $(TEST_STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/call_overhead.py
	$(BIN)/python bench/reader_hostile.py
	$(BIN)/python bench/scrub_cost.py
	$(BIN)/python bench/plan_overhead.py
	$(BIN)/python bench/analytics_scale.py
	$(BIN)/python bench/bundle_start.py
	$(BIN)/python bench/team_load.py
	$(BIN)/python bench/template_versions.py

$(MCPB):  ## the official MCP Bundle CLI, from npm, kept inside the checkout
	npm install --silent --no-audit --no-fund --prefix .tools/mcpb @anthropic-ai/mcpb@$(MCPB_VERSION)

mcpb: $(MCPB)

$(TS_SDK):  ## the official TypeScript MCP SDK, a second client for the process tests (tests/process/clients)
	npm install --silent --no-audit --no-fund --prefix .tools/ts-client @modelcontextprotocol/sdk@$(TS_SDK_VERSION)

$(EXT_APPS):  ## the official MCP Apps AppBridge, the MCP client it runs on and esbuild: the browser tests' host (tests/browser)
	npm install --silent --no-audit --no-fund --prefix .tools/ext-apps @modelcontextprotocol/ext-apps@$(EXT_APPS_VERSION) @modelcontextprotocol/client@$(MCP_CLIENT_VERSION) esbuild@$(ESBUILD_VERSION)

bundle: $(TEST_STAMP) $(MCPB)  ## dist/retention-mcp-<version>.mcpb for Claude Desktop, validated by the mcpb CLI
	$(BIN)/python bundle/build.py --out dist --stage build/bundle
	$(MCPB) validate build/bundle/manifest.json

dist: $(TEST_STAMP)  ## the sdist and the wheel in dist/
	$(BIN)/uv build --out-dir dist

clean:
	rm -rf $(VENV) build dist .tools .pytest_cache .ruff_cache .mypy_cache

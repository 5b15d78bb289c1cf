"""Shared fixtures: the shipped registry, an MCP server built from it, and the bundled example scenarios."""

from __future__ import annotations

import json
import socket
import textwrap
from pathlib import Path

import pytest

from retention_mcp.paths import EXAMPLES_FILE
from retention_mcp.registry import Registry
from retention_mcp.server import build_server

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SCENARIOS = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))["scenarios"]
# Shipped template versions: minor bumps for content, a major one when the parameters change (loyalty_program
# gained competitor_programs in 2.0.0; every template gained the typed constraints and goals, and the stated-constraints
# block, in the next major).
TEMPLATE_VERSIONS = {
    "churn_analysis": "2.0.0",
    "loyalty_program": "3.0.0",
    "renewal_campaign": "2.0.0",
    "retention_strategy": "2.0.0",
    "subscription_playbook": "2.1.0",
}
TEMPLATE_NAMES = [
    "churn_analysis",
    "loyalty_program",
    "renewal_campaign",
    "retention_strategy",
    "subscription_playbook",
]


def _check_each_output_schema_once() -> None:
    """The SDK's client checks a tool's output schema against the JSON Schema metaschema once per session and tool
    (20-50 ms for these schemas). The tests open about 800 sessions over a few dozen distinct schemas, so here each
    distinct schema that passed is not checked again in this process; results are still validated against it, and a
    schema that fails the check fails it every time."""
    from jsonschema.validators import Draft202012Validator

    check = Draft202012Validator.check_schema
    passed: set[str] = set()

    def check_once(cls, schema, *args, **kwargs):
        key = json.dumps(schema, sort_keys=True, default=repr)
        if key not in passed:
            check(schema, *args, **kwargs)
            passed.add(key)

    Draft202012Validator.check_schema = classmethod(check_once)  # type: ignore[method-assign,assignment]


_check_each_output_schema_once()


@pytest.fixture(autouse=True)
def _keys_of_this_test_only(monkeypatch):
    """The process-wide list of keys to scrub holds the keys this test registered, not every earlier test's: it
    otherwise grows by each test's model key, and every scrub looks for each of them in every form."""
    from retention_mcp import redaction

    for name in ("_secrets", "_forms", "_edges"):
        monkeypatch.setattr(redaction, name, getattr(redaction, name))


@pytest.fixture(autouse=True)
def _no_process_in_the_inner_tiers(request, monkeypatch):
    """The unit and mcp tiers start no process, so `make check` stays the in-process inner loop: a test that starts
    one is stopped, and told to take the process tier. matplotlib's font discovery (`fc-list`, once per process and
    home folder) is a library's own lookup, let through."""
    if not (request.node.get_closest_marker("unit") or request.node.get_closest_marker("mcp")):
        return
    import subprocess

    start = subprocess.Popen.__init__

    def refused(self, args, *rest, **options):
        program = args[0] if isinstance(args, list | tuple) and args else args
        if Path(str(program)).name == "fc-list":
            return start(self, args, *rest, **options)
        raise AssertionError(f"this test starts a process ({str(args)[:80]}): mark it @pytest.mark.process")

    monkeypatch.setattr(subprocess.Popen, "__init__", refused)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.load()


@pytest.fixture
def server(registry):
    """Every tool, described in full in both languages (the `all` mode)."""
    return build_server(registry, tools="all")


@pytest.fixture(scope="session")
def model_server():
    """A stand-in model server on 127.0.0.1 (see tests/standin_model.py), shared by the session."""
    from tests.standin_model import StandInModel

    server = StandInModel().start()
    yield server
    server.stop()


@pytest.fixture
def standin(model_server):
    """The stand-in model server with nothing queued and nothing received."""
    model_server.reset()
    return model_server


PLAN_FIXTURES = (
    Path(__file__).resolve().parent / "fixtures" / "plans"
)  # plans of the scenarios the package ships none for


def plan_file(scenario_id: str) -> Path | None:
    """A well-formed plan for a scenario: the one shipped with the package (examples/plans), else a test fixture."""
    for folder in (EXAMPLES_FILE.parent / "plans", PLAN_FIXTURES):
        if (folder / f"{scenario_id}.json").is_file():
            return folder / f"{scenario_id}.json"
    return None


def fixture_plan(scenario_id: str) -> dict:
    path = plan_file(scenario_id)
    assert path is not None, f"no plan for the scenario {scenario_id}"
    return json.loads(path.read_text(encoding="utf-8"))


def example_arguments(registry: Registry, name: str, language: str = "en") -> dict:
    """Arguments for a template filled from the examples declared in its front matter."""
    template = registry.get(name)
    inputs = template.files[language].front.inputs
    return {spec.name: spec.example for spec in inputs if spec.example is not None}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(base: str, proc, seconds: float = 60, any_answer: bool = False) -> None:
    """Return once `base`/healthz answers 200 (with `any_answer`, answers at all: a bare server has no route); raise
    with the end of the server's stderr if the process ends or the time runs out first."""
    import subprocess
    import time

    import httpx2

    deadline = time.monotonic() + seconds
    while True:
        try:
            status = httpx2.get(f"{base}/healthz", timeout=1).status_code
            if any_answer or status == 200:
                return
        except httpx2.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            try:
                err = proc.communicate(timeout=10)[1] or ""
            except (subprocess.TimeoutExpired, ValueError):
                err = ""
            raise RuntimeError(f"the server at {base} did not start: {str(err)[-3000:]}")
        time.sleep(0.1)


def write_template(directory: Path, filename: str, text: str) -> Path:
    path = directory / filename
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


MINIMAL_TEMPLATE = """
---
name: {name}
title: {title}
description: A test template.
metadata:
  version: {version}
  locale: {locale}
inputs:
  - name: topic
    kind: string
    required: true
    description: The topic.
---
system:
You write short notes.

user:
<topic>
{{{{ topic }}}}
</topic>
"""


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL server on loopback for the whole session (tests/pg_cluster.py); skipped where
    PostgreSQL is not installed, unless RETENTION_MCP_REQUIRE_POSTGRES is set (CI), where that fails instead."""
    import os

    from tests.pg_cluster import REQUIRE, Cluster, binaries

    if binaries() is None:
        if os.environ.get(REQUIRE):
            pytest.fail("PostgreSQL is required here but not installed (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed")
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(pg_cluster, request) -> str:
    """The URL of a new, empty database for one test."""
    import re

    return pg_cluster.fresh_database("t_" + re.sub(r"\W", "_", request.node.name.lower())[:50])


TIERS = ("unit", "mcp", "process", "browser", "packaging")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test is marked with its tier: its folder's (tests/unit, mcp, process, packaging), unless it names another
    (a test in mcp/ that starts a stdio server is `process`). `make check` runs `-m "unit or mcp"`."""
    for item in items:
        if any(item.get_closest_marker(tier) for tier in TIERS):
            continue
        folder = Path(str(item.fspath)).parent.name
        if folder in TIERS:
            item.add_marker(getattr(pytest.mark, folder))
    for item in items:  # the packaging tier builds into build/ and dist/: its tests run one at a time, in one process
        if item.get_closest_marker("packaging") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("packaging"))

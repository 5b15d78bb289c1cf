"""The layer contract of server/: adapters -> app core -> services -> constraints -> base. A module imports only its
own layer or those below (function-level imports count too), no import cycle exists, only adapters import `mcp`,
and no module grows past 500 lines unless the allow-list names it (the list only shrinks). `make lint` runs this
file."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "retention_mcp"
MAX_LINES = 500

# Modules past MAX_LINES today, with the size they may not exceed; a module leaves the list when it is split.
TOO_LONG: dict[str, int] = {}

LAYERS = ("base", "constraints", "services", "core", "adapters")
ADAPTERS = {
    "__main__", "server", "mcp", "cli", "http_host", "http_guard", "team", "team_guard", "stdio", "sdk_shim", "demo",
    "reload", "client_config", "schema_export", "sampling",
}  # fmt: skip
CORE = {"app"}
SERVICES = {"template", "registry", "prompting"}
SERVICE_PACKAGES = ("generation", "analytics")
CONSTRAINT_PACKAGES = ("constraints",)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    top = module.split(".")[0]
    if top in ADAPTERS:
        return "adapters"
    if top in CORE:
        return "core"
    if top in SERVICES or top in SERVICE_PACKAGES:
        return "services"
    if top in CONSTRAINT_PACKAGES:
        return "constraints"
    return "base"


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


@functools.cache
def nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of a module's syntax tree, parsed once per test process (the contract's tests each walk them all)."""
    return tuple(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))


def imports(path: Path, known: set[str]) -> set[str]:
    """The package's modules one module imports, at any level; `from pkg import mod` counts as an import of mod."""
    found: set[str] = set()
    for node in nodes(path):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "retention_mcp":
            base = node.module.removeprefix("retention_mcp").lstrip(".")
            for alias in node.names:
                child = f"{base}.{alias.name}" if base else alias.name
                found.add(child if child in known else base)
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("retention_mcp.") for a in node.names if a.name.startswith("retention_mcp.")
            )
    return {m for m in found if m in known}


def imports_mcp(path: Path) -> bool:
    for node in nodes(path):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if any(n == "mcp" or n.startswith(("mcp.", "mcp_types")) for n in names):
            return True
    return False


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {m: imports(p, known) - {m} for m, p in found.items()}


def test_every_import_points_down_or_across():
    upward = [
        f"{m} ({layer(m)}) imports {target} ({layer(target)})"
        for m, targets in graph().items()
        for target in sorted(targets)
        if LAYERS.index(layer(target)) > LAYERS.index(layer(m))
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    edges = graph()
    order: list[str] = []
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target] if target in path else [node, target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2
        order.append(node)

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_only_the_adapters_import_mcp():
    offenders = sorted(m for m, p in modules().items() if layer(m) != "adapters" and imports_mcp(p))
    assert not offenders, offenders


def test_modules_stay_under_500_lines_and_the_allow_list_only_shrinks():
    sizes = {
        str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")
    }
    too_long = {name: n for name, n in sizes.items() if n > TOO_LONG.get(name, MAX_LINES)}
    assert not too_long, f"split these modules (at most {MAX_LINES} lines): {too_long}"
    healed = [name for name in TOO_LONG if sizes.get(name, 0) <= MAX_LINES]
    assert not healed, f"these modules are short enough now: take them off TOO_LONG: {healed}"


def test_the_contract_sees_the_package():
    """A contract that reads nothing passes everything: it must see the adapters, the core and every layer."""
    edges = graph()
    assert {layer(m) for m in edges} == set(LAYERS)
    assert "app" in edges["server"] and "constraints.reader" in edges["constraints.effective"]


LIST_PLANS = """
import anyio, json, sys
from mcp import Client
from retention_mcp.app import RetentionApp
from retention_mcp.server import build_server
from retention_mcp.settings import Settings

async def main():
    async with Client(build_server(RetentionApp(Settings.from_env()))) as client:
        listed = await client.call_tool("list_plans", {})
        assert not listed.is_error, listed
    print(json.dumps(sorted(m for m in sys.modules if m.startswith("retention_mcp."))))

anyio.run(main)
"""
PLAN_GENERATION = {
    "retention_mcp.generation.service",
    "retention_mcp.generation.backends",
    "retention_mcp.generation.validation",
    "retention_mcp.generation.markdown",
    "retention_mcp.generation.plans",
    "retention_mcp.constraints.reader",
}


@pytest.mark.process
def test_listing_plans_loads_the_store_and_no_plan_generation(tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "RETENTION_MCP_PLAN_STORE": str(tmp_path / "plans.sqlite3"),
        "RETENTION_MCP_LLM_BASE_URL": "http://127.0.0.1:9/v1",  # a model is configured; it is never called
        "RETENTION_MCP_LLM_MODEL": "stand-in",
        "PYTHONPATH": str(PACKAGE.parent),
    }
    done = subprocess.run(
        [sys.executable, "-c", LIST_PLANS], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "retention_mcp.generation.store" in loaded
    assert not loaded & PLAN_GENERATION, sorted(loaded & PLAN_GENERATION)

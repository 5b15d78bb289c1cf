"""The container image's steps, run on this machine (there is no container engine here): the wheel built from the
checkout, installed with its `postgres` extra into a fresh virtual environment by deploy/install.sh, then
deploy/entrypoint.sh serving over HTTP with named tokens and a throwaway PostgreSQL as the plan store.

The install runs uv offline from the cache `make packaging-deps` filled (make test runs it first;
tests/packaging_deps.py), through the script's INSTALLER variable; the Dockerfile runs the same script with pip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import ROOT, SCENARIOS, TEMPLATE_NAMES, free_port, wait_until_serving
from tests.packaging_deps import TARGET, offline_env, require_prepared, wheel_build

pytestmark = [pytest.mark.packaging, pytest.mark.anyio]

DEPLOY = ROOT / "deploy"
SCENARIO = SCENARIOS[0]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env or offline_env())
    assert proc.returncode == 0, (
        f"{' '.join(args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n(offline: see {TARGET})"
    )
    return proc


def wheel_stage_copies() -> list[tuple[str, str]]:
    """(source, target) for each COPY of the Dockerfile's first (wheel-building) stage."""
    stages = (ROOT / "Dockerfile").read_text("utf-8").split("\nFROM ")[1:]  # [0] is the comment on top
    copies = []
    for line in stages[0].splitlines():
        if line.startswith("COPY "):
            *sources, target = line.split()[1:]
            copies += [(source, source if target.endswith("/") else target) for source in sources]
    assert copies, "the Dockerfile's first stage copies nothing"
    return copies


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    """The image's /opt/retention-mcp: the wheel installed by deploy/install.sh, as the Dockerfile does."""
    uv = require_prepared()
    base = tmp_path_factory.mktemp("image")
    src, wheels = base / "src", base / "wheels"
    for source, target in wheel_stage_copies():  # the Dockerfile's build stage sees only what it copies
        destination = src / target
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, destination)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / source, destination)
    run(*wheel_build(uv, src, wheels))
    prefix = base / "opt" / "retention-mcp"
    installed = run(
        "sh", str(DEPLOY / "install.sh"), str(wheels), str(prefix),
        env=offline_env(PYTHON=sys.executable, INSTALLER=f"{uv} pip install --quiet"),
    )  # fmt: skip
    assert installed.stdout.startswith("retention-mcp ")  # the script ends by running the installed command
    check = "import psycopg, psycopg_pool, retention_mcp; print(retention_mcp.__file__, psycopg.pq.__impl__)"
    where, impl = run(str(prefix / "bin" / "python"), "-c", check).stdout.split()
    assert Path(where).is_relative_to(prefix) and impl == "binary"  # the installed copy, with the binary driver
    return prefix


def image_env(prefix: Path, data: Path, **extra: str) -> dict[str, str]:
    """The container's environment: the venv's bin first on PATH (as ENV PATH= in the Dockerfile) and a data dir."""
    path = os.pathsep.join([str(prefix / "bin"), "/usr/bin", "/bin"])
    return offline_env(PATH=path, RETENTION_MCP_DATA_DIRS=str(data), PYTHONUNBUFFERED="1", **extra)


async def test_the_entrypoint_serves_with_tokens_and_postgres_from_the_installed_wheel(image, tmp_path, postgres_url):
    data = tmp_path / "data"
    data.mkdir()
    tokens = tmp_path / "tokens"
    made = run(str(image / "bin" / "retention-mcp"), "token", "new", "alice", "--file", str(tokens))
    token = made.stdout.strip()
    port = free_port()
    env = image_env(
        image, data, RETENTION_MCP_HOST="127.0.0.1", RETENTION_MCP_PORT=str(port),
        RETENTION_MCP_TOKENS_FILE=str(tokens), RETENTION_MCP_PLAN_STORE=postgres_url,
    )  # fmt: skip
    entrypoint = DEPLOY / "entrypoint.sh"
    assert os.access(entrypoint, os.X_OK)  # the Dockerfile's ENTRYPOINT runs it directly
    proc = subprocess.Popen(
        [str(entrypoint)], env=env, cwd=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc)
        # the entrypoint execs the venv's command: the process the container's PID 1 would be
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert str(image / "bin" / "retention-mcp").encode() in cmdline
        assert b"--stateless" in cmdline

        assert httpx2.get(f"{base}/readyz", timeout=30).json() == {"status": "ready"}
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        assert httpx2.post(f"{base}/mcp", json=ping, timeout=30).status_code == 401
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            rendered = await client.call_tool(SCENARIO["tool"], SCENARIO["arguments"])
        assert tools[: len(TEMPLATE_NAMES)] == TEMPLATE_NAMES
        assert not rendered.is_error, rendered.content
        assert rendered.structured_content["language"] == SCENARIO["arguments"].get("language", "zh")
    finally:
        proc.terminate()  # what `docker stop` sends to PID 1
        out, err = proc.communicate(timeout=30)
    # uvicorn shuts down, then re-raises the signal it caught: the exit status `docker stop` expects (143)
    assert proc.returncode == -signal.SIGTERM, err[-3000:]
    assert "plan store migrated" in err and "1 token(s) required" in err
    assert token not in out + err

    # the audit log went to PostgreSQL: read back through the installed command
    audit = run(str(image / "bin" / "retention-mcp"), "audit", "--json", "--plan-store", postgres_url)
    entries = json.loads(audit.stdout)
    assert [(e["who"], e["tool"], e["outcome"]) for e in entries] == [("alice", SCENARIO["tool"], "ok")]


def test_the_entrypoint_refuses_all_interfaces_without_tokens(image, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    env = image_env(image, data, RETENTION_MCP_PORT=str(free_port()))  # the default host, 0.0.0.0; no tokens
    proc = subprocess.run(
        [str(DEPLOY / "entrypoint.sh")], env=env, cwd=data, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert "refusing to serve on 0.0.0.0 without authentication" in proc.stderr
    assert "--allow-no-auth" in proc.stderr and "RETENTION_MCP_TOKENS_FILE" in proc.stderr
    assert proc.stdout == ""

"""The real transports: a stdio subprocess (what desktop clients launch) and streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import SCENARIOS, TEMPLATE_NAMES, free_port, wait_until_serving, write_template

pytestmark = pytest.mark.anyio
ENV = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}


async def test_stdio_subprocess_lists_and_renders():
    params = StdioServerParameters(command=sys.executable, args=["-m", "retention_mcp", "serve"], env=ENV)
    scenario = SCENARIOS[0]
    async with Client(params) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        result = await client.call_tool(scenario["tool"], scenario["arguments"])
        bad = await client.call_tool(scenario["tool"], {})
        prompt = await client.get_prompt(scenario["tool"], scenario["arguments"])
    assert tools[: len(TEMPLATE_NAMES)] == TEMPLATE_NAMES
    assert not result.is_error and result.structured_content["language"] == "zh"
    assert bad.is_error and "service_type: is required but missing" in bad.content[0].text
    assert len(prompt.messages) == 2


def test_broken_template_stops_start_up_with_file_and_line(tmp_path):
    write_template(
        tmp_path,
        "bad.prompty",
        "---\nname: bad\ndescription: x\nmetadata:\n  version: 1.0.0\n  locale: en\n  colour: red\n---\nuser:\nhi\n",
    )
    from tests.unit.test_cli import run

    proc = run("serve", "--templates", str(tmp_path))
    assert proc.returncode == 2
    assert f"{tmp_path / 'bad.prompty'}:7: unknown key 'colour' in metadata" in proc.stderr
    assert proc.stdout == ""


@contextmanager
def http_server(*extra: str, env: dict | None = None, cwd: Path | None = None):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "retention_mcp", "serve", "--transport", "http", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env or ENV,
        cwd=cwd,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc, 30)
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # reads what is left of stderr and closes the pipe


@pytest.mark.parametrize("extra", [(), ("--stateless",)], ids=["stateful", "stateless"])
async def test_http_server_on_loopback(extra):
    with http_server("--tools", "all", *extra) as base:
        health = httpx2.get(f"{base}/healthz").json()
        assert health == {"status": "ok"}  # liveness only: no version or template names without auth
        async with Client(f"{base}/mcp") as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            scenario = SCENARIOS[2]
            result = await client.call_tool(scenario["tool"], scenario["arguments"])
            bad = await client.call_tool("render_template", {"name": "nope"})
            again = await client.call_tool("list_templates", {})
        assert "render_template" in tools
        assert result.structured_content["language"] == "en"
        assert bad.is_error and not again.is_error


async def test_http_dns_rebinding_protection():
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with http_server() as base:
        forged_host = httpx2.post(f"{base}/mcp", json=body, headers=headers | {"Host": "evil.example:80"})
        forged_origin = httpx2.post(f"{base}/mcp", json=body, headers=headers | {"Origin": "http://evil.example"})
    assert forged_host.status_code in (403, 421)
    assert forged_origin.status_code == 403


async def test_http_bearer_tokens():
    with http_server("--token", "team-secret") as base:
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        anonymous = httpx2.post(f"{base}/mcp", json=ping)
        wrong = httpx2.post(f"{base}/mcp", json=ping, headers={"Authorization": "Bearer team-secreT"})
        assert anonymous.status_code == 401 and wrong.status_code == 401
        assert "Bearer" in anonymous.headers["www-authenticate"]
        good = httpx2.AsyncClient(headers={"Authorization": "Bearer team-secret"})
        async with Client(streamable_http_client(f"{base}/mcp", http_client=good)) as client:
            tools = (await client.list_tools()).tools
    assert len(tools) == len(TEMPLATE_NAMES) + 3  # the default surface: plus check_plan, list_plans and analyze_churn


def _drip(sock: socket.socket, chunks: list[bytes], gap: float) -> bytes:
    """Send `chunks` with `gap` seconds between them; what the server answered once it stopped listening."""
    answer = b""
    for chunk in chunks:
        try:
            sock.sendall(chunk)
        except OSError:  # closed by the server
            break
        time.sleep(gap)
    sock.settimeout(10)  # the server closes on its own deadline; this only stops a broken server hanging the test
    try:
        while data := sock.recv(4096):
            answer += data
    except (ConnectionResetError, TimeoutError):
        pass
    return answer


def test_slow_clients_are_cut_off_and_the_server_keeps_serving():
    env = ENV | {"RETENTION_MCP_HTTP_HEADER_TIMEOUT": "0.5", "RETENTION_MCP_HTTP_BODY_TIMEOUT": "0.5"}
    with http_server(env=env) as base:
        port = int(base.rsplit(":", 1)[1])
        idle = socket.create_connection(("127.0.0.1", port))  # connects, then sends nothing at all
        head = [b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"] + [b"X-Pad: 1\r\n"] * 40
        with socket.create_connection(("127.0.0.1", port)) as sock:  # headers, a line every 0.1 s, past the deadline
            assert _drip(sock, head, 0.1) == b""  # closed without an answer
        assert _drip(idle, [], 0) == b""
        body_head = (
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            "Accept: application/json, text/event-stream\r\nContent-Length: 400\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            answer = _drip(sock, [body_head] + [b" "] * 40, 0.1)  # the body, a byte every 0.1 s
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert httpx2.get(f"{base}/healthz").status_code == 200
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        assert httpx2.post(f"{base}/mcp", json=ping, headers=headers).status_code < 500

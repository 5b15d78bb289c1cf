"""analyze_churn's `source` names only a connection configured on the server: a URL from the client, or a name the
server does not know, is refused without connecting, and the error shows no configured URL."""

from __future__ import annotations

import pytest
from mcp import Client

from retention_mcp.server import build_server

pytestmark = pytest.mark.anyio


async def call(server, **arguments):
    async with Client(server) as client:
        return await client.call_tool("analyze_churn", arguments)


async def test_a_url_from_the_client_is_refused(registry, monkeypatch):
    monkeypatch.delenv("RETENTION_MCP_SOURCES", raising=False)
    result = await call(build_server(registry), source="postgresql://u:p@db.example/x", table="public.t")
    text = result.content[0].text
    assert result.is_error and "configured on the server" in text and "db.example" not in text


async def test_an_unknown_name_lists_the_configured_ones_never_their_urls(registry, monkeypatch, tmp_path):
    listed = tmp_path / "sources"
    listed.write_text("# name = URL\nwarehouse = postgresql://reader:hunter22-secret@10.0.0.9/prod\n")
    monkeypatch.setenv("RETENTION_MCP_SOURCES", str(listed))
    result = await call(build_server(registry), source="prod", table="public.t")
    text = result.content[0].text
    assert result.is_error and "'prod' is not a connection configured" in text and "warehouse" in text
    assert "hunter22" not in text and "10.0.0.9" not in text


async def test_the_input_schema_describes_source_and_table(registry):
    async with Client(build_server(registry)) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "analyze_churn")
    for name in ("source", "table"):
        field = tool.input_schema["properties"][name]
        assert field["description"] and field["type"] == ["string", "null"]
        assert name not in tool.input_schema.get("required", [])

"""The audit log is a link in the SDK's middleware chain: it records what reached the wire, one entry per tool call
however the call ended (a tool that fails unexpectedly, a tool that does not exist), listings left out. Over HTTP with
tokens the same entries carry the token's name (tests/process/test_team_server.py)."""

from __future__ import annotations

import pytest
from mcp import Client

from retention_mcp.app import RetentionApp
from retention_mcp.mcp.middleware import audit_log
from retention_mcp.server import RetentionServer
from retention_mcp.settings import Settings

ARGUMENTS = {"service_type": "SaaS", "target_customers": "SMB teams", "retention_goals": "cut churn"}


def entries(app: RetentionApp) -> list[tuple[str, str, str | None, str | None, str]]:
    return [(e.who, e.tool, e.template, e.plan_id, e.outcome) for e in reversed(app.audit_log())]


@pytest.mark.anyio
async def test_the_middleware_records_each_tool_call_once_however_it_ends(registry, tmp_path, monkeypatch):
    app = RetentionApp(Settings(plan_store=tmp_path / "plans.sqlite3"), registry=registry)
    server = RetentionServer(app, tools="all")  # no audit log: nothing in the chain records
    async with Client(server) as client:
        await client.call_tool("retention_strategy", ARGUMENTS)
    assert entries(app) == []

    server.middleware.append(audit_log(server))
    async with Client(server) as client:
        rendered = await client.call_tool("retention_strategy", ARGUMENTS)
        listed = await client.call_tool("list_templates", {})

        async def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("a defect, not the caller's input")

        monkeypatch.setattr(app, "render", broken)
        failed = await client.call_tool("render_template", {"name": "retention_strategy", "arguments": ARGUMENTS})
        unknown = await client.call_tool("no_such_tool", {"a": "secret-argument-value"})
    assert not rendered.is_error and not listed.is_error
    assert failed.is_error and unknown.is_error
    assert entries(app) == [
        ("local", "retention_strategy", "retention_strategy", None, "ok"),
        ("local", "render_template", "retention_strategy", None, "error"),
        ("local", "no_such_tool", None, None, "unknown_tool"),
    ]  # the listing is not recorded
    assert "secret-argument-value" not in repr(app.audit_log())

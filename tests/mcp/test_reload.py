"""Hot reload: templates added, edited or broken while serving; clients are told their lists changed."""

from __future__ import annotations

import io
import os
import sys
import time

import anyio
import pytest
from mcp import Client, StdioServerParameters

from retention_mcp.app import RetentionApp
from retention_mcp.reload import TemplateWatcher
from retention_mcp.server import build_server
from retention_mcp.settings import Settings
from tests.conftest import MINIMAL_TEMPLATE, TEMPLATE_NAMES, write_template

pytestmark = pytest.mark.anyio


def note(version: str = "1.0.0", name: str = "note") -> str:
    return MINIMAL_TEMPLATE.format(name=name, title="Note", version=version, locale="en")


def watcher_for(tmp_path) -> tuple[TemplateWatcher, io.StringIO]:
    server = build_server(RetentionApp(Settings(template_dirs=[tmp_path])))
    log = io.StringIO()
    return TemplateWatcher(server, interval=0.05, log=log), log


async def test_reload_serves_new_templates_and_notifies_handshake_clients(tmp_path):
    write_template(tmp_path, "note.en.prompty", note())
    watcher, log = watcher_for(tmp_path)
    notifications: list[str] = []

    async def on_message(message) -> None:
        notifications.append(getattr(message, "method", ""))

    async with Client(watcher.server, mode="legacy", message_handler=on_message) as client:
        assert client.server_capabilities.tools.list_changed is True
        before = [t.name for t in (await client.list_tools()).tools]
        write_template(tmp_path, "note.en.prompty", note("1.1.0"))
        write_template(tmp_path, "memo.en.prompty", note(name="memo"))
        assert await watcher.reload() is True
        with anyio.fail_after(5):
            while len(notifications) < 3:
                await anyio.sleep(0.01)
        after = [t.name for t in (await client.list_tools()).tools]
        result = await client.call_tool("note", {"topic": "churn"})
        prompts = [p.name for p in (await client.list_prompts()).prompts]
    assert "memo" not in before and "memo" in after and "memo" in prompts
    assert result.structured_content["version"] == "1.1.0"
    assert notifications == [
        "notifications/tools/list_changed",
        "notifications/prompts/list_changed",
        "notifications/resources/list_changed",
    ]
    assert "reloaded 7 templates" in log.getvalue()


async def test_reload_notifies_listening_clients(tmp_path):
    write_template(tmp_path, "note.en.prompty", note())
    watcher, _ = watcher_for(tmp_path)
    async with Client(watcher.server) as client:
        async with client.listen(tools_list_changed=True) as subscription:
            write_template(tmp_path, "memo.en.prompty", note(name="memo"))
            await watcher.reload()
            with anyio.fail_after(5):
                async for _event in subscription:
                    break
        assert "memo" in [t.name for t in (await client.list_tools()).tools]


async def test_broken_edit_keeps_the_previous_templates(tmp_path):
    write_template(tmp_path, "note.en.prompty", note())
    watcher, log = watcher_for(tmp_path)
    write_template(tmp_path, "note.en.prompty", note().replace("{{ topic }}", "{{ topic }"))
    assert await watcher.reload() is False
    assert "still serving the previous templates" in log.getvalue()
    assert f"{tmp_path / 'note.en.prompty'}:19: template syntax error" in log.getvalue()
    async with Client(watcher.server) as client:
        result = await client.call_tool("note", {"topic": "churn"})
    assert not result.is_error


async def test_watch_loop_reacts_to_file_changes(tmp_path):
    write_template(tmp_path, "note.en.prompty", note())
    watcher, _ = watcher_for(tmp_path)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watcher.run)
        await anyio.sleep(0.1)
        assert watcher.reloads == 0
        write_template(tmp_path, "memo.en.prompty", note(name="memo"))
        with anyio.fail_after(5):
            while watcher.reloads == 0:
                await anyio.sleep(0.02)
        (tmp_path / "memo.en.prompty").unlink()
        with anyio.fail_after(5):
            while watcher.reloads == 1:
                await anyio.sleep(0.02)
        tasks.cancel_scope.cancel()
    assert watcher.server.registry.names() == [*TEMPLATE_NAMES, "note"]


@pytest.mark.process
async def test_stdio_server_with_watch_picks_up_a_new_template(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETENTION_MCP_")}
    args = ["-m", "retention_mcp", "serve", "--templates", str(tmp_path), "--watch", "--watch-interval", "0.1"]
    write_template(tmp_path, "note.en.prompty", note())
    async with Client(StdioServerParameters(command=sys.executable, args=args, env=env)) as client:
        assert "memo" not in [t.name for t in (await client.list_tools()).tools]
        write_template(tmp_path, "memo.en.prompty", note(name="memo"))
        deadline = time.monotonic() + 20
        while "memo" not in [t.name for t in (await client.list_tools()).tools]:
            assert time.monotonic() < deadline, "the new template never appeared"
            await anyio.sleep(0.1)
        result = await client.call_tool("memo", {"topic": "renewals"})
    assert result.structured_content["template"] == "memo"


async def test_a_removed_template_leaves_every_list(tmp_path):
    from mcp.shared.exceptions import MCPError

    write_template(tmp_path, "note.en.prompty", note())
    watcher, _ = watcher_for(tmp_path)
    async with Client(watcher.server) as client:
        resources = [str(r.uri) for r in (await client.list_resources()).resources]
        assert "template://note/en" in resources and "schema://note/input" in resources
        (tmp_path / "note.en.prompty").unlink()
        assert await watcher.reload() is True
        tools = [t.name for t in (await client.list_tools()).tools]
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        resources = [str(r.uri) for r in (await client.list_resources()).resources]
        with pytest.raises(MCPError) as caught:
            await client.read_resource("template://note/en")
        gone = await client.call_tool("note", {"topic": "churn"})
        source = await client.read_resource("template://retention_strategy/zh")
    assert tools == [*TEMPLATE_NAMES, "check_plan", "list_plans", "analyze_churn"]  # the same order as at start-up
    assert "note" not in prompts and not any("note" in uri for uri in resources)
    assert caught.value.error.code == -32602
    assert gone.is_error and "Unknown tool 'note'" in gone.content[0].text
    assert source.contents[0].text.startswith("---")
